/*
 * Classifier: parsed packet + geo tables + compiled policy -> verdict.
 * The one place a verdict is decided; the live path (dataplane/dp) and
 * offline replay (core/replay) both call it.
 */
#ifndef CORDON_CLS_H
#define CORDON_CLS_H

#include <stdint.h>
#include <netinet/in.h>

#include "core/geo/geo.h"
#include "core/pkt/pkt_parse.h"
#include "core/policy/policy.h"
#include "core/sess/sess.h"

/*
 * The protocol class (enum pol_proto) of IP protocol L4PROTO under
 * address family AF (4 or 6): the one mapping the classifier and the
 * nftables compiler share.  ICMP is protocol 1 only under IPv4, 58 only
 * under IPv6; anything else is "other".
 */
static inline unsigned
cls_proto_class(uint8_t l4proto, uint8_t af)
{
	switch (l4proto) {
	case IPPROTO_TCP:
		return POL_PROTO_TCP;
	case IPPROTO_UDP:
		return POL_PROTO_UDP;
	case IPPROTO_ICMP:
		return af == 4 ? POL_PROTO_ICMP : POL_PROTO_OTHER;
	case IPPROTO_ICMPV6:
		return af == 6 ? POL_PROTO_ICMP : POL_PROTO_OTHER;
	default:
		return POL_PROTO_OTHER;
	}
}

struct cls_verdict {
	uint8_t action;		/* enum cdn_action */
	uint8_t reason;		/* enum cdn_reason; NONE when allowed */
	uint8_t log;
	uint8_t service;	/* index into policy service_name, or NONE */
	uint16_t rule;		/* matching rule, or POL_RULE_DEFAULT */
	geo_cc_t src_cc;
	geo_cc_t dst_cc;
	uint8_t nexthop;	/* reroute: index into policy nexthop[] */
	uint8_t pad;
};

/*
 * What a verdict is decided against.  SESS may be NULL (offline replay,
 * no sessions): flows that need one then get the unidentified action.
 * NOW is CLOCK_BOOTTIME seconds, the clock of session expiry.
 */
struct cls_env {
	const struct policy *pol;
	const struct geo_tables *geo;
	const struct sess_table *sess;
	int64_t now;
};

/*
 * Classifies N packets that parsed cleanly.  DIR[i] is enum pol_dir.
 * Geo lookups are done for the whole burst first (prefetched), then the
 * rules.  No allocation, no locks.
 */
void cls_classify_burst(const struct cls_env *e,
    const struct pkt_meta *const *m, const uint8_t *dir, unsigned n,
    struct cls_verdict *v);

/* One packet: the same code, for replay and explain. */
void cls_classify(const struct cls_env *e, const struct pkt_meta *m,
    unsigned dir, struct cls_verdict *v);

/* The session key of M's source for service SVC. */
void cls_sess_key(const struct pkt_meta *m, uint8_t svc, struct sess_key *k);

/*
 * Verdict for a frame the parser refused with REASON (malformed, or
 * non-IP, which follows policy nonip_action).
 */
void cls_unparsed(const struct policy *p, int reason, struct cls_verdict *v);

#endif
