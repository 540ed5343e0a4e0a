/*
 * Policy compiler: a validated struct conf -> the fast path's struct
 * policy.  Each matcher becomes a per-value bitset over rules; TCP/UDP
 * destination ports are grouped into classes of ports that the very same
 * rules accept, so 2 x 65536 ports cost one byte each plus a few sets.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/policy/pol_compile.h"
#include "core/stats/reasons.h"

_Static_assert(CONF_RULE_MAX <= POL_RULE_MAX, "rule bits");
_Static_assert(CONF_NEXTHOP_MAX <= POL_NEXTHOP_MAX, "next hops");
_Static_assert(CONF_SERVICE_MAX <= POL_SVC_MAX, "services");
_Static_assert(CONF_SERVICE_MAX < POL_SVC_NONE, "service index");
_Static_assert(CONF_NAME_MAX <= POL_NAME_MAX, "names");
/* CONF_P_ bit i is enum pol_proto i. */
_Static_assert(CONF_P_TCP == 1 << POL_PROTO_TCP &&
                   CONF_P_UDP == 1 << POL_PROTO_UDP &&
                   CONF_P_ICMP == 1 << POL_PROTO_ICMP &&
                   CONF_P_OTHER == 1 << POL_PROTO_OTHER,
    "proto bits");

/* Port edges of one L4 protocol: where the accepting rule set can change. */
struct pol_edges {
	uint64_t w[(65536 + 64) / 64];
};

static void
pol_edge_add(struct pol_edges *e, unsigned port)
{
	e->w[port / 64] |= 1ULL << (port % 64);
}

static bool
pol_edge_has(const struct pol_edges *e, unsigned port)
{
	return (e->w[port / 64] >> (port % 64)) & 1;
}

static bool
pol_ranges_have(const struct conf_range *r, unsigned n, unsigned port)
{
	for (unsigned i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

static void
pol_ranges_edges(const struct conf_range *r, unsigned n, struct pol_edges *e)
{
	for (unsigned i = 0; i < n; i++) {
		pol_edge_add(e, r[i].lo);
		pol_edge_add(e, r[i].hi + 1u);
	}
}

/* A service's destination ports, or with SRC its source ports. */
static const struct conf_range *
pol_svc_ranges(const struct conf_service *v, bool src, unsigned *n)
{
	*n = src ? v->nsranges : v->nranges;
	return src ? v->srange : v->range;
}

/*
 * Services of L4 (CONF_P_TCP or CONF_P_UDP) that name PORT as a
 * destination port (with SRC: as a source port), as a mask.
 */
static uint64_t
pol_port_services(const struct conf *c, uint8_t l4, unsigned port, bool src)
{
	const struct conf_range *r;
	uint64_t m = 0;
	unsigned n;

	for (unsigned s = 0; s < c->nservices; s++) {
		r = pol_svc_ranges(&c->services[s], src, &n);
		if ((c->services[s].protos & l4) && pol_ranges_have(r, n, port))
			m |= 1ULL << s;
	}
	return m;
}

/*
 * Does rule R accept PORT of L4, given the services SVC naming it?  A
 * destination port may also be in the rule's own ports; a source port
 * (SRC) only through a service's sports.
 */
static bool
pol_rule_port(const struct conf_rule *r, uint8_t l4, unsigned port,
    uint64_t svc, bool src)
{
	if ((r->protos & l4) == 0)
		return false;
	return r->svc_any || (r->services & svc) != 0 ||
	       (!src && pol_ranges_have(r->ports, r->nports, port));
}

/* Every port where some rule's answer for L4 may change. */
static void
pol_edges_collect(const struct conf *c, uint8_t l4, bool src,
    struct pol_edges *e)
{
	const struct conf_range *v;
	unsigned n;

	memset(e, 0, sizeof(*e));
	pol_edge_add(e, 0);
	for (unsigned i = 0; i < c->nrules; i++) {
		const struct conf_rule *r = &c->rules[i];

		if (r->svc_any || (r->protos & l4) == 0)
			continue;
		if (!src)
			pol_ranges_edges(r->ports, r->nports, e);
		for (unsigned s = 0; s < c->nservices; s++)
			if (r->services & (1ULL << s)) {
				v = pol_svc_ranges(&c->services[s], src, &n);
				pol_ranges_edges(v, n, e);
			}
	}
}

/* Does some rule name a service with source ports? */
static bool
pol_has_sports(const struct conf *c)
{
	for (unsigned i = 0; i < c->nrules; i++)
		for (unsigned s = 0; s < c->nservices; s++)
			if ((c->rules[i].services >> s) & 1 &&
			    c->services[s].nsranges != 0)
				return true;
	return false;
}

/* Index of the class holding exactly SET, added if new; -1 when full. */
static int
pol_class_get(struct policy *p, const struct pol_set *set)
{
	for (unsigned k = 0; k < p->nclasses; k++)
		if (memcmp(&p->class_rules[k], set, sizeof(*set)) == 0)
			return (int)k;
	if (p->nclasses == POL_PORTCLS_MAX)
		return -1;
	p->class_rules[p->nclasses] = *set;
	return p->nclasses++;
}

/* Adds the classes TAB (a port -> class table) uses to fragcls[L]. */
static void
pol_fragcls_add(struct policy *p, unsigned l, const uint8_t *tab, uint8_t *seen)
{
	for (unsigned port = 0; port < 65536; port++) {
		uint8_t k = tab[port];

		if (!seen[k]) {
			seen[k] = 1;
			p->fragcls[l][p->nfragcls[l]++] = k;
		}
	}
}

/*
 * Lists the classes port_class[L] and sport_class[L] use, once each.  A
 * source port class holds the rules taking any port too, so each one
 * alone is what some fragment could match.
 */
static void
pol_fragcls_collect(struct policy *p, unsigned l)
{
	uint8_t seen[POL_PORTCLS_MAX] = { 0 };

	p->nfragcls[l] = 0;
	pol_fragcls_add(p, l, p->port_class[l], seen);
	if (p->has_sports)
		pol_fragcls_add(p, l, p->sport_class[l], seen);
}

/* Fills port_class[L], or with SRC sport_class[L]. */
static int
pol_ports_compile(const struct conf *c, struct policy *p, unsigned l, bool src,
    char *err, size_t errlen)
{
	const uint8_t l4 = l == 0 ? CONF_P_TCP : CONF_P_UDP;
	uint8_t *out = src ? p->sport_class[l] : p->port_class[l];
	struct pol_edges e;
	int k = 0;

	pol_edges_collect(c, l4, src, &e);
	for (unsigned port = 0; port < 65536; port++) {
		if (pol_edge_has(&e, port)) {
			struct pol_set set = { { 0 } };
			uint64_t svc = pol_port_services(c, l4, port, src);

			for (unsigned i = 0; i < c->nrules; i++)
				if (pol_rule_port(&c->rules[i], l4, port, svc,
				        src))
					pol_set_add(&set, i);
			if ((k = pol_class_get(p, &set)) < 0) {
				snprintf(err, errlen,
				    "%s:0: more than %d "
				    "distinct port classes: merge services or "
				    "ports",
				    c->file, POL_PORTCLS_MAX);
				return -1;
			}
		}
		out[port] = (uint8_t)k;
	}
	return 0;
}

static void
pol_service_fill(const struct conf_service *v, uint8_t idx, uint8_t *ps)
{
	for (unsigned i = 0; i < v->nranges; i++)
		memset(ps + v->range[i].lo, idx,
		    (size_t)(v->range[i].hi - v->range[i].lo) + 1);
}

/*
 * The service each port reports as, and whose session it needs: the
 * first (in config order) identity service naming the port, else the
 * first service naming it.  Filled last to first so that the earlier
 * overwrites, identity services in a second pass: a port that an
 * identity service shares with another one always needs a session.
 */
static void
pol_services_compile(const struct conf *c, struct policy *p)
{
	memset(p->port_service, POL_SVC_NONE, sizeof(p->port_service));
	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned s = c->nservices; s-- > 0;) {
			const struct conf_service *v = &c->services[s];
			bool id = c->identity.line != 0 &&
			          ((c->identity.services >> s) & 1);

			if (id != (pass == 1))
				continue;
			if (v->protos & CONF_P_TCP)
				pol_service_fill(v, (uint8_t)s,
				    p->port_service[0]);
			if (v->protos & CONF_P_UDP)
				pol_service_fill(v, (uint8_t)s,
				    p->port_service[1]);
			memcpy(p->service_name[s], v->name, sizeof(v->name));
		}
	p->nservices = (uint8_t)c->nservices;
}

static void
pol_ccset_compile(const struct conf_ccset *cc, bool any, struct pol_set *out,
    unsigned bit)
{
	for (geo_cc_t i = 0; i < GEO_CC_MAX; i++)
		if (any || conf_ccset_has(cc, i))
			pol_set_add(&out[i], bit);
}

/* Rule BIT takes the classes CLS: into OUT[class], noted in USED. */
static void
pol_cls_compile(geo_cls_t cls, struct pol_set *out, geo_cls_t *used,
    unsigned bit)
{
	for (unsigned k = 0; k < GEO_CLS_MAX; k++)
		if ((cls >> k) & 1) {
			pol_set_add(&out[k], bit);
			*used |= (geo_cls_t)1 << k;
		}
}

static void
pol_rule_compile(const struct conf *c, struct policy *p, unsigned i)
{
	const struct conf_rule *r = &c->rules[i];
	struct pol_rule *pr = &p->rule[i];

	pol_ccset_compile(&r->src, r->src_any, p->src_cc, i);
	/* "any" already holds every source, classes or not. */
	if (!r->src_any)
		pol_cls_compile(r->src.cls, p->src_cls, &p->src_cls_used, i);
	pol_ccset_compile(&r->dst, r->dst_any, p->dst_cc, i);
	pol_ccset_compile(&r->origin, !r->has_origin, p->origin_cc, i);
	pol_ccset_compile(&r->via, !r->has_via, p->via_cc, i);
	pol_ccset_compile(&r->dst_via, !r->has_dst_via, p->dst_via_cc, i);
	if (r->has_origin)
		pol_cls_compile(r->origin.cls, p->origin_cls,
		    &p->layer_cls_used, i);
	if (r->has_via)
		pol_cls_compile(r->via.cls, p->via_cls, &p->layer_cls_used, i);
	for (unsigned k = 0; k < POL_TUN_MAX; k++)
		if (r->tun == 0 || (r->tun & (1u << k)))
			pol_set_add(&p->tun[k], i);
	if (r->dir != CONF_DIR_OUT)
		pol_set_add(&p->dir[POL_DIR_IN], i);
	if (r->dir != CONF_DIR_IN)
		pol_set_add(&p->dir[POL_DIR_OUT], i);
	for (unsigned k = 0; k < POL_PROTO_MAX; k++)
		if (r->protos & (1u << k))
			pol_set_add(&p->proto[k], i);
	if (r->svc_any)
		pol_set_add(&p->portless, i);
	if (!r->dst_any || r->has_dst_via)
		p->needs_dst_geo = 1;
	if (!r->id.on)
		pol_set_add(&p->noident, i);
	pr->action = (uint8_t)r->action;
	pr->log = r->log;
	pr->evidence = r->evidence;
	pr->nexthop = r->nexthop >= 0 ? (uint8_t)r->nexthop : 0;
	pr->line = r->line;
	memcpy(pr->name, r->name, sizeof(r->name));
}

static void
pol_nexthops_compile(const struct conf *c, const uint16_t *port_ids,
    struct policy *p)
{
	for (unsigned i = 0; i < c->nnexthops; i++) {
		const struct conf_nexthop *h = &c->nexthops[i];
		struct pol_nexthop *ph = &p->nexthop[i];

		ph->port = port_ids ? port_ids[h->port] : (uint16_t)h->port;
		ph->vlan = (int16_t)h->vlan;
		memcpy(ph->mac, h->mac, sizeof(ph->mac));
		memcpy(ph->name, h->name, sizeof(h->name));
	}
	p->nnexthops = (uint8_t)c->nnexthops;
}

_Static_assert(CONF_TUN_NONE == 1 << POL_TUN_NONE &&
                   CONF_TUN_OPEN == 1 << POL_TUN_OPEN &&
                   CONF_TUN_OPAQUE == 1 << POL_TUN_OPAQUE,
    "tunnel bits");
_Static_assert(CONF_OPAQUE_MAX == PKT_OPAQUE_MAX, "opaque ports");

/* The tunnels group: what the parser opens. */
static void
pol_tun_compile(const struct conf_tunnels *t, struct pkt_tun_cfg *o)
{
	/* A conf built by hand, not loaded: the defaults. */
	if (t->depth == 0) {
		*o = pkt_tun_default;
		return;
	}
	o->depth = (uint8_t)t->depth;
	o->vxlan = (uint16_t)t->vxlan;
	o->geneve = (uint16_t)t->geneve;
	o->teredo = (uint16_t)t->teredo;
	o->dtls = (uint16_t)t->dtls;
	o->nopaque = (uint8_t)t->nopaque;
	memcpy(o->opaque_udp, t->opaque_udp, sizeof(o->opaque_udp));
}

_Static_assert(CONF_P_TCP == 1u << POL_PROTO_TCP &&
                   CONF_P_UDP == 1u << POL_PROTO_UDP,
    "ident_proto is indexed by class");

/* Identity: which services need a session, and what happens without. */
static void
pol_ident_compile(const struct conf *c, struct policy *p)
{
	const struct conf_identity *id = &c->identity;

	if (id->line == 0)
		return;
	p->ident_svc = id->services;
	p->ident_out = id->gate_out;
	for (unsigned s = 0; s < c->nservices; s++)
		if ((id->services >> s) & 1)
			p->ident_proto |= (uint8_t)(c->services[s].protos &
			                            (CONF_P_TCP | CONF_P_UDP));
	p->unident_action = (uint8_t)id->unident_action;
	p->unident_log = id->unident_log;
	p->unident_nexthop =
	    id->unident_nexthop >= 0 ? (uint8_t)id->unident_nexthop : 0;
	p->knock_port = (uint16_t)id->knock_port;
}

int
pol_compile(const struct conf *c, const uint16_t *port_ids, struct policy *p,
    char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->nrules = (uint16_t)c->nrules;
	p->default_action = (uint8_t)c->default_action;
	p->nonip_action = (uint8_t)c->nonip_action;
	p->srcroute_action = (uint8_t)c->srcroute_action;
	p->default_log = c->log_default;
	for (unsigned i = 0; i < c->nrules; i++)
		pol_rule_compile(c, p, i);
	pol_nexthops_compile(c, port_ids, p);
	pol_services_compile(c, p);
	pol_ident_compile(c, p);
	pol_tun_compile(&c->tunnels, &p->tuncfg);
	pol_proxy_compile(c, p);
	p->has_sports = pol_has_sports(c);
	for (unsigned l = 0; l < 2; l++) {
		if (pol_ports_compile(c, p, l, false, err, errlen) < 0 ||
		    (p->has_sports &&
		        pol_ports_compile(c, p, l, true, err, errlen) < 0))
			return -1;
		pol_fragcls_collect(p, l);
	}
	return 0;
}
