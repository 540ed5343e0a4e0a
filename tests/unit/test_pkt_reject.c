/*
 * pkt_reject_build(): every reply is parsed back with pkt_parse(), its
 * checksums recomputed here independently, its addresses checked to be
 * the original ones swapped, and the no-reply cases return -1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/pkt/pkt_parse.h"
#include "core/pkt/pkt_reject.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"

static const uint16_t tp_qinq[] = { 0x88a8, 0x8100 };

struct reply {
	struct pkt_meta in;  /* the offending frame */
	struct pkt_meta out; /* the reply, parsed back */
	uint8_t b[PKT_REJECT_MAX];
	int len;
};

static int
reject(const struct pkt_frame *f, struct reply *r, uint32_t outmax)
{
	assert_true(outmax <= sizeof(r->b));
	assert_int_equal(pkt_parse(f->b, f->len, &r->in), 0);
	memset(r->b, 0xee, sizeof(r->b));
	r->len = pkt_reject_build(f->b, f->len, &r->in, r->b, outmax);
	if (r->len > 0)
		assert_int_equal(pkt_parse(r->b, (uint32_t)r->len, &r->out), 0);
	return r->len;
}

/* L4 checksum over the pseudo-header, recomputed from the reply bytes. */
static uint16_t
l4_sum(const struct reply *r, uint8_t proto)
{
	const uint8_t *ip = r->b + r->out.l3_off;
	uint32_t n = (uint32_t)r->out.l3_off + r->out.l3_len - r->out.l4_off;
	uint32_t sum;

	if (proto == 1) /* ICMPv4 has no pseudo-header */
		sum = 0;
	else if (r->out.af == 4)
		sum = pkt_fr_sum(proto + n, ip + 12, 8);
	else
		sum = pkt_fr_sum(proto + n, ip + 8, 32);
	return (uint16_t)pkt_fr_sum(sum, r->b + r->out.l4_off, n);
}

/* The common shape: L2 swapped, L3 swapped, checksums valid. */
static void
check_reply(const struct pkt_frame *f, const struct reply *r, uint8_t proto)
{
	const uint8_t *ip = r->b + r->out.l3_off;

	assert_int_equal(r->len, r->out.l3_off + r->out.l3_len);
	assert_memory_equal(r->b, f->b + 6, 6);
	assert_memory_equal(r->b + 6, f->b, 6);
	assert_int_equal(r->out.nvlan, r->in.nvlan);
	assert_memory_equal(r->b + 12, f->b + 12, r->in.l3_off - 12u);
	assert_int_equal(r->out.af, r->in.af);
	assert_int_equal(r->out.l4proto, proto);
	assert_true(r->out.has_l4);
	if (r->in.af == 4) {
		assert_int_equal(r->out.src4, r->in.dst4);
		assert_int_equal(r->out.dst4, r->in.src4);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(pkt_fr_sum(0, ip, 20), 0xffff);
	} else {
		assert_memory_equal(r->out.src6, r->in.dst6, 16);
		assert_memory_equal(r->out.dst6, r->in.src6, 16);
	}
	assert_int_equal(l4_sum(r, proto), 0xffff);
}

static void
mk_tcp(struct pkt_frame *f, int v6, uint32_t seq, uint32_t ack, uint8_t flags,
    unsigned datalen)
{
	pkt_fr_eth(f, NULL, 0, v6 ? 0x86dd : 0x0800);
	if (v6)
		pkt_fr_ip6(f, 6);
	else
		pkt_fr_ip4(f, 6, 0, 0);
	pkt_fr_tcp(f, 40000, 22, seq, ack, flags, datalen);
	pkt_fr_done(f);
}

static void
check_rst(const struct reply *r, uint32_t seq, uint32_t ack, uint8_t flags)
{
	const uint8_t *th = r->b + r->out.l4_off;

	assert_int_equal(r->out.sport, r->in.dport);
	assert_int_equal(r->out.dport, r->in.sport);
	assert_int_equal(r->out.tcp_flags, flags);
	assert_int_equal(pkt_fr_get32(th + 4), seq);
	assert_int_equal(pkt_fr_get32(th + 8), ack);
	assert_int_equal(th[12], 5 << 4);
}

static void
test_rst_syn(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	mk_tcp(&f, 0, 1000, 0, 0x02, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 20 + 20);
	check_reply(&f, &r, 6);
	check_rst(&r, 0, 1001, 0x14);

	mk_tcp(&f, 1, 1000, 0, 0x02, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 40 + 20);
	check_reply(&f, &r, 6);
	check_rst(&r, 0, 1001, 0x14);
}

static void
test_rst_seq_rules(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	/* ACK set: the RST takes its sequence number from SEG.ACK. */
	mk_tcp(&f, 0, 5, 777, 0x18, 10);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_reply(&f, &r, 6);
	check_rst(&r, 777, 0, 0x04);

	/* No ACK: ack = SEG.SEQ + data + SYN + FIN. */
	mk_tcp(&f, 0, 100, 0, 0x03, 10);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_rst(&r, 0, 112, 0x14);

	mk_tcp(&f, 1, 100, 0, 0x08, 33);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_reply(&f, &r, 6);
	check_rst(&r, 0, 133, 0x14);

	/* Sequence space wraps. */
	mk_tcp(&f, 0, 0xffffffffu, 0, 0x02, 0);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_rst(&r, 0, 0, 0x14);

	/* Padding after the IP packet is not payload. */
	mk_tcp(&f, 0, 100, 0, 0x02, 0);
	f.len = 60;
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_rst(&r, 0, 101, 0x14);
}

static void
test_rst_options_vlan_ext(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	/* IP options and TCP options are neither counted nor copied. */
	pkt_fr_eth(&f, tp_qinq, 2, 0x0800);
	pkt_fr_ip4(&f, 6, 2, 0);
	pkt_fr_tcp(&f, 40000, 22, 50, 0, 0x02, 8);
	f.b[f.l4 + 12] = 7 << 4; /* 8 of the data bytes are options */
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 22 + 20 + 20);
	check_reply(&f, &r, 6);
	assert_int_equal(r.out.nvlan, 2);
	assert_int_equal(r.out.vlan[0], 100);
	assert_int_equal(r.out.vlan[1], 101);
	check_rst(&r, 0, 51, 0x14);

	/* IPv6 extension headers are not echoed back. */
	pkt_fr_eth(&f, tp_qinq, 2, 0x86dd);
	pkt_fr_ip6(&f, 0);
	pkt_fr_ext(&f, 0, 60, 8);
	pkt_fr_ext(&f, 60, 6, 16);
	pkt_fr_tcp(&f, 40000, 22, 9, 0, 0x02, 0);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 22 + 40 + 20);
	check_reply(&f, &r, 6);
	assert_int_equal(r.b[22 + 6], 6);
	check_rst(&r, 0, 10, 0x14);
}

static void
test_rst_never(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	mk_tcp(&f, 0, 1, 2, 0x04, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_tcp(&f, 1, 1, 2, 0x14, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);

	/* Room for everything but the last byte. */
	mk_tcp(&f, 0, 1, 0, 0x02, 0);
	assert_int_equal(reject(&f, &r, 53), -1);
	assert_int_equal(reject(&f, &r, 54), 54);
}

static void
check_icmp4(const struct pkt_frame *f, const struct reply *r, unsigned quote)
{
	const uint8_t *ih = r->b + r->out.l4_off;

	check_reply(f, r, 1);
	assert_int_equal(r->out.sport, 3 << 8 | 13);
	assert_int_equal(r->out.l3_len, 20 + 8 + quote);
	assert_int_equal(pkt_fr_get32(ih + 4), 0);
	assert_memory_equal(ih + 8, f->b + f->l3, quote);
}

static void
test_icmp4(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	/* UDP with IP options: the whole header plus 8 bytes is quoted. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 17, 3, 0);
	pkt_fr_udp(&f, 5000, 161, 100);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 20 + 8 + 32 + 8);
	check_icmp4(&f, &r, 32 + 8);

	/* A packet shorter than header + 8 is quoted whole. */
	pkt_fr_eth(&f, tp_qinq, 2, 0x0800);
	pkt_fr_ip4(&f, 89, 0, 0);
	pkt_fr_data(&f, 3);
	pkt_fr_done(&f);
	f.len = 64;
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 22 + 20 + 8 + 23);
	check_icmp4(&f, &r, 23);

	/* Echo requests are answered; first fragments too. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 1, 0, 0x2000);
	pkt_fr_icmp(&f, 8, 0, 56);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 20 + 8 + 28);
	check_icmp4(&f, &r, 28);

	assert_int_equal(reject(&f, &r, 14 + 20 + 8 + 27), -1);
}

static void
check_icmp6(const struct pkt_frame *f, const struct reply *r, unsigned quote)
{
	const uint8_t *ih = r->b + r->out.l4_off;

	check_reply(f, r, 58);
	assert_int_equal(r->out.sport, 1 << 8 | 1);
	assert_int_equal(r->out.l3_len, 40 + 8 + quote);
	assert_int_equal(pkt_fr_get32(ih + 4), 0);
	assert_memory_equal(ih + 8, f->b + f->l3, quote);
}

static void
test_icmp6(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 60);
	pkt_fr_ext(&f, 60, 17, 8);
	pkt_fr_udp(&f, 5000, 161, 11);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 48 + 67);
	check_icmp6(&f, &r, 67);

	/* Large packet: the reply is exactly the 1280-byte minimum MTU. */
	pkt_fr_eth(&f, tp_qinq, 2, 0x86dd);
	pkt_fr_ip6(&f, 17);
	pkt_fr_udp(&f, 5000, 161, 1400);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 22 + 1280);
	check_icmp6(&f, &r, 1232);

	/* A smaller buffer cuts the quote, not the reply. */
	assert_int_equal(reject(&f, &r, 200), 200);
	check_icmp6(&f, &r, 200 - 22 - 48);
	assert_int_equal(reject(&f, &r, 22 + 47), -1);

	/* Informational ICMPv6 is answered. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 58);
	pkt_fr_icmp(&f, 128, 0, 8);
	pkt_fr_done(&f);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), 14 + 48 + 56);
	check_icmp6(&f, &r, 56);
}

static void
test_no_reply_icmp_errors(void **state)
{
	static const uint8_t v4err[] = { 3, 4, 5, 11, 12, 40, 255 };
	struct pkt_frame f;
	struct reply r;

	(void)state;
	for (unsigned i = 0; i < sizeof(v4err); i++) {
		pkt_fr_eth(&f, NULL, 0, 0x0800);
		pkt_fr_ip4(&f, 1, 0, 0);
		pkt_fr_icmp(&f, v4err[i], 0, 28);
		pkt_fr_done(&f);
		assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	}
	for (unsigned t = 0; t < 128; t++) {
		pkt_fr_eth(&f, NULL, 0, 0x86dd);
		pkt_fr_ip6(&f, 58);
		pkt_fr_icmp(&f, (uint8_t)t, 0, 48);
		pkt_fr_done(&f);
		assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	}
}

static void
mk_udp4(struct pkt_frame *f, uint32_t src, uint32_t dst, uint16_t frag)
{
	pkt_fr_eth(f, NULL, 0, 0x0800);
	pkt_fr_ip4(f, 17, 0, frag);
	pkt_fr_put32(f->b + f->l3 + 12, src);
	pkt_fr_put32(f->b + f->l3 + 16, dst);
	pkt_fr_udp(f, 1, 2, 4);
	pkt_fr_done(f);
}

static void
test_no_reply_groups(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	mk_udp4(&f, PKT_FR_IP4_SRC, PKT_FR_IP4_DST, 0);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	memset(f.b, 0xff, 6); /* Ethernet broadcast */
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_udp4(&f, PKT_FR_IP4_SRC, PKT_FR_IP4_DST, 0);
	f.b[0] = 0x01; /* Ethernet multicast */
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);

	mk_udp4(&f, PKT_FR_IP4_SRC, 0xffffffffu, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_udp4(&f, PKT_FR_IP4_SRC, 0xe0000005u, 0); /* 224.0.0.5 */
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_udp4(&f, 0, PKT_FR_IP4_DST, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_udp4(&f, 0xe0000001u, PKT_FR_IP4_DST, 0);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);

	mk_tcp(&f, 1, 1, 0, 0x02, 0);
	f.b[f.l3 + 24] = 0xff; /* ff02::2 */
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_tcp(&f, 1, 1, 0, 0x02, 0);
	memset(f.b + f.l3 + 8, 0, 16); /* from :: */
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
}

static void
test_no_reply_fragments(void **state)
{
	struct pkt_frame f;
	struct reply r;

	(void)state;
	mk_udp4(&f, PKT_FR_IP4_SRC, PKT_FR_IP4_DST, 0x2000);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_icmp4(&f, &r, 28);
	mk_udp4(&f, PKT_FR_IP4_SRC, PKT_FR_IP4_DST, 0x2000 | 10);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
	mk_udp4(&f, PKT_FR_IP4_SRC, PKT_FR_IP4_DST, 10);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);

	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 44);
	pkt_fr_frag6(&f, 6, 0, 1);
	pkt_fr_tcp(&f, 40000, 22, 1, 0, 0x02, 0);
	pkt_fr_done(&f);
	assert_true(reject(&f, &r, sizeof(r.b)) > 0);
	check_rst(&r, 0, 2, 0x14);

	pkt_fr_put16(f.b + f.l3 + 40 + 2, 100 << 3);
	assert_int_equal(reject(&f, &r, sizeof(r.b)), -1);
}

static void
test_no_reply_non_ip(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;
	uint8_t out[PKT_REJECT_MAX];

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0806);
	pkt_fr_data(&f, 46);
	assert_int_equal(pkt_parse(f.b, f.len, &m), CDN_R_NON_IP);
	assert_int_equal(pkt_reject_build(f.b, f.len, &m, out, sizeof(out)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rst_syn),
		cmocka_unit_test(test_rst_seq_rules),
		cmocka_unit_test(test_rst_options_vlan_ext),
		cmocka_unit_test(test_rst_never),
		cmocka_unit_test(test_icmp4),
		cmocka_unit_test(test_icmp6),
		cmocka_unit_test(test_no_reply_icmp_errors),
		cmocka_unit_test(test_no_reply_groups),
		cmocka_unit_test(test_no_reply_fragments),
		cmocka_unit_test(test_no_reply_non_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
