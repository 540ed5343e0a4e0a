/*
 * Checks a flat struct policy that arrived as bytes from another process
 * before any worker may evaluate it: every count, index and name the
 * classifier, the workers and the reports use to index an array.  Pure C,
 * no DPDK: unit-tested on its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/ctl/ctl.h"
#include "core/stats/reasons.h"
#include "core/util/fail.h"

/* No rule bit at or above NRULES: pol_first() could return it. */
static int
ctl_pol_set_ok(const struct pol_set *s, unsigned nrules)
{
	for (unsigned i = 0; i < POL_WORDS; i++) {
		uint64_t valid;

		if (nrules >= (i + 1) * 64)
			continue;
		valid = nrules > i * 64 ? (1ULL << (nrules - i * 64)) - 1 : 0;
		if (s->w[i] & ~valid)
			return 0;
	}
	return 1;
}

static int
ctl_pol_sets_ok(const struct policy *p)
{
	unsigned n = p->nrules;

	for (unsigned i = 0; i < GEO_CC_MAX; i++)
		if (!ctl_pol_set_ok(&p->src_cc[i], n) ||
		    !ctl_pol_set_ok(&p->dst_cc[i], n) ||
		    !ctl_pol_set_ok(&p->origin_cc[i], n) ||
		    !ctl_pol_set_ok(&p->via_cc[i], n))
			return 0;
	for (unsigned i = 0; i < POL_TUN_MAX; i++)
		if (!ctl_pol_set_ok(&p->tun[i], n))
			return 0;
	for (unsigned i = 0; i < GEO_CLS_MAX; i++)
		if (!ctl_pol_set_ok(&p->src_cls[i], n))
			return 0;
	for (unsigned i = 0; i < POL_DIR_MAX; i++)
		if (!ctl_pol_set_ok(&p->dir[i], n))
			return 0;
	for (unsigned i = 0; i < POL_PROTO_MAX; i++)
		if (!ctl_pol_set_ok(&p->proto[i], n))
			return 0;
	for (unsigned i = 0; i < POL_PORTCLS_MAX; i++)
		if (!ctl_pol_set_ok(&p->class_rules[i], n))
			return 0;
	return ctl_pol_set_ok(&p->portless, n);
}

static int
ctl_pol_name_ok(const char *s)
{
	return memchr(s, '\0', POL_NAME_MAX) != NULL;
}

static int
ctl_pol_counts(const struct policy *p, char *err, size_t errlen)
{
	if (p->nrules > POL_RULE_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: %u rules, at "
		    "most %u",
		    p->nrules, POL_RULE_MAX);
	if (p->nnexthops > POL_NEXTHOP_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: %u next hops, "
		    "at most %u",
		    p->nnexthops, POL_NEXTHOP_MAX);
	if (p->nservices > POL_SVC_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: %u services, at "
		    "most %u",
		    p->nservices, POL_SVC_MAX);
	if (p->nclasses == 0 || p->nclasses > POL_PORTCLS_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: %u port "
		    "classes, expected 1..%u",
		    p->nclasses, POL_PORTCLS_MAX);
	/* A default reroute has no rule to name its next hop. */
	if (p->default_action >= CDN_ACT_MAX ||
	    p->default_action == CDN_ACT_REROUTE)
		return fail_with(err, errlen, EINVAL,
		    "policy: default action "
		    "%u invalid",
		    p->default_action);
	if (p->nonip_action >= CDN_ACT_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: non-IP action "
		    "%u invalid",
		    p->nonip_action);
	if (p->srcroute_action != CDN_ACT_ALLOW &&
	    p->srcroute_action != CDN_ACT_DROP)
		return fail_with(err, errlen, EINVAL,
		    "policy: source-route "
		    "action %u invalid",
		    p->srcroute_action);
	if (p->tuncfg.depth == 0 || p->tuncfg.depth > PKT_TUN_DEPTH_MAX ||
	    p->tuncfg.nopaque > PKT_OPAQUE_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: tunnel depth %u or "
		    "%u opaque ports invalid",
		    p->tuncfg.depth, p->tuncfg.nopaque);
	return 0;
}

/*
 * A fragment is judged against fragcls[L]: it must name real classes, and
 * every class a port of L uses, or a fragment could skip the one class
 * that denies it (fail-open).
 */
static int
ctl_pol_fragcls(const struct policy *p, unsigned l, const uint8_t *used,
    char *err, size_t errlen)
{
	uint8_t listed[POL_PORTCLS_MAX] = { 0 };

	if (p->nfragcls[l] > POL_PORTCLS_MAX)
		return fail_with(err, errlen, EINVAL,
		    "policy: %u fragment "
		    "classes",
		    p->nfragcls[l]);
	for (unsigned i = 0; i < p->nfragcls[l]; i++) {
		if (p->fragcls[l][i] >= p->nclasses)
			return fail_with(err, errlen, EINVAL,
			    "policy: "
			    "fragment class %u of %u",
			    p->fragcls[l][i], p->nclasses);
		listed[p->fragcls[l][i]] = 1;
	}
	for (unsigned c = 0; c < POL_PORTCLS_MAX; c++)
		if (used[c] && !listed[c])
			return fail_with(err, errlen, EINVAL,
			    "policy: %s "
			    "class %u missing from the fragment classes",
			    l ? "udp" : "tcp", c);
	return 0;
}

/* Source port classes, read only when some rule has sports. */
static int
ctl_pol_sports(const struct policy *p, unsigned l, uint8_t *used, char *err,
    size_t errlen)
{
	if (!p->has_sports)
		return 0;
	for (unsigned port = 0; port < 65536; port++) {
		uint8_t c = p->sport_class[l][port];

		if (c >= p->nclasses)
			return fail_with(err, errlen, EINVAL,
			    "policy: %s "
			    "source port %u: class %u of %u",
			    l ? "udp" : "tcp", port, c, p->nclasses);
		used[c] = 1;
	}
	return 0;
}

static int
ctl_pol_ports(const struct policy *p, char *err, size_t errlen)
{
	for (unsigned l = 0; l < 2; l++) {
		uint8_t used[POL_PORTCLS_MAX] = { 0 };

		for (unsigned port = 0; port < 65536; port++) {
			uint8_t c = p->port_class[l][port];
			uint8_t s = p->port_service[l][port];

			if (c >= p->nclasses)
				return fail_with(err, errlen, EINVAL,
				    "policy: "
				    "%s port %u: class %u of %u",
				    l ? "udp" : "tcp", port, c, p->nclasses);
			if (s != POL_SVC_NONE && s >= p->nservices)
				return fail_with(err, errlen, EINVAL,
				    "policy: "
				    "%s port %u: service %u of %u",
				    l ? "udp" : "tcp", port, s, p->nservices);
			used[c] = 1;
		}
		if (ctl_pol_sports(p, l, used, err, errlen) < 0 ||
		    ctl_pol_fragcls(p, l, used, err, errlen) < 0)
			return -1;
	}
	for (unsigned s = 0; s < p->nservices; s++)
		if (!ctl_pol_name_ok(p->service_name[s]))
			return fail_with(err, errlen, EINVAL,
			    "policy: service "
			    "%u: name not terminated",
			    s);
	return 0;
}

static int
ctl_pol_rules(const struct policy *p, char *err, size_t errlen)
{
	for (unsigned i = 0; i < p->nrules; i++) {
		const struct pol_rule *r = &p->rule[i];

		if (r->action >= CDN_ACT_MAX)
			return fail_with(err, errlen, EINVAL,
			    "policy: rule "
			    "%u: action %u invalid",
			    i, r->action);
		if (r->action == CDN_ACT_REROUTE && r->nexthop >= p->nnexthops)
			return fail_with(err, errlen, EINVAL,
			    "policy: rule "
			    "%u: next hop %u of %u",
			    i, r->nexthop, p->nnexthops);
		if (!ctl_pol_name_ok(r->name))
			return fail_with(err, errlen, EINVAL,
			    "policy: rule "
			    "%u: name not terminated",
			    i);
	}
	if (p->ident_svc != 0 && (p->unident_action >= CDN_ACT_MAX ||
	                             p->unident_action == CDN_ACT_ALLOW ||
	                             (p->unident_action == CDN_ACT_REROUTE &&
	                                 p->unident_nexthop >= p->nnexthops)))
		return fail_with(err, errlen, EINVAL,
		    "policy: unidentified "
		    "action %u invalid",
		    p->unident_action);
	if (!ctl_pol_sets_ok(p))
		return fail_with(err, errlen, EINVAL,
		    "policy: a rule set "
		    "names rules beyond the %u it has",
		    p->nrules);
	return 0;
}

static int
ctl_pol_nexthops(const struct policy *p, unsigned nports, char *err,
    size_t errlen)
{
	for (unsigned i = 0; i < p->nnexthops; i++) {
		const struct pol_nexthop *h = &p->nexthop[i];

		if (h->port >= nports)
			return fail_with(err, errlen, EINVAL,
			    "policy: next "
			    "hop %u: port %u, but cordon-dp has %u",
			    i, h->port, nports);
		if (h->vlan < -1 || h->vlan > 4095)
			return fail_with(err, errlen, EINVAL,
			    "policy: next "
			    "hop %u: vlan %d",
			    i, h->vlan);
		if (!ctl_pol_name_ok(h->name))
			return fail_with(err, errlen, EINVAL,
			    "policy: next "
			    "hop %u: name not terminated",
			    i);
	}
	return 0;
}

int
ctl_policy_check(const struct policy *p, unsigned nports, char *err,
    size_t errlen)
{
	if (ctl_pol_counts(p, err, errlen) != 0 ||
	    ctl_pol_ports(p, err, errlen) != 0 ||
	    ctl_pol_rules(p, err, errlen) != 0 ||
	    ctl_pol_nexthops(p, nports, err, errlen) != 0)
		return -1;
	return 0;
}
