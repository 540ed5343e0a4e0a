/*
 * Relay classes in `origin` and `via` (issue 13): the classifier sees
 * the classes of every layer of a tunnelled packet, from the same
 * lookup as its country.  origin judges the innermost layer's, via any
 * layer's; an untunnelled packet is its own origin and only layer.
 * The one-packet form, the burst form and explain must agree.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/classify/cls.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_cls.h"

#define TOR ((geo_cls_t)1 << 0)
#define VPN ((geo_cls_t)1 << 1)

static const char pol_text[] =
    "geo = { classes = ( { name = \"tor\"; prefixes = \"/dev/null\"; },\n"
    "  { name = \"vpn\"; prefixes = \"/dev/null\"; } ); };\n"
    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
    "rules = (\n"
    "  { name = \"origin-tor\"; origin = \"class:tor\"; action = \"drop\"; },\n"
    "  { name = \"via-vpn\"; via = [ \"class:vpn\", \"RU\" ];\n"
    "    action = \"reject\"; },\n"
    "  { name = \"src-tor\"; src = \"class:tor\"; services = \"ssh\";\n"
    "    action = \"reroute\"; nexthop = \"nh\"; } );\n"
    "dataplane = { ports = ( { name = \"o\"; device = \"net_null0\";\n"
    "  role = \"outside\"; } );\n"
    "  next_hops = ( { name = \"nh\"; port = \"o\";\n"
    "    mac = \"02:00:00:00:00:01\"; } ); };\n";

/*
 * 192.0.2.0/24 US, its upper half vpn; 10.0.0.0/8 CN, 10.1.0.0/16 tor;
 * 2001:db8::/32 DE, 2001:db8:7::/48 tor; 203.0.113.0/24 RU.
 */
static struct geo_tables *
geo_make(void)
{
	static const uint8_t de[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t tor6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 7 };
	struct geo_tables *t = geo_tables_create();

	assert_non_null(t);
	assert_int_equal(geo_v4_set(t, 0xc0000200u, 24, geo_cc_parse("US")), 0);
	assert_int_equal(geo_v4_set(t, 0x0a000000u, 8, geo_cc_parse("CN")), 0);
	assert_int_equal(geo_v4_set(t, 0xcb007100u, 24, geo_cc_parse("RU")), 0);
	assert_int_equal(geo_v6_set(t, de, 32, geo_cc_parse("DE")), 0);
	assert_int_equal(geo_v4_add_cls(t, 0xc0000280u, 25, VPN), 0);
	assert_int_equal(geo_v4_add_cls(t, 0x0a010000u, 16, TOR), 0);
	assert_int_equal(geo_v6_add_cls(t, tor6, 48, TOR), 0);
	return t;
}

/* An IPv4 address or an IPv6 one, in network order, into A. */
static uint8_t
addr(const char *s, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1)
		return 4;
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	return 6;
}

/*
 * An ssh SYN from the last of the N addresses of CHAIN to 192.0.2.77,
 * carried by GRE through the others (CHAIN[0] the outermost relay).
 */
static void
meta(const char *const *chain, unsigned n, struct pkt_meta *m)
{
	struct cls_key k = { .l4proto = 6, .sport = 40000, .dport = 22 };
	struct cls_via via[PKT_LAYER_MAX];

	k.af = addr(chain[n - 1], k.src);
	(void)addr(k.af == 4 ? "192.0.2.77" : "2001:db8::77", k.dst);
	cls_key_meta(&k, m);
	for (unsigned i = 0; i + 1 < n; i++) {
		via[i].kind = PKT_TUN_GRE;
		via[i].af = addr(chain[i], via[i].addr);
	}
	if (n > 1)
		assert_int_equal(cls_key_via(m, via, n - 1), 0);
}

struct relay_case {
	const char *chain[3];
	unsigned n;
	const char *rule; /* NULL: the default */
	uint8_t action;
	geo_cls_t origin_cls;
};

static const struct relay_case cases[] = {
	/* A tor inner source behind a plain US relay: origin decides. */
	{ { "192.0.2.1", "10.1.0.5" }, 2, "origin-tor", CDN_ACT_DROP, TOR },
	/* CN inner source, no class: nothing matches (src-tor: no). */
	{ { "192.0.2.1", "10.0.0.5" }, 2, NULL, CDN_ACT_ALLOW, 0 },
	/* A tor relay carrying a US source: origin is the inner one;
	 * src is the relay's, so src-tor takes it. */
	{ { "10.1.0.5", "192.0.2.1" }, 2, "src-tor", CDN_ACT_REROUTE, 0 },
	/* A vpn relay: via sees it (dropped, not rejected: tunnelled). */
	{ { "192.0.2.200", "10.0.0.5" }, 2, "via-vpn", CDN_ACT_DROP, 0 },
	/* The vpn layer in the middle of two. */
	{ { "192.0.2.1", "192.0.2.200", "10.0.0.5" }, 3, "via-vpn",
	    CDN_ACT_DROP, 0 },
	/* A via country next to the class still matches. */
	{ { "192.0.2.1", "203.0.113.9" }, 2, "via-vpn", CDN_ACT_DROP, 0 },
	/* IPv6 inside IPv4, tor by its IPv6 prefix. */
	{ { "192.0.2.1", "2001:db8:7::1" }, 2, "origin-tor", CDN_ACT_DROP,
	    TOR },
	{ { "192.0.2.1", "2001:db8:8::1" }, 2, NULL, CDN_ACT_ALLOW, 0 },
	/* Untunnelled: the source is its own origin and via. */
	{ { "10.1.0.5" }, 1, "origin-tor", CDN_ACT_DROP, TOR },
	{ { "192.0.2.200" }, 1, "via-vpn", CDN_ACT_REJECT, VPN },
	{ { "10.0.0.5" }, 1, NULL, CDN_ACT_ALLOW, 0 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
check(const struct policy *p, const struct relay_case *c,
    const struct cls_verdict *v)
{
	const char *got = v->rule == POL_RULE_DEFAULT ? NULL
	                                              : p->rule[v->rule].name;

	if ((got == NULL) != (c->rule == NULL) ||
	    (got != NULL && strcmp(got, c->rule) != 0))
		fail_msg("%s..%s: rule %s, want %s", c->chain[0],
		    c->chain[c->n - 1], got ? got : "(default)",
		    c->rule ? c->rule : "(default)");
	assert_int_equal(v->action, c->action);
	assert_int_equal(v->origin_cls, c->origin_cls);
}

static void
test_origin_via_classes(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct cls_verdict v;
	struct pkt_meta m;

	(void)state;
	assert_int_equal(p->layer_cls_used, TOR | VPN);
	assert_int_equal(p->src_cls_used, TOR);
	for (unsigned i = 0; i < NCASES; i++) {
		meta(cases[i].chain, cases[i].n, &m);
		cls_classify(&e, &m, POL_DIR_IN, &v);
		check(p, &cases[i], &v);
	}
	geo_tables_free(g);
	free(p);
}

/* The burst form looks inner layers up in bulk: the same verdicts. */
static void
test_origin_via_classes_burst(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	static struct pkt_meta m[NCASES * 3];
	const struct pkt_meta *mp[NCASES * 3];
	struct cls_verdict v[NCASES * 3];
	uint8_t dir[NCASES * 3];

	(void)state;
	for (unsigned i = 0; i < NCASES * 3; i++) {
		meta(cases[i % NCASES].chain, cases[i % NCASES].n, &m[i]);
		mp[i] = &m[i];
		dir[i] = POL_DIR_IN;
	}
	cls_classify_burst(&e, mp, dir, NCASES * 3, v);
	for (unsigned i = 0; i < NCASES * 3; i++)
		check(p, &cases[i % NCASES], &v[i]);
	geo_tables_free(g);
	free(p);
}

/* Explain shows each layer's classes and names the set that missed. */
static void
test_origin_via_classes_explain(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	static const char *const chain[] = { "192.0.2.200", "10.1.0.5" };
	static const char *const plain[] = { "192.0.2.1", "10.0.0.5" };
	struct cls_why w;
	struct pkt_meta m;

	(void)state;
	meta(chain, 2, &m);
	cls_explain(&e, &m, POL_DIR_IN, &w);
	assert_int_equal(w.layer_cls[0], VPN);
	assert_int_equal(w.layer_cls[1], TOR);
	assert_int_equal(w.v.rule, 0);
	assert_int_equal(w.v.origin_cls, TOR);
	meta(plain, 2, &m);
	cls_explain(&e, &m, POL_DIR_IN, &w);
	assert_int_equal(w.v.rule, POL_RULE_DEFAULT);
	assert_int_equal(w.nmiss, 3);
	assert_int_equal(w.miss[0], CLS_SET_ORIGIN);
	assert_int_equal(w.miss[1], CLS_SET_VIA);
	assert_int_equal(w.miss[2], CLS_SET_SRC);
	geo_tables_free(g);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_via_classes),
		cmocka_unit_test(test_origin_via_classes_burst),
		cmocka_unit_test(test_origin_via_classes_explain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
