/*
 * CORDON-MIB's values.  A request is answered from a snapshot: every
 * instance of the MIB with its value, sorted by OID, rebuilt from the
 * counters when it is older than CD_SNMP_CACHE_MS.  GET is a binary
 * search, GETNEXT the first instance after the asked OID; a walk sees
 * one consistent set of numbers, and the numbers are those
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

#define CD_SNMP_CACHE_MS 200
/* Session rows a walk shows at most (the lowest indexes). */
#define CD_SNMP_SESSIONS_MAX 4096
#define CD_SNMP_VARS_MAX                                                       \
	(64 + 2 * CDN_ACT_MAX + 2 * CDN_R_MAX + 6 * STATS_PORT_MAX +           \
	    4 * (POL_RULE_MAX + 1) + 3 * GEO_CC_MAX +                          \
	    3 * CD_SNMP_SESSIONS_MAX + 5 * CD_AL_MAX + 2 + 5 * CD_TOP_EXPORT)

const oid cd_snmp_root[CD_SNMP_ROOT_LEN] = { 1, 3, 6, 1, 4, 1,
	CD_SNMP_ENTERPRISE };

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
	struct cd_snmp_var *v;
	size_t n;
	int64_t built_ms;
	struct stats *s;
	netsnmp_handler_registration *reg;
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
static struct cd_snmp_var *
cd_var(unsigned group, const oid *sub, size_t n, u_char type)
{
	struct cd_snmp_var *v;

	if (cd_tab.n == CD_SNMP_VARS_MAX ||
	    CD_SNMP_ROOT_LEN + 2 + n > CD_SNMP_OID_MAX)
		return NULL;
	v = &cd_tab.v[cd_tab.n++];
	memset(v, 0, sizeof(*v));
	memcpy(v->name, cd_snmp_root, sizeof(cd_snmp_root));
	v->name[CD_SNMP_ROOT_LEN] = 1;
	v->name[CD_SNMP_ROOT_LEN + 1] = group;
	memcpy(v->name + CD_SNMP_ROOT_LEN + 2, sub, n * sizeof(oid));
	v->len = CD_SNMP_ROOT_LEN + 2 + n;
	v->type = type;
	return v;
}

static void
cd_var_num(unsigned group, oid a, oid b, oid c, u_char type, uint64_t num)
{
	oid sub[3] = { a, b, c };
	struct cd_snmp_var *v = cd_var(group, sub, c ? 3 : 2, type);

	if (v != NULL)
		v->num = num;
}

static void
cd_var_str(unsigned group, oid a, oid b, oid c, const void *s, size_t len)
{
	oid sub[3] = { a, b, c };
	struct cd_snmp_var *v = cd_var(group, sub, c ? 3 : 2, ASN_OCTET_STR);

	if (v == NULL)
		return;
	v->slen = len < sizeof(v->str) ? len : sizeof(v->str);
	memcpy(v->str, s, v->slen);
}

/* A table column cell: group.TABLE.1.COL.IDX. */
static void
cd_cell_num(unsigned group, oid table, oid col, oid idx, u_char type,
    uint64_t num)
{
	oid sub[4] = { table, 1, col, idx };
	struct cd_snmp_var *v = cd_var(group, sub, 4, type);

	if (v != NULL)
		v->num = num;
}

static void
cd_cell_str(unsigned group, oid table, oid col, oid idx, const char *s)
{
	oid sub[4] = { table, 1, col, idx };
	struct cd_snmp_var *v = cd_var(group, sub, 4, ASN_OCTET_STR);

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
	cd_var_num(g, 2, 0, 0, ASN_UNSIGNED, cd_u32((int64_t)d->run.rev));
	cd_var_str(g, 3, 0, 0, date, cd_date(epoch, date));
	cd_var_num(g, 4, 0, 0, ASN_UNSIGNED, cd_u32(epoch));
	cd_var_num(g, 5, 0, 0, ASN_UNSIGNED, cd_u32(age));
	cd_var_num(g, 6, 0, 0, ASN_INTEGER, stale ? 1 : 2);
	cd_var_num(g, 7, 0, 0, ASN_INTEGER, (uint64_t)dp_state[d->dp_state]);
	cd_var_num(g, 8, 0, 0, ASN_TIMETICKS,
	    cd_u32((clk_boot_s() - d->started_boot) * 100));
	cd_var_str(g, 9, 0, 0, date,
	    cd_date(up ? (int64_t)(d->dpst.started_unix_ns / 1000000000ull) : 0,
	        date));
	cd_var_num(g, 10, 0, 0, ASN_GAUGE, d->restarts);
	cd_var_num(g, 11, 0, 0, ASN_GAUGE,
	    cd_u32((int64_t)cd_snmp_deny_rate()));
	cd_var_num(g, 12, 0, 0, ASN_UNSIGNED, d->ctl.snmp.deny_rate_threshold);
}

static void
cd_build_totals(const struct stats *s, bool up)
{
	unsigned g = CD_O_TOTALS;

	cd_var_num(g, 1, 0, 0, ASN_COUNTER64, s->packets);
	cd_var_num(g, 2, 0, 0, ASN_COUNTER64, s->log_dropped);
	cd_var_num(g, 3, 0, 0, ASN_COUNTER64, s->log_suppressed);
	for (unsigned a = 0; up && a < CDN_ACT_MAX; a++) {
		cd_cell_str(g, 4, 2, a + 1, cdn_action_name(a));
		cd_cell_num(g, 4, 3, a + 1, ASN_COUNTER64, s->action[a]);
	}
	/* Reason 0 ("none": allowed) is not a reason, as in the CLI. */
	for (unsigned r = 1; up && r < CDN_R_MAX; r++) {
		cd_cell_str(g, 5, 2, r, cdn_reason_name(r));
		cd_cell_num(g, 5, 3, r, ASN_COUNTER64, s->reason[r]);
	}
	/*
	 * cordonFragTracked .. cordonFragExpired, cordonProxiedTracked ..
	 * cordonProxiedChanged, cordonEvidenceCaptured ..
	 * cordonEvidenceUnlogged: the X-macros' order is the MIB's.
	 */
	oid n = 6;
#define X(f) cd_var_num(g, n++, 0, 0, ASN_COUNTER64, s->frag.f);
	STATS_FRAG_FIELDS(X)
#undef X
#define X(f) cd_var_num(g, n++, 0, 0, ASN_COUNTER64, s->prx.f);
	STATS_PRX_FIELDS(X)
#undef X
#define X(f) cd_var_num(g, n++, 0, 0, ASN_COUNTER64, s->evid.f);
	STATS_EVID_FIELDS(X)
#undef X
	cd_var_num(g, 26, 0, 0, ASN_COUNTER64, s->tun_opaque);
	/* Carrier 0 ("none": the outer packet) is not a carrier. */
	for (unsigned k = 1; up && k < PKT_TUN_MAX; k++) {
		cd_cell_str(g, 27, 2, k, pkt_tun_name(k));
		cd_cell_num(g, 27, 3, k, ASN_COUNTER64, s->tun[k]);
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
		oid i = p + 1;

		snprintf(name, sizeof(name), "%.*s", DPC_NAME_MAX,
		    d->dpst.nports ? d->dpst.port[p]
		                   : d->run.conf->ports[p].name);
		cd_cell_str(CD_O_PORTS, 1, 2, i, name);
		cd_cell_num(CD_O_PORTS, 1, 3, i, ASN_COUNTER64, sp->rx_packets);
		cd_cell_num(CD_O_PORTS, 1, 4, i, ASN_COUNTER64, sp->rx_bytes);
		cd_cell_num(CD_O_PORTS, 1, 5, i, ASN_COUNTER64, sp->tx_packets);
		cd_cell_num(CD_O_PORTS, 1, 6, i, ASN_COUNTER64, sp->tx_bytes);
		cd_cell_num(CD_O_PORTS, 1, 7, i, ASN_COUNTER64, sp->tx_dropped);
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
		cd_cell_num(CD_O_RULES, 1, 3, id, ASN_INTEGER,
		    rc->e[i].action + 1);
		cd_cell_num(CD_O_RULES, 1, 4, id, ASN_COUNTER64,
		    cd_rulectr_hits(rc, i, s));
		cd_cell_num(CD_O_RULES, 1, 5, id, ASN_UNSIGNED,
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
		cd_cell_num(CD_O_COUNTRIES, 1, 3, c + 1, ASN_COUNTER64,
		    s->cc_packets[c]);
		cd_cell_num(CD_O_COUNTRIES, 1, 4, c + 1, ASN_COUNTER64,
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

	cd_var_num(CD_O_SESSIONS, 1, 0, 0, ASN_GAUGE, s ? s->n : 0);
	cd_var_num(CD_O_SESSIONS, 2, 0, 0, ASN_GAUGE, s ? s->cap : 0);
	for (unsigned i = 0; s && i < s->cap && rows < CD_SNMP_SESSIONS_MAX;
	     i++) {
		const struct cd_grant *g = s->g[i];
		oid sub[4] = { 3, 1, 4, 0 };
		struct cd_snmp_var *v;

		if (g == NULL)
			continue;
		rows++;
		cd_cell_str(CD_O_SESSIONS, 3, 2, g->sid, g->sub);
		cd_cell_str(CD_O_SESSIONS, 3, 3, g->sid, g->src);
		sub[3] = g->sid;
		if ((v = cd_var(CD_O_SESSIONS, sub, 4, ASN_OCTET_STR)) !=
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
		oid sub[4] = { 1, 1, 4, i + 1 };
		struct cd_snmp_var *v;

		if (!r->active)
			continue;
		cd_cell_str(CD_O_ALARMS, 1, 2, i + 1, cd_alarm_name(i));
		cd_cell_num(CD_O_ALARMS, 1, 3, i + 1, ASN_INTEGER,
		    (uint64_t)cd_alarm_sev(i) + 1);
		if ((v = cd_var(CD_O_ALARMS, sub, 4, ASN_OCTET_STR)) != NULL) {
			v->slen = cd_date(r->raised, date);
			memcpy(v->str, date, v->slen);
		}
		cd_cell_num(CD_O_ALARMS, 1, 5, i + 1, ASN_INTEGER,
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
	cd_var_num(CD_O_TOP, 1, 0, 0, ASN_UNSIGNED, t->window_s);
	cd_var_num(CD_O_TOP, 2, 0, 0, ASN_GAUGE, cd_u32((int64_t)t->total));
	for (size_t i = 0; i < t->n && i < CD_TOP_EXPORT; i++) {
		const struct cd_top_row *r = &t->row[i];
		oid k = (oid)i + 1;

		cd_cell_str(CD_O_TOP, 3, 2, k, r->src);
		cd_cell_str(CD_O_TOP, 3, 3, k, geo_cc_name(r->cc, cc));
		cd_cell_str(CD_O_TOP, 3, 4, k, r->rule);
		cd_cell_num(CD_O_TOP, 3, 5, k, ASN_GAUGE,
		    cd_u32((int64_t)r->packets));
		cd_cell_num(CD_O_TOP, 3, 6, k, ASN_GAUGE,
		    cd_u32((int64_t)r->err));
	}
	free(t);
}

static int
cd_var_cmp(const void *a, const void *b)
{
	const struct cd_snmp_var *x = a, *y = b;

	return snmp_oid_compare(x->name, x->len, y->name, y->len);
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
}

static void
cd_refresh(struct cd *d)
{
	if (cd_tab.built_ms == 0 ||
	    clk_mono_ms() - cd_tab.built_ms >= CD_SNMP_CACHE_MS)
		cd_build(d);
}

/* Requests ------------------------------------------------------------ */

/* Index of the first instance >= NAME (> NAME unless INCLUSIVE). */
static size_t
cd_find(const oid *name, size_t len, bool inclusive)
{
	size_t lo = 0, hi = cd_tab.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = snmp_oid_compare(cd_tab.v[mid].name, cd_tab.v[mid].len,
		    name, len);

		if (c < 0 || (c == 0 && !inclusive))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
cd_vb_set(netsnmp_variable_list *vb, const struct cd_snmp_var *v)
{
	struct counter64 c64;
	long l;
	u_long ul;

	switch (v->type) {
	case ASN_OCTET_STR:
		snmp_set_var_typed_value(vb, v->type, v->str, v->slen);
		break;
	case ASN_COUNTER64:
		c64.high = (u_long)(v->num >> 32);
		c64.low = (u_long)(v->num & 0xffffffffu);
		snmp_set_var_typed_value(vb, v->type, &c64, sizeof(c64));
		break;
	case ASN_INTEGER:
		l = (long)v->num;
		snmp_set_var_typed_value(vb, v->type, &l, sizeof(l));
		break;
	default:
		ul = (u_long)v->num;
		snmp_set_var_typed_value(vb, v->type, &ul, sizeof(ul));
		break;
	}
}

static void
cd_request_one(netsnmp_agent_request_info *ri, netsnmp_request_info *rq)
{
	netsnmp_variable_list *vb = rq->requestvb;
	size_t i;

	switch (ri->mode) {
	case MODE_GET:
		i = cd_find(vb->name, vb->name_length, true);
		if (i < cd_tab.n &&
		    snmp_oid_compare(cd_tab.v[i].name, cd_tab.v[i].len,
		        vb->name, vb->name_length) == 0)
			cd_vb_set(vb, &cd_tab.v[i]);
		else
			netsnmp_set_request_error(ri, rq, SNMP_NOSUCHINSTANCE);
		break;
	case MODE_GETNEXT:
		/* Nothing after it here: the agent asks the next subtree. */
		i = cd_find(vb->name, vb->name_length, rq->inclusive != 0);
		if (i < cd_tab.n) {
			snmp_set_var_objid(vb, cd_tab.v[i].name,
			    cd_tab.v[i].len);
			cd_vb_set(vb, &cd_tab.v[i]);
		}
		break;
	default:
		netsnmp_set_request_error(ri, rq, SNMP_ERR_NOTWRITABLE);
		break;
	}
}

static struct cd *cd_tab_d;

static int
cd_snmp_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *rq)
{
	(void)h;
	(void)reg;
	cd_refresh(cd_tab_d);
	for (; rq != NULL; rq = rq->next)
		if (!rq->processed)
			cd_request_one(ri, rq);
	return SNMP_ERR_NOERROR;
}

int
cd_snmp_tables_register(struct cd *d)
{
	oid root[CD_SNMP_ROOT_LEN + 1];

	cd_tab_d = d;
	cd_tab.v = calloc(CD_SNMP_VARS_MAX, sizeof(*cd_tab.v));
	cd_tab.s = calloc(1, sizeof(*cd_tab.s));
	if (cd_tab.v == NULL || cd_tab.s == NULL) {
		cd_log("snmp: out of memory");
		return -1;
	}
	memcpy(root, cd_snmp_root, sizeof(cd_snmp_root));
	root[CD_SNMP_ROOT_LEN] = 1; /* cordonObjects */
	cd_tab.reg = netsnmp_create_handler_registration("cordon",
	    cd_snmp_handler, root, CD_SNMP_ROOT_LEN + 1, HANDLER_CAN_RONLY);
	if (cd_tab.reg == NULL ||
	    netsnmp_register_handler(cd_tab.reg) != MIB_REGISTERED_OK) {
		cd_log("snmp: cannot register CORDON-MIB");
		cd_tab.reg = NULL;
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
cd_snmp_tables_vb(struct cd *d, netsnmp_variable_list **vars, const oid *sub,
    size_t n)
{
	oid name[CD_SNMP_OID_MAX];
	netsnmp_variable_list *vb;
	size_t i;

	if (cd_tab.v == NULL || CD_SNMP_ROOT_LEN + n > CD_SNMP_OID_MAX)
		return -1;
	memcpy(name, cd_snmp_root, sizeof(cd_snmp_root));
	memcpy(name + CD_SNMP_ROOT_LEN, sub, n * sizeof(oid));
	cd_build(d);
	i = cd_find(name, CD_SNMP_ROOT_LEN + n, true);
	if (i == cd_tab.n || snmp_oid_compare(cd_tab.v[i].name, cd_tab.v[i].len,
	                         name, CD_SNMP_ROOT_LEN + n) != 0)
		return -1;
	vb = snmp_varlist_add_variable(vars, name, CD_SNMP_ROOT_LEN + n,
	    ASN_NULL, NULL, 0);
	if (vb == NULL)
		return -1;
	cd_vb_set(vb, &cd_tab.v[i]);
	return 0;
}
