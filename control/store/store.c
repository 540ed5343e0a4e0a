/*
 * The state folder and its committed revisions.  A revision is visible
 * once revisions/NNNNNN.conf exists.  Its metadata (NNNNNN.json) and its
 * text as NNNNNN.staged are written first (store_stage); the rename of
 * .staged to .conf makes it a revision (store_promote).  A crash leaves
 * at most a staged revision, which store_open keeps for the daemon to
 * complete or undo, or debris (an orphan .json, a .tmp), which it
 * removes.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "control/store/store.h"
#include "core/util/clock.h"
#include "control/store/store_int.h"

#define STORE_NOTES 16

struct store {
	char dir[PATH_MAX - 64];
	uint64_t running;
	uint64_t staged; /* running + 1 when a commit was cut short */
	char notes[STORE_NOTES][320];
	unsigned nnotes;
};

void
store_note(struct store *s, const char *fmt, ...)
{
	va_list ap;

	if (s->nnotes == STORE_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(s->notes[s->nnotes++], sizeof(s->notes[0]), fmt, ap);
	va_end(ap);
}

const char *
store_notes(const struct store *s, unsigned i)
{
	return i < s->nnotes ? s->notes[i] : NULL;
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

int
store_audit_path(const struct store *s, char *buf, size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/audit.log", s->dir) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint64_t
store_running(const struct store *s)
{
	return s->running;
}

/* DIR/revisions/NNNNNN.EXT; always fits: dir is PATH_MAX - 64. */
static void
store_rev_file(const struct store *s, uint64_t rev, const char *ext,
    char buf[PATH_MAX])
{
	snprintf(buf, PATH_MAX, "%s/revisions/%06" PRIu64 ".%s", s->dir, rev,
	    ext);
}

/* mkdir -p with MODE for the folders it creates. */
static int
store_mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	memcpy(p, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -1;
		p[i] = i == n ? '\0' : '/';
	}
	return 0;
}

/* "000042.conf" -> 42 for EXT "conf"; 0 for any other name. */
static uint64_t
store_rev_name(const char *name, const char *ext)
{
	const char *dot = strchr(name, '.');
	uint64_t v = 0;

	if (dot == NULL || dot - name < 6 || dot - name > 19 ||
	    strcmp(dot + 1, ext) != 0)
		return 0;
	for (const char *p = name; p < dot; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

static int
store_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Revisions whose .conf exists, ascending, malloc'd into *REVS. */
static int
store_revs_scan(const struct store *s, uint64_t **revs, size_t *n)
{
	char path[PATH_MAX];
	uint64_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/revisions", s->dir);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		uint64_t r = store_rev_name(d->d_name, "conf");

		if (r == 0)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(dir);
				return -1;
			}
			v = nv;
		}
		v[cnt++] = r;
	}
	closedir(dir);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), store_u64_cmp);
	*revs = v;
	*n = cnt;
	return 0;
}

static int
store_rev_exists(const struct store *s, uint64_t rev)
{
	char path[PATH_MAX];

	store_rev_file(s, rev, "conf", path);
	return access(path, F_OK) == 0;
}

/* Removes what an interrupted write left in folder SUB of the store. */
static void
store_sweep(const struct store *s, const char *sub)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s%s%s", s->dir, *sub ? "/" : "", sub);
	if ((dir = opendir(path)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		size_t l = strlen(d->d_name), sl = strlen(STORE_TMP_SUFFIX);
		uint64_t r = store_rev_name(d->d_name, "json");
		char f[PATH_MAX];

		if (l > sl && strcmp(d->d_name + l - sl, STORE_TMP_SUFFIX) == 0)
			;
		else if (strcmp(sub, "revisions") == 0 && r != 0 &&
		         !store_rev_exists(s, r) && r != s->staged)
			;
		else if (strcmp(sub, "revisions") == 0 &&
		         store_rev_name(d->d_name, "staged") != 0 &&
		         store_rev_name(d->d_name, "staged") != s->staged)
			;
		else
			continue;
		if (snprintf(f, sizeof(f), "%s/%s", path, d->d_name) <
		    (int)sizeof(f))
			unlink(f);
	}
	closedir(dir);
}

struct store *
store_open(const char *dir, char *err, size_t errlen)
{
	static const char *const subs[] = { "revisions", "candidates" };
	char path[PATH_MAX];
	struct store *s;
	uint64_t *revs;
	size_t n;

	if (strlen(dir) == 0 || strlen(dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "%.64s: bad state folder name", dir);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", dir);
		return NULL;
	}
	memcpy(s->dir, dir, strlen(dir) + 1);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if (store_mkdirs(path, 0750) < 0) {
			snprintf(err, errlen, "%s: mkdir: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	if (store_revs_scan(s, &revs, &n) < 0) {
		snprintf(err, errlen, "%s/revisions: %s", dir, strerror(errno));
		goto fail;
	}
	s->running = n > 0 ? revs[n - 1] : 0;
	free(revs);
	store_rev_file(s, s->running + 1, "staged", path);
	if (access(path, F_OK) == 0)
		s->staged = s->running + 1;
	store_sweep(s, "revisions");
	store_sweep(s, "candidates");
	store_sweep(s, "");
	store_cand_sweep(s);
	return s;

fail:
	free(s);
	return NULL;
}

/*
 * The running revision of state folder DIR without opening it: nothing
 * is created, swept or repaired (a check before start-up must not
 * change what start-up will find).
 */
int
store_peek(const char *dir, uint64_t *running, char *path, size_t len)
{
	struct store *s = calloc(1, sizeof(*s));
	uint64_t *revs = NULL;
	size_t n = 0;
	int rc = -1;

	*running = 0;
	if (s == NULL)
		return -1;
	if (strlen(dir) == 0 || strlen(dir) >= sizeof(s->dir)) {
		errno = ENAMETOOLONG;
		goto out;
	}
	memcpy(s->dir, dir, strlen(dir) + 1);
	if (store_revs_scan(s, &revs, &n) < 0 && errno != ENOENT)
		goto out;
	if (n > 0) {
		*running = revs[n - 1];
		if ((size_t)snprintf(path, len,
		        "%s/revisions/%06" PRIu64 ".conf", dir,
		        *running) >= len) {
			errno = ENAMETOOLONG;
			goto out;
		}
	}
	rc = 0;
out:
	free(revs);
	free(s);
	return rc;
}

void
store_close(struct store *s)
{
	free(s);
}

int
store_rev_path(const struct store *s, uint64_t rev, char *buf, size_t len)
{
	char path[PATH_MAX];

	store_rev_file(s, rev, "conf", path);
	if (rev == 0 || access(path, F_OK) < 0) {
		errno = ENOENT;
		return -1;
	}
	if (strlen(path) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, strlen(path) + 1);
	return 0;
}

static void
store_meta_str(const json_t *o, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(o, key));

	snprintf(out, len, "%s", v ? v : "");
}

static void
store_meta_parse(const json_t *o, struct store_meta *m)
{
	m->base = (uint64_t)json_integer_value(json_object_get(o, "base"));
	m->time = json_integer_value(json_object_get(o, "time"));
	m->uid = (uid_t)json_integer_value(json_object_get(o, "uid"));
	m->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
	store_meta_str(o, "kind", m->kind, sizeof(m->kind));
	store_meta_str(o, "comment", m->comment, sizeof(m->comment));
}

int
store_rev_meta(const struct store *s, uint64_t rev, struct store_meta *m)
{
	char path[PATH_MAX];
	json_t *o;

	if (rev == 0 || !store_rev_exists(s, rev)) {
		errno = ENOENT;
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->rev = rev;
	store_rev_file(s, rev, "json", path);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o))
		snprintf(m->kind, sizeof(m->kind), "unknown");
	else
		store_meta_parse(o, m);
	json_decref(o);
	return 0;
}

int
store_rev_ids(const struct store *s, uint64_t rev, json_t **ids)
{
	char path[PATH_MAX];
	json_t *o, *m;

	if (rev == 0 || !store_rev_exists(s, rev)) {
		errno = ENOENT;
		return -1;
	}
	store_rev_file(s, rev, "json", path);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	m = json_object_get(o, "rule_ids");
	*ids = json_is_object(m) ? json_incref(m) : json_object();
	json_decref(o);
	if (*ids == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
store_rev_ids_put(const struct store *s, uint64_t rev, const json_t *ids)
{
	char path[PATH_MAX], *buf;
	json_t *o;
	int rc;

	if (rev == 0 || !store_rev_exists(s, rev)) {
		errno = ENOENT;
		return -1;
	}
	store_rev_file(s, rev, "json", path);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o) || json_object_get(o, "rule_ids") != NULL) {
		int e = json_is_object(o) ? EEXIST : EINVAL;

		json_decref(o);
		errno = e;
		return -1;
	}
	json_object_set_new(o, "rule_ids", json_deep_copy(ids));
	buf = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = store_file_write(path, buf, strlen(buf));
	free(buf);
	return rc;
}

int
store_rev_list(const struct store *s, struct store_meta *out, unsigned max,
    unsigned *n)
{
	uint64_t *revs;
	size_t cnt;

	*n = 0;
	if (store_revs_scan(s, &revs, &cnt) < 0)
		return -1;
	for (size_t i = cnt; i > 0 && *n < max; i--)
		if (store_rev_meta(s, revs[i - 1], &out[*n]) == 0)
			(*n)++;
	free(revs);
	return 0;
}

int
store_rev_text(const struct store *s, uint64_t rev, char **text, size_t *len)
{
	char path[PATH_MAX];

	if (rev == 0) {
		errno = ENOENT;
		return -1;
	}
	store_rev_file(s, rev, "conf", path);
	return store_file_read(path, text, len);
}

static int
store_meta_write(const struct store *s, const struct store_meta *m)
{
	char path[PATH_MAX];
	char *buf;
	json_t *o;
	int rc;

	o = json_pack("{sI sI sI sI sI ss ss}", "revision", (json_int_t)m->rev,
	    "base", (json_int_t)m->base, "time", (json_int_t)m->time, "uid",
	    (json_int_t)m->uid, "pid", (json_int_t)m->pid, "kind", m->kind,
	    "comment", m->comment);
	if (o == NULL) {
		errno = EINVAL; /* comment or kind not UTF-8 */
		return -1;
	}
	if (m->rule_ids != NULL)
		json_object_set_new(o, "rule_ids", json_deep_copy(m->rule_ids));
	buf = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	store_rev_file(s, m->rev, "json", path);
	rc = store_file_write(path, buf, strlen(buf));
	free(buf);
	return rc;
}

/* Removes REV: text first, so that it is gone before its metadata. */
static void
store_rev_remove(const struct store *s, uint64_t rev)
{
	char path[PATH_MAX];

	store_rev_file(s, rev, "conf", path);
	if (unlink(path) < 0)
		return;
	store_rev_file(s, rev, "json", path);
	unlink(path);
	store_dir_sync(path);
}

static void
store_prune(const struct store *s, unsigned keep)
{
	uint64_t *revs, crev = 0, cprev = 0;
	int64_t dl;
	size_t n, kept;

	if (keep == 0 || store_revs_scan(s, &revs, &n) < 0)
		return;
	store_confirm_get(s, &crev, &cprev, &dl, NULL);
	kept = n;
	for (size_t i = 0; i < n && kept > keep; i++) {
		if (revs[i] == s->running || revs[i] == crev ||
		    revs[i] == cprev)
			continue;
		store_rev_remove(s, revs[i]);
		kept--;
	}
	free(revs);
}

int
store_stage(struct store *s, const char *text, size_t len,
    struct store_meta *meta, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int saved;

	meta->rev = s->running + 1;
	if (meta->time == 0)
		meta->time = clk_unix_s();
	if (store_meta_write(s, meta) < 0) {
		snprintf(err, errlen, "revision %" PRIu64 ": metadata: %s",
		    meta->rev, strerror(errno));
		goto fail;
	}
	store_rev_file(s, meta->rev, "staged", path);
	if (store_file_write(path, text, len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	s->staged = meta->rev;
	return 0;
fail:
	saved = errno;
	s->staged = meta->rev;
	store_unstage(s);
	errno = saved;
	return -1;
}

uint64_t
store_staged(const struct store *s)
{
	return s->staged;
}

int
store_unstage(struct store *s)
{
	char path[PATH_MAX];
	int rc = 0;

	if (s->staged == 0)
		return 0;
	store_rev_file(s, s->staged, "staged", path);
	if (unlink(path) < 0 && errno != ENOENT)
		rc = -1;
	store_rev_file(s, s->staged, "json", path);
	if (unlink(path) < 0 && errno != ENOENT)
		rc = -1;
	if (store_dir_sync(path) < 0)
		rc = -1;
	if (rc == 0)
		s->staged = 0;
	return rc;
}

int
store_promote(struct store *s, unsigned keep, char *err, size_t errlen)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (s->staged == 0) {
		snprintf(err, errlen, "no staged revision");
		errno = ENOENT;
		return -1;
	}
	store_rev_file(s, s->staged, "staged", from);
	store_rev_file(s, s->staged, "conf", to);
	if (rename(from, to) < 0 || store_dir_sync(to) < 0) {
		snprintf(err, errlen, "%s: %s", to, strerror(errno));
		/* Renamed but not synced counts as not done: undo it. */
		if (access(to, F_OK) == 0 && rename(to, from) == 0)
			store_dir_sync(to);
		return -1;
	}
	s->running = s->staged;
	s->staged = 0;
	store_prune(s, keep);
	return 0;
}

int
store_commit(struct store *s, const char *text, size_t len,
    struct store_meta *meta, unsigned keep, char *err, size_t errlen)
{
	int saved;

	if (store_stage(s, text, len, meta, err, errlen) < 0)
		return -1;
	if (store_promote(s, keep, err, errlen) == 0)
		return 0;
	saved = errno;
	store_unstage(s);
	errno = saved;
	return -1;
}
