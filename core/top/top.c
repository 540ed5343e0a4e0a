#include <stdlib.h>
#include <string.h>

#include "core/top/top.h"

void
top_init(struct top_sketch *s, unsigned window_s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->epoch_s = top_epoch_len(window_s);
	s->seed = seed;
	for (unsigned i = 0; i < TOP_EPOCHS; i++)
		s->t[i].epoch = -1;
	s->next_s = INT64_MIN; /* the first packet starts a sub-window */
}

void
top_rotate(struct top_sketch *s, int64_t now_s)
{
	int64_t e = now_s / s->epoch_s;
	unsigned i = (unsigned)((uint64_t)e % TOP_EPOCHS);
	struct top_table *t = &s->t[i];

	s->cur = i;
	s->next_s = (e + 1) * (int64_t)s->epoch_s;
	if (t->epoch == e)
		return;
	__atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memset(t->set, 0, sizeof(t->set));
	memset(t->slot, 0, sizeof(t->slot));
	t->total = 0;
	t->epoch = e;
	__atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE);
}

/* Copies set SET of T into OUT (its used entries); -1 if it changed. */
static int
top_set_copy(const struct top_table *t, unsigned set, struct top_entry *out,
    unsigned *n)
{
	const struct top_set *s = &t->set[set];
	struct top_slot sl[TOP_WAYS];
	uint64_t count[TOP_WAYS];
	uint32_t tag[TOP_WAYS];
	uint32_t a = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

	if (a & 1)
		return -1;
	memcpy(tag, s->tag, sizeof(tag));
	memcpy(count, s->count, sizeof(count));
	memcpy(sl, t->slot[set], sizeof(sl));
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != a)
		return -1;
	*n = 0;
	for (unsigned w = 0; w < TOP_WAYS; w++) {
		if (!tag[w] || !count[w])
			continue;
		out[*n].k = sl[w].k;
		out[*n].count = count[w];
		out[(*n)++].err = sl[w].err;
	}
	return 0;
}

/* One table's entries into OUT (room for MAX); -1 if it was emptied. */
static long
top_table_copy(const struct top_table *t, int64_t lo, int64_t hi,
    struct top_entry *out, size_t max, uint64_t *total)
{
	uint64_t a = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE), tot;
	int64_t e = t->epoch;
	size_t n = 0;

	if (a & 1)
		return -1;
	if (e < lo || e > hi)
		return 0;
	tot = t->total;
	for (unsigned set = 0; set < TOP_SETS; set++) {
		unsigned got = 0;

		if (max - n < TOP_WAYS)
			break;
		for (int tries = 0; tries < 4; tries++)
			if (top_set_copy(t, set, out + n, &got) == 0)
				break;
		n += got;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) != a)
		return -1;
	*total += tot;
	return (long)n;
}

size_t
top_collect(const struct top_sketch *s, int64_t now_s, struct top_entry *out,
    size_t max, uint64_t *total)
{
	int64_t hi, lo;
	size_t n = 0;

	if (s->epoch_s == 0)
		return 0;
	hi = now_s / s->epoch_s;
	lo = hi - TOP_EPOCHS + 1;
	for (unsigned i = 0; i < TOP_EPOCHS; i++) {
		long got = -1;

		/* Emptied under us: it now counts a sub-window too new to
		 * have much, or one outside the window; a retry tells. */
		for (int tries = 0; tries < 4 && got < 0; tries++)
			got = top_table_copy(&s->t[i], lo, hi, out + n, max - n,
			    total);
		if (got > 0)
			n += (size_t)got;
	}
	return n;
}

static int
top_cmp_key(const void *a, const void *b)
{
	return memcmp(&((const struct top_entry *)a)->k,
	    &((const struct top_entry *)b)->k, sizeof(struct top_key));
}

static int
top_cmp_count(const void *a, const void *b)
{
	const struct top_entry *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return top_cmp_key(a, b);
}

size_t
top_merge(struct top_entry *v, size_t n)
{
	size_t m = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), top_cmp_key);
	for (size_t i = 1; i < n; i++) {
		if (top_key_eq(&v[m].k, &v[i].k)) {
			v[m].count += v[i].count;
			v[m].err += v[i].err;
		} else {
			v[++m] = v[i];
		}
	}
	m++;
	qsort(v, m, sizeof(*v), top_cmp_count);
	return m;
}
