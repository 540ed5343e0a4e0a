/*
 * Tunnels (core/pkt/pkt_tun.c, docs/packet-parsing.md): each
 * encapsulation opened, with the layers recorded outermost first and the
 * inner transport header; each malformation named; every truncation of
 * the frames parsed from a heap copy of exactly that length (ASan sees
 * any overread); and the classifier's side: origin/via/tunnel sets, the
 * session of the inner source, no reject for a tunnelled packet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "core/classify/cls.h"
#include "core/pkt/pkt_parse.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"
#include "tests/unit/unit_cls.h"

#define IN4 0x0a000001u /* inner IPv4 source: 10.0.0.1 */

static const uint8_t in6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 7 };

/* The lengths of the IP and UDP headers appended, fixed at the end. */
struct tun_frame {
	struct pkt_frame f;
	unsigned n;
	uint32_t off[16];
	uint8_t kind[16]; /* 4, 6 or 17 */
};

static void
tf_mark(struct tun_frame *t, uint32_t off, uint8_t kind)
{
	t->off[t->n] = off;
	t->kind[t->n++] = kind;
}

static void
tf_ip4(struct tun_frame *t, uint8_t proto, uint32_t src)
{
	uint32_t off = t->f.len;

	pkt_fr_ip4(&t->f, proto, 0, 0);
	pkt_fr_put32(t->f.b + off + 12, src);
	tf_mark(t, off, 4);
}

static void
tf_ip6(struct tun_frame *t, uint8_t nh, const uint8_t *src)
{
	uint32_t off = t->f.len;

	pkt_fr_ip6(&t->f, nh);
	if (src != NULL)
		memcpy(t->f.b + off + 8, src, 16);
	tf_mark(t, off, 6);
}

static void
tf_udp(struct tun_frame *t, uint16_t sp, uint16_t dp)
{
	tf_mark(t, t->f.len, 17);
	pkt_fr_udp(&t->f, sp, dp, 0);
}

static void
tf_bytes(struct tun_frame *t, const void *p, size_t n)
{
	memcpy(t->f.b + t->f.len, p, n);
	t->f.len += (uint32_t)n;
}

static void
tf_eth(struct tun_frame *t, uint16_t et)
{
	uint8_t h[14] = { 2, 0, 0, 0, 0, 5, 2, 0, 0, 0, 0, 6,
		(uint8_t)(et >> 8), (uint8_t)et };

	tf_bytes(t, h, sizeof(h));
}

static void
tf_start(struct tun_frame *t, uint16_t et)
{
	memset(t, 0, sizeof(*t));
	pkt_fr_eth(&t->f, NULL, 0, et);
}

/* Every length field, from the end of the frame. */
static void
tf_fix(struct tun_frame *t)
{
	uint8_t *p;
	uint32_t n;

	for (unsigned i = 0; i < t->n; i++) {
		p = t->f.b + t->off[i];
		n = t->f.len - t->off[i];
		if (t->kind[i] == 4)
			pkt_fr_put16(p + 2, (uint16_t)n);
		else if (t->kind[i] == 6)
			pkt_fr_put16(p + 4, (uint16_t)(n - 40));
		else
			pkt_fr_put16(p + 4, (uint16_t)n);
	}
}

/* An ssh SYN as the innermost payload, then every length field. */
static void
tf_done(struct tun_frame *t)
{
	pkt_fr_tcp(&t->f, 40001, 22, 1, 0, 0x02, 0);
	tf_fix(t);
}

static int
parse_exact(const uint8_t *b, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, b, len);
	rc = pkt_parse_cfg(copy, len, c, m);
	free(copy);
	return rc;
}

/*
 * Parses T: RC expected; on success two layers (the outer source
 * 192.0.2.1, the inner one of AF carried as KIND) and the inner ssh.
 * Every shorter copy parses too, without reading past its end.
 */
static void
check(const struct tun_frame *t, int rc, unsigned af, unsigned kind)
{
	struct pkt_meta m;

	for (uint32_t l = 0; l < t->f.len; l++)
		parse_exact(t->f.b, l, &pkt_tun_default, &m);
	assert_int_equal(parse_exact(t->f.b, t->f.len, &pkt_tun_default, &m),
	    rc);
	if (rc != 0)
		return;
	assert_int_equal(m.nlayer, 2);
	assert_int_equal(m.layer[1].kind, kind);
	assert_int_equal(m.layer[1].af, af);
	if (af == 4)
		assert_int_equal(m.layer[1].src4, IN4);
	else
		assert_memory_equal(m.layer[1].src6, in6, 16);
	assert_int_equal(m.l4proto, 6);
	assert_true(m.has_l4);
	assert_int_equal(m.dport, 22);
	assert_int_equal(m.tcp_flags, 0x02);
	assert_int_equal(pkt_l4_af(&m), af);
}

static void
inner(struct tun_frame *t, unsigned af)
{
	if (af == 4)
		tf_ip4(t, 6, IN4);
	else
		tf_ip6(t, 6, in6);
}

static void
test_ip_in_ip(void **state)
{
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	for (unsigned af = 4; af <= 6; af += 2) {
		tf_start(&t, 0x0800);
		tf_ip4(&t, af == 4 ? 4 : 41, PKT_FR_IP4_SRC);
		inner(&t, af);
		tf_done(&t);
		check(&t, 0, af, af == 4 ? PKT_TUN_IPIP : PKT_TUN_SIT);
		assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default,
		                     &m),
		    0);
		assert_int_equal(m.af, 4);
		assert_int_equal(m.src4, PKT_FR_IP4_SRC);
		assert_int_equal(m.layer[0].kind, PKT_TUN_NONE);

		tf_start(&t, 0x86dd);
		tf_ip6(&t, af == 4 ? 4 : 41, NULL);
		inner(&t, af);
		tf_done(&t);
		check(&t, 0, af, af == 4 ? PKT_TUN_IP4IN6 : PKT_TUN_IP6IN6);
	}
	/* Inner packet of the wrong version, and truncated. */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 41, PKT_FR_IP4_SRC);
	tf_ip4(&t, 6, IN4);
	tf_done(&t);
	check(&t, CDN_R_TUN_INNER, 0, 0);
	t.f.b[t.off[0] + 9] = 4;
	pkt_fr_put16(t.f.b + t.off[1] + 2, 200);
	check(&t, CDN_R_TUN_INNER, 0, 0);
}

static void
test_srv6(void **state)
{
	struct tun_frame t;
	struct pkt_meta m;
	uint8_t srh[24] = { 4, 2, 4, 0 };

	(void)state;
	tf_start(&t, 0x86dd);
	tf_ip6(&t, 43, NULL);
	tf_bytes(&t, srh, sizeof(srh));
	tf_ip4(&t, 6, IN4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_SRV6);
	parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m);
	assert_true(m.srcroute);
}

/* GRE with FLAGS and protocol ET, then its optional fields. */
static void
gre(struct tun_frame *t, uint16_t flags, uint16_t et)
{
	uint8_t h[16] = { (uint8_t)(flags >> 8), (uint8_t)flags,
		(uint8_t)(et >> 8), (uint8_t)et };
	size_t n = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) +
	           (flags & 0x1000 ? 4 : 0);

	tf_start(t, 0x0800);
	tf_ip4(t, 47, PKT_FR_IP4_SRC);
	tf_bytes(t, h, n);
}

static void
test_gre(void **state)
{
	static const uint8_t mpls[8] = { 0, 0x64, 0, 64, 0, 0x65, 1, 64 };
	struct tun_frame t;

	(void)state;
	gre(&t, 0, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GRE);
	gre(&t, 0xb000, 0x86dd);
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_GRE);
	gre(&t, 0x2000, 0x6558);
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GRE_ETH);
	gre(&t, 0, 0x8847);
	tf_bytes(&t, mpls, sizeof(mpls));
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_MPLS);
	/* Routing (RFC 1701), a reserved bit, version 2: refused. */
	gre(&t, 0x4000, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_GRE, 0, 0);
	gre(&t, 0x0080, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_GRE, 0, 0);
	gre(&t, 0x0002, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_GRE, 0, 0);
	/* ERSPAN and friends: not inspected; MPLS without a bottom. */
	gre(&t, 0, 0x88be);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_PROTO, 0, 0);
	gre(&t, 0, 0x8847);
	for (unsigned i = 0; i < 9; i++)
		tf_bytes(&t, mpls, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_MPLS, 0, 0);
}

/* EtherIP (97) and MPLS in IP (137): opened too. */
static void
test_etherip_mplsip(void **state)
{
	static const uint8_t eip[2] = { 0x30, 0 };
	static const uint8_t mpls[4] = { 0, 0x64, 1, 64 };
	struct tun_frame t;

	(void)state;
	tf_start(&t, 0x0800);
	tf_ip4(&t, 97, PKT_FR_IP4_SRC);
	tf_bytes(&t, eip, sizeof(eip));
	tf_eth(&t, 0x86dd);
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_ETHERIP);
	t.f.b[t.off[0] + 20] = 0x20; /* version 2 */
	check(&t, CDN_R_TUN_ETH, 0, 0);

	tf_start(&t, 0x86dd);
	tf_ip6(&t, 137, NULL);
	tf_bytes(&t, mpls, sizeof(mpls));
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_MPLS);
}

static void
test_mpls_eth(void **state)
{
	static const uint8_t mpls[4] = { 0, 0x64, 1, 64 };
	static const uint8_t pw[4] = { 0, 0, 0, 0 };
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	tf_start(&t, 0x8847);
	tf_bytes(&t, mpls, sizeof(mpls));
	tf_ip4(&t, 6, IN4);
	tf_done(&t);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	assert_int_equal(m.nlayer, 1);
	assert_int_equal(m.layer[0].kind, PKT_TUN_MPLS);
	assert_int_equal(m.src4, IN4);
	assert_int_equal(m.dport, 22);
	/* A pseudowire's control word: not IP, not inspected. */
	tf_start(&t, 0x8847);
	tf_bytes(&t, mpls, sizeof(mpls));
	tf_bytes(&t, pw, sizeof(pw));
	tf_ip4(&t, 6, IN4);
	tf_done(&t);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m),
	    CDN_R_TUN_PROTO);
}

static void
test_vxlan_geneve(void **state)
{
	static const uint8_t vx[8] = { 0x08, 0, 0, 0, 0, 0x13, 0x88, 0 };
	static const uint8_t gn[16] = { 0x02, 0, 0x65, 0x58, 0, 0, 77, 0, 0x01,
		0x02, 0x80, 0x01, 0xaa, 0xaa, 0xaa, 0xaa };
	struct tun_frame t;
	uint8_t bad[16];

	(void)state;
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 50000, 4789);
	tf_bytes(&t, vx, sizeof(vx));
	tf_eth(&t, 0x86dd);
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_VXLAN);
	t.f.b[t.off[1] + 8] = 0;
	check(&t, CDN_R_TUN_VXLAN, 0, 0);

	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 50000, 6081);
	tf_bytes(&t, gn, sizeof(gn));
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GENEVE);
	/* An option longer than the options; version 1. */
	memcpy(bad, gn, sizeof(bad));
	bad[11] = 2;
	memcpy(t.f.b + t.off[1] + 8, bad, sizeof(bad));
	check(&t, CDN_R_TUN_GENEVE, 0, 0);
	bad[11] = 1;
	bad[0] = 0x42;
	memcpy(t.f.b + t.off[1] + 8, bad, sizeof(bad));
	check(&t, CDN_R_TUN_GENEVE, 0, 0);
}

static void
test_teredo(void **state)
{
	static const uint8_t auth[13] = { 0, 1, 0, 0 };
	static const uint8_t orig[8] = { 0, 0, 0x63, 0xbf, 0x39, 0xcc, 0x9b,
		0xf8 };
	static const uint8_t client[16] = { 0x20, 0x01, 0, 0, 0xc0, 0, 0x02,
		0x21, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	for (int dir = 0; dir < 2; dir++) {
		tf_start(&t, 0x0800);
		tf_ip4(&t, 17, PKT_FR_IP4_SRC);
		tf_udp(&t, dir ? 3544 : 40000, dir ? 40000 : 3544);
		tf_bytes(&t, auth, sizeof(auth));
		tf_bytes(&t, orig, sizeof(orig));
		inner(&t, 6);
		tf_done(&t);
		check(&t, 0, 6, PKT_TUN_TEREDO);
	}
	/* Off its port: found by the Teredo address inside. */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 3545, 40000);
	inner(&t, 6);
	memcpy(t.f.b + t.off[2] + 24, client, sizeof(client));
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_TEREDO);
	/*
	 * Its first fragment, whose UDP length covers the whole datagram:
	 * looked at only as far as its own bytes go (read past them before).
	 */
	pkt_fr_put16(t.f.b + t.off[0] + 6, 0x2000);
	pkt_fr_put16(t.f.b + t.off[1] + 4, 1400);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m),
	    CDN_R_TUN_FRAG);
	/* A short one is plain UDP; nothing past its end is read. */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 3545, 40000);
	tf_bytes(&t, "\x60\0\0\0", 4);
	tf_fix(&t);
	pkt_fr_put16(t.f.b + t.off[0] + 6, 0x2000);
	pkt_fr_put16(t.f.b + t.off[1] + 4, 1400);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	/* Not IPv6 behind the headers. */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 3544, 40000);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_TEREDO, 0, 0);
}

static void
test_depth_and_fragments(void **state)
{
	struct pkt_tun_cfg c = pkt_tun_default;
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	tf_start(&t, 0x0800);
	for (unsigned i = 0; i < 4; i++)
		tf_ip4(&t, 4, PKT_FR_IP4_SRC + i);
	inner(&t, 4);
	tf_done(&t);
	/* Four tunnels: one too many by default, enough with depth 4. */
	check(&t, CDN_R_TUN_DEPTH, 0, 0);
	c.depth = 4;
	assert_int_equal(parse_exact(t.f.b, t.f.len, &c, &m), 0);
	assert_int_equal(m.nlayer, 5);
	assert_int_equal(m.layer[4].src4, IN4);
	assert_int_equal(m.layer[2].src4, PKT_FR_IP4_SRC + 2);
	assert_int_equal(m.src4, PKT_FR_IP4_SRC);
	/* A first fragment of a tunnel: its inside is not all there. */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 4, PKT_FR_IP4_SRC);
	pkt_fr_put16(t.f.b + t.off[0] + 6, 0x2000);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_FRAG, 0, 0);
	/*
	 * Inner fragments, later or first: refused.  The fragment table
	 * tracks outer datagrams only, and no rule judges a piece alone.
	 */
	tf_start(&t, 0x0800);
	tf_ip4(&t, 4, PKT_FR_IP4_SRC);
	tf_ip4(&t, 6, IN4);
	pkt_fr_put16(t.f.b + t.off[1] + 6, 0x0010);
	tf_done(&t);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &c, &m), CDN_R_TUN_FRAG);
	tf_start(&t, 0x0800);
	tf_ip4(&t, 4, PKT_FR_IP4_SRC);
	inner(&t, 4);
	pkt_fr_put16(t.f.b + t.off[1] + 6, 0x2000);
	tf_done(&t);
	check(&t, CDN_R_TUN_FRAG, 0, 0);
}

static void
test_opaque(void **state)
{
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	tf_start(&t, 0x0800);
	tf_ip4(&t, 50, PKT_FR_IP4_SRC);
	pkt_fr_data(&t.f, 24);
	pkt_fr_done(&t.f);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	assert_true(m.opaque);
	assert_int_equal(m.nlayer, 0);
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	pkt_fr_udp(&t.f, 41000, 51820, 32);
	pkt_fr_done(&t.f);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	assert_true(m.opaque);
	/* Plain UDP: neither. */
	pkt_fr_put16(t.f.b + t.f.l4 + 2, 53);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	assert_false(m.opaque);
}

/* ---- the classifier ---------------------------------------------- */

static const char pol_text[] =
    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
    "regions = { bad = [ \"CN\" ]; };\n"
    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
    "  audience = \"a\"; jwks = \"/dev/null\"; algorithms = \"ES256\"; } );\n"
    "  services = \"ssh\"; unidentified = { action = \"reject\"; }; };\n"
    "rules = ( { name = \"via-bad\"; via = \"bad\"; direction = \"in\";\n"
    "  action = \"reject\"; } );\n";

/* 192.0.2.0/24 is US, 10.0.0.0/8 CN. */
static struct geo_tables *
geo_make(void)
{
	struct geo_tables *t = geo_tables_create();

	assert_non_null(t);
	assert_int_equal(geo_v4_set(t, 0xc0000200u, 24,
	                     (geo_cc_t)geo_cc_parse("US")),
	    0);
	assert_int_equal(geo_v4_set(t, 0x0a000000u, 8,
	                     (geo_cc_t)geo_cc_parse("CN")),
	    0);
	return t;
}

/* GRE from 192.0.2.1 carrying an ssh SYN from INNER. */
static void
gre_meta(uint32_t src_inner, struct pkt_meta *m)
{
	struct tun_frame t;

	gre(&t, 0, 0x0800);
	tf_ip4(&t, 6, src_inner);
	tf_done(&t);
	assert_int_equal(pkt_parse(t.f.b, t.f.len, m), 0);
}

/*
 * The session a tunnelled flow needs is its inner source's: one for the
 * outer relay does not open the gate.  A tunnelled packet is dropped
 * where a plain one would be rejected; via sees the inner layer.
 */
static void
test_cls_inner_session(void **state)
{
	struct policy *p = unit_pol_text(pol_text);
	struct geo_tables *g = geo_make();
	struct sess_table *st;
	struct cls_verdict v;
	struct sess_key k;
	struct pkt_meta m;
	struct cls_env e;
	char err[128];
	uint64_t bits[POL_WORDS] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };
	uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 9 };
	int fd;

	(void)state;
	assert_int_equal(sess_create(64, 1, POL_WORDS, &st, &fd, err,
	                     sizeof(err)),
	    0);
	close(fd);
	assert_int_equal(sess_ident_set(st, 0, bits), 0);
	sess_key_v4(&k, 0, a);
	assert_int_equal(sess_put(st, &k, 5000, 1, 0), 0);
	e = (struct cls_env){ p, g, st, 1000 };

	/* The relay has a session, the inner source has none. */
	gre_meta(0xc0000209u, &m);
	cls_classify(&e, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_NO_SESSION);
	assert_int_equal(v.action, CDN_ACT_DROP);
	/* The inner source's session opens it. */
	sess_key_v4(&k, 0, b);
	assert_int_equal(sess_put(st, &k, 5000, 2, 0), 0);
	cls_classify(&e, &m, POL_DIR_IN, &v);
	assert_int_equal(v.action, CDN_ACT_ALLOW);
	assert_int_equal(v.origin_cc, geo_cc_parse("US"));
	/* A Chinese inner source: via-bad, dropped instead of rejected. */
	sess_key_v4(&k, 0, (const uint8_t[]){ 10, 0, 0, 1 });
	assert_int_equal(sess_put(st, &k, 5000, 3, 0), 0);
	gre_meta(IN4, &m);
	cls_classify(&e, &m, POL_DIR_IN, &v);
	assert_int_equal(v.rule, 0);
	assert_int_equal(v.action, CDN_ACT_DROP);
	assert_int_equal(v.reason, CDN_R_RULE);
	assert_int_equal(v.src_cc, geo_cc_parse("US"));
	assert_int_equal(v.origin_cc, geo_cc_parse("CN"));
	sess_detach(st);
	geo_tables_free(g);
	free(p);
}

/* Explain names the set that misses: via, then the tunnel class. */
static void
test_cls_explain_sets(void **state)
{
	struct policy *p = unit_pol_text(
	    "rules = ( { name = \"via-cn\"; via = \"CN\"; action = \"drop\"; },"
	    " { name = \"opaque\"; tunnel = \"opaque\"; action = \"drop\"; } );"
	    "\n");
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct cls_why w;
	struct pkt_meta m;

	(void)state;
	gre_meta(0xc0000209u, &m);
	cls_explain(&e, &m, POL_DIR_IN, &w);
	assert_int_equal(w.v.action, CDN_ACT_ALLOW);
	assert_int_equal(w.nmiss, 2);
	assert_int_equal(w.miss[0], CLS_SET_VIA);
	assert_int_equal(w.miss[1], CLS_SET_TUN);
	assert_int_equal(w.layer_cc[1], geo_cc_parse("US"));
	gre_meta(IN4, &m);
	cls_explain(&e, &m, POL_DIR_IN, &w);
	assert_int_equal(w.v.rule, 0);
	assert_int_equal(w.miss[0], CLS_SET_MAX);
	geo_tables_free(g);
	free(p);
}

/* A knock inside a tunnel is not a knock: the rules judge it. */
static void
test_cls_knock_in_tunnel(void **state)
{
	struct policy *p = unit_pol_text(
	    "services = { ssh = { proto = \"tcp\"; ports = \"22\"; }; };\n"
	    "identity = { issuers = ( { name = \"c\"; issuer = \"i\";\n"
	    "  audience = \"a\"; jwks = \"/dev/null\";"
	    " algorithms = \"ES256\"; } );\n"
	    "  services = \"ssh\"; knock = { port = 47470; }; };\n"
	    "default = { action = \"drop\"; };\n");
	struct geo_tables *g = geo_make();
	struct cls_env e = { p, g, NULL, 1000 };
	struct tun_frame t;
	struct cls_verdict v;
	struct pkt_meta m;

	(void)state;
	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, IN4);
	tf_udp(&t, 40000, 47470);
	tf_fix(&t);
	assert_int_equal(pkt_parse(t.f.b, t.f.len, &m), 0);
	cls_classify(&e, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_KNOCK);
	gre(&t, 0, 0x0800);
	tf_ip4(&t, 17, IN4);
	tf_udp(&t, 40000, 47470);
	tf_fix(&t);
	assert_int_equal(pkt_parse(t.f.b, t.f.len, &m), 0);
	assert_int_equal(m.nlayer, 2);
	cls_classify(&e, &m, POL_DIR_IN, &v);
	assert_int_equal(v.reason, CDN_R_DEFAULT);
	geo_tables_free(g);
	free(p);
}

/*
 * PPTP with plain IP in PPP (address/control compressed away, a one-byte
 * protocol), GRE in UDP and VXLAN-GPE: opened, not passed as opaque or
 * as plain UDP; Van Jacobson TCP behind PPTP is not inspected.
 */
static void
test_pptp_and_udp_carriers(void **state)
{
	static const uint8_t pptp[13] = { 0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 1, 0,
		0, 0, 9, 0x21 };
	static const uint8_t gre[4] = { 0, 0, 0x86, 0xdd };
	static const uint8_t gpe[8] = { 0x0c, 0, 0, 0x01, 0, 0, 0, 0 };
	struct tun_frame t;

	(void)state;
	tf_start(&t, 0x0800);
	tf_ip4(&t, 47, PKT_FR_IP4_SRC);
	tf_bytes(&t, pptp, sizeof(pptp));
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GRE);
	t.f.b[t.off[1] - 1] = 0x2d;
	check(&t, CDN_R_TUN_PROTO, 0, 0);

	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 50000, PKT_UDP_GRE);
	tf_bytes(&t, gre, sizeof(gre));
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_GRE);

	tf_start(&t, 0x0800);
	tf_ip4(&t, 17, PKT_FR_IP4_SRC);
	tf_udp(&t, 50000, PKT_UDP_GPE);
	tf_bytes(&t, gpe, sizeof(gpe));
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_VXLAN);
}

/* An IPv4 packet from the relay carrying protocol PROTO, or UDP to DP. */
static void
relay4(struct tun_frame *t, uint8_t proto, uint16_t sp, uint16_t dp)
{
	tf_start(t, 0x0800);
	tf_ip4(t, proto, PKT_FR_IP4_SRC);
	if (proto == 17)
		tf_udp(t, sp, dp);
}

/*
 * PPP inside PPTP that is neither IP nor opaque: bridged Ethernet (BCP)
 * and other network protocols passed as opaque on the outer verdict;
 * MPLS in PPP is opened.
 */
static void
test_ppp_protocols(void **state)
{
	uint8_t pptp[14] = { 0x30, 0x01, 0x88, 0x0b, 0, 0, 0, 1, 0, 0, 0, 9,
		0x00, 0x31 };
	static const uint8_t lbl[4] = { 0, 0, 0x11, 64 };
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	relay4(&t, 47, 0, 0);
	tf_bytes(&t, pptp, sizeof(pptp));
	tf_bytes(&t, (const uint8_t[]){ 0x00, 0x01 }, 2);
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_PROTO, 0, 0);

	pptp[13] = 0x81, pptp[12] = 0x02;
	relay4(&t, 47, 0, 0);
	tf_bytes(&t, pptp, sizeof(pptp));
	tf_bytes(&t, lbl, sizeof(lbl));
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_MPLS);

	/* Link control and MPPE stay opaque. */
	pptp[12] = 0xc0, pptp[13] = 0x21;
	relay4(&t, 47, 0, 0);
	tf_bytes(&t, pptp, sizeof(pptp));
	tf_bytes(&t, lbl, sizeof(lbl));
	tf_fix(&t);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	assert_true(m.opaque);
}

/*
 * L2TP: version 2 data (PPP) on UDP 1701 either way is opened; version
 * 3 data (on UDP, or IP protocol 115) is not inspected; control
 * messages pass as what they are.
 */
static void
test_l2tp(void **state)
{
	static const uint8_t v2[14] = { 0x4a, 0x02, 0, 0, 0, 1, 0, 2, 0, 3, 0,
		4, 0, 0 };
	static const uint8_t ppp[4] = { 0xff, 0x03, 0x00, 0x21 };
	static const uint8_t v3[12] = { 0, 3, 0, 0, 0, 0, 0, 5 };
	struct tun_frame t;
	struct pkt_meta m;

	(void)state;
	for (unsigned dir = 0; dir < 2; dir++) {
		relay4(&t, 17, dir ? 1701 : 50000, dir ? 50000 : 1701);
		tf_bytes(&t, v2, sizeof(v2));
		tf_bytes(&t, ppp, sizeof(ppp));
		inner(&t, 4);
		tf_done(&t);
		pkt_fr_put16(t.f.b + t.off[1] + 8 + 2,
		    (uint16_t)(t.f.len - t.off[1] - 8));
		check(&t, 0, 4, PKT_TUN_L2TP);
	}
	/* Offset padding skipped; no address and control, IPv6. */
	relay4(&t, 17, 50000, 1701);
	tf_bytes(&t,
	    (const uint8_t[]){ 0x02, 0x02, 0, 1, 0, 2, 0, 2, 0xee, 0xee, 0x00,
	        0x57 },
	    12);
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_L2TP);

	relay4(&t, 17, 50000, 1701);
	tf_bytes(&t, v3, sizeof(v3));
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_PROTO, 0, 0);
	relay4(&t, 115, 0, 0);
	tf_bytes(&t, v3 + 4, 8);
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_PROTO, 0, 0);
	relay4(&t, 115, 0, 0);
	tf_bytes(&t, (const uint8_t[]){ 0, 0, 0, 0, 0xc8, 0x03 }, 6);
	tf_fix(&t);
	assert_int_equal(parse_exact(t.f.b, t.f.len, &pkt_tun_default, &m), 0);
	/* Version 1 (L2F) or garbage on 1701 is refused. */
	relay4(&t, 17, 50000, 1701);
	tf_bytes(&t, (const uint8_t[]){ 0, 1, 0, 0 }, 4);
	tf_fix(&t);
	check(&t, CDN_R_TUN_L2TP, 0, 0);
}

/* GUE variants 1 (bare IP) and 0 (a header naming the protocol). */
static void
test_gue(void **state)
{
	static const uint8_t g0[8] = { 0x01, 41, 0, 0, 0, 0, 0, 0 };
	struct tun_frame t;

	(void)state;
	relay4(&t, 17, 50000, 6080);
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GUE);
	relay4(&t, 17, 50000, 6080);
	tf_bytes(&t, g0, sizeof(g0));
	inner(&t, 6);
	tf_done(&t);
	check(&t, 0, 6, PKT_TUN_GUE);
	/* A bare TCP header would borrow the outer addresses. */
	relay4(&t, 17, 50000, 6080);
	tf_bytes(&t, (const uint8_t[]){ 0, 6, 0, 0 }, 4);
	tf_done(&t);
	check(&t, CDN_R_TUN_PROTO, 0, 0);
}

/* GTP-U: a G-PDU behind sequence and an extension header is opened. */
static void
test_gtp(void **state)
{
	static const uint8_t g[16] = { 0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0,
		0x85, 1, 0x10, 0x05, 0 };
	struct tun_frame t;

	(void)state;
	relay4(&t, 17, 50000, 2152);
	tf_bytes(&t, g, sizeof(g));
	inner(&t, 4);
	tf_done(&t);
	check(&t, 0, 4, PKT_TUN_GTP);
	/* An extension header of length 0 never ends. */
	t.f.b[t.off[1] + 8 + 12] = 0;
	check(&t, CDN_R_TUN_GTP, 0, 0);
}

/*
 * A source port is the sender's to choose: GENEVE to 6081 from 3544,
 * whose flags and protocol read as a Teredo authentication header, with
 * a harmless IPv6 header in the inner frame's trailer where that header
 * would end.  Its receiver decapsulates GENEVE: the inner IPv4 source
 * is the one to judge, not the trailer's.
 */
static void
test_sport_does_not_pick(void **state)
{
	static const uint8_t gn[8] = { 0x00, 0x01, 0x65, 0x58, 0, 0, 1, 0 };
	uint8_t fake[40] = { 0x60, 0, 0, 0, 0, 0, 59, 64, 0x26, 0x01 };
	struct tun_frame t;
	uint32_t udp;

	(void)state;
	relay4(&t, 17, 3544, 6081);
	udp = t.f.len;
	tf_bytes(&t, gn, sizeof(gn));
	tf_eth(&t, 0x0800);
	inner(&t, 4);
	tf_done(&t);
	memset(t.f.b + t.f.len, 0, 202 - (t.f.len - udp));
	t.f.len = udp + 202;
	tf_bytes(&t, fake, sizeof(fake));
	pkt_fr_put16(t.f.b + t.off[0] + 2, (uint16_t)(t.f.len - t.off[0]));
	pkt_fr_put16(t.f.b + t.off[1] + 4, (uint16_t)(t.f.len - t.off[1]));
	check(&t, 0, 4, PKT_TUN_GENEVE);
}

/*
 * An Ethernet pseudowire frame without control word whose destination
 * MAC begins with 4: read as IPv4, it is a harmless packet from
 * 8.0.69.0 (the ethertype and the real header's first bytes); the PE
 * behind the label bridges the frame and its CN ssh SYN.  Read both
 * ways: not inspected.
 */
static void
test_mpls_pw_disguise(void **state)
{
	static const uint8_t lbl[4] = { 0, 0, 0x11, 64 };
	static const uint8_t mac[12] = { 0x46, 0, 0, 0x30, 0, 0, 0, 0, 0, 0xfd,
		0, 0 };
	struct tun_frame t;

	(void)state;
	for (unsigned vlan = 0; vlan < 2; vlan++) {
		gre(&t, 0, 0x8847);
		tf_bytes(&t, lbl, sizeof(lbl));
		tf_bytes(&t, mac, sizeof(mac));
		if (vlan)
			tf_bytes(&t, (const uint8_t[]){ 0x81, 0, 0, 5 }, 4);
		tf_bytes(&t, (const uint8_t[]){ 0x08, 0 }, 2);
		inner(&t, 4);
		tf_done(&t);
		check(&t, CDN_R_TUN_PROTO, 0, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_in_ip),
		cmocka_unit_test(test_srv6),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_mpls_eth),
		cmocka_unit_test(test_etherip_mplsip),
		cmocka_unit_test(test_vxlan_geneve),
		cmocka_unit_test(test_teredo),
		cmocka_unit_test(test_depth_and_fragments),
		cmocka_unit_test(test_opaque),
		cmocka_unit_test(test_pptp_and_udp_carriers),
		cmocka_unit_test(test_ppp_protocols),
		cmocka_unit_test(test_l2tp),
		cmocka_unit_test(test_gue),
		cmocka_unit_test(test_gtp),
		cmocka_unit_test(test_sport_does_not_pick),
		cmocka_unit_test(test_mpls_pw_disguise),
		cmocka_unit_test(test_cls_inner_session),
		cmocka_unit_test(test_cls_explain_sets),
		cmocka_unit_test(test_cls_knock_in_tunnel),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
