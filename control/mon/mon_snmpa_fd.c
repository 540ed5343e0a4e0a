/*
 * The subagent's transport to a unix master socket (mon_snmpa.h): the
 * transport domain "cordonfd", whose every open asks cordond for a new
 * connection (MON_T_AGENTX_GET) and wraps the socket it passes.  Reads
 * and writes are net-snmp's own for stream sockets; the AgentX framing
 * on top is net-snmp's.  Also the channel's bounded wait for an answer,
 * which requests and opens share.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmpSocketBaseDomain.h>
#include <net-snmp/library/snmpTCPBaseDomain.h>

#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmpa.h"
#include "core/util/clock.h"

int mon_snmpa_fd = -1;

/* Under cordonObjects' enterprise: a domain of our own, never sent. */
static const oid mon_fd_domain[] = { 1, 3, 6, 1, 4, 1, MON_SNMP_ENTERPRISE, 2,
	1 };
static const char *mon_fd_prefix[] = { "cordonfd", NULL };

int
mon_snmpa_wait(struct mon_child *m, uint16_t type, uint16_t want, unsigned ms)
{
	static uint32_t seq;
	int64_t end = clk_mono_ms() + ms;
	struct pollfd pfd = { .fd = m->fd, .events = POLLIN };
	struct proc_hdr h;
	uint32_t id;
	ssize_t n;
	int passfd, left;

	if (mon_snmpa_busy || m->broken)
		return -1; /* net-snmp inside net-snmp: not twice */
	id = ++seq ? seq : ++seq;
	if (proc_send(m->fd, type, id, NULL, 0, -1) < 0)
		return -1;
	mon_snmpa_busy = true;
	while (!m->broken && (left = (int)(end - clk_mono_ms())) > 0) {
		if (poll(&pfd, 1, left) <= 0)
			continue;
		n = proc_recv(m->fd, &h, m->buf, m->cap, &passfd);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				m->broken = true;
			continue;
		}
		if (mon_child_in(m, &h, m->buf, passfd) < 0) {
			proc_log(m->fd, "monitoring: refused message type %u",
			    (unsigned)h.type);
			m->broken = true; /* the loop then ends the child */
		} else if (h.type == want && h.id == id) {
			mon_snmpa_busy = false;
			return 0;
		}
	}
	mon_snmpa_busy = false;
	return -1;
}

static char *
mon_fd_fmtaddr(netsnmp_transport *t, const void *data, int len)
{
	(void)t;
	(void)data;
	(void)len;
	return strdup("cordond:agentx");
}

static netsnmp_transport *
mon_fd_create(const char *str, int local, const char *dflt)
{
	netsnmp_transport *t;
	int fd, fl;

	(void)str;
	(void)dflt;
	if (local)
		return NULL; /* a subagent only connects */
	if (mon_snmpa_fd >= 0)
		close(mon_snmpa_fd); /* an earlier late answer's */
	mon_snmpa_fd = -1;
	if (mon_snmpa_wait(mon_snmpa_m, MON_T_AGENTX_GET, MON_T_AGENTX,
	        MON_SNMPA_OPEN_MS) < 0 ||
	    mon_snmpa_fd < 0) {
		mon_snmpa_st.opens_failed++;
		return NULL;
	}
	fd = mon_snmpa_fd;
	mon_snmpa_fd = -1;
	/* cordond connected it non-blocking for its own sake; net-snmp's
	 * stream transports are blocking */
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ||
	    (t = SNMP_MALLOC_TYPEDEF(netsnmp_transport)) == NULL) {
		close(fd);
		return NULL;
	}
	t->domain = mon_fd_domain;
	t->domain_length = sizeof(mon_fd_domain) / sizeof(oid);
	t->sock = fd;
	t->flags = NETSNMP_TRANSPORT_FLAG_STREAM;
	t->msgMaxSize = 0x7fffffff;
	t->f_recv = netsnmp_tcpbase_recv;
	t->f_send = netsnmp_tcpbase_send;
	t->f_close = netsnmp_socketbase_close;
	t->f_fmtaddr = mon_fd_fmtaddr;
	mon_snmpa_st.opens++;
	return t;
}

int
mon_snmpa_fd_register(void)
{
	static netsnmp_tdomain dom;

	dom.name = mon_fd_domain;
	dom.name_length = sizeof(mon_fd_domain) / sizeof(oid);
	dom.prefix = mon_fd_prefix;
	dom.f_create_from_tstring_new = mon_fd_create;
	return netsnmp_tdomain_register(&dom) == 1 ? 0 : -1; /* 1: added */
}
