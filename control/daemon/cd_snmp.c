/*
 * The AgentX subagent inside cordond.  net-snmp runs without its alarm
 * signal (NETSNMP_DS_LIB_ALARM_DONT_USE_SIG): each loop cordond asks it
 * for its descriptors and its next timer (snmp_select_info2), polls them
 * with its own, then lets it read (snmp_read2) and run its timers
 * (snmp_timeout, run_alarms).  The AgentX ping timer notices a master
 * agent that went away and reopens the session when it is back; the
 * registrations are sent again by net-snmp.  Notifications go to the
 * master agent, which forwards them to its trap and inform sinks.
 */
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

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

static const oid cd_trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

/* Scalars (root.1.GROUP.ID.0) and notify-only objects (root.1.7.ID.0). */
static const oid cd_o_rev[] = { 1, 1, 2, 0 };
static const oid cd_o_geo_time[] = { 1, 1, 3, 0 };
static const oid cd_o_geo_age[] = { 1, 1, 5, 0 };
static const oid cd_o_dp_state[] = { 1, 1, 7, 0 };
static const oid cd_o_deny_rate[] = { 1, 1, 11, 0 };
static const oid cd_o_deny_thr[] = { 1, 1, 12, 0 };
static const oid cd_o_sess_count[] = { 1, 6, 1, 0 };
static const oid cd_o_sess_cap[] = { 1, 6, 2, 0 };
static const oid cd_o_prev[] = { 1, 7, 1, 0 };
static const oid cd_o_detail[] = { 1, 7, 2, 0 };
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

uint64_t
cd_snmp_deny_rate(void)
{
	return cd_snmp.rate;
}

/*
 * net-snmp's messages go where cordond's go.  A message repeating the
 * previous one (the failed reconnect every ping_interval) is not logged
 * again until another one comes.
 */
static int
cd_snmp_log_cb(int major, int minor, void *arg, void *client)
{
	static char last[512];
	const struct snmp_log_message *m = arg;
	char buf[512];
	size_t n;

	(void)major;
	(void)minor;
	(void)client;
	snprintf(buf, sizeof(buf), "%s", m->msg ? m->msg : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || m->priority > LOG_INFO) {
		cd_debug("snmp: %s", buf);
		return 0;
	}
	if (strcmp(buf, last) == 0)
		return 0;
	memcpy(last, buf, sizeof(last));
	cd_log("snmp: %s", buf);
	return 0;
}

/* A subagent that reads no snmpd.conf, loads no MIB, saves no state. */
static void
cd_snmp_settings(struct cd *d)
{
	const struct conf_snmp *c = &d->ctl.snmp;

	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE,
	    1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_X_SOCKET, c->agentx_socket);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_ALARM_DONT_USE_SIG, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
	netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID,
	    NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
	/* The subagent answers by OID: MIB files are of no use to it. */
	setenv("MIBS", "", 1);
	setenv("MIBDIRS", "", 1);
	snmp_disable_log();
	snmp_register_callback(SNMP_CALLBACK_LIBRARY, SNMP_CALLBACK_LOGGING,
	    cd_snmp_log_cb, NULL);
	snmp_enable_calllog();
}

int
cd_snmp_start(struct cd *d)
{
	const struct conf_snmp *c = &d->ctl.snmp;

	if (!c->enabled)
		return 0;
	if ((cd_snmp.s = calloc(1, sizeof(*cd_snmp.s))) == NULL) {
		cd_log("snmp: out of memory");
		return -1;
	}
	cd_snmp_settings(d);
	if (init_agent("cordond") != 0) {
		cd_log("snmp: cannot initialise the AgentX subagent");
		return -1;
	}
	if (cd_snmp_tables_register(d) < 0)
		return -1;
	/*
	 * After init_agent, which sets its default (15 s): the ping timer
	 * both checks the master and, once it is gone, retries the session.
	 */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, (int)c->ping_interval);
	init_snmp("cordond");
	cd_snmp.on = true;
	cd_log("snmp: AgentX subagent for enterprise %d on %s (ping every "
	       "%u s)",
	    CD_SNMP_ENTERPRISE, c->agentx_socket, c->ping_interval);
	return 0;
}

void
cd_snmp_stop(struct cd *d)
{
	(void)d;
	if (!cd_snmp.on)
		return;
	snmp_shutdown("cordond");
	shutdown_agent();
	cd_snmp_tables_free();
	free(cd_snmp.s);
	cd_snmp.s = NULL;
	cd_snmp.on = false;
}

/* Poll integration ------------------------------------------------------ */

unsigned
cd_snmp_poll_fill(struct cd *d, struct pollfd *pfd, unsigned max,
    int *timeout_ms)
{
	netsnmp_large_fd_set fds;
	struct timeval tv;
	int nfds = 0, block = 1;
	unsigned n = 0;
	int64_t ms;

	(void)d;
	if (!cd_snmp.on)
		return 0;
	netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
	tv.tv_sec = *timeout_ms / 1000;
	tv.tv_usec = (*timeout_ms % 1000) * 1000;
	snmp_select_info2(&nfds, &fds, &tv, &block);
	for (int fd = 0; fd < nfds && n < max; fd++)
		if (NETSNMP_LARGE_FD_ISSET(fd, &fds))
			pfd[n++] =
			    (struct pollfd){ .fd = fd, .events = POLLIN };
	netsnmp_large_fd_set_cleanup(&fds);
	ms = cd_snmp.next_check_ms - clk_mono_ms();
	if (ms < *timeout_ms)
		*timeout_ms = ms < 0 ? 0 : (int)ms;
	if (!block) {
		ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
		if (ms < *timeout_ms)
			*timeout_ms = ms < 0 ? 0 : (int)ms;
	}
	return n;
}

static void
cd_snmp_read(const struct pollfd *pfd, unsigned n)
{
	netsnmp_large_fd_set fds;
	bool any = false;

	netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
	for (unsigned i = 0; i < n; i++)
		if (pfd[i].revents && pfd[i].fd >= 0 &&
		    pfd[i].fd < FD_SETSIZE) {
			NETSNMP_LARGE_FD_SET(pfd[i].fd, &fds);
			any = true;
		}
	if (any)
		snmp_read2(&fds);
	netsnmp_large_fd_set_cleanup(&fds);
}

/* Notifications --------------------------------------------------------- */

static void
cd_snmp_send(unsigned trap, netsnmp_variable_list *vars)
{
	netsnmp_variable_list *l = NULL;
	oid toid[CD_SNMP_ROOT_LEN + 2];

	memcpy(toid, cd_snmp_root, sizeof(cd_snmp_root));
	toid[CD_SNMP_ROOT_LEN] = 0;
	toid[CD_SNMP_ROOT_LEN + 1] = trap;
	snmp_varlist_add_variable(&l, cd_trap_oid,
	    sizeof(cd_trap_oid) / sizeof(oid), ASN_OBJECT_ID, toid,
	    sizeof(toid));
	l->next_variable = vars;
	send_v2trap(l);
	snmp_free_varbind(l);
}

static void
cd_vb_u32(netsnmp_variable_list **l, const oid *sub, size_t n, uint64_t v)
{
	oid name[CD_SNMP_OID_MAX];
	u_long u = v > UINT32_MAX ? UINT32_MAX : (u_long)v;

	memcpy(name, cd_snmp_root, sizeof(cd_snmp_root));
	memcpy(name + CD_SNMP_ROOT_LEN, sub, n * sizeof(oid));
	snmp_varlist_add_variable(l, name, CD_SNMP_ROOT_LEN + n, ASN_UNSIGNED,
	    &u, sizeof(u));
}

static void
cd_vb_str(netsnmp_variable_list **l, const oid *sub, size_t n, const char *s)
{
	oid name[CD_SNMP_OID_MAX];
	size_t len = strnlen(s, 255);

	memcpy(name, cd_snmp_root, sizeof(cd_snmp_root));
	memcpy(name + CD_SNMP_ROOT_LEN, sub, n * sizeof(oid));
	snmp_varlist_add_variable(l, name, CD_SNMP_ROOT_LEN + n, ASN_OCTET_STR,
	    s, len);
}

static void
cd_snmp_notify_rev(struct cd *d, unsigned trap, uint64_t rev, uint64_t prev,
    const char *detail)
{
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_invalidate();
	cd_vb_u32(&l, CD_SUB(cd_o_rev), rev);
	cd_vb_u32(&l, CD_SUB(cd_o_prev), prev);
	cd_vb_str(&l, CD_SUB(cd_o_detail), detail);
	cd_snmp_send(trap, l);
	(void)d;
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
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_geo_time));
	cd_vb_str(&l, CD_SUB(cd_o_detail), why);
	cd_snmp_send(CD_N_GEO_REFUSED, l);
}

void
cd_snmp_notify_dp(struct cd *d, bool up, const char *why)
{
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_invalidate();
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_dp_state));
	if (up)
		cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_rev));
	else
		cd_vb_str(&l, CD_SUB(cd_o_detail), why ? why : "");
	cd_snmp_send(up ? CD_N_DP_UP : CD_N_DP_DOWN, l);
}

void
cd_snmp_notify_sessions(struct cd *d, unsigned count, unsigned cap)
{
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_invalidate();
	cd_vb_u32(&l, CD_SUB(cd_o_sess_count), count);
	cd_vb_u32(&l, CD_SUB(cd_o_sess_cap), cap);
	cd_snmp_send(CD_N_SESSIONS_FULL, l);
	(void)d;
}

/*
 * The alarm's row, as the table has it while raised: cleared, the
 * notification still names it by its index.
 */
void
cd_snmp_notify_alarm(struct cd *d, bool raised, unsigned idx, const char *name,
    int sev, const char *text)
{
	netsnmp_variable_list *l = NULL;
	oid col[] = { 1, 8, 1, 1, CD_AC_NAME, idx };
	oid name_oid[CD_SNMP_OID_MAX];
	long v = sev;

	(void)d;
	if (!cd_snmp.on)
		return;
	cd_snmp_tables_invalidate();
	cd_vb_str(&l, CD_SUB(col), name);
	col[4] = CD_AC_SEVERITY;
	memcpy(name_oid, cd_snmp_root, sizeof(cd_snmp_root));
	memcpy(name_oid + CD_SNMP_ROOT_LEN, col, sizeof(col));
	snmp_varlist_add_variable(&l, name_oid,
	    CD_SNMP_ROOT_LEN + sizeof(col) / sizeof(col[0]), ASN_INTEGER, &v,
	    sizeof(v));
	col[4] = CD_AC_TEXT;
	cd_vb_str(&l, CD_SUB(col), text);
	cd_snmp_send(raised ? CD_N_ALARM_RAISED : CD_N_ALARM_CLEARED, l);
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
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_invalidate();
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_deny_rate));
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_deny_thr));
	cd_snmp_send(CD_N_DENY_RATE, l);
}

void
cd_snmp_notify_geo_stale(struct cd *d)
{
	netsnmp_variable_list *l = NULL;

	if (!cd_snmp.on)
		return;
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_geo_time));
	cd_snmp_tables_vb(d, &l, CD_SUB(cd_o_geo_age));
	cd_snmp_send(CD_N_GEO_STALE, l);
}

void
cd_snmp_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n)
{
	int64_t now;

	if (!cd_snmp.on)
		return;
	cd_snmp_read(pfd, n);
	snmp_timeout();
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	now = clk_mono_ms();
	if (now < cd_snmp.next_check_ms)
		return;
	cd_snmp.next_check_ms = now + CD_SNMP_CHECK_MS;
	cd_snmp_check_rate(d, now);
}

void
cd_snmp_counters_changed(void)
{
	cd_snmp_tables_invalidate();
}
