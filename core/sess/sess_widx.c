/*
 * The writer's index session id -> slots, in cordond's private memory
 * (readers never need it, so it stays out of the shared area).  A
 * multimap: one session may hold several (source, service) entries.
 * Linear probing over pairs; deletion shifts the run back, so there are
 * no tombstones here.  Its size is the table's slot count, at least
 * twice the capacity, so it is at most half full.
 */
#include <stdlib.h>

#include "core/sess/sess_int.h"

struct sess_widx {
	uint32_t mask;
	uint64_t seed;
	struct {
		uint32_t sid;
		uint32_t slot1; /* slot + 1; 0 = empty */
	} e[];
};

static uint32_t
widx_home(const struct sess_widx *w, uint32_t sid)
{
	uint64_t x = (sid ^ w->seed) * 0xff51afd7ed558ccdull;

	return (uint32_t)(x ^ (x >> 33)) & w->mask;
}

struct sess_widx *
sess_widx_new(uint32_t nslots, uint64_t seed)
{
	struct sess_widx *w;

	w = calloc(1, sizeof(*w) + (size_t)nslots * sizeof(w->e[0]));
	if (!w)
		return NULL;
	w->mask = nslots - 1;
	w->seed = seed;
	return w;
}

void
sess_widx_free(struct sess_widx *w)
{
	free(w);
}

void
sess_widx_add(struct sess_widx *w, uint32_t sid, uint32_t slot)
{
	uint32_t i = widx_home(w, sid);

	/* Never full (at most capacity entries in 2 x capacity); bounded
	 * anyway, so that a bug elsewhere cannot hang the daemon. */
	for (uint32_t n = 0; n <= w->mask; n++, i = (i + 1) & w->mask) {
		if (!w->e[i].slot1) {
			w->e[i].sid = sid;
			w->e[i].slot1 = slot + 1;
			return;
		}
	}
}

/* Empties entry i and moves later entries of the run back into place. */
static void
widx_shift(struct sess_widx *w, uint32_t i)
{
	uint32_t j = i, h;

	w->e[i].slot1 = 0;
	for (uint32_t n = 0; n < w->mask; n++) {
		j = (j + 1) & w->mask;
		if (!w->e[j].slot1)
			return;
		h = widx_home(w, w->e[j].sid);
		/* j stays if its home lies in (i, j]; else it fills the hole. */
		if (((j - h) & w->mask) < ((j - i) & w->mask))
			continue;
		w->e[i] = w->e[j];
		w->e[j].slot1 = 0;
		i = j;
	}
}

void
sess_widx_del(struct sess_widx *w, uint32_t sid, uint32_t slot)
{
	uint32_t i = widx_home(w, sid);

	for (uint32_t n = 0; n <= w->mask && w->e[i].slot1; n++) {
		if (w->e[i].sid == sid && w->e[i].slot1 == slot + 1) {
			widx_shift(w, i);
			return;
		}
		i = (i + 1) & w->mask;
	}
}

int64_t
sess_widx_find(const struct sess_widx *w, uint32_t sid)
{
	uint32_t i = widx_home(w, sid);

	for (uint32_t n = 0; n <= w->mask && w->e[i].slot1; n++) {
		if (w->e[i].sid == sid)
			return (int64_t)w->e[i].slot1 - 1;
		i = (i + 1) & w->mask;
	}
	return -1;
}
