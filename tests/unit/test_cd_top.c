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
	char err[256], path[300];
	unsigned long before;
	size_t r2 = 0, r3 = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
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
	for (unsigned r = 2; r <= 3; r++) {
		snprintf(path, sizeof(path), "%s/revisions/%06u.conf", dir, r);
		unlink(path);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_names_by_revision),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
