/*
 * Per-admin candidates and the pending commit-confirm, in the state
 * folder.  A candidate's text is written before its base: a crash in
 * between leaves a candidate that the commit refuses as stale, never one
 * that claims a base it was not copied from.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

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

/* The base a candidate remembers; 0 (always stale) when unreadable. */
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

int
store_cand_load(struct store *s, uid_t uid, char **text, size_t *len,
    uint64_t *base)
{
	char path[PATH_MAX];
	uint64_t run = store_running(s);

	store_cand_file(s, uid, "conf", path);
	if (store_file_read(path, text, len) == 0) {
		*base = store_cand_base(s, uid);
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
store_cand_save(struct store *s, uid_t uid, const char *text, size_t len,
    uint64_t base)
{
	char path[PATH_MAX], num[24];

	store_cand_file(s, uid, "conf", path);
	if (store_file_write(path, text, len) < 0)
		return -1;
	snprintf(num, sizeof(num), "%" PRIu64 "\n", base);
	store_cand_file(s, uid, "base", path);
	return store_file_write(path, num, strlen(num));
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
	if (o == NULL || (clock != NULL &&
	    json_object_update_missing(o, (json_t *)clock) < 0)) {
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
