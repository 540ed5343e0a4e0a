/*
 * The fragment table (core/frag): later fragments follow their first
 * fragment's verdict; what cannot be tied to a first fragment, overlaps,
 * TCP at offset 8, too many holes, a full table and a timeout are
 * refused with their reasons, and never passed.  The attacks the parser
 * stops (tiny first fragments, an IPv6 first fragment without its whole
 * header chain) go through the real parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/frag/frag.h"
#include "core/stats/reasons.h"
#include "tests/unit/pkt_build.h"

#define TMO 1000 /* table timeout, in the test's clock */

static struct stats st;

/* A fragment of datagram ID from 192.0.2.1 (IPv4) or 2001:db8::1. */
static struct pkt_meta
fr(uint8_t af, uint8_t proto, uint32_t id, unsigned off, unsigned len, int more)
{
	struct pkt_meta m;

	memset(&m, 0, sizeof(m));
	m.af = af;
	m.l4proto = proto;
	m.frag = off ? PKT_FRAG_LATER : PKT_FRAG_FIRST;
	m.frag_id = id;
	m.frag_off = (uint16_t)off;
	m.frag_len = (uint16_t)len;
	m.frag_more = (uint8_t)more;
	m.src4 = 0xc0000201;
	m.dst4 = 0xc0000250;
	m.src6[0] = 0x20;
	m.src6[15] = 1;
	m.dst6[0] = 0x20;
	m.dst6[15] = 2;
	return m;
}

/* What the classifier gives: V for a first fragment, frag-no-first for
 * a later one. */
static struct cls_verdict
cls_like(const struct pkt_meta *m, unsigned action, uint16_t rule)
{
	struct cls_verdict v;

	memset(&v, 0, sizeof(v));
	v.service = POL_SVC_NONE;
	v.rule = POL_RULE_DEFAULT;
	if (m->frag == PKT_FRAG_LATER) {
		v.action = CDN_ACT_DROP;
		v.reason = CDN_R_FRAG_NO_FIRST;
		return v;
	}
	v.action = (uint8_t)action;
	v.reason = action == CDN_ACT_ALLOW ? CDN_R_NONE : CDN_R_RULE;
	v.rule = rule;
	v.log = 1;
	v.service = 1;
	return v;
}

/* Tracks M at NOW; returns its verdict.  The first fragment's is allow
 * by rule 2 unless ACTION says otherwise. */
static struct cls_verdict
track(struct frag_table *t, struct pkt_meta m, uint64_t now)
{
	struct cls_verdict v = cls_like(&m, CDN_ACT_ALLOW, 2);

	frag_track(t, &m, now, &v, &st);
	return v;
}

static void
want(const struct cls_verdict *v, unsigned action, unsigned reason)
{
	assert_string_equal(cdn_action_name(v->action),
	    cdn_action_name(action));
	assert_string_equal(cdn_reason_name(v->reason),
	    cdn_reason_name(reason));
}

static int
setup(void **state)
{
	struct frag_table *t = frag_table_new(64, TMO, 42);

	assert_non_null(t);
	memset(&st, 0, sizeof(st));
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	frag_table_free(*state);
	return 0;
}

static void
test_in_order(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	for (uint8_t af = 4; af <= 6; af += 2) {
		v = track(t, fr(af, 6, 7, 0, 24, 1), 10);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
		assert_int_equal(frag_table_used(t, 10), 1);
		v = track(t, fr(af, 6, 7, 24, 24, 1), 11);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
		assert_int_equal(v.rule, 2);
		assert_int_equal(v.log, 0); /* one line per datagram */
		v = track(t, fr(af, 6, 7, 48, 10, 0), 12);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
		/* Every byte seen: the entry is free again. */
		assert_int_equal(frag_table_used(t, 12), 0);
	}
	assert_int_equal(st.frag.tracked, 2);
	assert_int_equal(st.frag.followed, 4);
	assert_int_equal(st.frag.completed, 2);
}

static void
test_out_of_order(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	track(t, fr(4, 17, 8, 0, 16, 1), 1);
	v = track(t, fr(4, 17, 8, 48, 8, 0), 2);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	v = track(t, fr(4, 17, 8, 32, 16, 1), 3);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	assert_int_equal(frag_table_used(t, 3), 1);
	v = track(t, fr(4, 17, 8, 16, 16, 1), 4);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	assert_int_equal(st.frag.completed, 1);
	assert_int_equal(frag_table_used(t, 4), 0);
}

/* The first fragment's verdict, whatever it is, is the datagram's. */
static void
test_follows_denial(void **state)
{
	struct frag_table *t = *state;
	struct pkt_meta m = fr(6, 6, 9, 0, 24, 1);
	struct cls_verdict v = cls_like(&m, CDN_ACT_REJECT, 3);

	frag_track(t, &m, 1, &v, &st);
	want(&v, CDN_ACT_REJECT, CDN_R_RULE);
	/* A later fragment cannot be answered: it is dropped, by rule 3. */
	v = track(t, fr(6, 6, 9, 24, 8, 0), 2);
	want(&v, CDN_ACT_DROP, CDN_R_RULE);
	assert_int_equal(v.rule, 3);
}

static void
test_later_first(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	v = track(t, fr(4, 6, 10, 24, 24, 0), 1);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
	assert_int_equal(frag_table_used(t, 1), 0);
	/* Different source, destination or ID: another datagram. */
	track(t, fr(4, 6, 11, 0, 24, 1), 2);
	v = track(t, fr(4, 6, 12, 24, 24, 0), 3);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
	v = track(t, fr(6, 6, 11, 24, 24, 0), 3);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
}

static void
test_overlap(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	track(t, fr(4, 6, 13, 0, 40, 1), 1);
	v = track(t, fr(4, 6, 13, 32, 16, 1), 2);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	/* The rest of the datagram goes the same way. */
	v = track(t, fr(4, 6, 13, 40, 16, 0), 3);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	/* A second first fragment, and an exact duplicate, overlap too. */
	track(t, fr(6, 17, 14, 0, 24, 1), 4);
	v = track(t, fr(6, 17, 14, 0, 24, 1), 5);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	track(t, fr(6, 17, 15, 0, 24, 1), 4);
	track(t, fr(6, 17, 15, 24, 8, 1), 5);
	v = track(t, fr(6, 17, 15, 24, 8, 1), 6);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	/* Beyond the end the last fragment set, or two different ends. */
	track(t, fr(4, 6, 16, 0, 24, 1), 7);
	track(t, fr(4, 6, 16, 48, 8, 0), 7);
	v = track(t, fr(4, 6, 16, 56, 8, 1), 8);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	track(t, fr(4, 6, 17, 0, 24, 1), 7);
	track(t, fr(4, 6, 17, 48, 8, 0), 7);
	v = track(t, fr(4, 6, 17, 24, 8, 0), 8);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_OVERLAP);
	assert_int_equal(st.frag.followed, 3);
}

/* RFC 1858 / RFC 3128: a TCP fragment at offset 8 rewrites the flags. */
static void
test_tcp_offset_1(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	v = track(t, fr(4, 6, 20, 8, 16, 0), 1);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_TCP_OFF1);
	/* IPv6: the protocol is the first fragment's. */
	track(t, fr(6, 6, 21, 0, 24, 1), 1);
	v = track(t, fr(6, 17, 21, 8, 16, 0), 2);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_TCP_OFF1);
	v = track(t, fr(6, 6, 21, 24, 16, 0), 3);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_TCP_OFF1);
	/* UDP at offset 8 is only a fragment. */
	track(t, fr(4, 17, 22, 0, 8, 1), 1);
	v = track(t, fr(4, 17, 22, 8, 16, 0), 2);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
}

static void
test_holes(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;
	unsigned i;

	track(t, fr(4, 17, 23, 0, 8, 1), 1);
	for (i = 1; i < FRAG_RANGES; i++) {
		v = track(t, fr(4, 17, 23, i * 16, 8, 1), 1);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	}
	v = track(t, fr(4, 17, 23, i * 16, 8, 1), 1);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_HOLES);
	v = track(t, fr(4, 17, 23, 8, 8, 1), 1);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_HOLES);
}

/* Full: refused and counted, never passed; room again after timeout. */
static void
test_full(void **state)
{
	struct frag_table *t = frag_table_new(FRAG_WAYS, TMO, 1);
	struct cls_verdict v;
	unsigned i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < FRAG_WAYS; i++) {
		v = track(t, fr(4, 6, 100 + i, 0, 24, 1), 5);
		want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	}
	v = track(t, fr(4, 6, 200, 0, 24, 1), 6);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_FULL);
	assert_int_equal(v.rule, POL_RULE_DEFAULT);
	v = track(t, fr(4, 6, 200, 24, 8, 0), 6);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
	/* The live entries still work. */
	v = track(t, fr(4, 6, 100, 24, 8, 0), 7);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	v = track(t, fr(4, 6, 201, 0, 24, 1), 5 + TMO);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	assert_int_equal(st.frag.expired, FRAG_WAYS - 1);
	frag_table_free(t);
}

static void
test_timeout(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	track(t, fr(4, 6, 30, 0, 24, 1), 100);
	v = track(t, fr(4, 6, 30, 24, 8, 1), 100 + TMO - 1);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	v = track(t, fr(4, 6, 30, 32, 8, 0), 100 + TMO);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_TIMEOUT);
	assert_int_equal(st.frag.expired, 1);
	v = track(t, fr(4, 6, 30, 40, 8, 0), 100 + TMO);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
}

/* A freed entry's key starts a new datagram; a cleared table forgets. */
static void
test_reuse(void **state)
{
	struct frag_table *t = *state;
	struct cls_verdict v;

	track(t, fr(4, 6, 40, 0, 24, 1), 1);
	track(t, fr(4, 6, 40, 24, 8, 0), 1);
	v = track(t, fr(4, 6, 40, 0, 24, 1), 2);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	v = track(t, fr(4, 6, 40, 24, 8, 0), 2);
	want(&v, CDN_ACT_ALLOW, CDN_R_NONE);
	assert_int_equal(st.frag.completed, 2);
	track(t, fr(4, 6, 41, 0, 24, 1), 3);
	frag_table_clear(t);
	v = track(t, fr(4, 6, 41, 24, 8, 0), 3);
	want(&v, CDN_ACT_DROP, CDN_R_FRAG_NO_FIRST);
}

/* The parser's part: what the table keys on, and the first fragments
 * it refuses before any table sees them. */
static void
test_parser(void **state)
{
	struct pkt_frame f;
	struct pkt_meta m;

	(void)state;
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 6, 0, 0x2000 | 3); /* MF, offset 24 */
	pkt_fr_data(&f, 16);
	pkt_fr_done(&f);
	assert_int_equal(pkt_parse(f.b, f.len, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_LATER);
	assert_int_equal(m.frag_id, 0x1234);
	assert_int_equal(m.frag_off, 24);
	assert_int_equal(m.frag_len, 16);
	assert_int_equal(m.frag_more, 1);
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 60);
	pkt_fr_ext(&f, 60, 44, 8);
	pkt_fr_frag6(&f, 17, 0, 1);
	pkt_fr_data(&f, 8);
	f.b[f.l4 + 4] = 0; /* UDP length 16: the datagram's */
	f.b[f.l4 + 5] = 16;
	pkt_fr_done(&f);
	assert_int_equal(pkt_parse(f.b, f.len, &m), 0);
	assert_int_equal(m.frag, PKT_FRAG_FIRST);
	assert_int_equal(m.frag_id, 0xabcd);
	assert_int_equal(m.frag_off, 0);
	assert_int_equal(m.frag_len, 8);
	/* Tiny first fragment: 10 bytes of TCP header. */
	pkt_fr_eth(&f, NULL, 0, 0x0800);
	pkt_fr_ip4(&f, 6, 0, 0x2000);
	pkt_fr_data(&f, 10);
	pkt_fr_done(&f);
	assert_int_equal(pkt_parse(f.b, f.len, &m), CDN_R_TCP_TRUNC);
	/* RFC 7112: the chain ends inside a destination options header. */
	pkt_fr_eth(&f, NULL, 0, 0x86dd);
	pkt_fr_ip6(&f, 44);
	pkt_fr_frag6(&f, 60, 0, 1);
	f.b[f.len] = 6;
	f.b[f.len + 1] = 2; /* 24 bytes, only 8 here */
	f.len += 8;
	pkt_fr_done(&f);
	assert_int_equal(pkt_parse(f.b, f.len, &m), CDN_R_IP6_EXT_TRUNC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_follows_denial, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_later_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_offset_1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_holes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
		cmocka_unit_test(test_parser),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
