/*
 * IPv4 geolocation table: DIR-24-8 written directly (no rule list kept),
 * so a later write simply replaces what was there.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/geo/geo.h"
#include "core/geo/geo_impl.h"

/* Burst size of the bulk lookup: one prefetch wave per chunk. */
#define GEO_BULK_CHUNK 32

int
geo_v4_init(struct geo_tables *t)
{
	t->tbl24 = geo_mem_alloc(GEO_TBL24_SIZE * sizeof(t->tbl24[0]));
	if (t->tbl24 == NULL)
		return -1;
	/* Zero is GEO_CC_UNKNOWN. */
	memset(t->tbl24, 0, GEO_TBL24_SIZE * sizeof(t->tbl24[0]));
	t->tbl8 = NULL;
	t->tbl8_cap = t->tbl8_used = t->tbl8_live = 0;
	t->tbl8_free = GEO_TBL8_NONE;
	return 0;
}

void
geo_v4_fini(struct geo_tables *t)
{
	free(t->tbl24);
	free(t->tbl8);
	t->tbl24 = NULL;
	t->tbl8 = NULL;
}

static int
geo_v4_grow(struct geo_tables *t)
{
	uint32_t cap = t->tbl8_cap ? t->tbl8_cap * 2 : 256;
	uint16_t *p;

	if (cap > GEO_TBL8_MAX)
		cap = GEO_TBL8_MAX;
	if (cap == t->tbl8_cap) {
		errno = ENOSPC;
		return -1;
	}
	if ((p = realloc(t->tbl8, (size_t)cap * 256 * sizeof(*p))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	t->tbl8 = p;
	t->tbl8_cap = cap;
	return 0;
}

/* Returns a group filled with FILL, or -1 (ENOSPC, ENOMEM). */
static int
geo_v4_group_alloc(struct geo_tables *t, uint16_t fill)
{
	uint32_t g;
	uint16_t *grp;
	unsigned i;

	if (t->tbl8_free != GEO_TBL8_NONE) {
		g = t->tbl8_free;
		t->tbl8_free = t->tbl8[g << 8];
	} else {
		if (t->tbl8_used == t->tbl8_cap && geo_v4_grow(t) == -1)
			return -1;
		g = t->tbl8_used++;
	}
	grp = &t->tbl8[g << 8];
	for (i = 0; i < 256; i++)
		grp[i] = fill;
	t->tbl8_live++;
	return (int)g;
}

static void
geo_v4_group_free(struct geo_tables *t, uint32_t g)
{
	t->tbl8[g << 8] = (uint16_t)t->tbl8_free;
	t->tbl8_free = g;
	t->tbl8_live--;
}

static void
geo_v4_set24(struct geo_tables *t, uint32_t first, uint32_t n, geo_cc_t cc)
{
	uint32_t i;
	uint16_t e;

	for (i = first; i < first + n; i++) {
		e = t->tbl24[i];
		if (GEO_IS_TBL8(e))
			geo_v4_group_free(t, e - GEO_TBL8_BASE);
		t->tbl24[i] = cc;
	}
}

static int
geo_v4_uniform(const uint16_t *grp)
{
	unsigned i;

	for (i = 1; i < 256; i++)
		if (grp[i] != grp[0])
			return 0;
	return 1;
}

/* A prefix longer than /24: write inside one group, folding it if whole. */
static int
geo_v4_set8(struct geo_tables *t, uint32_t addr, unsigned plen, geo_cc_t cc)
{
	uint32_t i24 = addr >> 8, first = addr & 0xff, n, g, i;
	uint16_t *grp;
	int r;

	if (!GEO_IS_TBL8(t->tbl24[i24])) {
		if (t->tbl24[i24] == cc)
			return 0;
		if ((r = geo_v4_group_alloc(t, t->tbl24[i24])) == -1)
			return -1;
		t->tbl24[i24] = (uint16_t)(GEO_TBL8_BASE + r);
	}
	g = t->tbl24[i24] - GEO_TBL8_BASE;
	grp = &t->tbl8[g << 8];
	n = 1u << (32 - plen);
	for (i = first; i < first + n; i++)
		grp[i] = cc;
	if (geo_v4_uniform(grp)) {
		t->tbl24[i24] = grp[0];
		geo_v4_group_free(t, g);
	}
	return 0;
}

int
geo_v4_set(struct geo_tables *t, uint32_t addr, unsigned plen, geo_cc_t cc)
{
	if (plen > 32 || cc >= GEO_CC_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (plen == 0)
		addr = 0;
	else
		addr &= ~0u << (32 - plen);
	if (plen > 24)
		return geo_v4_set8(t, addr, plen, cc);
	geo_v4_set24(t, addr >> 8, 1u << (24 - plen), cc);
	return 0;
}

/* Renumbers live groups densely and gives the holes back. */
int
geo_v4_compact(struct geo_tables *t)
{
	uint16_t *n8 = NULL;
	uint32_t i, g, ng = 0;

	if (t->tbl8_live > 0) {
		n8 = geo_mem_alloc((size_t)t->tbl8_live * 256 * sizeof(*n8));
		if (n8 == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	for (i = 0; i < GEO_TBL24_SIZE; i++) {
		if (!GEO_IS_TBL8(t->tbl24[i]))
			continue;
		g = t->tbl24[i] - GEO_TBL8_BASE;
		memcpy(&n8[ng << 8], &t->tbl8[g << 8], 256 * sizeof(*n8));
		t->tbl24[i] = (uint16_t)(GEO_TBL8_BASE + ng++);
	}
	free(t->tbl8);
	t->tbl8 = n8;
	t->tbl8_cap = t->tbl8_used = t->tbl8_live = ng;
	t->tbl8_free = GEO_TBL8_NONE;
	return 0;
}

geo_cc_t
geo_lookup4(const struct geo_tables *t, uint32_t addr)
{
	return geo_v4_get(t, addr);
}

/*
 * Three passes per chunk so that the misses overlap: prefetch every
 * tbl24 line, then read them and prefetch the tbl8 lines the split /24s
 * need, then read those.
 */
static void
geo_v4_chunk(const struct geo_tables *t, const uint32_t *addr, geo_cc_t *cc,
    unsigned n)
{
	uint32_t ix[GEO_BULK_CHUNK];
	unsigned i;
	uint16_t e;

	for (i = 0; i < n; i++)
		__builtin_prefetch(&t->tbl24[addr[i] >> 8]);
	for (i = 0; i < n; i++) {
		e = t->tbl24[addr[i] >> 8];
		if (!GEO_IS_TBL8(e)) {
			cc[i] = e;
			ix[i] = UINT32_MAX;
			continue;
		}
		ix[i] = ((uint32_t)(e - GEO_TBL8_BASE) << 8) | (addr[i] & 0xff);
		__builtin_prefetch(&t->tbl8[ix[i]]);
	}
	for (i = 0; i < n; i++)
		if (ix[i] != UINT32_MAX)
			cc[i] = t->tbl8[ix[i]];
}

void
geo_lookup4_bulk(const struct geo_tables *t, const uint32_t *addr, geo_cc_t *cc,
    unsigned n)
{
	unsigned i, m;

	for (i = 0; i < n; i += m) {
		m = n - i < GEO_BULK_CHUNK ? n - i : GEO_BULK_CHUNK;
		geo_v4_chunk(t, addr + i, cc + i, m);
	}
}
