/*
 * Geolocation data in the daemon (its age and metadata: cd_fmt.c), and
 * geo-reload: rebuild the tables from
 * the same files, check them (the field is there — geo_db_build refuses
 * otherwise — the overrides still answer as configured, and coverage has
 * not collapsed), then push them under the running revision.
 */
#include <stdlib.h>
#include <string.h>

#include "config/rev/rev.h"
#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

static uint64_t
cd_geo_count(const struct geo_db *db, bool v6)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < db->nlayers; i++)
		n += v6 ? db->layer[i].v6_prefixes : db->layer[i].v4_prefixes;
	return n;
}

/* At least control.geo_min_coverage percent of the previous prefixes. */
static int
cd_geo_coverage(struct cd *d, const struct geo_db *n, struct cd_err *e)
{
	const char *fam[] = { "IPv4", "IPv6" };

	for (int v6 = 0; v6 <= 1; v6++) {
		uint64_t old = cd_geo_count(&d->run.geo, v6);
		uint64_t now = cd_geo_count(n, v6);

		if (now * 100 < old * d->ctl.geo_min_coverage)
			return cd_fail(e, "geo",
			    "%s coverage fell from %lu to "
			    "%lu prefixes (below %u%%): refusing the new data",
			    fam[v6], (unsigned long)old, (unsigned long)now,
			    d->ctl.geo_min_coverage);
	}
	return 0;
}

static int
cd_geo_check(struct cd *d, struct geo_db *n, struct cd_err *e)
{
	char why[512];

	if (cd_geo_canaries(d->run.conf, n->tables, why, sizeof(why)) < 0)
		return cd_fail(e, "geo", "%s", why);
	return cd_geo_coverage(d, n, e);
}

/*
 * N replaces the running tables; the enforcer gets them first (or, with
 * cordon-dp down, host protection: cd_backend_take).
 */
static int
cd_geo_install(struct cd *d, struct geo_db *n, struct cd_err *e)
{
	struct cd_running tmp = d->run;

	tmp.geo = *n;
	rev_geo_hash(n, d->run.conf, tmp.geo_hash);
	/* Sessions are judged again with the new places, in the same LOAD. */
	if (cd_sess_prepare(d, &tmp, e) < 0)
		return -1;
	if (cd_backend_take(d, &tmp, true, e) < 0) {
		cd_sess_abort(d);
		return -1;
	}
	if (!d->run.geo_borrowed)
		geo_db_free(&d->run.geo);
	d->run.geo = *n;
	d->run.geo_borrowed = false;
	memcpy(d->run.geo_hash, tmp.geo_hash, DPC_HASH_LEN);
	cd_sess_switch(d);
	cd_geo_fresh(d);
	return 0;
}

int
cd_cmd_geo_reload(struct cd *d, const struct cd_req *rq, json_t **data,
    struct cd_err *e)
{
	struct geo_db n = { 0 };
	char summary[256], result[1100];
	json_int_t old_epoch = cd_geo_epoch(&d->run.geo);
	json_int_t v4 = (json_int_t)cd_geo_count(&d->run.geo, false);
	json_int_t v6 = (json_int_t)cd_geo_count(&d->run.geo, true);
	int rc = cd_geo_compile(d->run.conf, &n, e);
	bool noted = false;

	if (rc == 0)
		rc = cd_geo_check(d, &n, e);
	if (rc == 0)
		snprintf(summary, sizeof(summary),
		    "build_epoch %lld -> %lld; "
		    "IPv4 prefixes %lld -> %lu; IPv6 prefixes %lld -> %lu",
		    (long long)old_epoch, (long long)cd_geo_epoch(&n),
		    (long long)v4, (unsigned long)cd_geo_count(&n, false),
		    (long long)v6, (unsigned long)cd_geo_count(&n, true));
	/* Audited before the tables are activated: never an unaudited one. */
	if (rc == 0 &&
	    cd_audit(d, rq, "geo-reload", "ok", summary, d->run.rev) < 0) {
		rc = cd_fail(e, "internal",
		    "the audit log %s cannot take the "
		    "record: the tables were not changed",
		    d->audit_path);
		noted = true;
	} else if (rc == 0 && (rc = cd_geo_install(d, &n, e)) < 0) {
		cd_audit(d, rq, "geo-reload",
		    "undone: the tables were not "
		    "activated",
		    e->msg, d->run.rev);
		noted = true;
	}
	if (rc < 0) {
		geo_db_free(&n);
		snprintf(result, sizeof(result), "refused: %s: %s", e->code,
		    e->msg);
		if (!noted)
			cd_audit(d, rq, "geo-reload", result, NULL, d->run.rev);
		cd_snmp_notify_geo_refused(d, result);
		cd_syslog_event(d, "geo-refused", e->msg, "error", e->code,
		    "revision", CD_SL_U(d->run.rev), NULL);
		return -1;
	}
	cd_log("geo-reload: %s", summary);
	cd_syslog_event(d, "geo-reload", summary, "build_epoch",
	    CD_SL_U(cd_geo_epoch(&d->run.geo)), "previous_build_epoch",
	    CD_SL_U(old_epoch), "revision", CD_SL_U(d->run.rev), NULL);
	*data = json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
	    "schema", CD_SCHEMA, "revision", (json_int_t)d->run.rev,
	    "previous_build_epoch", old_epoch, "build_epoch",
	    (json_int_t)cd_geo_epoch(&d->run.geo), "previous_v4_prefixes", v4,
	    "v4_prefixes", (json_int_t)cd_geo_count(&d->run.geo, false),
	    "previous_v6_prefixes", v6, "v6_prefixes",
	    (json_int_t)cd_geo_count(&d->run.geo, true), "layers",
	    cd_geo_layers(&d->run.geo));
	return 0;
}
