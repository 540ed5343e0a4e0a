/*
 * The SNMP messages between cordond and the monitoring child
 * (control/mon/mon_snmp_msg.c): good snapshots, notifications,
 * configurations and AgentX answers; each malformed form refused (an
 * OID outside CORDON-MIB, too long or too short, records out of order
 * or repeated, unknown types, values out of their type's range,
 * oversized strings, lengths that do not add up); a snapshot in a memfd
 * only when sealed and of whole records.  And the child's receiver:
 * what it refuses and what it takes without a subagent running.
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
#include <unistd.h>

#include <cmocka.h>

#include "control/daemon/cd_proc_mon_chk.h"
#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmp.h"

#define NV 4
static struct mon_snmp_var v[NV];

/* root.SUB... of TYPE */
static void
var(struct mon_snmp_var *x, uint32_t type, uint64_t num, unsigned n, ...)
{
	va_list ap;

	memset(x, 0, sizeof(*x));
	memcpy(x->name, mon_snmp_root, sizeof(mon_snmp_root));
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		x->name[MON_SNMP_ROOT_LEN + i] = va_arg(ap, uint32_t);
	va_end(ap);
	x->len = MON_SNMP_ROOT_LEN + n;
	x->type = type;
	x->num = num;
}

static void
good(void)
{
	var(&v[0], MON_SNMP_OCTETS, 0, 4, 1u, 1u, 1u, 0u);
	v[0].slen = 3;
	memcpy(v[0].str, "0.1", 3);
	var(&v[1], MON_SNMP_UNSIGNED, 7, 4, 1u, 1u, 2u, 0u);
	var(&v[2], MON_SNMP_COUNTER64, UINT64_MAX, 4, 1u, 2u, 1u, 0u);
	var(&v[3], MON_SNMP_INTEGER, 2, 6, 1u, 2u, 4u, 1u, 3u, 1u);
}

static int
dec(void)
{
	size_t n = 99;
	int rc = mon_dec_snmp_vars((const uint8_t *)v, sizeof(v), &n);

	if (rc == 0)
		assert_int_equal(n, NV);
	return rc;
}

static void
test_vars(void **state)
{
	size_t n;

	(void)state;
	good();
	assert_int_equal(dec(), 0);
	assert_int_equal(mon_dec_snmp_vars((const uint8_t *)v, 0, &n), 0);
	assert_int_equal(n, 0);
	/* not whole records */
	assert_int_equal(mon_dec_snmp_vars((const uint8_t *)v, sizeof(v) - 1,
	                     &n),
	    -1);
	assert_int_equal(errno, EBADMSG);
	/* out of order, repeated */
	good();
	v[1].name[8] = 9; /* root.1.9.2.0 before root.1.2.1.0 */
	assert_int_equal(dec(), -1);
	good();
	v[1] = v[0];
	assert_int_equal(dec(), -1);
	/* a prefix before its extension is in order */
	good();
	v[3].len = MON_SNMP_ROOT_LEN + 3;
	v[3].name[9] = 2; /* root.1.2.2 after root.1.2.1.0 */
	assert_int_equal(dec(), 0);
	/* OIDs: outside the enterprise, the root alone, too long */
	good();
	v[0].name[6] = 8072;
	assert_int_equal(dec(), -1);
	good();
	v[0].len = MON_SNMP_ROOT_LEN;
	assert_int_equal(dec(), -1);
	good();
	v[3].len = MON_SNMP_OID_MAX + 1;
	assert_int_equal(dec(), -1);
	good();
	v[3].len = 0xffffffffu;
	assert_int_equal(dec(), -1);
	/* types and their ranges */
	good();
	v[1].type = 0;
	assert_int_equal(dec(), -1);
	v[1].type = MON_SNMP_TYPE_END;
	assert_int_equal(dec(), -1);
	good();
	v[1].num = (uint64_t)UINT32_MAX + 1;
	assert_int_equal(dec(), -1);
	good();
	v[3].num = (uint64_t)INT32_MAX + 1;
	assert_int_equal(dec(), -1);
	/* strings: too long, on a number, a number on a string */
	good();
	v[0].slen = MON_SNMP_STR_MAX + 1;
	assert_int_equal(dec(), -1);
	good();
	v[1].slen = 1;
	assert_int_equal(dec(), -1);
	good();
	v[0].num = 1;
	assert_int_equal(dec(), -1);
	good();
	v[2].zero = 1;
	assert_int_equal(dec(), -1);
}

static void
test_trap(void **state)
{
	uint8_t b[sizeof(struct mon_snmp_trap) + 9 * sizeof(v[0])];
	struct mon_snmp_trap t = { .trap = 1, .n = 2 };
	const struct mon_snmp_var *tv;

	(void)state;
	good();
	memcpy(b, &t, sizeof(t));
	memcpy(b + sizeof(t), v, 2 * sizeof(v[0]));
	assert_int_equal(mon_dec_snmp_trap(b, sizeof(t) + 2 * sizeof(v[0]), &t,
	                     &tv),
	    0);
	assert_ptr_equal(tv, b + sizeof(t));
	/* lengths that do not add up */
	assert_int_equal(mon_dec_snmp_trap(b, sizeof(t) + sizeof(v[0]), &t,
	                     &tv),
	    -1);
	assert_int_equal(mon_dec_snmp_trap(b, 4, &t, &tv), -1);
	/* trap numbers, counts */
	for (uint32_t bad = 0; bad < 3; bad++) {
		struct mon_snmp_trap x = { .trap = bad == 0 ? 0 : 11, .n = 2 };

		if (bad == 2)
			x = (struct mon_snmp_trap){ .trap = 1, .n = 9 };
		memcpy(b, &x, sizeof(x));
		assert_int_equal(mon_dec_snmp_trap(b, sizeof(b), &t, &tv), -1);
	}
	/* a bad record inside (the order does not matter here) */
	t = (struct mon_snmp_trap){ .trap = 10, .n = 2 };
	v[1].type = 77;
	memcpy(b, &t, sizeof(t));
	memcpy(b + sizeof(t), v, 2 * sizeof(v[0]));
	assert_int_equal(mon_dec_snmp_trap(b, sizeof(t) + 2 * sizeof(v[0]), &t,
	                     &tv),
	    -1);
}

static void
test_conf(void **state)
{
	struct mon_snmp_conf c, out;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.ping_interval = 5;
	c.via_parent = 1;
	strcpy(c.socket, "/var/agentx/master");
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), 0);
	assert_string_equal(out.socket, "/var/agentx/master");
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c) - 1, &out),
	    -1);
	/* the child may connect a tcp: master itself, never a unix one */
	c.via_parent = 0;
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	strcpy(c.socket, "unix:/x");
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	strcpy(c.socket, "tcp:127.0.0.1:705");
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), 0);
	c.via_parent = 2;
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	c.via_parent = 0;
	c.ping_interval = 0;
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	c.ping_interval = 5;
	memset(c.socket, 'a', sizeof(c.socket)); /* no NUL */
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	strcpy(c.socket, "tcp:a\nb");
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
	c.socket[0] = '\0';
	assert_int_equal(mon_dec_snmp_conf((uint8_t *)&c, sizeof(c), &out), -1);
}

static void
test_agentx(void **state)
{
	struct mon_agentx a = { .err = 0 }, out;

	(void)state;
	assert_int_equal(mon_dec_agentx((uint8_t *)&a, sizeof(a), 5, &out), 0);
	assert_int_equal(mon_dec_agentx((uint8_t *)&a, sizeof(a), -1, &out),
	    -1);
	a.err = ECONNREFUSED;
	assert_int_equal(mon_dec_agentx((uint8_t *)&a, sizeof(a), -1, &out), 0);
	assert_int_equal(mon_dec_agentx((uint8_t *)&a, sizeof(a), 5, &out), -1);
	assert_int_equal(mon_dec_agentx((uint8_t *)&a, 3, -1, &out), -1);
	assert_int_equal(mon_dec_snmp_get(3, 0), 0);
	assert_int_equal(mon_dec_snmp_get(0, 0), -1);
	assert_int_equal(mon_dec_snmp_get(3, 1), -1);
	assert_true(mon_type_to_child(MON_T_SNMP_VARS));
	assert_true(mon_type_to_child(MON_T_AGENTX));
	assert_false(mon_type_to_child(MON_T_SNMP_GET));
	assert_false(mon_type_to_child(MON_T_AGENTX_GET));
}

/* A memfd with LEN bytes of V and SEALS. */
static int
memfd(size_t len, int seals)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, v, len), (ssize_t)len);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void
test_memfd(void **state)
{
	const int all = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	struct mon_snmp_var *out;
	size_t n;
	int fd;

	(void)state;
	good();
	fd = memfd(sizeof(v), all);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), 0);
	assert_int_equal(n, NV);
	assert_memory_equal(out, v, sizeof(v));
	free(out);
	close(fd);
	/* writable or growable: the sender could change it under us */
	fd = memfd(sizeof(v), F_SEAL_GROW | F_SEAL_SHRINK);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), -1);
	close(fd);
	fd = memfd(sizeof(v), F_SEAL_WRITE | F_SEAL_SHRINK);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), -1);
	close(fd);
	/* not whole records; records out of order */
	fd = memfd(sizeof(v) - 8, all);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), -1);
	close(fd);
	v[2].name[8] = 0;
	fd = memfd(sizeof(v), all);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), -1);
	close(fd);
	/* not a memfd at all */
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(mon_snmp_read_memfd(fd, &out, &n), -1);
	close(fd);
}

/* ---- the child's receiver, no subagent running ---- */

static int
in(struct mon_child *m, uint16_t type, uint32_t id, const void *p, size_t len,
    int passfd)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.id = id };

	return mon_child_in(m, &h, p, passfd);
}

static void
test_child(void **state)
{
	uint8_t b[sizeof(struct mon_snmp_trap) + sizeof(v)];
	struct mon_snmp_trap t = { .trap = 2, .n = 1 };
	struct mon_agentx a = { .err = 0 };
	struct mon_child m;
	int sv[2], fd;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	mon_child_init(&m, sv[0]);
	good();
	/* a notification while no subagent runs: counted, not fatal */
	memcpy(b, &t, sizeof(t));
	memcpy(b + sizeof(t), v, sizeof(v[0]));
	assert_int_equal(in(&m, MON_T_SNMP_TRAP, 0, b, sizeof(t) + sizeof(v[0]),
	                     -1),
	    0);
	assert_int_equal(in(&m, MON_T_SNMP_TRAP, 0, b, sizeof(t), -1), -1);
	assert_int_equal(in(&m, MON_T_SNMP_STALE, 0, NULL, 0, -1), 0);
	assert_int_equal(in(&m, MON_T_SNMP_STALE, 0, b, 1, -1), -1);
	/* a snapshot or a socket never asked for (no subagent); an
	 * answer without an id; a descriptor on a trap: refused and
	 * closed */
	assert_int_equal(in(&m, MON_T_SNMP_VARS, 3, v, sizeof(v), -1), -1);
	assert_int_equal(in(&m, MON_T_SNMP_VARS, 0, v, sizeof(v), -1), -1);
	fd = memfd(sizeof(v), F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
	assert_int_equal(in(&m, MON_T_SNMP_VARS, 3, NULL, 0, fd), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(in(&m, MON_T_AGENTX, 3, &a, sizeof(a), fd), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(in(&m, MON_T_SNMP_TRAP, 0, b, sizeof(t) + sizeof(v[0]),
	                     fd),
	    -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* a configuration that does not decode */
	assert_int_equal(in(&m, MON_T_SNMP_CONF, 0, b, 8, -1), -1);
	/* what the child sends, as if from cordond */
	assert_int_equal(in(&m, MON_T_SNMP_GET, 3, NULL, 0, -1), -1);
	assert_int_equal(in(&m, MON_T_AGENTX_GET, 3, NULL, 0, -1), -1);
	mon_child_free(&m);
	close(sv[0]);
	close(sv[1]);
}

/* cordond's check of the child's SNMP requests. */
static void
test_parent(void **state)
{
	struct cd_mon_view view;
	struct cd_mon_msg out;
	struct proc_hdr h = { .version = PROC_MSG_VERSION };
	int fd;

	(void)state;
	memset(&view, 0, sizeof(view));
	h.type = MON_T_SNMP_GET;
	h.id = 4;
	assert_int_equal(cd_mon_check(&view, &h, NULL, -1, &out), 1);
	h.type = MON_T_AGENTX_GET;
	assert_int_equal(cd_mon_check(&view, &h, NULL, -1, &out), 1);
	h.id = 0;
	assert_int_equal(cd_mon_check(&view, &h, NULL, -1, &out), -1);
	h.id = 4;
	h.len = 4;
	assert_int_equal(cd_mon_check(&view, &h, (uint8_t *)"abcd", -1, &out),
	    -1);
	h.len = 0;
	fd = open("/dev/null", O_RDONLY);
	assert_int_equal(cd_mon_check(&view, &h, NULL, fd, &out), -1);
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	/* the types cordond sends */
	h.type = MON_T_SNMP_VARS;
	assert_int_equal(cd_mon_check(&view, &h, NULL, -1, &out), -1);
	h.type = MON_T_AGENTX;
	assert_int_equal(cd_mon_check(&view, &h, NULL, -1, &out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_trap),
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_agentx),
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_child),
		cmocka_unit_test(test_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
