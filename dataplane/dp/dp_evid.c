/*
 * Evidence captures: the worker's copy (dp_evid_take, on the fast path:
 * memory work only) and the main lcore's side (rings -> pcap files, and
 * the notes that name the files).  docs/evidence.md.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_random.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

#include "core/util/clock.h"
#include "dataplane/ctl/ctl.h"
#include "dataplane/dp/dp_evid.h"
#include "wire/dpc_proto.h"

#define DP_EVID_NOTES  16 /* flow notes per tick; more are counted */
#define DP_EVID_TICK_S 5  /* rotation by age and pruning, this often */
#define DP_EVID_PEND   64 /* notes kept until cordond connects */

struct dp_evid {
	struct evid_writer w;
	struct ctl *ctl; /* this drain's; NULL: stdout */
	uint64_t tsc0;   /* the TSC at NS0 */
	uint64_t ns0;    /* unix ns */
	uint64_t hz;
	uint64_t next_s;  /* next writer tick */
	unsigned notes;   /* flow notes this drain */
	struct stats *st; /* the element counted in */
	/*
	 * Run by cordond (--control): notes wait here for it to connect,
	 * so syslog names the files written before it did.
	 */
	bool managed;
	unsigned npend;
	struct dpc_msg_evidence pend[DP_EVID_PEND];
	struct dp_evid_rec rec; /* dequeued into */
};

/* ---- worker side ---- */

/* Copies the first bytes of M into R; how many. */
static inline uint16_t
dp_evid_copy(const struct rte_mbuf *m, unsigned snap, struct dp_evid_rec *r)
{
	uint32_t cap = m->pkt_len < snap ? m->pkt_len : snap;
	const void *p;

	if (cap > sizeof(r->data)) /* the config caps it; never past R */
		cap = sizeof(r->data);
	p = rte_pktmbuf_read(m, 0, cap, r->data);
	if (p == NULL)
		return 0;
	if (p != r->data)
		rte_memcpy(r->data, p, cap);
	return (uint16_t)cap;
}

void
dp_evid_take(struct dp_worker *w, const struct rte_mbuf *m,
    const struct pkt_meta *meta, const struct cls_verdict *v, unsigned in)
{
	struct evid_table *t = w->evid_flows;
	struct rte_ring_zc_data zc;
	struct dp_evid_rec *r;
	uint64_t now = rte_rdtsc();
	enum evid_take how;
	unsigned slot;

	how = evid_table_take(t, evid_flow_key(t, meta), now, &slot);
	if (how == EVID_SKIP)
		return;
	if (how == EVID_FULL) {
		w->stats->evid.flow_full++;
		return;
	}
	/* Written in place in the ring: one copy, of the bytes kept. */
	if (rte_ring_enqueue_zc_burst_elem_start(w->evid, sizeof(*r), 1, &zc,
	        NULL) != 1) {
		evid_table_undo(t, slot, how);
		w->stats->evid.ring_full++;
		return;
	}
	r = zc.ptr1;
	r->ev.m = *meta;
	r->ev.v = *v;
	r->ev.port = (uint16_t)in;
	r->tsc = now;
	r->wirelen = m->pkt_len;
	r->caplen = dp_evid_copy(m, w->ctx->conf->evid_snaplen, r);
	r->first = how == EVID_FIRST;
	rte_ring_enqueue_zc_elem_finish(w->evid, 1);
	w->stats->evid.captured++;
	w->stats->evid.flows += how == EVID_FIRST;
}

/* ---- main lcore ---- */

static unsigned
dp_evid_or(unsigned v, unsigned dflt)
{
	return v ? v : dflt;
}

int
dp_evid_create(struct dp_ctx *ctx, struct dp_worker *w, unsigned lcore)
{
	const struct dp_conf *c = ctx->conf;
	unsigned flows = dp_evid_or(c->evid_flows, EVID_FLOWS_DEF);
	int sock = (int)rte_lcore_to_socket_id(lcore);
	char name[RTE_RING_NAMESIZE];
	size_t len = evid_table_size(flows);
	void *mem;

	snprintf(name, sizeof(name), "cordon_evid%u", w->idx);
	w->evid = rte_ring_create_elem(name, sizeof(struct dp_evid_rec),
	    DP_EVID_RING, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->evid == NULL || len == 0 ||
	    (mem = rte_zmalloc_socket("cordon_evid", len, 64, sock)) == NULL)
		return -1;
	w->evid_flows = evid_table_init(mem, flows,
	    dp_evid_or(c->evid_packets, EVID_PACKETS_DEF),
	    rte_get_tsc_hz() * dp_evid_or(c->evid_idle_s, EVID_IDLE_DEF),
	    rte_rand());
	return w->evid_flows != NULL ? 0 : -1;
}

static void
dp_evid_print(const struct dpc_msg_evidence *m)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const struct dpc_wire_event *ev = &m->ev;
	int af = ev->af == 4 ? AF_INET : AF_INET6;

	switch (m->kind) {
	case DPC_EVID_OPENED:
		printf("cordon-dp: evidence: writing %s\n", m->file);
		break;
	case DPC_EVID_FLOW:
		inet_ntop(af, ev->src, src, sizeof(src));
		inet_ntop(af, ev->dst, dst, sizeof(dst));
		printf("cordon-dp: evidence: flow %s %u -> %s %u proto %u "
		       "(%s) in %s\n",
		    src, ev->sport, dst, ev->dport, ev->proto,
		    cdn_action_name(ev->action), m->file);
		break;
	case DPC_EVID_FAILED:
		printf("cordon-dp: evidence: cannot write %s: %s; records are "
		       "lost until it works again\n",
		    m->file, strerror(m->error));
		break;
	case DPC_EVID_RESUMED:
		printf("cordon-dp: evidence: writing %s again\n", m->file);
		break;
	default:
		printf("cordon-dp: evidence: removed %s\n", m->file);
		break;
	}
}

/* A note to cordond (syslog), or to stdout without it. */
static void
dp_evid_say(struct dp_evid *e, unsigned kind, const char *file, int err,
    const struct dp_event *ev)
{
	struct dpc_msg_evidence m;

	memset(&m, 0, sizeof(m));
	m.kind = kind;
	m.error = err;
	snprintf(m.file, sizeof(m.file), "%s", file);
	if (ev != NULL)
		dp_event_wire(ev, clk_unix_ns(), &m.ev);
	if (ctl_connected(e->ctl)) {
		if (ctl_evidence_send(e->ctl, &m) != 0)
			e->st->evid.unlogged++;
	} else if (e->managed) {
		if (e->npend < DP_EVID_PEND)
			e->pend[e->npend++] = m;
		else
			e->st->evid.unlogged++;
	} else {
		dp_evid_print(&m);
		fflush(stdout);
	}
}

/* The notes kept for cordond, now that it is there. */
static void
dp_evid_flush(struct dp_evid *e)
{
	unsigned i = 0;

	if (e->npend == 0 || !ctl_connected(e->ctl))
		return;
	while (i < e->npend && ctl_evidence_send(e->ctl, &e->pend[i]) == 0)
		i++;
	memmove(e->pend, e->pend + i, (e->npend - i) * sizeof(e->pend[0]));
	e->npend -= i;
}

static void
dp_evid_on(void *arg, enum evid_event ev, const char *file, int err)
{
	static const unsigned kind[] = { DPC_EVID_OPENED, DPC_EVID_FAILED,
		DPC_EVID_RESUMED, DPC_EVID_REMOVED };

	dp_evid_say(arg, kind[ev], file, err, NULL);
}

int
dp_evid_open(struct dp_ctx *ctx)
{
	struct dp_evid *e = rte_zmalloc("cordon_evid", sizeof(*e), 64);
	struct evid_conf c = ctx->conf->evid_files;

	if (e == NULL)
		return -1;
	c.snaplen = dp_evid_or(ctx->conf->evid_snaplen, EVID_SNAP_DEF);
	c.files = dp_evid_or(c.files, EVID_FILES_DEF);
	if (c.file_size == 0)
		c.file_size = EVID_FILE_KB_DEF * 1024ull;
	evid_writer_init(&e->w, &c, dp_evid_on, e);
	e->hz = rte_get_tsc_hz();
	e->tsc0 = rte_rdtsc();
	e->ns0 = clk_unix_ns();
	e->st = &ctx->stats[0];
	e->managed = ctx->control != NULL;
	ctx->evid = e;
	return 0;
}

void
dp_evid_use_dir(struct dp_ctx *ctx, int dfd)
{
	evid_writer_use_dir(&ctx->evid->w, dfd);
}

static uint64_t
dp_evid_ns(const struct dp_evid *e, uint64_t tsc)
{
	__uint128_t d = (__uint128_t)(tsc - e->tsc0) * 1000000000u;

	return e->ns0 + (uint64_t)(d / e->hz);
}

static void
dp_evid_write(struct dp_evid *e, const struct dp_evid_rec *r, struct stats *s)
{
	if (evid_writer_put(&e->w, dp_evid_ns(e, r->tsc), r->data, r->caplen,
	        r->wirelen) != 0) {
		s->evid.lost++;
		return;
	}
	s->evid.written++;
	if (!r->first)
		return;
	if (e->notes++ < DP_EVID_NOTES)
		dp_evid_say(e, DPC_EVID_FLOW, e->w.name, 0, &r->ev);
	else
		s->evid.unlogged++;
}

void
dp_evid_drain(struct dp_ctx *ctx, struct ctl *ctl)
{
	struct dp_evid *e = ctx->evid;
	uint64_t now;

	if (e == NULL)
		return;
	e->ctl = ctl;
	e->notes = 0;
	dp_evid_flush(e);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		for (unsigned n = 0;
		     n < DP_EVID_RING &&
		     rte_ring_sc_dequeue_elem(ctx->worker[i]->evid, &e->rec,
		         sizeof(e->rec)) == 0;
		     n++)
			dp_evid_write(e, &e->rec, &ctx->stats[i]);
	now = clk_unix_ns() / 1000000000u;
	if (now >= e->next_s) {
		evid_writer_tick(&e->w, now);
		e->next_s = now + DP_EVID_TICK_S;
	}
	e->st->evid.files = e->w.opened;
	e->st->evid.removed = e->w.removed;
}

void
dp_evid_close(struct dp_ctx *ctx)
{
	if (ctx->evid == NULL)
		return;
	/* Never told cordond: stdout (the journal) has them at least. */
	for (unsigned i = 0; i < ctx->evid->npend; i++)
		dp_evid_print(&ctx->evid->pend[i]);
	evid_writer_close(&ctx->evid->w);
	rte_free(ctx->evid);
	ctx->evid = NULL;
}
