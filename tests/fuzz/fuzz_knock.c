/*
 * libFuzzer harness for the knock parser.  The input is copied to a
 * buffer of exactly its size so that ASan flags any read past the
 * datagram.  What the parser accepts must point inside the buffer, and
 * building it again must give back exactly the same bytes: the format
 * has one encoding per message, so a knock cannot be re-encoded into a
 * second form with a fresh replay-cache identity.  The signed address
 * is always a family (4 or 6) and, for IPv4, four bytes then zeros.
 * knock_fixed_read (what cordond reads itself) runs on every input and
 * must read exactly what the parser read of every knock it accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/ident/knock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_knock_inside(const uint8_t *buf, size_t len, const uint8_t *p, size_t n)
{
	if (p < buf || n > len || (size_t)(p - buf) > len - n)
		abort();
}

/* cordond's own reading agrees with the parser's, field by field. */
static void
fuzz_knock_fixed(const uint8_t *buf, size_t len, const struct knock_msg *m)
{
	struct knock_fixed f;

	if (knock_fixed_read(buf, len, &f) < 0 || f.timestamp != m->timestamp ||
	    memcmp(f.nonce, m->nonce, KNOCK_NONCE_LEN) != 0 ||
	    f.addr_af != m->addr_af ||
	    memcmp(f.addr, m->addr, KNOCK_ADDR_LEN) != 0 ||
	    strlen(f.service) != m->service_len ||
	    memcmp(f.service, m->service, m->service_len) != 0)
		abort();
}

static void
fuzz_knock_accepted(const uint8_t *buf, size_t len, const struct knock_msg *m)
{
	static uint8_t again[KNOCK_MAX_LEN];
	int n;

	fuzz_knock_inside(buf, len, (const uint8_t *)m->service,
	    m->service_len);
	fuzz_knock_inside(buf, len, (const uint8_t *)m->token, m->token_len);
	fuzz_knock_inside(buf, len, m->signed_part, m->signed_len);
	if (m->flags & KNOCK_FLAG_POP)
		fuzz_knock_inside(buf, len, m->sig, m->sig_len);
	else if (m->sig != NULL || m->signed_len != len)
		abort();
	/* The signed address has one form: IPv4 padded with zeros. */
	if (m->addr_af != 4 && m->addr_af != 6)
		abort();
	for (int i = 4; m->addr_af == 4 && i < KNOCK_ADDR_LEN; i++)
		if (m->addr[i] != 0)
			abort();
	fuzz_knock_fixed(buf, len, m);
	n = knock_build(again, sizeof(again), m);
	if (n < 0 || (size_t)n != len || memcmp(again, buf, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct knock_fixed f;
	struct knock_msg m;
	uint8_t *buf;
	int rc;

	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (knock_fixed_read(buf, size, &f) == 0 &&
	    strlen(f.service) > KNOCK_SERVICE_MAX)
		abort();
	rc = knock_parse(buf, size, &m);
	if (rc < 0 || rc >= KNOCK_R_MAX)
		abort();
	if (rc == KNOCK_R_OK)
		fuzz_knock_accepted(buf, size, &m);
	/* A name for every outcome, for the counters. */
	if (strcmp(knock_reason_name(rc), "unknown") == 0)
		abort();
	free(buf);
	return 0;
}
