/*
 * The dataplane channel's server, run by the main lcore between its
 * housekeeping chores.  Everything is non-blocking: a client that stops
 * reading is dropped rather than waited for, and a client that goes away
 * changes nothing but the socket (the fast path keeps enforcing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/util/sysuser.h"
#include "dataplane/ctl/ctl.h"
#include "dataplane/ctl/ctl_int.h"
#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_slog.h"

#define CTL_BATCH    8 /* requests served per wake-up */
#define CTL_CMSG_FDS 8 /* room for more than we accept */

struct ctl {
	struct dp_ctx *dp;
	int lfd;
	int cfd;
	int sndbuf; /* the client socket's SO_SNDBUF */
	int dfd;    /* the socket's folder, for the unlink at exit */
	const char *base;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	union {
		uint8_t b[DPC_MSG_MAX + 1];
		uint64_t align;
	} buf;
};

/* Is something answering on PATH?  Tells a live server from a stale file. */
static int
ctl_path_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

static int
ctl_bind(struct ctl *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat sb;
	mode_t old;
	int rc;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		if (ctl_path_live(&sa)) {
			errno = EADDRINUSE;
			return -1;
		}
		unlink(path);
	}
	old = umask(0177);
	rc = bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc != 0 || chmod(path, 0600) != 0 || listen(c->lfd, 4) != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

/* The socket's folder, held for the unlink at exit: the sandbox
 * (cordon-dp(8), SANDBOX) may not reach it by its path any more. */
static void
ctl_dir_open(struct ctl *c)
{
	const char *slash = strrchr(c->path, '/');

	c->base = slash ? slash + 1 : c->path;
	c->dfd = sysuser_dir_of(c->path, O_PATH);
}

struct ctl *
ctl_open(const char *path, struct dp_ctx *dp)
{
	struct ctl *c;

	if (strlen(path) >= sizeof(c->path)) {
		fprintf(stderr, "cordon-dp: --control %s: path too long\n",
		    path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->dp = dp;
	c->cfd = -1;
	c->lfd =
	    socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || ctl_bind(c, path) != 0) {
		fprintf(stderr, "cordon-dp: --control %s: %s\n", path,
		    strerror(errno));
		if (c->lfd >= 0)
			close(c->lfd);
		free(c);
		return NULL;
	}
	ctl_dir_open(c);
	printf("cordon-dp: control: listening on %s\n", path);
	return c;
}

static void
ctl_drop_client(struct ctl *c, const char *why)
{
	if (c->cfd < 0)
		return;
	close(c->cfd);
	c->cfd = -1;
	printf("cordon-dp: control: client gone (%s); still enforcing "
	       "revision %llu\n",
	    why, (unsigned long long)c->dp->state->revision);
}

void
ctl_close(struct ctl *c)
{
	if (c == NULL)
		return;
	if (c->cfd >= 0)
		close(c->cfd);
	close(c->lfd);
	/* In the sandbox only a folder of its user's lets it go; else
	 * cordond removes it before the next start. */
	if (c->dfd >= 0) {
		unlinkat(c->dfd, c->base, 0);
		close(c->dfd);
	} else
		unlink(c->path);
	free(c);
}

/*
 * One message out, with FD attached when >= 0.  Never blocks: a full
 * socket buffer means the client does not read its replies.
 */
static int
ctl_send(int fd, unsigned type, uint32_t seq, const void *payload, size_t len,
    int pass_fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	uint8_t buf[DPC_MSG_MAX];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	long n = dpc_msg_pack(buf, type, seq, payload, len);

	if (n < 0)
		return -1;
	iov.iov_base = buf;
	iov.iov_len = (size_t)n;
	if (pass_fd >= 0) {
		struct cmsghdr *ch;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &pass_fd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == n ? 0 : -1;
}

static void
ctl_reply(struct ctl *c, unsigned type, uint32_t seq, const void *payload,
    size_t len, int pass_fd)
{
	if (ctl_send(c->cfd, type, seq, payload, len, pass_fd) != 0)
		ctl_drop_client(c, errno == EAGAIN ? "not reading its replies"
		                                   : strerror(errno));
}

static void
ctl_reply_err(struct ctl *c, uint32_t seq, int error, const char *msg)
{
	struct dpc_msg_result r;

	dpc_result_set(&r, error, "%s", msg);
	r.revision = c->dp->state->revision;
	ctl_reply(c, DPC_ERR, seq, &r, sizeof(r), -1);
}

/* Refuses a connection: a reason, then the door. */
static void
ctl_refuse(struct ctl *c, int fd, int error, const char *msg)
{
	struct dpc_msg_result r;

	dpc_result_set(&r, error, "%s", msg);
	r.revision = c->dp->state->revision;
	(void)ctl_send(fd, DPC_ERR, 0, &r, sizeof(r), -1);
	close(fd);
	printf("cordon-dp: control: connection refused: %s\n", msg);
}

static void
ctl_accept(struct ctl *c)
{
	struct ucred cr;
	socklen_t crl = sizeof(cr);
	int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) != 0 ||
	    (cr.uid != 0 && cr.uid != geteuid())) {
		ctl_refuse(c, fd, EPERM, "peer is neither root nor our user");
		return;
	}
	if (c->cfd >= 0) {
		ctl_refuse(c, fd, EBUSY, "another client is connected");
		return;
	}
	c->cfd = fd;
	crl = sizeof(c->sndbuf);
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &c->sndbuf, &crl) != 0)
		c->sndbuf = 0;
	printf("cordon-dp: control: client connected (pid %d)\n", (int)cr.pid);
}

void
ctl_status_fill(const struct dp_ctx *dp, struct dpc_msg_status *s)
{
	const struct dp_state *st = dp->state;

	memset(s, 0, sizeof(*s));
	s->version = DPC_PROTO_VERSION;
	s->pid = (uint32_t)getpid();
	s->revision = st->revision;
	memcpy(s->policy_hash, st->policy_hash, sizeof(s->policy_hash));
	memcpy(s->geo_hash, st->geo_hash, sizeof(s->geo_hash));
	s->started_unix_ns = dp->started_unix_ns;
	s->activated_unix_ns = st->activated_unix_ns;
	s->workers = dp->nworkers;
	s->nports = dp->nports;
	s->stats_size = sizeof(struct stats);
	s->stats_count = dp->nworkers;
	s->pol_layout = POL_LAYOUT_VERSION;
	s->pol_size = sizeof(struct policy);
	s->top_size = sizeof(struct top_sketch);
	s->sandbox = !dp->no_sandbox;
	s->landlock = (uint16_t)dp->landlock_abi;
	for (unsigned i = 0; i < dp->nports && i < DPC_WIRE_PORTS; i++)
		snprintf(s->port[i], sizeof(s->port[i]), "%s",
		    dp->port[i].name);
}

static void
ctl_fds_close(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* SYSLOG: cordond's targets, for the fallback while it is away. */
static void
ctl_syslog(struct ctl *c, uint32_t seq, const void *payload)
{
	struct dpc_msg_syslog m;
	struct dpc_msg_result r;
	char msg[200];

	memcpy(&m, payload, sizeof(m));
	if (dpc_syslog_check(&m, msg, sizeof(msg)) < 0)
		dpc_result_set(&r, errno, "%s", msg);
	else if (dp_slog_configure(c->dp, &m, msg, sizeof(msg)) < 0)
		dpc_result_set(&r, ENOMEM, "%s", msg);
	else
		dpc_result_set(&r, 0, "%s", msg);
	r.revision = c->dp->state->revision;
	printf("cordon-dp: control: %s\n", r.message);
	ctl_reply(c, DPC_SYSLOG_REPLY, seq, &r, sizeof(r), -1);
}

static void
ctl_dispatch(struct ctl *c, const struct dpc_hdr *h, const void *payload,
    int *fds, unsigned nfd)
{
	struct dpc_msg_status s;
	struct dpc_msg_result r;

	if (h->type != DPC_LOAD && nfd > 0) {
		ctl_fds_close(fds, nfd);
		ctl_reply_err(c, h->seq, EBADMSG,
		    "unexpected file descriptors");
		return;
	}
	switch (h->type) {
	case DPC_HELLO:
	case DPC_STATUS:
		ctl_status_fill(c->dp, &s);
		ctl_reply(c,
		    h->type == DPC_HELLO ? DPC_HELLO_REPLY : DPC_STATUS_REPLY,
		    h->seq, &s, sizeof(s),
		    h->type == DPC_HELLO ? c->dp->stats_fd : -1);
		return;
	case DPC_LOAD:
		ctl_load(c->dp, payload, fds, nfd, &r);
		ctl_reply(c, DPC_LOAD_REPLY, h->seq, &r, sizeof(r), -1);
		return;
	case DPC_SYSLOG:
		ctl_syslog(c, h->seq, payload);
		return;
	default:
		/* Replies sent to us, or types we do not serve. */
		ctl_reply_err(c, h->seq, EOPNOTSUPP, "not a request");
		return;
	}
}

/* Collects SCM_RIGHTS fds into FDS; extra ones are closed and flagged. */
static unsigned
ctl_fds_take(struct msghdr *mh, int *fds, int *excess)
{
	unsigned n = 0;

	for (struct cmsghdr *ch = CMSG_FIRSTHDR(mh); ch;
	     ch = CMSG_NXTHDR(mh, ch)) {
		if (ch->cmsg_level != SOL_SOCKET || ch->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0;
		     i < (ch->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(ch) + i * sizeof(int),
			    sizeof(fd));
			if (n < DPC_MSG_FDS) {
				fds[n++] = fd;
			} else {
				close(fd);
				*excess = 1;
			}
		}
	}
	return n;
}

/* recv() of 0: an empty message, or the peer hung up? */
static int
ctl_peer_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

/* Serves one message; -1 when there is nothing more (or no client). */
static int
ctl_serve_one(struct ctl *c)
{
	union {
		char b[CMSG_SPACE(CTL_CMSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { c->buf.b, sizeof(c->buf.b) };
	struct msghdr mh = { .msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm.b,
		.msg_controllen = sizeof(cm.b) };
	int fds[DPC_MSG_FDS], excess = 0;
	struct dpc_hdr h;
	unsigned nfd;
	char err[200];
	ssize_t n;

	n = recvmsg(c->cfd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			ctl_drop_client(c, strerror(errno));
		return -1;
	}
	if (n == 0 && ctl_peer_gone(c->cfd)) {
		ctl_drop_client(c, "disconnected");
		return -1;
	}
	nfd = ctl_fds_take(&mh, fds, &excess);
	if (mh.msg_flags & MSG_TRUNC)
		snprintf(err, sizeof(err),
		    "oversized message: more than %u "
		    "bytes",
		    DPC_MSG_MAX);
	else if (excess || (mh.msg_flags & MSG_CTRUNC))
		snprintf(err, sizeof(err), "more than %u file descriptors",
		    DPC_MSG_FDS);
	else if (dpc_msg_check(c->buf.b, (size_t)n, &h, err, sizeof(err)) ==
	         0) {
		ctl_dispatch(c, &h, c->buf.b + sizeof(h), fds, nfd);
		return 0;
	}
	if (n >= (ssize_t)sizeof(h))
		memcpy(&h, c->buf.b, sizeof(h));
	else
		h.seq = 0;
	ctl_fds_close(fds, nfd);
	ctl_reply_err(c, h.seq, EBADMSG, err);
	return 0;
}

/* Room for events: they may fill at most half the socket buffer. */
static int
ctl_event_room(const struct ctl *c)
{
	int queued = 0;

	if (ioctl(c->cfd, SIOCOUTQ, &queued) != 0)
		return 0;
	return queued + 2 * (int)DPC_MSG_MAX < c->sndbuf / 2;
}

int
ctl_connected(const struct ctl *c)
{
	return c != NULL && c->cfd >= 0;
}

long
ctl_events_send(struct ctl *c, const struct dpc_wire_event *ev, unsigned n)
{
	struct dpc_msg_event m;
	unsigned off = 0, k;

	if (c == NULL || c->cfd < 0)
		return -1;
	while (off < n && ctl_event_room(c)) {
		k = n - off < DPC_EVENT_BATCH ? n - off : DPC_EVENT_BATCH;
		memset(&m, 0, sizeof(m));
		m.n = k;
		memcpy(m.ev, ev + off, k * sizeof(*ev));
		if (ctl_send(c->cfd, DPC_EVENT, 0, &m, sizeof(m), -1) != 0)
			break;
		off += k;
	}
	return (long)(n - off);
}

int
ctl_knock_send(struct ctl *c, const struct dpc_msg_knock *k)
{
	if (c == NULL || c->cfd < 0 || !ctl_event_room(c))
		return -1;
	return ctl_send(c->cfd, DPC_KNOCK, 0, k, sizeof(*k), -1);
}

int
ctl_evidence_send(struct ctl *c, const struct dpc_msg_evidence *m)
{
	if (c == NULL || c->cfd < 0 || !ctl_event_room(c))
		return -1;
	return ctl_send(c->cfd, DPC_EVIDENCE, 0, m, sizeof(*m), -1);
}

void
ctl_poll(struct ctl *c, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = c->lfd, .events = POLLIN },
		{ .fd = c->cfd, .events = POLLIN },
	};

	if (poll(p, c->cfd >= 0 ? 2 : 1, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
		return;
	if (c->cfd >= 0 && p[1].revents)
		for (unsigned i = 0; i < CTL_BATCH && c->cfd >= 0; i++)
			if (ctl_serve_one(c) != 0)
				break;
	if (p[0].revents & POLLIN)
		ctl_accept(c);
}
