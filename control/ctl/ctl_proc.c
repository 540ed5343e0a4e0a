/*
 * The control child's clients (ctl_proc.h): SOCK_STREAM, non-blocking,
 * every client with its own input and output buffers so that a slow or
 * stuck client never stalls another.  Framing: 4-byte big-endian
 * length, then JSON (docs/control.md section 3).  One request in flight
 * per client: it is the parent's until its REPLY comes back.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl/ctl_proc.h"
#include "core/util/clock.h"

#define CTL_READ_CHUNK 65536

int
ctl_proc_init(struct ctl_proc *p, int chan, ctl_send_fn *send)
{
	memset(p, 0, sizeof(*p));
	p->chan = chan;
	p->send = send;
	p->lfd[0] = p->lfd[1] = -1;
	p->next_cid = 1;
	p->msg = malloc(CTL_REQ_FIXED + CTL_REQ_MAX);
	return p->msg != NULL ? 0 : -1;
}

/* One message to the parent; a failure other than a full channel for a
 * request makes the child exit: the parent must hear of every client. */
int
ctl_proc_tell(struct ctl_proc *p, uint16_t type, uint32_t id, const void *m,
    size_t len, int passfd)
{
	if (p->send(p->chan, type, id, m, len, passfd) == 0)
		return 0;
	if (!(type == CTL_T_REQ && errno == EAGAIN))
		p->fatal = true;
	return -1;
}

void
ctl_client_close(struct ctl_proc *p, unsigned i)
{
	struct ctl_client *c = p->cl[i];
	uint8_t m[4];

	close(c->fd);
	if (ctl_enc_cid(c->cid, m, sizeof(m)) == 4)
		(void)ctl_proc_tell(p, CTL_T_GONE, 0, m, 4, -1);
	free(c->in);
	free(c->out);
	free(c->req);
	free(c);
	p->cl[i] = NULL;
}

void
ctl_proc_free(struct ctl_proc *p)
{
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++)
		if (p->cl[i] != NULL)
			ctl_client_close(p, i);
	for (unsigned i = 0; i < 2; i++)
		if (p->lfd[i] >= 0)
			close(p->lfd[i]);
	free(p->msg);
}

struct ctl_client *
ctl_proc_find(struct ctl_proc *p, uint32_t cid)
{
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++)
		if (p->cl[i] != NULL && p->cl[i]->cid == cid)
			return p->cl[i];
	return NULL;
}

/* Announces C to the parent with its fd: 0, or -1 (not taken). */
static int
ctl_client_announce(struct ctl_proc *p, struct ctl_client *c)
{
	uint8_t m[4];

	if (ctl_enc_cid(c->cid, m, sizeof(m)) != 4)
		return -1;
	return ctl_proc_tell(p, CTL_T_ACCEPTED, 0, m, 4, c->fd);
}

/* Accepts one connection: 0, or -1 when none is waiting. */
static int
ctl_proc_accept_one(struct ctl_proc *p, bool ro)
{
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cr);
	struct ctl_client *c = NULL;
	bool evict = false;
	int fd, slot = -1;

	fd = accept4(p->lfd[ro], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (slot = ctl_slot(p->cl, ro, cr.uid, &evict)) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd); /* refused: the parent counts nothing of it */
		return 0;
	}
	if (evict)
		ctl_client_close(p, (unsigned)slot);
	c->fd = fd;
	c->ro = ro;
	c->uid = cr.uid;
	c->cid = p->next_cid++;
	c->since_ms = clk_mono_ms();
	c->deadline_ms = c->since_ms + CTL_REQ_TIMEOUT_MS;
	if (ctl_client_announce(p, c) < 0) {
		close(fd);
		free(c);
		return -1;
	}
	p->cl[slot] = c;
	return 0;
}

/* Drains a listener's queue, a burst at a time (docs/control.md). */
static void
ctl_proc_accept(struct ctl_proc *p, bool ro)
{
	for (unsigned i = 0; i < CTL_ACCEPT_BURST && !p->fatal; i++)
		if (ctl_proc_accept_one(p, ro) < 0)
			return;
}

/* Appends N bytes of S to C's output, FRAMED or as they are. */
void
ctl_client_queue(struct ctl_client *c, const char *s, size_t n, bool framed)
{
	size_t queued = c->outlen - c->outoff, head = framed ? 4 : 0;
	uint32_t be = htonl((uint32_t)n);
	char *out;

	/* What was sent goes, so the buffer does not grow with it. */
	if (c->outoff > 0) {
		memmove(c->out, c->out + c->outoff, queued);
		c->outlen = queued;
		c->outoff = 0;
	}
	if ((out = realloc(c->out, c->outlen + head + n)) == NULL) {
		c->closing = true;
		return;
	}
	c->out = out;
	memcpy(c->out + c->outlen, &be, head);
	memcpy(c->out + c->outlen + head, s, n);
	c->outlen += head + n;
}

static void
ctl_client_refuse(struct ctl_client *c, const char *msg)
{
	json_t *r = json_pack("{s:i, s:b, s:{s:s, s:s}}", "v", 1, "ok", 0,
	    "error", "code", "bad-request", "message", msg);
	char *s = r ? json_dumps(r, JSON_COMPACT) : NULL;

	json_decref(r);
	if (s != NULL)
		ctl_client_queue(c, s, strlen(s), true);
	free(s);
	c->closing = true;
	c->inlen = 0;
	c->deadline_ms = clk_mono_ms() + CTL_OUT_TIMEOUT_MS;
}

/* Hands C's request to the parent; a full channel: again at the tick. */
void
ctl_client_forward(struct ctl_proc *p, struct ctl_client *c)
{
	struct ctl_req r = { .cid = c->cid,
		.deadline_ms = c->req_deadline,
		.json = c->req,
		.len = strlen(c->req) };
	ssize_t n = ctl_enc_req(&r, p->msg, CTL_REQ_FIXED + CTL_REQ_MAX);

	if (n < 0 ||
	    ctl_proc_tell(p, CTL_T_REQ, 0, p->msg, (size_t)n, -1) < 0) {
		p->fwd_wait |= !p->fatal;
		return;
	}
	free(c->req);
	c->req = NULL;
}

/* The request of LEN bytes at C's input, parsed and made compact. */
static void
ctl_client_take(struct ctl_proc *p, struct ctl_client *c, uint32_t len)
{
	char err[256];
	json_t *req =
	    ctl_json_load((const char *)c->in + 4, len, err, sizeof(err));

	if (req == NULL) {
		ctl_client_refuse(c, err);
		return;
	}
	c->req = json_dumps(req, JSON_COMPACT | JSON_ENCODE_ANY);
	c->req_deadline = ctl_json_deadline(req);
	json_decref(req);
	/* Compact may still be longer: 1e9 is 1000000000.0 written out. */
	if (c->req == NULL || strlen(c->req) == 0 ||
	    strlen(c->req) > CTL_REQ_MAX) {
		free(c->req);
		c->req = NULL;
		ctl_client_refuse(c, "request longer than 1 MiB");
		return;
	}
	c->inlen -= 4 + (size_t)len;
	memmove(c->in, c->in + 4 + len, c->inlen);
	c->waiting = true;
	c->deadline_ms = INT64_MAX; /* the parent answers, however long */
	ctl_client_forward(p, c);
}

/* The next whole request in C's input, when none is in flight. */
static void
ctl_client_parse(struct ctl_proc *p, struct ctl_client *c)
{
	uint32_t be, len;

	if (c->closing || c->waiting || c->mon || c->outlen > c->outoff ||
	    c->inlen < 4)
		return;
	memcpy(&be, c->in, 4);
	if ((len = ntohl(be)) > CTL_REQ_MAX) {
		ctl_client_refuse(c, "request longer than 1 MiB");
		return;
	}
	if (c->inlen >= 4 + (size_t)len)
		ctl_client_take(p, c, len);
}

static int
ctl_client_read(struct ctl_proc *p, struct ctl_client *c)
{
	ssize_t n;

	if (c->inlen >= 4 + (size_t)CTL_REQ_MAX)
		return 0; /* a whole request waits already */
	if (c->incap - c->inlen < CTL_READ_CHUNK) {
		size_t cap = c->inlen + CTL_READ_CHUNK;
		uint8_t *in = realloc(c->in, cap);

		if (in == NULL)
			return -1;
		c->in = in;
		c->incap = cap;
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		/* Half-closed after a whole request: still answer it. */
		ctl_client_parse(p, c);
		if (!c->waiting && c->outlen == c->outoff)
			return -1;
		c->closing = true;
		return 0;
	}
	c->inlen += (size_t)n;
	ctl_client_parse(p, c);
	return 0;
}

/* What a subscriber sends is discarded; its EOF ends it. */
static int
ctl_client_drain(struct ctl_client *c)
{
	char buf[512];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ? -1 : 0;
}

static int
ctl_client_write(struct ctl_proc *p, struct ctl_client *c)
{
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);
	uint8_t m[4];

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->outoff += (size_t)n;
	c->sent += (uint64_t)n;
	/* Its reply is out whole: now the parent may store the change. */
	if (c->deliver && c->sent >= c->deliver_at) {
		c->deliver = false;
		if (ctl_enc_cid(c->cid, m, 4) != 4 ||
		    ctl_proc_tell(p, CTL_T_DELIVERED, 0, m, 4, -1) < 0)
			return -1;
	}
	if (c->outoff < c->outlen)
		return 0;
	c->outlen = c->outoff = 0;
	if (c->closing)
		return -1;
	if (!c->mon)
		c->deadline_ms = clk_mono_ms() + CTL_REQ_TIMEOUT_MS;
	return 0;
}

static void
ctl_client_io(struct ctl_proc *p, unsigned i, short revents)
{
	struct ctl_client *c = p->cl[i];
	int rc = 0;

	if (c->mon && (revents & POLLIN))
		rc = ctl_client_drain(c);
	if (rc == 0 && c->outlen > c->outoff)
		rc = ctl_client_write(p, c);
	if (rc == 0 && !c->mon && (revents & POLLIN))
		rc = ctl_client_read(p, c);
	if (rc == 0)
		ctl_client_parse(p, c); /* the next pipelined request */
	if (rc == 0 && c->outlen > c->outoff)
		rc = ctl_client_write(p, c);
	if (revents & (POLLERR | POLLNVAL))
		rc = -1;
	if ((revents & POLLHUP) && !(revents & POLLIN))
		rc = -1;
	if (rc < 0)
		ctl_client_close(p, i);
}

/* The start notice, whole or not at all (docs/control.md "Deadlines"):
 * 0, or -1 when the client has gone or cannot take it. */
int
ctl_client_notice(struct ctl_client *c)
{
	static const char notice[] = "{\"v\":1,\"started\":true}";
	struct pollfd pf = { .fd = c->fd, .events = POLLIN | POLLRDHUP };
	size_t n = sizeof(notice) - 1;
	uint32_t be = htonl((uint32_t)n);
	char buf[4 + sizeof(notice)];

	if (poll(&pf, 1, 0) > 0 && (pf.revents & (POLLHUP | POLLERR)))
		return -1;
	memcpy(buf, &be, 4);
	memcpy(buf + 4, notice, n);
	if (send(c->fd, buf, 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)(4 + n))
		return -1;
	return 0;
}

unsigned
ctl_proc_poll_fill(struct ctl_proc *p, struct pollfd *pfd)
{
	unsigned n = 0;

	pfd[n++] = (struct pollfd){ .fd = p->chan,
		.events = POLLIN | (p->fwd_wait ? POLLOUT : 0) };
	for (unsigned i = 0; i < 2; i++)
		pfd[n++] = (struct pollfd){ .fd = p->lfd[i], .events = POLLIN };
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		const struct ctl_client *c = p->cl[i];

		pfd[n++] = (struct pollfd){ .fd = c ? c->fd : -1,
			.events = c == NULL                  ? 0
			          : c->outlen > c->outoff    ? POLLOUT
			          : c->mon                   ? POLLIN
			          : c->waiting || c->closing ? 0
			                                     : POLLIN };
	}
	return n;
}

void
ctl_proc_poll_done(struct ctl_proc *p, const struct pollfd *pfd, unsigned n)
{
	for (unsigned i = 3; i < n && i - 3 < CTL_CLIENT_MAX; i++)
		if (pfd[i].revents && p->cl[i - 3] != NULL &&
		    p->cl[i - 3]->fd == pfd[i].fd)
			ctl_client_io(p, i - 3, pfd[i].revents);
	/* After the clients: accepting may close one for a newcomer. */
	for (unsigned i = 0; i < 2 && 1 + i < n; i++)
		if (pfd[1 + i].revents & POLLIN)
			ctl_proc_accept(p, i == 1);
}
