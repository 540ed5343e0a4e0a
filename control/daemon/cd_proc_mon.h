/*
 * cordond's side of the monitoring child (control/mon/): what it hands
 * the child and what it takes from it: the process's handlers and the
 * Prometheus scrapes (cd_proc_mon.c); the syslog targets' side is the
 * syslog module's (cd_syslog_mon.c).
 */
#ifndef CORDON_CD_PROC_MON_H
#define CORDON_CD_PROC_MON_H

#include "control/proc/proc.h"

extern const struct proc_def cd_proc_mon_def;

struct cd;
/* Scrapes that waited for the next rendering (at most one per 50 ms):
 * answered when it is time.  Call it every loop. */
void cd_proc_mon_tick(struct cd *d);
/* When that is (CLOCK_MONOTONIC ms), INT64_MAX when none waits. */
int64_t cd_proc_mon_next_ms(void);

#endif
