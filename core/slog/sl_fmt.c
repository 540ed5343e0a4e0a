/*
 * RFC 5424 formatting (section 6): header, one SD-ELEMENT, MSG.  Every
 * byte written is checked against the room left; nothing here allocates
 * or looks at the clock.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/slog/sl_fmt.h"

#define SL_HOST_MAX   255
#define SL_APP_MAX    48
#define SL_PROCID_MAX 128
#define SL_MSGID_MAX  32
#define SL_NAME_MAX   32

/* Output cursor: P bytes used of LEN (one kept for the NUL). */
struct sl_out {
	char *b;
	size_t p, len;
};

static int
sl_put(struct sl_out *o, const char *s, size_t n)
{
	if (o->p + n + 1 > o->len)
		return -1;
	memcpy(o->b + o->p, s, n);
	o->p += n;
	o->b[o->p] = '\0';
	return 0;
}

static int
sl_puts(struct sl_out *o, const char *s)
{
	return sl_put(o, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at P (N bytes left), or 0. */
static size_t
sl_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return k;
}

/*
 * Text into O: ESCAPE adds '\' before '"', '\' and ']' (PARAM-VALUE);
 * control bytes become CTL, invalid UTF-8 '?'.  With CUT, stops at the
 * last whole character that fits; otherwise fails when it does not fit.
 */
static int
sl_text(struct sl_out *o, const char *s, size_t n, int escape, char ctl,
    int cut)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	char e[2];

	while (i < n) {
		k = sl_utf8_len(u + i, n - i);
		if (k == 0 || u[i] < 0x20 || u[i] == 0x7f) {
			e[0] = k == 0 ? '?' : ctl;
			if (sl_put(o, e, 1) < 0)
				return cut ? 0 : -1;
			i += k ? k : 1;
			continue;
		}
		if (escape && (u[i] == '"' || u[i] == '\\' || u[i] == ']')) {
			e[0] = '\\';
			e[1] = (char)u[i];
			if (sl_put(o, e, 2) < 0)
				return cut ? 0 : -1;
		} else if (sl_put(o, s + i, k) < 0)
			return cut ? 0 : -1;
		i += k;
	}
	return 0;
}

long
sl_escape_value(const char *in, size_t inlen, char *out, size_t outlen)
{
	struct sl_out o = { out, 0, outlen };

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	return sl_text(&o, in, inlen, 1, '?', 0) < 0 ? -1 : (long)o.p;
}

/* A header field: "-" when empty, else printable ASCII, at most MAX. */
static int
sl_field(struct sl_out *o, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;
	char c;

	if (sl_put(o, " ", 1) < 0)
		return -1;
	if (n == 0)
		return sl_put(o, "-", 1);
	for (size_t i = 0; i < n; i++) {
		c = s[i] > 32 && s[i] < 127 ? s[i] : '_';
		if (sl_put(o, &c, 1) < 0)
			return -1;
	}
	return 0;
}

void
sl_timestamp(int64_t us, char out[32])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (us < 0 || gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999) {
		snprintf(out, 32, "-");
		return;
	}
	if (tm.tm_year + 1900 < 1000 ||
	    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19) {
		snprintf(out, 32, "-");
		return;
	}
	snprintf(out + 19, 13, ".%06uZ", (unsigned)(us % 1000000));
}

static int
sl_header(struct sl_out *o, const struct sl_msg *m)
{
	char pri[16], ts[32];
	unsigned fac = m->facility <= 23 ? m->facility : 1;
	unsigned sev = m->severity <= SL_DEBUG ? m->severity : SL_NOTICE;

	snprintf(pri, sizeof(pri), "<%u>1 ", fac * 8 + sev);
	sl_timestamp(m->unix_us, ts);
	if (sl_puts(o, pri) < 0 || sl_puts(o, ts) < 0 ||
	    sl_field(o, m->host, SL_HOST_MAX) < 0 ||
	    sl_field(o, m->app, SL_APP_MAX) < 0 ||
	    sl_field(o, m->procid, SL_PROCID_MAX) < 0 ||
	    sl_field(o, m->msgid, SL_MSGID_MAX) < 0)
		return -1;
	return 0;
}

/* ' name="value"', all or nothing. */
static int
sl_param(struct sl_out *o, const struct sl_param *p)
{
	size_t start = o->p, n = p->name ? strnlen(p->name, SL_NAME_MAX) : 0;
	const char *v = p->value ? p->value : "";
	char c;

	if (sl_put(o, " ", 1) < 0)
		goto undo;
	if (n == 0 && sl_put(o, "_", 1) < 0)
		goto undo;
	for (size_t i = 0; i < n; i++) {
		c = p->name[i];
		if (c <= 32 || c >= 127 || c == '=' || c == ']' || c == '"')
			c = '_';
		if (sl_put(o, &c, 1) < 0)
			goto undo;
	}
	if (sl_put(o, "=\"", 2) < 0 ||
	    sl_text(o, v, strlen(v), 1, '?', 0) < 0 || sl_put(o, "\"", 1) < 0)
		goto undo;
	return 0;
undo:
	o->p = start;
	o->b[o->p] = '\0';
	return -1;
}

/* The SD-ELEMENT; a param that does not fit (with the "]") is left out. */
static int
sl_sd(struct sl_out *o, const struct sl_msg *m)
{
	if (m->nsd == 0)
		return sl_puts(o, " -");
	if (sl_puts(o, " [" SL_SD_ID) < 0)
		return -1;
	o->len--; /* keep room for the "]" */
	for (unsigned i = 0; i < m->nsd; i++)
		(void)sl_param(o, &m->sd[i]);
	o->len++;
	return sl_put(o, "]", 1);
}

long
sl_format(const struct sl_msg *m, char *buf, size_t len)
{
	struct sl_out o = { buf, 0, len };

	if (len < SL_MSG_MIN) {
		errno = EINVAL;
		return -1;
	}
	buf[0] = '\0';
	if (sl_header(&o, m) < 0 || sl_sd(&o, m) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (m->msg && m->msg[0] && sl_put(&o, " ", 1) == 0)
		(void)sl_text(&o, m->msg, strlen(m->msg), 0, ' ', 1);
	return (long)o.p;
}
