/*
 * A child's seccomp allow-list (proc_sandbox): the calls every child
 * makes (its channel, memory, the clock, exiting) and its own, by name.
 * Anything else kills the process (SIGSYS), which the parent sees,
 * counts and restarts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <seccomp.h>
#include <sys/socket.h>

#include "control/proc/proc.h"
#include "control/proc/proc_int.h"

/* What the framework, libc's malloc and stdio need in any child. */
static const char *const proc_sc_common[] = {
	"read",
	"write",
	"writev",
	"recvmsg",
	"sendmsg",
	"poll",
	"ppoll",
	"close",
	"brk",
	"mmap",
	"munmap",
	"mremap",
	"madvise",
	"exit",
	"exit_group",
	"rt_sigreturn",
	"restart_syscall",
	"clock_gettime",
	"gettimeofday",
	"getpid",
	"getrandom",
	"fstat",
	"newfstatat",
	"futex",
#if defined(__SANITIZE_ADDRESS__)
	/* the sanitizer build's runtime (tests only) */
	"sigaltstack",
	"rt_sigaction",
	"rt_sigprocmask",
	"gettid",
	"prctl",
	"sched_yield",
	"clone",
	"clone3",
	"wait4",
	"ptrace",
	"openat",
	"readlink",
	"mprotect",
	"tgkill",
	"pipe2",
	"dup",
#endif
	NULL,
};

/*
 * "socket": IP only.  A child on the network shares the host's
 * namespace, where a unix socket would reach every abstract-named
 * service of the host, and netlink, AF_ALG and the rest are kernel code
 * no child needs.  Refused, not killed: glibc's resolver tries netlink
 * and nscd's socket and does without.
 */
static int
proc_sc_socket(scmp_filter_ctx ctx)
{
	const uint32_t no = SCMP_ACT_ERRNO(EAFNOSUPPORT);
	int rc = 0;

	/* The rules must not overlap: one comparison per argument. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	rc |= seccomp_rule_add(ctx, no, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_LT, AF_INET));
	rc |= seccomp_rule_add(ctx, no, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_GT, AF_INET6));
	for (int af = AF_INET + 1; af < AF_INET6; af++)
		rc |= seccomp_rule_add(ctx, no, SCMP_SYS(socket), 1,
		    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)af));
	return rc != 0 ? -1 : 0;
}

/* The sanitizer's leak check clones a tracer process at exit. */
#if defined(__SANITIZE_ADDRESS__)
#define PROC_SC_THREADS_ONLY 0
#else
#define PROC_SC_THREADS_ONLY 1
#endif

/*
 * "clone": threads only, never a process (one that outlives its child,
 * killed by no death signal); clone3 hides its flags in memory, so it
 * is answered ENOSYS and glibc falls back to clone.
 */
static int
proc_sc_clone(scmp_filter_ctx ctx, int nr)
{
	if (nr == SCMP_SYS(clone3))
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
}

/* The calls allowed with some arguments only: 1 (rules added), 0 (not
 * one of them), -1. */
static int
proc_sc_args(scmp_filter_ctx ctx, int nr)
{
	if (nr == SCMP_SYS(socket))
		return proc_sc_socket(ctx) < 0 ? -1 : 1;
	if (PROC_SC_THREADS_ONLY &&
	    (nr == SCMP_SYS(clone) || nr == SCMP_SYS(clone3)))
		return proc_sc_clone(ctx, nr) < 0 ? -1 : 1;
	return 0;
}

/*
 * A name ending in '!' ("openat!") is refused with EACCES, not allowed
 * and not fatal: a library that looks for files (net-snmp's init) finds
 * none, as it would not in the empty root anyway.
 */
static int
proc_sc_refuse(scmp_filter_ctx ctx, const char *name, int fd)
{
	char base[64];
	size_t n = strlen(name) - 1;
	int nr;

	if (n >= sizeof(base))
		return -1;
	memcpy(base, name, n);
	base[n] = '\0';
	nr = seccomp_syscall_resolve_name(base);
	if (nr == __NR_SCMP_ERROR ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 0) < 0) {
		proc_log(fd, "seccomp: %s refused", name);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
proc_sc_add(scmp_filter_ctx ctx, const char *const *names, int fd)
{
	for (unsigned i = 0; names != NULL && names[i] != NULL; i++) {
		int nr, rc;

		if (names[i][0] && names[i][strlen(names[i]) - 1] == '!') {
			if (proc_sc_refuse(ctx, names[i], fd) < 0)
				return -1;
			continue;
		}
		nr = seccomp_syscall_resolve_name(names[i]);
		if (nr == __NR_SCMP_ERROR) {
			proc_log(fd, "seccomp: no system call %s", names[i]);
			errno = EINVAL;
			return -1;
		}
		if ((rc = proc_sc_args(ctx, nr)) != 0) {
			if (rc < 0) {
				proc_log(fd, "seccomp: %s refused", names[i]);
				errno = EINVAL;
				return -1;
			}
			continue;
		}
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			proc_log(fd, "seccomp: %s refused", names[i]);
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

void *
proc_seccomp_build(const char *const *syscalls, int fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);

	if (ctx == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (proc_sc_add(ctx, proc_sc_common, fd) < 0 ||
	    proc_sc_add(ctx, syscalls, fd) < 0) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int
proc_seccomp_load(void *ctx)
{
	int rc = seccomp_load(ctx);

	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}
