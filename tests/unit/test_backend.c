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
#include <stdio.h>
#include <stdlib.h>
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

static void
svc(struct conf *c, const char *name, uint16_t lo, uint16_t hi)
{
	struct conf_service *v = &c->services[c->nservices++];

	snprintf(v->name, sizeof(v->name), "%s", name);
	v->protos = CONF_P_TCP;
	v->nranges = 1;
	v->range[0] = (struct conf_range){ lo, hi };
}

/*
 * The kernel's sessions set is (source, port), and a commit's new table
 * gets every element back.  When ssh moves from 22 to 2222 and bastion
 * takes 22, an ssh grant's (source, 22) must go: it would open bastion
 * without a bastion session.  Ports kept stay; a grant whose services
 * all left (SVCS_NEXT 0) loses every port.
 */
static void
test_moved_ports_are_withdrawn(void **state)
{
	struct conf *old = calloc(1, sizeof(*old));
	struct conf *nc = calloc(1, sizeof(*nc));
	uint16_t port[16];

	(void)state;
	assert_non_null(old);
	assert_non_null(nc);
	svc(old, "ssh", 22, 22);
	svc(old, "rdp", 3389, 3389);
	svc(nc, "bastion", 22, 22);
	svc(nc, "ssh", 2222, 2222);
	svc(nc, "rdp", 3389, 3389);
	/* ssh (old index 0) is new index 1, rdp 1 -> 2. */
	assert_int_equal(cd_grant_ports_gone(old, 3, nc, 6, port, 16), 1);
	assert_int_equal(port[0], 22);
	assert_int_equal(cd_grant_ports_gone(old, 2, nc, 4, port, 16), 0);
	assert_int_equal(cd_grant_ports_gone(old, 3, nc, 0, port, 16), 2);
	assert_int_equal(port[0], 22);
	assert_int_equal(port[1], 3389);
	free(old);
	free(nc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_operation_is_there),
		cmocka_unit_test(test_the_other_backend_is_refused),
		cmocka_unit_test(test_counters_without_an_enforcer),
		cmocka_unit_test(test_moved_ports_are_withdrawn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
