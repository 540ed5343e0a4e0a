/*
 * Top denied sources (issue 14): a bounded heavy-hitter sketch per
 * worker, over a sliding window (docs/architecture.md, "Top denied
 * sources").
 *
 * Each worker owns one struct top_sketch and is its only writer; cordond
 * maps it read-only (it follows the counters in the same memfd) and
 * merges every worker's.  The window is TOP_EPOCHS sub-windows of
 * EPOCH_S seconds of CLOCK_BOOTTIME (the boot second the main lcore
 * publishes: no system call on the fast path); each sub-window has its
 * own table, emptied when its slot is reused, so what is older than the
 * window is forgotten a sub-window at a time.
 *
 * A table is set-associative space-saving: a key hashes (seeded, per
 * worker) to one of TOP_SETS sets of TOP_WAYS entries; a key found
 * counts one more, a new key takes the place of the set's smallest
 * entry and inherits its count (kept in ERR).  So, per set and
 * sub-window, with N packets hashed to the set: an entry's count
 * overstates its true count by at most ERR <= N / TOP_WAYS, and every
 * key with more than N / TOP_WAYS packets holds an entry.  Fixed size,
 * no allocation; a denied packet costs one hash, TOP_WAYS compares of
 * 32-bit tags (a hash of each key) and a key compare where a tag
 * matches: two cache lines, which the worker prefetches for the whole
 * burst before counting it.
 *
 * Readers copy a set under its sequence count (odd while the writer
 * replaces an entry) and a table under its own (odd while emptied).
 */
#ifndef CORDON_TOP_H
#define CORDON_TOP_H

#include <stddef.h>
#include <stdint.h>

#define TOP_SETS    32 /* a power of two */
#define TOP_WAYS    8
#define TOP_EPOCHS  5   /* sub-windows per window */
#define TOP_WINDOW  300 /* seconds, the default (dataplane.top_window) */
#define TOP_WIN_MIN 5
#define TOP_WIN_MAX 86400

/* What one entry counts: a source denied by a rule, and its country. */
struct top_key {
	uint8_t src[16];   /* IPv4: the first 4 bytes, network order */
	uint32_t revision; /* low bits of the policy revision deciding */
	uint16_t cc;       /* geo_cc_t of the source */
	uint16_t rule;     /* rule position - 1, or POL_RULE_DEFAULT */
	uint8_t af;        /* 4 or 6; 0: an empty entry */
	uint8_t pad[7];
} __attribute__((aligned(8))); /* compared and hashed as 4 words */

struct top_entry {
	struct top_key k;
	uint64_t count; /* packets, at most ERR too many */
	uint64_t err;   /* what the entry inherited when it took its place */
};

/*
 * One set: what every packet reads (two cache lines: the tags, a hash
 * of each key, and the counts), apart from the keys, read only when a
 * tag matches and written only when an entry changes hands.
 */
struct top_set {
	uint32_t seq;           /* odd while an entry changes hands */
	uint32_t tag[TOP_WAYS]; /* 0: empty */
	uint64_t count[TOP_WAYS] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

struct top_slot {
	struct top_key k;
	uint64_t err; /* what the entry inherited when it took its place */
};

struct top_table {
	uint64_t seq;   /* odd while being emptied */
	int64_t epoch;  /* boot second / EPOCH_S it counts; -1: never used */
	uint64_t total; /* packets counted in it */
	struct top_set set[TOP_SETS];
	struct top_slot slot[TOP_SETS][TOP_WAYS];
} __attribute__((aligned(64)));

struct top_sketch {
	uint32_t epoch_s; /* sub-window length, seconds */
	uint32_t cur;     /* writer: the table of the current sub-window */
	uint64_t seed;
	int64_t next_s; /* writer: the boot second the next sub-window starts */
	struct top_table t[TOP_EPOCHS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct top_key) == 32, "top_key");
_Static_assert((TOP_SETS & (TOP_SETS - 1)) == 0, "TOP_SETS");

/* Sub-window length for a window of WINDOW_S seconds. */
static inline uint32_t
top_epoch_len(unsigned window_s)
{
	unsigned e = (window_s + TOP_EPOCHS - 1) / TOP_EPOCHS;

	return e ? e : 1;
}

/* Empties S for a window of WINDOW_S seconds; SEED keys its hash. */
void top_init(struct top_sketch *s, unsigned window_s, uint64_t seed);

/* Starts the sub-window holding NOW_S (the writer, out of line). */
void top_rotate(struct top_sketch *s, int64_t now_s);

/* The 128-bit product of A and B, folded: every bit of either reaches
 * every bit of the result. */
static inline uint64_t
top_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 p = (unsigned __int128)a * b;

	return (uint64_t)p ^ (uint64_t)(p >> 64);
}

/*
 * A seeded hash of K: two words at a time, each xored with its own part
 * of the seed, multiplied together as a 128-bit product and folded, then
 * the two halves again.  Not a sum of per-word products: there, a bit
 * flipped at the top of a word moves only the top of the sum, whatever
 * the seed, so sources that differ only in the high bits of their
 * words (an IPv6 /64 chooses them freely) share sets, even the whole
 * hash, on every run (tests/unit/test_top.c, t_hash_structured).
 */
static inline uint64_t
top_hash(const struct top_key *k, uint64_t seed)
{
	const uint64_t *w = (const uint64_t *)k;
	uint64_t a = top_mum(w[0] ^ seed ^ 0xa0761d6478bd642full,
	             w[1] ^ seed ^ 0xe7037ed1a0b428dbull),
	         b = top_mum(w[2] ^ seed ^ 0x8ebc6af09c88c6e3ull,
	             w[3] ^ seed ^ 0x589965cc75374cc3ull);

	return top_mum(a ^ seed ^ 0x1d8e4e27c47d124full,
	    b ^ 0xa0761d6478bd642full);
}

static inline int
top_key_eq(const struct top_key *a, const struct top_key *b)
{
	const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;

	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
	           (x[3] ^ y[3])) == 0;
}

/* A new key in set S: its smallest entry W makes way. */
static inline void
top_replace(struct top_set *s, struct top_slot *sl, unsigned w,
    const struct top_key *k, uint32_t tag)
{
	uint32_t q = s->seq;

	__atomic_store_n(&s->seq, q + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	sl->k = *k;
	sl->err = s->count[w];
	s->count[w]++;
	s->tag[w] = tag;
	__atomic_store_n(&s->seq, q + 2, __ATOMIC_RELEASE);
}

/*
 * The writer's current table at boot second NOW_S (a new sub-window
 * empties its table first).  Call once per burst, not per packet.
 */
static inline struct top_table *
top_table_now(struct top_sketch *s, int64_t now_s)
{
	if (__builtin_expect(now_s >= s->next_s, 0))
		top_rotate(s, now_s);
	return &s->t[s->cur];
}

/* Brings the set of hash H into the cache ahead of top_add_hashed(). */
static inline void
top_prefetch(const struct top_table *t, uint64_t h)
{
	const struct top_set *s = &t->set[h & (TOP_SETS - 1)];

	__builtin_prefetch(s, 1);
	__builtin_prefetch(&s->count, 1);
}

/* Counts one denied packet of K, whose top_hash() is H, into T. */
static inline void
top_add_hashed(struct top_table *t, const struct top_key *k, uint64_t h)
{
	unsigned set = (unsigned)h & (TOP_SETS - 1), min = 0;
	uint32_t tag = (uint32_t)(h >> 32) | 1;
	struct top_set *s = &t->set[set];
	struct top_slot *sl = t->slot[set];

	uint64_t least = s->count[0];

	t->total++;
	for (unsigned w = 0; w < TOP_WAYS; w++) {
		uint64_t c = s->count[w];

		if (s->tag[w] == tag && top_key_eq(&sl[w].k, k)) {
			__atomic_store_n(&s->count[w], c + 1, __ATOMIC_RELAXED);
			return;
		}
		if (c < least) {
			least = c;
			min = w;
		}
	}
	top_replace(s, &sl[min], min, k, tag);
}

/* Counts one denied packet of K at boot second NOW_S.  Writer only. */
static inline void
top_add(struct top_sketch *s, const struct top_key *k, int64_t now_s)
{
	top_add_hashed(top_table_now(s, now_s), k, top_hash(k, s->seed));
}

/*
 * Reader: appends to OUT (room for MAX) the entries of S's sub-windows
 * inside the window that ends at boot second NOW_S; adds their totals
 * to *TOTAL.  Returns the entries appended (a set that kept changing is
 * skipped).
 */
size_t top_collect(const struct top_sketch *s, int64_t now_s,
    struct top_entry *out, size_t max, uint64_t *total);

/*
 * Folds entries of equal keys in V (N of them) into one, summing count
 * and err, and sorts the result by count, largest first (ties: by key).
 * Returns the entries left.
 */
size_t top_merge(struct top_entry *v, size_t n);

/* Entries top_collect() can return for one sketch. */
#define TOP_ENTRIES_MAX (TOP_EPOCHS * TOP_SETS * TOP_WAYS)

#endif
