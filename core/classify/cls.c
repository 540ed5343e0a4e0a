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
		v->nexthop = 0;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE
		                                       : CDN_R_DEFAULT;
	} else {
		v->action = p->rule[rule].action;
		v->log = p->rule[rule].log;
		v->nexthop = p->rule[rule].nexthop;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE
		            : (p->noident.w[rule / 64] >> (rule % 64)) & 1
		                ? CDN_R_RULE
		                : CDN_R_IDENTITY;
	}
	v->rule = rule;
}

/* Management flows without a valid session stop here, before any rule. */
static inline void
cls_unident(const struct policy *p, unsigned res, struct cls_verdict *v)
{
	v->action = p->unident_action;
	v->log = p->unident_log;
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
	unsigned pc = cls_proto_class(m->l4proto, m->af);

	v->service = POL_SVC_NONE;
	if (m->frag == PKT_FRAG_LATER || pc > POL_PROTO_UDP || !m->has_l4)
		return 0;
	v->service = p->port_service[pc][m->dport];
	return v->service != POL_SVC_NONE &&
	       ((p->ident_svc >> v->service) & 1) && pol_ident_gate(p, dir);
}

/* A knock is handed to the control plane (dp_worker), never forwarded. */
static inline int
cls_knock(const struct policy *p, const struct pkt_meta *m, unsigned pc,
    unsigned dir)
{
	return p->knock_port != 0 && pc == POL_PROTO_UDP && m->has_l4 &&
	       m->frag == PKT_FRAG_NONE && dir == POL_DIR_IN &&
	       m->dport == p->knock_port;
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

/*
 * The gates a whole packet meets before any rule (source route,
 * fragment, knock, identity): 1 when one of them decided V.  Else 0,
 * with S the sets the rules judge it by; its port set may be BOTH and
 * its source set SRCX (a source in a relay class), kept apart from S so
 * that S stays in registers on the fast path.  SO
 * is the session lookup of a packet whose service needs one
 * (cls_service), NULL otherwise.  Always inlined: the fast path must
 * not pay a call nor a spill of S for explain's sake.
 */
static inline __attribute__((always_inline)) int
cls_gates(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    const struct sess_out *so, struct cls_verdict *v, struct cls_sets *s,
    struct pol_set *both, struct pol_set *srcx)
{
	const struct policy *p = e->pol;
	unsigned pc = cls_proto_class(m->l4proto, m->af);
	const struct pol_set *ports = &p->portless, *ids = &p->noident;
	const uint64_t *bits;

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
		ports = cls_ports(p, m, pc, both);
	if (so != NULL) {
		if (so->res != SESS_HIT || e->sess == NULL ||
		    (bits = sess_ident_bits(e->sess, so->ident)) == NULL) {
			cls_unident(p, so->res, v);
			return 1;
		}
		ids = (const struct pol_set *)bits;
	}
	s->s[CLS_SET_SRC] =
	    pol_src_set(p, p->src_cc, p->src_cls, v->src_cc, v->src_cls, srcx);
	s->s[CLS_SET_DST] = &p->dst_cc[v->dst_cc];
	s->s[CLS_SET_DIR] = &p->dir[dir];
	s->s[CLS_SET_PROTO] = &p->proto[pc];
	s->s[CLS_SET_PORT] = ports;
	s->s[CLS_SET_IDENT] = ids;
	return 0;
}

/* The first rule in all of S, or POL_RULE_DEFAULT. */
static inline uint16_t
cls_first(const struct policy *p, const struct cls_sets *s)
{
	return pol_first(s->s[CLS_SET_SRC], s->s[CLS_SET_DST],
	    s->s[CLS_SET_DIR], s->s[CLS_SET_PROTO], s->s[CLS_SET_PORT],
	    s->s[CLS_SET_IDENT], pol_nwords(p));
}

/* The gates, then the rules. */
static inline void
cls_eval(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    const struct sess_out *so, struct cls_verdict *v)
{
	struct cls_sets s;
	struct pol_set both, srcx;

	if (!cls_gates(e, m, dir, so, v, &s, &both, &srcx))
		cls_verdict_set(e->pol, cls_first(e->pol, &s), v);
}

void
cls_sess_key(const struct pkt_meta *m, uint8_t svc, struct sess_key *k)
{
	uint32_t a;

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
	if (m->af == 4)
		return geo_lookup4_cls(g, dst ? m->dst4 : m->src4, cls);
	return geo_lookup6_cls(g, dst ? m->dst6 : m->src6, cls);
}

/*
 * Geo lookups and service of one packet, and its session lookup into SO
 * when it needs one (returned).
 */
static inline int
cls_prepare(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    struct cls_verdict *v, struct sess_out *so)
{
	const struct policy *p = e->pol;
	int need;

	geo_cls_t dcls;

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
	int need = cls_prepare(e, m, dir, v, &so);

	cls_eval(e, m, dir, need ? &so : NULL, v);
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

/*
 * cls_classify's steps, one by one: the verdict comes from the same
 * sets whose missing bits explain names, so the two cannot disagree.
 */
void
cls_explain(const struct cls_env *e, const struct pkt_meta *m, unsigned dir,
    struct cls_why *w)
{
	struct sess_out so = { SESS_MISS, 0 };
	struct cls_sets s;
	struct pol_set both, srcx;
	uint16_t r;

	memset(w, 0, sizeof(*w));
	w->gate = (uint8_t)cls_prepare(e, m, dir, &w->v, &so);
	w->sess = w->gate ? (uint8_t)so.res : SESS_MISS;
	if (cls_gates(e, m, dir, w->gate ? &so : NULL, &w->v, &s, &both, &srcx))
		return;
	r = cls_first(e->pol, &s);
	cls_verdict_set(e->pol, r, &w->v);
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
	uint8_t need[CLS_BURST_MAX];

	while (n > CLS_BURST_MAX) {
		cls_classify_burst(e, m, dir, CLS_BURST_MAX, v);
		m += CLS_BURST_MAX;
		dir += CLS_BURST_MAX;
		v += CLS_BURST_MAX;
		n -= CLS_BURST_MAX;
	}
	cls_geo_burst(e->geo, m, n, 0, v);
	/* The shipped policy judges destinations too (direction out). */
	if (p->needs_dst_geo)
		cls_geo_burst(e->geo, m, n, 1, v);
	for (unsigned i = 0; i < n; i++) {
		if (!p->needs_dst_geo)
			v[i].dst_cc = GEO_CC_UNKNOWN;
		need[i] = (uint8_t)cls_service(p, m[i], dir[i], &v[i]);
	}
	if (p->ident_svc)
		cls_sess_burst(e, m, n, v, need, so);
	for (unsigned i = 0; i < n; i++)
		cls_eval(e, m[i], dir[i], need[i] ? &so[i] : NULL, &v[i]);
}

void
cls_unparsed(const struct policy *p, int reason, struct cls_verdict *v)
{
	v->src_cc = GEO_CC_UNKNOWN;
	v->dst_cc = GEO_CC_UNKNOWN;
	v->src_cls = 0;
	v->service = POL_SVC_NONE;
	v->rule = POL_RULE_DEFAULT;
	v->log = 0;
	v->nexthop = 0;
	v->reason = (uint8_t)reason;
	v->action = CDN_ACT_DROP;
	if (reason == CDN_R_NON_IP && p->nonip_action == CDN_ACT_ALLOW) {
		v->action = CDN_ACT_ALLOW;
		v->reason = CDN_R_NONE;
	}
}
