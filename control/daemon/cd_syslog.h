/*
 * cordond's syslog (docs/control.md section 7): RFC 5424 records of
 * denied packets (aggregated per source and rule, rate-limited) and of
 * what the daemon does (commit, rollback, geo, dataplane, start/stop),
 * formatted here and sent to the control.logging targets by the
 * monitoring child (control/mon/), never blocking cordond's loop.
 */
#ifndef CORDON_CD_SYSLOG_H
#define CORDON_CD_SYSLOG_H

#include <stdint.h>

#include <jansson.h>

#include "config/load/conf_logging.h"

struct cd;
struct pollfd;

/* Sets up D->slog from D->ctl.logging (sockets connect later). 0 or -1. */
int cd_syslog_open(struct cd *d);
/* The monitoring child tries for at most a second to send what is
 * queued, then this closes. */
void cd_syslog_close(struct cd *d);

/*
 * One daemon event: MSGID (e.g. "commit"), a human MSG, then key/value
 * string pairs for the structured data, ended by NULL.  Never blocks;
 * a no-op before cd_syslog_open().
 */
void cd_syslog_event(struct cd *d, const char *msgid, const char *msg, ...)
    __attribute__((sentinel));
/* The same with severity SEV (syslog's, 0 emerg .. 7 debug). */
void cd_syslog_event_sev(struct cd *d, unsigned sev, const char *msgid,
    const char *msg, ...) __attribute__((sentinel));
/* A number as a value for cd_syslog_event(): CD_SL_U(rev). */
const char *cd_syslog_u(char buf[24], uint64_t v);
#define CD_SL_U(v) cd_syslog_u((char[24]){ 0 }, (uint64_t)(v))

/*
 * The dataplane channel is readable: takes cordon-dp's log events.
 * -1 when the channel is closed (the caller handles EOF).
 */
int cd_syslog_dp_read(struct cd *d);
/* A log event that did not come over the channel (backend nftables). */
struct dpc_wire_event;
void cd_syslog_packet(struct cd *d, const struct dpc_wire_event *ev);

/*
 * A new channel to cordon-dp: hands it the targets, so that it sends
 * its packet records itself while cordond is away (docs/control.md,
 * "While cordond is down").  A refusal is logged, nothing more.
 */
void cd_syslog_dp_handover(struct cd *d);

/* Monotonic ms of its next timer (window end). */
int64_t cd_syslog_next_ms(const struct cd *d);
/* Timers: aggregation windows; records kept for the child. */
void cd_syslog_tick(struct cd *d);

/* "show logging": counters, per-target state. */
json_t *cd_syslog_show(struct cd *d);

/*
 * cd_syslog_mon.c: the targets' side of the monitoring child (its
 * handlers, cd_proc_mon.c, call these).
 */
struct proc_child;
struct mon_stats;
struct mon_local;
struct cd_mon_view;
/* The targets to child C (at up): 0, or -1 (it cannot take them). */
int cd_syslog_mon_targets(struct cd *d, struct proc_child *c);
/* The records cordond kept while the child was away, in order. */
void cd_syslog_mon_pending(struct cd *d, struct proc_child *c);
/* What the child was given (cd_proc_mon_chk.h). */
void cd_syslog_mon_view(struct cd *d, struct cd_mon_view *v);
/* The child's counters (STATS that cd_mon_check passed). */
void cd_syslog_mon_stats(struct cd *d, const struct mon_stats *st);
/* The child went away: what it counted is kept, what it held lost. */
void cd_syslog_mon_down(struct cd *d);
/* A local target's socket (LOCAL_GET that cd_mon_check passed),
 * connected here to the configured path, to the child. */
void cd_syslog_mon_local(struct cd *d, struct proc_child *c,
    const struct mon_local *l);
/* cordond is stopping: the child sends what it holds (a second). */
void cd_syslog_mon_flush(struct cd *d);

#endif
