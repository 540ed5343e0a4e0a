/*
 * The seccomp allow-list of cordon-dp's steady state, and the order the
 * sandbox is entered in.  The list was found by tracing every thread of
 * cordon-dp through the dp, mon and integ tests (cordon-dp(8), SANDBOX,
 * says how to do it again): the
 * workers, the main lcore (housekeeping, the channel with LOAD's
 * memfds, the syslog fallback, the evidence and stats files), the EAL
 * interrupt thread, telemetry with its per-client threads, and exit.
 * Anything else kills the whole process (SECCOMP_RET_KILL_PROCESS):
 * cordond starts a new one, which enforces the running revision.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stddef.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_eal.h>
#include <seccomp.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_sandbox.h"
#include "wire/dpc_proto.h"

/* Taken whatever the arguments. */
static const char *const dp_sb_calls[] = {
	/* files: stats (.tmp and rename), evidence (rotation), stdout */
	"read",
	"write",
	"readv",
	"writev",
	"pread64",
	"pwrite64",
	"close",
	"lseek",
	"open",
	"openat",
	"fstat",
	"newfstatat",
	"statx",
	"getdents64",
	"mkdir",
	"mkdirat",
	"rename",
	"renameat",
	"renameat2",
	"unlink",
	"unlinkat",
	"ftruncate",
	"fsync",
	"fdatasync",
	"fcntl",
	"dup",
	/* waiting: housekeeping, interrupt thread, telemetry, lcores */
	"poll",
	"ppoll",
	"epoll_wait",
	"epoll_pwait",
	"epoll_ctl",
	"clock_nanosleep",
	"nanosleep",
	"clock_gettime",
	"gettimeofday",
	"futex",
	"sched_yield",
	"restart_syscall",
	/* memory: malloc, LOAD's memfd mappings, thread stacks */
	"brk",
	"munmap",
	"madvise",
	"mremap",
	/* the channel (SCM_RIGHTS), syslog fallback, telemetry clients */
	"accept",
	"accept4",
	"recvmsg",
	"recvfrom",
	"sendmsg",
	"sendto",
	"getsockopt",
	"setsockopt",
	"connect",
	"shutdown",
	/* threads: telemetry starts one per client; exit */
	"set_robust_list",
	"rseq",
	"rt_sigreturn",
	"rt_sigprocmask",
	"getpid",
	"gettid",
	"tgkill",
	"uname",
	"exit",
	"exit_group",
	NULL,
};

/* What each kind of port adds after start (dp_sandbox_caps.c names). */
static const char *const dp_sb_calls_ioctl[] = { "ioctl", NULL };
/*
 * With hugepages, memory the EAL heap adds at run time (cordon-dp adds
 * none after start: LOAD allocates with malloc; a driver might) comes
 * from locked hugepage files placed by NUMA policy.  Not run here: no
 * hugepages on the machines the tests ran on.
 */
static const char *const dp_sb_calls_huge[] = { "fallocate", "flock",
	"get_mempolicy", "set_mempolicy", "mbind", NULL };

#ifdef __SANITIZE_ADDRESS__
/* A new thread under the sanitizers: its stack, its signal stack. */
static const char *const dp_sb_calls_san[] = { "sched_getaffinity",
	"sigaltstack", NULL };
#endif

static int
dp_sb_allow(scmp_filter_ctx f, const char *const *names)
{
	for (; *names; names++) {
		int nr = seccomp_syscall_resolve_name(*names);

		/* A name this architecture lacks (open, poll on arm64). */
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

/* 1 when some port's driver asks the kernel by ioctl after start. */
static int
dp_sb_needs_ioctl(const struct dp_ctx *ctx)
{
	/* tap and af_packet ask the kernel for the link state; PCI
	 * devices (vfio, uio) re-arm interrupts through their fds. */
	for (unsigned i = 0; i < ctx->nports; i++) {
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(ctx->port[i].id, &info) != 0 ||
		    info.driver_name == NULL)
			return 1;
		if (strcmp(info.driver_name, "net_null") != 0 &&
		    strcmp(info.driver_name, "net_ring") != 0 &&
		    strcmp(info.driver_name, "net_pcap") != 0)
			return 1;
	}
	return 0;
}

/* Never executable memory; sockets only datagram, local or IP. */
static int
dp_sb_allow_args(const struct dp_ctx *ctx, scmp_filter_ctx f)
{
	static const int fam[] = { AF_UNIX, AF_INET, AF_INET6 };
	int rc = 0;

	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* Threads only (telemetry's clients); clone3 hides its flags in
	 * memory, so glibc is told it is missing and uses clone. */
	rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	rc |= seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* stdio asks whether a stream is a terminal on its first write. */
	if (!dp_sb_needs_ioctl(ctx))
		rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, TCGETS));
	/* The channel measures its send queue before log events
	 * (dataplane/ctl, ctl_event_room). */
	if (!dp_sb_needs_ioctl(ctx))
		rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, SIOCOUTQ));
	for (size_t i = 0; i < sizeof(fam) / sizeof(*fam); i++)
		rc |= seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam[i]),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	return rc != 0 ? -1 : 0;
}

int
dp_sandbox_seccomp(const struct dp_ctx *ctx)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = -1;

	if (f == NULL)
		return -1;
	/* Every thread, the EAL's included, gets the filter. */
	if (seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1) != 0 ||
	    dp_sb_allow(f, dp_sb_calls) != 0 || dp_sb_allow_args(ctx, f) != 0)
		goto out;
	if (dp_sb_needs_ioctl(ctx) && dp_sb_allow(f, dp_sb_calls_ioctl) != 0)
		goto out;
	if (rte_eal_has_hugepages() && dp_sb_allow(f, dp_sb_calls_huge) != 0)
		goto out;
#ifdef __SANITIZE_ADDRESS__
	if (dp_sb_allow(f, dp_sb_calls_san) != 0)
		goto out;
#endif
	rc = seccomp_load(f) == 0 ? 0 : -1;
out:
	seccomp_release(f);
	return rc;
}

#ifdef CDP_TEST_SYSCALL
/*
 * Test builds only (build/tests/cordon-dp-sysc, never the installed
 * binary): SIGUSR2 makes the main thread attempt what an attacker would,
 * an exec, which the filter must answer by killing the process.
 */
static void
dp_sb_test_exec(int sig)
{
	static char *const av[] = { "/bin/true", NULL };

	(void)sig;
	execv(av[0], av);
}

/*
 * With CDP_TEST_WRITE=PATH, SIGUSR2 instead attempts to create PATH and
 * says on stdout how it went ("sysc-write PATH errno N"): the Landlock
 * rules and the user must refuse it, and the process goes on.  Or
 * "rename:FROM:TO" (a file moved out of its folders) or "connect:PATH"
 * (a datagram socket connected to PATH, '@': abstract).
 */
static const char *dp_sb_test_path;

/* "rename:FROM:TO": the rename's errno, 0 when it went. */
static int
dp_sb_test_rename(const char *arg)
{
	char from[256];
	const char *to = strchr(arg, ':');

	if (to == NULL || (size_t)(to - arg) >= sizeof(from))
		return EINVAL;
	snprintf(from, sizeof(from), "%.*s", (int)(to - arg), arg);
	return rename(from, to + 1) == 0 ? 0 : errno;
}

/* "connect:PATH" ('@' first: abstract): a datagram socket's connect. */
static int
dp_sb_test_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	rc = connect(fd, (struct sockaddr *)&sa,
	         (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	                     strlen(path))) == 0
	         ? 0
	         : errno;
	close(fd);
	return rc;
}

static void
dp_sb_test_write(int sig)
{
	int fd = -1, err;

	(void)sig;
	if (strncmp(dp_sb_test_path, "rename:", 7) == 0)
		err = dp_sb_test_rename(dp_sb_test_path + 7);
	else if (strncmp(dp_sb_test_path, "connect:", 8) == 0)
		err = dp_sb_test_connect(dp_sb_test_path + 8);
	else {
		fd =
		    open(dp_sb_test_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		err = fd < 0 ? errno : 0;
	}
	printf("sysc-write %s errno %d\n", dp_sb_test_path, err);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
}

/* CDP_TEST_NO_LANDLOCK: as on a kernel without Landlock. */
static int
dp_sb_test_ll_abi(void)
{
	return getenv("CDP_TEST_NO_LANDLOCK") ? 0 : dp_sandbox_ll_abi();
}

static void
dp_sb_test_arm(void)
{
	dp_sb_test_path = getenv("CDP_TEST_WRITE");
	signal(SIGUSR2, dp_sb_test_path ? dp_sb_test_write : dp_sb_test_exec);
}
#else
static int
dp_sb_test_ll_abi(void)
{
	return dp_sandbox_ll_abi();
}

static void
dp_sb_test_arm(void)
{
}
#endif

#ifdef __SANITIZE_ADDRESS__
/*
 * Sanitizer builds: LeakSanitizer's check at exit stops the threads with
 * a traced clone, which the filter kills, and a check before the filter
 * would take the tables that only DPDK memory points to for leaks.  So
 * a sandboxed process skips the leak check (LSan asks this hook at the
 * time of the check); the other sanitizers keep working under the filter.
 */
static volatile int dp_sb_entered;

int __lsan_is_turned_off(void);
int
__lsan_is_turned_off(void)
{
	return dp_sb_entered;
}

static void
dp_sb_leak_check_off(void)
{
	dp_sb_entered = 1;
}
#else
static void
dp_sb_leak_check_off(void)
{
}
#endif

/* The Landlock ruleset, or -1 with a warning when the kernel has none:
 * the user's rights then bound the writes (cordon-dp(8), SANDBOX). */
static int
dp_sb_landlock(struct dp_ctx *ctx)
{
	int rs;

	if ((ctx->landlock_abi = dp_sb_test_ll_abi()) <= 0) {
		fprintf(stderr,
		    "cordon-dp: sandbox: warning: Landlock is not available "
		    "(kernel without it, or disabled): the files %s may "
		    "write are bounded by its user only\n",
		    DPC_DP_USER);
		return -1;
	}
	if ((rs = dp_sandbox_ll_ruleset(ctx, ctx->landlock_abi)) < 0)
		fprintf(stderr, "cordon-dp: sandbox: Landlock: %s\n",
		    strerror(errno));
	return rs;
}

int
dp_sandbox_enter(struct dp_ctx *ctx)
{
	uint64_t caps;
	char err[256];
	uid_t uid;
	gid_t gid;
	int rs, rc;

	if (dp_sandbox_caps(ctx, &caps, err, sizeof(err)) != 0) {
		fprintf(stderr, "cordon-dp: sandbox: %s\n", err);
		return -1;
	}
	if (dp_sandbox_user(&uid, &gid) != 0) {
		fprintf(stderr,
		    "cordon-dp: sandbox: user %s: %s (cordond makes it; "
		    "or useradd --system --user-group %s)\n",
		    DPC_DP_USER, strerror(errno), DPC_DP_USER);
		return -1;
	}
	if (dp_sandbox_dirs(ctx, uid) != 0)
		return -1;
	rs = dp_sb_landlock(ctx);
	if (rs < 0 && ctx->landlock_abi > 0)
		return -1;
	dp_sb_test_arm();
	dp_sb_leak_check_off();
	rc = dp_sandbox_drop_caps(caps, uid, gid, rs);
	if (rs >= 0)
		close(rs);
	if (rc != 0) {
		fprintf(stderr,
		    "cordon-dp: sandbox: cannot lower the privileges of "
		    "every thread: %s\n",
		    strerror(errno));
		return -1;
	}
	if (dp_sandbox_seccomp(ctx) != 0) {
		fprintf(stderr, "cordon-dp: sandbox: seccomp: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}
