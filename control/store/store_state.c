/*
 * Per-admin candidates and the pending commit-confirm, in the state
 * folder.  A candidate and the revision it was copied from are one file,
 * candidates/UID.conf, whose first line ("#cordon-base N", a libconfig
 * comment) names the base: one atomic replace writes both, so there is
 * never a candidate without its base.  The rule identities it pins
 * (rename, rollback) ride the same way on a second line, "#cordon-ids
 * {...}".  A candidate from before (text in
 * UID.conf, base in UID.base) is read as it is and rewritten in the new
 * form by its next save; store_open discards one whose base is missing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

#define STORE_BASE_TAG "#cordon-base "
#define STORE_IDS_TAG  "#cordon-ids "

static void
store_cand_file(const struct store *s, uid_t uid, const char *ext,
    char buf[PATH_MAX])
{
	snprintf(buf, PATH_MAX, "%s/candidates/%u.%s", store_dir(s),
	    (unsigned)uid, ext);
}

int
store_cand_exists(const struct store *s, uid_t uid)
{
	char path[PATH_MAX];

	store_cand_file(s, uid, "conf", path);
	return access(path, F_OK) == 0;
}

/* The base of a candidate from before the one-file form; 0 if none. */
static uint64_t
store_cand_base(const struct store *s, uid_t uid)
{
	char path[PATH_MAX], *buf, *end;
	uint64_t base;

	store_cand_file(s, uid, "base", path);
	if (store_file_read(path, &buf, NULL) < 0)
		return 0;
	errno = 0;
	base = strtoull(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\0' && *end != '\n'))
		base = 0;
	free(buf);
	return base;
}

/*
 * The "#cordon-ids {...}" line after the base, if BUF starts with one:
 * cut off, its object into *IDS (when IDS is not NULL).
 */
static void
store_cand_split_ids(char *buf, size_t *len, json_t **ids)
{
	size_t tl = strlen(STORE_IDS_TAG);
	char *nl;

	if (*len < tl || memcmp(buf, STORE_IDS_TAG, tl) != 0 ||
	    (nl = memchr(buf, '\n', *len)) == NULL)
		return;
	if (ids != NULL) {
		json_t *o =
		    json_loadb(buf + tl, (size_t)(nl - buf) - tl, 0, NULL);

		if (json_is_object(o)) {
			json_decref(*ids);
			*ids = o;
		} else
			json_decref(o);
	}
	*len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, *len + 1);
}

static int
store_cand_split_all(char *buf, size_t *len, uint64_t *base, json_t **ids)
{
	size_t tl = strlen(STORE_BASE_TAG);
	char *nl, *end;

	if (*len < tl || memcmp(buf, STORE_BASE_TAG, tl) != 0 ||
	    (nl = memchr(buf, '\n', *len)) == NULL)
		return -1;
	errno = 0;
	*base = strtoull(buf + tl, &end, 10);
	if (errno != 0 || end == buf + tl || end != nl)
		return -1;
	*len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, *len + 1);
	store_cand_split_ids(buf, len, ids);
	return 0;
}

int
store_cand_split(char *buf, size_t *len, uint64_t *base)
{
	return store_cand_split_all(buf, len, base, NULL);
}

int
store_cand_load(struct store *s, uid_t uid, char **text, size_t *len,
    uint64_t *base)
{
	char path[PATH_MAX];
	uint64_t run = store_running(s);
	size_t n;

	store_cand_file(s, uid, "conf", path);
	if (store_file_read(path, text, &n) == 0) {
		if (store_cand_split(*text, &n, base) < 0)
			*base = store_cand_base(s, uid);
		if (len != NULL)
			*len = n;
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	*base = run;
	if (run != 0)
		return store_rev_text(s, run, text, len);
	if ((*text = strdup("")) == NULL)
		return -1;
	if (len != NULL)
		*len = 0;
	return 0;
}

int
store_cand_ids(const struct store *s, uid_t uid, json_t **ids)
{
	char path[PATH_MAX], *buf;
	uint64_t base;
	size_t n;

	if ((*ids = json_object()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	store_cand_file(s, uid, "conf", path);
	if (store_file_read(path, &buf, &n) < 0) {
		if (errno == ENOENT)
			return 0;
		json_decref(*ids);
		*ids = NULL;
		return -1;
	}
	store_cand_split_all(buf, &n, &base, ids);
	free(buf);
	return 0;
}

int
store_cand_save_ids(struct store *s, uid_t uid, const char *text, size_t len,
    uint64_t base, const json_t *ids)
{
	char path[PATH_MAX], *buf, *line = NULL;
	int n, rc;

	if (ids != NULL && json_object_size(ids) > 0 &&
	    (line = json_dumps(ids, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	n = asprintf(&buf, STORE_BASE_TAG "%" PRIu64 "\n%s%s%s%.*s", base,
	    line ? STORE_IDS_TAG : "", line ? line : "", line ? "\n" : "",
	    (int)len, text);
	free(line);
	if (n < 0)
		return -1;
	store_cand_file(s, uid, "conf", path);
	rc = store_file_write(path, buf, (size_t)n);
	free(buf);
	if (rc < 0)
		return -1;
	/* A base file from the two-file form would now be stale. */
	store_cand_file(s, uid, "base", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* The text changes; the identities it pins stay (update, load). */
int
store_cand_save(struct store *s, uid_t uid, const char *text, size_t len,
    uint64_t base)
{
	json_t *ids;
	int rc;

	if (store_cand_ids(s, uid, &ids) < 0)
		return -1;
	rc = store_cand_save_ids(s, uid, text, len, base, ids);
	json_decref(ids);
	return rc;
}

/* Whether TEXT is the running revision's: committed, not yet dropped. */
static bool
store_cand_committed(struct store *s, const char *text, size_t len)
{
	char *run;
	size_t rlen;
	bool same;

	if (store_rev_text(s, store_running(s), &run, &rlen) < 0)
		return false;
	same = rlen == len && memcmp(run, text, len) == 0;
	free(run);
	return same;
}

/*
 * store_open: a candidate in the two-file form whose base never landed
 * (the wedge of a failed save: "stale, based on revision 0" forever) is
 * set aside as UID.discarded, and a base without its candidate removed.
 */
static void
store_cand_check(struct store *s, const char *name)
{
	char path[PATH_MAX], other[PATH_MAX], *buf;
	uid_t uid;
	uint64_t base;
	size_t n;
	char *end;

	errno = 0;
	uid = (uid_t)strtoul(name, &end, 10);
	if (errno != 0 || end == name)
		return;
	if (strcmp(end, ".base") == 0) {
		if (!store_cand_exists(s, uid)) {
			store_cand_file(s, uid, "base", path);
			unlink(path);
		}
		return;
	}
	if (strcmp(end, ".conf") != 0)
		return;
	store_cand_file(s, uid, "conf", path);
	if (store_file_read(path, &buf, &n) < 0)
		return;
	if (store_cand_split(buf, &n, &base) < 0 &&
	    (base = store_cand_base(s, uid)) == 0) {
		store_cand_file(s, uid, "discarded", other);
		if (rename(path, other) == 0 && store_dir_sync(path) == 0)
			store_note(s,
			    "candidate of uid %u had no base (a save "
			    "that never completed): set aside as %s",
			    (unsigned)uid, other);
	} else if (base != store_running(s) &&
	           store_cand_committed(s, buf, n) &&
	           store_cand_drop(s, uid) == 0)
		store_note(s,
		    "candidate of uid %u was committed as revision "
		    "%" PRIu64 " before a crash: dropped",
		    (unsigned)uid, store_running(s));
	free(buf);
}

void
store_cand_sweep(struct store *s)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/candidates", store_dir(s));
	if ((dir = opendir(path)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			store_cand_check(s, d->d_name);
	closedir(dir);
}

int
store_cand_drop(struct store *s, uid_t uid)
{
	char path[PATH_MAX];

	store_cand_file(s, uid, "conf", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	store_cand_file(s, uid, "base", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	return store_dir_sync(path);
}

static void
store_confirm_file(const struct store *s, char buf[PATH_MAX])
{
	snprintf(buf, PATH_MAX, "%s/confirm.json", store_dir(s));
}

int
store_confirm_arm(struct store *s, uint64_t rev, uint64_t prev,
    int64_t deadline_unix, const json_t *clock)
{
	char path[PATH_MAX];
	char *buf;
	json_t *o;
	int rc;

	o = json_pack("{sI sI sI}", "revision", (json_int_t)rev, "previous",
	    (json_int_t)prev, "deadline", (json_int_t)deadline_unix);
	if (o == NULL || (clock != NULL && json_object_update_missing(o,
	                                       (json_t *)clock) < 0)) {
		json_decref(o);
		errno = ENOMEM;
		return -1;
	}
	buf = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	if (buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	store_confirm_file(s, path);
	rc = store_file_write(path, buf, strlen(buf));
	free(buf);
	return rc;
}

int
store_confirm_get(const struct store *s, uint64_t *rev, uint64_t *prev,
    int64_t *deadline, json_t **clock)
{
	char path[PATH_MAX];
	json_int_t r, p, d;
	json_error_t je;
	json_t *o;
	int rc;

	store_confirm_file(s, path);
	if (access(path, F_OK) < 0)
		return -1; /* errno ENOENT */
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	rc = json_unpack(o, "{sI sI sI}", "revision", &r, "previous", &p,
	    "deadline", &d);
	if (o == NULL || rc < 0 || r <= 0 || p < 0) {
		json_decref(o);
		errno = EINVAL;
		return -1;
	}
	if (clock != NULL)
		*clock = json_incref(o);
	json_decref(o);
	*rev = (uint64_t)r;
	*prev = (uint64_t)p;
	*deadline = d;
	return 0;
}

int
store_confirm_clear(struct store *s)
{
	char path[PATH_MAX];

	store_confirm_file(s, path);
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -1;
	return store_dir_sync(path);
}
