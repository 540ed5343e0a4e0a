/*
 * cordond's clocks (docs/identity.md "Clocks").  Lifetimes -- a session's
 * max_ttl and requested ttl, the commit-confirm deadline, uptime, a freed
 * slot's hold -- are measured on CLOCK_BOOTTIME: it never steps with the
 * wall clock, and unlike CLOCK_MONOTONIC it goes on counting while the
 * machine is suspended, so a session granted for an hour ends an hour of
 * real time later.  It is system-wide: cordon-dp's workers compare the
 * shared table's expiries with it.  The poll loop's short timeouts use
 * CLOCK_MONOTONIC (cd_now_ms).  Token times (exp, nbf, iat) stay on the
 * wall clock (cd_unix).
 *
 * A boot-time deadline means nothing after a reboot, so what is written
 * down carries the wall-clock time too, and the boot id
 * (/proc/sys/kernel/random/boot_id) says which of the two to trust.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/daemon/cordond.h"

int64_t
cd_boot(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec;
}

const char *
cd_boot_id(void)
{
	static char id[40];
	FILE *f;

	if (id[0] != '\0')
		return id;
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "re")) == NULL)
		return "";
	if (fgets(id, sizeof(id), f) == NULL)
		id[0] = '\0';
	id[strcspn(id, "\n")] = '\0';
	fclose(f);
	return id;
}

int64_t
cd_boot_to_unix(int64_t b)
{
	return b - cd_boot() + cd_unix();
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
	json_object_set_new(o, "boot_id", json_string(cd_boot_id()));
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
	return cd_clock_back(&r, cd_boot_id(), cd_unix(), cd_boot());
}
