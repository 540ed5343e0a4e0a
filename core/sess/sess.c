/*
 * Session table: the shared area's geometry, creation (cordond) and
 * attachment (cordon-dp, read-only; or a writer taking a table over).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sess/sess_int.h"

_Static_assert(sizeof(struct sess_hdr) == 128, "sess_hdr layout");
_Static_assert(sizeof(struct sess_slot) == 64, "sess_slot layout");
_Static_assert(offsetof(struct sess_hdr, live) == 64, "sess_hdr lines");

#define SESS_ALIGN(x) (((x) + 63u) & ~(uint64_t)63u)

int
sess_geom_calc(uint32_t capacity, uint32_t nident, uint32_t words,
    struct sess_geom *g)
{
	uint64_t n = 2;

	if (capacity < 1 || capacity > SESS_CAPACITY_MAX || nident < 1 ||
	    nident > SESS_IDENT_MAX || words < 1 || words > SESS_WORDS_MAX)
		return -EINVAL;
	while (n < 2ull * capacity)
		n <<= 1;
	g->nslots = (uint32_t)n;
	g->ident_off = sizeof(struct sess_hdr);
	g->slots_off = SESS_ALIGN(g->ident_off + (uint64_t)nident * words * 8);
	g->total = g->slots_off + n * sizeof(struct sess_slot);
	return 0;
}

size_t
sess_area_size(unsigned capacity, unsigned nident, unsigned words)
{
	struct sess_geom g;

	if (sess_geom_calc(capacity, nident, words, &g) < 0)
		return 0;
	return (size_t)g.total;
}

static int
sess_fail(char *err, size_t errlen, int rc, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return rc;
}

/*
 * Validates a private copy, so that the values checked are the values
 * used even if the shared header changes afterwards.
 */
static int
sess_hdr_parse(const void *buf, size_t len, struct sess_hdr *hp, char *err,
    size_t errlen)
{
	struct sess_hdr h;
	struct sess_geom g;

	if (len < sizeof(h))
		return sess_fail(err, errlen, -EINVAL, "session area: short");
	memcpy(&h, buf, sizeof(h));
	*hp = h;
	if (h.magic != SESS_MAGIC)
		return sess_fail(err, errlen, -EINVAL,
		    "session area: bad magic");
	if (h.version != SESS_LAYOUT_VERSION || h.hdr_size != sizeof(h) ||
	    h.slot_size != sizeof(struct sess_slot))
		return sess_fail(err, errlen, -EINVAL,
		    "session area: layout version or sizes differ");
	if (h.nslots < 2 || (h.nslots & (h.nslots - 1)))
		return sess_fail(err, errlen, -EINVAL,
		    "session area: slot count not a power of two");
	if (sess_geom_calc(h.capacity, h.nident, h.words, &g) < 0 ||
	    g.nslots != h.nslots)
		return sess_fail(err, errlen, -EINVAL,
		    "session area: capacity, idents or words out of range");
	if (h.ident_off != g.ident_off || h.slots_off != g.slots_off ||
	    h.total_size != g.total)
		return sess_fail(err, errlen, -EINVAL,
		    "session area: offsets inconsistent");
	if (g.total > len)
		return sess_fail(err, errlen, -EINVAL,
		    "session area: sizes exceed the file");
	return 0;
}

int
sess_hdr_check(const void *buf, size_t len, char *err, size_t errlen)
{
	struct sess_hdr h;

	return sess_hdr_parse(buf, len, &h, err, errlen);
}

/* The private handle over a mapping whose header has been checked. */
static int
sess_handle(void *map, size_t size, const struct sess_hdr *h, bool writable,
    struct sess_table **tp)
{
	struct sess_table *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->hdr = map;
	t->map_size = size;
	t->nslots = h->nslots;
	t->mask = h->nslots - 1;
	t->capacity = h->capacity;
	t->nident = h->nident;
	t->words = h->words;
	t->k0 = h->seed;
	t->k1 = sess_rotl(h->seed, 29) ^ 0x9e3779b97f4a7c15ull;
	t->ident = (uint64_t *)((char *)map + h->ident_off);
	t->slots = (struct sess_slot *)((char *)map + h->slots_off);
	if (writable) {
		t->widx = sess_widx_new(t->nslots, h->seed);
		if (!t->widx) {
			free(t);
			return -ENOMEM;
		}
	}
	*tp = t;
	return 0;
}

static int
sess_memfd(size_t size, int *fdp)
{
	int fd = memfd_create("cordon-sess", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -errno;
	/* Sealed against shrinking: a reader's mapping can never SIGBUS. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
	        0) {
		int e = -errno;
		close(fd);
		return e;
	}
	*fdp = fd;
	return 0;
}

static void
sess_hdr_fill(struct sess_hdr *h, uint32_t capacity, uint32_t nident,
    uint32_t words, const struct sess_geom *g, uint64_t seed)
{
	h->version = SESS_LAYOUT_VERSION;
	h->hdr_size = sizeof(*h);
	h->slot_size = sizeof(struct sess_slot);
	h->nslots = g->nslots;
	h->capacity = capacity;
	h->nident = nident;
	h->words = words;
	h->seed = seed;
	h->ident_off = g->ident_off;
	h->slots_off = g->slots_off;
	h->total_size = g->total;
	/* Magic last: a half-written header never validates. */
	__atomic_store_n(&h->magic, SESS_MAGIC, __ATOMIC_RELEASE);
}

int
sess_create(unsigned capacity, unsigned nident, unsigned words,
    struct sess_table **t, int *memfd, char *err, size_t errlen)
{
	struct sess_geom g;
	uint64_t seed;
	void *map;
	int fd = -1, rc;

	if (sess_geom_calc(capacity, nident, words, &g) < 0)
		return sess_fail(err, errlen, -EINVAL,
		    "session table: "
		    "capacity, idents or words out of range");
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		return sess_fail(err, errlen, -EIO, "session table: getrandom");
	rc = sess_memfd(g.total, &fd);
	if (rc < 0)
		return sess_fail(err, errlen, rc, "session table: memfd");
	map = mmap(NULL, g.total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = sess_fail(err, errlen, -errno, "session table: mmap");
		goto close_fd;
	}
	sess_hdr_fill(map, capacity, nident, words, &g, seed);
	rc = sess_handle(map, g.total, map, true, t);
	if (rc < 0) {
		sess_fail(err, errlen, rc, "session table: out of memory");
		goto unmap;
	}
	*memfd = fd;
	return 0;
unmap:
	munmap(map, g.total);
close_fd:
	close(fd);
	return rc;
}

/* A writable attach takes the table over: index the live slots' ids. */
static void
sess_widx_fill(struct sess_table *t)
{
	for (uint32_t i = 0; i < t->nslots; i++) {
		const struct sess_slot *s = &t->slots[i];

		if ((s->meta & 0xff) == SESS_LIVE)
			sess_widx_add(t->widx, s->sid, i);
	}
}

static int
sess_map_check(int fd, bool writable, size_t *size, char *err, size_t errlen)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) < 0)
		return sess_fail(err, errlen, -errno, "session area: fstat");
	seals = fcntl(fd, F_GET_SEALS);
	if (!writable && (seals < 0 || !(seals & F_SEAL_SHRINK)))
		return sess_fail(err, errlen, -EINVAL,
		    "session area: not sealed against shrinking");
	if (st.st_size < (off_t)sizeof(struct sess_hdr))
		return sess_fail(err, errlen, -EINVAL, "session area: short");
	*size = (size_t)st.st_size;
	return 0;
}

int
sess_attach(int fd, bool writable, struct sess_table **t, char *err,
    size_t errlen)
{
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	struct sess_hdr h;
	size_t size = 0;
	void *map;
	int rc;

	rc = sess_map_check(fd, writable, &size, err, errlen);
	if (rc < 0)
		return rc;
	map = mmap(NULL, size, prot, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return sess_fail(err, errlen, -errno, "session area: mmap");
	rc = sess_hdr_parse(map, size, &h, err, errlen);
	if (rc == 0) {
		rc = sess_handle(map, size, &h, writable, t);
		if (rc < 0)
			sess_fail(err, errlen, rc, "session area: no memory");
	}
	if (rc < 0) {
		munmap(map, size);
		return rc;
	}
	if (writable)
		sess_widx_fill(*t);
	return 0;
}

void
sess_detach(struct sess_table *t)
{
	if (!t)
		return;
	sess_widx_free(t->widx);
	munmap(t->hdr, t->map_size);
	free(t);
}

void
sess_counts(const struct sess_table *t, struct sess_counts *c)
{
	c->live = sess_ctr(&t->hdr->live);
	c->tombs = sess_ctr(&t->hdr->tombs);
	c->refused_full = sess_ctr(&t->hdr->refused_full);
	c->gen = __atomic_load_n(&t->hdr->gen, __ATOMIC_ACQUIRE);
	c->capacity = t->capacity;
	c->nslots = t->nslots;
}
