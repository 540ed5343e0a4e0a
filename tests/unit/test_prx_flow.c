/*
 * Proxied flows (core/prx/prx_judge.c, prx_flow.c): real frames through
 * the flow table and the one classifier.  A client in a prohibited
 * country behind a trusted relay is refused and reset; an attacker's own
 * PROXY header is not believed; a header split in 1-byte segments is
 * decided once, on the bytes the service gets; retransmissions with
 * other bytes, flows nobody opened and a full table are refused.
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
#include "control/nft/nft_ir.h"
#include "core/prx/prx_judge.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"

#define RELAY 0x0a000005u /* 10.0.0.5, trusted */
#define CN    0xcb007107u /* 203.0.113.7, prohibited */
#define US    0xc6336407u /* 198.51.100.7 */
#define ISN   1000u
#define SVC   22
#define WEB   80

static struct policy *pol;
static struct geo_tables *geo;
static struct prx_flow_table *tab;
static struct stats st;
static uint64_t now = 1;
static struct sess_table *sess; /* identity sessions, when a test has them */

/* Every set holds rule 0 but the source sets: src, via or origin CN. */
static void
pol_make(void)
{
	geo_cc_t cn = (geo_cc_t)geo_cc_parse("CN");

	pol = calloc(1, sizeof(*pol));
	assert_non_null(pol);
	pol->nrules = 2;
	pol->default_action = CDN_ACT_ALLOW;
	pol->rule[0].action = CDN_ACT_DROP;
	pol->rule[1].action = CDN_ACT_DROP;
	memset(&pol->noident, 0xff, sizeof(pol->noident));
	pol_set_add(&pol->src_cc[cn], 0);
	pol_set_add(&pol->via_cc[cn], 1);
	for (unsigned c = 0; c < GEO_CC_MAX; c++) {
		pol_set_add(&pol->via_cc[c], 0);
		pol_set_add(&pol->src_cc[c], 1);
		pol_set_add(&pol->origin_cc[c], 0);
		pol_set_add(&pol->origin_cc[c], 1);
		pol_set_add(&pol->dst_cc[c], 0);
		pol_set_add(&pol->dst_cc[c], 1);
		pol_set_add(&pol->dst_via_cc[c], 0);
		pol_set_add(&pol->dst_via_cc[c], 1);
	}
	memset(pol->tun, 0xff, sizeof(pol->tun));
	memset(pol->dir, 0xff, sizeof(pol->dir));
	memset(pol->proto, 0xff, sizeof(pol->proto));
	memset(&pol->portless, 0xff, sizeof(pol->portless));
	memset(pol->class_rules, 0xff, sizeof(pol->class_rules));
	memset(pol->port_service, POL_SVC_NONE, sizeof(pol->port_service));
	pol->prx_any = 1;
	pol->prx_window = 512;
	pol->prx_port[SVC] = PRX_MODE_ANY;
	pol->prx_port[WEB] = PRX_MODE_XFF;
	pol->prx_trust.n = 1;
	pol->prx_trust.p[0].af = 4;
	pol->prx_trust.p[0].len = 8;
	pol->prx_trust.p[0].a[0] = 10;
}

static int
setup(void **state)
{
	(void)state;
	pol_make();
	geo = geo_tables_create();
	assert_int_equal(geo_v4_set(geo, CN & 0xffffff00u, 24,
	                     (geo_cc_t)geo_cc_parse("CN")),
	    0);
	assert_int_equal(geo_v4_set(geo, US & 0xffffff00u, 24,
	                     (geo_cc_t)geo_cc_parse("US")),
	    0);
	assert_int_equal(geo_v4_set(geo, RELAY & 0xff000000u, 8,
	                     (geo_cc_t)geo_cc_parse("US")),
	    0);
	tab = prx_flow_new(64, 4, 512, 100, 7);
	assert_non_null(tab);
	memset(&st, 0, sizeof(st));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	prx_flow_free(tab);
	geo_tables_free(geo);
	free(pol);
	return 0;
}

/* F (its TCP header last) with payload P (LEN bytes), judged inbound. */
static int
judge_in(struct pkt_frame *f, const void *p, unsigned len,
    struct cls_verdict *v)
{
	struct pkt_meta m;
	struct cls_env e = { pol, geo, sess, 1 };

	if (len)
		memcpy(f->b + f->len, p, len);
	f->len += len;
	pkt_fr_done(f);
	assert_int_equal(pkt_parse(f->b, f->len, &m), 0);
	return prx_judge(&e, tab, f->b, f->len, &m, POL_DIR_IN, now, v, &st);
}

/* A TCP segment SRC:SP -> 198.51.100.2:DP, FLAGS, SEQ, payload P. */
static int
seg(uint32_t src, uint16_t sp, uint16_t dp, uint8_t flags, uint32_t seq,
    const void *p, unsigned len, struct cls_verdict *v)
{
	struct pkt_frame f;

	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 6, 0, 0);
	pkt_fr_put32(f.b + f.l3 + 12, src);
	pkt_fr_tcp(&f, sp, dp, seq, 1, flags, 0);
	return judge_in(&f, p, len, v);
}

/* The reply direction: 198.51.100.2:SP -> DST:DP. */
static int
back(uint32_t dst, uint16_t sp, uint16_t dp, struct cls_verdict *v)
{
	struct pkt_frame f;
	struct pkt_meta m;
	struct cls_env e = { pol, geo, NULL, 1 };

	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 6, 0, 0);
	pkt_fr_put32(f.b + f.l3 + 12, PKT_FR_IP4_DST);
	pkt_fr_put32(f.b + f.l3 + 16, dst);
	pkt_fr_tcp(&f, sp, dp, 5, ISN + 1, 0x10, 0);
	pkt_fr_done(&f);
	assert_int_equal(pkt_parse(f.b, f.len, &m), 0);
	return prx_judge(&e, tab, f.b, f.len, &m, POL_DIR_OUT, now, v, &st);
}

/* The log record of the relay's flow SP names the client CLIENT. */
static void
log_origin_is(uint16_t sp, uint32_t client)
{
	struct pkt_meta m, lm;

	memset(&m, 0, sizeof(m));
	m.af = 4;
	m.l4proto = 6;
	m.src4 = RELAY;
	m.dst4 = PKT_FR_IP4_DST;
	m.sport = sp;
	m.dport = SVC;
	assert_int_equal(prx_log_meta(tab, &m, now, &lm), 0);
	assert_int_equal(lm.src4, RELAY);
	assert_true(lm.nlayer >= 1);
	assert_int_equal(pkt_origin(&lm)->src4, client);
}

static void
syn(uint32_t src, uint16_t sp, uint16_t dp)
{
	struct cls_verdict v;

	assert_int_equal(seg(src, sp, dp, 0x02, ISN, NULL, 0, &v), PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
}

static void
test_v1_prohibited_client(void **state)
{
	const char *h = "PROXY TCP4 203.0.113.7 198.51.100.2 4000 22\r\nSSH-2";
	struct cls_verdict v;

	(void)state;
	syn(RELAY, 40000, SVC);
	assert_int_equal(seg(RELAY, 40000, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_RULE);
	assert_int_equal(v.rule, 0);
	assert_int_equal(st.prx.denied, 1);
	log_origin_is(40000, CN);
	/* Later packets both ways: dropped. */
	assert_int_equal(seg(RELAY, 40000, SVC, 0x10, ISN + 1, NULL, 0, &v),
	    PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_DENIED);
	assert_int_equal(back(RELAY, SVC, 40000, &v), PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_DENIED);
	/* The same relay reporting a US client: served. */
	h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	syn(RELAY, 40001, SVC);
	assert_int_equal(seg(RELAY, 40001, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(v.src_cc, geo_cc_parse("US"));
	assert_int_equal(st.prx.reported, 1);
	assert_int_equal(seg(RELAY, 40001, SVC, 0x10, ISN + 200, "x", 1, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(back(RELAY, SVC, 40001, &v), PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
}

/* An attacker's own PROXY header: judged by its own address, counted. */
static void
test_untrusted(void **state)
{
	const char *h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	struct cls_verdict v;

	(void)state;
	assert_int_equal(seg(CN, 5000, SVC, 0x02, ISN, NULL, 0, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(seg(CN, 5000, SVC, 0x18, ISN + 1, h, strlen(h), &v),
	    PRX_J_DONE | PRX_J_UNTRUST);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.src_cc, geo_cc_parse("CN"));
	assert_int_equal(st.prx.untrusted, 1);
	assert_int_equal(prx_flow_used(tab, now), 0);
	/* From an allowed sender: passes as itself, still counted. */
	assert_int_equal(seg(US, 5000, SVC, 0x18, ISN + 1, h, strlen(h), &v),
	    PRX_J_DONE | PRX_J_UNTRUST);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(st.prx.untrusted, 2);
}

/* One byte per segment; resends with other bytes refused; once. */
static void
test_split_1byte(void **state)
{
	const char *h = "PROXY TCP4 203.0.113.7 198.51.100.2 4000 22\r\n";
	size_t n = strlen(h);
	struct cls_verdict v;

	(void)state;
	syn(RELAY, 40002, SVC);
	for (size_t i = 0; i + 1 < n; i++) {
		assert_int_equal(seg(RELAY, 40002, SVC, 0x18,
		                     ISN + 1 + (uint32_t)i, h + i, 1, &v),
		    PRX_J_DONE);
		assert_int_equal(v.action, CDN_ACT_ALLOW);
		/* A resend of the byte just held, the same: passes. */
		assert_int_equal(seg(RELAY, 40002, SVC, 0x18,
		                     ISN + 1 + (uint32_t)i, h + i, 1, &v),
		    PRX_J_DONE);
		assert_int_equal(v.action, CDN_ACT_ALLOW);
	}
	/* The first byte again, changed ("X"): refused, counted. */
	assert_int_equal(seg(RELAY, 40002, SVC, 0x18, ISN + 1, "X", 1, &v),
	    PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_ORDER);
	assert_int_equal(st.prx.changed, 1);
	/* A gap: refused. */
	assert_int_equal(seg(RELAY, 40002, SVC, 0x18, ISN + 1 + (uint32_t)n,
	                     "Y", 1, &v),
	    PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_ORDER);
	/* The last byte decides: the CN client is refused and reset. */
	assert_int_equal(seg(RELAY, 40002, SVC, 0x18, ISN + (uint32_t)n,
	                     h + n - 1, 1, &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.action, CDN_ACT_DROP);
	/* A resend of the whole header naming a US client changes nothing. */
	h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	assert_int_equal(seg(RELAY, 40002, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_DENIED);
}

/* A resend that coalesces held bytes with new ones decides. */
static void
test_coalesced(void **state)
{
	const char *h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	struct cls_verdict v;

	(void)state;
	syn(RELAY, 40003, SVC);
	assert_int_equal(seg(RELAY, 40003, SVC, 0x18, ISN + 1, h, 10, &v),
	    PRX_J_DONE);
	assert_int_equal(seg(RELAY, 40003, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(st.prx.reported, 1);
}

static void
test_bad_and_local(void **state)
{
	static const uint8_t local[16] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
		0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x20, 0x00, 0, 0 };
	struct cls_verdict v;

	(void)state;
	syn(RELAY, 40004, SVC);
	assert_int_equal(seg(RELAY, 40004, SVC, 0x18, ISN + 1, "SSH-2.0-x\r\n",
	                     11, &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.reason, CDN_R_PRX_BAD);
	syn(RELAY, 40005, SVC);
	assert_int_equal(seg(RELAY, 40005, SVC, 0x18, ISN + 1, local, 16, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(st.prx.local, 1);
}

/* No SYN seen (table lost it, or a forged mid-flow segment): refused
 * as from an unknown client; the policy here allows unknown, so FULL
 * set to drop refuses it outright. */
static void
test_no_flow(void **state)
{
	struct cls_verdict v;

	(void)state;
	pol->prx_full = PRX_ACT_DROP;
	assert_int_equal(seg(RELAY, 40006, SVC, 0x18, ISN + 1, "PROXY ", 6, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_PRX_NO_FLOW);
	pol->prx_full = PRX_ACT_UNKNOWN;
	assert_int_equal(seg(RELAY, 40006, SVC, 0x18, ISN + 1, "PROXY ", 6, &v),
	    PRX_J_DONE);
	assert_int_equal(v.src_cc, GEO_CC_UNKNOWN);
}

/* A flood of handshakes fills the table: refused and counted. */
static void
test_full(void **state)
{
	struct cls_verdict v;
	unsigned refused = 0;

	(void)state;
	pol->prx_full = PRX_ACT_DROP;
	for (uint16_t p = 1; p <= 200; p++) {
		assert_int_equal(seg(RELAY, p, SVC, 0x02, ISN, NULL, 0, &v),
		    PRX_J_DONE);
		refused += v.reason == CDN_R_PRX_FULL;
	}
	assert_true(refused >= 200 - 64);
	assert_int_equal(st.prx.full, refused);
	assert_true(prx_flow_used(tab, now) <= 64);
	/* Idle flows expire and make room again. */
	now += 1000;
	syn(RELAY, 9999, SVC);
	now = 1;
}

/*
 * A half-open flow (no header yet) lives idle / 60; a decided one the
 * full idle time, however quiet it is after its deciding segment.
 */
static void
test_pending_expiry(void **state)
{
	const char *h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	struct cls_verdict v;

	(void)state;
	prx_flow_free(tab);
	tab = prx_flow_new(64, 4, 512, 600, 7);
	pol->prx_full = PRX_ACT_DROP;
	syn(RELAY, 46000, SVC);
	syn(RELAY, 46001, SVC);
	assert_int_equal(seg(RELAY, 46001, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	now += 11;
	assert_int_equal(seg(RELAY, 46000, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_NO_FLOW);
	now += 500;
	assert_int_equal(seg(RELAY, 46001, SVC, 0x10, ISN + 100, "x", 1, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	now = 1;
}

/* The buffer pool (4 here) runs dry: the fifth split header is refused. */
static void
test_pool_dry(void **state)
{
	struct cls_verdict v;

	(void)state;
	pol->prx_full = PRX_ACT_DROP;
	for (uint16_t p = 0; p < 5; p++) {
		syn(RELAY, (uint16_t)(41000 + p), SVC);
		seg(RELAY, (uint16_t)(41000 + p), SVC, 0x18, ISN + 1, "PRO", 3,
		    &v);
		assert_int_equal(v.action,
		    p < 4 ? CDN_ACT_ALLOW : CDN_ACT_DROP);
	}
	assert_int_equal(v.reason, CDN_R_PRX_FULL);
}

static void
xff(uint16_t sp, const char *hdr, struct cls_verdict *v)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
	    "GET / HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", hdr);

	syn(RELAY, sp, WEB);
	seg(RELAY, sp, WEB, 0x18, ISN + 1, req, (unsigned)n, v);
}

static void
test_xff_walk(void **state)
{
	struct cls_verdict v;

	(void)state;
	/* A forged US hop on the left does not hide the CN client. */
	xff(42000, "X-Forwarded-For: 198.51.100.7, 203.0.113.7, 10.9.9.9", &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.rule, 0);
	/* A CN hop left of a US origin still denies (via). */
	xff(42001, "X-Forwarded-For: 203.0.113.7, 198.51.100.7", &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.rule, 1);
	xff(42002, "X-Forwarded-For: 198.51.100.7, 10.1.1.1", &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(v.src_cc, geo_cc_parse("US"));
	/* No header, or an obfuscated origin: unknown (allowed here by a
	 * policy that only names CN; FULL/INCOMPLETE drop refuses it). */
	pol->prx_incomplete = PRX_ACT_DROP;
	xff(42003, "X-Other: 1", &v);
	assert_int_equal(v.reason, CDN_R_PRX_INCOMPLETE);
	pol->prx_incomplete = PRX_ACT_UNKNOWN;
	xff(42004, "X-Forwarded-For: _hidden, 10.1.1.1", &v);
	assert_int_equal(v.src_cc, GEO_CC_UNKNOWN);
}

/* Headers that do not end within the window. */
static void
test_xff_window(void **state)
{
	char big[700];
	struct cls_verdict v;

	(void)state;
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	pol->prx_incomplete = PRX_ACT_DROP;
	syn(RELAY, 43000, WEB);
	assert_int_equal(seg(RELAY, 43000, WEB, 0x18, ISN + 1, big, 300, &v),
	    PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(seg(RELAY, 43000, WEB, 0x18, ISN + 301, big + 300, 400,
	                     &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.reason, CDN_R_PRX_INCOMPLETE);
}

/* IPv6 client behind an IPv4 relay: judged by its own country. */
static void
test_mixed_family(void **state)
{
	const char *h = "PROXY TCP6 2001:db8::7 2001:db8::1 4000 22\r\n";
	struct cls_verdict v;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };

	(void)state;
	assert_int_equal(geo_v6_set(geo, a6, 64, (geo_cc_t)geo_cc_parse("CN")),
	    0);
	syn(RELAY, 44000, SVC);
	assert_int_equal(seg(RELAY, 44000, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.src_cc, geo_cc_parse("CN"));
}

/*
 * The nftables backend cannot read the header: TCP to the proxied ports
 * is dropped before any rule (docs/nftables.md, Proxies).
 */
static void
nft_check(const struct policy *p)
{
	struct nft_ir *ir = calloc(1, sizeof(*ir));
	unsigned k;

	assert_non_null(ir);
	assert_int_equal(nft_ir_build(p, ir), 0);
	for (k = 0; k < ir->n && ir->r[k].kind != NFT_IR_RULE; k++)
		if (ir->r[k].kind == NFT_IR_PROXY)
			break;
	assert_true(k < ir->n && ir->r[k].kind == NFT_IR_PROXY);
	assert_int_equal(ir->r[k].action, CDN_ACT_DROP);
	assert_int_equal(ir->r[k].dport.n, 2);
	assert_int_equal(ir->r[k].dport.v[0].lo, 22);
	assert_int_equal(ir->r[k].dport.v[1].lo, 80);
	nft_ir_free(ir);
	free(ir);
}

/* TEXT through the config loader and the policy compiler into POL. */
static void
pol_load(const char *text)
{
	char path[] = "/tmp/test_prx_flow.XXXXXX", err[512] = "";
	struct conf *c = calloc(1, sizeof(*c));
	int fd = mkstemp(path);

	assert_true(fd >= 0 && c != NULL);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (conf_load(path, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	unlink(path);
	assert_int_equal(pol_compile(c, NULL, pol, err, sizeof(err)), 0);
	free(c);
}

/*
 * The same through the config loader and the policy compiler: what a
 * `proxies` group and a service's `proxy` compile to, judged by the
 * shipped style of rules (src and via).
 */
static void
test_from_config(void **state)
{
	static const char text[] =
	    "proxies = { trusted = [ \"10.0.0.0/8\", \"2001:db8:1::/48\" ];\n"
	    "  window = 512; incomplete = \"drop\"; };\n"
	    "services: { ssh-lb = { proto = \"tcp\"; ports = [ 22 ];\n"
	    "  proxy = \"any\"; };\n"
	    "  web = { proto = \"tcp\"; ports = [ 80 ];\n"
	    "  proxy = \"x-forwarded-for\"; }; };\n"
	    "rules = ( { name = \"from-cn\"; src = [ \"CN\" ];\n"
	    "  services = [ \"ssh-lb\", \"web\" ]; action = \"drop\"; },\n"
	    "  { name = \"via-cn\"; via = [ \"CN\" ];\n"
	    "  services = [ \"ssh-lb\", \"web\" ]; action = \"drop\"; } );\n";
	struct cls_verdict v;
	const char *h = "PROXY TCP4 203.0.113.7 198.51.100.2 4000 22\r\n";

	(void)state;
	pol_load(text);
	assert_int_equal(pol->prx_port[22], PRX_MODE_ANY);
	assert_int_equal(pol->prx_port[80], PRX_MODE_XFF);
	assert_int_equal(pol->prx_port[23], PRX_MODE_NONE);
	assert_int_equal(pol->prx_trust.n, 2);
	assert_int_equal(pol->prx_incomplete, PRX_ACT_DROP);
	syn(RELAY, 45000, SVC);
	assert_int_equal(seg(RELAY, 45000, SVC, 0x18, ISN + 1, h, strlen(h),
	                     &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.rule, 0);
	xff(45001, "X-Forwarded-For: 203.0.113.7, 198.51.100.7, 10.0.0.9", &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.rule, 1);
	xff(45002, "X-Forwarded-For: 198.51.100.7, 10.0.0.9", &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	nft_check(pol);
}

/* Data from the relay on SP at SEQ, not deciding with a reset. */
static void
relay_data(uint16_t sp, uint32_t seq, const char *p, struct cls_verdict *v)
{
	assert_int_equal(seg(RELAY, sp, SVC, 0x18, seq, p, (unsigned)strlen(p),
	                     v),
	    PRX_J_DONE);
}

/*
 * A sender that can forge the relay's address picks its own sequence
 * numbers with a SYN on the relay's live flow, then decides it with a
 * header naming a US client.  The relay's real segments (its CN client)
 * are not on that sequence line: refused, not passed as decided.
 */
static void
test_syn_injected(void **state)
{
	const char *us = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	const char *cn = "PROXY TCP4 203.0.113.7 198.51.100.2 4000 22\r\n";
	const uint32_t evil = 0x70000000u;
	struct cls_verdict v;

	(void)state;
	syn(RELAY, 46000, SVC);
	syn(RELAY, 46000, SVC);
	seg(RELAY, 46000, SVC, 0x02, evil, NULL, 0, &v);
	relay_data(46000, evil + 1, us, &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	relay_data(46000, ISN + 1, cn, &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_PRX_ORDER);
	/* The decided flow's own next bytes, and a resend, still pass. */
	relay_data(46000, evil + 1 + (uint32_t)strlen(us), "x", &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	relay_data(46000, evil + 1, us, &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
}

/* A session for A (IPv4, network order), identity 0, every rule. */
static void
sess_give(const uint8_t a[4])
{
	uint64_t bits[POL_WORDS];
	struct sess_key k;

	memset(bits, 0xff, sizeof(bits));
	assert_int_equal(sess_ident_set(sess, 0, bits), 0);
	sess_key_v4(&k, 0, a);
	assert_int_equal(sess_put(sess, &k, 5000, 1, 0), 0);
}

/*
 * Identity on a proxied service: the session is the reported client's,
 * looked up per packet of the decided flow, so a revocation refuses the
 * very next packet.
 */
static void
test_session_revoked(void **state)
{
	static const char text[] =
	    "proxies = { trusted = [ \"10.0.0.0/8\" ]; };\n"
	    "services: { ssh-lb = { proto = \"tcp\"; ports = [ 22 ];\n"
	    "  proxy = \"v1\"; }; };\n"
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\";\n"
	    "  algorithms = \"ES256\"; } ); services = \"ssh-lb\";\n"
	    "  unidentified = { action = \"drop\"; }; };\n"
	    "rules = ( { name = \"from-cn\"; src = [ \"CN\" ];\n"
	    "  action = \"drop\"; } );\n";
	static const uint8_t relay[4] = { 10, 0, 0, 5 };
	static const uint8_t us[4] = { 198, 51, 100, 7 };
	const char *h = "PROXY TCP4 198.51.100.7 198.51.100.2 4000 22\r\n";
	struct cls_verdict v;
	struct sess_key k;
	char err[128];
	int fd;

	(void)state;
	pol_load(text);
	assert_int_equal(sess_create(64, 1, POL_WORDS, &sess, &fd, err,
	                     sizeof(err)),
	    0);
	close(fd);
	/* The handshake is the relay's own: it needs a session too. */
	sess_give(relay);
	sess_give(us);
	syn(RELAY, 47000, SVC);
	relay_data(47000, ISN + 1, h, &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	relay_data(47000, ISN + 1 + (uint32_t)strlen(h), "x", &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	sess_key_v4(&k, 0, us);
	assert_int_equal(sess_del(sess, &k), 0);
	relay_data(47000, ISN + 2 + (uint32_t)strlen(h), "y", &v);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	sess_detach(sess);
	sess = NULL;
}

/*
 * An IPv6 relay (2001:db8::1, trusted as 2001:db8::/32) behind a
 * hop-by-hop header: DATA to port 22 at SEQ; FRAG: a first fragment
 * instead (an atomic one is no fragment, RFC 6946).
 */
static int
seg6(uint8_t flags, uint32_t seq, const char *data, int frag,
    struct cls_verdict *v)
{
	struct pkt_frame f;

	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, frag ? 44 : 0);
	if (frag)
		pkt_fr_frag6(&f, 6, 0, 1);
	else
		pkt_fr_ext(&f, 0, 6, 8);
	pkt_fr_tcp(&f, 47100, SVC, seq, 1, flags, 0);
	return judge_in(&f, data, data ? (unsigned)strlen(data) : 0, v);
}

/* IPv6 relays: trusted by prefix, their flows judged by the client. */
static void
test_ipv6_relay(void **state)
{
	const char *cn = "PROXY TCP4 203.0.113.7 198.51.100.2 4000 22\r\n";
	struct cls_verdict v;

	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };

	(void)state;
	/* As the compiled tables: ::ffff:0:0/96 looks IPv4 up. */
	assert_int_equal(geo_v6_set_alias4(geo, mapped, 96), 0);
	pol->prx_trust.n = 2;
	pol->prx_trust.p[1].af = 6;
	pol->prx_trust.p[1].len = 32;
	memcpy(pol->prx_trust.p[1].a, pkt_fr_ip6_src, 4);
	assert_int_equal(seg6(0x02, ISN, NULL, 0, &v), PRX_J_DONE);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(st.prx.tracked, 1);
	assert_int_equal(seg6(0x18, ISN + 1, cn, 0, &v),
	    PRX_J_DONE | PRX_J_RESET);
	assert_int_equal(v.src_cc, geo_cc_parse("CN"));
	/* Its data in a first fragment cannot be followed: refused. */
	assert_int_equal(seg6(0x18, ISN + 1, cn, 1, &v), PRX_J_DONE);
	assert_int_equal(v.reason, CDN_R_PRX_NOT_INSPECTED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v1_prohibited_client,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_untrusted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_1byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_coalesced, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_local, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_dry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_xff_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xff_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_mixed_family, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_from_config, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_syn_injected, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_session_revoked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_relay, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
