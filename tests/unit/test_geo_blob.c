/*
 * Geo blob export/import (core/geo/geo_blob.c): round trips on
 * hand-built tables, the fixture MMDBs ($CORDON_FIXTURES, default
 * build/fixtures) and the real database ($CORDON_GEODB, skipped when
 * absent); every kind of damage refused with a message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "config/geo/geo_build.h"
#include "core/geo/geo.h"
#include "tests/unit/unit_util.h"

/* Header offsets (struct geo_blob_hdr, geo_blob.c). */
#define H_VERSION 4
#define H_GROUPS  12
#define H_NODES   16
#define H_TBL24   24
#define H_TBL8    32
#define H_ROOT6   40
#define H_NODE6   48

static char fx_dir[512];

static uint64_t
hdr64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t
hdr32(const uint8_t *b, size_t off)
{
	uint32_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static void
put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, sizeof(v));
}

/*
 * Same answers for random addresses, both ends of the fixtures'
 * prefixes, and random addresses under 2001:db8::/32 and the aliases.
 */
static void
assert_same(const struct geo_tables *a, const struct geo_tables *b, unsigned n)
{
	uint64_t s = 42;
	uint8_t a6[16];

	for (unsigned i = 0; i < n; i++) {
		uint32_t v4 = (uint32_t)unit_rnd(&s);
		uint64_t r = unit_rnd(&s);

		assert_int_equal(geo_lookup4(a, v4), geo_lookup4(b, v4));
		memcpy(a6, &r, 8);
		r = unit_rnd(&s);
		memcpy(a6 + 8, &r, 8);
		assert_int_equal(geo_lookup6(a, a6), geo_lookup6(b, a6));
		/* Inside the documentation prefix: deep in the trie. */
		a6[0] = 0x20;
		a6[1] = 0x01;
		a6[2] = 0x0d;
		a6[3] = 0xb8;
		a6[4] = 0;
		a6[5] = (uint8_t)(i % 4);
		assert_int_equal(geo_lookup6(a, a6), geo_lookup6(b, a6));
		/* ::ffff:0:0/96 and 2002::/16 reach the IPv4 table. */
		memset(a6, 0, 10);
		a6[10] = a6[11] = 0xff;
		assert_int_equal(geo_lookup6(a, a6), geo_lookup6(b, a6));
	}
}

static struct geo_tables *
roundtrip(const struct geo_tables *t, void **blob, size_t *len)
{
	struct geo_tables *u;
	char err[256];

	assert_int_equal(geo_tables_export(t, blob, len), 0);
	u = geo_tables_import(*blob, *len, err, sizeof(err));
	if (u == NULL)
		fail_msg("import: %s", err);
	return u;
}

static void
set6(struct geo_tables *t, const char *s, unsigned plen, const char *cc)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	assert_int_equal(geo_v6_set(t, a, plen, (geo_cc_t)geo_cc_parse(cc)), 0);
}

/* Tables with holes: groups and nodes freed by overwrites. */
static struct geo_tables *
handmade(void)
{
	struct geo_tables *t = geo_tables_create();
	uint8_t z[16] = { 0 };

	assert_non_null(t);
	assert_int_equal(geo_v4_set(t, 0xc0000200, 24, 221), 0);
	assert_int_equal(geo_v4_set(t, 0xc0000280, 25, 50), 0);
	assert_int_equal(geo_v4_set(t, 0xc6336400, 30, 90), 0);
	assert_int_equal(geo_v4_set(t, 0x0a000000, 8, 3), 0);
	assert_int_equal(geo_v4_set(t, 0x0a010203, 32, 4), 0);
	assert_int_equal(geo_v4_set(t, 0x0a000000, 8, 5), 0); /* frees */
	set6(t, "2001:db8:1::", 48, "CN");
	set6(t, "2001:db8:1:5::", 64, "US");
	set6(t, "2001:db8:1:5::1", 128, "DE");
	set6(t, "2001:db8:9::", 48, "FR");
	set6(t, "2001:db8:8::", 47, "JP"); /* frees nodes */
	z[10] = z[11] = 0xff;
	assert_int_equal(geo_v6_set_alias4(t, z, 96), 0);
	return t;
}

static void
test_roundtrip_handmade(void **state)
{
	struct geo_tables *t = handmade(), *u;
	uint8_t a[16];
	size_t len;
	void *blob;

	(void)state;
	u = roundtrip(t, &blob, &len);
	assert_same(t, u, 200000);
	assert_int_equal(geo_lookup4(u, 0xc0000281), 50);
	assert_int_equal(geo_lookup4(u, 0x0a010203), 5);
	inet_pton(AF_INET6, "2001:db8:1:5::1", a);
	assert_int_equal(geo_lookup6(u, a), geo_cc_parse("DE"));
	inet_pton(AF_INET6, "::ffff:192.0.2.130", a);
	assert_int_equal(geo_lookup6(u, a), 50);
	/* Export of an import gives the very same bytes. */
	{
		void *blob2;
		size_t len2;

		assert_int_equal(geo_tables_export(u, &blob2, &len2), 0);
		assert_int_equal(len2, len);
		assert_memory_equal(blob, blob2, len);
		free(blob2);
	}
	geo_tables_free(u); /* leaves the blob alone */
	assert_int_equal(((uint8_t *)blob)[0], 'C');
	free(blob);
	geo_tables_free(t);
}

static void
test_roundtrip_empty(void **state)
{
	struct geo_tables *t = geo_tables_create(), *u;
	size_t len;
	void *blob;

	(void)state;
	u = roundtrip(t, &blob, &len);
	assert_int_equal(hdr32(blob, H_GROUPS), 0);
	assert_int_equal(hdr32(blob, H_NODES), 0);
	assert_same(t, u, 10000);
	geo_tables_free(u);
	geo_tables_free(t);
	free(blob);
}

static void
build_fixture(const char *name, const char *field, struct geo_db *db)
{
	char path[700], err[512];
	struct geo_source src = { path, field };

	snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
	if (geo_db_build(&src, 1, NULL, 0, db, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
test_roundtrip_fixtures(void **state)
{
	static const char *dbs[][2] = {
		{ "country.mmdb", "country.iso_code" },
		{ "country-v4.mmdb", "country.iso_code" },
		{ "flat.mmdb", "country_code" },
		{ "layer2.mmdb", "country_code" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		struct geo_db db = { 0 };
		struct geo_tables *u;
		size_t len;
		void *blob;

		build_fixture(dbs[i][0], dbs[i][1], &db);
		u = roundtrip(db.tables, &blob, &len);
		assert_same(db.tables, u, 100000);
		geo_tables_free(u);
		free(blob);
		geo_db_free(&db);
	}
}

static void
test_roundtrip_real(void **state)
{
	const char *path = getenv("CORDON_GEODB");
	struct geo_source src = { path, "country_code" };
	struct geo_db db = { 0 };
	struct geo_tables *u;
	char err[512];
	size_t len;
	void *blob;

	(void)state;
	if (path == NULL || access(path, R_OK) != 0) {
		print_message("CORDON_GEODB unset or unreadable: skipped\n");
		skip();
	}
	if (geo_db_build(&src, 1, NULL, 0, &db, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	u = roundtrip(db.tables, &blob, &len);
	assert_true(hdr32(blob, H_GROUPS) > 1000);
	assert_true(hdr32(blob, H_NODES) > 100);
	assert_same(db.tables, u, 2000000);
	geo_tables_free(u);
	free(blob);
	geo_db_free(&db);
}

/* A fresh blob of the handmade tables, for the damage tests. */
static uint8_t *
blob_new(size_t *len)
{
	struct geo_tables *t = handmade();
	void *blob;

	assert_int_equal(geo_tables_export(t, &blob, len), 0);
	geo_tables_free(t);
	return blob;
}

static void
assert_refused(const uint8_t *b, size_t len, const char *needle)
{
	char err[256] = "";
	struct geo_tables *u = geo_tables_import(b, len, err, sizeof(err));

	if (u != NULL)
		fail_msg("damaged blob accepted (want \"%s\")", needle);
	assert_int_equal(errno, EINVAL);
	if (strstr(err, needle) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void
test_refuse_header(void **state)
{
	size_t len;
	uint8_t *b = blob_new(&len);
	uint8_t save[64];

	(void)state;
	memcpy(save, b, sizeof(save));
	assert_refused(b, 10, "shorter than its header");
	assert_refused(b, len - 4096, "header says");
	assert_refused(b, len - 1, "header says");
	b[0] = 'X';
	assert_refused(b, len, "bad magic");
	memcpy(b, save, sizeof(save));
	put32(b, H_VERSION, 99);
	assert_refused(b, len, "version 99");
	memcpy(b, save, sizeof(save));
	put32(b, H_GROUPS, hdr32(b, H_GROUPS) + 16); /* 2 pages more */
	assert_refused(b, len, "offsets");
	memcpy(b, save, sizeof(save));
	put32(b, H_NODES, 0x7fffffff);
	assert_refused(b, len, "too many");
	memcpy(b, save, sizeof(save));
	assert_refused(b + 1, len - 1, "misaligned");
	free(b);
}

static void
test_refuse_v4(void **state)
{
	size_t len;
	uint8_t *b = blob_new(&len);
	uint64_t t24 = hdr64(b, H_TBL24), t8 = hdr64(b, H_TBL8);
	uint32_t groups = hdr32(b, H_GROUPS);
	uint16_t e, save;

	(void)state;
	assert_true(groups > 0);
	/* A group index just past the end. */
	memcpy(&save, b + t24 + 2 * 77, 2);
	e = (uint16_t)(1024 + groups);
	memcpy(b + t24 + 2 * 77, &e, 2);
	assert_refused(b, len, "tbl24[77]");
	/* Not a country, not a group. */
	e = 700;
	memcpy(b + t24 + 2 * 77, &e, 2);
	assert_refused(b, len, "out of range");
	memcpy(b + t24 + 2 * 77, &save, 2);
	/* tbl8 entries are countries only. */
	e = 1024;
	memcpy(b + t8 + 2 * 5, &e, 2);
	assert_refused(b, len, "tbl8[5]");
	free(b);
}

static void
test_refuse_v6(void **state)
{
	size_t len;
	uint8_t *b = blob_new(&len);
	uint64_t r6 = hdr64(b, H_ROOT6), n6 = hdr64(b, H_NODE6);
	uint32_t nodes = hdr32(b, H_NODES), save, save0;
	uint8_t *copy = malloc(len);

	(void)state;
	assert_non_null(copy);
	memcpy(copy, b, len);
	assert_true(nodes >= 3);
	save = hdr32(b, r6 + 4 * 7);
	put32(b, r6 + 4 * 7, 0x40000000u | nodes); /* node past the end */
	assert_refused(b, len, "root6[7]");
	put32(b, r6 + 4 * 7, 0xc0000001u); /* no such tag */
	assert_refused(b, len, "root6[7]");
	put32(b, r6 + 4 * 7, 0x80000000u | 97); /* alias past bit 96 */
	assert_refused(b, len, "root6[7]");
	put32(b, r6 + 4 * 7, GEO_CC_MAX); /* not a country */
	assert_refused(b, len, "root6[7]");
	put32(b, r6 + 4 * 7, save);
	put32(b, n6 + 4 * 300, 0x40000000u | (nodes + 5));
	assert_refused(b, len, "node6[300]");
	memcpy(b, copy, len);
	/* Node 0 pointing at itself: a cycle. */
	save0 = hdr32(b, n6);
	put32(b, n6, 0x40000000u);
	assert_refused(b, len, "shape");
	put32(b, n6, save0);
	/* The deepest node pointing back up at a root child. */
	put32(b, n6 + 4 * (((size_t)(nodes - 1) << 8) | 9), 0x40000000u);
	assert_refused(b, len, "shape");
	memcpy(b, copy, len);
	/* Unreachable node: drop the only reference to a root child. */
	for (uint32_t i = 0; i < 65536; i++) {
		uint32_t e = hdr32(b, r6 + 4 * i);

		if ((e & 0xc0000000u) == 0x40000000u) {
			put32(b, r6 + 4 * i, 0);
			break;
		}
	}
	assert_refused(b, len, "unreachable");
	free(copy);
	free(b);
}

/* Depth: a chain of nodes longer than the 14 levels an address has. */
static void
test_refuse_deep(void **state)
{
	struct geo_tables *t = geo_tables_create();
	uint8_t a[16];
	size_t len;
	uint8_t *b;
	uint64_t n6;
	uint32_t nodes, last = 0;

	(void)state;
	memset(a, 0x11, sizeof(a));
	assert_int_equal(geo_v6_set(t, a, 128, 5), 0); /* 14 nodes deep */
	assert_int_equal(geo_tables_export(t, (void **)&b, &len), 0);
	geo_tables_free(t);
	nodes = hdr32(b, H_NODES);
	assert_int_equal(nodes, 14);
	n6 = hdr64(b, H_NODE6);
	/* Breadth-first numbering: the deepest node is the last one. */
	last = nodes - 1;
	put32(b, n6 + 4 * (((size_t)last << 8) | 3), 0x40000000u | 0);
	assert_refused(b, len, "shape");
	free(b);
}

static void
test_borrowed_free(void **state)
{
	size_t len;
	uint8_t *b = blob_new(&len);
	char err[128];
	struct geo_tables *u = geo_tables_import(b, len, err, sizeof(err));

	(void)state;
	assert_non_null(u);
	/* ASan would report a bad free if the arrays were freed here. */
	geo_tables_free(u);
	u = geo_tables_import(b, len, err, sizeof(err));
	assert_non_null(u);
	geo_tables_free(u);
	free(b);
}

static int
setup(void **state)
{
	const char *d = getenv("CORDON_FIXTURES");
	char cmd[1200];

	(void)state;
	snprintf(fx_dir, sizeof(fx_dir), "%s", d && *d ? d : "build/fixtures");
	snprintf(cmd, sizeof(cmd),
	    "test -s '%s/country.mmdb' || perl "
	    "tests/fixtures/mkmmdb.pl '%s' >&2",
	    fx_dir, fx_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_handmade),
		cmocka_unit_test(test_roundtrip_empty),
		cmocka_unit_test(test_roundtrip_fixtures),
		cmocka_unit_test(test_roundtrip_real),
		cmocka_unit_test(test_refuse_header),
		cmocka_unit_test(test_refuse_v4),
		cmocka_unit_test(test_refuse_v6),
		cmocka_unit_test(test_refuse_deep),
		cmocka_unit_test(test_borrowed_free),
	};

	return cmocka_run_group_tests_name("geo_blob", tests, setup, NULL);
}
