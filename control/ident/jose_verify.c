/*
 * The verification pipeline for compact JWS tokens, cheapest and least
 * trusting step first: size, shape, base64url, JSON guard, header rules
 * (RFC 8725: no "none", no HMAC, no crit, no nesting), issuer and key
 * selection, signature, then claims.  Nothing in the token names where
 * keys come from: jku, x5u, jwk and x5c headers are never read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/ident/jose_int.h"

struct jose_tok {
	const char *seg[3];
	size_t len[3];
	uint8_t *raw[3]; /* decoded header, payload, signature; raw[0] owns */
	size_t rawlen[3];
	size_t total;
};

#define JOSE_FAIL(out, r, ...)                                                 \
	(snprintf((out)->detail, sizeof((out)->detail), __VA_ARGS__), (r))

static int
jose_split(const char *tok, size_t len, struct jose_tok *t)
{
	const char *p = tok, *end = tok + len, *dot;
	unsigned n;

	for (n = 0; n < 3; n++) {
		dot = memchr(p, '.', (size_t)(end - p));
		if ((dot == NULL) != (n == 2))
			return -1; /* fewer or more than two dots */
		if (dot == NULL)
			dot = end;
		t->seg[n] = p;
		t->len[n] = (size_t)(dot - p);
		p = dot + 1;
	}
	return 0;
}

/* The three segments decoded into one allocation (raw[0] owns it). */
static int
jose_decode(struct jose_tok *t)
{
	size_t cap[3], sum = 0;
	uint8_t *p;
	long n;
	int i;

	/* +1 each: malloc(0) may return NULL, and JSON wants no NUL. */
	for (i = 0; i < 3; i++)
		sum += cap[i] = t->len[i] * 3 / 4 + 1;
	if ((p = malloc(sum)) == NULL)
		return JOSE_INTERNAL;
	for (i = 0; i < 3; i++) {
		t->raw[i] = p;
		p += cap[i];
		n = jose_b64url_decode(t->seg[i], t->len[i], t->raw[i], cap[i]);
		if (n < 0)
			return JOSE_BASE64;
		t->rawlen[i] = (size_t)n;
	}
	return JOSE_OK;
}

static void
jose_tok_free(struct jose_tok *t)
{
	free(t->raw[0]);
}

/* "crit" of any shape is refused; only the reason differs. */
static int
jose_crit_check(json_t *crit, struct jose_result *out)
{
	json_t *c;
	size_t i;

	if (!json_is_array(crit) || json_array_size(crit) == 0)
		return JOSE_FAIL(out, JOSE_CRIT_MALFORMED,
		    "crit is not a non-empty array");
	json_array_foreach(crit, i, c)
		if (!json_is_string(c) ||
		    json_object_get(out->header, json_string_value(c)) == NULL)
			return JOSE_FAIL(out, JOSE_CRIT_MALFORMED,
			    "crit names a missing or non-string member");
	return JOSE_FAIL(out, JOSE_CRIT, "crit extension \"%s\" not understood",
	    json_string_value(json_array_get(crit, 0)));
}

/* A "cty" of JWT means a nested token (RFC 7519 5.2), which we refuse. */
static int
jose_cty_nested(const char *cty)
{
	if (strncasecmp(cty, "application/", 12) == 0)
		cty += 12;
	return strcasecmp(cty, "JWT") == 0;
}

static int
jose_alg_check(json_t *jalg, struct jose_result *out)
{
	const char *alg = json_string_value(jalg);
	int a;

	if (alg == NULL)
		return JOSE_FAIL(out, JOSE_HEADER_TYPE,
		    "alg missing or not a "
		    "string");
	if (strcasecmp(alg, "none") == 0)
		return JOSE_FAIL(out, JOSE_ALG_NONE, "alg \"%.20s\"", alg);
	if (strncasecmp(alg, "HS", 2) == 0)
		return JOSE_FAIL(out, JOSE_ALG_HMAC,
		    "symmetric alg \"%.20s\" "
		    "is never accepted",
		    alg);
	if ((a = jose_alg_parse(alg)) < 0)
		return JOSE_FAIL(out, JOSE_ALG_UNSUPPORTED, "alg \"%.20s\"",
		    alg);
	out->alg = (enum jose_alg)a;
	return JOSE_OK;
}

static int
jose_header_check(struct jose_result *out, const char **kid)
{
	json_t *h = out->header, *crit, *cty, *jkid;
	int r;

	if ((r = jose_alg_check(json_object_get(h, "alg"), out)) != JOSE_OK)
		return r;
	if ((crit = json_object_get(h, "crit")) != NULL)
		return jose_crit_check(crit, out);
	cty = json_object_get(h, "cty");
	if (cty != NULL && !json_is_string(cty))
		return JOSE_FAIL(out, JOSE_HEADER_TYPE, "cty not a string");
	if (cty != NULL && jose_cty_nested(json_string_value(cty)))
		return JOSE_FAIL(out, JOSE_NESTED, "nested JWT not supported");
	jkid = json_object_get(h, "kid");
	if (jkid != NULL && !json_is_string(jkid))
		return JOSE_FAIL(out, JOSE_HEADER_TYPE, "kid not a string");
	*kid = json_string_value(jkid);
	return JOSE_OK;
}

/* The issuer whose "iss" is the payload's, all compared in constant time. */
static int
jose_issuer_pick(const struct jose_issuer *iss, unsigned niss,
    struct jose_result *out)
{
	json_t *j = json_object_get(out->claims, "iss");
	const char *s = json_string_value(j);
	unsigned i;
	int found = -1;

	if (s == NULL)
		return JOSE_FAIL(out, JOSE_ISSUER_UNKNOWN, "no iss claim");
	for (i = 0; i < niss; i++)
		if (jose_str_eq(s, json_string_length(j), iss[i].iss,
		        strlen(iss[i].iss)) &&
		    found < 0)
			found = (int)i;
	if (found < 0)
		return JOSE_FAIL(out, JOSE_ISSUER_UNKNOWN,
		    "iss \"%.60s\" not "
		    "configured",
		    s);
	out->issuer = found;
	return JOSE_OK;
}

static size_t
jose_max_token(const struct jose_issuer *iss, unsigned niss)
{
	size_t max = 0, m;
	unsigned i;

	for (i = 0; i < niss; i++) {
		m = iss[i].max_token ? iss[i].max_token
		                     : JOSE_MAX_TOKEN_DEFAULT;
		if (m > max)
			max = m;
	}
	return max;
}

/*
 * Offset of the first byte of TOK no compact JWS holds (NUL, control,
 * non-ASCII, '+', ...), or -1: the detail of a bad-base64 refusal.
 */
static long
jose_bad_byte(const char *tok, size_t len)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	                         "qrstuvwxyz0123456789-_.";

	for (size_t i = 0; i < len; i++)
		if (tok[i] == '\0' || strchr(ok, tok[i]) == NULL)
			return (long)i;
	return -1;
}

static int
jose_parse(const char *tok, struct jose_tok *t, struct jose_result *out,
    const char **kid)
{
	long bad;
	int r;

	if ((r = jose_decode(t)) != JOSE_OK) {
		if (r != JOSE_BASE64)
			return JOSE_FAIL(out, r, "out of memory");
		if ((bad = jose_bad_byte(tok, t->total)) >= 0)
			return JOSE_FAIL(out, r,
			    "byte 0x%02x at offset %ld is "
			    "not base64url",
			    (unsigned char)tok[bad], bad);
		return JOSE_FAIL(out, r, "a segment is not strict base64url");
	}
	out->header = jose_json_object((char *)t->raw[0], t->rawlen[0], &r);
	if (out->header == NULL)
		return JOSE_FAIL(out, r, "header: %s", jose_reason_name(r));
	if ((r = jose_header_check(out, kid)) != JOSE_OK)
		return r;
	out->claims = jose_json_object((char *)t->raw[1], t->rawlen[1], &r);
	if (out->claims == NULL)
		return JOSE_FAIL(out, r, "payload: %s", jose_reason_name(r));
	return JOSE_OK;
}

/* Issuer policy, key and signature of a parsed token. */
static int
jose_check(const struct jose_issuer *iss, unsigned niss, struct jose_tok *t,
    const char *kid, struct jose_result *out)
{
	const struct jose_issuer *is;
	const struct jose_key *key;
	int r;

	if ((r = jose_issuer_pick(iss, niss, out)) != JOSE_OK)
		return r;
	is = &iss[out->issuer];
	if (t->total > (is->max_token ? is->max_token : JOSE_MAX_TOKEN_DEFAULT))
		return JOSE_FAIL(out, JOSE_TOO_LARGE,
		    "larger than %s's "
		    "max_token",
		    is->name);
	if (!(is->algs & JOSE_ALG_BIT(out->alg)))
		return JOSE_FAIL(out, JOSE_ALG_NOT_ALLOWED,
		    "%s not allowed "
		    "for %s",
		    jose_alg_name(out->alg), is->name);
	if ((r = jose_keyset_pick(is->keys, out->alg, kid, &key)) != JOSE_OK)
		return JOSE_FAIL(out, r, "kid \"%.40s\", %s", kid ? kid : "",
		    jose_alg_name(out->alg));
	r = jose_sig_verify_key(key, out->alg, t->seg[0],
	    t->len[0] + 1 + t->len[1], t->raw[2], t->rawlen[2]);
	if (r != JOSE_OK)
		return JOSE_FAIL(out, r, "%s signature",
		    jose_alg_name(out->alg));
	return JOSE_OK;
}

int
jose_verify(const struct jose_issuer *iss, unsigned niss, const char *tok,
    size_t len, int64_t now, struct jose_result *out)
{
	struct jose_tok t = { 0 };
	const char *kid = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	out->issuer = -1;
	out->alg = JOSE_ALG_MAX;
	if (len > jose_max_token(iss, niss))
		return JOSE_FAIL(out, JOSE_TOO_LARGE, "%zu bytes", len);
	t.total = len;
	if (jose_split(tok, len, &t) < 0)
		return JOSE_FAIL(out, JOSE_SEGMENTS, "not three segments");
	if ((r = jose_parse(tok, &t, out, &kid)) == JOSE_OK &&
	    (r = jose_check(iss, niss, &t, kid, out)) == JOSE_OK &&
	    (r = jose_claims_check(&iss[out->issuer], out->claims, now,
	         out->detail, sizeof(out->detail))) == JOSE_OK)
		snprintf(out->detail, sizeof(out->detail), "%s by %s",
		    jose_alg_name(out->alg), iss[out->issuer].name);
	jose_tok_free(&t);
	return r;
}

void
jose_result_free(struct jose_result *out)
{
	json_decref(out->header);
	json_decref(out->claims);
	out->header = out->claims = NULL;
}
