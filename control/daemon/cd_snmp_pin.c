/*
 * Whether a new snapshot memfd may go to the monitoring child
 * (cd_snmp_mon.c).  Each new snapshot generation is a new sealed memfd
 * charged to cordond; messages the child leaves unread on its channel
 * keep theirs alive, one generation per MON_SNMP_CACHE_MS, up to the
 * channel's buffer: gigabytes for a large MIB.  So a new one goes only
 * to a child that has read everything sent to it.
 *
 * Not covered: memfds the child keeps open or mapped after reading them
 * (up to its RLIMIT_NOFILE or vm.max_map_count).  cordond cannot see
 * them without CAP_SYS_PTRACE (/proc/PID/fd and maps of a child of
 * another user); bounding those needs the snapshot sent through the
 * channel itself, in pieces.
 */
#define _GNU_SOURCE
#include <linux/sockios.h>
#include <sys/ioctl.h>

#include "control/daemon/cd_snmp_int.h"

bool
cd_snmp_pin_room(const struct proc_child *c)
{
	int queued = 0;

	return ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued == 0;
}
