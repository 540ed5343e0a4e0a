/*
 * Syslog targets: one non-blocking socket and one bounded queue each.
 * local: AF_UNIX datagrams (RFC 5424 text); udp: one message per
 * datagram (RFC 5426); tcp and tls: "LEN SP MSG" frames (RFC 6587
 * octet counting, RFC 5425), partial writes resumed where they stopped.
 * A full queue drops the new message; a broken connection is retried
 * with backoff (250 ms doubling to 30 s) and the unfinished message is
 * sent again whole.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/mon/mon_sl.h"
#include "core/util/clock.h"

int
sl_target_init(struct sl_target *t, const struct mon_target *cf,
    const uint8_t *ca, const uint8_t *cert, const uint8_t *key, char *err,
    size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->cf = *cf;
	cf = &t->cf;
	t->fd = -1;
	t->st = MON_TS_DOWN;
	t->stream = cf->type == CONF_LOG_TCP || cf->type == CONF_LOG_TLS;
	t->backoff_ms = SL_BACKOFF_MIN_MS;
	if ((t->q = calloc(cf->queue, sizeof(*t->q))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (cf->type == CONF_LOG_TLS &&
	    (t->tls = sl_tls_new(cf, ca, cert, key, err, errlen)) == NULL)
		return -1;
	return 0;
}

static void
sl_target_disconnect(struct sl_target *t)
{
	if (t->tls)
		sl_tls_stop(t->tls);
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->off = 0;
	t->want = 0;
}

void
sl_target_free(struct sl_target *t)
{
	sl_target_disconnect(t);
	for (unsigned i = 0; t->q && i < t->qn; i++)
		free(t->q[(t->qhead + i) % t->cf.queue].b);
	free(t->q);
	if (t->tls)
		sl_tls_free(t->tls);
	t->q = NULL;
	t->tls = NULL;
}

const char *
sl_target_state(const struct sl_target *t)
{
	static const char *const names[] = { "down", "connecting", "handshake",
		"up" };

	return names[t->st];
}

/* The connection broke (or never came): close, retry after the backoff. */
static void
sl_target_fail(struct sl_target *t, const char *what, int err)
{
	snprintf(t->error, sizeof(t->error), "%s: %s", what,
	    err ? strerror(err) : "closed");
	sl_target_disconnect(t);
	t->st = MON_TS_DOWN;
	t->retry_ms = clk_mono_ms() + t->backoff_ms;
	t->backoff_ms = t->backoff_ms * 2 > SL_BACKOFF_MAX_MS
	                    ? SL_BACKOFF_MAX_MS
	                    : t->backoff_ms * 2;
}

static void
sl_target_up(struct sl_target *t)
{
	t->st = MON_TS_UP;
	t->backoff_ms = SL_BACKOFF_MIN_MS;
	t->error[0] = '\0';
	if (t->ever_up)
		t->reconnects++;
	t->ever_up = true;
}

static socklen_t
sl_target_addr(const struct mon_target *cf, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un *su = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	if (cf->type == CONF_LOG_LOCAL) {
		su->sun_family = AF_UNIX;
		snprintf(su->sun_path, sizeof(su->sun_path), "%s", cf->address);
		return sizeof(*su);
	}
	if (inet_pton(AF_INET, cf->address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cf->port);
		return sizeof(*s4);
	}
	inet_pton(AF_INET6, cf->address, &s6->sin6_addr);
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)cf->port);
	return sizeof(*s6);
}

static void
sl_target_connect(struct sl_target *t, int64_t now)
{
	struct sockaddr_storage ss;
	socklen_t len = sl_target_addr(&t->cf, &ss);
	int type = t->stream ? SOCK_STREAM : SOCK_DGRAM;

	if (t->cf.type == CONF_LOG_LOCAL && t->ask != NULL) {
		/* the socket's path is not in the sandbox: cordond connects */
		t->st = MON_TS_CONNECTING;
		t->deadline_ms = now + SL_CONNECT_MS;
		if (t->ask(t->ask_arg, t) < 0)
			sl_target_fail(t, "connect", errno);
		return;
	}
	t->fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		sl_target_fail(t, "socket", errno);
		return;
	}
	t->deadline_ms = now + SL_CONNECT_MS;
	if (connect(t->fd, (struct sockaddr *)&ss, len) == 0) {
		t->st = MON_TS_CONNECTING;
		sl_target_io(t, POLLOUT);
		return;
	}
	if (errno == EINPROGRESS) {
		t->st = MON_TS_CONNECTING;
		return;
	}
	sl_target_fail(t, "connect", errno);
}

void
sl_target_push(struct sl_target *t, const char *msg, size_t len)
{
	struct sl_qmsg *m;
	char pfx[16];
	int n = 0;

	t->taken++;
	if (t->qn == t->cf.queue) {
		t->dropped++;
		return;
	}
	if (t->stream)
		n = snprintf(pfx, sizeof(pfx), "%zu ", len);
	m = &t->q[(t->qhead + t->qn) % t->cf.queue];
	if ((m->b = malloc((size_t)n + len)) == NULL) {
		t->dropped++;
		return;
	}
	memcpy(m->b, pfx, (size_t)n);
	memcpy(m->b + n, msg, len);
	m->len = (uint32_t)((size_t)n + len);
	t->qn++;
}

static void
sl_target_pop(struct sl_target *t, bool sent)
{
	free(t->q[t->qhead].b);
	t->q[t->qhead].b = NULL;
	t->qhead = (t->qhead + 1) % t->cf.queue;
	t->qn--;
	t->off = 0;
	if (sent)
		t->sent++;
	else
		t->dropped++;
}

/* One write of the head message; 1 progress, 0 would block, -1 broke. */
static int
sl_target_write(struct sl_target *t)
{
	struct sl_qmsg *m = &t->q[t->qhead];
	long n;

	if (t->tls) {
		n = sl_tls_write(t->tls, m->b + t->off, m->len - t->off,
		    &t->want);
		if (n < 0)
			errno = EPIPE;
	} else {
		n = send(t->fd, m->b + t->off, m->len - t->off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			n = 0;
		else if (n < 0 && t->cf.type == CONF_LOG_UDP) {
			/*
			 * An ICMP error for an earlier datagram (reported
			 * once, instead of sending this one): try again.
			 */
			t->errors++;
			snprintf(t->error, sizeof(t->error), "send: %s",
			    strerror(errno));
			return errno == ENOBUFS ? 0 : 1;
		}
	}
	if (n <= 0)
		return n < 0 ? -1 : 0;
	t->want = 0;
	t->off += (size_t)n;
	if (t->off == m->len || !t->stream)
		sl_target_pop(t, true);
	return 1;
}

static void
sl_target_flush(struct sl_target *t)
{
	int rc = 1;

	for (unsigned i = 0; i < 256 && t->qn > 0 && rc > 0; i++)
		rc = sl_target_write(t);
	if (rc < 0) {
		t->errors++;
		sl_target_fail(t, "send", t->tls ? 0 : errno);
	}
}

/* The connect finished: its result, then TLS or up. */
static void
sl_target_connected(struct sl_target *t)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		sl_target_fail(t, "connect", err);
		return;
	}
	if (t->tls == NULL) {
		sl_target_up(t);
		return;
	}
	if (sl_tls_start(t->tls, t->fd, t->error, sizeof(t->error)) < 0) {
		sl_target_fail(t, "tls", 0);
		return;
	}
	t->st = MON_TS_HANDSHAKE;
	t->want = POLLOUT;
}

static void
sl_target_handshake(struct sl_target *t)
{
	char err[128];
	int rc = sl_tls_handshake(t->tls, &t->want, err, sizeof(err));

	if (rc > 0) {
		t->want = 0;
		sl_target_up(t);
	} else if (rc < 0) {
		t->errors++;
		sl_target_fail(t, "tls", 0);
		snprintf(t->error, sizeof(t->error), "tls: %s", err);
	}
}

/* What the server sends (nothing, normally): EOF means it went away. */
static void
sl_target_read(struct sl_target *t)
{
	char buf[512];
	ssize_t n;

	if (t->tls) {
		if (sl_tls_drain(t->tls) < 0)
			sl_target_fail(t, "server", 0);
		return;
	}
	while ((n = recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	if (n == 0 && t->stream)
		sl_target_fail(t, "server", 0);
	else if (n < 0 && errno != EAGAIN && errno != EINTR &&
	         (t->stream || t->cf.type == CONF_LOG_LOCAL))
		sl_target_fail(t, "recv", errno);
}

short
sl_target_events(const struct sl_target *t)
{
	if (t->fd < 0)
		return 0;
	switch (t->st) {
	case MON_TS_CONNECTING:
		return POLLOUT;
	case MON_TS_HANDSHAKE:
		return t->want ? t->want : POLLIN;
	case MON_TS_UP:
		if (t->want && t->qn > 0)
			return t->want | POLLIN;
		return POLLIN | (t->qn > 0 ? POLLOUT : 0);
	default:
		return 0;
	}
}

void
sl_target_io(struct sl_target *t, short revents)
{
	if (t->fd < 0 || revents == 0)
		return;
	switch (t->st) {
	case MON_TS_CONNECTING:
		sl_target_connected(t);
		if (t->st == MON_TS_HANDSHAKE)
			sl_target_handshake(t);
		break;
	case MON_TS_HANDSHAKE:
		sl_target_handshake(t);
		break;
	case MON_TS_UP:
		if (revents & (POLLIN | POLLHUP | POLLERR))
			sl_target_read(t);
		if (t->st == MON_TS_UP && t->qn > 0)
			sl_target_flush(t);
		break;
	default:
		break;
	}
}

void
sl_target_tick(struct sl_target *t, int64_t now)
{
	if (t->st == MON_TS_DOWN && now >= t->retry_ms)
		sl_target_connect(t, now);
	else if ((t->st == MON_TS_CONNECTING || t->st == MON_TS_HANDSHAKE) &&
	         now >= t->deadline_ms)
		sl_target_fail(t, "connect", ETIMEDOUT);
	if (t->st == MON_TS_UP && t->qn > 0)
		sl_target_flush(t);
}

int64_t
sl_target_next_ms(const struct sl_target *t)
{
	if (t->st == MON_TS_DOWN)
		return t->retry_ms;
	if (t->st != MON_TS_UP)
		return t->deadline_ms;
	return INT64_MAX;
}

void
sl_target_stat(const struct sl_target *t, struct mon_tstat *out)
{
	memset(out, 0, sizeof(*out));
	out->state = (uint32_t)t->st;
	out->queued = t->qn;
	out->taken = t->taken;
	out->sent = t->sent;
	out->dropped = t->dropped;
	out->reconnects = t->reconnects;
	out->errors = t->errors;
	for (size_t i = 0; i < sizeof(out->error) - 1 && t->error[i]; i++)
		out->error[i] = t->error[i] >= 0x20 && t->error[i] < 0x7f
		                    ? t->error[i]
		                    : '?';
}

void
sl_target_local(struct sl_target *t, int fd, int err)
{
	if (t->st != MON_TS_CONNECTING || t->fd >= 0) {
		if (fd >= 0)
			close(fd); /* not waiting for one (timed out) */
		return;
	}
	if (fd < 0) {
		sl_target_fail(t, "connect", err);
		return;
	}
	t->fd = fd;
	sl_target_up(t);
}
