/*
 * The monitoring child's messages (control/mon/mon_msg.c): every
 * decoder with good input, encoder round trips, and each malformed form
 * (truncated, oversized, lengths that do not add up, enums and counts
 * out of range, strings without their NUL or with control bytes, unused
 * entries that are not zero).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/mon/mon_msg.h"

static uint8_t buf[PROC_MSG_MAX + 64];

/* ---- METRICS ---- */

static size_t
metrics(uint32_t status, uint32_t len, const char *text, size_t tlen)
{
	struct mon_metrics m = { .status = status, .len = len };

	memcpy(buf, &m, sizeof(m));
	memcpy(buf + sizeof(m), text, tlen);
	return sizeof(m) + tlen;
}

static void
test_metrics(void **state)
{
	struct mon_metrics_in in;
	ssize_t n;

	(void)state;
	n = mon_enc_metrics(buf, sizeof(buf), 200, "a 1\n", 4);
	assert_int_equal(n, sizeof(struct mon_metrics) + 4);
	assert_int_equal(mon_dec_metrics(buf, (size_t)n, &in), 0);
	assert_int_equal(in.status, 200);
	assert_int_equal(in.len, 4);
	assert_memory_equal(in.text, "a 1\n", 4);
	n = mon_enc_metrics(buf, sizeof(buf), 500, NULL, 0);
	assert_int_equal(mon_dec_metrics(buf, (size_t)n, &in), 0);
	assert_int_equal(in.status, 500);
	assert_int_equal(in.len, 0);
	/* truncated: no header, or fewer bytes than it says */
	assert_int_equal(mon_dec_metrics(buf, 3, &in), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(mon_dec_metrics(buf, metrics(200, 9, "a 1\n", 4), &in),
	    -1);
	/* more bytes than it says */
	assert_int_equal(mon_dec_metrics(buf, metrics(200, 2, "a 1\n", 4), &in),
	    -1);
	/* 200 without text, an error with text, a status not sent */
	assert_int_equal(mon_dec_metrics(buf, metrics(200, 0, "", 0), &in), -1);
	assert_int_equal(mon_dec_metrics(buf, metrics(500, 1, "x", 1), &in),
	    -1);
	assert_int_equal(mon_dec_metrics(buf, metrics(404, 0, "", 0), &in), -1);
	/* a NUL inside the text */
	assert_int_equal(mon_dec_metrics(buf, metrics(200, 3, "a\0b", 3), &in),
	    -1);
	/* oversized */
	assert_int_equal(mon_enc_metrics(buf, sizeof(buf), 200, (char *)buf,
	                     MON_METRICS_MAX + 1),
	    -1);
	assert_int_equal(errno, E2BIG);
	memset(buf + sizeof(struct mon_metrics), 'x', MON_METRICS_MAX + 1);
	((struct mon_metrics *)buf)->status = 200;
	((struct mon_metrics *)buf)->len = MON_METRICS_MAX + 1;
	assert_int_equal(mon_dec_metrics(buf,
	                     sizeof(struct mon_metrics) + MON_METRICS_MAX + 1,
	                     &in),
	    -1);
	/* the encoder refuses a buffer too small */
	assert_int_equal(mon_enc_metrics(buf, 10, 200, "a 1\n", 4), -1);
}

/* ---- TARGETS ---- */

static const char pem[] = "-----BEGIN CERTIFICATE-----\nAA==\n";

static void
targets_good(struct mon_targets_in *in)
{
	memset(in, 0, sizeof(*in));
	in->h.gen = 3;
	in->h.n = 2;
	in->h.t[0] = (struct mon_target){ .type = CONF_LOG_UDP,
		.port = 514,
		.queue = 10 };
	snprintf(in->h.t[0].address, sizeof(in->h.t[0].address), "10.0.0.1");
	in->h.t[1] = (struct mon_target){ .type = CONF_LOG_TLS,
		.port = 6514,
		.queue = 10,
		.ca_len = sizeof(pem) - 1,
		.cert_len = 4,
		.key_len = 3 };
	snprintf(in->h.t[1].address, sizeof(in->h.t[1].address), "::1");
	snprintf(in->h.t[1].name, sizeof(in->h.t[1].name), "log.example");
	in->ca[1] = (const uint8_t *)pem;
	in->cert[1] = (const uint8_t *)"cert";
	in->key[1] = (const uint8_t *)"key";
}

/* IN with MUT applied, encoded, decoded: the decoder's answer. */
static int
targets_try(void (*mut)(struct mon_targets_in *), ssize_t delta)
{
	struct mon_targets_in in, out;
	ssize_t n;

	targets_good(&in);
	if (mut)
		mut(&in);
	n = mon_enc_targets(buf, sizeof(buf), &in);
	assert_true(n > 0);
	return mon_dec_targets(buf, (size_t)(n + delta), &out);
}

static void
m_n9(struct mon_targets_in *in)
{
	in->h.n = 9;
}
static void
m_unused(struct mon_targets_in *in)
{
	in->h.t[5].port = 1;
}
static void
m_type(struct mon_targets_in *in)
{
	in->h.t[0].type = 4;
}
static void
m_port0(struct mon_targets_in *in)
{
	in->h.t[0].port = 0;
}
static void
m_port_big(struct mon_targets_in *in)
{
	in->h.t[0].port = 65536;
}
static void
m_local_port(struct mon_targets_in *in)
{
	in->h.t[0].type = CONF_LOG_LOCAL;
}
static void
m_queue0(struct mon_targets_in *in)
{
	in->h.t[0].queue = 0;
}
static void
m_queue_big(struct mon_targets_in *in)
{
	in->h.t[0].queue = MON_QUEUE_MAX + 1;
}
static void
m_addr_nonul(struct mon_targets_in *in)
{
	memset(in->h.t[0].address, 'a', sizeof(in->h.t[0].address));
}
static void
m_addr_empty(struct mon_targets_in *in)
{
	in->h.t[0].address[0] = 0;
}
static void
m_name_ctl(struct mon_targets_in *in)
{
	in->h.t[1].name[2] = '\n';
}
static void
m_udp_name(struct mon_targets_in *in)
{
	snprintf(in->h.t[0].name, sizeof(in->h.t[0].name), "x");
}
static void
m_udp_ca(struct mon_targets_in *in)
{
	in->h.t[0].ca_len = 1;
	in->ca[0] = (const uint8_t *)"x";
}
static void
m_tls_noca(struct mon_targets_in *in)
{
	in->h.t[1].ca_len = 0;
}
static void
m_cert_nokey(struct mon_targets_in *in)
{
	in->h.t[1].key_len = 0;
}
static void
m_blob_big(struct mon_targets_in *in)
{
	static uint8_t big[MON_BLOB_MAX + 1];

	in->h.t[1].ca_len = sizeof(big);
	in->ca[1] = big;
}

static void
test_targets(void **state)
{
	struct mon_targets_in in, out;
	ssize_t n;

	(void)state;
	targets_good(&in);
	n = mon_enc_targets(buf, sizeof(buf), &in);
	assert_int_equal(n, sizeof(in.h) + sizeof(pem) - 1 + 4 + 3);
	assert_int_equal(mon_dec_targets(buf, (size_t)n, &out), 0);
	assert_int_equal(out.h.gen, 3);
	assert_int_equal(out.h.n, 2);
	assert_string_equal(out.h.t[1].name, "log.example");
	assert_memory_equal(out.ca[1], pem, sizeof(pem) - 1);
	assert_memory_equal(out.cert[1], "cert", 4);
	assert_memory_equal(out.key[1], "key", 3);
	/* none at all is fine (no targets) */
	memset(&in, 0, sizeof(in));
	n = mon_enc_targets(buf, sizeof(buf), &in);
	assert_int_equal(mon_dec_targets(buf, (size_t)n, &out), 0);
	/* truncated, trailing bytes, shorter than the fixed part */
	assert_int_equal(targets_try(NULL, -1), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(targets_try(NULL, 1), -1);
	assert_int_equal(mon_dec_targets(buf, sizeof(in.h) - 1, &out), -1);
	/* fields */
	assert_int_equal(targets_try(m_n9, 0), -1);
	assert_int_equal(targets_try(m_unused, 0), -1);
	assert_int_equal(targets_try(m_type, 0), -1);
	assert_int_equal(targets_try(m_port0, 0), -1);
	assert_int_equal(targets_try(m_port_big, 0), -1);
	assert_int_equal(targets_try(m_local_port, 0), -1);
	assert_int_equal(targets_try(m_queue0, 0), -1);
	assert_int_equal(targets_try(m_queue_big, 0), -1);
	assert_int_equal(targets_try(m_addr_nonul, 0), -1);
	assert_int_equal(targets_try(m_addr_empty, 0), -1);
	assert_int_equal(targets_try(m_name_ctl, 0), -1);
	assert_int_equal(targets_try(m_udp_name, 0), -1);
	assert_int_equal(targets_try(m_udp_ca, 0), -1);
	assert_int_equal(targets_try(m_tls_noca, 0), -1);
	assert_int_equal(targets_try(m_cert_nokey, 0), -1);
	assert_int_equal(targets_try(m_blob_big, 0), -1);
	/* the encoder refuses a buffer too small */
	targets_good(&in);
	assert_int_equal(mon_enc_targets(buf, sizeof(in.h) + 2, &in), -1);
	assert_int_equal(errno, E2BIG);
}

/* ---- RECORD ---- */

static void
test_record(void **state)
{
	static uint8_t big[MON_RECORD_MAX + 1];
	struct mon_record_in r;
	ssize_t n;

	(void)state;
	n = mon_enc_record(buf, sizeof(buf), 7, 1, "<134>1 x", 8);
	assert_int_equal(mon_dec_record(buf, (size_t)n, &r), 0);
	assert_int_equal(r.h.gen, 7);
	assert_int_equal(r.h.target, 1);
	assert_int_equal(r.len, 8);
	assert_memory_equal(r.bytes, "<134>1 x", 8);
	/* no message, truncated header */
	assert_int_equal(mon_dec_record(buf, sizeof(struct mon_record), &r),
	    -1);
	assert_int_equal(mon_dec_record(buf, 5, &r), -1);
	/* target out of range */
	n = mon_enc_record(buf, sizeof(buf), 7, CONF_LOG_TARGET_MAX, "x", 1);
	assert_int_equal(mon_dec_record(buf, (size_t)n, &r), -1);
	/* oversized */
	assert_int_equal(mon_enc_record(buf, sizeof(buf), 7, 0, big,
	                     sizeof(big)),
	    -1);
	memset(buf, 0, sizeof(struct mon_record));
	assert_int_equal(mon_dec_record(buf,
	                     sizeof(struct mon_record) + sizeof(big), &r),
	    -1);
	n = mon_enc_record(buf, sizeof(buf), 7, 0, big, sizeof(big) - 1);
	assert_int_equal(mon_dec_record(buf, (size_t)n, &r), 0);
}

/* ---- STATS ---- */

static void
stats_good(struct mon_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->gen = 2;
	s->n = 1;
	s->t[0].state = MON_TS_UP;
	s->t[0].queued = 3;
	s->t[0].sent = 10;
	snprintf(s->t[0].error, sizeof(s->t[0].error), "connect: refused");
}

static void
test_stats(void **state)
{
	struct mon_stats s, out;

	(void)state;
	stats_good(&s);
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), 0);
	assert_int_equal(out.t[0].sent, 10);
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s) - 1, &out), -1);
	memcpy(buf, &s, sizeof(s));
	assert_int_equal(mon_dec_stats(buf, sizeof(s) + 1, &out), -1);
	s.n = CONF_LOG_TARGET_MAX + 1;
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
	stats_good(&s);
	s.t[0].state = MON_TS_END;
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
	stats_good(&s);
	s.t[0].queued = MON_QUEUE_MAX + 1;
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
	stats_good(&s);
	memset(s.t[0].error, 'e', sizeof(s.t[0].error));
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
	stats_good(&s);
	s.t[0].error[0] = 0x07;
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
	stats_good(&s);
	s.t[1].sent = 1; /* beyond n */
	assert_int_equal(mon_dec_stats((uint8_t *)&s, sizeof(s), &out), -1);
}

/* ---- the empty ones ---- */

static void
test_empty(void **state)
{
	(void)state;
	assert_int_equal(mon_dec_metrics_get(5, 0), 0);
	assert_int_equal(mon_dec_metrics_get(0, 0), -1);
	assert_int_equal(mon_dec_metrics_get(5, 1), -1);
	assert_int_equal(mon_dec_flush(5, 0), 0);
	assert_int_equal(mon_dec_flush(0, 0), -1);
	assert_int_equal(mon_dec_flush(1, 4), -1);
	assert_int_equal(mon_dec_prom(buf, 0, 7), 0);
	assert_int_equal(mon_dec_prom(buf, 0, -1), -1);
	assert_int_equal(mon_dec_prom(buf, 1, 7), -1);
	assert_true(mon_type_to_child(MON_T_RECORD));
	assert_true(mon_type_to_child(MON_T_FLUSH));
	assert_false(mon_type_to_child(MON_T_STATS));
	assert_false(mon_type_to_child(PROC_T_LOG));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
