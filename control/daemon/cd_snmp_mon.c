/*
 * What the monitoring child's subagent gets from cordond (cd_snmp.h,
 * control/mon/mon_snmp.h): its configuration, the snapshot of
 * CORDON-MIB on request, the notifications and, when the master agent's
 * socket is a unix one (root's: snmpd's agentXPerms), a new connection
 * to it each time the subagent (re)opens its session.
 *
 * A child that asks in a loop costs cordond at most one snapshot build
 * per MON_SNMP_CACHE_MS: within it the same sealed memfd is passed
 * again.  The connect is non-blocking: a wedged snmpd (its backlog full)
 * is a refused connect, not a stalled cordond.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/daemon/cd_snmp.h"
#include "control/daemon/cd_snmp_int.h"
#include "control/mon/mon_proc.h"

/* A snapshot up to this size goes in the message, a larger one in a
 * memfd. */
#define CD_SNMP_INLINE_MAX (32u << 10)
/* Notifications held while the child is not up (at cordond's start,
 * while it restarts): the newest ones; older ones are dropped. */
#define CD_SNMP_HOLD 32
#define CD_SNMP_TRAP_LEN                                                       \
	(sizeof(struct mon_snmp_trap) +                                        \
	    MON_SNMP_TRAP_VARS * sizeof(struct mon_snmp_var))

struct cd_snmp_stats cd_snmp_st;

static struct {
	int memfd;         /* the last snapshot sent that way; -1: none */
	uint64_t gen;      /* of the tables it holds */
	bool have;         /* MEMFD or GEN valid */
	int64_t agentx_ms; /* the last connect for the child */
	/* held notifications: a ring, N of them from HEAD */
	uint8_t hold[CD_SNMP_HOLD][CD_SNMP_TRAP_LEN];
	size_t hold_len[CD_SNMP_HOLD];
	unsigned head, n;
} cd_sm = { .memfd = -1 };

static void
cd_sm_hold(const uint8_t *p, size_t len)
{
	unsigned i = (cd_sm.head + cd_sm.n) % CD_SNMP_HOLD;

	if (cd_sm.n == CD_SNMP_HOLD) { /* the oldest goes */
		cd_snmp_st.traps_dropped++;
		cd_sm.head = (cd_sm.head + 1) % CD_SNMP_HOLD;
		cd_sm.n--;
	}
	memcpy(cd_sm.hold[i], p, len);
	cd_sm.hold_len[i] = len;
	cd_sm.n++;
}

/* The held notifications, in order, after the child's configuration. */
static void
cd_sm_flush(struct proc_child *c)
{
	for (; cd_sm.n > 0; cd_sm.n--) {
		unsigned i = cd_sm.head;

		cd_sm.head = (cd_sm.head + 1) % CD_SNMP_HOLD;
		if (proc_send(c->fd, MON_T_SNMP_TRAP, 0, cd_sm.hold[i],
		        cd_sm.hold_len[i], -1) < 0)
			cd_snmp_st.traps_dropped++;
		else
			cd_snmp_st.traps_sent++;
	}
}

static struct proc_child *
cd_sm_child(struct cd *d)
{
	return proc_get(&d->procs, PROC_MON);
}

/* The master's socket is a unix one (cordond connects it): its path. */
static const char *
cd_sm_unix_path(const char *s)
{
	if (strncmp(s, "unix:", 5) == 0)
		return s + 5;
	return s[0] == '/' ? s : NULL;
}

void
cd_snmp_mon_up(struct cd *d, struct proc_child *c)
{
	const struct conf_snmp *cf = &d->ctl.snmp;
	struct mon_snmp_conf m;

	if (!cd_snmp_on())
		return;
	memset(&m, 0, sizeof(m));
	m.ping_interval = cf->ping_interval;
	m.via_parent = cd_sm_unix_path(cf->agentx_socket) != NULL;
	snprintf(m.socket, sizeof(m.socket), "%s", cf->agentx_socket);
	if (proc_send(c->fd, MON_T_SNMP_CONF, 0, &m, sizeof(m), -1) < 0)
		cd_log("monitoring: cannot send the SNMP configuration: %s",
		    strerror(errno));
	cd_sm_flush(c);
}

void
cd_snmp_mon_stale(struct cd *d)
{
	struct proc_child *c = cd_sm_child(d);

	cd_snmp_tables_invalidate();
	if (c != NULL)
		(void)proc_send(c->fd, MON_T_SNMP_STALE, 0, NULL, 0, -1);
}

void
cd_snmp_mon_trap(struct cd *d, unsigned trap, const struct mon_snmp_var *v,
    unsigned n)
{
	uint8_t buf[CD_SNMP_TRAP_LEN];
	struct mon_snmp_trap t = { .trap = trap, .n = n };
	struct proc_child *c = cd_sm_child(d);
	size_t len = sizeof(t) + n * sizeof(*v);

	memcpy(buf, &t, sizeof(t));
	memcpy(buf + sizeof(t), v, n * sizeof(*v));
	if (c == NULL) {
		cd_sm_hold(buf, len); /* sent when it is up */
		return;
	}
	/* never waiting: a child that does not read loses it, counted */
	if (proc_send(c->fd, MON_T_SNMP_TRAP, 0, buf, len, -1) < 0)
		cd_snmp_st.traps_dropped++;
	else
		cd_snmp_st.traps_sent++;
}

/* A sealed memfd holding the N records of V; -1 on failure. */
static int
cd_sm_memfd(const struct mon_snmp_var *v, size_t n)
{
	const uint8_t *p = (const uint8_t *)v;
	size_t len = n * sizeof(*v), off = 0;
	int fd =
	    memfd_create(CD_SNMP_MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t w = write(fd, p + off, len - off);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	if (fcntl(fd, F_ADD_SEALS,
	        F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cd_snmp_mon_get(struct cd *d, struct proc_child *c, uint32_t id)
{
	const struct mon_snmp_var *v;
	uint64_t gen;
	size_t n;

	if (!cd_snmp_on())
		return -1; /* it was never told to run a subagent */
	cd_snmp_st.gets++;
	v = cd_snmp_tables_get(d, &n, &gen);
	/* a child that keeps the memfds it got (or leaves them unread)
	 * gets the last one again: it pins a bounded number of them */
	if (cd_sm.have && gen != cd_sm.gen && cd_sm.memfd >= 0 &&
	    n * sizeof(*v) > CD_SNMP_INLINE_MAX && !cd_snmp_pin_room(c)) {
		cd_snmp_st.pinned++;
		gen = cd_sm.gen;
	}
	if (!cd_sm.have || gen != cd_sm.gen) {
		cd_snmp_st.builds++;
		if (cd_sm.memfd >= 0)
			close(cd_sm.memfd);
		cd_sm.memfd = -1;
		cd_sm.gen = gen;
		cd_sm.have = true;
		if (n * sizeof(*v) > CD_SNMP_INLINE_MAX &&
		    (cd_sm.memfd = cd_sm_memfd(v, n)) < 0)
			cd_log("snmp: cannot pass the snapshot: %s",
			    strerror(errno));
	}
	/* EAGAIN and the rest: the child's request times out, it answers
	 * from the snapshot it has */
	if (cd_sm.memfd >= 0)
		(void)proc_send(c->fd, MON_T_SNMP_VARS, id, NULL, 0,
		    cd_sm.memfd);
	else if (n * sizeof(*v) <= CD_SNMP_INLINE_MAX)
		(void)proc_send(c->fd, MON_T_SNMP_VARS, id, v, n * sizeof(*v),
		    -1);
	return 0;
}

/* A non-blocking connect to the master's unix socket: the socket, or -1
 * with errno. */
static int
cd_sm_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
cd_snmp_mon_agentx(struct cd *d, struct proc_child *c, uint32_t id)
{
	const char *path = cd_sm_unix_path(d->ctl.snmp.agentx_socket);
	struct mon_agentx a = { .err = 0 };
	int fd;

	if (!cd_snmp_on() || path == NULL)
		return -1; /* a tcp: master is the child's to connect */
	/* net-snmp reconnects at most every ping_interval (>= 1 s): a
	 * child asking in a loop gets a connection per period, no more */
	fd = -1;
	if (cd_sm.agentx_ms != 0 &&
	    clk_mono_ms() - cd_sm.agentx_ms < MON_SNMP_CACHE_MS)
		a.err = EAGAIN;
	else {
		cd_sm.agentx_ms = clk_mono_ms();
		if ((fd = cd_sm_connect(path)) < 0) {
			a.err = errno ? (uint32_t)errno : EIO;
			cd_snmp_st.agentx_failed++;
		} else
			cd_snmp_st.agentx_opens++;
	}
	(void)proc_send(c->fd, MON_T_AGENTX, id, &a, sizeof(a), fd);
	if (fd >= 0)
		close(fd);
	return 0;
}

json_t *
cd_snmp_status(struct cd *d)
{
	const struct cd_snmp_stats *s = &cd_snmp_st;

	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "enabled", cd_snmp_on() && d->ctl.snmp.enabled, "traps_sent",
	    (json_int_t)s->traps_sent, "traps_dropped",
	    (json_int_t)s->traps_dropped, "traps_held", (json_int_t)cd_sm.n,
	    "snapshot_requests", (json_int_t)s->gets, "snapshots_built",
	    (json_int_t)s->builds, "agentx_connects",
	    (json_int_t)s->agentx_opens, "agentx_connect_failures",
	    (json_int_t)s->agentx_failed, "metrics_rendered",
	    (json_int_t)s->metrics_renders, "snapshots_withheld",
	    (json_int_t)s->pinned);
}
