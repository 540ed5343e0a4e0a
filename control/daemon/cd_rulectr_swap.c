/*
 * The backends' side of rule counters: cd_rulectr around each policy
 * swap, so that no position's hits are credited to the rule that
 * replaces it.  Hits between the reading before the swap and the base
 * taken after it are credited to nobody rather than to the wrong rule.
 */
#include <stdbool.h>
#include <string.h>

#include "control/daemon/cordond.h"

void
cd_rulectr_swap_begin(struct cd *d, const struct stats *now)
{
	if (now == NULL)
		return;
	cd_rulectr_fold(d->rc, now, d->base);
	memcpy(d->base, now, sizeof(*d->base));
}

void
cd_rulectr_swap_end(struct cd *d, const struct policy *p)
{
	if (p != NULL)
		cd_rulectr_adopt(d->rc, p);
}

/*
 * Each rule of A (show rules) gains its id and hits, matched by name;
 * no hits when the backend cannot count now.
 */
void
cd_rulectr_annotate(struct cd *d, json_t *a)
{
	const struct cd_rulectr *rc = d->rc;
	bool up = d->dp_state == CD_DP_UP && d->be->counters(d, d->sum) == 0;
	json_t *o;
	size_t j;

	json_array_foreach(a, j, o) {
		const char *name =
		    json_string_value(json_object_get(o, "name"));

		for (unsigned i = 0; up && name != NULL && i < rc->n; i++) {
			if (strcmp(rc->e[i].name, name) != 0)
				continue;
			json_object_set_new(o, "id",
			    json_integer((json_int_t)rc->e[i].id));
			json_object_set_new(o, "hits",
			    json_integer((json_int_t)cd_rulectr_hits(rc, i,
			        d->sum, d->base)));
			break;
		}
	}
}
