/*
 * The control child's messages (ctl_msg.h): fixed little structs in
 * host order, then at most one byte string.  Decoders take nothing on
 * trust: the exact size of what is fixed, reserved fields zero, flags
 * known, strings within their bounds and free of NUL.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/ctl/ctl_msg.h"

static ssize_t
ctl_enc_fail(int err)
{
	errno = err;
	return -1;
}

static int
ctl_dec_fail(void)
{
	errno = EBADMSG;
	return -1;
}

static uint32_t
ctl_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void
ctl_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* N bytes of S: no NUL among them. */
static bool
ctl_nul_free(const char *s, size_t n)
{
	return memchr(s, '\0', n) == NULL;
}

ssize_t
ctl_enc_cid(uint32_t cid, uint8_t *buf, size_t cap)
{
	if (cid == 0)
		return ctl_enc_fail(EINVAL);
	if (cap < 4)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, cid);
	return 4;
}

int
ctl_dec_cid(const uint8_t *p, size_t len, struct ctl_cid *out)
{
	if (len != 4 || (out->cid = ctl_u32(p)) == 0)
		return ctl_dec_fail();
	return 0;
}

ssize_t
ctl_enc_listen(bool ro, uint8_t *buf, size_t cap)
{
	if (cap < 4)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, ro ? 1 : 0);
	return 4;
}

int
ctl_dec_listen(const uint8_t *p, size_t len, struct ctl_listen *out)
{
	if (len != 4 || (out->ro = ctl_u32(p)) > 1)
		return ctl_dec_fail();
	return 0;
}

ssize_t
ctl_enc_req(const struct ctl_req *m, uint8_t *buf, size_t cap)
{
	if (m->cid == 0 || m->deadline_ms < 0 || m->len == 0 ||
	    m->len > CTL_REQ_MAX || !ctl_nul_free(m->json, m->len))
		return ctl_enc_fail(EINVAL);
	if (cap < CTL_REQ_FIXED + m->len)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, m->cid);
	ctl_put32(buf + 4, 0);
	memcpy(buf + 8, &m->deadline_ms, 8);
	memcpy(buf + CTL_REQ_FIXED, m->json, m->len);
	return (ssize_t)(CTL_REQ_FIXED + m->len);
}

int
ctl_dec_req(const uint8_t *p, size_t len, struct ctl_req *out)
{
	if (len <= CTL_REQ_FIXED || len - CTL_REQ_FIXED > CTL_REQ_MAX)
		return ctl_dec_fail();
	out->cid = ctl_u32(p);
	out->zero = ctl_u32(p + 4);
	memcpy(&out->deadline_ms, p + 8, 8);
	out->json = (const char *)p + CTL_REQ_FIXED;
	out->len = len - CTL_REQ_FIXED;
	if (out->cid == 0 || out->zero != 0 || out->deadline_ms < 0 ||
	    !ctl_nul_free(out->json, out->len))
		return ctl_dec_fail();
	return 0;
}

ssize_t
ctl_enc_started(uint32_t cid, bool ok, uint8_t *buf, size_t cap)
{
	if (cid == 0)
		return ctl_enc_fail(EINVAL);
	if (cap < 8)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, cid);
	ctl_put32(buf + 4, ok ? 1 : 0);
	return 8;
}

int
ctl_dec_started(const uint8_t *p, size_t len, struct ctl_started *out)
{
	if (len != 8)
		return ctl_dec_fail();
	out->cid = ctl_u32(p);
	out->ok = ctl_u32(p + 4);
	if (out->cid == 0 || out->ok > 1)
		return ctl_dec_fail();
	return 0;
}

static bool
ctl_reply_flags_ok(uint32_t f)
{
	return (f & ~CTL_REPLY_FLAGS) == 0 &&
	       f != (CTL_REPLY_CLOSE | CTL_REPLY_MONITOR);
}

ssize_t
ctl_enc_reply(const struct ctl_reply *m, uint8_t *buf, size_t cap)
{
	if (m->cid == 0 || !ctl_reply_flags_ok(m->flags) || m->len == 0 ||
	    m->len > CTL_REPLY_MAX || !ctl_nul_free(m->json, m->len))
		return ctl_enc_fail(EINVAL);
	if (cap < CTL_REPLY_FIXED + m->len)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, m->cid);
	ctl_put32(buf + 4, m->flags);
	memcpy(buf + CTL_REPLY_FIXED, m->json, m->len);
	return (ssize_t)(CTL_REPLY_FIXED + m->len);
}

int
ctl_dec_reply(const uint8_t *p, size_t len, struct ctl_reply *out)
{
	if (len <= CTL_REPLY_FIXED || len - CTL_REPLY_FIXED > CTL_REPLY_MAX)
		return ctl_dec_fail();
	out->cid = ctl_u32(p);
	out->flags = ctl_u32(p + 4);
	out->json = (const char *)p + CTL_REPLY_FIXED;
	out->len = len - CTL_REPLY_FIXED;
	if (out->cid == 0 || !ctl_reply_flags_ok(out->flags) ||
	    !ctl_nul_free(out->json, out->len))
		return ctl_dec_fail();
	return 0;
}

/* A line is one JSON text and its newline: no other control byte. */
static bool
ctl_line_ok(const char *s, size_t n)
{
	if (n == 0)
		return true;
	if (s[n - 1] != '\n')
		return false;
	for (size_t i = 0; i + 1 < n; i++)
		if ((unsigned char)s[i] < 0x20)
			return false;
	return true;
}

ssize_t
ctl_enc_mon(const struct ctl_mon *m, uint8_t *buf, size_t cap)
{
	if (m->cid == 0 || m->len > CTL_LINE_MAX ||
	    (m->len == 0 && m->lost == 0) || !ctl_line_ok(m->line, m->len))
		return ctl_enc_fail(EINVAL);
	if (cap < CTL_MON_FIXED + m->len)
		return ctl_enc_fail(EMSGSIZE);
	ctl_put32(buf, m->cid);
	ctl_put32(buf + 4, m->lost);
	if (m->len > 0)
		memcpy(buf + CTL_MON_FIXED, m->line, m->len);
	return (ssize_t)(CTL_MON_FIXED + m->len);
}

int
ctl_dec_mon(const uint8_t *p, size_t len, struct ctl_mon *out)
{
	if (len < CTL_MON_FIXED || len - CTL_MON_FIXED > CTL_LINE_MAX)
		return ctl_dec_fail();
	out->cid = ctl_u32(p);
	out->lost = ctl_u32(p + 4);
	out->line = (const char *)p + CTL_MON_FIXED;
	out->len = len - CTL_MON_FIXED;
	if (out->cid == 0 || (out->len == 0 && out->lost == 0) ||
	    !ctl_line_ok(out->line, out->len))
		return ctl_dec_fail();
	return 0;
}

int
ctl_json_depth(const json_t *v, int limit)
{
	const char *k;
	json_t *m;
	size_t i;
	int deep = 0, d;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit < 0)
		return 1; /* deeper than asked: stop counting */
	json_object_foreach((json_t *)v, k, m)
		if ((d = ctl_json_depth(m, limit - 1)) > deep)
			deep = d;
	json_array_foreach(v, i, m)
		if ((d = ctl_json_depth(m, limit - 1)) > deep)
			deep = d;
	return deep + 1;
}

json_t *
ctl_json_load(const char *s, size_t len, char *err, size_t cap)
{
	json_error_t jerr;
	json_t *v;

	if (len > CTL_REQ_MAX) {
		snprintf(err, cap, "request longer than 1 MiB");
		return NULL;
	}
	v = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (v == NULL) {
		snprintf(err, cap, "invalid JSON: %s", jerr.text);
		return NULL;
	}
	if (ctl_json_depth(v, CTL_JSON_DEPTH) > CTL_JSON_DEPTH) {
		json_decref(v);
		snprintf(err, cap, "invalid JSON: nested deeper than %d",
		    CTL_JSON_DEPTH);
		return NULL;
	}
	return v;
}

int64_t
ctl_json_deadline(const json_t *req)
{
	const json_t *v = json_object_get(req, "deadline_ms");

	return json_is_integer(v) && json_integer_value(v) > 0
	           ? (int64_t)json_integer_value(v)
	           : 0;
}

int
ctl_seq_in(enum ctl_state s, uint16_t type)
{
	switch (type) {
	case CTL_T_ACCEPTED:
		return s == CTL_S_FREE ? CTL_S_IDLE : -1;
	case CTL_T_REQ:
		return s == CTL_S_IDLE ? CTL_S_REQ : -1;
	case CTL_T_STARTED:
		return s == CTL_S_REQ ? CTL_S_REQ : -1;
	case CTL_T_DELIVERED:
		if (s == CTL_S_REPLIED)
			return CTL_S_IDLE;
		return s == CTL_S_MON_WAIT ? CTL_S_MON : -1;
	case CTL_T_GONE:
		return s != CTL_S_FREE ? CTL_S_FREE : -1;
	default:
		return -1;
	}
}

int
ctl_seq_out(enum ctl_state s, uint16_t type, uint32_t reply_flags)
{
	switch (type) {
	case CTL_T_START:
		return s == CTL_S_REQ ? CTL_S_REQ : -1;
	case CTL_T_REPLY:
		if (s != CTL_S_REQ || !ctl_reply_flags_ok(reply_flags))
			return -1;
		return reply_flags & CTL_REPLY_MONITOR ? CTL_S_MON_WAIT
		                                       : CTL_S_REPLIED;
	case CTL_T_MON:
		return s == CTL_S_MON_WAIT || s == CTL_S_MON ? (int)s : -1;
	default:
		return -1;
	}
}
