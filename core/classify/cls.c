#include <string.h>

#include "core/classify/cls.h"
#include "core/stats/reasons.h"

#define CLS_BURST_MAX 256

/*
 * A rule with an identity block decided against the flow: say so, so
 * counters and logs tell identity refusals from address-based ones.
 */
static inline void
cls_verdict_set(const struct policy *p, uint16_t rule, struct cls_verdict *v)
{
	if (rule == POL_RULE_DEFAULT) {
		v->action = p->default_action;
		v->log = p->default_log;
		v->evidence = 0;
		v->nexthop = 0;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE
		                                       : CDN_R_DEFAULT;
	} else {
		v->action = p->rule[rule].action;
		v->log = p->rule[rule].log;
		v->evidence = p->rule[rule].evidence;
		v->nexthop = p->rule[rule].nexthop;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE
		            : (p->noident.w[rule / 64] >> (rule % 64)) & 1
		                ? CDN_R_RULE
		                : CDN_R_IDENTITY;
	}
	v->rule = rule;
}

/* The first rule in all of S, or POL_RULE_DEFAULT. */
static inline uint16_t
cls_first(const struct policy *p, const struct cls_sets *s)
{
	unsigned nw = pol_nwords(p);

	for (unsigned i = 0; i < nw; i++) {
		uint64_t m = s->s[0]->w[i];

		for (unsigned k = 1; k < CLS_SET_MAX; k++)
			m &= s->s[k]->w[i];
		if (m)
			return (uint16_t)(i * 64 + __builtin_ctzll(m));
	}
	return POL_RULE_DEFAULT;
}
/* Management flows without a valid session stop here, before any rule. */
static inline void
cls_unident(const struct policy *p, unsigned res, struct cls_verdict *v)
{
	v->action = p->unident_action;
	v->log = p->unident_log;
	v->evidence = 0;
	v->nexthop = p->unident_nexthop;
	v->rule = POL_RULE_DEFAULT;
	v->reason = res == SESS_EXPIRED ? CDN_R_SESSION_EXPIRED
	                                : CDN_R_NO_SESSION;
}

/*
 * Protocol class and service of a whole packet or a first fragment (which
 * holds the whole L4 header: the parser refuses it otherwise); returns
 * whether it needs a session: its service does, and the gate judges its
 * direction DIR (inbound only, unless identity.direction is "any").
 */
static inline int
cls_service(const struct policy *p, const struct pkt_meta *m, unsigned dir,
    struct cls_verdict *v)
{
	unsigned pc = cls_proto_class(m->l4proto, pkt_l4_af(m));

	v->service = POL_SVC_NONE;
	if (m->frag == PKT_FRAG_LATER || pc > POL_PROTO_UDP || !m->has_l4)
		return 0;
	v->service = p->port_service[pc][m->dport];
	return v->service != POL_SVC_NONE &&
	       ((p->ident_svc >> v->service) & 1) && pol_ident_gate(p, dir);
}

/*
 * A knock is handed to the control plane (dp_worker), never forwarded.
 * One inside a tunnel is not a knock (its source would be the relay's):
 * the rules judge it.
 */
static inline int
cls_knock(const struct policy *p, const struct pkt_meta *m, unsigned pc,
    unsigned dir)
{
	return p->knock_port != 0 && pc == POL_PROTO_UDP && m->has_l4 &&
	       m->frag == PKT_FRAG_NONE && dir == POL_DIR_IN &&
	       m->dport == p->knock_port && m->nlayer == 0;
}

/*
 * A source-routed packet's destination is only its next waypoint, so the
 * rules would judge the wrong address: dropped in both directions unless
 * `source_route = "allow"` (docs/packet-parsing.md, Source routing).
 */
static inline int
cls_srcroute(const struct policy *p, const struct pkt_meta *m)
{
	return m->srcroute && p->srcroute_action != CDN_ACT_ALLOW;
}

/* A drop decided before any rule (knock, source route). */
static inline void
cls_gate_drop(struct cls_verdict *v, uint8_t reason)
{
	v->action = CDN_ACT_DROP;
	v->reason = reason;
	v->rule = POL_RULE_DEFAULT;
	v->log = 0;
	v->evidence = 0;
	v->nexthop = 0;
}

/*
 * The rules taking a whole TCP/UDP packet's ports: its destination
 * port's class, ORed with its source port's when a service has sports
 * (into BOTH, which aliases no policy set: the OR vectorises).
 */
static inline const struct pol_set *
cls_ports(const struct policy *p, const struct pkt_meta *m, unsigned pc,
    struct pol_set *restrict both)
{
	const struct pol_set *d = &p->class_rules[p->port_class[pc][m->dport]];
	const struct pol_set *s;

	if (!p->has_sports)
		return d;
	s = &p->class_rules[p->sport_class[pc][m->sport]];
	for (unsigned i = 0; i < POL_WORDS; i++)
		both->w[i] = d->w[i] | s->w[i];
	return both;
}

/* Sets a packet's evaluation builds for itself, kept out of the policy. */
struct cls_tmp {
	struct pol_set both;   /* destination | source port classes */
	struct pol_set src;    /* the source's country | its relay classes */
	struct pol_set origin; /* the same for the origin */
	struct pol_set via;    /* every layer's via set, ORed */
	struct pol_set dvia;   /* every layer's dst_via set, ORed */
};

/*
 * Where a packet's layers were looked up (cls_layer_ccs): each layer's
 * country and relay classes, outermost first.  Unused untunnelled.
 */
struct cls_lay {
	const geo_cc_t *cc;
	const geo_cls_t *cls;
	const geo_cc_t *dcc; /* destinations' (cls_layer_dccs) */
};

/*
 * Every layer's via set ORed into VIA: their countries' sets, then
 * those of every class some layer is in (a class shared by two layers
 * is ORed once).
 */
static inline const struct pol_set *
cls_via(const struct policy *p, const struct pkt_meta *m,
    const struct cls_lay *l, struct pol_set *restrict via)
{
	geo_cls_t c = 0;

	*via = p->via_cc[l->cc[0]];
	for (unsigned j = 0; j < m->nlayer; j++) {
		c |= l->cls[j];
		if (j == 0)
			continue;
		for (unsigned i = 0; i < POL_WORDS; i++)
			via->w[i] |= p->via_cc[l->cc[j]].w[i];
	}
	for (c &= p->layer_cls_used; c != 0; c &= c - 1)
		for (unsigned i = 0; i < POL_WORDS; i++)
			via->w[i] |= p->via_cls[__builtin_ctz(c)].w[i];
	return via;
}

/*
 * Every layer's dst_via set ORed into D: the rules any layer's
 * destination country takes.  A relay and the host it carries each
 * send somewhere; `dst_via` denies when any of them goes where denied.
 */
static inline const struct pol_set *
cls_dst_via(const struct policy *p, const struct pkt_meta *m,
    const struct cls_lay *l, struct pol_set *restrict d)
{
	*d = p->dst_via_cc[l->dcc[0]];
	for (unsigned j = 1; j < m->nlayer; j++)
		for (unsigned i = 0; i < POL_WORDS; i++)
			d->w[i] |= p->dst_via_cc[l->dcc[j]].w[i];
	return d;
}

/*
 * The tunnel sets of M: its origin's country and classes, every
 * layer's via set ORed, its tunnel class, T's where built for M.  L
 * holds a tunnelled packet's layers; a packet carried by nothing is
 * its own origin and only layer.
 */
static inline void
cls_layers(const struct policy *p, const struct pkt_meta *m,
    const struct cls_lay *l, struct cls_verdict *v, struct cls_sets *s,
    struct cls_tmp *t)
{
	unsigned o;

	s->s[CLS_SET_TUN] = &p->tun[cls_tun_class(m)];
	if (__builtin_expect(m->nlayer == 0, 1)) {
		v->origin_cc = v->src_cc;
		v->origin_cls = v->src_cls;
		s->s[CLS_SET_ORIGIN] = pol_src_set(p->origin_cc, p->origin_cls,
		    p->layer_cls_used, v->src_cc, v->src_cls, &t->origin);
		s->s[CLS_SET_VIA] = pol_src_set(p->via_cc, p->via_cls,
		    p->layer_cls_used, v->src_cc, v->src_cls, &t->via);
		s->s[CLS_SET_DST_VIA] = &p->dst_via_cc[v->dst_cc];
		return;
	}
	o = m->nlayer - 1u;
	v->origin_cc = l->cc[o];
	v->origin_cls = l->cls[o];
	s->s[CLS_SET_ORIGIN] = pol_src_set(p->origin_cc, p->origin_cls,
	    p->layer_cls_used, v->origin_cc, v->origin_cls, &t->origin);
	s->s[CLS_SET_VIA] = cls_via(p, m, l, &t->via);
	/* A proxied flow's hops say who, never where: its destination is
	 * the one the packet is sent to. */
	s->s[CLS_SET_DST_VIA] = m->proxied ? &p->dst_via_cc[v->dst_cc]
	                                   : cls_dst_via(p, m, l, &t->dvia);
}

/*
 * The gates a whole packet meets before any rule (source route,
 * fragment, knock, identity): 1 when one of them decided V.  Else 0,
 * with S the sets the rules judge it by; its port, source and via sets
 * may be T's (built for this packet), kept apart from S so that S stays
 * in registers on the fast path.  L: the layers (cls_layer_ccs).  SO
 * is the session lookup of a packet whose service needs one
 * (cls_service), NULL otherwise.  Always inlined: the fast path must
 * not pay a call nor a spill of S for explain's sake.
 */
static inline __attribute__((always_inline)) int
cls_gates(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    const struct sess_out *so, const struct cls_lay *l, struct cls_verdict *v,
    struct cls_sets *s, struct cls_tmp *t)
{
	const struct policy *p = e->pol;
	unsigned pc = cls_proto_class(m->l4proto, pkt_l4_af(m));
	const struct pol_set *ports = &p->portless, *ids = &p->noident;
	const uint64_t *bits;

	/* First: every verdict, a gate's too, names the origin. */
	cls_layers(p, m, l, v, s, t);

	if (__builtin_expect(cls_srcroute(p, m), 0)) {
		cls_gate_drop(v, CDN_R_SRCROUTE);
		return 1;
	}
	/*
	 * A later fragment has no ports: it follows its first fragment's
	 * verdict, which only the fragment table (core/frag) knows.  Alone
	 * it is refused; a first fragment is judged as a whole packet.
	 */
	if (__builtin_expect(m->frag == PKT_FRAG_LATER, 0)) {
		cls_gate_drop(v, CDN_R_FRAG_NO_FIRST);
		return 1;
	}
	if (__builtin_expect(cls_knock(p, m, pc, dir), 0)) {
		cls_gate_drop(v, CDN_R_KNOCK);
		return 1;
	}
	if (pc <= POL_PROTO_UDP && m->has_l4)
		ports = cls_ports(p, m, pc, &t->both);
	if (so != NULL) {
		if (so->res != SESS_HIT || e->sess == NULL ||
		    (bits = sess_ident_bits(e->sess, so->ident)) == NULL) {
			cls_unident(p, so->res, v);
			return 1;
		}
		ids = (const struct pol_set *)bits;
	}
	s->s[CLS_SET_SRC] = pol_src_set(p->src_cc, p->src_cls, p->src_cls_used,
	    v->src_cc, v->src_cls, &t->src);
	s->s[CLS_SET_DST] = &p->dst_cc[v->dst_cc];
	s->s[CLS_SET_DIR] = &p->dir[dir];
	s->s[CLS_SET_PROTO] = &p->proto[pc];
	s->s[CLS_SET_PORT] = ports;
	s->s[CLS_SET_IDENT] = ids;
	return 0;
}

/*
 * No reply is built for a tunnelled packet: it would go to the outer
 * source, about an inner packet, from addresses the relay never used
 * (docs/packet-parsing.md, Tunnels).  It is dropped, its reason kept.
 */
static inline void
cls_tun_noreject(const struct pkt_meta *m, struct cls_verdict *v)
{
	if (__builtin_expect(m->nlayer != 0, 0) && v->action == CDN_ACT_REJECT)
		v->action = CDN_ACT_DROP;
}

/* The gates, then the rules. */
static inline void
cls_eval(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    const struct sess_out *so, const struct cls_lay *l, struct cls_verdict *v)
{
	struct cls_sets s;
	struct cls_tmp t;

	if (!cls_gates(e, m, dir, so, l, v, &s, &t))
		cls_verdict_set(e->pol, cls_first(e->pol, &s), v);
	cls_tun_noreject(m, v);
}

void
cls_sess_key(const struct pkt_meta *m, uint8_t svc, struct sess_key *k)
{
	const struct pkt_layer *o;
	uint32_t a;

	/* A tunnelled flow needs a session for its inner source. */
	if (__builtin_expect(m->nlayer != 0, 0)) {
		o = pkt_origin(m);
		a = __builtin_bswap32(o->src4);
		if (o->af == 4)
			sess_key_v4(k, svc, (const uint8_t *)&a);
		else
			sess_key_v6(k, svc, o->src6);
		return;
	}
	if (m->af == 4) {
		a = __builtin_bswap32(m->src4);
		sess_key_v4(k, svc, (const uint8_t *)&a);
	} else {
		sess_key_v6(k, svc, m->src6);
	}
}

/* One lookup; a missing table is a miss for everyone. */
static inline void
cls_sess_one(const struct cls_env *e, const struct pkt_meta *m, uint8_t svc,
    struct sess_out *so)
{
	struct sess_key k;

	so->res = SESS_MISS;
	so->ident = 0;
	if (e->sess == NULL)
		return;
	cls_sess_key(m, svc, &k);
	so->res = sess_lookup(e->sess, &k, e->now, &so->ident);
}

/* Country and classes; only the source's classes are kept. */
static inline geo_cc_t
cls_geo(const struct geo_tables *g, const struct pkt_meta *m, int dst,
    geo_cls_t *cls)
{
	if (__builtin_expect(!dst && (m->proxied & PKT_PRX_SRC_UNKNOWN), 0)) {
		*cls = 0;
		return GEO_CC_UNKNOWN;
	}
	if (m->af == 4)
		return geo_lookup4_cls(g, dst ? m->dst4 : m->src4, cls);
	return geo_lookup6_cls(g, dst ? m->dst6 : m->src6, cls);
}

void
cls_layer_ccs(const struct geo_tables *g, const struct pkt_meta *m,
    geo_cc_t *cc, geo_cls_t *cls)
{
	const struct pkt_layer *l;

	for (unsigned j = 0; j < m->nlayer; j++) {
		l = &m->layer[j];
		cls[j] = 0;
		cc[j] = l->af == 4 ? geo_lookup4_cls(g, l->src4, &cls[j])
		        : l->af == 6
		            ? geo_lookup6_cls(g, l->src6, &cls[j])
		            : GEO_CC_UNKNOWN; /* a proxied hop nobody named */
	}
}

void
cls_layer_dccs(const struct geo_tables *g, const struct policy *p,
    const struct pkt_meta *m, geo_cc_t *dcc)
{
	const struct pkt_layer *l;

	for (unsigned j = 0; j < m->nlayer; j++) {
		l = &m->layer[j];
		/* Unlooked-up, as the packet's own: no rule reads them. */
		dcc[j] = !p->needs_dst_geo || m->proxied ? GEO_CC_UNKNOWN
		         : l->af == 4 ? geo_lookup4(g, m->layer_dst[j].dst4)
		         : l->af == 6 ? geo_lookup6(g, m->layer_dst[j].dst6)
		                      : GEO_CC_UNKNOWN;
	}
}

/*
 * Geo lookups (a tunnelled packet's layers into LCC) and service of one
 * packet, and its session lookup into SO when it needs one (returned).
 */
static inline int
cls_prepare(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    struct cls_verdict *v, struct sess_out *so, geo_cc_t *lcc, geo_cls_t *lcls,
    geo_cc_t *ldcc)
{
	const struct policy *p = e->pol;
	geo_cls_t dcls;
	int need;

	cls_layer_ccs(e->geo, m, lcc, lcls);
	cls_layer_dccs(e->geo, p, m, ldcc);
	v->src_cc = cls_geo(e->geo, m, 0, &v->src_cls);
	v->dst_cc = p->needs_dst_geo ? cls_geo(e->geo, m, 1, &dcls)
	                             : GEO_CC_UNKNOWN;
	need = cls_service(p, m, dir, v);
	if (need)
		cls_sess_one(e, m, v->service, so);
	return need;
}

void
cls_classify(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    struct cls_verdict *v)
{
	struct sess_out so;
	geo_cc_t lcc[PKT_LAYER_MAX];
	geo_cls_t lcls[PKT_LAYER_MAX];
	geo_cc_t ldcc[PKT_LAYER_MAX];
	struct cls_lay l = { lcc, lcls, ldcc };
	int need = cls_prepare(e, m, dir, v, &so, lcc, lcls, ldcc);

	cls_eval(e, m, dir, need ? &so : NULL, &l, v);
}

void
cls_key_meta(const struct cls_key *k, struct pkt_meta *m)
{
	unsigned pc = cls_proto_class(k->l4proto, k->af);

	memset(m, 0, sizeof(*m));
	m->af = k->af;
	m->l4proto = k->l4proto;
	if (k->af == 4) {
		m->src4 = (uint32_t)k->src[0] << 24 |
		          (uint32_t)k->src[1] << 16 | (uint32_t)k->src[2] << 8 |
		          k->src[3];
		m->dst4 = (uint32_t)k->dst[0] << 24 |
		          (uint32_t)k->dst[1] << 16 | (uint32_t)k->dst[2] << 8 |
		          k->dst[3];
	} else {
		memcpy(m->src6, k->src, 16);
		memcpy(m->dst6, k->dst, 16);
	}
	/* As pkt_l4: no L4 header is read for protocols of class other. */
	m->has_l4 = pc != POL_PROTO_OTHER;
	m->sport = m->has_l4 ? k->sport : 0;
	m->dport = pc <= POL_PROTO_UDP ? k->dport : 0;
}

static void
cls_layer_set(struct pkt_layer *l, uint8_t af, uint8_t kind,
    const uint8_t *addr)
{
	memset(l, 0, sizeof(*l));
	l->af = af;
	l->kind = kind;
	if (af == 4)
		l->src4 = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
		          (uint32_t)addr[2] << 8 | addr[3];
	else
		memcpy(l->src6, addr, 16);
}

int
cls_key_via(struct pkt_meta *m, const struct cls_via *via, unsigned n)
{
	uint8_t inner[16] = { 0 };
	uint8_t af = m->af;

	if (n == 0 || n >= PKT_LAYER_MAX)
		return -1;
	if (af == 4) {
		for (unsigned b = 0; b < 4; b++)
			inner[b] = (uint8_t)(m->src4 >> (24 - 8 * b));
	} else {
		memcpy(inner, m->src6, 16);
	}
	cls_layer_set(&m->layer[0], via[0].af, PKT_TUN_NONE, via[0].addr);
	for (unsigned i = 1; i < n; i++)
		cls_layer_set(&m->layer[i], via[i].af, via[i - 1].kind,
		    via[i].addr);
	cls_layer_set(&m->layer[n], af, via[n - 1].kind, inner);
	/* Every layer goes where the packet does until told otherwise
	 * (cls_key_via_dst). */
	for (unsigned i = 0; i <= n; i++) {
		m->layer_dst[i].dst4 = m->dst4;
		memcpy(m->layer_dst[i].dst6, m->dst6, 16);
	}
	m->nlayer = (uint8_t)(n + 1);
	m->af = via[0].af;
	m->src4 = m->layer[0].src4;
	memcpy(m->src6, m->layer[0].src6, 16);
	return 0;
}

void
cls_key_via_dst(struct pkt_meta *m, uint8_t af, const uint8_t *dst)
{
	uint32_t a = (uint32_t)dst[0] << 24 | (uint32_t)dst[1] << 16 |
	             (uint32_t)dst[2] << 8 | dst[3];

	for (unsigned j = 1; j < m->nlayer; j++) {
		if (m->layer[j].af != af)
			continue;
		if (af == 4)
			m->layer_dst[j].dst4 = a;
		else
			memcpy(m->layer_dst[j].dst6, dst, 16);
	}
}

/*
 * cls_classify's steps, one by one: the verdict comes from the same
 * sets whose missing bits explain names, so the two cannot disagree.
 */
void
cls_explain(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    struct cls_why *w)
{
	struct sess_out so = { SESS_MISS, 0 };
	struct cls_lay l = { w->layer_cc, w->layer_cls, w->layer_dcc };
	struct cls_sets s;
	struct cls_tmp t;
	uint16_t r;

	memset(w, 0, sizeof(*w));
	w->gate = (uint8_t)cls_prepare(e, m, dir, &w->v, &so, w->layer_cc,
	    w->layer_cls, w->layer_dcc);
	w->sess = w->gate ? (uint8_t)so.res : SESS_MISS;
	if (cls_gates(e, m, dir, w->gate ? &so : NULL, &l, &w->v, &s, &t)) {
		cls_tun_noreject(m, &w->v);
		return;
	}
	r = cls_first(e->pol, &s);
	cls_verdict_set(e->pol, r, &w->v);
	cls_tun_noreject(m, &w->v);
	w->walked = 1;
	w->ident_hit = w->gate;
	w->ident = w->gate ? so.ident : 0;
	for (unsigned i = 0; i < e->pol->nrules && w->nmiss <= r; i++)
		w->miss[w->nmiss++] = (uint8_t)cls_rule_miss(&s, i);
}

static inline void
cls_cc_put(struct cls_verdict *v, int dst, geo_cc_t cc, geo_cls_t cls)
{
	if (dst) {
		v->dst_cc = cc;
	} else {
		v->src_cc = cc;
		v->src_cls = cls;
	}
}

/*
 * Source (DST: destination) lookups for the burst first, through the bulk
 * forms, which issue every table prefetch of a round before reading any,
 * so the misses of a burst overlap instead of queueing.
 */
static void
cls_geo_burst(const struct geo_tables *g, const struct pkt_meta *const *m,
    unsigned n, int dst, struct cls_verdict *v)
{
	uint32_t a4[CLS_BURST_MAX];
	const uint8_t *a6[CLS_BURST_MAX];
	geo_cc_t c4[CLS_BURST_MAX], c6[CLS_BURST_MAX];
	geo_cls_t k4[CLS_BURST_MAX], k6[CLS_BURST_MAX];
	uint16_t idx4[CLS_BURST_MAX], idx6[CLS_BURST_MAX];
	unsigned n4 = 0, n6 = 0;

	for (unsigned i = 0; i < n; i++) {
		if (m[i]->af == 4) {
			a4[n4] = dst ? m[i]->dst4 : m[i]->src4;
			idx4[n4++] = (uint16_t)i;
		} else {
			a6[n6] = dst ? m[i]->dst6 : m[i]->src6;
			idx6[n6++] = (uint16_t)i;
		}
	}
	if (n4)
		geo_lookup4_bulk_cls(g, a4, c4, k4, n4);
	if (n6)
		geo_lookup6_bulk_cls(g, a6, c6, k6, n6);
	for (unsigned j = 0; j < n4; j++)
		cls_cc_put(&v[idx4[j]], dst, c4[j], k4[j]);
	for (unsigned j = 0; j < n6; j++)
		cls_cc_put(&v[idx6[j]], dst, c6[j], k6[j]);
	/* The flows of core/prx take cls_classify; kept true here too. */
	for (unsigned i = 0; i < n && !dst; i++)
		if (__builtin_expect(m[i]->proxied & PKT_PRX_SRC_UNKNOWN, 0))
			cls_cc_put(&v[i], 0, GEO_CC_UNKNOWN, 0);
}

/*
 * Inner-layer lookups gathered so far, answered through the bulk forms:
 * for each, the packet and layer its country and classes go to.
 */
struct cls_lq {
	unsigned n4, n6;
	uint32_t a4[CLS_BURST_MAX];
	const uint8_t *a6[CLS_BURST_MAX];
	uint16_t o4[CLS_BURST_MAX], o6[CLS_BURST_MAX]; /* i * LAYER_MAX + j */
};

/* Layers of a burst: [packet][layer] country and classes. */
struct cls_lb {
	geo_cc_t cc[CLS_BURST_MAX][PKT_LAYER_MAX];
	geo_cls_t cls[CLS_BURST_MAX][PKT_LAYER_MAX];
	geo_cc_t dcc[CLS_BURST_MAX][PKT_LAYER_MAX]; /* destinations' */
};

/* Answers into CC and CLS (NULL: the destinations', no classes). */
static void
cls_lq_put(geo_cc_t (*cc)[PKT_LAYER_MAX], geo_cls_t (*cls)[PKT_LAYER_MAX],
    const uint16_t *o, const geo_cc_t *c, const geo_cls_t *k, unsigned n)
{
	for (unsigned j = 0; j < n; j++) {
		cc[o[j] / PKT_LAYER_MAX][o[j] % PKT_LAYER_MAX] = c[j];
		if (cls != NULL)
			cls[o[j] / PKT_LAYER_MAX][o[j] % PKT_LAYER_MAX] = k[j];
	}
}

static void
cls_lq_flush(const struct geo_tables *g, struct cls_lq *q,
    geo_cc_t (*cc)[PKT_LAYER_MAX], geo_cls_t (*cls)[PKT_LAYER_MAX])
{
	geo_cc_t c[CLS_BURST_MAX];
	geo_cls_t k[CLS_BURST_MAX];

	if (q->n4) {
		geo_lookup4_bulk_cls(g, q->a4, c, k, q->n4);
		cls_lq_put(cc, cls, q->o4, c, k, q->n4);
	}
	if (q->n6) {
		geo_lookup6_bulk_cls(g, q->a6, c, k, q->n6);
		cls_lq_put(cc, cls, q->o6, c, k, q->n6);
	}
	q->n4 = q->n6 = 0;
}

/*
 * Queues layer J of M, its source (DST: its destination), for packet I;
 * 0 when it has no address (a proxied hop nobody named).  Flushes into
 * CC and CLS first when the queue is full.
 */
static inline int
cls_lq_add(const struct geo_tables *g, struct cls_lq *q,
    const struct pkt_meta *m, unsigned i, unsigned j, int dst,
    geo_cc_t (*cc)[PKT_LAYER_MAX], geo_cls_t (*cls)[PKT_LAYER_MAX])
{
	const struct pkt_layer *l = &m->layer[j];
	uint16_t o = (uint16_t)(i * PKT_LAYER_MAX + j);

	if (q->n4 == CLS_BURST_MAX || q->n6 == CLS_BURST_MAX)
		cls_lq_flush(g, q, cc, cls);
	if (l->af == 4) {
		q->a4[q->n4] = dst ? m->layer_dst[j].dst4 : l->src4;
		q->o4[q->n4++] = o;
	} else if (l->af == 6) {
		q->a6[q->n6] = dst ? m->layer_dst[j].dst6 : l->src6;
		q->o6[q->n6++] = o;
	} else {
		return 0;
	}
	return 1;
}

/*
 * The inner layers' countries and classes of the burst's tunnelled
 * packets into B (layer 0 is the source, already looked up), in bulk as
 * the sources.
 */
static void
cls_layers_burst(const struct geo_tables *g, const struct pkt_meta *const *m,
    unsigned n, const struct cls_verdict *v, struct cls_lb *b)
{
	struct cls_lq q;

	q.n4 = q.n6 = 0;
	for (unsigned i = 0; i < n; i++) {
		if (__builtin_expect(m[i]->nlayer == 0, 1))
			continue;
		b->cc[i][0] = v[i].src_cc;
		b->cls[i][0] = v[i].src_cls;
		for (unsigned j = 1; j < m[i]->nlayer; j++)
			if (!cls_lq_add(g, &q, m[i], i, j, 0, b->cc, b->cls)) {
				b->cc[i][j] = GEO_CC_UNKNOWN;
				b->cls[i][j] = 0;
			}
	}
	cls_lq_flush(g, &q, b->cc, b->cls);
}

/*
 * The inner layers' destinations of the burst's tunnelled packets into
 * B, in bulk (layer 0's is the packet's, already looked up), when some
 * rule reads destinations; a proxied flow's hops carry none.
 */
static void
cls_dlayers_burst(const struct geo_tables *g, const struct pkt_meta *const *m,
    unsigned n, const struct cls_verdict *v, struct cls_lb *b)
{
	struct cls_lq q;

	q.n4 = q.n6 = 0;
	for (unsigned i = 0; i < n; i++) {
		if (__builtin_expect(m[i]->nlayer == 0, 1))
			continue;
		for (unsigned j = 0; j < m[i]->nlayer; j++)
			b->dcc[i][j] = j == 0 ? v[i].dst_cc : GEO_CC_UNKNOWN;
		if (m[i]->proxied)
			continue;
		for (unsigned j = 1; j < m[i]->nlayer; j++)
			(void)cls_lq_add(g, &q, m[i], i, j, 1, b->dcc, NULL);
	}
	cls_lq_flush(g, &q, b->dcc, NULL);
}

/*
 * Session lookups of the burst's management packets at once, through
 * the bulk form, for the same reason as the geo lookups.
 */
static void
cls_sess_burst(const struct cls_env *e, const struct pkt_meta *const *m,
    unsigned n, struct cls_verdict *v, const uint8_t *need, struct sess_out *so)
{
	struct sess_key k[CLS_BURST_MAX];
	struct sess_out o[CLS_BURST_MAX];
	uint16_t idx[CLS_BURST_MAX];
	unsigned nk = 0;

	for (unsigned i = 0; i < n; i++)
		if (need[i]) {
			cls_sess_key(m[i], v[i].service, &k[nk]);
			idx[nk++] = (uint16_t)i;
		}
	if (nk == 0)
		return;
	if (e->sess == NULL) {
		for (unsigned j = 0; j < nk; j++)
			so[idx[j]] = (struct sess_out){ SESS_MISS, 0 };
		return;
	}
	sess_lookup_bulk(e->sess, k, nk, e->now, o);
	for (unsigned j = 0; j < nk; j++)
		so[idx[j]] = o[j];
}

void
cls_classify_burst(const struct cls_env *e, const struct pkt_meta *const *m,
    const uint8_t *dir, unsigned n, struct cls_verdict *v)
{
	const struct policy *p = e->pol;
	struct sess_out so[CLS_BURST_MAX];
	struct cls_lb lb;
	struct cls_lay l;
	uint8_t need[CLS_BURST_MAX];

	while (n > CLS_BURST_MAX) {
		cls_classify_burst(e, m, dir, CLS_BURST_MAX, v);
		m += CLS_BURST_MAX;
		dir += CLS_BURST_MAX;
		v += CLS_BURST_MAX;
		n -= CLS_BURST_MAX;
	}
	cls_geo_burst(e->geo, m, n, 0, v);
	cls_layers_burst(e->geo, m, n, v, &lb);
	/* The shipped policy judges destinations too (direction out). */
	if (p->needs_dst_geo) {
		cls_geo_burst(e->geo, m, n, 1, v);
		cls_dlayers_burst(e->geo, m, n, v, &lb);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!p->needs_dst_geo)
			v[i].dst_cc = GEO_CC_UNKNOWN;
		if (!p->needs_dst_geo && m[i]->nlayer)
			for (unsigned j = 0; j < m[i]->nlayer; j++)
				lb.dcc[i][j] = GEO_CC_UNKNOWN;
		need[i] = (uint8_t)cls_service(p, m[i], dir[i], &v[i]);
	}
	if (p->ident_svc)
		cls_sess_burst(e, m, n, v, need, so);
	for (unsigned i = 0; i < n; i++) {
		l.cc = lb.cc[i];
		l.cls = lb.cls[i];
		l.dcc = lb.dcc[i];
		cls_eval(e, m[i], dir[i], need[i] ? &so[i] : NULL, &l, &v[i]);
	}
}

void
cls_unparsed(const struct policy *p, int reason, struct cls_verdict *v)
{
	v->src_cc = GEO_CC_UNKNOWN;
	v->dst_cc = GEO_CC_UNKNOWN;
	v->src_cls = 0;
	v->origin_cc = GEO_CC_UNKNOWN;
	v->origin_cls = 0;
	v->service = POL_SVC_NONE;
	v->rule = POL_RULE_DEFAULT;
	v->log = 0;
	v->evidence = 0;
	v->nexthop = 0;
	v->reason = (uint8_t)reason;
	v->action = CDN_ACT_DROP;
	if (reason == CDN_R_NON_IP && p->nonip_action == CDN_ACT_ALLOW) {
		v->action = CDN_ACT_ALLOW;
		v->reason = CDN_R_NONE;
	}
}
