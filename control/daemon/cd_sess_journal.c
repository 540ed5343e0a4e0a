/*
 * The sessions journal, so a restarted cordond enforces the same
 * sessions (cordon-dp keeps its table meanwhile): an append-only file of
 * lines in the state folder, "HASH {"op":"add",...}" for each grant and
 * "HASH {"op":"del","id":N}" when one ends, HASH the first 8 bytes of the
 * SHA-256 of the JSON text in hex.  A line that is torn (a full disk, a
 * crash while writing) or damaged fails its hash and is skipped on
 * replay (cd_sess_jload.c); a failed append is cut off again at once.
 *
 * An add is written and synced before the session goes into the table
 * and before it is acknowledged; one that cannot be written is refused.
 * A revocation takes effect in the table whatever happens: one whose
 * record cannot be written is kept in memory (jpend), the
 * session-journal alarm is raised, and each tick retries it, or rewrites
 * the whole file from the grants in force.  So that an ending can always
 * be written even when the file system fills, space for one del record
 * per session in force is reserved past the file's end (fallocate,
 * FALLOC_FL_KEEP_SIZE); an add that cannot extend the reserve is
 * refused.  When the file holds many more records than sessions, it is
 * rewritten whole (temp file, fsync, rename, fsync of the folder); a
 * rewrite that fails leaves the old file as it was.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "control/daemon/cordond.h"

#define CD_JOURNAL_SLACK 4096 /* records beyond 2 x live before a rewrite */
#define CD_JDEL_MAX      64   /* bytes of one del line, at most */
#define CD_JRESV_CHUNK   (16 * 1024) /* reserved ahead of need */

json_t *
cd_journal_rec(const struct cd *d, const struct cd_grant *g)
{
	json_t *o = cd_grant_json(d, g);

	json_object_set_new(o, "op", json_string("add"));
	cd_grant_clock_put(g, o);
	json_object_set(o, "claims", g->claims);
	return o;
}

/* The 16 hex digits that lead a line holding JSON (N bytes). */
static int
cd_journal_hash(const char *json, size_t n, char hex[17])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;

	if (!EVP_Digest(json, n, md, &len, EVP_sha256(), NULL))
		return -1;
	for (unsigned i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

char *
cd_journal_line(json_t *rec, size_t *len)
{
	char *json = json_dumps(rec, JSON_COMPACT), *line = NULL;
	char hex[17];
	size_t n;

	json_decref(rec);
	if (json == NULL)
		return NULL;
	n = strlen(json);
	if (cd_journal_hash(json, n, hex) == 0 &&
	    (line = malloc(n + 18)) != NULL) {
		memcpy(line, hex, 16);
		line[16] = ' ';
		memcpy(line + 17, json, n);
		line[n + 17] = '\n';
		*len = n + 18;
	}
	free(json);
	return line;
}

json_t *
cd_journal_parse(const char *line, size_t len)
{
	char hex[17];
	json_t *r;

	if (len < 2 || line[len - 1] != '\n')
		return NULL; /* torn: no end */
	len--;
	/* A line of the old format (no hash): the JSON alone. */
	if (line[0] == '{')
		r = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	else if (len < 18 || line[16] != ' ' ||
	         cd_journal_hash(line + 17, len - 17, hex) < 0 ||
	         memcmp(hex, line, 16) != 0)
		return NULL;
	else
		r = json_loadb(line + 17, len - 17, JSON_REJECT_DUPLICATES,
		    NULL);
	if (r != NULL && !json_is_string(json_object_get(r, "op"))) {
		json_decref(r);
		r = NULL;
	}
	return r;
}

static void
cd_journal_alarm(struct cd_sessions *s, const char *why)
{
	s->jfailed++;
	snprintf(s->jerr, sizeof(s->jerr), "%s: %s", why, strerror(errno));
	if (s->jalarm != 0)
		return;
	s->jalarm = clk_unix_s();
	cd_log("alarm session-journal: %s", s->jerr);
	cd_syslog_event(s->d, "session-journal-failed",
	    "sessions journal "
	    "cannot be written",
	    "error", s->jerr, NULL);
	cd_alarm_sync(s->d, CD_AL_JOURNAL);
}

static void
cd_journal_clear(struct cd_sessions *s)
{
	if (s->jalarm == 0)
		return;
	s->jalarm = 0;
	cd_log("sessions journal: written again; alarm cleared");
	cd_syslog_event(s->d, "session-journal-ok",
	    "sessions journal "
	    "written again",
	    NULL);
	cd_alarm_sync(s->d, CD_AL_JOURNAL);
}

/* A failed append leaves nothing behind: the file is cut back. */
static int
cd_journal_put(struct cd_sessions *s, const char *line, size_t len)
{
	size_t off = 0;
	int saved;

	if (s->jfd < 0) {
		errno = EBADF;
		return -1;
	}
	while (off < len) {
		ssize_t n = write(s->jfd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	s->jend += (int64_t)len;
	s->jrecords++;
	s->jdirty = true;
	return 0;
fail:
	saved = errno ? errno : ENOSPC;
	if (off > 0 && ftruncate(s->jfd, s->jend) < 0)
		cd_log("sessions journal: cannot cut a torn record: %s",
		    strerror(errno)); /* replay skips it */
	else if (off > 0)
		s->jresv = s->jend; /* cutting freed the reserve */
	errno = saved;
	return -1;
}

/*
 * Room past the end for NEED bytes and then a del record for every
 * session in force and the one being added.
 */
static int
cd_journal_reserve(struct cd_sessions *s, size_t need)
{
	int64_t want =
	    s->jend + (int64_t)need + ((int64_t)s->n + 1) * CD_JDEL_MAX;

	if (s->jnoresv || want <= s->jresv)
		return 0;
	if (fallocate(s->jfd, FALLOC_FL_KEEP_SIZE, s->jend,
	        want - s->jend + CD_JRESV_CHUNK) == 0) {
		s->jresv = want + CD_JRESV_CHUNK;
		return 0;
	}
	if (errno != EOPNOTSUPP)
		return -1;
	cd_log("sessions journal: the file system cannot reserve space: an "
	       "ending may fail to be written when it fills");
	s->jnoresv = true;
	return 0;
}

static int
cd_journal_write_del(struct cd_sessions *s, uint32_t sid)
{
	size_t len;
	char *line = cd_journal_line(json_pack("{s:s, s:I}", "op", "del", "id",
	                                 (json_int_t)sid),
	    &len);
	int rc = line ? cd_journal_put(s, line, len) : -1;

	free(line);
	return rc;
}

/* The pending dels, in order; 0 when none is left. */
static int
cd_journal_flush(struct cd_sessions *s)
{
	unsigned i = 0;

	while (i < s->njpend && cd_journal_write_del(s, s->jpend[i]) == 0)
		i++;
	if (i == 0)
		return s->njpend == 0 ? 0 : -1;
	memmove(s->jpend, s->jpend + i, (s->njpend - i) * sizeof(uint32_t));
	s->njpend -= i;
	return s->njpend == 0 ? 0 : -1;
}

static void
cd_journal_pend(struct cd_sessions *s, uint32_t sid)
{
	uint32_t *p;

	if (s->njpend == s->jpcap) {
		unsigned cap = s->jpcap ? 2 * s->jpcap : 64;

		if ((p = realloc(s->jpend, cap * sizeof(*p))) == NULL) {
			/* Only a rewrite from memory can repair it now. */
			s->jrewrite = true;
			cd_journal_alarm(s, "out of memory for an ending");
			return;
		}
		s->jpend = p;
		s->jpcap = cap;
	}
	s->jpend[s->njpend++] = sid;
}

int
cd_journal_room(struct cd *d, const struct cd_grant *g)
{
	struct cd_sessions *s = d->sess;
	size_t len;
	char *line;

	if (s->restoring)
		return 0;
	if (cd_journal_flush(s) < 0 ||
	    (line = cd_journal_line(cd_journal_rec(d, g), &len)) == NULL)
		return -1;
	free(line);
	/* Its id is not given yet: room for the longest. */
	return cd_journal_reserve(s, len + 16);
}

int
cd_journal_add(struct cd *d, const struct cd_grant *g)
{
	struct cd_sessions *s = d->sess;
	size_t len;
	char *line;
	int rc = -1;

	if (s->restoring)
		return 0;
	/* Endings not yet written go first: refuse rather than overtake. */
	if (cd_journal_flush(s) < 0)
		return -1;
	if ((line = cd_journal_line(cd_journal_rec(d, g), &len)) == NULL)
		return -1;
	if (cd_journal_reserve(s, len) == 0 &&
	    cd_journal_put(s, line, len) == 0) {
		if (fdatasync(s->jfd) == 0) {
			s->jdirty = false;
			rc = 0;
		} else {
			/* It may be on disk all the same: end it there. */
			int saved = errno;

			cd_journal_pend(s, g->sid);
			s->jrewrite = true;
			errno = saved;
			cd_journal_alarm(s, "sync");
		}
	}
	free(line);
	return rc;
}

void
cd_journal_del(struct cd_sessions *s, uint32_t sid)
{
	if (s->restoring)
		return;
	if (s->njpend == 0 && cd_journal_write_del(s, sid) == 0)
		return;
	cd_journal_pend(s, sid);
	cd_journal_alarm(s, "an ending");
}

int
cd_journal_sync(struct cd_sessions *s)
{
	if (cd_journal_flush(s) < 0) {
		cd_journal_alarm(s, "an ending");
		return -1;
	}
	if (s->jdirty && fdatasync(s->jfd) < 0) {
		/* What reached the disk is unknown now: only a rewrite. */
		s->jrewrite = true;
		cd_journal_alarm(s, "sync");
		return -1;
	}
	s->jdirty = false;
	if (s->jrewrite)
		return -1;
	cd_journal_clear(s);
	return 0;
}

int
cd_journal_reopen(struct cd_sessions *s)
{
	struct stat st;

	if (s->jfd >= 0)
		close(s->jfd);
	s->jfd =
	    open(s->journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (s->jfd < 0 || fstat(s->jfd, &st) < 0)
		return -1;
	s->jend = s->jresv = st.st_size;
	return 0;
}

static int
cd_journal_dir_sync(const char *path)
{
	char dir[CONF_PATH_MAX + 32];
	const char *slash = strrchr(path, '/');
	int fd, rc;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Every grant in force, one add record each, into F; then its reserve. */
static int
cd_journal_dump(struct cd *d, FILE *f)
{
	struct cd_sessions *s = d->sess;
	int64_t size = 0;

	for (unsigned i = 0; i < s->cap; i++) {
		size_t len;
		char *line;
		int rc;

		if (s->g[i] == NULL)
			continue;
		line = cd_journal_line(cd_journal_rec(d, s->g[i]), &len);
		rc = line && fwrite(line, 1, len, f) == len ? 0 : -1;
		free(line);
		if (rc < 0)
			return -1;
		size += (int64_t)len;
	}
	if (fflush(f) != 0)
		return -1;
	if (!s->jnoresv &&
	    fallocate(fileno(f), FALLOC_FL_KEEP_SIZE, size,
	        ((int64_t)s->n + 1) * CD_JDEL_MAX + CD_JRESV_CHUNK) < 0 &&
	    errno != EOPNOTSUPP)
		return -1;
	return fsync(fileno(f));
}

/* The grants in force, replacing the file; the old one stays on failure. */
int
cd_sess_journal_save(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	char tmp[sizeof(s->journal) + 8];
	FILE *f;
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s.tmp", s->journal);
	/* Claims are personal data: the owner's alone, whatever the umask. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		goto fail_unlink;
	}
	rc = cd_journal_dump(d, f);
	if (fclose(f) != 0 || rc < 0 || rename(tmp, s->journal) != 0)
		goto fail_unlink;
	/* Renamed: appends go to the new file from here on. */
	s->njpend = 0;
	s->jdirty = s->jrewrite = false;
	s->jrecords = s->n;
	if (cd_journal_reopen(s) < 0 || cd_journal_dir_sync(s->journal) < 0) {
		/* Not known to be durable under its name: again next tick. */
		s->jrewrite = true;
		cd_journal_alarm(s, "rewrite");
		return -1;
	}
	s->jresv = s->jend + ((int64_t)s->n + 1) * CD_JDEL_MAX + CD_JRESV_CHUNK;
	cd_journal_clear(s);
	return 0;
fail_unlink:
	rc = errno;
	unlink(tmp);
	errno = rc;
	cd_log("sessions journal: rewrite: %s (the old one is kept)",
	    strerror(errno));
	return -1;
}

/*
 * Each second: endings made durable; the file rewritten when it has
 * grown well past the sessions in it, or when only a rewrite can make it
 * hold what memory holds (the alarm).
 */
void
cd_journal_tick(struct cd *d)
{
	struct cd_sessions *s = d->sess;
	int64_t now = clk_mono_ms();

	if (s->jalarm != 0 || s->jdirty)
		cd_journal_sync(s);
	if ((s->jalarm == 0 &&
	        s->jrecords <= 2 * (uint64_t)s->n + CD_JOURNAL_SLACK) ||
	    now < s->jretry_ms)
		return;
	/* A failed rewrite (a full disk) is not retried every second. */
	if (cd_sess_journal_save(d) < 0)
		s->jretry_ms = now + (s->jalarm != 0 ? 2000 : 30000);
}
