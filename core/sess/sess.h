/*
 * The identity session table: (source address, service) -> identity,
 * with an expiry.  One shared memory area (a sealed memfd) written by one
 * process (cordond, single-threaded) and read, lock-free, by the workers
 * of cordon-dp, which map it read-only.  docs/sessions.md has the design.
 *
 * Layout: header | ident table (nident x words uint64_t) | slots.
 * Slots are open-addressed, linear probing, one cache line each, each
 * guarded by its own sequence word (a seqlock: odd while the writer
 * changes the slot).  Readers never write and never trust the area: the
 * geometry they use is the private copy validated at attach, probes are
 * bounded by nslots, and an ident index out of range is a miss.
 *
 * No DPDK here: the same code runs in cordond, cordon-dp, the unit tests
 * and the benchmark.
 */
#ifndef CORDON_SESS_H
#define CORDON_SESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SESS_MAGIC 0x53455353u /* "SESS" */
/* 2: expires in CLOCK_BOOTTIME seconds (1: unix seconds).  A writer and
 * a reader of different clocks must not share a table. */
#define SESS_LAYOUT_VERSION 2
#define SESS_CAPACITY_MAX   (1u << 26)
#define SESS_IDENT_MAX      (1u << 26) /* one per session at most */
#define SESS_WORDS_MAX      64         /* 4096 rule bits */
#define SESS_BULK_MAX       256        /* keys hashed ahead per round */
#define SESS_AHEAD          16         /* slots prefetched ahead of the probe */
#define SESS_SEQ_TRIES      64         /* reads of a changing slot */

enum sess_state { SESS_EMPTY, SESS_LIVE, SESS_TOMB };
enum sess_res { SESS_MISS, SESS_HIT, SESS_EXPIRED };

/* af is 4 or 6; an IPv4 address fills addr[0..3], the rest is zero. */
struct sess_key {
	uint8_t af;
	uint8_t svc;
	uint8_t pad[2];
	uint8_t addr[16];
};

/*
 * The shared header.  The first line is written once at create; the
 * second holds what the writer changes (read with relaxed loads).
 */
struct sess_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t hdr_size;
	uint32_t slot_size;
	uint32_t nslots; /* power of two, >= 2 x capacity */
	uint32_t capacity;
	uint32_t nident;
	uint32_t words; /* uint64_t per ident entry */
	uint64_t seed;  /* hash key: sources are attacker-chosen */
	uint64_t ident_off;
	uint64_t slots_off;
	uint64_t total_size;
	uint64_t live __attribute__((aligned(64)));
	uint64_t tombs;
	uint64_t refused_full;
	uint64_t gen; /* bumped by every change */
	uint8_t pad1[32];
};

/*
 * One slot, one cache line.  meta packs state | af << 8 | svc << 16 so a
 * key compares as three words.  Fields are accessed with __atomic
 * relaxed operations between the sequence loads.
 */
struct sess_slot {
	uint32_t seq;
	uint32_t meta;
	uint64_t addr[2];
	int64_t expires; /* CLOCK_BOOTTIME s; expired when <= now */
	uint32_t sid;
	uint32_t ident;
	uint8_t pad[24];
} __attribute__((aligned(64)));

struct sess_widx; /* the writer's session-id index, private */

/*
 * A process's handle: the mapping plus the geometry validated at attach.
 * Readers use only these copies, never the shared header's.
 */
struct sess_table {
	struct sess_hdr *hdr;
	struct sess_slot *slots; /* read-only mapping in readers */
	uint64_t *ident;
	uint64_t k0, k1; /* hash key, derived from hdr->seed */
	uint32_t mask;   /* nslots - 1 */
	uint32_t nslots;
	uint32_t capacity;
	uint32_t nident;
	uint32_t words;
	size_t map_size;
	struct sess_widx *widx; /* NULL in read-only handles */
};

struct sess_counts {
	uint64_t live, tombs, refused_full, capacity, nslots, gen;
};

struct sess_out {
	uint32_t res;   /* enum sess_res */
	uint32_t ident; /* valid when res == SESS_HIT */
};

/*
 * Writer, cordond, one thread.  int results are 0 or -errno (err, where
 * given, gets a message); every write on a read-only handle is -EPERM.
 */
int sess_create(unsigned capacity, unsigned nident, unsigned words,
    struct sess_table **t, int *memfd, char *err, size_t errlen);
/* Validates the whole header against the file before trusting it. */
int sess_attach(int fd, bool writable, struct sess_table **t, char *err,
    size_t errlen);
void sess_detach(struct sess_table *t);
/*
 * Insert, or replace the value of the same key in place.  -ENOSPC (and
 * refused_full counted) when a new key meets a full table; -EINVAL for
 * an ident out of range or a key with af not 4/6 or non-zero padding.
 */
int sess_put(struct sess_table *t, const struct sess_key *k, int64_t expires,
    uint32_t sid, uint32_t ident);
/* 0, or -ENOENT when no live entry has the key. */
int sess_del(struct sess_table *t, const struct sess_key *k);
/* Deletes every entry of session sid; returns how many. */
unsigned sess_del_sid(struct sess_table *t, uint32_t sid);
/* Live entries with expires <= now become tombstones; returns how many. */
unsigned sess_sweep(struct sess_table *t, int64_t now);
/*
 * The same over budget slots from *cursor (then advanced, wrapping): a
 * full sweep of a million-session table is ~100 ms of scanning, so the
 * daemon spreads it over its ticks.  Expired entries are refused by the
 * readers at once anyway; sweeping only frees their slots.
 */
unsigned sess_sweep_step(struct sess_table *t, int64_t now, uint32_t *cursor,
    uint32_t budget);
/*
 * Fills ident entry ident (words uint64_t).  Call before any put that
 * references it.  An entry is read without a sequence check, so it must
 * not change while a reader may hold its index: rewrite an index only
 * when no live slot names it AND readers have moved on since the last
 * slot naming it went (a cordon-dp RCU grace period, or simply some
 * seconds: a reader holds an index for one burst).
 */
int sess_ident_set(struct sess_table *t, uint32_t ident, const uint64_t *bits);
/* live + tombstones > 3/4 of the slots: probes grow, rebuild. */
bool sess_needs_rebuild(const struct sess_table *t);
/*
 * A new table of the same geometry and a new seed, holding the ident
 * table and the entries of old that are live and unexpired at now.
 */
int sess_rebuild(const struct sess_table *old, int64_t now,
    struct sess_table **nt, int *memfd, char *err, size_t errlen);
void sess_counts(const struct sess_table *t, struct sess_counts *c);
/* Bytes of the shared area for capacity/nident/words; 0 if invalid. */
size_t sess_area_size(unsigned capacity, unsigned nident, unsigned words);
/*
 * Checks a header image of a file of len bytes (a pure function over
 * bytes, fuzzable): 0, or -EINVAL with the reason in err.
 */
int sess_hdr_check(const void *buf, size_t len, char *err, size_t errlen);

/* Builds a key; the unused bytes must be zero for keys to compare. */
static inline void
sess_key_fill(struct sess_key *k, uint8_t af, uint8_t svc, const uint8_t *addr,
    size_t alen)
{
	memset(k, 0, sizeof(*k));
	k->af = af;
	k->svc = svc;
	memcpy(k->addr, addr, alen);
}

static inline void
sess_key_v4(struct sess_key *k, uint8_t svc, const uint8_t addr[4])
{
	sess_key_fill(k, 4, svc, addr, 4);
}

static inline void
sess_key_v6(struct sess_key *k, uint8_t svc, const uint8_t addr[16])
{
	sess_key_fill(k, 6, svc, addr, 16);
}

/* Readers.  No locks, system calls or allocation below this line. */

#if defined(__x86_64__) || defined(__i386__)
#define SESS_RELAX() __builtin_ia32_pause()
#else
#define SESS_RELAX() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

static inline uint64_t
sess_rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

#define SESS_SIPROUND(v0, v1, v2, v3)                                          \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = sess_rotl(v1, 13);                                        \
		v1 ^= v0;                                                      \
		v0 = sess_rotl(v0, 32);                                        \
		v2 += v3;                                                      \
		v3 = sess_rotl(v3, 16);                                        \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = sess_rotl(v3, 21);                                        \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = sess_rotl(v1, 17);                                        \
		v1 ^= v2;                                                      \
		v2 = sess_rotl(v2, 32);                                        \
	} while (0)

static inline uint64_t
sess_key_meta(const struct sess_key *k)
{
	return (uint64_t)k->af << 8 | (uint64_t)k->svc << 16;
}

/*
 * SipHash-1-3 over the key's three words: a keyed PRF, so a sender who
 * picks source addresses cannot aim them at one probe chain without the
 * seed.
 */
static inline uint64_t
sess_hash(const struct sess_table *t, const struct sess_key *k)
{
	uint64_t m[3], v0, v1, v2, v3;

	m[0] = sess_key_meta(k);
	memcpy(&m[1], k->addr, 16);
	v0 = t->k0 ^ 0x736f6d6570736575ull;
	v1 = t->k1 ^ 0x646f72616e646f6dull;
	v2 = t->k0 ^ 0x6c7967656e657261ull;
	v3 = t->k1 ^ 0x7465646279746573ull;
	for (int i = 0; i < 3; i++) {
		v3 ^= m[i];
		SESS_SIPROUND(v0, v1, v2, v3);
		v0 ^= m[i];
	}
	v3 ^= 24ull << 56;
	SESS_SIPROUND(v0, v1, v2, v3);
	v0 ^= 24ull << 56;
	v2 ^= 0xff;
	SESS_SIPROUND(v0, v1, v2, v3);
	SESS_SIPROUND(v0, v1, v2, v3);
	SESS_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* One consistent copy of a slot's fields, or false if it kept changing. */
struct sess_snap {
	uint32_t meta, sid, ident;
	uint64_t a0, a1;
	int64_t expires;
};

static inline bool
sess_slot_read(const struct sess_slot *s, struct sess_snap *o)
{
	for (unsigned i = 0; i < SESS_SEQ_TRIES; i++) {
		uint32_t q = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		if (q & 1) {
			SESS_RELAX();
			continue;
		}
		o->meta = __atomic_load_n(&s->meta, __ATOMIC_RELAXED);
		o->a0 = __atomic_load_n(&s->addr[0], __ATOMIC_RELAXED);
		o->a1 = __atomic_load_n(&s->addr[1], __ATOMIC_RELAXED);
		o->expires = __atomic_load_n(&s->expires, __ATOMIC_RELAXED);
		o->sid = __atomic_load_n(&s->sid, __ATOMIC_RELAXED);
		o->ident = __atomic_load_n(&s->ident, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) == q)
			return true;
	}
	return false;
}

/*
 * Probes from the slot of hash h.  A slot that never reads consistently
 * ends the probe as a miss: the writer is mid-change there, and the
 * caller's next packet looks again.
 */
static inline enum sess_res
sess_probe(const struct sess_table *t, const struct sess_key *k, uint64_t h,
    int64_t now, uint32_t *ident)
{
	uint64_t meta = sess_key_meta(k) | SESS_LIVE, a[2];
	uint32_t i = (uint32_t)h & t->mask;
	struct sess_snap s;

	memcpy(a, k->addr, 16);
	for (uint32_t n = 0; n < t->nslots; n++, i = (i + 1) & t->mask) {
		if (!sess_slot_read(&t->slots[i], &s))
			return SESS_MISS;
		if ((s.meta & 0xff) == SESS_EMPTY)
			return SESS_MISS;
		if (s.meta != meta || s.a0 != a[0] || s.a1 != a[1])
			continue;
		if (s.expires <= now)
			return SESS_EXPIRED;
		if (s.ident >= t->nident)
			return SESS_MISS;
		*ident = s.ident;
		return SESS_HIT;
	}
	return SESS_MISS;
}

/* HIT (ident set), MISS, or EXPIRED (a live entry past its expiry). */
static inline enum sess_res
sess_lookup(const struct sess_table *t, const struct sess_key *k, int64_t now,
    uint32_t *ident)
{
	return sess_probe(t, k, sess_hash(t, k), now, ident);
}

/* The rule bits of ident, words uint64_t; NULL when out of range. */
static inline const uint64_t *
sess_ident_bits(const struct sess_table *t, uint32_t ident)
{
	if (ident >= t->nident)
		return NULL;
	return t->ident + (size_t)ident * t->words;
}

/*
 * Looks up n keys: all hashes of a round of up to SESS_BULK_MAX keys
 * first, then the probes, each first slot prefetched SESS_AHEAD keys
 * before its probe, so the cache misses of a burst overlap.  (Issuing all
 * 256 prefetches at once measured slower than a window: more lines in
 * flight than the core tracks, and TLB entries evicted before use.)
 */
static inline void
sess_lookup_bulk(const struct sess_table *t, const struct sess_key *keys,
    unsigned n, int64_t now, struct sess_out *out)
{
	uint64_t h[SESS_BULK_MAX];

	for (unsigned b = 0; b < n; b += SESS_BULK_MAX) {
		unsigned m = n - b < SESS_BULK_MAX ? n - b : SESS_BULK_MAX;

		for (unsigned i = 0; i < m; i++)
			h[i] = sess_hash(t, &keys[b + i]);
		for (unsigned i = 0; i < m && i < SESS_AHEAD; i++)
			__builtin_prefetch(&t->slots[h[i] & t->mask]);
		for (unsigned i = 0; i < m; i++) {
			if (i + SESS_AHEAD < m)
				__builtin_prefetch(
				    &t->slots[h[i + SESS_AHEAD] & t->mask]);
			out[b + i].ident = 0;
			out[b + i].res = sess_probe(t, &keys[b + i], h[i], now,
			    &out[b + i].ident);
		}
	}
}

#endif
