/*
 * Revisions as texts (docs/control.md "show", "compare", "load"): show
 * config N, compare rollback N and compare N M (unified diffs of the
 * flattened texts), and load override|merge, which puts a config file
 * cordonctl read (the daemon may not be able to read the admin's files)
 * into the caller's candidate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

/* REV's text; no-such-revision when it is not kept. */
static int
cd_rev_text(struct cd *d, json_t *v, uint64_t *rev, char **text,
    struct cd_err *e)
{
	size_t len;

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return cd_fail(e, "bad-request",
		    "a revision is a number "
		    "(show revisions)");
	*rev = (uint64_t)json_integer_value(v);
	if (*rev == 0 || store_rev_text(d->store, *rev, text, &len) < 0)
		return cd_fail(e, "no-such-revision",
		    "no revision %lu (kept: "
		    "show revisions)",
		    (unsigned long)*rev);
	return 0;
}

/* show config [revision N]: the running revision's text, or N's. */
int
cd_show_config(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	json_t *v = json_object_get(rq->args, "revision");
	uint64_t rev = d->run.rev;
	char *text = NULL;

	if (v != NULL && cd_rev_text(d, v, &rev, &text, e) < 0)
		return -1;
	*data = cd_obj();
	json_object_set_new(*data, "revision", json_integer((json_int_t)rev));
	json_object_set_new(*data, "running", json_boolean(rev == d->run.rev));
	json_object_set_new(*data, "text",
	    json_string(text ? text : d->run.text));
	free(text);
	return 0;
}

/* "revision 7 (running)": a diff's header. */
static void
cd_rev_label(const struct cd *d, uint64_t rev, char *buf, size_t len)
{
	snprintf(buf, len, "revision %lu%s", (unsigned long)rev,
	    rev == d->run.rev ? " (running)" : "");
}

/*
 * compare rollback N (N -> the running revision: what changed since N)
 * and compare N M (N -> M).  1 when ARGS name revisions, 0 when they do
 * not (the candidate's compare), -1 with E.
 */
int
cd_compare_revs(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	json_t *rb = json_object_get(rq->args, "rollback");
	json_t *from = json_object_get(rq->args, "from");
	json_t *to = json_object_get(rq->args, "to");
	char *a = NULL, *b = NULL, *diff = NULL, la[48], lb[48];
	uint64_t ra, rb_ = d->run.rev;
	int rc = -1;

	if (rb == NULL && from == NULL && to == NULL)
		return 0;
	if ((rb != NULL) == (from != NULL) || (from != NULL) != (to != NULL))
		return cd_fail(e, "bad-request",
		    "compare: \"rollback\" N, "
		    "or \"from\" N and \"to\" M");
	if (cd_rev_text(d, rb ? rb : from, &ra, &a, e) < 0 ||
	    (to != NULL && cd_rev_text(d, to, &rb_, &b, e) < 0))
		goto out;
	cd_rev_label(d, ra, la, sizeof(la));
	cd_rev_label(d, rb_, lb, sizeof(lb));
	if (diff_unified(a, b ? b : d->run.text, la, lb, &diff) < 0) {
		cd_fail(e, "internal", "diff: %s", strerror(errno));
		goto out;
	}
	*data = cd_obj();
	json_object_set_new(*data, "from", json_integer((json_int_t)ra));
	json_object_set_new(*data, "to", json_integer((json_int_t)rb_));
	json_object_set_new(*data, "diff", json_string(diff));
	rc = 1;
out:
	free(diff);
	free(a);
	free(b);
	return rc;
}

/* "candidate:12: msg" and that line of TEXT, so the admin sees it. */
static int
cd_load_refuse(const char *text, const char *err, struct cd_err *e)
{
	const char *colon = strchr(err, ':');
	long line = colon ? strtol(colon + 1, NULL, 10) : 0;
	const char *p = text;
	int n;

	for (long i = 1; line > 0 && i < line && p != NULL; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (line <= 0 || p == NULL || *p == '\0')
		return cd_fail(e, "invalid", "%s", err);
	p += strspn(p, " \t");
	n = (int)(strchrnul(p, '\n') - p);
	return cd_fail(e, "invalid", "%s (line %ld: %.*s)", err, line,
	    n > 120 ? 120 : n, p);
}

/* TEXT loads (config/load): what commit check then compiles. */
static int
cd_load_check(struct cd *d, const char *text, struct cd_err *e)
{
	struct conf *c = calloc(1, sizeof(*c));
	char path[CONF_PATH_MAX + 32], err[900], msg[920];
	size_t n;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/candidate-check.conf",
	    d->ctl.state_dir);
	n = strlen(path);
	if (c == NULL)
		cd_fail(e, "internal", "out of memory");
	else if (store_file_write(path, text, strlen(text)) < 0)
		cd_fail(e, "internal", "%s: %s", path, strerror(errno));
	else if (conf_load(path, c, err, sizeof(err)) < 0) {
		/* The scratch file's name means nothing to the admin. */
		snprintf(msg, sizeof(msg), "%s%s",
		    strncmp(err, path, n) == 0 ? "candidate" : "",
		    strncmp(err, path, n) == 0 ? err + n : err);
		cd_load_refuse(text, msg, e);
	} else
		rc = 0;
	free(c);
	return rc;
}

/* The new candidate of load MODE with the file's TEXT, in *OUT. */
static int
cd_load_text(const char *mode, const char *cand, const char *text,
    const char *file, char **out, struct cd_err *e)
{
	char err[900];

	if (strcmp(mode, "override") == 0) {
		if (cand_include_check(text, file, err, sizeof(err)) < 0)
			return cd_fail(e, "invalid", "%s", err);
		if ((*out = strdup(text)) == NULL)
			return cd_fail(e, "internal", "out of memory");
		return 0;
	}
	if (strcmp(mode, "merge") != 0)
		return cd_fail(e, "bad-request",
		    "load: \"mode\" is override or "
		    "merge");
	if (cand_merge(cand, text, file, out, err, sizeof(err)) < 0)
		return cd_fail(e, errno == ENOMEM ? "internal" : "invalid",
		    "%s", err);
	return 0;
}

/* Validates the request: MODE, TEXT (bounded) and FILE (a label). */
static int
cd_load_args(const struct cd_req *rq, const char **mode, const char **text,
    const char **file, struct cd_err *e)
{
	json_t *t = json_object_get(rq->args, "text");

	*mode = json_string_value(json_object_get(rq->args, "mode"));
	*file = json_string_value(json_object_get(rq->args, "file"));
	*text = json_string_value(t);
	if (*mode == NULL || *text == NULL)
		return cd_fail(e, "bad-request",
		    "load needs \"mode\" and "
		    "\"text\"");
	if (json_string_length(t) > CD_LOAD_MAX)
		return cd_fail(e, "bad-request",
		    "load: the file is larger than %u bytes", CD_LOAD_MAX);
	if (*file == NULL || **file == '\0' || strlen(*file) > 200 ||
	    strpbrk(*file, "\n\r") != NULL)
		*file = "file";
	return 0;
}

/*
 * load override|merge: the file's text replaces the caller's candidate
 * (based on the running revision) or is merged onto it (the candidate's
 * base kept; cand_merge).  The result must load, else it is refused
 * and the candidate is left as it was.
 */
int
cd_cmd_load(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *mode, *text, *file;
	char *old = NULL, *out = NULL, *change = NULL, cmd[256], res[1100];
	bool had = store_cand_exists(d->store, rq->uid) == 1;
	uint64_t obase, base;
	size_t olen;
	int rc = -1;

	if (cd_load_args(rq, &mode, &text, &file, e) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "load %s %s", mode, file);
	if (store_cand_load(d->store, rq->uid, &old, &olen, &obase) < 0)
		return cd_fail(e, "internal", "candidate: %s", strerror(errno));
	base = strcmp(mode, "override") == 0 ? d->run.rev : obase;
	if (cd_load_text(mode, old, text, file, &out, e) < 0 ||
	    cd_load_check(d, out, e) < 0) {
		snprintf(res, sizeof(res), "refused: %s: %s", e->code, e->msg);
		cd_audit(d, rq, cmd, res, NULL, obase);
		goto out;
	}
	diff_unified(old, out, "candidate", "candidate", &change);
	/* override replaces the candidate whole: its rename pins go too */
	if ((strcmp(mode, "override") == 0
	            ? store_cand_save_ids(d->store, rq->uid, out, strlen(out),
	                  base, NULL)
	            : store_cand_save(d->store, rq->uid, out, strlen(out),
	                  base)) < 0)
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
	else if (cd_cand_audit(d, rq, cmd, change, base, had ? old : NULL, olen,
	             obase, e) == 0) {
		*data = cd_diff_data(d, out, base);
		json_object_set_new(*data, "file", json_string(file));
		rc = 0;
	}
out:
	free(change);
	free(out);
	free(old);
	return rc;
}
