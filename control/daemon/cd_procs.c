/*
 * The children of cordond (docs/architecture.md "Processes"), indexed
 * by enum proc_id.  NULL: that child is not built (yet); cordond then
 * does its work itself.  One line per child, each def with its module
 * (the comments keep the lines apart, so that merges do not meet).
 */
#include "control/daemon/cd_proc_mon.h"
#include "control/proc/proc.h"
#include "control/daemon/cd_proc_ctl.h"

extern const struct proc_def cd_proc_ident_def, cd_proc_fetch_def;

const struct proc_def *const proc_defs[PROC_MAX] = {
	/* identity: control/ident/ident_proc*.c */
	[PROC_IDENT] = &cd_proc_ident_def,
	/* fetch: control/ident/fetch_proc*.c */
	[PROC_FETCH] = &cd_proc_fetch_def,
	/* control: control/ctl/ */
	[PROC_CTL] = &cd_proc_ctl_def,
	/* monitoring: control/mon/ */
	[PROC_MON] = &cd_proc_mon_def,
};
