/*
 * Top denied sources (core/top): cordon-dp's per-worker sketches merged
 * into one ranking, rules named, for `show top`, CORDON-MIB's
 * cordonTopTable and Prometheus' cordon_top_denied_packets.
 */
#ifndef CORDON_CD_TOP_H
#define CORDON_CD_TOP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "core/geo/geo.h"
#include "core/policy/policy.h"

/* Rows SNMP and Prometheus show: a bounded set of series. */
#define CD_TOP_EXPORT 20

struct cd_top_row {
	uint8_t af;
	uint8_t addr[16];
	geo_cc_t cc;
	char rule[POL_NAME_MAX + 16]; /* a name, or "#POS@rREV" */
	uint64_t packets;             /* at most ERR too many */
	uint64_t err;
	char src[INET6_ADDRSTRLEN];
};

struct cd_top {
	unsigned window_s; /* sub-window * TOP_EPOCHS */
	uint64_t total;    /* denied packets counted in the window */
	size_t n;          /* rows, most packets first */
	struct cd_top_row row[];
};

struct cd;
struct cd_err;
/* The ranking now (malloc'd), or NULL with E filled (dataplane down). */
struct cd_top *cd_top_get(struct cd *d, struct cd_err *e);

/*
 * The ranking of N collected entries V (reordered) into T's rows (room
 * for N), rules named; IDX is room for N indexes.  cd_top_get()'s work
 * once the sketches are read.
 */
struct top_entry;
void cd_top_rank(struct cd *d, struct top_entry *v, size_t n, size_t *idx,
    struct cd_top *t);
/* Revision files read so far to name older revisions' rules. */
unsigned long cd_top_files_read(void);

#endif
