/*
 * The packets of proxied services.  Forward (relay -> service): a SYN
 * opens a flow; the bytes that follow, in order, are held until the
 * header decides; the deciding segment is classified with the reported
 * client, and a refusal drops it and resets both ends.  Segments out of
 * order are dropped while pending, and retransmissions whose bytes
 * differ from those held are dropped too: a flow is decided once, on
 * the bytes the service gets.  Reverse (service -> relay): only a
 * denied flow's are dropped.  Senders that are not trusted relays are
 * judged by their own address, their PROXY header counted.
 */
#include <string.h>

#include "core/prx/prx.h"
#include "core/prx/prx_judge.h"
#include "core/stats/reasons.h"

/* A TCP segment's fields the state machine reads. */
struct prx_seg {
	uint32_t seq;
	const uint8_t *pay;
	uint32_t plen;
	uint8_t flags;
};

static int
prx_seg_make(const uint8_t *frame, uint32_t len, const struct pkt_meta *m,
    struct prx_seg *g)
{
	const uint8_t *tcp = frame + m->l4_off;
	uint32_t doff = (uint32_t)(tcp[12] >> 4) * 4;
	uint32_t end = (uint32_t)m->l3_off + m->l3_len;
	uint32_t start = (uint32_t)m->l4_off + doff;

	/* The parser checked the header; the payload bounds are ours. */
	if (end > len || start > end)
		return -1;
	g->seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
	         (uint32_t)tcp[6] << 8 | tcp[7];
	g->pay = frame + start;
	g->plen = end - start;
	g->flags = m->tcp_flags;
	return 0;
}

static void
prx_refuse(struct cls_verdict *v, unsigned reason)
{
	v->action = CDN_ACT_DROP;
	v->reason = (uint8_t)reason;
	v->rule = POL_RULE_DEFAULT;
	v->log = 0;
	v->nexthop = 0;
}

/* An address of a pkt_layer, from a reported hop. */
static void
prx_layer_set(struct pkt_layer *l, const struct prx_addr *a)
{
	memset(l, 0, sizeof(*l));
	l->af = a->af;
	l->kind = PKT_TUN_NONE;
	if (a->af == 4)
		l->src4 = (uint32_t)a->a[0] << 24 | (uint32_t)a->a[1] << 16 |
		          (uint32_t)a->a[2] << 8 | a->a[3];
	else if (a->af == 6)
		memcpy(l->src6, a->a, 16);
}

void
prx_layers_make(const struct prx_out *o, int origin, struct prx_flow *f)
{
	static const struct prx_addr unknown;
	const struct prx_addr *org = origin < 0 ? &unknown : &o->hop[origin];
	unsigned n = 1, room = PKT_LAYER_MAX - 1;

	prx_layer_set(&f->layer[0], org);
	for (int i = 0; i < origin; i++) {
		if (n == room - 1 && i < origin - 1) {
			prx_layer_set(&f->layer[n++], &unknown);
			break;
		}
		prx_layer_set(&f->layer[n++], &o->hop[i]);
	}
	if (n > 1)
		prx_layer_set(&f->layer[n++], org);
	f->nlayer = (uint8_t)n;
	f->proxied = PKT_PRX_REPORTED |
	             (org->af == 0 ? PKT_PRX_SRC_UNKNOWN : 0);
}

/* ::ffff:A, A an IPv4 address in host order. */
static void
prx_mapped(uint32_t a, uint8_t *out)
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	for (unsigned b = 0; b < 4; b++)
		out[12 + b] = (uint8_t)(a >> (24 - 8 * b));
}

void
prx_meta_make(const struct pkt_meta *m, const struct prx_flow *f,
    struct pkt_meta *out)
{
	const struct pkt_layer *o = &f->layer[f->nlayer - 1];

	*out = *m;
	out->proxied = f->proxied;
	out->nlayer = f->nlayer;
	memcpy(out->layer, f->layer, sizeof(out->layer));
	if (o->af == 0)
		return; /* judged as unknown: PKT_PRX_SRC_UNKNOWN */
	if (o->af == m->af) {
		out->src4 = o->src4;
		memcpy(out->src6, o->src6, 16);
		return;
	}
	out->af = 6;
	if (o->af == 6) {
		memcpy(out->src6, o->src6, 16);
		prx_mapped(m->dst4, out->dst6);
	} else {
		prx_mapped(o->src4, out->src6);
	}
}

int
prx_log_meta(struct prx_flow_table *t, const struct pkt_meta *m, uint64_t now,
    struct pkt_meta *out)
{
	struct prx_fkey k;
	const struct prx_flow *f;

	prx_fkey_make(m, 0, &k);
	f = prx_flow_find(t, &k, now);
	if (f == NULL || f->state == PRX_F_PENDING || f->nlayer == 0)
		return -1;
	*out = *m;
	out->nlayer = f->nlayer;
	out->proxied = f->proxied;
	memcpy(out->layer, f->layer, sizeof(out->layer));
	return 0;
}

/* Judges M as F says: by its own source, or the client reported. */
static void
prx_classify(const struct cls_env *e, const struct prx_flow *f,
    const struct pkt_meta *m, unsigned dir, struct cls_verdict *v)
{
	struct pkt_meta pm;

	if (f == NULL || f->nlayer == 0) {
		cls_classify(e, m, dir, v);
		return;
	}
	prx_meta_make(m, f, &pm);
	cls_classify(e, &pm, dir, v);
}

/* An unknown client: what a full table and an incomplete header give. */
static int
prx_unknown(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    unsigned act, unsigned reason, struct cls_verdict *v)
{
	struct prx_flow f;

	if (act == PRX_ACT_DROP) {
		prx_refuse(v, reason);
		return PRX_J_DONE;
	}
	memset(&f, 0, sizeof(f));
	prx_layers_make(&(struct prx_out){ 0 }, -1, &f);
	prx_classify(e, &f, m, dir, v);
	return PRX_J_DONE;
}

/* Is the address (AF, host-order V4 or V6) a trusted relay's? */
static int
prx_trusted_at(const struct policy *p, uint8_t af, uint32_t v4,
    const uint8_t *v6)
{
	struct prx_addr a;

	memset(&a, 0, sizeof(a));
	a.af = af;
	if (af == 4) {
		uint32_t x = __builtin_bswap32(v4);

		memcpy(a.a, &x, 4);
	} else {
		memcpy(a.a, v6, 16);
	}
	return prx_trusted(&p->prx_trust, &a);
}

/* Is M's sender (DST: its receiver) a trusted relay? */
static int
prx_trusted_src(const struct policy *p, const struct pkt_meta *m, int dst)
{
	return dst ? prx_trusted_at(p, m->af, m->dst4, m->dst6)
	           : prx_trusted_at(p, m->af, m->src4, m->src6);
}

/* The same for the origin of a tunnelled M. */
static int
prx_trusted_layer(const struct policy *p, const struct pkt_meta *m)
{
	const struct pkt_layer *l;

	if (m->nlayer == 0)
		return prx_trusted_src(p, m, 0);
	l = pkt_origin(m);
	return prx_trusted_at(p, l->af, l->src4, l->src6);
}

int
prx_not_inspected(const struct policy *p, const struct pkt_meta *m)
{
	return prx_wants(p, m) && p->prx_port[m->dport] != PRX_MODE_NONE &&
	       (m->nlayer != 0 || m->frag != PKT_FRAG_NONE) &&
	       prx_trusted_layer(p, m);
}

/* Does S start like a PROXY header (v1 or v2)? */
static int
prx_looks_proxy(const uint8_t *s, uint32_t len)
{
	return (len >= 6 && memcmp(s, "PROXY ", 6) == 0) ||
	       (len >= 12 && memcmp(s, "\r\n\r\n\0\r\nQUIT\n", 12) == 0);
}

/*
 * The window: the policy's, but never more than the table's buffers
 * hold (a window raised by a reload takes effect at the next start).
 */
static uint32_t
prx_win(const struct policy *p, const struct prx_flow_table *t)
{
	uint32_t w = prx_flow_window(t);

	return p->prx_window < w ? p->prx_window : w;
}

/* The header of F's held bytes (or of segment G alone). */
static int
prx_parse(const struct policy *p, const struct prx_flow_table *t, unsigned mode,
    const uint8_t *b, uint32_t len, struct prx_out *o)
{
	if (mode == PRX_MODE_FORWARDED || mode == PRX_MODE_XFF)
		return prx_http_parse(b, len, prx_win(p, t), mode, o);
	return prx_proxy_parse(b, len, prx_win(p, t), mode, o);
}

/*
 * F decided on header result R (O): classified with what it reported
 * into V; a refusal denies the flow and resets it.
 */
static int
prx_decide(const struct cls_env *e, struct prx_flow_table *t,
    struct prx_flow *f, const struct pkt_meta *m, unsigned dir, int r,
    const struct prx_out *o, struct cls_verdict *v, struct stats *s)
{
	const struct policy *p = e->pol;

	f->nlayer = 0;
	if (r == PRX_BAD) {
		prx_refuse(v, CDN_R_PRX_BAD);
	} else if ((r == PRX_LONG || (r == PRX_DONE && o->n == 0)) &&
	           p->prx_incomplete == PRX_ACT_DROP) {
		prx_refuse(v, CDN_R_PRX_INCOMPLETE);
	} else {
		if (r == PRX_LOCAL)
			s->prx.local++;
		else
			prx_layers_make(o,
			    r == PRX_DONE ? prx_origin(&p->prx_trust, o) : -1,
			    f);
		prx_classify(e, f, m, dir, v);
	}
	if (v->action == CDN_ACT_ALLOW || v->action == CDN_ACT_REROUTE) {
		s->prx.reported += f->nlayer != 0;
		prx_flow_settle(t, f, PRX_F_DECIDED);
		return PRX_J_DONE;
	}
	s->prx.denied++;
	f->reason = v->reason;
	prx_flow_settle(t, f, PRX_F_DENIED);
	v->action = CDN_ACT_DROP;
	return PRX_J_DONE | PRX_J_RESET;
}

/*
 * How many of G's first bytes F already holds, the same ones: 0 for the
 * next segment, G's length for a resend of held bytes, more for one that
 * resends some and carries new ones (TCP may coalesce); -1 when G is out
 * of order or resends bytes that differ from those held (CHANGED set).
 */
static int64_t
prx_seg_skip(const struct prx_flow_table *t, const struct prx_flow *f,
    const struct prx_seg *g, int *changed)
{
	uint32_t back = f->seq_next - g->seq; /* sequence space wraps */
	uint32_t n = back < g->plen ? back : g->plen;
	const uint8_t *h = prx_flow_held(t, f);

	*changed = 0;
	if (back == 0)
		return 0;
	if (h == NULL || back > f->blen)
		return -1;
	if (memcmp(h + f->blen - back, g->pay, n) != 0) {
		*changed = 1;
		return -1;
	}
	return n;
}

static int
prx_pending(const struct cls_env *e, struct prx_flow_table *t,
    struct prx_flow *f, const struct pkt_meta *m, unsigned dir,
    const struct prx_seg *g, struct cls_verdict *v, struct stats *s)
{
	const struct policy *p = e->pol;
	unsigned mode = p->prx_port[m->dport];
	struct prx_out o;
	const uint8_t *b;
	uint32_t held, plen;
	int changed, r = PRX_MORE;
	int64_t skip = prx_seg_skip(t, f, g, &changed);

	if (skip < 0) {
		s->prx.changed += (uint64_t)changed;
		prx_refuse(v, CDN_R_PRX_ORDER);
		return PRX_J_DONE;
	}
	b = g->pay + skip;
	held = plen = g->plen - (uint32_t)skip;
	if (plen == 0) { /* nothing new: a bare ACK, a FIN, a resend */
		cls_classify(e, m, dir, v);
		return PRX_J_DONE;
	}
	/* Most headers come whole in the first segment: nothing held. */
	if (f->buf != PRX_BUF_NONE || skip != 0 ||
	    (r = prx_parse(p, t, mode, b, held, &o)) == PRX_MORE) {
		b = prx_flow_hold(t, f, b, plen, &held);
		if (b == NULL) {
			s->prx.full++;
			prx_flow_settle(t, f, PRX_F_DENIED);
			f->reason = CDN_R_PRX_FULL;
			return prx_unknown(e, m, dir, p->prx_full,
			    CDN_R_PRX_FULL, v);
		}
		r = prx_parse(p, t, mode, b, held, &o);
	}
	if (r == PRX_MORE && held >= prx_win(p, t))
		r = PRX_LONG;
	f->seq_next += plen;
	if (r != PRX_MORE)
		return prx_decide(e, t, f, m, dir, r, &o, v, s);
	cls_classify(e, m, dir, v);
	return PRX_J_DONE;
}

/*
 * How far a decided flow's data may lie behind or ahead of the highest
 * byte seen (resends, losses before us): more than a receiver's window
 * (Linux's largest by default is 6 MiB), so no real flow stalls, and a
 * 32nd of the sequence space, so a forger's line rarely covers the
 * relay's.
 */
#define PRX_SEQ_SLACK (1u << 26)

/*
 * Is G's data on F's sequence line?  A flow is keyed by its addresses
 * and ports only: a SYN forged with the relay's address restarts it on
 * sequence numbers of the forger's choosing, and the data that follows
 * decides it.  The relay's own segments are far off that line (their
 * sequence numbers are the relay's, unknown to the forger), so they are
 * refused rather than passed under the forger's verdict.
 */
static int
prx_seq_ok(struct prx_flow *f, const struct prx_seg *g)
{
	uint32_t end = g->seq + g->plen;

	if (g->plen == 0)
		return 1;
	if (g->seq - f->seq_next + PRX_SEQ_SLACK > 2 * PRX_SEQ_SLACK)
		return 0;
	if ((int32_t)(end - f->seq_next) > 0)
		f->seq_next = end;
	return 1;
}

/* Relay -> service. */
static int
prx_forward(const struct cls_env *e, struct prx_flow_table *t,
    const struct pkt_meta *m, unsigned dir, const struct prx_seg *g,
    uint64_t now, struct cls_verdict *v, struct stats *s)
{
	const struct policy *p = e->pol;
	struct prx_fkey k;
	struct prx_flow *f;

	prx_fkey_make(m, 0, &k);
	if ((g->flags & 0x12) == 0x02) { /* SYN without ACK: a new flow */
		if (g->plen != 0) {
			prx_refuse(v, CDN_R_PRX_NOT_INSPECTED);
			return PRX_J_DONE;
		}
		if ((f = prx_flow_open(t, &k, g->seq + 1, now)) == NULL) {
			s->prx.full++;
			return prx_unknown(e, m, dir, p->prx_full,
			    CDN_R_PRX_FULL, v);
		}
		s->prx.tracked++;
		cls_classify(e, m, dir, v);
		return PRX_J_DONE;
	}
	if ((f = prx_flow_find(t, &k, now)) == NULL)
		return prx_unknown(e, m, dir, p->prx_full, CDN_R_PRX_NO_FLOW,
		    v);
	if (f->state == PRX_F_DENIED) {
		prx_refuse(v, CDN_R_PRX_DENIED);
		return PRX_J_DONE;
	}
	if (f->state == PRX_F_DECIDED) {
		if (!prx_seq_ok(f, g)) {
			prx_refuse(v, CDN_R_PRX_ORDER);
			return PRX_J_DONE;
		}
		prx_classify(e, f, m, dir, v);
		return PRX_J_DONE;
	}
	return prx_pending(e, t, f, m, dir, g, v, s);
}

/* Service -> relay: a denied flow stays shut. */
static int
prx_reverse(const struct cls_env *e, struct prx_flow_table *t,
    const struct pkt_meta *m, unsigned dir, uint64_t now, struct cls_verdict *v)
{
	struct prx_fkey k;
	struct prx_flow *f;

	prx_fkey_make(m, 1, &k);
	f = prx_flow_find(t, &k, now);
	if (f != NULL && f->state == PRX_F_DENIED) {
		prx_refuse(v, CDN_R_PRX_DENIED);
		return PRX_J_DONE;
	}
	cls_classify(e, m, dir, v);
	return PRX_J_DONE;
}

/* Not from a trusted relay: its own address judges it. */
static int
prx_untrusted(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    const struct prx_seg *g, struct cls_verdict *v, struct stats *s)
{
	unsigned mode = e->pol->prx_port[m->dport];
	int r = PRX_J_DONE;

	cls_classify(e, m, dir, v);
	if (mode >= PRX_MODE_V1 && mode <= PRX_MODE_ANY &&
	    prx_looks_proxy(g->pay, g->plen)) {
		s->prx.untrusted++;
		v->log = 1;
		r |= PRX_J_UNTRUST;
	}
	return r;
}

int
prx_judge(const struct cls_env *e, struct prx_flow_table *t,
    const uint8_t *frame, uint32_t len, const struct pkt_meta *m, unsigned dir,
    uint64_t now, struct cls_verdict *v, struct stats *s)
{
	const struct policy *p = e->pol;
	struct prx_seg g;

	if (!prx_wants(p, m))
		return PRX_J_NONE;
	if (p->prx_port[m->dport] != PRX_MODE_NONE) {
		/* A relay's flow we cannot follow is not passed on its
		 * address: tunnelled or fragmented, it is refused. */
		if (m->nlayer != 0 || m->frag != PKT_FRAG_NONE) {
			if (!prx_not_inspected(p, m))
				return PRX_J_NONE;
			prx_refuse(v, CDN_R_PRX_NOT_INSPECTED);
			return PRX_J_DONE;
		}
		if (prx_seg_make(frame, len, m, &g) < 0)
			return PRX_J_NONE;
		if (!prx_trusted_src(p, m, 0))
			return prx_untrusted(e, m, dir, &g, v, s);
		return prx_forward(e, t, m, dir, &g, now, v, s);
	}
	if (m->nlayer == 0 && prx_trusted_src(p, m, 1))
		return prx_reverse(e, t, m, dir, now, v);
	return PRX_J_NONE;
}
