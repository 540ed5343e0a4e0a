/*
 * Strict base64url (RFC 4648 section 5, RFC 7515 section 2): no padding,
 * no whitespace, no characters of the other alphabet, and the unused low
 * bits of the last character zero, so that every byte string has exactly
 * one accepted spelling.
 */
#include "control/ident/jose_int.h"

static const char jose_b64_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
jose_b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
jose_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, n = 0;
	int v;

	/* One leftover character carries 6 bits: never a whole byte. */
	if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outlen)
		return -1;
	for (i = 0; i < len; i++) {
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
