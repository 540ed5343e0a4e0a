/*
 * Capabilities after start: what each driver still needs (the table,
 * documented in cordon-dp(8)), and the drop in every thread.
 * Capabilities, the bounding set and no_new_privs belong to each thread,
 * and the EAL started its threads (lcores, interrupts, telemetry) while
 * we still held everything: each thread drops its own, in a signal
 * handler, and the result is read back from /proc for every thread.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_sandbox.h"

#define DP_CAP(c)     (1ULL << (c))
#define DP_SB_SIG     (SIGRTMIN + 3)
#define DP_SB_WAIT_MS 2000
#ifdef SYS_landlock_restrict_self
#define DP_SYS_landlock_restrict_self SYS_landlock_restrict_self
#else
#define DP_SYS_landlock_restrict_self 446
#endif

/*
 * By the driver of the port (virtual devices) or the kernel driver the
 * PCI device is bound to.  Each entry says why; none of the virtual
 * devices makes a privileged call once started (cordon-dp(8)).
 */
static const struct dp_drv_caps {
	const char *name;
	uint64_t caps;
} dp_drv_caps[] = {
	{ "net_null", 0 },
	{ "net_ring", 0 },
	/* files and live captures are opened at probe and start */
	{ "net_pcap", 0 },
	/* the packet socket and its rings exist from probe on */
	{ "net_af_packet", 0 },
	/* the tap fd and the ioctl socket exist from probe on; the kernel
	 * removes the interface when the fd closes */
	{ "net_tap", 0 },
	/* memory the EAL heap adds at run time is mapped for DMA and
	 * pinned: over RLIMIT_MEMLOCK without CAP_IPC_LOCK */
	{ "vfio-pci", DP_CAP(CAP_IPC_LOCK) },
	/* IOVA as physical address: new memory's frames are read from
	 * /proc/self/pagemap, zeroed without CAP_SYS_ADMIN */
	{ "uio_pci_generic", DP_CAP(CAP_SYS_ADMIN) },
	{ "igb_uio", DP_CAP(CAP_SYS_ADMIN) },
};

static int
dp_drv_lookup(const char *name, uint64_t *caps)
{
	for (size_t i = 0; i < sizeof(dp_drv_caps) / sizeof(*dp_drv_caps); i++)
		if (strcmp(dp_drv_caps[i].name, name) == 0) {
			*caps |= dp_drv_caps[i].caps;
			return 0;
		}
	return -1;
}

/* The kernel driver a PCI device is bound to (sysfs), into BUF. */
static int
dp_pci_kdrv(const char *addr, char *buf, size_t len)
{
	char path[256], link[256];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	if ((n = readlink(path, link, sizeof(link) - 1)) < 0)
		return -1;
	link[n] = '\0';
	base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	if (strlen(base) >= len)
		return -1;
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}

/* What the table is looked up by for port P: driver or kernel driver. */
static int
dp_port_drv(uint16_t id, char *buf, size_t len)
{
	struct rte_eth_dev_info info;
	const struct rte_bus *bus;

	if (rte_eth_dev_info_get(id, &info) != 0 || info.driver_name == NULL)
		return -1;
	bus = info.device ? rte_dev_bus(info.device) : NULL;
	if (bus && strcmp(rte_bus_name(bus), "pci") == 0)
		return dp_pci_kdrv(rte_dev_name(info.device), buf, len);
	snprintf(buf, len, "%s", info.driver_name);
	return 0;
}

int
dp_sandbox_caps(const struct dp_ctx *ctx, uint64_t *caps, char *err,
    size_t errlen)
{
	char drv[128];

	*caps = 0;
	for (unsigned i = 0; i < ctx->nports; i++) {
		if (dp_port_drv(ctx->port[i].id, drv, sizeof(drv)) != 0) {
			snprintf(err, errlen, "port %s: no driver",
			    ctx->port[i].name);
			return -1;
		}
		if (dp_drv_lookup(drv, caps) != 0) {
			snprintf(err, errlen,
			    "port %s: driver %s: the capabilities it needs "
			    "after start are not known (cordon-dp(8), "
			    "SANDBOX; --no-sandbox)",
			    ctx->port[i].name, drv);
			return -1;
		}
	}
	return 0;
}

/* ---- the drop, thread by thread ---- */

static struct {
	uint64_t keep;
	uid_t uid;
	gid_t gid;
	int rs; /* Landlock ruleset, -1: none */
} dp_sb;
static volatile int dp_sb_done, dp_sb_failed;

/* This thread as dp_sb.uid: ids belong to each thread in the kernel (the
 * raw calls; glibc's would signal every thread itself).  KEEPCAPS keeps
 * the permitted set across; the caller puts back the effective one. */
static int
dp_sb_thread_ids(void)
{
	if (dp_sb.uid == 0)
		return 0;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 ||
	    syscall(SYS_setgroups, 0, NULL) != 0 ||
	    syscall(SYS_setresgid, dp_sb.gid, dp_sb.gid, dp_sb.gid) != 0 ||
	    syscall(SYS_setresuid, dp_sb.uid, dp_sb.uid, dp_sb.uid) != 0)
		return -1;
	return prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
}

/* This thread's sets down to KEEP, its ids, no_new_privs and Landlock:
 * async-signal-safe (raw calls only). */
static int
dp_sb_thread_drop(uint64_t keep)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	/* Needs CAP_SETPCAP in the effective set: capset clears it after. */
	for (int cap = 0, in; (in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0)) >= 0;
	     cap++)
		if (in && !(keep & DP_CAP(cap)) &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return -1;
	if (dp_sb_thread_ids() != 0 || syscall(SYS_capget, &h, d) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		d[i].permitted &= k;
		d[i].effective = d[i].permitted;
		d[i].inheritable &= k;
	}
	if (syscall(SYS_capset, &h, d) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if (dp_sb.rs >= 0 &&
	    syscall(DP_SYS_landlock_restrict_self, dp_sb.rs, 0) != 0)
		return -1;
	return 0;
}

static void
dp_sb_on_signal(int sig)
{
	int e = errno;

	(void)sig;
	if (dp_sb_thread_drop(dp_sb.keep) != 0)
		__atomic_store_n(&dp_sb_failed, errno ? errno : EPERM,
		    __ATOMIC_RELEASE);
	__atomic_add_fetch(&dp_sb_done, 1, __ATOMIC_RELEASE);
	errno = e;
}

/* Signals every other thread; how many were, or -1. */
static int
dp_sb_signal_all(void)
{
	pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		pid_t tid = (pid_t)atoi(de->d_name);

		if (tid <= 0 || tid == self)
			continue;
		if (syscall(SYS_tgkill, pid, tid, DP_SB_SIG) != 0) {
			n = -1;
			break;
		}
		n++;
	}
	closedir(d);
	return n;
}

/* 0 when the status of thread TID shows no capability beyond CAPS in any
 * set, no_new_privs and dp_sb's ids in all four places. */
static int
dp_sb_thread_check(const char *tid, uint64_t caps)
{
	char path[300], line[128];
	unsigned long long v;
	unsigned id[4];
	int seen = 0, bad = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT ? 0 : -1; /* gone meanwhile */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Cap%*[a-zA-Z]: %llx", &v) == 1) {
			seen++;
			bad |= (v & ~caps) != 0;
		} else if (sscanf(line, "NoNewPrivs: %llu", &v) == 1) {
			seen++;
			bad |= v != 1;
		} else if (sscanf(line, "Uid: %u %u %u %u", &id[0], &id[1],
		               &id[2], &id[3]) == 4) {
			seen++;
			for (int i = 0; i < 4; i++)
				bad |= id[i] != dp_sb.uid;
		} else if (sscanf(line, "Gid: %u %u %u %u", &id[0], &id[1],
		               &id[2], &id[3]) == 4) {
			seen++;
			for (int i = 0; i < 4; i++)
				bad |= dp_sb.uid != 0 && id[i] != dp_sb.gid;
		}
	}
	fclose(f);
	return seen >= 8 && !bad ? 0 : -1;
}

static int
dp_sb_check_all(uint64_t caps)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");
	int rc = 0;

	if (d == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			rc = dp_sb_thread_check(de->d_name, caps);
	closedir(d);
	return rc;
}

int
dp_sandbox_drop_caps(uint64_t caps, uid_t uid, gid_t gid, int rs)
{
	struct sigaction sa;
	struct timespec ts = { 0, 1000000 };
	int n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dp_sb_on_signal;
	sa.sa_flags = SA_RESTART;
	sigfillset(&sa.sa_mask);
	dp_sb.keep = caps;
	dp_sb.uid = uid;
	dp_sb.gid = gid;
	dp_sb.rs = rs;
	if (sigaction(DP_SB_SIG, &sa, NULL) != 0 ||
	    (n = dp_sb_signal_all()) < 0)
		return -1;
	for (int ms = 0; ms < DP_SB_WAIT_MS &&
	                 __atomic_load_n(&dp_sb_done, __ATOMIC_ACQUIRE) < n;
	     ms++)
		nanosleep(&ts, NULL);
	if (__atomic_load_n(&dp_sb_done, __ATOMIC_ACQUIRE) < n) {
		errno = ETIMEDOUT; /* a thread that blocks the signal */
		return -1;
	}
	if (dp_sb_failed) {
		errno = dp_sb_failed;
		return -1;
	}
	if (dp_sb_thread_drop(caps) != 0)
		return -1;
	/* A thread the EAL started meanwhile, or one that blocks the
	 * signal, would keep everything: read back every one. */
	return dp_sb_check_all(caps);
}
