/*
 * cordond's ranking of the top denied sources (control/daemon/cd_top.c):
 * keys counted under older revisions are named from those revisions'
 * files, one file read per revision however the revisions alternate in
 * the sketches (reading one per entry blocked cordond for seconds), and
 * every row gets the name of its own revision's rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/daemon/cd_top.h"
#include "control/daemon/cordond.h"
#include "core/top/top.h"

#define N 2000

static char dir[] = "/tmp/cordon-top-XXXXXX";
static struct policy pol;
static struct top_entry v[N];
static size_t idx[N];

/* Revision REV's file: one rule, named NAME. */
static void
rev_file(unsigned rev, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/revisions/%06u.conf", dir, rev);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f,
	    "rules = ( { name = \"%s\"; src = [ \"CN\" ]; "
	    "action = \"drop\"; } );\ndefault = { action = \"allow\"; };\n",
	    name);
	fclose(f);
}

static void
t_names_by_revision(void **state)
{
	struct cd d = { 0 };
	struct cd_top *t;
	char err[256];
	unsigned long before;
	size_t r2 = 0, r3 = 0;

	(void)state;
	assert_non_null(d.store = store_open(dir, err, sizeof(err)));
	rev_file(2, "old-two");
	rev_file(3, "old-three");
	/* Running: revision 4, whose one rule has another name. */
	pol.nrules = 1;
	snprintf(pol.rule[0].name, sizeof(pol.rule[0].name), "now");
	d.run.pol = &pol;
	d.run.rev = 4;
	d.dp_boot_rev = 2;
	/* Sources counted under revisions 0 (the boot one, 2) and 3, in
	 * turn, as a sketch holds them after two commits. */
	for (unsigned i = 0; i < N; i++) {
		v[i].k.af = 4;
		memcpy(v[i].k.src, &i, sizeof(i));
		v[i].k.revision = i % 2 ? 3 : 0;
		v[i].count = 1 + i;
	}
	t = malloc(sizeof(*t) + N * sizeof(t->row[0]));
	assert_non_null(t);
	before = cd_top_files_read();
	cd_top_rank(&d, v, N, idx, t);
	assert_true(cd_top_files_read() - before <= 4);
	assert_int_equal(t->n, N);
	for (size_t i = 0; i < t->n; i++) {
		unsigned src;

		memcpy(&src, t->row[i].addr, sizeof(src));
		assert_string_equal(t->row[i].rule,
		    src % 2 ? "old-three" : "old-two");
		r2 += src % 2 == 0;
		r3 += src % 2;
		if (i)
			assert_true(t->row[i - 1].packets >= t->row[i].packets);
	}
	assert_int_equal(r2, N / 2);
	assert_int_equal(r3, N / 2);
	free(t);
	store_close(d.store);
}

/*
 * A rule deleted by the last commit, counted under the two revisions
 * before it (the boot one and the next): one source, one row, its
 * counts summed, never two rows of the same source, country and rule
 * (a duplicate series for Prometheus, two lines for the admin).
 */
static void
t_same_name_one_row(void **state)
{
	struct cd d = { 0 };
	struct top_entry e[3] = { 0 };
	struct cd_top *t;
	char err[256];

	(void)state;
	assert_non_null(d.store = store_open(dir, err, sizeof(err)));
	rev_file(2, "gone");
	rev_file(3, "gone");
	d.run.pol = &pol;
	d.run.rev = 4;
	d.dp_boot_rev = 2;
	for (unsigned i = 0; i < 3; i++) {
		e[i].k.af = 4;
		e[i].k.src[0] = 198;
		e[i].k.revision = i == 1 ? 3 : 0;
		e[i].count = 10 * (i + 1);
		e[i].err = i;
	}
	e[2].k.src[0] = 203; /* another source */
	e[2].count = 25;
	t = malloc(sizeof(*t) + 3 * sizeof(t->row[0]));
	assert_non_null(t);
	cd_top_rank(&d, e, 3, idx, t);
	assert_int_equal(t->n, 2);
	assert_string_equal(t->row[0].src, "198.0.0.0");
	assert_string_equal(t->row[0].rule, "gone");
	assert_int_equal(t->row[0].packets, 30);
	assert_int_equal(t->row[0].err, 1);
	assert_string_equal(t->row[1].src, "203.0.0.0");
	assert_int_equal(t->row[1].packets, 25);
	free(t);
	store_close(d.store);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_names_by_revision),
		cmocka_unit_test(t_same_name_one_row),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
