/*
 * libFuzzer harness for the identity child's receiver (ident_dispatch):
 * what the parent sends, and through it what the outside sends (tokens,
 * knocks, JWKS documents).  The child is configured with one issuer and
 * its key (a real P-256 key: the seeds in corpus/ident_child hold a
 * token and a knock with proof of possession signed with it), then
 * gets one message built from the input:
 *   byte 0 = 0: VERIFY of the rest as a token, at a fixed time;
 *   byte 0 = 1: KNOCK of the rest as a datagram from 192.0.2.10;
 *   else:       byte 1 picks a type, the rest is its raw payload.
 * Every answer must decode with the parent's own decoders, and a
 * proposal must pass the parent's check (cd_idprop_check): an honest
 * child never sends what gets it killed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/ident/ident_msg.h"
#include "control/ident/ident_proc.h"
#include "control/ident/jose.h"
#include "control/ident/knock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1800000000LL

static const char fuzz_jwks[] =
    "{\"keys\":[{\"crv\":\"P-256\",\"kid\":\"f1\",\"kty\":\"EC\",\"x\":\"XMuStSU9CD76tQS2W"
    "BR88mXFFH9Cf5s5jGmdhBi64Uk\",\"y\":\"DkfLuOJp8B57MFpljFgGd_H2SDvMorVVpWw"
    "sVIW7h6w\",\"alg\":\"ES256\"}]}";

static int fuzz_fd[2] = { -1, -1 };
static struct conf fuzz_conf; /* the parent's view of the same issuer */
static uint8_t fuzz_buf[PROC_MSG_MAX];
static uint8_t fuzz_msg[PROC_MSG_MAX];

static void
fuzz_send(uint16_t type, const void *p, size_t len)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = type,
		.len = (uint32_t)len,
		.id = 1 };

	if (ident_dispatch(fuzz_fd[1], &h, p) < 0 && type != IDENT_T_CONFIG)
		abort(); /* only a bad configuration ends the child */
}

static void
fuzz_check_verdict(const struct ident_msg_verdict *v, const uint8_t *claims)
{
	struct cd_idprop p;

	if (cd_idprop_check(&fuzz_conf, v, claims, FUZZ_NOW, &p) < 0)
		abort();
	if (v->rc == JOSE_OK && (p.claims == NULL || p.issuer != 0))
		abort();
	cd_idprop_free(&p);
}

/* Every answer waiting: decoded as the parent would, or abort. */
static void
fuzz_drain(void)
{
	struct ident_msg_verdict v;
	struct ident_msg_knocked k;
	struct ident_msg_keystat ks;
	const uint8_t *tail;
	struct proc_hdr h;
	int pass, rc;
	ssize_t n;

	while ((n = proc_recv(fuzz_fd[0], &h, fuzz_buf, sizeof(fuzz_buf),
	            &pass)) >= 0) {
		switch (h.type) {
		case PROC_T_LOG:
			rc = proc_log_check(fuzz_buf, (size_t)n);
			break;
		case IDENT_T_VERDICT:
			rc = ident_dec_verdict(fuzz_buf, (size_t)n, &v, &tail);
			if (rc == 0)
				fuzz_check_verdict(&v, tail);
			break;
		case IDENT_T_KNOCKED:
			rc = ident_dec_knocked(fuzz_buf, (size_t)n, &k, &tail);
			if (rc == 0 && k.reason == KNOCK_R_OK)
				fuzz_check_verdict(&k.v, tail);
			break;
		case IDENT_T_KEYSTAT:
			rc = ident_dec_keystat(fuzz_buf, (size_t)n, &ks);
			break;
		default:
			rc = -1;
		}
		if (rc < 0)
			abort();
	}
}

static void
fuzz_setup(void)
{
	struct ident_msg_config c;
	struct ident_msg_keys k = { .issuer = 0,
		.src = IDENT_KEYS_FILE,
		.len = sizeof(fuzz_jwks) - 1 };
	struct conf_issuer *ci = &fuzz_conf.identity.issuers[0];

	memset(&c, 0, sizeof(c));
	c.niss = 1;
	strcpy(c.iss[0].name, "fuzz");
	strcpy(c.iss[0].iss, "https://idp.fuzz.test");
	c.iss[0].naud = 1;
	strcpy(c.iss[0].aud[0], "cordon");
	c.iss[0].algs = IDENT_ALGS_ALL;
	c.iss[0].leeway = 60;
	c.knock_on = 1;
	c.knock_rate_milli = 1000000; /* no rate limit in the way */
	c.knock_burst = 1000000;
	fuzz_send(IDENT_T_CONFIG, &c, sizeof(c));
	memcpy(fuzz_msg, &k, sizeof(k));
	memcpy(fuzz_msg + sizeof(k), fuzz_jwks, k.len);
	fuzz_send(IDENT_T_KEYS, fuzz_msg, sizeof(k) + k.len);
	fuzz_drain();

	memset(&fuzz_conf, 0, sizeof(fuzz_conf));
	fuzz_conf.identity.nissuers = 1;
	strcpy(ci->name, "fuzz");
	strcpy(ci->iss, "https://idp.fuzz.test");
	ci->naud = 1;
	strcpy(ci->aud[0], "cordon");
	ci->algs = IDENT_ALGS_ALL;
}

static void
fuzz_verify(const uint8_t *p, size_t n)
{
	struct ident_msg_verify v = { .now = FUZZ_NOW, .len = (uint32_t)n };

	memcpy(fuzz_msg, &v, sizeof(v));
	memcpy(fuzz_msg + sizeof(v), p, n);
	fuzz_send(IDENT_T_VERIFY, fuzz_msg, sizeof(v) + n);
}

static void
fuzz_knock(const uint8_t *p, size_t n)
{
	struct ident_msg_knock k = { .now_ms = FUZZ_NOW * 1000,
		.mono_ms = 1000,
		.af = 4,
		.src = { 192, 0, 2, 10 },
		.len = (uint32_t)n };

	memcpy(fuzz_msg, &k, sizeof(k));
	memcpy(fuzz_msg + sizeof(k), p, n);
	fuzz_send(IDENT_T_KNOCK, fuzz_msg, sizeof(k) + n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t type;

	if (fuzz_fd[0] < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
		        fuzz_fd) < 0)
			abort();
		fuzz_setup();
	}
	if (size < 1 || size > 65536)
		return 0;
	if (data[0] == 0) {
		fuzz_verify(data + 1, size - 1);
	} else if (data[0] == 1) {
		fuzz_knock(data + 1, size - 1);
	} else if (size >= 2) {
		type = (uint16_t)(IDENT_T_CONFIG + data[1] % 8);
		memcpy(fuzz_msg, data + 2, size - 2);
		fuzz_send(type, fuzz_msg, size - 2);
	}
	fuzz_drain();
	/* A raw CONFIG or KEYS may have changed the child: back to the
	 * baseline for the next input. */
	if (data[0] > 1)
		fuzz_setup();
	return 0;
}
