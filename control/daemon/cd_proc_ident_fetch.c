/*
 * cordond's side of the fetch child (docs/identity.md "Processes"): each
 * issuer's jwks_uri is asked for on its refresh period (FETCH, with the
 * CA bundle the issuer names, read here: the child opens no file), and
 * the body that comes back (DOC) goes, unparsed, to the identity child;
 * cd_proc_ident.c keeps and caches it once that child found keys in it.
 * Nothing here waits for the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"
#include "control/ident/ident_proc.h"
#include "core/util/ropen.h"

/* The CA bundle an issuer names (read here: the fetch child opens
 * nothing); NULL: the system's. */
static char *
cd_ident_ca(const char *path, size_t *len)
{
	FILE *f;
	char *b;

	*len = 0;
	if (path[0] == '\0' || (f = ropen_file(path)) == NULL)
		return NULL;
	if ((b = malloc(IDENT_CA_MAX)) != NULL)
		*len = fread(b, 1, IDENT_CA_MAX, f);
	fclose(f);
	if (*len == 0 || *len >= IDENT_CA_MAX) {
		free(b);
		*len = 0;
		return NULL;
	}
	return b;
}

void
cd_ident_fetch(struct cd *d, unsigned i)
{
	struct cd_sessions *s = d->sess;
	const struct conf_issuer *ci = &d->run.conf->identity.issuers[i];
	struct proc_child *c = cd_ident_child(d, PROC_FETCH);
	struct cd_iss_keys *k = &s->ikeys[i];
	struct ident_msg_fetch f = { .issuer = i, .timeout_ms = 5000 };
	size_t calen;
	char *ca;
	uint8_t *b;
	ssize_t n;

	/* Retried soon if the child is down; else on its period. */
	k->next_fetch = clk_mono_ms() + (c ? ci->refresh * 1000LL : 1000);
	if (c == NULL)
		return;
	snprintf(f.url, sizeof(f.url), "%s", ci->jwks_uri);
	ca = cd_ident_ca(ci->ca_file, &calen);
	if (ci->ca_file[0] && ca == NULL) {
		cd_log("issuer %s: ca_file %s: not readable; %u keys kept",
		    ci->name, ci->ca_file, k->nkeys);
		return;
	}
	f.ca_len = (uint32_t)calen;
	k->fetch_id = cd_ident_reqid(s);
	n = ident_enc(&f, sizeof(f), ca, calen, &b);
	free(ca);
	if (n < 0 ||
	    proc_send(c->fd, IDENT_T_FETCH, k->fetch_id, b, (size_t)n, -1) < 0)
		k->fetch_id = 0;
	free(b);
}

/* Issuers with a jwks_uri, each on its own refresh period. */
void
cd_ident_refresh(struct cd *d, bool force)
{
	struct cd_sessions *s = d->sess;
	const struct conf_identity *id = &d->run.conf->identity;
	int64_t now = clk_mono_ms();

	for (unsigned i = 0; i < s->nikeys && i < id->nissuers; i++) {
		struct cd_iss_keys *k = &s->ikeys[i];

		if (id->issuers[i].jwks_uri[0] == '\0' || k->fetch_id != 0)
			continue;
		if (!force && now < k->next_fetch)
			continue;
		cd_ident_fetch(d, i);
	}
}

/* The fetch child's answer: the document goes to the identity child. */
static int
cd_fetch_doc(struct cd *d, const struct proc_hdr *h, const uint8_t *p)
{
	struct cd_sessions *s = d->sess;
	struct ident_msg_doc m;
	struct cd_iss_keys *k;
	const uint8_t *body;

	if (ident_dec_doc(p, h->len, &m, &body) < 0)
		return -1;
	if (s == NULL || m.issuer >= s->nikeys ||
	    s->ikeys[m.issuer].fetch_id != h->id)
		return 0; /* for a config gone since */
	k = &s->ikeys[m.issuer];
	k->fetch_id = 0;
	if (!m.ok) {
		cd_log("issuer %s: jwks_uri: %s; %u keys kept", k->name, m.err,
		    k->nkeys);
		return 0;
	}
	free(k->pend);
	if ((k->pend = malloc(m.len)) == NULL)
		return 0;
	memcpy(k->pend, body, m.len);
	k->pend_len = m.len;
	k->pend_id = cd_ident_reqid(s);
	cd_ident_send_keys(d, m.issuer, IDENT_KEYS_URI, k->pend, k->pend_len,
	    k->pend_id);
	return 0;
}

static int
cd_fetch_in(void *arg, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	(void)c;
	if (passfd >= 0 || h->type != IDENT_T_DOC)
		return -1;
	return cd_fetch_doc(arg, h, p);
}

static void
cd_fetch_down(void *arg, struct proc_child *c)
{
	struct cd *d = arg;

	(void)c;
	for (unsigned i = 0; d->sess != NULL && i < d->sess->nikeys; i++)
		d->sess->ikeys[i].fetch_id = 0;
}

static void
cd_fetch_up(void *arg, struct proc_child *c)
{
	struct cd *d = arg;

	(void)c;
	if (d->sess != NULL)
		cd_ident_refresh(d, true);
}

const struct proc_def cd_proc_fetch_def = {
	.id = PROC_FETCH,
	.name = "fetch",
	.user = "cordon-fetch",
	.net = true,
	/* blocks in a fetch for up to its timeout (60 s at most) */
	.hang_ms = 90000,
	.run = fetch_proc_run,
	.in = cd_fetch_in,
	.up = cd_fetch_up,
	.down = cd_fetch_down,
};
