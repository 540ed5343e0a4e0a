/*
 * The classify chain as an ordered list of rules, read off the compiled
 * policy (struct policy) and nothing else: protocol classes, direction,
 * port ranges, country sets, identity, verdict.  nft_rules.c and
 * nft_sets.c encode it into nft rules and sets; the unit tests evaluate
 * it packet by packet against the classifier (test_nft_prop.c).  Private
 * to control/nft and its tests.
 */
#ifndef CORDON_NFT_IR_H
#define CORDON_NFT_IR_H

#include <stdbool.h>
#include <stdint.h>

#include "config/load/conf.h"
#include "core/policy/policy.h"

#define NFT_IR_PROTOS_ANY ((1u << POL_PROTO_MAX) - 1)
#define NFT_IR_DIRS_ANY   ((1u << POL_DIR_MAX) - 1)

enum nft_ir_kind {
	NFT_IR_SRCROUTE, /* source-routed packets, before anything */
	NFT_IR_TUNNEL,   /* tunnels the kernel cannot look inside */
	NFT_IR_PROXY,    /* proxied services: the kernel cannot read
			    who the relay reports (DPORT: their ports) */
	NFT_IR_GATE,     /* an identity service's flow, no session */
	NFT_IR_RULE,     /* policy rule RULE */
	NFT_IR_DEFAULT,  /* closes the chain */
};

/* A range of TCP (L4 = POL_PROTO_TCP) or UDP ports. */
struct nft_ir_range {
	uint8_t l4;
	uint16_t lo, hi;
};

/* Ascending by protocol, then port; merged. */
struct nft_ir_ports {
	struct nft_ir_range *v;
	unsigned n, cap;
};

struct nft_ir_rule {
	uint8_t kind; /* enum nft_ir_kind */
	/*
	 * The kernel cannot express it and it is left out, failing closed:
	 * a rule allowing on what an identity token says (the flow meets
	 * the rules after it), or one that matches no packet at all.
	 */
	bool omit;
	uint16_t rule;  /* NFT_IR_RULE: index in struct policy */
	uint8_t protos; /* bit per enum pol_proto; 0xf: any */
	uint8_t dirs;   /* bit per enum pol_dir; 3: any */
	bool src_any, dst_any;
	struct conf_ccset src, dst; /* bit per geo_cc_t */
	/*
	 * Any port (and protocol class from PROTOS), or TCP/UDP only: the
	 * destination port in DPORT, or the source port in SPORT.
	 */
	bool ports_any;
	struct nft_ir_ports dport, sport;
	bool ident;     /* the rule has an identity block */
	uint8_t action; /* enum cdn_action */
	uint8_t log;
	int nexthop;      /* reroute: next hop index; -1: none */
	const char *name; /* NFT_IR_RULE: the rule's name */
	/* NFT_IR_TUNNEL: the UDP ports of VXLAN, GENEVE, Teredo; 0: off. */
	uint16_t vxlan, geneve, teredo;
};

struct nft_ir {
	unsigned n;
	struct nft_ir_rule r[POL_RULE_MAX + 5];
};

/* Fills IR from P (which must outlive it).  0, or -1 with ENOMEM. */
int nft_ir_build(const struct policy *p, struct nft_ir *ir);
void nft_ir_free(struct nft_ir *ir);

/*
 * The IP protocol numbers of the classes in PROTOS (bit per enum
 * pol_proto) under AF, by the classifier's own mapping
 * (cls_proto_class), by class then number.  With *INV set they are the
 * numbers NOT in those classes (the short list when "other" is among
 * them).
 * Returns how many it wrote into NUM.
 */
unsigned nft_ir_protos(uint8_t protos, int af, uint8_t num[256], bool *inv);

#endif
