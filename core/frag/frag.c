/*
 * Fragment table.  Buckets of FRAG_WAYS entries: a datagram lives in the
 * bucket its key hashes to (seeded, so a sender cannot aim at one), and a
 * full bucket refuses new datagrams rather than evicting live ones.  An
 * entry holds the first fragment's verdict and the byte ranges seen so
 * far, which is all it takes to follow the verdict and to catch overlaps
 * (RFC 5722) without holding a single byte of payload.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/frag/frag.h"
#include "core/stats/reasons.h"

/*
 * What a datagram is known by.  RFC 791 adds the protocol, but the parser
 * only keeps the first fragment's after its AH headers and RFC 8200's
 * later fragments may name anything: left out, two datagrams that differ
 * only by protocol share an entry, and the second first fragment is
 * refused as an overlap (only the sender's own traffic suffers).
 */
struct frag_key {
	uint32_t id;
	uint8_t af;
	uint8_t pad[3];
	uint8_t src[16];
	uint8_t dst[16];
};

struct frag_ent {
	struct frag_key k;
	uint64_t expires;     /* 0: free */
	struct cls_verdict v; /* what the later fragments get */
	uint8_t dead;         /* reason the rest drops, or 0 */
	uint8_t l4proto;      /* the first fragment's, after any chain */
	uint8_t nr;           /* ranges in use */
	uint32_t total;       /* datagram data bytes, once the last is seen */
	uint32_t lo[FRAG_RANGES]; /* covered: [lo, hi), disjoint */
	uint32_t hi[FRAG_RANGES];
} __attribute__((aligned(64)));

struct frag_table {
	uint32_t mask; /* buckets - 1 */
	uint64_t timeout;
	uint64_t seed;
	struct frag_ent e[] __attribute__((aligned(64)));
};

/* ENTRIES rounded up to a power of two, at least one bucket; 0: refused. */
static unsigned
frag_round(unsigned entries)
{
	unsigned n = FRAG_WAYS;

	if (entries > FRAG_ENTRIES_MAX)
		return 0;
	while (n < entries)
		n <<= 1;
	return n;
}

size_t
frag_table_size(unsigned entries)
{
	unsigned n = frag_round(entries);

	return n ? sizeof(struct frag_table) + n * sizeof(struct frag_ent) : 0;
}

struct frag_table *
frag_table_init(void *mem, unsigned entries, uint64_t timeout, uint64_t seed)
{
	struct frag_table *t = mem;
	unsigned n = frag_round(entries);

	if (mem == NULL || n == 0 || timeout == 0) {
		errno = EINVAL;
		return NULL;
	}
	t->mask = n / FRAG_WAYS - 1;
	t->timeout = timeout;
	t->seed = seed;
	memset(t->e, 0, n * sizeof(struct frag_ent));
	return t;
}

struct frag_table *
frag_table_new(unsigned entries, uint64_t timeout, uint64_t seed)
{
	size_t len = frag_table_size(entries);
	void *mem;

	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((mem = aligned_alloc(64, (len + 63) & ~(size_t)63)) == NULL)
		return NULL;
	return frag_table_init(mem, entries, timeout, seed);
}

void
frag_table_free(struct frag_table *t)
{
	free(t);
}

void
frag_table_clear(struct frag_table *t)
{
	memset(t->e, 0, (t->mask + 1) * FRAG_WAYS * sizeof(struct frag_ent));
}

unsigned
frag_table_used(const struct frag_table *t, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < (t->mask + 1) * FRAG_WAYS; i++)
		n += t->e[i].expires > now;
	return n;
}

static void
frag_key_make(const struct pkt_meta *m, struct frag_key *k)
{
	memset(k, 0, sizeof(*k));
	k->id = m->frag_id;
	k->af = m->af;
	if (m->af == 4) {
		memcpy(k->src, &m->src4, 4);
		memcpy(k->dst, &m->dst4, 4);
	} else {
		memcpy(k->src, m->src6, 16);
		memcpy(k->dst, m->dst6, 16);
	}
}

static uint32_t
frag_hash(const struct frag_table *t, const struct frag_key *k)
{
	uint64_t w[sizeof(*k) / 8], h = t->seed;

	_Static_assert(sizeof(*k) % 8 == 0, "key is whole words");
	memcpy(w, k, sizeof(w));
	for (unsigned i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h >> 32);
}

/* The bucket of K: FRAG_WAYS entries. */
static struct frag_ent *
frag_bucket(struct frag_table *t, const struct frag_key *k)
{
	return &t->e[(size_t)(frag_hash(t, k) & t->mask) * FRAG_WAYS];
}

/* Frees E; an entry still in use at its deadline timed out incomplete. */
static void
frag_release(struct frag_ent *e, struct stats *s, int expired)
{
	if (expired && !e->dead)
		s->frag.expired++;
	e->expires = 0;
}

/* K's entry in bucket B, live or not; NULL when there is none. */
static struct frag_ent *
frag_find(struct frag_ent *b, const struct frag_key *k)
{
	for (unsigned i = 0; i < FRAG_WAYS; i++)
		if (b[i].expires != 0 && memcmp(&b[i].k, k, sizeof(*k)) == 0)
			return &b[i];
	return NULL;
}

/* A free slot of B, reclaiming what has timed out; NULL: B is full. */
static struct frag_ent *
frag_slot(struct frag_ent *b, uint64_t now, struct stats *s)
{
	struct frag_ent *e = NULL;

	for (unsigned i = 0; i < FRAG_WAYS; i++) {
		if (b[i].expires != 0 && b[i].expires <= now)
			frag_release(&b[i], s, 1);
		if (b[i].expires == 0 && e == NULL)
			e = &b[i];
	}
	return e;
}

/* A refusal decided here: no rule, no log line per fragment. */
static void
frag_refuse(struct cls_verdict *v, unsigned reason)
{
	v->action = CDN_ACT_DROP;
	v->reason = (uint8_t)reason;
	v->rule = POL_RULE_DEFAULT;
	v->service = POL_SVC_NONE;
	v->log = 0;
	v->evidence = 0;
	v->nexthop = 0;
}

/* The rest of E's datagram is refused for REASON, and so is this one. */
static void
frag_kill(struct frag_ent *e, unsigned reason, struct cls_verdict *v)
{
	e->dead = (uint8_t)reason;
	frag_refuse(v, reason);
}

/*
 * Adds [A, B), which overlaps none of them, to E's ranges, joining the
 * ranges it touches: 0, or CDN_R_FRAG_HOLES when E has no room for it.
 */
static unsigned
frag_add(struct frag_ent *e, uint32_t a, uint32_t b)
{
	unsigned i, j;

	for (i = 0; i < e->nr && e->hi[i] != a && e->lo[i] != b; i++)
		;
	if (i == e->nr) {
		if (e->nr == FRAG_RANGES)
			return CDN_R_FRAG_HOLES;
		e->lo[e->nr] = a;
		e->hi[e->nr++] = b;
		return 0;
	}
	e->lo[i] = e->lo[i] < a ? e->lo[i] : a;
	e->hi[i] = e->hi[i] > b ? e->hi[i] : b;
	/* [A, B) may have closed the hole up to another range. */
	for (j = 0; j < e->nr; j++) {
		if (j == i || (e->hi[j] != e->lo[i] && e->lo[j] != e->hi[i]))
			continue;
		e->lo[i] = e->lo[i] < e->lo[j] ? e->lo[i] : e->lo[j];
		e->hi[i] = e->hi[i] > e->hi[j] ? e->hi[i] : e->hi[j];
		e->lo[j] = e->lo[e->nr - 1];
		e->hi[j] = e->hi[--e->nr];
		break;
	}
	return 0;
}

/*
 * Takes [A, B) (LAST: the fragment without MF) into E: 0, or the reason
 * the datagram is refused.  Any overlap with what is covered refuses it
 * (RFC 5722: exact duplicates included); so do ends that disagree with
 * the last fragment's, and more holes than FRAG_RANGES can describe.
 */
static unsigned
frag_cover(struct frag_ent *e, uint32_t a, uint32_t b, int last)
{
	unsigned i;

	if ((e->total && b > e->total) || (last && e->total && b != e->total))
		return CDN_R_FRAG_OVERLAP;
	for (i = 0; i < e->nr; i++)
		if ((a < e->hi[i] && e->lo[i] < b) || (last && e->hi[i] > b))
			return CDN_R_FRAG_OVERLAP;
	if (last)
		e->total = b;
	return a == b ? 0 : frag_add(e, a, b);
}

/* Every byte of E's datagram seen: its entry is done. */
static int
frag_whole(const struct frag_ent *e)
{
	return e->total != 0 && e->nr == 1 && e->lo[0] == 0 &&
	       e->hi[0] == e->total;
}

/*
 * A first fragment: its verdict (already V) is stored for the datagram.
 * A second first fragment overlaps the first; no room refuses it.
 */
static void
frag_first(struct frag_table *t, const struct frag_key *k,
    const struct pkt_meta *m, uint64_t now, struct cls_verdict *v,
    struct stats *s)
{
	struct frag_ent *b = frag_bucket(t, k), *e = frag_find(b, k);

	if (e != NULL && e->expires > now) {
		if (!e->dead)
			frag_kill(e, CDN_R_FRAG_OVERLAP, v);
		else
			frag_refuse(v, e->dead);
		return;
	}
	if (e != NULL)
		frag_release(e, s, 1);
	if ((e = frag_slot(b, now, s)) == NULL) {
		frag_refuse(v, CDN_R_FRAG_FULL);
		return;
	}
	memset(e, 0, sizeof(*e));
	e->k = *k;
	e->expires = now + t->timeout;
	e->v = *v;
	frag_follow_verdict(&e->v);
	e->l4proto = m->l4proto;
	e->nr = 1;
	e->hi[0] = m->frag_len;
	s->frag.tracked++;
}

void
frag_follow_verdict(struct cls_verdict *v)
{
	/* One log line per datagram; a later fragment cannot be answered. */
	v->log = 0;
	if (v->action == CDN_ACT_REJECT)
		v->action = CDN_ACT_DROP;
}

/* Is M a TCP fragment at offset 8 (RFC 1858, RFC 3128)?  E may be NULL. */
static int
frag_tcp_off1(const struct pkt_meta *m, const struct frag_ent *e)
{
	uint8_t proto = e != NULL ? e->l4proto : m->af == 4 ? m->l4proto : 0;

	return m->frag_off == 8 && proto == IPPROTO_TCP;
}

static void
frag_later(struct frag_table *t, const struct frag_key *k,
    const struct pkt_meta *m, uint64_t now, struct cls_verdict *v,
    struct stats *s)
{
	struct frag_ent *e = frag_find(frag_bucket(t, k), k);
	unsigned r;

	if (e != NULL && e->expires <= now) {
		frag_release(e, s, 1);
		frag_refuse(v, CDN_R_FRAG_TIMEOUT);
		return;
	}
	if (frag_tcp_off1(m, e)) {
		if (e != NULL && !e->dead)
			e->dead = CDN_R_FRAG_TCP_OFF1;
		frag_refuse(v, CDN_R_FRAG_TCP_OFF1);
		return;
	}
	if (e == NULL) {
		frag_refuse(v, CDN_R_FRAG_NO_FIRST);
		return;
	}
	if (e->dead) {
		frag_refuse(v, e->dead);
		return;
	}
	r = frag_cover(e, m->frag_off, (uint32_t)m->frag_off + m->frag_len,
	    !m->frag_more);
	if (r != 0) {
		frag_kill(e, r, v);
		return;
	}
	*v = e->v;
	s->frag.followed++;
	if (frag_whole(e)) {
		s->frag.completed++;
		frag_release(e, s, 0);
	}
}

void
frag_track(struct frag_table *t, const struct pkt_meta *m, uint64_t now,
    struct cls_verdict *v, struct stats *s)
{
	struct frag_key k;

	frag_key_make(m, &k);
	if (m->frag == PKT_FRAG_FIRST)
		frag_first(t, &k, m, now, v, s);
	else if (m->frag == PKT_FRAG_LATER)
		frag_later(t, &k, m, now, v, s);
}
