/*
 * The monitoring child (`cordond -P monitoring`, PROC_MON): the
 * Prometheus listener's HTTP clients, the syslog targets' sockets and
 * the AgentX subagent (mon_snmpa.h), in the sandbox of its own user cordon-mon, on the host's network.  It
 * holds nothing of cordond's state: metrics text, syslog records and
 * CORDON-MIB's values come ready-made over the channel (mon_msg.h,
 * mon_snmp.h).
 */
#ifndef CORDON_MON_PROC_H
#define CORDON_MON_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "control/mon/mon_http.h"
#include "control/mon/mon_msg.h"
#include "control/mon/mon_sl.h"
#include "control/proc/proc.h"

/* STATS at most this often, but at once when a queue fills or empties */
#define MON_STATS_MS 1000

struct mon_child {
	int fd; /* the channel */
	struct mon_http *http;
	uint32_t gen; /* of the targets below */
	unsigned n;
	struct sl_target t[CONF_LOG_TARGET_MAX];
	bool dirty; /* counters changed since the last STATS */
	int64_t stats_next_ms;
	uint64_t stale; /* records for other targets than these */
	uint8_t *buf;   /* one received payload (PROC_MSG_MAX) */
	size_t cap;
	bool broken; /* a refused message came during a wait: exit */
};

void mon_child_init(struct mon_child *m, int fd);
void mon_child_free(struct mon_child *m);
/*
 * One message from the parent (mon_proc_in.c).  -1: it does not decode
 * or is not one the child takes (the child then exits: the parent sends
 * only what it encoded).  PASSFD is the child's afterwards either way.
 */
int mon_child_in(struct mon_child *m, const struct proc_hdr *h,
    const uint8_t *p, int passfd);
/* Sends STATS (ID 0, or a FLUSH's); 0 or -1. */
int mon_child_stats(struct mon_child *m, uint32_t id);
/* Sends what the targets hold, for at most MS. */
void mon_child_flush(struct mon_child *m, unsigned ms);

/* The child's main (proc_def.run). */
int mon_proc_run(int fd);

#endif
