/*
 * `dst_via`, any layer's destination (issue 13): an inside host's ssh
 * to a prohibited place carried by a tunnel to an allowed relay is
 * judged by where it goes, not only by where the relay is; a relay in a
 * prohibited place is a layer's destination too.  An untunnelled packet
 * is its own only layer: dst_via is its dst.  The one-packet form, the
 * burst form and explain must agree.
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
#include "core/classify/cls_fmt.h"
#include "core/stats/reasons.h"
#include "tests/unit/unit_cls.h"

static const char pol_text[] =
    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
    "rules = (\n"
    "  { name = \"to-cn\"; dst_via = [ \"CN\", \"unknown\" ];\n"
    "    services = \"ssh\"; action = \"drop\"; } );\n";

/* 192.0.2.0/24 US, 10.0.0.0/8 CN, 2001:db8::/32 DE, 2001:db8:1::/48 CN. */
static struct geo_tables *
geo_make(void)
{
	static const uint8_t de[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const uint8_t cn6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1 };
	struct geo_tables *t = geo_tables_create();

	assert_non_null(t);
	assert_int_equal(geo_v4_set(t, 0xc0000200u, 24, geo_cc_parse("US")), 0);
	assert_int_equal(geo_v4_set(t, 0x0a000000u, 8, geo_cc_parse("CN")), 0);
	assert_int_equal(geo_v6_set(t, de, 32, geo_cc_parse("DE")), 0);
	assert_int_equal(geo_v6_set(t, cn6, 48, geo_cc_parse("CN")), 0);
	return t;
}

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
 * An ssh SYN from 192.0.2.5 (or 2001:db8::5), to DST[N - 1], through
 * N - 1 GRE layers, layer I sent to DST[I]: as the parser records it.
 */
struct dv_case {
	const char *dst[3];
	unsigned n;
	uint8_t action;
};

static void
meta(const struct dv_case *c, struct pkt_meta *m)
{
	struct cls_key k = { .l4proto = 6, .sport = 40000, .dport = 22 };
	struct cls_via via[PKT_LAYER_MAX];
	uint8_t a[16];
	uint8_t af;

	k.af = addr(c->dst[c->n - 1], k.dst);
	(void)addr(k.af == 4 ? "192.0.2.5" : "2001:db8::5", k.src);
	cls_key_meta(&k, m);
	for (unsigned i = 0; i + 1 < c->n; i++) {
		via[i].kind = PKT_TUN_GRE;
		via[i].af = addr("192.0.2.6", via[i].addr);
	}
	if (c->n == 1)
		return;
	assert_int_equal(cls_key_via(m, via, c->n - 1), 0);
	/* Each relay layer goes where its case says. */
	for (unsigned i = 0; i + 1 < c->n; i++) {
		af = addr(c->dst[i], a);
		assert_int_equal(af, 4);
		m->layer_dst[i].dst4 = ntohl(*(const uint32_t *)a);
	}
	m->dst4 = m->layer_dst[0].dst4;
}

static const struct dv_case cases[] = {
	/* Untunnelled: dst_via is the destination. */
	{ { "10.0.0.9" }, 1, CDN_ACT_DROP },
	{ { "192.0.2.9" }, 1, CDN_ACT_ALLOW },
	{ { "2001:db8:1::9" }, 1, CDN_ACT_DROP },
	{ { "2001:db8:2::9" }, 1, CDN_ACT_ALLOW },
	/* Unknown destination (no answer): as unknown, denied. */
	{ { "198.18.0.1" }, 1, CDN_ACT_DROP },
	/* To CN through a US relay: the inner destination. */
	{ { "192.0.2.1", "10.0.0.9" }, 2, CDN_ACT_DROP },
	{ { "192.0.2.1", "2001:db8:1::9" }, 2, CDN_ACT_DROP },
	/* To the US through a CN relay: the outer destination. */
	{ { "10.0.0.1", "192.0.2.9" }, 2, CDN_ACT_DROP },
	/* The CN destination at the middle layer of three. */
	{ { "192.0.2.1", "10.0.0.1", "192.0.2.9" }, 3, CDN_ACT_DROP },
	/* Unknown inner destination. */
	{ { "192.0.2.1", "198.18.0.1" }, 2, CDN_ACT_DROP },
	/* Nowhere prohibited. */
	{ { "192.0.2.1", "192.0.2.9" }, 2, CDN_ACT_ALLOW },
	{ { "192.0.2.1", "192.0.2.2", "2001:db8:2::9" }, 3, CDN_ACT_ALLOW },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void
check(const struct dv_case *c, const struct cls_verdict *v)
{
	if (v->action != c->action)
		fail_msg("%s..%s: action %u, want %u", c->dst[0],
		    c->dst[c->n - 1], v->action, c->action);
	assert_int_equal(v->rule,
	    c->action == CDN_ACT_DROP ? 0 : POL_RULE_DEFAULT);
}

static void
test_dst_via(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct cls_verdict v;
	struct pkt_meta m;

	(void)state;
	assert_int_equal(p->needs_dst_geo, 1);
	for (unsigned i = 0; i < NCASES; i++) {
		meta(&cases[i], &m);
		cls_classify(&e, &m, POL_DIR_OUT, &v);
		check(&cases[i], &v);
	}
	geo_tables_free(g);
	free(p);
}

/* The burst form looks the inner destinations up in bulk. */
static void
test_dst_via_burst(void **state)
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
		meta(&cases[i % NCASES], &m[i]);
		mp[i] = &m[i];
		dir[i] = POL_DIR_OUT;
	}
	cls_classify_burst(&e, mp, dir, NCASES * 3, v);
	for (unsigned i = 0; i < NCASES * 3; i++)
		check(&cases[i % NCASES], &v[i]);
	geo_tables_free(g);
	free(p);
}

/* Explain: each layer's destination country, and the set that missed. */
static void
test_dst_via_explain(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct cls_why w;
	struct pkt_meta m;

	(void)state;
	meta(&cases[8], &m);
	cls_explain(&e, &m, POL_DIR_OUT, &w);
	assert_int_equal(w.layer_dcc[0], geo_cc_parse("US"));
	assert_int_equal(w.layer_dcc[1], geo_cc_parse("CN"));
	assert_int_equal(w.layer_dcc[2], geo_cc_parse("US"));
	assert_int_equal(w.v.rule, 0);
	meta(&cases[10], &m);
	cls_explain(&e, &m, POL_DIR_OUT, &w);
	assert_int_equal(w.v.rule, POL_RULE_DEFAULT);
	assert_int_equal(w.nmiss, 1);
	assert_int_equal(w.miss[0], CLS_SET_DST_VIA);
	assert_non_null(cls_miss_text(CLS_SET_DST_VIA, POL_PROTO_TCP, 0));
	geo_tables_free(g);
	free(p);
}

/*
 * A policy reading no destination looks none up: every layer's is
 * unknown and the rules take it (dst_via any).
 */
static void
test_dst_via_unused(void **state)
{
	struct policy *p = unit_pol_text(
	    "rules = ( { name = \"a\"; src = \"CN\"; action = \"drop\"; } );\n");
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct cls_why w;
	struct pkt_meta m;

	(void)state;
	assert_int_equal(p->needs_dst_geo, 0);
	meta(&cases[5], &m);
	cls_explain(&e, &m, POL_DIR_OUT, &w);
	assert_int_equal(w.layer_dcc[1], GEO_CC_UNKNOWN);
	assert_int_equal(w.v.action, CDN_ACT_ALLOW);
	geo_tables_free(g);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dst_via),
		cmocka_unit_test(test_dst_via_burst),
		cmocka_unit_test(test_dst_via_explain),
		cmocka_unit_test(test_dst_via_unused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
