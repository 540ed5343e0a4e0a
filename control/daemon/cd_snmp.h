/*
 * The SNMP side of cordond: CORDON-MIB (docs/mib/CORDON-MIB.txt) from
 * the same counters as `cordonctl show counters`, and its
 * notifications.  The AgentX subagent itself (net-snmp, the AgentX
 * PDUs) runs in the monitoring child (control/mon/mon_snmp*.c): cordond
 * builds the values and decides the notifications, and passes them over
 * the channel (control/mon/mon_snmp.h), with the connected AgentX
 * socket when the master's is a unix socket.  Every function is a no-op
 * while control.snmp.enabled is false; none of them blocks.
 */
#ifndef CORDON_CD_SNMP_H
#define CORDON_CD_SNMP_H

#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

/* Renumbering the MIB: change this and the MODULE-IDENTITY's number. */
#define CD_SNMP_ENTERPRISE 32473 /* and MON_SNMP_ENTERPRISE */
#define CD_SNMP_FD_MAX     8     /* pollfd slots cd_snmp_poll_fill may use */

struct cd;
struct proc_child;

/* Starts SNMP when the config enables it.  0, or -1 (logged). */
int cd_snmp_start(struct cd *d);
void cd_snmp_stop(struct cd *d);

/*
 * Lowers *TIMEOUT_MS to the next periodic check.  Returns how many
 * slots of PFD it used: none (the AgentX socket is the child's).
 */
unsigned cd_snmp_poll_fill(struct cd *d, struct pollfd *pfd, unsigned max,
    int *timeout_ms);
/* After poll(): the periodic checks (deny rate, geo age). */
void cd_snmp_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n);

/* The monitoring child's side (cd_snmp_mon.c). */
struct cd_snmp_stats {
	uint64_t traps_sent;      /* passed to the monitoring child */
	uint64_t traps_dropped;   /* the child down or not reading */
	uint64_t gets;            /* SNMP_GETs answered */
	uint64_t builds;          /* snapshots built for them */
	uint64_t agentx_opens;    /* AgentX sockets connected for it */
	uint64_t agentx_failed;   /* connects that failed */
	uint64_t metrics_renders; /* Prometheus texts rendered */
	uint64_t pinned;          /* new snapshots withheld (cd_snmp_pin.c) */
};
extern struct cd_snmp_stats cd_snmp_st;
/* The child is up: its SNMP configuration. */
void cd_snmp_mon_up(struct cd *d, struct proc_child *c);
/* SNMP_GET: the snapshot, at most one build per MON_SNMP_CACHE_MS. */
int cd_snmp_mon_get(struct cd *d, struct proc_child *c, uint32_t id);
/* AGENTX_GET: a new connection to the master's unix socket. */
int cd_snmp_mon_agentx(struct cd *d, struct proc_child *c, uint32_t id);
/*
 * A notification (mon_snmp.h) to the child, never waiting: one it does
 * not take is dropped and counted; while it is not up (cordond's start,
 * a restart) the last 32 are held and sent when it is.
 */
struct mon_snmp_var;
void cd_snmp_mon_trap(struct cd *d, unsigned trap, const struct mon_snmp_var *v,
    unsigned n);
/* `show status` "snmp": the counters above. */
json_t *cd_snmp_status(struct cd *d);
/* The values changed: the child's snapshot too is out of date. */
void cd_snmp_mon_stale(struct cd *d);

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
void cd_snmp_counters_changed(struct cd *d);

#endif
