/*
 * The flow table of evidence captures.  A flow is a 64-bit hash of its
 * addresses, protocol and ports (a sketch: two flows sharing a hash are
 * kept as one, which only ever keeps fewer packets).  Each flow may sit
 * in EVID_PROBE slots from its hash; every one is looked at, so a slot
 * can be freed without tombstones.  A slot whose flow has been quiet
 * for the idle time is free again.
 */
#include <errno.h>
#include <string.h>

#include "core/evid/evid.h"

static unsigned
evid_round(unsigned n)
{
	unsigned p = EVID_PROBE;

	while (p < n)
		p <<= 1;
	return p;
}

size_t
evid_table_size(unsigned flows)
{
	if (flows < EVID_FLOWS_MIN || flows > EVID_FLOWS_MAX)
		return 0;
	return sizeof(struct evid_table) +
	       evid_round(flows) * sizeof(struct evid_flow);
}

struct evid_table *
evid_table_init(void *mem, unsigned flows, unsigned packets, uint64_t idle,
    uint64_t seed)
{
	struct evid_table *t = mem;
	size_t len = evid_table_size(flows);

	if (mem == NULL || len == 0 || packets == 0 ||
	    packets > EVID_PACKETS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	memset(t, 0, len);
	t->mask = evid_round(flows) - 1;
	t->packets = packets;
	t->idle = idle;
	t->seed = seed;
	return t;
}

static inline uint64_t
evid_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

uint64_t
evid_flow_key(const struct evid_table *t, const struct pkt_meta *m)
{
	uint64_t h = t->seed, a[2];

	if (m->af == 4) {
		h = evid_mix(h, (uint64_t)m->src4 << 32 | m->dst4);
	} else {
		memcpy(a, m->src6, 16);
		h = evid_mix(evid_mix(h, a[0]), a[1]);
		memcpy(a, m->dst6, 16);
		h = evid_mix(evid_mix(h, a[0]), a[1]);
	}
	h = evid_mix(h, (uint64_t)m->af << 48 | (uint64_t)m->l4proto << 32 |
	                    (uint32_t)m->sport << 16 | m->dport);
	return h ? h : 1;
}

enum evid_take
evid_table_take(struct evid_table *t, uint64_t key, uint64_t now,
    unsigned *slot)
{
	unsigned free = ~0u, i;
	struct evid_flow *f;

	for (unsigned k = 0; k < EVID_PROBE; k++) {
		i = (unsigned)(key + k) & t->mask;
		f = &t->slot[i];
		if (f->key == key) {
			/* Quiet past the idle time: a new flow again. */
			if (now - f->last > t->idle)
				f->n = 0;
			f->last = now;
			*slot = i;
			if (f->n == 0) {
				f->n = 1;
				return EVID_FIRST;
			}
			if (f->n >= t->packets)
				return EVID_SKIP;
			f->n++;
			return EVID_NEXT;
		}
		if (free == ~0u && (f->key == 0 || now - f->last > t->idle))
			free = i;
	}
	if (free == ~0u)
		return EVID_FULL;
	f = &t->slot[free];
	f->key = key;
	f->last = now;
	f->n = 1;
	*slot = free;
	return EVID_FIRST;
}

void
evid_table_undo(struct evid_table *t, unsigned slot, enum evid_take how)
{
	struct evid_flow *f = &t->slot[slot & t->mask];

	if (how == EVID_FIRST)
		f->key = 0;
	else if (how == EVID_NEXT && f->n > 0)
		f->n--;
}

unsigned
evid_table_used(const struct evid_table *t, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i <= t->mask; i++)
		if (t->slot[i].key != 0 && now - t->slot[i].last <= t->idle)
			n++;
	return n;
}
