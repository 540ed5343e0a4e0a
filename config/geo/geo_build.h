/*
 * Geolocation compiler: MMDB files (libmaxminddb) + config overrides ->
 * struct geo_tables.  Runs in the control plane (and in cordon-dp at
 * start-up until cordond takes it over); never on the packet path.
 */
#ifndef CORDON_GEO_BUILD_H
#define CORDON_GEO_BUILD_H

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

struct geo_db {
	struct geo_tables *tables;
	unsigned nlayers;
	struct geo_layer_meta layer[GEO_LAYER_MAX];
	unsigned noverrides;
	double compile_ms;
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
void geo_db_free(struct geo_db *db);

/* Prints the metadata of every layer, one block each. */
void geo_db_print(const struct geo_db *db, void *stdio_file);

#endif
