/*
 * cordond's side of the monitoring child (cd_proc_mon.h).  At `up` the
 * child gets the Prometheus listening socket (cordond opened it, and
 * keeps it: scrapes that come while the child restarts wait in its
 * backlog), the syslog targets and the records kept meanwhile.  From the
 * child cordond takes only fixed requests: METRICS_GET (it renders the
 * text as for `cordonctl show counters prometheus` and answers) and the
 * targets' counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_proc_mon.h"
#include "control/daemon/cd_syslog_int.h"
#include "control/daemon/cordond.h"
#include "control/mon/mon_proc.h"

struct proc_child *
cd_mon_child(struct cd *d)
{
	return proc_get(&d->procs, PROC_MON);
}

/* A scrape: the text, or 500 when it cannot be rendered or sent whole. */
static int
cd_mon_metrics(struct cd *d, struct proc_child *c, uint32_t id)
{
	char *text = cd_prom_text(d);
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
	free(text);
	return 0;
}

static int
cd_mon_in(void *arg, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	struct cd *d = arg;
	struct mon_stats st;
	struct mon_local l;

	if (passfd >= 0) {
		close(passfd);
		return -1; /* the child passes nothing */
	}
	switch (h->type) {
	case MON_T_METRICS_GET:
		if (mon_dec_metrics_get(h->id, h->len) < 0)
			return -1;
		return cd_mon_metrics(d, c, h->id);
	case MON_T_STATS:
		if (mon_dec_stats(p, h->len, &st) < 0)
			return -1;
		return cd_mon_stats(d, &st);
	case MON_T_LOCAL_GET:
		if (mon_dec_local(p, h->len, -1, false, &l) < 0)
			return -1;
		return cd_mon_local(d, c, &l);
	default:
		return -1;
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
	if (cd_mon_targets_send(d, c) < 0)
		cd_log("monitoring: cannot send the syslog targets: %s",
		    strerror(errno));
	cd_mon_pending_send(d, c);
}

static void
cd_mon_down(void *arg, struct proc_child *c)
{
	(void)c;
	cd_mon_targets_down(arg);
}

void
cd_mon_flush(struct cd *d)
{
	struct proc_child *c = cd_mon_child(d);
	struct mon_stats st;
	uint8_t *ans;
	ssize_t n;

	if (c == NULL || d->slog == NULL ||
	    (ans = malloc(PROC_MSG_MAX)) == NULL)
		return;
	cd_mon_pending_send(d, c);
	n = proc_call(&d->procs, c, MON_T_FLUSH, NULL, 0, MON_T_STATS, ans,
	    PROC_MSG_MAX, MON_FLUSH_MS + 500);
	if (n >= 0 && mon_dec_stats(ans, (size_t)n, &st) == 0)
		(void)cd_mon_stats(d, &st);
	free(ans);
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
