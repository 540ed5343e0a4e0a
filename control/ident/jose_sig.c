/*
 * JWS signature checks (RFC 7518 section 3).  The algorithm comes from
 * the header but must fit the key: an RSA key never verifies ES*, a
 * P-384 key never ES256, and nothing verifies HMAC.  ECDSA signatures are
 * the raw r||s of RFC 7518 3.4, checked for length and range before they
 * are turned into the DER OpenSSL wants: a DER blob, a short r or an
 * out-of-range scalar is refused by name instead of by accident.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "control/ident/jose_int.h"

/* Group orders n of P-256 and P-384 (SEC 2), big-endian. */
static const uint8_t jose_p256_n[32] = {
	0xff,
	0xff,
	0xff,
	0xff,
	0x00,
	0x00,
	0x00,
	0x00,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xbc,
	0xe6,
	0xfa,
	0xad,
	0xa7,
	0x17,
	0x9e,
	0x84,
	0xf3,
	0xb9,
	0xca,
	0xc2,
	0xfc,
	0x63,
	0x25,
	0x51,
};
static const uint8_t jose_p384_n[48] = {
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xff,
	0xc7,
	0x63,
	0x4d,
	0x81,
	0xf4,
	0x37,
	0x2d,
	0xdf,
	0x58,
	0x1a,
	0x0d,
	0xb2,
	0x48,
	0xb0,
	0xa7,
	0x7a,
	0xec,
	0xec,
	0x19,
	0x6a,
	0xcc,
	0xc5,
	0x29,
	0x73,
};

/* 1 if big-endian scalar X (SIZE bytes) is in [1, N-1]. */
static int
jose_scalar_ok(const uint8_t *x, const uint8_t *n, size_t size)
{
	size_t i;
	int nonzero = 0;

	for (i = 0; i < size; i++)
		nonzero |= x[i];
	return nonzero && memcmp(x, n, size) < 0;
}

int
jose_ecdsa_raw_check(enum jose_alg alg, const uint8_t *sig, size_t len)
{
	const uint8_t *n;
	size_t size;

	if (alg == JOSE_ALG_ES256) {
		n = jose_p256_n;
		size = sizeof(jose_p256_n);
	} else if (alg == JOSE_ALG_ES384) {
		n = jose_p384_n;
		size = sizeof(jose_p384_n);
	} else {
		return JOSE_KEY_MISMATCH;
	}
	if (len != 2 * size)
		return JOSE_SIG_LENGTH;
	if (!jose_scalar_ok(sig, n, size) ||
	    !jose_scalar_ok(sig + size, n, size))
		return JOSE_SIG_RANGE;
	return JOSE_OK;
}

static int
jose_ec_group_is(EVP_PKEY *pkey, const char *group)
{
	char name[64];
	size_t len;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len))
		return 0;
	return strcmp(name, group) == 0;
}

int
jose_alg_fits_key(enum jose_alg alg, EVP_PKEY *pkey)
{
	switch (alg) {
	case JOSE_ALG_RS256:
	case JOSE_ALG_PS256:
		return EVP_PKEY_is_a(pkey, "RSA");
	case JOSE_ALG_ES256:
		return jose_ec_group_is(pkey, "prime256v1");
	case JOSE_ALG_ES384:
		return jose_ec_group_is(pkey, "secp384r1");
	case JOSE_ALG_EDDSA:
		return EVP_PKEY_is_a(pkey, "ED25519") ||
		       EVP_PKEY_is_a(pkey, "ED448");
	default:
		return 0;
	}
}

/* Raw r||s (already range-checked) into a malloc'd DER ECDSA-Sig-Value. */
static int
jose_ecdsa_der(const uint8_t *sig, size_t len, uint8_t **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(len / 2), NULL);
	BIGNUM *s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	int n = -1;

	*der = NULL;
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
	} else {
		n = i2d_ECDSA_SIG(es, der);
	}
	ECDSA_SIG_free(es);
	return n;
}

static const EVP_MD *
jose_alg_md(enum jose_alg alg)
{
	if (alg == JOSE_ALG_EDDSA)
		return NULL; /* EdDSA hashes on its own */
	return alg == JOSE_ALG_ES384 ? EVP_sha384() : EVP_sha256();
}

int
jose_evp_init(EVP_MD_CTX *mctx, EVP_PKEY *pkey, enum jose_alg alg)
{
	EVP_PKEY_CTX *pctx = NULL;

	if (EVP_DigestVerifyInit(mctx, &pctx, jose_alg_md(alg), NULL, pkey) !=
	    1)
		return -1;
	if (alg == JOSE_ALG_PS256 &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
	            RSA_PSS_SALTLEN_DIGEST) != 1 ||
	        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1))
		return -1;
	return 0;
}

/*
 * One EVP_DigestVerify, from a copy of the key's template TMPL when it
 * has one (jose_vctx.c), else set up here; 1 if SIG is good.
 */
static int
jose_evp_verify(EVP_PKEY *pkey, const EVP_MD_CTX *tmpl, enum jose_alg alg,
    const void *input, size_t inlen, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	int ok = 0;

	if (mctx == NULL)
		goto out;
	if (tmpl != NULL ? EVP_MD_CTX_copy_ex(mctx, tmpl) != 1
	                 : jose_evp_init(mctx, pkey, alg) < 0)
		goto out;
	ok = EVP_DigestVerify(mctx, sig, siglen, input, inlen) == 1;
out:
	EVP_MD_CTX_free(mctx);
	/* A failed verification leaves errors queued; do not let them pile. */
	ERR_clear_error();
	return ok;
}

/* jose_sig_verify once ALG is known to fit PKEY. */
static int
jose_sig_check(EVP_PKEY *pkey, const EVP_MD_CTX *tmpl, enum jose_alg alg,
    const void *input, size_t inlen, const uint8_t *sig, size_t siglen)
{
	uint8_t *der = NULL;
	int r, n;

	if (alg != JOSE_ALG_ES256 && alg != JOSE_ALG_ES384)
		return jose_evp_verify(pkey, tmpl, alg, input, inlen, sig,
		           siglen)
		           ? JOSE_OK
		           : JOSE_BAD_SIGNATURE;
	if ((r = jose_ecdsa_raw_check(alg, sig, siglen)) != JOSE_OK)
		return r;
	if ((n = jose_ecdsa_der(sig, siglen, &der)) <= 0)
		return JOSE_INTERNAL;
	r = jose_evp_verify(pkey, tmpl, alg, input, inlen, der, (size_t)n)
	        ? JOSE_OK
	        : JOSE_BAD_SIGNATURE;
	OPENSSL_free(der);
	return r;
}

int
jose_sig_verify(EVP_PKEY *pkey, enum jose_alg alg, const void *input,
    size_t inlen, const uint8_t *sig, size_t siglen)
{
	if (alg >= JOSE_ALG_MAX || !jose_alg_fits_key(alg, pkey))
		return JOSE_KEY_MISMATCH;
	return jose_sig_check(pkey, NULL, alg, input, inlen, sig, siglen);
}

int
jose_sig_verify_key(const struct jose_key *k, enum jose_alg alg,
    const void *input, size_t inlen, const uint8_t *sig, size_t siglen)
{
	if (alg >= JOSE_ALG_MAX || !(k->fits & JOSE_ALG_BIT(alg)))
		return JOSE_KEY_MISMATCH;
	return jose_sig_check(k->pkey, k->vctx[alg], alg, input, inlen, sig,
	    siglen);
}
