/*
 * The whole table in one batch: "add table; delete table; add table"
 * (so that it works whether or not the table exists), then the sets and
 * their elements, the chains, the rules.  The kernel commits all of it
 * at once or none of it.
 *
 *   prerouting  hook prerouting, priority mangle (-150): conntrack (for
 *               defragmentation), per-port RX counters, then packets that
 *               arrived on a configured interface jump to classify.  Early
 *               enough for a reroute's mark to steer the routing decision.
 *   classify    the rules (nft_rules.c)
 *   reject      TCP reset, else ICMP/ICMPv6 administratively prohibited
 *   postrouting per-port TX counters
 * Host protection replaces prerouting with an input-hook chain for the
 * management interface, which stands for the outside.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/chain.h>
#include <libnftnl/table.h>

#include "control/nft/nft_build.h"

static int
nft_table_msg(struct nft_bx *x, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	if (t == NULL)
		return -1;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, x->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nlh = nft_batch_msg(x->b, type,
	    type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, "table inet %s",
	    x->table);
	if (nlh != NULL) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		nft_batch_put(x->b, nlh);
	}
	nftnl_table_free(t);
	return nlh == NULL ? -1 : 0;
}

static int
nft_chain_msg(struct nft_bx *x, const char *name, int hook, int prio)
{
	struct nftnl_chain *ch;
	struct nlmsghdr *nlh;

	if (x->old != NULL) /* a delta keeps the chains, emptied */
		return 0;
	if ((ch = nftnl_chain_alloc()) == NULL)
		return -1;
	nftnl_chain_set_str(ch, NFTNL_CHAIN_TABLE, x->table);
	nftnl_chain_set_str(ch, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(ch, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (hook >= 0) {
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(ch, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_str(ch, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(ch, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	nlh = nft_batch_msg(x->b, NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL,
	    "chain %s", name);
	if (nlh != NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, ch);
		nft_batch_put(x->b, nlh);
	}
	nftnl_chain_free(ch);
	return nlh == NULL ? -1 : 0;
}

static int
nft_port_sets(struct nft_bx *x)
{
	const char *all[CONF_PORT_MAX], *out[CONF_PORT_MAX];
	unsigned na = 0, no = 0;

	if (x->o->mode == NFT_MODE_HOST) {
		all[na++] = out[no++] = x->o->host_if;
	} else {
		for (unsigned i = 0; i < x->c->nports; i++) {
			all[na++] = x->c->ports[i].ifname;
			if (x->c->ports[i].role == CONF_ROLE_OUTSIDE)
				out[no++] = x->c->ports[i].ifname;
		}
	}
	if (nft_set_ifnames(x, "ports_all", all, na) < 0)
		return -1;
	if (x->o->inject_bad_elem) {
		/* A 3-byte key in a 16-byte set: EINVAL, the whole batch goes. */
		struct nft_elems w;

		nft_elems_begin(&w, x->b, x->table, "ports_all",
		    NFT_MSG_NEWSETELEM);
		if (nft_elems_add(&w, "bad", 3, NULL, 0, 0) < 0)
			return -1;
		nft_elems_end(&w);
	}
	return nft_set_ifnames(x, "ports_outside", out, no);
}

/* "iifname NAME counter comment 'rx NAME'" (or oifname / tx). */
static int
nft_port_counter(struct nft_bx *x, const char *chain, const char *ifname,
    bool rx)
{
	struct nftnl_rule *r = nft_rule_new(x, chain);
	char k[16] = { 0 }, what[64];

	snprintf(k, sizeof(k), "%s", ifname);
	snprintf(what, sizeof(what), "%s %s", rx ? "rx" : "tx", ifname);
	return nft_rule_done(x, r,
	    r != NULL &&
	        nft_x_meta(r, rx ? NFT_META_IIFNAME : NFT_META_OIFNAME,
	            NFT_REG_1) == 0 &&
	        nft_x_cmp(r, NFT_REG_1, NFT_CMP_EQ, k, sizeof(k)) == 0 &&
	        nft_x_counter(r) == 0 && nft_x_comment(r, what) == 0,
	    chain, what);
}

/* The entry chain's rules: conntrack, RX counters, jump classify. */
static int
nft_entry_rules(struct nft_bx *x, const char *chain)
{
	struct nftnl_rule *r = nft_rule_new(x, chain);

	if (nft_rule_done(x, r,
	        r != NULL && nft_x_ct_invalid(r) == 0 &&
	            nft_x_counter(r) == 0 && nft_x_comment(r, "conntrack") == 0,
	        chain, "conntrack") < 0)
		return -1;
	for (unsigned i = 0; x->o->mode == NFT_MODE_ROUTER && i < x->c->nports;
	     i++)
		if (nft_port_counter(x, chain, x->c->ports[i].ifname, true) < 0)
			return -1;
	r = nft_rule_new(x, chain);
	return nft_rule_done(x, r,
	    r != NULL && nft_x_meta(r, NFT_META_IIFNAME, NFT_REG_1) == 0 &&
	        nft_x_lookup(r, NFT_REG_1, "ports_all", false) == 0 &&
	        nft_x_verdict(r, NFT_JUMP, "classify") == 0,
	    chain, "to classify");
}

static int
nft_reject_rules(struct nft_bx *x)
{
	struct nftnl_rule *r = nft_rule_new(x, "reject");
	uint8_t tcp = 6;

	if (nft_rule_done(x, r,
	        r != NULL && nft_x_meta(r, NFT_META_L4PROTO, NFT_REG_1) == 0 &&
	            nft_x_cmp(r, NFT_REG_1, NFT_CMP_EQ, &tcp, 1) == 0 &&
	            nft_x_reject(r, NFT_REJECT_TCP_RST, 0) == 0,
	        "reject", "tcp reset") < 0)
		return -1;
	r = nft_rule_new(x, "reject");
	return nft_rule_done(x, r,
	    r != NULL && nft_x_reject(r, NFT_REJECT_ICMPX_UNREACH,
	                     NFT_REJECT_ICMPX_ADMIN_PROHIBITED) == 0,
	    "reject", "icmpx admin-prohibited");
}

static int
nft_chains(struct nft_bx *x)
{
	bool host = x->o->mode == NFT_MODE_HOST;
	const char *entry = host ? "input" : "prerouting";

	if (nft_chain_msg(x, entry,
	        host ? NF_INET_LOCAL_IN : NF_INET_PRE_ROUTING,
	        host ? 0 : -150) < 0 ||
	    nft_chain_msg(x, "classify", -1, 0) < 0 ||
	    nft_chain_msg(x, "reject", -1, 0) < 0 ||
	    (!host &&
	        nft_chain_msg(x, "postrouting", NF_INET_POST_ROUTING, 150) < 0))
		return -1;
	if (nft_reject_rules(x) < 0 || nft_rules_classify(x) < 0 ||
	    nft_entry_rules(x, entry) < 0)
		return -1;
	for (unsigned i = 0; !host && i < x->c->nports; i++)
		if (nft_port_counter(x, "postrouting", x->c->ports[i].ifname,
		        false) < 0)
			return -1;
	return 0;
}

/* DELSET NAME (or, with no NAME, DELRULE: every rule of the table). */
static int
nft_del_msg(struct nft_bx *x, const char *name)
{
	struct nlmsghdr *nlh = nft_batch_msg(x->b,
	    name != NULL ? NFT_MSG_DELSET : NFT_MSG_DELRULE, 0, "%s%s",
	    name != NULL ? "delete set " : "flush table ",
	    name != NULL ? name : x->table);

	if (nlh == NULL)
		return -1;
	if (name != NULL) {
		mnl_attr_put_strz(nlh, NFTA_SET_TABLE, x->table);
		mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
	} else {
		mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, x->table);
	}
	nft_batch_put(x->b, nlh);
	return 0;
}

static bool
nft_is_sessions(const char *name)
{
	return strcmp(name, "sessions_v4") == 0 ||
	       strcmp(name, "sessions_v6") == 0;
}

/*
 * A delta starts by emptying the chains (every rule goes, and with them
 * every reference to a set) and deleting the small sets, which the build
 * then declares again; region sets stay for their ranges to be diffed.
 */
static int
nft_delta_begin(struct nft_bx *x)
{
	if (nft_del_msg(x, NULL) < 0)
		return -1;
	for (unsigned i = 0; i < x->old->nsets; i++) {
		const char *n = x->old->sets[i];
		bool geo = false;

		for (unsigned k = 0; k < x->old->ngeo && !geo; k++)
			geo = strcmp(x->old->geo[k].n4, n) == 0 ||
			      strcmp(x->old->geo[k].n6, n) == 0;
		if (!geo && !nft_is_sessions(n) && nft_del_msg(x, n) < 0)
			return -1;
	}
	return 0;
}

/* Region sets the new rules no longer look up go last. */
static int
nft_delta_end(struct nft_bx *x)
{
	for (unsigned i = 0; i < x->old->ngeo; i++) {
		const struct nft_rec_geo *e = &x->old->geo[i];

		if (nft_rec_geo_find(x->rec, e->n4) != NULL)
			continue;
		if (nft_del_msg(x, e->n4) < 0 || nft_del_msg(x, e->n6) < 0)
			return -1;
	}
	return 0;
}

static int
nft_build_table(struct nft_bx *x)
{
	if (x->old != NULL)
		return nft_delta_begin(x);
	return nft_table_msg(x, NFT_MSG_NEWTABLE) < 0 ||
	               nft_table_msg(x, NFT_MSG_DELTABLE) < 0 ||
	               nft_table_msg(x, NFT_MSG_NEWTABLE) < 0
	           ? -1
	           : 0;
}

int
nft_build(struct nft_batch *b, const char *table, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, const struct nft_sess *s, unsigned ns, char *err,
    size_t errlen)
{
	return nft_build_rec(b, table, c, p, g, o, s, ns, NULL, NULL, err,
	    errlen);
}

int
nft_build_rec(struct nft_batch *b, const char *table, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, const struct nft_sess *s, unsigned ns,
    const struct nft_rec *old, struct nft_rec *rec, char *err, size_t errlen)
{
	struct nft_bx *x = calloc(1, sizeof(*x));
	struct nft_ir *ir = calloc(1, sizeof(*ir));
	int rc = -1;

	if (x == NULL || ir == NULL || nft_ir_build(p, ir) < 0)
		goto out;
	*x = (struct nft_bx){ .b = b,
		.table = table,
		.c = c,
		.ir = ir,
		.g = g,
		.o = o,
		.sess = s,
		.nsess = ns,
		.err = err,
		.errlen = errlen,
		.old = old,
		.rec = rec };
	if (nft_build_table(x) < 0 || nft_port_sets(x) < 0 ||
	    nft_set_sessions(x) < 0 || nft_rules_sets(x) < 0 ||
	    nft_chains(x) < 0 || (old != NULL && nft_delta_end(x) < 0) ||
	    nft_batch_close(b) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		snprintf(err, errlen, "building the batch: out of memory");
	if (ir != NULL)
		nft_ir_free(ir);
	free(ir);
	free(x);
	return rc;
}
