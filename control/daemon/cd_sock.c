/*
 * The control sockets: SOCK_STREAM, non-blocking, every client with its
 * own input and output buffers so that a slow or stuck client never
 * stalls another.  Framing: 4-byte big-endian length, then JSON.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/daemon/cordond.h"
#include "core/util/clock.h"

#define CD_READ_CHUNK 65536

/* Sent before a change is made for a client that gave a deadline. */
static const char cd_start_notice[] = "{\"v\":1,\"started\":true}";

static int
cd_sock_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Creates the socket's folder; refuses a path another daemon serves. */
static int
cd_sock_prepare(const char *path, struct sockaddr_un *sun)
{
	char dir[CONF_PATH_MAX];
	char *slash;
	int fd;

	if (cd_sock_addr(path, sun) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	close(fd);
	unlink(path);
	return 0;
}

static gid_t
cd_sock_gid(const char *name)
{
	struct group *g = getgrnam(name);

	if (g != NULL)
		return g->gr_gid;
	cd_log("warning: group \"%s\" does not exist: the control socket "
	       "is for root's group only",
	    name);
	return 0;
}

static int
cd_sock_listen(const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun;
	int fd;

	if (cd_sock_prepare(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chown(path, (uid_t)-1, gid) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cd_sock_open(struct cd *d)
{
	gid_t gid = cd_sock_gid(d->ctl.socket_group);

	if ((d->lfd = cd_sock_listen(d->ctl.socket, 0660, gid)) < 0) {
		cd_log("%s: %s", d->ctl.socket, strerror(errno));
		return -1;
	}
	if ((d->rofd = cd_sock_listen(d->ctl.ro_socket, 0666, 0)) < 0) {
		cd_log("%s: %s", d->ctl.ro_socket, strerror(errno));
		return -1;
	}
	return 0;
}

static void
cd_client_free(struct cd *d, unsigned i)
{
	struct cd_client *c = d->cl[i];

	/* Its change is made: stored and audited as not answered. */
	if (d->promote_rev != 0 && d->promote_cl == c)
		cd_promote(d, false,
		    "the client had gone or stalled before "
		    "its answer was written");
	close(c->fd);
	cd_mon_free(c->mon);
	free(c->in);
	free(c->out);
	free(c);
	d->cl[i] = NULL;
}

void
cd_sock_close(struct cd *d)
{
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++)
		if (d->cl[i] != NULL)
			cd_client_free(d, i);
	cd_promote(d, false, "cordond stopped before its answer was written");
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->ctl.socket);
	}
	if (d->rofd >= 0) {
		close(d->rofd);
		unlink(d->ctl.ro_socket);
	}
}

/* Logs a refusal, at most once per 10 s: a flood must not flood the log. */
static void
cd_sock_refused(int uid, int err)
{
	static int64_t next_ms;
	static unsigned missed;

	if (clk_mono_ms() < next_ms) {
		missed++;
		return;
	}
	cd_log("refusing a client of uid %d: %s (%u more refused since the "
	       "last report)",
	    uid,
	    err == EUSERS ? "its connections or the "
	                    "table are at their limit"
	                  : strerror(err),
	    missed);
	missed = 0;
	next_ms = clk_mono_ms() + 10000;
}

/* Accepts one connection: 0, or -1 when none is waiting. */
static int
cd_sock_accept_one(struct cd *d, int lfd, bool ro)
{
	struct ucred cr = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cr);
	struct cd_client *c = NULL;
	bool evict = false;
	int fd, slot = -1;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    (slot = cd_sock_slot(d->cl, ro, cr.uid, &evict)) < 0 ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		cd_sock_refused(slot < 0 ? (int)cr.uid : -1, errno);
		close(fd);
		return 0;
	}
	if (evict) {
		cd_debug("closing an idle client of uid %d for uid %d",
		    (int)d->cl[slot]->uid, (int)cr.uid);
		cd_client_free(d, (unsigned)slot);
	}
	c->fd = fd;
	c->ro = ro;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	c->since_ms = clk_mono_ms();
	c->deadline_ms = c->since_ms + CD_REQ_TIMEOUT_MS;
	d->cl[slot] = c;
	cd_debug("client uid %d pid %d on the %s socket", (int)cr.uid,
	    (int)cr.pid, ro ? "read-only" : "control");
	return 0;
}

/*
 * Drains the listener's queue (a burst at a time), so that a flood of
 * connections, each refused, cannot keep root waiting in the backlog.
 */
void
cd_sock_accept(struct cd *d, int lfd, bool ro)
{
	for (unsigned i = 0; i < CD_ACCEPT_BURST; i++)
		if (cd_sock_accept_one(d, lfd, ro) < 0)
			return;
}

/* Queues REPLY (consumed) framed; CLOSE: close once it is sent. */
static void
cd_client_send(struct cd_client *c, json_t *reply, bool close_after)
{
	char *s = json_dumps(reply, JSON_COMPACT);
	size_t n = s ? strlen(s) : 0;
	uint32_t be = htonl((uint32_t)n);
	char *out;

	json_decref(reply);
	out = realloc(c->out, c->outlen + 4 + n);
	if (s == NULL || out == NULL) {
		free(s);
		c->closing = true;
		return;
	}
	c->out = out;
	memcpy(c->out + c->outlen, &be, 4);
	memcpy(c->out + c->outlen + 4, s, n);
	c->outlen += 4 + n;
	free(s);
	c->closing |= close_after;
	c->deadline_ms = clk_mono_ms() + CD_OUT_TIMEOUT_MS;
}

static void
cd_client_refuse(struct cd_client *c, const char *msg)
{
	json_t *r = json_pack("{s:i, s:b, s:{s:s, s:s}}", "v", 1, "ok", 0,
	    "error", "code", "bad-request", "message", msg);

	cd_client_send(c, r, true);
	c->inlen = 0;
}

/*
 * Serves the next whole request in the input buffer, if no reply is
 * still queued: one request in flight per client, so that pipelined
 * requests cannot make the daemon build replies faster than they drain.
 * -1: the client has gone, close it.
 */
static int
cd_client_parse(struct cd *d, struct cd_client *c)
{
	while (!c->closing && c->outlen == 0 && c->inlen >= 4) {
		uint32_t be, len;
		json_error_t jerr;
		json_t *req, *reply;

		memcpy(&be, c->in, 4);
		if ((len = ntohl(be)) > CD_REQ_MAX) {
			cd_client_refuse(c, "request longer than 1 MiB");
			return 0;
		}
		if (c->inlen < 4 + (size_t)len)
			return 0;
		/* Serialised: a change answered elsewhere is stored first. */
		if (d->promote_rev != 0 && d->promote_cl != c)
			cd_promote(d, false,
			    "another request came before "
			    "its answer was written");
		/* NULs: cd_cmd_run lets only a token hold one. */
		req = json_loadb((const char *)c->in + 4, len,
		    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
		if (req == NULL) {
			char msg[256];

			snprintf(msg, sizeof(msg), "invalid JSON: %s",
			    jerr.text);
			cd_client_refuse(c, msg);
			return 0;
		}
		reply = cd_cmd_run(d, req, c);
		json_decref(req);
		cd_mon_attach(d, c); /* a monitor from now on, if it asked */
		/* A change made: stored once this reply is written. */
		if (d->promote_rev != 0 && d->promote_cl == NULL)
			d->promote_cl = c;
		if (reply == NULL)
			return -1; /* the client has gone */
		cd_client_send(c, reply, false);
		c->inlen -= 4 + (size_t)len;
		memmove(c->in, c->in + 4 + len, c->inlen);
	}
	return 0;
}

static int
cd_client_read(struct cd *d, struct cd_client *c)
{
	ssize_t n;

	/* A whole request is already waiting: serve it before reading on. */
	if (c->inlen >= 4 + (size_t)CD_REQ_MAX)
		return cd_client_parse(d, c);
	if (c->incap - c->inlen < CD_READ_CHUNK) {
		size_t cap = c->inlen + CD_READ_CHUNK;
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
		if (cd_client_parse(d, c) < 0 || c->outlen == c->outoff)
			return -1;
		c->closing = true;
		return 0;
	}
	c->inlen += (size_t)n;
	return cd_client_parse(d, c);
}

static int
cd_client_write(struct cd *d, struct cd_client *c)
{
	ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
	    MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	/* The drain deadline set when the reply was queued stays absolute. */
	c->outoff += (size_t)n;
	if (c->outoff < c->outlen)
		return 0;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	/* Answered: now the change may be stored (cd_promote.c). */
	if (d->promote_rev != 0 && d->promote_cl == c)
		cd_promote(d, true, NULL);
	if (c->closing)
		return -1;
	if (c->mon == NULL)
		c->deadline_ms = clk_mono_ms() + CD_REQ_TIMEOUT_MS;
	return 0;
}

/* Closed by its peer: a client that can no longer read an answer. */
static bool
cd_client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	return fd >= 0 && poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLHUP | POLLERR));
}

/*
 * The start notice goes out whole or the client is gone: a client that
 * gave up first (shut its socket) makes the send fail, so the change is
 * made only if the notice reached a client still waiting for it.
 */
static int
cd_client_notify_start(int fd)
{
	size_t n = sizeof(cd_start_notice) - 1;
	char buf[4 + sizeof(cd_start_notice)];
	uint32_t be = htonl((uint32_t)n);

	memcpy(buf, &be, 4);
	memcpy(buf + 4, cd_start_notice, n);
	if (send(fd, buf, 4 + n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)(4 + n))
		return -1;
	return 0;
}

int
cd_client_admit(const struct cd_client *c, int64_t deadline_ms, bool change,
    struct cd_err *e)
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
	if (change && c->fd >= 0 && cd_client_notify_start(c->fd) < 0)
		return -1;
	return 1;
}

/*
 * A monitor subscriber: its output drains as it reads; anything it
 * sends is discarded, and its end of the connection ends it.
 */
static int
cd_client_mon_io(struct cd *d, struct cd_client *c, short revents)
{
	char buf[512];
	ssize_t n;

	if (revents & POLLIN) {
		n = read(c->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
	}
	if (c->outlen > c->outoff && cd_client_write(d, c) < 0)
		return -1;
	return revents & (POLLERR | POLLNVAL | POLLHUP) ? -1 : 0;
}

void
cd_client_io(struct cd *d, unsigned i, short revents)
{
	struct cd_client *c = d->cl[i];
	int rc = 0;

	if (c->mon != NULL) {
		if (cd_client_mon_io(d, c, revents) < 0)
			cd_client_free(d, i);
		return;
	}
	if (revents & POLLOUT)
		rc = cd_client_write(d, c);
	if (rc == 0 && c->outlen == 0 && !c->closing)
		rc = cd_client_parse(d, c); /* the next pipelined request */
	if (rc == 0 && (revents & POLLIN) && c->outlen == 0 && !c->closing)
		rc = cd_client_read(d, c);
	if (rc == 0 && c->outlen > c->outoff)
		rc = cd_client_write(d, c);
	if (rc == 0 && (revents & (POLLERR | POLLNVAL)))
		rc = -1;
	if (rc == 0 && (revents & POLLHUP) && !(revents & POLLIN))
		rc = -1;
	if (rc < 0)
		cd_client_free(d, i);
}

void
cd_client_timeouts(struct cd *d, int64_t now)
{
	for (unsigned i = 0; i < CD_CLIENT_MAX; i++) {
		struct cd_client *c = d->cl[i];

		/* A monitor never times out: a stalled one loses events. */
		if (c == NULL || c->mon != NULL || now < c->deadline_ms)
			continue;
		if (c->outlen > c->outoff || c->closing) {
			cd_client_free(d, i);
			continue;
		}
		cd_client_refuse(c, "request not complete within 5 s");
		if (cd_client_write(d, c) < 0)
			cd_client_free(d, i);
	}
}
