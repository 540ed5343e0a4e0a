/*
 * The SNMP side of cordond: an AgentX subagent (net-snmp) serving
 * CORDON-MIB (docs/mib/CORDON-MIB.txt) from the same counters as
 * `cordonctl show counters`, and sending its notifications.  It runs in
 * cordond's poll loop: no threads, no SIGALRM.  Every function is a
 * no-op while control.snmp.enabled is false; none of them blocks for
 * longer than an AgentX round trip to a local master agent.
 */
#ifndef CORDON_CD_SNMP_H
#define CORDON_CD_SNMP_H

#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* Renumbering the MIB: change this and the MODULE-IDENTITY's number. */
#define CD_SNMP_ENTERPRISE 32473
#define CD_SNMP_FD_MAX     8 /* pollfd slots cd_snmp_poll_fill may use */

struct cd;

/* Starts the subagent when the config enables it.  0, or -1 (logged). */
int cd_snmp_start(struct cd *d);
/* Closes the AgentX session and frees net-snmp's state. */
void cd_snmp_stop(struct cd *d);

/*
 * Adds net-snmp's descriptors to PFD (at most MAX of them) and lowers
 * *TIMEOUT_MS to its next timer.  Returns how many slots it used.
 */
unsigned cd_snmp_poll_fill(struct cd *d, struct pollfd *pfd, unsigned max,
    int *timeout_ms);
/*
 * After poll(): reads what the N slots from cd_snmp_poll_fill have, runs
 * net-snmp's timers (AgentX pings, reconnects) and the periodic checks
 * (deny rate, geo age).  Call it every loop, with N 0 after an error.
 */
void cd_snmp_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n);

/* Notifications: called where the event happens. */
void cd_snmp_notify_commit(struct cd *d, uint64_t rev, uint64_t prev);
void cd_snmp_notify_rollback(struct cd *d, uint64_t rev, uint64_t prev,
    const char *detail);
void cd_snmp_notify_geo_refused(struct cd *d, const char *why);
void cd_snmp_notify_dp(struct cd *d, bool up, const char *why);
/* cordonSessionTableNearlyFull: COUNT sessions of CAP (cd_sess.c). */
void cd_snmp_notify_sessions(struct cd *d, unsigned count, unsigned cap);
/* cordonGeoStale, cordonDenyRateHigh: with the alarm (cd_alarm.h). */
void cd_snmp_notify_geo_stale(struct cd *d);
void cd_snmp_notify_deny_rate(struct cd *d);
/*
 * cordonAlarmRaised (RAISED) or cordonAlarmCleared of the alarm with
 * cordonAlarmIndex IDX: its name, severity (CordonSeverity) and
 * text.
 */
void cd_snmp_notify_alarm(struct cd *d, bool raised, unsigned idx,
    const char *name, int sev, const char *text);
/*
 * The deny-rate-high condition: 1 (DETAIL filled) when the last rate
 * is over control.snmp.deny_rate_threshold, 0 when not (or no
 * threshold, or SNMP off), -1 before a first rate.
 */
int cd_snmp_deny_rate_high(struct cd *d, char *detail, size_t len);
/* Counters changed other than by counting (clear counters): the next
 * request reads them afresh, not from the short cache. */
void cd_snmp_counters_changed(void);

#endif
