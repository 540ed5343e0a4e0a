/*
 * Revisions as cordon-dp sees them: text -> rev_compile (config/rev),
 * exactly what cordon-dp compiles for itself.  And the
 * one path every change takes: compile aside, push to cordon-dp, commit
 * to the store, swap the running revision.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"
#include "config/rev/rev.h"

void
cd_run_free(struct cd_running *r)
{
	if (!r->geo_borrowed)
		geo_db_free(&r->geo);
	free(r->text);
	free(r->conf);
	free(r->pol);
	memset(r, 0, sizeof(*r));
}

/* "PATH:12: msg" -> "candidate:12: msg": never show a temporary path. */
static void
cd_err_relabel(const char *path, const char *label, const char *err,
    struct cd_err *e)
{
	size_t n = strlen(path);

	if (label != NULL && strncmp(err, path, n) == 0)
		cd_fail(e, "invalid", "%s%s", label, err + n);
	else
		cd_fail(e, "invalid", "%s", err);
}

/* Answers such as "EU" or "ZZ" place nobody: say how many. */
void
cd_geo_note(const struct geo_db *db)
{
	for (unsigned i = 0; i < db->nlayers; i++)
		if (db->layer[i].records_non_iso > 0)
			cd_log("geo: %s: %llu records answer a code ISO 3166-1 "
			       "does not assign: judged unknown",
			    db->layer[i].path,
			    (unsigned long long)db->layer[i].records_non_iso);
}

int
cd_geo_compile(const struct conf *c, struct geo_db *db, struct cd_err *e)
{
	char err[512];

	if (rev_geo_build(c, db, err, sizeof(err)) < 0)
		return cd_fail(e, "geo", "%s", err);
	cd_geo_note(db);
	return 0;
}

/* Start-up: the saved tables stand in for databases that fail. */
struct cd_run_fb {
	struct cd *d;
	struct cd_err *e;
	bool tried;
};

static int
cd_run_fallback(void *arg, const struct conf *c, const struct geo_source *src,
    unsigned n, struct geo_db *db, const char *err)
{
	struct cd_run_fb *fb = arg;

	(void)src;
	(void)n;
	fb->tried = true;
	cd_fail(fb->e, "geo", "%s", err);
	return cd_geo_fallback(fb->d, c, db, fb->e);
}

/*
 * Compiles the config at PATH into OUT (rev_compile).  LABEL replaces
 * PATH in error messages.  The geo tables of REUSE are borrowed when its
 * databases and overrides are the same.  With FALLBACK (start-up) a
 * database that will not compile is replaced by the tables saved in its
 * state folder.
 */
static int
cd_run_build(const char *path, const char *label,
    const struct cd_running *reuse, struct cd *fallback, struct cd_running *out,
    struct cd_err *e)
{
	struct cd_run_fb fb = { fallback, e, false };
	struct rev_geo g = { .fallback = fallback ? cd_run_fallback : NULL,
		.arg = &fb };
	struct rev r = { .geo = &out->geo };
	char err[1024];

	if (reuse != NULL) {
		g.reuse_conf = reuse->conf;
		g.reuse = &reuse->geo;
	}
	r.conf = out->conf = calloc(1, sizeof(*out->conf));
	r.pol = out->pol = calloc(1, sizeof(*out->pol));
	if (out->conf == NULL || out->pol == NULL)
		return cd_fail(e, "internal", "out of memory");
	if (rev_compile(path, &g, &r, err, sizeof(err)) < 0) {
		if (r.fail == REV_FAIL_CONF)
			cd_err_relabel(path, label, err, e);
		else if (!fb.tried)
			cd_fail(e, "geo", "%s", err);
		return -1;
	}
	out->geo_borrowed = r.geo_borrowed;
	if (!r.geo_borrowed && !fb.tried)
		cd_geo_note(&out->geo);
	memcpy(out->pol_hash, r.pol_hash, DPC_HASH_LEN);
	memcpy(out->geo_hash, r.geo_hash, DPC_HASH_LEN);
	return 0;
}

/*
 * Compiles TEXT as revision REV (0: a candidate, loaded from a scratch
 * file in the state folder and reported as "candidate:LINE").
 */
int
cd_run_compile(struct cd *d, uint64_t rev, const char *text,
    const struct cd_running *reuse_geo, struct cd_running *out,
    struct cd_err *e)
{
	memset(out, 0, sizeof(*out));
	out->rev = rev;
	if (rev == 0)
		snprintf(out->path, sizeof(out->path),
		    "%s/candidate-check.conf", d->ctl.state_dir);
	else if (store_rev_path(d->store, rev, out->path, sizeof(out->path)) <
	         0)
		return cd_fail(e, "no-such-revision", "no revision %lu",
		    (unsigned long)rev);
	if (rev == 0 && store_file_write(out->path, text, strlen(text)) < 0)
		return cd_fail(e, "internal", "%s: %s", out->path,
		    strerror(errno));
	if ((out->text = strdup(text)) == NULL)
		return cd_fail(e, "internal", "out of memory");
	/* Only a stored revision compiled afresh (start-up) falls back. */
	if (cd_run_build(out->path, rev == 0 ? "candidate" : NULL, reuse_geo,
	        rev != 0 && reuse_geo == NULL ? d : NULL, out, e) < 0) {
		cd_run_free(out);
		return -1;
	}
	return 0;
}

int
cd_run_load_running(struct cd *d, struct cd_err *e)
{
	uint64_t rev = store_running(d->store);
	char *text;
	size_t len;
	int rc;

	if (store_rev_text(d->store, rev, &text, &len) < 0)
		return cd_fail(e, "internal", "revision %lu: %s",
		    (unsigned long)rev, strerror(errno));
	rc = cd_run_compile(d, rev, text, NULL, &d->run, e);
	free(text);
	if (rc == 0 && !d->alarm_geo.since) {
		cd_geo_saved_probe(d);
		cd_geo_fresh(d);
	}
	return rc;
}

/* Makes N the running revision; the old one's tables go unless lent. */
static void
cd_run_install(struct cd *d, struct cd_running *n)
{
	bool fresh = !n->geo_borrowed;

	if (n->geo_borrowed) {
		n->geo_borrowed = false;
		d->run.geo_borrowed = true;
	}
	cd_run_free(&d->run);
	d->run = *n;
	memset(n, 0, sizeof(*n));
	if (fresh)
		cd_geo_fresh(d);
}

static int
cd_commit_stage(struct cd *d, const struct cd_running *n,
    const struct cd_change *c, const struct cd_req *rq, struct cd_err *e)
{
	json_t *ids = cd_ruleid_json(n);
	struct store_meta m = { .base = d->run.rev,
		.uid = rq->uid,
		.pid = rq->pid,
		.rule_ids = ids };
	char err[512];
	int rc;

	snprintf(m.kind, sizeof(m.kind), "%s", c->kind);
	snprintf(m.comment, sizeof(m.comment), "%s",
	    c->comment ? c->comment : "");
	rc = store_stage(d->store, n->text, strlen(n->text), &m, err,
	    sizeof(err));
	json_decref(ids);
	if (rc < 0)
		return cd_fail(e, "internal", "store: %s", err);
	return 0;
}

/* A step after the enforcer (or standby) took N failed: the running one
 * goes back. */
static void
cd_apply_undo(struct cd *d, bool pushed)
{
	struct cd_err e2;

	cd_sess_abort(d);
	if (store_unstage(d->store) < 0)
		cd_log("revision %lu: removing the staged copy: %s",
		    (unsigned long)store_staged(d->store), strerror(errno));
	if (pushed && cd_backend_take(d, &d->run, true, &e2) < 0)
		cd_log("could not restore revision %lu: %s",
		    (unsigned long)d->run.rev, e2.msg);
}

/*
 * Staged, audited and active: N becomes the running revision.  Its path
 * stays the scratch file until it is stored (cd_promote_relabel).
 */
static void
cd_apply_finish(struct cd *d, struct cd_running *n)
{
	cd_grant_nft_gone(d, n->conf);
	cd_run_install(d, n);
	cd_sess_switch(d);
}

/*
 * The one way the running revision changes, as one transaction: compile
 * TEXT aside, stage it in the store, have cordon-dp activate it
 * (required when C->need_dp; otherwise a down cordon-dp is started with
 * it later, and host protection takes it at once: cd_backend_take),
 * write its audit record, swap.  Any step failing undoes the
 * ones before it, so the running revision stays in force and nothing
 * unaudited is stored or active.  The revision is promoted (stored)
 * only after the client's reply is written (cd_promote, called by
 * cd_sock.c; a caller without a client calls it at once), so a crash
 * leaves either a revision its client was told of or a staged one with
 * its record, which the next start completes and audits (cd_recover);
 * one staged before its record is undone.
 */
/*
 * The groups that say what runs, and is opened, as root (control,
 * dataplane, evidence) change only by root's commit or rollback: the
 * control socket's group may not make cordond exec its program.  A
 * TEXT that does not parse is left to the compiler to refuse.
 */
static int
cd_apply_allowed(const struct cd *d, const char *text, const struct cd_req *rq,
    struct cd_err *e)
{
	const char *which;

	if (rq->uid == 0 || cand_root_same(d->run.text, text, &which) != 0)
		return 0;
	return cd_fail(e, "denied",
	    "the %s group says what cordond and cordon-dp run and open as "
	    "root: only root may change it",
	    which);
}

int
cd_apply(struct cd *d, const char *text, const struct cd_change *c,
    const struct cd_req *rq, uint64_t *newrev, struct cd_err *e)
{
	struct cd_running n;
	bool pushed = false;

	if (d->promote_rev != 0 && cd_promote(d, false,
	                               "another change "
	                               "came first") < 0)
		return cd_fail(e, "internal",
		    "revision %lu is active but the "
		    "store cannot take it: nothing was changed",
		    (unsigned long)d->promote_rev);
	if (cd_apply_allowed(d, text, rq, e) < 0 ||
	    cd_run_compile(d, 0, text, &d->run, &n, e) < 0)
		return -1;
	n.rev = store_running(d->store) + 1;
	cd_ruleid_assign(d, &n, c->ids, &d->run);
	if (cd_sess_prepare(d, &n, e) < 0)
		goto fail;
	if (cd_commit_stage(d, &n, c, rq, e) < 0)
		goto fail;
	if (d->dp_state != CD_DP_UP && c->need_dp) {
		cd_fail(e, "dataplane", "cordon-dp is %s: nothing was changed",
		    cd_dp_state_name(d->dp_state));
		goto undo;
	}
	/* Up or not: host protection takes N now (cd_backend_take). */
	if (cd_backend_take(d, &n, !n.geo_borrowed, e) < 0)
		goto undo;
	pushed = true;
	if (cd_audit(d, rq, c->cmd, "ok", c->diff, n.rev) < 0) {
		cd_fail(e, "internal",
		    "the audit log %s cannot take the "
		    "record: nothing was changed",
		    d->audit_path);
		goto undo;
	}
	*newrev = n.rev;
	cd_promote_defer(d, rq, n.rev);
	cd_apply_finish(d, &n);
	return 0;
undo:
	cd_apply_undo(d, pushed);
	cd_run_free(&n);
	return -1;
fail:
	cd_sess_abort(d);
	cd_run_free(&n);
	return -1;
}
