/*
 * Who gets a control socket slot (control/ctl/ctl_slot.c): a
 * non-root uid holds at most 8 on both sockets, root's reserve and the
 * control socket's reserve hold, a full pool closes the oldest idle
 * connection of the uid holding the most, never one waiting for its
 * reply (queued, or its request still with cordond) and never root's,
 * and equal shares are not disturbed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/ctl/ctl_proc.h"

static struct ctl_client pool[CTL_CLIENT_MAX];
static struct ctl_client *cl[CTL_CLIENT_MAX];

static int
setup(void **state)
{
	(void)state;
	memset(pool, 0, sizeof(pool));
	memset(cl, 0, sizeof(cl));
	return 0;
}

/* N clients of UID on the read-only (RO) or control socket, each newer
 * than the last. */
static void
fill(unsigned n, uid_t uid, bool ro)
{
	static int64_t t;

	for (unsigned i = 0; i < CTL_CLIENT_MAX && n > 0; i++) {
		if (cl[i] != NULL)
			continue;
		pool[i] = (struct ctl_client){ .fd = -1,
			.uid = uid,
			.ro = ro,
			.since_ms = ++t };
		cl[i] = &pool[i];
		n--;
	}
	assert_int_equal(n, 0);
}

static int
slot(bool ro, uid_t uid, bool *evict)
{
	errno = 0;
	return ctl_slot(cl, ro, uid, evict);
}

static void
test_per_uid_both_sockets(void **state)
{
	bool evict;

	(void)state;
	fill(5, 1000, false);
	fill(3, 1000, true);
	assert_int_equal(slot(true, 1000, &evict), -1);
	assert_int_equal(errno, EUSERS);
	assert_int_equal(slot(false, 1000, &evict), -1);
	assert_true(slot(false, 1001, &evict) >= 0);
	assert_false(evict);
	fill(20, 0, false); /* root has no per-uid limit */
	assert_true(slot(true, 0, &evict) >= 0);
}

static void
test_root_evicts_oldest_idle_of_the_biggest(void **state)
{
	bool evict;
	int s;

	(void)state;
	for (uid_t u = 2000; u < 2007; u++)
		fill(8, u, false); /* 56: the non-root pool is full */
	fill(8, 0, false);         /* and root's reserve too */
	pool[0].outlen = 10;       /* uid 2000's oldest waits for its reply */
	pool[1].waiting = true;    /* its next one's request is cordond's */
	s = slot(false, 0, &evict);
	assert_int_equal(s, 2); /* uid 2000's oldest idle one */
	assert_true(evict);
	/* A non-root newcomer cannot take root's reserve. */
	for (unsigned i = 56; i < 64; i++)
		cl[i] = NULL;
	s = slot(false, 3000, &evict);
	assert_true(s >= 0 && s < 56 && evict);
}

static void
test_root_never_evicted(void **state)
{
	bool evict;

	(void)state;
	fill(CTL_CLIENT_MAX, 0, false);
	assert_int_equal(slot(false, 0, &evict), -1);
	assert_int_equal(slot(true, 5, &evict), -1);
}

static void
test_equal_shares_are_kept(void **state)
{
	bool evict;

	(void)state;
	for (uid_t u = 4000; u < 4056; u++)
		fill(1, u, false);
	assert_int_equal(slot(false, 5000, &evict), -1); /* fair */
	assert_true(slot(false, 0, &evict) >= 0);        /* root's reserve */
	assert_false(evict);
}

static void
test_read_only_pool(void **state)
{
	bool evict;
	int s;

	(void)state;
	for (uid_t u = 6000; u < 6005; u++)
		fill(8, u, true); /* 40: the read-only pool is full */
	fill(4, 7000, false);
	s = slot(true, 6100, &evict);
	assert_true(s >= 0 && evict && cl[s]->ro);
	/* The control socket still has room without closing anyone. */
	assert_true(slot(false, 7001, &evict) >= 0);
	assert_false(evict);
	/* A read-only newcomer never displaces a control socket client. */
	setup(NULL);
	fill(8, 7000, true);
	for (uid_t u = 8000; u < 8006; u++)
		fill(8, u, false); /* 56 non-root, 8 of them read-only */
	s = slot(true, 6100, &evict);
	assert_true(s >= 0 && evict && cl[s]->ro && cl[s]->uid == 7000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_per_uid_both_sockets, setup),
		cmocka_unit_test_setup(
		    test_root_evicts_oldest_idle_of_the_biggest, setup),
		cmocka_unit_test_setup(test_root_never_evicted, setup),
		cmocka_unit_test_setup(test_equal_shares_are_kept, setup),
		cmocka_unit_test_setup(test_read_only_pool, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
