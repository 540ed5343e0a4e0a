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

#endif
