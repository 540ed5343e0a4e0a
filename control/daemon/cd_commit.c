/*
 * Candidates and commits (docs/control.md section 4): set, delete and
 * compare on the caller's candidate; commit (check, confirmed), confirm,
 * rollback; the commit-confirm timer that reverts by itself.  Every
 * change and every refused commit goes to the audit log.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

#define CD_REVERT_RETRY_S 5

static const char *
cd_arg_str(const struct cd_req *rq, const char *key)
{
	return json_string_value(json_object_get(rq->args, key));
}

/* "set rule NAME {attrs}": what the audit log calls the change. */
static char *
cd_edit_cmd(const struct cd_req *rq, const char *kind, const char *name,
    json_t *attrs)
{
	char *a = attrs ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS)
	                : NULL;
	char *s = NULL;

	if (asprintf(&s, "%s %s %s%s%s", rq->cmd, kind, name, a ? " " : "",
	        a ? a : "") < 0)
		s = NULL;
	free(a);
	return s;
}

static int
cd_edit_apply(const char *text, const struct cd_req *rq, const char *kind,
    const char *name, json_t *attrs, char **out, struct cd_err *e)
{
	char err[512];

	if (strcmp(rq->cmd, "set") == 0) {
		if (cand_set(text, kind, name, attrs, out, err, sizeof(err)) <
		    0)
			return cd_fail(e, "invalid", "%s", err);
	} else if (cand_delete(text, kind, name, out, err, sizeof(err)) < 0) {
		/* Nothing to delete is not an invalid candidate (exit 5). */
		return cd_fail(e, errno == ENOENT ? "no-such-name" : "invalid",
		    "%s", err);
	}
	return 0;
}

json_t *
cd_diff_data(struct cd *d, const char *cand, uint64_t base)
{
	char *diff = NULL;
	json_t *o = cd_obj();

	if (diff_unified(d->run.text, cand, "running", "candidate", &diff) < 0)
		diff = NULL;
	json_object_set_new(o, "base", json_integer((json_int_t)base));
	json_object_set_new(o, "running", json_integer((json_int_t)d->run.rev));
	json_object_set_new(o, "stale", json_boolean(base != d->run.rev));
	json_object_set_new(o, "diff", json_string(diff ? diff : ""));
	free(diff);
	return o;
}

/* set and delete: edit the caller's candidate, answer its diff. */
static int
cd_cand_edit(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	const char *kind = cd_arg_str(rq, "kind"),
	           *name = cd_arg_str(rq, "name");
	json_t *attrs = json_object_get(rq->args, "attrs");
	char *text = NULL, *out = NULL, *cmd, *change = NULL, result[1100];
	json_t *none = json_object();
	uint64_t base;
	size_t len;
	bool had;
	int rc = -1;

	if (kind == NULL || (name == NULL && strcmp(kind, "default") != 0) ||
	    (attrs != NULL && !json_is_object(attrs))) {
		json_decref(none);
		return cd_fail(e, "bad-request",
		    "%s needs \"kind\", \"name\" "
		    "and an object \"attrs\"",
		    rq->cmd);
	}
	name = name ? name : "";
	cmd = cd_edit_cmd(rq, kind, name, attrs);
	if (store_cand_load(d->store, rq->uid, &text, &len, &base) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
		goto out;
	}
	if (cd_edit_apply(text, rq, kind, name, attrs ? attrs : none, &out, e) <
	    0)
		goto audit;
	had = store_cand_exists(d->store, rq->uid) == 1;
	if (store_cand_save(d->store, rq->uid, out, strlen(out), base) < 0) {
		cd_fail(e, "internal", "candidate: %s", strerror(errno));
		goto audit;
	}
	diff_unified(text, out, "candidate", "candidate", &change);
	if (cd_cand_audit(d, rq, cmd ? cmd : rq->cmd, change, base,
	        had ? text : NULL, len, base, e) < 0)
		goto out;
	*data = cd_diff_data(d, out, base);
	rc = 0;
	goto out;
audit:
	snprintf(result, sizeof(result), "refused: %s: %s", e->code, e->msg);
	cd_audit(d, rq, cmd ? cmd : rq->cmd, result, change, base);
out:
	json_decref(none);
	free(change);
	free(cmd);
	free(text);
	free(out);
	return rc;
}

int
cd_cmd_set(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	return cd_cand_edit(d, rq, data, e);
}

int
cd_cmd_delete(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	return cd_cand_edit(d, rq, data, e);
}

int
cd_cmd_compare(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	uint64_t base;
	char *text;
	size_t len;
	int rc = cd_compare_revs(d, rq, data, e);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (store_cand_exists(d->store, rq->uid) != 1)
		return cd_fail(e, "no-candidate", "no candidate for uid %d",
		    (int)rq->uid);
	if (store_cand_load(d->store, rq->uid, &text, &len, &base) < 0)
		return cd_fail(e, "internal", "candidate: %s", strerror(errno));
	*data = cd_diff_data(d, text, base);
	cd_ruleid_review(d, rq->uid, text, *data);
	free(text);
	return 0;
}

/* commit ------------------------------------------------------------ */

static void
cd_refused(struct cd *d, const struct cd_req *rq, const char *cmd,
    const struct cd_err *e)
{
	char result[1100];

	snprintf(result, sizeof(result), "refused: %s: %s", e->code, e->msg);
	cd_audit(d, rq, cmd, result, NULL, d->run.rev);
	cd_syslog_event(d, "commit-refused", e->msg, "command", cmd, "error",
	    e->code, "uid", CD_SL_U(rq->uid), "revision", CD_SL_U(d->run.rev),
	    NULL);
}

static int
cd_commit_check(struct cd *d, const char *text, uint64_t base, json_t **data,
    struct cd_err *e)
{
	struct cd_running n;
	bool rebuilt;

	if (cd_run_compile(d, 0, text, &d->run, &n, e) < 0)
		return -1;
	rebuilt = !n.geo_borrowed;
	cd_run_free(&n);
	*data = json_pack("{s:i, s:b, s:b, s:I, s:b}", "schema", CD_SCHEMA,
	    "check", 1, "valid", 1, "base", (json_int_t)base, "geo_rebuilt",
	    rebuilt);
	return 0;
}

/* Seconds to wait for "confirm", or 0 for a plain commit. */
static int
cd_confirm_secs(struct cd *d, const struct cd_req *rq, int64_t *secs,
    struct cd_err *e)
{
	json_t *m = json_object_get(rq->args, "confirmed");
	json_t *s = json_object_get(rq->args, "confirmed_seconds");

	*secs = 0;
	if (s != NULL && !d->test_timers)
		return cd_fail(e, "bad-request",
		    "\"confirmed_seconds\" is "
		    "for cordond --test-timers only");
	if (s != NULL && (!json_is_integer(s) || json_integer_value(s) < 1))
		return cd_fail(e, "bad-request", "bad \"confirmed_seconds\"");
	if (m != NULL && !json_is_null(m) &&
	    (!json_is_integer(m) || json_integer_value(m) < 0 ||
	        json_integer_value(m) > 1440))
		return cd_fail(e, "bad-request",
		    "\"confirmed\": minutes, "
		    "0-1440");
	if (s != NULL)
		*secs = json_integer_value(s);
	else if (json_is_true(m))
		*secs = (int64_t)d->ctl.confirm_default * 60;
	else if (json_is_integer(m))
		*secs = json_integer_value(m) * 60;
	return 0;
}

/*
 * The deadline runs on boot time (cd_clock.c): a wall-clock step neither
 * delays nor hastens the revert.  confirm.json keeps it as wall clock
 * too, with the boot id, for a restart (cd_confirm_startup).
 */
static int
cd_confirm_store(struct cd *d)
{
	json_t *clock = json_object();
	int rc;

	cd_clock_put(clock, "deadline", d->confirm_deadline);
	json_object_del(clock, "deadline"); /* the store writes it */
	rc = store_confirm_arm(d->store, d->confirm_rev, d->confirm_prev,
	    cd_boot_to_unix(d->confirm_deadline), clock);
	json_decref(clock);
	return rc;
}

/* A revert that would not survive a restart fails the commit (-1). */
static int
cd_confirm_set(struct cd *d, uint64_t rev, uint64_t prev, int64_t secs)
{
	d->confirm_rev = rev;
	d->confirm_prev = prev;
	d->confirm_deadline = clk_boot_s() + secs;
	if (cd_confirm_store(d) == 0)
		return 0;
	cd_log("confirm.json: %s", strerror(errno));
	d->confirm_deadline = 0;
	return -1;
}

/* A later explicit change settles any pending "commit confirmed". */
static void
cd_confirm_drop(struct cd *d)
{
	if (d->confirm_deadline == 0)
		return;
	d->confirm_deadline = 0;
	store_confirm_clear(d->store);
}

/*
 * The confirm state is written before the commit it is about: a crash
 * between the two must not leave an unconfirmed revision without its
 * revert, nor revert a change that superseded the pending one (at start
 * a confirm.json that does not name the running revision is dropped).
 * The new state replaces the old in one write, and one that cannot be
 * written fails the commit; a commit that fails puts the old one back.
 * A plain commit settles a pending one only once it is made.
 */
struct cd_confirm_saved {
	uint64_t rev, prev;
	int64_t deadline;
};

static int
cd_confirm_prepare(struct cd *d, uint64_t next, uint64_t prev, int64_t secs,
    struct cd_confirm_saved *sv, struct cd_err *e)
{
	sv->rev = d->confirm_rev;
	sv->prev = d->confirm_prev;
	sv->deadline = d->confirm_deadline;
	if (secs == 0 || cd_confirm_set(d, next, prev, secs) == 0)
		return 0;
	/* confirm.json was not replaced: the old state stands. */
	d->confirm_rev = sv->rev;
	d->confirm_prev = sv->prev;
	d->confirm_deadline = sv->deadline;
	return cd_fail(e, "internal", "confirm.json: %s: nothing was changed",
	    strerror(errno));
}

static void
cd_confirm_restore(struct cd *d, const struct cd_confirm_saved *sv,
    int64_t secs)
{
	if (secs == 0)
		return;
	cd_confirm_drop(d);
	if (sv->deadline == 0)
		return;
	d->confirm_rev = sv->rev;
	d->confirm_prev = sv->prev;
	d->confirm_deadline = sv->deadline;
	if (cd_confirm_store(d) < 0)
		cd_log("confirm.json: %s", strerror(errno));
}

static int
cd_commit_do(struct cd *d, const struct cd_req *rq, const char *text,
    const json_t *ids, int64_t secs, json_t **data, struct cd_err *e)
{
	const char *comment = cd_arg_str(rq, "comment");
	uint64_t prev = d->run.rev, rev;
	struct cd_confirm_saved sv;
	struct cd_change c = { "commit", comment,
		secs > 0 ? "commit confirmed" : "commit", NULL, true, ids };
	char *diff = NULL;

	if (diff_unified(d->run.text, text, "running", "candidate", &diff) < 0)
		diff = NULL;
	c.diff = diff;
	if (cd_confirm_prepare(d, store_running(d->store) + 1, prev, secs, &sv,
	        e) < 0)
		goto fail;
	if (cd_apply(d, text, &c, rq, &rev, e) < 0) {
		cd_confirm_restore(d, &sv, secs);
		goto fail;
	}
	free(diff);
	if (secs == 0)
		cd_confirm_drop(d);
	/* Committed and audited: a candidate left behind is only stale. */
	if (store_cand_drop(d->store, rq->uid) < 0)
		cd_log("uid %d: dropping the committed candidate: %s",
		    (int)rq->uid, strerror(errno));
	cd_log("uid %d committed revision %lu%s", (int)rq->uid,
	    (unsigned long)rev, secs > 0 ? " (to be confirmed)" : "");
	cd_snmp_notify_commit(d, rev, prev);
	cd_syslog_event(d, "commit", "revision committed", "revision",
	    CD_SL_U(rev), "previous", CD_SL_U(prev), "uid", CD_SL_U(rq->uid),
	    "confirm_s", CD_SL_U(secs), "comment", comment ? comment : "",
	    NULL);
	*data = json_pack("{s:i, s:I, s:I, s:I}", "schema", CD_SCHEMA,
	    "revision", (json_int_t)rev, "previous", (json_int_t)prev,
	    "confirm_deadline",
	    (json_int_t)(secs > 0 ? cd_boot_to_unix(d->confirm_deadline) : 0));
	return 0;
fail:
	free(diff);
	return -1;
}

int
cd_cmd_commit(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	bool check = json_is_true(json_object_get(rq->args, "check"));
	json_t *ids = NULL;
	uint64_t base;
	int64_t secs;
	char *text;
	size_t len;
	int rc;

	if (cd_confirm_secs(d, rq, &secs, e) < 0)
		return -1;
	if (store_cand_exists(d->store, rq->uid) != 1)
		return cd_fail(e, "no-candidate",
		    "no candidate for uid %d: "
		    "nothing to commit",
		    (int)rq->uid);
	if (store_cand_load(d->store, rq->uid, &text, &len, &base) < 0)
		return cd_fail(e, "internal", "candidate: %s", strerror(errno));
	if (base != d->run.rev)
		rc = cd_fail(e, "stale",
		    "the candidate is based on revision "
		    "%lu but revision %lu is running: update rebases it "
		    "onto the running revision, discard drops it",
		    (unsigned long)base, (unsigned long)d->run.rev);
	else if (check)
		rc = cd_commit_check(d, text, base, data, e);
	else if (store_cand_ids(d->store, rq->uid, &ids) < 0)
		rc = cd_fail(e, "internal", "candidate: %s", strerror(errno));
	else
		rc = cd_commit_do(d, rq, text, ids, secs, data, e);
	if (rc < 0 && !check)
		cd_refused(d, rq, "commit", e);
	json_decref(ids);
	free(text);
	return rc;
}

int
cd_cmd_confirm(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	uint64_t rev = d->confirm_rev;

	if (d->confirm_deadline == 0)
		return cd_fail(e, "no-pending-confirm",
		    "no commit is waiting "
		    "for confirmation");
	/* Audited first: a confirm without its record is not made. */
	if (cd_audit(d, rq, "confirm", "ok", NULL, rev) < 0)
		return cd_fail(e, "internal",
		    "the audit log %s cannot take "
		    "the record: revision %lu is still to be confirmed",
		    d->audit_path, (unsigned long)rev);
	if (store_confirm_clear(d->store) < 0) {
		cd_audit(d, rq, "confirm",
		    "undone: confirm.json could not be "
		    "removed",
		    strerror(errno), rev);
		return cd_fail(e, "internal",
		    "confirm.json: %s: revision %lu "
		    "is still to be confirmed",
		    strerror(errno), (unsigned long)rev);
	}
	cd_confirm_drop(d);
	cd_syslog_event(d, "confirm", "revision confirmed", "revision",
	    CD_SL_U(rev), "uid", CD_SL_U(rq->uid), NULL);
	cd_log("uid %d confirmed revision %lu", (int)rq->uid,
	    (unsigned long)rev);
	*data = json_pack("{s:i, s:I}", "schema", CD_SCHEMA, "revision",
	    (json_int_t)rev);
	return 0;
}

int
cd_cmd_rollback(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	json_t *r = json_object_get(rq->args, "revision");
	uint64_t to, rev, prev = d->run.rev;
	char comment[64], cmd[64], *text, *diff = NULL;
	struct cd_change c = { "rollback", comment, cmd, NULL, true, NULL };
	json_t *ids = NULL;
	size_t len;

	if (json_is_integer(r) && json_integer_value(r) == 0)
		return cd_fail(e, "no-such-revision",
		    "rollback 0: revisions are numbered from 1 (show "
		    "revisions); to drop your candidate, use discard");
	if (!json_is_integer(r))
		return cd_fail(e, "bad-request", "rollback needs \"revision\"");
	/* a negative revision is not there either, not a bad request */
	if (json_integer_value(r) < 1)
		return cd_fail(e, "no-such-revision",
		    "no revision %lld: revisions count from 1",
		    (long long)json_integer_value(r));
	to = (uint64_t)json_integer_value(r);
	snprintf(cmd, sizeof(cmd), "rollback %lu", (unsigned long)to);
	if (store_rev_text(d->store, to, &text, &len) < 0) {
		cd_fail(e, "no-such-revision",
		    "no revision %lu (show revisions)", (unsigned long)to);
		cd_refused(d, rq, cmd, e);
		return -1;
	}
	if (!json_is_true(json_object_get(rq->args, "commit"))) {
		int rc = cd_rollback_cand(d, rq, to, text, data, e);

		free(text);
		return rc;
	}
	snprintf(comment, sizeof(comment), "rollback to revision %lu",
	    (unsigned long)to);
	diff_unified(d->run.text, text, "running", comment, &diff);
	c.diff = diff;
	/* The revision's rules come back with their ids. */
	if (store_rev_ids(d->store, to, &ids) == 0)
		c.ids = ids;
	if (cd_apply(d, text, &c, rq, &rev, e) < 0) {
		cd_refused(d, rq, cmd, e);
		json_decref(ids);
		free(diff);
		free(text);
		return -1;
	}
	json_decref(ids);
	cd_confirm_drop(d);
	cd_snmp_notify_rollback(d, rev, prev, comment);
	cd_syslog_event(d, "rollback", comment, "revision", CD_SL_U(rev),
	    "previous", CD_SL_U(prev), "copy_of", CD_SL_U(to), "uid",
	    CD_SL_U(rq->uid), NULL);
	free(diff);
	free(text);
	*data = json_pack("{s:i, s:I, s:I, s:I}", "schema", CD_SCHEMA,
	    "revision", (json_int_t)rev, "previous", (json_int_t)prev,
	    "copy_of", (json_int_t)to);
	return 0;
}

/* The confirm timer ----------------------------------------------------- */

static void
cd_confirm_revert(struct cd *d)
{
	struct cd_req rq = { .cmd = "revert",
		.uid = getuid(),
		.pid = getpid() };
	char comment[96], *text;
	struct cd_change c = { "revert", comment, "revert", comment, false,
		NULL };
	json_t *ids = NULL;
	struct cd_err e;
	uint64_t rev;
	size_t len;

	snprintf(comment, sizeof(comment), "revision %lu was not confirmed",
	    (unsigned long)d->confirm_rev);
	if (store_rev_text(d->store, d->confirm_prev, &text, &len) < 0) {
		cd_log("revert: revision %lu: %s: giving up",
		    (unsigned long)d->confirm_prev, strerror(errno));
		cd_confirm_drop(d);
		return;
	}
	if (store_rev_ids(d->store, d->confirm_prev, &ids) == 0)
		c.ids = ids;
	if (cd_apply(d, text, &c, &rq, &rev, &e) < 0) {
		cd_log("revert to revision %lu failed: %s: retrying in %d s",
		    (unsigned long)d->confirm_prev, e.msg, CD_REVERT_RETRY_S);
		cd_refused(d, &rq, "revert", &e);
		d->confirm_deadline = clk_boot_s() + CD_REVERT_RETRY_S;
	} else {
		cd_promote(d, true, NULL); /* no client to answer */
		cd_log("%s: reverted to revision %lu as revision %lu", comment,
		    (unsigned long)d->confirm_prev, (unsigned long)rev);
		cd_snmp_notify_rollback(d, rev, d->confirm_rev, comment);
		cd_syslog_event(d, "revert", comment, "revision", CD_SL_U(rev),
		    "unconfirmed", CD_SL_U(d->confirm_rev), "copy_of",
		    CD_SL_U(d->confirm_prev), NULL);
		cd_confirm_drop(d);
	}
	json_decref(ids);
	free(text);
}

void
cd_confirm_tick(struct cd *d)
{
	if (d->confirm_deadline != 0 && clk_boot_s() >= d->confirm_deadline)
		cd_confirm_revert(d);
}

/*
 * A "commit confirmed" pending from before a restart keeps its deadline:
 * in boot time when the machine has not rebooted since (a wall-clock
 * step meanwhile changes nothing), else the wall-clock time left, never
 * more than the longest confirm (1440 minutes).
 */
#define CD_CONFIRM_MAX_S (1440 * 60)

int
cd_confirm_startup(struct cd *d)
{
	uint64_t rev, prev;
	int64_t deadline, now = clk_boot_s();
	json_t *clock = NULL;

	if (store_confirm_get(d->store, &rev, &prev, &deadline, &clock) < 0)
		return errno == ENOENT ? 0 : -1;
	deadline = cd_clock_get(clock, "deadline");
	json_decref(clock);
	if (deadline > now + CD_CONFIRM_MAX_S)
		deadline = now + CD_CONFIRM_MAX_S;
	/* Armed for a commit that never landed, or superseded since. */
	if (rev != store_running(d->store)) {
		cd_log("confirm.json names revision %lu, running is %lu: "
		       "dropped",
		    (unsigned long)rev, (unsigned long)store_running(d->store));
		store_confirm_clear(d->store);
		return 0;
	}
	d->confirm_rev = rev;
	d->confirm_prev = prev;
	d->confirm_deadline = deadline > 0 ? deadline : 1;
	cd_log("revision %lu waits for confirmation %lld s more",
	    (unsigned long)rev, (long long)(deadline - now));
	return 0;
}
