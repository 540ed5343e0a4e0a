/*
 * The inverse of the geolocation tables: which addresses a set of
 * countries covers, as merged ranges per family, for the kernel's
 * interval sets.  It walks the compiled tables (the DIR-24-8 table and
 * the IPv6 trie) rather than the MMDB, so that the kernel enforces
 * exactly what cordon-dp and `cordonctl lookup` answer, overrides and
 * IPv4-in-IPv6 aliases included.  geo_walk() reads the tables' layout;
 * this turns what it reports into ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "control/nft/nft_int.h"
#include "core/geo/geo.h"

_Static_assert(CONF_CC_WORDS == GEO_CC_WORDS, "country set sizes");

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
nft_walk4(void *arg, uint32_t lo, uint32_t hi)
{
	return nft_iv4_add(arg, lo, hi);
}

static int
nft_walk6(void *arg, const uint8_t base[16], unsigned plen)
{
	nft_u128 b = nft_bytes_u128(base);

	return nft_iv6_add(arg, b, b | nft_ones(128 - plen));
}

/*
 * An alias entry at BASE/PLEN reads the IPv4 address at bit OFF: each
 * IPv4 range of the set is one IPv6 range there (reversed when
 * inverted).  PLEN may pass OFF when a more specific write split the
 * alias (the special-purpose ::/128 and ::1 inside ::/96): the bits
 * between fix a prefix of the (stored) IPv4 address, and only the part
 * of each range under that prefix is there.
 */
/* The first of L's N ranges whose end is at least A (N: none). */
static size_t
nft_iv4_from(const struct nft_iv4 *l, size_t n, uint32_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l[mid].hi < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * An alias entry at BASE/PLEN reads the IPv4 address at bit OFF: each
 * IPv4 range of the set is one IPv6 range there (reversed when
 * inverted).  PLEN may pass OFF when a more specific write split the
 * alias (the special-purpose ::/128 and ::1 inside ::/96): the bits
 * between fix a prefix of the (stored) IPv4 address, and only the part
 * of each range under that prefix is there.  A split alias comes in
 * hundreds of pieces, so each looks up where its prefix starts rather
 * than walking every range.
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
	/* Inverted, the stored prefix is the complement of the address's. */
	size_t i = nft_iv4_from(out->v4, n, inv ? ~(fix | span) : fix);
	size_t end = i;

	while (end < n && out->v4[end].lo <= (inv ? ~fix : (fix | span)))
		end++;
	for (size_t q = 0; q < end - i; q++) {
		const struct nft_iv4 *v = &out->v4[inv ? end - 1 - q : i + q];
		uint32_t lo = inv ? ~v->hi : v->lo, hi = inv ? ~v->lo : v->hi;

		lo = lo < fix ? fix : lo;
		hi = hi > (fix | span) ? fix | span : hi;
		if (nft_iv6_add(out, top | (nft_u128)lo << sh,
		        top | (nft_u128)hi << sh | nft_ones(sh)) < 0)
			return -1;
	}
	return 0;
}

static int
nft_walk_alias6(void *arg, const uint8_t base[16], unsigned plen, unsigned off,
    bool inv)
{
	/* Free bits before the IPv4 field (Teredo): not a range. */
	if (off > plen || plen > off + 32 || off > 96)
		return 0;
	return nft_alias6(arg, nft_bytes_u128(base), plen, off, inv);
}

int
nft_iv_export(const struct geo_tables *g, const struct conf_ccset *s,
    struct nft_ivs *out)
{
	struct geo_walk w = { s->w, nft_walk4, nft_walk6, nft_walk_alias6, out,
		s->cls };

	memset(out, 0, sizeof(*out));
	if (geo_walk(g, &w) == 0)
		return 0;
	nft_ivs_free(out);
	return -1;
}
