/*
 * JWKS documents (RFC 7517 section 5) into key sets, and picking the key
 * for a token.  A set is built once and then only read, so a verifier
 * never sees a half-updated set: a refresh builds a new one and swaps.
 */
#include <stdlib.h>
#include <string.h>

#include "control/ident/jose_int.h"

void
jose_keyset_free(struct jose_keyset *ks)
{
	unsigned i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		jose_key_release(&ks->keys[i]);
	free(ks);
}

unsigned
jose_keyset_count(const struct jose_keyset *ks)
{
	return ks ? ks->n : 0;
}

unsigned
jose_keyset_skipped(const struct jose_keyset *ks)
{
	return ks ? ks->skipped : 0;
}

unsigned
jose_keyset_refused(const struct jose_keyset *ks)
{
	return ks ? ks->refused : 0;
}

/* Adds one JWK to KS, or counts it as skipped or refused. */
static void
jose_keyset_add(struct jose_keyset *ks, json_t *jwk)
{
	json_t *kid = json_object_get(jwk, "kid");
	struct jose_key *k = &ks->keys[ks->n];
	EVP_PKEY *pkey;
	int alg;

	if (kid != NULL && (!json_is_string(kid) ||
	                       json_string_length(kid) >= sizeof(k->kid))) {
		ks->refused++;
		return;
	}
	if ((pkey = jose_jwk_key(jwk, &alg, NULL, 0)) == NULL) {
		if (alg < 0)
			ks->skipped++;
		else
			ks->refused++;
		return;
	}
	if (ks->n == JOSE_KEYS_MAX) {
		EVP_PKEY_free(pkey);
		ks->skipped++;
		return;
	}
	memset(k, 0, sizeof(*k));
	k->has_kid = kid != NULL;
	if (kid != NULL)
		memcpy(k->kid, json_string_value(kid), json_string_length(kid));
	k->alg = alg;
	k->pkey = pkey;
	jose_key_prepare(k);
	ks->n++;
}

struct jose_keyset *
jose_keyset_parse(const char *json, size_t len, char *err, size_t errlen)
{
	struct jose_keyset *ks;
	json_t *doc, *keys, *jwk;
	int reason;
	size_t i;

	if (len > JOSE_JWKS_MAX ||
	    (doc = jose_json_object(json, len, &reason)) == NULL) {
		jose_errf(err, errlen, "JWKS: %s",
		    len > JOSE_JWKS_MAX ? "too large"
		                        : jose_reason_name(reason));
		return NULL;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys) || (ks = calloc(1, sizeof(*ks))) == NULL) {
		jose_errf(err, errlen, "JWKS: no \"keys\" array");
		json_decref(doc);
		return NULL;
	}
	json_array_foreach(keys, i, jwk)
		jose_keyset_add(ks, jwk);
	json_decref(doc);
	if (ks->n == 0) {
		jose_errf(err, errlen,
		    "JWKS: no usable key (%u skipped, %u "
		    "refused)",
		    ks->skipped, ks->refused);
		jose_keyset_free(ks);
		return NULL;
	}
	return ks;
}

struct jose_keyset *
jose_keyset_load_file(const char *path, char *err, size_t errlen)
{
	struct jose_keyset *ks;
	size_t len;
	char *buf = jose_file_read(path, JOSE_JWKS_MAX, &len);

	if (buf == NULL) {
		jose_errf(err, errlen,
		    "%s: cannot read (or larger than %d "
		    "bytes)",
		    path, JOSE_JWKS_MAX);
		return NULL;
	}
	ks = jose_keyset_parse(buf, len, err, errlen);
	free(buf);
	return ks;
}

static void
jose_keyset_copy_in(struct jose_keyset *dst, const struct jose_keyset *src)
{
	unsigned i;

	for (i = 0; src != NULL && i < src->n; i++) {
		if (dst->n == JOSE_KEYS_MAX) {
			dst->skipped++;
			continue;
		}
		dst->keys[dst->n] = src->keys[i];
		EVP_PKEY_up_ref(src->keys[i].pkey);
		jose_key_copied(&dst->keys[dst->n]);
		dst->n++;
	}
	if (src != NULL) {
		dst->skipped += src->skipped;
		dst->refused += src->refused;
	}
}

struct jose_keyset *
jose_keyset_merge(const struct jose_keyset *a, const struct jose_keyset *b)
{
	struct jose_keyset *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	jose_keyset_copy_in(ks, a);
	jose_keyset_copy_in(ks, b);
	return ks;
}

/*
 * 1 if key K may verify ALG: bound to it, or unbound and of a fitting
 * type (K->fits, from jose_alg_fits_key when the set was built).
 */
static int
jose_key_fits(const struct jose_key *k, enum jose_alg alg)
{
	if (k->alg != JOSE_ALG_MAX && k->alg != (int)alg)
		return 0;
	return (k->fits & JOSE_ALG_BIT(alg)) != 0;
}

/* With a kid: that key, which must fit ALG. */
static int
jose_pick_kid(const struct jose_keyset *ks, enum jose_alg alg, const char *kid,
    const struct jose_key **key)
{
	unsigned i, found = 0, fit = 0;

	for (i = 0; i < ks->n; i++) {
		if (!ks->keys[i].has_kid || strcmp(ks->keys[i].kid, kid) != 0)
			continue;
		found++;
		if (jose_key_fits(&ks->keys[i], alg)) {
			fit++;
			*key = &ks->keys[i];
		}
	}
	if (fit != 1)
		*key = NULL;
	if (found == 0)
		return JOSE_UNKNOWN_KID;
	if (fit == 0)
		return JOSE_KEY_MISMATCH;
	return fit == 1 ? JOSE_OK : JOSE_KEY_AMBIGUOUS;
}

int
jose_keyset_pick(const struct jose_keyset *ks, enum jose_alg alg,
    const char *kid, const struct jose_key **key)
{
	unsigned i, fit = 0;

	*key = NULL;
	if (ks == NULL || ks->n == 0)
		return JOSE_NO_KEY;
	if (kid != NULL)
		return jose_pick_kid(ks, alg, kid, key);
	for (i = 0; i < ks->n; i++) {
		if (jose_key_fits(&ks->keys[i], alg)) {
			fit++;
			*key = &ks->keys[i];
		}
	}
	if (fit > 1)
		*key = NULL;
	return fit == 0 ? JOSE_NO_KEY : fit == 1 ? JOSE_OK : JOSE_KEY_AMBIGUOUS;
}
