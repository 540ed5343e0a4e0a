/*
 * The knock's wire format (docs/knock.md): parser and builder.  Pure
 * functions over bytes with explicit lengths, so the fuzzer runs exactly
 * this file.  Every length is checked against what is left before
 * anything is read; the parser never allocates.
 */
#include <errno.h>
#include <string.h>

#include "control/ident/knock.h"

static const char *const knock_reason_names[] = {
#define X(id, name) name,
	KNOCK_REASONS(X)
#undef X
};

static const char *const knock_alg_names[KNOCK_ALG_MAX] = {
	"RS256",
	"PS256",
	"ES256",
	"ES384",
	"EdDSA",
};

const char *
knock_reason_name(int r)
{
	if (r < 0 || r >= KNOCK_R_MAX)
		return "unknown";
	return knock_reason_names[r];
}

const char *
knock_alg_name(int alg)
{
	if (alg < 0 || alg >= KNOCK_ALG_MAX)
		return NULL;
	return knock_alg_names[alg];
}

static uint16_t
knock_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t
knock_get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
knock_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
knock_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Service names are config identifiers: [a-z0-9_-], 1..64 bytes. */
static bool
knock_service_ok(const char *s, size_t n)
{
	if (n == 0 || n > KNOCK_SERVICE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * A compact JWS is base64url and dots.  Anything else (NUL, spaces,
 * control bytes) is refused here so no later log line or JSON parser
 * sees it.
 */
static bool
knock_token_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		        c == '.'))
			return false;
	}
	return true;
}

/*
 * The signed address: family 4 or 6; an IPv4 address fills the first
 * four bytes and the rest must be zero (one encoding per address).
 */
static bool
knock_addr_ok(int af, const uint8_t addr[KNOCK_ADDR_LEN])
{
	if (af == 6)
		return true;
	if (af != 4)
		return false;
	for (int i = 4; i < KNOCK_ADDR_LEN; i++)
		if (addr[i] != 0)
			return false;
	return true;
}

/* The fixed header: magic, version, flags, lengths, time, nonce, address. */
static int
knock_parse_hdr(const uint8_t *buf, size_t len, struct knock_msg *m)
{
	uint64_t ts;

	if (len == 0)
		return KNOCK_R_TRUNC;
	if (len < 4 || memcmp(buf, KNOCK_MAGIC, 4) != 0)
		return len < 4 && memcmp(buf, KNOCK_MAGIC, len) == 0
		           ? KNOCK_R_TRUNC
		           : KNOCK_R_MAGIC;
	if (len < KNOCK_HDR_LEN)
		return KNOCK_R_TRUNC;
	m->version = buf[4];
	m->flags = buf[5];
	if (m->version != KNOCK_VERSION)
		return KNOCK_R_VERSION;
	if (m->flags & ~KNOCK_FLAG_POP)
		return KNOCK_R_FLAGS;
	m->addr_af = buf[7];
	memcpy(m->addr, buf + 32, KNOCK_ADDR_LEN);
	if (!knock_addr_ok(m->addr_af, m->addr))
		return KNOCK_R_ADDR;
	m->service_len = buf[6];
	ts = knock_get64(buf + 8);
	/* Past year 292 billion: no clock will ever reach it. */
	if (ts > (uint64_t)INT64_MAX)
		return KNOCK_R_FUTURE;
	m->timestamp = (int64_t)ts;
	memcpy(m->nonce, buf + 16, KNOCK_NONCE_LEN);
	m->token_len = knock_get16(buf + 48);
	return KNOCK_R_OK;
}

/* The optional proof-of-possession block at OFF. */
static int
knock_parse_sig(const uint8_t *buf, size_t len, size_t off, struct knock_msg *m)
{
	if (!(m->flags & KNOCK_FLAG_POP))
		return off == len ? KNOCK_R_OK : KNOCK_R_TRAILING;
	if (len - off < KNOCK_SIG_HDR_LEN)
		return KNOCK_R_TRUNC;
	m->sig_alg = buf[off];
	m->sig_len = knock_get16(buf + off + 1);
	if (m->sig_alg >= KNOCK_ALG_MAX)
		return KNOCK_R_SIG_ALG;
	if (m->sig_len == 0 || m->sig_len > KNOCK_SIG_MAX)
		return KNOCK_R_SIG_LEN;
	off += KNOCK_SIG_HDR_LEN;
	if (len - off < m->sig_len)
		return KNOCK_R_TRUNC;
	m->sig = buf + off;
	if (len - off > m->sig_len)
		return KNOCK_R_TRAILING;
	return KNOCK_R_OK;
}

int
knock_parse(const uint8_t *buf, size_t len, struct knock_msg *m)
{
	size_t off = KNOCK_HDR_LEN;
	int rc;

	memset(m, 0, sizeof(*m));
	m->sig_alg = -1;
	if (len > KNOCK_MAX_LEN)
		return KNOCK_R_SIZE;
	if ((rc = knock_parse_hdr(buf, len, m)) != KNOCK_R_OK)
		return rc;
	if (len - off < m->service_len)
		return KNOCK_R_TRUNC;
	m->service = (const char *)buf + off;
	if (!knock_service_ok(m->service, m->service_len))
		return KNOCK_R_SERVICE;
	off += m->service_len;
	if (len - off < m->token_len)
		return KNOCK_R_TRUNC;
	m->token = (const char *)buf + off;
	if (!knock_token_ok(m->token, m->token_len))
		return KNOCK_R_TOKEN;
	off += m->token_len;
	m->signed_part = buf;
	m->signed_len = off;
	return knock_parse_sig(buf, len, off, m);
}

static int
knock_build_check(const struct knock_msg *m)
{
	if (m->flags & ~KNOCK_FLAG_POP || m->timestamp < 0 ||
	    !knock_addr_ok(m->addr_af, m->addr) ||
	    !knock_service_ok(m->service, m->service_len) ||
	    !knock_token_ok(m->token, m->token_len) ||
	    m->token_len > KNOCK_MAX_LEN)
		return -1;
	if (m->sig_len == 0)
		return 0;
	if (!(m->flags & KNOCK_FLAG_POP) || m->sig_len > KNOCK_SIG_MAX ||
	    m->sig_alg < 0 || m->sig_alg >= KNOCK_ALG_MAX)
		return -1;
	return 0;
}

int
knock_build(uint8_t *buf, size_t cap, const struct knock_msg *m)
{
	size_t body, total;

	if (knock_build_check(m) < 0) {
		errno = EINVAL;
		return -1;
	}
	body = KNOCK_HDR_LEN + m->service_len + m->token_len;
	total = body + (m->sig_len ? KNOCK_SIG_HDR_LEN + m->sig_len : 0);
	if (total > cap || total > KNOCK_MAX_LEN) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(buf, KNOCK_MAGIC, 4);
	buf[4] = KNOCK_VERSION;
	buf[5] = m->flags;
	buf[6] = (uint8_t)m->service_len;
	buf[7] = m->addr_af;
	knock_put64(buf + 8, (uint64_t)m->timestamp);
	memcpy(buf + 16, m->nonce, KNOCK_NONCE_LEN);
	memcpy(buf + 32, m->addr, KNOCK_ADDR_LEN);
	knock_put16(buf + 48, (uint16_t)m->token_len);
	memcpy(buf + KNOCK_HDR_LEN, m->service, m->service_len);
	memcpy(buf + KNOCK_HDR_LEN + m->service_len, m->token, m->token_len);
	if (m->sig_len) {
		buf[body] = (uint8_t)m->sig_alg;
		knock_put16(buf + body + 1, (uint16_t)m->sig_len);
		memcpy(buf + body + KNOCK_SIG_HDR_LEN, m->sig, m->sig_len);
	}
	return (int)total;
}

int
knock_fixed_read(const uint8_t *buf, size_t len, struct knock_fixed *out)
{
	uint64_t ts;
	size_t slen;

	memset(out, 0, sizeof(*out));
	if (len < KNOCK_HDR_LEN || len > KNOCK_MAX_LEN ||
	    memcmp(buf, KNOCK_MAGIC, 4) != 0 || buf[4] != KNOCK_VERSION)
		goto bad;
	slen = buf[6];
	ts = knock_get64(buf + 8);
	if (slen == 0 || slen > KNOCK_SERVICE_MAX ||
	    len - KNOCK_HDR_LEN < slen || ts > (uint64_t)INT64_MAX)
		goto bad;
	out->timestamp = (int64_t)ts;
	memcpy(out->nonce, buf + 16, KNOCK_NONCE_LEN);
	out->addr_af = buf[7];
	memcpy(out->addr, buf + 32, KNOCK_ADDR_LEN);
	memcpy(out->service, buf + KNOCK_HDR_LEN, slen);
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	errno = EBADMSG;
	return -1;
}
