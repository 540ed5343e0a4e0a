/*
 * What the control child takes from its parent (ctl_msg.h): listening
 * sockets once each, and for a client of its own the start notice, the
 * reply, monitor lines.  A cid it no longer has is a client that went
 * while the parent worked (GONE crossed the message): nothing to do.
 * Anything else out of turn or not decoding ends the child, which the
 * parent then restarts.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl/ctl_proc.h"
#include "core/util/clock.h"

static int
ctl_in_listen(struct ctl_proc *p, const uint8_t *m, size_t len, int fd)
{
	struct ctl_listen l;

	if (ctl_dec_listen(m, len, &l) < 0 || fd < 0 || p->lfd[l.ro] >= 0)
		return -1;
	p->lfd[l.ro] = fd;
	return 0;
}

/* START: the notice, answered STARTED {ok: written whole}. */
static int
ctl_in_start(struct ctl_proc *p, uint32_t id, const uint8_t *m, size_t len)
{
	struct ctl_client *c;
	struct ctl_cid s;
	uint8_t a[8];
	bool ok;

	if (ctl_dec_cid(m, len, &s) < 0)
		return -1;
	c = ctl_proc_find(p, s.cid);
	if (c != NULL && (!c->waiting || c->req != NULL))
		return -1; /* no request of its with the parent */
	ok = c != NULL && ctl_client_notice(c) == 0;
	if (ctl_enc_started(s.cid, ok, a, sizeof(a)) != 8)
		return -1;
	(void)ctl_proc_tell(p, CTL_T_STARTED, id, a, sizeof(a), -1);
	return 0;
}

static int
ctl_in_reply(struct ctl_proc *p, const uint8_t *m, size_t len)
{
	struct ctl_client *c;
	struct ctl_reply r;
	int sz = CTL_MON_SNDBUF;

	if (ctl_dec_reply(m, len, &r) < 0)
		return -1;
	if ((c = ctl_proc_find(p, r.cid)) == NULL)
		return 0;
	if (!c->waiting || c->req != NULL)
		return -1;
	c->waiting = false;
	ctl_client_queue(c, r.json, r.len, true);
	c->deliver = true;
	c->deliver_at = c->sent + (c->outlen - c->outoff);
	c->closing |= (r.flags & CTL_REPLY_CLOSE) != 0;
	c->deadline_ms = clk_mono_ms() + CTL_OUT_TIMEOUT_MS;
	if (r.flags & CTL_REPLY_MONITOR) {
		c->mon = true;
		c->deadline_ms = INT64_MAX;
		(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	return 0;
}

static int
ctl_in_mon(struct ctl_proc *p, const uint8_t *m, size_t len)
{
	struct ctl_client *c;
	struct ctl_mon l;

	if (ctl_dec_mon(m, len, &l) < 0)
		return -1;
	if ((c = ctl_proc_find(p, l.cid)) == NULL)
		return 0;
	if (!c->mon)
		return -1;
	ctl_mon_line(c, l.lost, l.line, l.len);
	return 0;
}

static int
ctl_in_type(struct ctl_proc *p, const struct proc_hdr *h, const uint8_t *m,
    size_t len)
{
	switch (h->type) {
	case CTL_T_START:
		return ctl_in_start(p, h->id, m, len);
	case CTL_T_REPLY:
		return ctl_in_reply(p, m, len);
	case CTL_T_MON:
		return ctl_in_mon(p, m, len);
	default:
		return -1;
	}
}

int
ctl_proc_in(struct ctl_proc *p, const struct proc_hdr *h, const uint8_t *m,
    size_t len, int passfd)
{
	if (h->type == CTL_T_LISTEN) {
		if (ctl_in_listen(p, m, len, passfd) == 0)
			return 0;
	} else if (passfd < 0 && ctl_in_type(p, h, m, len) == 0) {
		return 0;
	}
	if (passfd >= 0)
		close(passfd);
	errno = EBADMSG;
	return -1;
}
