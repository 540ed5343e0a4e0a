/*
 * Country codes and the table object as a whole.  The per-family tables
 * live in geo_v4.c and geo_v6.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dataplane/geo/geo.h"
#include "dataplane/geo/geo_impl.h"

static int
geo_cc_letter(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	return -1;
}

int
geo_cc_parse(const char *s)
{
	int hi, lo;

	if (s == NULL || s[0] == '\0' || s[1] == '\0' || s[2] != '\0')
		return -1;
	hi = geo_cc_letter(s[0]);
	lo = geo_cc_letter(s[1]);
	if (hi < 0 || lo < 0)
		return -1;
	return hi * 26 + lo + 1;
}

void
geo_cc_format(geo_cc_t cc, char out[3])
{
	if (cc == GEO_CC_UNKNOWN || cc >= GEO_CC_MAX) {
		memcpy(out, "--", 3);
		return;
	}
	out[0] = 'A' + (cc - 1) / 26;
	out[1] = 'A' + (cc - 1) % 26;
	out[2] = '\0';
}

#define GEO_HUGE	(2u << 20)

void *
geo_mem_alloc(size_t bytes)
{
	size_t len = (bytes + GEO_HUGE - 1) & ~(size_t)(GEO_HUGE - 1);
	void *p;

	if (bytes < GEO_HUGE)
		return malloc(bytes ? bytes : 1);
	if (posix_memalign(&p, GEO_HUGE, len) != 0)
		return NULL;
	/* Advice only: without THP this is ordinary memory. */
	(void)madvise(p, len, MADV_HUGEPAGE);
	return p;
}

struct geo_tables *
geo_tables_create(void)
{
	struct geo_tables *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (geo_v4_init(t) == -1)
		goto free_t;
	if (geo_v6_init(t) == -1)
		goto fini_v4;
	return t;

fini_v4:
	geo_v4_fini(t);
free_t:
	free(t);
	errno = ENOMEM;
	return NULL;
}

void
geo_tables_free(struct geo_tables *t)
{
	if (t == NULL)
		return;
	if (!t->borrowed) {
		geo_v4_fini(t);
		geo_v6_fini(t);
	}
	free(t);
}

int
geo_tables_compact(struct geo_tables *t)
{
	if (geo_v6_compact(t) == -1)
		return -1;
	return geo_v4_compact(t);
}

void
geo_tables_mem(const struct geo_tables *t, struct geo_mem *m)
{
	m->v4_bytes = (size_t)GEO_TBL24_SIZE * sizeof(t->tbl24[0]) +
	    (size_t)t->tbl8_cap * 256 * sizeof(t->tbl8[0]);
	m->v6_bytes = (size_t)GEO6_ROOT_SIZE * sizeof(t->root6[0]) +
	    (size_t)t->node6_cap * 256 * sizeof(t->node6[0]);
	m->v4_tbl8_groups = t->tbl8_live;
	m->v6_nodes = t->node6_live;
}
