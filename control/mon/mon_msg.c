/*
 * The monitoring child's messages (mon_msg.h): pure encoders and
 * decoders.  A decoder checks the whole payload before it says yes:
 * fixed parts of their exact size, counts and enums in range, strings
 * NUL-terminated inside their field and printable, variable parts whose
 * lengths add up to exactly what arrived.
 */
#include <errno.h>
#include <string.h>

#include "control/mon/mon_msg.h"

static int
mon_bad(void)
{
	errno = EBADMSG;
	return -1;
}

/* A NUL-terminated string inside its field, printable ASCII only. */
static bool
mon_str_ok(const char *s, size_t cap, bool empty_ok)
{
	const char *end = memchr(s, '\0', cap);

	if (end == NULL || (end == s && !empty_ok))
		return false;
	for (; s < end; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* Bytes without NUL (a text, a syslog message). */
static bool
mon_bytes_ok(const uint8_t *p, size_t len)
{
	return memchr(p, '\0', len) == NULL;
}

int
mon_dec_prom(const uint8_t *p, size_t len, int passfd)
{
	(void)p;
	return len == 0 && passfd >= 0 ? 0 : mon_bad();
}

int
mon_dec_metrics(const uint8_t *p, size_t len, struct mon_metrics_in *out)
{
	struct mon_metrics m;

	if (len < sizeof(m))
		return mon_bad();
	memcpy(&m, p, sizeof(m));
	if (m.len != len - sizeof(m) || m.len > MON_METRICS_MAX)
		return mon_bad();
	if (m.status == 200 ? m.len == 0
	                    : (m.status != 500 && m.status != 503) || m.len)
		return mon_bad();
	if (!mon_bytes_ok(p + sizeof(m), m.len))
		return mon_bad();
	out->status = m.status;
	out->text = p + sizeof(m);
	out->len = m.len;
	return 0;
}

static bool
mon_target_ok(const struct mon_target *t)
{
	bool tls = t->type == CONF_LOG_TLS;

	if (t->type > CONF_LOG_TLS || t->queue == 0 || t->queue > MON_QUEUE_MAX)
		return false;
	if (t->type == CONF_LOG_LOCAL ? t->port != 0
	                              : t->port == 0 || t->port > 65535)
		return false;
	if (!mon_str_ok(t->address, sizeof(t->address), false) ||
	    !mon_str_ok(t->name, sizeof(t->name), true))
		return false;
	if (t->ca_len > MON_BLOB_MAX || t->cert_len > MON_BLOB_MAX ||
	    t->key_len > MON_BLOB_MAX)
		return false;
	if (!tls)
		return t->ca_len == 0 && t->cert_len == 0 && t->key_len == 0 &&
		       t->name[0] == '\0';
	return t->ca_len > 0 && (t->cert_len > 0) == (t->key_len > 0);
}

int
mon_dec_targets(const uint8_t *p, size_t len, struct mon_targets_in *out)
{
	struct mon_targets_in in;
	size_t off = sizeof(in.h);

	if (len < sizeof(in.h) || len > PROC_MSG_MAX)
		return mon_bad();
	memset(&in, 0, sizeof(in));
	memcpy(&in.h, p, sizeof(in.h));
	if (in.h.n > CONF_LOG_TARGET_MAX)
		return mon_bad();
	for (uint32_t i = 0; i < CONF_LOG_TARGET_MAX; i++) {
		const struct mon_target *t = &in.h.t[i];

		if (i >= in.h.n) {
			/* unused entries are zero: nothing hides there */
			static const struct mon_target zero;

			if (memcmp(t, &zero, sizeof(zero)) != 0)
				return mon_bad();
			continue;
		}
		if (!mon_target_ok(t) ||
		    (size_t)t->ca_len + t->cert_len + t->key_len > len - off)
			return mon_bad();
		in.ca[i] = p + off;
		off += t->ca_len;
		in.cert[i] = p + off;
		off += t->cert_len;
		in.key[i] = p + off;
		off += t->key_len;
	}
	if (off != len)
		return mon_bad();
	*out = in;
	return 0;
}

int
mon_dec_record(const uint8_t *p, size_t len, struct mon_record_in *out)
{
	struct mon_record r;

	if (len <= sizeof(r) || len - sizeof(r) > MON_RECORD_MAX)
		return mon_bad();
	memcpy(&r, p, sizeof(r));
	if (r.target >= CONF_LOG_TARGET_MAX)
		return mon_bad();
	out->h = r;
	out->bytes = p + sizeof(r);
	out->len = len - sizeof(r);
	return 0;
}

int
mon_dec_metrics_get(uint32_t id, size_t len)
{
	return id != 0 && len == 0 ? 0 : mon_bad();
}

int
mon_dec_flush(uint32_t id, size_t len)
{
	return mon_dec_metrics_get(id, len);
}

int
mon_dec_stats(const uint8_t *p, size_t len, struct mon_stats *out)
{
	struct mon_stats s;

	if (len != sizeof(s))
		return mon_bad();
	memcpy(&s, p, sizeof(s));
	if (s.n > CONF_LOG_TARGET_MAX)
		return mon_bad();
	for (uint32_t i = 0; i < CONF_LOG_TARGET_MAX; i++) {
		const struct mon_tstat *t = &s.t[i];

		if (i >= s.n) {
			static const struct mon_tstat zero;

			if (memcmp(t, &zero, sizeof(zero)) != 0)
				return mon_bad();
			continue;
		}
		if (t->state >= MON_TS_END || t->queued > MON_QUEUE_MAX ||
		    !mon_str_ok(t->error, sizeof(t->error), true))
			return mon_bad();
	}
	*out = s;
	return 0;
}

int
mon_dec_local(const uint8_t *p, size_t len, int passfd, bool to_child,
    struct mon_local *out)
{
	struct mon_local l;

	if (len != sizeof(l))
		return mon_bad();
	memcpy(&l, p, sizeof(l));
	if (l.target >= CONF_LOG_TARGET_MAX || l.err > 4095)
		return mon_bad();
	/* a descriptor exactly when no error; a request carries neither */
	if (to_child ? (l.err == 0) != (passfd >= 0)
	             : l.err != 0 || passfd >= 0)
		return mon_bad();
	*out = l;
	return 0;
}

ssize_t
mon_enc_metrics(uint8_t *buf, size_t cap, uint32_t status, const char *text,
    size_t len)
{
	struct mon_metrics m = { .status = status,
		.len = status == 200 ? (uint32_t)len : 0 };

	if (len > MON_METRICS_MAX || sizeof(m) + m.len > cap) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, &m, sizeof(m));
	if (m.len)
		memcpy(buf + sizeof(m), text, m.len);
	return (ssize_t)(sizeof(m) + m.len);
}

ssize_t
mon_enc_targets(uint8_t *buf, size_t cap, const struct mon_targets_in *in)
{
	size_t off = sizeof(in->h);

	if (cap < off)
		goto big;
	memcpy(buf, &in->h, sizeof(in->h));
	for (uint32_t i = 0; i < in->h.n && i < CONF_LOG_TARGET_MAX; i++) {
		const struct mon_target *t = &in->h.t[i];
		const uint8_t *part[3] = { in->ca[i], in->cert[i], in->key[i] };
		uint32_t plen[3] = { t->ca_len, t->cert_len, t->key_len };

		for (unsigned k = 0; k < 3; k++) {
			if (plen[k] > cap - off)
				goto big;
			if (plen[k])
				memcpy(buf + off, part[k], plen[k]);
			off += plen[k];
		}
	}
	return (ssize_t)off;
big:
	errno = E2BIG;
	return -1;
}

ssize_t
mon_enc_record(uint8_t *buf, size_t cap, uint32_t gen, uint32_t target,
    const void *msg, size_t len)
{
	struct mon_record r = { .gen = gen, .target = target };

	if (len > MON_RECORD_MAX || sizeof(r) + len > cap) {
		errno = E2BIG;
		return -1;
	}
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), msg, len);
	return (ssize_t)(sizeof(r) + len);
}

bool
mon_type_to_child(uint16_t type)
{
	return (type >= MON_T_PROM && type <= MON_T_LOCAL) ||
	       (type >= MON_T_SNMP_CONF && type <= MON_T_AGENTX);
}
