/*
 * libFuzzer harness for the JWT verifier (control/ident/jose_*.c) with a
 * fixed key set (Ed25519 "ed", P-256 "ec", RSA-2048 "rsa"; test keys made
 * for this harness only).  The first input byte picks a mode:
 *
 *   0-1  the rest is the token, as received;
 *   2-3  the rest is HEADER \0 PAYLOAD \0 SIGNATURE, base64url-encoded here
 *        so the fuzzer spends its time on JSON and signatures;
 *   4-   HEADER \0 PAYLOAD, signed with the harness's Ed25519 key
 *        (deterministic), so claims checks and key selection are reached.
 *
 * Checks: the reason is a named one; JOSE_OK comes only with an issuer, a
 * header and claims, and never for alg none or HMAC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ident/jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_NOW 1700000000
#define FZ_MAX 8192

static const char fz_jwks[] =
    "{\"keys\": ["
    "{\"crv\": \"Ed25519\", \"kid\": \"ed\", \"kty\": \"OKP\", \"x\": "
    "\"BHKt_P3_ImvXPB0FTh9Jz3pGIgg0q_5Wd7fsrR5VXK8\"},"
    "{\"crv\": \"P-256\", \"kid\": \"ec\", \"kty\": \"EC\", \"x\": "
    "\"inFqs47NChH4ZTkYSxs55T3YPpejkifrwHAeosfyi0M\", \"y\": "
    "\"djmMbTk48zgd39__EZvbHicj6qUNCaP5I-iLjFDADn0\"},"
    "{\"e\": \"AQAB\", \"kid\": \"rsa\", \"kty\": \"RSA\", \"n\": "
    "\"ucCpvmcYOt9hcUmyASupeg6QQOVkZTCpPHXYQiDUTLJYrGh0E-_L0salZH4BiS2qT"
    "KAbz6FCQ3tNZEB62ip_lewpHuO08NtQWtrQpfyzV5eEzRGth45hfnr15qgCqV068zp"
    "DUBYV2_T-l_OEovj8UeOGT-lA5XMwzhBXoqYrkmZ6vX9T5DdWv2uxd-QplaHWUcATL"
    "_L5ehIDwrMYCSBtyUcnBIkwqkFW7KlwtO891PPN3SAVEFhtjn9vugaKwDvFDzRqDJT"
    "v7u3ojO9lk072EbrP95UAEPGCP0svvxx7B-XonnGe2xiRhXC4_3O983Hs6la7jDOE"
    "YtnUh5HVLrxC5w\"}]}";

/* The private half of "ed" (RFC 8037 "d"), for mode 4. */
static const char fz_ed_d[] = "BUBxtiXdm6kVEFHag_LOmyZKsNIllgmeHeCqkls5mlc";

static struct jose_issuer fz_iss[2];
static EVP_PKEY *fz_signer;

static void
fz_setup(void)
{
	uint8_t d[32];

	strcpy(fz_iss[0].name, "a");
	strcpy(fz_iss[0].iss, "https://idp.example");
	fz_iss[0].naud = 2;
	strcpy(fz_iss[0].aud[0], "cordon");
	strcpy(fz_iss[0].aud[1], "other");
	fz_iss[0].algs = JOSE_ALGS_ALL;
	fz_iss[0].leeway = 30;
	fz_iss[0].keys = jose_keyset_parse(fz_jwks, strlen(fz_jwks), NULL, 0);
	fz_iss[1] = fz_iss[0];
	strcpy(fz_iss[1].name, "b");
	strcpy(fz_iss[1].iss, "b");
	fz_iss[1].algs = JOSE_ALG_BIT(JOSE_ALG_ES256);
	fz_iss[1].max_token = 600;
	fz_iss[1].max_lifetime = 60;
	if (fz_iss[0].keys == NULL || jose_keyset_count(fz_iss[0].keys) != 3 ||
	    jose_b64url_decode(fz_ed_d, strlen(fz_ed_d), d, sizeof(d)) != 32)
		abort();
	fz_signer =
	    EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, sizeof(d));
	if (fz_signer == NULL)
		abort();
}

/* Appends base64url(P, N) to TOK at *LEN; returns 0 or -1 if no room. */
static int
fz_put(char *tok, size_t *len, const uint8_t *p, size_t n)
{
	long w = jose_b64url_encode(p, n, tok + *len, FZ_MAX - *len);

	if (w < 0)
		return -1;
	*len += (size_t)w;
	return 0;
}

static int
fz_sign(char *tok, size_t *len)
{
	uint8_t sig[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL &&
	         EVP_DigestSignInit(ctx, NULL, NULL, NULL, fz_signer) == 1 &&
	         EVP_DigestSign(ctx, sig, &siglen, (uint8_t *)tok, *len) == 1;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		abort();
	if (*len + 1 >= FZ_MAX)
		return -1;
	tok[(*len)++] = '.';
	return fz_put(tok, len, sig, siglen);
}

/* Modes 2+: builds the token from NUL-separated parts into TOK. */
static int
fz_build(int sign, const uint8_t *data, size_t size, char *tok, size_t *len)
{
	const uint8_t *p = data, *end = data + size, *z;
	int part;

	*len = 0;
	for (part = 0; part < (sign ? 2 : 3); part++) {
		z = part < (sign ? 1 : 2) ? memchr(p, 0, (size_t)(end - p))
		                          : NULL;
		if (z == NULL)
			z = end;
		if ((part > 0 && (tok[(*len)++] = '.', 0)) ||
		    fz_put(tok, len, p, (size_t)(z - p)) < 0)
			return -1;
		p = z < end ? z + 1 : end;
	}
	return sign ? fz_sign(tok, len) : 0;
}

static void
fz_check(int r, const struct jose_result *res)
{
	const char *alg;

	if (strcmp(jose_reason_name(r), "unknown") == 0)
		abort();
	if (r != JOSE_OK)
		return;
	if (res->issuer < 0 || res->issuer > 1 || res->header == NULL ||
	    res->claims == NULL || res->alg >= JOSE_ALG_MAX)
		abort();
	alg = json_string_value(json_object_get(res->header, "alg"));
	if (alg == NULL || strcmp(alg, jose_alg_name(res->alg)) != 0)
		abort();
	if (json_object_get(res->claims, "exp") == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[FZ_MAX + 1];
	struct jose_result res;
	size_t len;
	int r;

	if (fz_signer == NULL)
		fz_setup();
	if (size < 1 || size > FZ_MAX)
		return 0;
	if (data[0] < 2) {
		len = size - 1;
		memcpy(tok, data + 1, len);
	} else if (fz_build(data[0] >= 4, data + 1, size - 1, tok, &len) < 0) {
		return 0;
	}
	r = jose_verify(fz_iss, 2, tok, len, FZ_NOW, &res);
	fz_check(r, &res);
	jose_result_free(&res);
	return 0;
}
