/*
 * Fail static for geolocation: the last good tables are kept in the
 * state folder (config/geo/geo_saved.c) each time freshly compiled
 * tables become the running ones, and at start-up a configured database
 * that is missing or broken is replaced by them — with the "geo-static"
 * alarm raised until tables compile again (geo reload, or a commit with
 * other databases).  Never with other databases or overrides than the
 * running revision's: those tables would answer for another config.
 */
#include <string.h>
#include <time.h>

#include "control/daemon/cordond.h"
#include "config/geo/geo_saved.h"
#include "config/rev/rev.h"

void
cd_geo_saved_path(const struct cd *d, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", d->ctl.state_dir, GEO_SAVED_FILE);
}

/* The saved tables were compiled from exactly C's databases. */
static int
cd_geo_saved_fits(const struct conf *c, const struct geo_db *db,
    const struct geo_saved_info *in, struct cd_err *e)
{
	struct geo_source src[GEO_LAYER_MAX];
	unsigned n = rev_geo_sources(c, src);

	if (geo_saved_fits(db, in, src, n, c->overrides, c->noverrides) == 0 &&
	    rev_geo_classes_fit(c, db))
		return 0;
	return cd_fail(e, "geo",
	    "the saved tables were compiled from other "
	    "databases, overrides or classes");
}

static void
cd_geo_alarm(struct cd *d, const char *why, int64_t saved_at)
{
	struct cd_alarm *a = &d->alarm_geo;
	char when[32] = "?";
	struct tm tm;
	time_t t = (time_t)saved_at;

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(a->name, sizeof(a->name), "geo-static");
	snprintf(a->detail, sizeof(a->detail),
	    "database unusable (%.70s): "
	    "saved tables of %.20s in force",
	    why, when);
	a->since = clk_unix_s();
	cd_log("alarm %s: %s", a->name, a->detail);
	/* Kept from before a restart: not raised again (cd_alarm.h). */
	if (!d->alarms[CD_AL_GEO_STATIC].active)
		cd_syslog_event(d, "geo-static", a->detail, "saved", when,
		    NULL);
}

int
cd_geo_fallback(struct cd *d, const struct conf *c, struct geo_db *db,
    struct cd_err *e)
{
	struct geo_saved_info in;
	struct geo_db s = { 0 };
	char path[CONF_PATH_MAX + 32], err[600], why[300];

	snprintf(why, sizeof(why), "%.290s", e->msg);
	cd_geo_saved_path(d, path, sizeof(path));
	if (geo_saved_read(path, &s, &in, err, sizeof(err)) < 0)
		return cd_fail(e, "geo",
		    "%s; no saved tables to fall back "
		    "to: %s",
		    why, err);
	if (cd_geo_saved_fits(c, &s, &in, e) < 0) {
		geo_db_free(&s);
		return cd_fail(e, "geo", "%s; not falling back: %s", why,
		    e->msg);
	}
	*db = s;
	memcpy(d->geo_saved_id, in.id, DPC_HASH_LEN);
	cd_geo_alarm(d, why, in.saved_at);
	return 0;
}

/*
 * The running tables were just compiled from the databases: the alarm
 * clears, and they are kept unless the file already holds them.  A
 * failure to keep them only costs the fallback, and is logged.
 */
void
cd_geo_fresh(struct cd *d)
{
	char path[CONF_PATH_MAX + 32], err[600];

	if (d->alarm_geo.since) {
		cd_log("alarm %s cleared: tables compiled from the databases",
		    d->alarm_geo.name);
		cd_syslog_event(d, "geo-static-cleared",
		    "geolocation tables "
		    "compiled from the databases again",
		    NULL);
		d->alarm_geo.since = 0;
		cd_alarm_sync(d, CD_AL_GEO_STATIC);
	}
	if (memcmp(d->geo_saved_id, d->run.geo_hash, DPC_HASH_LEN) == 0)
		return;
	cd_geo_saved_path(d, path, sizeof(path));
	if (geo_saved_write(path, &d->run.geo, d->run.geo_hash, err,
	        sizeof(err)) < 0) {
		cd_log("geo: keeping the last good tables: %s", err);
		return;
	}
	memcpy(d->geo_saved_id, d->run.geo_hash, DPC_HASH_LEN);
}

/* At start-up: what the file holds, if it is whole (else rewritten). */
void
cd_geo_saved_probe(struct cd *d)
{
	struct geo_saved_info in;
	struct geo_db s = { 0 };
	char path[CONF_PATH_MAX + 32], err[600];

	cd_geo_saved_path(d, path, sizeof(path));
	if (geo_saved_read(path, &s, &in, err, sizeof(err)) == 0)
		memcpy(d->geo_saved_id, in.id, DPC_HASH_LEN);
	geo_db_free(&s);
}
