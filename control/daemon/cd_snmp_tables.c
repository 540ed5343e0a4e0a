/*
 * CORDON-MIB's values: a snapshot of every instance of the MIB with its
 * value, sorted by OID, rebuilt from the counters when it is older than
 * MON_SNMP_CACHE_MS.  The monitoring child answers GET (a binary search)
 * and GETNEXT (the first instance after the asked OID) from it; a walk
 * sees one consistent set of numbers, and the numbers are those
 * `cordonctl show counters` prints (the same dpc_stats_sum).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cd_snmp.h"
#include "control/daemon/cd_snmp_int.h"
#include "control/daemon/cd_top.h"
#include "core/stats/reasons.h"

/* Session rows a walk shows at most (the lowest indexes). */
#define CD_SNMP_SESSIONS_MAX 4096
#define CD_SNMP_VARS_MAX                                                       \
	(64 + 2 * CDN_ACT_MAX + 2 * CDN_R_MAX + 6 * STATS_PORT_MAX +           \
	    4 * (POL_RULE_MAX + 1) + 3 * GEO_CC_MAX +                          \
	    3 * CD_SNMP_SESSIONS_MAX + 5 * CD_AL_MAX + 2 + 5 * CD_TOP_EXPORT)

_Static_assert(CD_SNMP_VARS_MAX <= MON_SNMP_VARS_MAX, "snapshot size");
_Static_assert(CD_SNMP_ENTERPRISE == MON_SNMP_ENTERPRISE, "one number");

/* Subtrees under cordonObjects (root.1). */
enum {
	CD_O_SYSTEM = 1,
	CD_O_TOTALS,
	CD_O_PORTS,
	CD_O_RULES,
	CD_O_COUNTRIES,
	CD_O_SESSIONS,
	CD_O_ALARMS = 8, /* 7: cordonNotifyObjects */
	CD_O_TOP = 9,    /* cordonTop */
};

static struct {
	struct mon_snmp_var *v;
	size_t n;
	int64_t built_ms;
	uint64_t gen; /* builds */
	struct stats *s;
} cd_tab;

void
cd_snmp_tables_invalidate(void)
{
	cd_tab.built_ms = 0;
}

int
cd_snmp_counters(struct cd *d, struct stats *s)
{
	memset(s, 0, sizeof(*s));
	if (d->dp_state != CD_DP_UP)
		return -1;
	return d->be->counters(d, s);
}

uint64_t
cd_snmp_denied(const struct stats *s)
{
	uint64_t n = 0;

	for (unsigned a = 0; a < CDN_ACT_MAX; a++)
		if (a != CDN_ACT_ALLOW)
			n += s->action[a];
	return n;
}

bool
cd_snmp_geo_stale(struct cd *d, int64_t *epoch, int64_t *age)
{
	int64_t max = (int64_t)d->ctl.geo_max_age * 86400, now = clk_unix_s();

	*epoch = cd_geo_epoch(&d->run.geo);
	*age = *epoch && now > *epoch ? now - *epoch : 0;
	return max > 0 && *age > max;
}

/* Snapshot building ----------------------------------------------------- */

/* A new instance: root.1.GROUP.SUB... */
static struct mon_snmp_var *
cd_var(unsigned group, const uint32_t *sub, size_t n, uint32_t type)
{
	struct mon_snmp_var *v;

	if (cd_tab.n == CD_SNMP_VARS_MAX ||
	    MON_SNMP_ROOT_LEN + 2 + n > MON_SNMP_OID_MAX)
		return NULL;
	v = &cd_tab.v[cd_tab.n++];
	memset(v, 0, sizeof(*v));
	memcpy(v->name, mon_snmp_root, sizeof(mon_snmp_root));
	v->name[MON_SNMP_ROOT_LEN] = 1;
	v->name[MON_SNMP_ROOT_LEN + 1] = group;
	memcpy(v->name + MON_SNMP_ROOT_LEN + 2, sub, n * sizeof(uint32_t));
	v->len = MON_SNMP_ROOT_LEN + 2 + n;
	v->type = type;
	return v;
}

static void
cd_var_num(unsigned group, uint32_t a, uint32_t b, uint32_t c, uint32_t type,
    uint64_t num)
{
	uint32_t sub[3] = { a, b, c };
	struct mon_snmp_var *v = cd_var(group, sub, c ? 3 : 2, type);

	if (v != NULL)
		v->num = num;
}

static void
cd_var_str(unsigned group, uint32_t a, uint32_t b, uint32_t c, const void *s,
    size_t len)
{
	uint32_t sub[3] = { a, b, c };
	struct mon_snmp_var *v = cd_var(group, sub, c ? 3 : 2, MON_SNMP_OCTETS);

	if (v == NULL)
		return;
	v->slen = len < sizeof(v->str) ? len : sizeof(v->str);
	memcpy(v->str, s, v->slen);
}

/* A table column cell: group.TABLE.1.COL.IDX. */
static void
cd_cell_num(unsigned group, uint32_t table, uint32_t col, uint32_t idx,
    uint32_t type, uint64_t num)
{
	uint32_t sub[4] = { table, 1, col, idx };
	struct mon_snmp_var *v = cd_var(group, sub, 4, type);

	if (v != NULL)
		v->num = num;
}

static void
cd_cell_str(unsigned group, uint32_t table, uint32_t col, uint32_t idx,
    const char *s)
{
	uint32_t sub[4] = { table, 1, col, idx };
	struct mon_snmp_var *v = cd_var(group, sub, 4, MON_SNMP_OCTETS);

	if (v == NULL)
		return;
	v->slen = strnlen(s, sizeof(v->str));
	memcpy(v->str, s, v->slen);
}

/* DateAndTime in UTC (11 octets, direction '+' and offset 0). */
static size_t
cd_date(int64_t t, uint8_t out[11])
{
	time_t tt = (time_t)(t > 0 ? t : 0);
	struct tm tm;

	gmtime_r(&tt, &tm);
	out[0] = (uint8_t)((tm.tm_year + 1900) >> 8);
	out[1] = (uint8_t)(tm.tm_year + 1900);
	out[2] = (uint8_t)(tm.tm_mon + 1);
	out[3] = (uint8_t)tm.tm_mday;
	out[4] = (uint8_t)tm.tm_hour;
	out[5] = (uint8_t)tm.tm_min;
	out[6] = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	out[7] = 0;
	out[8] = '+';
	out[9] = 0;
	out[10] = 0;
	return 11;
}

static uint32_t
cd_u32(int64_t v)
{
	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void
cd_build_system(struct cd *d, bool up)
{
	static const long dp_state
	    [] = { [CD_DP_DOWN] = 3, [CD_DP_STARTING] = 2, [CD_DP_UP] = 1 };
	int64_t epoch, age;
	bool stale = cd_snmp_geo_stale(d, &epoch, &age);
	uint8_t date[11];
	unsigned g = CD_O_SYSTEM;

	cd_var_str(g, 1, 0, 0, CD_VERSION, strlen(CD_VERSION));
	cd_var_num(g, 2, 0, 0, MON_SNMP_UNSIGNED, cd_u32((int64_t)d->run.rev));
	cd_var_str(g, 3, 0, 0, date, cd_date(epoch, date));
	cd_var_num(g, 4, 0, 0, MON_SNMP_UNSIGNED, cd_u32(epoch));
	cd_var_num(g, 5, 0, 0, MON_SNMP_UNSIGNED, cd_u32(age));
	cd_var_num(g, 6, 0, 0, MON_SNMP_INTEGER, stale ? 1 : 2);
	cd_var_num(g, 7, 0, 0, MON_SNMP_INTEGER,
	    (uint64_t)dp_state[d->dp_state]);
	cd_var_num(g, 8, 0, 0, MON_SNMP_TIMETICKS,
	    cd_u32((clk_boot_s() - d->started_boot) * 100));
	cd_var_str(g, 9, 0, 0, date,
	    cd_date(up ? (int64_t)(d->dpst.started_unix_ns / 1000000000ull) : 0,
	        date));
	cd_var_num(g, 10, 0, 0, MON_SNMP_UNSIGNED, d->restarts);
	cd_var_num(g, 11, 0, 0, MON_SNMP_UNSIGNED,
	    cd_u32((int64_t)cd_snmp_deny_rate()));
	cd_var_num(g, 12, 0, 0, MON_SNMP_UNSIGNED,
	    d->ctl.snmp.deny_rate_threshold);
}

static void
cd_build_totals(const struct stats *s, bool up)
{
	unsigned g = CD_O_TOTALS;

	cd_var_num(g, 1, 0, 0, MON_SNMP_COUNTER64, s->packets);
	cd_var_num(g, 2, 0, 0, MON_SNMP_COUNTER64, s->log_dropped);
	cd_var_num(g, 3, 0, 0, MON_SNMP_COUNTER64, s->log_suppressed);
	for (unsigned a = 0; up && a < CDN_ACT_MAX; a++) {
		cd_cell_str(g, 4, 2, a + 1, cdn_action_name(a));
		cd_cell_num(g, 4, 3, a + 1, MON_SNMP_COUNTER64, s->action[a]);
	}
	/* Reason 0 ("none": allowed) is not a reason, as in the CLI. */
	for (unsigned r = 1; up && r < CDN_R_MAX; r++) {
		cd_cell_str(g, 5, 2, r, cdn_reason_name(r));
		cd_cell_num(g, 5, 3, r, MON_SNMP_COUNTER64, s->reason[r]);
	}
	/*
	 * cordonFragTracked .. cordonFragExpired, cordonProxiedTracked ..
	 * cordonProxiedChanged, cordonEvidenceCaptured ..
	 * cordonEvidenceUnlogged: the X-macros' order is the MIB's.
	 */
	uint32_t n = 6;
#define X(f) cd_var_num(g, n++, 0, 0, MON_SNMP_COUNTER64, s->frag.f);
	STATS_FRAG_FIELDS(X)
#undef X
#define X(f) cd_var_num(g, n++, 0, 0, MON_SNMP_COUNTER64, s->prx.f);
	STATS_PRX_FIELDS(X)
#undef X
#define X(f) cd_var_num(g, n++, 0, 0, MON_SNMP_COUNTER64, s->evid.f);
	STATS_EVID_FIELDS(X)
#undef X
	cd_var_num(g, 26, 0, 0, MON_SNMP_COUNTER64, s->tun_opaque);
	/* Carrier 0 ("none": the outer packet) is not a carrier. */
	for (unsigned k = 1; up && k < PKT_TUN_MAX; k++) {
		cd_cell_str(g, 27, 2, k, pkt_tun_name(k));
		cd_cell_num(g, 27, 3, k, MON_SNMP_COUNTER64, s->tun[k]);
	}
}

/* Port names as the counters reply has them. */
static void
cd_build_ports(struct cd *d, const struct stats *s)
{
	unsigned n = d->dpst.nports ? d->dpst.nports : d->run.conf->nports;

	for (unsigned p = 0; p < n && p < STATS_PORT_MAX; p++) {
		const struct stats_port *sp = &s->port[p];
		char name[DPC_NAME_MAX + 1];
		uint32_t i = p + 1;

		snprintf(name, sizeof(name), "%.*s", DPC_NAME_MAX,
		    d->dpst.nports ? d->dpst.port[p]
		                   : d->run.conf->ports[p].name);
		cd_cell_str(CD_O_PORTS, 1, 2, i, name);
		cd_cell_num(CD_O_PORTS, 1, 3, i, MON_SNMP_COUNTER64,
		    sp->rx_packets);
		cd_cell_num(CD_O_PORTS, 1, 4, i, MON_SNMP_COUNTER64,
		    sp->rx_bytes);
		cd_cell_num(CD_O_PORTS, 1, 5, i, MON_SNMP_COUNTER64,
		    sp->tx_packets);
		cd_cell_num(CD_O_PORTS, 1, 6, i, MON_SNMP_COUNTER64,
		    sp->tx_bytes);
		cd_cell_num(CD_O_PORTS, 1, 7, i, MON_SNMP_COUNTER64,
		    sp->tx_dropped);
	}
}

/*
 * A row per rule identity, indexed by its id (cd_rulectr.h): a commit
 * that inserts or moves rules changes their position column, not their
 * rows.  The default is id 1.
 */
static void
cd_build_rules(struct cd *d, const struct stats *s)
{
	const struct cd_rulectr *rc = d->rc;

	for (unsigned i = 0; i < rc->n; i++) {
		uint32_t id = rc->e[i].id;

		cd_cell_str(CD_O_RULES, 1, 2, id, rc->e[i].name);
		cd_cell_num(CD_O_RULES, 1, 3, id, MON_SNMP_INTEGER,
		    rc->e[i].action + 1);
		cd_cell_num(CD_O_RULES, 1, 4, id, MON_SNMP_COUNTER64,
		    cd_rulectr_hits(rc, i, s));
		cd_cell_num(CD_O_RULES, 1, 5, id, MON_SNMP_UNSIGNED,
		    cd_rulectr_pos(rc, i));
	}
}

/* The MIB numbers countries and special sub-regions 1..687. */
_Static_assert(GEO_CC_MAX == 687, "CORDON-MIB cordonCountryIndex range");

static void
cd_build_countries(const struct stats *s)
{
	char cc[GEO_CC_STRLEN];

	for (unsigned c = 0; c < GEO_CC_MAX; c++) {
		if (s->cc_packets[c] == 0)
			continue;
		cd_cell_str(CD_O_COUNTRIES, 1, 2, c + 1,
		    geo_cc_name((geo_cc_t)c, cc));
		cd_cell_num(CD_O_COUNTRIES, 1, 3, c + 1, MON_SNMP_COUNTER64,
		    s->cc_packets[c]);
		cd_cell_num(CD_O_COUNTRIES, 1, 4, c + 1, MON_SNMP_COUNTER64,
		    s->cc_denied[c]);
	}
}

/*
 * The grants in force (cd_sess.c), by session id; a walk shows the
 * first CD_SNMP_SESSIONS_MAX of them, the count says how many there are.
 */
static void
cd_build_sessions(struct cd *d)
{
	const struct cd_sessions *s = d->sess;
	unsigned rows = 0;
	uint8_t date[11];

	cd_var_num(CD_O_SESSIONS, 1, 0, 0, MON_SNMP_UNSIGNED, s ? s->n : 0);
	cd_var_num(CD_O_SESSIONS, 2, 0, 0, MON_SNMP_UNSIGNED, s ? s->cap : 0);
	for (unsigned i = 0; s && i < s->cap && rows < CD_SNMP_SESSIONS_MAX;
	     i++) {
		const struct cd_grant *g = s->g[i];
		uint32_t sub[4] = { 3, 1, 4, 0 };
		struct mon_snmp_var *v;

		if (g == NULL)
			continue;
		rows++;
		cd_cell_str(CD_O_SESSIONS, 3, 2, g->sid, g->sub);
		cd_cell_str(CD_O_SESSIONS, 3, 3, g->sid, g->src);
		sub[3] = g->sid;
		if ((v = cd_var(CD_O_SESSIONS, sub, 4, MON_SNMP_OCTETS)) !=
		    NULL) {
			v->slen = cd_date(cd_boot_to_unix(g->ends), date);
			memcpy(v->str, date, v->slen);
		}
	}
}

/* The active alarms (cd_alarm.h), indexed by alarm id + 1. */
static void
cd_build_alarms(struct cd *d)
{
	uint8_t date[11];

	for (unsigned i = 0; i < CD_AL_MAX; i++) {
		const struct cd_alarm_row *r = &d->alarms[i];
		uint32_t sub[4] = { 1, 1, 4, i + 1 };
		struct mon_snmp_var *v;

		if (!r->active)
			continue;
		cd_cell_str(CD_O_ALARMS, 1, 2, i + 1, cd_alarm_name(i));
		cd_cell_num(CD_O_ALARMS, 1, 3, i + 1, MON_SNMP_INTEGER,
		    (uint64_t)cd_alarm_sev(i) + 1);
		if ((v = cd_var(CD_O_ALARMS, sub, 4, MON_SNMP_OCTETS)) !=
		    NULL) {
			v->slen = cd_date(r->raised, date);
			memcpy(v->str, date, v->slen);
		}
		cd_cell_num(CD_O_ALARMS, 1, 5, i + 1, MON_SNMP_INTEGER,
		    r->acked_at ? 1 : 2);
		cd_cell_str(CD_O_ALARMS, 1, 6, i + 1, r->detail);
	}
}

/*
 * cordonTop: the first CD_TOP_EXPORT rows of `show top`, by rank; no
 * rows (and no window) when there is nothing to read.
 */
static void
cd_build_top(struct cd *d)
{
	struct cd_err e;
	struct cd_top *t = cd_top_get(d, &e);
	char cc[GEO_CC_STRLEN];

	if (t == NULL)
		return;
	cd_var_num(CD_O_TOP, 1, 0, 0, MON_SNMP_UNSIGNED, t->window_s);
	cd_var_num(CD_O_TOP, 2, 0, 0, MON_SNMP_UNSIGNED,
	    cd_u32((int64_t)t->total));
	for (size_t i = 0; i < t->n && i < CD_TOP_EXPORT; i++) {
		const struct cd_top_row *r = &t->row[i];
		uint32_t k = (uint32_t)i + 1;

		cd_cell_str(CD_O_TOP, 3, 2, k, r->src);
		cd_cell_str(CD_O_TOP, 3, 3, k, geo_cc_name(r->cc, cc));
		cd_cell_str(CD_O_TOP, 3, 4, k, r->rule);
		cd_cell_num(CD_O_TOP, 3, 5, k, MON_SNMP_UNSIGNED,
		    cd_u32((int64_t)r->packets));
		cd_cell_num(CD_O_TOP, 3, 6, k, MON_SNMP_UNSIGNED,
		    cd_u32((int64_t)r->err));
	}
	free(t);
}

static int
cd_var_cmp(const void *a, const void *b)
{
	const struct mon_snmp_var *x = a, *y = b;

	return mon_snmp_oid_cmp(x->name, x->len, y->name, y->len);
}

static void
cd_build(struct cd *d)
{
	bool up = cd_snmp_counters(d, cd_tab.s) == 0;

	cd_tab.n = 0;
	cd_build_system(d, up);
	cd_build_totals(cd_tab.s, up);
	if (up) {
		cd_build_ports(d, cd_tab.s);
		cd_build_rules(d, cd_tab.s);
		cd_build_countries(cd_tab.s);
		cd_build_top(d);
	}
	cd_build_sessions(d);
	cd_build_alarms(d);
	qsort(cd_tab.v, cd_tab.n, sizeof(cd_tab.v[0]), cd_var_cmp);
	cd_tab.built_ms = clk_mono_ms();
	cd_tab.gen++;
}

const struct mon_snmp_var *
cd_snmp_tables_get(struct cd *d, size_t *n, uint64_t *gen)
{
	if (cd_tab.built_ms == 0 ||
	    clk_mono_ms() - cd_tab.built_ms >= MON_SNMP_CACHE_MS)
		cd_build(d);
	*n = cd_tab.n;
	*gen = cd_tab.gen;
	return cd_tab.v;
}

int
cd_snmp_tables_alloc(void)
{
	cd_tab.v = calloc(CD_SNMP_VARS_MAX, sizeof(*cd_tab.v));
	cd_tab.s = calloc(1, sizeof(*cd_tab.s));
	if (cd_tab.v == NULL || cd_tab.s == NULL) {
		cd_log("snmp: out of memory");
		cd_snmp_tables_free();
		return -1;
	}
	return 0;
}

void
cd_snmp_tables_free(void)
{
	free(cd_tab.v);
	free(cd_tab.s);
	memset(&cd_tab, 0, sizeof(cd_tab));
}

int
cd_snmp_tables_var(struct cd *d, struct mon_snmp_var *out, const uint32_t *sub,
    size_t n)
{
	uint32_t name[MON_SNMP_OID_MAX];
	size_t lo = 0, hi;

	if (cd_tab.v == NULL || MON_SNMP_ROOT_LEN + n > MON_SNMP_OID_MAX)
		return -1;
	memcpy(name, mon_snmp_root, sizeof(mon_snmp_root));
	memcpy(name + MON_SNMP_ROOT_LEN, sub, n * sizeof(uint32_t));
	cd_build(d);
	hi = cd_tab.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mon_snmp_oid_cmp(cd_tab.v[mid].name, cd_tab.v[mid].len,
		    name, MON_SNMP_ROOT_LEN + n);

		if (c == 0) {
			*out = cd_tab.v[mid];
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
