/*
 * pkt_parse(): every header shape we accept, every malformation we name,
 * and every truncation of valid frames (run under ASan to prove the
 * parser never reads past the end).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/pkt/pkt_parse.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"

static const uint16_t tp_dot1q[] = { 0x8100 };
static const uint16_t tp_qinq[] = { 0x88a8, 0x8100 };
static const uint16_t tp_qinq_old[] = { 0x9100, 0x8100 };
static const uint16_t tp_triple[] = { 0x88a8, 0x8100, 0x8100 };

/* Parses a heap copy of exactly LEN bytes so ASan sees any overread. */
static int
parse_exact(const uint8_t *b, uint32_t len, struct pkt_meta *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, b, len);
	rc = pkt_parse(copy, len, m);
	free(copy);
	return rc;
}

static int
parse_frame(const struct pkt_frame *f, struct pkt_meta *m)
{
	return parse_exact(f->b, f->len, m);
}

static void
mk_v4_tcp(struct pkt_frame *f, const uint16_t *tp, int ntags, unsigned opt)
{
	pkt_fr_eth(f, tp, ntags, 0x0800);
	pkt_fr_ip4(f, 6, opt, 0);
	pkt_fr_tcp(f, 40000, 22, 1000, 0, 0x02, 0);
	pkt_fr_done(f);
}

/* 2001:db8::1 -> ::2, HBH, routing, dest-opts, fragment (first), UDP. */
static void
mk_v6_chain(struct pkt_frame *f, const uint16_t *tp, int ntags)
{
	pkt_fr_eth(f, tp, ntags, 0x86dd);
	pkt_fr_ip6(f, 0);
	pkt_fr_ext(f, 0, 43, 8);
	pkt_fr_ext(f, 43, 60, 24);
	pkt_fr_ext(f, 60, 44, 16);
	pkt_fr_frag6(f, 17, 0, 1);
	pkt_fr_udp(f, 5353, 161, 12);
	pkt_fr_done(f);
}

static void
test_v4_tcp(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v4_tcp(&f, NULL, 0, 0);
	assert_int_equal(parse_frame(&f, &m), CDN_R_NONE);
	assert_int_equal(m.af, 4);
	assert_int_equal(m.ethertype, 0x0800);
	assert_int_equal(m.nvlan, 0);
	assert_int_equal(m.l3_off, 14);
	assert_int_equal(m.l4_off, 34);
	assert_int_equal(m.l3_len, 40);
	assert_int_equal(m.l4proto, 6);
	assert_int_equal(m.frag, PKT_FRAG_NONE);
	assert_true(m.has_l4);
	assert_int_equal(m.sport, 40000);
	assert_int_equal(m.dport, 22);
	assert_int_equal(m.tcp_flags, 0x02);
	assert_int_equal(m.src4, PKT_FR_IP4_SRC);
	assert_int_equal(m.dst4, PKT_FR_IP4_DST);
}

static void
test_v4_udp_icmp(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 17, 0, 0);
	pkt_fr_udp(&f, 5000, 161, 20);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 17);
	assert_true(m.has_l4);
	assert_int_equal(m.sport, 5000);
	assert_int_equal(m.dport, 161);

	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 1, 0, 0);
	pkt_fr_icmp(&f, 8, 0, 16);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 1);
	assert_true(m.has_l4);
	assert_int_equal(m.sport, 8 << 8);
	assert_int_equal(m.dport, 0);

	f.b[f.l4] = 3;
	f.b[f.l4 + 1] = 13;
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.sport, 3 << 8 | 13);
}

static void
test_v4_options_and_padding(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	for (unsigned opt = 1; opt <= 10; opt++) {
		mk_v4_tcp(&f, NULL, 0, opt);
		assert_int_equal(parse_frame(&f, &m), 0);
		assert_int_equal(m.l4_off, 34 + 4 * opt);
		assert_int_equal(m.dport, 22);
	}
	/* A 40-byte packet padded to the 60-byte Ethernet minimum. */
	mk_v4_tcp(&f, NULL, 0, 0);
	f.len = 60;
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l3_len, 40);
	assert_int_equal(m.dport, 22);
}

/* IPv4 TCP SYN to 22 behind N AH headers of 24 bytes; FRAG as in IPv4. */
static void
mk_v4_ah(struct pkt_frame *f, unsigned n, uint16_t frag)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, n ? 51 : 6, 0, frag);
	for (unsigned i = 0; i < n; i++)
		pkt_fr_ext(f, 51, i + 1 < n ? 51 : 6, 24);
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
	pkt_fr_done(f);
}

/*
 * Regression (issue 10): an IPv4 AH header was taken for the L4
 * protocol, so a TCP SYN to 22 behind it was judged as "protocol 51"
 * and passed the identity gate.  It is walked as in IPv6.
 */
static void
test_v4_ah(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v4_ah(&f, 1, 0);
	assert_int_equal(f.b[14 + 20 + 1], 4);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 6);
	assert_true(m.has_l4);
	assert_int_equal(m.dport, 22);
	assert_int_equal(m.l4_off, 14 + 20 + 24);
	mk_v4_ah(&f, PKT_IP6_EXT_MAX, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.dport, 22);
	mk_v4_ah(&f, PKT_IP6_EXT_MAX + 1, 0);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_AH);

	/* An AH longer than the packet, or shorter than 8 bytes. */
	mk_v4_ah(&f, 1, 0);
	f.b[14 + 20 + 1] = 10;
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_AH);
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 51, 0, 0);
	pkt_fr_data(&f, 7);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_AH);

	/* AH then ESP: opaque, no ports. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 51, 0, 0);
	pkt_fr_ext(&f, 51, 50, 12);
	pkt_fr_data(&f, 16);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 50);
	assert_false(m.has_l4);

	/* A first fragment is walked; a later one only says "AH". */
	mk_v4_ah(&f, 1, 0x2000);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_int_equal(m.dport, 22);
	mk_v4_ah(&f, 1, 0x2000 | 100);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_LATER);
	assert_int_equal(m.l4proto, 51);
	assert_false(m.has_l4);
	/* A first fragment that ends inside its AH. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 51, 0, 0x2000);
	pkt_fr_ext(&f, 51, 6, 24);
	f.len -= 8;
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_AH);
}

/* IPv4 SYN with the option bytes OPT (padded with EOL to 4n bytes). */
static void
mk_v4_opts(struct pkt_frame *f, const uint8_t *opt, unsigned n)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, 6, (n + 3) / 4, 0);
	memset(f->b + f->l3 + 20, 0, (n + 3) / 4 * 4);
	memcpy(f->b + f->l3 + 20, opt, n);
	pkt_fr_tcp(f, 40000, 22, 1, 0, 0x02, 0);
	pkt_fr_done(f);
}

/*
 * Regression (issue 10): IPv4 options were skipped unread, so loose and
 * strict source routes passed unnoticed.  The list is walked with
 * bounds checks; source routes mark the packet.
 */
static void
test_v4_option_walk(void **state)
{
	static const struct {
		uint8_t b[12];
		unsigned n;
		int rc, srcroute;
	} t[] = {
		{ { 131, 7, 4, 192, 0, 2, 9 }, 7, 0, 1 },    /* LSRR */
		{ { 1, 137, 7, 4, 192, 0, 2, 9 }, 8, 0, 1 }, /* SSRR */
		{ { 149, 6, 192, 0, 2, 255 }, 6, 0, 1 },     /* SDB */
		{ { 7, 7, 4, 0, 0, 0, 0 }, 7, 0, 0 },        /* RR */
		{ { 68, 8, 5, 0, 0, 0, 0, 0 }, 8, 0, 0 },    /* TS */
		{ { 148, 4, 0, 0 }, 4, 0, 0 },               /* RA */
		/* After EOL only padding: not read. */
		{ { 0, 131, 0, 0 }, 4, 0, 0 },
		{ { 1, 1, 1, 1 }, 4, 0, 0 },
		{ { 131, 1, 0, 0 }, 4, CDN_R_IP4_OPTS, 0 }, /* length 1 */
		{ { 7, 0, 0, 0 }, 4, CDN_R_IP4_OPTS, 0 },   /* length 0 */
		{ { 7, 9, 4, 0, 0, 0, 0, 0 }, 8, CDN_R_IP4_OPTS, 0 },
		{ { 1, 1, 1, 131 }, 4, CDN_R_IP4_OPTS, 0 }, /* no length */
		{ { 1, 1, 68, 12, 5, 0, 0, 0 }, 8, CDN_R_IP4_OPTS, 0 },
	};
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		mk_v4_opts(&f, t[i].b, t[i].n);
		assert_int_equal(parse_frame(&f, &m), t[i].rc);
		if (t[i].rc == 0) {
			assert_int_equal(m.srcroute, t[i].srcroute);
			assert_int_equal(m.dport, 22);
		}
	}
	mk_v4_tcp(&f, NULL, 0, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_false(m.srcroute);
}

static void
test_other_l4(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	/* OSPF: not parsed, not an error (GRE is a tunnel: test_pkt_tun). */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 89, 0, 0);
	pkt_fr_data(&f, 2);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 89);
	assert_false(m.has_l4);

	/* ICMPv6's number under IPv4 is not ICMP. */
	f.b[f.l3 + 9] = 58;
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_false(m.has_l4);

	/* Nor ICMPv4's under IPv6. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 1);
	pkt_fr_data(&f, 2);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 1);
	assert_false(m.has_l4);
}

static void
test_vlan(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v4_tcp(&f, tp_dot1q, 1, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.nvlan, 1);
	assert_int_equal(m.vlan[0], 100);
	assert_int_equal(m.l3_off, 18);
	assert_int_equal(m.ethertype, 0x0800);
	assert_int_equal(m.dport, 22);

	mk_v4_tcp(&f, tp_qinq, 2, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.nvlan, 2);
	assert_int_equal(m.vlan[0], 100);
	assert_int_equal(m.vlan[1], 101);
	assert_int_equal(m.l3_off, 22);
	assert_int_equal(m.l4_off, 42);

	mk_v4_tcp(&f, tp_qinq_old, 2, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.nvlan, 2);

	mk_v6_chain(&f, tp_qinq, 2);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.af, 6);
	assert_int_equal(m.nvlan, 2);

	mk_v4_tcp(&f, tp_triple, 3, 0);
	assert_int_equal(parse_frame(&f, &m), CDN_R_VLAN_DEPTH);

	/* Tag header cut short. */
	assert_int_equal(parse_exact(f.b, 16, &m), CDN_R_VLAN_TRUNC);
}

static void
test_v6_chain(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v6_chain(&f, NULL, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.af, 6);
	assert_int_equal(m.ethertype, 0x86dd);
	assert_int_equal(m.l3_off, 14);
	assert_int_equal(m.l4_off, 14 + 40 + 8 + 24 + 16 + 8);
	assert_int_equal(m.l3_len, f.len - 14);
	assert_int_equal(m.l4proto, 17);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_true(m.has_l4);
	assert_int_equal(m.sport, 5353);
	assert_int_equal(m.dport, 161);
	assert_memory_equal(m.src6, pkt_fr_ip6_src, 16);
	assert_memory_equal(m.dst6, pkt_fr_ip6_dst, 16);
}

static void
test_v6_ah_mobility(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	/* AH counts in 4-octet units: a 24-byte AH says 4. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 51);
	pkt_fr_ext(&f, 51, 135, 24);
	pkt_fr_ext(&f, 135, 6, 16);
	pkt_fr_tcp(&f, 1, 443, 7, 8, 0x10, 0);
	pkt_fr_done(&f);
	assert_int_equal(f.b[14 + 40 + 1], 4);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4_off, 14 + 40 + 24 + 16);
	assert_int_equal(m.l4proto, 6);
	assert_int_equal(m.dport, 443);
	assert_int_equal(m.frag, PKT_FRAG_NONE);
}

/*
 * Regression (issue 10): a routing header of any type (0, 2, 3, 4), with
 * segments left or not, marks the packet source-routed; the walk goes
 * on to the L4 header.
 */
static void
test_v6_routing(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	for (uint8_t type = 0; type <= 4; type++) {
		pkt_fr_eth(&f, NULL, 0, 0x86dd);
		pkt_fr_ip6(&f, 0);
		pkt_fr_ext(&f, 0, 43, 8);
		pkt_fr_ext(&f, 43, 6, 24);
		f.b[14 + 40 + 8 + 2] = type;
		f.b[14 + 40 + 8 + 3] = type & 1; /* segments left */
		pkt_fr_tcp(&f, 1, 22, 1, 0, 0x02, 0);
		pkt_fr_done(&f);
		assert_int_equal(parse_frame(&f, &m), 0);
		assert_true(m.srcroute);
		assert_int_equal(m.dport, 22);
	}
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 60);
	pkt_fr_ext(&f, 60, 6, 8);
	pkt_fr_tcp(&f, 1, 22, 1, 0, 0x02, 0);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_false(m.srcroute);
}

static void
test_v6_esp_nonext(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 60);
	pkt_fr_ext(&f, 60, 50, 8);
	pkt_fr_data(&f, 3); /* ESP is opaque: no minimum */
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 50);
	assert_false(m.has_l4);
	assert_int_equal(m.sport, 0);

	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 59);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.l4proto, 59);
	assert_false(m.has_l4);
}

static void
mk_v6_dstopts(struct pkt_frame *f, unsigned n)
{
	pkt_fr_eth(f, NULL, 0, 0x86dd);
	pkt_fr_ip6(f, 60);
	for (unsigned i = 0; i < n; i++)
		pkt_fr_ext(f, 60, i + 1 < n ? 60 : 6, 8);
	pkt_fr_tcp(f, 1, 22, 1, 0, 0x02, 0);
	pkt_fr_done(f);
}

static void
test_v6_chain_limits(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v6_dstopts(&f, PKT_IP6_EXT_MAX);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.dport, 22);

	mk_v6_dstopts(&f, PKT_IP6_EXT_MAX + 1);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP6_EXT_CHAIN);

	/* Extension header longer than the payload length says. */
	mk_v6_dstopts(&f, 1);
	f.b[f.l3 + 40 + 1] = 200;
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP6_EXT_TRUNC);

	/* Payload ends inside the fixed part of an extension header. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 0);
	pkt_fr_data(&f, 4);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP6_EXT_TRUNC);
}

static void
test_v6_bad(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v6_chain(&f, NULL, 0);
	assert_int_equal(parse_exact(f.b, 14 + 39, &m), CDN_R_IP6_TRUNC);

	f.b[14] = 0x40;
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP6_VERSION);

	mk_v6_chain(&f, NULL, 0);
	pkt_fr_put16(f.b + 14 + 4, (uint16_t)(f.len - 14 - 40 + 1));
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP6_LEN);

	/* Upper-layer checks apply within the payload length, not frame. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 6);
	pkt_fr_tcp(&f, 1, 22, 1, 0, 0x02, 0);
	pkt_fr_done(&f);
	pkt_fr_put16(f.b + 14 + 4, 19);
	assert_int_equal(parse_frame(&f, &m), CDN_R_TCP_TRUNC);
}

static void
test_v4_bad_header(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v4_tcp(&f, NULL, 0, 0);
	f.b[14] = 0x65;
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_VERSION);

	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		f.b[14] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_IHL);
	}

	/* IHL 15 (60 bytes) with only 40 bytes of IP. */
	f.b[14] = 0x4f;
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_TRUNC);

	/* IHL 8 fits the buffer but exceeds the total length 24. */
	mk_v4_tcp(&f, NULL, 0, 0);
	f.b[14] = 0x48;
	pkt_fr_put16(f.b + 16, 24);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_LEN);

	mk_v4_tcp(&f, NULL, 0, 0);
	pkt_fr_put16(f.b + 16, 19);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_LEN);
	pkt_fr_put16(f.b + 16, 41);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_LEN);
	pkt_fr_put16(f.b + 16, 0xffff);
	assert_int_equal(parse_frame(&f, &m), CDN_R_IP4_LEN);

	assert_int_equal(parse_exact(f.b, 14 + 19, &m), CDN_R_IP4_TRUNC);
}

static void
test_tcp_bad(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	mk_v4_tcp(&f, NULL, 0, 0);
	for (uint8_t doff = 0; doff < 5; doff++) {
		f.b[34 + 12] = (uint8_t)(doff << 4);
		assert_int_equal(parse_frame(&f, &m), CDN_R_TCP_DOFF);
	}
	f.b[34 + 12] = 6 << 4; /* 24 bytes, only 20 in the packet */
	assert_int_equal(parse_frame(&f, &m), CDN_R_TCP_DOFF);

	/* The frame has the bytes, the IP packet does not: padding. */
	f.len = 60;
	assert_int_equal(parse_frame(&f, &m), CDN_R_TCP_DOFF);

	/* 19 bytes of TCP. */
	mk_v4_tcp(&f, NULL, 0, 0);
	pkt_fr_put16(f.b + 16, 39);
	assert_int_equal(parse_frame(&f, &m), CDN_R_TCP_TRUNC);
}

static void
test_udp_icmp_bad(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 17, 0, 0);
	pkt_fr_udp(&f, 1, 2, 4);
	pkt_fr_done(&f);
	pkt_fr_put16(f.b + f.l4 + 4, 7);
	assert_int_equal(parse_frame(&f, &m), CDN_R_UDP_LEN);
	pkt_fr_put16(f.b + f.l4 + 4, 13);
	assert_int_equal(parse_frame(&f, &m), CDN_R_UDP_LEN);
	pkt_fr_put16(f.b + f.l4 + 4, 0);
	assert_int_equal(parse_frame(&f, &m), CDN_R_UDP_LEN);
	/* Shorter than the payload is legal: trailing bytes are ignored. */
	pkt_fr_put16(f.b + f.l4 + 4, 8);
	assert_int_equal(parse_frame(&f, &m), 0);

	pkt_fr_put16(f.b + 16, 20 + 7);
	assert_int_equal(parse_frame(&f, &m), CDN_R_UDP_TRUNC);

	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 1, 0, 0);
	pkt_fr_data(&f, 3);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_ICMP_TRUNC);

	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 58);
	pkt_fr_data(&f, 3);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_ICMP_TRUNC);
	pkt_fr_data(&f, 1);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_true(m.has_l4);
}

static void
test_non_ip(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0806);
	pkt_fr_data(&f, 28);
	assert_int_equal(parse_frame(&f, &m), CDN_R_NON_IP);
	assert_int_equal(m.ethertype, 0x0806);
	assert_int_equal(m.af, 0);

	pkt_fr_eth(&f, tp_dot1q, 1, 0x0806);
	pkt_fr_data(&f, 28);
	assert_int_equal(parse_frame(&f, &m), CDN_R_NON_IP);
	assert_int_equal(m.ethertype, 0x0806);
	assert_int_equal(m.nvlan, 1);
	assert_int_equal(m.af, 0);

	assert_int_equal(parse_exact(f.b, 13, &m), CDN_R_ETH_TRUNC);
	assert_int_equal(parse_exact(f.b, 0, &m), CDN_R_ETH_TRUNC);
}

static void
test_v4_fragments(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 17, 0, 0x2000); /* MF, offset 0 */
	pkt_fr_udp(&f, 53, 53, 100);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_true(m.has_l4);
	assert_int_equal(m.dport, 53);

	/*
	 * Regression: a first fragment's UDP length is the whole datagram's,
	 * longer than the fragment; only an unfragmented datagram is held
	 * to its IP payload.
	 */
	pkt_fr_put16(f.b + 38, 1480);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_int_equal(m.dport, 53);
	pkt_fr_put16(f.b + 20, 0);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), CDN_R_UDP_LEN);
	pkt_fr_put16(f.b + 38, 108);
	pkt_fr_put16(f.b + 20, 0x2000);
	pkt_fr_done(&f);

	/* DF alone is not a fragment. */
	pkt_fr_put16(f.b + 20, 0x4000);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_NONE);

	/* Later fragments carry no L4 header, whatever their bytes say. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 6, 0, 0x2000 | 185);
	pkt_fr_data(&f, 3);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_LATER);
	assert_int_equal(m.l4proto, 6);
	assert_false(m.has_l4);
	assert_int_equal(m.sport, 0);

	/* The last fragment: offset set, MF clear. */
	pkt_fr_put16(f.b + 20, 185);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_LATER);
}

static void
test_v6_fragments(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 44);
	pkt_fr_frag6(&f, 6, 0, 1);
	pkt_fr_tcp(&f, 1, 22, 5, 0, 0x02, 0);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_true(m.has_l4);
	assert_int_equal(m.dport, 22);

	/* Atomic fragment (RFC 6946): offset 0, M clear. */
	pkt_fr_put16(f.b + 14 + 40 + 2, 0);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_NONE);
	assert_true(m.has_l4);

	/* Later fragment behind a dest-opts header; junk after it. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 60);
	pkt_fr_ext(&f, 60, 44, 8);
	pkt_fr_frag6(&f, 6, 100, 0);
	pkt_fr_data(&f, 5);
	pkt_fr_done(&f);
	assert_int_equal(parse_frame(&f, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_LATER);
	assert_int_equal(m.l4proto, 6);
	assert_false(m.has_l4);
	assert_int_equal(m.l4_off, 14 + 40 + 8 + 8);
}

/*
 * Every prefix of a valid frame either fails with a parser reason or
 * (only if the frame has bytes beyond the IP packet) parses.
 */
static void
check_truncations(const struct pkt_frame *f)
{
	struct pkt_meta m, full;
	uint32_t n;
	int rc;

	assert_int_equal(parse_frame(f, &full), 0);
	for (n = 0; n < f->len; n++) {
		rc = parse_exact(f->b, n, &m);
		if (n < (uint32_t)full.l3_off + full.l3_len) {
			assert_int_not_equal(rc, 0);
			assert_true(rc < CDN_R_FIRST_POLICY);
		} else {
			assert_int_equal(rc, 0);
		}
	}
}

static void
test_truncation(void **state)
{
	struct pkt_frame f;

	(void)state;
	mk_v4_tcp(&f, tp_qinq, 2, 3);
	check_truncations(&f);
	mk_v4_tcp(&f, tp_dot1q, 1, 0);
	f.len = 64;
	check_truncations(&f);
	mk_v6_chain(&f, tp_qinq_old, 2);
	check_truncations(&f);
	mk_v6_dstopts(&f, PKT_IP6_EXT_MAX);
	check_truncations(&f);

	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 1, 0, 0);
	pkt_fr_icmp(&f, 8, 0, 4);
	pkt_fr_done(&f);
	check_truncations(&f);

	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 51);
	pkt_fr_ext(&f, 51, 17, 12);
	pkt_fr_udp(&f, 1, 2, 0);
	pkt_fr_done(&f);
	check_truncations(&f);

	mk_v4_ah(&f, 2, 0);
	check_truncations(&f);
	mk_v4_opts(&f, (const uint8_t[]){ 1, 131, 7, 4, 192, 0, 2, 9 }, 8);
	check_truncations(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_tcp),
		cmocka_unit_test(test_v4_udp_icmp),
		cmocka_unit_test(test_v4_options_and_padding),
		cmocka_unit_test(test_v4_ah),
		cmocka_unit_test(test_v4_option_walk),
		cmocka_unit_test(test_other_l4),
		cmocka_unit_test(test_vlan),
		cmocka_unit_test(test_v6_chain),
		cmocka_unit_test(test_v6_ah_mobility),
		cmocka_unit_test(test_v6_routing),
		cmocka_unit_test(test_v6_esp_nonext),
		cmocka_unit_test(test_v6_chain_limits),
		cmocka_unit_test(test_v6_bad),
		cmocka_unit_test(test_v4_bad_header),
		cmocka_unit_test(test_tcp_bad),
		cmocka_unit_test(test_udp_icmp_bad),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_v4_fragments),
		cmocka_unit_test(test_v6_fragments),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
