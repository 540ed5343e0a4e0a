/*
 * The knock's proof of possession: a signature over the whole knock up
 * to the signature block, by the key the token's cnf claim binds.  The
 * algorithms and encodings are JWS's (RFC 7518 section 3, RFC 8037), so
 * a client can reuse its JOSE library: ECDSA signatures travel as raw
 * r||s and are converted to DER only for OpenSSL.
 */
#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "control/ident/jose.h"
#include "control/ident/knock.h"

/* The wire numbering is enum jose_alg's; keep them one list. */
_Static_assert(KNOCK_ALG_RS256 == JOSE_ALG_RS256 &&
                   KNOCK_ALG_PS256 == JOSE_ALG_PS256 &&
                   KNOCK_ALG_ES256 == JOSE_ALG_ES256 &&
                   KNOCK_ALG_ES384 == JOSE_ALG_ES384 &&
                   KNOCK_ALG_EDDSA == JOSE_ALG_EDDSA &&
                   KNOCK_ALG_MAX == JOSE_ALG_MAX,
    "knock algorithms follow enum jose_alg");

#define KNOCK_RSA_MIN_BITS 2048
#define KNOCK_DER_MAX      160 /* P-384's DER signature: <= 104 */

/* P-256 -> 32, P-384 -> 48, any other EC group -> 0. */
static size_t
knock_ec_size(EVP_PKEY *key)
{
	char group[64];

	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
		return 0;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
		return 32;
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
		return 48;
	return 0;
}

int
knock_alg_for_key(EVP_PKEY *key)
{
	size_t n;

	if (EVP_PKEY_is_a(key, "RSA"))
		return KNOCK_ALG_RS256;
	if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448"))
		return KNOCK_ALG_EDDSA;
	n = knock_ec_size(key);
	if (n == 32)
		return KNOCK_ALG_ES256;
	if (n == 48)
		return KNOCK_ALG_ES384;
	return -1;
}

/* Whether KEY may sign as ALG: type, curve and (RSA) size. */
static bool
knock_key_fits(EVP_PKEY *key, int alg)
{
	switch (alg) {
	case KNOCK_ALG_RS256:
	case KNOCK_ALG_PS256:
		return EVP_PKEY_is_a(key, "RSA") &&
		       EVP_PKEY_get_bits(key) >= KNOCK_RSA_MIN_BITS;
	case KNOCK_ALG_ES256:
		return knock_ec_size(key) == 32;
	case KNOCK_ALG_ES384:
		return knock_ec_size(key) == 48;
	case KNOCK_ALG_EDDSA:
		return EVP_PKEY_is_a(key, "ED25519") ||
		       EVP_PKEY_is_a(key, "ED448");
	}
	return false;
}

static const EVP_MD *
knock_alg_md(int alg)
{
	if (alg == KNOCK_ALG_EDDSA)
		return NULL; /* EdDSA hashes internally */
	return alg == KNOCK_ALG_ES384 ? EVP_sha384() : EVP_sha256();
}

/* PS256: PSS with MGF1-SHA256 and a salt as long as the digest. */
static int
knock_pss_setup(EVP_PKEY_CTX *pctx, int alg)
{
	if (alg != KNOCK_ALG_PS256)
		return 1;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) ==
	           1;
}

/* Raw r||s (2*N bytes) -> DER in OUT; its length or -1. */
static int
knock_ecdsa_to_der(const uint8_t *raw, size_t n, uint8_t *out, size_t cap)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)n, NULL);
	BIGNUM *s = BN_bin2bn(raw + n, (int)n, NULL);
	int len = -1;

	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out_free;
	}
	if (i2d_ECDSA_SIG(es, NULL) <= (int)cap)
		len = i2d_ECDSA_SIG(es, &out);
out_free:
	ECDSA_SIG_free(es);
	return len;
}

/* DER -> raw r||s of 2*N bytes at OUT; 0 or -1. */
static int
knock_ecdsa_from_der(const uint8_t *der, size_t len, size_t n, uint8_t *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	int rc = -1;

	if (es == NULL)
		return -1;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, out, (int)n) == (int)n &&
	    BN_bn2binpad(s, out + n, (int)n) == (int)n)
		rc = 0;
	ECDSA_SIG_free(es);
	return rc;
}

/* OpenSSL's signature of DATA into SIG (*SIGLEN: in capacity, out length). */
static int
knock_evp_sign(EVP_PKEY *key, int alg, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t need = 0;
	int rc = -1;

	if (ctx == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, &pctx, knock_alg_md(alg), NULL, key) != 1 ||
	    !knock_pss_setup(pctx, alg) ||
	    EVP_DigestSign(ctx, NULL, &need, data, len) != 1 || need > *siglen)
		goto out_free;
	if (EVP_DigestSign(ctx, sig, &need, data, len) == 1) {
		*siglen = need;
		rc = 0;
	}
out_free:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The JWS form of the signature of DATA: raw r||s for ECDSA. */
static int
knock_jws_sign(EVP_PKEY *key, int alg, const uint8_t *data, size_t len,
    uint8_t *sig, size_t *siglen)
{
	uint8_t der[KNOCK_DER_MAX];
	size_t derlen = sizeof(der), n = knock_ec_size(key);

	if (alg != KNOCK_ALG_ES256 && alg != KNOCK_ALG_ES384)
		return knock_evp_sign(key, alg, data, len, sig, siglen);
	if (2 * n > *siglen ||
	    knock_evp_sign(key, alg, data, len, der, &derlen) < 0 ||
	    knock_ecdsa_from_der(der, derlen, n, sig) < 0)
		return -1;
	*siglen = 2 * n;
	return 0;
}

int
knock_pop_sign(uint8_t *buf, size_t cap, size_t len, EVP_PKEY *key, int alg)
{
	size_t room, siglen;

	if (len < KNOCK_HDR_LEN || !(buf[5] & KNOCK_FLAG_POP) ||
	    !knock_key_fits(key, alg)) {
		errno = EINVAL;
		return -1;
	}
	if (cap > KNOCK_MAX_LEN)
		cap = KNOCK_MAX_LEN;
	if (cap < len + KNOCK_SIG_HDR_LEN) {
		errno = ENOSPC;
		return -1;
	}
	room = cap - len - KNOCK_SIG_HDR_LEN;
	siglen = room < KNOCK_SIG_MAX ? room : KNOCK_SIG_MAX;
	if (knock_jws_sign(key, alg, buf, len, buf + len + KNOCK_SIG_HDR_LEN,
	        &siglen) < 0) {
		errno = (size_t)EVP_PKEY_get_size(key) > room ? ENOSPC : EIO;
		return -1;
	}
	buf[len] = (uint8_t)alg;
	buf[len + 1] = (uint8_t)(siglen >> 8);
	buf[len + 2] = (uint8_t)siglen;
	return (int)(len + KNOCK_SIG_HDR_LEN + siglen);
}

static int
knock_evp_verify(EVP_PKEY *key, int alg, const uint8_t *data, size_t len,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (ctx == NULL)
		return -1;
	ok = EVP_DigestVerifyInit(ctx, &pctx, knock_alg_md(alg), NULL, key) ==
	         1 &&
	     knock_pss_setup(pctx, alg) &&
	     EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
knock_pop_verify(const struct knock_msg *m, EVP_PKEY *key, int alg)
{
	uint8_t der[KNOCK_DER_MAX];
	size_t n;
	int derlen;

	if (key == NULL || m->sig == NULL || m->sig_alg < 0 ||
	    (alg != KNOCK_ALG_ANY && alg != KNOCK_ALG_MAX &&
	        alg != m->sig_alg) ||
	    !knock_key_fits(key, m->sig_alg))
		return -1;
	if (m->sig_alg != KNOCK_ALG_ES256 && m->sig_alg != KNOCK_ALG_ES384)
		return knock_evp_verify(key, m->sig_alg, m->signed_part,
		    m->signed_len, m->sig, m->sig_len);
	/* JWS fixes the length: no DER, no short or padded forms. */
	n = knock_ec_size(key);
	if (m->sig_len != 2 * n)
		return -1;
	derlen = knock_ecdsa_to_der(m->sig, n, der, sizeof(der));
	if (derlen < 0)
		return -1;
	return knock_evp_verify(key, m->sig_alg, m->signed_part, m->signed_len,
	    der, (size_t)derlen);
}
