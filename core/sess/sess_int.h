/*
 * Inside the session table: the writer's helpers shared by sess.c,
 * sess_write.c and sess_widx.c.  Not for readers.
 */
#ifndef CORDON_SESS_INT_H
#define CORDON_SESS_INT_H

#include "core/sess/sess.h"

/* Geometry derived from the create parameters. */
struct sess_geom {
	uint32_t nslots;
	uint64_t ident_off, slots_off, total;
};

int sess_geom_calc(uint32_t capacity, uint32_t nident, uint32_t words,
    struct sess_geom *g);
/* The slot number of key k if live, or -1; *tomb gets the first tombstone
 * on its chain (-1 if none), *free the empty slot that ended it. */
int64_t sess_find(const struct sess_table *t, const struct sess_key *k,
    int64_t *tomb, int64_t *free_slot);

/* The writer's private multimap session id -> slots. */
struct sess_widx *sess_widx_new(uint32_t nslots, uint64_t seed);
void sess_widx_free(struct sess_widx *w);
void sess_widx_add(struct sess_widx *w, uint32_t sid, uint32_t slot);
void sess_widx_del(struct sess_widx *w, uint32_t sid, uint32_t slot);
/* One slot of sid, or -1. */
int64_t sess_widx_find(const struct sess_widx *w, uint32_t sid);

static inline uint64_t
sess_ctr(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Only the writer changes counters: load and store, no RMW needed. */
static inline void
sess_ctr_add(uint64_t *p, int64_t d)
{
	__atomic_store_n(p, sess_ctr(p) + (uint64_t)d, __ATOMIC_RELAXED);
}

#endif
