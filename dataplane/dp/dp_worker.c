/*
 * The per-lcore packet loop.  Rules of this file: no locks, no system
 * calls, no allocation (mbufs come and go through their pools), every
 * counter is this lcore's own.  The policy and tables come from the
 * published state, loaded once per burst; one RCU quiescent report per
 * loop tells the main lcore when a replaced state is no longer in use.
 */
#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_random.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_evid.h"
#include "core/pkt/pkt_reject.h"
#include "core/prx/prx_judge.h"

#define DP_LINEAR_MAX 16384 /* largest chained frame we copy out */

struct dp_txbuf {
	uint16_t n;
	uint16_t slot[DP_BURST_MAX]; /* each frame's place in b->v */
	struct rte_mbuf *m[DP_BURST_MAX];
};

struct dp_burst {
	struct pkt_meta meta[DP_BURST_MAX];
	struct cls_verdict v[DP_BURST_MAX];
	uint8_t parsed[DP_BURST_MAX];
	uint8_t prx[DP_BURST_MAX]; /* prx_judge's flags (core/prx) */
	/* The burst's denied packets, keyed for the top sketch (core/top). */
	struct top_key topk[DP_BURST_MAX];
	uint64_t toph[DP_BURST_MAX];
	struct dp_txbuf tx[STATS_PORT_MAX];
	struct rte_mbuf *drop[DP_BURST_MAX];
	unsigned ndrop;
	uint8_t scratch[RTE_MBUF_DEFAULT_DATAROOM];
	uint8_t linear[DP_LINEAR_MAX]; /* a chained frame, copied */
};

/*
 * A frame larger than one mbuf arrives as a chain: the parser wants it in
 * one piece to check its lengths, so copy it out (rare: jumbo frames).
 */
static inline const uint8_t *
dp_frame(struct dp_burst *b, const struct rte_mbuf *m, uint32_t *len)
{
	if (likely(m->nb_segs == 1)) {
		*len = m->data_len;
		return rte_pktmbuf_mtod(m, const uint8_t *);
	}
	*len = m->pkt_len < DP_LINEAR_MAX ? m->pkt_len : DP_LINEAR_MAX;
	return rte_pktmbuf_read(m, 0, *len, b->linear);
}

/*
 * The burst's fragments through the worker's table, in arrival order (a
 * first fragment before the later ones of the same burst).  Verdicts
 * are only good under the state that decided them: a new state empties
 * the table, and fragments of a datagram already in flight are refused.
 */
static void
dp_frags(struct dp_worker *w, const struct dp_state *st,
    const struct pkt_meta *const *mp, unsigned nok, struct cls_verdict *v,
    const uint16_t *idx)
{
	uint64_t now = 0;

	for (unsigned j = 0; j < nok; j++) {
		if (likely(mp[j]->frag == PKT_FRAG_NONE))
			continue;
		if (now == 0) {
			now = rte_rdtsc();
			if (unlikely(w->frag_gen != st->gen)) {
				frag_table_clear(w->frag);
				w->frag_gen = st->gen;
			}
		}
		frag_track(w->frag, mp[j], now, &v[idx[j]], w->stats);
	}
}

/*
 * The burst's packets of proxied services through the worker's flow
 * table (core/prx): their verdicts replace the burst's.  Before the
 * fragment table, so a refused first fragment is what its later ones
 * follow.
 */
static void
dp_proxied(struct dp_worker *w, struct dp_burst *b, const struct dp_state *st,
    struct rte_mbuf **pkts, unsigned n, unsigned dir)
{
	const struct cls_env e = { st->pol, st->geo, st->sess,
		w->ctx->now_boot };
	uint64_t now = rte_rdtsc();
	const uint8_t *frame;
	uint32_t len;

	for (unsigned i = 0; i < n; i++) {
		b->prx[i] = 0;
		if (!b->parsed[i] || !prx_wants(st->pol, &b->meta[i]))
			continue;
		frame = dp_frame(b, pkts[i], &len);
		b->prx[i] = (uint8_t)prx_judge(&e, w->prx, frame, len,
		    &b->meta[i], dir, now, &b->v[i], w->stats);
	}
}

/* Parse every frame; classify those that parsed as one burst. */
static void
dp_classify(struct dp_worker *w, struct dp_burst *b, const struct dp_state *st,
    unsigned in, struct rte_mbuf **pkts, unsigned n)
{
	const struct pkt_meta *mp[DP_BURST_MAX];
	struct cls_verdict ok[DP_BURST_MAX];
	uint8_t dir[DP_BURST_MAX];
	uint16_t idx[DP_BURST_MAX];
	struct stats_port *sp = &w->stats->port[in];
	const struct policy *pol = st->pol;
	const uint8_t *frame;
	unsigned nok = 0;
	uint32_t len;
	int rc;

	/*
	 * Every header of the burst is requested before the first is read:
	 * the misses overlap instead of queueing one behind the other.  A
	 * frame longer than a line may hold headers past it (a tunnel's
	 * inner ones, IPv6 TCP): its second line is requested too.
	 */
	for (unsigned i = 0; i < n; i++) {
		frame = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		rte_prefetch0(frame);
		if (pkts[i]->data_len > RTE_CACHE_LINE_SIZE)
			rte_prefetch0(frame + RTE_CACHE_LINE_SIZE);
	}
	for (unsigned i = 0; i < n; i++) {
		sp->rx_bytes += pkts[i]->pkt_len;
		frame = dp_frame(b, pkts[i], &len);
		rc = pkt_parse_cfg(frame, len, &pol->tuncfg, &b->meta[i]);
		b->parsed[i] = rc == 0;
		if (likely(rc == 0)) {
			mp[nok] = &b->meta[i];
			dir[nok] = w->ctx->port[in].dir;
			idx[nok++] = (uint16_t)i;
		} else {
			cls_unparsed(pol, rc, &b->v[i]);
		}
	}
	sp->rx_packets += n;
	cls_classify_burst(&(struct cls_env){ pol, st->geo, st->sess,
	                       w->ctx->now_boot },
	    mp, dir, nok, ok);
	for (unsigned j = 0; j < nok; j++)
		b->v[idx[j]] = ok[j];
	if (unlikely(pol->prx_any))
		dp_proxied(w, b, st, pkts, n, w->ctx->port[in].dir);
	else
		memset(b->prx, 0, n);
	dp_frags(w, st, mp, nok, b->v, idx);
}

/*
 * A verdict that cannot be carried out (no port to send to, no reply that
 * may be built, a full transmit queue): the frame is dropped instead, and
 * counted as what really happened.  Nothing is counted before a frame's
 * fate is known, so nothing needs to be un-counted.
 */
static inline void
dp_fail(struct cls_verdict *v, unsigned reason)
{
	v->action = CDN_ACT_DROP;
	v->reason = (uint8_t)reason;
}

static inline void
dp_drop(struct dp_burst *b, struct rte_mbuf *m, struct cls_verdict *v,
    unsigned reason)
{
	dp_fail(v, reason);
	b->drop[b->ndrop++] = m;
}

/* Turns M into the TCP RST / ICMP unreachable for it, in place. */
static int
dp_reject(struct dp_burst *b, struct rte_mbuf *m, const struct pkt_meta *meta)
{
	int len;

	if (m->nb_segs != 1)
		return -1;
	len = pkt_reject_build(rte_pktmbuf_mtod(m, const uint8_t *),
	    m->data_len, meta, b->scratch, sizeof(b->scratch));
	if (len < 0 ||
	    (unsigned)len + m->data_off > rte_pktmbuf_data_room_size(m->pool))
		return -1;
	rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), b->scratch, (size_t)len);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	return 0;
}

/* Points M at the next hop: its MAC, and its VLAN tag if it has one. */
static int
dp_reroute(struct rte_mbuf *m, const struct pol_nexthop *nh)
{
	struct rte_ether_hdr *eh;

	if (nh->vlan >= 0) {
		m->vlan_tci = (uint16_t)nh->vlan;
		if (rte_vlan_insert(&m) != 0)
			return -1;
	}
	eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	memcpy(&eh->dst_addr, nh->mac, RTE_ETHER_ADDR_LEN);
	return 0;
}

static inline void
dp_tx_add(struct dp_burst *b, uint16_t port, struct rte_mbuf *m, unsigned i)
{
	struct dp_txbuf *t = &b->tx[port];

	t->slot[t->n] = (uint16_t)i;
	t->m[t->n++] = m;
}

size_t
dp_burst_size(void)
{
	return sizeof(struct dp_burst);
}

/*
 * A token bucket on the TSC: TOKENS (in ticks) refilled since LAST,
 * BURST events' worth at most; takes one event's TICK if it is there.
 */
static inline int
dp_bucket_take(uint64_t *tokens, uint64_t *last, uint64_t tick, uint64_t burst,
    uint64_t now)
{
	*tokens += now - *last;
	*last = now;
	if (*tokens > tick * burst)
		*tokens = tick * burst;
	if (*tokens < tick)
		return 0;
	*tokens -= tick;
	return 1;
}

/* Token bucket: one token per event, DP_LOG_BURST at most. */
static inline int
dp_log_allow(struct dp_worker *w)
{
	if (!dp_bucket_take(&w->log_tokens, &w->log_last, w->log_tick,
	        DP_LOG_BURST, rte_rdtsc())) {
		w->stats->log_suppressed++;
		return 0;
	}
	return 1;
}

static void
dp_log(struct dp_worker *w, const struct pkt_meta *m,
    const struct cls_verdict *v, unsigned in)
{
	struct dp_event ev;

	if (!dp_log_allow(w))
		return;
	ev.m = *m;
	ev.v = *v;
	ev.port = (uint16_t)in;
	if (rte_ring_sp_enqueue_elem(w->log, &ev, sizeof(ev)) != 0)
		w->stats->log_dropped++;
}

/*
 * A knock goes to the control plane whole (docs/knock.md).  Rate-limited
 * here too, so a flood cannot keep the main lcore copying.
 */
/* Whether this source's bucket may pass a knock now (and takes it). */
static inline int
dp_knock_src_ok(struct dp_worker *w, const struct pkt_meta *meta, uint64_t now)
{
	uint64_t h, a;

	if (meta->af == 4) {
		a = meta->src4;
	} else {
		memcpy(&a, meta->src6, 8); /* the /64 */
	}
	h = (a ^ w->knock_seed) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 29)) % DP_KNOCK_SRC;
	if (now < w->knock_src_next[h])
		return 0;
	w->knock_src_next[h] = now + rte_get_tsc_hz() / DP_KNOCK_SRC_HZ;
	return 1;
}

static void
dp_knock(struct dp_worker *w, const struct rte_mbuf *m,
    const struct pkt_meta *meta, unsigned in)
{
	struct dp_knock *k = (struct dp_knock *)w->scratch->linear;
	uint64_t now = rte_rdtsc();
	uint32_t off = meta->l4_off + 8u, len, a4;
	const void *p;

	len = meta->l4_off + 8u <= m->pkt_len ? m->pkt_len - off : 0;
	/* The source's bucket first: one source must not drain the worker's. */
	if (len == 0 || len > DPC_KNOCK_MAX || !dp_knock_src_ok(w, meta, now) ||
	    !dp_bucket_take(&w->knock_tokens, &w->knock_last, w->knock_tick,
	        DP_KNOCK_RING, now)) {
		w->stats->knock_dropped++;
		return;
	}
	memset(k, 0, offsetof(struct dp_knock, data));
	if (meta->af == 4) {
		a4 = rte_cpu_to_be_32(meta->src4);
		memcpy(k->src, &a4, 4);
	} else {
		memcpy(k->src, meta->src6, 16);
	}
	k->af = meta->af;
	k->port = (uint8_t)in;
	k->len = (uint16_t)len;
	k->sport = meta->sport;
	if ((p = rte_pktmbuf_read(m, off, len, k->data)) == NULL) {
		w->stats->knock_dropped++;
		return;
	}
	if (p != k->data)
		rte_memcpy(k->data, p, len);
	if (rte_ring_sp_enqueue_elem(w->knock, k, sizeof(*k)) != 0)
		w->stats->knock_dropped++;
}

/*
 * Frame I's log event.  A proxied flow's packet carries the hops its
 * relay reported as layers: the record's origin is the client.
 */
static void
dp_log_one(struct dp_worker *w, struct dp_burst *b, const struct cls_verdict *v,
    unsigned in, unsigned i)
{
	struct pkt_meta pm;

	if (unlikely(b->prx[i]) &&
	    prx_log_meta(w->prx, &b->meta[i], rte_rdtsc(), &pm) == 0) {
		dp_log(w, &pm, v, in);
		return;
	}
	dp_log(w, &b->meta[i], v, in);
}

/*
 * A proxied flow refused in mid-stream (core/prx): its relay gets a RST
 * out of the ingress port (a new mbuf), and the segment itself becomes
 * the RST its service gets, whose every earlier byte went through.
 * What cannot be built or sent is a plain drop.
 */
static void
dp_prx_reset(struct dp_worker *w, struct dp_burst *b, unsigned in,
    struct rte_mbuf *m, unsigned i)
{
	uint16_t out = w->ctx->port[in].peer;
	struct rte_mbuf *r;
	int n;

	if (m->nb_segs != 1) {
		b->drop[b->ndrop++] = m;
		return;
	}
	if (b->tx[in].n < DP_BURST_MAX &&
	    (r = rte_pktmbuf_alloc(m->pool)) != NULL) {
		n = pkt_reject_build(rte_pktmbuf_mtod(m, const uint8_t *),
		    m->data_len, &b->meta[i], rte_pktmbuf_mtod(r, uint8_t *),
		    rte_pktmbuf_tailroom(r));
		if (n > 0) {
			r->data_len = (uint16_t)n;
			r->pkt_len = (uint32_t)n;
			dp_tx_add(b, (uint16_t)in, r, i);
		} else {
			rte_pktmbuf_free(r);
		}
	}
	n = pkt_reset_forward(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
	    &b->meta[i], b->scratch, sizeof(b->scratch));
	if (out == DP_NO_PORT || n <= 0 || b->tx[out].n == DP_BURST_MAX) {
		b->drop[b->ndrop++] = m;
		return;
	}
	rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), b->scratch, (size_t)n);
	m->data_len = (uint16_t)n;
	m->pkt_len = (uint32_t)n;
	dp_tx_add(b, out, m, i);
}

/* Carries out frame I's verdict; a verdict that cannot be becomes a drop. */
static void
dp_act_one(struct dp_worker *w, struct dp_burst *b, const struct policy *pol,
    unsigned in, struct rte_mbuf *m, unsigned i)
{
	const struct dp_ctx *ctx = w->ctx;
	struct cls_verdict *v = &b->v[i];
	const struct pol_nexthop *nh;
	uint16_t out;

	if (unlikely(v->reason == CDN_R_KNOCK))
		dp_knock(w, m, &b->meta[i], in);
	dp_evid(w, m, &b->meta[i], v, in); /* before a reject rewrites M */
	switch (v->action) {
	case CDN_ACT_ALLOW:
		out = ctx->port[in].peer;
		if (unlikely(out == DP_NO_PORT))
			dp_drop(b, m, v, CDN_R_NO_PEER);
		else
			dp_tx_add(b, out, m, i);
		break;
	case CDN_ACT_REJECT:
		/* Still a denial: only the reply is missing. */
		if (dp_reject(b, m, &b->meta[i]) == 0)
			dp_tx_add(b, (uint16_t)in, m, i);
		else
			dp_drop(b, m, v, CDN_R_REJECT_FAIL);
		break;
	case CDN_ACT_REROUTE:
		nh = &pol->nexthop[v->nexthop];
		out = ctx->local[nh->port];
		if (out == DP_NO_PORT || dp_reroute(m, nh) != 0)
			dp_drop(b, m, v, CDN_R_NO_PEER);
		else
			dp_tx_add(b, out, m, i);
		break;
	default:
		if (unlikely(b->prx[i] & PRX_J_RESET))
			dp_prx_reset(w, b, in, m, i);
		else
			b->drop[b->ndrop++] = m;
		break;
	}
	if (unlikely(v->log))
		dp_log_one(w, b, v, in, i);
}

static void
dp_tx_flush(struct dp_worker *w, struct dp_burst *b)
{
	const struct dp_ctx *ctx = w->ctx;

	for (unsigned p = 0; p < ctx->nports; p++) {
		struct dp_txbuf *t = &b->tx[p];
		struct stats_port *sp = &w->stats->port[p];
		uint16_t sent;

		if (t->n == 0)
			continue;
		sent = rte_eth_tx_burst(ctx->port[p].id, (uint16_t)w->idx, t->m,
		    t->n);
		sp->tx_packets += sent;
		for (unsigned i = 0; i < sent; i++)
			sp->tx_bytes += t->m[i]->pkt_len;
		if (unlikely(sent < t->n)) {
			sp->tx_dropped += t->n - sent;
			for (unsigned i = sent; i < t->n; i++)
				dp_fail(&b->v[t->slot[i]], CDN_R_TX_FULL);
			rte_pktmbuf_free_bulk(&t->m[sent], t->n - sent);
		}
		t->n = 0;
	}
}

/* A denied packet's key for the worker's top sketch (core/top). */
static inline void
dp_top_key(struct top_key *k, const struct dp_state *st,
    const struct pkt_meta *m, const struct cls_verdict *v)
{
	memset(k, 0, sizeof(*k));
	k->af = m->af;
	if (m->af == 4) {
		uint32_t a = rte_cpu_to_be_32(m->src4);

		memcpy(k->src, &a, sizeof(a));
	} else {
		memcpy(k->src, m->src6, sizeof(k->src));
	}
	k->revision = (uint32_t)st->revision;
	k->cc = v->src_cc;
	k->rule = v->rule;
}

/*
 * The burst's denied packets into the top sketch: keyed and their sets
 * prefetched first, then counted, so the sets' cache misses overlap.
 */
static void
dp_top_burst(struct dp_worker *w, struct dp_burst *b, const struct dp_state *st,
    unsigned n)
{
	struct top_table *t = NULL;
	unsigned nd = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!b->parsed[i] || b->v[i].action == CDN_ACT_ALLOW ||
		    !b->meta[i].af)
			continue;
		if (t == NULL)
			t = top_table_now(w->top, w->ctx->now_boot);
		dp_top_key(&b->topk[nd], st, &b->meta[i], &b->v[i]);
		b->toph[nd] = top_hash(&b->topk[nd], w->top->seed);
		top_prefetch(t, b->toph[nd++]);
	}
	for (unsigned j = 0; j < nd; j++)
		top_add_hashed(t, &b->topk[j], b->toph[j]);
}

static void
dp_burst_run(struct dp_worker *w, struct dp_burst *b, unsigned in,
    struct rte_mbuf **pkts, unsigned n)
{
	/* One state for the whole burst; it stays valid until we report. */
	const struct dp_state *st =
	    __atomic_load_n(&w->ctx->state, __ATOMIC_ACQUIRE);

	dp_classify(w, b, st, in, pkts, n);
	b->ndrop = 0;
	for (unsigned i = 0; i < n; i++)
		dp_act_one(w, b, st->pol, in, pkts[i], i);
	if (b->ndrop)
		rte_pktmbuf_free_bulk(b->drop, b->ndrop);
	dp_tx_flush(w, b);
	/* Counted once, now that each frame's fate is known. */
	for (unsigned i = 0; i < n; i++) {
		stats_account(w->stats, &b->v[i], b->parsed[i]);
		if (b->parsed[i])
			stats_tun(w->stats, &b->meta[i]);
	}
	dp_top_burst(w, b, st, n);
}

int
dp_worker_main(void *arg)
{
	struct dp_worker *w = arg;
	struct dp_ctx *ctx = w->ctx;
	struct rte_mbuf *pkts[DP_BURST_MAX];
	struct dp_burst *b = w->scratch;
	uint16_t n;

	w->log_tick = rte_get_tsc_hz() / DP_LOG_RATE;
	w->log_last = rte_rdtsc();
	w->log_tokens = w->log_tick * DP_LOG_BURST;
	w->knock_tick = rte_get_tsc_hz() / DP_KNOCK_RATE;
	w->knock_last = w->log_last;
	w->knock_tokens = w->knock_tick * DP_KNOCK_RING;
	w->knock_seed = rte_rand();
	rte_rcu_qsbr_thread_online(ctx->qsv, w->idx);
	while (!ctx->quit) {
		for (unsigned p = 0; p < ctx->nports; p++) {
			if (w->idx >= ctx->port[p].nq)
				continue;
			n = rte_eth_rx_burst(ctx->port[p].id, (uint16_t)w->idx,
			    pkts, (uint16_t)ctx->burst);
			if (n)
				dp_burst_run(w, b, p, pkts, n);
		}
		rte_rcu_qsbr_quiescent(ctx->qsv, w->idx);
	}
	rte_rcu_qsbr_thread_offline(ctx->qsv, w->idx);
	return 0;
}
