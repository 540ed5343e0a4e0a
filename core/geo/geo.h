/*
 * Compiled geolocation tables: what the fast path reads instead of the
 * MMDB.  Entries are country indexes (geo_cc_t).  IPv4 is a DIR-24-8
 * table, IPv6 a multibit trie (16-bit root, 8-bit strides).  Building is
 * done aside by the control plane; lookups take no locks and allocate
 * nothing.  Memory comes from plain malloc so that offline replay and
 * unit tests run without an EAL.
 */
#ifndef CORDON_GEO_H
#define CORDON_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Country index: 0 is "unknown" (no answer), 1..676 a letter pair
 * "AA".."ZZ" as (c0 - 'A') * 26 + (c1 - 'A') + 1.  Only the pairs ISO
 * 3166-1 assigns to a country (and XK, Kosovo, by common use) are ever
 * parsed or stored: user-assigned, reserved and withdrawn pairs (AA, QM,
 * XX, ZZ, UK, EU...) are unknown.  Above the pairs come the sub-regions
 * of the built-in region "special": the IANA special-purpose address
 * blocks, which belong to no country.  Dense, so that per-country tables
 * are plain arrays.
 */
typedef uint16_t geo_cc_t;
#define GEO_CC_UNKNOWN 0
#define GEO_CC_PAIRS   676

/* The special-purpose sub-regions, in the order of geo_special_names. */
enum geo_special {
	GEO_SP_PRIVATE = GEO_CC_PAIRS + 1, /* RFC 1918 */
	GEO_SP_SHARED,                     /* 100.64.0.0/10, RFC 6598 */
	GEO_SP_LOOPBACK,
	GEO_SP_LINK_LOCAL,
	GEO_SP_DOCUMENTATION, /* TEST-NETs, 2001:db8::/32, 3fff::/20 */
	GEO_SP_BENCHMARKING,  /* 198.18.0.0/15, 2001:2::/48 */
	GEO_SP_ULA,           /* fc00::/7 */
	GEO_SP_MULTICAST,
	GEO_SP_PROTOCOL, /* IETF protocol assignments, anycast */
	GEO_SP_RESERVED, /* this network, 240/4, unspecified... */
	GEO_SP_END
};
#define GEO_CC_SPECIAL GEO_SP_PRIVATE /* first sub-region */
#define GEO_CC_MAX     GEO_SP_END
/* Room for any geo_cc_format() result ("documentation" is the longest). */
#define GEO_CC_STRLEN 16

/*
 * Returns the index of an ISO 3166-1 alpha-2 code (either case), or -1
 * for anything else, unassigned pairs included.  A table lookup.
 */
int geo_cc_parse(const char *s);
/* The index of any two letters (either case), assigned or not, or -1. */
int geo_cc_pair(const char *s);
/* The code of a sub-region name ("private", "ula"...), or -1. */
int geo_special_parse(const char *s);
static inline int
geo_cc_is_special(geo_cc_t cc)
{
	return cc >= GEO_CC_SPECIAL && cc < GEO_CC_MAX;
}
/*
 * Writes "US", a sub-region's name, or "--" for unknown (and for
 * anything out of range) into OUT.
 */
void geo_cc_format(geo_cc_t cc, char out[GEO_CC_STRLEN]);
/*
 * CC as configs, reports and explain write it: "unknown" for
 * GEO_CC_UNKNOWN, else geo_cc_format()'s word in BUF.  Returns the word.
 */
const char *geo_cc_name(geo_cc_t cc, char buf[GEO_CC_STRLEN]);

struct geo_tables;

/*
 * Relay classes (docs/config.md, geo.classes): bit K is the K-th class
 * of the config.  An address may be in several classes, or in none (no
 * bits: classes are a dimension of their own, never "unknown").  The
 * tables store a (country, classes) pair per address, so one lookup
 * answers both.
 */
typedef uint32_t geo_cls_t;
#define GEO_CLS_MAX     32
#define GEO_CLS_NAMELEN 32
/* Distinct (country, classes) pairs with some class the tables hold. */
#define GEO_LAB_MAX    (4096u - GEO_CC_MAX)
#define GEO_CLS_ID_LEN 32

/*
 * What the class bits of tables stand for: the class names in bit
 * order, the digest of the class config they were built for (names,
 * files, ASNs: a saved table stands in only for the same config) and of
 * the data (file contents, ASN database), which names the tables.
 */
struct geo_classes {
	unsigned n;
	char name[GEO_CLS_MAX][GEO_CLS_NAMELEN];
	uint8_t cfg_id[GEO_CLS_ID_LEN];
	uint8_t data_id[GEO_CLS_ID_LEN];
};

struct geo_tables *geo_tables_create(void);
void geo_tables_free(struct geo_tables *t);
/*
 * Optional, after a build: folds IPv6 nodes whose 256 entries agree into
 * their parent and packs tbl8 groups and nodes densely, so the tables
 * take less memory and fewer cache lines.  Answers do not change; the
 * tables stay writable.  Return 0, or -1 with errno ENOMEM (unchanged).
 */
int geo_tables_compact(struct geo_tables *t);

/*
 * Sets every address in ADDR/PLEN to CC, overwriting whatever was there,
 * more specific entries included (later layers and overrides win).
 * Return 0, or -1 with errno (EINVAL, ENOMEM, ENOSPC).
 */
int geo_v4_set(struct geo_tables *t, uint32_t addr, unsigned plen, geo_cc_t cc);
int geo_v6_set(struct geo_tables *t, const uint8_t addr[16], unsigned plen,
    geo_cc_t cc);
/*
 * Makes ADDR/PLEN an alias of the IPv4 table: a lookup there takes the 32
 * bits after PLEN as an IPv4 address (MMDB's ::/96, ::ffff:0:0/96,
 * 2002::/16 aliases), so later IPv4 writes show through it.  Overwrites
 * like geo_v6_set(); more specific IPv6 writes made later win inside it.
 * PLEN <= 96, else EINVAL.
 */
int geo_v6_set_alias4(struct geo_tables *t, const uint8_t addr[16],
    unsigned plen);
/*
 * General form: ADDR/PLEN looks up the 32 bits at bit OFF (<= 96),
 * bitwise inverted if INVERTED (Teredo's obfuscated client address).
 */
int geo_v6_set_alias(struct geo_tables *t, const uint8_t addr[16],
    unsigned plen, unsigned off, int inverted);

/* Records what the class bits of T stand for (copied). */
void geo_tables_set_classes(struct geo_tables *t, const struct geo_classes *c);
const struct geo_classes *geo_tables_classes(const struct geo_tables *t);

/*
 * ORs the classes BITS into every address of ADDR/PLEN, keeping its
 * country: a class list is applied after every country is written.  In
 * IPv6, the IPv4-embedding aliases are left alone: they answer with the
 * classes of the IPv4 address they carry.  Return 0, or -1 with errno
 * (EINVAL, ENOMEM; ENOSPC: more than GEO_LAB_MAX country/class pairs).
 */
int geo_v4_add_cls(struct geo_tables *t, uint32_t addr, unsigned plen,
    geo_cls_t bits);
int geo_v6_add_cls(struct geo_tables *t, const uint8_t addr[16], unsigned plen,
    geo_cls_t bits);

/* ADDR in host order; IPv6 ADDR in network order.  Lock-free, no calls. */
geo_cc_t geo_lookup4(const struct geo_tables *t, uint32_t addr);
geo_cc_t geo_lookup6(const struct geo_tables *t, const uint8_t addr[16]);
/* Looks up N addresses at once, prefetching ahead: the fast path's form. */
void geo_lookup4_bulk(const struct geo_tables *t, const uint32_t *addr,
    geo_cc_t *cc, unsigned n);
/*
 * The same for IPv6: ADDR[i] points at 16 bytes (an mbuf's source address
 * in place, say).  Walks all N tries level by level so that their cache
 * misses overlap.
 */
void geo_lookup6_bulk(const struct geo_tables *t, const uint8_t *const *addr,
    geo_cc_t *cc, unsigned n);
/* The same lookups answering the classes too (into CLS). */
geo_cc_t geo_lookup4_cls(const struct geo_tables *t, uint32_t addr,
    geo_cls_t *cls);
geo_cc_t geo_lookup6_cls(const struct geo_tables *t, const uint8_t addr[16],
    geo_cls_t *cls);
void geo_lookup4_bulk_cls(const struct geo_tables *t, const uint32_t *addr,
    geo_cc_t *cc, geo_cls_t *cls, unsigned n);
void geo_lookup6_bulk_cls(const struct geo_tables *t,
    const uint8_t *const *addr, geo_cc_t *cc, geo_cls_t *cls, unsigned n);

/*
 * What a set of countries covers (core/geo/geo_walk.c), for exporters
 * such as the kernel's interval sets.  SET has a bit per geo_cc_t
 * (GEO_CC_WORDS words).  The walk calls, in this order: V4 for each
 * IPv4 range [LO, HI] (host order) whose addresses answer a country of
 * SET, ascending, adjacent ranges merged; then, ascending, V6 for each
 * IPv6 prefix BASE/PLEN (network order) that answers one, and ALIAS6
 * for each prefix that answers as the IPv4 address at bit OFF of the
 * address (bitwise inverted if INV), whichever the set.  An address
 * is in the set when its country is in SET or it is in one of the
 * classes CLS.  A callback's non-zero return ends the walk and is
 * returned; else 0.
 */
#define GEO_CC_WORDS ((GEO_CC_MAX + 63) / 64)
struct geo_walk {
	const uint64_t *set;
	int (*v4)(void *arg, uint32_t lo, uint32_t hi);
	int (*v6)(void *arg, const uint8_t base[16], unsigned plen);
	int (*alias6)(void *arg, const uint8_t base[16], unsigned plen,
	    unsigned off, bool inv);
	void *arg;
	geo_cls_t cls;
};
int geo_walk(const struct geo_tables *t, const struct geo_walk *w);

/* Bytes held by the tables (logical sizes) and groups/nodes in use. */
struct geo_mem {
	size_t v4_bytes;
	size_t v6_bytes;
	unsigned v4_tbl8_groups;
	unsigned v6_nodes;
};
void geo_tables_mem(const struct geo_tables *t, struct geo_mem *m);
/*
 * A number no other tables of this process had or will have: tables
 * freed and built again may come back at the same address with the
 * same sizes and other contents, so a pointer is no name for them.
 */
uint64_t geo_tables_serial(const struct geo_tables *t);
uint64_t geo_tables_serial_next(void);

/*
 * Flat blob of the tables (core/geo/geo_blob.c): how cordond hands
 * compiled tables to a running cordon-dp.  Export allocates *BLOB (free()
 * it); 0, or -1 with errno ENOMEM.
 */
#define GEO_BLOB_VERSION 2 /* 2: country/class labels */
int geo_tables_export(const struct geo_tables *t, void **blob, size_t *len);
/*
 * Checks every index of BLOB (header, sizes, every table entry, the IPv6
 * trie's shape) and returns tables whose arrays point into BLOB: BLOB
 * must stay mapped, unchanged, until geo_tables_free(), which leaves it
 * alone.  The result is read-only (no geo_*_set, no compact).  NULL with
 * errno and a message in ERR when anything is out of range.
 */
struct geo_tables *geo_tables_import(const void *blob, size_t len, char *err,
    size_t errlen);
/* The same for a malloc'd BLOB that the tables then own (and free()). */
struct geo_tables *geo_tables_import_own(void *blob, size_t len, char *err,
    size_t errlen);

#endif
