/*
 * JOSE / JWT verification for Cordon's identity feature (RFC 7515, 7517,
 * 7518, 7519, 8037, 8725).  Signed tokens (JWS compact form) from the
 * organisation's identity providers open time-limited paths, so every
 * step fails closed and every rejection has its own stable reason name.
 *
 * Asymmetric algorithms only (RS256, PS256, ES256, ES384, EdDSA with
 * Ed25519 or Ed448): HS* is never accepted, whatever the key set says,
 * so a public key can never be turned into an HMAC secret.  Headers that
 * name keys (jku, x5u, jwk, x5c) are ignored: only configured keys count.
 *
 * OpenSSL 3 EVP and jansson; libcurl for the JWKS fetch.  No globals
 * besides libcurl's one-time init; a key set is read-only once built, the
 * caller serialises jose_issuer_refresh with verifications of that issuer.
 */
#ifndef CORDON_JOSE_H
#define CORDON_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#define JOSE_AUD_MAX           8
#define JOSE_DEPTH_MAX         16    /* JSON nesting accepted anywhere */
#define JOSE_MAX_TOKEN_DEFAULT 8192  /* when jose_issuer.max_token is 0 */
#define JOSE_LIFETIME_DEFAULT  86400 /* when jose_issuer.max_lifetime is 0 */
#define JOSE_JWKS_MAX          (256 * 1024) /* bytes of a JWKS document */
#define JOSE_KEYS_MAX          64           /* keys kept from one document */
#define JOSE_DETAIL_MAX        160

enum jose_alg {
	JOSE_ALG_RS256,
	JOSE_ALG_PS256,
	JOSE_ALG_ES256,
	JOSE_ALG_ES384,
	JOSE_ALG_EDDSA,
	JOSE_ALG_MAX
};

#define JOSE_ALG_BIT(a) (1u << (a))
#define JOSE_ALGS_ALL   ((1u << JOSE_ALG_MAX) - 1)

/*
 * Why a token was rejected.  The names are stable: counters, logs and
 * `cordonctl explain` use them, docs/identity-tokens.md explains them.
 * The last ones are not jose_verify's but its callers', for the same
 * counters: LEEWAY_ONLY is a token that verifies only thanks to the
 * leeway (exp has passed), which cannot open a session.
 */
#define JOSE_REASONS(X)                                                        \
	X(OK, "ok")                                                            \
	X(TOO_LARGE, "too-large")                                              \
	X(SEGMENTS, "segments")                                                \
	X(BASE64, "bad-base64")                                                \
	X(NOT_OBJECT, "not-json-object")                                       \
	X(DUP_KEY, "duplicate-key")                                            \
	X(TOO_DEEP, "too-deep")                                                \
	X(HEADER_TYPE, "header-type")                                          \
	X(ALG_NONE, "alg-none")                                                \
	X(ALG_HMAC, "alg-hmac")                                                \
	X(ALG_UNSUPPORTED, "alg-unsupported")                                  \
	X(ALG_NOT_ALLOWED, "alg-not-allowed")                                  \
	X(CRIT, "crit-unknown")                                                \
	X(CRIT_MALFORMED, "crit-malformed")                                    \
	X(NESTED, "nested")                                                    \
	X(ISSUER_UNKNOWN, "issuer-unknown")                                    \
	X(UNKNOWN_KID, "unknown-kid")                                          \
	X(NO_KEY, "no-key")                                                    \
	X(KEY_AMBIGUOUS, "key-ambiguous")                                      \
	X(KEY_MISMATCH, "alg-key-mismatch")                                    \
	X(SIG_LENGTH, "ecdsa-sig-length")                                      \
	X(SIG_RANGE, "ecdsa-sig-range")                                        \
	X(BAD_SIGNATURE, "bad-signature")                                      \
	X(CLAIM_TYPE, "claim-type")                                            \
	X(MISSING_EXP, "missing-exp")                                          \
	X(EXPIRED, "expired")                                                  \
	X(NOT_YET_VALID, "not-yet-valid")                                      \
	X(IAT_FUTURE, "iat-future")                                            \
	X(IAT_TOO_OLD, "iat-too-old")                                          \
	X(LIFETIME, "lifetime-too-long")                                       \
	X(AUD_MISMATCH, "aud-mismatch")                                        \
	X(INTERNAL, "internal-error")                                          \
	X(LEEWAY_ONLY, "expired-in-leeway")

#define JOSE_REASON_ENUM(id, name) JOSE_##id,
enum jose_reason { JOSE_REASONS(JOSE_REASON_ENUM) JOSE_REASON_MAX };
#undef JOSE_REASON_ENUM

struct jose_keyset;

struct jose_issuer {
	char name[32]; /* config name */
	char iss[256]; /* exact issuer string */
	unsigned naud;
	char aud[JOSE_AUD_MAX][128];
	unsigned algs;         /* JOSE_ALG_BIT per accepted enum jose_alg */
	unsigned leeway;       /* seconds of clock skew allowed */
	unsigned max_token;    /* bytes; 0 = JOSE_MAX_TOKEN_DEFAULT */
	unsigned max_lifetime; /* seconds; 0 = JOSE_LIFETIME_DEFAULT */
	char jwks_file[256];   /* "" or a JWKS file */
	char jwks_uri[512];    /* "" or https:// URL */
	char ca_file[256];     /* CA bundle for jwks_uri; "" = system default */
	unsigned refresh;      /* seconds between jwks_uri refreshes */
	struct jose_keyset *keys; /* owned: file keys + last good fetch */
};

struct jose_result {
	int issuer;        /* index into the issuer array, -1 if none */
	enum jose_alg alg; /* valid once the header was accepted */
	json_t *header;    /* decoded header, NULL before it parsed */
	json_t *claims;    /* decoded payload, NULL before it parsed */
	char detail[JOSE_DETAIL_MAX]; /* human words on the outcome */
};

/* Stable kebab-case name of a jose_reason; "unknown" if out of range. */
const char *jose_reason_name(int r);
/* "RS256", ... for an enum jose_alg; NULL if out of range. */
const char *jose_alg_name(int alg);
/* The enum jose_alg of a JWS "alg" name (exact case); -1 if unsupported. */
int jose_alg_parse(const char *name);
/* "RS256,ES256" -> bit mask in *ALGS; -1 on an unknown name. */
int jose_algs_parse(const char *list, unsigned *algs);

/*
 * Verifies compact JWS TOK (LEN bytes, no NUL needed) against the NISS
 * issuers at unix time NOW.  The issuer is chosen by the payload's "iss"
 * (read before the signature is checked, only to pick the keys), then the
 * key by "kid" or, without kid, the one key that fits the algorithm.
 * Returns JOSE_OK or the reason; OUT is always filled (free it with
 * jose_result_free, also on failure).
 */
int jose_verify(const struct jose_issuer *iss, unsigned niss, const char *tok,
    size_t len, int64_t now, struct jose_result *out);
void jose_result_free(struct jose_result *out);

/*
 * A JWKS document into a key set.  Keys of unsupported kty, crv or alg,
 * or with "use" other than "sig", are skipped; keys that are malformed,
 * too weak (RSA < 2048 bits), or whose "alg" contradicts their type are
 * refused; both are counted.  NULL (and ERR) if the document is not a
 * JWKS or leaves no usable key.
 */
struct jose_keyset *jose_keyset_parse(const char *json, size_t len, char *err,
    size_t errlen);
struct jose_keyset *jose_keyset_load_file(const char *path, char *err,
    size_t errlen);
/* A new set with the keys of A and of B (either may be NULL). */
struct jose_keyset *jose_keyset_merge(const struct jose_keyset *a,
    const struct jose_keyset *b);
void jose_keyset_free(struct jose_keyset *ks);
/* Usable keys in KS (0 for NULL). */
unsigned jose_keyset_count(const struct jose_keyset *ks);
/* Keys skipped as unsupported / refused as bad when KS was parsed. */
unsigned jose_keyset_skipped(const struct jose_keyset *ks);
unsigned jose_keyset_refused(const struct jose_keyset *ks);

/*
 * One JWK (a JSON object) into a public EVP_PKEY.  *ALG_OUT is the key's
 * "alg" when it has one, else the one algorithm its type allows (ES256
 * for P-256, ES384 for P-384, EdDSA for OKP), else JOSE_ALG_MAX (RSA
 * without "alg": RS256 or PS256).  Private members are ignored.  NULL
 * (and ERR, *ALG_OUT = JOSE_ALG_MAX) on anything unsupported or malformed.
 */
EVP_PKEY *jose_jwk_to_pkey(json_t *jwk, enum jose_alg *alg_out, char *err,
    size_t errlen);
/* 1 if ALG may be used with PKEY (type and curve match), else 0. */
int jose_alg_fits_key(enum jose_alg alg, EVP_PKEY *pkey);
/*
 * Checks SIG over INPUT with PKEY and ALG (which must fit the key):
 * JOSE_OK, JOSE_SIG_LENGTH / JOSE_SIG_RANGE (ES*), JOSE_KEY_MISMATCH or
 * JOSE_BAD_SIGNATURE.  Usable on its own for proof-of-possession keys.
 */
int jose_sig_verify(EVP_PKEY *pkey, enum jose_alg alg, const void *input,
    size_t inlen, const uint8_t *sig, size_t siglen);

/*
 * GETs JWKS URL (https only, certificate and host name verified against
 * CA_FILE or the system store, no redirects, at most JOSE_JWKS_MAX bytes,
 * status 200) into a malloc'd NUL-terminated *BODY.  0 or -1 and ERR.
 */
int jose_jwks_fetch(const char *url, const char *ca_file, unsigned timeout_ms,
    char **body, size_t *len, char *err, size_t errlen);

/*
 * jose_jwks_fetch with the trusted CAs as CA_LEN bytes of PEM (the fetch
 * child reads no file once sandboxed); CA_LEN 0: libcurl's default.
 */
int jose_jwks_fetch_blob(const char *url, const void *ca, size_t ca_len,
    unsigned timeout_ms, char **body, size_t *len, char *err, size_t errlen);
/* libcurl's one-time initialisation, now (before a sandbox). */
void jose_fetch_init(void);

enum jose_refresh_result {
	JOSE_REFRESH_FAILED = -1, /* no keys at all */
	JOSE_REFRESH_FETCHED = 0, /* new set from jwks_uri (and file) */
	JOSE_REFRESH_CACHED,      /* fetch failed; cache file loaded */
	JOSE_REFRESH_KEPT,        /* fetch failed; last good set kept */
	JOSE_REFRESH_FILE,        /* no jwks_uri: set from jwks_file */
};

/*
 * Rebuilds ISS->keys from jwks_file and a fetch of jwks_uri.  The set is
 * replaced only when the new document parses with at least one usable
 * key; a good document is written to CACHE_PATH (NULL: no cache), which
 * is read instead when the fetch fails and there are no keys yet (a
 * restart without network).  Returns an enum jose_refresh_result; ERR
 * says why a fetch failed.
 */
int jose_issuer_refresh(struct jose_issuer *iss, const char *cache_path,
    unsigned timeout_ms, char *err, size_t errlen);
/* Frees ISS->keys. */
void jose_issuer_clear(struct jose_issuer *iss);

/*
 * Strict base64url (RFC 4648 section 5, no padding, no other bytes,
 * unused bits zero) of IN into OUT (room for len*3/4 bytes); the decoded
 * length, or -1.
 */
long jose_b64url_decode(const char *in, size_t len, uint8_t *out,
    size_t outlen);
/* Base64url without padding, NUL-terminated; length or -1 if no room. */
long jose_b64url_encode(const uint8_t *in, size_t len, char *out,
    size_t outlen);

/*
 * 0 if the JSON text nests objects/arrays at most MAX deep (strings
 * skipped, escapes honoured), -1 otherwise.  Cheap, before jansson.
 */
int jose_json_depth_ok(const char *s, size_t len, unsigned max);
/*
 * Parses an object with duplicate keys refused, after the depth guard.
 * NULL and *REASON (JOSE_TOO_DEEP, JOSE_DUP_KEY, JOSE_NOT_OBJECT).
 */
json_t *jose_json_object(const char *s, size_t len, int *reason);

/*
 * ECDSA JWS signature (raw r||s) checks: exactly 2*size bytes, r and s in
 * [1, n-1] for the curve of ALG (ES256/ES384).  JOSE_OK, JOSE_SIG_LENGTH
 * or JOSE_SIG_RANGE.
 */
int jose_ecdsa_raw_check(enum jose_alg alg, const uint8_t *sig, size_t len);

#endif
