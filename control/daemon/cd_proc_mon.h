/*
 * cordond's side of the monitoring child (control/mon/): what it hands
 * the child and what it takes from it.  cd_proc_mon.c: the process's
 * handlers and the Prometheus scrapes; cd_proc_mon_sl.c: the syslog
 * targets.
 */
#ifndef CORDON_CD_PROC_MON_H
#define CORDON_CD_PROC_MON_H

#include <stdint.h>

#include "control/mon/mon_msg.h"
#include "control/proc/proc.h"

struct cd;

extern const struct proc_def cd_proc_mon_def;

/* The monitoring child when it runs and is READY, else NULL. */
struct proc_child *cd_mon_child(struct cd *d);

/* cd_proc_mon_sl.c */
/* The targets to child C (at up): 0, or -1 (it cannot take them). */
int cd_mon_targets_send(struct cd *d, struct proc_child *c);
/* The records cordond kept while the child was away, in order. */
void cd_mon_pending_send(struct cd *d, struct proc_child *c);
/* The child's counters (a checked STATS): -1 when they cannot be the
 * current targets' (a broken child). */
int cd_mon_stats(struct cd *d, const struct mon_stats *st);
/* The child went away: what it counted is kept, what it held lost. */
void cd_mon_targets_down(struct cd *d);
/* A local target's socket, connected here, to the child; -1: a request
 * that cannot be the current targets'. */
int cd_mon_local(struct cd *d, struct proc_child *c, const struct mon_local *l);
/* cordond is stopping: the child sends what it holds (a second). */
void cd_mon_flush(struct cd *d);

#endif
