/*
 * The inverse of the geolocation tables: which addresses a set of
 * countries covers, as merged ranges per family, for the kernel's
 * interval sets.  It walks the compiled tables (the DIR-24-8 table and
 * the IPv6 trie) rather than the MMDB, so that the kernel enforces
 * exactly what cordon-dp and `cordonctl lookup` answer, overrides and
 * IPv4-in-IPv6 aliases included.  That needs the tables' layout, hence
 * geo_impl.h; nothing here writes to them.
 */
#include <stdlib.h>
#include <string.h>

#include "control/nft/nft_int.h"
#include "core/geo/geo_impl.h"

static nft_u128
nft_ones(unsigned bits)
{
	return bits >= 128 ? ~(nft_u128)0 : ((nft_u128)1 << bits) - 1;
}

/*
 * V (N of CAP elements of SIZE) with room for one more: V itself, a
 * larger copy (CAP updated), or NULL (ENOMEM) with V left as it was.
 */
static void *
nft_iv_grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? *cap * 2 : 1024;

	if (n < *cap)
		return v;
	if ((v = realloc(v, c * size)) != NULL)
		*cap = c;
	return v;
}

int
nft_iv4_add(struct nft_ivs *l, uint32_t lo, uint32_t hi)
{
	void *p;

	/* Ranges come in ascending order: one reaching the top holds all. */
	if (l->n4 > 0 && l->v4[l->n4 - 1].hi == UINT32_MAX)
		return 0;
	if (l->n4 > 0 && l->v4[l->n4 - 1].hi + 1 >= lo) {
		if (hi > l->v4[l->n4 - 1].hi)
			l->v4[l->n4 - 1].hi = hi;
		return 0;
	}
	if ((p = nft_iv_grow(l->v4, l->n4, &l->cap4, sizeof(*l->v4))) == NULL)
		return -1;
	l->v4 = p;
	l->v4[l->n4++] = (struct nft_iv4){ lo, hi };
	return 0;
}

int
nft_iv6_add(struct nft_ivs *l, nft_u128 lo, nft_u128 hi)
{
	void *p;

	if (l->n6 > 0 && l->v6[l->n6 - 1].hi == ~(nft_u128)0)
		return 0;
	if (l->n6 > 0 && l->v6[l->n6 - 1].hi + 1 >= lo) {
		if (hi > l->v6[l->n6 - 1].hi)
			l->v6[l->n6 - 1].hi = hi;
		return 0;
	}
	if ((p = nft_iv_grow(l->v6, l->n6, &l->cap6, sizeof(*l->v6))) == NULL)
		return -1;
	l->v6 = p;
	l->v6[l->n6++] = (struct nft_iv6){ lo, hi };
	return 0;
}

void
nft_ivs_free(struct nft_ivs *l)
{
	free(l->v4);
	free(l->v6);
	memset(l, 0, sizeof(*l));
}

static int
nft_walk4(const struct geo_tables *g, const struct conf_ccset *s,
    struct nft_ivs *out)
{
	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = g->tbl24[i];
		const uint16_t *t8;

		if (!GEO_IS_TBL8(e)) {
			if (conf_ccset_has(s, e) &&
			    nft_iv4_add(out, i << 8, i << 8 | 0xff) < 0)
				return -1;
			continue;
		}
		t8 = g->tbl8 + ((uint32_t)(e - GEO_TBL8_BASE) << 8);
		for (uint32_t j = 0; j < 256; j++)
			if (conf_ccset_has(s, t8[j]) &&
			    nft_iv4_add(out, i << 8 | j, i << 8 | j) < 0)
				return -1;
	}
	return 0;
}

/*
 * An alias entry at BASE/PLEN reads the IPv4 address at bit OFF: each
 * IPv4 range of the set is one IPv6 range there (reversed when
 * inverted).  PLEN may pass OFF when a more specific write split the
 * alias (the special-purpose ::/128 and ::1 inside ::/96): the bits
 * between fix a prefix of the (stored) IPv4 address, and only the part
 * of each range under that prefix is there.
 */
static int
nft_alias6(struct nft_ivs *out, nft_u128 base, unsigned plen, unsigned off,
    bool inv)
{
	unsigned sh = 96 - off, k = plen - off;
	nft_u128 top = base & ~nft_ones(128 - off);
	uint32_t span = k == 0 ? UINT32_MAX : (1u << (32 - k)) - 1;
	uint32_t fix = (uint32_t)(base >> sh) & ~span;
	size_t n = out->n4;

	for (size_t i = 0; i < n; i++) {
		const struct nft_iv4 *v = &out->v4[inv ? n - 1 - i : i];
		uint32_t lo = inv ? ~v->hi : v->lo, hi = inv ? ~v->lo : v->hi;

		if (hi < fix || lo > (fix | span))
			continue;
		lo = lo < fix ? fix : lo;
		hi = hi > (fix | span) ? fix | span : hi;
		if (nft_iv6_add(out, top | (nft_u128)lo << sh,
		    top | (nft_u128)hi << sh | nft_ones(sh)) < 0)
			return -1;
	}
	return 0;
}

static int
nft_walk6(const struct geo_tables *g, const struct conf_ccset *s,
    uint32_t e, nft_u128 base, unsigned plen, struct nft_ivs *out)
{
	const uint32_t *node;
	unsigned off;

	switch (e & GEO6_TAG_MASK) {
	case GEO6_LEAF:
		if (!conf_ccset_has(s, (geo_cc_t)(e & GEO6_VAL_MASK)))
			return 0;
		return nft_iv6_add(out, base, base | nft_ones(128 - plen));
	case GEO6_ALIAS:
		/* Free bits before the IPv4 field (Teredo): not a range. */
		off = e & GEO6_ALIAS_OFF;
		if (off > plen || plen > off + 32 || off > 96)
			return 0;
		return nft_alias6(out, base, plen, off,
		    (e & GEO6_ALIAS_INV) != 0);
	case GEO6_NODE:
		node = g->node6 + (size_t)(e & GEO6_VAL_MASK) * 256;
		for (unsigned b = 0; b < 256; b++) {
			/* Most entries are countries outside the set. */
			if ((node[b] & GEO6_TAG_MASK) == GEO6_LEAF &&
			    !conf_ccset_has(s, (geo_cc_t)(node[b] &
			    GEO6_VAL_MASK)))
				continue;
			if (nft_walk6(g, s, node[b], base |
			    (nft_u128)b << (120 - plen), plen + 8, out) < 0)
				return -1;
		}
		return 0;
	}
	return 0;
}

int
nft_iv_export(const struct geo_tables *g, const struct conf_ccset *s,
    struct nft_ivs *out)
{
	memset(out, 0, sizeof(*out));
	if (nft_walk4(g, s, out) < 0)
		goto fail;
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++)
		if (nft_walk6(g, s, g->root6[i], (nft_u128)i << 112, 16,
		    out) < 0)
			goto fail;
	return 0;
fail:
	nft_ivs_free(out);
	return -1;
}
