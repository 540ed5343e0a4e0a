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
	struct stats now;
	struct policy pol;
	uint32_t ids[POL_RULE_MAX];
};

static void
rig_policy(struct rig *g, const char *const *names)
{
	memset(&g->pol, 0, sizeof(g->pol));
	for (; names[g->pol.nrules] != NULL; g->pol.nrules++)
		snprintf(g->pol.rule[g->pol.nrules].name, POL_NAME_MAX, "%s",
		    names[g->pol.nrules]);
}

/*
 * A policy swap as the backends do it: fold, adopt from the same
 * reading.  Ids as cd_ruleid gives them without pins: by name, else
 * new; RENAMED (may be NULL) pins a name to another's id as `rename`.
 */
static void
rig_swap_renamed(struct rig *g, const char *const *names,
    const char *const *renamed)
{
	cd_rulectr_fold(&g->rc, &g->now);
	rig_policy(g, names);
	for (unsigned r = 0; r < g->pol.nrules; r++) {
		int o = cd_rulectr_find(&g->rc, names[r]);

		g->ids[r] = o >= 0 ? g->rc.e[o].id : g->rc.next_id++;
		for (unsigned k = 0; renamed && renamed[k]; k += 2)
			if (strcmp(renamed[k + 1], names[r]) == 0)
				g->ids[r] =
				    g->rc.e[cd_rulectr_find(&g->rc, renamed[k])]
				        .id;
	}
	cd_rulectr_adopt(&g->rc, &g->pol, g->ids, &g->now);
}

static void
rig_swap(struct rig *g, const char *const *names)
{
	rig_swap_renamed(g, names, NULL);
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
	return cd_rulectr_hits(&g->rc, (unsigned)i, &g->now);
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
	cd_rulectr_fold(&g->rc, &g->now);
	g->rc.unsure = true;
	g->now.rule[0] = 15;
	assert_int_equal(rig_hits(g, "a"), 10);
	rig_swap(g, v1);
	assert_int_equal(rig_hits(g, "a"), 10);
	g->now.rule[0] = 17;
	assert_int_equal(rig_hits(g, "a"), 12);
}

/* rename rule b to bee: bee keeps b's id and hits; b is gone. */
static void
test_rename_keeps_history(void **state)
{
	static const char *const v1[] = { "a", "b", NULL };
	static const char *const v2[] = { "a", "bee", NULL };
	static const char *const ren[] = { "b", "bee", NULL };
	static const char *const v3[] = { "a", "bee", "b", NULL };
	struct rig *g = *state;
	uint32_t id_b;

	rig_swap(g, v1);
	g->now.rule[1] = 11;
	id_b = g->rc.e[1].id;
	rig_swap_renamed(g, v2, ren);
	assert_int_equal(rig_find(g, "b"), -1);
	assert_int_equal(rig_hits(g, "bee"), 11);
	assert_int_equal(g->rc.e[rig_find(g, "bee")].id, id_b);
	g->now.rule[1] = 12;
	assert_int_equal(rig_hits(g, "bee"), 12);
	/* A new rule named b: a new id, from zero. */
	rig_swap(g, v3);
	assert_int_equal(rig_hits(g, "b"), 0);
	assert_true(g->rc.e[rig_find(g, "b")].id != id_b);
	assert_int_equal(rig_hits(g, "bee"), 12);
}

/* clear: one rule from zero, the others untouched; history follows. */
static void
test_clear(void **state)
{
	static const char *const v1[] = { "a", "b", NULL };
	static const char *const v2[] = { "b", "a", NULL };
	struct rig *g = *state;

	rig_swap(g, v1);
	g->now.rule[0] = 5;
	g->now.rule[1] = 7;
	rig_swap(g, v2);
	g->now.rule[0] += 1; /* b */
	cd_rulectr_clear(&g->rc, (unsigned)rig_find(g, "b"), &g->now, 1234);
	assert_int_equal(rig_hits(g, "b"), 0);
	assert_int_equal(rig_hits(g, "a"), 5);
	assert_int_equal(cd_rulectr_delta(&g->rc, 0, &g->now), 0);
	g->now.rule[0] += 3;
	assert_int_equal(rig_hits(g, "b"), 3);
	rig_swap(g, v1);
	assert_int_equal(rig_hits(g, "b"), 3);
	assert_int_equal(g->rc.e[rig_find(g, "b")].cleared, 1234);
}

/*
 * A cordond restart: the entries go through counters.json; the same
 * cordon-dp kept counting.  Nothing lost, nothing counted twice.
 */
static void
test_restart_same_enforcer(void **state)
{
	static const char *const v1[] = { "a", "b", NULL };
	struct rig *g = *state;
	struct cd_rulectr *back = calloc(1, sizeof(*back));
	json_t *o;

	rig_swap(g, v1);
	g->now.rule[1] = 20;
	rig_swap(g, v1); /* folded: b carries 20, base 20 */
	g->now.rule[1] = 26;
	snprintf(g->rc.inst, sizeof(g->rc.inst), "cordon-dp 7 99");
	snprintf(g->rc.hash, sizeof(g->rc.hash), "ab");
	o = cd_rulectr_to_json(&g->rc);
	cd_rulectr_init(back);
	assert_int_equal(cd_rulectr_from_json(back, o), 0);
	json_decref(o);
	g->now.rule[1] = 30; /* counted while cordond was down */
	assert_int_equal(cd_rulectr_resume(back, "cordon-dp 7 99", "ab"),
	    CD_RC_SAME);
	assert_int_equal(back->next_id, g->rc.next_id);
	assert_int_equal(cd_rulectr_hits(back, 1, &g->now), 30);
	cd_rulectr_fold(back, &g->now);
	assert_int_equal(cd_rulectr_hits(back, 1, &g->now), 30);
	assert_int_equal(back->e[1].id, g->rc.e[1].id);
	free(back);
}

/* Restored for another cordon-dp (or policy): totals kept, no guess. */
static void
test_restart_other_enforcer(void **state)
{
	static const char *const v1[] = { "a", NULL };
	struct rig *g = *state;
	struct cd_rulectr *back = calloc(1, sizeof(*back));
	json_t *o;

	rig_swap(g, v1);
	g->now.rule[0] = 8;
	rig_swap(g, v1);
	snprintf(g->rc.inst, sizeof(g->rc.inst), "cordon-dp 7 99");
	o = cd_rulectr_to_json(&g->rc);
	assert_int_equal(cd_rulectr_from_json(back, o), 0);
	json_decref(o);
	g->now.rule[0] = 50;
	assert_int_equal(cd_rulectr_resume(back, "cordon-dp 8 100", ""),
	    CD_RC_OTHER);
	assert_int_equal(cd_rulectr_hits(back, 0, &g->now), 8);
	/* Not a counters file: left as it was. */
	o = json_pack("{s:i}", "version", 9);
	assert_int_equal(cd_rulectr_from_json(back, o), -1);
	json_decref(o);
	o = cd_rulectr_to_json(&g->rc);
	json_object_set_new(json_array_get(json_object_get(o, "rules"), 0),
	    "action", json_integer(99));
	assert_int_equal(cd_rulectr_from_json(back, o), -1);
	json_decref(o);
	assert_int_equal(back->e[0].carried, 8);
	free(back);
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
		cmocka_unit_test_setup_teardown(test_rename_keeps_history,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_same_enforcer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_other_enforcer,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
