/*
 * A child's seccomp allow-list (control/proc/proc_seccomp.c), loaded in
 * a forked process: a child allowed "socket" gets IP sockets only.  The
 * children on the network (fetch, monitoring) share the host's
 * namespace, where a unix socket reaches every abstract-named service
 * of the host and the exotic families (netlink, AF_ALG, ...) are kernel
 * code no child needs.  A child allowed "clone" gets threads, never a
 * process (one would outlive the child's death signal).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <cmocka.h>

#include "control/proc/proc_int.h"

/* 1 when socket(AF, TYPE) is refused with EAFNOSUPPORT. */
static int
sc_refused(int af, int type, int proto)
{
	int fd = socket(af, type, proto);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno == EAFNOSUPPORT;
}

/* 1 when socket(AF, TYPE) is had. */
static int
sc_had(int af, int type)
{
	int fd = socket(af, type, 0);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

/* Bit I of the exit status: check I failed. */
static int
sc_child(void)
{
	static const char *const calls[] = { "socket", NULL };
	void *sc = proc_seccomp_build(calls, -1);
	int bad = 0;

	if (sc == NULL || proc_seccomp_load(sc) < 0)
		return 0x80;
	bad |= sc_had(AF_INET, SOCK_DGRAM) ? 0 : 1;
	bad |= sc_had(AF_INET6, SOCK_STREAM) ? 0 : 2;
	bad |= sc_refused(AF_UNIX, SOCK_STREAM, 0) ? 0 : 4;
	bad |= sc_refused(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) ? 0 : 8;
	bad |= sc_refused(AF_ALG, SOCK_SEQPACKET, 0) ? 0 : 16;
	return bad;
}

/* FN run in a process of its own: how that process ended. */
static int
sc_run(int (*fn)(void))
{
	int status = 0;
	pid_t pid;

	if ((pid = fork()) == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void
test_socket_ip_only(void **state)
{
	int status = sc_run(sc_child);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* "mkdir!": refused with EACCES, not fatal (net-snmp's init looks for
 * its folders); an unknown name with '!' still fails the build. */
static int
sc_refuse_child(void)
{
	static const char *const calls[] = { "mkdir!", NULL };
	static const char *const bad[] = { "nosuchcall!", NULL };
	void *sc;

	if (proc_seccomp_build(bad, -1) != NULL)
		return 1;
	if ((sc = proc_seccomp_build(calls, -1)) == NULL ||
	    proc_seccomp_load(sc) < 0)
		return 0x80;
	return mkdir("/nonexistent-cordon-test", 0700) < 0 && errno == EACCES
	           ? 0
	           : 2;
}

static void
test_refused_not_fatal(void **state)
{
	int status = sc_run(sc_refuse_child);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * The sanitizer's build allows clone whole (its leak check clones a
 * tracer) and its threads make calls this list leaves out: the rule
 * is the plain build's, tested there.
 */
#if !defined(__SANITIZE_ADDRESS__)
static void *
sc_thread(void *arg)
{
	return arg;
}

/* Threads, then a fork: the fork must kill it (SIGSYS). */
static int
sc_clone_child(void)
{
	static const char *const calls[] = { "clone", "clone3", "mprotect",
		"set_robust_list", "rseq", "rt_sigprocmask", "rt_sigaction",
		NULL };
	void *sc = proc_seccomp_build(calls, -1);
	static int mark;
	pthread_t t;
	void *r = NULL;

	if (sc == NULL || proc_seccomp_load(sc) < 0)
		return 0x80;
	if (pthread_create(&t, NULL, sc_thread, &mark) != 0 ||
	    pthread_join(t, &r) != 0 || r != &mark)
		return 1;
	if (fork() == 0)
		_exit(0);
	return 2;
}

static void
test_clone_threads_only(void **state)
{
	int status = sc_run(sc_clone_child);

	(void)state;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_ip_only),
		cmocka_unit_test(test_refused_not_fatal),
#if !defined(__SANITIZE_ADDRESS__)
		cmocka_unit_test(test_clone_threads_only),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
