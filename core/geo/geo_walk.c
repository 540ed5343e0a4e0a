/*
 * Walking the compiled tables for what a set of countries covers (the
 * DIR-24-8 table, then the IPv6 trie): how the nftables backend's
 * interval sets come to hold exactly what the fast path and `cordonctl
 * lookup` answer.  Reads the layout of geo_impl.h so that nothing
 * outside core/geo has to; never writes.
 */
#include <string.h>

#include "core/geo/geo_impl.h"

static bool
geo_walk_has(const struct geo_walk *w, geo_cc_t cc)
{
	return cc < GEO_CC_MAX && (w->set[cc / 64] >> (cc % 64)) & 1;
}

/* Adjacent IPv4 entries of the set become one range. */
struct geo_run4 {
	bool open;
	uint32_t lo, hi;
};

static int
geo_run4_add(const struct geo_walk *w, struct geo_run4 *r, uint32_t lo,
    uint32_t hi)
{
	int rc;

	if (r->open && r->hi + 1 == lo) {
		r->hi = hi;
		return 0;
	}
	if (r->open && (rc = w->v4(w->arg, r->lo, r->hi)) != 0)
		return rc;
	*r = (struct geo_run4){ true, lo, hi };
	return 0;
}

static int
geo_walk4(const struct geo_tables *t, const struct geo_walk *w)
{
	struct geo_run4 r = { false, 0, 0 };
	int rc;

	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = t->tbl24[i];
		const uint16_t *t8;

		if (!GEO_IS_TBL8(e)) {
			if (geo_walk_has(w, e) &&
			    (rc = geo_run4_add(w, &r, i << 8, i << 8 | 0xff)))
				return rc;
			continue;
		}
		t8 = t->tbl8 + ((uint32_t)(e - GEO_TBL8_BASE) << 8);
		for (uint32_t j = 0; j < 256; j++)
			if (geo_walk_has(w, t8[j]) &&
			    (rc = geo_run4_add(w, &r, i << 8 | j, i << 8 | j)))
				return rc;
	}
	return r.open ? w->v4(w->arg, r.lo, r.hi) : 0;
}

/* Entry E covers BASE/PLEN (PLEN a multiple of 8, from 16 down). */
static int
geo_walk6(const struct geo_tables *t, const struct geo_walk *w, uint32_t e,
    uint8_t base[16], unsigned plen)
{
	const uint32_t *node;
	int rc;

	switch (e & GEO6_TAG_MASK) {
	case GEO6_LEAF:
		if (!geo_walk_has(w, (geo_cc_t)(e & GEO6_VAL_MASK)))
			return 0;
		return w->v6(w->arg, base, plen);
	case GEO6_ALIAS:
		return w->alias6(w->arg, base, plen, e & GEO6_ALIAS_OFF,
		    (e & GEO6_ALIAS_INV) != 0);
	case GEO6_NODE:
		node = t->node6 + (size_t)(e & GEO6_VAL_MASK) * 256;
		for (unsigned b = 0; b < 256; b++) {
			/* Most entries are countries outside the set. */
			if ((node[b] & GEO6_TAG_MASK) == GEO6_LEAF &&
			    !geo_walk_has(w,
			        (geo_cc_t)(node[b] & GEO6_VAL_MASK)))
				continue;
			base[plen / 8] = (uint8_t)b;
			if ((rc = geo_walk6(t, w, node[b], base, plen + 8)))
				return rc;
		}
		base[plen / 8] = 0;
		return 0;
	}
	return 0;
}

int
geo_walk(const struct geo_tables *t, const struct geo_walk *w)
{
	uint8_t base[16];
	int rc;

	if ((rc = geo_walk4(t, w)) != 0)
		return rc;
	memset(base, 0, sizeof(base));
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++) {
		base[0] = (uint8_t)(i >> 8);
		base[1] = (uint8_t)i;
		if ((rc = geo_walk6(t, w, t->root6[i], base, 16)) != 0)
			return rc;
	}
	return 0;
}
