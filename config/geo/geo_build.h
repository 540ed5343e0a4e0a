/*
 * Geolocation compiler: MMDB files (libmaxminddb) + config overrides ->
 * struct geo_tables.  Runs in the control plane (and in cordon-dp at
 * start-up until cordond takes it over); never on the packet path.
 */
#ifndef CORDON_GEO_BUILD_H
#define CORDON_GEO_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/geo/geo.h"

#define GEO_LAYER_MAX     8
#define GEO_FIELD_MAX     128
#define GEO_DEFAULT_FIELD "country.iso_code"

/* One database layer as configured; later layers win where they answer. */
struct geo_source {
	const char *path;
	const char *field; /* dotted path, e.g. "country.iso_code" */
};

/* A config override: applied after every layer. */
struct geo_override {
	uint8_t af;       /* 4 or 6 */
	uint8_t addr[16]; /* IPv4 in the first 4 bytes, network order */
	uint8_t plen;
	geo_cc_t cc; /* GEO_CC_UNKNOWN for "unknown" */
};

/* What a layer turned out to be: reported by --check, show geo, bench. */
struct geo_layer_meta {
	char path[256];
	char field[GEO_FIELD_MAX];
	char db_type[64];
	uint64_t build_epoch;
	uint32_t node_count;
	uint16_t ip_version;
	uint16_t record_size;
	uint64_t v4_prefixes; /* leaves with a country written */
	uint64_t v6_prefixes;
	uint64_t data_records;      /* distinct data records seen */
	uint64_t records_no_field;  /* of those, without the field */
	uint64_t records_bad_value; /* field there, but not a country code */
	uint64_t records_non_iso;   /* two letters ISO 3166-1 does not assign */
};

/*
 * Relay classes (config/geo/geo_class.c): class K (bit K) is every
 * prefix of the file PREFIXES and every network of the ASN database
 * whose autonomous system is in ASNS (a file) or ASN[].  Files hold one
 * item a line, '#' starts a comment.
 */
#define GEO_ASN_FIELD "autonomous_system_number"

struct geo_class_src {
	const char *name;
	const char *prefixes; /* NULL: none */
	const char *asns;     /* NULL: none */
	const uint32_t *asn;
	unsigned nasn;
};

struct geo_class_cfg {
	unsigned n;
	const struct geo_class_src *cls;
	const char *asn_db; /* NULL: none (then no class has ASNs) */
};

struct geo_db {
	struct geo_tables *tables;
	unsigned nlayers;
	struct geo_layer_meta layer[GEO_LAYER_MAX];
	unsigned noverrides;
	double compile_ms;
	/* The ASN database of the classes, when one was read. */
	bool has_asn;
	struct geo_layer_meta asn;
	uint64_t class_v4, class_v6; /* prefixes given a class */
};

/*
 * Compiles N layers and NOV overrides into OUT.  Each layer writes every
 * prefix that has a data record (a record without the field, or whose
 * value is not an ISO 3166-1 code, writes "unknown"); empty prefixes keep
 * what earlier layers said.  Then, in order: the overrides that lie
 * outside every built-in prefix; the special-purpose blocks (each answers
 * its sub-region of "special") and the overrides inside them; the
 * IPv4-embedding aliases (::ffff:0:0/96, 6to4, NAT64, Teredo answer as
 * the IPv4 address they carry) and the overrides inside them.  The
 * tables are compacted; OUT->compile_ms says how long it all took.  N
 * may be 0 (overrides only).  On any error (missing, unreadable,
 * truncated or corrupt file; field absent from every record)
 * returns -1 with a message naming the file in ERR and OUT untouched:
 * the caller keeps its last good tables (fail closed at start-up).
 */
int geo_db_build(const struct geo_source *src, unsigned n,
    const struct geo_override *ov, unsigned nov, struct geo_db *out, char *err,
    size_t errlen);
/*
 * The same, then the relay classes of CLS (may be NULL) ORed over the
 * countries.  A class file missing or malformed fails the build with
 * "FILE:LINE: why" in ERR.
 */
int geo_db_build_cls(const struct geo_source *src, unsigned n,
    const struct geo_override *ov, unsigned nov,
    const struct geo_class_cfg *cls, struct geo_db *out, char *err,
    size_t errlen);
/*
 * Digest of a class config (names, file paths, ASNs, ASN database
 * path): what tables' geo_classes.cfg_id must equal for them to stand
 * for this config's classes.
 */
void geo_class_cfg_id(const struct geo_class_cfg *cls,
    uint8_t out[GEO_CLS_ID_LEN]);
void geo_db_free(struct geo_db *db);

/* Prints the metadata of every layer, one block each. */
void geo_db_print(const struct geo_db *db, void *stdio_file);

#endif
