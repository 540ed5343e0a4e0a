/*
 * sessbench [--capacity N] [--live N] [--lookups N] [--seed S]
 *
 * The session table's figures: table creation, sessions installed per
 * second filling a table of CAPACITY (default one million) to the top,
 * sweep and rebuild at that size, single and bulk lookup ns/op with LIVE
 * (default 100k) sessions in a table of CAPACITY (hits and misses, keys
 * in random order, from a separate read-only mapping as cordon-dp has
 * it), and shared memory per session.  Prints a table, then the same
 * figures as `key: value` lines for scripts.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/sess/sess.h"

#define SB_NOW 1700000000

struct sb {
	unsigned capacity, live, lookups;
	uint64_t seed;
	struct sess_key *keys; /* capacity + lookups distinct keys */
	uint64_t sink;
};

struct sb_row {
	const char *name, *unit;
	double value;
};

static struct sb_row rows[24];
static unsigned nrows;

static void
sb_row(const char *name, double value, const char *unit)
{
	if (nrows < sizeof(rows) / sizeof(rows[0]))
		rows[nrows++] = (struct sb_row){ name, unit, value };
}

/*
 * This thread's CPU time: the machine is shared (builds, other tests),
 * and time spent descheduled is not the table's cost.
 */
static double
sb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t
sb_rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A bijection on 32 bits: distinct indexes give distinct addresses. */
static uint32_t
sb_mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	return x ^ (x >> 16);
}

/* Key i: one in five IPv6 (random, index in the last word), services 0-7. */
static void
sb_key(struct sb *b, struct sess_key *k, uint32_t i)
{
	uint64_t s = b->seed ^ ((uint64_t)i << 20), a[2];
	uint32_t v4 = sb_mix32(i ^ (uint32_t)b->seed);
	uint8_t svc = (uint8_t)(sb_rnd(&s) % 8);

	if (i % 5 == 4) {
		a[0] = sb_rnd(&s);
		a[1] = sb_rnd(&s);
		memcpy((uint8_t *)a + 12, &i, 4);
		sess_key_v6(k, svc, (const uint8_t *)a);
	} else {
		sess_key_v4(k, svc, (const uint8_t *)&v4);
	}
}

static int
sb_fill(struct sb *b, struct sess_table *t, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (sess_put(t, &b->keys[i], SB_NOW + 3600 + i % 7200, i / 2,
		        i % t->nident) < 0)
			return -1;
	}
	return 0;
}

/* Fills to capacity; times create, fill, one refusal, sweep, rebuild. */
static int
sb_install(struct sb *b)
{
	struct sess_table *t, *n;
	char err[256];
	double t0, t1, t2;
	int fd, nfd;

	t0 = sb_now();
	if (sess_create(b->capacity, 64, 4, &t, &fd, err, sizeof(err)) < 0) {
		fprintf(stderr, "sessbench: %s\n", err);
		return -1;
	}
	t1 = sb_now();
	if (sb_fill(b, t, b->capacity) < 0 ||
	    sess_put(t, &b->keys[b->capacity], SB_NOW + 1, 0, 0) == 0) {
		fprintf(stderr, "sessbench: fill to capacity failed\n");
		return -1;
	}
	t2 = sb_now();
	sb_row("create (memfd, ftruncate, mmap)", (t1 - t0) / 1e6, "ms");
	sb_row("install to capacity", b->capacity / ((t2 - t1) / 1e9),
	    "sessions/s");
	sb_row("install, per session", (t2 - t1) / b->capacity, "ns");
	sb_row("shared memory per session", (double)t->map_size / b->capacity,
	    "bytes");
	sb_row("shared memory, total", t->map_size / 1048576.0, "MiB");
	t0 = sb_now();
	if (sess_rebuild(t, SB_NOW + 3600 + 3600, &n, &nfd, err, sizeof(err))) {
		fprintf(stderr, "sessbench: %s\n", err);
		return -1;
	}
	t1 = sb_now();
	sb_row("rebuild (half unexpired)", (t1 - t0) / 1e6, "ms");
	t0 = sb_now();
	b->sink += sess_sweep(t, SB_NOW + 3600 + 3600);
	t1 = sb_now();
	sb_row("sweep (half expire)", (t1 - t0) / 1e6, "ms");
	sess_detach(n);
	close(nfd);
	sess_detach(t);
	close(fd);
	return 0;
}

/*
 * The keys to look up, in their random order, laid out one after the
 * other: a worker's keys come from headers already in its cache, so the
 * key fetch must not be what is measured.
 */
static double
sb_single(struct sb *b, const struct sess_table *r, const struct sess_key *lk)
{
	double t0 = sb_now();
	uint32_t id = 0;

	for (unsigned i = 0; i < b->lookups; i++)
		b->sink += sess_lookup(r, &lk[i], SB_NOW, &id) + id;
	return (sb_now() - t0) / b->lookups;
}

static double
sb_bulk(struct sb *b, const struct sess_table *r, const struct sess_key *lk,
    unsigned burst)
{
	struct sess_out out[SESS_BULK_MAX];
	double t0 = sb_now();
	unsigned i;

	for (i = 0; i + burst <= b->lookups; i += burst) {
		sess_lookup_bulk(r, &lk[i], burst, SB_NOW, out);
		b->sink += out[0].res + out[burst - 1].ident;
	}
	return (sb_now() - t0) / i;
}

/* Keys drawn at random from [base, base + span). */
static void
sb_pick(struct sb *b, struct sess_key *lk, uint32_t base, uint32_t span)
{
	uint64_t s = b->seed + base;

	for (unsigned i = 0; i < b->lookups; i++)
		lk[i] = b->keys[base + (uint32_t)(sb_rnd(&s) % span)];
}

static void
sb_lookups_of(struct sb *b, const struct sess_table *r,
    const struct sess_key *lk, const char *what)
{
	static char names[4][3][64];
	static unsigned call;
	char(*nm)[64] = names[call++ % 4];

	snprintf(nm[0], 64, "lookup %s, single", what);
	snprintf(nm[1], 64, "lookup %s, bulk 32", what);
	snprintf(nm[2], 64, "lookup %s, bulk 256", what);
	sb_row(nm[0], sb_single(b, r, lk), "ns/op");
	sb_row(nm[1], sb_bulk(b, r, lk, 32), "ns/op");
	sb_row(nm[2], sb_bulk(b, r, lk, 256), "ns/op");
}

/*
 * live sessions in a table of capacity, looked up from a read-only
 * mapping: hits, then misses (keys never installed) unless miss is NULL.
 */
static int
sb_lookups(struct sb *b, unsigned capacity, unsigned live, const char *hit,
    const char *miss)
{
	struct sess_table *w, *r;
	struct sess_key *lk = malloc(sizeof(*lk) * b->lookups);
	char err[256];
	int fd;

	if (!lk ||
	    sess_create(capacity, 64, 4, &w, &fd, err, sizeof(err)) < 0 ||
	    sess_attach(fd, false, &r, err, sizeof(err)) < 0 ||
	    sb_fill(b, w, live) < 0) {
		fprintf(stderr, "sessbench: lookup setup failed\n");
		return -1;
	}
	sb_pick(b, lk, 0, live);
	sb_lookups_of(b, r, lk, hit);
	if (miss) {
		sb_pick(b, lk, b->capacity, b->lookups);
		sb_lookups_of(b, r, lk, miss);
	}
	sess_detach(r);
	sess_detach(w);
	close(fd);
	free(lk);
	return 0;
}

/* "lookup hit, bulk 32" -> "lookup_hit_bulk_32", for scripts. */
static const char *
sb_keyname(const char *name)
{
	static char k[64];
	size_t n = 0;

	for (const char *c = name; *c && n + 1 < sizeof(k); c++) {
		bool alnum = ('a' <= *c && *c <= 'z') ||
		             ('0' <= *c && *c <= '9');

		if (alnum)
			k[n++] = *c;
		else if (n && k[n - 1] != '_')
			k[n++] = '_';
	}
	while (n && k[n - 1] == '_')
		n--;
	k[n] = 0;
	return k;
}

static void
sb_print(const struct sb *b)
{
	double load[1] = { 0 };

	getloadavg(load, 1);
	printf("session table: capacity %u, %u live for lookups, %u lookups "
	       "per figure; thread CPU time; load average %.1f\n\n",
	    b->capacity, b->live, b->lookups, load[0]);
	printf("| %-38s | %14s | %-10s |\n", "figure", "value", "unit");
	printf("|%.40s|%.16s|%.12s|\n",
	    "----------------------------------------", "----------------",
	    "------------");
	for (unsigned i = 0; i < nrows; i++)
		printf("| %-38s | %14.1f | %-10s |\n", rows[i].name,
		    rows[i].value, rows[i].unit);
	printf("\n");
	for (unsigned i = 0; i < nrows; i++) {
		printf("sess_%s: %.1f %s\n", sb_keyname(rows[i].name),
		    rows[i].value, rows[i].unit);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "capacity", required_argument, NULL, 'c' },
		{ "live", required_argument, NULL, 'l' },
		{ "lookups", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct sb b = { 1000000, 100000, 2000000, 1, NULL, 0 };
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		unsigned long v = strtoul(optarg ? optarg : "0", NULL, 0);

		if (o == 'c')
			b.capacity = (unsigned)v;
		else if (o == 'l')
			b.live = (unsigned)v;
		else if (o == 'n')
			b.lookups = (unsigned)v;
		else if (o == 's')
			b.seed = v;
		else
			return 2;
	}
	if (!b.capacity || b.live > b.capacity || b.lookups < 256) {
		fprintf(stderr, "sessbench: need live <= capacity, "
		                "lookups >= 256\n");
		return 2;
	}
	b.keys = malloc(sizeof(*b.keys) * ((size_t)b.capacity + b.lookups));
	if (!b.keys)
		return 1;
	for (uint32_t i = 0; i < b.capacity + b.lookups; i++)
		sb_key(&b, &b.keys[i], i);
	/* The last: 1000 sessions, all in cache: the compute cost alone. */
	if (sb_install(&b) < 0 ||
	    sb_lookups(&b, b.capacity, b.live, "hit", "miss") < 0 ||
	    sb_lookups(&b, 1000, 1000, "hit, 1000 in cache", NULL) < 0)
		return 1;
	sb_print(&b);
	free(b.keys);
	return b.sink == 42 ? 3 : 0;
}
