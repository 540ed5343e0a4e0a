/*
 * The built-in prefixes of the geo compiler: special-purpose address
 * blocks (a sub-region of "special" each) and the IPv6 prefixes that
 * carry an IPv4 address (aliases into the IPv4 table).
 */
#ifndef CORDON_GEO_SPECIAL_H
#define CORDON_GEO_SPECIAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/geo/geo.h"

struct geo_builtin {
	uint8_t af; /* 4 or 6 */
	uint8_t plen;
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, network order */
	geo_cc_t cc;      /* a sub-region; GEO_CC_UNKNOWN: an alias */
	uint8_t off;      /* alias: bit where the IPv4 address is */
	uint8_t inverted; /* alias: stored inverted (Teredo) */
	const char *what; /* the registry's name for it */
};

/* The I-th built-in prefix in write order (outer before inner), or NULL. */
const struct geo_builtin *geo_builtin_get(unsigned i);
/*
 * The innermost built-in prefix that holds AF ADDR/PLEN whole (the one
 * written last), or NULL: what decides such an address after the build.
 */
const struct geo_builtin *geo_builtin_find(unsigned af, const uint8_t addr[16],
    unsigned plen);
/*
 * Where AF ADDR/PLEN lies: GEO_IN_NONE outside every built-in prefix,
 * GEO_IN_ALIAS inside an IPv4-embedding prefix, else GEO_IN_SPECIAL
 * inside a special-purpose block.  The compiler writes the overrides of
 * each kind after the built-ins they lie in (geo_build.c).
 */
enum geo_in { GEO_IN_NONE, GEO_IN_SPECIAL, GEO_IN_ALIAS };
enum geo_in geo_builtin_in(unsigned af, const uint8_t addr[16], unsigned plen);
/*
 * Writes the built-in prefixes of one kind over T, in order: the
 * special-purpose blocks (GEO_IN_SPECIAL) or the aliases (GEO_IN_ALIAS).
 * 0, or -1 with a message in ERR.
 */
int geo_builtins_apply(struct geo_tables *t, enum geo_in kind, char *err,
    size_t errlen);

#endif
