/*
 * Strict base64url (RFC 4648 section 5, RFC 7515 section 2): no padding,
 * no whitespace, no characters of the other alphabet, and the unused low
 * bits of the last character zero, so that every byte string has exactly
 * one accepted spelling.
 */
#include "control/ident/jose_int.h"

static const char jose_b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * The value of character C, or -1: a table, built by the compiler.  The
 * cast: clang weighs every arm for every C, even those never taken.
 */
#define JOSE_B64V(c)                                                           \
	((signed char)((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                  \
	               : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26             \
	               : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52             \
	               : (c) == '-'               ? 62                         \
	               : (c) == '_'               ? 63                         \
	                                          : -1))
#define JOSE_B64V4(c)                                                          \
	JOSE_B64V(c), JOSE_B64V((c) + 1), JOSE_B64V((c) + 2), JOSE_B64V((c) + 3)
#define JOSE_B64V16(c)                                                         \
	JOSE_B64V4(c), JOSE_B64V4((c) + 4), JOSE_B64V4((c) + 8),               \
	    JOSE_B64V4((c) + 12)
#define JOSE_B64V64(c)                                                         \
	JOSE_B64V16(c), JOSE_B64V16((c) + 16), JOSE_B64V16((c) + 32),          \
	    JOSE_B64V16((c) + 48)

static const signed char jose_b64_tab[256] = {
	JOSE_B64V64(0),
	JOSE_B64V64(64),
	JOSE_B64V64(128),
	JOSE_B64V64(192),
};

static int
jose_b64_val(unsigned char c)
{
	return jose_b64_tab[c];
}

/* Whole groups of four characters into three bytes each: the bulk. */
static size_t
jose_b64_quads(const char *in, size_t len, uint8_t *out, size_t *used)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i, n = 0;
	int a, b, c, d;
	uint32_t w;

	for (i = 0; i + 4 <= len; i += 4, n += 3) {
		a = jose_b64_val(p[i]);
		b = jose_b64_val(p[i + 1]);
		c = jose_b64_val(p[i + 2]);
		d = jose_b64_val(p[i + 3]);
		if ((a | b | c | d) < 0)
			break;
		w = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 |
		    (uint32_t)d;
		out[n] = (uint8_t)(w >> 16);
		out[n + 1] = (uint8_t)(w >> 8);
		out[n + 2] = (uint8_t)w;
	}
	*used = i;
	return n;
}

long
jose_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, n;
	int v;

	/* One leftover character carries 6 bits: never a whole byte. */
	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outlen)
		return -1;
	/* The rest (the tail, or from a bad group on) one at a time. */
	n = jose_b64_quads(in, len, out, &i);
	for (; i < len; i++) {
		if ((v = jose_b64_val((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1))
		return -1;
	return (long)n;
}

long
jose_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, n = 0;

	if ((len * 4 + 2) / 3 + 1 > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = jose_b64_alpha[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[n++] = jose_b64_alpha[(acc << (6 - bits)) & 63];
	out[n] = '\0';
	return (long)n;
}
