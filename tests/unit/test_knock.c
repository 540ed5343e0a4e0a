/*
 * The knock: wire format round trip and every malformed form, the age
 * window, the replay cache (also across a restart, full, torn and
 * corrupt files), proof of possession for each algorithm and with the
 * wrong key, and the per-source rate limit under a flood.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "control/ident/knock.h"
#include "tests/unit/unit_util.h"

#define NOW    1800000000LL /* unix seconds the tests run "at" */
#define NOW_MS (NOW * 1000)
#define TOKEN  "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"

static char tmpdir[64];
static char err[256];

static int
setup(void **state)
{
	(void)state;
	return unit_tmpdir_make(tmpdir, sizeof(tmpdir), "test_knock");
}

static int
teardown(void **state)
{
	(void)state;
	return unit_tmpdir_remove(tmpdir);
}

static const char *
tmp_path(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return path;
}

static const uint8_t src_a[16] = { 192, 0, 2, 1 };
static const uint8_t src_b[16] = { 192, 0, 2, 2 };

/* A knock for "ssh" at TS with nonce bytes all NONCE_BYTE, from src_a. */
static struct knock_msg
msg_make(int64_t ts, uint8_t nonce_byte)
{
	struct knock_msg m = {
		.timestamp = ts,
		.service = "ssh",
		.service_len = 3,
		.token = TOKEN,
		.token_len = strlen(TOKEN),
		.sig_alg = -1,
		.addr_af = 4,
	};

	memset(m.nonce, nonce_byte, sizeof(m.nonce));
	memcpy(m.addr, src_a, sizeof(m.addr));
	return m;
}

/* The same, signing the IPv4 address SRC. */
static int
build_from(uint8_t *buf, int64_t ts, uint8_t nonce_byte, const uint8_t *src)
{
	struct knock_msg m = msg_make(ts, nonce_byte);
	int n;

	memcpy(m.addr, src, 4);
	n = knock_build(buf, KNOCK_MAX_LEN, &m);
	assert_true(n > 0);
	return n;
}

static int
build(uint8_t *buf, int64_t ts, uint8_t nonce_byte)
{
	return build_from(buf, ts, nonce_byte, src_a);
}

static EVP_PKEY *
keygen(const char *type)
{
	EVP_PKEY *k;

	if (strcmp(type, "RSA") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (strcmp(type, "P-256") == 0 || strcmp(type, "P-384") == 0)
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", type);
	else
		k = EVP_PKEY_Q_keygen(NULL, NULL, type);
	assert_non_null(k);
	return k;
}

/* A signed knock in BUF; its length. */
static int
build_signed(uint8_t *buf, EVP_PKEY *key, int alg, uint8_t nonce_byte)
{
	struct knock_msg m = msg_make(NOW, nonce_byte);
	int n;

	m.flags = KNOCK_FLAG_POP;
	n = knock_build(buf, KNOCK_MAX_LEN, &m);
	assert_true(n > 0);
	n = knock_pop_sign(buf, KNOCK_MAX_LEN, (size_t)n, key, alg);
	assert_true(n > 0);
	return n;
}

/* ---- wire format ---- */

static void
test_roundtrip(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN], buf2[KNOCK_MAX_LEN];
	struct knock_msg in = msg_make(NOW, 0xab), out;
	static const uint8_t sig[70] = { 1, 2, 3 };
	int n;

	(void)state;
	n = knock_build(buf, sizeof(buf), &in);
	assert_int_equal(n, KNOCK_HDR_LEN + 3 + strlen(TOKEN));
	assert_memory_equal(buf, "CDK1\x02\x00\x03\x04", 8);
	assert_memory_equal(buf + 32, src_a, 16);
	assert_int_equal(knock_parse(buf, (size_t)n, &out), KNOCK_R_OK);
	assert_int_equal(out.timestamp, NOW);
	assert_memory_equal(out.nonce, in.nonce, KNOCK_NONCE_LEN);
	assert_int_equal(out.addr_af, 4);
	assert_memory_equal(out.addr, src_a, 16);
	assert_int_equal(out.service_len, 3);
	assert_memory_equal(out.service, "ssh", 3);
	assert_int_equal(out.token_len, strlen(TOKEN));
	assert_memory_equal(out.token, TOKEN, strlen(TOKEN));
	assert_int_equal(out.sig_alg, -1);
	assert_null(out.sig);
	assert_int_equal(out.signed_len, (size_t)n);

	/* With a signature block; parse then build gives the same bytes. */
	in.flags = KNOCK_FLAG_POP;
	in.sig_alg = KNOCK_ALG_ES256;
	in.sig = sig;
	in.sig_len = sizeof(sig);
	n = knock_build(buf, sizeof(buf), &in);
	assert_int_equal(knock_parse(buf, (size_t)n, &out), KNOCK_R_OK);
	assert_int_equal(out.sig_alg, KNOCK_ALG_ES256);
	assert_int_equal(out.sig_len, sizeof(sig));
	assert_ptr_equal(out.sig, buf + n - sizeof(sig));
	assert_int_equal(out.signed_len, (size_t)n - 3 - sizeof(sig));
	assert_int_equal(knock_build(buf2, sizeof(buf2), &out), n);
	assert_memory_equal(buf, buf2, (size_t)n);
}

static void
test_build_refuses(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN];
	static char big[KNOCK_MAX_LEN];
	struct knock_msg m = msg_make(NOW, 1);

	(void)state;
	assert_int_equal(knock_build(buf, 40, &m), -1);
	assert_int_equal(errno, ENOSPC);
	m.service = "SSH";
	assert_int_equal(knock_build(buf, sizeof(buf), &m), -1);
	assert_int_equal(errno, EINVAL);
	m = msg_make(NOW, 1);
	memset(big, 'a', sizeof(big));
	m.token = big;
	m.token_len = KNOCK_MAX_LEN - KNOCK_HDR_LEN - 3 + 1;
	assert_int_equal(knock_build(buf, sizeof(buf), &m), -1);
	assert_int_equal(errno, ENOSPC);
	m.token_len--;
	assert_int_equal(knock_build(buf, sizeof(buf), &m), KNOCK_MAX_LEN);
}

/* Every proper prefix of a valid knock, signed or not, is "truncated". */
/* M with a PoP block holding the LEN bytes at SIG as an ES256 signature. */
static void
msg_es256(struct knock_msg *m, const uint8_t *sig, size_t len)
{
	m->flags = KNOCK_FLAG_POP;
	m->sig_alg = KNOCK_ALG_ES256;
	m->sig = sig;
	m->sig_len = len;
}

/*
 * cordond's own reading of a datagram: the fixed fields at their
 * offsets, equal to the parser's, whatever follows; refused when the
 * datagram is too short for them or not a version 2 knock.
 */
static void
test_fixed_read(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN];
	struct knock_msg in = msg_make(NOW, 0x5c);
	static const uint8_t sig[64] = { 4 };
	struct knock_fixed f;
	int n;

	(void)state;
	msg_es256(&in, sig, sizeof(sig));
	n = knock_build(buf, sizeof(buf), &in);
	assert_int_equal(knock_fixed_read(buf, (size_t)n, &f), 0);
	assert_int_equal(f.timestamp, NOW);
	assert_memory_equal(f.nonce, in.nonce, KNOCK_NONCE_LEN);
	assert_int_equal(f.addr_af, 4);
	assert_memory_equal(f.addr, src_a, KNOCK_ADDR_LEN);
	assert_string_equal(f.service, "ssh");
	/* The header and service are enough; nothing else is judged. */
	assert_int_equal(knock_fixed_read(buf, KNOCK_HDR_LEN + 3, &f), 0);
	for (int len = 0; len < KNOCK_HDR_LEN + 3; len++)
		assert_int_equal(knock_fixed_read(buf, (size_t)len, &f), -1);
	assert_int_equal(errno, EBADMSG);
	buf[4] = 1; /* version 1 */
	assert_int_equal(knock_fixed_read(buf, (size_t)n, &f), -1);
	buf[4] = KNOCK_VERSION;
	buf[6] = 0; /* no service */
	assert_int_equal(knock_fixed_read(buf, (size_t)n, &f), -1);
	buf[6] = KNOCK_SERVICE_MAX + 1;
	assert_int_equal(knock_fixed_read(buf, (size_t)n, &f), -1);
	buf[6] = 3;
	buf[8] = 0x80; /* a timestamp past INT64_MAX */
	assert_int_equal(knock_fixed_read(buf, (size_t)n, &f), -1);
	assert_int_equal(f.timestamp, 0);
}

static void
test_truncated_everywhere(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN];
	struct knock_msg m = msg_make(NOW, 7), out;
	static const uint8_t sig[64] = { 9 };
	int n;

	(void)state;
	for (int signed_ = 0; signed_ < 2; signed_++) {
		if (signed_)
			msg_es256(&m, sig, sizeof(sig));
		n = knock_build(buf, sizeof(buf), &m);
		assert_int_equal(knock_parse(buf, (size_t)n, &out), 0);
		for (int len = 0; len < n; len++) {
			int rc = knock_parse(buf, (size_t)len, &out);

			if (rc != KNOCK_R_TRUNC)
				fail_msg("prefix %d of %d: %s", len, n,
				    knock_reason_name(rc));
		}
	}
}

static void
expect_reason(const uint8_t *buf, size_t len, int want)
{
	struct knock_msg out;
	int rc = knock_parse(buf, len, &out);

	if (rc != want)
		fail_msg("got %s, want %s", knock_reason_name(rc),
		    knock_reason_name(want));
}

static void
test_bad_header(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN], b[KNOCK_MAX_LEN];
	int n = build(buf, NOW, 1);

	(void)state;
	memcpy(b, buf, n);
	b[3] = '2';
	expect_reason(b, n, KNOCK_R_MAGIC);
	expect_reason((const uint8_t *)"CDX", 3, KNOCK_R_MAGIC);
	memcpy(b, buf, n);
	b[4] = 1; /* version 1 signed no address: refused */
	expect_reason(b, n, KNOCK_R_VERSION);
	b[4] = 3;
	expect_reason(b, n, KNOCK_R_VERSION);
	b[4] = 0;
	expect_reason(b, n, KNOCK_R_VERSION);
	memcpy(b, buf, n);
	b[5] = 0x02;
	expect_reason(b, n, KNOCK_R_FLAGS);
	b[5] = 0x80;
	expect_reason(b, n, KNOCK_R_FLAGS);
	memcpy(b, buf, n);
	b[7] = 0; /* no address family */
	expect_reason(b, n, KNOCK_R_ADDR);
	b[7] = 5;
	expect_reason(b, n, KNOCK_R_ADDR);
	b[7] = 6; /* 192.0.2.1:: is some IPv6 address */
	expect_reason(b, n, KNOCK_R_OK);
	memcpy(b, buf, n);
	b[47] = 1; /* IPv4 with bytes after its four: one encoding only */
	expect_reason(b, n, KNOCK_R_ADDR);
	memcpy(b, buf, n);
	b[8] = 0x80; /* timestamp >= 2^63 */
	expect_reason(b, n, KNOCK_R_FUTURE);
}

static void
test_oversize(void **state)
{
	static uint8_t big[KNOCK_MAX_LEN + 1];
	int n;

	(void)state;
	n = build(big, NOW, 1);
	assert_true(n < KNOCK_MAX_LEN);
	expect_reason(big, sizeof(big), KNOCK_R_SIZE);
}

/* Length fields that point past the end of the datagram. */
static void
test_lengths_past_end(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN], b[KNOCK_MAX_LEN];
	int n = build(buf, NOW, 1);

	(void)state;
	memcpy(b, buf, n);
	b[48] = 0xff; /* token length 0xff.. */
	expect_reason(b, n, KNOCK_R_TRUNC);
	memcpy(b, buf, n);
	b[49]++; /* one byte more token than there is */
	expect_reason(b, n, KNOCK_R_TRUNC);
	memcpy(b, buf, n);
	b[6] = 255; /* service length 255 */
	expect_reason(b, KNOCK_HDR_LEN + 100, KNOCK_R_TRUNC);
	/* Signature length beyond the datagram. */
	memcpy(b, buf, n);
	b[5] = KNOCK_FLAG_POP;
	b[n] = KNOCK_ALG_ES256;
	b[n + 1] = 0;
	b[n + 2] = 64;
	memset(b + n + 3, 0x55, 63);
	expect_reason(b, n + 3 + 63, KNOCK_R_TRUNC);
	expect_reason(b, n + 3 + 64, KNOCK_R_OK);
	b[n + 1] = 0x10; /* 4160 > KNOCK_SIG_MAX */
	expect_reason(b, n + 3 + 64, KNOCK_R_SIG_LEN);
	b[n + 1] = 0;
	b[n + 2] = 0;
	expect_reason(b, n + 3, KNOCK_R_SIG_LEN);
	b[n + 2] = 64;
	b[n] = KNOCK_ALG_MAX;
	expect_reason(b, n + 3 + 64, KNOCK_R_SIG_ALG);
}

static void
test_bad_service(void **state)
{
	static const char *const bad[] = { "SSH", "ss h", "ssh\n", "s.h",
		"ssh/", "\xc3\xa9" };
	uint8_t buf[KNOCK_MAX_LEN], b[KNOCK_MAX_LEN];
	(void)build(buf, NOW, 1);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t sl = strlen(bad[i]);

		memcpy(b, buf, KNOCK_HDR_LEN);
		b[6] = (uint8_t)sl;
		memcpy(b + KNOCK_HDR_LEN, bad[i], sl);
		memcpy(b + KNOCK_HDR_LEN + sl, TOKEN, strlen(TOKEN));
		expect_reason(b, KNOCK_HDR_LEN + sl + strlen(TOKEN),
		    KNOCK_R_SERVICE);
	}
	/* Empty service name. */
	memcpy(b, buf, KNOCK_HDR_LEN);
	b[6] = 0;
	memcpy(b + KNOCK_HDR_LEN, TOKEN, strlen(TOKEN));
	expect_reason(b, KNOCK_HDR_LEN + strlen(TOKEN), KNOCK_R_SERVICE);
	/* 65 bytes is one too many, 64 fine. */
	memcpy(b, buf, KNOCK_HDR_LEN);
	memset(b + KNOCK_HDR_LEN, 'a', 65);
	b[6] = 65;
	memcpy(b + KNOCK_HDR_LEN + 65, TOKEN, strlen(TOKEN));
	expect_reason(b, KNOCK_HDR_LEN + 65 + strlen(TOKEN), KNOCK_R_SERVICE);
	b[6] = 64;
	memmove(b + KNOCK_HDR_LEN + 64, TOKEN, strlen(TOKEN));
	expect_reason(b, KNOCK_HDR_LEN + 64 + strlen(TOKEN), KNOCK_R_OK);
}

static void
test_bad_token_bytes(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN], b[KNOCK_MAX_LEN];
	int n = build(buf, NOW, 1);
	size_t tok = KNOCK_HDR_LEN + 3;

	(void)state;
	for (int c = 0; c < 256; c++) {
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		          c == '.';

		memcpy(b, buf, n);
		b[tok + 5] = (uint8_t)c;
		expect_reason(b, n, ok ? KNOCK_R_OK : KNOCK_R_TOKEN);
	}
	/* An empty token. */
	memcpy(b, buf, tok);
	b[48] = b[49] = 0;
	expect_reason(b, tok, KNOCK_R_TOKEN);
}

static void
test_trailing(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN];
	struct knock_msg m = msg_make(NOW, 3);
	static const uint8_t sig[64];
	int n = build(buf, NOW, 1);

	(void)state;
	buf[n] = 0;
	expect_reason(buf, n + 1, KNOCK_R_TRAILING);
	m.flags = KNOCK_FLAG_POP;
	m.sig_alg = KNOCK_ALG_ES256;
	m.sig = sig;
	m.sig_len = sizeof(sig);
	n = knock_build(buf, sizeof(buf), &m);
	buf[n] = 'x';
	expect_reason(buf, n + 1, KNOCK_R_TRAILING);
	expect_reason(buf, n, KNOCK_R_OK);
}

static void
test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(knock_reason_name(KNOCK_R_OK), "ok");
	assert_string_equal(knock_reason_name(KNOCK_R_REPLAY), "replay");
	assert_string_equal(knock_reason_name(KNOCK_R_STALE), "stale");
	assert_string_equal(knock_reason_name(KNOCK_R_RATE), "rate-limited");
	assert_string_equal(knock_reason_name(-1), "unknown");
	assert_string_equal(knock_reason_name(KNOCK_R_MAX), "unknown");
	for (int i = 0; i < KNOCK_R_MAX; i++) {
		const char *a = knock_reason_name(i);

		assert_true(
		    strspn(a, "abcdefghijklmnopqrstuvwxyz-") == strlen(a));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, knock_reason_name(j));
	}
	assert_string_equal(knock_alg_name(KNOCK_ALG_EDDSA), "EdDSA");
	assert_null(knock_alg_name(KNOCK_ALG_MAX));
}

/* ---- knock_check / knock_finish ---- */

static void
ctx_open(struct knock_ctx *k, const char *file, uint32_t capacity, int64_t now)
{
	struct knock_conf c = {
		.max_age = 60,
		.leeway = 10,
		.rate_milli = 1000,
		.burst = 5,
		.rate_slots = 64,
		.replay_capacity = capacity,
		.replay_path = file ? tmp_path(file) : NULL,
	};

	if (knock_ctx_init(k, &c, now, err, sizeof(err)) < 0)
		fail_msg("knock_ctx_init: %s", err);
}

static int
check_at(struct knock_ctx *k, const uint8_t *buf, int n, const uint8_t *src,
    int64_t now_ms, struct knock_msg *m)
{
	return knock_check(k, buf, (size_t)n, 4, src, now_ms, now_ms, m);
}

static void
test_age_window(void **state)
{
	static const struct {
		int64_t ts;
		int want;
	} cases[] = {
		{ NOW, KNOCK_R_OK },
		{ NOW - 60, KNOCK_R_OK },
		{ NOW - 61, KNOCK_R_STALE },
		{ NOW - 100000, KNOCK_R_STALE },
		{ 0, KNOCK_R_STALE },
		{ NOW + 10, KNOCK_R_OK },
		{ NOW + 11, KNOCK_R_FUTURE },
		{ INT64_MAX, KNOCK_R_FUTURE },
	};
	struct knock_ctx k;
	struct knock_msg m;
	uint8_t buf[KNOCK_MAX_LEN];

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t src[16] = { 10, 0, 0, (uint8_t)i };
		int n = build_from(buf, cases[i].ts, (uint8_t)i, src);
		int rc = check_at(&k, buf, n, src, NOW_MS + 999, &m);

		if (rc != cases[i].want)
			fail_msg("ts %lld: %s", (long long)cases[i].ts,
			    knock_reason_name(rc));
	}
	assert_int_equal(k.counters[KNOCK_R_STALE], 3);
	assert_int_equal(k.counters[KNOCK_R_FUTURE], 2);
	/* What passes carries its arrival time on to knock_finish. */
	assert_int_equal(check_at(&k, buf, build_from(buf, NOW, 0x77, src_b),
	                     src_b, NOW_MS + 999, &m),
	    KNOCK_R_OK);
	assert_int_equal(m.rx_ms, NOW_MS + 999);
	knock_ctx_fini(&k);
}

static void
test_check_size_first(void **state)
{
	struct knock_ctx k;
	struct knock_msg m;
	static uint8_t buf[KNOCK_MAX_LEN + 1];

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	assert_int_equal(check_at(&k, buf, 10, src_a, NOW_MS, &m),
	    KNOCK_R_SIZE);
	assert_int_equal(check_at(&k, buf, sizeof(buf), src_a, NOW_MS, &m),
	    KNOCK_R_SIZE);
	/* Garbage of a plausible size costs the source a token first. */
	assert_int_equal(check_at(&k, buf, 100, src_a, NOW_MS, &m),
	    KNOCK_R_MAGIC);
	assert_int_equal(k.counters[KNOCK_R_SIZE], 2);
	assert_int_equal(k.counters[KNOCK_R_MAGIC], 1);
	knock_ctx_fini(&k);
}

/* Check + finish as the daemon does, with no token binding (no PoP). */
static int
knock_once(struct knock_ctx *k, const uint8_t *buf, int n, const uint8_t *src,
    int64_t now_ms)
{
	struct knock_msg m;
	int rc = check_at(k, buf, n, src, now_ms, &m);

	return rc != KNOCK_R_OK ? rc : knock_finish(k, &m, NULL, -1, false);
}

static void
test_replay_and_restart(void **state)
{
	struct knock_ctx k;
	uint8_t buf[KNOCK_MAX_LEN], buf2[KNOCK_MAX_LEN];
	int n = build(buf, NOW, 0x11), n2 = build(buf2, NOW, 0x22);

	(void)state;
	ctx_open(&k, "replay.db", 16, NOW);
	assert_int_equal(knock_once(&k, buf, n, src_a, NOW_MS), KNOCK_R_OK);
	assert_int_equal(knock_once(&k, buf, n, src_a, NOW_MS + 10),
	    KNOCK_R_REPLAY);
	/* From elsewhere it is refused before the cache is asked. */
	assert_int_equal(knock_once(&k, buf, n, src_b, NOW_MS + 20),
	    KNOCK_R_ADDR_MISMATCH);
	assert_int_equal(k.counters[KNOCK_R_OK], 1);
	assert_int_equal(k.counters[KNOCK_R_REPLAY], 1);
	knock_ctx_fini(&k);

	/* A restart: the nonce comes back from the file. */
	ctx_open(&k, "replay.db", 16, NOW + 5);
	assert_int_equal(knock_replay_stats(k.replay)->loaded, 1);
	assert_int_equal(knock_once(&k, buf, n, src_a, (NOW + 5) * 1000),
	    KNOCK_R_REPLAY);
	assert_int_equal(knock_once(&k, buf2, n2, src_a, (NOW + 5) * 1000),
	    KNOCK_R_OK);
	knock_ctx_fini(&k);

	/* Kept for the largest max_age a configuration may set (a commit
	 * may raise it), not the running 60 s. */
	ctx_open(&k, "replay.db", 16, NOW + 71);
	assert_int_equal(knock_replay_stats(k.replay)->loaded, 2);
	knock_ctx_fini(&k);

	/* Once past that + leeway the entries are dropped at open. */
	ctx_open(&k, "replay.db", 16, NOW + KNOCK_MAX_AGE_LIMIT + 11);
	assert_int_equal(knock_replay_stats(k.replay)->loaded, 0);
	assert_int_equal(knock_replay_stats(k.replay)->expired, 2);
	knock_ctx_fini(&k);
}

static void
test_replay_expiry(void **state)
{
	struct knock_replay *r =
	    knock_replay_open(NULL, 4, NOW, err, sizeof(err));
	uint8_t nonce[16] = { 1 };

	(void)state;
	assert_non_null(r);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70, NOW),
	    KNOCK_REPLAY_OK);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 75,
	                     NOW + 70),
	    KNOCK_REPLAY_SEEN);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 140,
	                     NOW + 71),
	    KNOCK_REPLAY_OK);
	assert_int_equal(knock_replay_count(r, NOW + 71), 1);
	knock_replay_close(r);
}

static void
test_replay_full(void **state)
{
	struct knock_replay *r;
	uint8_t nonce[16] = { 0 };

	(void)state;
	r = knock_replay_open(tmp_path("full.db"), 4, NOW, err, sizeof(err));
	assert_non_null(r);
	for (int i = 0; i < 4; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(knock_replay_check_and_add(r, nonce,
		                     NOW + 10 + i, NOW),
		    KNOCK_REPLAY_OK);
	}
	nonce[0] = 9;
	/* Full of fresh entries: refused and counted, nothing forgotten. */
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70, NOW),
	    KNOCK_REPLAY_FULL);
	assert_int_equal(knock_replay_stats(r)->full, 1);
	for (int i = 0; i < 4; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70,
		                     NOW + 5),
		    KNOCK_REPLAY_SEEN);
	}
	/* Two have expired by NOW + 12: room again. */
	nonce[0] = 9;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 80,
	                     NOW + 12),
	    KNOCK_REPLAY_OK);
	nonce[0] = 10;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 80,
	                     NOW + 12),
	    KNOCK_REPLAY_OK);
	nonce[0] = 11;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 80,
	                     NOW + 12),
	    KNOCK_REPLAY_FULL);
	knock_replay_close(r);

	/* Reopened with a smaller capacity, no fresh nonce is lost. */
	r = knock_replay_open(tmp_path("full.db"), 1, NOW + 12, err,
	    sizeof(err));
	assert_non_null(r);
	assert_int_equal(knock_replay_count(r, NOW + 12), 4);
	nonce[0] = 9;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 80,
	                     NOW + 12),
	    KNOCK_REPLAY_SEEN);
	knock_replay_close(r);
}

/*
 * A nonce reused after its entry expired is on file twice; if the clock
 * then steps back, both records look fresh at open and the later expiry
 * must win.
 */
static void
test_replay_reuse_clock_back(void **state)
{
	const char *path = tmp_path("reuse.db");
	struct knock_replay *r;
	uint8_t nonce[16] = { 0x42 };

	(void)state;
	r = knock_replay_open(path, 8, NOW, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 10, NOW),
	    KNOCK_REPLAY_OK);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 100,
	                     NOW + 11),
	    KNOCK_REPLAY_OK);
	knock_replay_close(r);
	r = knock_replay_open(path, 8, NOW + 5, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(knock_replay_stats(r)->loaded, 2);
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 200,
	                     NOW + 50),
	    KNOCK_REPLAY_SEEN);
	knock_replay_close(r);
}

static off_t file_size(const char *path);

/*
 * A write that fails (here: the file size limit) refuses the knock
 * (fail closed) and leaves no partial record behind; the next knock is
 * recorded normally.  Also: a full cache through knock_finish.
 */
static void
test_replay_io_error(void **state)
{
	const char *path = tmp_path("io.db");
	struct rlimit old, lim;
	struct knock_ctx k;
	uint8_t b1[KNOCK_MAX_LEN], b2[KNOCK_MAX_LEN], b3[KNOCK_MAX_LEN];
	int n1 = build(b1, NOW, 1), n2 = build(b2, NOW, 2);
	int n3 = build(b3, NOW, 3);

	(void)state;
	ctx_open(&k, "io.db", 1, NOW);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = (rlim_t)file_size(path) + 10; /* a torn record */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(knock_once(&k, b1, n1, src_a, NOW_MS),
	    KNOCK_R_REPLAY_IO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(file_size(path), 32);
	assert_int_equal(knock_replay_stats(k.replay)->io_errors, 1);
	/* Not recorded, so the genuine retry is no replay. */
	assert_int_equal(knock_once(&k, b1, n1, src_a, NOW_MS), KNOCK_R_OK);
	assert_int_equal(knock_once(&k, b2, n2, src_a, NOW_MS),
	    KNOCK_R_REPLAY_FULL);
	assert_int_equal(k.counters[KNOCK_R_REPLAY_IO], 1);
	assert_int_equal(k.counters[KNOCK_R_REPLAY_FULL], 1);
	knock_ctx_fini(&k);
	ctx_open(&k, "io.db", 1, NOW);
	assert_int_equal(knock_replay_stats(k.replay)->torn, 0);
	assert_int_equal(knock_replay_stats(k.replay)->loaded, 1);
	assert_int_equal(knock_once(&k, b1, n1, src_a, NOW_MS), KNOCK_R_REPLAY);
	assert_int_equal(knock_once(&k, b3, n3, src_a, NOW_MS),
	    KNOCK_R_REPLAY_FULL);
	knock_ctx_fini(&k);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
append_bytes(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

/* A torn last record and a scribbled one: the rest still counts. */
static void
test_replay_torn_and_corrupt(void **state)
{
	const char *path = tmp_path("torn.db");
	struct knock_replay *r;
	uint8_t nonce[16] = { 0 }, byte = 0x5a;
	int fd;

	(void)state;
	r = knock_replay_open(path, 16, NOW, err, sizeof(err));
	assert_non_null(r);
	for (int i = 0; i < 3; i++) {
		nonce[0] = (uint8_t)i;
		assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70,
		                     NOW),
		    KNOCK_REPLAY_OK);
	}
	knock_replay_close(r);
	assert_int_equal(file_size(path), 32 * 4);
	append_bytes(path, "0123456789", 10);
	/* Scribble on the second record's expiry. */
	fd = open(path, O_WRONLY);
	assert_int_equal(pwrite(fd, &byte, 1, 64 + 20), 1);
	close(fd);

	r = knock_replay_open(path, 16, NOW + 1, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(knock_replay_stats(r)->torn, 10);
	assert_int_equal(knock_replay_stats(r)->corrupt, 1);
	assert_int_equal(knock_replay_stats(r)->loaded, 2);
	/* The rewrite at open left whole records only. */
	assert_int_equal(file_size(path), 32 * 3);
	nonce[0] = 0;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70,
	                     NOW + 1),
	    KNOCK_REPLAY_SEEN);
	nonce[0] = 2;
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 70,
	                     NOW + 1),
	    KNOCK_REPLAY_SEEN);
	knock_replay_close(r);
}

static void
test_replay_not_ours(void **state)
{
	const char *path = tmp_path("other.db");
	FILE *f = fopen(path, "w");

	(void)state;
	fputs("this is somebody else's file, do not overwrite it\n", f);
	fclose(f);
	assert_null(knock_replay_open(path, 16, NOW, err, sizeof(err)));
	assert_non_null(strstr(err, "not a knock replay cache"));
	assert_int_equal(file_size(path), 50);
	assert_null(knock_replay_open("/nonexistent-dir/x.db", 16, NOW, err,
	    sizeof(err)));
}

/* The file is rewritten when dead records pile up; it stays bounded. */
static void
test_replay_compaction(void **state)
{
	const char *path = tmp_path("compact.db");
	struct knock_replay *r;
	uint8_t nonce[16] = { 0 };

	(void)state;
	r = knock_replay_open(path, 4, NOW, err, sizeof(err));
	assert_non_null(r);
	for (int i = 0; i < 300; i++) {
		memcpy(nonce, &i, sizeof(i));
		assert_int_equal(knock_replay_check_and_add(r, nonce,
		                     NOW + i + 2, NOW + i),
		    KNOCK_REPLAY_OK);
		assert_true(file_size(path) <= 32 * (1 + 2 * 4 + 1));
	}
	assert_true(knock_replay_stats(r)->compactions > 30);
	knock_replay_close(r);
	r = knock_replay_open(path, 4, NOW + 299, err, sizeof(err));
	assert_non_null(r);
	memcpy(nonce, &(int){ 299 }, sizeof(int));
	assert_int_equal(knock_replay_check_and_add(r, nonce, NOW + 400,
	                     NOW + 299),
	    KNOCK_REPLAY_SEEN);
	knock_replay_close(r);
}

/* ---- proof of possession ---- */

static const struct {
	const char *type;
	int alg;
} pop_algs[] = {
	{ "RSA", KNOCK_ALG_RS256 },
	{ "RSA", KNOCK_ALG_PS256 },
	{ "P-256", KNOCK_ALG_ES256 },
	{ "P-384", KNOCK_ALG_ES384 },
	{ "ED25519", KNOCK_ALG_EDDSA },
	{ "ED448", KNOCK_ALG_EDDSA },
};

static void
test_pop_each_alg(void **state)
{
	uint8_t buf[KNOCK_MAX_LEN];
	struct knock_msg m;

	(void)state;
	for (size_t i = 0; i < sizeof(pop_algs) / sizeof(pop_algs[0]); i++) {
		EVP_PKEY *key = keygen(pop_algs[i].type);
		EVP_PKEY *other = keygen(pop_algs[i].type);
		int alg = pop_algs[i].alg, n = build_signed(buf, key, alg, 1);

		assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
		assert_int_equal(m.sig_alg, alg);
		if (alg == KNOCK_ALG_ES256 || alg == KNOCK_ALG_ES384)
			assert_int_equal(m.sig_len,
			    alg == KNOCK_ALG_ES256 ? 64 : 96);
		if (knock_pop_verify(&m, key, alg) != 0)
			fail_msg("%s/%s: valid signature refused",
			    pop_algs[i].type, knock_alg_name(alg));
		assert_int_equal(knock_pop_verify(&m, key, KNOCK_ALG_ANY), 0);
		/* The wrong key of the right type. */
		assert_int_equal(knock_pop_verify(&m, other, alg), -1);
		/* A key bound to another algorithm. */
		assert_int_equal(knock_pop_verify(&m, key,
		                     alg == KNOCK_ALG_RS256 ? KNOCK_ALG_PS256
		                                            : KNOCK_ALG_RS256),
		    -1);
		/* Any signed byte changed: the service name here. */
		buf[KNOCK_HDR_LEN] ^= 0x01;
		assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
		assert_int_equal(knock_pop_verify(&m, key, alg), -1);
		buf[KNOCK_HDR_LEN] ^= 0x01;
		/* And the signature itself. */
		buf[n - 1] ^= 0x80;
		assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
		assert_int_equal(knock_pop_verify(&m, key, alg), -1);
		EVP_PKEY_free(key);
		EVP_PKEY_free(other);
	}
}

/* Key and algorithm must agree, however the knock labels itself. */
static void
test_pop_key_confusion(void **state)
{
	EVP_PKEY *ec = keygen("P-256"), *ec384 = keygen("P-384");
	EVP_PKEY *ed = keygen("ED25519");
	EVP_PKEY *k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "secp256k1");
	uint8_t buf[KNOCK_MAX_LEN];
	struct knock_msg m;
	int n;

	(void)state;
	assert_non_null(k1);
	/* Signing refuses a key that does not fit. */
	n = build(buf, NOW, 1);
	assert_int_equal(knock_pop_sign(buf, sizeof(buf), (size_t)n, ec,
	                     KNOCK_ALG_ES256),
	    -1); /* flag not set */
	assert_int_equal(errno, EINVAL);
	buf[5] = KNOCK_FLAG_POP;
	assert_int_equal(knock_pop_sign(buf, sizeof(buf), (size_t)n, ec,
	                     KNOCK_ALG_ES384),
	    -1);
	assert_int_equal(knock_pop_sign(buf, sizeof(buf), (size_t)n, ed,
	                     KNOCK_ALG_ES256),
	    -1);
	assert_int_equal(knock_pop_sign(buf, sizeof(buf), (size_t)n, k1,
	                     KNOCK_ALG_ES256),
	    -1);
	assert_int_equal(knock_alg_for_key(k1), -1);
	assert_int_equal(knock_alg_for_key(ec384), KNOCK_ALG_ES384);

	/* A P-256 signature presented with a P-384 or Ed25519 key. */
	n = build_signed(buf, ec, KNOCK_ALG_ES256, 2);
	assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
	assert_int_equal(knock_pop_verify(&m, ec384, KNOCK_ALG_ANY), -1);
	assert_int_equal(knock_pop_verify(&m, ed, KNOCK_ALG_ANY), -1);
	/* A 65th byte after a valid r||s: one encoding only. */
	buf[n] = 0;
	buf[m.signed_len + 2] = 65;
	assert_int_equal(knock_parse(buf, (size_t)n + 1, &m), KNOCK_R_OK);
	assert_int_equal(knock_pop_verify(&m, ec, KNOCK_ALG_ES256), -1);
	buf[m.signed_len + 2] = 64;
	assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
	assert_int_equal(knock_pop_verify(&m, ec, KNOCK_ALG_ES256), 0);
	/* The knock relabelled ES384: length and curve no longer fit. */
	buf[m.signed_len] = KNOCK_ALG_ES384;
	assert_int_equal(knock_parse(buf, (size_t)n, &m), KNOCK_R_OK);
	assert_int_equal(knock_pop_verify(&m, ec, KNOCK_ALG_ANY), -1);
	assert_int_equal(knock_pop_verify(&m, NULL, KNOCK_ALG_ANY), -1);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(k1);
}

/*
 * knock_finish: a forged PoP (wrong key) is refused and does not enter
 * the replay cache, so the genuine knock with the same nonce still
 * passes afterwards; a missing PoP is refused when required or when the
 * token binds a key.
 */
static void
test_finish_pop(void **state)
{
	EVP_PKEY *key = keygen("P-256"), *wrong = keygen("P-256");
	uint8_t good[KNOCK_MAX_LEN], forged[KNOCK_MAX_LEN],
	    plain[KNOCK_MAX_LEN];
	int ng = build_signed(good, key, KNOCK_ALG_ES256, 0x31);
	int nf = build_signed(forged, wrong, KNOCK_ALG_ES256, 0x31);
	int np = build(plain, NOW, 0x32);
	struct knock_ctx k;
	struct knock_msg m;

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	assert_int_equal(check_at(&k, forged, nf, src_a, NOW_MS, &m), 0);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, true),
	    KNOCK_R_POP_BAD);
	assert_int_equal(check_at(&k, good, ng, src_a, NOW_MS, &m), 0);
	assert_int_equal(knock_finish(&k, &m, NULL, -1, false),
	    KNOCK_R_POP_NO_KEY);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, true),
	    KNOCK_R_OK);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, true),
	    KNOCK_R_REPLAY);
	assert_int_equal(check_at(&k, plain, np, src_a, NOW_MS, &m), 0);
	assert_int_equal(knock_finish(&k, &m, NULL, -1, true),
	    KNOCK_R_POP_MISSING);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, false),
	    KNOCK_R_POP_MISSING);
	assert_int_equal(k.counters[KNOCK_R_POP_BAD], 1);
	assert_int_equal(k.counters[KNOCK_R_POP_MISSING], 2);
	assert_int_equal(k.counters[KNOCK_R_POP_NO_KEY], 1);
	assert_int_equal(k.counters[KNOCK_R_OK], 1);
	assert_int_equal(knock_replay_count(k.replay, NOW), 1);
	knock_count(&k, KNOCK_R_TOKEN_REJECTED);
	knock_count(&k, 9999);
	assert_int_equal(k.counters[KNOCK_R_TOKEN_REJECTED], 1);
	knock_ctx_fini(&k);
	EVP_PKEY_free(key);
	EVP_PKEY_free(wrong);
}

/* The token's cnf.jwk imported by jose_jwk_to_pkey (knock_finish_jwk). */
static json_t *
ed25519_jwk(EVP_PKEY *key)
{
	uint8_t raw[32];
	char b64[64];
	size_t len = sizeof(raw);
	int n;

	assert_true(EVP_PKEY_get_raw_public_key(key, raw, &len));
	n = EVP_EncodeBlock((unsigned char *)b64, raw, (int)len);
	while (n > 0 && b64[n - 1] == '=')
		b64[--n] = '\0';
	for (int i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	return json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x",
	    b64);
}

static void
test_finish_jwk(void **state)
{
	EVP_PKEY *key = keygen("ED25519");
	json_t *jwk = ed25519_jwk(key), *bad = json_pack("{s:s}", "kty", "EC");
	uint8_t buf[KNOCK_MAX_LEN];
	int n = build_signed(buf, key, KNOCK_ALG_EDDSA, 0x41);
	struct knock_ctx k;
	struct knock_msg m;

	(void)state;
	assert_non_null(jwk);
	ctx_open(&k, NULL, 16, NOW);
	assert_int_equal(check_at(&k, buf, n, src_a, NOW_MS, &m), 0);
	/* An unusable cnf key never counts as "no key bound". */
	assert_int_equal(knock_finish_jwk(&k, &m, bad, false), KNOCK_R_CNF_KEY);
	assert_int_equal(knock_finish_jwk(&k, &m, NULL, false),
	    KNOCK_R_POP_NO_KEY);
	assert_int_equal(knock_finish_jwk(&k, &m, jwk, true), KNOCK_R_OK);
	assert_int_equal(knock_finish_jwk(&k, &m, jwk, true), KNOCK_R_REPLAY);
	assert_int_equal(k.counters[KNOCK_R_CNF_KEY], 1);
	knock_ctx_fini(&k);
	json_decref(jwk);
	json_decref(bad);
	EVP_PKEY_free(key);
}

/* ---- rate limit ---- */

/* A flood from one source is cut; another source is not affected. */
static void
test_flood_one_source(void **state)
{
	struct knock_ctx k;
	uint8_t buf[KNOCK_MAX_LEN], bb[KNOCK_MAX_LEN];
	int ok_a = 0, ok_b = 0;

	(void)state;
	ctx_open(&k, NULL, 65536, NOW); /* 1 knock/s, burst 5 */
	/* A sends every millisecond for 10 s, B once a second. */
	for (int i = 0; i < 10000; i++) {
		int n = build(buf, NOW, 0xaa);
		struct knock_msg m;

		memcpy(buf + 16, &i, sizeof(i)); /* fresh nonces */
		if (check_at(&k, buf, n, src_a, NOW_MS + i, &m) == 0)
			ok_a += knock_finish(&k, &m, NULL, -1, false) == 0;
		if (i % 1000 == 0) {
			int nb = build_from(bb, NOW, 0xbb, src_b);

			memcpy(bb + 16, &i, sizeof(i));
			ok_b += knock_once(&k, bb, nb, src_b, NOW_MS + i) == 0;
		}
	}
	/* The burst, then one per second (at 1000, 2000 ... 9000 ms). */
	assert_int_equal(ok_a, 5 + 9);
	assert_int_equal(ok_b, 10);
	assert_int_equal(k.counters[KNOCK_R_RATE], 10000 - 14);
	assert_int_equal(k.counters[KNOCK_R_OK], 14 + 10);
	assert_int_equal(knock_once(&k, buf, build(buf, NOW, 0xee), src_a,
	                     NOW_MS + 10000),
	    KNOCK_R_OK);
	assert_int_equal(knock_once(&k, buf, build(buf, NOW, 0xef), src_a,
	                     NOW_MS + 10001),
	    KNOCK_R_RATE);
	knock_ctx_fini(&k);
}

/*
 * The issue-10 attack: a knock captured on the path and delivered first
 * from the attacker's own address.  Refused by name before the replay
 * cache sees it, so the original still opens its session.  Rewriting
 * the address field breaks the PoP signature (and takes no cache slot).
 */
static void
test_addr_bound(void **state)
{
	EVP_PKEY *key = keygen("P-256");
	uint8_t buf[KNOCK_MAX_LEN], b[KNOCK_MAX_LEN];
	int n = build_signed(buf, key, KNOCK_ALG_ES256, 0x5a);
	struct knock_ctx k;
	struct knock_msg m;

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	assert_int_equal(check_at(&k, buf, n, src_b, NOW_MS, &m),
	    KNOCK_R_ADDR_MISMATCH);
	assert_string_equal(knock_reason_name(KNOCK_R_ADDR_MISMATCH),
	    "address-mismatch");
	memcpy(b, buf, n);
	b[35] = src_b[3]; /* the signed address rewritten to B's */
	assert_int_equal(check_at(&k, b, n, src_b, NOW_MS, &m), KNOCK_R_OK);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, true),
	    KNOCK_R_POP_BAD);
	assert_int_equal(check_at(&k, buf, n, src_a, NOW_MS + 5, &m),
	    KNOCK_R_OK);
	assert_int_equal(knock_finish(&k, &m, key, KNOCK_ALG_ES256, true),
	    KNOCK_R_OK);
	assert_int_equal(k.counters[KNOCK_R_ADDR_MISMATCH], 1);
	assert_int_equal(k.counters[KNOCK_R_REPLAY], 0);
	knock_ctx_fini(&k);
	EVP_PKEY_free(key);
}

static struct knock_pfx
pfx(int af, const char *s, int plen)
{
	struct knock_pfx p = { .af = (uint8_t)af, .plen = (uint8_t)plen };

	assert_int_equal(inet_pton(af == 4 ? AF_INET : AF_INET6, s, p.addr), 1);
	return p;
}

/* A NAT'd client signs its inside address: allowed only when paired. */
static void
test_addr_nat(void **state)
{
	static const uint8_t inside[16] = { 10, 1, 2, 3 };
	static const uint8_t nat_out[16] = { 198, 51, 100, 7 };
	static const uint8_t nat_other[16] = { 198, 51, 100, 8 };
	static const uint8_t elsewhere[16] = { 172, 16, 0, 5 };
	struct knock_ctx k;
	struct knock_msg m;
	struct knock_nat nat = { pfx(4, "10.0.0.0", 8),
		pfx(4, "198.51.100.7", 32) };
	uint8_t buf[KNOCK_MAX_LEN], b2[KNOCK_MAX_LEN];
	int n = build_from(buf, NOW, 0x61, inside);
	int n2 = build_from(b2, NOW, 0x62, elsewhere);

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	/* Not paired: refused. */
	assert_int_equal(check_at(&k, buf, n, nat_out, NOW_MS, &m),
	    KNOCK_R_ADDR_MISMATCH);
	k.conf.nat = &nat;
	k.conf.nnat = 1;
	const struct {
		const uint8_t *knock, *src;
		int want;
	} cases[] = {
		{ buf, nat_out, KNOCK_R_OK },
		{ buf, nat_other, KNOCK_R_ADDR_MISMATCH },
		{ b2, nat_out, KNOCK_R_ADDR_MISMATCH },
		{ buf, inside, KNOCK_R_OK }, /* exact: needs no pairing */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (check_at(&k, cases[i].knock, cases[i].knock == buf ? n : n2,
		        cases[i].src, NOW_MS, &m) != cases[i].want)
			fail_msg("NAT case %zu", i);
	knock_ctx_fini(&k);
}

static void
test_pfx_has(void **state)
{
	struct knock_pfx p = pfx(4, "198.51.100.0", 23);
	struct knock_pfx p6 = pfx(6, "2001:db8::", 33);
	struct knock_pfx all = pfx(6, "::", 0);
	uint8_t a[16] = { 198, 51, 101, 255 },
	        a6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x7f };

	(void)state;
	assert_true(knock_pfx_has(&p, 4, a));
	a[2] = 102;
	assert_false(knock_pfx_has(&p, 4, a));
	assert_false(knock_pfx_has(&p, 6, a));
	assert_true(knock_pfx_has(&p6, 6, a6));
	a6[4] = 0x80;
	assert_false(knock_pfx_has(&p6, 6, a6));
	assert_true(knock_pfx_has(&all, 6, a6));
	assert_false(knock_pfx_has(&all, 4, a6));
}

static void
test_rate_refill_and_v6(void **state)
{
	struct knock_rate *r = knock_rate_new(16, 500, 2); /* 0.5/s */
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1 };
	uint8_t a2[16], c[16];

	(void)state;
	assert_non_null(r);
	memcpy(a2, a, 16);
	a2[15] = 0x99; /* same /64 */
	memcpy(c, a, 16);
	c[7] = 2; /* next /64 */
	assert_true(knock_rate_allow(r, 6, a, 0));
	assert_true(knock_rate_allow(r, 6, a2, 0));
	assert_false(knock_rate_allow(r, 6, a, 0));
	assert_true(knock_rate_allow(r, 6, c, 0));
	assert_false(knock_rate_allow(r, 6, a2, 1999));
	assert_true(knock_rate_allow(r, 6, a2, 2000));
	assert_false(knock_rate_allow(r, 6, a, 2001));
	/* A clock stepping back neither refills nor breaks the bucket. */
	assert_false(knock_rate_allow(r, 6, a, 0));
	/* After a long silence: a full burst, not more. */
	assert_true(knock_rate_allow(r, 6, a, INT64_MAX / 2));
	assert_true(knock_rate_allow(r, 6, a, INT64_MAX / 2));
	assert_false(knock_rate_allow(r, 6, a, INT64_MAX / 2));
	/* IPv4 and IPv6 keys never mix. */
	assert_true(knock_rate_allow(r, 4, a, 0));
	assert_int_equal(knock_rate_count(r), 3);
	knock_rate_free(r);
	assert_null(knock_rate_new(0, 1, 1));
	assert_null(knock_rate_new(1, 0, 1));
}

/* A full table forgets the least recently seen source, only that one. */
/*
 * The buckets run on the monotonic clock: a wall-clock step forward does
 * not refill them, a step back does not stall them (issue 11).
 */
static void
test_rate_wall_step(void **state)
{
	struct knock_ctx k;
	struct knock_msg m;
	uint8_t buf[KNOCK_MAX_LEN], src[16] = { 10, 9, 9, 9 };
	size_t n;

	(void)state;
	ctx_open(&k, NULL, 16, NOW);
	n = (size_t)build_from(buf, NOW, 0x42, src);
	for (int i = 0; i < 5; i++) /* the burst */
		assert_int_equal(knock_check(&k, buf, n, 4, src, NOW_MS, 1000,
		                     &m),
		    KNOCK_R_OK);
	assert_int_equal(knock_check(&k, buf, n, 4, src, NOW_MS, 1000, &m),
	    KNOCK_R_RATE);
	assert_int_equal(knock_check(&k, buf, n, 4, src, NOW_MS + 7200000, 1001,
	                     &m),
	    KNOCK_R_RATE);
	assert_int_not_equal(knock_check(&k, buf, n, 4, src, NOW_MS - 7200000,
	                         3000, &m),
	    KNOCK_R_RATE);
	knock_ctx_fini(&k);
}

static void
test_rate_lru(void **state)
{
	struct knock_rate *r = knock_rate_new(3, 1, 1); /* no refill */
	uint8_t s[6][16] = { { 1 }, { 2 }, { 3 }, { 4 }, { 5 }, { 6 } };

	(void)state;
	assert_non_null(r);
	for (int i = 0; i < 3; i++)
		assert_true(knock_rate_allow(r, 4, s[i], 0));
	assert_false(knock_rate_allow(r, 4, s[0], 1)); /* 0 recent */
	assert_true(knock_rate_allow(r, 4, s[3], 2));  /* evicts 1 */
	assert_false(knock_rate_allow(r, 4, s[0], 3)); /* still known */
	assert_false(knock_rate_allow(r, 4, s[2], 4)); /* still known */
	assert_false(knock_rate_allow(r, 4, s[3], 5));
	assert_true(knock_rate_allow(r, 4, s[1], 6)); /* forgotten */
	assert_int_equal(knock_rate_count(r), 3);
	/* Many new sources: the table never grows. */
	for (int i = 0; i < 10000; i++) {
		uint8_t x[16] = { 10, (uint8_t)(i >> 8), (uint8_t)i };

		assert_true(knock_rate_allow(r, 4, x, 10 + i));
	}
	assert_int_equal(knock_rate_count(r), 3);
	knock_rate_free(r);
}

/* Our SipHash-2-4 against OpenSSL's, over every length up to 64. */
static void
test_siphash(void **state)
{
	uint8_t key[16], msg[64], out[8];
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	size_t size = 8, outl;

	(void)state;
	assert_non_null(mac);
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* The paper's first vector: empty message, key 00..0f. */
	assert_true(knock_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	for (size_t n = 0; n <= sizeof(msg); n++) {
		OSSL_PARAM p[] = {
			OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
			OSSL_PARAM_END,
		};
		EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);
		uint64_t want = 0;

		assert_true(EVP_MAC_init(c, key, sizeof(key), p));
		assert_true(EVP_MAC_update(c, msg, n));
		assert_true(EVP_MAC_final(c, out, &outl, sizeof(out)));
		assert_int_equal(outl, 8);
		for (int i = 7; i >= 0; i--)
			want = want << 8 | out[i];
		assert_true(knock_siphash(key, msg, n) == want);
		EVP_MAC_CTX_free(c);
	}
	EVP_MAC_free(mac);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_lengths_past_end),
		cmocka_unit_test(test_bad_service),
		cmocka_unit_test(test_bad_token_bytes),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_fixed_read),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_age_window),
		cmocka_unit_test(test_check_size_first),
		cmocka_unit_test(test_replay_and_restart),
		cmocka_unit_test(test_addr_bound),
		cmocka_unit_test(test_addr_nat),
		cmocka_unit_test(test_pfx_has),
		cmocka_unit_test(test_replay_expiry),
		cmocka_unit_test(test_replay_full),
		cmocka_unit_test(test_replay_reuse_clock_back),
		cmocka_unit_test(test_replay_torn_and_corrupt),
		cmocka_unit_test(test_replay_not_ours),
		cmocka_unit_test(test_replay_io_error),
		cmocka_unit_test(test_replay_compaction),
		cmocka_unit_test(test_pop_each_alg),
		cmocka_unit_test(test_pop_key_confusion),
		cmocka_unit_test(test_finish_pop),
		cmocka_unit_test(test_finish_jwk),
		cmocka_unit_test(test_flood_one_source),
		cmocka_unit_test(test_rate_refill_and_v6),
		cmocka_unit_test(test_rate_lru),
		cmocka_unit_test(test_rate_wall_step),
		cmocka_unit_test(test_siphash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
