/*
 * Rule counters keyed by rule identity (cd_rulectr.h).  Pure
 * bookkeeping over two counter snapshots, so that both backends and the
 * unit tests use the same arithmetic.
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_rulectr.h"

void
cd_rulectr_init(struct cd_rulectr *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->next_id = CD_RULECTR_DEFAULT_ID + 1;
}

/*
 * Hits at entry I's position since BASE.  A counter below its base
 * means a new cordon-dp (counting from zero since it started).
 */
uint64_t
cd_rulectr_delta(const struct cd_rulectr *rc, unsigned i,
    const struct stats *now, const struct stats *base)
{
	unsigned k = cd_rulectr_slot(rc, i);

	if (rc->unsure)
		return 0;
	return now->rule[k] >= base->rule[k] ? now->rule[k] - base->rule[k]
	                                     : now->rule[k];
}

/* Credits what each position counted since BASE to its rule. */
void
cd_rulectr_fold(struct cd_rulectr *rc, const struct stats *now,
    const struct stats *base)
{
	for (unsigned i = 0; i < rc->n; i++)
		rc->e[i].carried += cd_rulectr_delta(rc, i, now, base);
}

static const struct cd_rulectr_ent *
cd_rulectr_find(const struct cd_rulectr *rc, const char *name)
{
	for (unsigned i = 0; i + 1 < rc->n; i++)
		if (strcmp(rc->e[i].name, name) == 0)
			return &rc->e[i];
	return NULL;
}

/* P is now what the counters count: its rules take their histories. */
void
cd_rulectr_adopt(struct cd_rulectr *rc, const struct policy *p)
{
	static struct cd_rulectr
	    old; /* one daemon thread; 10 kB off the stack */
	struct cd_rulectr_ent *e;

	old = *rc;
	for (unsigned r = 0; r < p->nrules; r++) {
		const struct cd_rulectr_ent *o =
		    cd_rulectr_find(&old, p->rule[r].name);

		e = &rc->e[r];
		memset(e, 0, sizeof(*e));
		snprintf(e->name, sizeof(e->name), "%s", p->rule[r].name);
		e->id = o ? o->id : rc->next_id++;
		e->carried = o ? o->carried : 0;
		e->action = p->rule[r].action;
	}
	e = &rc->e[p->nrules];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "(default)");
	e->id = CD_RULECTR_DEFAULT_ID;
	e->carried = old.n ? old.e[old.n - 1].carried : 0;
	e->action = p->default_action;
	rc->n = p->nrules + 1u;
	rc->unsure = false;
}
