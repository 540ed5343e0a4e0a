/*
 * The shared helpers of core/util and the country word (issue 12): one
 * set of clocks, each on the clock its name says; one "message, errno,
 * -1" helper; "unknown" for an unknown country wherever it is written.
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/geo/geo.h"
#include "core/util/clock.h"
#include "core/util/fail.h"
#include "core/util/ropen.h"

static int64_t
ts_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Each helper reads its own clock: bracketed by two direct readings. */
static void
test_clocks_are_the_named_ones(void **state)
{
	int64_t a, b, v;

	(void)state;
	a = ts_ns(CLOCK_MONOTONIC);
	v = (int64_t)clk_mono_ns();
	b = ts_ns(CLOCK_MONOTONIC);
	assert_true(a <= v && v <= b);
	a = ts_ns(CLOCK_MONOTONIC) / 1000000;
	v = clk_mono_ms();
	b = ts_ns(CLOCK_MONOTONIC) / 1000000;
	assert_true(a <= v && v <= b);
	a = ts_ns(CLOCK_BOOTTIME) / 1000000;
	v = clk_boot_ms();
	b = ts_ns(CLOCK_BOOTTIME) / 1000000;
	assert_true(a <= v && v <= b);
	a = ts_ns(CLOCK_BOOTTIME) / 1000000000;
	v = clk_boot_s();
	b = ts_ns(CLOCK_BOOTTIME) / 1000000000;
	assert_true(a <= v && v <= b);
	a = ts_ns(CLOCK_REALTIME);
	v = (int64_t)clk_unix_ns();
	b = ts_ns(CLOCK_REALTIME);
	assert_true(a <= v && v <= b);
	a = (int64_t)time(NULL);
	v = clk_unix_s();
	b = (int64_t)time(NULL);
	assert_true(a <= v && v <= b);
}

static void
test_boot_id(void **state)
{
	const char *id = clk_boot_id();

	(void)state;
	/* A UUID, and the same one every time (read once). */
	assert_int_equal(strlen(id), 36);
	assert_ptr_equal(clk_boot_id(), id);
}

static void
test_fail_with(void **state)
{
	char err[16];

	(void)state;
	errno = 0;
	assert_int_equal(fail_with(err, sizeof(err), EBADMSG, "bad %s %d",
	                     "thing", 12345678),
	    -1);
	assert_int_equal(errno, EBADMSG);
	assert_string_equal(err, "bad thing 12345"); /* truncated */
	errno = 0;
	assert_int_equal(fail_with(NULL, 0, EINVAL, "x"), -1);
	assert_int_equal(errno, EINVAL);
	strcpy(err, "kept");
	assert_int_equal(fail_with(err, 0, EINVAL, "x"), -1);
	assert_string_equal(err, "kept");
}

static void
test_cc_name(void **state)
{
	char buf[GEO_CC_STRLEN];

	(void)state;
	assert_string_equal(geo_cc_name(GEO_CC_UNKNOWN, buf), "unknown");
	assert_string_equal(geo_cc_name((geo_cc_t)geo_cc_parse("de"), buf),
	    "DE");
	assert_string_equal(geo_cc_name(GEO_SP_PRIVATE, buf), "private");
}

/*
 * ropen: a regular file opens; a FIFO (whose open(2) would wait for a
 * writer: cordond hung) and a folder are refused at once, EINVAL.
 */
static void
test_ropen(void **state)
{
	char dir[] = "/tmp/test_ropen.XXXXXX", fifo[64], reg[64];
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(reg, sizeof(reg), "%s/reg", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	fd = open(reg, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	close(fd);
	assert_int_equal(ropen_fd(fifo), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(ropen_file(dir));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ropen_fd("/nonexistent/x"), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(f = ropen_file(reg));
	assert_int_equal(fgetc(f), 'x');
	fclose(f);
	unlink(fifo);
	unlink(reg);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clocks_are_the_named_ones),
		cmocka_unit_test(test_boot_id),
		cmocka_unit_test(test_fail_with),
		cmocka_unit_test(test_cc_name),
		cmocka_unit_test(test_ropen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
