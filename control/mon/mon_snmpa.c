/*
 * The monitoring child's AgentX subagent (mon_snmpa.h): net-snmp's
 * setup, CORDON-MIB's handler over the snapshot, the notifications.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmpa.h"
#include "core/util/clock.h"

struct mon_snmpa_stats mon_snmpa_st;
struct mon_child *mon_snmpa_m;
bool mon_snmpa_busy;

static const oid mon_trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 };

static struct {
	bool on;
	struct mon_snmp_var *v; /* the snapshot: N records, sorted */
	size_t n;
	int64_t got_ms; /* when it came; 0: none */
	bool stale;     /* cordond said so */
	/* notifications that came during a wait */
	uint8_t trapq[MON_SNMPA_TRAPQ]
	             [sizeof(struct mon_snmp_trap) +
	                 MON_SNMP_TRAP_VARS * sizeof(struct mon_snmp_var)];
	unsigned nq;
} sa;

/*
 * net-snmp's messages go to cordond's log.  A message repeating the
 * previous one (the failed reconnect every ping_interval) is not logged
 * again until another one comes.
 */
static int
mon_snmpa_log_cb(int major, int minor, void *arg, void *client)
{
	static char last[512];
	const struct snmp_log_message *lm = arg;
	char buf[512];
	size_t n;

	(void)major;
	(void)minor;
	(void)client;
	snprintf(buf, sizeof(buf), "%s", lm->msg ? lm->msg : "");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || lm->priority > LOG_INFO || strcmp(buf, last) == 0)
		return 0;
	memcpy(last, buf, sizeof(last));
	for (char *c = buf; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	proc_log(mon_snmpa_m->fd, "snmp: %s", buf);
	return 0;
}

/* OID of net-snmp against one of ours. */
static int
mon_snmpa_cmp(const struct mon_snmp_var *v, const oid *name, size_t len)
{
	size_t n = v->len < len ? v->len : len;

	for (size_t i = 0; i < n; i++)
		if (v->name[i] != name[i])
			return v->name[i] < name[i] ? -1 : 1;
	return v->len < len ? -1 : v->len > len;
}

/* Index of the first instance >= NAME (> NAME unless INCLUSIVE). */
static size_t
mon_snmpa_find(const oid *name, size_t len, bool inclusive)
{
	size_t lo = 0, hi = sa.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mon_snmpa_cmp(&sa.v[mid], name, len);

		if (c < 0 || (c == 0 && !inclusive))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
mon_snmpa_set(netsnmp_variable_list *vb, const struct mon_snmp_var *v)
{
	struct counter64 c64;
	long l;
	u_long ul;

	switch (v->type) {
	case MON_SNMP_OCTETS:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, v->str, v->slen);
		break;
	case MON_SNMP_COUNTER64:
		c64.high = (u_long)(v->num >> 32);
		c64.low = (u_long)(v->num & 0xffffffffu);
		snmp_set_var_typed_value(vb, ASN_COUNTER64, &c64, sizeof(c64));
		break;
	case MON_SNMP_INTEGER:
		l = (long)v->num;
		snmp_set_var_typed_value(vb, ASN_INTEGER, &l, sizeof(l));
		break;
	case MON_SNMP_TIMETICKS:
		ul = (u_long)v->num;
		snmp_set_var_typed_value(vb, ASN_TIMETICKS, &ul, sizeof(ul));
		break;
	default:
		ul = (u_long)v->num;
		snmp_set_var_typed_value(vb, ASN_UNSIGNED, &ul, sizeof(ul));
		break;
	}
}

static void
mon_snmpa_one(netsnmp_agent_request_info *ri, netsnmp_request_info *rq)
{
	netsnmp_variable_list *vb = rq->requestvb;
	oid name[MON_SNMP_OID_MAX];
	size_t i;

	switch (ri->mode) {
	case MODE_GET:
		i = mon_snmpa_find(vb->name, vb->name_length, true);
		if (i < sa.n &&
		    mon_snmpa_cmp(&sa.v[i], vb->name, vb->name_length) == 0)
			mon_snmpa_set(vb, &sa.v[i]);
		else
			netsnmp_set_request_error(ri, rq, SNMP_NOSUCHINSTANCE);
		break;
	case MODE_GETNEXT:
		/* Nothing after it here: the agent asks the next subtree. */
		i = mon_snmpa_find(vb->name, vb->name_length,
		    rq->inclusive != 0);
		if (i < sa.n) {
			for (size_t k = 0; k < sa.v[i].len; k++)
				name[k] = sa.v[i].name[k];
			snmp_set_var_objid(vb, name, sa.v[i].len);
			mon_snmpa_set(vb, &sa.v[i]);
		}
		break;
	default:
		netsnmp_set_request_error(ri, rq, SNMP_ERR_NOTWRITABLE);
		break;
	}
}

/* A snapshot young enough, else a new one from cordond (bounded). */
static void
mon_snmpa_refresh(void)
{
	if (sa.got_ms != 0 && !sa.stale &&
	    clk_mono_ms() - sa.got_ms < MON_SNMP_CACHE_MS)
		return;
	if (mon_snmpa_wait(mon_snmpa_m, MON_T_SNMP_GET, MON_T_SNMP_VARS,
	        MON_SNMPA_WAIT_MS) < 0)
		mon_snmpa_st.waits_timed_out++;
}

static int
mon_snmpa_handler(netsnmp_mib_handler *h, netsnmp_handler_registration *reg,
    netsnmp_agent_request_info *ri, netsnmp_request_info *rq)
{
	(void)h;
	(void)reg;
	mon_snmpa_refresh();
	for (; rq != NULL; rq = rq->next)
		if (!rq->processed)
			mon_snmpa_one(ri, rq);
	return SNMP_ERR_NOERROR;
}

/* The snapshot replaced by V (N records, checked); takes V. */
static void
mon_snmpa_take(struct mon_snmp_var *v, size_t n)
{
	free(sa.v);
	sa.v = v;
	sa.n = n;
	sa.got_ms = clk_mono_ms();
	sa.stale = false;
	mon_snmpa_st.snapshots++;
}

/* A snapshot, decoded whole before it replaces the one in use; one
 * that comes while no subagent runs was not asked for. */
static int
mon_snmpa_vars(const uint8_t *p, size_t len, int passfd)
{
	struct mon_snmp_var *v = NULL;
	size_t n;
	int rc;

	if (passfd >= 0) {
		rc = len == 0 ? mon_snmp_read_memfd(passfd, &v, &n) : -1;
		close(passfd);
	} else if ((rc = mon_dec_snmp_vars(p, len, &n)) == 0 &&
	           (v = malloc(len ? len : 1)) != NULL)
		memcpy(v, p, len);
	if (rc < 0 || !sa.on) {
		free(v);
		return -1;
	}
	if (v != NULL) /* else out of memory: the previous one serves */
		mon_snmpa_take(v, n);
	return 0;
}

/* A notification (its payload decoded) through the master agent. */
static void
mon_snmpa_send(const uint8_t *p)
{
	netsnmp_variable_list *l = NULL, *vb;
	struct mon_snmp_trap t;
	struct mon_snmp_var v;
	oid toid[MON_SNMP_ROOT_LEN + 2], name[MON_SNMP_OID_MAX];

	memcpy(&t, p, sizeof(t));
	for (size_t k = 0; k < MON_SNMP_ROOT_LEN; k++)
		toid[k] = mon_snmp_root[k];
	toid[MON_SNMP_ROOT_LEN] = 0;
	toid[MON_SNMP_ROOT_LEN + 1] = t.trap;
	snmp_varlist_add_variable(&l, mon_trap_oid,
	    sizeof(mon_trap_oid) / sizeof(oid), ASN_OBJECT_ID, toid,
	    sizeof(toid));
	for (uint32_t i = 0; i < t.n; i++) {
		memcpy(&v, p + sizeof(t) + i * sizeof(v), sizeof(v));
		for (size_t k = 0; k < v.len; k++)
			name[k] = v.name[k];
		vb = snmp_varlist_add_variable(&l, name, v.len, ASN_NULL, NULL,
		    0);
		if (vb != NULL)
			mon_snmpa_set(vb, &v);
	}
	send_v2trap(l);
	snmp_free_varbind(l);
	mon_snmpa_st.traps_sent++;
}

static int
mon_snmpa_trap(const uint8_t *p, size_t len)
{
	const struct mon_snmp_var *v;
	struct mon_snmp_trap t;

	if (mon_dec_snmp_trap(p, len, &t, &v) < 0)
		return -1;
	if (!sa.on || (mon_snmpa_busy && sa.nq == MON_SNMPA_TRAPQ)) {
		mon_snmpa_st.traps_dropped++;
		return 0;
	}
	if (mon_snmpa_busy) /* inside net-snmp: sent after it returns */
		memcpy(sa.trapq[sa.nq++], p, len);
	else
		mon_snmpa_send(p);
	return 0;
}

/* A subagent that reads no snmpd.conf, loads no MIB, saves no state. */
static void
mon_snmpa_settings(const struct mon_snmp_conf *c)
{
	netsnmp_ds_set_boolean(NETSNMP_DS_APPLICATION_ID, NETSNMP_DS_AGENT_ROLE,
	    1);
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_X_SOCKET,
	    c->via_parent ? "cordonfd:agentx" : c->socket);
	/* The SNMPv1 form's agent address, which net-snmp would otherwise
	 * ask the interfaces for (an ioctl the sandbox refuses): the master
	 * agent sends the notifications, with its own. */
	netsnmp_ds_set_string(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_TRAP_ADDR, "127.0.0.1");
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
	    mon_snmpa_log_cb, NULL);
	snmp_enable_calllog();
}

static int
mon_snmpa_register(void)
{
	netsnmp_handler_registration *reg;
	oid root[MON_SNMP_ROOT_LEN + 1];

	for (size_t k = 0; k < MON_SNMP_ROOT_LEN; k++)
		root[k] = mon_snmp_root[k];
	root[MON_SNMP_ROOT_LEN] = 1; /* cordonObjects */
	reg = netsnmp_create_handler_registration("cordon", mon_snmpa_handler,
	    root, MON_SNMP_ROOT_LEN + 1, HANDLER_CAN_RONLY);
	if (reg == NULL || netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
		return -1;
	return 0;
}

static int
mon_snmpa_start(struct mon_child *m, const uint8_t *p, size_t len)
{
	struct mon_snmp_conf c;

	if (mon_dec_snmp_conf(p, len, &c) < 0)
		return -1;
	if (sa.on)
		return 0; /* control.snmp changes with a restart of cordond */
	mon_snmpa_m = m;
	mon_snmpa_settings(&c);
	if (init_agent("cordond") != 0 || mon_snmpa_register() < 0 ||
	    (c.via_parent && mon_snmpa_fd_register() < 0)) {
		proc_log(m->fd, "snmp: cannot initialise the AgentX subagent");
		return 0;
	}
	/*
	 * After init_agent, which sets its default (15 s): the ping timer
	 * both checks the master and, once it is gone, retries the session.
	 */
	netsnmp_ds_set_int(NETSNMP_DS_APPLICATION_ID,
	    NETSNMP_DS_AGENT_AGENTX_PING_INTERVAL, (int)c.ping_interval);
	sa.on = true;
	init_snmp("cordond");
	return 0;
}

int
mon_snmpa_in(struct mon_child *m, const struct proc_hdr *h, const uint8_t *p,
    int passfd)
{
	struct mon_agentx a;

	switch (h->type) {
	case MON_T_SNMP_CONF:
		if (passfd >= 0)
			break;
		return mon_snmpa_start(m, p, h->len);
	case MON_T_SNMP_VARS:
		/* an answer that came late is still the newest snapshot */
		if (h->id == 0)
			break;
		return mon_snmpa_vars(p, h->len, passfd);
	case MON_T_SNMP_TRAP:
		if (passfd >= 0)
			break;
		return mon_snmpa_trap(p, h->len);
	case MON_T_SNMP_STALE:
		if (passfd >= 0 || h->len != 0)
			break;
		sa.stale = true;
		return 0;
	case MON_T_AGENTX:
		if (h->id == 0 || mon_dec_agentx(p, h->len, passfd, &a) < 0 ||
		    !sa.on)
			break;
		if (mon_snmpa_fd >= 0)
			close(mon_snmpa_fd); /* a late answer's */
		mon_snmpa_fd = passfd;       /* -1 when cordond could not */
		if (a.err != 0)
			mon_snmpa_st.opens_failed++;
		return 0;
	default:
		break;
	}
	if (passfd >= 0)
		close(passfd);
	errno = EBADMSG;
	return -1;
}

unsigned
mon_snmpa_poll_fill(struct pollfd *pfd, unsigned max, int *timeout_ms)
{
	netsnmp_large_fd_set fds;
	struct timeval tv;
	int nfds = 0, block = 1;
	unsigned n = 0;
	int64_t ms;

	if (!sa.on)
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
	if (!block) {
		ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
		if (ms < *timeout_ms)
			*timeout_ms = ms < 0 ? 0 : (int)ms;
	}
	return n;
}

void
mon_snmpa_poll_done(const struct pollfd *pfd, unsigned n)
{
	netsnmp_large_fd_set fds;
	bool any = false;

	if (!sa.on)
		return;
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
	snmp_timeout();
	run_alarms();
	netsnmp_check_outstanding_agent_requests();
	for (unsigned i = 0; i < sa.nq; i++)
		mon_snmpa_send(sa.trapq[i]);
	sa.nq = 0;
}
