/*
 * The audit log's hash chain: records appended and verified, then every
 * kind of tampering (an edited field, a record re-hashed after an edit,
 * a deleted, swapped or truncated line) named at the first bad record.
 * And the unified diff the log and `compare` show: fixed cases in diff -u
 * format, and random texts whose diffs are minimal and patch back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "control/store/store.h"
#include "tests/unit/unit_util.h"

static char tmpdir[64];
static char err[512];

static int
setup(void **state)
{
	(void)state;
	return unit_tmpdir_make(tmpdir, sizeof(tmpdir), "test_audit");
}

static int
teardown(void **state)
{
	(void)state;
	return unit_tmpdir_remove(tmpdir);
}

static void
sha_hex(const char *p, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned n;

	assert_true(EVP_Digest(p, len, md, &n, EVP_sha256(), NULL));
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* A log of N records at tmpdir/NAME. */
static const char *
log_make(const char *name, int n)
{
	static char path[128];

	char head[160];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	assert_int_equal(audit_head_path(path, head, sizeof(head)), 0);
	unlink(head);
	for (int i = 1; i <= n; i++) {
		struct audit_rec r = {
			.cmd = "set",
			.result = i == 2 ? "refused: invalid" : "ok",
			.diff = "--- running\n+++ candidate\n@@ -1 +1 @@\n"
			        "-a = 1;\n+a = 2;\n",
			.uid = (uid_t)(1000 + i),
			.pid = 4242,
			.revision = (uint64_t)i,
		};

		if (audit_append(path, &r, NULL, err, sizeof(err)) < 0)
			fail_msg("audit_append: %s", err);
	}
	return path;
}

static void
log_append_one(const char *path, struct audit_head *h)
{
	struct audit_rec r = { .cmd = "commit", .result = "ok" };

	if (audit_append(path, &r, h, err, sizeof(err)) < 0)
		fail_msg("audit_append: %s", err);
}

struct lines {
	char *l[64];
	int n;
};

static void
lines_read(const char *path, struct lines *ls)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	char *line = NULL;

	assert_non_null(f);
	ls->n = 0;
	while (getline(&line, &cap, f) > 0 && ls->n < 64) {
		ls->l[ls->n++] = line;
		line = NULL;
		cap = 0;
	}
	free(line);
	fclose(f);
}

static void
lines_write(const char *path, struct lines *ls)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (int i = 0; i < ls->n; i++) {
		fputs(ls->l[i], f);
		free(ls->l[i]);
	}
	fclose(f);
}

/* Verifies PATH: it must fail at BAD with CHECKED good and WANT in err. */
static void
verify_bad(const char *path, uint64_t bad, uint64_t checked, const char *want)
{
	uint64_t c, b;

	err[0] = '\0';
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(b, bad);
	assert_int_equal(c, checked);
}

static void
test_append_verify(void **state)
{
	const char *path = log_make("ok.log", 5);
	char hex[65], zeros[65], *canon;
	struct lines ls;
	uint64_t c, b;
	json_t *all, *o;

	(void)state;
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 5);

	/* The chain as documented, recomputed here independently. */
	memset(zeros, '0', 64);
	zeros[64] = '\0';
	lines_read(path, &ls);
	assert_int_equal(ls.n, 5);
	for (int i = 0; i < ls.n; i++) {
		o = json_loads(ls.l[i], JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(o);
		assert_int_equal(json_integer_value(json_object_get(o, "seq")),
		    i + 1);
		if (i == 0)
			assert_string_equal(json_string_value(
			                        json_object_get(o, "prev")),
			    zeros);
		else {
			sha_hex(ls.l[i - 1], strlen(ls.l[i - 1]) - 1, hex);
			assert_string_equal(json_string_value(
			                        json_object_get(o, "prev")),
			    hex);
		}
		json_object_del(o, "hash");
		canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
		sha_hex(canon, strlen(canon), hex);
		free(canon);
		assert_non_null(strstr(ls.l[i], hex));
		json_decref(o);
	}
	for (int i = 0; i < ls.n; i++)
		free(ls.l[i]);

	assert_int_equal(audit_list(path, &all, 0), 0);
	assert_int_equal(json_array_size(all), 5);
	o = json_array_get(all, 1);
	assert_string_equal(json_string_value(json_object_get(o, "result")),
	    "refused: invalid");
	assert_string_equal(json_string_value(json_object_get(o, "cmd")),
	    "set");
	assert_int_equal(json_integer_value(json_object_get(o, "uid")), 1002);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 4242);
	assert_int_equal(json_integer_value(json_object_get(o, "revision")), 2);
	assert_true(
	    json_integer_value(json_object_get(o, "time")) > 1600000000);
	assert_int_equal(strlen(
	                     json_string_value(json_object_get(o, "time_iso"))),
	    20);
	assert_non_null(
	    strstr(json_string_value(json_object_get(o, "diff")), "+a = 2;\n"));
	json_decref(all);
	assert_int_equal(audit_list(path, &all, 2), 0);
	assert_int_equal(json_array_size(all), 2);
	assert_int_equal(json_integer_value(
	                     json_object_get(json_array_get(all, 0), "seq")),
	    4);
	assert_int_equal(json_integer_value(
	                     json_object_get(json_array_get(all, 1), "seq")),
	    5);
	json_decref(all);

	/* No log yet: an intact empty chain, an empty list. */
	assert_int_equal(audit_verify("/nonexistent/audit.log", &c, &b, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(c, 0);
	assert_int_equal(audit_list("/nonexistent/audit.log", &all, 0), 0);
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
}

static void
replace(char **line, const char *from, const char *to)
{
	char *p = strstr(*line, from), *n;

	assert_non_null(p);
	assert_true(asprintf(&n, "%.*s%s%s", (int)(p - *line), *line, to,
	                p + strlen(from)) > 0);
	free(*line);
	*line = n;
}

static void
test_tamper_edit(void **state)
{
	const char *path = log_make("edit.log", 5);
	struct lines ls;

	(void)state;
	lines_read(path, &ls);
	replace(&ls.l[2], "\"uid\":1003", "\"uid\":1004");
	lines_write(path, &ls);
	verify_bad(path, 3, 2, "record 3 (line 3): hash does not match");
}

/* An edit whose record hash is recomputed still breaks the next link. */
static void
test_tamper_rehash(void **state)
{
	const char *path = log_make("rehash.log", 5);
	struct lines ls;
	char hex[65], *canon;
	json_t *o;

	(void)state;
	lines_read(path, &ls);
	o = json_loads(ls.l[1], 0, NULL);
	json_object_set_new(o, "result", json_string("ok"));
	json_object_del(o, "hash");
	canon = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	sha_hex(canon, strlen(canon), hex);
	json_object_set_new(o, "hash", json_string(hex));
	free(canon);
	free(ls.l[1]);
	canon = json_dumps(o, JSON_COMPACT);
	assert_true(asprintf(&ls.l[1], "%s\n", canon) > 0);
	free(canon);
	json_decref(o);
	lines_write(path, &ls);
	verify_bad(path, 3, 2, "record 3 (line 3): does not chain");
}

static void
test_tamper_delete(void **state)
{
	const char *path = log_make("delete.log", 5);
	struct lines ls;

	(void)state;
	lines_read(path, &ls);
	free(ls.l[2]);
	memmove(&ls.l[2], &ls.l[3], 2 * sizeof(ls.l[0]));
	ls.n--;
	lines_write(path, &ls);
	verify_bad(path, 4, 2,
	    "record 4 (line 3): out of sequence (expected 3)");

	/* The first one too. */
	path = log_make("delete1.log", 3);
	lines_read(path, &ls);
	free(ls.l[0]);
	memmove(&ls.l[0], &ls.l[1], 2 * sizeof(ls.l[0]));
	ls.n--;
	lines_write(path, &ls);
	verify_bad(path, 2, 0, "record 2 (line 1)");
}

static void
test_tamper_swap(void **state)
{
	const char *path = log_make("swap.log", 5);
	struct lines ls;
	char *t;

	(void)state;
	lines_read(path, &ls);
	t = ls.l[1];
	ls.l[1] = ls.l[2];
	ls.l[2] = t;
	lines_write(path, &ls);
	verify_bad(path, 3, 1, "record 3 (line 2): out of sequence");
}

static void
test_tamper_truncate(void **state)
{
	const char *path = log_make("trunc.log", 5);
	struct audit_rec r = { .cmd = "commit", .result = "ok" };
	struct lines ls;

	(void)state;
	lines_read(path, &ls);
	ls.l[3][strlen(ls.l[3]) / 2] = '\0';
	free(ls.l[4]);
	ls.n--;
	lines_write(path, &ls);
	verify_bad(path, 0, 3, "line 4: not an audit record");
	/* Nothing is chained to a partial record. */
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), -1);
	/* The partial line is evidence here: audit.head is ahead of it. */
	assert_non_null(strstr(err, "audit.head names record 5"));

	/* Only the final newline lost. */
	path = log_make("trunc2.log", 3);
	lines_read(path, &ls);
	ls.l[2][strlen(ls.l[2]) - 1] = '\0';
	lines_write(path, &ls);
	verify_bad(path, 3, 2, "record 3 (line 3): truncated");
}

static void
test_broken_lines(void **state)
{
	const char *path = log_make("dup.log", 3);
	struct audit_rec r = { .cmd = "set",
		.result = "ok",
		.diff = "caf\xc3\xa9 \xff\xfe\n" };
	struct lines ls;
	uint64_t c, b;
	json_t *all;

	(void)state;
	lines_read(path, &ls);
	replace(&ls.l[1], "{", "{\"seq\":2,"); /* a duplicate key */
	lines_write(path, &ls);
	verify_bad(path, 0, 1, "line 2: not an audit record");
	assert_int_equal(audit_list(path, &all, 0), 0);
	assert_int_equal(json_array_size(all), 2); /* skipped */
	json_decref(all);

	/* Bytes that are not UTF-8 are replaced, and the chain holds. */
	path = log_make("utf8.log", 1);
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), 0);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 2);
	assert_int_equal(audit_list(path, &all, 1), 0);
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(all, 0),
	                            "diff")),
	    "caf?? ??\n");
	json_decref(all);

	assert_int_equal(audit_append("/nonexistent/dir/audit.log", &r, NULL,
	                     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "/nonexistent/dir/audit.log: "));
}

/* The head file of PATH: its bytes; head_put replaces them (NULL: gone). */
static char *
head_get(const char *path)
{
	char head[160], *buf = malloc(256);
	FILE *f;
	size_t n;

	assert_int_equal(audit_head_path(path, head, sizeof(head)), 0);
	assert_non_null(f = fopen(head, "r"));
	n = fread(buf, 1, 255, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
head_put(const char *path, const char *text)
{
	char head[160];
	FILE *f;

	assert_int_equal(audit_head_path(path, head, sizeof(head)), 0);
	if (text == NULL) {
		assert_int_equal(unlink(head), 0);
		return;
	}
	assert_non_null(f = fopen(head, "w"));
	fputs(text, f);
	fclose(f);
}

/* Records removed from the end: the head still names the last one. */
static void
test_head_truncated(void **state)
{
	const char *path = log_make("cut.log", 5);
	struct audit_rec r = { .cmd = "commit", .result = "ok" };
	struct lines ls;
	char head[160];

	(void)state;
	lines_read(path, &ls);
	for (int i = 2; i < 5; i++)
		free(ls.l[i]);
	ls.n = 2;
	lines_write(path, &ls);
	verify_bad(path, 3, 2, "records 3..5 missing");
	/* Not extended over the gap, nor does it hide it. */
	assert_int_equal(audit_ready(path, err, sizeof(err)), -1);
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ends at record 2 but audit.head names "
	                            "record 5"));
	verify_bad(path, 3, 2, "records 3..5 missing");
	/* The whole log gone. */
	assert_int_equal(unlink(path), 0);
	verify_bad(path, 1, 0, "records 1..5 missing");
	/* The head gone too (with records left): not intact either. */
	path = log_make("nohead.log", 2);
	assert_int_equal(audit_head_path(path, head, sizeof(head)), 0);
	assert_int_equal(unlink(head), 0);
	verify_bad(path, 3, 2, "audit.head missing");
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), -1);
}

/*
 * A crash between the log append and the head write leaves the head one
 * record behind: intact, and the next append catches up.  Two behind, or
 * a head that names another hash, is not.
 */
static void
test_head_behind(void **state)
{
	const char *path = log_make("behind.log", 4);
	struct audit_rec r = { .cmd = "commit", .result = "ok" };
	struct audit_head h, got;
	char *four = head_get(path), *five;
	uint64_t c, b;

	(void)state;
	log_append_one(path, &h);
	assert_int_equal(h.seq, 5);
	five = head_get(path);
	head_put(path, four);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 5);
	assert_int_equal(audit_ready(path, err, sizeof(err)), 0);
	assert_int_equal(audit_append(path, &r, &h, err, sizeof(err)), 0);
	assert_int_equal(h.seq, 6);
	assert_int_equal(audit_head_read(path, &got), 0);
	assert_int_equal(got.seq, 6);
	assert_string_equal(got.hash, h.hash);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	/* Two behind: an old head put back. */
	head_put(path, four);
	verify_bad(path, 6, 6, "more than one behind");
	/* The right seq with another record's hash. */
	five[strlen("{\"seq\":")] = '6';
	head_put(path, five);
	verify_bad(path, 6, 6, "record 6: hash differs from audit.head");
	free(four);
	free(five);
}

/*
 * A head one behind that cannot be caught up (a full disk: here its
 * temporary file cannot be made) is not ready: audit_append would fail
 * after the change was made, and every later change would pass
 * audit_ready unaudited.  Once it can be written, ready catches it up.
 */
static void
test_head_behind_unwritable(void **state)
{
	const char *path = log_make("stuck.log", 3);
	struct audit_rec r = { .cmd = "commit", .result = "ok" };
	char *three = head_get(path), head[160], tmp[176];
	struct audit_head h, got;

	(void)state;
	log_append_one(path, &h);
	head_put(path, three);
	assert_int_equal(audit_head_path(path, head, sizeof(head)), 0);
	snprintf(tmp, sizeof(tmp), "%s.tmp", head);
	assert_int_equal(mkdir(tmp, 0700), 0);
	assert_int_equal(audit_ready(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "audit.head"));
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), -1);
	assert_int_equal(rmdir(tmp), 0);
	assert_int_equal(audit_ready(path, err, sizeof(err)), 0);
	assert_int_equal(audit_head_read(path, &got), 0);
	assert_int_equal(got.seq, 4);
	assert_string_equal(got.hash, h.hash);
	free(three);
}

/* The head and what audit_append reports match the log's last record. */
static void
test_head_matches_log(void **state)
{
	const char *path = log_make("match.log", 2);
	struct audit_head h, got;
	struct lines ls;
	json_t *o;

	(void)state;
	log_append_one(path, &h);
	assert_int_equal(audit_head_read(path, &got), 0);
	assert_int_equal(got.seq, 3);
	assert_string_equal(got.hash, h.hash);
	lines_read(path, &ls);
	o = json_loads(ls.l[2], 0, NULL);
	assert_string_equal(json_string_value(json_object_get(o, "hash")),
	    h.hash);
	json_decref(o);
	for (int i = 0; i < ls.n; i++)
		free(ls.l[i]);
}

/* A log from before audit.head: adopted once, when its chain holds. */
static void
test_head_adopt(void **state)
{
	const char *path = log_make("old.log", 3);
	struct audit_head h;
	struct lines ls;
	uint64_t c, b;

	(void)state;
	head_put(path, NULL);
	assert_int_equal(audit_head_adopt(path, &h, err, sizeof(err)), 1);
	assert_int_equal(h.seq, 3);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(audit_head_adopt(path, &h, err, sizeof(err)), 0);
	/* A broken chain gets no head. */
	path = log_make("oldbad.log", 3);
	head_put(path, NULL);
	lines_read(path, &ls);
	replace(&ls.l[1], "\"uid\":1002", "\"uid\":0");
	lines_write(path, &ls);
	assert_int_equal(audit_head_adopt(path, &h, err, sizeof(err)), -1);
	assert_int_equal(audit_head_read(path, &h), -1);
	assert_int_equal(errno, ENOENT);
}

/* ---- diff ---- */

static void
diff_is(const char *a, const char *b, const char *want)
{
	char *out;

	assert_int_equal(diff_unified(a, b, "a", "b", &out), 0);
	if (strcmp(out, want) != 0)
		fail_msg("diff:\n%s\nwant:\n%s", out, want);
	free(out);
}

static void
test_diff_cases(void **state)
{
	(void)state;
	diff_is("", "", "");
	diff_is("a\nb\n", "a\nb\n", "");
	diff_is("", "a\nb\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n");
	diff_is("a\nb\n", "", "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-a\n-b\n");
	diff_is("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\nX\n6\n7\n8\n9\n",
	    "--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+X\n 6\n 7\n"
	    " 8\n");
	diff_is("1\n2\n3\n", "0\n1\n2\n3\n",
	    "--- a\n+++ b\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n");
	diff_is("1\n2\n3\n4\n5\n", "1\n2\n3\n4\n",
	    "--- a\n+++ b\n@@ -2,4 +2,3 @@\n 2\n 3\n 4\n-5\n");
	diff_is("a\nb", "a\nc",
	    "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n"
	    "\\ No newline at end of file\n+c\n"
	    "\\ No newline at end of file\n");
	diff_is("a\n", "a",
	    "--- a\n+++ b\n@@ -1 +1 @@\n-a\n+a\n"
	    "\\ No newline at end of file\n");
	/* Six equal lines between two changes: one hunk.  Seven: two. */
	diff_is("x\n1\n2\n3\n4\n5\n6\ny\n", "X\n1\n2\n3\n4\n5\n6\nY\n",
	    "--- a\n+++ b\n@@ -1,8 +1,8 @@\n-x\n+X\n 1\n 2\n 3\n 4\n 5\n"
	    " 6\n-y\n+Y\n");
	diff_is("x\n1\n2\n3\n4\n5\n6\n7\ny\n", "X\n1\n2\n3\n4\n5\n6\n7\nY\n",
	    "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-x\n+X\n 1\n 2\n 3\n"
	    "@@ -6,4 +6,4 @@\n 5\n 6\n 7\n-y\n+Y\n");
}

/* Applies unified diff D to A; the result is malloc'd. */
static char *
patch(const char *a, const char *d)
{
	const char *al[128], *p = a;
	size_t alen[128];
	int na = 0, ai = 0, hunks = 0;
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);

	while (*p) {
		const char *nl = strchr(p, '\n');

		al[na] = p;
		alen[na++] = (size_t)(nl - p + 1);
		p = nl + 1;
	}
	for (p = d; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p + 1);
		long s, c;

		if (!hunks && (*p == '-' || *p == '+')) {
			/* the ---/+++ header */
		} else if (strncmp(p, "@@ -", 4) == 0) {
			hunks = 1;
			assert_int_equal(sscanf(p, "@@ -%ld,%ld", &s, &c) ==
			                         2 ||
			                     sscanf(p, "@@ -%ld", &s) == 1,
			    1);
			if (strchr(p + 4, ',') == NULL ||
			    strchr(p + 4, ',') > strchr(p + 4, ' '))
				c = 1;
			for (long to = c ? s - 1 : s; ai < to; ai++)
				fwrite(al[ai], 1, alen[ai], f);
		} else if (*p == ' ' || *p == '-') {
			assert_true(ai < na);
			assert_int_equal(alen[ai], len - 1);
			assert_memory_equal(al[ai], p + 1, len - 1);
			if (*p == ' ')
				fwrite(al[ai], 1, alen[ai], f);
			ai++;
		} else if (*p == '+') {
			fwrite(p + 1, 1, len - 1, f);
		}
		p = nl + 1;
	}
	for (; ai < na; ai++)
		fwrite(al[ai], 1, alen[ai], f);
	fclose(f);
	return out;
}

static int
lcs(const char **a, int n, const char **b, int m)
{
	static int t[41][41];

	for (int i = n; i >= 0; i--)
		for (int j = m; j >= 0; j--)
			t[i][j] = i == n || j == m ? 0
			          : strcmp(a[i], b[j]) == 0
			              ? t[i + 1][j + 1] + 1
			          : t[i + 1][j] > t[i][j + 1] ? t[i + 1][j]
			                                      : t[i][j + 1];
	return t[0][0];
}

/* Random texts: the diff patches A into B and changes no more lines
 * than a longest common subsequence leaves. */
/* merge3: one side's change replayed, both sides', and a conflict. */
static void
test_merge3(void **state)
{
	const char *base = "a\nb\nc\nd\ne\n";
	char err[256], *out;

	(void)state;
	assert_int_equal(merge3(base, "a\nB\nc\nd\ne\n", base, &out, err,
	                     sizeof(err)),
	    0);
	assert_string_equal(out, "a\nB\nc\nd\ne\n");
	free(out);
	assert_int_equal(merge3(base, "a\nB\nc\nd\ne\n", "a\nb\nc\nD\ne\nf\n",
	                     &out, err, sizeof(err)),
	    0);
	assert_string_equal(out, "a\nB\nc\nD\ne\nf\n");
	free(out);
	/* The same change on both sides is taken once. */
	assert_int_equal(merge3(base, "x\na\nb\nc\nd\ne\n",
	                     "x\na\nb\nc\nd\ne\n", &out, err, sizeof(err)),
	    0);
	assert_string_equal(out, "x\na\nb\nc\nd\ne\n");
	free(out);
	assert_int_equal(merge3(base, "a\nb\nmine\nd\ne\n",
	                     "a\nb\ntheirs\nd\ne\n", &out, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_null(out);
	assert_string_equal(err,
	    "1 conflict: base 3-3: running 3-3 \"theirs\", "
	    "candidate 3-3 \"mine\"");
	/* Both inserted at one place: named by the lines that say what. */
	assert_int_equal(merge3(base, "a\nb\n{\nmine\n", "a\nb\n{\ntheirs\n",
	                     &out, err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "1 conflict: base 3-5: running 3-4 \"theirs\", "
	    "candidate 3-4 \"mine\"");
	assert_int_equal(merge3(base, "a\nb\nc\nm\nd\ne\n",
	                     "a\nb\nc\nt\nd\ne\n", &out, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "1 conflict: base after 3: running 4-4 \"t\", "
	                         "candidate 4-4 \"m\"");
}

/*
 * A rule is one thing: the running revision replaced rule r1 (a new
 * name and source, still drop) while the candidate made r1 an allow.
 * Line by line the two changes do not overlap, and the rebase made a
 * rule neither side wrote: everything from "prohibited" allowed.  Now a
 * conflict; changes to two different rules still merge.
 */
static void
test_merge3_rule_whole(void **state)
{
#define R0(act) "  {\n    name = \"r0\";\n    action = \"" act "\";\n  }, \n"
#define R1(name, src, act)                                                     \
	"  {\n    name = \"" name "\";\n    src = [ \"" src "\" ];\n"          \
	"    services = [ \"ssh\" ];\n    direction = \"in\";\n"               \
	"    action = \"" act "\";\n  } );\n"
	const char *base = "rules = ( \n" R0("drop")
	    R1("r1", "192.0.2.7", "drop");
	const char *mine = "rules = ( \n" R0("drop")
	    R1("r1", "192.0.2.7", "allow");
	const char *theirs = "rules = ( \n" R0("drop")
	    R1("cn", "prohibited", "drop");
	const char *other = "rules = ( \n" R0("reject")
	    R1("r1", "192.0.2.7", "drop");
#undef R0
#undef R1
	char err[512], *out;

	(void)state;
	assert_int_equal(merge3(base, mine, theirs, &out, err, sizeof(err)),
	    -1);
	assert_int_equal(errno, EEXIST);
	assert_null(out);
	assert_non_null(strstr(err, "1 conflict"));
	/* r1 changed by the candidate, r0 by the running: both kept. */
	assert_int_equal(merge3(base, mine, other, &out, err, sizeof(err)), 0);
	assert_non_null(strstr(out, "action = \"reject\""));
	assert_non_null(strstr(out, "action = \"allow\""));
	free(out);
}

/*
 * The running revision deleted the allow r0; the stale candidate only
 * moved it to the end.  Line by line that merged cleanly and brought
 * r0 back.  Now a conflict, and so is the mirror (the candidate deleted
 * it, the running revision moved it) and a rule both sides moved.
 */
static void
test_merge3_moved_deleted(void **state)
{
#define R(n, act)                                                              \
	"  {\n    name = \"" n                                                 \
	"\";\n    src = [ \"US\" ];\n    action = \"" act "\";\n  }"
	const char *base = "rules = ( \n" R("r0", "allow") ", \n" R("r1",
	    "drop") ", \n" R("r2", "drop") " );\n";
	const char *moved = "rules = ( \n" R("r1", "drop") ", \n" R("r2",
	    "drop") ", \n" R("r0", "allow") " );\n";
	const char *gone =
	    "rules = ( \n" R("r1", "drop") ", \n" R("r2", "drop") " );\n";
	const char *first = "rules = ( \n" R("r1", "drop") ", \n" R("r0",
	    "allow") ", \n" R("r2", "drop") " );\n";
#undef R
	char err[512], *out;

	(void)state;
	assert_int_equal(merge3(base, moved, gone, &out, err, sizeof(err)), -1);
	assert_int_equal(errno, EEXIST);
	assert_null(out);
	assert_non_null(
	    strstr(err, "rules: name = \"r0\": deleted by the running"));
	assert_int_equal(merge3(base, gone, moved, &out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "deleted by the candidate"));
	assert_int_equal(merge3(base, moved, first, &out, err, sizeof(err)),
	    -1);
	assert_int_equal(errno,
	    EEXIST); /* a line conflict, or moved by both sides */
	/* One side's move alone merges. */
	assert_int_equal(merge3(base, moved, base, &out, err, sizeof(err)), 0);
	assert_string_equal(out, moved);
	free(out);
}

/*
 * merge3 over random texts: one side unchanged takes the other whole;
 * both sides the same change takes it.
 */
static void
test_merge3_random(void **state)
{
	static const char *words[] = { "a\n", "b\n", "c\n", "{\n", "}\n" };
	char err[256];

	(void)state;
	srand(2);
	for (int iter = 0; iter < 2000; iter++) {
		char a[200] = "", b[200] = "", *o;
		int n = rand() % 40, m = rand() % 40;

		for (int i = 0; i < n; i++)
			strcat(a, words[rand() % (iter % 4 + 2)]);
		for (int i = 0; i < m; i++)
			strcat(b, words[rand() % (iter % 4 + 2)]);
		assert_int_equal(merge3(a, b, a, &o, err, sizeof(err)), 0);
		assert_string_equal(o, b);
		free(o);
		assert_int_equal(merge3(a, a, b, &o, err, sizeof(err)), 0);
		assert_string_equal(o, b);
		free(o);
		assert_int_equal(merge3(a, b, b, &o, err, sizeof(err)), 0);
		assert_string_equal(o, b);
		free(o);
	}
}

static void
test_diff_random(void **state)
{
	static const char *words[] = { "a\n", "b\n", "c\n", "d\n", "e\n" };

	(void)state;
	srand(1);
	for (int iter = 0; iter < 2000; iter++) {
		const char *al[40], *bl[40];
		int n = rand() % 40, m = rand() % 40, changed = 0;
		char a[200] = "", b[200] = "", *d, *r;

		for (int i = 0; i < n; i++)
			strcat(a, al[i] = words[rand() % (iter % 4 + 2)]);
		for (int i = 0; i < m; i++)
			strcat(b, bl[i] = words[rand() % (iter % 4 + 2)]);
		assert_int_equal(diff_unified(a, b, "a", "b", &d), 0);
		r = patch(a, d);
		if (strcmp(r, b) != 0)
			fail_msg("patch failed:\n%s\n->\n%s\ndiff:\n%s", a, b,
			    d);
		for (const char *p = d; *p; p = strchr(p, '\n') + 1)
			if ((*p == '+' || *p == '-') &&
			    strncmp(p, "+++ ", 4) != 0 &&
			    strncmp(p, "--- ", 4) != 0)
				changed++;
		if (changed != n + m - 2 * lcs(al, n, bl, m))
			fail_msg("not minimal (%d, lcs %d):\n%s\n->\n%s\n"
			         "diff:\n%s",
			    changed, lcs(al, n, bl, m), a, b, d);
		assert_int_equal(strcmp(a, b) == 0, *d == '\0');
		free(d);
		free(r);
	}
}

/*
 * A crash mid-append left a record without its newline (issue 11: the
 * log then refused every change until truncated by hand).  The next
 * append cuts it, records the cut, and the chain and head verify.
 */
static void
test_torn_tail_cut(void **state)
{
	const char *path = log_make("torn.log", 3);
	struct audit_rec r = { .cmd = "commit", .result = "ok", .revision = 9 };
	uint64_t c, b;
	json_t *all;
	FILE *f;

	(void)state;
	assert_non_null(f = fopen(path, "a"));
	fputs("{\"seq\":4,\"time\":17", f);
	fclose(f);
	assert_int_equal(audit_ready(path, err, sizeof(err)), 0);
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), 0);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 5);
	assert_int_equal(audit_list(path, &all, 0), 0);
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(all, 3), "cmd")),
	    "audit-repair");
	assert_non_null(
	    strstr(json_string_value(
	               json_object_get(json_array_get(all, 3), "diff")),
	        "cut a partial record (18 bytes"));
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(all, 4), "cmd")),
	    "commit");
	json_decref(all);
	/* audit_repair alone: nothing to cut now. */
	assert_int_equal(audit_repair(path, err, sizeof(err)), 0);
}

/* A write that fails part-way (file size limit: as ENOSPC) leaves none. */
static void
test_failed_write_cut_back(void **state)
{
	const char *path = log_make("full.log", 2);
	struct audit_rec r = { .cmd = "commit", .result = "ok" };
	char big[8192];
	struct rlimit old, lim;
	struct stat st;
	uint64_t c, b;
	int rc;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r.diff = big;
	assert_int_equal(stat(path, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = audit_append(path, &r, NULL, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, -1);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 2);
	r.diff = NULL;
	assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)), 0);
	assert_int_equal(audit_verify(path, &c, &b, err, sizeof(err)), 0);
	assert_int_equal(c, 3);
}

/* Records carry boot id and uptime; wall time going back is a warning. */
static void
test_clock_back_warned(void **state)
{
	const char *path = log_make("clock.log", 3);
	json_t *warn = json_array(), *o;
	char *s, hex[65], head[160];
	struct lines ls;
	uint64_t c, b;

	(void)state;
	lines_read(path, &ls);
	o = json_loads(ls.l[2], 0, NULL);
	assert_true(json_is_string(json_object_get(o, "boot")));
	assert_true(json_is_integer(json_object_get(o, "uptime_ms")));
	json_decref(o);
	for (int i = 0; i < ls.n; i++)
		free(ls.l[i]);
	assert_int_equal(audit_verify_warn(path, &c, &b, warn, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(json_array_size(warn), 0);
	/* Record 1 re-written 2 h ahead (a clock stepped back after it). */
	path = log_make("clock.log", 1);
	lines_read(path, &ls);
	o = json_loads(ls.l[0], 0, NULL);
	json_object_set_new(o, "time",
	    json_integer(
	        json_integer_value(json_object_get(o, "time")) + 7200));
	json_object_del(o, "hash");
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	sha_hex(s, strlen(s), hex);
	free(s);
	json_object_set_new(o, "hash", json_string(hex));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(ls.l[0]);
	assert_true(asprintf(&ls.l[0], "%s\n", s) > 0);
	free(s);
	lines_write(path, &ls);
	snprintf(head, sizeof(head), "{\"seq\":1,\"hash\":\"%s\"}\n", hex);
	head_put(path, head);
	{
		struct audit_rec r = { .cmd = "set", .result = "ok" };

		assert_int_equal(audit_append(path, &r, NULL, err, sizeof(err)),
		    0);
	}
	assert_int_equal(audit_verify_warn(path, &c, &b, warn, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(json_array_size(warn), 1);
	assert_non_null(strstr(json_string_value(json_array_get(warn, 0)),
	    "record 2: wall time goes back 7200 s from record 1 while"));
	json_decref(warn);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_verify),
		cmocka_unit_test(test_tamper_edit),
		cmocka_unit_test(test_tamper_rehash),
		cmocka_unit_test(test_tamper_delete),
		cmocka_unit_test(test_tamper_swap),
		cmocka_unit_test(test_tamper_truncate),
		cmocka_unit_test(test_broken_lines),
		cmocka_unit_test(test_torn_tail_cut),
		cmocka_unit_test(test_failed_write_cut_back),
		cmocka_unit_test(test_clock_back_warned),
		cmocka_unit_test(test_head_truncated),
		cmocka_unit_test(test_head_behind),
		cmocka_unit_test(test_head_behind_unwritable),
		cmocka_unit_test(test_head_matches_log),
		cmocka_unit_test(test_head_adopt),
		cmocka_unit_test(test_diff_cases),
		cmocka_unit_test(test_diff_random),
		cmocka_unit_test(test_merge3),
		cmocka_unit_test(test_merge3_random),
		cmocka_unit_test(test_merge3_rule_whole),
		cmocka_unit_test(test_merge3_moved_deleted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
