/*
 * Small helpers of cordond: logging (stderr, which systemd sends to the
 * journal), clocks, error replies, atomic file writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

bool cd_debug_on;

static void
cd_vlog(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "cordond: %s\n", buf);
}

void
cd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cd_vlog(fmt, ap);
	va_end(ap);
}

void
cd_debug(const char *fmt, ...)
{
	va_list ap;

	if (!cd_debug_on)
		return;
	va_start(ap, fmt);
	cd_vlog(fmt, ap);
	va_end(ap);
}

int64_t
cd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
cd_unix(void)
{
	return (int64_t)time(NULL);
}

int
cd_fail(struct cd_err *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Every reply's data object starts with its schema version. */
json_t *
cd_obj(void)
{
	json_t *o = json_object();

	json_object_set_new(o, "schema", json_integer(CD_SCHEMA));
	return o;
}

void
cd_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}
