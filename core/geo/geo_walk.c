/*
 * Walking the compiled tables for what a set of countries covers (the
 * DIR-24-8 table, then the IPv6 trie): how the nftables backend's
 * interval sets come to hold exactly what the fast path and `cordonctl
 * lookup` answer.  Reads the layout of geo_impl.h so that nothing
 * outside core/geo has to; never writes.
 */
#include <string.h>

#include "core/geo/geo_impl.h"

/* Is value V (a country, or a country/class label) in the walk's set? */
static bool
geo_walk_has(const struct geo_tables *t, const struct geo_walk *w, uint32_t v)
{
	geo_cc_t cc = geo_val_cc(t, v);

	return (cc < GEO_CC_MAX && (w->set[cc / 64] >> (cc % 64)) & 1) ||
	       (geo_val_cls(t, v) & w->cls) != 0;
}

/*
 * Which values are in the walk's set, worked out once: the walk tests
 * every one of the 16M tbl24 entries, and a bit test is several times
 * cheaper than the label lookups geo_walk_has() makes.
 */
struct geo_walk_map {
	uint64_t in[(GEO_TBL8_BASE + 63) / 64];
};

static void
geo_walk_map(const struct geo_tables *t, const struct geo_walk *w,
    struct geo_walk_map *m)
{
	memset(m, 0, sizeof(*m));
	for (uint32_t v = 0; v < GEO_TBL8_BASE; v++)
		if ((v < GEO_CC_MAX || v - GEO_CC_MAX < t->nlab) &&
		    geo_walk_has(t, w, v))
			m->in[v / 64] |= 1ull << (v % 64);
}

static inline bool
geo_walk_in(const struct geo_walk_map *m, uint32_t v)
{
	return v < GEO_TBL8_BASE && ((m->in[v / 64] >> (v % 64)) & 1);
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
geo_walk4(const struct geo_tables *t, const struct geo_walk *w,
    const struct geo_walk_map *m)
{
	struct geo_run4 r = { false, 0, 0 };
	int rc;

	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = t->tbl24[i];
		const uint16_t *t8;
		uint64_t q;

		/*
		 * Most of the table is long runs of one value: eight entries
		 * of the same value outside the set are skipped at once.
		 */
		if ((i & 7) == 0 && !GEO_IS_TBL8(e) && !geo_walk_in(m, e)) {
			uint64_t rep = 0x0001000100010001ull * e, q2;

			memcpy(&q, &t->tbl24[i], 8);
			memcpy(&q2, &t->tbl24[i + 4], 8);
			if (q == rep && q2 == rep) {
				i += 7;
				continue;
			}
		}
		if (!GEO_IS_TBL8(e)) {
			if (geo_walk_in(m, e) &&
			    (rc = geo_run4_add(w, &r, i << 8, i << 8 | 0xff)))
				return rc;
			continue;
		}
		t8 = t->tbl8 + ((uint32_t)(e - GEO_TBL8_BASE) << 8);
		for (uint32_t j = 0; j < 256; j++)
			if (geo_walk_in(m, t8[j]) &&
			    (rc = geo_run4_add(w, &r, i << 8 | j, i << 8 | j)))
				return rc;
	}
	return r.open ? w->v4(w->arg, r.lo, r.hi) : 0;
}

/*
 * Children S..E of the node at BASE/PLEN are leaves in the set: as few
 * aligned prefixes as cover them (one for a whole node), not a call per
 * child; the real database has millions of such children.
 */
static int
geo_walk6_run(const struct geo_walk *w, uint8_t base[16], unsigned plen,
    unsigned s, unsigned e)
{
	int rc;

	while (s <= e) {
		unsigned k = 8;

		while (k > 0 &&
		       ((s & ((1u << k) - 1)) != 0 || s + (1u << k) - 1 > e))
			k--;
		base[plen / 8] = (uint8_t)s;
		if ((rc = w->v6(w->arg, base, plen + 8 - k)) != 0)
			return rc;
		s += 1u << k;
	}
	base[plen / 8] = 0;
	return 0;
}

/* Entry E covers BASE/PLEN (PLEN a multiple of 8, from 16 down). */
static int
geo_walk6(const struct geo_tables *t, const struct geo_walk *w,
    const struct geo_walk_map *m, uint32_t e, uint8_t base[16], unsigned plen)
{
	const uint32_t *node;
	int rc;

	switch (e & GEO6_TAG_MASK) {
	case GEO6_LEAF:
		if (!geo_walk_in(m, e & GEO6_VAL_MASK))
			return 0;
		return w->v6(w->arg, base, plen);
	case GEO6_ALIAS:
		return w->alias6(w->arg, base, plen, e & GEO6_ALIAS_OFF,
		    (e & GEO6_ALIAS_INV) != 0);
	case GEO6_NODE:
		node = t->node6 + (size_t)(e & GEO6_VAL_MASK) * 256;
		for (unsigned b = 0, run = 0; b <= 256; b++) {
			bool leaf = b < 256 &&
			            (node[b] & GEO6_TAG_MASK) == GEO6_LEAF;

			/* Most entries are countries outside the set. */
			if (leaf && geo_walk_in(m, node[b] & GEO6_VAL_MASK))
				continue;
			if (run < b &&
			    (rc = geo_walk6_run(w, base, plen, run, b - 1)))
				return rc;
			run = b + 1;
			if (b == 256 || leaf)
				continue;
			base[plen / 8] = (uint8_t)b;
			if ((rc = geo_walk6(t, w, m, node[b], base, plen + 8)))
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
	struct geo_walk_map m;
	uint8_t base[16];
	int rc;

	geo_walk_map(t, w, &m);
	if ((rc = geo_walk4(t, w, &m)) != 0)
		return rc;
	memset(base, 0, sizeof(base));
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++) {
		base[0] = (uint8_t)(i >> 8);
		base[1] = (uint8_t)i;
		if ((rc = geo_walk6(t, w, &m, t->root6[i], base, 16)) != 0)
			return rc;
	}
	return 0;
}
