/*
 * The dataplane channel's client against a cordon-dp that does not keep
 * its word (a compromised or broken peer): its counters memfd must be
 * sealed against shrinking, or a later ftruncate would turn cordond's
 * next read of the counters or the top sketches into a SIGBUS; and its
 * size must be what the HELLO reply says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/dpc/dpc.h"
#include "core/stats/stats.h"
#include "core/top/top.h"
#include "wire/dpc_proto.h"

static char path[64];
static uint32_t count = 1; /* the workers the peer says it has */

/* A memfd of LEN bytes with SEALS. */
static int
memfd(size_t len, int seals)
{
	int fd = memfd_create("peer", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
		_exit(2);
	if (seals && fcntl(fd, F_ADD_SEALS, seals) != 0)
		_exit(3);
	return fd;
}

/* The peer: answers one HELLO with FD, then waits to be closed. */
static void
peer(int lfd, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t buf[DPC_MSG_MAX];
	struct dpc_msg_status st = { 0 };
	struct dpc_hdr h;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long n;
	int c = accept(lfd, NULL, NULL);

	if (c < 0 || recv(c, buf, sizeof(buf), 0) < (ssize_t)sizeof(h))
		_exit(4);
	memcpy(&h, buf, sizeof(h));
	st.version = DPC_PROTO_VERSION;
	st.stats_size = sizeof(struct stats);
	st.top_size = sizeof(struct top_sketch);
	st.stats_count = count;
	st.workers = 1;
	n = dpc_msg_pack(buf, DPC_HELLO_REPLY, h.seq, &st, sizeof(st));
	iov = (struct iovec){ buf, (size_t)n };
	mh.msg_control = cm.b;
	mh.msg_controllen = sizeof(cm.b);
	CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
	if (sendmsg(c, &mh, 0) != n)
		_exit(5);
	(void)recv(c, buf, sizeof(buf), 0); /* until the client closes */
	_exit(0);
}

/* HELLO to a peer handing over a memfd of LEN bytes with SEALS. */
static int
hello(size_t len, int seals)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dpc_status st;
	struct dpc *c;
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0), rc, status, e;
	pid_t pid;

	snprintf(path, sizeof(path), "/tmp/test_dpc_peer.%d.sock",
	    (int)getpid());
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	if ((pid = fork()) == 0)
		peer(lfd, memfd(len, seals));
	assert_true(pid > 0);
	close(lfd);
	assert_non_null(c = dpc_connect(path, 2000));
	rc = dpc_hello(c, &st);
	e = errno;
	dpc_close(c);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(path);
	errno = e;
	return rc;
}

static const size_t len1 = sizeof(struct stats) + sizeof(struct top_sketch);

static void
t_sealed_is_taken(void **state)
{
	(void)state;
	assert_int_equal(hello(len1, F_SEAL_SHRINK | F_SEAL_GROW), 0);
}

/* No seal against shrinking: refused, before anything reads it. */
static void
t_unsealed_is_refused(void **state)
{
	(void)state;
	assert_int_equal(hello(len1, 0), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(hello(len1, F_SEAL_GROW), -1);
	assert_int_equal(errno, EPROTO);
}

/* Shorter than its counters and sketches: refused. */
static void
t_short_is_refused(void **state)
{
	(void)state;
	assert_int_equal(hello(sizeof(struct stats), F_SEAL_SHRINK), -1);
	assert_int_equal(errno, EPROTO);
}

/*
 * Every type, SYSLOG and the status replies among them: a payload a byte
 * short or a byte long, or a header claiming more than arrived, is
 * refused before anyone reads the payload.
 */
static void
t_sizes_exact(void **state)
{
	static uint8_t buf[DPC_MSG_MAX + 64], payload[DPC_MSG_MAX];
	struct dpc_hdr h;
	char err[160];

	(void)state;
	for (unsigned t = DPC_HELLO; t < DPC_TYPE_MAX; t++) {
		long want = dpc_msg_payload_size(t), n;

		assert_true(want >= 0);
		n = dpc_msg_pack(buf, t, 1, payload, (size_t)want);
		assert_int_equal(dpc_msg_check(buf, (size_t)n, &h, err,
		                     sizeof(err)),
		    0);
		if (want > 0) {
			n = dpc_msg_pack(buf, t, 1, payload, (size_t)want - 1);
			assert_int_equal(dpc_msg_check(buf, (size_t)n, &h, err,
			                     sizeof(err)),
			    -1);
		}
		n = dpc_msg_pack(buf, t, 1, payload, (size_t)want + 1);
		if (n > 0)
			assert_int_equal(dpc_msg_check(buf, (size_t)n, &h, err,
			                     sizeof(err)),
			    -1);
		/* The header says the whole payload; half of it came. */
		n = dpc_msg_pack(buf, t, 1, payload, (size_t)want);
		assert_int_equal(dpc_msg_check(buf, (size_t)(n - want / 2), &h,
		                     err, sizeof(err)),
		    want / 2 ? -1 : 0);
	}
	assert_int_equal(dpc_msg_check(buf, DPC_MSG_MAX + 1, &h, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(dpc_msg_check(buf, 3, &h, err, sizeof(err)), -1);
}

/*
 * More workers than any cordon-dp runs: refused, even with a memfd of
 * that size (a sparse one costs the peer nothing; cordond would sum and
 * scan every element, faulting in its pages, at each read).
 */
static void
t_too_many_workers(void **state)
{
	(void)state;
	count = DPC_WORKERS_MAX;
	assert_int_equal(hello(DPC_WORKERS_MAX * len1, F_SEAL_SHRINK), 0);
	count = DPC_WORKERS_MAX + 1;
	assert_int_equal(hello((DPC_WORKERS_MAX + 1) * len1, F_SEAL_SHRINK),
	    -1);
	assert_int_equal(errno, EPROTO);
	count = 1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_sealed_is_taken),
		cmocka_unit_test(t_unsealed_is_refused),
		cmocka_unit_test(t_short_is_refused),
		cmocka_unit_test(t_sizes_exact),
		cmocka_unit_test(t_too_many_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
