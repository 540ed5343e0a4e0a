/*
 * The classify chain: the config's ordered rules, first match wins,
 * exactly as core/classify/cls.c evaluates them.  A config rule
 * becomes one nft rule per family (the region sets are per family),
 * each with its own counter and a comment "rN vF NAME" by which
 * nft_counters() maps it back; the default action closes the chain.
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

/*
 * Does rule R name a service with source ports?  It then gets a twin per
 * family matching them, with the same comment (counters add up).
 */
static bool
nft_rule_sports(const struct conf *c, const struct conf_rule *r)
{
	for (unsigned s = 0; s < c->nservices; s++)
		if ((r->services >> s) & 1 && c->services[s].nsranges != 0)
			return true;
	return false;
}

/* Protocol numbers of class bits P under AF; *INV: match the others. */
static unsigned
nft_protos(uint8_t p, int af, uint8_t *num, bool *inv)
{
	uint8_t all[3] = { 6, 17, af == 4 ? 1 : 58 };
	uint8_t bit[3] = { CONF_P_TCP, CONF_P_UDP, CONF_P_ICMP };
	unsigned n = 0;

	*inv = (p & CONF_P_OTHER) != 0;
	for (unsigned k = 0; k < 3; k++)
		if (((p & bit[k]) != 0) != *inv)
			num[n++] = all[k];
	return n;
}

static int
nft_set_protos(struct nft_bx *x, unsigned i, int af)
{
	struct nft_setdef d = { .type = 12, .klen = 1, .byteorder = 1 };
	char name[NFT_NAME_LEN];
	uint8_t num[3];
	struct nft_elems w;
	bool inv;
	unsigned n = nft_protos(x->c->rules[i].protos, af, num, &inv);

	nft_proto_name(i, af, name, sizeof(name));
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

/*
 * A rule's identity block judges the token behind a session, which the
 * kernel never sees.  Failing closed: a rule that would allow on what
 * the token says is left out (the flow meets the rules after it), one
 * that denies applies whatever the token says.
 */
static bool
nft_rule_skip(const struct conf_rule *r)
{
	return r->id.on && r->action == CDN_ACT_ALLOW;
}

/* Every set rule I looks up, declared before the rules. */
static int
nft_rule_sets(struct nft_bx *x, unsigned i)
{
	const struct conf_rule *r = &x->c->rules[i];
	char name[NFT_NAME_LEN];

	if (nft_rule_skip(r))
		return 0;
	if (!r->src_any && nft_set_geo(x, &r->src) < 0)
		return -1;
	if (!r->dst_any && nft_set_geo(x, &r->dst) < 0)
		return -1;
	if (!r->svc_any) {
		nft_svc_name(i, false, name, sizeof(name));
		if (nft_set_svc(x, r, name, false) < 0)
			return -1;
		if (!nft_rule_sports(x->c, r))
			return 0;
		nft_svc_name(i, true, name, sizeof(name));
		return nft_set_svc(x, r, name, true);
	}
	if (r->protos == CONF_P_ANY)
		return 0;
	if (nft_set_protos(x, i, 4) < 0 || nft_set_protos(x, i, 6) < 0)
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
	if (nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, off, 4,
	    NFT_REG_1) < 0 ||
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
	if (nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, off,
	    af == 4 ? 4 : 16, NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, name, false);
}

/* SRC: the sports twin, which looks the source port up instead. */
static int
nft_match_l4(struct nft_bx *x, struct nftnl_rule *nr, unsigned i, int af,
    bool src)
{
	const struct conf_rule *r = &x->c->rules[i];
	char name[NFT_NAME_LEN];
	uint8_t num[3];
	bool inv;

	if (!r->svc_any) {
		nft_svc_name(i, src, name, sizeof(name));
		if (nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG32_00) < 0 ||
		    nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, src ? 0 : 2,
		    2, NFT_REG32_01) < 0)
			return -1;
		return nft_x_lookup(nr, NFT_REG32_00, name, false);
	}
	if (r->protos == CONF_P_ANY)
		return 0;
	nft_protos(r->protos, af, num, &inv);
	nft_proto_name(i, af, name, sizeof(name));
	if (nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, name, inv);
}

static int
nft_match_dir(struct nftnl_rule *nr, enum conf_dir dir)
{
	if (dir == CONF_DIR_ANY)
		return 0;
	if (nft_x_meta(nr, NFT_META_IIFNAME, NFT_REG_1) < 0)
		return -1;
	return nft_x_lookup(nr, NFT_REG_1, "ports_outside",
	    dir == CONF_DIR_OUT);
}

/*
 * An identity block sees only the flows the gate judges (cls.c): with
 * the gate inbound only, its rule does too, whatever it says.
 */
static enum conf_dir
nft_rule_dir(const struct conf *c, const struct conf_rule *r)
{
	return r->id.on && !c->identity.gate_out ? CONF_DIR_IN : r->dir;
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

static int
nft_rule_af(struct nft_bx *x, unsigned i, int af, unsigned v)
{
	const struct conf_rule *r = &x->c->rules[i];
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint8_t nfp = af == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	char what[96], comment[64], prefix[32];

	snprintf(prefix, sizeof(prefix), "cordon r%u", i);
	/* Twins share the comment: their counters add up to the rule's. */
	snprintf(comment, sizeof(comment), "r%u v%d %s", i, af, r->name);
	snprintf(what, sizeof(what), "%s%s%s%s", comment, v & 1 ?
	    " teredo-src" : "", v & 2 ? " teredo-dst" : "", v & 4 ?
	    " sports" : "");
	if (nr == NULL || nft_x_meta(nr, NFT_META_NFPROTO, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &nfp, 1) < 0 ||
	    (!r->src_any && nft_match_geo(x, nr, &r->src, af, false, v) < 0) ||
	    (!r->dst_any && nft_match_geo(x, nr, &r->dst, af, true, v) < 0) ||
	    nft_match_dir(nr, nft_rule_dir(x->c, r)) < 0 ||
	    nft_match_l4(x, nr, i, af, (v & 4) != 0) < 0 ||
	    nft_x_counter(nr) < 0 || nft_x_comment(nr, comment) < 0 ||
	    nft_x_log_if(nr, r->log, prefix) < 0 ||
	    nft_action(x, nr, r->action, r->nexthop) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", what);
}

static int
nft_rule_default(struct nft_bx *x)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");

	if (nr == NULL || nft_x_counter(nr) < 0 ||
	    nft_x_comment(nr, "default") < 0 ||
	    nft_x_log_if(nr, x->c->log_default, "cordon default") < 0 ||
	    nft_action(x, nr, x->c->default_action, -1) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", "default");
}

/*
 * IPv4, IPv6, and the Teredo twins of IPv6 rules with region sets; all
 * of them again (VARIANT bit 2) matching source ports, when the rule's
 * services have sports.
 */
static int
nft_rule_v6(struct nft_bx *x, unsigned i)
{
	const struct conf_rule *r = &x->c->rules[i];
	unsigned last = nft_rule_sports(x->c, r) ? 4 : 0;

	for (unsigned sp = 0; sp <= last; sp += 4) {
		if (nft_rule_af(x, i, 4, sp) < 0)
			return -1;
		for (unsigned v = 0; v < 4; v++) {
			if (((v & 1) && r->src_any) || ((v & 2) && r->dst_any))
				continue;
			if (nft_rule_af(x, i, 6, v | sp) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * identity.services need a session: the flows to them whose (source .
 * port) is not in the sessions set get identity.unidentified's action
 * before any rule is looked at, as docs/identity.md says.  Like
 * cls.c's gate, only flows arriving on outside ports, unless
 * identity.direction is "any".
 */
static int
nft_ident_sets(struct nft_bx *x)
{
	struct conf_rule r = { .protos = CONF_P_TCP | CONF_P_UDP };

	if (x->c->identity.line == 0)
		return 0;
	r.services = x->c->identity.services;
	return nft_set_svc(x, &r, "identity_svc", false);
}

static int
nft_ident_gate(struct nft_bx *x, int af)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint8_t nfp = af == 4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
	uint32_t port_reg = af == 4 ? NFT_REG32_01 : NFT_REG32_04;
	char what[32];

	snprintf(what, sizeof(what), "identity v%d", af);
	if (nr == NULL || nft_x_meta(nr, NFT_META_NFPROTO, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &nfp, 1) < 0 ||
	    nft_match_dir(nr, x->c->identity.gate_out ? CONF_DIR_ANY :
	    CONF_DIR_IN) < 0 ||
	    nft_x_meta(nr, NFT_META_L4PROTO, NFT_REG32_00) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2,
	    NFT_REG32_01) < 0 ||
	    nft_x_lookup(nr, NFT_REG32_00, "identity_svc", false) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_NETWORK_HEADER, af == 4 ? 12 : 8,
	    af == 4 ? 4 : 16, NFT_REG32_00) < 0 ||
	    nft_x_payload(nr, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2,
	    port_reg) < 0 ||
	    nft_x_lookup(nr, NFT_REG32_00, af == 4 ? "sessions_v4" :
	    "sessions_v6", true) < 0 || nft_x_counter(nr) < 0 ||
	    nft_x_comment(nr, what) < 0 || nft_x_log_if(nr,
	    x->c->identity.unident_log, "cordon identity") < 0 ||
	    nft_action(x, nr, x->c->identity.unident_action,
	    x->c->identity.unident_nexthop) < 0) {
		if (nr != NULL)
			nftnl_rule_free(nr);
		return -1;
	}
	return nft_rule_send(x, nr, "classify", what);
}

/*
 * source_route = "drop": a packet of family NFP with the IPv4 option or
 * IPv6 extension header TYPE is dropped before the identity gate and
 * every rule, as cls.c does (docs/packet-parsing.md, Source routing).
 */
static int
nft_srcroute_rule(struct nft_bx *x, uint8_t nfp, uint8_t type)
{
	struct nftnl_rule *nr = nft_rule_new(x, "classify");
	uint32_t op = nfp == NFPROTO_IPV4 ? NFT_EXTHDR_OP_IPV4 :
	    NFT_EXTHDR_OP_IPV6;
	uint8_t one = 1;

	if (nr == NULL || nft_x_meta(nr, NFT_META_NFPROTO, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &nfp, 1) < 0 ||
	    nft_x_exthdr_present(nr, op, type, NFT_REG_1) < 0 ||
	    nft_x_cmp(nr, NFT_REG_1, NFT_CMP_EQ, &one, 1) < 0 ||
	    nft_x_counter(nr) < 0 || nft_x_comment(nr, "source-route") < 0 ||
	    nft_action(x, nr, CDN_ACT_DROP, -1) < 0) {
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
nft_srcroute_gate(struct nft_bx *x)
{
	if (x->c->srcroute_action != CDN_ACT_DROP)
		return 0;
	if (nft_srcroute_rule(x, NFPROTO_IPV4, 131) < 0 ||
	    nft_srcroute_rule(x, NFPROTO_IPV4, 137) < 0)
		return -1;
	return nft_srcroute_rule(x, NFPROTO_IPV6, 43);
}

/* Sets go first: a rule can only name a set that exists. */
int
nft_rules_sets(struct nft_bx *x)
{
	for (unsigned i = 0; i < x->c->nrules; i++)
		if (nft_rule_sets(x, i) < 0)
			return -1;
	return nft_ident_sets(x);
}

int
nft_rules_classify(struct nft_bx *x)
{
	if (nft_srcroute_gate(x) < 0)
		return -1;
	if (x->c->identity.line != 0 &&
	    (nft_ident_gate(x, 4) < 0 || nft_ident_gate(x, 6) < 0))
		return -1;
	for (unsigned i = 0; i < x->c->nrules; i++)
		if (!nft_rule_skip(&x->c->rules[i]) && nft_rule_v6(x, i) < 0)
			return -1;
	return nft_rule_default(x);
}
