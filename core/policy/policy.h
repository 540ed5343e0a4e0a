/*
 * The compiled policy: what the fast path evaluates per packet.  Every
 * matcher of the ordered rule list is turned into a bitset over rules
 * (bit i = rule i accepts this value), so evaluation is an AND of a few
 * bitsets and a count-trailing-zeros: constant time, whatever the number
 * of rules.  Built aside by config/policy, then published whole.
 */
#ifndef CORDON_POLICY_H
#define CORDON_POLICY_H

#include <stdint.h>

#include "core/geo/geo.h"
#include "core/pkt/pkt_parse.h"
#include "core/prx/prx.h"

#define POL_RULE_MAX     256
#define POL_WORDS        (POL_RULE_MAX / 64)
#define POL_RULE_DEFAULT 0xffff /* "no rule matched" */
#define POL_PORTCLS_MAX  256
#define POL_NEXTHOP_MAX  16
#define POL_SVC_NONE     0xff
#define POL_NAME_MAX     32
#define POL_SVC_MAX      64
/*
 * Bump whenever struct policy changes shape: cordond hands the flat
 * struct to cordon-dp as bytes (docs/control.md, section 1), and both
 * check this and sizeof(struct policy) before trusting them.
 */
/* 4: src_cls; 5: origin_cc, via_cc, tun; 6: origin_cls, via_cls; 7: prx_*;
 * 8: dst_via_cc */
#define POL_LAYOUT_VERSION 8

/* Protocol classes: the index into proto[]; also picks port_class[]. */
enum pol_proto {
	POL_PROTO_TCP,
	POL_PROTO_UDP,
	POL_PROTO_ICMP,
	POL_PROTO_OTHER,
	POL_PROTO_MAX
};

/* Direction classes: arriving on an outside port, or on any other. */
enum pol_dir { POL_DIR_IN, POL_DIR_OUT, POL_DIR_MAX };

/*
 * Tunnel classes (a rule's `tunnel`): carried by nothing, by tunnels the
 * parser opened, or ending in an encrypted one it cannot open.
 */
enum pol_tun { POL_TUN_NONE, POL_TUN_OPEN, POL_TUN_OPAQUE, POL_TUN_MAX };

struct pol_set {
	uint64_t w[POL_WORDS];
};

struct pol_rule {
	uint8_t action; /* enum cdn_action */
	uint8_t log;
	uint8_t nexthop;  /* index into nexthop[] for reroute */
	uint8_t evidence; /* first packets of its flows kept (core/evid) */
	int line;         /* config line, for explain */
	char name[POL_NAME_MAX];
};

struct pol_nexthop {
	uint16_t port; /* DPDK port id, resolved at start-up */
	int16_t vlan;  /* -1: no tag pushed */
	uint8_t mac[6];
	char name[POL_NAME_MAX];
};

struct policy {
	uint16_t nrules;
	uint8_t default_action;
	uint8_t nonip_action;
	uint8_t default_log;
	uint8_t needs_dst_geo; /* some rule matches on dst or dst_via */
	uint8_t nnexthops;
	uint8_t nservices;
	/*
	 * Identity (docs/identity.md): flows of the services in IDENT_SVC
	 * need a session; without one they get UNIDENT_ACTION, before any
	 * rule.  With one, the session's rule bits join the AND.
	 */
	uint8_t unident_action;
	uint8_t unident_log;
	uint8_t unident_nexthop;
	/* Source-routed packets (pkt_meta.srcroute): drop, or judged by
	 * their header's destination like any other (allow). */
	uint8_t srcroute_action;
	uint16_t knock_port; /* UDP port of knocks; 0: none */
	uint64_t ident_svc;  /* bit per service index */
	/* CONF_P_TCP / CONF_P_UDP: an identity service uses the protocol,
	 * so its fragments (ports unknown) are unidentified. */
	uint8_t ident_proto;
	/* The gate judges flows arriving on outside ports (POL_DIR_IN);
	 * nonzero: every other flow too (identity.direction "any"). */
	uint8_t ident_out;
	/* Rules without an identity block: all a flow without a session
	 * (or a fragment, whose service is unknown) can match. */
	struct pol_set noident;

	struct pol_set src_cc[GEO_CC_MAX];
	/*
	 * Relay classes (geo_cls_t bit K -> the rules naming class K in
	 * src): a source's set is src_cc[its country] ORed with src_cls[K]
	 * of each of its classes.  SRC_CLS_USED: the classes some rule
	 * names (others cost nothing).  Shaped like a country's set, so
	 * other source sets (tunnel layers) can take classes the same way.
	 */
	geo_cls_t src_cls_used;
	struct pol_set src_cls[GEO_CLS_MAX];
	struct pol_set dst_cc[GEO_CC_MAX];
	/*
	 * Tunnels (docs/config.md, Tunnels): the innermost source's country
	 * (`origin`), any layer's (`via`: the rules of every layer's
	 * country, ORed) and the tunnel class.  A packet carried by nothing
	 * is its own origin and only layer.
	 */
	struct pol_set origin_cc[GEO_CC_MAX];
	struct pol_set via_cc[GEO_CC_MAX];
	/*
	 * Relay classes in origin and via, as src_cls for src: a layer in
	 * class K takes ORIGIN_CLS[K] (innermost) and VIA_CLS[K] (any).
	 * LAYER_CLS_USED: the classes some rule names there.
	 */
	geo_cls_t layer_cls_used;
	struct pol_set origin_cls[GEO_CLS_MAX];
	struct pol_set via_cls[GEO_CLS_MAX];
	struct pol_set tun[POL_TUN_MAX];
	/*
	 * Any layer's destination (`dst_via`): the rules of every layer's
	 * destination country, ORed.  A packet carried by nothing is its
	 * only layer: its destination's set.  Countries only, as dst.
	 */
	struct pol_set dst_via_cc[GEO_CC_MAX];
	/* What the parser opens (the `tunnels` group). */
	struct pkt_tun_cfg tuncfg;
	/*
	 * Proxies that report the client (docs/proxies.md): the enum
	 * prx_mode of each TCP destination port (PRX_MODE_NONE: not
	 * inspected), the relays believed, the bytes read, and what a flow
	 * gets when its header does not complete there (INCOMPLETE) or the
	 * flow table has no room (FULL): enum prx_act.
	 */
	uint8_t prx_any; /* some port is inspected */
	uint8_t prx_incomplete;
	uint8_t prx_full;
	uint8_t prx_pad;
	uint16_t prx_window;
	uint8_t prx_port[65536];
	struct prx_trust prx_trust;
	struct pol_set dir[POL_DIR_MAX];
	struct pol_set proto[POL_PROTO_MAX];
	/* Rules that accept any port: ICMP, other protocols, fragments. */
	struct pol_set portless;
	/* TCP/UDP destination port -> class; class -> rules accepting it. */
	uint8_t port_class[2][65536];
	struct pol_set class_rules[POL_PORTCLS_MAX];
	uint16_t nclasses;
	/*
	 * Services with source ports ("sports", docs/config.md): when some
	 * rule names one, TCP/UDP source port -> class of the rules that
	 * take it (plus those that take any port), ORed with the
	 * destination port's class.
	 */
	uint8_t has_sports;
	uint8_t sport_class[2][65536];
	/* The classes that occur in port_class[l] and sport_class[l]: what
	 * a fragment, whose ports are unknown, is judged against. */
	uint16_t nfragcls[2];
	uint8_t fragcls[2][POL_PORTCLS_MAX];
	/* TCP/UDP destination port -> first service naming it (reporting). */
	uint8_t port_service[2][65536];
	char service_name[POL_SVC_MAX][POL_NAME_MAX];

	struct pol_rule rule[POL_RULE_MAX];
	struct pol_nexthop nexthop[POL_NEXTHOP_MAX];
};

static inline unsigned
pol_nwords(const struct policy *p)
{
	return (p->nrules + 63u) / 64u;
}

static inline void
pol_set_add(struct pol_set *s, unsigned bit)
{
	s->w[bit / 64] |= 1ULL << (bit % 64);
}

/*
 * The rules a source of country CC and classes CLS can match: the
 * country's set itself when no rule names one of its classes in USED
 * (nearly always), else that set ORed with its classes' sets into X.
 */
static inline const struct pol_set *
pol_src_set(const struct pol_set *cc_sets, const struct pol_set *cls_sets,
    geo_cls_t used, geo_cc_t cc, geo_cls_t cls, struct pol_set *restrict x)
{
	geo_cls_t c = cls & used;

	if (__builtin_expect(c == 0, 1))
		return &cc_sets[cc];
	*x = cc_sets[cc];
	for (; c != 0; c &= c - 1)
		for (unsigned i = 0; i < POL_WORDS; i++)
			x->w[i] |= cls_sets[__builtin_ctz(c)].w[i];
	return x;
}

/* Does a flow of direction DIR (enum pol_dir) pass the identity gate? */
static inline int
pol_ident_gate(const struct policy *p, unsigned dir)
{
	return dir == POL_DIR_IN || p->ident_out != 0;
}

/*
 * First rule set in all six sets, or POL_RULE_DEFAULT.  Only the first
 * NWORDS words can hold rules: (nrules + 63) / 64.  F is the identity
 * set: a session's rule bits, or the rules without an identity block.
 */
static inline uint16_t
pol_first(const struct pol_set *a, const struct pol_set *b,
    const struct pol_set *c, const struct pol_set *d, const struct pol_set *e,
    const struct pol_set *f, unsigned nwords)
{
	for (unsigned i = 0; i < nwords; i++) {
		uint64_t m = a->w[i] & b->w[i] & c->w[i] & d->w[i] & e->w[i] &
		             f->w[i];
		if (m)
			return (uint16_t)(i * 64 + __builtin_ctzll(m));
	}
	return POL_RULE_DEFAULT;
}

#endif
