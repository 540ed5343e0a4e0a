/*
 * The proxy header parsers (core/prx): PROXY v1 and v2 as HAProxy's
 * spec writes them, and the Forwarded / X-Forwarded-For walker, tried
 * as an attacker would: forged hops on the left, obfuscated names,
 * headers split anywhere, past the window, smuggled line breaks.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/prx/prx.h"

static struct prx_out o;

static int
v1(const char *s)
{
	return prx_proxy_parse((const uint8_t *)s, (uint32_t)strlen(s),
	    PRX_WINDOW_DEF, PRX_MODE_V1, &o);
}

static int
http(const char *s, unsigned mode)
{
	return prx_http_parse((const uint8_t *)s, (uint32_t)strlen(s),
	    PRX_WINDOW_DEF, mode, &o);
}

/* Is hop I the address S (NULL: the unknown hop)? */
static void
hop_is(unsigned i, const char *s)
{
	uint8_t a[16];

	assert_true(i < o.n);
	if (s == NULL) {
		assert_int_equal(o.hop[i].af, 0);
		return;
	}
	if (strchr(s, ':')) {
		assert_int_equal(inet_pton(AF_INET6, s, a), 1);
		assert_int_equal(o.hop[i].af, 6);
		assert_memory_equal(o.hop[i].a, a, 16);
	} else {
		assert_int_equal(inet_pton(AF_INET, s, a), 1);
		assert_int_equal(o.hop[i].af, 4);
		assert_memory_equal(o.hop[i].a, a, 4);
	}
}

static void
test_v1_tcp4(void **state)
{
	const char *h = "PROXY TCP4 203.0.113.7 198.51.100.2 56324 22\r\nSSH-";

	(void)state;
	assert_int_equal(v1(h), PRX_DONE);
	assert_int_equal(o.n, 1);
	hop_is(0, "203.0.113.7");
	assert_int_equal(o.hop[0].port, 56324);
	assert_int_equal(o.hdrlen, strlen(h) - 4);
}

static void
test_v1_tcp6_unknown(void **state)
{
	(void)state;
	assert_int_equal(v1("PROXY TCP6 2001:db8::7 2001:db8::1 1 22\r\n"),
	    PRX_DONE);
	hop_is(0, "2001:db8::7");
	assert_int_equal(v1("PROXY UNKNOWN\r\n"), PRX_DONE);
	hop_is(0, NULL);
	assert_int_equal(v1("PROXY UNKNOWN ffff::1 ::1 1 2\r\n"), PRX_DONE);
	hop_is(0, NULL);
}

/* Every prefix of a good line asks for more; none decides. */
static void
test_v1_split(void **state)
{
	const char *h = "PROXY TCP4 203.0.113.7 198.51.100.2 56324 22\r\n";

	(void)state;
	for (size_t n = 0; n < strlen(h); n++)
		assert_int_equal(prx_proxy_parse((const uint8_t *)h,
		                     (uint32_t)n, PRX_WINDOW_DEF, PRX_MODE_ANY,
		                     &o),
		    PRX_MORE);
}

static void
test_v1_bad(void **state)
{
	char longl[160];

	(void)state;
	assert_int_equal(v1("PROXY TCP4 203.0.113.7 198.51.100.2 1 22\n"),
	    PRX_MORE); /* no CR yet: still within 107 bytes */
	assert_int_equal(v1("PROXY TCP4 203.0.113.7  198.51.100.2 1 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 2001:db8::1 198.51.100.2 1 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP6 203.0.113.7 2001:db8::1 1 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 203.0.113.7 198.51.100.2 65536 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 203.0.113.7 198.51.100.2 01 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY UDP4 203.0.113.7 198.51.100.2 1 22\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 203.0.113.7 198.51.100.2 1 22 9\r\n"),
	    PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 203.0.113.7\r\n"), PRX_BAD);
	assert_int_equal(v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n"), PRX_BAD);
	assert_int_equal(v1("SSH-2.0-OpenSSH\r\n"), PRX_BAD);
	assert_int_equal(v1("PROXZ"), PRX_BAD);
	/* No CRLF within 107 bytes: refused, however it goes on. */
	memset(longl, 'A', sizeof(longl));
	memcpy(longl, "PROXY TCP4 ", 11);
	longl[sizeof(longl) - 1] = '\0';
	assert_int_equal(v1(longl), PRX_BAD);
	/* v2 bytes on a v1-only service. */
	assert_int_equal(v1("\r\n\r\n"), PRX_BAD);
}

/* A v2 header: COMMAND, family byte FP, ADDR of ALEN bytes, TLV bytes. */
static uint32_t
v2_build(uint8_t *b, uint8_t cmd, uint8_t fp, const uint8_t *addr,
    unsigned alen, const uint8_t *tlv, unsigned tlen)
{
	static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
		0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

	memcpy(b, sig, 12);
	b[12] = (uint8_t)(0x20 | cmd);
	b[13] = fp;
	b[14] = (uint8_t)((alen + tlen) >> 8);
	b[15] = (uint8_t)(alen + tlen);
	if (alen)
		memcpy(b + 16, addr, alen);
	if (tlen)
		memcpy(b + 16 + alen, tlv, tlen);
	return 16 + alen + tlen;
}

static void
test_v2(void **state)
{
	uint8_t b[600],
	    a4[12] = { 203, 0, 113, 9, 198, 51, 100, 2, 0xdc, 0x05, 0, 22 };
	uint8_t a6[36] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9, [16] = 0x20 };
	uint8_t tlv[7] = { 0x04, 0x00, 0x04, 'a', 'b', 'c', 'd' };
	uint32_t n;

	(void)state;
	n = v2_build(b, 1, 0x11, a4, 12, tlv, 7);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_DONE);
	hop_is(0, "203.0.113.9");
	assert_int_equal(o.hop[0].port, 0xdc05);
	assert_int_equal(o.hdrlen, n);
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(prx_proxy_parse(b, k, PRX_WINDOW_DEF,
		                     PRX_MODE_ANY, &o),
		    PRX_MORE);
	n = v2_build(b, 1, 0x21, a6, 36, NULL, 0);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_ANY,
	                     &o),
	    PRX_DONE);
	hop_is(0, "2001:db8::9");
	/* LOCAL: the relay's own connection. */
	n = v2_build(b, 0, 0x00, NULL, 0, NULL, 0);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_LOCAL);
	/* PROXY over UDP or unspecified: the client is unknown. */
	n = v2_build(b, 1, 0x12, a4, 12, NULL, 0);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_DONE);
	hop_is(0, NULL);
	n = v2_build(b, 1, 0x00, NULL, 0, NULL, 0);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_DONE);
	hop_is(0, NULL);
}

static void
test_v2_bad(void **state)
{
	uint8_t b[600], a4[12] = { 203, 0, 113, 9 };
	uint8_t tlv[4] = { 0x04, 0x00, 0x05, 'a' };
	uint32_t n;

	(void)state;
	/* Addresses shorter than the family needs. */
	n = v2_build(b, 1, 0x21, a4, 12, NULL, 0);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
	/* A TLV longer than what is left. */
	n = v2_build(b, 1, 0x11, a4, 12, tlv, 4);
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
	/* Version 1 in the high nibble, command 2, family 4. */
	n = v2_build(b, 1, 0x11, a4, 12, NULL, 0);
	b[12] = 0x11;
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
	b[12] = 0x22;
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
	b[12] = 0x21;
	b[13] = 0x41;
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
	/* Longer than the window. */
	b[13] = 0x11;
	b[14] = 0x20;
	assert_int_equal(prx_proxy_parse(b, n, PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_LONG);
	/* v1 text on a v2-only service. */
	assert_int_equal(prx_proxy_parse((const uint8_t *)"PROXY ", 6,
	                     PRX_WINDOW_DEF, PRX_MODE_V2, &o),
	    PRX_BAD);
}

static void
test_xff(void **state)
{
	(void)state;
	assert_int_equal(http("GET / HTTP/1.1\r\nHost: a\r\n"
	                      "X-Forwarded-For: 192.0.2.66, 203.0.113.7\r\n"
	                      "x-forwarded-for:[2001:db8::5]:443 ,10.0.0.1:80,"
	                      "2001:db8::6, junk,_hidden\r\n\r\nbody",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(o.n, 7);
	hop_is(0, "192.0.2.66");
	hop_is(1, "203.0.113.7");
	hop_is(2, "2001:db8::5");
	assert_int_equal(o.hop[2].port, 443);
	hop_is(3, "10.0.0.1");
	hop_is(4, "2001:db8::6");
	hop_is(5, NULL);
	hop_is(6, NULL);
	/* No field: no hop.  Forwarded is not read for XFF. */
	assert_int_equal(http("GET / HTTP/1.1\r\nForwarded: for=1.2.3.4\r\n"
	                      "\r\n",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(o.n, 0);
}

static void
test_forwarded(void **state)
{
	(void)state;
	assert_int_equal(http("POST /x HTTP/1.0\r\n"
	                      "Forwarded: for=192.0.2.60;proto=http;by=x, "
	                      "For=\"[2001:db8:cafe::17]:4711\"\r\n"
	                      "Forwarded: for=unknown, for=_hidden;by=_b,"
	                      "by=1.2.3.4, for=\"198.51.100.17\", for=1.1.1.1;"
	                      "for=2.2.2.2, for=\"bad\r\n\r\n",
	                     PRX_MODE_FORWARDED),
	    PRX_DONE);
	assert_int_equal(o.n, 8);
	hop_is(0, "192.0.2.60");
	hop_is(1, "2001:db8:cafe::17");
	hop_is(2, NULL); /* unknown */
	hop_is(3, NULL); /* obfuscated */
	hop_is(4, NULL); /* no for= */
	hop_is(5, "198.51.100.17");
	hop_is(6, NULL); /* for= twice */
	hop_is(7, NULL); /* unterminated quote */
	/* An escaped address is no address. */
	assert_int_equal(http("GET / HTTP/1.1\r\nForwarded: for=\"1.2.3\\.4\""
	                      "\r\n\r\n",
	                     PRX_MODE_FORWARDED),
	    PRX_DONE);
	hop_is(0, NULL);
}

static void
test_http_bad(void **state)
{
	char big[PRX_WINDOW_DEF + 64];

	(void)state;
	assert_int_equal(http("GET / HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r\n",
	                     PRX_MODE_XFF),
	    PRX_MORE);
	assert_int_equal(http("get / HTTP/1.1\r\n\r\n", PRX_MODE_XFF), PRX_BAD);
	assert_int_equal(http("GET /\r\n\r\n", PRX_MODE_XFF), PRX_BAD);
	/* Bare LF, folded line: a field hidden from one reader. */
	assert_int_equal(http("GET / HTTP/1.1\r\nA: b\nX-Forwarded-For: 1.2.3.4"
	                      "\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_BAD);
	assert_int_equal(http("GET / HTTP/1.1\r\nA: b\r\n X-Forwarded-For: 1"
	                      "\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_BAD);
	/* The block does not end within the window. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(http(big, PRX_MODE_XFF), PRX_LONG);
	/* It ends just past the window: still too long. */
	memcpy(big + PRX_WINDOW_DEF - 2, "\r\n\r\n", 4);
	assert_int_equal(http(big, PRX_MODE_XFF), PRX_LONG);
}

/* Many hops: the rightmost are kept, the rest is one unknown hop. */
static void
test_many_hops(void **state)
{
	char h[2048];
	size_t n;

	(void)state;
	n = (size_t)snprintf(h, sizeof(h),
	    "GET / HTTP/1.1\r\nX-Forwarded-For: 192.0.2.1");
	for (unsigned i = 2; i <= 40; i++)
		n += (size_t)snprintf(h + n, sizeof(h) - n, ", 10.0.0.%u", i);
	snprintf(h + n, sizeof(h) - n, "\r\n\r\n");
	assert_int_equal(http(h, PRX_MODE_XFF), PRX_DONE);
	assert_int_equal(o.n, PRX_HOPS_MAX);
	assert_true(o.over);
	hop_is(0, NULL);
	hop_is(PRX_HOPS_MAX - 1, "10.0.0.40");
	hop_is(1, "10.0.0.26");
}

static void
test_origin(void **state)
{
	struct prx_trust t;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.n = 2;
	t.p[0].af = 4;
	t.p[0].len = 8;
	t.p[0].a[0] = 10;
	t.p[1].af = 6;
	t.p[1].len = 32;
	memcpy(t.p[1].a, "\x20\x01\x0d\xb8", 4);
	/* A client forging a hop on the left gains nothing: origin is
	 * the rightmost untrusted. */
	assert_int_equal(http("GET / HTTP/1.1\r\nX-Forwarded-For: 8.8.8.8, "
	                      "203.0.113.5, 10.1.1.1, 2001:db8::1\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(prx_origin(&t, &o), 1);
	/* An unknown hop is never trusted: it is the origin. */
	assert_int_equal(http("GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.5,"
	                      " _x, 10.1.1.1\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(prx_origin(&t, &o), 1);
	/* All trusted: the leftmost. */
	assert_int_equal(http("GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.9, "
	                      "10.1.1.1\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(prx_origin(&t, &o), 0);
	o.n = 0;
	assert_int_equal(prx_origin(&t, &o), -1);
	/* Prefix bits beyond whole bytes. */
	t.p[0].len = 9;
	t.p[0].a[1] = 0x80;
	assert_int_equal(http("GET / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.5,"
	                      " 10.128.0.1, 10.127.0.1\r\n\r\n",
	                     PRX_MODE_XFF),
	    PRX_DONE);
	assert_int_equal(prx_origin(&t, &o), 2);
}

static void
test_modes(void **state)
{
	(void)state;
	for (unsigned m = PRX_MODE_V1; m < PRX_MODE_MAX; m++)
		assert_int_equal(prx_mode_parse(prx_mode_name(m)), (int)m);
	assert_int_equal(prx_mode_parse("none"), -1);
	assert_int_equal(prx_mode_parse("v3"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6_unknown),
		cmocka_unit_test(test_v1_split),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_xff),
		cmocka_unit_test(test_forwarded),
		cmocka_unit_test(test_http_bad),
		cmocka_unit_test(test_many_hops),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
