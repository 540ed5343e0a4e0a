/*
 * The classifier's judgement of what the parser cannot pin down
 * (issue 10): later fragments, which follow their first fragment through
 * the fragment table (issue 13), source-routed
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
#include "core/frag/frag.h"
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
 * Parses F and classifies it, then, for a fragment, carries it through
 * the fragment table T as the live path and replay do (NULL: none).
 */
static void
judge_t(const struct fx *x, struct frag_table *t, struct pkt_frame *f,
    unsigned dir, struct cls_verdict *v)
{
	struct cls_env env = { x->p, x->g, NULL, 1000 };
	struct stats *st = calloc(1, sizeof(*st));
	struct pkt_meta m;

	assert_non_null(st);
	pkt_fr_done(f);
	assert_int_equal(pkt_parse(f->b, f->len, &m), 0);
	cls_classify(&env, &m, dir, v);
	if (t != NULL && m.frag != PKT_FRAG_NONE)
		frag_track(t, &m, 1, v, st);
	free(st);
}

/* An IPv6 first fragment of a TCP SYN to DPORT (ID 0xabcd). */
static void
mk_frag6_first(struct pkt_frame *f, uint16_t dport)
{
	pkt_fr_eth(f, NULL, 0, 0x86dd);
	pkt_fr_ip6(f, 44);
	pkt_fr_frag6(f, 6, 0, 1);
	pkt_fr_tcp(f, 40000, dport, 1, 0, 0x02, 0);
	pkt_fr_data(f, 24);
}

/*
 * Regression (issue 13): a fragment was held to every rule of its
 * protocol (every protocol, for an IPv6 later fragment), so a source
 * allowed ssh could not send a fragmented ssh datagram whenever any other
 * service was denied to it.  Now the first fragment is judged as the
 * packet it starts, and the later ones follow it, whatever their label.
 */
static void
test_later_follows_first(void **state)
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
	struct frag_table *t;
	struct fx x;
	size_t d, l;

	(void)state;
	for (d = 0; d < sizeof(deny) / sizeof(deny[0]); d++) {
		snprintf(text, sizeof(text),
		    SERVICES "rules = ( %s );\n"
		             "default = { action = \"allow\"; };\n",
		    deny[d]);
		fx_load(&x, text);
		for (l = 0; l < sizeof(label); l++) {
			/* Alone, a later fragment is refused. */
			mk_frag6_later(&f, label[l]);
			judge_t(&x, NULL, &f, POL_DIR_IN, &v);
			want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
			assert_non_null(t = frag_table_new(64, 100, 0));
			mk_frag6_first(&f, 22);
			judge_t(&x, t, &f, POL_DIR_IN, &v);
			if (d == 3) {
				want(&v, CDN_ACT_DROP, CDN_R_RULE);
				assert_int_equal(v.rule, 0);
			} else {
				want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
			}
			mk_frag6_later(&f, label[l]);
			judge_t(&x, t, &f, POL_DIR_IN, &v);
			want(&v, d == 3 ? CDN_ACT_DROP : CDN_ACT_ALLOW,
			    d == 3 ? CDN_R_RULE : CDN_R_NONE);
			frag_table_free(t);
		}
		fx_free(&x);
	}
}

/* The first fragment of an IPv4 SYN to 22 behind an AH (ID 0x1234). */
static void
mk_frag4_ah_first(struct pkt_frame *f)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, 51, 0, 0x2000);
	pkt_fr_ext(f, 51, 6, 24);
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
}

/*
 * An IPv4 later fragment follows its first fragment, also behind an AH
 * (whose L4 protocol only the first fragment shows).
 */
static void
test_v4_later(void **state)
{
	struct frag_table *t = frag_table_new(64, 100, 0);
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	assert_non_null(t);
	fx_load(&x, SERVICES
	    "rules = ( { name = \"d\"; services = \"ssh\";"
	    " action = \"drop\"; } );\ndefault = { action = \"allow\"; };\n");
	for (uint8_t proto = 0; proto < 255; proto++) {
		mk_frag4_later(&f, proto);
		judge_t(&x, t, &f, POL_DIR_IN, &v);
		want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
	}
	mk_frag4_ah_first(&f);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_RULE);
	mk_frag4_later(&f, 51);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_RULE);
	assert_int_equal(v.rule, 0);
	fx_free(&x);
	frag_table_free(t);
}

/*
 * Identity on TCP only: the first fragment of an ssh SYN meets the gate
 * like a whole one; its later fragments, labelled UDP or not, follow.
 */
static void
test_later_identity(void **state)
{
	struct frag_table *t = frag_table_new(64, 100, 0);
	struct pkt_frame f;
	struct cls_verdict v;
	struct fx x;

	(void)state;
	assert_non_null(t);
	fx_load(&x, SERVICES IDENTITY "default = { action = \"allow\"; };\n");
	mk_frag6_first(&f, 22);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	mk_frag6_later(&f, 17);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	mk_frag4_ah_first(&f);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	mk_frag4_later(&f, 51);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_DROP, CDN_R_NO_SESSION);
	/* Not an identity service: the datagram passes whole. */
	frag_table_clear(t);
	mk_frag6_first(&f, 80);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	mk_frag6_later(&f, 17);
	judge_t(&x, t, &f, POL_DIR_IN, &v);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	fx_free(&x);
	frag_table_free(t);
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
		cmocka_unit_test(test_later_follows_first),
		cmocka_unit_test(test_v4_later),
		cmocka_unit_test(test_later_identity),
		cmocka_unit_test(test_v4_ah_identity),
		cmocka_unit_test(test_source_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
