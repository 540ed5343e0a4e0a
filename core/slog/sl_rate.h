/*
 * The packet records' rate limit, shared by cordond's syslog and
 * cordon-dp's fallback: a token bucket of RATE records per second, as
 * deep.  The caller passes the monotonic clock; nothing here reads it.
 */
#ifndef CORDON_SL_RATE_H
#define CORDON_SL_RATE_H

#include <stdbool.h>
#include <stdint.h>

struct sl_bucket {
	unsigned rate; /* records per second, and the depth */
	double tokens;
	int64_t last_ms;
};

/* A full bucket of RATE at NOW_MS. */
void sl_bucket_init(struct sl_bucket *b, unsigned rate, int64_t now_ms);
/* Takes one token at NOW_MS: true, or false when none is left. */
bool sl_bucket_take(struct sl_bucket *b, int64_t now_ms);

#endif
