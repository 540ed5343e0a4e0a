/*
 * The backend's handle: apply a revision, remove the table, and the
 * identity sessions, each as one batch of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/policy/pol_compile.h"
#include "control/nft/nft_int.h"
#include "core/stats/reasons.h"
#include "core/util/clock.h"

struct nft_ctx *
nft_open(const char *name, char *err, size_t errlen)
{
	struct nft_ctx *x = calloc(1, sizeof(*x));

	if (x == NULL ||
	    (x->retired = calloc(1, sizeof(*x->retired))) == NULL ||
	    (x->scratch = calloc(1, sizeof(*x->scratch))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(x->table, sizeof(x->table), "%s", name);
	if ((x->nl = nft_sock_open(err, errlen)) == NULL)
		goto fail;
	x->seq = (uint32_t)time(NULL) << 8;
	return x;
fail:
	nft_close(x);
	return NULL;
}

void
nft_close(struct nft_ctx *x)
{
	if (x == NULL)
		return;
	if (x->nl != NULL)
		mnl_socket_close(x->nl);
	free(x->retired);
	free(x->scratch);
	free(x->sess);
	nft_rec_free(&x->rec);
	free(x);
}

const struct nft_info *
nft_last(const struct nft_ctx *x)
{
	return &x->info;
}

/* Sequence numbers for a batch of up to N messages. */
static uint32_t
nft_seq_take(struct nft_ctx *x, size_t n)
{
	uint32_t s = x->seq;

	x->seq += (uint32_t)n + 4;
	return s;
}

/* What the counters of the new table will mean: P's actions. */
static void
nft_remember(struct nft_ctx *x, const struct conf *c, const struct policy *p,
    const struct nft_opts *o)
{
	x->nrules = p->nrules;
	for (unsigned i = 0; i < p->nrules; i++) {
		x->actions[i] = p->rule[i].action;
		if (x->actions[i] == CDN_ACT_REROUTE &&
		    o->mode == NFT_MODE_HOST)
			x->actions[i] = CDN_ACT_DROP;
	}
	x->actions[p->nrules] = p->default_action;
	x->ident_action = p->unident_action;
	if (x->ident_action == CDN_ACT_REROUTE && o->mode == NFT_MODE_HOST)
		x->ident_action = CDN_ACT_DROP;
	x->nports = o->mode == NFT_MODE_ROUTER ? c->nports : 0;
	for (unsigned i = 0; i < x->nports; i++)
		snprintf(x->ports[i], sizeof(x->ports[i]), "%s",
		    c->ports[i].ifname);
	x->applied = true;
}

/*
 * One batch: a delta against X's record when DELTA, else the whole
 * table; what it leaves in the kernel recorded in NEW.
 */
static int
nft_apply_once(struct nft_ctx *x, const struct conf *c, const struct policy *p,
    const struct geo_tables *g, const struct nft_opts *o, bool delta,
    struct nft_rec *new, char *err, size_t errlen)
{
	struct nft_batch b;
	uint64_t t0 = clk_mono_ns();
	int rc = -1, e;

	memset(new, 0, sizeof(*new));
	if (nft_batch_init(&b, nft_seq_take(x, 0)) < 0 ||
	    nft_build_rec(&b, x->table, c, p, g, o, x->sess, x->nsess,
	        delta ? &x->rec : NULL, new, err, errlen) < 0)
		goto out;
	x->seq += b.nmsg + 4;
	b.stale_gen_once = o->stale_gen_once;
	b.pin_gen = delta;
	b.pin = x->rec.gen;
	x->info.elems = b.elems;
	x->info.dels = b.dels;
	x->info.msgs = b.nmsg;
	x->info.bytes = b.len;
	x->info.delta = delta;
	x->info.build_ms += (double)(clk_mono_ns() - t0) / 1e6;
	t0 = clk_mono_ns();
	rc = nft_batch_send(x->nl, &b, &x->info.retries, err, errlen);
	x->info.send_ms += (double)(clk_mono_ns() - t0) / 1e6;
	if (rc == 0) {
		new->valid = true;
		new->gen = b.gen + 1;
		new->mode = o->mode;
		nft_rec_set_geo(new, g);
	}
out:
	e = errno;
	nft_batch_free(&b);
	if (rc < 0)
		nft_rec_free(new);
	errno = e;
	return rc;
}

int
nft_apply_policy(struct nft_ctx *x, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, char *err, size_t errlen)
{
	struct nft_rec new;
	bool had = x->applied;
	bool delta = x->rec.valid && x->rec.gen != 0 && !o->full &&
	             x->rec.mode == o->mode && !o->stale_gen_once;
	int rc;

	memset(&x->info, 0, sizeof(x->info));
	if (o->mode == NFT_MODE_ROUTER && !o->no_routes &&
	    nft_route_apply(c, err, errlen) < 0)
		return -1;
	/* What the table's rules counted, kept when they are replaced. */
	if (had && nft_counters_table(x, x->scratch) < 0)
		memset(x->scratch, 0, sizeof(*x->scratch));
	rc = nft_apply_once(x, c, p, g, o, delta, &new, err, errlen);
	if (rc < 0 && delta && errno == ERESTART) {
		/* The ruleset changed under us: the record is no guide. */
		x->info.fallback = true;
		rc = nft_apply_once(x, c, p, g, o, false, &new, err, errlen);
	}
	/* Refused or lost: what the kernel holds is not for us to assume. */
	nft_rec_free(&x->rec);
	if (rc < 0)
		return -1;
	x->rec = new;
	if (had)
		stats_add(x->retired, x->scratch);
	nft_remember(x, c, p, o);
	return 0;
}

int
nft_apply(struct nft_ctx *x, const struct conf *c, const struct geo_tables *g,
    const struct nft_opts *o, char *err, size_t errlen)
{
	struct policy *p = malloc(sizeof(*p));
	int rc = -1;

	if (p == NULL)
		snprintf(err, errlen, "out of memory");
	else if (pol_compile(c, NULL, p, err, errlen) == 0)
		rc = nft_apply_policy(x, c, p, g, o, err, errlen);
	free(p);
	return rc;
}

int
nft_remove(struct nft_ctx *x, char *err, size_t errlen)
{
	struct nft_batch b;
	struct nlmsghdr *nlh;
	int rc = -1;

	if (nft_batch_init(&b, nft_seq_take(x, 4)) < 0)
		goto oom;
	/* Add first, so that deleting never fails for a missing table. */
	for (int k = 0; k < 2; k++) {
		nlh = nft_batch_msg(&b, k ? NFT_MSG_DELTABLE : NFT_MSG_NEWTABLE,
		    k ? 0 : NLM_F_CREATE, "table inet %s", x->table);
		if (nlh == NULL)
			goto oom;
		mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, x->table);
		nft_batch_put(&b, nlh);
	}
	if (nft_batch_close(&b) < 0)
		goto oom;
	rc = nft_batch_send(x->nl, &b, NULL, err, errlen);
	if (rc == 0)
		x->applied = false;
	nft_rec_free(&x->rec);
	nft_batch_free(&b);
	return rc;
oom:
	snprintf(err, errlen, "out of memory");
	nft_batch_free(&b);
	return -1;
}
