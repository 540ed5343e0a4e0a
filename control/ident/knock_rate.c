/*
 * Per-source rate limit for knocks: a token bucket per source address in
 * a fixed table, so a flood from one source empties only its own bucket.
 * Every check costs one keyed hash and a short chain walk; the table
 * never grows: a new source takes the slot of the least recently seen
 * one (a doubly linked recency list over the slots).
 *
 * IPv6 sources are keyed by their /64: one host usually holds a whole
 * /64 and could otherwise knock from 2^64 fresh buckets.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "control/ident/knock.h"

#define KNOCK_NIL    UINT32_MAX
#define KNOCK_MICRO  1000000ULL /* bucket units per knock */
#define KNOCK_KEYLEN 17         /* af byte + address */

struct knock_rate_ent {
	uint8_t key[KNOCK_KEYLEN];
	uint32_t hnext;        /* next slot in the same hash chain */
	uint32_t newer, older; /* recency list */
	uint64_t tokens;       /* millionths of a knock */
	int64_t last_ms;
};

struct knock_rate {
	uint32_t nslots, nused, mask;
	uint32_t newest, oldest;
	uint32_t *heads;
	struct knock_rate_ent *ents;
	uint64_t cap;    /* burst in millionths */
	uint64_t refill; /* millionths per ms == milli-knocks per s */
	uint8_t seed[16];
};

struct knock_rate *
knock_rate_new(size_t slots, uint32_t rate_milli, uint32_t burst)
{
	struct knock_rate *r;
	uint32_t nb = 1;

	if (slots == 0 || slots >= KNOCK_NIL / 2 || rate_milli == 0 ||
	    burst == 0) {
		errno = EINVAL;
		return NULL;
	}
	while (nb < slots)
		nb <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->heads = malloc(nb * sizeof(*r->heads));
	r->ents = calloc(slots, sizeof(*r->ents));
	if (r->heads == NULL || r->ents == NULL ||
	    getrandom(r->seed, sizeof(r->seed), 0) != sizeof(r->seed)) {
		knock_rate_free(r);
		return NULL;
	}
	memset(r->heads, 0xff, nb * sizeof(*r->heads));
	r->nslots = (uint32_t)slots;
	r->mask = nb - 1;
	r->newest = r->oldest = KNOCK_NIL;
	r->cap = (uint64_t)burst * KNOCK_MICRO;
	r->refill = rate_milli;
	return r;
}

void
knock_rate_free(struct knock_rate *r)
{
	if (r == NULL)
		return;
	free(r->heads);
	free(r->ents);
	free(r);
}

size_t
knock_rate_count(const struct knock_rate *r)
{
	return r->nused;
}

static void
knock_rate_key(int af, const uint8_t addr[16], uint8_t key[KNOCK_KEYLEN])
{
	memset(key, 0, KNOCK_KEYLEN);
	key[0] = (uint8_t)af;
	memcpy(key + 1, addr, af == 4 ? 4 : 8);
}

static uint32_t
knock_rate_bucket(const struct knock_rate *r, const uint8_t *key)
{
	return (uint32_t)knock_siphash(r->seed, key, KNOCK_KEYLEN) & r->mask;
}

static void
knock_lru_unlink(struct knock_rate *r, uint32_t i)
{
	struct knock_rate_ent *e = &r->ents[i];

	if (e->newer != KNOCK_NIL)
		r->ents[e->newer].older = e->older;
	else
		r->newest = e->older;
	if (e->older != KNOCK_NIL)
		r->ents[e->older].newer = e->newer;
	else
		r->oldest = e->newer;
}

static void
knock_lru_push(struct knock_rate *r, uint32_t i)
{
	struct knock_rate_ent *e = &r->ents[i];

	e->newer = KNOCK_NIL;
	e->older = r->newest;
	if (r->newest != KNOCK_NIL)
		r->ents[r->newest].newer = i;
	r->newest = i;
	if (r->oldest == KNOCK_NIL)
		r->oldest = i;
}

/* Removes slot I from its hash chain. */
static void
knock_chain_unlink(struct knock_rate *r, uint32_t i)
{
	uint32_t *pp = &r->heads[knock_rate_bucket(r, r->ents[i].key)];

	while (*pp != KNOCK_NIL && *pp != i)
		pp = &r->ents[*pp].hnext;
	if (*pp == i)
		*pp = r->ents[i].hnext;
}

/* A slot for a new source: a free one, or the least recently seen. */
static uint32_t
knock_rate_take_slot(struct knock_rate *r)
{
	uint32_t i;

	if (r->nused < r->nslots)
		return r->nused++;
	i = r->oldest;
	knock_chain_unlink(r, i);
	knock_lru_unlink(r, i);
	return i;
}

static uint32_t
knock_rate_find(struct knock_rate *r, const uint8_t *key, uint32_t b)
{
	uint32_t i = r->heads[b];

	while (i != KNOCK_NIL && memcmp(r->ents[i].key, key, KNOCK_KEYLEN))
		i = r->ents[i].hnext;
	return i;
}

static void
knock_rate_refill(struct knock_rate *r, struct knock_rate_ent *e,
    int64_t now_ms)
{
	uint64_t dt, room = r->cap - e->tokens;

	/* A clock that steps back refills nothing, and never underflows. */
	if (now_ms <= e->last_ms)
		return;
	dt = (uint64_t)(now_ms - e->last_ms);
	e->last_ms = now_ms;
	if (dt >= room / r->refill + 1)
		e->tokens = r->cap;
	else
		e->tokens += dt * r->refill;
}

bool
knock_rate_allow(struct knock_rate *r, int af, const uint8_t addr[16],
    int64_t now_ms)
{
	uint8_t key[KNOCK_KEYLEN];
	uint32_t b, i;
	struct knock_rate_ent *e;

	knock_rate_key(af, addr, key);
	b = knock_rate_bucket(r, key);
	i = knock_rate_find(r, key, b);
	if (i == KNOCK_NIL) {
		i = knock_rate_take_slot(r);
		e = &r->ents[i];
		memcpy(e->key, key, KNOCK_KEYLEN);
		e->tokens = r->cap;
		e->last_ms = now_ms;
		e->hnext = r->heads[b];
		r->heads[b] = i;
	} else {
		e = &r->ents[i];
		knock_lru_unlink(r, i);
		knock_rate_refill(r, e, now_ms);
	}
	knock_lru_push(r, i);
	if (e->tokens < KNOCK_MICRO)
		return false;
	e->tokens -= KNOCK_MICRO;
	return true;
}
