/*
 * Private to core/geo: the layout of struct geo_tables and the
 * inline cores that geo_lookup4() and geo_lookup6() share.
 */
#ifndef CORDON_GEO_IMPL_H
#define CORDON_GEO_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "core/geo/geo.h"

/*
 * A table value below GEO_CC_MAX is a country without classes; from
 * GEO_CC_MAX up to GEO_CC_MAX + GEO_LAB_MAX it is a label, the index
 * (less GEO_CC_MAX) of a (country, classes) pair in lab[].
 *
 * IPv4, DIR-24-8: a tbl24 entry below GEO_TBL8_BASE is a value; from
 * GEO_TBL8_BASE up it names a group of 256 tbl8 entries for a /24 that is
 * split further.  Values need 12 bits, so 16-bit entries leave room for
 * 61440 groups (the real whois database needs about 16k).  Free groups
 * are chained through their first entry.
 */
#define GEO_TBL24_SIZE (1u << 24)
#define GEO_TBL8_BASE  (GEO_CC_MAX + GEO_LAB_MAX)
#define GEO_TBL8_MAX   (65536u - GEO_TBL8_BASE)
#define GEO_IS_TBL8(e) ((e) >= GEO_TBL8_BASE)
#define GEO_TBL8_NONE  0xffffu /* end of the free chain */

/*
 * IPv6: a 2^16-entry root indexed by the first 16 bits, then nodes of
 * 256 entries, one per byte.  The top two bits of an entry say what the
 * rest is: a country, a child node, or "the IPv4 address that starts at
 * bit N of this address" (an alias into the IPv4 table).
 */
#define GEO6_ROOT_SIZE (1u << 16)
#define GEO6_TAG_MASK  0xc0000000u
#define GEO6_LEAF      0x00000000u
#define GEO6_NODE      0x40000000u
#define GEO6_ALIAS     0x80000000u
#define GEO6_VAL_MASK  0x3fffffffu
/* In an alias: the IPv4 address is stored inverted (Teredo clients). */
#define GEO6_ALIAS_INV 0x100u
#define GEO6_ALIAS_OFF 0xffu
#define GEO6_NODE_MAX  0x3fffffffu
#define GEO6_NONE      0xffffffffu /* end of the free chain */

_Static_assert(GEO_CC_MAX < GEO_TBL8_BASE, "countries overlap tbl8 groups");

struct geo_lab {
	uint16_t cc;
	uint16_t pad;
	geo_cls_t cls;
};

/* Build-time index of lab[] by pair: slots hold label + 1, 0 is free. */
#define GEO_LABHASH_SIZE 8192u
_Static_assert(GEO_LABHASH_SIZE >= 2 * GEO_LAB_MAX, "label hash too small");

struct geo_tables {
	uint16_t *tbl24;
	uint16_t *tbl8;
	uint32_t tbl8_cap;  /* groups allocated */
	uint32_t tbl8_used; /* groups ever handed out (high water) */
	uint32_t tbl8_live; /* groups in use */
	uint32_t tbl8_free; /* head of the free chain */

	uint32_t *root6;
	uint32_t *node6;
	uint32_t node6_cap;
	uint32_t node6_used;
	uint32_t node6_live;
	uint32_t node6_free;

	struct geo_lab *lab; /* GEO_LAB_MAX pairs */
	uint32_t nlab;
	uint16_t *labhash; /* NULL when imported (read-only) */
	struct geo_classes cls;

	uint8_t borrowed; /* arrays belong to an imported blob */
	uint64_t serial;  /* geo_tables_serial() */
	void *blob;       /* that blob when the tables own it */
};

/*
 * Memory for the big arrays: 2 MiB aligned and advised for transparent
 * huge pages when large, because lookups are random and a 4 KiB TLB
 * entry per miss would cost as much as the miss itself.  free() it.
 */
void *geo_mem_alloc(size_t bytes);

int geo_lab_init(struct geo_tables *t);
void geo_lab_fini(struct geo_tables *t);
int geo_v4_init(struct geo_tables *t);
void geo_v4_fini(struct geo_tables *t);
int geo_v4_compact(struct geo_tables *t);
int geo_v6_init(struct geo_tables *t);
void geo_v6_fini(struct geo_tables *t);
int geo_v6_compact(struct geo_tables *t);

/* The value (country or label) of tables entry A. */
static inline uint32_t
geo_v4_get(const struct geo_tables *t, uint32_t a)
{
	uint16_t e = t->tbl24[a >> 8];

	if (GEO_IS_TBL8(e))
		e = t->tbl8[((uint32_t)(e - GEO_TBL8_BASE) << 8) | (a & 0xff)];
	return e;
}

static inline geo_cc_t
geo_val_cc(const struct geo_tables *t, uint32_t v)
{
	return __builtin_expect(v < GEO_CC_MAX, 1) ? (geo_cc_t)v
	                                           : t->lab[v - GEO_CC_MAX].cc;
}

static inline geo_cls_t
geo_val_cls(const struct geo_tables *t, uint32_t v)
{
	return __builtin_expect(v < GEO_CC_MAX, 1) ? 0
	                                           : t->lab[v - GEO_CC_MAX].cls;
}

/*
 * CC[0..N) hold values: turns them into countries, with their classes
 * into CLS (may be NULL).  Nearly free on tables without classes.
 */
void geo_vals_split(const struct geo_tables *t, geo_cc_t *cc, geo_cls_t *cls,
    unsigned n);

/* The value for V's country with classes BITS added; -1 with ENOSPC. */
int64_t geo_val_or(struct geo_tables *t, uint32_t v, geo_cls_t bits);

#endif
