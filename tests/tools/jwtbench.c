/*
 * jwtbench: tokens verified per second by jose_verify, per algorithm, on
 * the calling thread (bench/ident.sh pins it to one core), against
 * OpenSSL's own rate for the same signature in the same run.  Keys are
 * made here with OpenSSL, published to the verifier as a JWKS document,
 * and one token per algorithm is verified again and again.
 *
 * The reference is what `openssl speed` measures, plus hashing the same
 * signing input: the public key cordon imports from the JWK
 * (jose_jwk_to_pkey), one EVP_PKEY_CTX set up once, then per signature an
 * EVP_Digest and an EVP_PKEY_verify (EdDSA: one EVP_DigestVerify on a
 * context set up once, as openssl speed does).  ROUNDS rounds alternate
 * reference and cordon, SECONDS each; the figures are medians.  Time is
 * this thread's CPU time, as openssl speed counts it, so that other
 * processes on a shared machine do not land on one side only.
 *
 *   jwtbench [SECONDS [ROUNDS]]      defaults 1 and 3; prints a table
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "control/ident/jose.h"

#define JB_ISS        "https://idp.example/bench"
#define JB_NOW        1700000000
#define JB_TARGET     0.8 /* issue 16: cordon / OpenSSL, per algorithm */
#define JB_ROUNDS_MAX 15

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

/* The OpenSSL reference: the same public key, signature and input. */
struct jb_ref {
	EVP_PKEY *pub;
	EVP_PKEY_CTX *pctx; /* RSA, ECDSA: verify_init'ed once */
	EVP_MD_CTX *mctx;   /* EdDSA: DigestVerifyInit'ed once */
	EVP_MD *md;
	uint8_t sig[1024]; /* as OpenSSL takes it: DER for ECDSA */
	size_t siglen;
	const char *in; /* the signing input: the token up to its 2nd dot */
	size_t inlen;
};

static void
jb_sign(const struct jb_case *c, EVP_PKEY *pkey, char *tok, size_t toklen,
    struct jb_ref *ref)
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
	memcpy(ref->sig, sig, siglen);
	ref->siglen = siglen;
	if (c->ec_size)
		jb_ecdsa_raw(c, sig, &siglen);
	tok[n++] = '.';
	jb_b64(sig, siglen, tok + n, toklen - n);
}

static void
jb_ref_init(const struct jb_case *c, const char *jwk, const char *tok,
    struct jb_ref *ref)
{
	json_t *j = json_loads(jwk, 0, NULL);
	enum jose_alg alg;
	char err[128];

	if (j == NULL ||
	    (ref->pub = jose_jwk_to_pkey(j, &alg, err, sizeof(err))) == NULL)
		jb_die("reference key");
	json_decref(j);
	ref->in = tok;
	ref->inlen = (size_t)(strrchr(tok, '.') - tok);
	if (c->alg == JOSE_ALG_EDDSA) {
		if ((ref->mctx = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(ref->mctx, NULL, NULL, NULL,
		        ref->pub) != 1)
			jb_die("reference EdDSA init");
		return;
	}
	ref->md = EVP_MD_fetch(NULL,
	    c->alg == JOSE_ALG_ES384 ? "SHA384" : "SHA256", NULL);
	ref->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, ref->pub, NULL);
	if (ref->md == NULL || ref->pctx == NULL ||
	    EVP_PKEY_verify_init(ref->pctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ref->pctx, ref->md) != 1)
		jb_die("reference init");
	if (c->alg == JOSE_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(ref->pctx, RSA_PKCS1_PSS_PADDING) !=
	            1 ||
	        EVP_PKEY_CTX_set_rsa_pss_saltlen(ref->pctx,
	            RSA_PSS_SALTLEN_DIGEST) != 1))
		jb_die("reference PSS");
}

static void
jb_ref_free(struct jb_ref *ref)
{
	EVP_PKEY_CTX_free(ref->pctx);
	EVP_MD_CTX_free(ref->mctx);
	EVP_MD_free(ref->md);
	EVP_PKEY_free(ref->pub);
	memset(ref, 0, sizeof(*ref));
}

/* One reference verification; dies unless the signature is good. */
static void
jb_ref_once(struct jb_ref *ref)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned dlen;
	int ok;

	if (ref->mctx != NULL)
		ok = EVP_DigestVerify(ref->mctx, ref->sig, ref->siglen,
		         (const uint8_t *)ref->in, ref->inlen) == 1;
	else
		ok = EVP_Digest(ref->in, ref->inlen, d, &dlen, ref->md, NULL) ==
		         1 &&
		     EVP_PKEY_verify(ref->pctx, ref->sig, ref->siglen, d,
		         dlen) == 1;
	if (!ok)
		jb_die("reference verify");
}

/* A token for case C signed by a fresh key; the JWKS into ISS->keys. */
static void
jb_setup(const struct jb_case *c, struct jose_issuer *iss, char *tok,
    size_t toklen, struct jb_ref *ref)
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
	jb_sign(c, pkey, tok, toklen, ref);
	EVP_PKEY_free(pkey);
	jb_ref_init(c, jwk, tok, ref);
}

static double
jb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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

/* The reference's verifications per second over about SECS. */
static double
jb_ref_rate(struct jb_ref *ref, double secs)
{
	double t0 = jb_now(), t;
	unsigned long n = 0;
	int i;

	do {
		for (i = 0; i < 32; i++, n++)
			jb_ref_once(ref);
		t = jb_now() - t0;
	} while (t < secs);
	return (double)n / t;
}

static int
jb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
jb_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), jb_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ROUNDS alternating rounds of reference and cordon; one table row. */
static void
jb_compare(const char *label, struct jb_ref *ref, const struct jose_issuer *iss,
    const char *tok, double secs, int rounds)
{
	double cr[JB_ROUNDS_MAX] = { 0 }, rr[JB_ROUNDS_MAX] = { 0 },
	       q[JB_ROUNDS_MAX] = { 0 };
	double c, r, ratio;
	int i;

	for (i = 0; i < rounds; i++) {
		if (i % 2 == 0) {
			rr[i] = jb_ref_rate(ref, secs);
			cr[i] = jb_rate(iss, tok, secs, JOSE_OK);
		} else {
			cr[i] = jb_rate(iss, tok, secs, JOSE_OK);
			rr[i] = jb_ref_rate(ref, secs);
		}
		q[i] = cr[i] / rr[i];
	}
	c = jb_median(cr, rounds);
	r = jb_median(rr, rounds);
	ratio = jb_median(q, rounds);
	printf("%-18s %12.0f %12.0f %8.2f %9.3f %9.2f  %s\n", label, c, r,
	    1e6 / c - 1e6 / r, ratio, JB_TARGET,
	    ratio >= JB_TARGET ? "ok" : "BELOW");
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
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	struct jb_ref ref = { 0 };
	char tok[2048];
	size_t i;

	if (rounds < 1 || rounds > JB_ROUNDS_MAX)
		rounds = 3;
	printf("per CPU second of this thread; medians of %d alternating "
	       "rounds of %.1f s\n",
	    rounds, secs);
	printf("%-18s %12s %12s %8s %9s %9s\n", "algorithm", "cordon/s",
	    "openssl/s", "+us/tok", "ratio", "target");
	for (i = 0; i < sizeof(jb_cases) / sizeof(jb_cases[0]); i++) {
		jb_setup(&jb_cases[i], &iss, tok, sizeof(tok), &ref);
		jb_compare(jb_cases[i].label, &ref, &iss, tok, secs, rounds);
		/* A rejected forgery costs about as much: same work. */
		if (i == 0) {
			char *x = tok + strlen(tok) - 10;

			*x = *x == 'A' ? 'B' : 'A';
			rate = jb_rate(&iss, tok, secs / 2, JOSE_BAD_SIGNATURE);
			printf("%-18s %12.0f\n", "RS256 bad sig", rate);
		}
		jose_issuer_clear(&iss);
		jb_ref_free(&ref);
	}
	rate =
	    jb_rate(&iss, "eyJhbGciOiJub25lIn0.e30.", secs / 2, JOSE_ALG_NONE);
	printf("%-18s %12.0f\n", "alg none (reject)", rate);
	return 0;
}
