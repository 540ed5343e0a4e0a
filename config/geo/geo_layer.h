/*
 * Private to config/geo: one MMDB layer written into the tables.
 */
#ifndef CORDON_GEO_LAYER_H
#define CORDON_GEO_LAYER_H

#include <stddef.h>

#include "config/geo/geo_build.h"

/*
 * Opens SRC, walks its search tree once and writes every data record's
 * country over T (empty records leave T alone).  Fills META.  Returns 0,
 * or -1 with "FILE: why" in ERR; T may then be half written.
 */
int geo_layer_load(struct geo_tables *t, const struct geo_source *src,
    struct geo_layer_meta *meta, char *err, size_t errlen);

/*
 * Copies the file at PATH into a sealed memfd (geo_copy.c): returns its
 * fd, with "/proc/self/fd/N" in PROCPATH for MMDB_open(); or -1 with the
 * reason in WHY (missing, unreadable, changed while read).
 */
int geo_copy_private(const char *path, char *procpath, size_t plen, char *why,
    size_t len);

/* Writes all N bytes of BUF to FD (EINTR retried): 0, or -1 with errno. */
int geo_write_all(int fd, const void *buf, size_t n);

#endif
