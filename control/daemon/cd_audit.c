/*
 * The audit record every change leaves (control/store/audit.c), and
 * whether one can be written at all.  A staged revision is stored
 * (cd_promote) before any other record follows its "ok".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cordond.h"

/*
 * S as one line: a name a client chose (rename rule x to "a\nuid: 0",
 * a load's file label) must not add lines, nor terminal escapes, to
 * what show audit prints.  Control bytes become '?'.  NULL stays NULL;
 * S itself when out of memory (the record is still written).
 */
static char *
cd_audit_line(const char *s)
{
	char *o = s ? strdup(s) : NULL;

	for (char *p = o; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return o;
}

static int
cd_audit_rec(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *result, const char *diff, uint64_t rev)
{
	struct audit_rec r = { cmd, result, diff, rq->uid, rq->pid, rev };
	struct audit_head h;
	char err[256];

	/* Recovery reads the last record: a change's "ok" must stay last
	 * until its revision is stored. */
	if (d->promote_rev != 0) {
		snprintf(err, sizeof(err), "a record of \"%s\" came first",
		    cmd);
		if (cd_promote(d, false, err) < 0)
			return -1;
	}
	if (audit_append(d->audit_path, &r, &h, err, sizeof(err)) < 0) {
		cd_log("audit: %s", err);
		if (d->audit_broken == 0)
			d->audit_broken = clk_unix_s();
		return -1;
	}
	/* The chain head leaves the box: a collector can spot a cut log. */
	cd_syslog_event(d, "audit", "audit record", "seq", CD_SL_U(h.seq),
	    "hash", h.hash, "command", cmd, "result", result, "uid",
	    CD_SL_U(rq->uid), NULL);
	return 0;
}

int
cd_audit(struct cd *d, const struct cd_req *rq, const char *cmd,
    const char *result, const char *diff, uint64_t rev)
{
	char *c = cd_audit_line(cmd), *r = cd_audit_line(result);
	int rc = cd_audit_rec(d, rq, c ? c : cmd, r ? r : result, diff, rev);

	free(c);
	free(r);
	return rc;
}

/*
 * Changes are refused while the audit log cannot take a record: an
 * unaudited change is worse than none.  A log that ends in a partial
 * record (a crash or a full disk while writing), or whose end is not
 * the head audit.head remembers (records removed), cannot be appended
 * to.
 */
int
cd_audit_ready(struct cd *d)
{
	char err[512];

	if (audit_ready(d->audit_path, err, sizeof(err)) == 0) {
		d->audit_broken = 0;
		return 0;
	}
	if (d->audit_broken == 0) {
		cd_log("audit: %s", err);
		d->audit_broken = clk_unix_s();
	}
	return -1;
}
