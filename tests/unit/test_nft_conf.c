/*
 * The config keys of the nftables backend (config/load/conf_nft.c): backend,
 * a port's interface, a next hop's address / address6 / table / fwmark,
 * control.host_protection; errors as file:line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/load/conf.h"

static char path[] = "/tmp/test_nft_conf.XXXXXX";

static int
load(const char *text, struct conf *c, char *err, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return conf_load(path, c, err, len);
}

#define PORTS_NFT                                                              \
	"dataplane: { ports = ( "                                              \
	"{ name = \"o\"; interface = \"eth0\"; role = \"outside\"; }, "        \
	"{ name = \"q\"; interface = \"eth1\"; role = \"other\"; } );\n"

/* The canonical printer shows the backend's keys. */
static void
print_check(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	conf_print(c, m);
	conf_control_print(&c->control, m);
	fclose(m);
	assert_non_null(strstr(buf,
	    "    backend nftables\n"
	    "    port o: interface eth0\n    port q: interface eth1\n"
	    "    nexthop qh: address 10.0.0.2 address6 fd00::2 table 77 "
	    "fwmark 0x5\n"));
	assert_non_null(strstr(buf, "host_protection interface mgmt0"));
	free(buf);
}

static void
test_nftables_ok(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));
	char err[512];

	(void)st;
	assert_int_equal(
	    load(
	        "backend = \"nftables\";\n" PORTS_NFT
	        " next_hops = ( { name = \"qh\"; port = \"q\"; address = "
	        "\"10.0.0.2\"; address6 = \"fd00::2\"; table = 77; fwmark = 5; } "
	        "); };\ncontrol: { host_protection = { interface = \"mgmt0\"; }; "
	        "};\n",
	        c, err, sizeof(err)),
	    0);
	assert_int_equal(c->backend, CONF_BACKEND_NFTABLES);
	assert_string_equal(c->ports[1].ifname, "eth1");
	assert_string_equal(c->ports[1].device, "");
	assert_true(c->nexthops[0].has_addr4 && c->nexthops[0].has_addr6);
	assert_int_equal(c->nexthops[0].addr4[3], 2);
	assert_int_equal(c->nexthops[0].addr6[15], 2);
	assert_int_equal(c->nexthops[0].table, 77);
	assert_int_equal(c->nexthops[0].fwmark, 5);
	assert_string_equal(c->control.host_if, "mgmt0");
	print_check(c);
	/* Without the key the backend is dpdk, which needs devices. */
	assert_int_equal(load("", c, err, sizeof(err)), 0);
	assert_int_equal(c->backend, CONF_BACKEND_DPDK);
	free(c);
}

static const struct {
	const char *text, *want;
} bad[] = {
	{ "backend = \"ebpf\";\n",
	    ":1: backend must be \"dpdk\" or \"nftables\"" },
	{ "backend = \"nftables\";\ndataplane: { ports = ( { name = \"o\"; "
	  "role = \"outside\"; } ); };\n",
	    ":2: missing \"interface\"" },
	{ "dataplane: { ports = ( { name = \"o\"; interface = \"e\"; "
	  "role = \"outside\"; } ); };\n",
	    ":1: missing \"device\"" },
	{ "backend = \"nftables\";\n" PORTS_NFT " next_hops = ( { name = "
	  "\"qh\"; port = \"q\"; } ); };\n",
	    ":3: next hop \"qh\": backend nftables needs its address" },
	{ "backend = \"nftables\";\n" PORTS_NFT " next_hops = ( { name = "
	  "\"qh\"; port = \"q\"; address = \"10.0.0.300\"; } ); };\n",
	    ":3: bad IP address \"10.0.0.300\"" },
	{ "backend = \"nftables\";\ndataplane: { ports = ( { name = \"o\"; "
	  "interface = \"a-very-long-interface\"; role = \"outside\"; } ); "
	  "};\n",
	    ":2: \"a-very-long-interface\" is not an interface name" },
	{ "backend = \"nftables\";\ndataplane: { ports = ( { name = \"o\"; "
	  "interface = \"e\"; role = \"outside\"; }, { name = \"p\"; "
	  "interface = \"e\"; role = \"inside\"; } ); };\n",
	    ":2: interface \"e\" is already port \"o\"" },
};

static void
test_nftables_errors(void **st)
{
	struct conf *c = calloc(1, sizeof(*c));
	char err[512], want[512];

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(load(bad[i].text, c, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s%s", path, bad[i].want);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu:\n got  %s\n want %s...", i, err,
			    want);
	}
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nftables_ok),
		cmocka_unit_test(test_nftables_errors),
	};
	int fd = mkstemp(path), rc;

	if (fd < 0)
		return 1;
	close(fd);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
