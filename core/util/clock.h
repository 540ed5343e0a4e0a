/*
 * The clocks, in one place (docs/architecture.md "State, faults and
 * time").  Each caller keeps the clock its job needs:
 *   - CLOCK_MONOTONIC (clk_mono_*): timeouts, retries, rate limits and
 *     durations; never steps, stops while the machine is suspended.
 *   - CLOCK_BOOTTIME (clk_boot_*): lifetimes (sessions, commit-confirm,
 *     uptime); never steps, counts suspended time, system-wide, so
 *     cordond and cordon-dp's workers compare the same seconds.
 *   - CLOCK_REALTIME (clk_unix_*): what is shown or claimed (token exp,
 *     audit records, log stamps).
 * Not for the fast path's per-packet code: these are system calls (vDSO
 * or not); workers use the TSC and the boot second the main lcore
 * publishes.
 */
#ifndef CORDON_CLOCK_H
#define CORDON_CLOCK_H

#include <stdint.h>

int64_t clk_mono_ms(void);
uint64_t clk_mono_ns(void);
int64_t clk_boot_s(void);
int64_t clk_boot_ms(void);
int64_t clk_unix_s(void);
uint64_t clk_unix_ns(void);
/*
 * The wall-clock second of boot-time second B.  The offset between the
 * two clocks is read in nanoseconds and rounded once, so two callers
 * converting the same B agree (whole-second readings of each clock
 * would differ by one whenever their fractions straddle a second).
 */
int64_t clk_boot_to_unix_s(int64_t b);
/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unreadable. */
const char *clk_boot_id(void);

#endif
