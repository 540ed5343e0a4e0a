/*
 * Internals shared by the control/ident/jose_*.c files.
 */
#ifndef CORDON_JOSE_INT_H
#define CORDON_JOSE_INT_H

#include <stdarg.h>

#include "control/ident/jose.h"

#define JOSE_KID_MAX     128
#define JOSE_ALG_REFUSED (JOSE_ALG_MAX + 1)

struct jose_key {
	char kid[JOSE_KID_MAX];
	int has_kid;
	int alg; /* bound enum jose_alg, or JOSE_ALG_MAX: any fit */
	EVP_PKEY *pkey;
	unsigned fits; /* JOSE_ALG_BIT per alg the key's type fits */
	EVP_MD_CTX *vctx[JOSE_ALG_MAX]; /* verify templates, or NULL */
};

struct jose_keyset {
	unsigned n, skipped, refused;
	struct jose_key keys[JOSE_KEYS_MAX];
};

/* snprintf into ERR when ERR is not NULL. */
void jose_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Decodes member NAME of JWK, a base64url string, into a malloc'd buffer. */
uint8_t *jose_jwk_bytes(json_t *jwk, const char *name, size_t *len);

/*
 * jose_jwk_to_pkey with the reason of a failure: *ALG is -1 when the key
 * is merely unsupported (skip it), JOSE_ALG_REFUSED when it is bad.
 */
EVP_PKEY *jose_jwk_key(json_t *jwk, int *alg, char *err, size_t errlen);

/* 1 if strings A and B (lengths known) are equal, in constant time. */
int jose_str_eq(const char *a, size_t alen, const char *b, size_t blen);

/* Claims checks of the verified payload for issuer ISS at NOW. */
int jose_claims_check(const struct jose_issuer *iss, json_t *claims,
    int64_t now, char *detail, size_t dlen);

/*
 * Picks the key of KS for ALG and the header's KID (NULL: none);
 * JOSE_OK and *KEY, or the reason.
 */
int jose_keyset_pick(const struct jose_keyset *ks, enum jose_alg alg,
    const char *kid, const struct jose_key **key);

/* jose_vctx.c: the verify templates of a key (see there). */
void jose_key_prepare(struct jose_key *k);
void jose_key_copied(struct jose_key *k);
void jose_key_release(struct jose_key *k);

/* MCTX set up by EVP_DigestVerifyInit for ALG with PKEY; 0 or -1. */
int jose_evp_init(EVP_MD_CTX *mctx, EVP_PKEY *pkey, enum jose_alg alg);
/* jose_sig_verify with K's fit and template, both settled at load. */
int jose_sig_verify_key(const struct jose_key *k, enum jose_alg alg,
    const void *input, size_t inlen, const uint8_t *sig, size_t siglen);

/* Atomically replaces PATH with BUF (temporary file and rename). */
int jose_file_replace(const char *path, const char *buf, size_t len);
/* Reads PATH (at most MAX bytes) into a malloc'd NUL-terminated buffer. */
char *jose_file_read(const char *path, size_t max, size_t *len);

#endif
