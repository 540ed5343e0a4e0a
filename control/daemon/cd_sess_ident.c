/*
 * The trusted issuers of the running config, with their keys: a JWKS
 * file, and the issuer's jwks_uri fetched over verified HTTPS, cached in
 * the state folder and refreshed; the last good set is kept when a
 * refresh fails.  Fetches block the loop for at most CD_JWKS_TIMEOUT_MS.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cordond.h"

#define CD_JWKS_TIMEOUT_MS 3000

static void
cd_ident_issuer(struct jose_issuer *j, const struct conf_issuer *c)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->name, sizeof(j->name), "%s", c->name);
	snprintf(j->iss, sizeof(j->iss), "%s", c->iss);
	j->naud = c->naud;
	for (unsigned i = 0; i < c->naud && i < JOSE_AUD_MAX; i++)
		snprintf(j->aud[i], sizeof(j->aud[i]), "%s", c->aud[i]);
	/* CONF_ALGS lists the algorithms in enum jose_alg's order. */
	j->algs = c->algs;
	j->leeway = c->leeway;
	j->max_token = c->max_token;
	j->max_lifetime = c->max_lifetime;
	snprintf(j->jwks_file, sizeof(j->jwks_file), "%s", c->jwks_file);
	snprintf(j->jwks_uri, sizeof(j->jwks_uri), "%s", c->jwks_uri);
	snprintf(j->ca_file, sizeof(j->ca_file), "%s", c->ca_file);
	j->refresh = c->refresh;
}

static void
cd_ident_fetch(struct cd *d, struct jose_issuer *j)
{
	char cache[CONF_PATH_MAX + 64], err[256];
	int rc;

	snprintf(cache, sizeof(cache), "%s/jwks-%s.json", d->ctl.state_dir,
	    j->name);
	rc = jose_issuer_refresh(j, j->jwks_uri[0] ? cache : NULL,
	    CD_JWKS_TIMEOUT_MS, err, sizeof(err));
	if (rc == JOSE_REFRESH_FAILED)
		cd_log("issuer %s: no usable keys: %s", j->name, err);
	else if (rc == JOSE_REFRESH_CACHED || rc == JOSE_REFRESH_KEPT)
		cd_log("issuer %s: jwks_uri: %s; %s keys kept (%u)", j->name,
		    err, rc == JOSE_REFRESH_CACHED ? "cached" : "last good",
		    jose_keyset_count(j->keys));
}

/* C's issuers into ISS, each with its keys (a failure is logged). */
int
cd_ident_build(struct cd *d, const struct conf *c, struct jose_issuer *iss,
    unsigned *n)
{
	const struct conf_identity *id = &c->identity;

	*n = id->nissuers;
	for (unsigned i = 0; i < *n; i++) {
		cd_ident_issuer(&iss[i], &id->issuers[i]);
		cd_ident_fetch(d, &iss[i]);
	}
	return 0;
}

void
cd_ident_clear(struct jose_issuer *iss, unsigned *n)
{
	for (unsigned i = 0; i < *n; i++)
		jose_issuer_clear(&iss[i]);
	*n = 0;
}

int
cd_ident_find(const struct jose_issuer *iss, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(iss[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Issuers with a jwks_uri, each on its own refresh period. */
void
cd_ident_refresh(struct cd *d, bool force)
{
	struct cd_sessions *s = d->sess;
	/* A refresh period, not a token time. */
	int64_t now = clk_boot_s();
	unsigned period = 0;

	if (!force && now < s->next_refresh)
		return;
	for (unsigned i = 0; i < s->niss; i++) {
		if (s->iss[i].jwks_uri[0] == '\0')
			continue;
		cd_ident_fetch(d, &s->iss[i]);
		if (period == 0 || s->iss[i].refresh < period)
			period = s->iss[i].refresh;
	}
	s->next_refresh = now + (period ? period : 3600);
}

/*
 * The unix second a session from CLAIMS would end at the latest: the
 * token's exp, whole seconds (the verifier accepted it as a number; it
 * may have a fraction).
 */
int64_t
cd_ident_exp(const json_t *claims, int64_t now)
{
	double e = json_number_value(json_object_get(claims, "exp"));

	return e > 0 && e < 1e12 ? (int64_t)e : now;
}

int
cd_ident_check(struct cd *d, const char *tok, size_t len,
    struct jose_result *res)
{
	struct cd_sessions *s = d->sess;
	int64_t now = clk_unix_s(), exp;
	int rc = jose_verify(s->iss, s->niss, tok, len, now, res);

	if (rc != JOSE_OK)
		return rc;
	if (res->issuer < 0 || (unsigned)res->issuer >= s->niss)
		return JOSE_INTERNAL;
	/* The leeway forgives clock skew; it adds no lifetime. */
	if ((exp = cd_ident_exp(res->claims, now)) <= now) {
		snprintf(res->detail, sizeof(res->detail),
		    "exp is %lld s ago, "
		    "accepted only within the %u s leeway: a session would "
		    "be expired at once",
		    (long long)(now - exp), s->iss[res->issuer].leeway);
		return JOSE_LEEWAY_ONLY;
	}
	return JOSE_OK;
}

int
cd_ident_refuse(struct cd *d, int rc, const char *detail, struct cd_err *e)
{
	struct cd_sessions *s = d->sess;

	s->refused++;
	if (rc >= 0 && rc < JOSE_REASON_MAX)
		s->reason[rc]++;
	cd_syslog_event(d, "token-refused", "token refused", "reason",
	    jose_reason_name(rc), NULL);
	return cd_fail(e, "token-refused", "%s: %s", jose_reason_name(rc),
	    detail);
}

int
cd_ident_verify(struct cd *d, const char *tok, size_t len,
    struct jose_result *res, struct cd_err *e)
{
	int rc = cd_ident_check(d, tok, len, res);

	if (rc == JOSE_OK)
		return 0;
	cd_ident_refuse(d, rc, res->detail, e);
	jose_result_free(res);
	return -1;
}
