/*
 * The two clocks an audit record carries: the wall clock ("time"), which
 * an operator or NTP can step, and the boot it was written in ("boot",
 * the kernel's boot id) with the time since that boot ("uptime_ms",
 * CLOCK_BOOTTIME), which never goes back within one boot.  audit_verify
 * uses them to report wall time going backwards between two records: a
 * warning about the clock, not a break in the chain.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"
#include "core/util/clock.h"

void
audit_clock_now(struct audit_clock *c)
{
	memset(c, 0, sizeof(*c));
	c->time = clk_unix_s();
	c->uptime_ms = clk_boot_ms();
	snprintf(c->boot, sizeof(c->boot), "%s", clk_boot_id());
}

void
audit_clock_get(json_t *o, struct audit_clock *c)
{
	const char *b = json_string_value(json_object_get(o, "boot"));
	json_t *up = json_object_get(o, "uptime_ms");

	memset(c, 0, sizeof(*c));
	c->time = json_integer_value(json_object_get(o, "time"));
	snprintf(c->boot, sizeof(c->boot), "%s", b ? b : "");
	c->uptime_ms = json_is_integer(up) ? json_integer_value(up) : -1;
}

/* A warning into WARN when wall time went back from record SEQ-1 to SEQ. */
void
audit_clock_check(const struct audit_clock *a, const struct audit_clock *b,
    uint64_t seq, json_t *warn)
{
	char msg[256];
	int n;

	if (warn == NULL || b->time >= a->time)
		return;
	n = snprintf(msg, sizeof(msg),
	    "record %" PRIu64 ": wall time goes "
	    "back %" PRId64 " s from record %" PRIu64,
	    seq, a->time - b->time, seq - 1);
	if (a->boot[0] != '\0' && strcmp(a->boot, b->boot) == 0 &&
	    a->uptime_ms >= 0 && b->uptime_ms >= a->uptime_ms)
		snprintf(msg + n, sizeof(msg) - (size_t)n,
		    " while %" PRId64 " ms passed (the clock was stepped back)",
		    b->uptime_ms - a->uptime_ms);
	json_array_append_new(warn, json_string(msg));
}
