/*
 * Rule counters keyed by rule identity (cd_rulectr.h).  Pure
 * bookkeeping over counter snapshots, so that both backends and the
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
 * Hits at entry I's position since its base.  A counter below its base
 * means a new cordon-dp (counting from zero since it started).
 */
uint64_t
cd_rulectr_delta(const struct cd_rulectr *rc, unsigned i,
    const struct stats *now)
{
	uint64_t v = now->rule[cd_rulectr_slot(rc, i)], b = rc->e[i].base;

	if (rc->unsure)
		return 0;
	return v >= b ? v - b : v;
}

/* Credits what each position counted since its base to its rule. */
void
cd_rulectr_fold(struct cd_rulectr *rc, const struct stats *now)
{
	for (unsigned i = 0; i < rc->n; i++) {
		rc->e[i].carried += cd_rulectr_delta(rc, i, now);
		rc->e[i].base = now->rule[cd_rulectr_slot(rc, i)];
	}
}

void
cd_rulectr_clear(struct cd_rulectr *rc, unsigned i, const struct stats *now,
    int64_t t)
{
	rc->e[i].carried = 0;
	rc->e[i].base = now->rule[cd_rulectr_slot(rc, i)];
	rc->e[i].cleared = t;
}

int
cd_rulectr_find(const struct cd_rulectr *rc, const char *name)
{
	for (unsigned i = 0; i < rc->n; i++)
		if (strcmp(rc->e[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const struct cd_rulectr_ent *
cd_rulectr_by_id(const struct cd_rulectr *rc, uint32_t id)
{
	for (unsigned i = 0; i < rc->n; i++)
		if (rc->e[i].id == id)
			return &rc->e[i];
	return NULL;
}

static void
cd_rulectr_put(struct cd_rulectr_ent *e, const char *name, uint32_t id,
    uint8_t action, const struct cd_rulectr_ent *o)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->id = id;
	e->action = action;
	if (o != NULL) {
		e->carried = o->carried;
		e->cleared = o->cleared;
	}
}

/* P is now what the counters count: its rules take their histories. */
void
cd_rulectr_adopt(struct cd_rulectr *rc, const struct policy *p,
    const uint32_t *ids, const struct stats *base)
{
	static struct cd_rulectr old; /* one daemon thread; off the stack */
	unsigned r;

	old = *rc;
	for (r = 0; r < p->nrules; r++) {
		cd_rulectr_put(&rc->e[r], p->rule[r].name, ids[r],
		    p->rule[r].action, cd_rulectr_by_id(&old, ids[r]));
		rc->e[r].base = base->rule[r];
	}
	cd_rulectr_put(&rc->e[r], "(default)", CD_RULECTR_DEFAULT_ID,
	    p->default_action, cd_rulectr_by_id(&old, CD_RULECTR_DEFAULT_ID));
	rc->e[r].base = base->rule[STATS_RULE_DEFAULT];
	rc->n = p->nrules + 1u;
	rc->unsure = false;
	for (r = 0; r < p->nrules; r++)
		if (ids[r] >= rc->next_id)
			rc->next_id = ids[r] + 1;
}

enum cd_rulectr_resume
cd_rulectr_resume(struct cd_rulectr *rc, const char *inst, const char *hash)
{
	if (!rc->restored)
		return CD_RC_FRESH;
	rc->restored = false;
	if (strcmp(rc->inst, inst) == 0 &&
	    (*hash == '\0' || *rc->hash == '\0' || strcmp(rc->hash, hash) == 0))
		return CD_RC_SAME;
	rc->unsure = true;
	return CD_RC_OTHER;
}
