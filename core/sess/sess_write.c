/*
 * Session table writer (cordond, one thread).  Every slot change is a
 * seqlock write: sequence to odd, fields, sequence to even (release), so
 * a reader either sees the old entry, the new one, or retries.
 */
#include <errno.h>

#include "core/sess/sess_int.h"

static void
slot_begin(struct sess_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELAXED);
	/* The odd sequence is visible before any field changes. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
slot_end(struct sess_slot *s)
{
	__atomic_store_n(&s->seq, s->seq + 1, __ATOMIC_RELEASE);
}

static void
slot_meta(struct sess_slot *s, uint32_t meta)
{
	__atomic_store_n(&s->meta, meta, __ATOMIC_RELAXED);
}

static void
slot_value(struct sess_slot *s, int64_t expires, uint32_t sid, uint32_t ident)
{
	__atomic_store_n(&s->expires, expires, __ATOMIC_RELAXED);
	__atomic_store_n(&s->sid, sid, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ident, ident, __ATOMIC_RELAXED);
}

static void
gen_bump(struct sess_table *t)
{
	__atomic_store_n(&t->hdr->gen, t->hdr->gen + 1, __ATOMIC_RELEASE);
}

static bool
key_valid(const struct sess_key *k)
{
	static const uint8_t zero[12];

	if (k->pad[0] || k->pad[1])
		return false;
	if (k->af == 4)
		return memcmp(k->addr + 4, zero, sizeof(zero)) == 0;
	return k->af == 6;
}

int64_t
sess_find(const struct sess_table *t, const struct sess_key *k, int64_t *tomb,
    int64_t *free_slot)
{
	uint32_t meta = (uint32_t)sess_key_meta(k) | SESS_LIVE;
	uint32_t i = (uint32_t)sess_hash(t, k) & t->mask;
	uint64_t a[2];

	memcpy(a, k->addr, 16);
	*tomb = *free_slot = -1;
	for (uint32_t n = 0; n < t->nslots; n++, i = (i + 1) & t->mask) {
		const struct sess_slot *s = &t->slots[i];

		if ((s->meta & 0xff) == SESS_EMPTY) {
			*free_slot = i;
			return -1;
		}
		if ((s->meta & 0xff) == SESS_TOMB && *tomb < 0)
			*tomb = i;
		if (s->meta == meta && s->addr[0] == a[0] && s->addr[1] == a[1])
			return i;
	}
	return -1;
}

/* Same key, new value, in place: readers see the old or the new one. */
static void
sess_replace(struct sess_table *t, struct sess_slot *s, int64_t expires,
    uint32_t sid, uint32_t ident)
{
	uint32_t slot = (uint32_t)(s - t->slots);

	if (s->sid != sid) {
		sess_widx_del(t->widx, s->sid, slot);
		sess_widx_add(t->widx, sid, slot);
	}
	slot_begin(s);
	slot_value(s, expires, sid, ident);
	slot_end(s);
}

static void
sess_fill(struct sess_table *t, struct sess_slot *s, const struct sess_key *k,
    int64_t expires, uint32_t sid, uint32_t ident)
{
	uint64_t a[2];

	memcpy(a, k->addr, 16);
	if ((s->meta & 0xff) == SESS_TOMB)
		sess_ctr_add(&t->hdr->tombs, -1);
	slot_begin(s);
	__atomic_store_n(&s->addr[0], a[0], __ATOMIC_RELAXED);
	__atomic_store_n(&s->addr[1], a[1], __ATOMIC_RELAXED);
	slot_value(s, expires, sid, ident);
	slot_meta(s, (uint32_t)sess_key_meta(k) | SESS_LIVE);
	slot_end(s);
	sess_widx_add(t->widx, sid, (uint32_t)(s - t->slots));
	sess_ctr_add(&t->hdr->live, 1);
}

int
sess_put(struct sess_table *t, const struct sess_key *k, int64_t expires,
    uint32_t sid, uint32_t ident)
{
	int64_t at, tomb, free_slot;

	if (!t->widx)
		return -EPERM;
	if (ident >= t->nident || !key_valid(k))
		return -EINVAL;
	at = sess_find(t, k, &tomb, &free_slot);
	if (at >= 0) {
		sess_replace(t, &t->slots[at], expires, sid, ident);
	} else {
		if (sess_ctr(&t->hdr->live) >= t->capacity) {
			/* Refused, never admitted past capacity: fail closed. */
			sess_ctr_add(&t->hdr->refused_full, 1);
			return -ENOSPC;
		}
		at = tomb >= 0 ? tomb : free_slot;
		if (at < 0)
			return -ENOSPC; /* unreachable: live < nslots */
		sess_fill(t, &t->slots[at], k, expires, sid, ident);
	}
	gen_bump(t);
	return 0;
}

/*
 * A tombstone run that ends at an empty slot is on no probe chain that
 * continues past it: those tombstones can become empty again.
 */
static void
sess_tomb_trim(struct sess_table *t, uint32_t i)
{
	struct sess_slot *s;

	if ((t->slots[(i + 1) & t->mask].meta & 0xff) != SESS_EMPTY)
		return;
	for (uint32_t n = 0; n < t->nslots; n++, i = (i - 1) & t->mask) {
		s = &t->slots[i];
		if ((s->meta & 0xff) != SESS_TOMB)
			return;
		slot_begin(s);
		slot_meta(s, SESS_EMPTY);
		slot_end(s);
		sess_ctr_add(&t->hdr->tombs, -1);
	}
}

/* Live slot i becomes a tombstone (the key is cleared with it). */
static void
sess_kill(struct sess_table *t, uint32_t i)
{
	struct sess_slot *s = &t->slots[i];

	sess_widx_del(t->widx, s->sid, i);
	slot_begin(s);
	slot_meta(s, SESS_TOMB);
	__atomic_store_n(&s->addr[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&s->addr[1], 0, __ATOMIC_RELAXED);
	slot_value(s, 0, 0, 0);
	slot_end(s);
	sess_ctr_add(&t->hdr->live, -1);
	sess_ctr_add(&t->hdr->tombs, 1);
	sess_tomb_trim(t, i);
}

int
sess_del(struct sess_table *t, const struct sess_key *k)
{
	int64_t at, tomb, free_slot;

	if (!t->widx)
		return -EPERM;
	at = sess_find(t, k, &tomb, &free_slot);
	if (at < 0)
		return -ENOENT;
	sess_kill(t, (uint32_t)at);
	gen_bump(t);
	return 0;
}

unsigned
sess_del_sid(struct sess_table *t, uint32_t sid)
{
	unsigned n = 0;
	int64_t at;

	if (!t->widx)
		return 0;
	while ((at = sess_widx_find(t->widx, sid)) >= 0) {
		const struct sess_slot *s = &t->slots[at];

		if ((s->meta & 0xff) != SESS_LIVE || s->sid != sid) {
			/* Stale entry: cannot happen, but must not loop. */
			sess_widx_del(t->widx, sid, (uint32_t)at);
			continue;
		}
		sess_kill(t, (uint32_t)at);
		n++;
	}
	if (n)
		gen_bump(t);
	return n;
}

unsigned
sess_sweep_step(struct sess_table *t, int64_t now, uint32_t *cursor,
    uint32_t budget)
{
	uint32_t i = *cursor & t->mask;
	unsigned n = 0;

	if (!t->widx)
		return 0;
	for (uint32_t k = 0; k < budget && k < t->nslots; k++) {
		const struct sess_slot *s = &t->slots[i];

		if ((s->meta & 0xff) == SESS_LIVE && s->expires <= now) {
			sess_kill(t, i);
			n++;
		}
		i = (i + 1) & t->mask;
	}
	*cursor = i;
	if (n)
		gen_bump(t);
	return n;
}

unsigned
sess_sweep(struct sess_table *t, int64_t now)
{
	uint32_t cursor = 0;

	return sess_sweep_step(t, now, &cursor, t->nslots);
}

int
sess_ident_set(struct sess_table *t, uint32_t ident, const uint64_t *bits)
{
	uint64_t *e;

	if (!t->widx)
		return -EPERM;
	if (ident >= t->nident)
		return -EINVAL;
	e = t->ident + (size_t)ident * t->words;
	for (uint32_t w = 0; w < t->words; w++)
		__atomic_store_n(&e[w], bits[w], __ATOMIC_RELAXED);
	/* Published by the release of the next slot that names it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return 0;
}

bool
sess_needs_rebuild(const struct sess_table *t)
{
	uint64_t used = sess_ctr(&t->hdr->live) + sess_ctr(&t->hdr->tombs);

	return used * 4 > (uint64_t)t->nslots * 3;
}
