/*
 * A packet log event as a syslog record: the fields of docs/control.md
 * "Records", in one order, for cordond and cordon-dp alike.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/policy/policy.h"
#include "core/stats/reasons.h"
#include "wire/dpc_record.h"

static const char *
rec_msgid(unsigned action)
{
	switch (action) {
	case CDN_ACT_DROP:
		return "deny";
	case CDN_ACT_REJECT:
		return "reject";
	case CDN_ACT_REROUTE:
		return "reroute";
	default:
		return "allow";
	}
}

static unsigned
rec_severity(unsigned action)
{
	switch (action) {
	case CDN_ACT_ALLOW:
		return SL_INFO;
	case CDN_ACT_REROUTE:
		return SL_NOTICE;
	default:
		return SL_WARNING;
	}
}

const char *
dpc_record_rule(const struct policy *p, unsigned rule, char buf[16])
{
	if (rule == POL_RULE_DEFAULT)
		return "(default)";
	if (p && rule < p->nrules)
		return p->rule[rule].name;
	snprintf(buf, 16, "#%u", rule + 1);
	return buf;
}

static void
rec_proto(unsigned proto, char buf[8])
{
	switch (proto) {
	case IPPROTO_TCP:
		snprintf(buf, 8, "tcp");
		break;
	case IPPROTO_UDP:
		snprintf(buf, 8, "udp");
		break;
	case IPPROTO_ICMP:
		snprintf(buf, 8, "icmp");
		break;
	case IPPROTO_ICMPV6:
		snprintf(buf, 8, "icmpv6");
		break;
	default:
		snprintf(buf, 8, "%u", proto);
	}
}

static void
rec_addr(unsigned af, const uint8_t *a, char *out, size_t len)
{
	if (inet_ntop(af == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) ==
	    NULL)
		snprintf(out, len, "?");
}

int
dpc_record_add(struct dpc_record *r, const char *name, const char *value)
{
	if (r->nsd >= DPC_REC_PARAMS)
		return -1;
	r->sd[r->nsd].name = name;
	r->sd[r->nsd++].value = value;
	return 0;
}

/* The fields, rule first (the sentence reads it back). */
static void
rec_params(struct dpc_record *r, const struct dpc_wire_event *ev,
    const struct policy *p, const char *port)
{
	(void)dpc_record_add(r, "rule", dpc_record_rule(p, ev->rule, r->rule));
	(void)dpc_record_add(r, "action", cdn_action_name(ev->action));
	(void)dpc_record_add(r, "reason", cdn_reason_name(ev->reason));
	(void)dpc_record_add(r, "src", r->src);
	(void)dpc_record_add(r, "dst", r->dst);
	if (ev->flags & DPC_EV_PORTS) {
		(void)dpc_record_add(r, "sport", r->sport);
		(void)dpc_record_add(r, "dport", r->dport);
	}
	(void)dpc_record_add(r, "proto", r->proto);
	if (p && ev->service < p->nservices)
		(void)dpc_record_add(r, "service",
		    p->service_name[ev->service]);
	(void)dpc_record_add(r, "srccountry", geo_cc_name(ev->src_cc, r->scc));
	/* Tunnels: the innermost source (docs/packet-parsing.md). */
	if (ev->origin_af == 4 || ev->origin_af == 6) {
		rec_addr(ev->origin_af, ev->origin, r->origin,
		    sizeof(r->origin));
		(void)dpc_record_add(r, "origin", r->origin);
		(void)dpc_record_add(r, "origincountry",
		    geo_cc_name(ev->origin_cc, r->occ));
	}
	if (p && p->needs_dst_geo)
		(void)dpc_record_add(r, "dstcountry",
		    geo_cc_name(ev->dst_cc, r->dcc));
	if (port != NULL) {
		snprintf(r->port, sizeof(r->port), "%.*s", DPC_WIRE_NAME - 1,
		    port);
		(void)dpc_record_add(r, "port", r->port);
	}
	if (ev->flags & DPC_EV_FRAG)
		(void)dpc_record_add(r, "fragment", "true");
	(void)dpc_record_add(r, "repeat_count", r->count);
	(void)dpc_record_add(r, "first", r->first);
	(void)dpc_record_add(r, "last", r->last);
}

void
dpc_record_fill(struct dpc_record *r, const struct dpc_wire_event *ev,
    const struct policy *pol, const char *port, uint64_t count,
    int64_t first_us, int64_t last_us)
{
	r->nsd = 0;
	r->msgid = rec_msgid(ev->action);
	r->severity = rec_severity(ev->action);
	rec_proto(ev->proto, r->proto);
	rec_addr(ev->af, ev->src, r->src, sizeof(r->src));
	rec_addr(ev->af, ev->dst, r->dst, sizeof(r->dst));
	snprintf(r->sport, sizeof(r->sport), "%u", ev->sport);
	snprintf(r->dport, sizeof(r->dport), "%u", ev->dport);
	snprintf(r->count, sizeof(r->count), "%llu", (unsigned long long)count);
	sl_timestamp(first_us, r->first);
	sl_timestamp(last_us, r->last);
	rec_params(r, ev, pol, port);
	snprintf(r->msg, sizeof(r->msg),
	    "%s %s %s -> %s%s%s rule %s, %llu packet%s",
	    cdn_action_name(ev->action), r->proto, r->src, r->dst,
	    ev->flags & DPC_EV_PORTS ? " port " : "",
	    ev->flags & DPC_EV_PORTS ? r->dport : "", r->sd[0].value,
	    (unsigned long long)count, count == 1 ? "" : "s");
}
