/*
 * What cordond asks of the control child on its own, outside a reply
 * (cd_proc_ctl.c): the start notice of a change (START, answered
 * STARTED) and a subscriber's monitor lines.  Kept apart from the
 * request path so that the command handlers and the monitor reach the
 * child without reaching back into the dispatch (tests/unit/
 * daemon_graph.py).
 */
#define _GNU_SOURCE
#include <poll.h>

#include "control/daemon/cd_proc_ctl.h"
#include "control/daemon/cordond.h"

#define CD_CTL_CALL_MS 2000 /* the child answers START at once */

static struct proc_child *
cd_ctl_child(struct cd *d)
{
	return proc_get(&d->procs, PROC_CTL);
}

/* The start notice through the child: 0 written whole, -1 not. */
static int
cd_ctl_start(struct cd *d, const struct cd_client *c)
{
	struct proc_child *ch = cd_ctl_child(d);
	int i = d->ctlp.serving;
	struct ctl_started s;
	uint8_t m[4], a[8];
	ssize_t n;

	if (ch == NULL || i < 0 || d->cl[i] != c ||
	    ctl_enc_cid(c->cid, m, sizeof(m)) != 4 ||
	    cd_ctl_sent(d->ctlp.peer, (unsigned)i, CTL_T_START, 0) < 0)
		return -1;
	n = proc_call(&d->procs, ch, CTL_T_START, m, 4, CTL_T_STARTED, a,
	    sizeof(a), CD_CTL_CALL_MS);
	if (n < 0)
		return -1;
	if (ctl_dec_started(a, (size_t)n, &s) < 0 || s.cid != c->cid) {
		proc_fail(&d->procs, ch, "answered START for another client");
		return -1;
	}
	return s.ok == 1 ? 0 : -1;
}

/* Closed by its peer: a client that can no longer read an answer. */
static bool
cd_client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return fd >= 0 && poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLHUP | POLLERR));
}

int
cd_client_admit(struct cd *d, const struct cd_client *c, int64_t deadline_ms,
    bool change, struct cd_err *e)
{
	int64_t left = deadline_ms - clk_mono_ms();

	if (cd_client_gone(c->fd))
		return -1;
	if (deadline_ms == 0)
		return 1;
	if (left <= (change ? CD_START_MARGIN_MS : 0)) {
		cd_fail(e, "deadline-passed",
		    "the client's deadline %s "
		    "(%lld ms): not started, nothing was changed",
		    left <= 0 ? "had passed" : "was too near", (long long)left);
		return 0;
	}
	if (change && c->fd >= 0 && cd_ctl_start(d, c) < 0)
		return -1;
	return 1;
}

int
cd_ctl_mon(struct cd *d, unsigned slot, uint32_t lost, const char *line,
    size_t len)
{
	struct proc_child *ch = cd_ctl_child(d);
	struct ctl_mon r = { .cid = d->cl[slot]->cid,
		.lost = lost,
		.line = line,
		.len = len };
	uint8_t m[CTL_MON_FIXED + CTL_LINE_MAX];
	ssize_t n = ctl_enc_mon(&r, m, sizeof(m));

	if (ch == NULL || n < 0 ||
	    cd_ctl_sent(d->ctlp.peer, slot, CTL_T_MON, 0) < 0)
		return -1;
	return proc_send(ch->fd, CTL_T_MON, 0, m, (size_t)n, -1);
}
