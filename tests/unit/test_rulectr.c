/*
 * Rule counters keyed by rule identity (control/daemon/cd_rulectr.c):
 * across a commit that inserts a rule at position 2 the old rule keeps
 * its hits and the new one starts at zero; a deleted rule's history
 * goes with it; a new cordon-dp (counters back at zero) is not a
 * negative delta.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/daemon/cd_rulectr.h"

struct rig {
	struct cd_rulectr rc;
	struct stats now, base;
	struct policy pol;
};

static void
rig_policy(struct rig *g, const char *const *names)
{
	memset(&g->pol, 0, sizeof(g->pol));
	for (; names[g->pol.nrules] != NULL; g->pol.nrules++)
		snprintf(g->pol.rule[g->pol.nrules].name, POL_NAME_MAX, "%s",
		    names[g->pol.nrules]);
}

/* A policy swap as the backends do it: fold, new base, adopt. */
static void
rig_swap(struct rig *g, const char *const *names)
{
	cd_rulectr_fold(&g->rc, &g->now, &g->base);
	g->base = g->now;
	rig_policy(g, names);
	cd_rulectr_adopt(&g->rc, &g->pol);
}

static int
rig_find(const struct rig *g, const char *name)
{
	for (unsigned i = 0; i < g->rc.n; i++)
		if (strcmp(g->rc.e[i].name, name) == 0)
			return (int)i;
	return -1;
}

static uint64_t
rig_hits(const struct rig *g, const char *name)
{
	int i = rig_find(g, name);

	assert_true(i >= 0);
	return cd_rulectr_hits(&g->rc, (unsigned)i, &g->now, &g->base);
}

static int
setup(void **state)
{
	struct rig *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return -1;
	cd_rulectr_init(&g->rc);
	*state = g;
	return 0;
}

static int
teardown(void **state)
{
	free(*state);
	return 0;
}

static void
test_insert_keeps_history(void **state)
{
	static const char *const v1[] = { "a", "b", "c", NULL };
	static const char *const v2[] = { "a", "new", "b", "c", NULL };
	struct rig *g = *state;
	uint32_t id_b;

	rig_swap(g, v1);
	g->now.rule[0] = 5;
	g->now.rule[1] = 29; /* b */
	g->now.rule[2] = 3;
	g->now.rule[STATS_RULE_DEFAULT] = 7;
	id_b = g->rc.e[rig_find(g, "b")].id;
	rig_swap(g, v2);
	assert_int_equal(rig_hits(g, "b"), 29);
	assert_int_equal(rig_hits(g, "new"), 0);
	assert_int_equal(rig_hits(g, "a"), 5);
	assert_int_equal(rig_hits(g, "c"), 3);
	assert_int_equal(rig_hits(g, "(default)"), 7);
	assert_int_equal(g->rc.e[rig_find(g, "b")].id, id_b);
	assert_int_equal(cd_rulectr_pos(&g->rc, (unsigned)rig_find(g, "b")), 3);
	assert_int_equal(g->rc.e[g->rc.n - 1].id, CD_RULECTR_DEFAULT_ID);
	/* Position 2 now counts for "new", position 3 for "b". */
	g->now.rule[1] += 2;
	g->now.rule[2] += 4;
	assert_int_equal(rig_hits(g, "new"), 2);
	assert_int_equal(rig_hits(g, "b"), 33);
	assert_true(g->rc.e[rig_find(g, "new")].id > id_b);
}

static void
test_delete_drops_history(void **state)
{
	static const char *const v1[] = { "a", "b", NULL };
	static const char *const v2[] = { "a", NULL };
	struct rig *g = *state;
	uint32_t id_b;

	rig_swap(g, v1);
	g->now.rule[1] = 9;
	id_b = g->rc.e[1].id;
	rig_swap(g, v2);
	assert_int_equal(rig_find(g, "b"), -1);
	rig_swap(g, v1); /* b again: a new rule, a new id */
	assert_int_equal(rig_hits(g, "b"), 0);
	assert_true(g->rc.e[rig_find(g, "b")].id != id_b);
}

static void
test_dataplane_restart(void **state)
{
	static const char *const v1[] = { "a", NULL };
	struct rig *g = *state;

	rig_swap(g, v1);
	g->now.rule[0] = 100;
	rig_swap(g, v1);
	memset(&g->now, 0, sizeof(g->now)); /* a new cordon-dp */
	g->now.rule[0] = 4;
	assert_int_equal(rig_hits(g, "a"), 104);
	rig_swap(g, v1);
	assert_int_equal(rig_hits(g, "a"), 104);
}

/* After a failed LOAD the positions may count for either policy. */
static void
test_unsure_credits_nobody(void **state)
{
	static const char *const v1[] = { "a", NULL };
	struct rig *g = *state;

	rig_swap(g, v1);
	g->now.rule[0] = 10;
	cd_rulectr_fold(&g->rc, &g->now, &g->base);
	g->base = g->now;
	g->rc.unsure = true;
	g->now.rule[0] = 15;
	assert_int_equal(rig_hits(g, "a"), 10);
	rig_swap(g, v1);
	assert_int_equal(rig_hits(g, "a"), 10);
	g->now.rule[0] = 17;
	assert_int_equal(rig_hits(g, "a"), 12);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_keeps_history,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_drops_history,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dataplane_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsure_credits_nobody,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
