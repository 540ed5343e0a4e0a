/*
 * The channel between cordond and its children (control/proc/proc_msg.c)
 * over a real SOCK_SEQPACKET pair: a message and its descriptor go
 * through; short, truncated, oversized packets, a wrong version, flags,
 * type or length, and two descriptors at once are refused, and no
 * descriptor that came with a refused packet stays open.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/proc/proc_int.h"
#include "tests/unit/proc_raw.h"

static int sv[2];
static uint8_t buf[4096];

static int
setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
}

static int
teardown(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* Descriptors this process has open (a refused packet leaks none). */
static int
open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* One raw packet: header H, then LEN bytes of P, with NFD descriptors. */
static void
raw_send(const struct proc_hdr *h, size_t hlen, const void *p, size_t len,
    const int *fds, unsigned nfd)
{
	struct iovec iov[2] = { { (void *)h, hlen }, { (void *)p, len } };

	assert_true(proc_raw_send(sv[1], iov, len ? 2 : 1, fds, nfd) >= 0);
}

/* The next receive fails with errno WANT and leaves no descriptor. */
static void
refused(int want)
{
	struct proc_hdr h;
	int fd = 7;

	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd), -1);
	assert_int_equal(errno, want);
	assert_int_equal(fd, -1);
}

static void
test_roundtrip_with_fd(void **state)
{
	struct proc_hdr h;
	struct stat a, b;
	int fd, p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proc_send(sv[1], PROC_T_BASE, 42, "hello", 5, p[0]),
	    0);
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd), 5);
	assert_int_equal(h.type, PROC_T_BASE);
	assert_int_equal(h.id, 42);
	assert_memory_equal(buf, "hello", 5);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(p[0], &b), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(p[0]);
	close(p[1]);
	/* An empty payload is a message too; nothing more is EAGAIN. */
	assert_int_equal(proc_send(sv[1], PROC_T_READY, 0, NULL, 0, -1), 0);
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd), 0);
	assert_int_equal(h.type, PROC_T_READY);
	assert_int_equal(fd, -1);
	refused(EAGAIN);
}

static void
test_bad_headers(void **state)
{
	const struct proc_hdr good = { PROC_MSG_VERSION, PROC_T_BASE, 3, 1, 0 };
	struct proc_hdr h;

	(void)state;
	h = good;
	raw_send(&h, 5, NULL, 0, NULL, 0); /* shorter than a header */
	refused(EBADMSG);
	h = good;
	h.version = 2;
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	h = good;
	h.flags = 1;
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	h = good;
	h.type = 0;
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	h = good;
	h.len = 4; /* says more than came */
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	h = good;
	h.len = 2; /* says less */
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	h = good;
	h.len = PROC_MSG_MAX + 1;
	raw_send(&h, sizeof(h), "abc", 3, NULL, 0);
	refused(EBADMSG);
	/* The channel still works after each refusal. */
	raw_send(&good, sizeof(good), "abc", 3, NULL, 0);
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &(int){ 0 }),
	    3);
}

/* A packet bigger than the buffer is refused whole, never cut short. */
static void
test_truncated(void **state)
{
	static uint8_t big[8192];
	struct proc_hdr h = { PROC_MSG_VERSION, PROC_T_BASE, sizeof(big), 9,
		0 };
	int before = open_fds(), p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	raw_send(&h, sizeof(h), big, sizeof(big), &p[0], 1);
	close(p[0]);
	close(p[1]);
	refused(EMSGSIZE);
	assert_int_equal(open_fds(), before);
}

static void
test_two_fds(void **state)
{
	struct proc_hdr h = { PROC_MSG_VERSION, PROC_T_BASE, 1, 1, 0 };
	int before = open_fds(), p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	raw_send(&h, sizeof(h), "x", 1, p, 2);
	close(p[0]);
	close(p[1]);
	refused(EBADMSG);
	assert_int_equal(open_fds(), before);
}

/* A descriptor that comes with a bad header is closed, not handed on. */
static void
test_fd_with_bad_header(void **state)
{
	struct proc_hdr h = { 7, PROC_T_BASE, 1, 1, 0 };
	int before = open_fds(), p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	raw_send(&h, sizeof(h), "x", 1, &p[1], 1);
	close(p[0]);
	close(p[1]);
	refused(EBADMSG);
	assert_int_equal(open_fds(), before);
}

/* An empty packet (no header at all) with a descriptor: found by
 * fuzz_proc_hdr, the descriptor was left open. */
static void
test_empty_packet_with_fd(void **state)
{
	int before = open_fds(), p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	raw_send(NULL, 0, NULL, 0, &p[0], 1);
	close(p[0]);
	close(p[1]);
	refused(ECONNRESET);
	assert_int_equal(open_fds(), before);
}

static void
test_peer_gone(void **state)
{
	(void)state;
	close(sv[1]);
	sv[1] = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	refused(ECONNRESET);
}

static void
test_send_limits(void **state)
{
	(void)state;
	assert_int_equal(proc_send(sv[1], PROC_T_BASE, 0, buf,
	                     (size_t)PROC_MSG_MAX + 1, -1),
	    -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(proc_send(sv[1], 0, 0, "x", 1, -1), -1);
	refused(EAGAIN);
}

static void
test_hdr_check(void **state)
{
	struct proc_hdr h = { PROC_MSG_VERSION, PROC_T_LOG, 0, 0, 0 };

	(void)state;
	assert_int_equal(proc_hdr_check(&h, sizeof(h)), 0);
	assert_int_equal(proc_hdr_check(&h, sizeof(h) - 1), -1);
	assert_int_equal(proc_hdr_check(&h, sizeof(h) + 1), -1);
	h.len = PROC_MSG_MAX;
	assert_int_equal(proc_hdr_check(&h, sizeof(h) + PROC_MSG_MAX), 0);
	h.len = PROC_MSG_MAX + 1;
	assert_int_equal(proc_hdr_check(&h, sizeof(h) + PROC_MSG_MAX + 1), -1);
}

/* Log lines: printable ASCII, 1..PROC_LOG_MAX; proc_log makes them so. */
static void
test_log_lines(void **state)
{
	static char longline[PROC_LOG_MAX + 50];
	struct proc_hdr h;
	int fd;

	(void)state;
	assert_int_equal(proc_log_check((const uint8_t *)"ok line", 7), 0);
	assert_int_equal(proc_log_check((const uint8_t *)"", 0), -1);
	assert_int_equal(proc_log_check((const uint8_t *)"a\nb", 3), -1);
	assert_int_equal(proc_log_check((const uint8_t *)"a\0b", 3), -1);
	assert_int_equal(proc_log_check((const uint8_t *)"\xc3\xa9", 2), -1);
	memset(longline, 'a', sizeof(longline) - 1);
	assert_int_equal(proc_log_check((const uint8_t *)longline,
	                     PROC_LOG_MAX + 1),
	    -1);
	proc_log(sv[1], "x\ty\x1b[31m%s", "\xff");
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd), 9);
	assert_int_equal(h.type, PROC_T_LOG);
	assert_memory_equal(buf, "x?y?[31m?", 9);
	assert_int_equal(proc_log_check(buf, 9), 0);
	proc_log(sv[1], "%s", longline);
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd),
	    PROC_LOG_MAX);
	proc_log(sv[1], "%s", ""); /* nothing to say: nothing sent */
	refused(EAGAIN);
}

/*
 * A child answers the parent's ping inside proc_recv (its loop sees
 * EAGAIN): the pong carries the ping's id.  A ping with a payload or a
 * descriptor is refused; the parent never answers one (it refuses it).
 */
static void
test_ping_answered_by_a_child(void **state)
{
	struct proc_hdr h = { PROC_MSG_VERSION, PROC_T_PING, 0, 77, 0 };
	int fd, devnull = open("/dev/null", O_RDONLY);
	int before = open_fds();

	(void)state;
	proc_is_child = true;
	raw_send(&h, sizeof(h), NULL, 0, NULL, 0);
	refused(EAGAIN);
	assert_int_equal(proc_recv(sv[1], &h, buf, sizeof(buf), &fd), 0);
	assert_int_equal(h.type, PROC_T_PONG);
	assert_int_equal(h.id, 77);
	h = (struct proc_hdr){ PROC_MSG_VERSION, PROC_T_PING, 1, 78, 0 };
	raw_send(&h, sizeof(h), "x", 1, NULL, 0);
	refused(EBADMSG);
	h.len = 0;
	raw_send(&h, sizeof(h), NULL, 0, &devnull, 1);
	refused(EBADMSG);
	assert_int_equal(open_fds(), before);
	/* Nothing answered those two. */
	assert_int_equal(proc_recv(sv[1], &h, buf, sizeof(buf), &fd), -1);
	assert_int_equal(errno, EAGAIN);
	/* The parent's receive hands a ping on, unanswered. */
	proc_is_child = false;
	h = (struct proc_hdr){ PROC_MSG_VERSION, PROC_T_PING, 0, 79, 0 };
	raw_send(&h, sizeof(h), NULL, 0, NULL, 0);
	assert_int_equal(proc_recv(sv[0], &h, buf, sizeof(buf), &fd), 0);
	assert_int_equal(h.type, PROC_T_PING);
	assert_int_equal(proc_recv(sv[1], &h, buf, sizeof(buf), &fd), -1);
	assert_int_equal(errno, EAGAIN);
	close(devnull);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_with_fd, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_truncated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_two_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_answered_by_a_child,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_fd_with_bad_header, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_empty_packet_with_fd,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_limits, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hdr_check, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_log_lines, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
