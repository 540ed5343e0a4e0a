/*
 * Identity sessions in cordond: grants made from verified tokens, and
 * the shared table (core/sess) that cordon-dp's workers read.  This
 * process is the table's only writer.  A grant puts one entry per
 * (source, service) with the rule bits its token earns (idm_rule_bits);
 * revocation deletes them, which the fast path sees on the next packet.
 * Every commit rebuilds the table for the new rules, and it goes to
 * cordon-dp with the policy in one LOAD, so both switch together.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

#define CD_SESS_SWEEP_MS 1000

const struct sess_table *
cd_sess_table(const struct cd *d)
{
	return d->sess ? d->sess->t : NULL;
}

void
cd_grant_free(struct cd_grant *g)
{
	if (g == NULL)
		return;
	json_decref(g->claims);
	free(g);
}

static void
cd_grant_key(const struct cd_grant *g, unsigned svc, struct sess_key *k)
{
	if (g->af == 4)
		sess_key_v4(k, (uint8_t)svc, g->addr);
	else
		sess_key_v6(k, (uint8_t)svc, g->addr);
}

/* Writes G's rule bits and one entry per service into T. */
int
cd_grant_put(struct sess_table *t, const struct cd_grant *g,
    const struct pol_set *bits)
{
	struct sess_key k;
	int rc;

	if (sess_ident_set(t, g->ident, bits->w) != 0)
		return -EINVAL;
	for (unsigned s = 0; s < 64; s++) {
		if (!((g->svcs >> s) & 1))
			continue;
		cd_grant_key(g, s, &k);
		if ((rc = sess_put(t, &k, g->ends, g->sid, g->ident)) != 0)
			return rc;
	}
	return 0;
}

void
cd_grant_reput(struct sess_table *t, const struct cd_grant *g)
{
	struct sess_key k;

	for (unsigned s = 0; s < 64; s++)
		if ((g->svcs >> s) & 1) {
			cd_grant_key(g, s, &k);
			/* An entry in place: only its expiry changes. */
			sess_put(t, &k, g->ends, g->sid, g->ident);
		}
}

void
cd_grant_unput(struct sess_table *t, const struct cd_grant *g)
{
	struct sess_key k;

	for (unsigned s = 0; s < 64; s++)
		if ((g->svcs >> s) & 1) {
			cd_grant_key(g, s, &k);
			sess_del(t, &k);
		}
}

static int
cd_sess_table_new(struct cd_sessions *s, struct sess_table **t, int *fd,
    char *err, size_t len)
{
	return sess_create(s->cap, s->cap, POL_WORDS, t, fd, err, len);
}

/*
 * A free ident slot, taken off the queue; -1 when none has been free
 * for CD_SESS_HOLD_S (the table is, or was just, full).
 */
int
cd_sess_slot(struct cd_sessions *s)
{
	uint32_t j;

	if (s->nfree == 0)
		return -1;
	j = s->freeq[s->fhead];
	if (s->freed_at[j] + CD_SESS_HOLD_S > clk_boot_s())
		return -1;
	s->fhead = (s->fhead + 1) % s->cap;
	s->nfree--;
	return (int)j;
}

void
cd_sess_free_slot(struct cd_sessions *s, uint32_t j)
{
	s->freed_at[j] = clk_boot_s();
	s->freeq[(s->fhead + s->nfree) % s->cap] = j;
	s->nfree++;
}

void
cd_sess_watermark(struct cd_sessions *s)
{
	uint64_t n = (uint64_t)s->n * 100, cap = s->cap;

	/* Not while replaying the journal: SNMP is not up yet. */
	if (s->restoring)
		return;
	if (!s->nearly_full && n >= cap * CD_SESS_HIGH_PCT) {
		s->nearly_full = true;
		/* Its records and notification go with the alarm. */
		cd_alarm_sync(s->d, CD_AL_SESS_FULL);
	} else if (s->nearly_full && n < cap * CD_SESS_LOW_PCT) {
		s->nearly_full = false;
		cd_syslog_event(s->d, "session-table-cleared",
		    "session table below its low-water mark", "sessions",
		    CD_SL_U(s->n), "capacity", CD_SL_U(s->cap), NULL);
		cd_alarm_sync(s->d, CD_AL_SESS_FULL);
	}
}

void
cd_sess_drop(struct cd_sessions *s, struct cd_grant *g, bool unput)
{
	if (unput)
		cd_grant_unput(s->t, g);
	cd_grant_nft(s->d, g, false);
	cd_idx_unlink(s, g);
	s->g[g->ident] = NULL;
	cd_sess_free_slot(s, g->ident);
	cd_journal_del(s, g->sid);
	s->n--;
	cd_grant_free(g);
	cd_sess_watermark(s);
}

static void
cd_sess_free(struct cd_sessions *s)
{
	cd_idx_free(s);
	free(s->g);
	free(s->freeq);
	free(s->freed_at);
	free(s->jpend);
	free(s);
}

/* The grant list, the free queue and the indexes; NULL when out of memory. */
static struct cd_sessions *
cd_sess_alloc(unsigned cap)
{
	struct cd_sessions *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->cap = cap;
	if ((s->g = calloc(cap, sizeof(*s->g))) == NULL ||
	    (s->freeq = calloc(cap, sizeof(*s->freeq))) == NULL ||
	    (s->freed_at = calloc(cap, sizeof(*s->freed_at))) == NULL ||
	    cd_idx_init(s) < 0) {
		cd_sess_free(s);
		return NULL;
	}
	for (unsigned i = 0; i < cap; i++)
		s->freeq[i] = i;
	s->nfree = cap;
	s->fd = s->next_fd = s->jfd = -1;
	s->next_sid = 1;
	return s;
}

int
cd_sess_open(struct cd *d)
{
	const struct conf_identity *id = &d->run.conf->identity;
	struct cd_sessions *s;
	char err[256];

	if (id->line == 0)
		return 0;
	if ((s = cd_sess_alloc(id->capacity)) == NULL) {
		cd_log("sessions: out of memory");
		return -1;
	}
	snprintf(s->journal, sizeof(s->journal), "%s/sessions.journal",
	    d->ctl.state_dir);
	if (cd_sess_table_new(s, &s->t, &s->fd, err, sizeof(err)) != 0) {
		cd_log("sessions: %s", err);
		cd_sess_free(s);
		return -1;
	}
	d->sess = s;
	s->d = d;
	cd_ident_load(d);
	cd_sess_journal_load(d);
	if (cd_knock_open(d) < 0)
		return -1;
	cd_log("sessions: capacity %u, %u restored", s->cap, s->n);
	return 0;
}

void
cd_sess_close(struct cd *d)
{
	struct cd_sessions *s = d->sess;

	if (s == NULL)
		return;
	cd_sess_journal_save(d);
	if (s->jfd >= 0)
		close(s->jfd);
	for (unsigned i = 0; i < s->cap; i++)
		cd_grant_free(s->g[i]);
	cd_ident_unload(s);
	cd_knock_close(d);
	cd_sess_abort(d);
	sess_detach(s->t);
	if (s->fd >= 0)
		close(s->fd);
	cd_sess_free(s);
	d->sess = NULL;
}

/*
 * The grants judged against N's config: its issuers (by name), service
 * names mapped to its indexes (a service gone from identity.services
 * leaves the grant), rule bits recomputed, all written into a new table
 * that goes to cordon-dp with N's policy.  Without an identity group in
 * N the table is empty: every session ends with the commit.
 */
static int
cd_grant_next(struct cd *d, const struct cd_running *n, struct cd_grant *g)
{
	struct cd_sessions *s = d->sess;
	const struct conf *nc = n->conf;
	struct cd_grant tmp = *g;
	struct pol_set bits;
	int iss = cd_ident_find(nc, g->iss_name);

	g->svcs_next = 0;
	if (nc->identity.line == 0 || iss < 0)
		return 0;
	/* New geo tables may place the source or an ipaddr elsewhere. */
	if (idm_facts_build(nc, n->geo.tables, g->claims, iss,
	        cd_grant_cc(n->geo.tables, g), &tmp.facts) != IDM_E_OK)
		return 0;
	g->svcs_next = tmp.svcs = cd_svcs_remap(d->run.conf, nc, g->svcs);
	idm_rule_bits(nc, &tmp.facts, &bits);
	return cd_grant_put(s->next, &tmp, &bits);
}

int
cd_sess_prepare(struct cd *d, const struct cd_running *n, struct cd_err *e)
{
	struct cd_sessions *s = d->sess;
	char err[256];

	if (s == NULL)
		return 0;
	if (n->conf->identity.line != 0 && n->conf->identity.capacity != s->cap)
		cd_log("sessions: capacity %u takes effect when cordond "
		       "restarts (now %u)",
		    n->conf->identity.capacity, s->cap);
	if (cd_sess_table_new(s, &s->next, &s->next_fd, err, sizeof(err)))
		return cd_fail(e, "internal", "sessions: %s", err);
	s->next_on = true;
	for (unsigned i = 0; i < s->cap; i++)
		if (s->g[i] && cd_grant_next(d, n, s->g[i]) != 0) {
			cd_sess_abort(d);
			return cd_fail(e, "internal",
			    "sessions: rebuilding "
			    "the table failed");
		}
	d->be->sess_table(d, s->next_fd);
	return 0;
}

/* The commit is in force: its issuers and table are the ones to use. */
void
cd_sess_switch(struct cd *d)
{
	struct cd_sessions *s = d->sess;

	if (s == NULL || !s->next_on)
		return;
	sess_detach(s->t);
	close(s->fd);
	s->t = s->next;
	s->fd = s->next_fd;
	s->next = NULL;
	s->next_fd = -1;
	s->next_on = false;
	for (unsigned i = 0; i < s->cap; i++) {
		struct cd_grant *g = s->g[i];
		int iss;

		if (g == NULL)
			continue;
		iss = cd_ident_find(d->run.conf, g->iss_name);
		g->svcs = g->svcs_next;
		if (g->svcs == 0 || iss < 0 ||
		    idm_facts_build(d->run.conf, d->run.geo.tables, g->claims,
		        iss, cd_grant_cc(d->run.geo.tables, g),
		        &g->facts) != IDM_E_OK)
			cd_sess_drop(s, g, false);
		else
			cd_grant_nft(d, g, true); /* the new ports */
	}
	/* A commit's issuers (a compaction or new geo keeps them). */
	if (s->ident_conf != d->run.conf || s->ident_rev != d->run.rev)
		cd_ident_load(d);
}

void
cd_sess_abort(struct cd *d)
{
	struct cd_sessions *s = d->sess;

	if (s == NULL || !s->next_on)
		return;
	if (s->next != NULL) {
		sess_detach(s->next);
		close(s->next_fd);
	}
	s->next = NULL;
	s->next_fd = -1;
	s->next_on = false;
	/* A restoring push must carry the table still in force. */
	d->be->sess_table(d, s->fd);
}
