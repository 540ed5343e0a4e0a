/*
 * JWK (RFC 7517, 7518 section 6, RFC 8037) to OpenSSL public keys.  Only
 * public members are read; a key is refused rather than guessed at when
 * anything about it is off, and its "alg" must agree with its type so a
 * key can never be used with an algorithm its owner did not mean.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "control/ident/jose_int.h"

#define JOSE_RSA_MIN_BITS 2048
#define JOSE_RSA_MAX_BITS 8192 /* verification cost grows with size */

uint8_t *
jose_jwk_bytes(json_t *jwk, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	size_t slen;
	uint8_t *buf;
	long n;

	if (s == NULL)
		return NULL;
	slen = strlen(s);
	if ((buf = malloc(slen * 3 / 4 + 1)) == NULL)
		return NULL;
	if ((n = jose_b64url_decode(s, slen, buf, slen * 3 / 4 + 1)) <= 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)n;
	return buf;
}

static EVP_PKEY *
jose_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* 0 if the public key passes OpenSSL's checks (point on the curve...). */
static int
jose_pkey_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static EVP_PKEY *
jose_rsa_import(json_t *jwk, char *err, size_t errlen)
{
	size_t nlen = 0, elen = 0;
	uint8_t *n = jose_jwk_bytes(jwk, "n", &nlen);
	uint8_t *e = jose_jwk_bytes(jwk, "e", &elen);
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	int bits;

	if (n == NULL || e == NULL || bld == NULL) {
		jose_errf(err, errlen, "RSA key without valid n and e");
		goto out;
	}
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	bits = bn ? BN_num_bits(bn) : 0;
	if (bits < JOSE_RSA_MIN_BITS || bits > JOSE_RSA_MAX_BITS) {
		jose_errf(err, errlen, "RSA modulus of %d bits (need %d-%d)",
		    bits, JOSE_RSA_MIN_BITS, JOSE_RSA_MAX_BITS);
		goto out;
	}
	if (be == NULL || !BN_is_odd(be) || BN_is_one(be) ||
	    BN_num_bits(be) > 64 ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (pkey = jose_pkey_fromdata("RSA", bld)) == NULL)
		jose_errf(err, errlen, "RSA key rejected (exponent or import)");
out:
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *
jose_ec_import(json_t *jwk, const char *group, size_t size, char *err,
    size_t errlen)
{
	size_t xlen = 0, ylen = 0;
	uint8_t *x = jose_jwk_bytes(jwk, "x", &xlen);
	uint8_t *y = jose_jwk_bytes(jwk, "y", &ylen);
	uint8_t pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;

	/* RFC 7518 6.2.1.2: x and y are exactly the field size, padded. */
	if (x == NULL || y == NULL || xlen != size || ylen != size ||
	    bld == NULL) {
		jose_errf(err, errlen, "EC key: x/y missing or not %zu bytes",
		    size);
		goto out;
	}
	pt[0] = 0x04;
	memcpy(pt + 1, x, size);
	memcpy(pt + 1 + size, y, size);
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	        group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
	        1 + 2 * size) ||
	    (pkey = jose_pkey_fromdata("EC", bld)) == NULL ||
	    jose_pkey_check(pkey) < 0) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		jose_errf(err, errlen, "EC point not on %s", group);
	}
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

static EVP_PKEY *
jose_okp_import(json_t *jwk, int type, size_t size, char *err, size_t errlen)
{
	size_t xlen = 0;
	uint8_t *x = jose_jwk_bytes(jwk, "x", &xlen);
	EVP_PKEY *pkey = NULL;

	if (x == NULL || xlen != size)
		jose_errf(err, errlen, "OKP key: x missing or not %zu bytes",
		    size);
	else if ((pkey = EVP_PKEY_new_raw_public_key(type, NULL, x, xlen)) ==
	         NULL)
		jose_errf(err, errlen, "OKP key rejected by OpenSSL");
	free(x);
	return pkey;
}

/*
 * The key's type: its natural algorithm (JOSE_ALG_MAX for RSA, which has
 * two) into *NATURAL, or -1 (unsupported kty/crv, message in ERR).
 */
static EVP_PKEY *
jose_jwk_import(json_t *jwk, int *natural, int *unsupported, char *err,
    size_t errlen)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	*unsupported = 0;
	if (kty != NULL && strcmp(kty, "RSA") == 0) {
		*natural = JOSE_ALG_MAX;
		return jose_rsa_import(jwk, err, errlen);
	}
	if (kty != NULL && strcmp(kty, "EC") == 0 && crv != NULL) {
		if (strcmp(crv, "P-256") == 0) {
			*natural = JOSE_ALG_ES256;
			return jose_ec_import(jwk, "prime256v1", 32, err,
			    errlen);
		}
		if (strcmp(crv, "P-384") == 0) {
			*natural = JOSE_ALG_ES384;
			return jose_ec_import(jwk, "secp384r1", 48, err,
			    errlen);
		}
	}
	if (kty != NULL && strcmp(kty, "OKP") == 0 && crv != NULL) {
		*natural = JOSE_ALG_EDDSA;
		if (strcmp(crv, "Ed25519") == 0)
			return jose_okp_import(jwk, EVP_PKEY_ED25519, 32, err,
			    errlen);
		if (strcmp(crv, "Ed448") == 0)
			return jose_okp_import(jwk, EVP_PKEY_ED448, 57, err,
			    errlen);
	}
	*unsupported = 1;
	jose_errf(err, errlen, "unsupported key type %s%s%s",
	    kty ? kty : "(none)", crv ? " " : "", crv ? crv : "");
	return NULL;
}

/*
 * What the JWK's "alg" member says: the enum jose_alg, JOSE_ALG_MAX when
 * absent, -1 for an algorithm we do not support that still fits the key
 * type (skip), JOSE_ALG_REFUSED for a contradiction or a symmetric alg.
 */
static int
jose_jwk_alg(json_t *jwk, EVP_PKEY *pkey)
{
	json_t *j = json_object_get(jwk, "alg");
	const char *s = json_string_value(j);
	int a, rsa = EVP_PKEY_is_a(pkey, "RSA"), ec = EVP_PKEY_is_a(pkey, "EC");

	if (j == NULL)
		return JOSE_ALG_MAX;
	if (s == NULL || strncmp(s, "HS", 2) == 0 || strcmp(s, "none") == 0)
		return JOSE_ALG_REFUSED;
	if ((a = jose_alg_parse(s)) >= 0)
		return jose_alg_fits_key(a, pkey) ? a : JOSE_ALG_REFUSED;
	if (strncmp(s, "RS", 2) == 0 || strncmp(s, "PS", 2) == 0)
		return rsa ? -1 : JOSE_ALG_REFUSED;
	if (strncmp(s, "ES", 2) == 0)
		return ec ? -1 : JOSE_ALG_REFUSED;
	return -1;
}

/* 1 if "use" and "key_ops" (when present) allow verifying signatures. */
static int
jose_jwk_for_sig(json_t *jwk)
{
	json_t *use = json_object_get(jwk, "use");
	json_t *ops = json_object_get(jwk, "key_ops"), *op;
	size_t i;

	if (use != NULL && (!json_is_string(use) ||
	                       strcmp(json_string_value(use), "sig") != 0))
		return 0;
	if (ops == NULL)
		return 1;
	json_array_foreach(ops, i, op)
		if (json_is_string(op) &&
		    strcmp(json_string_value(op), "verify") == 0)
			return 1;
	return 0;
}

EVP_PKEY *
jose_jwk_key(json_t *jwk, int *alg, char *err, size_t errlen)
{
	EVP_PKEY *pkey;
	int natural = JOSE_ALG_MAX, unsupported, a;

	*alg = -1;
	if (!json_is_object(jwk) || !jose_jwk_for_sig(jwk)) {
		jose_errf(err, errlen, "not a signature-verification key");
		return NULL;
	}
	pkey = jose_jwk_import(jwk, &natural, &unsupported, err, errlen);
	if (pkey == NULL) {
		*alg = unsupported ? -1 : JOSE_ALG_REFUSED;
		return NULL;
	}
	if ((a = jose_jwk_alg(jwk, pkey)) == JOSE_ALG_MAX)
		a = natural;
	*alg = a;
	if (a >= 0 && a != JOSE_ALG_REFUSED)
		return pkey;
	jose_errf(err, errlen,
	    a < 0 ? "unsupported alg" : "alg contradicts the key type");
	EVP_PKEY_free(pkey);
	return NULL;
}

EVP_PKEY *
jose_jwk_to_pkey(json_t *jwk, enum jose_alg *alg_out, char *err, size_t errlen)
{
	int a;
	EVP_PKEY *pkey = jose_jwk_key(jwk, &a, err, errlen);

	*alg_out = pkey ? (enum jose_alg)a : JOSE_ALG_MAX;
	return pkey;
}
