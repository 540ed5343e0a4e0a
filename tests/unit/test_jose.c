/*
 * JOSE verifier pieces (control/ident): strict base64url, the JSON depth
 * guard and duplicate-key refusal, ECDSA r/s range checks against the
 * curve orders OpenSSL knows, reason and algorithm names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>

#include "control/ident/jose.h"

static long
dec(const char *s, uint8_t *out, size_t outlen)
{
	return jose_b64url_decode(s, strlen(s), out, outlen);
}

static void
test_b64url_decode_vectors(void **state)
{
	uint8_t out[16];

	(void)state;
	/* RFC 4648 section 10 vectors, without padding. */
	assert_int_equal(dec("", out, sizeof(out)), 0);
	assert_int_equal(dec("Zg", out, sizeof(out)), 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(dec("Zm8", out, sizeof(out)), 2);
	assert_int_equal(dec("Zm9v", out, sizeof(out)), 3);
	assert_int_equal(dec("Zm9vYmFy", out, sizeof(out)), 6);
	assert_memory_equal(out, "foobar", 6);
	/* The URL alphabet: 0xfb 0xff -> "-_8". */
	assert_int_equal(dec("-_8", out, sizeof(out)), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
}

static void
test_b64url_decode_rejects(void **state)
{
	uint8_t out[16];

	(void)state;
	assert_int_equal(dec("Zg==", out, sizeof(out)), -1); /* padding */
	assert_int_equal(dec("Zm9v=", out, sizeof(out)), -1);
	assert_int_equal(dec("+/8", out, sizeof(out)), -1); /* base64 */
	assert_int_equal(dec("Zm 9v", out, sizeof(out)), -1);
	assert_int_equal(dec("Zm9\n", out, sizeof(out)), -1);
	assert_int_equal(dec("Z", out, sizeof(out)), -1); /* 4n+1 */
	assert_int_equal(dec("Zm9vY", out, sizeof(out)), -1);
	/* Non-zero unused bits: "Zh" and "Zm9" vs "Zm-". */
	assert_int_equal(dec("Zh", out, sizeof(out)), -1);
	assert_int_equal(dec("Zm-", out, sizeof(out)), -1);
	/* No room. */
	assert_int_equal(dec("Zm9vYmFy", out, 5), -1);
	assert_int_equal(jose_b64url_decode("Zm\0v", 4, out, sizeof(out)), -1);
	/* Inside a whole group of four, past the first (the bulk loop). */
	assert_int_equal(dec("Zm9vYmFyZm9v+mFy", out, sizeof(out)), -1);
	assert_int_equal(jose_b64url_decode("Zm9vYm\0yZm9v", 12, out,
	                     sizeof(out)),
	    -1);
	assert_int_equal(dec("Zm9vYmFyZm9vYmF\xc3", out, sizeof(out)), -1);
}

static void
test_b64url_roundtrip(void **state)
{
	uint8_t in[64], out[64];
	char enc[100];
	size_t n;
	long len;

	(void)state;
	for (n = 0; n < sizeof(in); n++)
		in[n] = (uint8_t)(n * 37 + 11);
	for (n = 0; n <= sizeof(in); n++) {
		len = jose_b64url_encode(in, n, enc, sizeof(enc));
		assert_int_equal(len, (long)((n * 4 + 2) / 3));
		assert_int_equal(dec(enc, out, sizeof(out)), (long)n);
		assert_memory_equal(in, out, n);
	}
	assert_int_equal(jose_b64url_encode(in, 3, enc, 4), -1);
	assert_int_equal(jose_b64url_encode(in, 3, enc, 5), 4);
}

static int
depth(const char *s)
{
	return jose_json_depth_ok(s, strlen(s), 3);
}

static void
test_json_depth_guard(void **state)
{
	(void)state;
	assert_int_equal(depth("{}"), 0);
	assert_int_equal(depth("{\"a\":[{}]}"), 0);
	assert_int_equal(depth("{\"a\":[{\"b\":[]}]}"), -1);
	assert_int_equal(depth("[[[[]]]]"), -1);
	/* Siblings do not add up. */
	assert_int_equal(depth("[[[]],[[]],[[]]]"), 0);
	/* Brackets in strings, also after escaped quotes, do not count. */
	assert_int_equal(depth("{\"a\":\"[[[[{{{{\"}"), 0);
	assert_int_equal(depth("{\"a\":\"\\\"[[[[\"}"), 0);
	assert_int_equal(depth("{\"a\\\\\":[[[1]]]}"), -1);
	/* Stray closers cannot buy depth back. */
	assert_int_equal(depth("]]]]]][[[["), -1);
}

static void
test_json_object_reasons(void **state)
{
	char deep[64];
	int r;
	json_t *j;

	(void)state;
	j = jose_json_object("{\"a\":1}", 7, &r);
	assert_non_null(j);
	assert_int_equal(r, JOSE_OK);
	json_decref(j);
	assert_null(jose_json_object("{\"a\":1,\"a\":2}", 13, &r));
	assert_int_equal(r, JOSE_DUP_KEY);
	assert_null(jose_json_object("[1]", 3, &r));
	assert_int_equal(r, JOSE_NOT_OBJECT);
	assert_null(jose_json_object("{\"a\":", 5, &r));
	assert_int_equal(r, JOSE_NOT_OBJECT);
	assert_null(jose_json_object("{\"a\":\"\\u0000\"}", 14, &r));
	assert_int_equal(r, JOSE_NOT_OBJECT);
	memset(deep, '[', 40);
	memcpy(deep, "{\"a\":", 5);
	assert_null(jose_json_object(deep, 40, &r));
	assert_int_equal(r, JOSE_TOO_DEEP);
}

/* The group order of NID as SIZE big-endian bytes, from OpenSSL. */
static void
order_of(int nid, uint8_t *out, int size)
{
	EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);

	assert_non_null(g);
	assert_int_equal(BN_bn2binpad(EC_GROUP_get0_order(g), out, size), size);
	EC_GROUP_free(g);
}

static void
check_range(enum jose_alg alg, int nid, int size)
{
	uint8_t n[48], sig[96];
	int i;

	order_of(nid, n, size);
	memset(sig, 0, sizeof(sig));
	sig[size - 1] = 1;
	sig[2 * size - 1] = 1;
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size), JOSE_OK);
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size - 1),
	    JOSE_SIG_LENGTH);
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size + 1),
	    JOSE_SIG_LENGTH);
	/* r = n - 1 is the largest valid scalar; n and n + 1 are not. */
	memcpy(sig, n, size);
	sig[size - 1]--;
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size), JOSE_OK);
	sig[size - 1]++;
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size),
	    JOSE_SIG_RANGE);
	sig[size - 1]++;
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size),
	    JOSE_SIG_RANGE);
	/* s = 0 and s = 2^bits - 1. */
	memset(sig, 0, size);
	sig[size - 1] = 1;
	memset(sig + size, 0, size);
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size),
	    JOSE_SIG_RANGE);
	for (i = 0; i < size; i++)
		sig[size + i] = 0xff;
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size),
	    JOSE_SIG_RANGE);
	memcpy(sig + size, n, size);
	assert_int_equal(jose_ecdsa_raw_check(alg, sig, 2 * size),
	    JOSE_SIG_RANGE);
}

static void
test_ecdsa_range_p256(void **state)
{
	(void)state;
	check_range(JOSE_ALG_ES256, NID_X9_62_prime256v1, 32);
}

static void
test_ecdsa_range_p384(void **state)
{
	(void)state;
	check_range(JOSE_ALG_ES384, NID_secp384r1, 48);
}

static void
test_ecdsa_range_wrong_alg(void **state)
{
	uint8_t sig[64] = { 1 };

	(void)state;
	assert_int_equal(jose_ecdsa_raw_check(JOSE_ALG_RS256, sig, 64),
	    JOSE_KEY_MISMATCH);
}

static void
test_reason_names(void **state)
{
	int r, s;

	(void)state;
	assert_string_equal(jose_reason_name(JOSE_OK), "ok");
	assert_string_equal(jose_reason_name(JOSE_ALG_NONE), "alg-none");
	assert_string_equal(jose_reason_name(JOSE_SIG_RANGE),
	    "ecdsa-sig-range");
	/* Not jose_verify's, but in the same list for the same counters. */
	assert_string_equal(jose_reason_name(JOSE_LEEWAY_ONLY),
	    "expired-in-leeway");
	assert_string_equal(jose_reason_name(-1), "unknown");
	assert_string_equal(jose_reason_name(JOSE_REASON_MAX), "unknown");
	for (r = 0; r < JOSE_REASON_MAX; r++) {
		const char *n = jose_reason_name(r);

		assert_non_null(n);
		assert_true(strlen(n) > 1);
		/* kebab-case: lower-case letters and single dashes. */
		assert_true(
		    strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
		    strlen(n));
		assert_null(strstr(n, "--"));
		for (s = 0; s < r; s++)
			assert_string_not_equal(n, jose_reason_name(s));
	}
}

static void
test_alg_names(void **state)
{
	unsigned algs;
	int a;

	(void)state;
	for (a = 0; a < JOSE_ALG_MAX; a++)
		assert_int_equal(jose_alg_parse(jose_alg_name(a)), a);
	assert_int_equal(jose_alg_parse("rs256"), -1);
	assert_int_equal(jose_alg_parse("HS256"), -1);
	assert_int_equal(jose_alg_parse("none"), -1);
	assert_null(jose_alg_name(JOSE_ALG_MAX));
	assert_int_equal(jose_algs_parse("RS256,EdDSA", &algs), 0);
	assert_int_equal(algs,
	    JOSE_ALG_BIT(JOSE_ALG_RS256) | JOSE_ALG_BIT(JOSE_ALG_EDDSA));
	assert_int_equal(jose_algs_parse("RS256,,ES256", &algs), -1);
	assert_int_equal(jose_algs_parse("RS256,HS256", &algs), -1);
	assert_int_equal(jose_algs_parse("", &algs), -1);
}

static void
test_verify_size_and_shape_first(void **state)
{
	struct jose_issuer is = { .iss = "x",
		.algs = JOSE_ALGS_ALL,
		.max_token = 10 };
	struct jose_result res;

	(void)state;
	assert_int_equal(jose_verify(&is, 1, "a.b.c.d.e.f", 11, 0, &res),
	    JOSE_TOO_LARGE);
	jose_result_free(&res);
	assert_int_equal(jose_verify(&is, 1, "a.b", 3, 0, &res), JOSE_SEGMENTS);
	assert_int_equal(res.issuer, -1);
	assert_null(res.header);
	jose_result_free(&res);
	assert_int_equal(jose_verify(&is, 1, "e30.e30.", 8, 0, &res),
	    JOSE_HEADER_TYPE); /* {} has no alg */
	assert_non_null(res.header);
	jose_result_free(&res);
	/* No issuers at all: nothing fits, not even an empty token. */
	assert_int_equal(jose_verify(&is, 0, "", 0, 0, &res), JOSE_SEGMENTS);
	jose_result_free(&res);
}

static void
test_keyset_parse_errors(void **state)
{
	char err[128];
	const char *doc = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}";

	(void)state;
	assert_null(jose_keyset_parse(doc, strlen(doc), err, sizeof(err)));
	assert_non_null(strstr(err, "1 skipped, 0 refused"));
	assert_null(jose_keyset_parse("[]", 2, err, sizeof(err)));
	assert_null(jose_keyset_parse("{\"keys\":1}", 10, err, sizeof(err)));
	assert_int_equal(jose_keyset_count(NULL), 0);
	jose_keyset_free(NULL);
}

/*
 * A CA file that is a FIFO: OpenSSL's open of it waited for a writer,
 * and cordond with it.  Refused before any connection.
 */
static void
test_fetch_ca_fifo(void **state)
{
	char path[64], err[256] = "", *body = NULL;
	size_t len = 0;
	time_t t0 = time(NULL);

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_jose_ca.%d", (int)getpid());
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(jose_jwks_fetch("https://127.0.0.1:9/jwks", path, 2000,
	                     &body, &len, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_true(time(NULL) - t0 < 2);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_decode_vectors),
		cmocka_unit_test(test_b64url_decode_rejects),
		cmocka_unit_test(test_b64url_roundtrip),
		cmocka_unit_test(test_json_depth_guard),
		cmocka_unit_test(test_json_object_reasons),
		cmocka_unit_test(test_ecdsa_range_p256),
		cmocka_unit_test(test_ecdsa_range_p384),
		cmocka_unit_test(test_ecdsa_range_wrong_alg),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_fetch_ca_fifo),
		cmocka_unit_test(test_verify_size_and_shape_first),
		cmocka_unit_test(test_keyset_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
