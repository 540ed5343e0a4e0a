/*
 * The last good tables on disk (config/geo/geo_saved.c) and the private
 * copy of a database (config/geo/geo_copy.c): a round trip answers the
 * same; a file damaged anywhere (header, metadata, tables, length) is
 * refused whole; tables saved for other databases or overrides do not
 * fit; a copy keeps its bytes when the file is truncated under it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_layer.h"
#include "config/geo/geo_saved.h"
#include "core/geo/geo.h"
#include "tests/unit/unit_util.h"

static char dir[64], path[128];
static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
static const uint8_t id[GEO_SAVED_ID_LEN] = { 1, 2, 3 };

static void
db_make(struct geo_db *db)
{
	memset(db, 0, sizeof(*db));
	assert_non_null(db->tables = geo_tables_create());
	assert_int_equal(geo_v4_set(db->tables, 0x01000000, 8,
	                     geo_cc_parse("AU")),
	    0);
	assert_int_equal(geo_v4_set(db->tables, 0xc6336400, 24,
	                     geo_cc_parse("CN")),
	    0);
	assert_int_equal(geo_v6_set(db->tables, v6, 32, geo_cc_parse("JP")), 0);
	db->nlayers = 1;
	snprintf(db->layer[0].path, sizeof(db->layer[0].path), "/x.mmdb");
	snprintf(db->layer[0].field, sizeof(db->layer[0].field), "%s",
	    GEO_DEFAULT_FIELD);
	db->layer[0].v4_prefixes = 2;
}

static void
same_answers(const struct geo_tables *a, const struct geo_tables *b)
{
	uint64_t s = 11;

	for (int i = 0; i < 100000; i++) {
		uint32_t x = (uint32_t)unit_rnd(&s);

		assert_int_equal(geo_lookup4(a, x), geo_lookup4(b, x));
	}
	assert_int_equal(geo_lookup6(a, v6), geo_lookup6(b, v6));
	assert_int_equal(geo_lookup4(b, 0xc6336407), geo_cc_parse("CN"));
}

static void
test_round_trip(void **state)
{
	struct geo_db db, back = { 0 };
	struct geo_saved_info in;
	struct geo_source src = { "/x.mmdb", NULL };
	struct geo_override ov = { .af = 4, .plen = 8 };
	uint8_t want[GEO_SAVED_ID_LEN];
	char err[600];

	(void)state;
	db_make(&db);
	geo_saved_id(&db, NULL, 0, want);
	assert_int_equal(geo_saved_write(path, &db, want, err, sizeof(err)), 0);
	assert_int_equal(geo_saved_read(path, &back, &in, err, sizeof(err)), 0);
	assert_memory_equal(in.id, want, sizeof(want));
	assert_int_equal(back.nlayers, 1);
	assert_string_equal(back.layer[0].path, "/x.mmdb");
	same_answers(db.tables, back.tables);
	assert_int_equal(geo_saved_fits(&back, &in, &src, 1, NULL, 0), 0);
	/* Other overrides, another file, another count: not these tables. */
	assert_int_equal(geo_saved_fits(&back, &in, &src, 1, &ov, 1), -1);
	src.path = "/y.mmdb";
	assert_int_equal(geo_saved_fits(&back, &in, &src, 1, NULL, 0), -1);
	assert_int_equal(geo_saved_fits(&back, &in, &src, 0, NULL, 0), -1);
	geo_db_free(&back);
	geo_db_free(&db);
}

/* Byte OFF of the saved file flipped: refused, OUT untouched. */
static void
refused_flipped(off_t off)
{
	struct geo_db back = { 0 };
	struct geo_saved_info in;
	char err[600];
	uint8_t b;
	int fd;

	assert_true((fd = open(path, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	assert_int_equal(geo_saved_read(path, &back, &in, err, sizeof(err)),
	    -1);
	assert_null(back.tables);
	assert_non_null(strstr(err, path));
	b ^= 0x10;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void
test_damage_refused(void **state)
{
	struct geo_db db, back = { 0 };
	struct geo_saved_info in;
	struct stat st;
	char err[600];

	(void)state;
	db_make(&db);
	assert_int_equal(geo_saved_write(path, &db, id, err, sizeof(err)), 0);
	geo_db_free(&db);
	assert_int_equal(stat(path, &st), 0);
	/* Magic, counts, id, metadata, the tables, the last byte. */
	const off_t offs[] = { 0, 12, 40, 100, 200, 1000, 5000, st.st_size / 2,
		st.st_size - 1 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		refused_flipped(offs[i]);
	assert_int_equal(truncate(path, st.st_size - 4096), 0);
	assert_int_equal(geo_saved_read(path, &back, &in, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(truncate(path, st.st_size + 1), 0);
	assert_int_equal(geo_saved_read(path, &back, &in, err, sizeof(err)),
	    -1);
	unlink(path);
	assert_int_equal(geo_saved_read(path, &back, &in, err, sizeof(err)),
	    -1);
	assert_null(back.tables);
}

/* The copy is the file as it was: truncating the file does not touch it. */
static void
test_private_copy(void **state)
{
	char src[160], proc[64], why[200], buf[8192];
	struct stat st;
	uint8_t *m;
	int fd, mfd;

	(void)state;
	snprintf(src, sizeof(src), "%s/db", dir);
	memset(buf, 'x', sizeof(buf));
	assert_true((fd = open(src, O_CREAT | O_WRONLY | O_TRUNC, 0600)) >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
	mfd = geo_copy_private(src, proc, sizeof(proc), why, sizeof(why));
	assert_true(mfd >= 0);
	assert_true((fd = open(proc, O_RDONLY)) >= 0);
	m = mmap(NULL, sizeof(buf), PROT_READ, MAP_SHARED, fd, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(truncate(src, 0), 0);
	/* The file's mapping would raise SIGBUS here; the copy's does not. */
	assert_int_equal(m[sizeof(buf) - 1], 'x');
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, (off_t)sizeof(buf));
	/* Sealed: not even this process can change it. */
	assert_int_equal(ftruncate(mfd, 0), -1);
	munmap(m, sizeof(buf));
	close(fd);
	close(mfd);
	assert_int_equal(geo_copy_private("/nonexistent/db", proc, sizeof(proc),
	                     why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_damage_refused),
		cmocka_unit_test(test_private_copy),
	};
	int rc;

	if (unit_tmpdir_make(dir, sizeof(dir), "geo-saved") < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", dir, GEO_SAVED_FILE);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unit_tmpdir_remove(dir);
	return rc;
}
