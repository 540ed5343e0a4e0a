/*
 * The audit log: one JSON record per line, each chained to the line
 * before it by a SHA-256, so that editing, removing or reordering a
 * record breaks the chain at that record.  Removing records from the
 * end cannot be seen in the chain alone: audit_head.c keeps the newest
 * record's seq and hash in a file of its own for that.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "control/store/store.h"
#include "core/util/clock.h"
#include "control/store/store_int.h"

#define AUDIT_HEX_LEN 65
#define AUDIT_CHUNK   4096

static int
audit_sha256(const void *p, size_t len, char hex[AUDIT_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32) {
		errno = EIO;
		return -1;
	}
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The hash a record must carry: of itself without "hash", canonical. */
static int
audit_rec_hash(json_t *o, char hex[AUDIT_HEX_LEN])
{
	json_t *copy = json_copy(o);
	char *s;
	int rc;

	if (copy == NULL)
		return -1;
	json_object_del(copy, "hash");
	s = json_dumps(copy, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(copy);
	if (s == NULL)
		return -1;
	rc = audit_sha256(s, strlen(s), hex);
	free(s);
	return rc;
}

/* A JSON string of S; bytes that are not UTF-8 become '?'. */
static json_t *
audit_str(const char *s)
{
	json_t *j;
	char *c;

	if ((j = json_string(s ? s : "")) != NULL)
		return j;
	if ((c = strdup(s)) == NULL)
		return NULL;
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(c);
	free(c);
	return j;
}

/*
 * The last line of FD's SIZE bytes (without its newline) into *LINE;
 * -1 with EILSEQ when the file does not end with a newline.
 */
static int
audit_last_line(int fd, off_t size, char **line, size_t *len)
{
	char *buf = NULL, *nb;
	off_t start = size - 1; /* the final newline */
	size_t have = 0;

	for (;;) {
		size_t n = start > AUDIT_CHUNK ? AUDIT_CHUNK : (size_t)start;
		char *nl;

		if ((nb = realloc(buf, have + n + 1)) == NULL)
			goto fail;
		buf = nb;
		memmove(buf + n, buf, have);
		if (pread(fd, buf, n, start - (off_t)n) != (ssize_t)n)
			goto fail;
		have += n;
		start -= (off_t)n;
		buf[have] = '\0';
		nl = memrchr(buf, '\n', n);
		if (nl != NULL || start == 0) {
			size_t skip = nl ? (size_t)(nl - buf) + 1 : 0;

			memmove(buf, buf + skip, have - skip + 1);
			*line = buf;
			*len = have - skip;
			return 0;
		}
	}
fail:
	free(buf);
	if (errno == 0)
		errno = EIO;
	return -1;
}

static int audit_tail_at(int fd, off_t size, struct audit_head *tail,
    char prev[AUDIT_HEX_LEN], char *err, size_t errlen, const char *path);

/* The last record's seq and hash into TAIL; false if it has none. */
static bool
audit_tail_rec(json_t *o, struct audit_head *tail)
{
	json_t *js = json_object_get(o, "seq");
	const char *h = json_string_value(json_object_get(o, "hash"));

	if (!json_is_integer(js) || json_integer_value(js) < 1 || h == NULL ||
	    strlen(h) != AUDIT_HASH_HEX)
		return false;
	tail->seq = (uint64_t)json_integer_value(js);
	memcpy(tail->hash, h, AUDIT_HASH_HEX + 1);
	return true;
}

/* prev for the record after the last one in FD, and that last (TAIL). */
static int
audit_tail(int fd, struct audit_head *tail, char prev[AUDIT_HEX_LEN], char *err,
    size_t errlen, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return audit_tail_at(fd, st.st_size, tail, prev, err, errlen, path);
}

/* audit_tail of FD's first SIZE bytes. */
static int
audit_tail_at(int fd, off_t size, struct audit_head *tail,
    char prev[AUDIT_HEX_LEN], char *err, size_t errlen, const char *path)
{
	char *line, last;
	json_t *o;
	size_t len;

	memset(tail, 0, sizeof(*tail));
	if (size == 0) {
		memset(prev, '0', AUDIT_HEX_LEN - 1);
		prev[AUDIT_HEX_LEN - 1] = '\0';
		return 0;
	}
	if (pread(fd, &last, 1, size - 1) != 1)
		goto fail_io;
	if (last != '\n') {
		snprintf(err, errlen,
		    "%s: ends in a partial record; run "
		    "audit verify",
		    path);
		errno = EILSEQ;
		return -1;
	}
	if (audit_last_line(fd, size, &line, &len) < 0)
		goto fail_io;
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	if (!audit_tail_rec(o, tail) || audit_sha256(line, len, prev) < 0) {
		json_decref(o);
		free(line);
		snprintf(err, errlen,
		    "%s: last record unreadable; run audit "
		    "verify",
		    path);
		errno = EILSEQ;
		return -1;
	}
	json_decref(o);
	free(line);
	return 0;

fail_io:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/* The record's line, newline included; malloc'd. */
static char *
audit_rec_line(const struct audit_rec *r, uint64_t seq,
    const char prev[AUDIT_HEX_LEN])
{
	char iso[32], hash[AUDIT_HEX_LEN], *s, *line = NULL;
	time_t now = (time_t)clk_unix_s();
	struct tm tm;
	json_t *o;

	struct audit_clock c;

	audit_clock_now(&c);
	gmtime_r(&now, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{sI sI ss ss sI sI sI so so sI so so}", "seq",
	    (json_int_t)seq, "time", (json_int_t)now, "time_iso", iso, "boot",
	    c.boot, "uptime_ms", (json_int_t)c.uptime_ms, "uid",
	    (json_int_t)r->uid, "pid", (json_int_t)r->pid, "cmd",
	    audit_str(r->cmd), "result", audit_str(r->result), "revision",
	    (json_int_t)r->revision, "diff", audit_str(r->diff), "prev",
	    json_string(prev));
	if (o == NULL)
		return NULL;
	if (audit_rec_hash(o, hash) == 0 &&
	    json_object_set_new(o, "hash", json_string(hash)) == 0 &&
	    (s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT)) != NULL) {
		if (asprintf(&line, "%s\n", s) < 0)
			line = NULL;
		free(s);
	}
	json_decref(o);
	return line;
}

static int
audit_write(int fd, const char *p, size_t len)
{
	if (store_write_all(fd, p, len) < 0)
		return -1;
	return fsync(fd);
}

/* The new record's seq and hash, from its line. */
static void
audit_line_head(const char *line, struct audit_head *h)
{
	json_t *o = json_loads(line, 0, NULL);

	if (!audit_tail_rec(o, h))
		memset(h, 0, sizeof(*h));
	json_decref(o);
}

/*
 * Appends R under FD's lock: the line goes in with one write and an
 * fsync, or, when either fails, is cut back to where it started, so
 * that a failed append leaves no partial record behind.
 */
static int
audit_append_fd(int fd, const char *path, const struct audit_rec *r,
    struct audit_head *out, char *err, size_t errlen)
{
	char prev[AUDIT_HEX_LEN], *line;
	struct audit_head tail, h;
	struct stat st;
	int rc, saved;

	if (audit_tail(fd, &tail, prev, err, errlen, path) < 0 ||
	    audit_head_sync(path, &tail, true, err, errlen) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((line = audit_rec_line(r, tail.seq + 1, prev)) == NULL) {
		snprintf(err, errlen, "%s: cannot build record %" PRIu64, path,
		    tail.seq + 1);
		errno = ENOMEM;
		return -1;
	}
	rc = audit_write(fd, line, strlen(line));
	if (rc < 0) {
		saved = errno;
		snprintf(err, errlen, "%s: write: %s", path, strerror(saved));
		if (audit_cut_to(fd, st.st_size) < 0)
			snprintf(err, errlen,
			    "%s: write: %s; cutting the "
			    "partial record: %s",
			    path, strerror(saved), strerror(errno));
		errno = saved;
	}
	audit_line_head(line, &h);
	free(line);
	/* The record is in; a head left behind is caught up next time. */
	if (rc == 0) {
		(void)audit_head_write(path, &h);
		if (out != NULL)
			*out = h;
	}
	return rc;
}

/*
 * A partial record a crash left at the end is cut, and that recorded;
 * only when what stays ends at audit.head (or one after it): a log cut
 * short by hand keeps its evidence and is refused as before.
 */
static int
audit_fix_tail(int fd, const char *path, char *err, size_t errlen)
{
	struct audit_rec note = { "audit-repair", "ok", NULL, getuid(),
		getpid(), 0 };
	char what[160], prev[AUDIT_HEX_LEN];
	struct audit_head tail;
	off_t cut, at;

	if (audit_torn_find(fd, &cut, &at) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (cut == 0)
		return 0;
	if (audit_tail_at(fd, at, &tail, prev, err, errlen, path) < 0 ||
	    audit_head_sync(path, &tail, false, err, errlen) < 0)
		return -1;
	if (audit_torn_cut(fd, &cut, &at) < 0) {
		snprintf(err, errlen, "%s: cutting a partial record: %s", path,
		    strerror(errno));
		return -1;
	}
	if (cut == 0)
		return 0;
	snprintf(what, sizeof(what),
	    "cut a partial record (%lld bytes at "
	    "offset %lld): a write that never completed",
	    (long long)cut, (long long)at);
	note.diff = what;
	return audit_append_fd(fd, path, &note, NULL, err, errlen) < 0 ? -1 : 1;
}

int
audit_append(const char *path, const struct audit_rec *r,
    struct audit_head *out, char *err, size_t errlen)
{
	int fd, rc = -1;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* One appender at a time, so that two records never share a seq. */
	if (flock(fd, LOCK_EX) < 0) {
		snprintf(err, errlen, "%s: lock: %s", path, strerror(errno));
		goto out;
	}
	if (audit_fix_tail(fd, path, err, errlen) < 0)
		goto out;
	rc = audit_append_fd(fd, path, r, out, err, errlen);
out:
	close(fd); /* releases the lock */
	return rc;
}

int
audit_repair(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC), rc = -1;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0)
		snprintf(err, errlen, "%s: lock: %s", path, strerror(errno));
	else
		rc = audit_fix_tail(fd, path, err, errlen);
	close(fd);
	return rc;
}

int
audit_ready(const char *path, char *err, size_t errlen)
{
	struct audit_head tail = { 0 };
	char prev[AUDIT_HEX_LEN];
	int fd, rc;

	if (audit_repair(path, err, errlen) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = fd < 0 ? 0 : audit_tail(fd, &tail, prev, err, errlen, path);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return -1;
	return audit_head_sync(path, &tail, true, err, errlen);
}

/* Checks one line against the chain; sets *BAD_SEQ and ERR on failure. */
static int
audit_check(const char *line, size_t len, unsigned long lineno, uint64_t expect,
    const char prev[AUDIT_HEX_LEN], uint64_t *bad_seq, char hash[AUDIT_HEX_LEN],
    struct audit_clock *clk, char *err, size_t errlen)
{
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *js = json_object_get(o, "seq");
	const char *h = json_string_value(json_object_get(o, "hash"));
	const char *p = json_string_value(json_object_get(o, "prev"));
	uint64_t seq;
	int rc = -1;

	*bad_seq = 0;
	if (!json_is_integer(js) || json_integer_value(js) < 1) {
		snprintf(err, errlen, "line %lu: not an audit record", lineno);
		goto out;
	}
	*bad_seq = seq = (uint64_t)json_integer_value(js);
	audit_clock_get(o, clk);
	if (h == NULL || audit_rec_hash(o, hash) < 0 || strcmp(h, hash) != 0)
		snprintf(err, errlen,
		    "record %" PRIu64 " (line %lu): hash "
		    "does not match its contents",
		    seq, lineno);
	else if (seq != expect)
		snprintf(err, errlen,
		    "record %" PRIu64 " (line %lu): out of "
		    "sequence (expected %" PRIu64 ")",
		    seq, lineno, expect);
	else if (p == NULL || strcmp(p, prev) != 0)
		snprintf(err, errlen,
		    "record %" PRIu64 " (line %lu): does not "
		    "chain to the line before it",
		    seq, lineno);
	else
		rc = 0;
out:
	json_decref(o);
	return rc;
}

int
audit_verify_chain(const char *path, uint64_t *checked, uint64_t *bad_seq,
    struct audit_head *tail, json_t *warn, char *err, size_t errlen)
{
	struct audit_clock clk[2] = { { 0 } };
	char prev[AUDIT_HEX_LEN], *line = NULL;
	unsigned long lineno = 0;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int rc = 0;

	*checked = 0;
	*bad_seq = 0;
	memset(tail, 0, 2 * sizeof(*tail));
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(prev, '0', AUDIT_HEX_LEN - 1);
	prev[AUDIT_HEX_LEN - 1] = '\0';
	while ((n = getline(&line, &cap, f)) > 0) {
		bool whole = line[n - 1] == '\n';
		size_t len = (size_t)n - whole;

		lineno++;
		tail[1] = tail[0];
		clk[0] = clk[1];
		if (audit_check(line, len, lineno, *checked + 1, prev, bad_seq,
		        tail[0].hash, &clk[1], err, errlen) < 0) {
			rc = -1;
			break;
		}
		if (!whole) {
			snprintf(err, errlen,
			    "record %" PRIu64 " (line %lu): "
			    "truncated (no newline)",
			    *bad_seq, lineno);
			rc = -1;
			break;
		}
		audit_sha256(line, len, prev);
		tail[0].seq = ++(*checked);
		if (*checked > 1)
			audit_clock_check(&clk[0], &clk[1], *checked, warn);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	free(line);
	fclose(f);
	if (rc < 0)
		errno = EBADMSG;
	return rc;
}

int
audit_verify(const char *path, uint64_t *checked, uint64_t *bad_seq, char *err,
    size_t errlen)
{
	return audit_verify_warn(path, checked, bad_seq, NULL, err, errlen);
}

int
audit_verify_warn(const char *path, uint64_t *checked, uint64_t *bad_seq,
    json_t *warn, char *err, size_t errlen)
{
	struct audit_head tail[2];

	if (audit_verify_chain(path, checked, bad_seq, tail, warn, err,
	        errlen) < 0)
		return -1;
	if (audit_head_check(path, &tail[0], &tail[1], bad_seq, err, errlen) <
	    0) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
audit_list(const char *path, json_t **records, unsigned max)
{
	json_t *arr = json_array();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	if (arr == NULL)
		return -1;
	*records = arr;
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *o =
		    json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, NULL);

		if (!json_is_object(o)) {
			json_decref(o);
			continue; /* audit_verify reports it */
		}
		json_array_append_new(arr, o);
		if (max != 0 && json_array_size(arr) > max)
			json_array_remove(arr, 0);
	}
	free(line);
	fclose(f);
	return 0;
}
