/*
 * The control child's timers and monitor queues: requests that do not
 * arrive within 5 s and replies not read within 30 s end their client
 * (docs/control.md section 3, "Limits"); a subscriber's lines wait in a
 * bounded queue, and what did not fit, or was over its rate (counted by
 * the parent, which filters), is told once there is room again.
 */
#include <stdio.h>
#include <string.h>

#include "control/ctl/ctl_proc.h"

static void
ctl_mon_tell(struct ctl_client *c)
{
	char l[160];
	int n;

	if (c->lost_queue + c->lost_rate == 0)
		return;
	n = snprintf(l, sizeof(l),
	    "{\"type\":\"dropped\",\"events\":%llu,\"queue_full\":%llu,"
	    "\"rate_limited\":%llu}\n",
	    (unsigned long long)(c->lost_queue + c->lost_rate),
	    (unsigned long long)c->lost_queue,
	    (unsigned long long)c->lost_rate);
	if (n <= 0 || (size_t)n >= sizeof(l) ||
	    c->outlen - c->outoff + (size_t)n > CTL_MON_QUEUE)
		return;
	ctl_client_queue(c, l, (size_t)n, false);
	c->lost_queue = c->lost_rate = 0;
}

/* One MON message: LOST events over the rate, then line S, if any. */
void
ctl_mon_line(struct ctl_client *c, uint32_t lost, const char *s, size_t n)
{
	c->lost_rate += lost;
	ctl_mon_tell(c);
	if (n == 0)
		return;
	if (c->lost_queue + c->lost_rate > 0 ||
	    c->outlen - c->outoff + n > CTL_MON_QUEUE) {
		c->lost_queue++;
		return;
	}
	ctl_client_queue(c, s, n, false);
}

/* A request not whole in time: bad-request, then the client goes
 * once that is written (or at the reply's own deadline). */
static void
ctl_proc_expire(struct ctl_client *c, int64_t now_ms)
{
	static const char r[] = "{\"v\":1,\"ok\":false,\"error\":{\"code\":"
	                        "\"bad-request\",\"message\":\"request not "
	                        "complete within 5 s\"}}";

	c->inlen = 0;
	c->closing = true;
	c->deadline_ms = now_ms + CTL_OUT_TIMEOUT_MS;
	ctl_client_queue(c, r, sizeof(r) - 1, true);
}

void
ctl_proc_tick(struct ctl_proc *p, int64_t now_ms)
{
	p->fwd_wait = false;
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		struct ctl_client *c = p->cl[i];

		if (c == NULL)
			continue;
		if (c->req != NULL)
			ctl_client_forward(p, c);
		if (c->mon)
			ctl_mon_tell(c);
		/* A monitor never times out: a stalled one loses events. */
		if (c->mon || c->waiting || now_ms < c->deadline_ms)
			continue;
		if (c->outlen > c->outoff || c->closing)
			ctl_client_close(p, i);
		else
			ctl_proc_expire(c, now_ms);
	}
}

int
ctl_proc_timeout(const struct ctl_proc *p, int64_t now_ms)
{
	int64_t t = now_ms + 1000;

	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		const struct ctl_client *c = p->cl[i];

		if (c != NULL && !c->mon && !c->waiting && c->deadline_ms < t)
			t = c->deadline_ms;
	}
	return t <= now_ms ? 0 : (int)(t - now_ms);
}
