/*
 * Registered claims (RFC 7519 section 4.1) of a verified payload: the
 * time window with leeway, the lifetime bound that keeps a leaked token
 * from opening a path for long, and the audience.  Issuer and audience
 * strings are compared in constant time.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "control/ident/jose_int.h"

/* NumericDates beyond this are not dates (and would lose precision). */
#define JOSE_DATE_MAX 1e12

int
jose_str_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	return a != NULL && b != NULL && alen == blen &&
	       CRYPTO_memcmp(a, b, alen) == 0;
}

/*
 * Claim NAME as a NumericDate into *V: 1 if present, 0 if absent, -1 if
 * it is not a sane number.
 */
static int
jose_date(json_t *claims, const char *name, double *v)
{
	json_t *j = json_object_get(claims, name);

	if (j == NULL)
		return 0;
	if (!json_is_number(j))
		return -1;
	*v = json_number_value(j);
	return *v > -JOSE_DATE_MAX && *v < JOSE_DATE_MAX ? 1 : -1;
}

static int
jose_aud_one(const struct jose_issuer *iss, json_t *aud)
{
	unsigned i;
	const char *s = json_string_value(aud);
	size_t len = json_string_length(aud);
	int match = 0;

	if (s == NULL)
		return 0;
	for (i = 0; i < iss->naud && i < JOSE_AUD_MAX; i++)
		match |= jose_str_eq(s, len, iss->aud[i], strlen(iss->aud[i]));
	return match;
}

/* JOSE_OK if one of the token's audiences is one of the issuer's. */
static int
jose_aud_check(const struct jose_issuer *iss, json_t *claims)
{
	json_t *aud = json_object_get(claims, "aud"), *a;
	size_t i;
	int match = 0;

	if (json_is_string(aud))
		return jose_aud_one(iss, aud) ? JOSE_OK : JOSE_AUD_MISMATCH;
	if (aud != NULL && !json_is_array(aud))
		return JOSE_CLAIM_TYPE;
	json_array_foreach(aud, i, a) {
		if (!json_is_string(a))
			return JOSE_CLAIM_TYPE;
		match |= jose_aud_one(iss, a);
	}
	return match ? JOSE_OK : JOSE_AUD_MISMATCH;
}

struct jose_times {
	double exp, nbf, iat;
	int has_nbf, has_iat;
};

static int
jose_times_get(json_t *claims, struct jose_times *t, char *detail, size_t dlen)
{
	int e = jose_date(claims, "exp", &t->exp);

	t->has_nbf = jose_date(claims, "nbf", &t->nbf);
	t->has_iat = jose_date(claims, "iat", &t->iat);
	if (e < 0 || t->has_nbf < 0 || t->has_iat < 0) {
		snprintf(detail, dlen, "exp, nbf or iat is not a NumericDate");
		return JOSE_CLAIM_TYPE;
	}
	if (e == 0) {
		snprintf(detail, dlen, "no exp claim");
		return JOSE_MISSING_EXP;
	}
	return JOSE_OK;
}

static int
jose_times_check(const struct jose_issuer *iss, const struct jose_times *t,
    double now, char *detail, size_t dlen)
{
	double leeway = iss->leeway;
	double life = iss->max_lifetime ? iss->max_lifetime
	                                : JOSE_LIFETIME_DEFAULT;

	if (t->exp + leeway < now) {
		snprintf(detail, dlen, "expired %.0f s ago", now - t->exp);
		return JOSE_EXPIRED;
	}
	if (t->has_nbf && t->nbf - leeway > now) {
		snprintf(detail, dlen, "valid in %.0f s", t->nbf - now);
		return JOSE_NOT_YET_VALID;
	}
	if (t->has_iat && t->iat - leeway > now) {
		snprintf(detail, dlen, "issued %.0f s in the future",
		    t->iat - now);
		return JOSE_IAT_FUTURE;
	}
	if (t->has_iat && now - t->iat > life + leeway) {
		snprintf(detail, dlen, "issued %.0f s ago", now - t->iat);
		return JOSE_IAT_TOO_OLD;
	}
	if (t->exp - (t->has_iat ? t->iat : now) > life) {
		snprintf(detail, dlen, "lifetime %.0f s > %.0f s",
		    t->exp - (t->has_iat ? t->iat : now), life);
		return JOSE_LIFETIME;
	}
	return JOSE_OK;
}

int
jose_claims_check(const struct jose_issuer *iss, json_t *claims, int64_t now,
    char *detail, size_t dlen)
{
	struct jose_times t = { 0 };
	int r;

	if ((r = jose_times_get(claims, &t, detail, dlen)) != JOSE_OK ||
	    (r = jose_times_check(iss, &t, (double)now, detail, dlen)) !=
	        JOSE_OK)
		return r;
	if ((r = jose_aud_check(iss, claims)) != JOSE_OK)
		snprintf(detail, dlen,
		    r == JOSE_CLAIM_TYPE ? "aud is not a "
		                           "string or an array of strings"
		                         : "no accepted audience");
	return r;
}
