/*
 * The alarm table: raising, clearing and acknowledging, and the
 * notifications each raise and clear sends (cd_alarm.h).
 */
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "control/daemon/cd_alarm.h"
#include "control/daemon/cordond.h"

#define CD_ALARM_TICK_MS 1000

static void
cd_alarm_iso(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 32, "%lld", (long long)t);
}

/* The generic notifications: SNMP, then syslog. */
static void
cd_alarm_notify(struct cd *d, enum cd_alarm_id id, bool raised, const char *by)
{
	static const unsigned sl_sev[] = { LOG_CRIT, LOG_ERR, LOG_WARNING,
		LOG_WARNING };
	const struct cd_alarm_row *r = &d->alarms[id];
	char when[32];

	cd_snmp_notify_alarm(d, raised, (unsigned)id + 1, cd_alarm_name(id),
	    (int)cd_alarm_sev(id) + 1, r->detail);
	cd_alarm_iso(r->raised, when);
	if (raised)
		cd_syslog_event_sev(d, sl_sev[cd_alarm_sev(id)], "alarm",
		    r->detail, "alarm", cd_alarm_name(id), "severity",
		    cd_alarm_sev_name(id), "raised", when, NULL);
	else
		cd_syslog_event_sev(d, LOG_NOTICE, "alarm-cleared", r->detail,
		    "alarm", cd_alarm_name(id), "severity",
		    cd_alarm_sev_name(id), "raised", when, "by", by, NULL);
}

void
cd_alarm_raise(struct cd *d, enum cd_alarm_id id, const char *detail)
{
	struct cd_alarm_row *r = &d->alarms[id];

	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	if (r->active)
		return;
	*r = (struct cd_alarm_row){ .active = true,
		.raised = clk_unix_s(),
		.count = 1 };
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	cd_log("alarm %s raised: %s", cd_alarm_name(id), r->detail);
	(void)cd_alarm_save(d);
	cd_alarm_notify(d, id, true, NULL);
	if (d->alarm_ops != NULL)
		d->alarm_ops->own(d, id);
}

void
cd_alarm_clear(struct cd *d, enum cd_alarm_id id, const char *by)
{
	struct cd_alarm_row *r = &d->alarms[id];

	if (!r->active)
		return;
	r->active = false;
	cd_log("alarm %s cleared (%s)", cd_alarm_name(id), by);
	(void)cd_alarm_save(d);
	cd_alarm_notify(d, id, false, by);
	memset(r, 0, sizeof(*r));
}

void
cd_alarm_event(struct cd *d, enum cd_alarm_id id, const char *detail)
{
	struct cd_alarm_row *r = &d->alarms[id];

	if (!r->active) {
		cd_alarm_raise(d, id, detail);
		return;
	}
	snprintf(r->detail, sizeof(r->detail), "%s", detail);
	r->count++;
	r->acked_at = 0;
	r->acked_by[0] = '\0';
	cd_log("alarm %s again (%u): %s", cd_alarm_name(id), r->count,
	    r->detail);
	(void)cd_alarm_save(d);
}

void
cd_alarm_sync(struct cd *d, enum cd_alarm_id id)
{
	char detail[CD_ALARM_DETAIL];

	if (d->alarm_ops == NULL)
		return;
	switch (d->alarm_ops->check(d, id, detail, sizeof(detail))) {
	case 1:
		cd_alarm_raise(d, id, detail);
		break;
	case 0:
		cd_alarm_clear(d, id, "condition");
		break;
	default:
		break;
	}
}

void
cd_alarm_tick_now(struct cd *d)
{
	d->alarm_next_ms = clk_mono_ms() + CD_ALARM_TICK_MS;
	for (int i = 0; i < CD_AL_MAX; i++)
		if (!cd_alarm_is_event(i))
			cd_alarm_sync(d, i);
}

void
cd_alarm_tick(struct cd *d)
{
	if (clk_mono_ms() >= d->alarm_next_ms)
		cd_alarm_tick_now(d);
}

json_t *
cd_alarm_list(struct cd *d)
{
	json_t *a = json_array();

	for (int i = 0; i < CD_AL_MAX; i++) {
		const struct cd_alarm_row *r = &d->alarms[i];

		if (!r->active)
			continue;
		json_array_append_new(a,
		    json_pack("{s:s, s:s, s:I, s:s, s:i, s:b, s:s, s:I, s:s}",
		        "name", cd_alarm_name(i), "severity",
		        cd_alarm_sev_name(i), "since", (json_int_t)r->raised,
		        "kind", cd_alarm_is_event(i) ? "event" : "condition",
		        "count", (int)r->count, "acknowledged",
		        r->acked_at != 0, "acked_by", r->acked_by, "acked_at",
		        (json_int_t)r->acked_at, "detail", r->detail));
	}
	return a;
}
