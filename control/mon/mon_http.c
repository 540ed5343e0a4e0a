/*
 * The Prometheus listener's HTTP side (mon_http.h).  A client reads its
 * request (READ), waits for the metrics it asked for (WAIT), writes the
 * whole response (WRITE), then drains its input briefly (LINGER).
 */
#define _GNU_SOURCE /* accept4, asprintf, memmem */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/cli/cli_prom.h"
#include "control/mon/mon_http.h"
#include "core/util/clock.h"

#define MON_HTTP_LINGER_MS  1000 /* draining input after the reply */
#define MON_HTTP_ACCEPT_MAX 16   /* per wake-up */

enum mon_http_phase { MH_READ, MH_WAIT, MH_WRITE, MH_LINGER };

struct mon_http_client {
	int fd;
	enum mon_http_phase phase;
	bool head;   /* HEAD: the headers alone */
	uint32_t id; /* WAIT: the metrics asked for */
	int64_t deadline_ms;
	size_t inlen;
	char in[MON_HTTP_REQ_MAX];
	char *out;
	size_t outlen, outoff;
};

struct mon_http {
	int lfd;
	mon_http_ask_fn ask;
	void *arg;
	uint32_t next_id;
	struct mon_http_client *cl[MON_HTTP_CLIENT_MAX];
	int slot[MON_HTTP_PFD_MAX]; /* pollfd index -> client, -1: lfd */
	unsigned npfd;
};

struct mon_http *
mon_http_new(int lfd, mon_http_ask_fn ask, void *arg)
{
	struct mon_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->lfd = lfd;
	h->ask = ask;
	h->arg = arg;
	return h;
}

static void
mh_close(struct mon_http *h, unsigned i)
{
	struct mon_http_client *c = h->cl[i];

	close(c->fd);
	free(c->out);
	free(c);
	h->cl[i] = NULL;
}

void
mon_http_free(struct mon_http *h)
{
	if (h == NULL)
		return;
	for (unsigned i = 0; i < MON_HTTP_CLIENT_MAX; i++)
		if (h->cl[i] != NULL)
			mh_close(h, i);
	close(h->lfd);
	free(h);
}

static const char *
mh_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "HTTP Version Not Supported";
	}
}

/* Queues the whole response (BODY NULL: "STATUS reason\n") and turns
 * the client to writing. */
static void
mh_respond(struct mon_http_client *c, int status, const char *body, size_t len)
{
	char line[64];
	int n;

	if (body == NULL) {
		len = (size_t)snprintf(line, sizeof(line), "%d %s\n", status,
		    mh_reason(status));
		body = line;
	}
	n = asprintf(&c->out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%.*s",
	    status, mh_reason(status),
	    status == 200 ? CLI_PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
	    len, status == 405 ? "Allow: GET, HEAD\r\n" : "",
	    c->head ? 0 : (int)len, body);
	if (n < 0) {
		c->out = NULL;
		n = 0;
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->phase = MH_WRITE;
	c->deadline_ms = clk_mono_ms() + MON_HTTP_TIMEOUT_MS;
}

/* Every header line is NAME: VALUE; 1.1 requests name a Host. */
static bool
mh_headers_ok(const char *h, bool v11)
{
	bool host = false;
	const char *nl;

	for (; *h && *h != '\r' && *h != '\n'; h = nl + 1) {
		const char *colon = strchr(h, ':');

		if ((nl = strchr(h, '\n')) == NULL || colon == NULL ||
		    colon > nl || colon == h || *h == ' ' || *h == '\t')
			return false;
		if (colon - h == 4 && strncasecmp(h, "host", 4) == 0)
			host = true;
	}
	return host || !v11;
}

/* The request line and headers are in: decides the status. */
static int
mh_route(struct mon_http_client *c)
{
	char method[16], target[256], version[16], *q;
	char *eol = strchr(c->in, '\n');

	if (eol == NULL ||
	    sscanf(c->in, "%15[A-Z] %255[^ \r\n] %15[^ \r\n]", method, target,
	        version) != 3 ||
	    (eol[-1] == '\r' ? eol - 1 : eol) !=
	        c->in + strlen(method) + strlen(target) + strlen(version) + 2)
		return 400;
	if (strncmp(version, "HTTP/", 5) != 0 || target[0] != '/')
		return 400;
	if (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1"))
		return 505;
	if (!mh_headers_ok(eol + 1, strcmp(version, "HTTP/1.1") == 0))
		return 400;
	c->head = strcmp(method, "HEAD") == 0;
	if (!c->head && strcmp(method, "GET") != 0)
		return 405;
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	return strcmp(target, "/metrics") == 0 ? 200 : 404;
}

/* A routed request: anything but 200 is answered now; a scrape asks for
 * the metrics and waits (the answer may come before ask returns). */
static void
mh_serve(struct mon_http *h, struct mon_http_client *c)
{
	int status = mh_route(c);

	if (status != 200) {
		mh_respond(c, status, NULL, 0);
		return;
	}
	if (++h->next_id == 0)
		h->next_id = 1;
	c->id = h->next_id;
	c->phase = MH_WAIT;
	c->deadline_ms = clk_mono_ms() + MON_HTTP_TIMEOUT_MS;
	if (h->ask(h->arg, c->id) < 0 && c->phase == MH_WAIT)
		mh_respond(c, 503, NULL, 0);
}

void
mon_http_answer(struct mon_http *h, uint32_t id, int status, const char *text,
    size_t len)
{
	struct mon_http_client *c;

	for (unsigned i = 0; id != 0 && i < MON_HTTP_CLIENT_MAX; i++) {
		if ((c = h->cl[i]) == NULL || c->phase != MH_WAIT ||
		    c->id != id)
			continue;
		mh_respond(c, text ? status : (status == 200 ? 500 : status),
		    text, text ? len : 0);
		return;
	}
}

void
mon_http_answer_all(struct mon_http *h, int status)
{
	for (unsigned i = 0; h != NULL && i < MON_HTTP_CLIENT_MAX; i++)
		if (h->cl[i] != NULL && h->cl[i]->phase == MH_WAIT)
			mh_respond(h->cl[i], status, NULL, 0);
}

/* Whether the request line and headers have all arrived. */
static bool
mh_complete(const struct mon_http_client *c)
{
	return memmem(c->in, c->inlen, "\r\n\r\n", 4) != NULL ||
	       memmem(c->in, c->inlen, "\n\n", 2) != NULL;
}

static void
mh_read(struct mon_http *h, unsigned i)
{
	struct mon_http_client *c = h->cl[i];
	char sink[4096];
	ssize_t n;

	if (c->phase == MH_WAIT) {
		mh_close(h, i); /* POLLERR, POLLHUP: gone */
		return;
	}
	if (c->phase == MH_LINGER) {
		while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			mh_close(h, i);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		mh_close(h, i); /* gone before asking */
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (memchr(c->in, '\0', c->inlen) != NULL)
		mh_respond(c, 400, NULL, 0);
	else if (mh_complete(c))
		mh_serve(h, c);
	else if (c->inlen == sizeof(c->in) - 1)
		mh_respond(c, 431, NULL, 0);
}

/* Sends what the socket takes; once all is out, half-closes and drains
 * the input briefly, so that unread request bytes do not turn the close
 * into a reset that could destroy the response in flight. */
static void
mh_write(struct mon_http *h, unsigned i)
{
	struct mon_http_client *c = h->cl[i];
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			mh_close(h, i);
			return;
		}
		c->outoff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->phase = MH_LINGER;
	c->deadline_ms = clk_mono_ms() + MON_HTTP_LINGER_MS;
}

static void
mh_accept(struct mon_http *h)
{
	unsigned i, k;
	int fd;

	for (k = 0; k < MON_HTTP_ACCEPT_MAX; k++) {
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < MON_HTTP_CLIENT_MAX && h->cl[i] != NULL; i++)
			;
		if (i == MON_HTTP_CLIENT_MAX ||
		    (h->cl[i] = calloc(1, sizeof(*h->cl[i]))) == NULL) {
			close(fd); /* busy: the scraper retries */
			continue;
		}
		h->cl[i]->fd = fd;
		h->cl[i]->deadline_ms = clk_mono_ms() + MON_HTTP_TIMEOUT_MS;
	}
}

unsigned
mon_http_poll_fill(struct mon_http *h, struct pollfd *pfd)
{
	unsigned n = 0;

	if (h == NULL)
		return 0;
	pfd[n] = (struct pollfd){ .fd = h->lfd, .events = POLLIN };
	h->slot[n++] = -1;
	for (unsigned i = 0; i < MON_HTTP_CLIENT_MAX; i++) {
		if (h->cl[i] == NULL)
			continue;
		/* WAIT: a half-closed request still gets its answer */
		pfd[n] = (struct pollfd){ .fd = h->cl[i]->fd,
			.events = h->cl[i]->phase == MH_WRITE  ? POLLOUT
			          : h->cl[i]->phase == MH_WAIT ? 0
			                                       : POLLIN };
		h->slot[n++] = (int)i;
	}
	h->npfd = n;
	return n;
}

/* A request that did not arrive in time gets 408, metrics that did not
 * come 503; a reply that does not drain, or a drain that does not end,
 * is cut. */
static void
mh_timeouts(struct mon_http *h, int64_t now)
{
	struct mon_http_client *c;

	for (unsigned i = 0; i < MON_HTTP_CLIENT_MAX; i++) {
		if ((c = h->cl[i]) == NULL || c->deadline_ms > now)
			continue;
		if (c->phase == MH_READ || c->phase == MH_WAIT) {
			mh_respond(c, c->phase == MH_READ ? 408 : 503, NULL, 0);
			mh_write(h, i);
		} else {
			mh_close(h, i);
		}
	}
}

void
mon_http_poll_done(struct mon_http *h, const struct pollfd *pfd, unsigned n)
{
	if (h == NULL)
		return;
	for (unsigned k = 0; k < n && k < h->npfd; k++) {
		int i = h->slot[k];

		if (pfd[k].revents == 0)
			continue;
		if (i < 0)
			mh_accept(h);
		else if (h->cl[i] == NULL || pfd[k].fd != h->cl[i]->fd)
			continue;
		else if (h->cl[i]->phase == MH_WRITE)
			mh_write(h, (unsigned)i);
		else
			mh_read(h, (unsigned)i);
	}
	mh_timeouts(h, clk_mono_ms());
}

int64_t
mon_http_deadline(const struct mon_http *h, int64_t t)
{
	for (unsigned i = 0; h != NULL && i < MON_HTTP_CLIENT_MAX; i++)
		if (h->cl[i] != NULL && h->cl[i]->deadline_ms < t)
			t = h->cl[i]->deadline_ms;
	return t;
}
