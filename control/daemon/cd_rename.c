/*
 * rename rule OLD to NEW (docs/control.md, "Rule counters"): the rule
 * keeps its place and body in the caller's candidate, and the candidate
 * pins OLD's identity to NEW, so that the commit credits OLD's id and
 * hits to NEW.  The name OLD is left to a new rule (pinned to 0).
 * Audited like any edit of the candidate.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

/* The id rule NAME has in the candidate: pinned, else the running's. */
static json_int_t
cd_rename_id(struct cd *d, const json_t *ids, const char *name)
{
	const json_t *v = json_object_get(ids, name);

	if (json_is_integer(v))
		return json_integer_value(v);
	for (unsigned i = 0; i < d->run.pol->nrules; i++)
		if (strcmp(d->run.pol->rule[i].name, name) == 0)
			return d->run.rid[i];
	return 0;
}

/* IDS after the rename: NEW takes OLD's identity, OLD none. */
static json_t *
cd_rename_ids(struct cd *d, const json_t *old, const char *from, const char *to)
{
	json_t *ids = json_deep_copy(old);
	json_int_t id = cd_rename_id(d, old, from);

	if (ids == NULL || strcmp(from, to) == 0)
		return ids;
	json_object_set_new(ids, to, json_integer(id));
	json_object_set_new(ids, from, json_integer(0));
	return ids;
}

static int
cd_rename_args(const struct cd_req *rq, const char **from, const char **to,
    struct cd_err *e)
{
	const char *kind = json_string_value(json_object_get(rq->args, "kind"));

	*from = json_string_value(json_object_get(rq->args, "name"));
	*to = json_string_value(json_object_get(rq->args, "to"));
	if (kind == NULL || *from == NULL || *to == NULL)
		return cd_fail(e, "bad-request",
		    "rename needs \"kind\", \"name\" and \"to\"");
	if (strcmp(kind, "rule") != 0)
		return cd_fail(e, "bad-request",
		    "rename: only rules can be renamed, not %s", kind);
	return 0;
}

static int
cd_rename_do(struct cd *d, const struct cd_req *rq, const char *from,
    const char *to, json_t **data, const char *cmd, struct cd_err *e)
{
	char *text = NULL, *out = NULL, *change = NULL, err[512];
	json_t *old = NULL, *ids = NULL;
	bool had = store_cand_exists(d->store, rq->uid) == 1;
	uint64_t base;
	size_t len;
	int rc = -1;

	if (store_cand_load(d->store, rq->uid, &text, &len, &base) < 0 ||
	    store_cand_ids(d->store, rq->uid, &old) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
		goto out;
	}
	if (cand_rename(text, "rule", from, to, &out, err, sizeof(err)) < 0) {
		cd_fail(e,
		    errno == ENOENT   ? "no-such-name"
		    : errno == EEXIST ? "name-exists"
		                      : "invalid",
		    "%s", err);
		goto out;
	}
	if ((ids = cd_rename_ids(d, old, from, to)) == NULL ||
	    store_cand_save_ids(d->store, rq->uid, out, strlen(out), base,
	        ids) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
		goto out;
	}
	diff_unified(text, out, "candidate", "candidate", &change);
	if (cd_cand_audit_ids(d, rq, cmd, change, base, had ? text : NULL, len,
	        base, old, e) < 0)
		goto out;
	*data = cd_diff_data(d, out, base);
	cd_ruleid_review(d, rq->uid, out, *data);
	rc = 0;
out:
	json_decref(old);
	json_decref(ids);
	free(change);
	free(text);
	free(out);
	return rc;
}

int
cd_cmd_rename(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *from, *to;
	char cmd[160], result[1100];

	if (cd_rename_args(rq, &from, &to, e) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rename rule %s to %s", from, to);
	if (cd_rename_do(d, rq, from, to, data, cmd, e) == 0)
		return 0;
	snprintf(result, sizeof(result), "refused: %s: %s", e->code, e->msg);
	cd_audit(d, rq, cmd, result, NULL, d->run.rev);
	return -1;
}
