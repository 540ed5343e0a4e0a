/*
 * The identity and fetch channels (control/ident/ident_msg.c): every
 * decoder with good, truncated, oversized and malformed payloads; the
 * identity child's dispatch driven over a real socketpair, also with
 * messages out of order (a token before any configuration, keys for an
 * issuer that is not configured); and the parent's check of a proposal
 * (cd_idprop_check) against a configuration, for each lie a child could
 * tell.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/ident/ident_msg.h"
#include "control/ident/ident_proc.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"

#define NOW 1800000000LL

/* A payload: struct HEAD then TLEN bytes of TAIL, in a static buffer. */
static uint8_t msg[sizeof(struct ident_msg_config) + IDENT_DOC_MAX + 64];

static size_t
mk(const void *head, size_t hlen, const void *tail, size_t tlen)
{
	memcpy(msg, head, hlen);
	if (tlen)
		memcpy(msg + hlen, tail, tlen);
	return hlen + tlen;
}

/* ---- CONFIG ---- */

static void
good_config(struct ident_msg_config *c)
{
	memset(c, 0, sizeof(*c));
	c->niss = 1;
	strcpy(c->iss[0].name, "corp");
	strcpy(c->iss[0].iss, "https://idp.example.test");
	c->iss[0].naud = 1;
	strcpy(c->iss[0].aud[0], "cordon");
	c->iss[0].algs = JOSE_ALG_BIT(JOSE_ALG_ES256);
	c->iss[0].leeway = 60;
	c->knock_on = 1;
	c->nnat = 1;
	c->nat[0].inside =
	    (struct knock_pfx){ .af = 4, .plen = 8, .addr = { 10 } };
	c->nat[0].outside = (struct knock_pfx){ .af = 6,
		.plen = 64,
		.addr = { 0x20, 0x01, 0x0d, 0xb8 } };
}

static int
dec_config_with(void (*bend)(struct ident_msg_config *))
{
	struct ident_msg_config c, out;

	good_config(&c);
	bend(&c);
	return ident_dec_config((const uint8_t *)&c, sizeof(c), &out);
}

static void
b_none(struct ident_msg_config *c)
{
	(void)c;
}
static void
b_niss(struct ident_msg_config *c)
{
	c->niss = IDENT_ISS_MAX + 1;
}
static void
b_unused(struct ident_msg_config *c)
{
	c->iss[1].name[0] = 'x';
}
static void
b_noname(struct ident_msg_config *c)
{
	c->iss[0].name[0] = 0;
}
static void
b_unterminated(struct ident_msg_config *c)
{
	memset(c->iss[0].iss, 'a', sizeof(c->iss[0].iss));
}
static void
b_ctrl(struct ident_msg_config *c)
{
	c->iss[0].iss[3] = '\n';
}
static void
b_stale(struct ident_msg_config *c)
{
	c->iss[0].name[20] = 'z';
}
static void
b_naud(struct ident_msg_config *c)
{
	c->iss[0].naud = 2;
}
static void
b_naud_big(struct ident_msg_config *c)
{
	c->iss[0].naud = 9;
}
static void
b_algs0(struct ident_msg_config *c)
{
	c->iss[0].algs = 0;
}
static void
b_algs_hi(struct ident_msg_config *c)
{
	c->iss[0].algs |= 1u << 7;
}
static void
b_knock2(struct ident_msg_config *c)
{
	c->knock_on = 2;
}
static void
b_pop2(struct ident_msg_config *c)
{
	c->knock_pop = 7;
}
static void
b_nnat(struct ident_msg_config *c)
{
	c->nnat = KNOCK_NAT_MAX + 1;
}
static void
b_nat_af(struct ident_msg_config *c)
{
	c->nat[0].inside.af = 5;
}
static void
b_nat_plen(struct ident_msg_config *c)
{
	c->nat[0].inside.plen = 33;
}
static void
b_nat_tail(struct ident_msg_config *c)
{
	c->nat[0].inside.addr[9] = 1;
}
static void
b_nat_unused(struct ident_msg_config *c)
{
	c->nat[3].inside.af = 4;
}
static void
b_pad(struct ident_msg_config *c)
{
	c->pad = 1;
}
static void
b_token_max(struct ident_msg_config *c)
{
	c->iss[0].max_token = IDENT_TOKEN_MAX + 1;
}

static void
test_config(void **st)
{
	struct ident_msg_config c, out;
	void (*bad[])(struct ident_msg_config *) = { b_niss, b_unused, b_noname,
		b_unterminated, b_ctrl, b_stale, b_naud, b_naud_big, b_algs0,
		b_algs_hi, b_knock2, b_pop2, b_nnat, b_nat_af, b_nat_plen,
		b_nat_tail, b_nat_unused, b_pad, b_token_max };

	(void)st;
	assert_int_equal(dec_config_with(b_none), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(dec_config_with(bad[i]), -1);
		assert_int_equal(errno, EBADMSG);
	}
	/* Exact size: one byte short or long, or nothing at all. */
	good_config(&c);
	memcpy(msg, &c, sizeof(c));
	assert_int_equal(ident_dec_config(msg, sizeof(c) - 1, &out), -1);
	assert_int_equal(ident_dec_config(msg, sizeof(c) + 1, &out), -1);
	assert_int_equal(ident_dec_config(msg, 0, &out), -1);
}

/* ---- KEYS, KEYSTAT ---- */

static void
test_keys(void **st)
{
	struct ident_msg_keys k = { .issuer = 1,
		.src = IDENT_KEYS_URI,
		.len = 4 },
	                      out;
	const uint8_t *tail;
	size_t n;

	(void)st;
	n = mk(&k, sizeof(k), "{}  ", 4);
	assert_int_equal(ident_dec_keys(msg, n, &out, &tail), 0);
	assert_ptr_equal(tail, msg + sizeof(k));
	/* Truncated, longer than it says, shorter than its struct. */
	assert_int_equal(ident_dec_keys(msg, n - 1, &out, &tail), -1);
	assert_int_equal(ident_dec_keys(msg, n + 1, &out, &tail), -1);
	assert_int_equal(ident_dec_keys(msg, sizeof(k) - 1, &out, &tail), -1);
	k.issuer = IDENT_ISS_MAX;
	n = mk(&k, sizeof(k), "{}  ", 4);
	assert_int_equal(ident_dec_keys(msg, n, &out, &tail), -1);
	k.issuer = 0;
	k.src = IDENT_KEYS_SRC_MAX;
	n = mk(&k, sizeof(k), "{}  ", 4);
	assert_int_equal(ident_dec_keys(msg, n, &out, &tail), -1);
	/* Over the JWKS cap, even when the bytes are there. */
	k.src = 0;
	k.len = IDENT_DOC_MAX + 1;
	memset(msg + sizeof(k), ' ', k.len);
	memcpy(msg, &k, sizeof(k));
	assert_int_equal(ident_dec_keys(msg, sizeof(k) + k.len, &out, &tail),
	    -1);
	k.len = 0;
	n = mk(&k, sizeof(k), NULL, 0);
	assert_int_equal(ident_dec_keys(msg, n, &out, &tail), 0);
}

static void
test_keystat(void **st)
{
	struct ident_msg_keystat k = { .issuer = 0, .nkeys = 2, .total = 3 },
	                         out;

	(void)st;
	strcpy(k.err, "fine");
	assert_int_equal(ident_dec_keystat((uint8_t *)&k, sizeof(k), &out), 0);
	assert_int_equal(ident_dec_keystat((uint8_t *)&k, sizeof(k) - 1, &out),
	    -1);
	k.total = 1000;
	assert_int_equal(ident_dec_keystat((uint8_t *)&k, sizeof(k), &out), -1);
	k.total = 3;
	memset(k.err, 'x', sizeof(k.err));
	assert_int_equal(ident_dec_keystat((uint8_t *)&k, sizeof(k), &out), -1);
}

/* ---- VERIFY, VERDICT ---- */

static void
test_verify(void **st)
{
	struct ident_msg_verify v = { .now = NOW, .len = 3 }, out;
	const uint8_t *tail;
	size_t n;

	(void)st;
	n = mk(&v, sizeof(v), "a.b", 3);
	assert_int_equal(ident_dec_verify(msg, n, &out, &tail), 0);
	assert_int_equal(ident_dec_verify(msg, n - 1, &out, &tail), -1);
	assert_int_equal(ident_dec_verify(msg, n + 1, &out, &tail), -1);
	v.now = 0;
	n = mk(&v, sizeof(v), "a.b", 3);
	assert_int_equal(ident_dec_verify(msg, n, &out, &tail), -1);
	v.now = NOW;
	v.len = IDENT_TOKEN_MAX + 1;
	memcpy(msg, &v, sizeof(v));
	memset(msg + sizeof(v), 'a', v.len);
	assert_int_equal(ident_dec_verify(msg, sizeof(v) + v.len, &out, &tail),
	    -1);
}

static const char claims_ok[] = "{\"iss\":\"https://idp.example.test\","
                                "\"aud\":\"cordon\",\"sub\":\"alice\","
                                "\"exp\":1800000600}";

static void
good_verdict(struct ident_msg_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->rc = JOSE_OK;
	v->issuer = 0;
	v->alg = JOSE_ALG_ES256;
	v->exp = NOW + 600;
	v->claims_len = sizeof(claims_ok) - 1;
}

static int
dec_verdict(const struct ident_msg_verdict *v, const char *claims, size_t clen)
{
	struct ident_msg_verdict out;
	const uint8_t *tail;
	size_t n = mk(v, sizeof(*v), claims, clen);

	return ident_dec_verdict(msg, n, &out, &tail);
}

static void
test_verdict(void **st)
{
	struct ident_msg_verdict v;
	static char big[IDENT_CLAIMS_MAX + 1];

	(void)st;
	good_verdict(&v);
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), 0);
	/* The claims' length must be the tail's. */
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len - 1), -1);
	v.issuer = -1;
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), -1);
	v.issuer = IDENT_ISS_MAX;
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), -1);
	good_verdict(&v);
	v.alg = JOSE_ALG_MAX;
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), -1);
	good_verdict(&v);
	v.exp = 0;
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), -1);
	good_verdict(&v);
	v.rc = JOSE_REASON_MAX;
	assert_int_equal(dec_verdict(&v, claims_ok, v.claims_len), -1);
	/* Claims over the bound. */
	good_verdict(&v);
	memset(big, ' ', sizeof(big));
	v.claims_len = sizeof(big);
	assert_int_equal(dec_verdict(&v, big, sizeof(big)), -1);
	/* A refusal: no claims, no issuer, no exp. */
	memset(&v, 0, sizeof(v));
	v.rc = JOSE_BAD_SIGNATURE;
	v.issuer = -1;
	strcpy(v.detail, "bad");
	assert_int_equal(dec_verdict(&v, NULL, 0), 0);
	v.claims_len = 2;
	assert_int_equal(dec_verdict(&v, "{}", 2), -1);
	v.claims_len = 0;
	v.issuer = 0;
	assert_int_equal(dec_verdict(&v, NULL, 0), -1);
	v.issuer = -1;
	memset(v.detail, 'd', sizeof(v.detail));
	assert_int_equal(dec_verdict(&v, NULL, 0), -1);
}

/* ---- KNOCK, KNOCKED ---- */

static void
test_knock(void **st)
{
	struct ident_msg_knock k = { .now_ms = NOW * 1000,
		.mono_ms = 5,
		.af = 4,
		.src = { 192, 0, 2, 10 },
		.len = 60 },
	                       out;
	const uint8_t *tail;
	uint8_t data[IDENT_KNOCK_MAX + 1] = { 0 };
	size_t n;

	(void)st;
	n = mk(&k, sizeof(k), data, 60);
	assert_int_equal(ident_dec_knock(msg, n, &out, &tail), 0);
	assert_int_equal(ident_dec_knock(msg, n - 1, &out, &tail), -1);
	k.af = 5;
	n = mk(&k, sizeof(k), data, 60);
	assert_int_equal(ident_dec_knock(msg, n, &out, &tail), -1);
	k.af = 4;
	k.src[8] = 1; /* IPv4 then zeros */
	n = mk(&k, sizeof(k), data, 60);
	assert_int_equal(ident_dec_knock(msg, n, &out, &tail), -1);
	k.af = 6;
	n = mk(&k, sizeof(k), data, 60);
	assert_int_equal(ident_dec_knock(msg, n, &out, &tail), 0);
	k.len = IDENT_KNOCK_MAX + 1;
	n = mk(&k, sizeof(k), data, k.len);
	assert_int_equal(ident_dec_knock(msg, n, &out, &tail), -1);
}

static void
good_knocked(struct ident_msg_knocked *o)
{
	memset(o, 0, sizeof(*o));
	o->reason = KNOCK_R_OK;
	o->addr_af = 4;
	memcpy(o->addr, (uint8_t[]){ 192, 0, 2, 10 }, 4);
	o->timestamp = NOW;
	strcpy(o->service, "ssh");
	good_verdict(&o->v);
}

static int
dec_knocked(const struct ident_msg_knocked *o, const char *claims, size_t clen)
{
	struct ident_msg_knocked out;
	const uint8_t *tail;
	size_t n = mk(o, sizeof(*o), claims, clen);

	return ident_dec_knocked(msg, n, &out, &tail);
}

static void
test_knocked(void **st)
{
	struct ident_msg_knocked o;
	size_t cl = sizeof(claims_ok) - 1;

	(void)st;
	good_knocked(&o);
	assert_int_equal(dec_knocked(&o, claims_ok, cl), 0);
	assert_int_equal(dec_knocked(&o, claims_ok, cl - 1), -1);
	o.service[0] = '\0';
	assert_int_equal(dec_knocked(&o, claims_ok, cl), -1);
	good_knocked(&o);
	o.addr_af = 0;
	assert_int_equal(dec_knocked(&o, claims_ok, cl), -1);
	good_knocked(&o);
	o.timestamp = 0;
	assert_int_equal(dec_knocked(&o, claims_ok, cl), -1);
	good_knocked(&o);
	o.pad2[3] = 1;
	assert_int_equal(dec_knocked(&o, claims_ok, cl), -1);
	good_knocked(&o);
	o.v.issuer = -1;
	o.v.claims_len = 0;
	o.v.exp = 0;
	o.v.alg = 0;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1); /* no token */
	/* A refusal before the token: no verdict at all. */
	memset(&o, 0, sizeof(o));
	o.reason = KNOCK_R_STALE;
	o.v.issuer = -1;
	assert_int_equal(dec_knocked(&o, NULL, 0), 0);
	o.v.rc = JOSE_EXPIRED;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
	/* A refused token: its reason, no claims. */
	o.reason = KNOCK_R_TOKEN_REJECTED;
	assert_int_equal(dec_knocked(&o, NULL, 0), 0);
	o.v.rc = JOSE_OK;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
	o.reason = KNOCK_R_MAX;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
	/* The parent's own reasons are not the child's to report. */
	o.v.rc = 0;
	o.reason = KNOCK_R_REPLAY;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
	o.reason = KNOCK_R_IDENT_DOWN;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
	o.reason = KNOCK_R_ADDR_MISMATCH;
	o.addr_af = 9;
	assert_int_equal(dec_knocked(&o, NULL, 0), -1);
}

/* ---- FETCH, DOC ---- */

static void
test_fetch_doc(void **st)
{
	struct ident_msg_fetch f = { .issuer = 0,
		.timeout_ms = 5000,
		.ca_len = 5 },
	                       fo;
	struct ident_msg_doc d = { .issuer = 0, .ok = 1, .len = 2 }, dout;
	const uint8_t *tail;
	size_t n;

	(void)st;
	strcpy(f.url, "https://127.0.0.1:8443/jwks");
	n = mk(&f, sizeof(f), "-----", 5);
	assert_int_equal(ident_dec_fetch(msg, n, &fo, &tail), 0);
	assert_int_equal(ident_dec_fetch(msg, n - 1, &fo, &tail), -1);
	strcpy(f.url, "http://127.0.0.1/jwks");
	n = mk(&f, sizeof(f), "-----", 5);
	assert_int_equal(ident_dec_fetch(msg, n, &fo, &tail), -1);
	strcpy(f.url, "https://x/");
	f.timeout_ms = 0;
	n = mk(&f, sizeof(f), "-----", 5);
	assert_int_equal(ident_dec_fetch(msg, n, &fo, &tail), -1);
	f.timeout_ms = 60001;
	n = mk(&f, sizeof(f), "-----", 5);
	assert_int_equal(ident_dec_fetch(msg, n, &fo, &tail), -1);

	n = mk(&d, sizeof(d), "{}", 2);
	assert_int_equal(ident_dec_doc(msg, n, &dout, &tail), 0);
	assert_int_equal(ident_dec_doc(msg, n + 1, &dout, &tail), -1);
	d.ok = 0; /* a failure carries no body */
	n = mk(&d, sizeof(d), "{}", 2);
	assert_int_equal(ident_dec_doc(msg, n, &dout, &tail), -1);
	d.len = 0;
	strcpy(d.err, "refused");
	n = mk(&d, sizeof(d), NULL, 0);
	assert_int_equal(ident_dec_doc(msg, n, &dout, &tail), 0);
	d.ok = 1; /* a success carries one */
	n = mk(&d, sizeof(d), NULL, 0);
	assert_int_equal(ident_dec_doc(msg, n, &dout, &tail), -1);
	d.ok = 2;
	assert_int_equal(ident_dec_doc(msg, n, &dout, &tail), -1);
}

/* ---- the child's dispatch over a socketpair ---- */

static int
child_call(int fd[2], uint16_t type, const void *p, size_t len,
    struct proc_hdr *h, uint8_t *ans, size_t cap)
{
	struct proc_hdr in = { .version = PROC_MSG_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.id = 7 };
	int pass;

	if (ident_dispatch(fd[1], &in, p) < 0)
		return -1;
	return (int)proc_recv(fd[0], h, ans, cap, &pass);
}

static void
test_child_out_of_order(void **st)
{
	static uint8_t ans[PROC_MSG_MAX];
	struct ident_msg_verify v = { .now = NOW, .len = 5 };
	struct ident_msg_keys k = { .issuer = 0, .src = 0, .len = 2 };
	struct ident_msg_verdict out;
	struct ident_msg_keystat ks;
	struct ident_msg_config c;
	const uint8_t *tail;
	struct proc_hdr h;
	int fd[2], n;

	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fd), 0);
	/* A token before any configuration: refused, not crashed. */
	n = child_call(fd, IDENT_T_VERIFY, msg, mk(&v, sizeof(v), "a.b.c", 5),
	    &h, ans, sizeof(ans));
	assert_true(n > 0);
	assert_int_equal(h.type, IDENT_T_VERDICT);
	assert_int_equal(h.id, 7);
	assert_int_equal(ident_dec_verdict(ans, (size_t)n, &out, &tail), 0);
	assert_int_not_equal(out.rc, JOSE_OK);
	/* Keys for an issuer not configured: said so. */
	n = child_call(fd, IDENT_T_KEYS, msg, mk(&k, sizeof(k), "{}", 2), &h,
	    ans, sizeof(ans));
	assert_int_equal(ident_dec_keystat(ans, (size_t)n, &ks), 0);
	assert_int_equal(ks.total, 0);
	assert_non_null(strstr(ks.err, "no issuer"));
	/* A malformed VERIFY still gets its (refusing) answer. */
	n = child_call(fd, IDENT_T_VERIFY, msg, 3, &h, ans, sizeof(ans));
	assert_int_equal(ident_dec_verdict(ans, (size_t)n, &out, &tail), 0);
	assert_int_equal(out.rc, JOSE_INTERNAL);
	/* A malformed CONFIG ends the child. */
	good_config(&c);
	c.niss = 99;
	{
		struct proc_hdr in = { .version = PROC_MSG_VERSION,
			.type = IDENT_T_CONFIG,
			.len = sizeof(c) };

		int pass;

		assert_int_equal(ident_dispatch(fd[1], &in, (uint8_t *)&c), -1);
		/* It says why in the parent's log. */
		assert_true(proc_recv(fd[0], &h, ans, sizeof(ans), &pass) > 0);
		assert_int_equal(h.type, PROC_T_LOG);
	}
	/* Then a good one, and a JWKS that is not one: no keys, said. */
	good_config(&c);
	{
		struct proc_hdr in = { .version = PROC_MSG_VERSION,
			.type = IDENT_T_CONFIG,
			.len = sizeof(c) };

		assert_int_equal(ident_dispatch(fd[1], &in, (uint8_t *)&c), 0);
	}
	n = child_call(fd, IDENT_T_KEYS, msg, mk(&k, sizeof(k), "[]", 2), &h,
	    ans, sizeof(ans));
	assert_int_equal(ident_dec_keystat(ans, (size_t)n, &ks), 0);
	assert_int_equal(ks.nkeys, 0);
	assert_true(ks.err[0] != '\0');
	close(fd[0]);
	close(fd[1]);
}

/* ---- the parent's check of a proposal ---- */

static struct conf pconf;

static void
parent_conf(void)
{
	struct conf_issuer *ci = &pconf.identity.issuers[0];

	memset(&pconf, 0, sizeof(pconf));
	pconf.identity.nissuers = 1;
	strcpy(ci->name, "corp");
	strcpy(ci->iss, "https://idp.example.test");
	ci->naud = 1;
	strcpy(ci->aud[0], "cordon");
	ci->algs = JOSE_ALG_BIT(JOSE_ALG_ES256);
}

static int
check(struct ident_msg_verdict *v, const char *claims, struct cd_idprop *p)
{
	int rc;

	v->claims_len = (uint32_t)strlen(claims);
	rc = cd_idprop_check(&pconf, v, (const uint8_t *)claims, NOW, p);
	cd_idprop_free(p);
	return rc;
}

static void
test_parent_check(void **st)
{
	struct ident_msg_verdict v;
	struct cd_idprop p;

	(void)st;
	parent_conf();
	good_verdict(&v);
	assert_int_equal(check(&v, claims_ok, &p), 0);
	assert_int_equal(p.rc, JOSE_OK);
	assert_int_equal(p.issuer, 0);
	/* An issuer the config does not have. */
	v.issuer = 1;
	assert_int_equal(check(&v, claims_ok, &p), -1);
	/* Another issuer's iss under this issuer's index. */
	good_verdict(&v);
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://evil.test\",\"aud\":"
	                     "\"cordon\",\"exp\":1800000600}",
	                     &p),
	    -1);
	/* No iss, wrong aud, aud in an array. */
	assert_int_equal(check(&v, "{\"aud\":\"cordon\",\"exp\":1800000600}",
	                     &p),
	    -1);
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://idp.example.test\","
	                     "\"aud\":\"other\",\"exp\":1800000600}",
	                     &p),
	    -1);
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://idp.example.test\","
	                     "\"aud\":[\"x\",\"cordon\"],\"exp\":1800000600}",
	                     &p),
	    0);
	/* An algorithm the issuer does not accept. */
	v.alg = JOSE_ALG_RS256;
	assert_int_equal(check(&v, claims_ok, &p), -1);
	/* exp other than the claims' (a longer session). */
	good_verdict(&v);
	v.exp = NOW + 86400;
	assert_int_equal(check(&v, claims_ok, &p), -1);
	/* exp passed meanwhile: a refusal, not a lie. */
	good_verdict(&v);
	v.exp = NOW - 1;
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://idp.example.test\","
	                     "\"aud\":\"cordon\",\"exp\":1799999999}",
	                     &p),
	    0);
	assert_int_equal(p.rc, JOSE_LEEWAY_ONLY);
	/* Not an object, duplicate keys, too deep. */
	good_verdict(&v);
	assert_int_equal(check(&v, "[1]", &p), -1);
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://idp.example.test\",\"iss\":"
	                     "\"https://idp.example.test\",\"aud\":\"cordon\","
	                     "\"exp\":1800000600}",
	                     &p),
	    -1);
	assert_int_equal(check(&v,
	                     "{\"iss\":\"https://idp.example.test\","
	                     "\"aud\":\"cordon\",\"exp\":1800000600,\"x\":"
	                     "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}",
	                     &p),
	    -1);
	/* A refusal is passed on as it is. */
	memset(&v, 0, sizeof(v));
	v.rc = JOSE_EXPIRED;
	v.issuer = -1;
	assert_int_equal(check(&v, "", &p), 0);
	assert_int_equal(p.rc, JOSE_EXPIRED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_keystat),
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_knock),
		cmocka_unit_test(test_knocked),
		cmocka_unit_test(test_fetch_doc),
		cmocka_unit_test(test_child_out_of_order),
		cmocka_unit_test(test_parent_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
