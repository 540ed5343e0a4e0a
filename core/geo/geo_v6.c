/*
 * IPv6 geolocation table: a multibit trie, 16 bits at the root and 8 per
 * node, leaf-pushed (a prefix is written into every entry it covers), so
 * a lookup is at most 15 dependent loads and no backtracking.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/geo/geo.h"
#include "core/geo/geo_impl.h"

/* A node is named by its parent: PNODE GEO6_NONE means the root. */
#define GEO6_SLOT(t, pnode, i)                                                 \
	((pnode) == GEO6_NONE ? &(t)->root6[(i)]                               \
	                      : &(t)->node6[((size_t)(pnode) << 8) | (i)])

/* The entry under node entry E for byte D of address A. */
#define GEO6_NEXT(t, e, a, d)                                                  \
	(&(t)->node6[((size_t)((e)&GEO6_VAL_MASK) << 8) | (a)[(d)]])

#define GEO6_ROOT_IDX(a) ((uint32_t)(a)[0] << 8 | (a)[1])
#define GEO6_BULK_CHUNK  32

int
geo_v6_init(struct geo_tables *t)
{
	t->root6 = calloc(GEO6_ROOT_SIZE, sizeof(t->root6[0]));
	if (t->root6 == NULL)
		return -1;
	t->node6 = NULL;
	t->node6_cap = t->node6_used = t->node6_live = 0;
	t->node6_free = GEO6_NONE;
	return 0;
}

void
geo_v6_fini(struct geo_tables *t)
{
	free(t->root6);
	free(t->node6);
	t->root6 = NULL;
	t->node6 = NULL;
}

static int
geo_v6_grow(struct geo_tables *t)
{
	uint32_t cap = t->node6_cap ? t->node6_cap * 2 : 1024;
	uint32_t *p;

	if (cap > GEO6_NODE_MAX)
		cap = GEO6_NODE_MAX;
	if (cap == t->node6_cap) {
		errno = ENOSPC;
		return -1;
	}
	if ((p = realloc(t->node6, (size_t)cap * 256 * sizeof(*p))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	t->node6 = p;
	t->node6_cap = cap;
	return 0;
}

/* Returns a node filled with FILL; may move t->node6. */
static int64_t
geo_v6_node_alloc(struct geo_tables *t, uint32_t fill)
{
	uint32_t n, i, *e;

	if (t->node6_free != GEO6_NONE) {
		n = t->node6_free;
		t->node6_free = t->node6[(size_t)n << 8];
	} else {
		if (t->node6_used == t->node6_cap && geo_v6_grow(t) == -1)
			return -1;
		n = t->node6_used++;
	}
	e = &t->node6[(size_t)n << 8];
	for (i = 0; i < 256; i++)
		e[i] = fill;
	t->node6_live++;
	return n;
}

/* Frees the subtree under entry E, if E is a node (depth <= 14). */
static void
geo_v6_release(struct geo_tables *t, uint32_t e)
{
	uint32_t n, i;

	if ((e & GEO6_TAG_MASK) != GEO6_NODE)
		return;
	n = e & GEO6_VAL_MASK;
	for (i = 0; i < 256; i++)
		geo_v6_release(t, t->node6[((size_t)n << 8) | i]);
	t->node6[(size_t)n << 8] = t->node6_free;
	t->node6_free = n;
	t->node6_live--;
}

static void
geo_v6_fill(struct geo_tables *t, uint32_t pnode, uint32_t first, uint32_t n,
    uint32_t ent)
{
	uint32_t i, *slot;

	for (i = first; i < first + n; i++) {
		slot = GEO6_SLOT(t, pnode, i);
		geo_v6_release(t, *slot);
		*slot = ent;
	}
}

/* Writes ENT over A/PLEN, splitting leaves into nodes on the way down. */
static int
geo_v6_put(struct geo_tables *t, const uint8_t a[16], unsigned plen,
    uint32_t ent)
{
	uint32_t pnode = GEO6_NONE, idx = ((uint32_t)a[0] << 8) | a[1];
	unsigned depth = 0, stride = 16;
	uint32_t *slot;
	int64_t n;

	while (plen > depth + stride) {
		slot = GEO6_SLOT(t, pnode, idx);
		if ((*slot & GEO6_TAG_MASK) != GEO6_NODE) {
			if ((n = geo_v6_node_alloc(t, *slot)) == -1)
				return -1;
			/* The allocation may have moved the slot. */
			*GEO6_SLOT(t, pnode, idx) = GEO6_NODE | (uint32_t)n;
		}
		pnode = *GEO6_SLOT(t, pnode, idx) & GEO6_VAL_MASK;
		depth += stride;
		stride = 8;
		idx = a[depth / 8];
	}
	/* The last PLEN - DEPTH bits choose a run of entries in this level. */
	idx &= ~((1u << (depth + stride - plen)) - 1);
	geo_v6_fill(t, pnode, idx, 1u << (depth + stride - plen), ent);
	return 0;
}

int
geo_v6_set(struct geo_tables *t, const uint8_t addr[16], unsigned plen,
    geo_cc_t cc)
{
	if (plen > 128 || cc >= GEO_CC_MAX) {
		errno = EINVAL;
		return -1;
	}
	return geo_v6_put(t, addr, plen, GEO6_LEAF | cc);
}

int
geo_v6_set_alias(struct geo_tables *t, const uint8_t addr[16], unsigned plen,
    unsigned off, int inverted)
{
	if (plen > 128 || off > 96) {
		errno = EINVAL;
		return -1;
	}
	return geo_v6_put(t, addr, plen,
	    GEO6_ALIAS | off | (inverted ? GEO6_ALIAS_INV : 0));
}

int
geo_v6_set_alias4(struct geo_tables *t, const uint8_t addr[16], unsigned plen)
{
	if (plen > 96) {
		errno = EINVAL;
		return -1;
	}
	return geo_v6_set_alias(t, addr, plen, plen, 0);
}

/* The 32 bits of A starting at bit OFF (OFF <= 96). */
static inline uint32_t
geo_v6_embedded4(const uint8_t a[16], unsigned off)
{
	unsigned b = off >> 3, sh = off & 7;
	uint32_t v;

	v = (uint32_t)a[b] << 24 | (uint32_t)a[b + 1] << 16 |
	    (uint32_t)a[b + 2] << 8 | a[b + 3];
	if (sh != 0)
		v = v << sh | a[b + 4] >> (8 - sh);
	return v;
}

/* The IPv4 address an alias entry's value VAL designates in A. */
static inline uint32_t
geo_v6_alias_addr(const uint8_t a[16], uint32_t val)
{
	uint32_t v = geo_v6_embedded4(a, val & GEO6_ALIAS_OFF);

	return val & GEO6_ALIAS_INV ? ~v : v;
}

geo_cc_t
geo_lookup6(const struct geo_tables *t, const uint8_t addr[16])
{
	uint32_t e = t->root6[GEO6_ROOT_IDX(addr)];
	unsigned i = 2;

	/* Nodes only exist above prefixes of <= 128 bits: i stays < 16. */
	while ((e & GEO6_TAG_MASK) == GEO6_NODE)
		e = *GEO6_NEXT(t, e, addr, i++);
	if (__builtin_expect((e & GEO6_TAG_MASK) == GEO6_LEAF, 1))
		return (geo_cc_t)e;
	return geo_v4_get(t, geo_v6_alias_addr(addr, e & GEO6_VAL_MASK));
}

/*
 * Up to GEO6_BULK_CHUNK walks in lockstep, one trie level per round; the
 * walks still inside nodes are kept in a list so that a round touches
 * only them.
 */
static void
geo_v6_chunk(const struct geo_tables *t, const uint8_t *const *a, geo_cc_t *cc,
    unsigned n)
{
	uint32_t e[GEO6_BULK_CHUNK];
	uint8_t act[GEO6_BULK_CHUNK], d = 2;
	unsigned i, k, na = 0, nn;

	for (i = 0; i < n; i++)
		__builtin_prefetch(&t->root6[GEO6_ROOT_IDX(a[i])]);
	for (i = 0; i < n; i++) {
		e[i] = t->root6[GEO6_ROOT_IDX(a[i])];
		act[na] = i;
		na += (e[i] & GEO6_TAG_MASK) == GEO6_NODE;
	}
	/* All walks in a round are at the same depth D. */
	for (; na > 0; d++) {
		for (k = 0; k < na; k++) {
			i = act[k];
			__builtin_prefetch(GEO6_NEXT(t, e[i], a[i], d));
		}
		for (k = nn = 0; k < na; k++) {
			i = act[k];
			e[i] = *GEO6_NEXT(t, e[i], a[i], d);
			act[nn] = i;
			nn += (e[i] & GEO6_TAG_MASK) == GEO6_NODE;
		}
		na = nn;
	}
	for (i = 0; i < n; i++)
		cc[i] = (e[i] & GEO6_TAG_MASK) == GEO6_LEAF
		            ? (geo_cc_t)e[i]
		            : geo_v4_get(t, geo_v6_alias_addr(a[i],
		                                e[i] & GEO6_VAL_MASK));
}

void
geo_lookup6_bulk(const struct geo_tables *t, const uint8_t *const *addr,
    geo_cc_t *cc, unsigned n)
{
	unsigned i, m;

	for (i = 0; i < n; i += m) {
		m = n - i < GEO6_BULK_CHUNK ? n - i : GEO6_BULK_CHUNK;
		geo_v6_chunk(t, addr + i, cc + i, m);
	}
}

/*
 * Copies the subtree under node N into T->node6 (the new array, being
 * filled), folding nodes whose entries all agree; returns the entry that
 * replaces N, or GEO6_NONE when out of memory.
 */
static uint32_t
geo_v6_pack(struct geo_tables *t, const uint32_t *old, uint32_t n)
{
	uint32_t e[256], i, uniform = 1;
	int64_t nn;

	for (i = 0; i < 256; i++) {
		e[i] = old[((size_t)n << 8) | i];
		if ((e[i] & GEO6_TAG_MASK) == GEO6_NODE) {
			e[i] = geo_v6_pack(t, old, e[i] & GEO6_VAL_MASK);
			if (e[i] == GEO6_NONE)
				return GEO6_NONE;
		}
		if (e[i] != e[0] || (e[i] & GEO6_TAG_MASK) == GEO6_NODE)
			uniform = 0;
	}
	if (uniform)
		return e[0];
	if ((nn = geo_v6_node_alloc(t, 0)) == -1)
		return GEO6_NONE;
	memcpy(&t->node6[(size_t)nn << 8], e, sizeof(e));
	return GEO6_NODE | (uint32_t)nn;
}

static uint32_t
geo_v6_count_nodes(const struct geo_tables *t, uint32_t n)
{
	uint32_t i, e, c = 1;

	for (i = 0; i < 256; i++) {
		e = t->node6[((size_t)n << 8) | i];
		if ((e & GEO6_TAG_MASK) == GEO6_NODE)
			c += geo_v6_count_nodes(t, e & GEO6_VAL_MASK);
	}
	return c;
}

/*
 * Moves the packed nodes into a block of the exact size, huge-page
 * backed: folding usually leaves much of the estimate unused.  Keeping
 * the first block is fine if that allocation fails.
 */
static void
geo_v6_shrink(struct geo_tables *nt)
{
	size_t bytes = (size_t)nt->node6_used * 256 * sizeof(uint32_t);
	uint32_t *p;

	if (nt->node6_used == 0) {
		free(nt->node6);
		nt->node6 = NULL;
		return;
	}
	if ((p = geo_mem_alloc(bytes)) == NULL)
		return;
	memcpy(p, nt->node6, bytes);
	free(nt->node6);
	nt->node6 = p;
}

int
geo_v6_compact(struct geo_tables *t)
{
	uint32_t *old = t->node6, *root, i, e, cap = 0;
	struct geo_tables nt;

	/* Sized up front so that packing never reallocates. */
	for (i = 0; i < GEO6_ROOT_SIZE; i++) {
		e = t->root6[i];
		if ((e & GEO6_TAG_MASK) == GEO6_NODE)
			cap += geo_v6_count_nodes(t, e & GEO6_VAL_MASK);
	}
	memset(&nt, 0, sizeof(nt));
	nt.node6_free = GEO6_NONE;
	nt.node6_cap = cap;
	root = malloc(GEO6_ROOT_SIZE * sizeof(*root));
	if (cap > 0)
		nt.node6 = malloc((size_t)cap * 256 * sizeof(uint32_t));
	if (root == NULL || (cap > 0 && nt.node6 == NULL))
		goto nomem;
	for (i = 0; i < GEO6_ROOT_SIZE; i++) {
		e = t->root6[i];
		if ((e & GEO6_TAG_MASK) == GEO6_NODE &&
		    (e = geo_v6_pack(&nt, old, e & GEO6_VAL_MASK)) == GEO6_NONE)
			goto nomem;
		root[i] = e;
	}
	free(t->root6);
	free(old);
	t->root6 = root;
	geo_v6_shrink(&nt);
	t->node6 = nt.node6;
	t->node6_cap = t->node6_used = t->node6_live = nt.node6_used;
	t->node6_free = GEO6_NONE;
	return 0;

nomem:
	free(root);
	free(nt.node6);
	errno = ENOMEM;
	return -1;
}
