/*
 * The PROXY protocol header (HAProxy's proxy-protocol.txt).  v1 is one
 * text line of at most 107 bytes; v2 a 12-byte signature, a version and
 * command byte, a family and protocol byte, a length and the addresses,
 * then TLVs, which are walked only to check that they fit.  Only the
 * source address matters here: it is the client the relay reports.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/prx/prx.h"
#include "core/prx/prx_int.h"

static const uint8_t prx_v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
static const char prx_v1_sig[] = "PROXY ";

static const char *const prx_mode_names[PRX_MODE_MAX] = { "none", "v1", "v2",
	"any", "forwarded", "x-forwarded-for" };

const char *
prx_mode_name(unsigned mode)
{
	return mode < PRX_MODE_MAX ? prx_mode_names[mode] : "?";
}

int
prx_mode_parse(const char *name)
{
	for (unsigned i = PRX_MODE_V1; i < PRX_MODE_MAX; i++)
		if (strcmp(name, prx_mode_names[i]) == 0)
			return (int)i;
	return -1;
}

/* O reports one unknown hop. */
static void
prx_out_unknown(struct prx_out *o)
{
	memset(&o->hop[0], 0, sizeof(o->hop[0]));
	o->n = 1;
}

/* Does BUF (LEN bytes) agree with SIG (SLEN) as far as both go? */
static int
prx_prefix_ok(const uint8_t *buf, uint32_t len, const void *sig, uint32_t slen)
{
	return memcmp(buf, sig, len < slen ? len : slen) == 0;
}

int
prx_port_num(const char *s, uint32_t len, int strict, uint16_t *port)
{
	uint32_t v = 0;

	if (len == 0 || len > 5 || (strict && s[0] == '0' && len > 1))
		return -1;
	for (uint32_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint32_t)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int
prx_ip_pton(const char *s, uint32_t len, uint8_t af, uint8_t *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(af == 4 ? AF_INET : AF_INET6, tmp, out) == 1 ? 0 : -1;
}

/* Splits the v1 fields after "PROXY " at single spaces: 0 or -1. */
static int
prx_v1_fields(const char *s, uint32_t len, const char **f, uint32_t *fl,
    unsigned nf)
{
	unsigned k = 0;
	uint32_t start = 0;

	for (uint32_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		if (k == nf || i == start)
			return -1;
		f[k] = s + start;
		fl[k++] = i - start;
		start = i + 1;
	}
	return k == nf ? 0 : -1;
}

/* "TCP4 SRC DST SPORT DPORT" (or TCP6), the line without CRLF. */
static int
prx_v1_addrs(const char *s, uint32_t len, struct prx_out *o)
{
	const char *f[5];
	uint32_t fl[5];
	uint16_t dport;
	uint8_t af, dst[16];
	struct prx_addr *a = &o->hop[0];

	if (prx_v1_fields(s, len, f, fl, 5) < 0 || fl[0] != 4 ||
	    memcmp(f[0], "TCP", 3) != 0 || (f[0][3] != '4' && f[0][3] != '6'))
		return PRX_BAD;
	af = f[0][3] == '4' ? 4 : 6;
	memset(a, 0, sizeof(*a));
	if (prx_ip_pton(f[1], fl[1], af, a->a) < 0 ||
	    prx_ip_pton(f[2], fl[2], af, dst) < 0 ||
	    prx_port_num(f[3], fl[3], 1, &a->port) < 0 ||
	    prx_port_num(f[4], fl[4], 1, &dport) < 0)
		return PRX_BAD;
	a->af = af;
	o->n = 1;
	return PRX_DONE;
}

static int
prx_v1_parse(const uint8_t *buf, uint32_t len, struct prx_out *o)
{
	uint32_t max = len < PRX_V1_MAX ? len : PRX_V1_MAX, i;
	const char *s = (const char *)buf + 6;

	for (i = 6; i + 1 < max; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n')
			break;
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return PRX_BAD;
	}
	if (i + 1 >= max)
		return len < PRX_V1_MAX ? PRX_MORE : PRX_BAD;
	o->hdrlen = i + 2;
	if (i - 6 >= 7 && memcmp(s, "UNKNOWN", 7) == 0 &&
	    (i - 6 == 7 || s[7] == ' ')) {
		prx_out_unknown(o);
		return PRX_DONE;
	}
	return prx_v1_addrs(s, i - 6, o);
}

/* The TLVs after a v2 header's addresses must tile the rest exactly. */
static int
prx_v2_tlvs(const uint8_t *p, uint32_t len)
{
	uint32_t off = 0, l;

	while (off < len) {
		if (len - off < 3)
			return -1;
		l = (uint32_t)p[off + 1] << 8 | p[off + 2];
		if (l > len - off - 3)
			return -1;
		off += 3 + l;
	}
	return 0;
}

/* The v2 addresses (BODY, BLEN bytes) of family/protocol byte FP. */
static int
prx_v2_addrs(uint8_t fp, const uint8_t *body, uint32_t blen, struct prx_out *o)
{
	unsigned fam = fp >> 4, proto = fp & 0x0f;
	uint32_t need = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	struct prx_addr *a = &o->hop[0];

	if (fam > 3 || proto > 2 || blen < need ||
	    prx_v2_tlvs(body + need, blen - need) < 0)
		return PRX_BAD;
	/* Not TCP over IP: the relay does not say who the client is. */
	if (proto != 1 || (fam != 1 && fam != 2)) {
		prx_out_unknown(o);
		return PRX_DONE;
	}
	memset(a, 0, sizeof(*a));
	a->af = fam == 1 ? 4 : 6;
	memcpy(a->a, body, fam == 1 ? 4 : 16);
	a->port = (uint16_t)(body[need - 4] << 8 | body[need - 3]);
	o->n = 1;
	return PRX_DONE;
}

static int
prx_v2_parse(const uint8_t *buf, uint32_t len, uint32_t window,
    struct prx_out *o)
{
	uint32_t total;
	int r;

	if (len < PRX_V2_HDR)
		return PRX_MORE;
	total = PRX_V2_HDR + ((uint32_t)buf[14] << 8 | buf[15]);
	if ((buf[12] >> 4) != 2 || (buf[12] & 0x0f) > 1)
		return PRX_BAD;
	if (total > window)
		return PRX_LONG;
	if (len < total)
		return PRX_MORE;
	o->hdrlen = total;
	r = prx_v2_addrs(buf[13], buf + PRX_V2_HDR, total - PRX_V2_HDR, o);
	/* LOCAL: addresses are ignored, but must still be well formed. */
	if (r == PRX_DONE && (buf[12] & 0x0f) == 0) {
		o->n = 0;
		return PRX_LOCAL;
	}
	return r;
}

int
prx_proxy_parse(const uint8_t *buf, uint32_t len, uint32_t window,
    unsigned mode, struct prx_out *o)
{
	int v1, v2;

	memset(o, 0, sizeof(*o) - sizeof(o->hop));
	v1 = mode != PRX_MODE_V2 && prx_prefix_ok(buf, len, prx_v1_sig, 6);
	v2 = mode != PRX_MODE_V1 && prx_prefix_ok(buf, len, prx_v2_sig, 12);
	if (v1 && v2)
		return PRX_MORE; /* nothing read yet */
	if (v1)
		return len < 6 ? PRX_MORE : prx_v1_parse(buf, len, o);
	if (v2)
		return len < 12 ? PRX_MORE : prx_v2_parse(buf, len, window, o);
	return PRX_BAD;
}
