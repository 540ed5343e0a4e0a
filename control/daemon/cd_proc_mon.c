/*
 * cordond's side of the monitoring child (cd_proc_mon.h).  At `up` the
 * child gets the Prometheus listening socket (cordond opened it, and
 * keeps it: scrapes that come while the child restarts wait in its
 * backlog), the syslog targets and the records kept meanwhile.  From the
 * child cordond takes only fixed requests: METRICS_GET (it renders the
 * text as for `cordonctl show counters prometheus` and answers), the
 * targets' counters, and SNMP's SNMP_GET and AGENTX_GET (cd_snmp_mon.c).
 * A child that asks in a loop costs at most one snapshot build per
 * MON_SNMP_CACHE_MS (within it the last one is sent again) and one
 * rendering per CD_MON_RENDER_MS.
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

/*
 * Scrapes are rendered on average at most once per CD_MON_RENDER_MS,
 * with a burst of CD_MON_BURST (a token bucket): past it, one waits for
 * the next rendering (at most CD_MON_RENDER_MS, answered then with
 * every other one waiting), so that it never sees numbers older than
 * its request and a child asking in a loop costs at most 20 renderings
 * a second.  Scrapers at a sane rate never wait: a scrape waiting in
 * cordond is one a kill of the child loses.
 */
#define CD_MON_WAIT_MAX  64
#define CD_MON_RENDER_MS 50
#define CD_MON_BURST     20

static struct {
	int64_t credit;    /* ms of renderings in hand, <= BURST of them */
	int64_t credit_at; /* when CREDIT was counted; 0: never */
	uint32_t id[CD_MON_WAIT_MAX];
	unsigned n;
} cd_mon_prom;

/* Answers the scrapes IDS[0..N-1] with one text rendered now. */
static void
cd_mon_render(struct cd *d, struct proc_child *c, const uint32_t *ids,
    unsigned n)
{
	char *text = cd_prom_text(d);
	size_t len = text ? strlen(text) : 0;
	uint32_t status = text && len > 0 && len <= MON_METRICS_MAX ? 200 : 500;
	uint8_t *buf = malloc(sizeof(struct mon_metrics) + len);
	ssize_t m = -1;

	cd_snmp_st.metrics_renders++;
	if (buf != NULL)
		m = mon_enc_metrics(buf, sizeof(struct mon_metrics) + len,
		    status, text, len);
	/* EAGAIN and the rest: the scrape times out with 503 */
	for (unsigned i = 0; m >= 0 && i < n; i++)
		(void)proc_send(c->fd, MON_T_METRICS, ids[i], buf, (size_t)m,
		    -1);
	free(buf);
	free(text);
}

/* The credit now: it grows with time, up to the burst. */
static void
cd_mon_credit(int64_t now)
{
	int64_t max = CD_MON_BURST * CD_MON_RENDER_MS;

	cd_mon_prom.credit =
	    cd_mon_prom.credit_at == 0
	        ? max
	        : cd_mon_prom.credit + now - cd_mon_prom.credit_at;
	if (cd_mon_prom.credit > max)
		cd_mon_prom.credit = max;
	cd_mon_prom.credit_at = now;
}

/* Whether a rendering may happen now (then paid for). */
static bool
cd_mon_may_render(void)
{
	cd_mon_credit(clk_mono_ms());
	if (cd_mon_prom.credit < CD_MON_RENDER_MS)
		return false;
	cd_mon_prom.credit -= CD_MON_RENDER_MS;
	return true;
}

static int
cd_mon_metrics(struct cd *d, struct proc_child *c, uint32_t id)
{
	if (cd_mon_prom.n == 0 && cd_mon_may_render()) {
		cd_mon_render(d, c, &id, 1);
		return 0;
	}
	/* more waiting than the child has clients: it is not scraping */
	if (cd_mon_prom.n == CD_MON_WAIT_MAX)
		return 0;
	cd_mon_prom.id[cd_mon_prom.n++] = id;
	return 0;
}

void
cd_proc_mon_tick(struct cd *d)
{
	struct proc_child *c;

	if (cd_mon_prom.n == 0 || !cd_mon_may_render())
		return;
	if ((c = proc_get(&d->procs, PROC_MON)) != NULL)
		cd_mon_render(d, c, cd_mon_prom.id, cd_mon_prom.n);
	cd_mon_prom.n = 0;
}

int64_t
cd_proc_mon_next_ms(void)
{
	return cd_mon_prom.n ? cd_mon_prom.credit_at + CD_MON_RENDER_MS -
	                           cd_mon_prom.credit
	                     : INT64_MAX;
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
	cd_mon_prom.n = 0; /* its scrapes went with it */
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
