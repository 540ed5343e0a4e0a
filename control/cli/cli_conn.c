/*
 * The wire of docs/control.md section 3: a stream Unix socket, each
 * message a 4-byte big-endian length then that much UTF-8 JSON.  One
 * request, one reply, under one deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control/cli/cli.h"

int
cli_conn_open(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, e;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int64_t
cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for EV on FD until DEADLINE; -1 with errno ETIMEDOUT after. */
static int
cli_wait(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - cli_now_ms();
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

json_t *
cli_conn_call(int fd, const json_t *req, int timeout_ms, char *err,
    size_t errlen)
{
	int64_t deadline = cli_now_ms() + timeout_ms;
	unsigned char hdr[4];
	json_error_t jerr;
	json_t *r = NULL;
	uint32_t len;
	char *body;

	if (cli_send_req(fd, req, deadline, err, errlen) < 0)
		return NULL;
	if (cli_recv_all(fd, (char *)hdr, 4, deadline) < 0) {
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
		snprintf(err, errlen, "reading the reply: %s",
		    errno == EPIPE ? "truncated" : strerror(errno));
		goto out_body;
	}
	r = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r)
		snprintf(err, errlen, "malformed reply: %s", jerr.text);
	else if (cli_reply_check(r, err, errlen) < 0) {
		json_decref(r);
		r = NULL;
	}
out_body:
	free(body);
	return r;
}
