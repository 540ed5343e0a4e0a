/*
 * The classifier's judgement of what the parser cannot pin down
 * (issue 10): later fragments whose protocol is unknowable, source-routed
 * packets, and an IPv4 AH packet reaching the identity gate.  Frames are
 * built byte by byte and go through the real parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "core/classify/cls.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"

#define SERVICES                                                               \
	"services = { ssh = { proto = \"tcp\"; ports = \"22\"; };\n"           \
	"  dns = { proto = \"udp\"; ports = \"53\"; }; };\n"
#define IDENTITY                                                               \
	"identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"           \
	"  audience = \"a\"; jwks = \"/dev/null\";\n"                          \
	"  algorithms = \"ES256\"; } ); services = \"ssh\"; };\n"

struct fx {
	struct policy *p;
	struct geo_tables *g;
};

/* Compiles TEXT; every source is of unknown country (empty tables). */
static void
fx_load(struct fx *x, const char *text)
{
	char path[] = "/tmp/test_cls_frag.XXXXXX", err[512] = "";
	struct conf *c = calloc(1, sizeof(*c));
	int fd = mkstemp(path);
	FILE *f;

	assert_non_null(c);
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	if (conf_load(path, c, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	unlink(path);
	x->p = calloc(1, sizeof(*x->p));
	assert_non_null(x->p);
	if (pol_compile(c, NULL, x->p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	x->g = geo_tables_create();
	assert_non_null(x->g);
	free(c);
}

static void
fx_free(struct fx *x)
{
	geo_tables_free(x->g);
	free(x->p);
}

/* Parses F (it must parse) and classifies it in direction DIR. */
static void
judge(const struct fx *x, struct pkt_frame *f, unsigned dir,
    struct cls_verdict *v)
{
	struct cls_env env = { x->p, x->g, NULL, 1000 };
	struct pkt_meta m;

	pkt_fr_done(f);
	assert_int_equal(pkt_parse(f->b, f->len, &m), 0);
	cls_classify(&env, &m, dir, v);
}

/* An IPv6 later fragment whose fragment header says NH. */
static void
mk_frag6_later(struct pkt_frame *f, uint8_t nh)
{
	pkt_fr_eth(f, NULL, 0, 0x86dd);
	pkt_fr_ip6(f, 44);
	pkt_fr_frag6(f, nh, 100, 0);
	pkt_fr_data(f, 24);
}

/* An IPv4 later fragment of protocol PROTO. */
static void
mk_frag4_later(struct pkt_frame *f, uint8_t proto)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, proto, 0, 185);
	pkt_fr_data(f, 24);
}

static void
want(const struct cls_verdict *v, unsigned action, unsigned reason)
{
	assert_string_equal(cdn_action_name(v->action),
	    cdn_action_name(action));
	assert_string_equal(cdn_reason_name(v->reason),
	    cdn_reason_name(reason));
}

/*
 * Regression: an IPv6 later fragment was held only to the protocol its
 * own next-header field names (TCP and UDP when it named another), so a
 * label of "tcp" let it past a rule on UDP, ICMP or other protocols.
 */
static void
test_v6_later_any_proto(void **state)
{
	static const char *const deny[] = {
		"{ name = \"d\"; services = \"dns\"; action = \"drop\"; }",
		"{ name = \"d\"; proto = \"icmp\"; action = \"drop\"; }",
		"{ name = \"d\"; proto = \"other\"; action = \"drop\"; }",
		"{ name = \"d\"; services = \"ssh\"; action = \"drop\"; }",
	};
	static const uint8_t label[] = { 6, 17, 58, 59, 51, 0 };
	char text[1024];
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	for (size_t d = 0; d < sizeof(deny) / sizeof(deny[0]); d++) {
		snprintf(text, sizeof(text),
		    SERVICES "rules = ( %s );\n"
		             "default = { action = \"allow\"; };\n",
		    deny[d]);
		fx_load(&x, text);
		for (size_t l = 0; l < sizeof(label); l++) {
			mk_frag6_later(&f, label[l]);
			judge(&x, &f, POL_DIR_IN, &v);
			want(&v, CDN_ACT_DROP, CDN_R_FRAGMENT);
			assert_int_equal(v.rule, 0);
		}
		fx_free(&x);
	}
	/* Nothing denied: later fragments pass, whatever their label. */
	fx_load(&x, SERVICES "default = { action = \"allow\"; };\n");
	for (size_t l = 0; l < sizeof(label); l++) {
		mk_frag6_later(&f, label[l]);
		judge(&x, &f, POL_DIR_IN, &v);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	}
	fx_free(&x);
}

/*
 * An IPv4 later fragment's protocol field is the datagram's: held to that
 * protocol only, except AH, whose L4 protocol is in the first fragment.
 */
static void
test_v4_later(void **state)
{
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	fx_load(&x, SERVICES
	    "rules = ( { name = \"d\"; services = \"ssh\";"
	    " action = \"drop\"; } );\ndefault = { action = \"allow\"; };\n");
	mk_frag4_later(&f, 51);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_FRAGMENT);
	mk_frag4_later(&f, 17);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	mk_frag4_later(&f, 6);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_FRAGMENT);
	fx_free(&x);
}

/*
 * Identity on TCP only: a later fragment labelled UDP (IPv6) or AH (IPv4)
 * may still be part of an ssh connection, so it needs a session too.
 */
static void
test_later_identity(void **state)
{
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	fx_load(&x, SERVICES IDENTITY "default = { action = \"allow\"; };\n");
	mk_frag6_later(&f, 17);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	mk_frag4_later(&f, 51);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	mk_frag4_later(&f, 17);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	fx_free(&x);
}

/* TCP SYN to 22 from the documentation source, behind one IPv4 AH. */
static void
mk_v4_ah_syn(struct pkt_frame *f)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, 51, 0, 0);
	pkt_fr_ext(f, 51, 6, 24);
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
}

/*
 * Regression: an IPv4 AH packet was judged as "protocol 51", so a SYN to
 * an identity service behind it passed without a session.
 */
static void
test_v4_ah_identity(void **state)
{
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	fx_load(&x, SERVICES IDENTITY "default = { action = \"allow\"; };\n");
	mk_v4_ah_syn(&f);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	fx_free(&x);
	fx_load(&x, SERVICES
	    "rules = ( { name = \"d\"; services = \"ssh\";"
	    " action = \"drop\"; } );\ndefault = { action = \"allow\"; };\n");
	mk_v4_ah_syn(&f);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_RULE);
	fx_free(&x);
}

/* An IPv4 SYN to 22 with a loose source route through 192.0.2.9. */
static void
mk_v4_lsrr(struct pkt_frame *f)
{
	static const uint8_t lsrr[8] = { 1, 131, 7, 4, 192, 0, 2, 9 };

	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, 6, 2, 0);
	memcpy(f->b + f->l3 + 20, lsrr, sizeof(lsrr));
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
}

/* An IPv6 SYN to 22 behind a segment routing header (type 4). */
static void
mk_v6_srh(struct pkt_frame *f)
{
	pkt_fr_eth(f, NULL, 0, 0x86dd);
	pkt_fr_ip6(f, 43);
	pkt_fr_ext(f, 43, 6, 24);
	f->b[14 + 40 + 2] = 4;
	f->b[14 + 40 + 3] = 1;
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
}

/*
 * Source-routed packets are dropped in both directions by default, before
 * any rule; "allow" judges them by their header's destination.
 */
static void
test_source_route(void **state)
{
	static const char allow_all[] = SERVICES
	    "default = { action = \"allow\"; };\n";
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	fx_load(&x, allow_all);
	for (unsigned dir = 0; dir < POL_DIR_MAX; dir++) {
		mk_v4_lsrr(&f);
		judge(&x, &f, dir, &v);
		want(&v, CDN_ACT_DROP, CDN_R_SRCROUTE);
		mk_v6_srh(&f);
		judge(&x, &f, dir, &v);
		want(&v, CDN_ACT_DROP, CDN_R_SRCROUTE);
	}
	fx_free(&x);
	fx_load(&x, SERVICES
	    "source_route = \"allow\";\n"
	    "rules = ( { name = \"d\"; services = \"ssh\"; action = \"reject\";"
	    " } );\ndefault = { action = \"allow\"; };\n");
	mk_v4_lsrr(&f);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_REJECT, CDN_R_RULE);
	mk_v6_srh(&f);
	judge(&x, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_REJECT, CDN_R_RULE);
	fx_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v6_later_any_proto),
		cmocka_unit_test(test_v4_later),
		cmocka_unit_test(test_later_identity),
		cmocka_unit_test(test_v4_ah_identity),
		cmocka_unit_test(test_source_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
