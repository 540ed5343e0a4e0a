/*
 * cordond's SNMP (cd_snmp.h): the notifications' variables, picked from
 * the values of the moment, and the periodic checks (deny rate, geo
 * age) that raise alarms.  The notifications go to the monitoring child
 * (cd_snmp_mon.c), whose subagent sends them to the master agent, which
 * forwards them to its trap and inform sinks.
 */
#include <stdlib.h>
#include <string.h>

#include "control/daemon/cd_snmp.h"
#include "control/daemon/cd_snmp_int.h"

#define CD_SNMP_CHECK_MS 1000 /* deny rate and geo age */

/* Notifications, under cordonNotifications (root.0). */
enum {
	CD_N_COMMITTED = 1,
	CD_N_ROLLED_BACK,
	CD_N_GEO_STALE,
	CD_N_GEO_REFUSED,
	CD_N_DP_DOWN,
	CD_N_DP_UP,
	CD_N_DENY_RATE,
	CD_N_SESSIONS_FULL,
	CD_N_ALARM_RAISED,
	CD_N_ALARM_CLEARED
};
_Static_assert(CD_N_ALARM_CLEARED == MON_SNMP_TRAP_MAX, "trap numbers");

/* Scalars (root.1.GROUP.ID.0) and notify-only objects (root.1.7.ID.0). */
static const uint32_t cd_o_rev[] = { 1, 1, 2, 0 };
static const uint32_t cd_o_geo_time[] = { 1, 1, 3, 0 };
static const uint32_t cd_o_geo_age[] = { 1, 1, 5, 0 };
static const uint32_t cd_o_dp_state[] = { 1, 1, 7, 0 };
static const uint32_t cd_o_deny_rate[] = { 1, 1, 11, 0 };
static const uint32_t cd_o_deny_thr[] = { 1, 1, 12, 0 };
static const uint32_t cd_o_sess_count[] = { 1, 6, 1, 0 };
static const uint32_t cd_o_sess_cap[] = { 1, 6, 2, 0 };
static const uint32_t cd_o_prev[] = { 1, 7, 1, 0 };
static const uint32_t cd_o_detail[] = { 1, 7, 2, 0 };
/* cordonAlarmEntry columns (root.1.8.1.1.COL.IDX). */
enum { CD_AC_NAME = 2, CD_AC_SEVERITY, CD_AC_RAISED, CD_AC_ACKED, CD_AC_TEXT };

#define CD_SUB(a) (a), sizeof(a) / sizeof((a)[0])

static struct {
	bool on;
	int64_t next_check_ms;
	int64_t rate_ms; /* when DENIED was taken; 0: not yet */
	uint64_t denied;
	uint64_t rate;   /* packets denied per second */
	bool rate_known; /* RATE is of two samples */
	struct stats *s; /* scratch for the rate */
} cd_snmp;

/* A notification's variables. */
struct cd_vl {
	struct mon_snmp_var v[MON_SNMP_TRAP_VARS];
	unsigned n;
};

uint64_t
cd_snmp_deny_rate(void)
{
	return cd_snmp.rate;
}

int
cd_snmp_start(struct cd *d)
{
	const struct conf_snmp *c = &d->ctl.snmp;

	if (!c->enabled)
		return 0;
	if ((cd_snmp.s = calloc(1, sizeof(*cd_snmp.s))) == NULL ||
	    cd_snmp_tables_alloc() < 0) {
		cd_log("snmp: out of memory");
		free(cd_snmp.s);
		cd_snmp.s = NULL;
		return -1;
	}
	cd_snmp.on = true;
	cd_log("snmp: CORDON-MIB (enterprise %d) through the monitoring "
	       "child's AgentX subagent on %s (ping every %u s)",
	    CD_SNMP_ENTERPRISE, c->agentx_socket, c->ping_interval);
	return 0;
}

void
cd_snmp_stop(struct cd *d)
{
	(void)d;
	if (!cd_snmp.on)
		return;
	cd_snmp_tables_free();
	free(cd_snmp.s);
	cd_snmp.s = NULL;
	cd_snmp.on = false;
}

unsigned
cd_snmp_poll_fill(struct cd *d, struct pollfd *pfd, unsigned max,
    int *timeout_ms)
{
	int64_t ms;

	(void)d;
	(void)pfd;
	(void)max;
	if (!cd_snmp.on)
		return 0;
	ms = cd_snmp.next_check_ms - clk_mono_ms();
	if (ms < *timeout_ms)
		*timeout_ms = ms < 0 ? 0 : (int)ms;
	return 0;
}

/* Notifications --------------------------------------------------------- */

static void
cd_vl_u32(struct cd_vl *l, const uint32_t *sub, size_t n, uint64_t v)
{
	struct mon_snmp_var *x = &l->v[l->n++];

	memset(x, 0, sizeof(*x));
	memcpy(x->name, mon_snmp_root, sizeof(mon_snmp_root));
	memcpy(x->name + MON_SNMP_ROOT_LEN, sub, n * sizeof(uint32_t));
	x->len = MON_SNMP_ROOT_LEN + n;
	x->type = MON_SNMP_UNSIGNED;
	x->num = v > UINT32_MAX ? UINT32_MAX : v;
}

/* A string of at most MON_SNMP_STR_MAX bytes (a longer one is cut). */
static void
cd_vl_str(struct cd_vl *l, const uint32_t *sub, size_t n, const char *s)
{
	struct mon_snmp_var *x = &l->v[l->n];

	cd_vl_u32(l, sub, n, 0);
	x->type = MON_SNMP_OCTETS;
	x->slen = strnlen(s, sizeof(x->str));
	memcpy(x->str, s, x->slen);
}

/* The current value of root.SUB, when there is one. */
static void
cd_vl_cur(struct cd *d, struct cd_vl *l, const uint32_t *sub, size_t n)
{
	if (cd_snmp_tables_var(d, &l->v[l->n], sub, n) == 0)
		l->n++;
}

static void
cd_snmp_notify_rev(struct cd *d, unsigned trap, uint64_t rev, uint64_t prev,
    const char *detail)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_snmp_mon_stale(d);
	cd_vl_u32(&l, CD_SUB(cd_o_rev), rev);
	cd_vl_u32(&l, CD_SUB(cd_o_prev), prev);
	cd_vl_str(&l, CD_SUB(cd_o_detail), detail);
	cd_snmp_mon_trap(d, trap, l.v, l.n);
}

void
cd_snmp_notify_commit(struct cd *d, uint64_t rev, uint64_t prev)
{
	char detail[96];

	snprintf(detail, sizeof(detail), "revision %lu committed (was %lu)",
	    (unsigned long)rev, (unsigned long)prev);
	cd_snmp_notify_rev(d, CD_N_COMMITTED, rev, prev, detail);
}

void
cd_snmp_notify_rollback(struct cd *d, uint64_t rev, uint64_t prev,
    const char *detail)
{
	cd_snmp_notify_rev(d, CD_N_ROLLED_BACK, rev, prev, detail);
}

void
cd_snmp_notify_geo_refused(struct cd *d, const char *why)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_vl_cur(d, &l, CD_SUB(cd_o_geo_time));
	cd_vl_str(&l, CD_SUB(cd_o_detail), why);
	cd_snmp_mon_trap(d, CD_N_GEO_REFUSED, l.v, l.n);
}

void
cd_snmp_notify_dp(struct cd *d, bool up, const char *why)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_snmp_mon_stale(d);
	cd_vl_cur(d, &l, CD_SUB(cd_o_dp_state));
	if (up)
		cd_vl_cur(d, &l, CD_SUB(cd_o_rev));
	else
		cd_vl_str(&l, CD_SUB(cd_o_detail), why ? why : "");
	cd_snmp_mon_trap(d, up ? CD_N_DP_UP : CD_N_DP_DOWN, l.v, l.n);
}

void
cd_snmp_notify_sessions(struct cd *d, unsigned count, unsigned cap)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_snmp_mon_stale(d);
	cd_vl_u32(&l, CD_SUB(cd_o_sess_count), count);
	cd_vl_u32(&l, CD_SUB(cd_o_sess_cap), cap);
	cd_snmp_mon_trap(d, CD_N_SESSIONS_FULL, l.v, l.n);
}

/*
 * The alarm's row, as the table has it while raised: cleared, the
 * notification still names it by its index.
 */
void
cd_snmp_notify_alarm(struct cd *d, bool raised, unsigned idx, const char *name,
    int sev, const char *text)
{
	struct cd_vl l = { .n = 0 };
	uint32_t col[] = { 1, 8, 1, 1, CD_AC_NAME, idx };

	if (!cd_snmp.on)
		return;
	cd_snmp_mon_stale(d);
	cd_vl_str(&l, CD_SUB(col), name);
	col[4] = CD_AC_SEVERITY;
	cd_vl_u32(&l, CD_SUB(col), sev < 0 ? 0 : (uint64_t)sev);
	l.v[l.n - 1].type = MON_SNMP_INTEGER;
	col[4] = CD_AC_TEXT;
	cd_vl_str(&l, CD_SUB(col), text);
	cd_snmp_mon_trap(d, raised ? CD_N_ALARM_RAISED : CD_N_ALARM_CLEARED,
	    l.v, l.n);
}

/* Periodic checks ------------------------------------------------------- */

/* Denied packets per second: the deny-rate-high alarm follows it
 * (cd_alarm_tick). */
static void
cd_snmp_check_rate(struct cd *d, int64_t now)
{
	struct stats *s = cd_snmp.s;
	uint64_t denied;

	if (cd_snmp_counters(d, s) < 0) {
		cd_snmp.rate_ms = 0;
		cd_snmp.rate = 0;
		cd_snmp.rate_known = false;
		return;
	}
	denied = cd_snmp_denied(s);
	cd_snmp.rate_known = cd_snmp.rate_ms != 0 && now > cd_snmp.rate_ms &&
	                     denied >= cd_snmp.denied;
	if (cd_snmp.rate_known)
		cd_snmp.rate = (denied - cd_snmp.denied) * 1000 /
		               (uint64_t)(now - cd_snmp.rate_ms);
	else
		cd_snmp.rate = 0; /* first sample, or cordon-dp restarted */
	cd_snmp.denied = denied;
	cd_snmp.rate_ms = now;
}

int
cd_snmp_deny_rate_high(struct cd *d, char *detail, size_t len)
{
	unsigned thr = d->ctl.snmp.deny_rate_threshold;

	if (!cd_snmp.on || thr == 0)
		return 0;
	if (!cd_snmp.rate_known)
		return -1;
	if (cd_snmp.rate <= thr)
		return 0;
	snprintf(detail, len, "denied packets: %lu/s over %u/s",
	    (unsigned long)cd_snmp.rate, thr);
	return 1;
}

void
cd_snmp_notify_deny_rate(struct cd *d)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_snmp_mon_stale(d);
	cd_vl_cur(d, &l, CD_SUB(cd_o_deny_rate));
	cd_vl_cur(d, &l, CD_SUB(cd_o_deny_thr));
	cd_snmp_mon_trap(d, CD_N_DENY_RATE, l.v, l.n);
}

void
cd_snmp_notify_geo_stale(struct cd *d)
{
	struct cd_vl l = { .n = 0 };

	if (!cd_snmp.on)
		return;
	cd_vl_cur(d, &l, CD_SUB(cd_o_geo_time));
	cd_vl_cur(d, &l, CD_SUB(cd_o_geo_age));
	cd_snmp_mon_trap(d, CD_N_GEO_STALE, l.v, l.n);
}

void
cd_snmp_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n)
{
	int64_t now;

	(void)pfd;
	(void)n;
	if (!cd_snmp.on)
		return;
	now = clk_mono_ms();
	if (now < cd_snmp.next_check_ms)
		return;
	cd_snmp.next_check_ms = now + CD_SNMP_CHECK_MS;
	cd_snmp_check_rate(d, now);
}

void
cd_snmp_counters_changed(struct cd *d)
{
	if (cd_snmp.on)
		cd_snmp_mon_stale(d);
}

bool
cd_snmp_on(void)
{
	return cd_snmp.on;
}
