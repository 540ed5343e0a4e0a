/*
 * RFC 5424 formatting of cordond's syslog (core/slog/sl_fmt.c):
 * header, structured data escaping, sanitising, truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/slog/sl_fmt.h"

static char buf[SL_MSG_MAX];

static void
test_full_message(void **state)
{
	struct sl_param sd[] = { { "rule", "mgmt" }, { "src", "198.51.100.7" },
		{ "repeat_count", "3" } };
	struct sl_msg m = { .facility = 16,
		.severity = SL_WARNING,
		.unix_us = 1700000000123456LL,
		.host = "fw1",
		.app = "cordond",
		.procid = "42",
		.msgid = "deny",
		.sd = sd,
		.nsd = 3,
		.msg = "drop tcp" };
	long n;

	(void)state;
	n = sl_format(&m, buf, sizeof(buf));
	assert_string_equal(buf,
	    "<132>1 2023-11-14T22:13:20.123456Z fw1 "
	    "cordond 42 deny [cordon@32473 rule=\"mgmt\" src=\"198.51.100.7\" "
	    "repeat_count=\"3\"] drop tcp");
	assert_int_equal(n, (long)strlen(buf));
}

static void
test_escape_value(void **state)
{
	struct sl_param sd[] = { { "comment", "a\"b\\c]d" } };
	struct sl_msg m = { .facility = 16,
		.severity = SL_NOTICE,
		.unix_us = 0,
		.msgid = "commit",
		.sd = sd,
		.nsd = 1 };

	(void)state;
	assert_true(sl_format(&m, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "comment=\"a\\\"b\\\\c\\]d\"]"));
	/* Nil header fields and no MSG. */
	assert_string_equal(buf,
	    "<133>1 1970-01-01T00:00:00.000000Z - - - "
	    "commit [cordon@32473 comment=\"a\\\"b\\\\c\\]d\"]");
}

static void
test_sanitise(void **state)
{
	struct sl_param sd[] = { { "bad name=\"]", "x\ny\x01\xff\xc3\xa9" } };
	struct sl_msg m = { .facility = 99,
		.severity = 99,
		.unix_us = -1,
		.host = "h o\x7fst",
		.msgid = "m",
		.sd = sd,
		.nsd = 1,
		.msg = "line1\nline2 \xe2\x82\xac" };

	(void)state;
	assert_true(sl_format(&m, buf, sizeof(buf)) > 0);
	/* Bad facility -> user (1), bad severity -> notice (5). */
	assert_string_equal(buf,
	    "<13>1 - h_o_st - - m [cordon@32473 "
	    "bad_name___=\"x?y??\xc3\xa9\"] line1 line2 \xe2\x82\xac");
}

static void
test_no_sd(void **state)
{
	struct sl_msg m = { .facility = 3,
		.severity = SL_INFO,
		.unix_us = 0,
		.msgid = "x" };

	(void)state;
	assert_true(sl_format(&m, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "<30>1 1970-01-01T00:00:00.000000Z - - - x -");
}

/* Too long: params dropped from the end, MSG cut, still well-formed. */
static void
test_truncation(void **state)
{
	static char big[4000];
	struct sl_param sd[] = { { "a", "1" }, { "b", big }, { "c", "3" } };
	struct sl_msg m = { .facility = 16,
		.severity = SL_INFO,
		.unix_us = 0,
		.msgid = "x",
		.sd = sd,
		.nsd = 3,
		.msg = big };
	char small[SL_MSG_MIN];
	long n;

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	n = sl_format(&m, small, sizeof(small));
	assert_true(n > 0 && n < (long)sizeof(small));
	assert_non_null(strstr(small, "[cordon@32473 a=\"1\" c=\"3\"] zzz"));
	assert_int_equal(sl_format(&m, small, 10), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_escape_fn(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(sl_escape_value("a]", 2, out, sizeof(out)), 3);
	assert_string_equal(out, "a\\]");
	assert_int_equal(sl_escape_value("\"\"\"\"", 4, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_message),
		cmocka_unit_test(test_escape_value),
		cmocka_unit_test(test_sanitise),
		cmocka_unit_test(test_no_sd),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_escape_fn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
