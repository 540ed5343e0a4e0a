/*
 * cordond's side of the monitoring child (cd_proc_mon.h).  At `up` the
 * child gets the Prometheus listening socket (cordond opened it, and
 * keeps it: scrapes that come while the child restarts wait in its
 * backlog), the syslog targets and the records kept meanwhile.  From the
 * child cordond takes only fixed requests: METRICS_GET (it renders the
 * text as for `cordonctl show counters prometheus` and answers), the
 * targets' counters, and SNMP's SNMP_GET and AGENTX_GET (cd_snmp_mon.c).
 * A child that asks in a loop costs at most one rendering, one snapshot
 * build per MON_SNMP_CACHE_MS: within it the last one is sent again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_proc_mon.h"
#include "control/daemon/cd_proc_mon_chk.h"
#include "control/daemon/cd_syslog_int.h"
#include "control/daemon/cordond.h"
#include "control/mon/mon_proc.h"
#include "control/mon/mon_snmp.h"

/* The last text rendered, and when: scrapes within the period share it. */
static struct {
	char *text;
	int64_t ms;
} cd_mon_prom;

static const char *
cd_mon_text(struct cd *d)
{
	int64_t now = clk_mono_ms();

	if (cd_mon_prom.text == NULL ||
	    now - cd_mon_prom.ms >= MON_SNMP_CACHE_MS) {
		free(cd_mon_prom.text);
		cd_mon_prom.text = cd_prom_text(d);
		cd_mon_prom.ms = now;
		cd_snmp_st.metrics_renders++;
	}
	return cd_mon_prom.text;
}

/* A scrape: the text, or 500 when it cannot be rendered or sent whole. */
static int
cd_mon_metrics(struct cd *d, struct proc_child *c, uint32_t id)
{
	const char *text = cd_mon_text(d);
	size_t len = text ? strlen(text) : 0;
	uint32_t status = text && len > 0 && len <= MON_METRICS_MAX ? 200 : 500;
	uint8_t *buf = malloc(sizeof(struct mon_metrics) + len);
	ssize_t n = -1;

	if (buf != NULL)
		n = mon_enc_metrics(buf, sizeof(struct mon_metrics) + len,
		    status, text, len);
	/* EAGAIN and the rest: the scrape times out with 503 */
	if (n >= 0)
		(void)proc_send(c->fd, MON_T_METRICS, id, buf, (size_t)n, -1);
	free(buf);
	return 0;
}

static int
cd_mon_in(void *arg, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	struct cd *d = arg;
	struct cd_mon_view v;
	struct cd_mon_msg m;
	int rc;

	cd_syslog_mon_view(d, &v);
	if ((rc = cd_mon_check(&v, h, p, passfd, &m)) <= 0)
		return rc;
	switch (m.type) {
	case MON_T_METRICS_GET:
		return cd_mon_metrics(d, c, m.id);
	case MON_T_STATS:
		cd_syslog_mon_stats(d, &m.st);
		return 0;
	case MON_T_SNMP_GET:
		return cd_snmp_mon_get(d, c, m.id);
	case MON_T_AGENTX_GET:
		return cd_snmp_mon_agentx(d, c, m.id);
	default:
		cd_syslog_mon_local(d, c, &m.loc);
		return 0;
	}
}

static void
cd_mon_up(void *arg, struct proc_child *c)
{
	struct cd *d = arg;

	if (cd_prom_fd(d) >= 0 &&
	    proc_send(c->fd, MON_T_PROM, 0, NULL, 0, cd_prom_fd(d)) < 0)
		cd_log("monitoring: cannot pass the prometheus socket: %s",
		    strerror(errno));
	if (cd_syslog_mon_targets(d, c) < 0)
		cd_log("monitoring: cannot send the syslog targets: %s",
		    strerror(errno));
	cd_syslog_mon_pending(d, c);
	cd_snmp_mon_up(d, c);
}

static void
cd_mon_down(void *arg, struct proc_child *c)
{
	(void)c;
	cd_syslog_mon_down(arg);
}

const struct proc_def cd_proc_mon_def = {
	.id = PROC_MON,
	.name = "monitoring",
	.user = "cordon-mon",
	.net = true,
	.run = mon_proc_run,
	.in = cd_mon_in,
	.up = cd_mon_up,
	.down = cd_mon_down,
};
