/*
 * jwtbench: tokens verified per second by jose_verify, per algorithm, on
 * the calling thread (bench/ident.sh pins it to one core).  Keys are made
 * here with OpenSSL, published to the verifier as a JWKS document, and one
 * token per algorithm is verified again and again for about SECONDS.
 *
 *   jwtbench [SECONDS]      default 1; prints a table
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include "control/ident/jose.h"

#define JB_ISS "https://idp.example/bench"
#define JB_NOW 1700000000

struct jb_case {
	const char *label, *jws_alg, *type, *param;
	enum jose_alg alg;
	size_t ec_size; /* raw r||s half size for ES* */
};

static const struct jb_case jb_cases[] = {
	{ "RS256 (2048)", "RS256", "RSA", NULL, JOSE_ALG_RS256, 0 },
	{ "PS256 (2048)", "PS256", "RSA", NULL, JOSE_ALG_PS256, 0 },
	{ "ES256 (P-256)", "ES256", "EC", "P-256", JOSE_ALG_ES256, 32 },
	{ "ES384 (P-384)", "ES384", "EC", "P-384", JOSE_ALG_ES384, 48 },
	{ "EdDSA (Ed25519)", "EdDSA", "ED25519", NULL, JOSE_ALG_EDDSA, 0 },
	{ "EdDSA (Ed448)", "EdDSA", "ED448", NULL, JOSE_ALG_EDDSA, 0 },
};

static void
jb_die(const char *what)
{
	fprintf(stderr, "jwtbench: %s failed\n", what);
	exit(1);
}

static void
jb_b64(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	if (jose_b64url_encode(p, n, out, outlen) < 0)
		jb_die("base64url");
}

/* The public JWK of PKEY as JSON text into OUT. */
static void
jb_jwk(const struct jb_case *c, EVP_PKEY *pkey, char *out, size_t outlen)
{
	uint8_t buf[1024];
	char a[1400], b[1400];
	size_t len = 0;
	BIGNUM *n = NULL;

	if (strcmp(c->type, "RSA") == 0) {
		if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n))
			jb_die("RSA n");
		len = (size_t)BN_bn2bin(n, buf);
		BN_free(n);
		jb_b64(buf, len, a, sizeof(a));
		snprintf(out, outlen,
		    "{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":"
		    "\"%s\",\"e\":\"AQAB\"}",
		    a);
	} else if (strcmp(c->type, "EC") == 0) {
		if (!EVP_PKEY_get_octet_string_param(pkey,
		        OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len) ||
		    len != 1 + 2 * c->ec_size)
			jb_die("EC point");
		jb_b64(buf + 1, c->ec_size, a, sizeof(a));
		jb_b64(buf + 1 + c->ec_size, c->ec_size, b, sizeof(b));
		snprintf(out, outlen,
		    "{\"kty\":\"EC\",\"kid\":\"k\",\"crv\":"
		    "\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
		    c->param, a, b);
	} else {
		len = sizeof(buf);
		if (!EVP_PKEY_get_raw_public_key(pkey, buf, &len))
			jb_die("OKP key");
		jb_b64(buf, len, a, sizeof(a));
		snprintf(out, outlen,
		    "{\"kty\":\"OKP\",\"kid\":\"k\",\"crv\":"
		    "\"%s\",\"x\":\"%s\"}",
		    strcmp(c->type, "ED448") == 0 ? "Ed448" : "Ed25519", a);
	}
}

/* DER ECDSA signature in SIG (*LEN) to raw r||s, in place. */
static void
jb_ecdsa_raw(const struct jb_case *c, uint8_t *sig, size_t *len)
{
	const uint8_t *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)*len);

	if (es == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)c->ec_size) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + c->ec_size,
	        (int)c->ec_size) < 0)
		jb_die("ECDSA raw");
	ECDSA_SIG_free(es);
	*len = 2 * c->ec_size;
}

static void
jb_sign(const struct jb_case *c, EVP_PKEY *pkey, char *tok, size_t toklen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = c->alg == JOSE_ALG_EDDSA   ? NULL
	                   : c->alg == JOSE_ALG_ES384 ? EVP_sha384()
	                                              : EVP_sha256();
	uint8_t sig[1024];
	size_t siglen = sizeof(sig), n = strlen(tok);

	if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) != 1)
		jb_die("sign init");
	if (c->alg == JOSE_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	            RSA_PSS_SALTLEN_DIGEST) != 1))
		jb_die("PSS");
	if (EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)tok, n) != 1)
		jb_die("sign");
	EVP_MD_CTX_free(ctx);
	if (c->ec_size)
		jb_ecdsa_raw(c, sig, &siglen);
	tok[n++] = '.';
	jb_b64(sig, siglen, tok + n, toklen - n);
}

/* A token for case C signed by a fresh key; the JWKS into ISS->keys. */
static void
jb_setup(const struct jb_case *c, struct jose_issuer *iss, char *tok,
    size_t toklen)
{
	EVP_PKEY *pkey =
	    c->param ? EVP_PKEY_Q_keygen(NULL, NULL, c->type, c->param)
	    : strcmp(c->type, "RSA") == 0
	        ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
	        : EVP_PKEY_Q_keygen(NULL, NULL, c->type);
	char jwk[4096], jwks[4200], hdr[64], pay[160], h[128], p[256], err[128];

	if (pkey == NULL)
		jb_die("keygen");
	jb_jwk(c, pkey, jwk, sizeof(jwk));
	snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", jwk);
	if ((iss->keys = jose_keyset_parse(jwks, strlen(jwks), err,
	         sizeof(err))) == NULL) {
		fprintf(stderr, "jwtbench: %s\n", err);
		exit(1);
	}
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k\"}",
	    c->jws_alg);
	snprintf(pay, sizeof(pay),
	    "{\"iss\":\"%s\",\"aud\":\"cordon\","
	    "\"sub\":\"alice\",\"iat\":%d,\"exp\":%d}",
	    JB_ISS, JB_NOW, JB_NOW + 600);
	jb_b64((uint8_t *)hdr, strlen(hdr), h, sizeof(h));
	jb_b64((uint8_t *)pay, strlen(pay), p, sizeof(p));
	snprintf(tok, toklen, "%s.%s", h, p);
	jb_sign(c, pkey, tok, toklen);
	EVP_PKEY_free(pkey);
}

static double
jb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Verifies TOK for about SECS seconds; tokens per second. */
static double
jb_rate(const struct jose_issuer *iss, const char *tok, double secs, int expect)
{
	struct jose_result res;
	double t0 = jb_now(), t;
	unsigned long n = 0;
	int i, r;

	do {
		for (i = 0; i < 32; i++, n++) {
			r = jose_verify(iss, 1, tok, strlen(tok), JB_NOW, &res);
			jose_result_free(&res);
			if (r != expect) {
				fprintf(stderr, "jwtbench: %s\n",
				    jose_reason_name(r));
				exit(1);
			}
		}
		t = jb_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

int
main(int argc, char **argv)
{
	struct jose_issuer iss = { .name = "bench",
		.iss = JB_ISS,
		.naud = 1,
		.aud = { "cordon" },
		.algs = JOSE_ALGS_ALL };
	double secs = argc > 1 ? atof(argv[1]) : 1.0, rate;
	char tok[2048];
	size_t i;

	printf("%-18s %14s %12s\n", "algorithm", "tokens/s", "us/token");
	for (i = 0; i < sizeof(jb_cases) / sizeof(jb_cases[0]); i++) {
		jb_setup(&jb_cases[i], &iss, tok, sizeof(tok));
		rate = jb_rate(&iss, tok, secs, JOSE_OK);
		printf("%-18s %14.0f %12.2f\n", jb_cases[i].label, rate,
		    1e6 / rate);
		/* A rejected forgery costs about as much: same work. */
		if (i == 0) {
			char *x = tok + strlen(tok) - 10;

			*x = *x == 'A' ? 'B' : 'A';
			rate = jb_rate(&iss, tok, secs / 2, JOSE_BAD_SIGNATURE);
			printf("%-18s %14.0f %12.2f\n", "RS256 bad sig", rate,
			    1e6 / rate);
		}
		jose_issuer_clear(&iss);
	}
	rate =
	    jb_rate(&iss, "eyJhbGciOiJub25lIn0.e30.", secs / 2, JOSE_ALG_NONE);
	printf("%-18s %14.0f %12.2f\n", "alg none (reject)", rate, 1e6 / rate);
	return 0;
}
