/* Placeholder until the sandbox lands (no_new_privs only). */
#include <sys/prctl.h>

#include "control/proc/proc.h"

int
proc_sandbox(const struct proc_def *def, const char *const *syscalls,
    const int *keep, unsigned nkeep)
{
	(void)def;
	(void)syscalls;
	(void)keep;
	(void)nkeep;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

int
proc_prepare(void)
{
	return 0;
}
