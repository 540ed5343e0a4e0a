/*
 * Relay classes in the geo tables (config/geo/geo_class.c,
 * core/geo/geo_lab.c): one lookup's country and classes against the
 * truth (libmaxminddb on the fixture MMDBs, and the prefix file matched
 * here by plain code) on random addresses, 0 mismatches; the bulk forms;
 * the blob round trip; label exhaustion; and every class file error
 * with FILE:LINE.  Fixtures: tests/fixtures/mkmmdb.pl (country.mmdb,
 * asn.mmdb), folder $CORDON_FIXTURES, default build/fixtures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_special.h"
#include "tests/tools/geo_tool.h"

#define N_RANDOM 200000
#define BURST    32

static char fx_dir[512], tmp_dir[64];

static const char *
fx(const char *name)
{
	static char buf[4][640];
	static unsigned k;

	snprintf(buf[k % 4], sizeof(buf[0]), "%s/%s", fx_dir, name);
	return buf[k++ % 4];
}

static const char *
tmp(const char *name)
{
	static char buf[4][128];
	static unsigned k;

	snprintf(buf[k % 4], sizeof(buf[0]), "%s/%s", tmp_dir, name);
	return buf[k++ % 4];
}

static void
put(const char *name, const char *text)
{
	FILE *f = fopen(tmp(name), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The "tor" list: hosts, prefixes, comments, blank lines, IPv6. */
static const char tor_txt[] = "# test exits\n"
                              "\n"
                              "12.51.100.200          # a host in the US half\n"
                              "  13.0.113.0/28\n"
                              "11.0.0.0/9\n"
                              "198.51.100.7/32\n"
                              "2a00:db8:2:1::/64\n"
                              "2a00:db8:1::7\n";

/* The same, for the reference (not the compiler's parser). */
static const struct {
	int af;
	const char *addr;
	unsigned plen;
} tor_ref[] = {
	{ 4, "12.51.100.200", 32 },
	{ 4, "13.0.113.0", 28 },
	{ 4, "11.0.0.0", 9 },
	{ 4, "198.51.100.7", 32 },
	{ 6, "2a00:db8:2:1::", 64 },
	{ 6, "2a00:db8:1::7", 128 },
};

#define C_TOR     1u
#define C_HOSTING 2u
#define C_VPN     4u

static const uint32_t vpn_asn[] = { 64501 };

static void
cfg_make(struct geo_class_src src[3], struct geo_class_cfg *cfg)
{
	put("tor.txt", tor_txt);
	put("hosting.txt", "# hosting\nAS64500\n64502   # inline comment\n");
	src[0] = (struct geo_class_src){ "tor", tmp("tor.txt"), NULL, NULL, 0 };
	src[1] = (struct geo_class_src){ "hosting", NULL, tmp("hosting.txt"),
		NULL, 0 };
	src[2] = (struct geo_class_src){ "vpn", NULL, NULL, vpn_asn, 1 };
	*cfg = (struct geo_class_cfg){ 3, src, fx("asn.mmdb") };
}

static int
build_cls(const struct geo_class_cfg *cfg, struct geo_db *db, char *err)
{
	struct geo_source s = { fx("country.mmdb"), NULL };

	return geo_db_build_cls(&s, 1, NULL, 0, cfg, db, err, 512);
}

/* --- the reference ------------------------------------------------------ */

struct ref {
	MMDB_s cc, asn;
	const char *path[GT_PATH_MAX + 1];
	char field[64];
};

static bool
ref_in(const uint8_t *a, const uint8_t *p, unsigned plen)
{
	for (unsigned k = 0; k < plen; k++)
		if (((a[k / 8] ^ p[k / 8]) >> (7 - k % 8)) & 1)
			return false;
	return true;
}

static geo_cls_t
ref_tor(int af, const uint8_t *a)
{
	uint8_t p[16];

	for (unsigned i = 0; i < sizeof(tor_ref) / sizeof(tor_ref[0]); i++) {
		if (tor_ref[i].af != af)
			continue;
		inet_pton(af == 4 ? AF_INET : AF_INET6, tor_ref[i].addr, p);
		if (ref_in(a, p, tor_ref[i].plen))
			return C_TOR;
	}
	return 0;
}

static geo_cls_t
ref_asn_bits(MMDB_lookup_result_s *r)
{
	MMDB_entry_data_s d;

	if (!r->found_entry ||
	    MMDB_get_value(&r->entry, &d, "autonomous_system_number", NULL) !=
	        MMDB_SUCCESS ||
	    !d.has_data)
		return 0;
	switch (d.uint32) {
	case 64500:
	case 64502:
		return C_HOSTING;
	case 64501:
		return C_VPN;
	default:
		return 0;
	}
}

static geo_cls_t
ref_cls4(struct ref *r, uint32_t a)
{
	uint8_t b[4] = { a >> 24, a >> 16, a >> 8, a };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	MMDB_lookup_result_s res;
	int e;

	sin.sin_addr.s_addr = htonl(a);
	res = MMDB_lookup_sockaddr(&r->asn, (struct sockaddr *)&sin, &e);
	return ref_tor(4, b) | (e == MMDB_SUCCESS ? ref_asn_bits(&res) : 0);
}

static geo_cc_t
ref_cc4(struct ref *r, uint32_t a)
{
	uint8_t b[16] = { a >> 24, a >> 16, a >> 8, a };
	const struct geo_builtin *sp = geo_builtin_find(4, b, 32);

	return sp != NULL ? sp->cc : gt_mmdb4(&r->cc, a, r->path);
}

/* IPv6: an alias answers as the IPv4 address inside, else the files. */
static void
ref6(struct ref *r, const uint8_t a[16], geo_cc_t *cc, geo_cls_t *cls)
{
	const struct geo_builtin *b = geo_builtin_find(6, a, 128);
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	MMDB_lookup_result_s res;
	uint32_t v4;
	int e;

	if (b != NULL && b->cc == GEO_CC_UNKNOWN) {
		v4 = gt_be32(a + b->off / 8);
		v4 = b->inverted ? ~v4 : v4;
		*cc = ref_cc4(r, v4);
		*cls = ref_cls4(r, v4);
		return;
	}
	*cc = b != NULL ? b->cc : gt_mmdb6(&r->cc, a, r->path);
	memcpy(&sin6.sin6_addr, a, 16);
	res = MMDB_lookup_sockaddr(&r->asn, (struct sockaddr *)&sin6, &e);
	*cls = ref_tor(6, a) | (e == MMDB_SUCCESS ? ref_asn_bits(&res) : 0);
}

static void
ref_open(struct ref *r)
{
	assert_int_equal(MMDB_open(fx("country.mmdb"), MMDB_MODE_MMAP, &r->cc),
	    MMDB_SUCCESS);
	assert_int_equal(MMDB_open(fx("asn.mmdb"), MMDB_MODE_MMAP, &r->asn),
	    MMDB_SUCCESS);
	snprintf(r->field, sizeof(r->field), "country.iso_code");
	assert_int_equal(gt_split(r->field, r->path), 0);
}

/* --- tests ------------------------------------------------------------- */

/* Mostly where the fixtures have data, some anywhere. */
static uint32_t
rand4(uint64_t *seed, uint64_t i)
{
	static const uint32_t base[] = { 0x0b000000, 0x0c336400, 0x0d007100,
		0x0e000000, 0xc0000200, 0xc6336400, 0xcb007100 };
	uint32_t x = (uint32_t)gt_rand(seed);

	if (i % 4 == 3)
		return x;
	if (i % 4 == 2)
		return base[x % 7] | (x >> 8 & 0xff);
	return 0x0b000000 + x % (4u << 24);
}

static void
rand6(uint8_t a[16], uint64_t *seed, uint64_t i)
{
	static const uint8_t pfx[][6] = {
		{ 0x2a, 0x00, 0x0d, 0xb8, 0x00, 0x01 },
		{ 0x2a, 0x00, 0x0d, 0xb8, 0x00, 0x02 },
		{ 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 },
		{ 0x20, 0x02, 0x0c, 0x33, 0x64, 0x00 }, /* 6to4 */
	};
	uint64_t x = gt_rand(seed), y = gt_rand(seed);

	memcpy(a, &x, 8);
	memcpy(a + 8, &y, 8);
	if (i % 5 == 4) { /* IPv4-mapped */
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		a[12] = (uint8_t)(0x0b + x % 4);
		return;
	}
	memcpy(a, pfx[i % 4], i % 4 == 3 ? 4 : 6);
	if (i % 8 < 4) /* often inside the tor /64 and the ASN /49 */
		a[6] = a[7] = 0, a[7] = (uint8_t)(y & 1);
	if (i % 16 == 1)
		a[6] = 0x80;
}

static void
test_truth_random(void **state)
{
	struct geo_class_src src[3];
	struct geo_class_cfg cfg;
	struct geo_db db;
	struct ref r;
	char err[512] = "";
	uint64_t seed = 13, bad = 0, in_cls = 0;
	uint32_t a4[BURST];
	geo_cc_t cc[BURST], want_cc;
	geo_cls_t cls[BURST], want_cls, one;

	(void)state;
	cfg_make(src, &cfg);
	if (build_cls(&cfg, &db, err) != 0)
		fail_msg("build: %s", err);
	ref_open(&r);
	for (uint64_t i = 0; i < N_RANDOM; i += BURST) {
		for (unsigned j = 0; j < BURST; j++)
			a4[j] = rand4(&seed, i + j);
		geo_lookup4_bulk_cls(db.tables, a4, cc, cls, BURST);
		for (unsigned j = 0; j < BURST; j++) {
			want_cc = ref_cc4(&r, a4[j]);
			want_cls = ref_cls4(&r, a4[j]);
			bad += cc[j] != want_cc || cls[j] != want_cls;
			bad += geo_lookup4_cls(db.tables, a4[j], &one) !=
			           cc[j] ||
			       one != cls[j];
			bad += geo_lookup4(db.tables, a4[j]) != cc[j];
			in_cls += want_cls != 0;
		}
	}
	for (uint64_t i = 0; i < N_RANDOM; i += BURST) {
		uint8_t a6[BURST][16];
		const uint8_t *p6[BURST];

		for (unsigned j = 0; j < BURST; j++) {
			rand6(a6[j], &seed, i + j);
			p6[j] = a6[j];
		}
		geo_lookup6_bulk_cls(db.tables, p6, cc, cls, BURST);
		for (unsigned j = 0; j < BURST; j++) {
			ref6(&r, a6[j], &want_cc, &want_cls);
			bad += cc[j] != want_cc || cls[j] != want_cls;
			bad += geo_lookup6_cls(db.tables, a6[j], &one) !=
			           cc[j] ||
			       one != cls[j];
			in_cls += want_cls != 0;
		}
	}
	assert_int_equal(bad, 0);
	/* The draw did reach the classes, all three of them. */
	assert_true(in_cls > N_RANDOM / 10);
	assert_int_equal(geo_tables_classes(db.tables)->n, 3);
	assert_string_equal(geo_tables_classes(db.tables)->name[1], "hosting");
	MMDB_close(&r.cc);
	MMDB_close(&r.asn);
	geo_db_free(&db);
}

/* Fixed points: classes add to the country, several at once. */
static void
test_known_points(void **state)
{
	struct geo_class_src src[3];
	struct geo_class_cfg cfg;
	struct geo_db db;
	char err[512] = "";
	geo_cls_t k;
	uint8_t a[16];

	(void)state;
	cfg_make(src, &cfg);
	if (build_cls(&cfg, &db, err) != 0)
		fail_msg("build: %s", err);
	/* 12.51.100.0/26: CN, AS64500 (hosting). */
	assert_int_equal(geo_lookup4_cls(db.tables, 0x0c336405, &k),
	    geo_cc_parse("CN"));
	assert_int_equal(k, C_HOSTING);
	/* 12.51.100.200: US, listed in tor. */
	assert_int_equal(geo_lookup4_cls(db.tables, 0x0c3364c8, &k),
	    geo_cc_parse("US"));
	assert_int_equal(k, C_TOR);
	/* 11.0.2.130: US, tor (11.0.0.0/9) and vpn (AS64501). */
	assert_int_equal(geo_lookup4_cls(db.tables, 0x0b000282, &k),
	    geo_cc_parse("US"));
	assert_int_equal(k, C_TOR | C_VPN);
	/* 8.8.8.8: in no class, unknown country: no bits at all. */
	assert_int_equal(geo_lookup4_cls(db.tables, 0x08080808, &k),
	    GEO_CC_UNKNOWN);
	assert_int_equal(k, 0);
	/* A documentation address keeps its sub-region, gains its class. */
	assert_int_equal(geo_lookup4_cls(db.tables, 0xc6336407, &k),
	    GEO_SP_DOCUMENTATION);
	assert_int_equal(k, C_TOR | C_HOSTING);
	/* The IPv4-mapped form answers as IPv4. */
	inet_pton(AF_INET6, "::ffff:12.51.100.200", a);
	assert_int_equal(geo_lookup6_cls(db.tables, a, &k), geo_cc_parse("US"));
	assert_int_equal(k, C_TOR);
	inet_pton(AF_INET6, "2a00:db8:2:1::9", a);
	assert_int_equal(geo_lookup6_cls(db.tables, a, &k), geo_cc_parse("DE"));
	assert_int_equal(k, C_TOR | C_HOSTING);
	geo_db_free(&db);
}

/* What travels to cordon-dp and to the saved file answers the same. */
static void
test_blob_round_trip(void **state)
{
	struct geo_class_src src[3];
	struct geo_class_cfg cfg;
	struct geo_tables *in;
	struct geo_db db;
	char err[512] = "";
	uint64_t seed = 7;
	geo_cls_t k1, k2;
	size_t len;
	void *blob;

	(void)state;
	cfg_make(src, &cfg);
	if (build_cls(&cfg, &db, err) != 0)
		fail_msg("build: %s", err);
	assert_int_equal(geo_tables_export(db.tables, &blob, &len), 0);
	in = geo_tables_import_own(blob, len, err, sizeof(err));
	if (in == NULL)
		fail_msg("import: %s", err);
	for (unsigned i = 0; i < 100000; i++) {
		uint32_t a = rand4(&seed, i);

		assert_int_equal(geo_lookup4_cls(in, a, &k1),
		    geo_lookup4_cls(db.tables, a, &k2));
		assert_int_equal(k1, k2);
	}
	assert_memory_equal(geo_tables_classes(in),
	    geo_tables_classes(db.tables), sizeof(struct geo_classes));
	geo_tables_free(in);
	geo_db_free(&db);
}

/* A blob whose label names a class the tables do not have: refused. */
static void
test_blob_bad_label(void **state)
{
	struct geo_tables *t = geo_tables_create(), *in;
	struct geo_classes gc = { .n = 1 };
	char err[256] = "";
	uint8_t *b;
	size_t len;
	void *blob;

	(void)state;
	snprintf(gc.name[0], GEO_CLS_NAMELEN, "tor");
	geo_tables_set_classes(t, &gc);
	assert_int_equal(geo_v4_set(t, 0x0a000000, 8, geo_cc_parse("US")), 0);
	assert_int_equal(geo_v4_add_cls(t, 0x0a010000, 16, 1), 0);
	assert_int_equal(geo_tables_export(t, &blob, &len), 0);
	/* The one label sits at the first 4 KiB boundary: its classes. */
	b = blob;
	b[4096 + 4] = 2;
	in = geo_tables_import(blob, len, err, sizeof(err));
	assert_null(in);
	assert_non_null(strstr(err, "label 0"));
	free(blob);
	geo_tables_free(t);
}

/* More (country, classes) pairs than labels: ENOSPC, nothing lost. */
static void
test_labels_full(void **state)
{
	struct geo_tables *t = geo_tables_create();
	geo_cls_t k;
	unsigned i;
	int r = 0;

	(void)state;
	for (i = 0; i < 5000 && r == 0; i++) {
		uint32_t a = 0x0a000000 | i << 8;

		assert_int_equal(geo_v4_set(t, a, 24, (geo_cc_t)(1 + i % 600)),
		    0);
		r = geo_v4_add_cls(t, a, 24, 1 + i / 600);
	}
	assert_int_equal(r, -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(i - 1, GEO_LAB_MAX);
	assert_int_equal(geo_lookup4_cls(t, 0x0a000005, &k), 1);
	assert_int_equal(k, 1);
	geo_tables_free(t);
}

/* The build fails with "FILE:LINE: why"; DB stays untouched. */
static void
expect_err(const char *tor, const char *asns, const char *want)
{
	struct geo_class_src src[2];
	struct geo_class_cfg cfg;
	struct geo_db db;
	char err[512] = "";

	put("bad-tor.txt", tor);
	if (asns)
		put("bad-asns.txt", asns);
	src[0] =
	    (struct geo_class_src){ "tor", tmp("bad-tor.txt"), NULL, NULL, 0 };
	src[1] = (struct geo_class_src){ "hosting", NULL,
		asns ? tmp("bad-asns.txt") : NULL, NULL, 0 };
	cfg = (struct geo_class_cfg){ asns ? 2 : 1, src, fx("asn.mmdb") };
	memset(&db, 0x5a, sizeof(db));
	assert_int_equal(build_cls(&cfg, &db, err), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(((unsigned char *)&db)[0], 0x5a);
}

static void
test_errors(void **state)
{
	char want[256];
	struct geo_class_src src = { "tor", "/nonexistent/tor.txt", NULL, NULL,
		0 };
	struct geo_class_cfg cfg = { 1, &src, NULL };
	struct geo_db db;
	char err[512] = "";

	(void)state;
	snprintf(want, sizeof(want), "%s:3: bad prefix \"12.51.100.300\"",
	    tmp("bad-tor.txt"));
	expect_err("# c\n10.0.0.0/8\n12.51.100.300\n", NULL, want);
	snprintf(want, sizeof(want),
	    "%s:1: prefix \"10.1.0.0/8\" has host "
	    "bits",
	    tmp("bad-tor.txt"));
	expect_err("10.1.0.0/8\n", NULL, want);
	expect_err("10.0.0.0/33\n", NULL, ":1: bad prefix");
	expect_err("\n\n2002:c000:200::/40\n", NULL,
	    ":3: prefix \"2002:c000:200::/40\" lies in an IPv4-embedding");
	snprintf(want, sizeof(want), "%s:2: bad AS number \"AS-1\"",
	    tmp("bad-asns.txt"));
	expect_err("10.0.0.0/8\n", "64500\nAS-1\n", want);
	expect_err("10.0.0.0/8\n", "4294967296\n", ":1: bad AS number");
	/* A file the admin cannot read (cordond opens it as root): its
	 * first line is not quoted back (it was: /etc/shadow's). */
	expect_err("root:$6$SECRET:19000:0:99999:7:::\n", NULL,
	    ":1: bad prefix (a line that is not one; not shown)");
	expect_err("10.0.0.0/8\n", "-----BEGIN PRIVATE KEY-----\n",
	    ":1: bad AS number (a line that is not one; not shown)");
	assert_int_equal(build_cls(&cfg, &db, err), -1);
	assert_non_null(strstr(err, "/nonexistent/tor.txt: No such file"));
	/* AS numbers without a database to map them. */
	src = (struct geo_class_src){ "vpn", NULL, NULL, vpn_asn, 1 };
	assert_int_equal(build_cls(&cfg, &db, err), -1);
	assert_non_null(strstr(err, "no ASN database"));
}

/* The config digest names what the class bits mean; data changes it not. */
static void
test_cfg_id(void **state)
{
	struct geo_class_src src[3];
	struct geo_class_cfg cfg;
	struct geo_db a, b;
	uint8_t id[GEO_CLS_ID_LEN];
	char err[512] = "";

	(void)state;
	cfg_make(src, &cfg);
	assert_int_equal(build_cls(&cfg, &a, err), 0);
	geo_class_cfg_id(&cfg, id);
	assert_memory_equal(id, geo_tables_classes(a.tables)->cfg_id,
	    sizeof(id));
	/* A changed file: same config, other data. */
	put("tor.txt", "10.0.0.0/8\n");
	assert_int_equal(geo_db_build_cls(&(struct
	                                      geo_source){ fx("country.mmdb"),
	                                      NULL },
	                     1, NULL, 0, &cfg, &b, err, 512),
	    0);
	assert_memory_equal(geo_tables_classes(b.tables)->cfg_id, id,
	    sizeof(id));
	assert_memory_not_equal(geo_tables_classes(b.tables)->data_id,
	    geo_tables_classes(a.tables)->data_id, GEO_CLS_ID_LEN);
	/* Renaming a class is another config. */
	src[0].name = "exits";
	geo_class_cfg_id(&cfg, id);
	assert_memory_not_equal(id, geo_tables_classes(a.tables)->cfg_id,
	    sizeof(id));
	geo_db_free(&a);
	geo_db_free(&b);
}

static int
setup(void **state)
{
	const char *d = getenv("CORDON_FIXTURES");
	char cmd[1200];

	(void)state;
	snprintf(fx_dir, sizeof(fx_dir), "%s", d && *d ? d : "build/fixtures");
	if (access(fx("asn.mmdb"), R_OK) != 0) {
		snprintf(cmd, sizeof(cmd),
		    "/usr/bin/perl "
		    "tests/fixtures/mkmmdb.pl '%s' >&2",
		    fx_dir);
		if (system(cmd) != 0 || access(fx("asn.mmdb"), R_OK) != 0)
			return -1;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test_geo_class.XXXXXX");
	return mkdtemp(tmp_dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truth_random),
		cmocka_unit_test(test_known_points),
		cmocka_unit_test(test_blob_round_trip),
		cmocka_unit_test(test_blob_bad_label),
		cmocka_unit_test(test_labels_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_cfg_id),
	};

	return cmocka_run_group_tests_name("geo_class", tests, setup, teardown);
}
