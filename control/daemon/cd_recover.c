/*
 * Start-up recovery of the state folder (docs/control.md, "Recovery").
 * A commit, rollback or revert is staged, activated, audited, answered
 * and only then promoted to a revision (cd_apply, cd_promote).  A crash
 * can leave a staged revision behind: when the audit log's last record
 * is that revision's "ok", the change was made (its client may or may
 * not have had the answer) and is completed; otherwise no one was told
 * of it and it is undone.  Either way a record "recover" says which.
 * The repairs store_open made (a half-written candidate set aside) and a
 * partial audit record cut off are audited too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

/* Whether the last audit record is REV's own "ok" record. */
static bool
cd_recover_audited(struct cd *d, uint64_t rev)
{
	json_t *recs = NULL, *last;
	const char *result;
	bool ok;

	if (audit_list(d->audit_path, &recs, 1) < 0) {
		json_decref(recs);
		return false;
	}
	last = json_array_get(recs, 0);
	result = json_string_value(json_object_get(last, "result"));
	ok = json_integer_value(json_object_get(last, "revision")) ==
	         (json_int_t)rev &&
	     result != NULL && strcmp(result, "ok") == 0;
	json_decref(recs);
	return ok;
}

static int
cd_recover_staged(struct cd *d, const struct cd_req *rq)
{
	uint64_t rev = store_staged(d->store);
	char err[512], what[160];

	if (rev == 0)
		return 0;
	if (cd_recover_audited(d, rev)) {
		if (store_promote(d->store, d->ctl.keep_revisions, err,
		        sizeof(err)) < 0) {
			cd_log("recovery: revision %lu: %s", (unsigned long)rev,
			    err);
			return -1;
		}
		snprintf(what, sizeof(what),
		    "revision %lu completed by "
		    "recovery: activated and audited before a crash, its "
		    "answer perhaps never written",
		    (unsigned long)rev);
	} else {
		if (store_unstage(d->store) < 0) {
			cd_log("recovery: revision %lu: %s", (unsigned long)rev,
			    strerror(errno));
			return -1;
		}
		snprintf(what, sizeof(what),
		    "revision %lu undone: a crash "
		    "came before its audit record; no one was told of it",
		    (unsigned long)rev);
	}
	cd_log("recovery: %s", what);
	cd_audit(d, rq, "recover", "ok", what, store_running(d->store));
	return 0;
}

int
cd_recover(struct cd *d)
{
	struct cd_req rq = { .cmd = "recover",
		.uid = getuid(),
		.pid = getpid() };
	const char *note;
	char err[512];
	int rc;

	/* First, so that the last record read below is a whole one. */
	if ((rc = audit_repair(d->audit_path, err, sizeof(err))) < 0)
		cd_log("audit: %s", err);
	else if (rc > 0)
		cd_log("audit: cut a partial record off the end of %s",
		    d->audit_path);
	if (cd_recover_staged(d, &rq) < 0)
		return -1;
	/* A completed revision may be some admin's committed candidate. */
	store_cand_sweep(d->store);
	for (unsigned i = 0; (note = store_notes(d->store, i)) != NULL; i++) {
		cd_log("state folder: %s", note);
		cd_audit(d, &rq, "store-repair", "ok", note,
		    store_running(d->store));
	}
	return 0;
}
