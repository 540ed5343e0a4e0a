/*
 * cordond's backend operations (control/daemon/cd_backend.h): both
 * backends fill every operation, each says which backend it enforces,
 * and a revision naming the other backend is refused by either one
 * (the choice is made once, at start-up).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

static void
test_every_operation_is_there(void **state)
{
	const struct cd_backend *b[] = { &cd_backend_dpdk, &cd_backend_nft };

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		assert_non_null(b[i]->name);
		assert_non_null(b[i]->start);
		assert_non_null(b[i]->tick);
		assert_non_null(b[i]->activate);
		assert_non_null(b[i]->counters);
		assert_non_null(b[i]->sess_table);
		assert_non_null(b[i]->sess_set);
		assert_non_null(b[i]->poll_fd);
		assert_non_null(b[i]->poll_in);
	}
	assert_int_equal(cd_backend_dpdk.backend, CONF_BACKEND_DPDK);
	assert_int_equal(cd_backend_nft.backend, CONF_BACKEND_NFTABLES);
	assert_string_equal(cd_backend_dpdk.name, "dpdk");
	assert_string_equal(cd_backend_nft.name, "nftables");
}

static void
test_the_other_backend_is_refused(void **state)
{
	static struct cd d;
	static struct conf c;
	struct cd_running r = { .rev = 7, .conf = &c };
	struct cd_err e;

	(void)state;
	d.be = &cd_backend_dpdk;
	c.backend = CONF_BACKEND_DPDK;
	assert_int_equal(cd_backend_same(&d, &r, &e), 0);
	c.backend = CONF_BACKEND_NFTABLES;
	assert_int_equal(cd_backend_same(&d, &r, &e), -1);
	assert_string_equal(e.code, "dataplane");
	assert_non_null(strstr(e.msg, "revision 7 changes the backend"));
	d.be = &cd_backend_nft;
	assert_int_equal(cd_backend_same(&d, &r, &e), 0);
	c.backend = CONF_BACKEND_DPDK;
	assert_int_equal(cd_backend_same(&d, &r, &e), -1);
}

/* A cordond with no channel yet: counters read zero, not garbage, and
 * nothing to poll. */
static void
test_counters_without_an_enforcer(void **state)
{
	static struct cd d;
	static struct stats s;

	(void)state;
	memset(&s, 0xab, sizeof(s));
	assert_int_equal(cd_backend_dpdk.counters(&d, &s), -1);
	assert_int_equal(s.packets, 0);
	memset(&s, 0xab, sizeof(s));
	assert_int_equal(cd_backend_nft.counters(&d, &s), -1);
	assert_int_equal(s.packets, 0);
	assert_null(cd_backend_dpdk.sess_set(&d));
	assert_null(cd_backend_nft.sess_set(&d));
	assert_int_equal(cd_backend_dpdk.poll_fd(&d), -1);
	assert_int_equal(cd_backend_nft.poll_fd(&d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_operation_is_there),
		cmocka_unit_test(test_the_other_backend_is_refused),
		cmocka_unit_test(test_counters_without_an_enforcer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
