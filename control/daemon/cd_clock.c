/*
 * cordond's clocks (docs/identity.md "Clocks").  Lifetimes -- a session's
 * max_ttl and requested ttl, the commit-confirm deadline, uptime, a freed
 * slot's hold -- are measured on CLOCK_BOOTTIME: it never steps with the
 * wall clock, and unlike CLOCK_MONOTONIC it goes on counting while the
 * machine is suspended, so a session granted for an hour ends an hour of
 * real time later.  It is system-wide: cordon-dp's workers compare the
 * shared table's expiries with it.  The poll loop's short timeouts use
 * CLOCK_MONOTONIC (clk_mono_ms).  Token times (exp, nbf, iat) stay on
 * the wall clock (clk_unix_s).  The clocks themselves are core/util/clock.h.
 *
 * A boot-time deadline means nothing after a reboot, so what is written
 * down carries the wall-clock time too, and the boot id
 * (/proc/sys/kernel/random/boot_id) says which of the two to trust.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_util.h"

int64_t
cd_boot_to_unix(int64_t b)
{
	return clk_boot_to_unix_s(b);
}

int64_t
cd_clock_back(const struct cd_clock_rec *r, const char *boot_id,
    int64_t now_unix, int64_t now_boot)
{
	/* Same boot: boot time has run on untouched by any wall step. */
	if (r->boot_id[0] != '\0' && strcmp(r->boot_id, boot_id) == 0)
		return r->boot;
	/* Another boot (or an old record): the wall clock is all there is. */
	return r->unix_s - now_unix + now_boot;
}

void
cd_clock_put(json_t *o, const char *key, int64_t boot)
{
	char k[64];

	snprintf(k, sizeof(k), "%s_boot", key);
	json_object_set_new(o, key, json_integer(cd_boot_to_unix(boot)));
	json_object_set_new(o, k, json_integer(boot));
	json_object_set_new(o, "boot_id", json_string(clk_boot_id()));
}

int64_t
cd_clock_get(const json_t *o, const char *key)
{
	struct cd_clock_rec r = { .unix_s = 0 };
	const char *id = json_string_value(json_object_get(o, "boot_id"));
	char k[64];

	snprintf(k, sizeof(k), "%s_boot", key);
	r.unix_s = json_integer_value(json_object_get(o, key));
	if (id != NULL && json_is_integer(json_object_get(o, k))) {
		snprintf(r.boot_id, sizeof(r.boot_id), "%s", id);
		r.boot = json_integer_value(json_object_get(o, k));
	}
	return cd_clock_back(&r, clk_boot_id(), clk_unix_s(), clk_boot_s());
}
