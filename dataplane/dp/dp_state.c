/*
 * The enforced state and its replacement: built aside on the main lcore,
 * published with one atomic pointer store, the old one freed after every
 * worker has reported a quiescent state (rte_rcu_qsbr).  Workers never
 * wait: they pick the pointer up once per burst.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_malloc.h>

#include "dataplane/ctl/ctl.h"
#include "wire/dpc_proto.h"
#include "dataplane/dp/dp.h"
#include "core/util/clock.h"

_Static_assert(DP_HASH_LEN == DPC_WIRE_HASH, "hash sizes");

int
dp_rcu_init(struct dp_ctx *ctx)
{
	size_t sz = rte_rcu_qsbr_get_memsize(ctx->nworkers);

	ctx->qsv = rte_zmalloc("cordon_rcu", sz, RTE_CACHE_LINE_SIZE);
	if (ctx->qsv == NULL ||
	    rte_rcu_qsbr_init(ctx->qsv, ctx->nworkers) != 0) {
		fprintf(stderr, "cordon-dp: cannot set up RCU for %u workers\n",
		    ctx->nworkers);
		return -1;
	}
	for (unsigned i = 0; i < ctx->nworkers; i++)
		if (rte_rcu_qsbr_thread_register(ctx->qsv, i) != 0)
			return -1;
	return 0;
}

struct dp_geo *
dp_geo_new(struct geo_tables *t, void *map, size_t len)
{
	struct dp_geo *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	g->t = t;
	g->map = map;
	g->len = len;
	g->refs = 1;
	return g;
}

void
dp_geo_put(struct dp_geo *g)
{
	if (g == NULL || --g->refs > 0)
		return;
	geo_tables_free(g->t);
	if (g->map)
		munmap(g->map, g->len);
	free(g);
}

struct dp_sess *
dp_sess_new(struct sess_table *t)
{
	struct dp_sess *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->t = t;
	s->refs = 1;
	return s;
}

void
dp_sess_put(struct dp_sess *s)
{
	if (s == NULL || --s->refs > 0)
		return;
	sess_detach(s->t);
	free(s);
}

/* Config port index -> DPDK port id: the sender cannot know the ids. */
static void
dp_state_remap(const struct dp_ctx *ctx, struct policy *p)
{
	for (unsigned i = 0; i < p->nnexthops; i++)
		p->nexthop[i].port = ctx->port[p->nexthop[i].port].id;
}

struct dp_state *
dp_state_create(const struct dp_ctx *ctx, const struct policy *src,
    struct dp_geo *geo, struct dp_sess *sess, uint64_t revision,
    const uint8_t geo_hash[DP_HASH_LEN], char *err, size_t errlen)
{
	struct dp_state *st = calloc(1, sizeof(*st));
	void *p = NULL;

	/* posix_memalign: sizeof(struct policy) is no multiple of 64. */
	if (st == NULL || posix_memalign(&p, 64, sizeof(struct policy)) != 0) {
		free(st);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	st->pol_own = p;
	/* Checked and hashed after the copy: SRC is read exactly once. */
	memcpy(st->pol_own, src, sizeof(*src));
	if (ctl_policy_check(st->pol_own, ctx->nports, err, errlen) != 0) {
		dp_state_free(st);
		return NULL;
	}
	if (dpc_sha256(st->pol_own, sizeof(*src), st->policy_hash) != 0) {
		dp_state_free(st);
		snprintf(err, errlen, "cannot hash the policy");
		errno = EIO;
		return NULL;
	}
	dp_state_remap(ctx, st->pol_own);
	st->pol = st->pol_own;
	st->geo = geo->t;
	st->geo_ref = geo;
	geo->refs++;
	if (sess != NULL) {
		st->sess = sess->t;
		st->sess_ref = sess;
		sess->refs++;
	}
	st->revision = revision;
	if (geo_hash)
		memcpy(st->geo_hash, geo_hash, DP_HASH_LEN);
	return st;
}

void
dp_state_free(struct dp_state *st)
{
	if (st == NULL)
		return;
	dp_geo_put(st->geo_ref);
	dp_sess_put(st->sess_ref);
	free(st->pol_own);
	free(st);
}

void
dp_state_publish(struct dp_ctx *ctx, struct dp_state *st)
{
	static uint64_t gen; /* the main lcore alone publishes */
	struct dp_state *old = ctx->state;

	st->activated_unix_ns = clk_unix_ns();
	st->gen = ++gen;
	__atomic_store_n(&ctx->state, st, __ATOMIC_RELEASE);
	/*
	 * Workers report a quiescent state once per loop, between bursts:
	 * once each has done so, none can still hold OLD.
	 */
	if (old != NULL) {
		rte_rcu_qsbr_synchronize(ctx->qsv, RTE_QSBR_THRID_INVALID);
		dp_state_free(old);
	}
}
