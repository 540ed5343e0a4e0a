/*
 * Privileges: cordond stays root (it chowns the control socket, reads
 * any admin's SO_PEERCRED and starts cordon-dp, which DPDK needs root
 * for, and its children, which become their own users in an empty
 * root), but gives up every capability neither it nor cordon-dp uses,
 * from its own sets and from the bounding set, so that nothing it execs
 * can regain them; and it forbids new privileges (no set-uid exec).
 */
#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

/* What cordond and cordon-dp need; everything else goes. */
static const int cd_caps_kept[] = {
	CAP_CHOWN,        /* control socket group */
	CAP_DAC_OVERRIDE, /* state folder, hugepage mounts */
	CAP_DAC_READ_SEARCH, CAP_FOWNER,
	CAP_KILL,         /* signal the adopted cordon-dp */
	CAP_NET_ADMIN,    /* DPDK: interfaces, af_packet, tap */
	CAP_NET_RAW,      /* DPDK: af_packet, pcap */
	CAP_IPC_LOCK,     /* DPDK: locked, pinned memory */
	CAP_SYS_ADMIN,    /* DPDK: pagemap, vfio, mounts */
	CAP_SYS_RAWIO,    /* DPDK: PCI resources */
	CAP_SYS_NICE,     /* DPDK: lcore scheduling */
	CAP_SYS_RESOURCE, /* DPDK: rlimits */
	CAP_SETUID,       /* children: their own users (control/proc) */
	CAP_SETGID, CAP_SYS_CHROOT, /* children: the empty root */
	CAP_SETPCAP, /* cordon-dp: its bounding set, after start */
};

static int
cd_cap_kept(int cap)
{
	for (size_t i = 0; i < sizeof(cd_caps_kept) / sizeof(int); i++)
		if (cd_caps_kept[i] == cap)
			return 1;
	return 0;
}

static uint64_t
cd_caps_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(cd_caps_kept) / sizeof(int); i++)
		m |= 1ULL << cd_caps_kept[i];
	return m;
}

/* Lowers the effective, permitted and inheritable sets to the kept ones. */
static int
cd_caps_set(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t keep = cd_caps_mask();

	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[0].effective &= (uint32_t)keep;
	d[0].permitted &= (uint32_t)keep;
	d[0].inheritable &= (uint32_t)keep;
	d[1].effective &= (uint32_t)(keep >> 32);
	d[1].permitted &= (uint32_t)(keep >> 32);
	d[1].inheritable &= (uint32_t)(keep >> 32);
	return (int)syscall(SYS_capset, &h, d);
}

int
cd_privs_drop(void)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!cd_cap_kept(cap) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 &&
		    errno != EINVAL) {
			cd_log("dropping capability %d: %s", cap,
			    strerror(errno));
			return -1;
		}
	if (cd_caps_set() != 0) {
		cd_log("lowering capabilities: %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		cd_log("no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
