/*
 * The last step of a change (cd_apply): promoting its staged revision
 * to a stored one.  It waits for the reply to be written to the client
 * that asked, so that a crash leaves either a revision its client was
 * told of or a staged one that start-up recovery completes and audits
 * ("completed by recovery").  Nothing may come between: the next
 * request, the next audit record and shutdown promote it first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/daemon/cordond.h"

/* Stage N of cd_apply done: promote once C's reply is out (cd_sock.c). */
void
cd_promote_defer(struct cd *d, const struct cd_req *rq, uint64_t rev)
{
	d->promote_rev = rev;
	d->promote_uid = rq->uid;
	d->promote_pid = rq->pid;
	d->promote_cl = NULL;
}

/* The revision is stored now: rules name its file, not a scratch one. */
static void
cd_promote_relabel(struct cd *d)
{
	char err[1024];

	if (store_rev_path(d->store, d->run.rev, d->run.path,
	        sizeof(d->run.path)) < 0)
		return;
	if (conf_load(d->run.path, d->run.conf, err, sizeof(err)) < 0)
		cd_log("reloading revision %lu: %s", (unsigned long)d->run.rev,
		    err);
}

/*
 * Promotes the pending revision, if any.  DELIVERED: its reply was
 * written whole; otherwise a record says it was not (client gone, or a
 * request that came first).  -1 when the store cannot rename it: it
 * stays pending (and active) and cd_audit refuses records until it is
 * promoted, so the recovery at the next start still finds its "ok"
 * record last and completes it.
 */
int
cd_promote(struct cd *d, bool delivered, const char *why)
{
	struct cd_req rq = { .cmd = "promote",
		.uid = d->promote_uid,
		.pid = d->promote_pid };
	uint64_t rev = d->promote_rev;
	char err[512], what[256];

	if (rev == 0)
		return 0;
	if (store_promote(d->store, d->ctl.keep_revisions, err, sizeof(err)) <
	    0) {
		cd_log("revision %lu is active but not yet stored: %s",
		    (unsigned long)rev, err);
		return -1;
	}
	d->promote_rev = 0;
	d->promote_cl = NULL;
	cd_promote_relabel(d);
	if (delivered)
		return 0;
	snprintf(what, sizeof(what),
	    "revision %lu stored without its "
	    "answer delivered: %s",
	    (unsigned long)rev, why);
	cd_log("%s", what);
	cd_audit(d, &rq, "promote", "ok", what, rev);
	return 0;
}
