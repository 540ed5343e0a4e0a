/*
 * clear counters [rule NAME] (docs/control.md, "Rule counters"): the
 * rule counters (all, or one rule's) start again from zero, the same
 * in show counters, show rules, SNMP and Prometheus, which see them
 * reset (a counter reset, as after a restart).  Stored, then audited:
 * a clear without its record, or that a restart would undo, is not
 * made.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

/* What the record keeps: each rule's hits as they were, by id. */
static char *
cd_clear_what(const struct cd_rulectr *rc, int only, const struct stats *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	for (unsigned i = 0; i < rc->n; i++)
		if (only < 0 || (unsigned)only == i)
			fprintf(f, "rule %s (id %u): %llu hits cleared\n",
			    rc->e[i].name, (unsigned)rc->e[i].id,
			    (unsigned long long)cd_rulectr_hits(rc, i, s));
	fclose(f);
	return buf;
}

static int
cd_clear_which(struct cd *d, const struct cd_req *rq, int *only,
    struct cd_err *e)
{
	json_t *r = json_object_get(rq->args, "rule");

	*only = -1;
	if (r == NULL || json_is_null(r))
		return 0;
	if (!json_is_string(r))
		return cd_fail(e, "bad-request", "\"rule\": a rule name");
	if ((*only = cd_rulectr_find(d->rc, json_string_value(r))) < 0)
		return cd_fail(e, "no-such-name", "no rule named %s running",
		    json_string_value(r));
	return 0;
}

/*
 * Stores the entries as cleared from BEFORE (the first N), then audits
 * CMD with WHAT: 0, or -1 with E and the entries as BEFORE.  A clear
 * answered ok survives a restart.
 */
static int
cd_clear_keep(struct cd *d, const struct cd_req *rq,
    const struct cd_rulectr_ent *before, unsigned n, const char *cmd,
    const char *what, struct cd_err *e)
{
	size_t len = n * sizeof(*before);

	if (cd_rulectr_save(d) < 0) {
		memcpy(d->rc->e, before, len);
		(void)cd_audit(d, rq, cmd, "refused: internal", what,
		    d->run.rev);
		return cd_fail(e, "internal",
		    "the rule counters could not be stored in %s (see the "
		    "log): nothing was cleared",
		    d->ctl.state_dir);
	}
	if (cd_audit(d, rq, cmd, "ok", what, d->run.rev) < 0) {
		memcpy(d->rc->e, before, len);
		(void)cd_rulectr_save(d);
		return cd_fail(e, "internal",
		    "the audit log %s cannot take the record: nothing was "
		    "cleared",
		    d->audit_path);
	}
	return 0;
}

int
cd_cmd_clear(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct cd_rulectr *rc = d->rc;
	struct cd_rulectr_ent *before;
	char cmd[96], *what;
	json_t *a;
	int only, rv;

	if (cd_clear_which(d, rq, &only, e) < 0)
		return -1;
	if (d->dp_state != CD_DP_UP || rc->restored ||
	    d->be->counters(d, d->sum) < 0)
		return cd_fail(e, "dataplane",
		    "the dataplane is %s: its counters cannot be read, nor "
		    "cleared",
		    cd_dp_state_name(d->dp_state));
	if ((before = malloc(rc->n * sizeof(*before))) == NULL)
		return cd_fail(e, "internal", "out of memory");
	memcpy(before, rc->e, rc->n * sizeof(*before));
	snprintf(cmd, sizeof(cmd), "clear counters%s%s",
	    only < 0 ? "" : " rule ", only < 0 ? "" : rc->e[only].name);
	what = cd_clear_what(rc, only, d->sum);
	a = json_array();
	for (unsigned i = 0; i < rc->n; i++) {
		if (only >= 0 && (unsigned)only != i)
			continue;
		cd_rulectr_clear(rc, i, d->sum, clk_unix_s());
		json_array_append_new(a,
		    json_pack("{s:i, s:s}", "id", (int)rc->e[i].id, "rule",
		        rc->e[i].name));
	}
	rv = cd_clear_keep(d, rq, before, rc->n, cmd, what, e);
	free(before);
	free(what);
	if (rv < 0) {
		json_decref(a);
		return -1;
	}
	cd_snmp_counters_changed(d);
	cd_log("uid %d: %s", (int)rq->uid, cmd);
	cd_syslog_event(d, "counters-cleared", cmd, "uid", CD_SL_U(rq->uid),
	    "rule", only < 0 ? "" : rc->e[only].name, NULL);
	*data = json_pack("{s:i, s:o}", "schema", CD_SCHEMA, "cleared", a);
	return 0;
}
