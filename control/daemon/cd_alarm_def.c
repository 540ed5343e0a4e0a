/*
 * The alarms cordond knows: name, severity, kind (cd_alarm.h).  A leaf:
 * the SNMP tables, the commands and the table itself read it, it reads
 * nothing of theirs.
 */
#include <string.h>

#include "control/daemon/cd_alarm.h"

static const struct {
	const char *name;
	enum cd_alarm_sev sev;
	bool event;
} cd_alarm_defs[CD_AL_MAX] = {
	[CD_AL_DP_RESTARTED] = { "dataplane-restarted", CD_SEV_MAJOR, true },
	[CD_AL_GEO_STALE] = { "geo-stale", CD_SEV_MINOR, false },
	[CD_AL_GEO_STATIC] = { "geo-static", CD_SEV_MAJOR, false },
	[CD_AL_EVIDENCE] = { "evidence-failed", CD_SEV_MAJOR, false },
	[CD_AL_AUDIT] = { "audit-broken", CD_SEV_CRITICAL, false },
	[CD_AL_JOURNAL] = { "session-journal", CD_SEV_MAJOR, false },
	[CD_AL_SESS_FULL] = { "session-table-nearly-full", CD_SEV_MINOR,
	    false },
	[CD_AL_DENY_RATE] = { "deny-rate-high", CD_SEV_WARNING, false },
	[CD_AL_DP_UNSYNC] = { "dataplane-out-of-sync", CD_SEV_MAJOR, false },
	[CD_AL_PROC_RESTARTED] = { "process-restarted", CD_SEV_MINOR, true },
	[CD_AL_PROC_LOOP] = { "process-crash-loop", CD_SEV_MAJOR, false },
};

const char *
cd_alarm_name(enum cd_alarm_id id)
{
	return cd_alarm_defs[id].name;
}

enum cd_alarm_sev
cd_alarm_sev(enum cd_alarm_id id)
{
	return cd_alarm_defs[id].sev;
}

const char *
cd_alarm_sev_name(enum cd_alarm_id id)
{
	static const char *const names[] = { "critical", "major", "minor",
		"warning" };

	return names[cd_alarm_defs[id].sev];
}

bool
cd_alarm_is_event(enum cd_alarm_id id)
{
	return cd_alarm_defs[id].event;
}

int
cd_alarm_find(const char *name)
{
	for (int i = 0; i < CD_AL_MAX; i++)
		if (strcmp(cd_alarm_defs[i].name, name) == 0)
			return i;
	return -1;
}

json_t *
cd_alarm_names(void)
{
	json_t *a = json_array();

	for (int i = 0; i < CD_AL_MAX; i++)
		json_array_append_new(a, json_string(cd_alarm_name(i)));
	return a;
}
