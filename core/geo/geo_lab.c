/*
 * Country/class labels: the values above the countries in the tables,
 * each naming a (country, classes) pair, so that one lookup answers
 * both.  Pairs are interned at build time through a small hash; lookups
 * only read lab[].
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/geo/geo.h"
#include "core/geo/geo_impl.h"

int
geo_lab_init(struct geo_tables *t)
{
	t->lab = calloc(GEO_LAB_MAX, sizeof(*t->lab));
	t->labhash = calloc(GEO_LABHASH_SIZE, sizeof(*t->labhash));
	t->nlab = 0;
	if (t->lab == NULL || t->labhash == NULL) {
		geo_lab_fini(t);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
geo_lab_fini(struct geo_tables *t)
{
	free(t->lab);
	free(t->labhash);
	t->lab = NULL;
	t->labhash = NULL;
}

static uint32_t
geo_lab_slot(const struct geo_tables *t, geo_cc_t cc, geo_cls_t cls)
{
	uint32_t i = ((uint32_t)cc * 2654435761u ^ cls * 40503u) &
	             (GEO_LABHASH_SIZE - 1);
	const struct geo_lab *l;

	while (t->labhash[i] != 0) {
		l = &t->lab[t->labhash[i] - 1];
		if (l->cc == cc && l->cls == cls)
			break;
		i = (i + 1) & (GEO_LABHASH_SIZE - 1);
	}
	return i;
}

int64_t
geo_val_or(struct geo_tables *t, uint32_t v, geo_cls_t bits)
{
	geo_cc_t cc = geo_val_cc(t, v);
	geo_cls_t cls = geo_val_cls(t, v) | bits;
	uint32_t s;

	if (cls == 0)
		return cc;
	if (t->labhash == NULL) {
		errno = EINVAL; /* imported tables are read-only */
		return -1;
	}
	s = geo_lab_slot(t, cc, cls);
	if (t->labhash[s] == 0) {
		if (t->nlab == GEO_LAB_MAX) {
			errno = ENOSPC;
			return -1;
		}
		t->lab[t->nlab] = (struct geo_lab){ cc, 0, cls };
		t->labhash[s] = (uint16_t)++t->nlab;
	}
	return GEO_CC_MAX + t->labhash[s] - 1;
}

void
geo_tables_set_classes(struct geo_tables *t, const struct geo_classes *c)
{
	t->cls = *c;
}

const struct geo_classes *
geo_tables_classes(const struct geo_tables *t)
{
	return &t->cls;
}
