/*
 * The parent reads its children (proc.h): from the poll loop, or
 * waiting for one answer (proc_call).  What a child sends is checked
 * here (header, the common types) and by its def->in (its own types);
 * a child that breaks the protocol is killed and restarted.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control/proc/proc_int.h"
#include "core/util/clock.h"

/* Messages taken from one child per poll round: the others get theirs. */
#define PROC_BURST 64

static int
proc_refuse(const char **why, const char *what)
{
	*why = what;
	return -1;
}

bool
proc_log_admit(struct proc_set *s, struct proc_child *c)
{
	int64_t sec = clk_mono_ms() / 1000;

	if (sec != c->log_sec) {
		if (c->log_dropped > 0)
			proc_say(s,
			    "%s: %u log lines dropped (more than %u a "
			    "second)",
			    c->def->name, c->log_dropped, PROC_LOG_RATE);
		c->log_sec = sec;
		c->log_n = c->log_dropped = 0;
	}
	if (c->log_n++ >= PROC_LOG_RATE) {
		c->log_dropped++;
		return false;
	}
	return true;
}

int
proc_dispatch(struct proc_set *s, struct proc_child *c,
    const struct proc_hdr *h, int passfd, const char **why)
{
	const struct proc_def *def = c->def;

	if (h->type >= PROC_T_BASE) {
		if (!c->ready) {
			if (passfd >= 0)
				close(passfd);
			return proc_refuse(why, "sent a message before READY");
		}
		/* The handler owns PASSFD, whatever it answers. */
		if (def->in == NULL) {
			if (passfd >= 0)
				close(passfd);
			return proc_refuse(why, "sent a type it has none of");
		}
		if (def->in(s->arg, c, h, s->buf, passfd) < 0)
			return proc_refuse(why, "sent a message that does not "
			                        "decode");
		return 0;
	}
	if (passfd >= 0) {
		close(passfd);
		return proc_refuse(why, "passed a descriptor with a log or "
		                        "READY");
	}
	if (h->type == PROC_T_LOG) {
		if (proc_log_check(s->buf, h->len) < 0)
			return proc_refuse(why, "sent a malformed log line");
		if (proc_log_admit(s, c))
			proc_say(s, "%s: %.*s", def->name, (int)h->len,
			    (const char *)s->buf);
		return 0;
	}
	if (h->type == PROC_T_PONG) {
		if (h->len != 0 || c->ping_ms == 0 || h->id != c->ping_id)
			return proc_refuse(why, "sent a pong for no ping");
		c->ping_ms = 0;
		c->pong_ms = clk_mono_ms();
		return 0;
	}
	if (h->type != PROC_T_READY || h->len != 0 || c->ready)
		return proc_refuse(why, "sent an unknown or repeated message");
	c->ready = true;
	c->ping_ms = 0;
	c->pong_ms = clk_mono_ms();
	proc_say(s, "%s: pid %d ready", def->name, (int)c->pid);
	if (def->up != NULL)
		def->up(s->arg, c);
	return 0;
}

/* A receive that failed: 0 for nothing more now, -1 when C is gone. */
static int
proc_recv_failed(struct proc_set *s, struct proc_child *c)
{
	char why[96];

	if (errno == EAGAIN || errno == EINTR)
		return 0;
	if (errno == ECONNRESET) {
		proc_kill(s, c, "closed its channel");
		return -1;
	}
	snprintf(why, sizeof(why), "sent a message refused (%s)",
	    strerror(errno));
	proc_fail(s, c, why);
	return -1;
}

/* Up to PROC_BURST messages of C. */
static void
proc_read(struct proc_set *s, struct proc_child *c)
{
	for (unsigned i = 0; i < PROC_BURST && c->fd >= 0; i++) {
		struct proc_hdr h;
		const char *why;
		int passfd;

		if (proc_recv(c->fd, &h, s->buf, PROC_MSG_MAX, &passfd) < 0) {
			if (proc_recv_failed(s, c) == 0)
				return;
			continue;
		}
		if (proc_dispatch(s, c, &h, passfd, &why) < 0 && c->fd >= 0)
			proc_fail(s, c, why);
	}
}

unsigned
proc_poll_fill(struct proc_set *s, struct pollfd *pfd)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PROC_MAX; i++)
		if (s->c[i].fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = s->c[i].fd,
				.events = POLLIN };
	return n;
}

void
proc_poll_done(struct proc_set *s, const struct pollfd *pfd, unsigned n)
{
	for (unsigned k = 0; k < n; k++) {
		if (pfd[k].revents == 0)
			continue;
		/* By descriptor: a child may have gone since the poll. */
		for (unsigned i = 0; i < PROC_MAX; i++)
			if (s->c[i].fd >= 0 && s->c[i].fd == pfd[k].fd)
				proc_read(s, &s->c[i]);
	}
}

/* Waits up to the deadline for C's channel: 1 readable, 0 not, -1. */
static int
proc_wait(struct proc_child *c, int64_t deadline)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	int64_t left = deadline - clk_mono_ms();
	int rc;

	if (left <= 0)
		return 0;
	rc = poll(&p, 1, (int)left);
	if (rc < 0 && errno == EINTR)
		return 1; /* the receive says EAGAIN; the deadline holds */
	return rc;
}

/* The answer: copied out, or the child failed. */
static ssize_t
proc_answer(struct proc_set *s, struct proc_child *c, const struct proc_hdr *h,
    uint16_t want, int passfd, uint8_t *ans, size_t cap)
{
	if (h->type != want || passfd >= 0 || h->len > cap) {
		if (passfd >= 0)
			close(passfd);
		proc_fail(s, c, "answered with the wrong type or size");
		errno = EPROTO;
		return -1;
	}
	memcpy(ans, s->buf, h->len);
	return (ssize_t)h->len;
}

ssize_t
proc_call(struct proc_set *s, struct proc_child *c, uint16_t type,
    const void *p, size_t len, uint16_t want, uint8_t *ans, size_t cap,
    unsigned timeout_ms)
{
	int64_t deadline = clk_mono_ms() + timeout_ms;
	uint32_t id;

	if (c == NULL || c->fd < 0 || !c->ready) {
		errno = ENOTCONN;
		return -1;
	}
	if ((id = ++s->seq) == 0)
		id = ++s->seq;
	if (proc_send(c->fd, type, id, p, len, -1) < 0)
		return -1;
	while (c->fd >= 0) {
		struct proc_hdr h;
		const char *why;
		int passfd, rc = proc_wait(c, deadline);

		if (rc == 0) {
			proc_kill(s, c, "did not answer in time");
			errno = ETIMEDOUT;
			return -1;
		}
		if (rc < 0 ||
		    proc_recv(c->fd, &h, s->buf, PROC_MSG_MAX, &passfd) < 0) {
			if (rc < 0 || proc_recv_failed(s, c) < 0)
				break;
			continue;
		}
		if (h.id == id)
			return proc_answer(s, c, &h, want, passfd, ans, cap);
		if (proc_dispatch(s, c, &h, passfd, &why) < 0 && c->fd >= 0)
			proc_fail(s, c, why);
	}
	errno = ECONNRESET;
	return -1;
}
