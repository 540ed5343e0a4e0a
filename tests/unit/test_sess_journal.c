/*
 * The sessions journal's records and its fail-safe endings
 * (control/daemon/cd_sess_journal.c): a line carries a hash of itself,
 * so a torn or damaged one is refused while an old-format line still
 * reads; an ending that cannot be written (/dev/full) is kept, raises
 * the alarm and refuses new grants, and goes to disk at the next sync
 * that can write it, which clears the alarm.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/daemon/cordond.h"

static json_t *
del_rec(json_int_t id)
{
	return json_pack("{s:s, s:I}", "op", "del", "id", id);
}

static void
test_line_roundtrip(void **state)
{
	size_t len;
	char *line = cd_journal_line(del_rec(7), &len);
	json_t *r;

	(void)state;
	assert_non_null(line);
	assert_int_equal(line[16], ' ');
	assert_int_equal(line[len - 1], '\n');
	r = cd_journal_parse(line, len);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
	/* Torn: no end of line. */
	assert_null(cd_journal_parse(line, len - 1));
	assert_null(cd_journal_parse(line, len / 2));
	/* Damaged: one bit of the JSON, or of the hash. */
	line[len - 3] ^= 1;
	assert_null(cd_journal_parse(line, len));
	line[len - 3] ^= 1;
	line[0] = line[0] == '0' ? '1' : '0';
	assert_null(cd_journal_parse(line, len));
	free(line);
}

static void
test_old_format_and_junk(void **state)
{
	static const char old[] = "{\"op\":\"del\",\"id\":3}\n";
	static const char noop[] = "{\"id\":3}\n";
	static const char junk[] = "0123456789abcdef {\"op\":\"del\"}\n";
	json_t *r;

	(void)state;
	r = cd_journal_parse(old, strlen(old));
	assert_non_null(r);
	json_decref(r);
	assert_null(cd_journal_parse(noop, strlen(noop)));
	assert_null(cd_journal_parse(junk, strlen(junk)));
	assert_null(cd_journal_parse("\n", 1));
	assert_null(cd_journal_parse("", 0));
}

static void
test_ending_kept_until_written(void **state)
{
	static struct cd d;
	static struct cd_sessions s;
	struct cd_grant g = { .sid = 9 };
	char path[] = "/tmp/cordon-journal-XXXXXX", buf[256];
	ssize_t n;
	json_t *r;
	int fd;

	(void)state;
	s.d = &d;
	d.sess = &s;
	s.jfd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	assert_true(s.jfd >= 0);
	cd_journal_del(&s, 5);
	assert_int_equal(s.njpend, 1);
	assert_true(s.jalarm != 0);
	assert_int_equal(cd_journal_sync(&s), -1);
	/* No grant overtakes an ending not yet written. */
	assert_int_equal(cd_journal_add(&d, &g), -1);
	close(s.jfd);
	/* The disk takes writes again. */
	assert_true((fd = mkstemp(path)) >= 0);
	s.jfd = fd;
	assert_int_equal(cd_journal_sync(&s), 0);
	assert_int_equal(s.njpend, 0);
	assert_int_equal(s.jalarm, 0);
	n = pread(fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	r = cd_journal_parse(buf, (size_t)n);
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	json_decref(r);
	close(fd);
	unlink(path);
	free(s.jpend);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_roundtrip),
		cmocka_unit_test(test_old_format_and_junk),
		cmocka_unit_test(test_ending_kept_until_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
