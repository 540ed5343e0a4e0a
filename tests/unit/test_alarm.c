/*
 * The alarm table (control/daemon/cd_alarm*.c, issue 14): conditions
 * follow their checks, an event stays and folds repeats, and the table
 * kept in the state folder comes back whole after a restart, so that a
 * condition still holding is not raised again and one gone is cleared.
 * SNMP and syslog are off here (no-ops); the checks are the test's.
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

#include "control/daemon/cordond.h"

static int test_cond[CD_AL_MAX]; /* what each check answers */
static unsigned test_own;        /* own notifications sent */

static int
test_check(struct cd *d, enum cd_alarm_id id, char *detail, size_t len)
{
	(void)d;
	snprintf(detail, len, "%s holds", cd_alarm_name(id));
	return cd_alarm_is_event(id) ? -1 : test_cond[id];
}

static void
test_notify_own(struct cd *d, enum cd_alarm_id id)
{
	(void)d;
	(void)id;
	test_own++;
}

static const struct cd_alarm_ops test_ops = { test_check, test_notify_own };

static struct cd *
test_cd(const char *dir)
{
	struct cd *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	snprintf(d->ctl.state_dir, sizeof(d->ctl.state_dir), "%s", dir);
	cd_alarm_load(d, &test_ops);
	return d;
}

static int
test_setup(void **state)
{
	char *dir = strdup("/tmp/cordon-alarm-XXXXXX");

	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < CD_AL_MAX; i++)
		test_cond[i] = 0;
	test_own = 0;
	*state = dir;
	return 0;
}

static int
test_teardown(void **state)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", (char *)*state, CD_ALARM_FILE);
	unlink(path);
	rmdir(*state);
	free(*state);
	return 0;
}

static void
test_catalog(void **state)
{
	(void)state;
	for (int i = 0; i < CD_AL_MAX; i++)
		assert_int_equal(cd_alarm_find(cd_alarm_name(i)), i);
	assert_int_equal(cd_alarm_find("no-such"), -1);
	assert_true(cd_alarm_is_event(CD_AL_DP_RESTARTED));
	assert_false(cd_alarm_is_event(CD_AL_GEO_STALE));
	assert_string_equal(cd_alarm_sev_name(CD_AL_AUDIT), "critical");
}

static void
test_condition_follows(void **state)
{
	struct cd *d = test_cd(*state);

	test_cond[CD_AL_GEO_STALE] = 1;
	cd_alarm_tick_now(d);
	assert_true(d->alarms[CD_AL_GEO_STALE].active);
	assert_int_equal(test_own, 1);
	cd_alarm_tick_now(d); /* still holds: not raised again */
	assert_int_equal(test_own, 1);
	test_cond[CD_AL_GEO_STALE] = -1; /* cannot tell: stays */
	cd_alarm_tick_now(d);
	assert_true(d->alarms[CD_AL_GEO_STALE].active);
	test_cond[CD_AL_GEO_STALE] = 0;
	cd_alarm_tick_now(d);
	assert_false(d->alarms[CD_AL_GEO_STALE].active);
	free(d);
}

static void
test_event_folds(void **state)
{
	struct cd *d = test_cd(*state);
	struct cd_alarm_row *r = &d->alarms[CD_AL_DP_RESTARTED];
	int64_t raised;

	cd_alarm_event(d, CD_AL_DP_RESTARTED, "first");
	raised = r->raised;
	r->acked_at = raised;
	cd_alarm_tick_now(d); /* the tick never clears an event */
	cd_alarm_event(d, CD_AL_DP_RESTARTED, "second");
	assert_true(r->active);
	assert_int_equal(r->count, 2);
	assert_int_equal(r->raised, raised);
	assert_int_equal(r->acked_at, 0); /* the admin has not seen it */
	assert_string_equal(r->detail, "second");
	cd_alarm_clear(d, CD_AL_DP_RESTARTED, "root");
	assert_false(r->active);
	free(d);
}

/* A restart: the kept table, then the first tick. */
static void
test_kept_across_restart(void **state)
{
	struct cd *d = test_cd(*state), *e;

	test_cond[CD_AL_GEO_STALE] = 1;
	test_cond[CD_AL_AUDIT] = 1;
	cd_alarm_tick_now(d);
	cd_alarm_event(d, CD_AL_DP_RESTARTED, "lost");
	d->alarms[CD_AL_GEO_STALE].acked_at = 42;
	snprintf(d->alarms[CD_AL_GEO_STALE].acked_by, 64, "alice");
	assert_int_equal(cd_alarm_save(d), 0);
	assert_int_equal(test_own, 3); /* every raise */

	test_cond[CD_AL_AUDIT] = 0; /* gone while cordond was down */
	e = test_cd(*state);
	for (int i = 0; i < CD_AL_MAX; i++)
		assert_int_equal(e->alarms[i].active, d->alarms[i].active);
	assert_int_equal(e->alarms[CD_AL_GEO_STALE].raised,
	    d->alarms[CD_AL_GEO_STALE].raised);
	assert_int_equal(e->alarms[CD_AL_GEO_STALE].acked_at, 42);
	assert_string_equal(e->alarms[CD_AL_GEO_STALE].acked_by, "alice");
	cd_alarm_tick_now(e);
	assert_int_equal(test_own, 3); /* nothing raised again */
	assert_true(e->alarms[CD_AL_GEO_STALE].active);
	assert_true(e->alarms[CD_AL_DP_RESTARTED].active);
	assert_false(e->alarms[CD_AL_AUDIT].active);
	free(d);
	free(e);
}

static void
test_unreadable_file_starts_empty(void **state)
{
	char path[512];
	struct cd *d;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", (char *)*state, CD_ALARM_FILE);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"alarms\": [ {\"name\": \"geo-stale\"", f);
	fclose(f);
	d = test_cd(*state);
	for (int i = 0; i < CD_AL_MAX; i++)
		assert_false(d->alarms[i].active);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalog),
		cmocka_unit_test_setup_teardown(test_condition_follows,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(test_event_folds, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(test_kept_across_restart,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(
		    test_unreadable_file_starts_empty, test_setup,
		    test_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
