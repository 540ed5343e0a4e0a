/*
 * Small helpers of cordond: logging (stderr, which systemd sends to the
 * journal), error replies, reply objects.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_util.h"

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
