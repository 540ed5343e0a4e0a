/*
 * The control child's messages (control/ctl/ctl_msg.c): each decoder
 * takes what its encoder writes and refuses every truncated, oversized
 * or malformed form (zero cid, reserved bits, flags out of range, a NUL
 * in a string, a line without its newline); the order checks refuse
 * what comes out of turn; the bounded JSON parse refuses duplicates,
 * depth and size.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/ctl/ctl_msg.h"
#include "tests/unit/unit_util.h"

static uint8_t buf[CTL_REQ_FIXED + CTL_REQ_MAX + 64];

static void
test_cid(void **state)
{
	struct ctl_cid m;
	ssize_t n;

	(void)state;
	n = ctl_enc_cid(7, buf, sizeof(buf));
	assert_int_equal(n, 4);
	assert_int_equal(ctl_dec_cid(buf, (size_t)n, &m), 0);
	assert_int_equal(m.cid, 7);
	/* truncated, oversized, zero */
	for (size_t len = 0; len < 4; len++)
		assert_int_equal(ctl_dec_cid(buf, len, &m), -1);
	assert_int_equal(ctl_dec_cid(buf, 5, &m), -1);
	assert_int_equal(errno, EBADMSG);
	memset(buf, 0, 4);
	assert_int_equal(ctl_dec_cid(buf, 4, &m), -1);
	assert_int_equal(ctl_enc_cid(0, buf, sizeof(buf)), -1);
	assert_int_equal(ctl_enc_cid(1, buf, 3), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
test_listen(void **state)
{
	struct ctl_listen m;
	uint32_t v = 2;

	(void)state;
	assert_int_equal(ctl_enc_listen(true, buf, sizeof(buf)), 4);
	assert_int_equal(ctl_dec_listen(buf, 4, &m), 0);
	assert_int_equal(m.ro, 1);
	assert_int_equal(ctl_enc_listen(false, buf, sizeof(buf)), 4);
	assert_int_equal(ctl_dec_listen(buf, 4, &m), 0);
	assert_int_equal(m.ro, 0);
	memcpy(buf, &v, 4);
	assert_int_equal(ctl_dec_listen(buf, 4, &m), -1);
	assert_int_equal(ctl_dec_listen(buf, 3, &m), -1);
	assert_int_equal(ctl_dec_listen(buf, 8, &m), -1);
}

static ssize_t
req_enc(uint32_t cid, int64_t deadline, const char *json)
{
	struct ctl_req r = { .cid = cid,
		.deadline_ms = deadline,
		.json = json,
		.len = strlen(json) };

	return ctl_enc_req(&r, buf, sizeof(buf));
}

static void
test_req(void **state)
{
	const char *j = "{\"cmd\":\"status\",\"v\":1}";
	struct ctl_req m;
	ssize_t n;
	int64_t neg = -5;

	(void)state;
	n = req_enc(3, 1234, j);
	assert_int_equal(n, CTL_REQ_FIXED + strlen(j));
	assert_int_equal(ctl_dec_req(buf, (size_t)n, &m), 0);
	assert_int_equal(m.cid, 3);
	assert_int_equal(m.deadline_ms, 1234);
	assert_int_equal(m.len, strlen(j));
	assert_memory_equal(m.json, j, m.len);
	/* every truncation, down to the fixed part without JSON */
	for (size_t len = 0; len <= CTL_REQ_FIXED; len++)
		assert_int_equal(ctl_dec_req(buf, len, &m), -1);
	/* reserved field, negative deadline, NUL, zero cid */
	buf[4] = 1;
	assert_int_equal(ctl_dec_req(buf, (size_t)n, &m), -1);
	buf[4] = 0;
	memcpy(buf + 8, &neg, 8);
	assert_int_equal(ctl_dec_req(buf, (size_t)n, &m), -1);
	n = req_enc(3, 0, j);
	buf[CTL_REQ_FIXED + 3] = '\0';
	assert_int_equal(ctl_dec_req(buf, (size_t)n, &m), -1);
	memset(buf, 0, 4);
	assert_int_equal(ctl_dec_req(buf, (size_t)n, &m), -1);
	/* the encoder refuses what the decoder would */
	assert_int_equal(req_enc(0, 0, j), -1);
	assert_int_equal(req_enc(1, -1, j), -1);
	assert_int_equal(req_enc(1, 0, ""), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_req_oversized(void **state)
{
	char *big = malloc(CTL_REQ_MAX + 2);
	struct ctl_req r = { .cid = 1, .json = big }, m;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', CTL_REQ_MAX + 1);
	big[CTL_REQ_MAX + 1] = '\0';
	r.len = CTL_REQ_MAX;
	assert_int_equal(ctl_enc_req(&r, buf, sizeof(buf)),
	    CTL_REQ_FIXED + CTL_REQ_MAX);
	assert_int_equal(ctl_dec_req(buf, CTL_REQ_FIXED + CTL_REQ_MAX, &m), 0);
	r.len = CTL_REQ_MAX + 1;
	assert_int_equal(ctl_enc_req(&r, buf, sizeof(buf)), -1);
	assert_int_equal(ctl_dec_req(buf, CTL_REQ_FIXED + CTL_REQ_MAX + 1, &m),
	    -1);
	r.len = 10;
	assert_int_equal(ctl_enc_req(&r, buf, CTL_REQ_FIXED + 9), -1);
	assert_int_equal(errno, EMSGSIZE);
	free(big);
}

static void
test_started(void **state)
{
	struct ctl_started m;
	uint32_t two = 2;

	(void)state;
	assert_int_equal(ctl_enc_started(9, true, buf, sizeof(buf)), 8);
	assert_int_equal(ctl_dec_started(buf, 8, &m), 0);
	assert_int_equal(m.cid, 9);
	assert_int_equal(m.ok, 1);
	assert_int_equal(ctl_enc_started(9, false, buf, sizeof(buf)), 8);
	assert_int_equal(ctl_dec_started(buf, 8, &m), 0);
	assert_int_equal(m.ok, 0);
	for (size_t len = 0; len < 8; len++)
		assert_int_equal(ctl_dec_started(buf, len, &m), -1);
	assert_int_equal(ctl_dec_started(buf, 12, &m), -1);
	memcpy(buf + 4, &two, 4);
	assert_int_equal(ctl_dec_started(buf, 8, &m), -1);
	assert_int_equal(ctl_enc_started(0, true, buf, sizeof(buf)), -1);
}

static ssize_t
reply_enc(uint32_t cid, uint32_t flags, const char *json)
{
	struct ctl_reply r = { .cid = cid,
		.flags = flags,
		.json = json,
		.len = strlen(json) };

	return ctl_enc_reply(&r, buf, sizeof(buf));
}

static void
test_reply(void **state)
{
	const char *j = "{\"ok\":true,\"v\":1}";
	struct ctl_reply m;
	uint32_t f;
	ssize_t n;

	(void)state;
	n = reply_enc(4, CTL_REPLY_MONITOR, j);
	assert_int_equal(n, CTL_REPLY_FIXED + strlen(j));
	assert_int_equal(ctl_dec_reply(buf, (size_t)n, &m), 0);
	assert_int_equal(m.cid, 4);
	assert_int_equal(m.flags, CTL_REPLY_MONITOR);
	assert_memory_equal(m.json, j, m.len);
	for (size_t len = 0; len <= CTL_REPLY_FIXED; len++)
		assert_int_equal(ctl_dec_reply(buf, len, &m), -1);
	/* unknown flags, and close with monitor: never both */
	f = 0x4;
	memcpy(buf + 4, &f, 4);
	assert_int_equal(ctl_dec_reply(buf, (size_t)n, &m), -1);
	f = CTL_REPLY_CLOSE | CTL_REPLY_MONITOR;
	memcpy(buf + 4, &f, 4);
	assert_int_equal(ctl_dec_reply(buf, (size_t)n, &m), -1);
	assert_int_equal(reply_enc(4, f, j), -1);
	n = reply_enc(4, CTL_REPLY_CLOSE, j);
	buf[n - 1] = '\0';
	assert_int_equal(ctl_dec_reply(buf, (size_t)n, &m), -1);
	assert_int_equal(ctl_dec_reply(buf, CTL_REPLY_FIXED + CTL_REPLY_MAX + 1,
	                     &m),
	    -1);
	assert_int_equal(reply_enc(0, 0, j), -1);
}

static ssize_t
mon_enc(uint32_t cid, uint32_t lost, const char *line)
{
	struct ctl_mon r = { .cid = cid,
		.lost = lost,
		.line = line,
		.len = strlen(line) };

	return ctl_enc_mon(&r, buf, sizeof(buf));
}

static void
test_mon(void **state)
{
	const char *l = "{\"type\":\"event\"}\n";
	char big[CTL_LINE_MAX + 2];
	struct ctl_mon m;
	ssize_t n;

	(void)state;
	n = mon_enc(5, 2, l);
	assert_int_equal(n, CTL_MON_FIXED + strlen(l));
	assert_int_equal(ctl_dec_mon(buf, (size_t)n, &m), 0);
	assert_int_equal(m.lost, 2);
	assert_memory_equal(m.line, l, m.len);
	/* counts alone, never nothing at all */
	n = mon_enc(5, 3, "");
	assert_int_equal(n, CTL_MON_FIXED);
	assert_int_equal(ctl_dec_mon(buf, (size_t)n, &m), 0);
	assert_int_equal(m.len, 0);
	assert_int_equal(mon_enc(5, 0, ""), -1);
	memset(buf + 4, 0, 4);
	assert_int_equal(ctl_dec_mon(buf, CTL_MON_FIXED, &m), -1);
	for (size_t len = 0; len < CTL_MON_FIXED; len++)
		assert_int_equal(ctl_dec_mon(buf, len, &m), -1);
	/* no newline at the end; a newline (or NUL) inside */
	assert_int_equal(mon_enc(5, 0, "{}"), -1);
	n = mon_enc(5, 0, "{}\n");
	buf[n - 1] = '}';
	assert_int_equal(ctl_dec_mon(buf, (size_t)n, &m), -1);
	n = mon_enc(5, 0, "{}\n{}\n");
	assert_int_equal(n, -1);
	memcpy(buf + CTL_MON_FIXED, "{\n}\n", 4);
	assert_int_equal(ctl_dec_mon(buf, CTL_MON_FIXED + 4, &m), -1);
	memcpy(buf + CTL_MON_FIXED, "{\0}\n", 4);
	assert_int_equal(ctl_dec_mon(buf, CTL_MON_FIXED + 4, &m), -1);
	/* oversized */
	memset(big, 'x', sizeof(big));
	big[CTL_LINE_MAX] = '\n';
	big[CTL_LINE_MAX + 1] = '\0';
	assert_int_equal(mon_enc(5, 0, big), -1);
	assert_int_equal(ctl_dec_mon(buf, CTL_MON_FIXED + CTL_LINE_MAX + 1, &m),
	    -1);
}

/* Random bytes of every length: no decoder reads past them or takes
 * a form its own checks would refuse. */
static void
test_random(void **state)
{
	uint64_t seed = 15;
	union {
		struct ctl_cid c;
		struct ctl_req r;
		struct ctl_reply p;
		struct ctl_mon m;
		struct ctl_started s;
		struct ctl_listen l;
	} u;

	(void)state;
	for (unsigned i = 0; i < 20000; i++) {
		size_t len = unit_rnd(&seed) % 40;
		uint8_t *p = malloc(len ? len : 1);

		for (size_t k = 0; k < len; k++)
			p[k] =
			    (uint8_t)(unit_rnd(&seed) & (k < 8 ? 0x3 : 0xff));
		if (ctl_dec_req(p, len, &u.r) == 0)
			assert_true(u.r.cid && !memchr(u.r.json, 0, u.r.len));
		if (ctl_dec_reply(p, len, &u.p) == 0)
			assert_true((u.p.flags & ~CTL_REPLY_FLAGS) == 0);
		if (ctl_dec_mon(p, len, &u.m) == 0)
			assert_true(
			    u.m.len == 0 || u.m.line[u.m.len - 1] == '\n');
		if (ctl_dec_started(p, len, &u.s) == 0)
			assert_true(u.s.ok <= 1);
		(void)ctl_dec_cid(p, len, &u.c);
		(void)ctl_dec_listen(p, len, &u.l);
		free(p);
	}
}

static void
test_json(void **state)
{
	const char *tok = "{\"v\":1,\"args\":{\"token\":\"a\\u0000b\"}}";
	char err[128], deep[256];
	json_t *v;
	size_t n = 0;

	(void)state;
	v = ctl_json_load(tok, strlen(tok), err, sizeof(err));
	assert_non_null(v);
	json_decref(v);
	assert_null(ctl_json_load("{\"v\":1,\"v\":2}", 13, err, sizeof(err)));
	assert_non_null(strstr(err, "invalid JSON"));
	assert_null(ctl_json_load("{\"v\":", 5, err, sizeof(err)));
	/* CTL_JSON_DEPTH levels pass, one more does not */
	for (int i = 0; i < CTL_JSON_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < CTL_JSON_DEPTH; i++)
		deep[n++] = ']';
	v = ctl_json_load(deep, n, err, sizeof(err));
	assert_non_null(v);
	json_decref(v);
	memmove(deep + 1, deep, n);
	deep[0] = '[';
	deep[++n] = ']';
	n++;
	assert_null(ctl_json_load(deep, n, err, sizeof(err)));
	assert_non_null(strstr(err, "deeper"));
	assert_null(ctl_json_load("{}", CTL_REQ_MAX + 1, err, sizeof(err)));
	assert_non_null(strstr(err, "1 MiB"));
}

/* Out of order: what the parent refuses from the child, and sends. */
static void
test_seq(void **state)
{
	(void)state;
	assert_int_equal(ctl_seq_in(CTL_S_FREE, CTL_T_ACCEPTED), CTL_S_IDLE);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, CTL_T_ACCEPTED), -1);
	assert_int_equal(ctl_seq_in(CTL_S_FREE, CTL_T_REQ), -1);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, CTL_T_REQ), CTL_S_REQ);
	assert_int_equal(ctl_seq_in(CTL_S_REQ, CTL_T_REQ), -1);
	assert_int_equal(ctl_seq_in(CTL_S_REPLIED, CTL_T_REQ), -1);
	assert_int_equal(ctl_seq_in(CTL_S_MON, CTL_T_REQ), -1);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, CTL_T_DELIVERED), -1);
	assert_int_equal(ctl_seq_in(CTL_S_REQ, CTL_T_DELIVERED), -1);
	assert_int_equal(ctl_seq_in(CTL_S_REPLIED, CTL_T_DELIVERED),
	    CTL_S_IDLE);
	assert_int_equal(ctl_seq_in(CTL_S_MON_WAIT, CTL_T_DELIVERED),
	    CTL_S_MON);
	assert_int_equal(ctl_seq_in(CTL_S_MON, CTL_T_DELIVERED), -1);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, CTL_T_STARTED), -1);
	assert_int_equal(ctl_seq_in(CTL_S_FREE, CTL_T_GONE), -1);
	assert_int_equal(ctl_seq_in(CTL_S_MON, CTL_T_GONE), CTL_S_FREE);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, CTL_T_START), -1);
	assert_int_equal(ctl_seq_in(CTL_S_IDLE, 0), -1);
	assert_int_equal(ctl_seq_out(CTL_S_IDLE, CTL_T_REPLY, 0), -1);
	assert_int_equal(ctl_seq_out(CTL_S_REQ, CTL_T_REPLY, 0), CTL_S_REPLIED);
	assert_int_equal(ctl_seq_out(CTL_S_REQ, CTL_T_REPLY, CTL_REPLY_MONITOR),
	    CTL_S_MON_WAIT);
	assert_int_equal(ctl_seq_out(CTL_S_REQ, CTL_T_REPLY, 0x3), -1);
	assert_int_equal(ctl_seq_out(CTL_S_REPLIED, CTL_T_START, 0), -1);
	assert_int_equal(ctl_seq_out(CTL_S_REQ, CTL_T_START, 0), CTL_S_REQ);
	assert_int_equal(ctl_seq_out(CTL_S_IDLE, CTL_T_MON, 0), -1);
	assert_int_equal(ctl_seq_out(CTL_S_MON_WAIT, CTL_T_MON, 0),
	    CTL_S_MON_WAIT);
	assert_int_equal(ctl_seq_out(CTL_S_MON, CTL_T_LISTEN, 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cid),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_req),
		cmocka_unit_test(test_req_oversized),
		cmocka_unit_test(test_started),
		cmocka_unit_test(test_reply),
		cmocka_unit_test(test_mon),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_seq),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
