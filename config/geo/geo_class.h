/*
 * Private to config/geo: the relay classes written into the tables.
 */
#ifndef CORDON_GEO_CLASS_H
#define CORDON_GEO_CLASS_H

#include <stddef.h>

#include "config/geo/geo_build.h"

/*
 * ORs every class of CFG (may be NULL: no classes) over T and records
 * the names and digests in T.  0, or -1 with "FILE:LINE: why" in ERR;
 * T may then be half written.  Counts into DB (class_v4, asn...).
 */
int geo_class_apply(struct geo_tables *t, const struct geo_class_cfg *cfg,
    struct geo_db *db, char *err, size_t errlen);

#endif
