#include <netinet/in.h>

#include "dataplane/classify/cls.h"
#include "dataplane/stats/reasons.h"

#define CLS_BURST_MAX 256

static inline unsigned
cls_proto_class(uint8_t l4proto)
{
	switch (l4proto) {
	case IPPROTO_TCP:
		return POL_PROTO_TCP;
	case IPPROTO_UDP:
		return POL_PROTO_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return POL_PROTO_ICMP;
	default:
		return POL_PROTO_OTHER;
	}
}

static inline void
cls_verdict_set(const struct policy *p, uint16_t rule, struct cls_verdict *v)
{
	if (rule == POL_RULE_DEFAULT) {
		v->action = p->default_action;
		v->log = p->default_log;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE :
		    CDN_R_DEFAULT;
	} else {
		v->action = p->rule[rule].action;
		v->log = p->rule[rule].log;
		v->reason = v->action == CDN_ACT_ALLOW ? CDN_R_NONE : CDN_R_RULE;
	}
	v->rule = rule;
}

/*
 * A fragment's ports are unknown (or, for the first one, must not decide
 * alone: the later ones cannot follow it).  Until fragments are tracked,
 * evaluate every port class of the protocol: if this source would be
 * denied any service, drop the fragment.
 */
static void
cls_fragment(const struct policy *p, const struct pol_set *src,
    const struct pol_set *dst, const struct pol_set *dir,
    const struct pol_set *proto, struct cls_verdict *v)
{
	uint16_t first = POL_RULE_DEFAULT;

	for (unsigned c = 0; c < p->nclasses; c++) {
		uint16_t r = pol_first(src, dst, dir, proto, &p->class_rules[c],
		    pol_nwords(p));
		uint8_t a = r == POL_RULE_DEFAULT ? p->default_action :
		    p->rule[r].action;

		if (a != CDN_ACT_ALLOW) {
			v->action = CDN_ACT_DROP;
			v->reason = CDN_R_FRAGMENT;
			v->rule = r;
			v->log = r == POL_RULE_DEFAULT ? p->default_log :
			    p->rule[r].log;
			return;
		}
		if (c == 0)
			first = r;
	}
	cls_verdict_set(p, first, v);
}

static inline void
cls_eval(const struct policy *p, const struct pkt_meta *m, unsigned dir,
    struct cls_verdict *v)
{
	unsigned pc = cls_proto_class(m->l4proto);
	const struct pol_set *src = &p->src_cc[v->src_cc];
	const struct pol_set *dst = &p->dst_cc[v->dst_cc];
	const struct pol_set *dset = &p->dir[dir];
	const struct pol_set *pset = &p->proto[pc];
	const struct pol_set *ports = &p->portless;

	v->service = POL_SVC_NONE;
	if (pc <= POL_PROTO_UDP) {
		if (__builtin_expect(m->frag != PKT_FRAG_NONE, 0)) {
			cls_fragment(p, src, dst, dset, pset, v);
			return;
		}
		if (m->has_l4) {
			ports = &p->class_rules[p->port_class[pc][m->dport]];
			v->service = p->port_service[pc][m->dport];
		}
	}
	cls_verdict_set(p, pol_first(src, dst, dset, pset, ports,
	    pol_nwords(p)), v);
}

static inline geo_cc_t
cls_geo(const struct geo_tables *g, const struct pkt_meta *m, int dst)
{
	if (m->af == 4)
		return geo_lookup4(g, dst ? m->dst4 : m->src4);
	return geo_lookup6(g, dst ? m->dst6 : m->src6);
}

void
cls_classify(const struct policy *p, const struct geo_tables *g,
    const struct pkt_meta *m, unsigned dir, struct cls_verdict *v)
{
	v->src_cc = cls_geo(g, m, 0);
	v->dst_cc = p->needs_dst_geo ? cls_geo(g, m, 1) : GEO_CC_UNKNOWN;
	cls_eval(p, m, dir, v);
}

/*
 * Source lookups for the burst first, through the bulk forms, which issue
 * every table prefetch of a round before reading any, so the misses of a
 * burst overlap instead of queueing.
 */
static void
cls_geo_burst(const struct geo_tables *g, const struct pkt_meta *const *m,
    unsigned n, struct cls_verdict *v)
{
	uint32_t a4[CLS_BURST_MAX];
	const uint8_t *a6[CLS_BURST_MAX];
	geo_cc_t c4[CLS_BURST_MAX], c6[CLS_BURST_MAX];
	uint16_t idx4[CLS_BURST_MAX], idx6[CLS_BURST_MAX];
	unsigned n4 = 0, n6 = 0;

	for (unsigned i = 0; i < n; i++) {
		if (m[i]->af == 4) {
			a4[n4] = m[i]->src4;
			idx4[n4++] = (uint16_t)i;
		} else {
			a6[n6] = m[i]->src6;
			idx6[n6++] = (uint16_t)i;
		}
	}
	if (n4)
		geo_lookup4_bulk(g, a4, c4, n4);
	if (n6)
		geo_lookup6_bulk(g, a6, c6, n6);
	for (unsigned j = 0; j < n4; j++)
		v[idx4[j]].src_cc = c4[j];
	for (unsigned j = 0; j < n6; j++)
		v[idx6[j]].src_cc = c6[j];
}

void
cls_classify_burst(const struct policy *p, const struct geo_tables *g,
    const struct pkt_meta *const *m, const uint8_t *dir, unsigned n,
    struct cls_verdict *v)
{
	while (n > CLS_BURST_MAX) {
		cls_classify_burst(p, g, m, dir, CLS_BURST_MAX, v);
		m += CLS_BURST_MAX;
		dir += CLS_BURST_MAX;
		v += CLS_BURST_MAX;
		n -= CLS_BURST_MAX;
	}
	cls_geo_burst(g, m, n, v);
	for (unsigned i = 0; i < n; i++) {
		v[i].dst_cc = p->needs_dst_geo ? cls_geo(g, m[i], 1) :
		    GEO_CC_UNKNOWN;
		cls_eval(p, m[i], dir[i], &v[i]);
	}
}

void
cls_unparsed(const struct policy *p, int reason, struct cls_verdict *v)
{
	v->src_cc = GEO_CC_UNKNOWN;
	v->dst_cc = GEO_CC_UNKNOWN;
	v->service = POL_SVC_NONE;
	v->rule = POL_RULE_DEFAULT;
	v->log = 0;
	v->reason = (uint8_t)reason;
	v->action = CDN_ACT_DROP;
	if (reason == CDN_R_NON_IP && p->nonip_action == CDN_ACT_ALLOW) {
		v->action = CDN_ACT_ALLOW;
		v->reason = CDN_R_NONE;
	}
}
