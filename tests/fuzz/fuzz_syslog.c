/*
 * libFuzzer harness for cordond's RFC 5424 formatter
 * (core/slog/sl_fmt.c).  The input is split at 0x00 bytes
 * into header fields, param names and values and the MSG; the output
 * buffer size comes from the first byte.  Every result is checked to be
 * a well-formed message: PRI, version, six header fields of printable
 * ASCII, one SD-ELEMENT whose values escape '"', '\' and ']', and a MSG
 * without control bytes, all valid UTF-8.
 *
 * The same input's first bytes are also a log event, whose packet record
 * (wire/dpc_record.c, as cordond and cordon-dp's fallback build it) must
 * format as well-formed too, and a SYSLOG message for its check
 * (dpc_syslog_check), which must not read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/slog/sl_fmt.h"
#include "wire/dpc_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_PARTS 24

static void
fz_check_token(const char **p)
{
	if (**p == '\0' || **p == ' ')
		abort();
	while (**p && **p != ' ') {
		if (**p < 33 || **p > 126)
			abort();
		(*p)++;
	}
	if (**p != ' ')
		abort();
	(*p)++;
}

static void
fz_check_sd(const char **p)
{
	const char *s = *p;

	if (*s == '-') {
		*p = s + 1;
		return;
	}
	if (strncmp(s, "[" SL_SD_ID, strlen(SL_SD_ID) + 1) != 0)
		abort();
	s += strlen(SL_SD_ID) + 1;
	while (*s == ' ') {
		s++;
		while (*s != '=') {
			if (*s <= 32 || *s >= 127 || *s == ']' || *s == '"')
				abort();
			s++;
		}
		if (s[1] != '"')
			abort();
		for (s += 2; *s != '"'; s++) {
			if (*s == '\0' || *s == ']' || (unsigned char)*s < 32)
				abort();
			if (*s == '\\' &&
			    (s[1] == '"' || s[1] == '\\' || s[1] == ']'))
				s++;
		}
		s++;
	}
	if (*s != ']')
		abort();
	*p = s + 1;
}

static void
fz_check(const char *out, long n)
{
	const char *p = out;

	if (n < 0 || (size_t)n != strlen(out) || *p++ != '<')
		abort();
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, ">1 ", 3) != 0)
		abort();
	p += 3;
	/* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, each with its space */
	for (int i = 0; i < 5; i++)
		fz_check_token(&p);
	fz_check_sd(&p);
	if (*p != '\0' && *p != ' ')
		abort();
	for (; *p; p++)
		if ((unsigned char)*p < 32 || *p == 0x7f)
			abort();
}

/* The input's first bytes (zero-padded) as an event and a message. */
static void
fz_wire(const uint8_t *data, size_t size)
{
	struct dpc_wire_event ev;
	struct dpc_msg_syslog *m = calloc(1, sizeof(*m));
	struct dpc_record r;
	char out[SL_MSG_MAX], err[200];
	struct sl_msg sm;

	if (m == NULL)
		abort();
	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	dpc_record_fill(&r, &ev, NULL, size & 1 ? "outside0" : NULL, ev.count,
	    (int64_t)ev.unix_ns / 1000, (int64_t)ev.unix_ns / 999);
	(void)dpc_record_add(&r, "fallback", "true");
	memset(&sm, 0, sizeof(sm));
	sm.app = "cordon-dp";
	sm.severity = r.severity;
	sm.msgid = r.msgid;
	sm.sd = r.sd;
	sm.nsd = r.nsd;
	sm.msg = r.msg;
	fz_check(out, sl_format(&sm, out, sizeof(out)));
	memcpy(m, data, size < sizeof(*m) ? size : sizeof(*m));
	(void)dpc_syslog_check(m, err, sizeof(err));
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *part[FZ_PARTS] = { 0 }, *out;
	struct sl_param sd[(FZ_PARTS - 5) / 2];
	struct sl_msg m;
	size_t len, np = 0;
	long n;

	if (size < 2)
		return 0;
	fz_wire(data, size);
	len = SL_MSG_MIN + (size_t)data[0] * 8;
	if ((copy = malloc(size)) == NULL || (out = malloc(len)) == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	part[np++] = copy;
	for (size_t i = 0; i + 1 < size && np < FZ_PARTS; i++)
		if (copy[i] == '\0' && i + 1 < size - 1)
			part[np++] = copy + i + 1;
	memset(&m, 0, sizeof(m));
	m.facility = data[0] % 32;
	m.severity = data[0] % 9;
	m.unix_us = (int64_t)data[0] * 86400000000LL * 400 - 1;
	m.host = part[0];
	m.app = part[1];
	m.procid = part[2];
	m.msgid = part[3];
	m.msg = part[4];
	for (size_t i = 5; i + 1 < FZ_PARTS && part[i]; i += 2) {
		sd[m.nsd].name = part[i];
		sd[m.nsd++].value = part[i + 1] ? part[i + 1] : "";
	}
	m.sd = sd;
	n = sl_format(&m, out, len);
	fz_check(out, n);
	free(out);
	free(copy);
	return 0;
}
