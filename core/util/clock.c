/* The clocks (clock.h): one clock_gettime per reading. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util/clock.h"

static uint64_t
clk_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t
clk_mono_ms(void)
{
	return (int64_t)(clk_ns(CLOCK_MONOTONIC) / 1000000);
}

uint64_t
clk_mono_ns(void)
{
	return clk_ns(CLOCK_MONOTONIC);
}

int64_t
clk_boot_s(void)
{
	return (int64_t)(clk_ns(CLOCK_BOOTTIME) / 1000000000);
}

int64_t
clk_boot_ms(void)
{
	return (int64_t)(clk_ns(CLOCK_BOOTTIME) / 1000000);
}

/*
 * Not time(2): glibc serves it from the coarse clock, which lags
 * CLOCK_REALTIME by up to a tick, so across a second boundary it says
 * S - 1 where another process (a token's issuer on this host) already
 * wrote S.
 */
int64_t
clk_unix_s(void)
{
	return (int64_t)(clk_ns(CLOCK_REALTIME) / 1000000000);
}

uint64_t
clk_unix_ns(void)
{
	return clk_ns(CLOCK_REALTIME);
}

int64_t
clk_boot_to_unix_s(int64_t b)
{
	int64_t off =
	    (int64_t)(clk_ns(CLOCK_REALTIME) - clk_ns(CLOCK_BOOTTIME));

	return b + (off + 500000000) / 1000000000;
}

const char *
clk_boot_id(void)
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
