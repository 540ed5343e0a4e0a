/*
 * The dataplane channel without a running cordon-dp: message framing
 * (wire/dpc_proto.c), the policy hash, the checks a received
 * policy goes through (dataplane/ctl/ctl_policy.c), and the client's
 * errors when nobody listens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/load/conf.h"
#include "control/dpc/dpc.h"
#include "config/policy/pol_compile.h"
#include "dataplane/ctl/ctl.h"
#include "wire/dpc_proto.h"
#include "core/stats/reasons.h"

static struct conf conf;
static struct policy good;
static struct policy pol;

static void
test_pack_roundtrip(void **state)
{
	uint8_t buf[DPC_MSG_MAX];
	struct dpc_msg_load m, back;
	struct dpc_hdr h;
	char err[128];
	long n;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.version = DPC_PROTO_VERSION;
	m.revision = 0x0102030405060708ull;
	m.has_geo = 1;
	n = dpc_msg_pack(buf, DPC_LOAD, 77, &m, sizeof(m));
	assert_int_equal(n, sizeof(struct dpc_hdr) + sizeof(m));
	/* Little-endian, fixed layout: the magic reads "CDP1". */
	assert_memory_equal(buf, "CDP1", 4);
	assert_int_equal(buf[4], DPC_LOAD);
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[8], sizeof(m));
	assert_int_equal(buf[12], 77);
	assert_int_equal(buf[16 + 8], 0x08); /* revision, low byte first */
	assert_int_equal(dpc_msg_check(buf, (size_t)n, &h, err, sizeof(err)),
	    0);
	assert_int_equal(h.type, DPC_LOAD);
	assert_int_equal(h.seq, 77);
	memcpy(&back, buf + sizeof(h), sizeof(back));
	assert_memory_equal(&back, &m, sizeof(m));
	n = dpc_msg_pack(buf, DPC_HELLO, 1, NULL, 0);
	assert_int_equal(n, sizeof(struct dpc_hdr));
	assert_int_equal(dpc_msg_check(buf, (size_t)n, &h, err, sizeof(err)),
	    0);
	/* Too big to pack. */
	assert_int_equal(dpc_msg_pack(buf, DPC_LOAD, 1, buf, DPC_MSG_MAX), -1);
	assert_int_equal(errno, EMSGSIZE);
}

static void
assert_bad(const void *buf, size_t n, const char *needle)
{
	struct dpc_hdr h;
	char err[128] = "";

	assert_int_equal(dpc_msg_check(buf, n, &h, err, sizeof(err)), -1);
	assert_int_equal(errno, EBADMSG);
	if (strstr(err, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, needle);
}

static void
test_check_refuses(void **state)
{
	uint8_t buf[DPC_MSG_MAX + 8];
	struct dpc_hdr h = { DPC_MAGIC, DPC_HELLO, 0, 0, 5 };

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_bad(buf, 3, "short");
	memcpy(buf, &h, sizeof(h));
	buf[0] = 'X';
	assert_bad(buf, sizeof(h), "magic");
	h.type = 99;
	memcpy(buf, &h, sizeof(h));
	assert_bad(buf, sizeof(h), "unknown message type 99");
	h.type = DPC_HELLO;
	h.len = 4;
	memcpy(buf, &h, sizeof(h));
	assert_bad(buf, sizeof(h), "length 4");
	assert_bad(buf, sizeof(h) + 4, "payload of 4");
	h.len = 0;
	h.flags = 1;
	memcpy(buf, &h, sizeof(h));
	assert_bad(buf, sizeof(h), "flags");
	h.flags = 0;
	h.type = DPC_LOAD;
	h.len = DPC_MSG_MAX;
	memcpy(buf, &h, sizeof(h));
	assert_bad(buf, DPC_MSG_MAX + 1, "oversized");
	/* Whatever could be read of the header is returned (seq echoed). */
	{
		struct dpc_hdr out;
		char err[64];

		h.len = 1;
		memcpy(buf, &h, sizeof(h));
		assert_int_equal(dpc_msg_check(buf, sizeof(h), &out, err,
		                     sizeof(err)),
		    -1);
		assert_int_equal(out.seq, 5);
	}
}

static void
test_payload_sizes(void **state)
{
	(void)state;
	assert_int_equal(dpc_msg_payload_size(DPC_HELLO), 0);
	assert_int_equal(dpc_msg_payload_size(DPC_STATUS), 0);
	assert_int_equal(dpc_msg_payload_size(DPC_HELLO_REPLY),
	    sizeof(struct dpc_msg_status));
	assert_int_equal(dpc_msg_payload_size(DPC_LOAD),
	    sizeof(struct dpc_msg_load));
	assert_int_equal(dpc_msg_payload_size(DPC_ERR),
	    sizeof(struct dpc_msg_result));
	assert_int_equal(dpc_msg_payload_size(DPC_SYSLOG),
	    sizeof(struct dpc_msg_syslog));
	assert_int_equal(dpc_msg_payload_size(DPC_SYSLOG_REPLY),
	    sizeof(struct dpc_msg_result));
	assert_true(sizeof(struct dpc_hdr) + sizeof(struct dpc_msg_syslog) <=
	            DPC_MSG_MAX);
	assert_int_equal(dpc_msg_payload_size(0), -1);
	assert_int_equal(dpc_msg_payload_size(DPC_TYPE_MAX), -1);
	/* Everything fits one message. */
	assert_true(sizeof(struct dpc_hdr) + sizeof(struct dpc_msg_status) <=
	            DPC_MSG_MAX);
}

static void
test_result_set(void **state)
{
	struct dpc_msg_result r;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	dpc_result_set(&r, EINVAL, "%s", big);
	assert_int_equal(r.error, EINVAL);
	assert_int_equal(strlen(r.message), DPC_WIRE_TEXT - 1);
}

static void
test_sha256(void **state)
{
	static const uint8_t abc[32] = {
		0xba,
		0x78,
		0x16,
		0xbf,
		0x8f,
		0x01,
		0xcf,
		0xea,
		0x41,
		0x41,
		0x40,
		0xde,
		0x5d,
		0xae,
		0x22,
		0x23,
		0xb0,
		0x03,
		0x61,
		0xa3,
		0x96,
		0x17,
		0x7a,
		0x9c,
		0xb4,
		0x10,
		0xff,
		0x61,
		0xf2,
		0x00,
		0x15,
		0xad,
	};
	uint8_t h[32], h2[32];

	(void)state;
	assert_int_equal(dpc_sha256("abc", 3, h), 0);
	assert_memory_equal(h, abc, 32);
	/* The policy hash is the SHA-256 of the flat struct. */
	dpc_policy_hash(&good, h);
	assert_int_equal(dpc_sha256(&good, sizeof(good), h2), 0);
	assert_memory_equal(h, h2, 32);
	pol = good;
	pol.rule[0].log ^= 1;
	dpc_policy_hash(&pol, h2);
	assert_memory_not_equal(h, h2, 32);
}

static void
assert_pol_bad(const char *needle)
{
	char err[200] = "";

	assert_int_equal(ctl_policy_check(&pol, conf.nports, err, sizeof(err)),
	    -1);
	if (strstr(err, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, needle);
	pol = good;
}

static void
test_policy_check(void **state)
{
	char err[200];

	(void)state;
	assert_int_equal(ctl_policy_check(&good, conf.nports, err, sizeof(err)),
	    0);
	pol = good;
	pol.nrules = POL_RULE_MAX + 1;
	assert_pol_bad("rules");
	pol.nnexthops = POL_NEXTHOP_MAX + 1;
	assert_pol_bad("next hops");
	pol.nservices = POL_SVC_MAX + 1;
	assert_pol_bad("services");
	pol.nclasses = 0;
	assert_pol_bad("port classes");
	pol.default_action = CDN_ACT_MAX;
	assert_pol_bad("default action");
	pol.default_action = CDN_ACT_REROUTE;
	assert_pol_bad("default action");
	pol.nonip_action = 200;
	assert_pol_bad("non-IP");
	pol.srcroute_action = CDN_ACT_REJECT;
	assert_pol_bad("source-route");
	pol.port_class[1][53] = (uint8_t)pol.nclasses;
	assert_pol_bad("udp port 53");
	pol.port_service[0][22] = (uint8_t)pol.nservices;
	assert_pol_bad("tcp port 22: service");
	memset(pol.service_name[0], 'a', POL_NAME_MAX);
	assert_pol_bad("service 0");
	pol.rule[0].action = CDN_ACT_MAX;
	assert_pol_bad("rule 0: action");
	memset(pol.rule[1].name, 'a', POL_NAME_MAX);
	assert_pol_bad("rule 1: name");
	pol.src_cc[5].w[pol.nrules / 64] |= 1ULL << (pol.nrules % 64);
	assert_pol_bad("beyond");
	pol.class_rules[POL_PORTCLS_MAX - 1].w[POL_WORDS - 1] |= 1ULL << 63;
	assert_pol_bad("beyond");
}

static void
test_policy_nexthops(void **state)
{
	char err[200];
	unsigned r;

	(void)state;
	assert_true(good.nnexthops > 0);
	for (r = 0; r < good.nrules; r++)
		if (good.rule[r].action == CDN_ACT_REROUTE)
			break;
	assert_true(r < good.nrules);
	pol.rule[r].nexthop = good.nnexthops;
	assert_pol_bad("next hop");
	/* Config port indexes: the last one is fine, one more is not. */
	pol.nexthop[0].port = (uint16_t)(conf.nports - 1);
	assert_int_equal(ctl_policy_check(&pol, conf.nports, err, sizeof(err)),
	    0);
	pol.nexthop[0].port = (uint16_t)conf.nports;
	assert_pol_bad("but cordon-dp has");
	pol.nexthop[0].vlan = 4096;
	assert_pol_bad("vlan");
	pol.nexthop[0].vlan = -2;
	assert_pol_bad("vlan");
}

static void
test_client_no_server(void **state)
{
	char path[] = "/tmp/test_dpc.nonexistent.sock";
	struct dpc *c;

	(void)state;
	c = dpc_connect(path, 100);
	assert_null(c);
	assert_int_equal(errno, ENOENT);
	{
		char longp[200];

		memset(longp, 'a', sizeof(longp) - 1);
		longp[sizeof(longp) - 1] = '\0';
		assert_null(dpc_connect(longp, 10));
		assert_int_equal(errno, ENAMETOOLONG);
	}
}

/* Three ports, a next hop on the last one, a reroute, a drop. */
static const char conf_text[] =
    "geo: { databases = ( { file = \"/nonexistent.mmdb\"; "
    "field = \"country_code\"; } ); overrides = ( ); };\n"
    "services: {\n"
    "  ssh = { proto = \"tcp\"; ports = [ \"22\" ]; };\n"
    "  rdp = { proto = [ \"tcp\", \"udp\" ]; ports = [ \"3389\" ]; };\n"
    "};\n"
    "rules = (\n"
    "  { name = \"ssh-cn-quarantine\"; src = [ \"CN\" ]; "
    "services = [ \"ssh\" ]; direction = \"in\"; action = \"reroute\"; "
    "nexthop = \"quarantine\"; },\n"
    "  { name = \"rdp-ru-drop\"; src = [ \"RU\" ]; services = [ \"rdp\" ]; "
    "action = \"drop\"; log = true; }\n"
    ");\n"
    "default = { action = \"allow\"; log = false; };\n"
    "non_ip = \"allow\";\n"
    "dataplane: {\n"
    "  ports = (\n"
    "    { name = \"outside0\"; device = \"net_null0\"; role = \"outside\"; "
    "peer = \"inside0\"; },\n"
    "    { name = \"inside0\"; device = \"net_null1\"; role = \"inside\"; "
    "peer = \"outside0\"; },\n"
    "    { name = \"quar0\"; device = \"net_null2\"; role = \"other\"; }\n"
    "  );\n"
    "  next_hops = ( { name = \"quarantine\"; port = \"quar0\"; "
    "mac = \"02:00:00:00:00:99\"; vlan = 100; } );\n"
    "};\n";

static int
setup(void **state)
{
	char path[] = "/tmp/test_dpc.XXXXXX", err[512];
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fputs(conf_text, f);
	fclose(f);
	if (conf_load(path, &conf, err, sizeof(err)) != 0 ||
	    pol_compile(&conf, NULL, &good, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		unlink(path);
		return -1;
	}
	unlink(path);
	pol = good;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_roundtrip),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_payload_sizes),
		cmocka_unit_test(test_result_set),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_policy_check),
		cmocka_unit_test(test_policy_nexthops),
		cmocka_unit_test(test_client_no_server),
	};

	return cmocka_run_group_tests_name("dpc", tests, setup, NULL);
}
