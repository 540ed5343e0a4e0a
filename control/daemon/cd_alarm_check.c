/*
 * What each condition alarm follows, read from the state its source
 * keeps (cd_alarm_check), and the notifications of its own an alarm
 * had before the table existed (cd_alarm_notify_own): sent with the
 * raise, so that a restart that finds the alarm kept sends neither.
 */
#include <string.h>

#include "control/daemon/cd_alarm.h"
#include "control/daemon/cordond.h"

static int
cd_check_geo_stale(struct cd *d, char *detail, size_t len)
{
	int64_t epoch = cd_geo_epoch(&d->run.geo);
	int64_t max = (int64_t)d->ctl.geo_max_age * 86400;

	if (d->run.conf == NULL)
		return -1;
	if (max == 0 || epoch == 0 || clk_unix_s() - epoch <= max)
		return 0;
	snprintf(detail, len,
	    "geolocation data older than control.geo_max_age (%u days)",
	    d->ctl.geo_max_age);
	return 1;
}

static int
cd_check_site(const struct cd_alarm *a, char *detail, size_t len)
{
	if (a->since == 0)
		return 0;
	snprintf(detail, len, "%s", a->detail);
	return 1;
}

/*
 * Nothing tells cordond that a write failed before it started: the
 * kept alarm stays until cordon-dp says it writes again (a file opened
 * or a write that worked), as it did before the restart.
 */
static int
cd_check_evidence(struct cd *d, char *detail, size_t len)
{
	if (d->alarm_evid.since == 0 && !d->evid_heard)
		return -1;
	return cd_check_site(&d->alarm_evid, detail, len);
}

/* A broken log is seen by the next change; a raised alarm looks again. */
static int
cd_check_audit(struct cd *d, char *detail, size_t len)
{
	if (d->alarms[CD_AL_AUDIT].active)
		(void)cd_audit_ready(d);
	if (d->audit_broken == 0)
		return 0;
	snprintf(detail, len,
	    "the audit log cannot take a record: changes are refused");
	return 1;
}

static int
cd_check_sessions(struct cd *d, enum cd_alarm_id id, char *detail, size_t len)
{
	const struct cd_sessions *s = d->sess;

	if (s == NULL)
		return 0;
	if (id == CD_AL_JOURNAL) {
		if (s->jalarm == 0)
			return 0;
		snprintf(detail, len, "%s", s->jerr);
		return 1;
	}
	if (!s->nearly_full)
		return 0;
	snprintf(detail, len, "session table nearly full: %u of %u", s->n,
	    s->cap);
	return 1;
}

/*
 * What cordon-dp enforces is not the running revision (down, starting,
 * or another policy) for CD_ALARM_SYNC_S: a commit, a restart or a
 * start-up takes a few seconds of it, and raise nothing.
 */
static int
cd_check_sync(struct cd *d, char *detail, size_t len)
{
	bool in_sync = cd_dp_in_sync(d);
	int64_t now = clk_boot_s();

	if (in_sync || d->dp_unsync_s == 0)
		d->dp_unsync_s = now;
	if (in_sync)
		return 0;
	if (now - d->dp_unsync_s < (d->test_timers ? 3 : CD_ALARM_SYNC_S))
		return -1;
	snprintf(detail, len,
	    "cordon-dp (%s) does not enforce revision %lu for %lld s",
	    cd_dp_state_name(d->dp_state), (unsigned long)d->run.rev,
	    (long long)(now - d->dp_unsync_s));
	return 1;
}

static int
cd_alarm_check(struct cd *d, enum cd_alarm_id id, char *detail, size_t len)
{
	switch (id) {
	case CD_AL_GEO_STALE:
		return cd_check_geo_stale(d, detail, len);
	case CD_AL_GEO_STATIC:
		return cd_check_site(&d->alarm_geo, detail, len);
	case CD_AL_EVIDENCE:
		return cd_check_evidence(d, detail, len);
	case CD_AL_AUDIT:
		return cd_check_audit(d, detail, len);
	case CD_AL_JOURNAL:
	case CD_AL_SESS_FULL:
		return cd_check_sessions(d, id, detail, len);
	case CD_AL_DENY_RATE:
		return cd_snmp_deny_rate_high(d, detail, len);
	case CD_AL_DP_UNSYNC:
		return cd_check_sync(d, detail, len);
	case CD_AL_PROC_LOOP:
		return cd_proc_crash_loop(d, detail, len);
	default:
		return -1;
	}
}

static void
cd_notify_geo_stale(struct cd *d)
{
	int64_t epoch = cd_geo_epoch(&d->run.geo);
	int64_t age = clk_unix_s() - epoch;

	cd_syslog_event(d, "geo-stale",
	    "geolocation data is older than control.geo_max_age", "build_epoch",
	    CD_SL_U(epoch), "age_s", CD_SL_U(age), "max_age_s",
	    CD_SL_U((uint64_t)d->ctl.geo_max_age * 86400), NULL);
	cd_snmp_notify_geo_stale(d);
}

static void
cd_notify_sessions(struct cd *d)
{
	const struct cd_sessions *s = d->sess;

	if (s == NULL)
		return;
	cd_syslog_event(d, "session-table-nearly-full",
	    "session table nearly full", "sessions", CD_SL_U(s->n), "capacity",
	    CD_SL_U(s->cap), NULL);
	cd_snmp_notify_sessions(d, s->n, s->cap);
}

static void
cd_alarm_notify_own(struct cd *d, enum cd_alarm_id id)
{
	switch (id) {
	case CD_AL_GEO_STALE:
		cd_notify_geo_stale(d);
		break;
	case CD_AL_GEO_STATIC:
		cd_snmp_notify_geo_refused(d, d->alarms[id].detail);
		break;
	case CD_AL_SESS_FULL:
		cd_notify_sessions(d);
		break;
	case CD_AL_DENY_RATE:
		cd_snmp_notify_deny_rate(d);
		break;
	default:
		break;
	}
}

const struct cd_alarm_ops cd_alarm_checks = {
	.check = cd_alarm_check,
	.own = cd_alarm_notify_own,
};
