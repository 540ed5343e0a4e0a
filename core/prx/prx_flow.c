/*
 * Flow table of proxied services.  Buckets of PRX_FLOW_WAYS entries, a
 * seeded hash (a sender cannot aim at one bucket) naming two buckets per
 * key, a new flow going to the emptier (two choices keep buckets even:
 * refusals stay rare up to high loads).  A 16-bit signature per entry,
 * kept apart from the entries, lets a lookup read two short lines and
 * then the one entry that matches.  Both buckets full refuses the new
 * flow rather than evicting a live one: evicting would let a flood of
 * handshakes push decided flows out.  Buffers for the
 * first bytes of pending flows come from a fixed pool (a stack of free
 * slots): only flows whose header spans segments take one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/prx/prx.h"
#include "core/prx/prx_flow.h"

struct prx_flow_table {
	uint32_t mask; /* buckets - 1 */
	uint32_t window;
	uint32_t nbufs, nfree;
	uint64_t idle;
	uint64_t pend; /* a pending flow's life: IDLE / PRX_PEND_DIV */
	uint64_t seed;
	uint32_t *free;     /* free buffer slots, a stack */
	uint8_t *bufs;      /* nbufs * window bytes */
	uint16_t *sig;      /* per entry: 0 free, else its key's signature */
	struct prx_flow *e; /* (mask + 1) * PRX_FLOW_WAYS */
};

/* Where a key may live, and its signature. */
struct prx_hash {
	size_t b[2]; /* first entry of each bucket */
	uint16_t sig;
};

static unsigned
prx_flow_round(unsigned entries)
{
	unsigned n = PRX_FLOW_WAYS;

	if (entries > PRX_FLOWS_MAX)
		return 0;
	while (n < entries)
		n <<= 1;
	return n;
}

size_t
prx_flow_size(unsigned entries, unsigned bufs, unsigned window)
{
	unsigned n = prx_flow_round(entries);

	if (n == 0 || window < PRX_WINDOW_MIN || window > PRX_WINDOW_MAX ||
	    bufs > n)
		return 0;
	return sizeof(struct prx_flow_table) +
	       n * (sizeof(struct prx_flow) + sizeof(uint16_t)) +
	       (size_t)bufs * (window + sizeof(uint32_t));
}

struct prx_flow_table *
prx_flow_new(unsigned entries, unsigned bufs, unsigned window, uint64_t idle,
    uint64_t seed)
{
	unsigned n = prx_flow_round(entries);
	struct prx_flow_table *t;

	if (prx_flow_size(entries, bufs, window) == 0 || idle == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->e = aligned_alloc(64, n * sizeof(struct prx_flow));
	t->sig = calloc(n, sizeof(uint16_t));
	t->bufs = malloc((size_t)bufs * window + 1);
	t->free = malloc((size_t)bufs * sizeof(uint32_t) + 1);
	if (t->e == NULL || t->sig == NULL || t->bufs == NULL ||
	    t->free == NULL) {
		prx_flow_free(t);
		errno = ENOMEM;
		return NULL;
	}
	memset(t->e, 0, n * sizeof(struct prx_flow));
	t->mask = n / PRX_FLOW_WAYS - 1;
	t->window = window;
	t->nbufs = t->nfree = bufs;
	t->idle = idle;
	t->pend = idle / PRX_PEND_DIV ? idle / PRX_PEND_DIV : 1;
	t->seed = seed;
	for (unsigned i = 0; i < bufs; i++)
		t->free[i] = bufs - 1 - i;
	return t;
}

void
prx_flow_free(struct prx_flow_table *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->sig);
	free(t->bufs);
	free(t->free);
	free(t);
}

unsigned
prx_flow_window(const struct prx_flow_table *t)
{
	return t->window;
}

unsigned
prx_flow_used(const struct prx_flow_table *t, uint64_t now)
{
	unsigned n = 0;

	for (size_t i = 0; i < (size_t)(t->mask + 1) * PRX_FLOW_WAYS; i++)
		n += t->sig[i] != 0 && t->e[i].expires > now;
	return n;
}

void
prx_fkey_make(const struct pkt_meta *m, int rev, struct prx_fkey *k)
{
	memset(k, 0, sizeof(*k));
	k->af = m->af;
	k->sport = rev ? m->dport : m->sport;
	k->dport = rev ? m->sport : m->dport;
	if (m->af == 4) {
		uint32_t s = __builtin_bswap32(m->src4);
		uint32_t d = __builtin_bswap32(m->dst4);

		memcpy(rev ? k->dst : k->src, &s, 4);
		memcpy(rev ? k->src : k->dst, &d, 4);
	} else {
		memcpy(rev ? k->dst : k->src, m->src6, 16);
		memcpy(rev ? k->src : k->dst, m->dst6, 16);
	}
}

static void
prx_flow_hash(const struct prx_flow_table *t, const struct prx_fkey *k,
    struct prx_hash *o)
{
	uint64_t w[sizeof(*k) / 8], h = t->seed, h2;

	_Static_assert(sizeof(*k) % 8 == 0, "key is whole words");
	memcpy(w, k, sizeof(w));
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h2 = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	o->b[0] = (size_t)((h >> 32) & t->mask) * PRX_FLOW_WAYS;
	o->b[1] = (size_t)((h2 >> 32) & t->mask) * PRX_FLOW_WAYS;
	o->sig = (uint16_t)(h >> 8) ? (uint16_t)(h >> 8) : 1;
}

/* Frees entry I and its buffer. */
static void
prx_flow_release(struct prx_flow_table *t, size_t i)
{
	struct prx_flow *f = &t->e[i];

	if (f->buf != PRX_BUF_NONE)
		t->free[t->nfree++] = f->buf;
	f->buf = PRX_BUF_NONE;
	f->expires = 0;
	f->state = PRX_F_FREE;
	t->sig[i] = 0;
}

/* K's entry (H its hash), live or not: its index, or SIZE_MAX. */
static size_t
prx_flow_slot(const struct prx_flow_table *t, const struct prx_fkey *k,
    const struct prx_hash *h)
{
	for (unsigned c = 0; c < 2; c++)
		for (size_t i = h->b[c]; i < h->b[c] + PRX_FLOW_WAYS; i++)
			if (t->sig[i] == h->sig &&
			    memcmp(&t->e[i].k, k, sizeof(*k)) == 0)
				return i;
	return SIZE_MAX;
}

struct prx_flow *
prx_flow_find(struct prx_flow_table *t, const struct prx_fkey *k, uint64_t now)
{
	struct prx_hash h;
	size_t i;

	prx_flow_hash(t, k, &h);
	if ((i = prx_flow_slot(t, k, &h)) == SIZE_MAX)
		return NULL;
	if (t->e[i].expires <= now) {
		prx_flow_release(t, i);
		return NULL;
	}
	t->e[i].expires =
	    now + (t->e[i].state == PRX_F_PENDING ? t->pend : t->idle);
	return &t->e[i];
}

/* Free entries of the bucket at B, reclaiming expired ones when RECLAIM. */
static unsigned
prx_flow_room(struct prx_flow_table *t, size_t b, uint64_t now, int reclaim,
    size_t *first)
{
	unsigned n = 0;

	for (size_t i = b; i < b + PRX_FLOW_WAYS; i++) {
		if (reclaim && t->sig[i] != 0 && t->e[i].expires <= now)
			prx_flow_release(t, i);
		if (t->sig[i] == 0 && n++ == 0)
			*first = i;
	}
	return n;
}

/* A free entry for a new key hashed H: the emptier bucket's; SIZE_MAX. */
static size_t
prx_flow_pick(struct prx_flow_table *t, const struct prx_hash *h, uint64_t now)
{
	size_t f0 = SIZE_MAX, f1 = SIZE_MAX;
	unsigned n0 = prx_flow_room(t, h->b[0], now, 0, &f0);
	unsigned n1 = prx_flow_room(t, h->b[1], now, 0, &f1);

	/* Both full of live-looking entries: reclaim the expired. */
	if (n0 == 0 && n1 == 0) {
		n0 = prx_flow_room(t, h->b[0], now, 1, &f0);
		n1 = prx_flow_room(t, h->b[1], now, 1, &f1);
	}
	if (n0 == 0 && n1 == 0)
		return SIZE_MAX;
	return n0 >= n1 ? f0 : f1;
}

struct prx_flow *
prx_flow_open(struct prx_flow_table *t, const struct prx_fkey *k,
    uint32_t seq_next, uint64_t now)
{
	struct prx_hash h;
	struct prx_flow *f;
	size_t i;

	prx_flow_hash(t, k, &h);
	/* A SYN on a known key starts it afresh, where it is. */
	if ((i = prx_flow_slot(t, k, &h)) != SIZE_MAX)
		prx_flow_release(t, i);
	else if ((i = prx_flow_pick(t, &h, now)) == SIZE_MAX)
		return NULL;
	f = &t->e[i];
	memset(f, 0, sizeof(*f));
	f->k = *k;
	f->expires = now + t->pend;
	f->seq_next = seq_next;
	f->buf = PRX_BUF_NONE;
	f->state = PRX_F_PENDING;
	t->sig[i] = h.sig;
	return f;
}

uint8_t *
prx_flow_hold(struct prx_flow_table *t, struct prx_flow *f, const uint8_t *p,
    uint32_t len, uint32_t *held)
{
	uint8_t *b;

	if (f->buf == PRX_BUF_NONE) {
		if (t->nfree == 0)
			return NULL;
		f->buf = t->free[--t->nfree];
		f->blen = 0;
	}
	b = t->bufs + (size_t)f->buf * t->window;
	if (len > t->window - f->blen)
		len = t->window - f->blen;
	memcpy(b + f->blen, p, len);
	f->blen = (uint16_t)(f->blen + len);
	*held = f->blen;
	return b;
}

const uint8_t *
prx_flow_held(const struct prx_flow_table *t, const struct prx_flow *f)
{
	if (f->buf == PRX_BUF_NONE)
		return NULL;
	return t->bufs + (size_t)f->buf * t->window;
}

void
prx_flow_settle(struct prx_flow_table *t, struct prx_flow *f, unsigned state)
{
	if (f->buf != PRX_BUF_NONE)
		t->free[t->nfree++] = f->buf;
	f->buf = PRX_BUF_NONE;
	/* Its last packet gave it a pending flow's life: now the full one. */
	if (f->state == PRX_F_PENDING && state != PRX_F_PENDING)
		f->expires += t->idle - t->pend;
	f->state = (uint8_t)state;
}
