/*
 * rev_compile() (config/rev): the one path from a config file to the
 * policy, the tables and their hashes that cordon-dp's standalone mode,
 * `cordond -n` and every cordond commit share.  What each step hands
 * over, which step a failure names, when tables are borrowed, and that
 * a fallback is asked only when the databases fail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/geo/geo_saved.h"
#include "config/policy/pol_compile.h"
#include "config/rev/rev.h"
#include "tests/unit/unit_util.h"
#include "wire/dpc_proto.h"

static char dir[64], fx_dir[512];
static struct conf conf, conf2;
static struct policy pol, pol2;
static struct geo_db db, db2;

/* Writes a config with DB (a fixture, or NULL for none) to NAME. */
static const char *
conf_file(const char *name, const char *db_name, const char *extra)
{
	static char path[4][128];
	static unsigned k;
	char *p = path[k++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	assert_non_null(f = fopen(p, "w"));
	if (db_name != NULL)
		fprintf(f,
		    "geo: { databases = ( { file = \"%s/%s\"; "
		    "field = \"country.iso_code\"; } ); overrides = ( %s ); "
		    "};\n",
		    fx_dir, db_name, extra);
	fprintf(f, "rules = ( { name = \"ssh-cn\"; src = [ \"CN\" ]; "
	           "action = \"drop\"; } );\n"
	           "default = { action = \"allow\"; };\n");
	fclose(f);
	return p;
}

static void
rev_init(struct rev *r, struct conf *c, struct policy *p, struct geo_db *g)
{
	memset(r, 0, sizeof(*r));
	r->conf = c;
	r->pol = p;
	r->geo = g;
}

/* The policy and hashes are what each step alone gives. */
static void
test_compile(void **state)
{
	struct rev r;
	uint8_t h[REV_HASH_LEN];
	char err[512];

	(void)state;
	rev_init(&r, &conf, &pol, &db);
	assert_int_equal(rev_compile(conf_file("a.conf", "country.mmdb", ""),
	                     NULL, &r, err, sizeof(err)),
	    0);
	assert_int_equal(r.fail, REV_FAIL_NONE);
	assert_false(r.geo_borrowed);
	assert_non_null(db.tables);
	assert_int_equal(pol_compile(&conf, NULL, &pol2, err, sizeof(err)), 0);
	assert_memory_equal(&pol, &pol2, sizeof(pol));
	dpc_policy_hash(&pol2, h);
	assert_memory_equal(r.pol_hash, h, sizeof(h));
	geo_saved_id(&db, conf.overrides, conf.noverrides, h);
	assert_memory_equal(r.geo_hash, h, sizeof(h));
	geo_db_free(&db);
}

/* A config error names file:line and comes before any database. */
static void
test_conf_error(void **state)
{
	struct rev r;
	char err[512];
	const char *p = conf_file("bad.conf", "missing.mmdb", "");
	FILE *f = fopen(p, "a");

	(void)state;
	assert_non_null(f);
	fprintf(f, "rules = 7;\n");
	fclose(f);
	rev_init(&r, &conf, &pol, &db);
	assert_int_equal(rev_compile(p, NULL, &r, err, sizeof(err)), -1);
	assert_int_equal(r.fail, REV_FAIL_CONF);
	assert_non_null(strstr(err, "bad.conf:"));
	assert_null(db.tables);
}

static int fb_calls;

static int
fb_none(void *arg, const struct conf *c, const struct geo_source *src,
    unsigned n, struct geo_db *g, const char *err)
{
	(void)arg;
	(void)c;
	(void)g;
	fb_calls++;
	assert_int_equal(n, 1);
	assert_non_null(strstr(src[0].path, "missing.mmdb"));
	assert_non_null(strstr(err, "missing.mmdb"));
	return -1;
}

/* Databases that fail: the geo step is named, the fallback asked. */
static void
test_geo_error(void **state)
{
	struct rev_geo g = { .fallback = fb_none };
	struct rev r;
	char err[512];

	(void)state;
	rev_init(&r, &conf, &pol, &db);
	fb_calls = 0;
	assert_int_equal(rev_compile(conf_file("m.conf", "missing.mmdb", ""),
	                     &g, &r, err, sizeof(err)),
	    -1);
	assert_int_equal(r.fail, REV_FAIL_GEO);
	assert_int_equal(fb_calls, 1);
	assert_null(db.tables);
	/* None configured: refused (fail closed), no fallback either. */
	assert_int_equal(rev_compile(conf_file("n.conf", NULL, ""), &g, &r, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(r.fail, REV_FAIL_GEO);
	assert_non_null(strstr(err, "no geolocation database"));
	assert_int_equal(fb_calls, 1);
}

/* Same databases and overrides: borrowed; other overrides: compiled. */
static void
test_reuse(void **state)
{
	struct rev r, r2;
	struct rev_geo g = { 0 };
	char err[512];

	(void)state;
	rev_init(&r, &conf, &pol, &db);
	assert_int_equal(rev_compile(conf_file("a.conf", "country.mmdb", ""),
	                     NULL, &r, err, sizeof(err)),
	    0);
	g.reuse_conf = &conf;
	g.reuse = &db;
	rev_init(&r2, &conf2, &pol2, &db2);
	assert_int_equal(rev_compile(conf_file("b.conf", "country.mmdb", ""),
	                     &g, &r2, err, sizeof(err)),
	    0);
	assert_true(r2.geo_borrowed);
	assert_ptr_equal(db2.tables, db.tables);
	assert_memory_equal(r2.geo_hash, r.geo_hash, REV_HASH_LEN);
	memset(&db2, 0, sizeof(db2));
	assert_int_equal(
	    rev_compile(conf_file("c.conf", "country.mmdb",
	                    "{ prefix = \"192.0.2.0/24\"; country = \"DE\"; }"),
	        &g, &r2, err, sizeof(err)),
	    0);
	assert_false(r2.geo_borrowed);
	assert_ptr_not_equal(db2.tables, db.tables);
	assert_memory_not_equal(r2.geo_hash, r.geo_hash, REV_HASH_LEN);
	geo_db_free(&db2);
	geo_db_free(&db);
}

/* --geodb: other databases replace the config's. */
static void
test_sources(void **state)
{
	struct geo_source src = { NULL, "country.iso_code" };
	struct rev_geo g = { .src = &src, .n = 1 };
	struct rev r;
	char path[600], err[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/country.mmdb", fx_dir);
	src.path = path;
	rev_init(&r, &conf, &pol, &db);
	assert_int_equal(rev_compile(conf_file("m.conf", "missing.mmdb", ""),
	                     &g, &r, err, sizeof(err)),
	    0);
	assert_string_equal(db.layer[0].path, path);
	geo_db_free(&db);
}

static int
setup(void **state)
{
	const char *d = getenv("CORDON_FIXTURES");

	(void)state;
	snprintf(fx_dir, sizeof(fx_dir), "%s", d && *d ? d : "build/fixtures");
	if (access(fx_dir, R_OK) != 0)
		return -1;
	return unit_tmpdir_make(dir, sizeof(dir), "test_rev");
}

static int
teardown(void **state)
{
	(void)state;
	return unit_tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_conf_error),
		cmocka_unit_test(test_geo_error),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_sources),
	};

	return cmocka_run_group_tests_name("rev", tests, setup, teardown);
}
