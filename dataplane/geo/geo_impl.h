/*
 * Private to dataplane/geo: the layout of struct geo_tables and the
 * inline cores that geo_lookup4() and geo_lookup6() share.
 */
#ifndef CORDON_GEO_IMPL_H
#define CORDON_GEO_IMPL_H

#include <stdint.h>

#include "dataplane/geo/geo.h"

/*
 * IPv4, DIR-24-8: tbl24 holds a country, or (GEO_TBL8_FLAG | group) for
 * a /24 that is split further; a group is 256 entries of tbl8.  Free
 * groups are chained through their first entry.
 */
#define GEO_TBL24_SIZE	(1u << 24)
#define GEO_TBL8_FLAG	0x8000u
#define GEO_TBL8_MAX	0x8000u		/* 15 bits of group index */
#define GEO_TBL8_NONE	0xffffu		/* end of the free chain */

/*
 * IPv6: a 2^16-entry root indexed by the first 16 bits, then nodes of
 * 256 entries, one per byte.  The top two bits of an entry say what the
 * rest is: a country, a child node, or "the IPv4 address that starts at
 * bit N of this address" (an alias into the IPv4 table).
 */
#define GEO6_ROOT_SIZE	(1u << 16)
#define GEO6_TAG_MASK	0xc0000000u
#define GEO6_LEAF	0x00000000u
#define GEO6_NODE	0x40000000u
#define GEO6_ALIAS	0x80000000u
#define GEO6_VAL_MASK	0x3fffffffu
#define GEO6_NODE_MAX	0x3fffffffu
#define GEO6_NONE	0xffffffffu	/* end of the free chain */

struct geo_tables {
	uint16_t *tbl24;
	uint16_t *tbl8;
	uint32_t tbl8_cap;	/* groups allocated */
	uint32_t tbl8_used;	/* groups ever handed out (high water) */
	uint32_t tbl8_live;	/* groups in use */
	uint32_t tbl8_free;	/* head of the free chain */

	uint32_t *root6;
	uint32_t *node6;
	uint32_t node6_cap;
	uint32_t node6_used;
	uint32_t node6_live;
	uint32_t node6_free;
};

int geo_v4_init(struct geo_tables *t);
void geo_v4_fini(struct geo_tables *t);
int geo_v4_compact(struct geo_tables *t);
int geo_v6_init(struct geo_tables *t);
void geo_v6_fini(struct geo_tables *t);
int geo_v6_compact(struct geo_tables *t);

static inline geo_cc_t
geo_v4_get(const struct geo_tables *t, uint32_t a)
{
	uint16_t e = t->tbl24[a >> 8];

	if (e & GEO_TBL8_FLAG)
		e = t->tbl8[((uint32_t)(e & ~GEO_TBL8_FLAG) << 8) | (a & 0xff)];
	return e;
}

#endif
