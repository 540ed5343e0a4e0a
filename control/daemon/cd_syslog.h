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

#endif
