/*
 * The trusted issuers of the running config and their keys.  cordond
 * reads the documents' bytes (the jwks_file, the jwks_uri cache in the
 * state folder) and keeps them, but parses none of them: the identity
 * child does (cd_proc_ident.c), and verifies every token.  The fetch
 * child gets each jwks_uri on its refresh period; nothing here waits
 * for a fetch.  docs/identity.md, "Processes".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/daemon/cordond.h"
#include "core/util/ropen.h"

/* A document's bytes into a malloc'd *OUT (NULL when unreadable). */
static void
cd_ident_read(const char *path, char **out, size_t *len)
{
	FILE *f = ropen_file(path);
	char *b;
	size_t n;

	*out = NULL;
	*len = 0;
	if (f == NULL)
		return;
	if ((b = malloc(IDENT_DOC_MAX + 1)) != NULL) {
		n = fread(b, 1, IDENT_DOC_MAX + 1, f);
		if (n > 0 && n <= IDENT_DOC_MAX) {
			*out = b;
			*len = n;
		} else {
			free(b);
		}
	}
	fclose(f);
}

void
cd_ident_unload(struct cd_sessions *s)
{
	for (unsigned i = 0; i < CONF_ISSUER_MAX; i++) {
		free(s->ikeys[i].file);
		free(s->ikeys[i].uri);
		free(s->ikeys[i].pend);
		memset(&s->ikeys[i], 0, sizeof(s->ikeys[i]));
	}
	s->nikeys = 0;
}

/*
 * A commit keeps an issuer's last good jwks_uri document, by name (its
 * cache file is named so too) until a fetch brings a new one; a new
 * issuer starts from its cache file.
 */
static void
cd_ident_keep(const struct conf_issuer *ci, struct cd_iss_keys *k,
    const struct cd_iss_keys *old, unsigned nold)
{
	for (unsigned j = 0; j < nold; j++)
		if (strcmp(old[j].name, ci->name) == 0 && old[j].uri) {
			k->uri = old[j].uri;
			k->uri_len = old[j].uri_len;
			return;
		}
}

void
cd_ident_load(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	const struct conf_identity *id = &d->run.conf->identity;
	struct cd_iss_keys old[CONF_ISSUER_MAX];
	unsigned nold = s->nikeys;
	char cache[CONF_PATH_MAX + 64];

	memcpy(old, s->ikeys, sizeof(old));
	memset(s->ikeys, 0, sizeof(s->ikeys));
	s->ident_conf = d->run.conf;
	s->ident_rev = d->run.rev;
	s->nikeys = id->nissuers;
	for (unsigned i = 0; i < id->nissuers; i++) {
		const struct conf_issuer *ci = &id->issuers[i];
		struct cd_iss_keys *k = &s->ikeys[i];

		snprintf(k->name, sizeof(k->name), "%s", ci->name);
		if (ci->jwks_file[0])
			cd_ident_read(ci->jwks_file, &k->file, &k->file_len);
		if (ci->jwks_uri[0] == '\0')
			continue;
		cd_ident_keep(ci, k, old, nold);
		if (k->uri == NULL) {
			cd_ident_cache_path(d, ci->name, cache, sizeof(cache));
			cd_ident_read(cache, &k->uri, &k->uri_len);
		}
	}
	/* What was not kept goes. */
	for (unsigned j = 0; j < nold; j++) {
		bool kept = false;

		for (unsigned i = 0; i < s->nikeys; i++)
			kept |= old[j].uri && s->ikeys[i].uri == old[j].uri;
		if (!kept)
			free(old[j].uri);
		free(old[j].file);
		free(old[j].pend);
	}
	cd_ident_send_all(d);
	cd_ident_refresh(d, true);
}

int
cd_ident_find(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->identity.nissuers; i++)
		if (strcmp(c->identity.issuers[i].name, name) == 0)
			return (int)i;
	return -1;
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
cd_ident_verify(struct cd *d, const char *tok, size_t len, struct cd_idprop *p,
    struct cd_err *e)
{
	int rc = cd_ident_check(d, tok, len, p);

	if (rc == JOSE_OK)
		return 0;
	cd_idprop_free(p);
	/* No verdict is no grant: never judged, so not a refusal. */
	if (rc == CD_IDENT_DOWN)
		return cd_fail(e, "identity-unavailable",
		    "the identity process did not answer: %s", p->detail);
	cd_ident_refuse(d, rc, p->detail, e);
	return -1;
}
