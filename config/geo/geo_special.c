/*
 * Built-in prefixes: the IANA special-purpose address registries (RFC
 * 6890 and its successors) and the IPv6 prefixes that carry an IPv4
 * address.  The compiler writes them after every database layer, so a
 * database never gives them a country; overrides inside them still win.
 * The aliases are written after the special-purpose blocks (and after
 * the overrides inside those), so that nothing but an override inside an
 * alias undoes one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/geo/geo_special.h"

#define V4(a, b, c, d, len, cc, what)                                          \
	{                                                                      \
		4, len, { a, b, c, d }, cc, 0, 0, what                         \
	}
/* An IPv6 prefix from its first three 16-bit groups. */
#define G16(x) (uint8_t)((x) >> 8), (uint8_t)((x)&0xff)
#define V6(g0, g1, g2, len, cc, what)                                          \
	{                                                                      \
		6, len, { G16(g0), G16(g1), G16(g2) }, cc, 0, 0, what          \
	}
#define V6_ADDR(a, len, cc, what)                                              \
	{                                                                      \
		6, len, a, cc, 0, 0, what                                      \
	}
/* The IPv4 address at bit OFF (inverted if INV) decides. */
#define ALIAS(g0, g1, g2, len, off, inv, what)                                 \
	{                                                                      \
		6, len, { G16(g0), G16(g1), G16(g2) }, GEO_CC_UNKNOWN, off,    \
		    inv, what                                                  \
	}

/*
 * In write order: a prefix inside another comes after it.  The aliases
 * sit inside special blocks (Teredo inside 2001::/23, the local-use
 * NAT64 /96 inside its /48) and are written after all of them, so that
 * an embedded special IPv4 address answers as its own special region
 * through the IPv4 table.
 */
static const struct geo_builtin geo_builtins[] = {
	V4(0, 0, 0, 0, 8, GEO_SP_RESERVED, "this network"),
	V4(10, 0, 0, 0, 8, GEO_SP_PRIVATE, "private-use"),
	V4(100, 64, 0, 0, 10, GEO_SP_SHARED, "shared address space"),
	V4(127, 0, 0, 0, 8, GEO_SP_LOOPBACK, "loopback"),
	V4(169, 254, 0, 0, 16, GEO_SP_LINK_LOCAL, "link local"),
	V4(172, 16, 0, 0, 12, GEO_SP_PRIVATE, "private-use"),
	V4(192, 0, 0, 0, 24, GEO_SP_PROTOCOL, "IETF protocol assignments"),
	V4(192, 0, 2, 0, 24, GEO_SP_DOCUMENTATION, "TEST-NET-1"),
	V4(192, 31, 196, 0, 24, GEO_SP_PROTOCOL, "AS112-v4"),
	V4(192, 52, 193, 0, 24, GEO_SP_PROTOCOL, "AMT"),
	V4(192, 88, 99, 0, 24, GEO_SP_PROTOCOL, "6to4 relay anycast"),
	V4(192, 168, 0, 0, 16, GEO_SP_PRIVATE, "private-use"),
	V4(192, 175, 48, 0, 24, GEO_SP_PROTOCOL, "AS112 direct delegation"),
	V4(198, 18, 0, 0, 15, GEO_SP_BENCHMARKING, "benchmarking"),
	V4(198, 51, 100, 0, 24, GEO_SP_DOCUMENTATION, "TEST-NET-2"),
	V4(203, 0, 113, 0, 24, GEO_SP_DOCUMENTATION, "TEST-NET-3"),
	V4(224, 0, 0, 0, 4, GEO_SP_MULTICAST, "multicast"),
	/* 255.255.255.255, limited broadcast, is inside. */
	V4(240, 0, 0, 0, 4, GEO_SP_RESERVED, "reserved"),

	V6_ADDR({ 0 }, 128, GEO_SP_RESERVED, "unspecified"),
	V6_ADDR({ [15] = 1 }, 128, GEO_SP_LOOPBACK, "loopback"),
	V6(0x0064, 0xff9b, 0x0001, 48, GEO_SP_RESERVED, "local-use NAT64"),
	V6(0x0100, 0, 0, 64, GEO_SP_RESERVED, "discard-only"),
	V6(0x2001, 0, 0, 23, GEO_SP_PROTOCOL, "IETF protocol assignments"),
	V6(0x2001, 0x0002, 0, 48, GEO_SP_BENCHMARKING, "benchmarking"),
	V6(0x2001, 0x0db8, 0, 32, GEO_SP_DOCUMENTATION, "documentation"),
	V6(0x2620, 0x004f, 0x8000, 48, GEO_SP_PROTOCOL,
	    "AS112 direct delegation"),
	V6(0x3fff, 0, 0, 20, GEO_SP_DOCUMENTATION, "documentation"),
	V6(0x5f00, 0, 0, 16, GEO_SP_RESERVED, "SRv6 SIDs"),
	V6(0xfc00, 0, 0, 7, GEO_SP_ULA, "unique local"),
	V6(0xfe80, 0, 0, 10, GEO_SP_LINK_LOCAL, "link-local unicast"),
	V6(0xff00, 0, 0, 8, GEO_SP_MULTICAST, "multicast"),

	/* The aliases, last: each lies inside a special block or in none. */
	{ 6, 96, { [10] = 0xff, [11] = 0xff }, GEO_CC_UNKNOWN, 96, 0,
	    "IPv4-mapped" },
	ALIAS(0x0064, 0xff9b, 0, 96, 96, 0, "NAT64"),
	ALIAS(0x0064, 0xff9b, 0x0001, 96, 96, 0, "local-use NAT64 /96"),
	/* RFC 4380: the client's address, inverted, in the last 32 bits. */
	ALIAS(0x2001, 0, 0, 32, 96, 1, "Teredo"),
	ALIAS(0x2002, 0, 0, 16, 16, 0, "6to4"),
};

#define GEO_NBUILTINS (sizeof(geo_builtins) / sizeof(geo_builtins[0]))

/* Does AF ADDR/PLEN lie inside built-in prefix B (or equal it)? */
static int
geo_builtin_has(const struct geo_builtin *b, unsigned af,
    const uint8_t addr[16], unsigned plen)
{
	unsigned i;

	if (b->af != af || plen < b->plen)
		return 0;
	for (i = 0; i < b->plen; i++)
		if (((addr[i / 8] ^ b->addr[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

const struct geo_builtin *
geo_builtin_get(unsigned i)
{
	return i < GEO_NBUILTINS ? &geo_builtins[i] : NULL;
}

const struct geo_builtin *
geo_builtin_find(unsigned af, const uint8_t addr[16], unsigned plen)
{
	const struct geo_builtin *b, *hit = NULL;

	for (unsigned i = 0; (b = geo_builtin_get(i)) != NULL; i++)
		if (geo_builtin_has(b, af, addr, plen))
			hit = b;
	return hit;
}

enum geo_in
geo_builtin_in(unsigned af, const uint8_t addr[16], unsigned plen)
{
	const struct geo_builtin *b;
	enum geo_in in = GEO_IN_NONE;

	for (unsigned i = 0; (b = geo_builtin_get(i)) != NULL; i++)
		if (geo_builtin_has(b, af, addr, plen))
			in = b->cc == GEO_CC_UNKNOWN ? GEO_IN_ALIAS
			     : in == GEO_IN_ALIAS    ? in
			                             : GEO_IN_SPECIAL;
	return in;
}

int
geo_builtins_apply(struct geo_tables *t, enum geo_in kind, char *err,
    size_t errlen)
{
	const struct geo_builtin *b;
	uint32_t a4;
	int r;

	for (unsigned i = 0; (b = geo_builtin_get(i)) != NULL; i++) {
		if ((b->cc == GEO_CC_UNKNOWN) != (kind == GEO_IN_ALIAS))
			continue;
		a4 = (uint32_t)b->addr[0] << 24 | (uint32_t)b->addr[1] << 16 |
		     (uint32_t)b->addr[2] << 8 | b->addr[3];
		if (b->af == 4)
			r = geo_v4_set(t, a4, b->plen, b->cc);
		else if (b->cc != GEO_CC_UNKNOWN)
			r = geo_v6_set(t, b->addr, b->plen, b->cc);
		else
			r = geo_v6_set_alias(t, b->addr, b->plen, b->off,
			    b->inverted);
		if (r != 0) {
			snprintf(err, errlen, "%s: %s", b->what,
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}
