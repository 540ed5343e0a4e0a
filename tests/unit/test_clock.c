/*
 * cordond's deadline records (control/daemon/cd_clock.c): a deadline
 * written down in this boot comes back exactly in boot time, whatever
 * the wall clock did meanwhile; one from another boot (or with no boot
 * id) comes back as the wall-clock time it had left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/daemon/cd_util.h"

#define ID_A "0f8e3c2a-1111-4a5b-9c3d-000000000001"
#define ID_B "0f8e3c2a-1111-4a5b-9c3d-000000000002"

static void
test_same_boot_ignores_wall_steps(void **state)
{
	struct cd_clock_rec r = { .boot = 5000, .unix_s = 1800000000 };

	(void)state;
	strcpy(r.boot_id, ID_A);
	/* Now, 100 s later, with the wall clock 2 h back or 2 h ahead. */
	assert_int_equal(cd_clock_back(&r, ID_A, 1800000100 - 7200, 5100),
	    5000);
	assert_int_equal(cd_clock_back(&r, ID_A, 1800000100 + 7200, 5100),
	    5000);
}

static void
test_other_boot_maps_the_wall_clock(void **state)
{
	struct cd_clock_rec r = { .boot = 5000, .unix_s = 1800000000 };

	(void)state;
	strcpy(r.boot_id, ID_A);
	/* Rebooted: boot time 40 now, 60 s of wall clock left. */
	assert_int_equal(cd_clock_back(&r, ID_B, 1800000000 - 60, 40), 100);
	/* No boot id recorded (an older file): the same. */
	r.boot_id[0] = '\0';
	assert_int_equal(cd_clock_back(&r, ID_A, 1800000000 - 60, 40), 100);
	assert_int_equal(cd_clock_back(&r, "", 1800000000 - 60, 40), 100);
}

static void
test_json_round_trip(void **state)
{
	json_t *o = json_object();
	int64_t b = clk_boot_s() + 77;

	(void)state;
	cd_clock_put(o, "deadline", b);
	assert_true(json_is_integer(json_object_get(o, "deadline")));
	assert_string_equal(json_string_value(json_object_get(o, "boot_id")),
	    clk_boot_id());
	assert_int_equal(cd_clock_get(o, "deadline"), b);
	/* Without the boot-time member: from the wall clock, about b. */
	json_object_del(o, "deadline_boot");
	assert_in_range(cd_clock_get(o, "deadline"), b - 1, b + 1);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_boot_ignores_wall_steps),
		cmocka_unit_test(test_other_boot_maps_the_wall_clock),
		cmocka_unit_test(test_json_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
