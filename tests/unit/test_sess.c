/*
 * Session table (core/sess): the writer's operations, attach
 * validation, readers on a corrupted area, a reader thread against a
 * writer thread (no torn entry may ever be seen), and one million
 * sessions.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "core/sess/sess.h"
#include "tests/unit/unit_util.h"

#define NOW 1000000

/* Key number i: even numbers IPv4, odd IPv6, the number in the address. */
static void
key_n(struct sess_key *k, uint32_t i, uint8_t svc)
{
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	if (i % 2 == 0) {
		uint8_t a4[4] = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8),
			(uint8_t)i };
		sess_key_v4(k, svc, a4);
		return;
	}
	memcpy(a + 12, &i, 4);
	sess_key_v6(k, svc, a);
}

static uint32_t
key_num(const uint64_t addr[2], uint32_t meta)
{
	const uint8_t *b = (const uint8_t *)addr;
	uint32_t i;

	if (((meta >> 8) & 0xff) == 4)
		return (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	memcpy(&i, b + 12, 4);
	return i;
}

static struct sess_table *
mk(unsigned cap, unsigned nident, unsigned words, int *fd)
{
	struct sess_table *t;
	char err[128];
	int lfd;

	assert_int_equal(sess_create(cap, nident, words, &t, &lfd, err,
	                     sizeof(err)),
	    0);
	if (fd)
		*fd = lfd;
	else
		close(lfd);
	return t;
}

static enum sess_res
look(const struct sess_table *t, const struct sess_key *k, int64_t now,
    uint32_t *ident)
{
	uint32_t dummy;

	return sess_lookup(t, k, now, ident ? ident : &dummy);
}

static void
test_put_lookup_replace_delete(void **state)
{
	struct sess_table *t = mk(64, 8, 4, NULL);
	struct sess_key a, b;
	struct sess_counts c;
	uint32_t id = 99;

	(void)state;
	key_n(&a, 2, 22);
	key_n(&b, 4, 22);
	assert_int_equal(sess_put(t, &a, NOW + 60, 1, 3), 0);
	assert_int_equal(look(t, &a, NOW, &id), SESS_HIT);
	assert_int_equal(id, 3);
	assert_int_equal(look(t, &b, NOW, NULL), SESS_MISS);
	/* Replace: same key, new identity and expiry, still one entry. */
	assert_int_equal(sess_put(t, &a, NOW + 120, 2, 5), 0);
	assert_int_equal(look(t, &a, NOW + 100, &id), SESS_HIT);
	assert_int_equal(id, 5);
	sess_counts(t, &c);
	assert_int_equal(c.live, 1);
	assert_int_equal(c.capacity, 64);
	assert_int_equal(c.nslots, 128);
	assert_int_equal(sess_del(t, &a), 0);
	assert_int_equal(look(t, &a, NOW, NULL), SESS_MISS);
	assert_int_equal(sess_del(t, &a), -ENOENT);
	sess_counts(t, &c);
	assert_int_equal(c.live, 0);
	sess_detach(t);
}

static void
test_expiry_sweep(void **state)
{
	struct sess_table *t = mk(64, 8, 1, NULL);
	struct sess_key a, b;
	struct sess_counts c;

	(void)state;
	key_n(&a, 10, 1);
	key_n(&b, 11, 1);
	assert_int_equal(sess_put(t, &a, NOW, 1, 1), 0);
	assert_int_equal(sess_put(t, &b, NOW + 10, 2, 2), 0);
	assert_int_equal(look(t, &a, NOW - 1, NULL), SESS_HIT);
	/* expires <= now: refused at once, for every packet. */
	assert_int_equal(look(t, &a, NOW, NULL), SESS_EXPIRED);
	assert_int_equal(look(t, &b, NOW, NULL), SESS_HIT);
	assert_int_equal(sess_sweep(t, NOW), 1);
	assert_int_equal(look(t, &a, NOW - 1, NULL), SESS_MISS);
	assert_int_equal(look(t, &b, NOW, NULL), SESS_HIT);
	sess_counts(t, &c);
	assert_int_equal(c.live, 1);
	assert_int_equal(sess_sweep(t, NOW), 0);
	assert_int_equal(sess_sweep(t, NOW + 10), 1);
	sess_counts(t, &c);
	assert_int_equal(c.live, 0);
	sess_detach(t);
}

/* Sweeping in steps covers every slot once per lap, wrapping around. */
static void
test_sweep_steps(void **state)
{
	struct sess_table *t = mk(500, 8, 1, NULL);
	struct sess_counts c;
	struct sess_key k;
	uint32_t cursor = 1000, swept = 0, laps = 0;

	(void)state;
	for (uint32_t i = 0; i < 500; i++) {
		key_n(&k, i, 2);
		assert_int_equal(sess_put(t, &k, i % 3 ? NOW + 5 : NOW, i, 1),
		    0);
	}
	while (laps++ < 1024 / 100 + 1)
		swept += sess_sweep_step(t, NOW, &cursor, 100);
	assert_int_equal(cursor, (1000 + 1100) % 1024);
	assert_int_equal(swept, 167); /* i % 3 == 0 for i < 500 */
	sess_counts(t, &c);
	assert_int_equal(c.live, 333);
	for (uint32_t i = 0; i < 500; i++) {
		key_n(&k, i, 2);
		assert_int_equal(look(t, &k, NOW - 1, NULL),
		    i % 3 ? SESS_HIT : SESS_MISS);
	}
	sess_detach(t);
}

/* n keys whose first probe slot is the same: a chain to play with. */
static void
colliding(const struct sess_table *t, struct sess_key *k, unsigned n)
{
	uint32_t home = 0;
	unsigned got = 0;

	for (uint32_t i = 0; got < n; i++) {
		key_n(&k[got], i, 0);
		uint32_t h = (uint32_t)sess_hash(t, &k[got]) & t->mask;
		if (got == 0)
			home = h;
		if (h == home)
			got++;
		assert_true(i < 1000000);
	}
}

static unsigned
slot_state(const struct sess_table *t, const struct sess_key *k, unsigned d)
{
	uint32_t i = ((uint32_t)sess_hash(t, k) + d) & t->mask;

	return t->slots[i].meta & 0xff;
}

static void
test_tombstones(void **state)
{
	struct sess_table *t = mk(8, 4, 1, NULL);
	struct sess_key k[4];
	struct sess_counts c;
	uint32_t id;

	(void)state;
	colliding(t, k, 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(sess_put(t, &k[i], NOW + 9, i, i), 0);
	/* The middle of a chain becomes a tombstone; the probe goes on. */
	assert_int_equal(sess_del(t, &k[1]), 0);
	sess_counts(t, &c);
	assert_int_equal(c.tombs, 1);
	assert_int_equal(slot_state(t, &k[0], 1), SESS_TOMB);
	assert_int_equal(look(t, &k[2], NOW, &id), SESS_HIT);
	assert_int_equal(id, 2);
	/* A new key reuses the tombstone. */
	assert_int_equal(sess_put(t, &k[3], NOW + 9, 3, 3), 0);
	sess_counts(t, &c);
	assert_int_equal(c.tombs, 0);
	assert_int_equal(c.live, 3);
	assert_int_equal(slot_state(t, &k[0], 1), SESS_LIVE);
	assert_int_equal(look(t, &k[3], NOW, &id), SESS_HIT);
	assert_int_equal(id, 3);
	/* The end of a chain, and then what precedes it, become empty. */
	assert_int_equal(sess_del(t, &k[3]), 0);
	assert_int_equal(slot_state(t, &k[0], 1), SESS_TOMB);
	assert_int_equal(sess_del(t, &k[2]), 0);
	sess_counts(t, &c);
	assert_int_equal(c.tombs, 0);
	assert_int_equal(slot_state(t, &k[0], 1), SESS_EMPTY);
	assert_int_equal(slot_state(t, &k[0], 2), SESS_EMPTY);
	assert_int_equal(look(t, &k[0], NOW, &id), SESS_HIT);
	assert_int_equal(id, 0);
	sess_detach(t);
}

static void
test_full_refuses(void **state)
{
	struct sess_table *t = mk(16, 4, 1, NULL);
	struct sess_key k;
	struct sess_counts c;
	uint32_t id;

	(void)state;
	for (uint32_t i = 0; i < 16; i++) {
		key_n(&k, i, 3);
		assert_int_equal(sess_put(t, &k, NOW + 5, i, i % 4), 0);
	}
	key_n(&k, 16, 3);
	assert_int_equal(sess_put(t, &k, NOW + 5, 16, 0), -ENOSPC);
	assert_int_equal(sess_put(t, &k, NOW + 5, 16, 0), -ENOSPC);
	assert_int_equal(look(t, &k, NOW, NULL), SESS_MISS);
	sess_counts(t, &c);
	assert_int_equal(c.refused_full, 2);
	assert_int_equal(c.live, 16);
	for (uint32_t i = 0; i < 16; i++) {
		key_n(&k, i, 3);
		assert_int_equal(look(t, &k, NOW, &id), SESS_HIT);
		assert_int_equal(id, i % 4);
	}
	/* Replacing an existing key adds nothing, so it is allowed. */
	key_n(&k, 5, 3);
	assert_int_equal(sess_put(t, &k, NOW + 50, 5, 2), 0);
	assert_int_equal(sess_del(t, &k), 0);
	key_n(&k, 16, 3);
	assert_int_equal(sess_put(t, &k, NOW + 5, 16, 0), 0);
	sess_detach(t);
}

static void
test_key_distinction(void **state)
{
	struct sess_table *t = mk(16, 8, 1, NULL);
	uint8_t a4[4] = { 192, 0, 2, 7 }, a6[16] = { 192, 0, 2, 7 };
	struct sess_key v4, v4b, v6;
	uint32_t id;

	(void)state;
	sess_key_v4(&v4, 1, a4);
	sess_key_v4(&v4b, 2, a4);
	sess_key_v6(&v6, 1, a6); /* same bytes, other family */
	assert_int_equal(sess_put(t, &v4, NOW + 1, 1, 1), 0);
	assert_int_equal(look(t, &v4b, NOW, NULL), SESS_MISS);
	assert_int_equal(look(t, &v6, NOW, NULL), SESS_MISS);
	assert_int_equal(sess_put(t, &v4b, NOW + 1, 2, 2), 0);
	assert_int_equal(sess_put(t, &v6, NOW + 1, 3, 3), 0);
	assert_int_equal(look(t, &v4, NOW, &id), SESS_HIT);
	assert_int_equal(id, 1);
	assert_int_equal(look(t, &v4b, NOW, &id), SESS_HIT);
	assert_int_equal(id, 2);
	assert_int_equal(look(t, &v6, NOW, &id), SESS_HIT);
	assert_int_equal(id, 3);
	sess_detach(t);
}

static void
test_invalid_puts(void **state)
{
	struct sess_table *t = mk(16, 8, 1, NULL), *r;
	uint8_t a4[4] = { 192, 0, 2, 7 };
	struct sess_key k;
	uint64_t bits = 1;
	char err[128];
	int fd;

	(void)state;
	sess_key_v4(&k, 1, a4);
	assert_int_equal(sess_put(t, &k, NOW, 1, 8), -EINVAL);
	k.addr[9] = 1; /* IPv4 with a non-zero tail */
	assert_int_equal(sess_put(t, &k, NOW, 1, 1), -EINVAL);
	k.addr[9] = 0;
	k.af = 5;
	assert_int_equal(sess_put(t, &k, NOW, 1, 1), -EINVAL);
	assert_int_equal(sess_ident_set(t, 8, &bits), -EINVAL);
	sess_detach(t);
	/* A reader's handle cannot write. */
	t = mk(16, 8, 1, &fd);
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), 0);
	sess_key_v4(&k, 1, a4);
	assert_int_equal(sess_put(r, &k, NOW, 1, 1), -EPERM);
	assert_int_equal(sess_del(r, &k), -EPERM);
	assert_int_equal(sess_ident_set(r, 1, &bits), -EPERM);
	assert_int_equal(sess_create(0, 1, 1, &r, &fd, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(sess_create(4, 1, 65, &r, &fd, err, sizeof(err)),
	    -EINVAL);
	sess_detach(r);
	sess_detach(t);
	close(fd);
}

/* The line of /proc/self/maps that starts at p says r--s. */
static bool
mapped_read_only(const void *p)
{
	char line[512], want[32];
	bool ro = false;
	FILE *f = fopen("/proc/self/maps", "r");

	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)) == 0)
			ro = strstr(line, " r--s ") != NULL;
	}
	if (f)
		fclose(f);
	return ro;
}

static void
test_reader_attach(void **state)
{
	struct sess_table *w, *r;
	uint64_t bits[3] = { 0x5, 0, 1ull << 63 };
	struct sess_key k;
	struct sess_counts c;
	char err[128];
	uint32_t id;
	int fd;

	(void)state;
	w = mk(100, 16, 3, &fd);
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), 0);
	assert_int_equal(sess_ident_set(w, 7, bits), 0);
	key_n(&k, 77, 9);
	assert_int_equal(sess_put(w, &k, NOW + 1, 42, 7), 0);
	assert_int_equal(look(r, &k, NOW, &id), SESS_HIT);
	assert_int_equal(id, 7);
	assert_memory_equal(sess_ident_bits(r, id), bits, sizeof(bits));
	assert_null(sess_ident_bits(r, 16));
	sess_counts(r, &c);
	assert_int_equal(c.live, 1);
	assert_int_equal(c.nslots, 256);
	assert_true(mapped_read_only(r->hdr));
	assert_int_equal(sess_del(w, &k), 0);
	assert_int_equal(look(r, &k, NOW, NULL), SESS_MISS);
	sess_detach(r);
	sess_detach(w);
	close(fd);
}

/* Attach of fd after poking v at offset off of the header refuses. */
static void
refuse_poke(int fd, struct sess_table *w, size_t off, const void *v, size_t len,
    const char *why)
{
	uint8_t save[16];
	struct sess_table *r = NULL;
	char err[128] = "";

	memcpy(save, (uint8_t *)w->hdr + off, len);
	memcpy((uint8_t *)w->hdr + off, v, len);
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), -EINVAL);
	assert_null(r);
	if (!strstr(err, why))
		fail_msg("expected '%s', got '%s'", why, err);
	memcpy((uint8_t *)w->hdr + off, save, len);
}

static void
test_attach_refuses(void **state)
{
	struct sess_table *w;
	uint32_t v32;
	uint64_t v64;
	int fd;

	(void)state;
	w = mk(1000, 4, 1, &fd);
	v32 = 0x12345678;
	refuse_poke(fd, w, offsetof(struct sess_hdr, magic), &v32, 4,
	    "bad magic");
	v32 = SESS_LAYOUT_VERSION - 1; /* expiries in another clock */
	refuse_poke(fd, w, offsetof(struct sess_hdr, version), &v32, 4,
	    "layout version");
	v32 = 32;
	refuse_poke(fd, w, offsetof(struct sess_hdr, slot_size), &v32, 4,
	    "sizes differ");
	v32 = 3000;
	refuse_poke(fd, w, offsetof(struct sess_hdr, nslots), &v32, 4,
	    "power of two");
	v32 = 0;
	refuse_poke(fd, w, offsetof(struct sess_hdr, nslots), &v32, 4,
	    "power of two");
	v32 = 1u << 30;
	refuse_poke(fd, w, offsetof(struct sess_hdr, nslots), &v32, 4,
	    "out of range");
	v32 = 0;
	refuse_poke(fd, w, offsetof(struct sess_hdr, words), &v32, 4,
	    "out of range");
	v64 = 1ull << 40;
	refuse_poke(fd, w, offsetof(struct sess_hdr, slots_off), &v64, 8,
	    "offsets");
	sess_detach(w);
	close(fd);
}

/* Header fields that agree with each other but not with the file. */
static void
test_attach_exceeds_file(void **state)
{
	struct sess_table *w, *r = NULL;
	struct sess_hdr h;
	char err[128] = "";
	int fd;

	(void)state;
	w = mk(1000, 4, 1, &fd);
	h = *w->hdr;
	h.capacity = 4000;
	h.nslots = 8192;
	h.slots_off = w->hdr->slots_off;
	h.total_size = sess_area_size(4000, 4, 1);
	memcpy(w->hdr, &h, offsetof(struct sess_hdr, live));
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "exceed the file"));
	assert_null(r);
	sess_detach(w);
	close(fd);
}

static void
test_attach_unsealed(void **state)
{
	struct sess_table *r = NULL;
	char err[128] = "", buf[4096];
	int fd = memfd_create("t", MFD_CLOEXEC);

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "sealed"));
	close(fd);
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(write(fd, buf, 64), 64);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "short"));
	close(fd);
}

/*
 * Random damage to a header image: the check either refuses it or
 * everything it accepted is within the image.
 */
static void
test_hdr_random_damage(void **state)
{
	struct sess_table *w = mk(100, 4, 2, NULL);
	size_t size = w->map_size;
	uint8_t *img = malloc(size);
	uint64_t s = 7;
	unsigned ok = 0;

	(void)state;
	for (int n = 0; n < 20000; n++) {
		struct sess_hdr h;

		memcpy(img, w->hdr, sizeof(h));
		for (int f = 0; f < 1 + n % 3; f++)
			img[unit_rnd(&s) % 64] ^=
			    (uint8_t)(1u << (unit_rnd(&s) % 8));
		if (sess_hdr_check(img, size, NULL, 0) != 0)
			continue;
		memcpy(&h, img, sizeof(h));
		ok++;
		assert_true(h.total_size <= size);
		assert_true(h.slots_off + (uint64_t)h.nslots * 64 <= size);
		assert_true(h.ident_off + (uint64_t)h.nident * h.words * 8 <=
		            h.slots_off);
	}
	/* Only the seed is free to change. */
	assert_true(ok > 0 && ok < 20000);
	free(img);
	sess_detach(w);
}

/*
 * Garbage in every slot: lookups end (bounded probes), and a hit never
 * names an identity outside the table.
 */
static void
test_reader_corrupt_slots(void **state)
{
	struct sess_table *w, *r;
	struct sess_key k;
	struct sess_out out[300];
	struct sess_key keys[300];
	char err[128];
	uint64_t s = 99;
	int fd;

	(void)state;
	w = mk(64, 4, 1, &fd);
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), 0);
	for (int round = 0; round < 4; round++) {
		for (uint32_t i = 0; i < w->nslots; i++) {
			uint64_t *p = (uint64_t *)&w->slots[i];
			for (int j = 0; j < 8; j++)
				p[j] = unit_rnd(&s);
			/* Rounds 1-3: live, even sequence, chosen keys. */
			if (round == 0)
				continue;
			key_n(&k, i % 8, 0);
			w->slots[i].seq = round == 3 ? 1 : 2;
			w->slots[i].meta = (uint32_t)k.af << 8 | SESS_LIVE;
			memcpy(w->slots[i].addr, k.addr, 16);
			w->slots[i].expires = NOW + 1;
		}
		for (uint32_t i = 0; i < 300; i++)
			key_n(&keys[i], i % 20, 0);
		sess_lookup_bulk(r, keys, 300, NOW, out);
		for (uint32_t i = 0; i < 300; i++) {
			if (out[i].res == SESS_HIT)
				assert_true(out[i].ident < r->nident);
			if (round == 3) /* forever odd: never a hit */
				assert_int_equal(out[i].res, SESS_MISS);
		}
	}
	sess_detach(r);
	sess_detach(w);
	close(fd);
}

static void
test_delete_by_session(void **state)
{
	struct sess_table *t = mk(64, 4, 1, NULL);
	struct sess_key k;
	struct sess_counts c;

	(void)state;
	for (uint32_t i = 0; i < 10; i++) {
		key_n(&k, i, 1);
		assert_int_equal(sess_put(t, &k, NOW + 5, i < 6 ? 7 : 8, 1), 0);
	}
	key_n(&k, 9, 1);
	assert_int_equal(sess_put(t, &k, NOW + 5, 9, 1), 0); /* 8 -> 9 */
	assert_int_equal(sess_del_sid(t, 7), 6);
	assert_int_equal(sess_del_sid(t, 7), 0);
	for (uint32_t i = 0; i < 10; i++) {
		key_n(&k, i, 1);
		assert_int_equal(look(t, &k, NOW, NULL),
		    i < 6 ? SESS_MISS : SESS_HIT);
	}
	assert_int_equal(sess_del_sid(t, 8), 3);
	assert_int_equal(sess_del_sid(t, 9), 1);
	sess_counts(t, &c);
	assert_int_equal(c.live, 0);
	sess_detach(t);
}

static void
test_bulk_matches_single(void **state)
{
	struct sess_table *t = mk(1000, 64, 1, NULL);
	static struct sess_key keys[1500];
	static struct sess_out out[1500];
	uint32_t id;

	(void)state;
	for (uint32_t i = 0; i < 1500; i++) {
		key_n(&keys[i], i, (uint8_t)(i % 3));
		if (i % 3 == 0)
			continue;
		assert_int_equal(sess_put(t, &keys[i], i % 5 ? NOW + 1 : NOW, i,
		                     i % 64),
		    0);
	}
	sess_lookup_bulk(t, keys, 1500, NOW, out);
	for (uint32_t i = 0; i < 1500; i++) {
		enum sess_res r = look(t, &keys[i], NOW, &id);
		enum sess_res want = i % 3 == 0 ? SESS_MISS
		                     : i % 5    ? SESS_HIT
		                                : SESS_EXPIRED;

		assert_int_equal(r, want);
		assert_int_equal(out[i].res, want);
		if (want == SESS_HIT) {
			assert_int_equal(id, i % 64);
			assert_int_equal(out[i].ident, i % 64);
		}
	}
	sess_detach(t);
}

/*
 * Random operations against a plain model: after every step each key's
 * lookup, the live and tombstone counts (checked against the slots) and
 * the refusals agree.  Small table, more keys than capacity, clustered
 * homes: full-table refusals, tombstone reuse and trimming all happen.
 */
#define MD_KEYS 96

struct md_ent {
	bool live;
	int64_t expires;
	uint32_t sid, ident;
};

static void
md_check(const struct sess_table *t, const struct md_ent *m, int64_t now,
    uint64_t refused)
{
	struct sess_counts c;
	struct sess_key k;
	unsigned live = 0, tombs = 0;
	uint32_t id;

	for (uint32_t i = 0; i < MD_KEYS; i++) {
		enum sess_res want = !m[i].live            ? SESS_MISS
		                     : m[i].expires <= now ? SESS_EXPIRED
		                                           : SESS_HIT;

		key_n(&k, i, (uint8_t)(i % 3));
		assert_int_equal(look(t, &k, now, &id), want);
		if (want == SESS_HIT)
			assert_int_equal(id, m[i].ident);
		live += m[i].live;
	}
	for (uint32_t i = 0; i < t->nslots; i++)
		tombs += (t->slots[i].meta & 0xff) == SESS_TOMB;
	sess_counts(t, &c);
	assert_int_equal(c.live, live);
	assert_int_equal(c.tombs, tombs);
	assert_int_equal(c.refused_full, refused);
}

static void
md_step(struct sess_table *t, struct md_ent *m, uint64_t *s, int64_t now,
    uint64_t *refused)
{
	uint64_t x = unit_rnd(s);
	uint32_t i = (uint32_t)(x % MD_KEYS), op = (uint32_t)(x >> 32) % 64;
	unsigned live = 0, n = 0;
	struct sess_key k;

	key_n(&k, i, (uint8_t)(i % 3));
	for (uint32_t j = 0; j < MD_KEYS; j++)
		live += m[j].live;
	if (op < 52) {
		struct md_ent e = { true, now + (int64_t)(x >> 40) % 5 - 1,
			(uint32_t)(x >> 50) % 8, (uint32_t)(x >> 20) % 4 };
		int rc = sess_put(t, &k, e.expires, e.sid, e.ident);

		if (!m[i].live && live == t->capacity) {
			assert_int_equal(rc, -ENOSPC);
			(*refused)++;
			return;
		}
		assert_int_equal(rc, 0);
		m[i] = e;
	} else if (op < 60) {
		assert_int_equal(sess_del(t, &k), m[i].live ? 0 : -ENOENT);
		m[i].live = false;
	} else if (op < 62) {
		uint32_t sid = (uint32_t)(x >> 50) % 8;

		for (uint32_t j = 0; j < MD_KEYS; j++)
			if (m[j].live && m[j].sid == sid) {
				m[j].live = false;
				n++;
			}
		assert_int_equal(sess_del_sid(t, sid), n);
	} else {
		for (uint32_t j = 0; j < MD_KEYS; j++)
			if (m[j].live && m[j].expires <= now) {
				m[j].live = false;
				n++;
			}
		assert_int_equal(sess_sweep(t, now), n);
	}
}

static void
test_model_random(void **state)
{
	struct sess_table *t = mk(48, 4, 1, NULL);
	struct md_ent m[MD_KEYS] = { 0 };
	uint64_t s = 5, refused = 0;

	(void)state;
	for (int n = 0; n < 20000; n++) {
		int64_t now = NOW + n / 100;

		md_step(t, m, &s, now, &refused);
		md_check(t, m, now, refused);
	}
	print_message("# model: %llu refusals\n", (unsigned long long)refused);
	assert_true(refused > 100);
	sess_detach(t);
}

/* Is slot i within [h, h + n) of the ring? */
static bool
in_run(const struct sess_table *t, uint32_t i, uint32_t h, uint32_t n)
{
	return ((i - h) & t->mask) < n;
}

static void
test_rebuild(void **state)
{
	struct sess_table *t = mk(100, 4, 2, NULL), *n;
	static struct sess_key run[100];
	uint64_t bits[2] = { 3, 4 };
	struct sess_key k;
	struct sess_counts c;
	char err[128];
	uint32_t home, id, i, unexpired = 0;
	int fd;

	(void)state;
	assert_int_equal(sess_ident_set(t, 2, bits), 0);
	/* A run of 99 tombstones, kept alive by the live entry after it. */
	colliding(t, run, 100);
	home = (uint32_t)sess_hash(t, &run[0]) & t->mask;
	for (i = 0; i < 100; i++)
		assert_int_equal(sess_put(t, &run[i], NOW + 1, i, 2), 0);
	for (i = 0; i < 99; i++)
		assert_int_equal(sess_del(t, &run[i]), 0);
	/*
	 * Fill with keys, half of them expired, whose homes follow the run:
	 * 99 of them cannot reach around the 256 slots into the tombstones.
	 */
	for (i = 0;; i++) {
		key_n(&k, i, 1);
		if (!in_run(t, (uint32_t)sess_hash(t, &k), home + 100, 100))
			continue;
		if (sess_put(t, &k, NOW + (i % 2), i, 2) < 0)
			break;
	}
	sess_counts(t, &c);
	assert_int_equal(c.tombs, 99);
	assert_int_equal(c.live, 100);
	assert_int_equal(c.refused_full, 1);
	assert_true(sess_needs_rebuild(t));
	assert_int_equal(sess_rebuild(t, NOW, &n, &fd, err, sizeof(err)), 0);
	close(fd);
	assert_false(sess_needs_rebuild(n));
	for (i = 0; i < t->nslots; i++) {
		const struct sess_slot *s = &t->slots[i];
		struct sess_key kk;

		if ((s->meta & 0xff) != SESS_LIVE)
			continue;
		memset(&kk, 0, sizeof(kk));
		kk.af = (uint8_t)(s->meta >> 8);
		kk.svc = (uint8_t)(s->meta >> 16);
		memcpy(kk.addr, s->addr, 16);
		assert_int_equal(look(n, &kk, NOW, &id),
		    s->expires > NOW ? SESS_HIT : SESS_MISS);
		unexpired += s->expires > NOW;
	}
	sess_counts(n, &c);
	assert_int_equal(c.tombs, 0);
	assert_int_equal(c.live, unexpired);
	assert_true(unexpired > 1 && unexpired < 100);
	assert_int_equal(c.refused_full, 1);
	assert_memory_equal(sess_ident_bits(n, 2), bits, sizeof(bits));
	sess_detach(n);
	sess_detach(t);
}

/*
 * A writer thread churns a small table; a reader thread on its own
 * read-only mapping checks every entry it sees: version v of key i always
 * has sid = v, ident = f(i, v), expires = g(v), so a mix of two writes is
 * caught.
 */
#define CC_KEYS  512
#define CC_IDENT 1024

struct cc {
	struct sess_table *w, *r;
	int stop;
	uint64_t reads, hits, torn, slot_reads;
};

static uint32_t
cc_ident(uint32_t i, uint32_t v)
{
	/* ident % 64 names the key; (ident / 64) % 2 the version's parity */
	return (v % (CC_IDENT / 64)) * 64 + i % 64;
}

static int64_t
cc_expires(uint32_t v)
{
	return v % 2 ? NOW - 1 : NOW + 1000 + v;
}

static void *
cc_writer(void *arg)
{
	struct cc *c = arg;
	uint64_t s = 1;
	uint32_t v = 0;
	struct sess_key k;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint64_t x = unit_rnd(&s);
		uint32_t i = (uint32_t)(x % CC_KEYS);

		key_n(&k, i, 0);
		if ((x >> 32) % 4 == 0) {
			sess_del(c->w, &k);
		} else {
			v++;
			sess_put(c->w, &k, cc_expires(v), v, cc_ident(i, v));
		}
	}
	return NULL;
}

static void
cc_check_slot(struct cc *c, const struct sess_slot *sl)
{
	struct sess_snap s;
	uint32_t i;

	if (!sess_slot_read(sl, &s) || (s.meta & 0xff) != SESS_LIVE)
		return;
	uint64_t a[2] = { s.a0, s.a1 };

	c->slot_reads++;
	i = key_num(a, s.meta);
	if (i >= CC_KEYS || s.ident != cc_ident(i, s.sid) ||
	    s.expires != cc_expires(s.sid))
		c->torn++;
}

static void *
cc_reader(void *arg)
{
	struct cc *c = arg;
	uint64_t s = 2;
	struct sess_key k;
	uint32_t id;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		uint64_t x = unit_rnd(&s);
		uint32_t i = (uint32_t)(x % CC_KEYS);
		const uint64_t *b;

		key_n(&k, i, 0);
		c->reads++;
		if (sess_lookup(c->r, &k, NOW, &id) == SESS_HIT) {
			c->hits++;
			b = sess_ident_bits(c->r, id);
			if (id % 64 != i % 64 || (id / 64) % 2 || !b ||
			    b[0] != id || b[1] != ~(uint64_t)id)
				c->torn++;
		}
		cc_check_slot(c, &c->r->slots[(x >> 40) & c->r->mask]);
	}
	return NULL;
}

static void
test_concurrent_no_torn(void **state)
{
	struct cc c = { 0 };
	pthread_t wt, rt;
	struct sess_counts n;
	char err[128];
	int fd;

	(void)state;
	c.w = mk(CC_KEYS, CC_IDENT, 2, &fd);
	for (uint32_t i = 0; i < CC_IDENT; i++) {
		uint64_t b[2] = { i, ~(uint64_t)i };
		assert_int_equal(sess_ident_set(c.w, i, b), 0);
	}
	assert_int_equal(sess_attach(fd, false, &c.r, err, sizeof(err)), 0);
	assert_int_equal(pthread_create(&wt, NULL, cc_writer, &c), 0);
	assert_int_equal(pthread_create(&rt, NULL, cc_reader, &c), 0);
	sleep(1);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(wt, NULL);
	pthread_join(rt, NULL);
	sess_counts(c.r, &n);
	print_message("# concurrent: %llu lookups, %llu hits, %llu slot "
	              "reads, %llu changes, %llu torn\n",
	    (unsigned long long)c.reads, (unsigned long long)c.hits,
	    (unsigned long long)c.slot_reads, (unsigned long long)n.gen,
	    (unsigned long long)c.torn);
	assert_int_equal(c.torn, 0);
	assert_true(c.hits > 1000 && c.slot_reads > 1000 && n.gen > 1000);
	sess_detach(c.r);
	sess_detach(c.w);
	close(fd);
}

/* The same, with the reader in another process (fork, fd inherited). */
static void
test_cross_process(void **state)
{
	struct cc c = { 0 };
	pthread_t wt;
	char err[128];
	int fd, st;
	pid_t pid;

	(void)state;
	c.w = mk(CC_KEYS, CC_IDENT, 2, &fd);
	for (uint32_t i = 0; i < CC_IDENT; i++) {
		uint64_t b[2] = { i, ~(uint64_t)i };
		assert_int_equal(sess_ident_set(c.w, i, b), 0);
	}
	assert_int_equal(pthread_create(&wt, NULL, cc_writer, &c), 0);
	pid = fork();
	if (pid == 0) {
		pthread_t rt;

		if (sess_attach(fd, false, &c.r, err, sizeof(err)) < 0)
			_exit(3);
		pthread_create(&rt, NULL, cc_reader, &c);
		usleep(500 * 1000);
		__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
		pthread_join(rt, NULL);
		_exit(c.torn ? 1 : c.hits < 1000 ? 2 : 0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	pthread_join(wt, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	sess_detach(c.w);
	close(fd);
}

/* Two tables, two seeds: keys piled on one chain in one are spread in
 * the other. */
static void
test_seeded_hash(void **state)
{
	struct sess_table *a = mk(1024, 1, 1, NULL), *b = mk(1024, 1, 1, NULL);
	struct sess_key k[8];
	unsigned same = 0;

	(void)state;
	assert_true(a->hdr->seed != b->hdr->seed);
	colliding(a, k, 8);
	for (int i = 1; i < 8; i++)
		same += (sess_hash(b, &k[i]) & b->mask) ==
		        (sess_hash(b, &k[0]) & b->mask);
	assert_true(same < 3);
	sess_detach(a);
	sess_detach(b);
}

static void
test_one_million(void **state)
{
	const uint32_t cap = 1000000;
	struct sess_table *w, *r;
	static struct sess_key keys[256];
	static struct sess_out out[256];
	struct sess_counts c;
	struct sess_key k;
	char err[128];
	int fd;

	(void)state;
	w = mk(cap, 16, 4, &fd);
	for (uint32_t i = 0; i < cap; i++) {
		key_n(&k, i, (uint8_t)(i & 3));
		assert_int_equal(sess_put(w, &k, NOW + 1, i, i % 16), 0);
	}
	assert_int_equal(sess_attach(fd, false, &r, err, sizeof(err)), 0);
	for (uint32_t b = 0; b < cap; b += 256) {
		uint32_t m = cap - b < 256 ? cap - b : 256;

		for (uint32_t i = 0; i < m; i++)
			key_n(&keys[i], b + i, (uint8_t)((b + i) & 3));
		sess_lookup_bulk(r, keys, m, NOW, out);
		for (uint32_t i = 0; i < m; i++) {
			if (out[i].res != SESS_HIT ||
			    out[i].ident != (b + i) % 16)
				fail_msg("key %u: res %u", b + i, out[i].res);
		}
	}
	key_n(&k, cap, 0);
	assert_int_equal(sess_put(w, &k, NOW + 1, cap, 0), -ENOSPC);
	assert_int_equal(look(r, &k, NOW, NULL), SESS_MISS);
	sess_counts(r, &c);
	assert_int_equal(c.live, cap);
	assert_int_equal(c.refused_full, 1);
	sess_detach(r);
	sess_detach(w);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_lookup_replace_delete),
		cmocka_unit_test(test_expiry_sweep),
		cmocka_unit_test(test_sweep_steps),
		cmocka_unit_test(test_tombstones),
		cmocka_unit_test(test_full_refuses),
		cmocka_unit_test(test_key_distinction),
		cmocka_unit_test(test_invalid_puts),
		cmocka_unit_test(test_reader_attach),
		cmocka_unit_test(test_attach_refuses),
		cmocka_unit_test(test_attach_exceeds_file),
		cmocka_unit_test(test_attach_unsealed),
		cmocka_unit_test(test_hdr_random_damage),
		cmocka_unit_test(test_reader_corrupt_slots),
		cmocka_unit_test(test_delete_by_session),
		cmocka_unit_test(test_bulk_matches_single),
		cmocka_unit_test(test_rebuild),
		cmocka_unit_test(test_model_random),
		cmocka_unit_test(test_concurrent_no_torn),
		cmocka_unit_test(test_cross_process),
		cmocka_unit_test(test_seeded_hash),
		cmocka_unit_test(test_one_million),
	};

	return cmocka_run_group_tests_name("sess", tests, NULL, NULL);
}
