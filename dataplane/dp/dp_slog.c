/*
 * The syslog fallback of the main lcore.  Records are formatted once
 * into a ring of DP_SLOG_RING; each target has its own cursor (the
 * sequence number of the next record it sends), so a target whose
 * socket is full lags alone, and one a whole ring behind loses the
 * oldest records (counted as dropped).  Sockets are datagram sockets,
 * non-blocking and connected: local (a unix path, such as /dev/log) and
 * udp.  Nothing here waits, and nothing here runs on a worker.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/slog/sl_rate.h"
#include "core/util/clock.h"
#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_slog.h"
#include "wire/dpc_record.h"

#define DP_SLOG_RETRY_MS 1000 /* a local socket that refused: again after */

struct dp_slog_target {
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd;           /* -1: not connected (yet) */
	uint64_t next;    /* sequence number of the next record to send */
	int64_t retry_ms; /* monotonic: when to connect again */
};

struct dp_slog {
	unsigned facility, ntargets;
	struct dp_slog_target t[DPC_SYSLOG_TARGETS];
	char host[256], procid[16];
	struct sl_bucket rate; /* core/slog/sl_rate.h */
	bool away;             /* the last events came while cordond was away */
	uint64_t head;         /* records queued so far */
	uint16_t len[DP_SLOG_RING];
	char rec[DP_SLOG_RING][SL_MSG_MAX];
};

static struct stats_slog *
dp_slog_ctr(struct dp_ctx *ctx)
{
	return &ctx->stats[0].slog;
}

static void
dp_slog_disconnect(struct dp_slog_target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The target's address; false for the kinds cordon-dp does not send to. */
static bool
dp_slog_addr(struct dp_slog_target *t, const struct dpc_wire_log_target *w)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&t->sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t->sa;
	struct sockaddr_un *su = (struct sockaddr_un *)&t->sa;

	memset(&t->sa, 0, sizeof(t->sa));
	if (w->type == DPC_LOG_LOCAL) {
		if (strlen(w->address) >= sizeof(su->sun_path))
			return false;
		su->sun_family = AF_UNIX;
		memcpy(su->sun_path, w->address, strlen(w->address));
		t->salen = sizeof(*su);
		return true;
	}
	if (w->type != DPC_LOG_UDP)
		return false;
	if (inet_pton(AF_INET, w->address, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)w->port);
		t->salen = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, w->address, &s6->sin6_addr) != 1)
		return false;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)w->port);
	t->salen = sizeof(*s6);
	return true;
}

/* A connected, non-blocking datagram socket; a refusal waits a while. */
static void
dp_slog_connect(struct dp_slog_target *t, int64_t now)
{
	if (t->fd >= 0 || now < t->retry_ms)
		return;
	t->fd = socket(t->sa.ss_family,
	    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd >= 0 &&
	    connect(t->fd, (struct sockaddr *)&t->sa, t->salen) == 0)
		return;
	dp_slog_disconnect(t);
	t->retry_ms = now + DP_SLOG_RETRY_MS;
}

/*
 * T's place among the OLD targets: a target cordond hands over again
 * keeps its socket and the records it has yet to send.  A target no
 * longer listed loses those (counted).
 */
static void
dp_slog_keep(struct dp_ctx *ctx, struct dp_slog_target *t,
    struct dp_slog_target *old, unsigned nold)
{
	t->fd = -1;
	t->next = ctx->slog->head;
	t->retry_ms = 0;
	for (unsigned i = 0; i < nold; i++) {
		if (old[i].salen != t->salen ||
		    memcmp(&old[i].sa, &t->sa, t->salen) != 0)
			continue;
		t->fd = old[i].fd;
		t->next = old[i].next;
		t->retry_ms = old[i].retry_ms;
		old[i].fd = -1;
		old[i].next = ctx->slog->head;
		return;
	}
}

static void
dp_slog_forget(struct dp_ctx *ctx, struct dp_slog_target *old, unsigned nold)
{
	uint64_t head = ctx->slog->head;

	for (unsigned i = 0; i < nold; i++) {
		dp_slog_disconnect(&old[i]);
		dp_slog_ctr(ctx)->dropped += head - old[i].next > DP_SLOG_RING
		                                 ? DP_SLOG_RING
		                                 : head - old[i].next;
	}
}

int
dp_slog_configure(struct dp_ctx *ctx, const struct dpc_msg_syslog *m, char *msg,
    size_t len)
{
	struct dp_slog_target old[DPC_SYSLOG_TARGETS];
	struct dp_slog *s = ctx->slog;
	unsigned nold, other = 0;

	if (s == NULL && (s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(msg, len, "syslog fallback: out of memory");
		return -1;
	}
	ctx->slog = s;
	nold = s->ntargets;
	memcpy(old, s->t, sizeof(old));
	s->ntargets = 0;
	for (unsigned i = 0; i < m->ntargets; i++) {
		struct dp_slog_target *t = &s->t[s->ntargets];

		if (!dp_slog_addr(t, &m->target[i])) {
			other++;
			continue;
		}
		dp_slog_keep(ctx, t, old, nold);
		s->ntargets++;
	}
	dp_slog_forget(ctx, old, nold);
	s->facility = m->facility;
	sl_bucket_init(&s->rate, m->rate, clk_mono_ms());
	if (gethostname(s->host, sizeof(s->host) - 1) != 0)
		s->host[0] = '\0';
	snprintf(s->procid, sizeof(s->procid), "%d", (int)getpid());
	snprintf(msg, len,
	    "syslog fallback: %u target(s) (local, udp), %u not covered "
	    "(tcp, tls)",
	    s->ntargets, other);
	return 0;
}

/* Formats EV's record into the ring, marked as the fallback's. */
static void
dp_slog_record(struct dp_ctx *ctx, struct dp_slog *s,
    const struct dpc_wire_event *ev)
{
	int64_t us = (int64_t)(ev->unix_ns / 1000);
	const char *port = ev->port < ctx->nports ? ctx->port[ev->port].name
	                                          : NULL;
	struct dpc_record r;
	struct sl_msg m;
	long n;

	dpc_record_fill(&r, ev, ctx->state->pol, port, ev->count, us, us);
	(void)dpc_record_add(&r, "fallback", "true");
	m = (struct sl_msg){ .facility = s->facility,
		.severity = r.severity,
		.unix_us = us,
		.host = s->host,
		.app = "cordon-dp",
		.procid = s->procid,
		.msgid = r.msgid,
		.sd = r.sd,
		.nsd = r.nsd,
		.msg = r.msg };
	n = sl_format(&m, s->rec[s->head % DP_SLOG_RING], SL_MSG_MAX);
	if (n < 0)
		return;
	s->len[s->head % DP_SLOG_RING] = (uint16_t)n;
	s->head++;
	dp_slog_ctr(ctx)->records++;
}

void
dp_slog_events(struct dp_ctx *ctx, const struct dpc_wire_event *ev, unsigned n)
{
	struct dp_slog *s = ctx->slog;
	struct stats_slog *c = dp_slog_ctr(ctx);
	int64_t now = clk_mono_ms();

	if (s == NULL || s->ntargets == 0 || n == 0)
		return;
	if (!s->away)
		printf("cordon-dp: cordond is away: sending the packet "
		       "records to its syslog targets (fallback)\n");
	s->away = true;
	for (unsigned i = 0; i < n; i++) {
		c->events += ev[i].count;
		if (!sl_bucket_take(&s->rate, now)) {
			c->rate_limited_records++;
			c->rate_limited_events += ev[i].count;
			continue;
		}
		dp_slog_record(ctx, s, &ev[i]);
	}
}

/*
 * One record to T: 1 sent, 0 the socket is full, -1 lost.  A udp
 * ECONNREFUSED is an earlier datagram's ICMP error, reported instead of
 * sending this one: it is tried once more.
 */
static int
dp_slog_send(struct dp_slog_target *t, const char *b, size_t len)
{
	for (int i = 0; i < 2; i++) {
		if (send(t->fd, b, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 1;
		if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR)
			return 0;
		if (errno != ECONNREFUSED || t->sa.ss_family == AF_UNIX)
			break;
	}
	return -1;
}

/* Sends T's records until its socket would block. */
static void
dp_slog_target_flush(struct dp_ctx *ctx, struct dp_slog *s,
    struct dp_slog_target *t, int64_t now)
{
	struct stats_slog *c = dp_slog_ctr(ctx);
	unsigned k;
	int rc;

	if (s->head - t->next > DP_SLOG_RING) {
		c->dropped += s->head - t->next - DP_SLOG_RING;
		t->next = s->head - DP_SLOG_RING;
	}
	if (t->next == s->head)
		return;
	dp_slog_connect(t, now);
	while (t->fd >= 0 && t->next < s->head) {
		k = (unsigned)(t->next % DP_SLOG_RING);
		if ((rc = dp_slog_send(t, s->rec[k], s->len[k])) == 0)
			return; /* its turn comes at the next tick */
		if (rc > 0) {
			c->sent++;
		} else {
			/* No collector (ICMP), a socket gone: this record
			 * is lost; a local socket is connected again. */
			c->dropped++;
			if (t->sa.ss_family == AF_UNIX) {
				dp_slog_disconnect(t);
				t->retry_ms = now + DP_SLOG_RETRY_MS;
			}
		}
		t->next++;
	}
}

void
dp_slog_flush(struct dp_ctx *ctx)
{
	struct dp_slog *s = ctx->slog;
	int64_t now = clk_mono_ms();

	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->ntargets; i++)
		dp_slog_target_flush(ctx, s, &s->t[i], now);
}

void
dp_slog_back(struct dp_ctx *ctx)
{
	struct dp_slog *s = ctx->slog;

	if (s == NULL || !s->away)
		return;
	s->away = false;
	printf("cordon-dp: cordond is back: it sends the packet records; "
	       "fallback off\n");
}

void
dp_slog_close(struct dp_ctx *ctx)
{
	struct dp_slog *s = ctx->slog;

	if (s == NULL)
		return;
	dp_slog_flush(ctx);
	for (unsigned i = 0; i < s->ntargets; i++)
		dp_slog_disconnect(&s->t[i]);
	free(s);
	ctx->slog = NULL;
}
