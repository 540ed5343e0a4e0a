/*
 * The monitoring child's receiver (control/mon/mon_proc_in.c) and
 * cordond's checks of what the child sends (cd_proc_mon_chk.c), with
 * messages out of order: records before any targets and for targets
 * since replaced, answers to scrapes nobody asked, a socket for a target
 * that is not local, types that go the other way, descriptors where
 * none belong.
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/daemon/cd_proc_mon_chk.h"
#include "control/mon/mon_proc.h"

static struct mon_child m;
static int sv[2];
static uint8_t buf[PROC_MSG_MAX];

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	mon_child_init(&m, sv[0]);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	mon_child_free(&m);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static int
in(uint16_t type, uint32_t id, const void *p, size_t len, int passfd)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.id = id };

	return mon_child_in(&m, &h, p, passfd);
}

/* The next message the child sent cordond; its type. */
static uint16_t
sent(struct proc_hdr *h, size_t *len)
{
	ssize_t n;
	int fd;

	n = proc_recv(sv[1], h, buf, sizeof(buf), &fd);
	assert_true(n >= 0);
	*len = (size_t)n;
	return h->type;
}

static void
targets(uint32_t gen)
{
	struct mon_targets_in t;
	ssize_t n;

	memset(&t, 0, sizeof(t));
	t.h.gen = gen;
	t.h.n = 2;
	t.h.t[0] =
	    (struct mon_target){ .type = CONF_LOG_UDP, .port = 9, .queue = 2 };
	snprintf(t.h.t[0].address, sizeof(t.h.t[0].address), "127.0.0.1");
	t.h.t[1] = (struct mon_target){ .type = CONF_LOG_LOCAL, .queue = 2 };
	snprintf(t.h.t[1].address, sizeof(t.h.t[1].address), "/dev/null");
	n = mon_enc_targets(buf, sizeof(buf), &t);
	assert_int_equal(in(MON_T_TARGETS, 0, buf, (size_t)n, -1), 0);
}

static void
record(uint32_t gen, uint32_t target, int want)
{
	uint8_t b[64];
	ssize_t n = mon_enc_record(b, sizeof(b), gen, target, "<13>1 x", 7);

	assert_int_equal(in(MON_T_RECORD, 0, b, (size_t)n, -1), want);
}

static void
test_child_out_of_order(void **state)
{
	struct mon_stats st;
	struct mon_local l = { .gen = 1, .target = 0 };
	struct proc_hdr h;
	size_t len;

	(void)state;
	/* a record before any targets: counted, nothing else */
	record(1, 0, 0);
	assert_int_equal(m.stale, 1);
	targets(1);
	/* the child reports the new targets at once */
	assert_int_equal(sent(&h, &len), MON_T_STATS);
	assert_int_equal(mon_dec_stats(buf, len, &st), 0);
	assert_int_equal(st.gen, 1);
	assert_int_equal(st.n, 2);
	record(1, 0, 0);
	assert_int_equal(m.t[0].qn, 1);
	assert_int_equal(m.t[0].taken, 1);
	/* for targets since replaced, or beyond them */
	record(0, 0, 0);
	record(1, 5, 0);
	assert_int_equal(m.stale, 3);
	/* the queue is bounded: the third is dropped, still taken */
	record(1, 0, 0);
	record(1, 0, 0);
	assert_int_equal(m.t[0].qn, 2);
	assert_int_equal(m.t[0].dropped, 1);
	assert_int_equal(m.t[0].taken, 3);
	/* a socket for a udp target: ignored, the descriptor closed */
	int fd = open("/dev/null", O_RDONLY);
	assert_int_equal(in(MON_T_LOCAL, 0, &l, sizeof(l), fd), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(m.t[0].fd, -1);
	/* no descriptor though no error: refused */
	assert_int_equal(in(MON_T_LOCAL, 0, &l, sizeof(l), -1), -1);
	/* the local target, not waiting for one (not connecting): closed */
	l.target = 1;
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(in(MON_T_LOCAL, 0, &l, sizeof(l), fd), 0);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* an answer to a scrape nobody asked (no listener yet) */
	uint8_t mt[16];
	ssize_t n = mon_enc_metrics(mt, sizeof(mt), 200, "a 1\n", 4);
	assert_int_equal(in(MON_T_METRICS, 7, mt, (size_t)n, -1), 0);
	assert_int_equal(in(MON_T_METRICS, 7, mt, (size_t)n - 1, -1), -1);
	/* the listener without its socket; types that go the other way */
	assert_int_equal(in(MON_T_PROM, 0, NULL, 0, -1), -1);
	assert_int_equal(in(MON_T_STATS, 0, &st, sizeof(st), -1), -1);
	assert_int_equal(in(MON_T_METRICS_GET, 3, NULL, 0, -1), -1);
	assert_int_equal(in(PROC_T_READY, 0, NULL, 0, -1), -1);
	/* a descriptor with a type that takes none: closed, refused */
	fd = open("/dev/null", O_RDONLY);
	record(1, 0, 0);
	assert_int_equal(in(MON_T_FLUSH, 0, NULL, 0, fd), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

static void
view(struct cd_mon_view *v)
{
	memset(v, 0, sizeof(*v));
	v->gen = 4;
	v->n = 2;
	v->type[0] = CONF_LOG_TCP;
	v->type[1] = CONF_LOG_LOCAL;
	v->queue[0] = v->queue[1] = 10;
	v->given[0] = 5;
}

static int
check(const struct cd_mon_view *v, uint16_t type, uint32_t id, const void *p,
    size_t len, int passfd)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.id = id };
	struct cd_mon_msg out;

	return cd_mon_check(v, &h, p, passfd, &out);
}

static void
test_parent_checks(void **state)
{
	struct cd_mon_view v;
	struct mon_stats st;
	struct mon_local l = { .gen = 4, .target = 1 };
	int fd;

	(void)state;
	view(&v);
	memset(&st, 0, sizeof(st));
	st.gen = 4;
	st.n = 2;
	st.t[0].taken = 5;
	st.t[0].queued = 10;
	assert_int_equal(check(&v, MON_T_STATS, 0, &st, sizeof(st), -1), 1);
	/* an answer to a FLUSH nobody waits for any more */
	assert_int_equal(check(&v, MON_T_STATS, 6, &st, sizeof(st), -1), -1);
	/* for earlier targets: ignored */
	st.gen = 3;
	assert_int_equal(check(&v, MON_T_STATS, 0, &st, sizeof(st), -1), 0);
	st.gen = 4;
	/* not the targets it was given; more taken than given; a queue
	 * longer than configured */
	st.n = 1;
	assert_int_equal(check(&v, MON_T_STATS, 0, &st, sizeof(st), -1), -1);
	st.n = 2;
	st.t[0].taken = 6;
	assert_int_equal(check(&v, MON_T_STATS, 0, &st, sizeof(st), -1), -1);
	st.t[0].taken = 5;
	st.t[1].queued = 11;
	assert_int_equal(check(&v, MON_T_STATS, 0, &st, sizeof(st), -1), -1);
	/* a socket for the local target; not for the tcp one; a request
	 * that carries an error or an id */
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1), 1);
	l.target = 0;
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1), -1);
	l.target = 9;
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1), -1);
	l.target = 1;
	l.err = 2;
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1), -1);
	l.err = 0;
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 3, &l, sizeof(l), -1), -1);
	l.gen = 2;
	assert_int_equal(check(&v, MON_T_LOCAL_GET, 0, &l, sizeof(l), -1), 0);
	/* scrapes under an id, nothing else */
	assert_int_equal(check(&v, MON_T_METRICS_GET, 8, NULL, 0, -1), 1);
	assert_int_equal(check(&v, MON_T_METRICS_GET, 0, NULL, 0, -1), -1);
	assert_int_equal(check(&v, MON_T_METRICS_GET, 8, &l, 1, -1), -1);
	/* the types cordond sends, unknown types, a passed descriptor */
	assert_int_equal(check(&v, MON_T_RECORD, 0, &l, sizeof(l), -1), -1);
	assert_int_equal(check(&v, MON_T_END, 0, NULL, 0, -1), -1);
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(check(&v, MON_T_METRICS_GET, 8, NULL, 0, fd), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_child_out_of_order, setup,
		    teardown),
		cmocka_unit_test(test_parent_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
