/*
 * The Prometheus listener (control.prometheus.listen): a minimal
 * HTTP/1.0 and 1.1 responder inside cordond's poll loop.  Non-blocking,
 * one buffer per client, requests of at most CD_PROM_REQ_MAX bytes that
 * must arrive within CD_PROM_TIMEOUT_MS, one response per connection
 * (Connection: close).  Only GET (and HEAD) /metrics answer 200, with the
 * same text as `cordonctl show counters prometheus` (control/cli/cli_prom.c,
 * fed by the status, counters, show rules, show logging and session list
 * handlers).
 */
#define _GNU_SOURCE /* accept4, asprintf, memmem */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/cli/cli_prom.h"
#include "control/daemon/cordond.h"

#define CD_PROM_REQ_MAX    8192 /* request line and headers */
#define CD_PROM_TIMEOUT_MS 5000 /* to receive, and to send */
#define CD_PROM_LINGER_MS  1000 /* draining input after the reply */
#define CD_PROM_ACCEPT_MAX 16   /* per wake-up */

enum cd_prom_phase { CD_PROM_READ, CD_PROM_WRITE, CD_PROM_LINGER };

struct cd_prom_client {
	int fd;
	enum cd_prom_phase phase;
	int64_t deadline_ms;
	size_t inlen;
	char in[CD_PROM_REQ_MAX];
	char *out;
	size_t outlen, outoff;
};

struct cd_prom {
	int lfd;
	struct cd_prom_client *cl[CD_PROM_CLIENT_MAX];
	int slot[CD_PROM_PFD_MAX]; /* pollfd index -> client, -1: lfd */
	unsigned npfd;
};

/* One handler's data, asked as a read-only client would; NULL when the
 * handler refused (the dataplane is down). */
static json_t *
cd_prom_data(struct cd *d, const char *cmd, const char *what)
{
	struct cd_client c = { .fd = -1,
		.ro = true,
		.uid = (uid_t)-1,
		.gid = (gid_t)-1 };
	json_t *req, *reply, *data = NULL;

	req = what ? json_pack("{s:i, s:s, s:{s:s}}", "v", 1, "cmd", cmd,
	                 "args", "what", what)
	           : json_pack("{s:i, s:s}", "v", 1, "cmd", cmd);
	if (req == NULL)
		return NULL;
	reply = cd_cmd_run(d, req, &c);
	if (json_is_true(json_object_get(reply, "ok")))
		data = json_incref(json_object_get(reply, "data"));
	json_decref(reply);
	json_decref(req);
	return data;
}

/* TEXT with the top denied sources after it (cli_prom_top.c). */
static char *
cd_prom_top(struct cd *d, char *text)
{
	json_t *top = text ? cd_prom_data(d, "top", NULL) : NULL;
	char *more = top ? cli_prom_top_format(top) : NULL, *all = NULL;

	json_decref(top);
	if (more && asprintf(&all, "%s%s", text, more) >= 0) {
		free(text);
		text = all;
	}
	free(more);
	return text;
}

/* The exposition, or NULL (out of memory). */
static char *
cd_prom_body(struct cd *d)
{
	json_t *st = cd_prom_data(d, "status", NULL);
	json_t *cn = cd_prom_data(d, "counters", NULL);
	json_t *ru = cn ? cd_prom_data(d, "show", "rules") : NULL;
	json_t *lg = cd_prom_data(d, "show", "logging");
	json_t *ss = d->sess ? cd_prom_data(d, "session-list", NULL) : NULL;
	struct cli_prom_in in = { st, cn, ru, lg, ss };
	char *text = cli_prom_format_all(&in);

	text = cd_prom_top(d, text);
	json_decref(ss);
	json_decref(lg);
	json_decref(ru);
	json_decref(cn);
	json_decref(st);
	return text;
}

static void
cd_prom_free(struct cd *d, unsigned i)
{
	struct cd_prom_client *c = d->prom->cl[i];

	close(c->fd);
	free(c->out);
	free(c);
	d->prom->cl[i] = NULL;
}

static const char *
cd_prom_reason(int status)
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
cd_prom_respond(struct cd_prom_client *c, int status, const char *body,
    bool head)
{
	char line[64];
	int n;

	if (body == NULL) {
		snprintf(line, sizeof(line), "%d %s\n", status,
		    cd_prom_reason(status));
		body = line;
	}
	n = asprintf(&c->out,
	    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
	    status, cd_prom_reason(status),
	    status == 200 ? CLI_PROM_CONTENT_TYPE : "text/plain; charset=utf-8",
	    strlen(body), status == 405 ? "Allow: GET, HEAD\r\n" : "",
	    head ? "" : body);
	if (n < 0) {
		c->out = NULL;
		n = 0;
	}
	c->outlen = (size_t)n;
	c->outoff = 0;
	c->phase = CD_PROM_WRITE;
	c->deadline_ms = clk_mono_ms() + CD_PROM_TIMEOUT_MS;
}

/* Every header line is NAME: VALUE; 1.1 requests name a Host. */
static bool
cd_prom_headers_ok(const char *h, bool v11)
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
cd_prom_route(struct cd_prom_client *c, bool *head)
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
	if (!cd_prom_headers_ok(eol + 1, strcmp(version, "HTTP/1.1") == 0))
		return 400;
	*head = strcmp(method, "HEAD") == 0;
	if (!*head && strcmp(method, "GET") != 0)
		return 405;
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	return strcmp(target, "/metrics") == 0 ? 200 : 404;
}

static void
cd_prom_serve(struct cd *d, struct cd_prom_client *c)
{
	bool head = false;
	int status = cd_prom_route(c, &head);
	char *body = NULL;

	if (status == 200 && (body = cd_prom_body(d)) == NULL)
		status = 500;
	cd_prom_respond(c, status, body, head);
	free(body);
}

/* Whether the request line and headers have all arrived. */
static bool
cd_prom_complete(const struct cd_prom_client *c)
{
	return memmem(c->in, c->inlen, "\r\n\r\n", 4) != NULL ||
	       memmem(c->in, c->inlen, "\n\n", 2) != NULL;
}

static void
cd_prom_read(struct cd *d, unsigned i)
{
	struct cd_prom_client *c = d->prom->cl[i];
	char sink[4096];
	ssize_t n;

	if (c->phase == CD_PROM_LINGER) {
		while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			cd_prom_free(d, i);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		cd_prom_free(d, i); /* gone before asking */
		return;
	}
	if (n < 0)
		return;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	if (memchr(c->in, '\0', c->inlen) != NULL)
		cd_prom_respond(c, 400, NULL, false);
	else if (cd_prom_complete(c))
		cd_prom_serve(d, c);
	else if (c->inlen == sizeof(c->in) - 1)
		cd_prom_respond(c, 431, NULL, false);
}

/* Sends what the socket takes; once all is out, half-closes and drains
 * the input briefly, so that unread request bytes do not turn the close
 * into a reset that could destroy the response in flight. */
static void
cd_prom_write(struct cd *d, unsigned i)
{
	struct cd_prom_client *c = d->prom->cl[i];
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			cd_prom_free(d, i);
			return;
		}
		c->outoff += (size_t)n;
	}
	shutdown(c->fd, SHUT_WR);
	c->phase = CD_PROM_LINGER;
	c->deadline_ms = clk_mono_ms() + CD_PROM_LINGER_MS;
}

static void
cd_prom_accept(struct cd *d)
{
	struct cd_prom *p = d->prom;
	unsigned i, k;
	int fd;

	for (k = 0; k < CD_PROM_ACCEPT_MAX; k++) {
		fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		for (i = 0; i < CD_PROM_CLIENT_MAX && p->cl[i] != NULL; i++)
			;
		if (i == CD_PROM_CLIENT_MAX ||
		    (p->cl[i] = calloc(1, sizeof(*p->cl[i]))) == NULL) {
			close(fd); /* busy: the scraper retries */
			continue;
		}
		p->cl[i]->fd = fd;
		p->cl[i]->deadline_ms = clk_mono_ms() + CD_PROM_TIMEOUT_MS;
	}
}

int
cd_prom_open(struct cd *d)
{
	struct sockaddr_storage ss;
	char why[160];
	unsigned len;
	int fd, one = 1;

	if (d->ctl.prom_listen[0] == '\0')
		return 0;
	if (conf_listen_parse(d->ctl.prom_listen, &ss, &len, why, sizeof(why)) <
	    0) {
		cd_log("prometheus %s: %s", d->ctl.prom_listen, why);
		return -1;
	}
	if ((d->prom = calloc(1, sizeof(*d->prom))) == NULL ||
	    (fd = socket(ss.ss_family,
	         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	d->prom->lfd = fd;
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 16) < 0)
		goto fail_fd;
	cd_log("prometheus: listening on %s", d->ctl.prom_listen);
	return 0;
fail_fd:
	close(fd);
fail:
	cd_log("prometheus %s: %s", d->ctl.prom_listen, strerror(errno));
	free(d->prom);
	d->prom = NULL;
	return -1;
}

void
cd_prom_close(struct cd *d)
{
	if (d->prom == NULL)
		return;
	for (unsigned i = 0; i < CD_PROM_CLIENT_MAX; i++)
		if (d->prom->cl[i] != NULL)
			cd_prom_free(d, i);
	close(d->prom->lfd);
	free(d->prom);
	d->prom = NULL;
}

unsigned
cd_prom_poll_fill(struct cd *d, struct pollfd *pfd)
{
	struct cd_prom *p = d->prom;
	unsigned n = 0;

	if (p == NULL)
		return 0;
	pfd[n] = (struct pollfd){ .fd = p->lfd, .events = POLLIN };
	p->slot[n++] = -1;
	for (unsigned i = 0; i < CD_PROM_CLIENT_MAX; i++) {
		if (p->cl[i] == NULL)
			continue;
		pfd[n] = (struct pollfd){ .fd = p->cl[i]->fd,
			.events = p->cl[i]->phase == CD_PROM_WRITE ? POLLOUT
			                                           : POLLIN };
		p->slot[n++] = (int)i;
	}
	p->npfd = n;
	return n;
}

/* A request that did not arrive in time gets 408; a reply that does
 * not drain, or a drain that does not end, is cut. */
static void
cd_prom_timeouts(struct cd *d, int64_t now)
{
	struct cd_prom_client *c;

	for (unsigned i = 0; i < CD_PROM_CLIENT_MAX; i++) {
		if ((c = d->prom->cl[i]) == NULL || c->deadline_ms > now)
			continue;
		if (c->phase == CD_PROM_READ) {
			cd_prom_respond(c, 408, NULL, false);
			cd_prom_write(d, i);
		} else {
			cd_prom_free(d, i);
		}
	}
}

void
cd_prom_poll_done(struct cd *d, const struct pollfd *pfd, unsigned n)
{
	struct cd_prom *p = d->prom;

	if (p == NULL)
		return;
	for (unsigned k = 0; k < n && k < p->npfd; k++) {
		int i = p->slot[k];

		if (pfd[k].revents == 0)
			continue;
		if (i < 0)
			cd_prom_accept(d);
		else if (p->cl[i] == NULL || pfd[k].fd != p->cl[i]->fd)
			continue;
		else if (p->cl[i]->phase == CD_PROM_WRITE)
			cd_prom_write(d, (unsigned)i);
		else
			cd_prom_read(d, (unsigned)i);
	}
	cd_prom_timeouts(d, clk_mono_ms());
}

int64_t
cd_prom_deadline(const struct cd *d, int64_t t)
{
	for (unsigned i = 0; d->prom != NULL && i < CD_PROM_CLIENT_MAX; i++)
		if (d->prom->cl[i] != NULL && d->prom->cl[i]->deadline_ms < t)
			t = d->prom->cl[i]->deadline_ms;
	return t;
}
