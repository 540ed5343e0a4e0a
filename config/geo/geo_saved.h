/*
 * The last good compiled tables, kept in the state folder: cordond
 * writes them after every compile that became the running tables, and
 * cordond and cordon-dp fall back to them when the configured databases
 * are missing or broken (fail static: the last good tables, never none).
 */
#ifndef CORDON_GEO_SAVED_H
#define CORDON_GEO_SAVED_H

#include <stddef.h>
#include <stdint.h>

#include "config/geo/geo_build.h"

#define GEO_SAVED_FILE   "geo-tables.saved"
#define GEO_SAVED_ID_LEN 32

/* What a saved file was, besides the tables. */
struct geo_saved_info {
	uint8_t id[GEO_SAVED_ID_LEN]; /* geo_saved_id() of the tables */
	int64_t saved_at;             /* unix seconds */
};

/*
 * Names tables by what they were built from: each layer's path, field,
 * build time and counts, and the overrides.  cordond's geo hash, and the
 * ID of a saved file: tables saved for other databases or overrides are
 * not the configured ones.
 */
void geo_saved_id(const struct geo_db *db, const struct geo_override *ov,
    unsigned nov, uint8_t out[GEO_SAVED_ID_LEN]);

/*
 * 0 when DB (read back with S) was compiled from the N layers of SRC and
 * the overrides OV: fit to stand in for what they would compile to.
 */
int geo_saved_fits(const struct geo_db *db, const struct geo_saved_info *s,
    const struct geo_source *src, unsigned n, const struct geo_override *ov,
    unsigned nov);

/*
 * Writes DB's tables and layer metadata to PATH, named ID: a temporary
 * file, fsync, rename, fsync of the folder, so PATH is always the old
 * file or the new one, whole.  0, or -1 with errno and ERR.
 */
int geo_saved_write(const char *path, const struct geo_db *db,
    const uint8_t id[GEO_SAVED_ID_LEN], char *err, size_t errlen);

/*
 * Reads PATH back into OUT (tables owned by OUT: geo_db_free()).  The
 * file's SHA-256 is checked and the tables go through every check of
 * geo_tables_import(): a file that fails any of them is refused, -1 with
 * ERR, OUT untouched.
 */
int geo_saved_read(const char *path, struct geo_db *out,
    struct geo_saved_info *info, char *err, size_t errlen);

#endif
