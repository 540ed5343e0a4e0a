/*
 * The sessions journal, so a restarted cordond enforces the same
 * sessions (cordon-dp keeps its table meanwhile): an append-only file of
 * JSON lines in the state folder, {"op":"add",...} for each grant and
 * {"op":"del","id":N} when one ends.  A grant that is lost fails closed
 * (the session is gone), so adds are not synced; a revocation that is
 * lost would bring a session back, so revocations are.  When the file
 * holds many more records than sessions, it is rewritten whole.
 * Tokens were verified when granted; each entry is still checked against
 * its token's iss, exp and max_ttl on the way back (cd_sess_restore).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

#define CD_JOURNAL_SLACK 4096	/* records beyond 2 x live before a rewrite */

static json_t *
cd_journal_rec(const struct cd *d, const struct cd_grant *g)
{
	json_t *o = cd_grant_json(d, g);

	json_object_set_new(o, "op", json_string("add"));
	cd_grant_clock_put(g, o);
	json_object_set(o, "claims", g->claims);
	return o;
}

static int
cd_journal_write(struct cd_sessions *s, json_t *rec)
{
	char *line = json_dumps(rec, JSON_COMPACT);
	size_t n;
	int rc = -1;

	json_decref(rec);
	if (line == NULL || s->jfd < 0)
		goto out;
	n = strlen(line);
	line[n] = '\n';	/* json_dumps' NUL: the line's end */
	if (write(s->jfd, line, n + 1) == (ssize_t)(n + 1)) {
		s->jrecords++;
		rc = 0;
	}
out:
	free(line);
	return rc;
}

void
cd_journal_add(struct cd *d, const struct cd_grant *g)
{
	if (d->sess->restoring)
		return;
	if (cd_journal_write(d->sess, cd_journal_rec(d, g)) < 0)
		cd_log("sessions journal: %s", strerror(errno));
}

void
cd_journal_del(struct cd_sessions *s, uint32_t sid)
{
	if (s->restoring)
		return;
	if (cd_journal_write(s, json_pack("{s:s, s:I}", "op", "del", "id",
	    (json_int_t)sid)) < 0)
		cd_log("sessions journal: %s", strerror(errno));
}

int
cd_journal_sync(struct cd_sessions *s)
{
	return s->jfd >= 0 && fdatasync(s->jfd) == 0 ? 0 : -1;
}

static int
cd_journal_reopen(struct cd_sessions *s)
{
	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd = open(s->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	return s->jfd >= 0 ? 0 : -1;
}

/* Every grant in force, one add record each, replacing the file. */
int
cd_sess_journal_save(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	char tmp[sizeof(s->journal) + 8];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", s->journal);
	if ((f = fopen(tmp, "we")) == NULL)
		return -1;
	for (unsigned i = 0; i < s->cap && rc == 0; i++) {
		json_t *rec;
		char *line;

		if (s->g[i] == NULL)
			continue;
		rec = cd_journal_rec(d, s->g[i]);
		line = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(rec);
		rc = line && fprintf(f, "%s\n", line) > 0 ? 0 : -1;
		free(line);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -1;
	if (fclose(f) != 0 || rc < 0 || rename(tmp, s->journal) != 0) {
		unlink(tmp);
		cd_log("sessions journal: %s", strerror(errno));
		return -1;
	}
	s->jrecords = s->n;
	return cd_journal_reopen(s);
}

/* Rewrites the file when it has grown well past the sessions in it. */
void
cd_journal_tick(struct cd *d)
{
	struct cd_sessions *s = d->sess;

	if (s->jrecords > 2 * (uint64_t)s->n + CD_JOURNAL_SLACK)
		cd_sess_journal_save(d);
}

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

/* Replays the records into LIVE (id -> add record); a torn tail ends it. */
static void
cd_journal_replay(FILE *f, json_t *live)
{
	char *line = NULL, key[24];
	size_t cap = 0;
	json_error_t je;
	json_t *r;

	while (getline(&line, &cap, f) > 0) {
		const char *op;

		if ((r = json_loads(line, JSON_REJECT_DUPLICATES, &je)) == NULL)
			break;
		op = json_string_value(json_object_get(r, "op"));
		snprintf(key, sizeof(key), "%lld", (long long)
		    json_integer_value(json_object_get(r, "id")));
		if (op && strcmp(op, "add") == 0)
			json_object_set(live, key, r);
		else if (op && strcmp(op, "del") == 0)
			json_object_del(live, key);
		json_decref(r);
	}
	free(line);
}

void
cd_sess_journal_load(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	FILE *f = fopen(s->journal, "re");
	json_t *live = json_object(), *v;
	int64_t now = cd_boot();
	const char *k;

	if (f != NULL) {
		cd_journal_replay(f, live);
		fclose(f);
	}
	s->restoring = true;
	json_object_foreach(live, k, v)
		cd_journal_one(d, v, now);
	s->restoring = false;
	json_decref(live);
	/* Start the file afresh with what survived. */
	if (cd_sess_journal_save(d) < 0)
		cd_journal_reopen(s);
}
