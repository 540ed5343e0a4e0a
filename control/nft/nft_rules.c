/*
 * The classify chain: the intermediate rule list (nft_ir.c, read off the
 * compiled policy) encoded in order, first match wins, as
 * core/classify/cls.c evaluates the policy.  A policy rule becomes one
 * nft rule per family (the region sets are per family), each with its
 * own counter and a comment "rN vF NAME" by which nft_counters() maps it
 * back; the default action closes the chain.
 */
#include <stdio.h>
#include <string.h>

#include <libnftnl/rule.h>

#include "control/nft/nft_build.h"
#include "core/stats/reasons.h"

struct nftnl_rule *
nft_rule_new(struct nft_bx *x, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r == NULL)
		return NULL;
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, x->table);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

/* Sends R (and frees it); a NULL R is a failed build: ENOMEM. */
int
nft_rule_send(struct nft_bx *x, struct nftnl_rule *r, const char *chain,
    const char *what)
{
	struct nlmsghdr *nlh;

	if (r == NULL)
		return -1;
	nlh = nft_batch_msg(x->b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
	    "chain %s rule %s", chain, what);
	if (nlh == NULL) {
		nftnl_rule_free(r);
		return -1;
	}
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nft_batch_put(x->b, nlh);
	nftnl_rule_free(r);
	return 0;
}

/* Sends R when its build went OK, else frees it: -1. */
int
nft_rule_done(struct nft_bx *x, struct nftnl_rule *r, bool ok,
    const char *chain, const char *what)
{
	if (r != NULL && !ok) {
		nftnl_rule_free(r);
		return -1;
	}
	return nft_rule_send(x, r, chain, what);
}

static void
nft_proto_name(unsigned i, int af, char *out, size_t len)
{
	snprintf(out, len, "r%u_proto_v%d", i, af);
}

/* The set of rule I's destination ports, or with SRC its source ports. */
static void
nft_svc_name(unsigned i, bool src, char *out, size_t len)
{
	snprintf(out, len, src ? "r%u_ssvc" : "r%u_svc", i);
}

static int
nft_set_protos(struct nft_bx *x, const struct nft_ir_rule *r, int af)
{
	struct nft_setdef d = { .type = 12, .klen = 1, .byteorder = 1 };
	char name[NFT_NAME_LEN];
	uint8_t num[256];
	struct nft_elems w;
	bool inv;
	unsigned n = nft_ir_protos(r->protos, af, num, &inv);

	nft_proto_name(r->rule, af, name, sizeof(name));
	d.name = name;
	if (nft_set_decl(x, &d) < 0)
		return -1;
	nft_elems_begin(&w, x->b, x->table, name, NFT_MSG_NEWSETELEM);
	for (unsigned k = 0; k < n; k++)
		if (nft_elems_add(&w, &num[k], 1, NULL, 0, 0) < 0)
			return -1;
	nft_elems_end(&w);
	return 0;
}

/* Every set rule R looks up, declared before the rules. */
static int
nft_rule_sets(struct nft_bx *x, const struct nft_ir_rule *r)
{
	char name[NFT_NAME_LEN];

	if (!r->src_any && nft_set_geo(x, &r->src) < 0)
		return -1;
	if (!r->dst_any && nft_set_geo(x, &r->dst) < 0)
		return -1;
	if (!r->ports_any) {
		nft_svc_name(r->rule, false, name, sizeof(name));
		if (nft_set_ports(x, name, &r->dport) < 0)
			return -1;
		if (r->sport.n == 0)
			return 0;
		nft_svc_name(r->rule, true, name, sizeof(name));
		return nft_set_ports(x, name, &r->sport);
	}
	if (r->protos == NFT_IR_PROTOS_ANY)
		return 0;
	if (nft_set_protos(x, r, 4) < 0 || nft_set_protos(x, r, 6) < 0)
		return -1;
	return 0;
}

/*
 * A Teredo address (2001:0::/32) carries its client's IPv4 address,
 * inverted, in its last 32 bits, and cordon-dp judges it by that
 * address's country (docs/architecture.md).  Free bits sit between the
 * prefix and that field, so no range list can say it: an IPv6 rule gets
 * a twin that checks the prefix and looks the inverted field up in the
 * IPv4 set.
 */
static int
nft_match_teredo(struct nft_bx *x, struct nftnl_rule *nr,
    const struct conf_ccset *s, bool dst)
{
	static const uint8_t teredo[4] = { 0x20, 0x01, 0x00, 0x00 };
	uint32_t off = dst ? 24 : 8;
	char name[NFT_NAME_LEN];

	nft_set_name(x->c, s, 4, name, sizeof(name));
	if (nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, off, 4, NFT_REG_1) <
	        0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, teredo, 4) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, off + 12, 4,
	        NFT_REG_1) < 0 ||
	    nft_x_bitwise(nr, NFT_REG_1, 0xffffffffu, 0xffffffffu) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, name, false);
}

/* VARIANT bit 0: the source as Teredo, bit 1: the destination. */
static int
nft_match_geo(struct nft_bx *x, struct nftnl_rule *nr,
    const struct conf_ccset *s, int af, bool dst, unsigned variant)
{
	char name[NFT_NAME_LEN];
	uint32_t off = af == 4 ? (dst ? 16 : 12) : (dst ? 24 : 8);

	if (variant & (dst ? 2u : 1u))
		return nft_match_teredo(x, nr, s, dst);
	nft_set_name(x->c, s, af, name, sizeof(name));
	if (nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, off, af == 4 ? 4 : 16,
	        NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, name, false);
}

/* "meta l4proto . th dport @SET" (with SRC: th sport). */
static int
nft_match_ports(struct nftnl_rule *nr, const char *set, bool src)
{
	if (nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG32_00) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2, 2,
	        NFT_REG32_01) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG32_00, set, false);
}

/* SRC: the sports twin, which looks the source port up instead. */
static int
nft_match_l4(struct nftnl_rule *nr, const struct nft_ir_rule *r, int af,
    bool src)
{
	char name[NFT_NAME_LEN];
	uint8_t num[256];
	bool inv;

	if (!r->ports_any) {
		nft_svc_name(r->rule, src, name, sizeof(name));
		return nft_match_ports(nr, name, src);
	}
	if (r->protos == NFT_IR_PROTOS_ANY)
		return 0;
	nft_ir_protos(r->protos, af, num, &inv);
	nft_proto_name(r->rule, af, name, sizeof(name));
	if (nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, name, inv);
}

/* DIRS: bit per enum pol_dir; "in" is arriving on an outside port. */
static int
nft_match_dir(struct nftnl_rule *nr, uint8_t dirs)
{
	if (dirs == NFT_IR_DIRS_ANY)
		return 0;
	if (nft_x_meta(nr, NFT_META_IIFNAME, NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, "ports_outside",
	    dirs != 1u << POL_DIR_IN);
}

static int
nft_action(struct nft_bx *x, struct nftnl_rule *nr, int action, int nh)
{
	uint32_t mark;

	switch (action) {
	case CDN_ACT_ALLOW:
		return nft_x_verdict(nr, NF_ACCEPT, NULL);
	case CDN_ACT_REJECT:
		return nft_x_verdict(nr, NFT_JUMP, "reject");
	case CDN_ACT_REROUTE:
		/* On the appliance's own input there is nowhere to send it. */
		if (x->o->mode == NFT_MODE_HOST || nh < 0)
			break;
		mark = nft_nh_mark(x->c, (unsigned)nh);
		if (nft_x_imm(nr, NFT_REG_1, &mark, sizeof(mark)) < 0 ||
		    nft_x_meta_set(nr, NFT_META_MARK, NFT_REG_1) < 0)
			return -1;
		return nft_x_verdict(nr, NF_ACCEPT, NULL);
	}
	return nft_x_verdict(nr, NF_DROP, NULL);
}

/* Counter, comment, log and verdict of R: the end of each nft rule. */
static int
nft_rule_tail(struct nft_bx *x, struct nftnl_rule *nr,
    const struct nft_ir_rule *r, const char *comment, const char *prefix)
{
	if (nft_x_counter(nr) < 0 || nft_x_comment(nr, comment) < 0 ||
	    nft_x_log_if(nr, r->log, prefix) < 0)
		return -1;
	return nft_action(x, nr, r->action, r->nexthop);
}

static int
nft_match_family(struct nftnl_rule *nr, int af)
{
	uint8_t nfp = af == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;

	if (nft_x_meta(nr, NFT_META_NFPROTO, NFT_REG_1) < 0)
		return -1;
	return nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &nfp, 1);
}

static int
nft_rule_af(struct nft_bx *x, const struct nft_ir_rule *r, int af, unsigned v)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	char what[96], comment[64], prefix[32];

	snprintf(prefix, sizeof(prefix), "cordon r%u", r->rule);
	/* Twins share the comment: their counters add up to the rule's. */
	snprintf(comment, sizeof(comment), "r%u v%d %s", r->rule, af, r->name);
	snprintf(what, sizeof(what), "%s%s%s%s", comment,
	    v & 1 ? " teredo-src" : "", v & 2 ? " teredo-dst" : "",
	    v & 4 ? " sports" : "");
	if (nr == NULL || nft_match_family(nr, af) < 0 ||
	    (!r->src_any && nft_match_geo(x, nr, &r->src, af, false, v) < 0) ||
	    (!r->dst_any && nft_match_geo(x, nr, &r->dst, af, true, v) < 0) ||
	    nft_match_dir(nr, r->dirs) < 0 ||
	    nft_match_l4(nr, r, af, (v & 4) != 0) < 0 ||
	    nft_rule_tail(x, nr, r, comment, prefix) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", what);
}

static int
nft_rule_default(struct nft_bx *x, const struct nft_ir_rule *r)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");

	if (nr == NULL ||
	    nft_rule_tail(x, nr, r, "default", "cordon default") < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", "default");
}

/*
 * IPv4, IPv6, and the Teredo twins of IPv6 rules with region sets; all
 * of them again (VARIANT bit 2) matching source ports, when the rule
 * takes some (a service with sports).
 */
static int
nft_rule_v6(struct nft_bx *x, const struct nft_ir_rule *r)
{
	unsigned last = r->sport.n != 0 ? 4 : 0;

	for (unsigned sp = 0; sp <= last; sp += 4) {
		if (nft_rule_af(x, r, 4, sp) < 0)
			return -1;
		for (unsigned v = 0; v < 4; v++) {
			if (((v & 1) && r->src_any) || ((v & 2) && r->dst_any))
				continue;
			if (nft_rule_af(x, r, 6, v | sp) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * The identity gate: flows to identity.services whose (source . port)
 * is not in the sessions set get identity.unidentified's action before
 * any rule is looked at, as docs/identity.md says; like cls.c's gate,
 * only flows of the gate's directions (R's dirs).
 */
static int
nft_ident_gate(struct nft_bx *x, const struct nft_ir_rule *r, int af)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint32_t port_reg = af == 4 ? NFT_REG32_01 : NFT_REG32_04;
	char what[32];

	snprintf(what, sizeof(what), "identity v%d", af);
	if (nr == NULL || nft_match_family(nr, af) < 0 ||
	    nft_match_dir(nr, r->dirs) < 0 ||
	    nft_match_ports(nr, "identity_svc", false) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, af == 4 ? 12 : 8,
	        af == 4 ? 4 : 16, NFT_REG32_00) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, port_reg) <
	        0 ||
	    nft_x_lookup(nr, NFT_REG32_00,
	        af == 4 ? "sessions_v4" : "sessions_v6", true) < 0 ||
	    nft_rule_tail(x, nr, r, what, "cordon identity") < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", what);
}

/*
 * Source routes (R: NFT_IR_SRCROUTE): a packet of family NFP with the
 * IPv4 option or IPv6 extension header TYPE gets R's action (drop)
 * before the identity gate and every rule, as cls.c does
 * (docs/packet-parsing.md, Source routing).
 */
static int
nft_srcroute_rule(struct nft_bx *x, const struct nft_ir_rule *r, uint8_t nfp,
    uint8_t type)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint32_t op = nfp == NFPROTO_IPV4 ? NFT_EXTHDR_OP_IPV4
	                                  : NFT_EXTHDR_OP_IPV6;
	uint8_t one = 1;

	if (nr == NULL ||
	    nft_match_family(nr, nfp == NFPROTO_IPV4 ? 4 : 6) < 0 ||
	    nft_x_exthdr_present(nr, op, type, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &one, 1) < 0 ||
	    nft_rule_tail(x, nr, r, "source-route", NULL) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", "source-route");
}

/*
 * LSRR (131), SSRR (137), IPv6 routing header (43).  The kernel finds
 * no other IPv4 option (only LSRR, SSRR, RR, RA), so selective directed
 * broadcast, which cordon-dp also drops, passes here.
 */
static int
nft_srcroute_gate(struct nft_bx *x, const struct nft_ir_rule *r)
{
	if (nft_srcroute_rule(x, r, NFPROTO_IPV4, 131) < 0 ||
	    nft_srcroute_rule(x, r, NFPROTO_IPV4, 137) < 0)
		return -1;
	return nft_srcroute_rule(x, r, NFPROTO_IPV6, 43);
}

/*
 * One tunnel rule: IP protocol PROTO and, when PORT is nonzero, that UDP
 * port at transport offset OFF (0: source, 2: destination).
 */
static int
nft_tunnel_rule(struct nft_bx *x, const struct nft_ir_rule *r, uint8_t proto,
    uint16_t port, uint32_t off)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint16_t be = htons(port);

	if (nr == NULL || nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &proto, 1) < 0 ||
	    (port != 0 &&
	        (nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2,
	             NFT_REG_1) < 0 ||
	            nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &be, 2) < 0)) ||
	    nft_rule_tail(x, nr, r, "tunnel", NULL) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", "tunnel");
}

/*
 * Tunnels (R: NFT_IR_TUNNEL): IP-in-IP (4), IPv6 in IPv4 or IPv6 (41),
 * GRE (47), EtherIP (97), L2TPv3 (115), MPLS in IP (137), GRE/MPLS in
 * UDP, VXLAN-GPE, L2TP (either port), GUE, GTP-U, VXLAN, GENEVE and
 * Teredo.  The kernel cannot judge their
 * inside by its sources as cordon-dp does (docs/nftables.md, Tunnels):
 * while the policy can deny anything, they are dropped.
 */
static int
nft_tunnel_gate(struct nft_bx *x, const struct nft_ir_rule *r)
{
	static const uint8_t ipp[] = { 4, 41, 47, 97, 115, 137 };
	static const uint16_t udp[] = { PKT_UDP_GRE, PKT_UDP_MPLS, PKT_UDP_GPE,
		PKT_UDP_L2TP, PKT_UDP_GUE, PKT_UDP_GTPU };

	for (unsigned i = 0; i < sizeof(ipp); i++)
		if (nft_tunnel_rule(x, r, ipp[i], 0, 0) < 0)
			return -1;
	for (unsigned i = 0; i < sizeof(udp) / sizeof(udp[0]); i++)
		if (nft_tunnel_rule(x, r, 17, udp[i], 2) < 0)
			return -1;
	if (nft_tunnel_rule(x, r, 17, PKT_UDP_L2TP, 0) < 0 ||
	    (r->vxlan && nft_tunnel_rule(x, r, 17, r->vxlan, 2) < 0) ||
	    (r->geneve && nft_tunnel_rule(x, r, 17, r->geneve, 2) < 0) ||
	    (r->teredo && (nft_tunnel_rule(x, r, 17, r->teredo, 2) < 0 ||
	                      nft_tunnel_rule(x, r, 17, r->teredo, 0) < 0)))
		return -1;
	return 0;
}

/*
 * Proxied services (R: NFT_IR_PROXY): TCP to their ports is dropped
 * while the policy can deny anything (docs/nftables.md, Proxies).
 */
static int
nft_proxy_gate(struct nft_bx *x, const struct nft_ir_rule *r)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");

	if (nr == NULL || nft_match_ports(nr, "proxy_svc", false) < 0 ||
	    nft_rule_tail(x, nr, r, "proxy", NULL) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", "proxy");
}

/*
 * Sets go first: a rule can only name a set that exists.  The rules'
 * sets, then the gate's (the order `nft list` shows them in).
 */
int
nft_rules_sets(struct nft_bx *x)
{
	const struct nft_ir_rule *r;

	for (unsigned i = 0; i < x->ir->n; i++) {
		r = &x->ir->r[i];
		if (!r->omit && r->kind == NFT_IR_RULE &&
		    nft_rule_sets(x, r) < 0)
			return -1;
	}
	for (unsigned i = 0; i < x->ir->n; i++) {
		r = &x->ir->r[i];
		if (r->kind == NFT_IR_GATE &&
		    nft_set_ports(x, "identity_svc", &r->dport) < 0)
			return -1;
		if (r->kind == NFT_IR_PROXY &&
		    nft_set_ports(x, "proxy_svc", &r->dport) < 0)
			return -1;
	}
	return 0;
}

/* One entry of the rule list, encoded (nothing for one left out). */
static int
nft_rule_encode(struct nft_bx *x, const struct nft_ir_rule *r)
{
	if (r->omit)
		return 0;
	switch (r->kind) {
	case NFT_IR_SRCROUTE:
		return nft_srcroute_gate(x, r);
	case NFT_IR_TUNNEL:
		return nft_tunnel_gate(x, r);
	case NFT_IR_PROXY:
		return nft_proxy_gate(x, r);
	case NFT_IR_GATE:
		if (nft_ident_gate(x, r, 4) < 0)
			return -1;
		return nft_ident_gate(x, r, 6);
	case NFT_IR_RULE:
		return nft_rule_v6(x, r);
	}
	return nft_rule_default(x, r);
}

int
nft_rules_classify(struct nft_bx *x)
{
	for (unsigned i = 0; i < x->ir->n; i++)
		if (nft_rule_encode(x, &x->ir->r[i]) < 0)
			return -1;
	return 0;
}
