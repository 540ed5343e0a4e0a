/*
 * Fragment table: later fragments of a datagram follow the verdict of
 * its first fragment (docs/packet-parsing.md, Fragments).  One table per
 * worker, sized at start-up: no lock, no allocation, no system call per
 * packet.  The caller's clock is any monotonic count (TSC ticks on the
 * fast path, capture microseconds in replay); the timeout is in its
 * units.
 */
#ifndef CORDON_FRAG_H
#define CORDON_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "core/classify/cls.h"
#include "core/pkt/pkt_parse.h"
#include "core/stats/stats.h"

#define FRAG_WAYS               8 /* entries per bucket */
#define FRAG_RANGES             6 /* disjoint byte ranges tracked per datagram */
#define FRAG_ENTRIES_DEFAULT    4096
#define FRAG_ENTRIES_MIN        FRAG_WAYS
#define FRAG_ENTRIES_MAX        (1u << 20)
#define FRAG_TIMEOUT_MS_DEFAULT 2000

struct frag_table;

/* Bytes a table of ENTRIES entries (rounded up as frag_table_init does)
 * needs; 0 when ENTRIES is out of range. */
size_t frag_table_size(unsigned entries);

/*
 * Lays a table of ENTRIES entries (rounded up to a power of two of at
 * least FRAG_WAYS) over MEM, frag_table_size(ENTRIES) bytes aligned to
 * 64.  TIMEOUT (caller's clock units) bounds a datagram's life from its
 * first fragment; SEED keys the bucket hash.  Returns the table, or NULL
 * and EINVAL.
 */
struct frag_table *frag_table_init(void *mem, unsigned entries,
    uint64_t timeout, uint64_t seed);

/* The same with memory of its own (start-up only); frag_table_free. */
struct frag_table *frag_table_new(unsigned entries, uint64_t timeout,
    uint64_t seed);
void frag_table_free(struct frag_table *t);

/* Forgets every datagram (after a policy swap: verdicts are stale). */
void frag_table_clear(struct frag_table *t);

/* Entries in use, for tests and reports (walks the table). */
unsigned frag_table_used(const struct frag_table *t, uint64_t now);

/*
 * What a later fragment takes of its first fragment's verdict V (in
 * place): the same, but a reject drops (a later fragment cannot be
 * answered) and nothing is logged again.  Explain shows it this way.
 */
void frag_follow_verdict(struct cls_verdict *v);

/*
 * Carries a fragment M (m->frag != PKT_FRAG_NONE) through the table at
 * time NOW.  V holds the classifier's verdict: for a first fragment the
 * one a whole packet gets, stored for the datagram; for a later one the
 * classifier's refusal (frag-no-first), replaced here by the stored
 * verdict when the datagram's first fragment was seen, or by the reason
 * the datagram is refused (overlap, timeout, table full, ...).  Never
 * turns a refusal into a pass.  Counts into S->frag.
 */
void frag_track(struct frag_table *t, const struct pkt_meta *m, uint64_t now,
    struct cls_verdict *v, struct stats *s);

#endif
