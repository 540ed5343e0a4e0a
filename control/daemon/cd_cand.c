/*
 * The caller's candidate as a whole (docs/control.md section 4):
 * discard drops it, rollback N (without commit) replaces it with a copy
 * of revision N for review.  Each is audited before it is acknowledged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

/*
 * Audits a change to the caller's candidate (now on BASE), already
 * made.  A change without its record is taken back: OLD (LEN bytes on
 * OLD_BASE) is saved again, or, when NULL (there was none), the
 * candidate is dropped.
 */
int
cd_cand_audit_ids(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *change, uint64_t base, const char *old, size_t len,
    uint64_t old_base, const json_t *old_ids, struct cd_err *e)
{
	if (cd_audit(d, rq, cmd, "ok", change, base) == 0)
		return 0;
	if ((old ? store_cand_save_ids(d->store, rq->uid, old, len, old_base,
	               old_ids)
	         : store_cand_drop(d->store, rq->uid)) < 0)
		cd_log("uid %d: taking back an unaudited %s: %s", (int)rq->uid,
		    cmd, strerror(errno));
	return cd_fail(e, "internal",
	    "the audit log %s cannot take the "
	    "record: the candidate was not changed",
	    d->audit_path);
}

int
cd_cand_audit(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *change, uint64_t base, const char *old, size_t len,
    uint64_t old_base, struct cd_err *e)
{
	json_t *ids = NULL;
	int rc;

	if (old != NULL && store_cand_ids(d->store, rq->uid, &ids) < 0)
		ids = NULL;
	rc = cd_cand_audit_ids(d, rq, cmd, change, base, old, len, old_base,
	    ids, e);
	json_decref(ids);
	return rc;
}

/* The caller's saved candidate, or no-candidate: "nothing to WHAT". */
static int
cd_cand_saved(struct cd *d, const struct cd_req *rq, const char *what,
    char **text, size_t *len, uint64_t *base, struct cd_err *e)
{
	if (store_cand_exists(d->store, rq->uid) != 1)
		return cd_fail(e, "no-candidate",
		    "no candidate for uid %d: nothing to %s", (int)rq->uid,
		    what);
	if (store_cand_load(d->store, rq->uid, text, len, base) < 0)
		return cd_fail(e, "internal", "candidate: %s", strerror(errno));
	return 0;
}

int
cd_cmd_discard(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	char *text, *change = NULL;
	uint64_t base;
	size_t len;
	int rc = -1;

	if (cd_cand_saved(d, rq, "discard", &text, &len, &base, e) < 0)
		return -1;
	/* The record keeps what was thrown away. */
	diff_unified(d->run.text, text, "running", "discarded", &change);
	if (store_cand_drop(d->store, rq->uid) < 0)
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
	else if (cd_cand_audit(d, rq, "discard", change, base, text, len, base,
	             e) == 0) {
		cd_log("uid %d discarded a candidate based on revision %lu",
		    (int)rq->uid, (unsigned long)base);
		*data = json_pack("{s:i, s:I, s:I}", "schema", CD_SCHEMA,
		    "discarded", (json_int_t)base, "running",
		    (json_int_t)d->run.rev);
		rc = 0;
	}
	free(change);
	free(text);
	return rc;
}

/*
 * rollback N without commit: the candidate becomes a copy of TEXT
 * (revision TO), based on the running revision, for compare and commit.
 */
int
cd_rollback_cand(struct cd *d, const struct cd_req *rq, uint64_t to,
    const char *text, json_t **data, struct cd_err *e)
{
	char *old = NULL, *change = NULL, cmd[80];
	json_t *ids = NULL, *oids = NULL;
	uint64_t obase;
	size_t olen;
	bool had = store_cand_exists(d->store, rq->uid) == 1;
	int rc = -1;

	snprintf(cmd, sizeof(cmd), "rollback %lu (into the candidate)",
	    (unsigned long)to);
	if (store_cand_load(d->store, rq->uid, &old, &olen, &obase) < 0 ||
	    store_cand_ids(d->store, rq->uid, &oids) < 0 ||
	    store_rev_ids(d->store, to, &ids) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
		goto out;
	}
	diff_unified(old, text, "candidate", "candidate", &change);
	/* Revision TO's rules keep their ids (a rename in between too). */
	if (store_cand_save_ids(d->store, rq->uid, text, strlen(text),
	        d->run.rev, ids) < 0)
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
	else if (cd_cand_audit_ids(d, rq, cmd, change, d->run.rev,
	             had ? old : NULL, olen, obase, oids, e) == 0) {
		*data = cd_diff_data(d, text, d->run.rev);
		json_object_set_new(*data, "copy_of",
		    json_integer((json_int_t)to));
		cd_ruleid_review(d, rq->uid, text, *data);
		rc = 0;
	}
out:
	json_decref(ids);
	json_decref(oids);
	free(change);
	free(old);
	return rc;
}

/* The rebase of TEXT (on BASE) onto the running revision, in *OUT. */
static int
cd_rebase(struct cd *d, const char *text, uint64_t base, char **out,
    struct cd_err *e)
{
	char *old, err[900];
	size_t len;
	int rc;

	if (store_rev_text(d->store, base, &old, &len) < 0)
		return cd_fail(e, "no-such-revision",
		    "revision %lu, the candidate's base, is no longer "
		    "kept: discard the candidate",
		    (unsigned long)base);
	rc = merge3(old, text, d->run.text, out, err, sizeof(err));
	free(old);
	if (rc == 0)
		return 0;
	if (errno == EEXIST)
		return cd_fail(e, "conflict",
		    "revision %lu changed what the candidate changes: %s",
		    (unsigned long)d->run.rev, err);
	return cd_fail(e, "internal", "rebase: %s", err);
}

/*
 * update: a stale candidate's changes replayed onto the running
 * revision; refused, the candidate unchanged, on a conflict.
 */
int
cd_cmd_update(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	char *text, *out = NULL, *change = NULL, cmd[80], result[1100];
	uint64_t base;
	size_t len;
	int rc = -1;

	if (cd_cand_saved(d, rq, "update", &text, &len, &base, e) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "update %lu -> %lu", (unsigned long)base,
	    (unsigned long)d->run.rev);
	if (base == d->run.rev) {
		*data = cd_diff_data(d, text, base);
		rc = 0;
	} else if (cd_rebase(d, text, base, &out, e) < 0) {
		snprintf(result, sizeof(result), "refused: %s: %s", e->code,
		    e->msg);
		cd_audit(d, rq, cmd, result, NULL, base);
	} else if (store_cand_save(d->store, rq->uid, out, strlen(out),
	               d->run.rev) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
	} else {
		diff_unified(text, out, "candidate", "candidate", &change);
		if (cd_cand_audit(d, rq, cmd, change, d->run.rev, text, len,
		        base, e) == 0) {
			*data = cd_diff_data(d, out, d->run.rev);
			json_object_set_new(*data, "rebased_from",
			    json_integer((json_int_t)base));
			rc = 0;
		}
	}
	free(change);
	free(out);
	free(text);
	return rc;
}
