/*
 * The top-denied-sources sketch (core/top): exact while it has room,
 * bounded and still right about the heavy hitters under a flood of
 * distinct sources (the documented error bound, set by set), the
 * sliding window forgets a sub-window at a time, and per-worker
 * sketches merge into one ranking.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/top/top.h"

#define SEED 0x5eedf00dull

static struct top_sketch sk, sk2;
static struct top_entry out[2 * TOP_ENTRIES_MAX];

static struct top_key
key4(uint32_t a, uint16_t rule, uint16_t cc)
{
	struct top_key k;

	memset(&k, 0, sizeof(k));
	k.af = 4;
	k.src[0] = (uint8_t)(a >> 24);
	k.src[1] = (uint8_t)(a >> 16);
	k.src[2] = (uint8_t)(a >> 8);
	k.src[3] = (uint8_t)a;
	k.rule = rule;
	k.cc = cc;
	k.revision = 7;
	return k;
}

static struct top_key
key6(uint32_t a)
{
	struct top_key k = key4(0, 1, 2);

	k.af = 6;
	k.src[0] = 0x20;
	k.src[1] = 0x01;
	memcpy(&k.src[12], &a, 4);
	return k;
}

static const struct top_entry *
find(const struct top_entry *v, size_t n, const struct top_key *k)
{
	for (size_t i = 0; i < n; i++)
		if (top_key_eq(&v[i].k, k))
			return &v[i];
	return NULL;
}

static size_t
collect(const struct top_sketch *s, int64_t now, uint64_t *total)
{
	uint64_t t = 0;
	size_t n = top_collect(s, now, out, TOP_ENTRIES_MAX, &t);

	if (total)
		*total = t;
	return n;
}

/* Few keys: every count exact, nothing inherited. */
static void
t_exact(void **state)
{
	struct top_key a = key4(0xc6336401, 0, 100), b = key4(0xc6336402, 3, 5);
	struct top_key c = key6(9), a2 = key4(0xc6336401, 1, 100);
	uint64_t total;
	size_t n;

	(void)state;
	top_init(&sk, 60, SEED);
	for (int i = 0; i < 50; i++)
		top_add(&sk, &a, 1000);
	for (int i = 0; i < 20; i++)
		top_add(&sk, &b, 1001);
	for (int i = 0; i < 30; i++)
		top_add(&sk, &c, 1002);
	top_add(&sk, &a2, 1002); /* same source, another rule */
	n = collect(&sk, 1002, &total);
	n = top_merge(out, n);
	assert_int_equal(n, 4);
	assert_int_equal(total, 101);
	assert_true(top_key_eq(&out[0].k, &a));
	assert_int_equal(out[0].count, 50);
	assert_int_equal(out[0].err, 0);
	assert_true(top_key_eq(&out[1].k, &c));
	assert_int_equal(out[1].count, 30);
	assert_true(top_key_eq(&out[2].k, &b));
	assert_true(top_key_eq(&out[3].k, &a2));
	assert_int_equal(out[3].count, 1);
}

/*
 * A flood: 200,000 distinct one-packet sources interleaved with five
 * heavy ones.  The sketch stays at its fixed size, every heavy source is
 * there, its count is never below the truth and overstates it by at most
 * ERR, ERR is within N/TOP_WAYS of its set, and the heavy ones rank first.
 */
static void
t_flood(void **state)
{
	enum { LIGHT = 200000, HEAVY = 5 };
	uint64_t per_set[TOP_SETS] = { 0 }, truth[HEAVY] = { 0 };
	struct top_key h[HEAVY];
	size_t n;

	(void)state;
	top_init(&sk, 60, SEED);
	for (unsigned j = 0; j < HEAVY; j++)
		h[j] = key4(0x0a000001 + j, (uint16_t)j, 40);
	for (uint32_t i = 0; i < LIGHT; i++) {
		struct top_key l = key4(0x50000000 + i, 2, 41);

		top_add(&sk, &l, 500);
		per_set[top_hash(&l, SEED) & (TOP_SETS - 1)]++;
		if (i % 10 == 0) {
			unsigned j = (i / 10) % HEAVY;

			/* heavier first: 4000 .. 2000 packets */
			if (truth[j] < (8 - j) * 500ull) {
				top_add(&sk, &h[j], 500);
				truth[j]++;
				per_set[top_hash(&h[j], SEED) &
				        (TOP_SETS - 1)]++;
			}
		}
	}
	n = collect(&sk, 500, NULL);
	assert_true(n <= TOP_SETS * TOP_WAYS);
	for (size_t i = 0; i < n; i++) {
		unsigned set = top_hash(&out[i].k, SEED) & (TOP_SETS - 1);

		assert_true(out[i].err <= per_set[set] / TOP_WAYS);
		assert_true(out[i].count > out[i].err);
	}
	for (unsigned j = 0; j < HEAVY; j++) {
		const struct top_entry *e = find(out, n, &h[j]);

		assert_non_null(e);
		assert_true(e->count >= truth[j]);
		assert_true(e->count - e->err <= truth[j]);
	}
	n = top_merge(out, n);
	for (unsigned j = 0; j < HEAVY; j++)
		assert_true(top_key_eq(&out[j].k, &h[j]));
}

/* The window: sub-windows age out one by one, all of it after WINDOW. */
static void
t_window(void **state)
{
	struct top_key a = key4(0xc0000201, 0, 1), b = key4(0xc0000202, 0, 1);
	const struct top_entry *e;
	size_t n;

	(void)state;
	top_init(&sk, 10, SEED); /* 5 sub-windows of 2 s */
	assert_int_equal(sk.epoch_s, 2);
	for (int i = 0; i < 10; i++)
		top_add(&sk, &a, 100); /* epoch 50 */
	for (int i = 0; i < 4; i++)
		top_add(&sk, &b, 104); /* epoch 52 */
	n = collect(&sk, 105, NULL);
	assert_int_equal(n, 2);
	n = collect(&sk, 109, NULL); /* window: epochs 50..54 */
	assert_int_equal(n, 2);
	n = collect(&sk, 110, NULL); /* 51..55: A is gone */
	assert_int_equal(n, 1);
	assert_true(top_key_eq(&out[0].k, &b));
	n = collect(&sk, 114, NULL);
	assert_int_equal(n, 0);
	/* Reusing A's slot empties it first. */
	top_add(&sk, &b, 120); /* epoch 60: slot 0, as epoch 50 */
	n = collect(&sk, 120, NULL);
	assert_int_equal(n, 1);
	e = find(out, n, &b);
	assert_non_null(e);
	assert_int_equal(e->count, 1);
	assert_null(find(out, n, &a));
}

/* Workers merged: one ranking, counts summed across sketches. */
static void
t_merge(void **state)
{
	struct top_key a = key4(0xcb007101, 0, 9), b = key4(0xcb007102, 0, 9);
	uint64_t t1 = 0, t2 = 0;
	size_t n;

	(void)state;
	top_init(&sk, 300, SEED);
	top_init(&sk2, 300, SEED + 1);
	for (int i = 0; i < 30; i++)
		top_add(&sk, &a, 5000);
	for (int i = 0; i < 25; i++)
		top_add(&sk2, &a, 5010);
	for (int i = 0; i < 40; i++)
		top_add(&sk2, &b, 5010);
	n = top_collect(&sk, 5010, out, 2 * TOP_ENTRIES_MAX, &t1);
	n += top_collect(&sk2, 5010, out + n, 2 * TOP_ENTRIES_MAX - n, &t2);
	n = top_merge(out, n);
	assert_int_equal(n, 2);
	assert_int_equal(t1 + t2, 95);
	assert_true(top_key_eq(&out[0].k, &a));
	assert_int_equal(out[0].count, 55);
	assert_int_equal(out[1].count, 40);
	assert_int_equal(top_merge(out, 0), 0);
}

/* A reader never returns a set caught half-written. */
static void
t_torn(void **state)
{
	struct top_key a = key4(0xc0000201, 0, 1);
	size_t n;

	(void)state;
	top_init(&sk, 60, SEED);
	top_add(&sk, &a, 10);
	sk.t[sk.cur].set[top_hash(&a, SEED) & (TOP_SETS - 1)].seq++;
	n = collect(&sk, 10, NULL);
	assert_int_equal(n, 0);
	sk.t[sk.cur].seq++;
	n = collect(&sk, 10, NULL);
	assert_int_equal(n, 0);
}

/*
 * Hash flooding: IPv6 sources of one /64 that differ only in the high
 * bits of their address words (bytes 7 and 15) must spread over the
 * sets like any others, and no two of them may share the whole hash on
 * every run.  The old hash (a sum of per-word products) put these 256
 * into the same 8 sets whatever the seed, and gave a source whose bytes
 * 7 and 15 both had their top bit flipped the very same hash.
 */
static struct top_key
key6_hi(unsigned j)
{
	struct top_key k = key6(0);

	k.src[7] = (uint8_t)((j >> 3) << 3);
	k.src[15] = (uint8_t)((j & 7) << 5);
	return k;
}

static void
t_hash_structured(void **state)
{
	unsigned twin = 0, crowded = 0;

	(void)state;
	for (uint64_t t = 0; t < 64; t++) {
		uint64_t seed = (t + 1) * 0x9e3779b97f4a7c15ull ^ SEED;
		struct top_key a = key6_hi(1), b = a;
		unsigned used = 0, occ[TOP_SETS] = { 0 };

		b.src[7] ^= 0x80;
		b.src[15] ^= 0x80;
		twin += top_hash(&a, seed) == top_hash(&b, seed);
		for (unsigned j = 0; j < 256; j++) {
			struct top_key k = key6_hi(j);

			used += occ[top_hash(&k, seed) & (TOP_SETS - 1)]++ == 0;
		}
		/* 256 keys over 32 sets: all but a few are used. */
		crowded += used < TOP_SETS - 4;
	}
	assert_int_equal(twin, 0);
	assert_int_equal(crowded, 0);
}

/*
 * The torn-read protocol under a live writer: a thread replaces entries
 * as fast as it can (every packet a new source) and moves to a new
 * sub-window every few thousand, while the reader collects; every key
 * it returns must be one the writer wrote whole (its fields all derive
 * from its source), never a mix of two.
 */
static struct top_sketch live;
static int64_t live_now = 1000;
static int live_stop;

static struct top_key
key_of(uint32_t x)
{
	struct top_key k;

	memset(&k, 0, sizeof(k));
	k.af = 4;
	memcpy(k.src, &x, sizeof(x));
	k.revision = x * 2654435761u;
	k.cc = (uint16_t)(x ^ 0x5a5a);
	k.rule = (uint16_t)((x >> 16) ^ 0x1234);
	return k;
}

static void *
live_writer(void *arg)
{
	uint32_t x = 0;

	(void)arg;
	while (!__atomic_load_n(&live_stop, __ATOMIC_RELAXED)) {
		struct top_key k = key_of(x++);

		if (x % 4096 == 0)
			__atomic_store_n(&live_now, live_now + 1,
			    __ATOMIC_RELAXED);
		top_add(&live, &k,
		    __atomic_load_n(&live_now, __ATOMIC_RELAXED));
	}
	return NULL;
}

static void
t_torn_live(void **state)
{
	static struct top_entry got[TOP_ENTRIES_MAX];
	struct timespec t0, t1;
	unsigned long seen = 0;
	pthread_t th;

	(void)state;
	top_init(&live, 10, SEED);
	assert_int_equal(pthread_create(&th, NULL, live_writer, NULL), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		uint64_t total = 0;
		size_t n = top_collect(&live,
		    __atomic_load_n(&live_now, __ATOMIC_RELAXED), got,
		    TOP_ENTRIES_MAX, &total);

		for (size_t i = 0; i < n; i++) {
			uint32_t x;
			struct top_key k;

			memcpy(&x, got[i].k.src, sizeof(x));
			k = key_of(x);
			assert_true(top_key_eq(&got[i].k, &k));
			assert_true(got[i].count > got[i].err);
		}
		seen += n;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000 +
	             (t1.tv_nsec - t0.tv_nsec) / 1000000 <
	         700);
	__atomic_store_n(&live_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	assert_true(seen > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_exact),
		cmocka_unit_test(t_flood),
		cmocka_unit_test(t_window),
		cmocka_unit_test(t_merge),
		cmocka_unit_test(t_torn),
		cmocka_unit_test(t_hash_structured),
		cmocka_unit_test(t_torn_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
