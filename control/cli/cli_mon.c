/*
 * cordonctl monitor: after the subscription's reply, the connection
 * carries one JSON object per line (docs/control.md, "monitor") until
 * cordond or the user ends it.  Each line is printed as text, or passed
 * through as it came with -j/-J.  SIGINT, SIGTERM and a closed standard
 * output end it cleanly (exit 0).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/cli/cli.h"

#define CLI_MON_LINE_MAX 8192 /* longer lines are cordond's bug: cut */

static volatile sig_atomic_t cli_mon_stop;

static void
cli_mon_signal(int sig)
{
	(void)sig;
	cli_mon_stop = 1;
}

/* ISO 8601 UTC with milliseconds, from microseconds since the epoch. */
static void
cli_mon_time(char *buf, size_t len, long long us)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	char s[32];

	if (us <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s.%03dZ", s, (int)(us / 1000 % 1000));
}

/* "ADDR:PORT", "[ADDR6]:PORT", or ADDR when there is no port. */
static void
cli_mon_ep(char *buf, size_t len, const json_t *ev, const char *a,
    const char *port)
{
	const char *addr = json_string_value(json_object_get(ev, a));
	const json_t *p = json_object_get(ev, port);
	int v6 = addr && strchr(addr, ':');

	if (!json_is_integer(p))
		snprintf(buf, len, "%s", addr ? addr : "?");
	else
		snprintf(buf, len, "%s%s%s:%lld", v6 ? "[" : "",
		    addr ? addr : "?", v6 ? "]" : "",
		    (long long)json_integer_value(p));
}

static const char *
cli_mon_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "-";
}

static void
cli_mon_event(FILE *f, const json_t *ev)
{
	char t[48], src[64], dst[64];
	json_int_t n = json_integer_value(json_object_get(ev, "count"));

	cli_mon_time(t, sizeof(t),
	    json_integer_value(json_object_get(ev, "time_us")));
	cli_mon_ep(src, sizeof(src), ev, "src", "sport");
	cli_mon_ep(dst, sizeof(dst), ev, "dst", "dport");
	fprintf(f, "%s %-7s %s %s -> %s %s %s %s", t, cli_mon_str(ev, "action"),
	    cli_mon_str(ev, "rule"), src, dst, cli_mon_str(ev, "proto"),
	    cli_mon_str(ev, "country"), cli_mon_str(ev, "service"));
	if (json_object_get(ev, "origin"))
		fprintf(f, " origin %s %s", cli_mon_str(ev, "origin"),
		    cli_mon_str(ev, "origin_country"));
	if (n > 1)
		fprintf(f, " (%lld packets)", (long long)n);
	fputc('\n', f);
}

/* One line from cordond, printed as JSON is wanted (JSON) or as text. */
static void
cli_mon_line(FILE *f, const char *line, int json)
{
	json_error_t jerr;
	json_t *o;
	const char *type;

	if (json) {
		fprintf(f, "%s\n", line);
		return;
	}
	if ((o = json_loads(line, 0, &jerr)) == NULL) {
		fprintf(stderr, "cordonctl: monitor: bad line: %s\n",
		    jerr.text);
		return;
	}
	type = json_string_value(json_object_get(o, "type"));
	if (type && strcmp(type, "dropped") == 0)
		fprintf(f,
		    "-- %lld events dropped (queue full %lld, rate "
		    "limit %lld)\n",
		    (long long)json_integer_value(json_object_get(o, "events")),
		    (long long)json_integer_value(
		        json_object_get(o, "queue_full")),
		    (long long)json_integer_value(
		        json_object_get(o, "rate_limited")));
	else if (type && strcmp(type, "event") == 0)
		cli_mon_event(f, o);
	json_decref(o);
}

/* Prints the whole lines of BUF (LEN bytes); returns the bytes used. */
static size_t
cli_mon_lines(char *buf, size_t len, int json)
{
	size_t used = 0;
	char *nl;

	while ((nl = memchr(buf + used, '\n', len - used)) != NULL) {
		*nl = '\0';
		cli_mon_line(stdout, buf + used, json);
		used = (size_t)(nl - buf) + 1;
	}
	if (used == 0 && len == CLI_MON_LINE_MAX) {
		buf[len - 1] = '\0';
		cli_mon_line(stdout, buf, json);
		used = len;
	}
	return used;
}

static void
cli_mon_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_mon_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
cli_monitor_stream(int fd, int json)
{
	char buf[CLI_MON_LINE_MAX];
	size_t len = 0, used;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	cli_mon_signals();
	while (!cli_mon_stop) {
		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			fprintf(stderr, "cordonctl: cordond ended the "
			                "monitor\n");
			return CLI_EX_UNREACH;
		}
		len += (size_t)n;
		used = cli_mon_lines(buf, len, json);
		memmove(buf, buf + used, len - used);
		len -= used;
		if (fflush(stdout) != 0)
			return CLI_EX_OK; /* the reader went away */
	}
	return CLI_EX_OK;
}
