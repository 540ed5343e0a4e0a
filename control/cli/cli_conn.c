/*
 * The wire of docs/control.md section 3: a stream Unix socket, each
 * message a 4-byte big-endian length then that much UTF-8 JSON.  One
 * request, one reply, under one deadline.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/cli/cli.h"
#include "core/util/clock.h"

/*
 * A full listen queue (a frozen or flooded cordond) makes connect() say
 * EAGAIN on a non-blocking socket: retried until the deadline, so that
 * -t bounds the connection too.
 */
static int
cli_connect_retry(int fd, const struct sockaddr_un *sa, int64_t deadline)
{
	struct timespec pause = { 0, 10 * 1000000 };

	while (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -1;
		if (clk_mono_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

int
cli_conn_open(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (cli_connect_retry(fd, &sa, clk_mono_ms() + timeout_ms) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Waits for EV on FD until DEADLINE; -1 with errno ETIMEDOUT after. */
static int
cli_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - clk_mono_ms();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
cli_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		if (cli_wait(fd, POLLOUT, deadline) < 0)
			return -1;
		n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads exactly LEN bytes; a peer closing early is EPIPE. */
static int
cli_recv_all(int fd, char *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		if (cli_wait(fd, POLLIN, deadline) < 0)
			return -1;
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EPIPE;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
cli_send_req(int fd, const json_t *req, int64_t deadline, char *err,
    size_t errlen)
{
	char *body = json_dumps(req, JSON_COMPACT);
	unsigned char hdr[4];
	size_t len;
	int rc = -1;

	if (!body) {
		snprintf(err, errlen, "cannot encode the request");
		return -1;
	}
	len = strlen(body);
	if (len > CLI_REQUEST_MAX) {
		snprintf(err, errlen, "request too large (%zu bytes)", len);
		goto out_body;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	if (cli_send_all(fd, (char *)hdr, 4, deadline) < 0 ||
	    cli_send_all(fd, body, len, deadline) < 0)
		snprintf(err, errlen, "sending the request: %s",
		    strerror(errno));
	else
		rc = 0;
out_body:
	free(body);
	return rc;
}

/* Checks the envelope: {"v":1,"ok":true,"data":...} or ok false with
 * error {code, message} strings. */
static int
cli_reply_check(json_t *r, char *err, size_t errlen)
{
	json_t *ok = json_object_get(r, "ok"), *e;

	if (!json_is_object(r) ||
	    json_integer_value(json_object_get(r, "v")) != 1 ||
	    !json_is_boolean(ok)) {
		snprintf(err, errlen, "malformed reply: not a v1 reply");
		return -1;
	}
	if (json_is_true(ok))
		return 0;
	e = json_object_get(r, "error");
	if (!json_is_string(json_object_get(e, "code")) ||
	    !json_is_string(json_object_get(e, "message"))) {
		snprintf(err, errlen,
		    "malformed reply: error without code "
		    "and message");
		return -1;
	}
	return 0;
}

/* One framed message within DEADLINE: its JSON, or NULL with ERR (and
 * *TIMED_OUT when the deadline passed first). */
static json_t *
cli_recv_msg(int fd, int64_t deadline, bool *timed_out, char *err,
    size_t errlen)
{
	unsigned char hdr[4];
	json_error_t jerr;
	json_t *r = NULL;
	uint32_t len;
	char *body;

	*timed_out = false;
	if (cli_recv_all(fd, (char *)hdr, 4, deadline) < 0) {
		*timed_out = errno == ETIMEDOUT;
		snprintf(err, errlen, "reading the reply: %s",
		    errno == EPIPE ? "connection closed" : strerror(errno));
		return NULL;
	}
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	      (uint32_t)hdr[2] << 8 | hdr[3];
	if (len > CLI_REPLY_MAX) {
		snprintf(err, errlen, "reply too large (%u bytes, at most %u)",
		    len, CLI_REPLY_MAX);
		return NULL;
	}
	if (!(body = malloc(len ? len : 1))) {
		snprintf(err, errlen, "reply of %u bytes: out of memory", len);
		return NULL;
	}
	if (cli_recv_all(fd, body, len, deadline) < 0) {
		*timed_out = errno == ETIMEDOUT;
		snprintf(err, errlen, "reading the reply: %s",
		    errno == EPIPE ? "truncated" : strerror(errno));
	} else if (!(r = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)))
		snprintf(err, errlen, "malformed reply: %s", jerr.text);
	free(body);
	return r;
}

/* {"v":1,"started":true}: cordond is about to make the change. */
static bool
cli_start_notice(json_t *m)
{
	return json_is_object(m) && json_object_get(m, "ok") == NULL &&
	       json_is_true(json_object_get(m, "started"));
}

/* The request as sent: REQ with the deadline cordond must respect. */
static json_t *
cli_req_deadline(const json_t *req, int64_t deadline)
{
	json_t *r = json_copy((json_t *)req);

	if (r != NULL)
		json_object_set_new(r, "deadline_ms", json_integer(deadline));
	return r;
}

/*
 * Gives up at the deadline: shutting the reading side makes any later
 * start notice fail to send, so cordond can no longer start the change.
 * What it sent before is still queued and read now: a start notice
 * (then the outcome is unknown unless the reply is queued too).
 */
static json_t *
cli_give_up(int fd, int timeout_ms, bool *timed_out, char *err, size_t errlen)
{
	json_t *m;

	shutdown(fd, SHUT_RD);
	m = cli_recv_msg(fd, clk_mono_ms() + 1000, timed_out, err, errlen);
	if (m == NULL)
		snprintf(err, errlen,
		    "timed out after %d ms: cordond had not "
		    "started the request, nothing was changed",
		    timeout_ms);
	return m;
}

/*
 * Reads the reply, after any start notice.  Before a notice, a failure
 * means nothing was changed (CLI_EX_UNREACH); after one, the change may
 * or may not have been made (CLI_EX_UNKNOWN): then it waits for the
 * reply at least CLI_OUTCOME_MS from the notice.
 */
static json_t *
cli_reply_read(int fd, int timeout_ms, int64_t deadline, int *ex, char *err,
    size_t errlen)
{
	bool started = false, gave_up = false, timed_out;
	int64_t until = deadline;
	json_t *m;

	for (;;) {
		m = cli_recv_msg(fd, until, &timed_out, err, errlen);
		if (m == NULL && timed_out && !started && !gave_up) {
			gave_up = true;
			until = clk_mono_ms() + 1000;
			m = cli_give_up(fd, timeout_ms, &timed_out, err,
			    errlen);
		}
		if (m == NULL || !cli_start_notice(m))
			break;
		json_decref(m);
		started = true;
		if (!gave_up && until < clk_mono_ms() + CLI_OUTCOME_MS)
			until = clk_mono_ms() + CLI_OUTCOME_MS;
	}
	if (m == NULL && started) {
		*ex = CLI_EX_UNKNOWN;
		snprintf(err + strlen(err), errlen - strlen(err),
		    ": cordond "
		    "had started the request, the change may or may not have "
		    "been made (see show revisions, show audit)");
	}
	return m;
}

json_t *
cli_conn_call(int fd, const json_t *req, int timeout_ms, int *ex, char *err,
    size_t errlen)
{
	int64_t deadline = clk_mono_ms() + timeout_ms;
	json_t *sent = cli_req_deadline(req, deadline), *r;

	*ex = CLI_EX_UNREACH;
	if (sent == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		return NULL;
	}
	if (cli_send_req(fd, sent, deadline, err, errlen) < 0) {
		json_decref(sent);
		return NULL;
	}
	json_decref(sent);
	if (!(r = cli_reply_read(fd, timeout_ms, deadline, ex, err, errlen)))
		return NULL;
	if (cli_reply_check(r, err, errlen) < 0) {
		json_decref(r);
		return NULL;
	}
	return r;
}
