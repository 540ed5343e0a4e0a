/*
 * The alarm table (docs/control.md, "Alarms"): every alarm cordond can
 * raise, with its severity and raise time, whether and by whom it was
 * acknowledged.  A condition alarm (geo-stale, audit-broken, ...) is
 * raised and cleared by its condition; an event alarm
 * (dataplane-restarted) stays until an admin clears it.  Each raise and
 * each clear leaves the box once: SNMP (cordonAlarmRaised or the
 * alarm's own notification, cordonAlarmCleared), syslog (alarm,
 * alarm-cleared) and Prometheus (cordon_alarm_active).  The table is
 * kept in the state folder, so that a restart does not raise again what
 * was already raised, and clears what cleared while cordond was down.
 */
#ifndef CORDON_CD_ALARM_H
#define CORDON_CD_ALARM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "control/daemon/cd_util.h"

#define CD_ALARM_FILE   "alarms.json"
#define CD_ALARM_DETAIL 160
#define CD_ALARM_SYNC_S 30 /* out of sync this long: an alarm */

struct cd;

/* Alarm ids: also cordonAlarmIndex in CORDON-MIB (id + 1).  Append. */
enum cd_alarm_id {
	CD_AL_DP_RESTARTED,
	CD_AL_GEO_STALE,
	CD_AL_GEO_STATIC,
	CD_AL_EVIDENCE,
	CD_AL_AUDIT,
	CD_AL_JOURNAL,
	CD_AL_SESS_FULL,
	CD_AL_DENY_RATE,
	CD_AL_DP_UNSYNC,
	CD_AL_PROC_RESTARTED,
	CD_AL_PROC_LOOP,
	CD_AL_MAX
};

/* X.733-like severities; the MIB's CordonSeverity numbers + 1. */
enum cd_alarm_sev {
	CD_SEV_CRITICAL,
	CD_SEV_MAJOR,
	CD_SEV_MINOR,
	CD_SEV_WARNING,
};

/* One row of the table. */
struct cd_alarm_row {
	bool active;
	int64_t raised; /* unix seconds */
	char detail[CD_ALARM_DETAIL];
	unsigned count;   /* raises of an event alarm folded into the row */
	int64_t acked_at; /* 0: not acknowledged */
	uid_t acked_uid;
	char acked_by[64];
};

/* cd_alarm_def.c: the catalog. */
const char *cd_alarm_name(enum cd_alarm_id id);
const char *cd_alarm_sev_name(enum cd_alarm_id id);
enum cd_alarm_sev cd_alarm_sev(enum cd_alarm_id id);
/* -1 when NAME is no alarm's. */
int cd_alarm_find(const char *name);
bool cd_alarm_is_event(enum cd_alarm_id id);
/* Every alarm name, for the Prometheus rows at 0. */
json_t *cd_alarm_names(void);

/*
 * What each condition alarm follows (cd_alarm_check.c), handed to the
 * table at start-up so that the table calls none of its sources.
 * check: whether ID's condition holds now (1, DETAIL filled), does not
 * (0) or cannot be told yet (-1: the row stays as it is).  own: the
 * alarm's own notifications beyond the generic ones (cordonGeoStale,
 * ...), sent with the raise.
 */
struct cd_alarm_ops {
	int (*check)(struct cd *d, enum cd_alarm_id id, char *detail,
	    size_t len);
	void (*own)(struct cd *d, enum cd_alarm_id id);
};
extern const struct cd_alarm_ops cd_alarm_checks;

/*
 * Start-up, before anything can raise: the kept table (cd_alarm_store.c)
 * and the checks OPS.  Never fails.
 */
void cd_alarm_load(struct cd *d, const struct cd_alarm_ops *ops);
/* Writes the table to the state folder; 0, or -1 (logged). */
int cd_alarm_save(struct cd *d);

/*
 * An event alarm happened: raised (notifications sent), or folded into
 * the row already raised (detail and count updated, acknowledgement
 * withdrawn: the admin has not seen this one).
 */
void cd_alarm_event(struct cd *d, enum cd_alarm_id id, const char *detail);
/*
 * Condition alarms follow their conditions (cd_alarm_check.c): every
 * second, before every answer about alarms, and when a source calls
 * cd_alarm_sync right after its condition changed.
 */
void cd_alarm_tick(struct cd *d);
void cd_alarm_tick_now(struct cd *d);
void cd_alarm_sync(struct cd *d, enum cd_alarm_id id);

/* The raise and clear of ID as a condition: with notifications. */
void cd_alarm_raise(struct cd *d, enum cd_alarm_id id, const char *detail);
void cd_alarm_clear(struct cd *d, enum cd_alarm_id id, const char *by);

/* The active alarms as the status and show alarms replies list them. */
json_t *cd_alarm_list(struct cd *d);

#endif
