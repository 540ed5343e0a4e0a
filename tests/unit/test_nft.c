/*
 * control/nft without a kernel: interval merging, the region export
 * checked against geo_lookup4/6 on hand-built tables (aliases included),
 * set elements and the whole table batch decoded back with libnftnl.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "config/policy/pol_compile.h"
#include "control/nft/nft_int.h"
#include "control/nft/nft_ir.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_util.h"

static void
test_iv_merge(void **st)
{
	struct nft_ivs l = { 0 };

	(void)st;
	assert_int_equal(nft_iv4_add(&l, 10, 20), 0);
	assert_int_equal(nft_iv4_add(&l, 21, 30), 0); /* adjacent */
	assert_int_equal(nft_iv4_add(&l, 25, 28), 0); /* inside */
	assert_int_equal(nft_iv4_add(&l, 32, 40), 0); /* gap of one */
	assert_int_equal(nft_iv4_add(&l, 41, UINT32_MAX), 0);
	assert_int_equal(nft_iv4_add(&l, UINT32_MAX, UINT32_MAX), 0);
	assert_int_equal(l.n4, 2);
	assert_int_equal(l.v4[0].lo, 10);
	assert_int_equal(l.v4[0].hi, 30);
	assert_int_equal(l.v4[1].lo, 32);
	assert_true(l.v4[1].hi == UINT32_MAX);
	assert_int_equal(nft_iv6_add(&l, 0, 5), 0);
	assert_int_equal(nft_iv6_add(&l, 6, ~(nft_u128)0), 0);
	assert_int_equal(l.n6, 1);
	nft_ivs_free(&l);
}

/*
 * A delta deletes the ranges of the old list that the new one lacks and
 * adds those the old one lacks: a range whose end moved is both.
 */
static void
test_iv_minus(void **st)
{
	struct nft_ivs a = { 0 }, b = { 0 }, d = { 0 };

	(void)st;
	assert_int_equal(nft_iv4_add(&a, 10, 20), 0);
	assert_int_equal(nft_iv4_add(&a, 30, 40), 0);
	assert_int_equal(nft_iv4_add(&a, 50, 60), 0);
	assert_int_equal(nft_iv4_add(&b, 10, 20), 0); /* the same */
	assert_int_equal(nft_iv4_add(&b, 30, 45), 0); /* its end moved */
	assert_int_equal(nft_iv4_add(&b, 70, 80), 0); /* new */
	assert_int_equal(nft_iv6_add(&a, 1, 2), 0);
	assert_int_equal(nft_iv6_add(&b, 1, 2), 0);
	assert_int_equal(nft_iv6_add(&b, 4, ~(nft_u128)0), 0);
	assert_int_equal(nft_ivs_minus(&a, &b, &d), 0);
	assert_int_equal(d.n4, 2);
	assert_int_equal(d.v4[0].lo, 30);
	assert_int_equal(d.v4[0].hi, 40);
	assert_int_equal(d.v4[1].lo, 50);
	assert_int_equal(d.n6, 0);
	nft_ivs_free(&d);
	assert_int_equal(nft_ivs_minus(&b, &a, &d), 0);
	assert_int_equal(d.n4, 2);
	assert_int_equal(d.v4[0].hi, 45);
	assert_int_equal(d.v4[1].lo, 70);
	assert_int_equal(d.n6, 1);
	assert_true(d.v6[0].lo == 4);
	nft_ivs_free(&d);
	nft_ivs_free(&a);
	nft_ivs_free(&b);
}

static bool
in4(const struct nft_ivs *l, uint32_t a)
{
	for (size_t i = 0; i < l->n4; i++)
		if (a >= l->v4[i].lo && a <= l->v4[i].hi)
			return true;
	return false;
}

static bool
in6(const struct nft_ivs *l, nft_u128 a)
{
	for (size_t i = 0; i < l->n6; i++)
		if (a >= l->v6[i].lo && a <= l->v6[i].hi)
			return true;
	return false;
}

static struct geo_tables *
tables(void)
{
	struct geo_tables *t = geo_tables_create();
	uint8_t a6[16] = { 0 };

	assert_non_null(t);
	assert_int_equal(geo_v4_set(t, 0xc6336400, 24, geo_cc_parse("CN")), 0);
	assert_int_equal(geo_v4_set(t, 0xc6336480, 28, geo_cc_parse("US")), 0);
	assert_int_equal(geo_v4_set(t, 0x0a000000, 8, geo_cc_parse("RU")), 0);
	assert_int_equal(geo_v4_set(t, 0x0a010203, 32, geo_cc_parse("US")), 0);
	inet_pton(AF_INET6, "2001:db8:1::", a6);
	assert_int_equal(geo_v6_set(t, a6, 48, geo_cc_parse("CN")), 0);
	inet_pton(AF_INET6, "2001:db8:1:5::", a6);
	assert_int_equal(geo_v6_set(t, a6, 64, geo_cc_parse("DE")), 0);
	inet_pton(AF_INET6, "::ffff:0:0", a6);
	assert_int_equal(geo_v6_set_alias4(t, a6, 96), 0);
	inet_pton(AF_INET6, "2002::", a6);
	assert_int_equal(geo_v6_set_alias4(t, a6, 16), 0);
	return t;
}

/* Every address whose country is in the set is in the export: no more. */
static void
test_export_matches_lookup(void **st)
{
	struct geo_tables *t = tables();
	struct conf_ccset s = { { 0 }, 0 };
	struct nft_ivs l;
	uint64_t seed = 42;
	uint8_t a6[16];

	(void)st;
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("CN"));
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("RU"));
	assert_int_equal(nft_iv_export(t, &s, &l), 0);
	assert_int_equal(l.n4, 4); /* 10/8 minus one, 198.51.100/24 - /28 */
	for (int i = 0; i < 200000; i++) {
		uint32_t a = (uint32_t)unit_rnd(&seed);

		if (i & 1) /* near the interesting prefixes */
			a = (i & 2 ? 0xc6336400u : 0x0a010200u) | (a & 0x1ff);
		assert_int_equal(in4(&l, a),
		    conf_ccset_has(&s, geo_lookup4(t, a)));
	}
	for (int i = 0; i < 200000; i++) {
		uint64_t hi = unit_rnd(&seed), lo = unit_rnd(&seed);
		static const char *const base[] = { "2001:db8:1::",
			"::ffff:198.51.100.0",
			"2002:c633:6400::", "::ffff:10.1.2.0" };

		if (i % 5 < 4) {
			inet_pton(AF_INET6, base[i % 5], a6);
			hi = 0;
			lo &= i % 5 == 0 ? 0x000fffffffffffffull : 0x3ff;
			if (i % 5 == 2)
				lo = (lo & 0xff) << 56;
			for (int k = 0; k < 8; k++) {
				a6[15 - k] |= (uint8_t)(lo >> (8 * k));
			}
		} else {
			for (int k = 0; k < 8; k++) {
				a6[k] = (uint8_t)(hi >> (8 * k));
				a6[8 + k] = (uint8_t)(lo >> (8 * k));
			}
		}
		assert_int_equal(in6(&l, nft_bytes_u128(a6)),
		    conf_ccset_has(&s, geo_lookup6(t, a6)));
	}
	nft_ivs_free(&l);
	geo_tables_free(t);
}

/*
 * A relay class joins a country set: the export holds every address
 * whose country or one of whose classes is in the set, through the
 * IPv4-embedding aliases too, and nothing else.
 */
static void
test_export_classes(void **st)
{
	struct geo_tables *t = tables();
	struct conf_ccset s = { { 0 }, 2 }; /* class bit 1 only */
	struct nft_ivs l;
	uint64_t seed = 7;
	uint8_t a6[16];
	geo_cls_t k;
	geo_cc_t cc;

	(void)st;
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("US"));
	/* Class 1 over part of CN, over unknown space; class 0 elsewhere. */
	assert_int_equal(geo_v4_add_cls(t, 0xc6336440, 26, 2), 0);
	assert_int_equal(geo_v4_add_cls(t, 0x2d000000, 8, 2), 0);
	assert_int_equal(geo_v4_add_cls(t, 0x0a000000, 9, 1), 0);
	inet_pton(AF_INET6, "2001:db8:1:8000::", a6);
	assert_int_equal(geo_v6_add_cls(t, a6, 49, 3), 0);
	assert_int_equal(nft_iv_export(t, &s, &l), 0);
	for (int i = 0; i < 200000; i++) {
		uint32_t a = (uint32_t)unit_rnd(&seed);

		if (i & 1)
			a = (i & 2 ? 0xc6336400u : 0x2d000000u) | (a & 0x1ff);
		cc = geo_lookup4_cls(t, a, &k);
		assert_int_equal(in4(&l, a),
		    conf_ccset_has(&s, cc) || (k & s.cls) != 0);
	}
	for (int i = 0; i < 100000; i++) {
		uint64_t lo = unit_rnd(&seed);

		inet_pton(AF_INET6,
		    i & 1 ? "2001:db8:1::" : "::ffff:198.51.100.0", a6);
		if (i & 1)
			a6[6] = (uint8_t)lo, a6[15] = (uint8_t)(lo >> 8);
		else
			a6[15] = (uint8_t)lo;
		cc = geo_lookup6_cls(t, a6, &k);
		assert_int_equal(in6(&l, nft_bytes_u128(a6)),
		    conf_ccset_has(&s, cc) || (k & s.cls) != 0);
	}
	nft_ivs_free(&l);
	geo_tables_free(t);
}

/*
 * Regression (issue 10 item 3): the special-purpose ::/128 and ::1 split
 * the ::/96 alias, and an override splits ::ffff:0:0/96; the alias
 * entries then sit below their IPv4 offset and must still be exported.
 */
static void
test_export_split_alias(void **st)
{
	struct geo_tables *t = tables();
	struct conf_ccset s = { { 0 }, 0 };
	struct nft_ivs l;
	uint64_t seed = 7;
	uint8_t a6[16] = { 0 };
	static const char *const base[] = { "::198.51.100.0", "::10.1.2.0",
		"::ffff:198.51.100.0", "::ffff:10.1.2.0", "::", "::1" };

	(void)st;
	assert_int_equal(geo_v6_set_alias4(t, a6, 96), 0);
	assert_int_equal(geo_v6_set(t, a6, 128, GEO_SP_RESERVED), 0);
	a6[15] = 1;
	assert_int_equal(geo_v6_set(t, a6, 128, GEO_SP_LOOPBACK), 0);
	inet_pton(AF_INET6, "::ffff:198.51.100.128", a6);
	assert_int_equal(geo_v6_set(t, a6, 121, geo_cc_parse("DE")), 0);
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("CN"));
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("RU"));
	assert_int_equal(nft_iv_export(t, &s, &l), 0);
	for (int i = 0; i < 60000; i++) {
		uint64_t r = unit_rnd(&seed);

		inet_pton(AF_INET6, base[i % 6], a6);
		a6[15] |= (uint8_t)r;
		if (i % 6 < 4)
			a6[14] |= (uint8_t)(r >> 8) & 1;
		assert_int_equal(in6(&l, nft_bytes_u128(a6)),
		    conf_ccset_has(&s, geo_lookup6(t, a6)));
	}
	inet_pton(AF_INET6, "::198.51.100.7", a6);
	assert_true(in6(&l, nft_bytes_u128(a6)));
	nft_ivs_free(&l);
	geo_tables_free(t);
}

static int
count_elem(struct nftnl_set_elem *e, void *arg)
{
	uint32_t *n = arg, flags = 0;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	n[flags & NFT_SET_ELEM_INTERVAL_END ? 1 : 0]++;
	return 0;
}

/* Walks B's messages after BATCH_BEGIN, calling FN on each. */
static void
batch_walk(const struct nft_batch *b,
    void (*fn)(const struct nlmsghdr *, void *), void *arg)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)b->buf;
	int len = (int)b->len;

	for (nlh = mnl_nlmsg_next(nlh, &len); mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len))
		fn(nlh, arg);
}

static void
elems_cb(const struct nlmsghdr *nlh, void *arg)
{
	uint32_t *n = arg, before = n[0] + n[1];
	struct nftnl_set *s;

	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWSETELEM)
		return;
	s = nftnl_set_alloc();
	assert_int_equal(nftnl_set_elems_nlmsg_parse(nlh, s), 0);
	nftnl_set_elem_foreach(s, count_elem, arg);
	nftnl_set_free(s);
	if (n[2]++ == 0)
		n[3] = n[0] + n[1] - before; /* in the first message */
}

/* 100k ranges: starts, ends + 1 flagged, split over 64 KiB messages. */
static void
test_elems_encoding(void **st)
{
	struct nft_ivs l = { 0 };
	struct nft_batch b;
	struct nft_elems w;
	uint32_t n[4] = { 0, 0, 0, 0 };
	char what[NFT_WHAT_MAX];

	(void)st;
	for (uint32_t i = 0; i < 100000; i++)
		assert_int_equal(nft_iv4_add(&l, i * 4, i * 4 + 1), 0);
	assert_int_equal(nft_iv4_add(&l, 0xfffffff0u, UINT32_MAX), 0);
	assert_int_equal(nft_batch_init(&b, 1), 0);
	nft_elems_begin(&w, &b, "t", "s", NFT_MSG_NEWSETELEM);
	assert_int_equal(nft_iv4_elems(&w, &l), 0);
	nft_elems_end(&w);
	assert_int_equal(nft_batch_close(&b), 0);
	assert_true(b.nmsg > 10);
	assert_int_equal(b.elems, 200001);
	batch_walk(&b, elems_cb, n);
	assert_int_equal(n[0], 100001); /* starts */
	assert_int_equal(n[1], 100000); /* the last range has no end */
	assert_int_equal(n[2], b.nmsg);
	/* Errors name the message by its first element. */
	assert_string_equal(b.what[0], "set s elements from #0");
	snprintf(what, sizeof(what), "set s elements from #%u", n[3]);
	assert_string_equal(b.what[1], what);
	nft_batch_free(&b);
	nft_ivs_free(&l);
}

struct rules_seen {
	unsigned n;
	char exprs[32][160];
	char comment[32][64];
	unsigned sets;
};

static int
expr_name(struct nftnl_expr *e, void *arg)
{
	char *out = arg;

	snprintf(out + strlen(out), 160 - strlen(out), "%s%s",
	    out[0] ? " " : "", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	return 0;
}

static void
rules_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct rules_seen *r = arg;
	struct nftnl_rule *nr;
	const uint8_t *u;
	uint32_t ulen = 0;

	if ((nlh->nlmsg_type & 0xff) == NFT_MSG_NEWSET)
		r->sets++;
	if ((nlh->nlmsg_type & 0xff) != NFT_MSG_NEWRULE || r->n == 32)
		return;
	nr = nftnl_rule_alloc();
	assert_int_equal(nftnl_rule_nlmsg_parse(nlh, nr), 0);
	if (strcmp(nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN), "classify") == 0) {
		r->exprs[r->n][0] = '\0';
		nftnl_expr_foreach(nr, expr_name, r->exprs[r->n]);
		u = nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &ulen);
		snprintf(r->comment[r->n], 64, "%.*s", u ? u[1] : 0,
		    u ? (const char *)u + 2 : "");
		r->n++;
	}
	nftnl_rule_free(nr);
}

static struct conf *
small_conf(void)
{
	struct conf *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->backend = CONF_BACKEND_NFTABLES;
	c->nregions = 1;
	snprintf(c->regions[0].name, CONF_NAME_MAX, "bad");
	conf_ccset_add(&c->regions[0].cc, (geo_cc_t)geo_cc_parse("CN"));
	c->nservices = 1;
	snprintf(c->services[0].name, CONF_NAME_MAX, "ssh");
	c->services[0].protos = CONF_P_TCP;
	c->services[0].nranges = 1;
	c->services[0].range[0] = (struct conf_range){ 22, 22 };
	c->nports = 2;
	snprintf(c->ports[0].ifname, 16, "o0");
	c->ports[0].role = CONF_ROLE_OUTSIDE;
	snprintf(c->ports[1].ifname, 16, "i0");
	c->ports[1].role = CONF_ROLE_INSIDE;
	c->nrules = 2;
	snprintf(c->rules[0].name, CONF_NAME_MAX, "ssh-bad");
	c->rules[0].src = c->regions[0].cc;
	c->rules[0].services = 1;
	c->rules[0].protos = CONF_P_TCP;
	c->rules[0].dir = CONF_DIR_IN;
	c->rules[0].dst_any = true;
	c->rules[0].action = CDN_ACT_REJECT;
	c->rules[0].nexthop = -1;
	snprintf(c->rules[1].name, CONF_NAME_MAX, "icmp-any");
	c->rules[1].src_any = c->rules[1].dst_any = c->rules[1].svc_any = true;
	c->rules[1].protos = CONF_P_ICMP | CONF_P_OTHER;
	c->rules[1].action = CDN_ACT_DROP;
	c->rules[1].nexthop = -1;
	c->default_action = CDN_ACT_ALLOW;
	return c;
}

/* The table of C, through its compiled policy, as nft_apply() does. */
static int
build(struct nft_batch *b, const struct conf *c, const struct geo_tables *t,
    const struct nft_opts *o, char *err, size_t errlen)
{
	struct policy *p = calloc(1, sizeof(*p));
	int rc;

	assert_non_null(p);
	assert_int_equal(pol_compile(c, NULL, p, err, errlen), 0);
	rc = nft_build(b, "cordon", c, p, t, o, NULL, 0, err, errlen);
	free(p);
	return rc;
}

/* The tunnel rules nft_tunnel_gate writes by default. */
#define NTUN 17

/* The classify chain, decoded back: matchers, counter, verdict. */
static void
test_table_batch(void **st)
{
	struct conf *c = small_conf();
	struct geo_tables *t = tables();
	struct nft_opts o = { .mode = NFT_MODE_ROUTER, .no_routes = true };
	struct rules_seen r = { 0 };
	struct nft_batch b;
	char err[256];

	(void)st;
	assert_int_equal(nft_batch_init(&b, 100), 0);
	assert_int_equal(build(&b, c, t, &o, err, sizeof(err)), 0);
	batch_walk(&b, rules_cb, &r);
	/* ports x2, sessions x2, geo x2, r0_svc, r1 protocols x2 */
	assert_int_equal(r.sets, 9);
	/* The policy can deny: tunnels first (4, 41, 47, 97, 115, 137, GRE
	 * and MPLS in UDP, VXLAN-GPE, L2TP, GUE, GTP-U, L2TP from 1701,
	 * VXLAN, GENEVE, Teredo both ways), dropped. */
	assert_int_equal(r.n, NTUN + 6);
	assert_string_equal(r.comment[0], "tunnel");
	assert_string_equal(r.exprs[0], "meta cmp counter immediate");
	assert_string_equal(r.exprs[6], "meta cmp payload cmp counter "
	                                "immediate");
	assert_string_equal(r.comment[NTUN + 0], "r0 v4 ssh-bad");
	assert_string_equal(r.exprs[NTUN + 0],
	    "meta cmp payload lookup meta "
	    "lookup meta payload lookup counter immediate");
	/* The Teredo twin: prefix, inverted last 32 bits in the IPv4 set. */
	assert_string_equal(r.comment[NTUN + 2], "r0 v6 ssh-bad");
	assert_string_equal(r.exprs[NTUN + 2],
	    "meta cmp payload cmp payload "
	    "bitwise lookup meta lookup meta payload lookup counter "
	    "immediate");
	assert_string_equal(r.comment[NTUN + 4], "r1 v6 icmp-any");
	assert_string_equal(r.exprs[NTUN + 4], "meta cmp meta lookup counter "
	                                       "immediate");
	assert_string_equal(r.comment[NTUN + 5], "default");
	assert_string_equal(r.exprs[NTUN + 5], "counter immediate");
	nft_batch_free(&b);
	geo_tables_free(t);
	free(c);
}

/*
 * A rule whose service has sports gets a twin per family that looks the
 * source port up in its own set (r0_ssvc), under the same comment.
 */
static void
test_table_sports(void **st)
{
	struct conf *c = small_conf();
	struct geo_tables *t = tables();
	struct nft_opts o = { .mode = NFT_MODE_ROUTER, .no_routes = true };
	struct rules_seen r = { 0 };
	struct nft_batch b;
	char err[256];

	(void)st;
	c->services[0].srange[0] = (struct conf_range){ 3544, 3544 };
	c->services[0].nsranges = 1;
	assert_int_equal(nft_batch_init(&b, 100), 0);
	assert_int_equal(build(&b, c, t, &o, err, sizeof(err)), 0);
	batch_walk(&b, rules_cb, &r);
	assert_int_equal(r.sets, 10);
	assert_int_equal(r.n, NTUN + 9);
	for (unsigned i = 0; i < 6; i++)
		assert_string_equal(r.comment[NTUN + i],
		    i % 3 ? "r0 v6 ssh-bad" : "r0 v4 ssh-bad");
	assert_string_equal(r.exprs[NTUN + 3], r.exprs[NTUN + 0]);
	assert_string_equal(r.comment[NTUN + 8], "default");
	nft_batch_free(&b);
	geo_tables_free(t);
	free(c);
}

/* The rule list entry of policy rule I. */
static const struct nft_ir_rule *
ir_rule(const struct nft_ir *ir, unsigned i)
{
	for (unsigned k = 0; k < ir->n; k++)
		if (ir->r[k].kind == NFT_IR_RULE && ir->r[k].rule == i)
			return &ir->r[k];
	fail_msg("no entry for rule %u", i);
	return NULL;
}

/*
 * Relay classes in origin and via (issue 13).  The kernel judges only
 * untunnelled packets, their own origin and only layer: origin alone is
 * exactly a source set, classes included (rule 0).  Next to other
 * source lists it cannot be intersected: a denial takes every class
 * named (rule 1: src CN, origin tor, via CN or vpn, which is CN's tor
 * addresses: all of tor and vpn, a superset), an allow none (the
 * countries in all three, CN ∩ ∅ ∩ CN: no address, a subset).
 */
static void
test_ir_relay_classes(void **st)
{
	struct conf *c = small_conf();
	struct policy *p = calloc(1, sizeof(*p));
	struct nft_ir *ir = calloc(1, sizeof(*ir));
	const struct nft_ir_rule *r;
	char err[256];

	(void)st;
	assert_non_null(p);
	assert_non_null(ir);
	c->rules[0].src_any = true;
	memset(&c->rules[0].src, 0, sizeof(c->rules[0].src));
	c->rules[0].has_origin = true;
	c->rules[0].origin.cls = 1;
	c->rules[1].has_origin = true;
	c->rules[1].origin.cls = 1;
	c->rules[1].src_any = false;
	conf_ccset_add(&c->rules[1].src, (geo_cc_t)geo_cc_parse("CN"));
	c->rules[1].has_via = true;
	c->rules[1].via.cls = 2;
	conf_ccset_add(&c->rules[1].via, (geo_cc_t)geo_cc_parse("CN"));
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	assert_int_equal(nft_ir_build(p, ir), 0);
	r = ir_rule(ir, 0);
	assert_false(r->src_any);
	assert_int_equal(r->src.cls, 1);
	assert_true(conf_ccset_empty(&r->src));
	r = ir_rule(ir, 1);
	assert_false(r->src_any);
	assert_int_equal(r->src.cls, 3);
	assert_true(conf_ccset_empty(&r->src));
	nft_ir_free(ir);
	/* Allowed: no class, the countries in all three only (none). */
	c->rules[1].action = CDN_ACT_ALLOW;
	memset(p, 0, sizeof(*p));
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	assert_int_equal(nft_ir_build(p, ir), 0);
	r = ir_rule(ir, 1);
	assert_int_equal(r->src.cls, 0);
	assert_true(conf_ccset_empty(&r->src));
	nft_ir_free(ir);
	free(ir);
	free(p);
	free(c);
}

/*
 * dst_via in the kernel: every packet the rules see is untunnelled
 * (tunnels are gated before them), its own only layer, so dst_via is
 * its destination: intersected with dst (rule 0: dst_via CN alone is
 * dst CN; rule 1: dst CN, RU and dst_via CN is dst CN).  Stricter is
 * not needed: the intersection is exact.
 */
static void
test_ir_dst_via(void **st)
{
	struct conf *c = small_conf();
	struct policy *p = calloc(1, sizeof(*p));
	struct nft_ir *ir = calloc(1, sizeof(*ir));
	const struct nft_ir_rule *r;
	geo_cc_t cn = (geo_cc_t)geo_cc_parse("CN");
	geo_cc_t ru = (geo_cc_t)geo_cc_parse("RU");
	char err[256];

	(void)st;
	assert_non_null(p);
	assert_non_null(ir);
	c->rules[0].dst_any = true;
	c->rules[0].has_dst_via = true;
	conf_ccset_add(&c->rules[0].dst_via, cn);
	c->rules[1].dst_any = false;
	memset(&c->rules[1].dst, 0, sizeof(c->rules[1].dst));
	conf_ccset_add(&c->rules[1].dst, cn);
	conf_ccset_add(&c->rules[1].dst, ru);
	c->rules[1].has_dst_via = true;
	conf_ccset_add(&c->rules[1].dst_via, cn);
	assert_int_equal(pol_compile(c, NULL, p, err, sizeof(err)), 0);
	assert_int_equal(p->needs_dst_geo, 1);
	assert_int_equal(nft_ir_build(p, ir), 0);
	for (unsigned i = 0; i < 2; i++) {
		r = ir_rule(ir, i);
		assert_false(r->dst_any);
		assert_true(conf_ccset_has(&r->dst, cn));
		assert_false(conf_ccset_has(&r->dst, ru));
	}
	nft_ir_free(ir);
	free(ir);
	free(p);
	free(c);
}

/*
 * A set named by its countries must not take a region's name: sets are
 * declared once per name, so a rule's {CN, RU} would look up region
 * CN_RU's addresses (here the US) and let China through its drop.
 */
static void
test_set_name_region_clash(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct conf_ccset s;
	char a[64], b[64];

	(void)st;
	memset(&s, 0, sizeof(s));
	assert_non_null(c);
	c->nregions = 1;
	strcpy(c->regions[0].name, "CN_RU");
	conf_ccset_add(&c->regions[0].cc, (geo_cc_t)geo_cc_parse("US"));
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("CN"));
	conf_ccset_add(&s, (geo_cc_t)geo_cc_parse("RU"));
	nft_set_name(c, &c->regions[0].cc, 4, a, sizeof(a));
	nft_set_name(c, &s, 4, b, sizeof(b));
	assert_string_equal(a, "geo_CN_RU_v4");
	assert_string_not_equal(a, b);
	/* Without the region, the countries name it. */
	c->nregions = 0;
	nft_set_name(c, &s, 4, b, sizeof(b));
	assert_string_equal(b, "geo_CN_RU_v4");
	free(c);
}

/*
 * Tables freed and built again of the same shape come back at the same
 * address with the same sizes (the allocator hands the freed chunk out
 * again) but may place addresses elsewhere: the record of the freed
 * ones must not pass for them (ABA), or a reload's delta would keep the
 * freed tables' ranges.
 */
static void
test_rec_geo_aba(void **st)
{
	struct nft_rec r = { 0 };
	struct geo_tables *g1 = geo_tables_create(), *g2;

	(void)st;
	assert_non_null(g1);
	assert_int_equal(geo_v4_set(g1, 0xc6336400, 24, geo_cc_parse("CN")), 0);
	nft_rec_set_geo(&r, g1);
	assert_true(nft_rec_same_geo(&r, g1));
	geo_tables_free(g1);
	g2 = geo_tables_create();
	assert_non_null(g2);
	assert_int_equal(geo_v4_set(g2, 0xc6336400, 24, geo_cc_parse("US")), 0);
	assert_false(nft_rec_same_geo(&r, g2));
	nft_rec_set_geo(&r, g2);
	assert_true(nft_rec_same_geo(&r, g2));
	geo_tables_free(g2);
	nft_rec_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iv_merge),
		cmocka_unit_test(test_iv_minus),
		cmocka_unit_test(test_export_matches_lookup),
		cmocka_unit_test(test_export_classes),
		cmocka_unit_test(test_export_split_alias),
		cmocka_unit_test(test_elems_encoding),
		cmocka_unit_test(test_table_batch),
		cmocka_unit_test(test_table_sports),
		cmocka_unit_test(test_ir_relay_classes),
		cmocka_unit_test(test_ir_dst_via),
		cmocka_unit_test(test_set_name_region_clash),
		cmocka_unit_test(test_rec_geo_aba),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
