/*
 * A child enters its sandbox (proc.h, proc_sandbox): once it has opened
 * what it needs, it keeps nothing else and can get nothing more.  Each
 * step is checked after it is taken (as OpenSSH's privsep does): a
 * child that cannot lose a privilege exits rather than run with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control/proc/proc_int.h"

#define PROC_KEEP_MAX 16
/* Processes and threads of a child's user: libcurl's resolver threads
 * and some room; never a fork bomb that leaves the host no pid. */
#define PROC_NPROC_MAX 64

static int
proc_say_fail(const char *step)
{
	int e = errno;

	proc_log(PROC_CHILD_FD, "sandbox: %s: %s", step, strerror(e));
	errno = e;
	return -1;
}

/* Closes every descriptor above stderr but the channel and KEEP. */
static int
proc_close_rest(const int *keep, unsigned nkeep)
{
	int k[PROC_KEEP_MAX + 1];
	unsigned n = 0, lo = STDERR_FILENO + 1;

	if (nkeep > PROC_KEEP_MAX) {
		errno = E2BIG;
		return -1;
	}
	k[n++] = PROC_CHILD_FD;
	for (unsigned i = 0; i < nkeep; i++) {
		unsigned j = n++;

		for (; j > 0 && k[j - 1] > keep[i]; j--)
			k[j] = k[j - 1];
		k[j] = keep[i];
	}
	for (unsigned i = 0; i < n; i++) {
		if (k[i] < (int)lo)
			continue;
		if ((unsigned)k[i] > lo && close_range(lo, k[i] - 1, 0) < 0)
			return -1;
		lo = (unsigned)k[i] + 1;
	}
	return close_range(lo, ~0U, 0);
}

/* No capability in any set, ambient included. */
static int
proc_caps_none(bool set)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (set && syscall(SYS_capset, &h, d) != 0)
		return -1;
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable) {
			errno = EPERM;
			return -1;
		}
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) ==
		    1) {
			errno = EPERM;
			return -1;
		}
	return 0;
}

/*
 * The kernel's highest capability number, which may be above the one
 * this binary was built with: a bit we do not know of must go too.
 * Read before the chroot (no /proc there); CAP_LAST_CAP when unreadable.
 */
static int
proc_cap_last(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	long v = n > 0 ? strtol(buf, NULL, 10) : -1;

	if (fd >= 0)
		close(fd);
	return v >= CAP_LAST_CAP && v < 64 ? (int)v : CAP_LAST_CAP;
}

/*
 * Empties the bounding set (needs CAP_SETPCAP, so before the uid
 * changes): capabilities dropped from the other sets could otherwise
 * come back with an exec of a file that has some.  Checked afterwards.
 */
static int
proc_bound_none(int last)
{
	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	for (int cap = 0; cap <= last; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) {
			errno = EPERM;
			return -1;
		}
	return 0;
}

/* The user UID/GID, its group only; root cannot be had back. */
static int
proc_become(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -1;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -1;
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid ||
	    sg != gid || setuid(0) == 0 || setgid(0) == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* The empty root, checked again by the child itself. */
static int
proc_enter_root(void)
{
	if (proc_empty_check() < 0 || chroot(PROC_EMPTY_DIR) < 0 ||
	    chdir("/") < 0)
		return -1;
	return 0;
}

int
proc_sandbox(const struct proc_def *def, const char *const *syscalls,
    const int *keep, unsigned nkeep)
{
	pid_t parent = getppid();
	int last = proc_cap_last();
	uid_t uid;
	gid_t gid;
	void *sc;

	if (proc_user_ids(def->user, &uid, &gid) < 0)
		return proc_say_fail(def->user);
	if ((sc = proc_seccomp_build(syscalls, PROC_CHILD_FD)) == NULL)
		return proc_say_fail("seccomp");
	if (proc_close_rest(keep, nkeep) < 0)
		return proc_say_fail("closing descriptors");
	if (!def->net && unshare(CLONE_NEWNET) < 0)
		return proc_say_fail("network namespace");
	if (proc_enter_root() < 0)
		return proc_say_fail(PROC_EMPTY_DIR);
	if (setrlimit(RLIMIT_NPROC,
	        &(struct rlimit){ PROC_NPROC_MAX, PROC_NPROC_MAX }) < 0)
		return proc_say_fail("RLIMIT_NPROC");
	if (proc_bound_none(last) < 0)
		return proc_say_fail("bounding set");
	if (proc_become(uid, gid) < 0)
		return proc_say_fail(def->user);
	if (proc_caps_none(true) < 0)
		return proc_say_fail("capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return proc_say_fail("prctl");
	/* The death signal went with the old credentials: a parent gone
	 * meanwhile would never send it. */
	if (getppid() != parent) {
		errno = ESRCH;
		return proc_say_fail("parent");
	}
	if (proc_seccomp_load(sc) < 0)
		return proc_say_fail("seccomp");
	return 0;
}
