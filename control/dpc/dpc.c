/*
 * Client side of the dataplane channel (docs/control.md, section 1).
 * Requests are strictly one at a time: send, then wait for the reply
 * with the same sequence number (a reply to an earlier request that
 * timed out is skipped), all under one deadline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/dpc/dpc.h"
#include "wire/dpc_proto.h"
#include "core/top/top.h"
#include "core/util/clock.h"

_Static_assert(DPC_HASH_LEN == DPC_WIRE_HASH, "hash sizes");
_Static_assert(DPC_PORT_MAX == DPC_WIRE_PORTS, "port counts");
_Static_assert(DPC_NAME_MAX == DPC_WIRE_NAME, "port names");

struct dpc {
	int fd;
	uint32_t seq;
	const struct stats *stats; /* the counters memfd, read-only */
	size_t stats_len;
	unsigned nstats;
	/* Events that arrived while a request waited for its reply. */
	struct dpc_wire_event *evq;
	unsigned evn;
	uint64_t ev_lost;
	/* Knocks likewise, and who takes them. */
	struct dpc_msg_knock *kq;
	unsigned kn;
	uint64_t knock_lost;
	dpc_knock_fn *knock_fn;
	void *knock_arg;
	dpc_evidence_fn *evid_fn;
	void *evid_arg;
	struct dpc_msg_evidence *eq; /* evidence notes kept across a request */
	unsigned en;
	int sess_fd; /* to send with the next LOAD; -1: none */
};

#define DPC_KQ_MAX 16 /* knocks kept across one request */
#define DPC_EQ_MAX 32 /* evidence notes kept across one request */

#define DPC_EVQ_MAX  4096 /* events kept across one request */
#define DPC_EV_READS 64   /* messages per dpc_events_read() */

/* A reply as received: header, payload, and at most one fd. */
struct dpc_rx {
	struct dpc_hdr h;
	union {
		struct dpc_msg_status status;
		struct dpc_msg_result result;
		struct dpc_msg_event event;
		struct dpc_msg_knock knock;
		struct dpc_msg_evidence evid;
		uint8_t b[DPC_MSG_MAX];
	} u;
	int fd;
};

static int
dpc_left(int64_t deadline)
{
	int64_t left = deadline - clk_mono_ms();

	return left > 0 ? (int)left : 0;
}

/* Waits for EVENTS on FD until DEADLINE: 0, or -1 with ETIMEDOUT. */
static int
dpc_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int rc;

	do {
		rc = poll(&p, 1, dpc_left(deadline));
	} while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return rc < 0 ? -1 : 0;
}

struct dpc *
dpc_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = clk_mono_ms() + timeout_ms;
	struct dpc *c;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->sess_fd = -1;
	c->fd =
	    socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	/* A cordon-dp still starting up has no socket yet: retry. */
	while (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if ((errno != ENOENT && errno != ECONNREFUSED &&
		        errno != EAGAIN) ||
		    clk_mono_ms() >= deadline)
			goto fail;
		usleep(20000);
	}
	return c;

fail:
	if (c->fd >= 0) {
		int e = errno;

		close(c->fd);
		errno = e;
	}
	free(c);
	return NULL;
}

static void
dpc_unmap(struct dpc *c)
{
	if (c->stats)
		munmap((void *)c->stats, c->stats_len);
	c->stats = NULL;
	c->stats_len = 0;
	c->nstats = 0;
}

void
dpc_close(struct dpc *c)
{
	if (c == NULL)
		return;
	dpc_unmap(c);
	close(c->fd);
	if (c->sess_fd >= 0)
		close(c->sess_fd);
	free(c->evq);
	free(c->kq);
	free(c->eq);
	free(c);
}

int
dpc_fd(const struct dpc *c)
{
	return c->fd;
}

static int
dpc_send(struct dpc *c, unsigned type, const void *payload, size_t len,
    const int *fds, unsigned nfd, int64_t deadline)
{
	union {
		char b[CMSG_SPACE(DPC_MSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t buf[DPC_MSG_MAX];
	struct iovec iov = { buf, 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long n = dpc_msg_pack(buf, type, ++c->seq, payload, len);

	if (n < 0 || nfd > DPC_MSG_FDS) {
		errno = EMSGSIZE;
		return -1;
	}
	iov.iov_len = (size_t)n;
	if (nfd) {
		struct cmsghdr *ch;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(ch), fds, nfd * sizeof(int));
	}
	for (;;) {
		if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) == n)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (dpc_wait(c->fd, POLLOUT, deadline) != 0)
			return -1;
	}
}

/* Receives one message into RX; the fd (if any) is RX->fd, else -1. */
static int
dpc_recv_one(struct dpc *c, struct dpc_rx *rx, int64_t deadline)
{
	union {
		char b[CMSG_SPACE(DPC_MSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t buf[DPC_MSG_MAX + 1];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.b,
		.msg_controllen = sizeof(cm.b) };
	char err[160];
	ssize_t n;

	rx->fd = -1;
	while ((n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC)) < 0) {
		/*
		 * A peer that closes with our request unread (a refusal)
		 * leaves ECONNRESET, reported before the reply it queued:
		 * the error is cleared by reporting it, so look again.
		 */
		if (errno == ECONNRESET &&
		    (n = recvmsg(c->fd, &mh,
		         MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) >= 0)
			break;
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (dpc_wait(c->fd, POLLIN, deadline) != 0)
			return -1;
	}
	for (struct cmsghdr *ch = CMSG_FIRSTHDR(&mh); ch;
	     ch = CMSG_NXTHDR(&mh, ch)) {
		size_t k = (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; ch->cmsg_type == SCM_RIGHTS && i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int),
			    sizeof(fd));
			if (rx->fd < 0)
				rx->fd = fd;
			else
				close(fd);
		}
	}
	if (n == 0) {
		errno = ECONNRESET; /* cordon-dp closed the channel */
		goto bad;
	}
	if (mh.msg_flags & MSG_TRUNC ||
	    dpc_msg_check(buf, (size_t)n, &rx->h, err, sizeof(err)) != 0) {
		errno = EBADMSG;
		goto bad;
	}
	memcpy(rx->u.b, buf + sizeof(rx->h), rx->h.len);
	return 0;

bad:
	if (rx->fd >= 0)
		close(rx->fd);
	rx->fd = -1;
	return -1;
}

/* Keeps an event message that arrived during a request, for later. */
static void
dpc_ev_stash(struct dpc *c, const struct dpc_msg_event *m)
{
	unsigned n = m->n <= DPC_EVENT_BATCH ? m->n : 0;

	if (c->evq == NULL &&
	    (c->evq = calloc(DPC_EVQ_MAX, sizeof(*c->evq))) == NULL) {
		for (unsigned i = 0; i < n; i++)
			c->ev_lost += m->ev[i].count;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (c->evn < DPC_EVQ_MAX)
			c->evq[c->evn++] = m->ev[i];
		else
			c->ev_lost += m->ev[i].count;
	}
}

static void
dpc_knock_stash(struct dpc *c, const struct dpc_msg_knock *m)
{
	if (c->kq == NULL &&
	    (c->kq = calloc(DPC_KQ_MAX, sizeof(*c->kq))) == NULL) {
		c->knock_lost++;
		return;
	}
	if (c->kn < DPC_KQ_MAX)
		c->kq[c->kn++] = *m;
	else
		c->knock_lost++;
}

/* An evidence note that arrived during a request (a few are kept). */
static void
dpc_evid_stash(struct dpc *c, const struct dpc_msg_evidence *m)
{
	if (c->eq == NULL &&
	    (c->eq = calloc(DPC_EQ_MAX, sizeof(*c->eq))) == NULL)
		return;
	if (c->en < DPC_EQ_MAX)
		c->eq[c->en++] = *m;
}

static void
dpc_err_set(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/*
 * One request, one reply of type WANT (or ERR).  0 with RX filled, or -1
 * with errno (the ERR's or LOAD_REPLY's error when cordon-dp refused)
 * and, when ERR is given, a message.
 */
static int
dpc_request(struct dpc *c, unsigned type, const void *payload, size_t len,
    const int *fds, unsigned nfd, unsigned want, struct dpc_rx *rx,
    int timeout_ms, char *err, size_t errlen)
{
	int64_t deadline = clk_mono_ms() + timeout_ms;

	if (dpc_send(c, type, payload, len, fds, nfd, deadline) != 0) {
		/* Refused before we spoke: the reason may be waiting. */
		if ((errno != EPIPE && errno != ECONNRESET) ||
		    dpc_recv_one(c, rx, clk_mono_ms()) != 0 ||
		    rx->h.type != DPC_ERR) {
			errno = errno == EBADMSG || errno == ETIMEDOUT ? EPIPE
			                                               : errno;
			goto fail;
		}
		goto answered;
	}
	for (;;) {
		if (dpc_recv_one(c, rx, deadline) != 0)
			goto fail;
		if (rx->h.type == DPC_EVENT) {
			dpc_ev_stash(c, &rx->u.event);
			continue;
		}
		if (rx->h.type == DPC_KNOCK) {
			dpc_knock_stash(c, &rx->u.knock);
			continue;
		}
		if (rx->h.type == DPC_EVIDENCE) {
			dpc_evid_stash(c, &rx->u.evid);
			continue;
		}
		/* Refusals of a connection come with seq 0. */
		if (rx->h.seq == c->seq ||
		    (rx->h.type == DPC_ERR && rx->h.seq == 0))
			break;
		if (rx->fd >= 0)
			close(rx->fd);
	}
answered:
	if (rx->h.type == DPC_ERR ||
	    ((rx->h.type == DPC_LOAD_REPLY || rx->h.type == DPC_SYSLOG_REPLY) &&
	        rx->u.result.error != 0)) {
		rx->u.result.message[DPC_WIRE_TEXT - 1] = '\0';
		dpc_err_set(err, errlen, rx->u.result.message);
		errno = rx->u.result.error > 0 ? rx->u.result.error : EPROTO;
		goto refused;
	}
	if (rx->h.type != want) {
		dpc_err_set(err, errlen, "unexpected reply type");
		errno = EPROTO;
		goto refused;
	}
	return 0;

fail:
	dpc_err_set(err, errlen, strerror(errno));
	return -1;
refused:
	if (rx->fd >= 0)
		close(rx->fd);
	rx->fd = -1;
	return -1;
}

static int
dpc_status_copy(const struct dpc_msg_status *w, struct dpc_status *st)
{
	if (w->version != DPC_PROTO_VERSION ||
	    w->stats_size != sizeof(struct stats) ||
	    w->top_size != sizeof(struct top_sketch) ||
	    w->nports > DPC_PORT_MAX) {
		errno = EPROTO;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->pid = (pid_t)w->pid;
	st->revision = w->revision;
	memcpy(st->policy_hash, w->policy_hash, DPC_HASH_LEN);
	memcpy(st->geo_hash, w->geo_hash, DPC_HASH_LEN);
	st->started_unix_ns = w->started_unix_ns;
	st->activated_unix_ns = w->activated_unix_ns;
	st->workers = w->workers;
	st->nports = w->nports;
	st->sandbox = w->sandbox != 0;
	st->landlock = w->landlock;
	for (unsigned i = 0; i < w->nports; i++)
		snprintf(st->port[i], DPC_NAME_MAX, "%.*s", DPC_NAME_MAX - 1,
		    w->port[i]);
	return 0;
}

/*
 * Maps the counters memfd read-only, after checking its size: COUNT
 * struct stats (at most DPC_WORKERS_MAX), then as many top sketches
 * (core/top).  It must be sealed against shrinking: else cordon-dp
 * could cut it later, and cordond's next read of a counter or a sketch
 * past the end would be a SIGBUS.
 */
static int
dpc_stats_map(struct dpc *c, int fd, unsigned count)
{
	size_t len =
	    (size_t)count * (sizeof(struct stats) + sizeof(struct top_sketch));
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat sb;
	void *p;

	if (count == 0 || count > DPC_WORKERS_MAX || seals < 0 ||
	    !(seals & F_SEAL_SHRINK) || fstat(fd, &sb) != 0 ||
	    (size_t)sb.st_size != len) {
		errno = EPROTO;
		return -1;
	}
	if ((p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
		return -1;
	dpc_unmap(c);
	c->stats = p;
	c->stats_len = len;
	c->nstats = count;
	return 0;
}

int
dpc_hello(struct dpc *c, struct dpc_status *st)
{
	struct dpc_rx rx;
	int rc;

	if (dpc_request(c, DPC_HELLO, NULL, 0, NULL, 0, DPC_HELLO_REPLY, &rx,
	        5000, NULL, 0) != 0)
		return -1;
	if (rx.fd < 0) {
		errno = EPROTO;
		return -1;
	}
	rc = dpc_status_copy(&rx.u.status, st) == 0 &&
	             dpc_stats_map(c, rx.fd, rx.u.status.stats_count) == 0
	         ? 0
	         : -1;
	close(rx.fd);
	return rc;
}

int
dpc_status_get(struct dpc *c, struct dpc_status *st)
{
	struct dpc_rx rx;

	if (dpc_request(c, DPC_STATUS, NULL, 0, NULL, 0, DPC_STATUS_REPLY, &rx,
	        5000, NULL, 0) != 0)
		return -1;
	return dpc_status_copy(&rx.u.status, st);
}

const struct top_sketch *
dpc_top(const struct dpc *c, unsigned *n)
{
	*n = c->stats ? c->nstats : 0;
	return c->stats ? (const struct top_sketch *)&c->stats[c->nstats]
	                : NULL;
}

void
dpc_stats_sum(const struct dpc *c, struct stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < c->nstats; i++)
		stats_add(sum, &c->stats[i]);
}

/* A sealed memfd holding LEN bytes of P: what cordon-dp accepts. */
static int
dpc_memfd(const char *name, const void *p, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	size_t off = 0;

	if (fd < 0)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, (const uint8_t *)p + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS,
	        F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
		goto fail;
	return fd;

fail:
	close(fd);
	return -1;
}

int
dpc_load_blob(struct dpc *c, uint64_t revision, const struct policy *p,
    const void *geo_blob, size_t geo_len, const uint8_t geo_hash[DPC_HASH_LEN],
    int timeout_ms, char *err, size_t errlen)
{
	struct dpc_rx rx;
	struct dpc_msg_load m;
	int fds[3] = { -1, -1, -1 }, rc = -1;
	unsigned nfd;

	memset(&m, 0, sizeof(m));
	m.version = DPC_PROTO_VERSION;
	m.pol_layout = POL_LAYOUT_VERSION;
	m.revision = revision;
	dpc_policy_hash(p, m.policy_hash);
	if (geo_hash)
		memcpy(m.geo_hash, geo_hash, DPC_HASH_LEN);
	m.pol_size = sizeof(*p);
	m.geo_size = geo_blob ? geo_len : 0;
	m.has_geo = geo_blob != NULL;
	if ((fds[0] = dpc_memfd("cordon-policy", p, sizeof(*p))) < 0 ||
	    (geo_blob &&
	        (fds[1] = dpc_memfd("cordon-geo", geo_blob, geo_len)) < 0)) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		goto out;
	}
	nfd = geo_blob ? 2 : 1;
	m.has_sess = c->sess_fd >= 0;
	if (m.has_sess)
		fds[nfd++] = c->sess_fd;
	rc = dpc_request(c, DPC_LOAD, &m, sizeof(m), fds, nfd, DPC_LOAD_REPLY,
	    &rx, timeout_ms, err, errlen);
	/* Delivered: the table is cordon-dp's now too. */
	if (rc == 0 && m.has_sess) {
		close(c->sess_fd);
		c->sess_fd = -1;
	}
	fds[nfd - m.has_sess] = -1;
out:
	for (unsigned i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return rc;
}

int
dpc_load(struct dpc *c, uint64_t revision, const struct policy *p,
    const struct geo_tables *g, const uint8_t geo_hash[DPC_HASH_LEN],
    int timeout_ms, char *err, size_t errlen)
{
	void *blob = NULL;
	size_t len = 0;
	int rc;

	if (g && geo_tables_export(g, &blob, &len) != 0) {
		snprintf(err, errlen, "geo export: %s", strerror(errno));
		return -1;
	}
	rc = dpc_load_blob(c, revision, p, blob, len, geo_hash, timeout_ms, err,
	    errlen);
	free(blob);
	return rc;
}

int
dpc_syslog(struct dpc *c, const struct dpc_msg_syslog *m, int timeout_ms,
    char *err, size_t errlen)
{
	struct dpc_rx rx;

	if (dpc_request(c, DPC_SYSLOG, m, sizeof(*m), NULL, 0, DPC_SYSLOG_REPLY,
	        &rx, timeout_ms, err, errlen) != 0)
		return -1;
	rx.u.result.message[DPC_WIRE_TEXT - 1] = '\0';
	dpc_err_set(err, errlen, rx.u.result.message);
	return 0;
}

/* One EVENT message: its events to FN (a bad count delivers none). */
static void
dpc_ev_deliver(const struct dpc_msg_event *m, dpc_event_fn *fn, void *arg)
{
	if (m->n > DPC_EVENT_BATCH)
		return;
	for (unsigned i = 0; i < m->n; i++)
		fn(arg, &m->ev[i]);
}

void
dpc_evidence_handler(struct dpc *c, dpc_evidence_fn *fn, void *arg)
{
	c->evid_fn = fn;
	c->evid_arg = arg;
}

void
dpc_knock_handler(struct dpc *c, dpc_knock_fn *fn, void *arg)
{
	c->knock_fn = fn;
	c->knock_arg = arg;
}

int
dpc_sess_pending(struct dpc *c, int fd)
{
	int d = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1;

	if (fd >= 0 && d < 0)
		return -1;
	if (c->sess_fd >= 0)
		close(c->sess_fd);
	c->sess_fd = d;
	return 0;
}

uint64_t
dpc_knocks_lost(const struct dpc *c)
{
	return c->knock_lost;
}

static void
dpc_knock_deliver(struct dpc *c, const struct dpc_msg_knock *m)
{
	if (c->knock_fn != NULL && m->len <= DPC_KNOCK_MAX)
		c->knock_fn(c->knock_arg, m);
}

int
dpc_events_read(struct dpc *c, dpc_event_fn *fn, void *arg)
{
	struct dpc_rx rx;

	for (unsigned i = 0; i < c->evn; i++)
		fn(arg, &c->evq[i]);
	c->evn = 0;
	for (unsigned i = 0; i < c->kn; i++)
		dpc_knock_deliver(c, &c->kq[i]);
	c->kn = 0;
	for (unsigned i = 0; i < c->en && c->evid_fn != NULL; i++)
		c->evid_fn(c->evid_arg, &c->eq[i]);
	c->en = 0;
	for (unsigned i = 0; i < DPC_EV_READS; i++) {
		if (dpc_recv_one(c, &rx, 0) != 0) {
			if (errno == ETIMEDOUT || errno == EAGAIN ||
			    errno == EBADMSG)
				return 0;
			return -1;
		}
		if (rx.fd >= 0)
			close(rx.fd);
		if (rx.h.type == DPC_EVENT)
			dpc_ev_deliver(&rx.u.event, fn, arg);
		else if (rx.h.type == DPC_KNOCK)
			dpc_knock_deliver(c, &rx.u.knock);
		else if (rx.h.type == DPC_EVIDENCE && c->evid_fn != NULL)
			c->evid_fn(c->evid_arg, &rx.u.evid);
	}
	return 0;
}

uint64_t
dpc_events_lost(const struct dpc *c)
{
	return c->ev_lost;
}
