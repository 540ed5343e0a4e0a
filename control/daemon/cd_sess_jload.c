/*
 * The sessions journal at start-up (the format: cd_sess_journal.c).
 * Every line whose hash holds is replayed in order; a torn or damaged
 * one is skipped, logged and counted, and the lines after it still
 * count.  Bad lines at the end (a crash or a full disk while appending)
 * are cut off.  What survives is written afresh; if that fails (a full
 * disk), the old file is kept and appended to.  A repair leaves an audit
 * record.  Tokens were verified when granted; each entry is still
 * checked against its token's iss, exp and max_ttl (cd_sess_restore).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

#define CD_JLOAD_LOG_MAX 10 /* bad lines logged one by one */

struct cd_jload {
	json_t *live;           /* id -> add record */
	uint64_t hi_sid;        /* the highest id any record names */
	int64_t off, good_end;  /* bytes read; end of the last good line */
	unsigned bad, bad_tail; /* bad lines; of them, after the last good */
	uint64_t lines;
};

/* One surviving add record back into a grant; unexpired ones only. */
static void
cd_journal_one(struct cd *d, const json_t *o, int64_t now)
{
	const struct conf *c = d->run.conf;
	struct cd_err e;
	struct cd_grant *g = calloc(1, sizeof(*g));
	const char *iss = json_string_value(json_object_get(o, "issuer"));
	const json_t *svcs = json_object_get(o, "services"), *v;
	int issuer = iss ? conf_issuer_find(c, iss) : -1;
	size_t i;

	if (g == NULL)
		return;
	cd_grant_clock_get(g, o);
	g->claims = json_incref(json_object_get(o, "claims"));
	snprintf(g->src, sizeof(g->src), "%s",
	    json_string_value(json_object_get(o, "src")) ?: "");
	json_array_foreach(svcs, i, v) {
		int k = conf_service_find(c, json_string_value(v) ?: "");

		if (k >= 0 && ((c->identity.services >> k) & 1))
			g->svcs |= 1ULL << k;
	}
	if (g->ends <= now || issuer < 0 || g->svcs == 0 ||
	    !json_is_object(g->claims) ||
	    cd_sess_restore(d, g, issuer, o, &e) < 0)
		cd_grant_free(g);
}

static void
cd_jload_record(struct cd_jload *j, json_t *r)
{
	const char *op = json_string_value(json_object_get(r, "op"));
	json_int_t id = json_integer_value(json_object_get(r, "id"));
	char key[24];

	snprintf(key, sizeof(key), "%lld", (long long)id);
	if (id > 0 && (uint64_t)id > j->hi_sid)
		j->hi_sid = (uint64_t)id;
	if (strcmp(op, "add") == 0)
		json_object_set(j->live, key, r);
	else if (strcmp(op, "del") == 0)
		json_object_del(j->live, key);
}

static void
cd_jload_replay(struct cd_jload *j, FILE *f, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_t *r;

	while ((n = getline(&line, &cap, f)) > 0) {
		j->off += n;
		j->lines++;
		if ((r = cd_journal_parse(line, (size_t)n)) != NULL) {
			cd_jload_record(j, r);
			json_decref(r);
			j->good_end = j->off;
			j->bad_tail = 0;
			continue;
		}
		if (j->bad++ < CD_JLOAD_LOG_MAX)
			cd_log("sessions journal %s: bad record at byte %lld "
			       "(%zd bytes, torn or damaged): skipped",
			    path, (long long)(j->off - n), n);
		j->bad_tail++;
	}
	free(line);
}

/* The repair, in the log and the audit log. */
static void
cd_jload_report(struct cd *d, const struct cd_jload *j)
{
	struct cd_req rq = { .cmd = "session-journal",
		.uid = getuid(),
		.pid = getpid() };
	char msg[160];

	snprintf(msg, sizeof(msg),
	    "%u bad record(s) skipped, %u of them at "
	    "the end (%lld bytes cut)",
	    j->bad, j->bad_tail,
	    (long long)(j->bad_tail ? j->off - j->good_end : 0));
	cd_log("sessions journal: %s", msg);
	d->sess->jskipped = j->bad;
	cd_audit(d, &rq, "session-journal", "repaired", msg, d->run.rev);
}

void
cd_sess_journal_load(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	struct cd_jload j = { .live = json_object() };
	FILE *f = fopen(s->journal, "re");
	int64_t now = clk_boot_s();
	const char *k;
	json_t *v;

	if (f != NULL) {
		cd_jload_replay(&j, f, s->journal);
		fclose(f);
	}
	/* Ids of ended sessions are not given out again either. */
	if (j.hi_sid >= s->next_sid && j.hi_sid < UINT32_MAX)
		s->next_sid = (uint32_t)j.hi_sid + 1;
	s->restoring = true;
	json_object_foreach(j.live, k, v)
		cd_journal_one(d, v, now);
	s->restoring = false;
	json_decref(j.live);
	if (j.bad > 0)
		cd_jload_report(d, &j);
	/* Start the file afresh with what survived, or cut its bad end. */
	if (cd_sess_journal_save(d) == 0)
		return;
	if (j.bad_tail > 0 && truncate(s->journal, j.good_end) < 0)
		cd_log("sessions journal: cutting its end: %s",
		    strerror(errno));
	if (cd_journal_reopen(s) < 0)
		cd_log("sessions journal: %s", strerror(errno));
	s->jrecords = j.lines;
}
