/*
 * The per-key verify templates (control/ident/jose_vctx.c): a key set
 * built once verifies token after token with the same outcome as the
 * first, good and bad alternating, the PSS parameters survive the copy,
 * and a merged set keeps working after its sources are freed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "control/ident/jose.h"

#define T_ISS "https://idp.example/t"
#define T_NOW 1700000000

static void
b64(const void *p, size_t n, char *out, size_t outlen)
{
	assert_true(jose_b64url_encode(p, n, out, outlen) > 0);
}

/* A JWKS of the public half of PKEY (RSA or Ed25519), kid K. */
static struct jose_keyset *
t_keys(EVP_PKEY *pkey)
{
	uint8_t buf[512];
	char a[800], doc[1024], err[128];
	size_t len = sizeof(buf);
	BIGNUM *n = NULL;
	struct jose_keyset *ks;

	if (EVP_PKEY_is_a(pkey, "RSA")) {
		assert_true(
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n));
		len = (size_t)BN_bn2bin(n, buf);
		BN_free(n);
		b64(buf, len, a, sizeof(a));
		snprintf(doc, sizeof(doc),
		    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\","
		    "\"n\":\"%s\",\"e\":\"AQAB\"}]}",
		    a);
	} else {
		assert_true(EVP_PKEY_get_raw_public_key(pkey, buf, &len));
		b64(buf, len, a, sizeof(a));
		snprintf(doc, sizeof(doc),
		    "{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"k\","
		    "\"crv\":\"Ed25519\",\"x\":\"%s\"}]}",
		    a);
	}
	ks = jose_keyset_parse(doc, strlen(doc), err, sizeof(err));
	assert_non_null(ks);
	return ks;
}

/* A token of ALG signed by PKEY; SALT is PS256's salt length. */
static void
t_token(EVP_PKEY *pkey, const char *alg, int salt, char *tok, size_t toklen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	char hdr[64], pay[160], h[128], p[256];
	uint8_t sig[512];
	size_t siglen = sizeof(sig), n;
	int eddsa = strcmp(alg, "EdDSA") == 0;

	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k\"}", alg);
	snprintf(pay, sizeof(pay),
	    "{\"iss\":\"%s\",\"aud\":\"cordon\",\"sub\":\"a\","
	    "\"iat\":%d,\"exp\":%d}",
	    T_ISS, T_NOW, T_NOW + 600);
	b64(hdr, strlen(hdr), h, sizeof(h));
	b64(pay, strlen(pay), p, sizeof(p));
	snprintf(tok, toklen, "%s.%s", h, p);
	n = strlen(tok);
	assert_non_null(m);
	assert_int_equal(EVP_DigestSignInit(m, &pctx,
	                     eddsa ? NULL : EVP_sha256(), NULL, pkey),
	    1);
	if (strcmp(alg, "PS256") == 0) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx,
		                     RSA_PKCS1_PSS_PADDING),
		    1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt),
		    1);
	}
	assert_int_equal(EVP_DigestSign(m, sig, &siglen, (uint8_t *)tok, n), 1);
	EVP_MD_CTX_free(m);
	tok[n++] = '.';
	b64(sig, siglen, tok + n, toklen - n);
}

static int
t_verify(struct jose_keyset *ks, const char *tok)
{
	struct jose_issuer iss = { .name = "t",
		.iss = T_ISS,
		.naud = 1,
		.aud = { "cordon" },
		.algs = JOSE_ALGS_ALL,
		.keys = ks };
	struct jose_result res;
	int r = jose_verify(&iss, 1, tok, strlen(tok), T_NOW, &res);

	jose_result_free(&res);
	return r;
}

/* The outcome of a token does not depend on what the key verified before. */
static void
t_alternate(struct jose_keyset *ks, const char *good, const char *bad)
{
	int i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(t_verify(ks, good), JOSE_OK);
		assert_int_equal(t_verify(ks, bad), JOSE_BAD_SIGNATURE);
	}
}

static void
test_template_reused_rsa_pss(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct jose_keyset *ks;
	char good[2048], salt[2048], rs[2048];

	(void)state;
	assert_non_null(pkey);
	ks = t_keys(pkey);
	t_token(pkey, "PS256", RSA_PSS_SALTLEN_DIGEST, good, sizeof(good));
	/* RFC 7518 3.5: the salt is as long as the hash; 64 is refused. */
	t_token(pkey, "PS256", 64, salt, sizeof(salt));
	t_token(pkey, "RS256", 0, rs, sizeof(rs));
	t_alternate(ks, good, salt);
	/* One unbound RSA key serves both RSA algorithms, each its own. */
	assert_int_equal(t_verify(ks, rs), JOSE_OK);
	assert_int_equal(t_verify(ks, good), JOSE_OK);
	assert_int_equal(t_verify(ks, salt), JOSE_BAD_SIGNATURE);
	jose_keyset_free(ks);
	EVP_PKEY_free(pkey);
}

static void
test_template_merged_outlives_sources(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct jose_keyset *a, *m;
	char good[1024], bad[1024];
	size_t n;

	(void)state;
	assert_non_null(pkey);
	a = t_keys(pkey);
	t_token(pkey, "EdDSA", 0, good, sizeof(good));
	memcpy(bad, good, sizeof(bad));
	n = strlen(bad) - 5;
	bad[n] = bad[n] == 'A' ? 'B' : 'A';
	t_alternate(a, good, bad);
	m = jose_keyset_merge(a, NULL);
	assert_non_null(m);
	jose_keyset_free(a);
	t_alternate(m, good, bad);
	jose_keyset_free(m);
	EVP_PKEY_free(pkey);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_reused_rsa_pss),
		cmocka_unit_test(test_template_merged_outlives_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
