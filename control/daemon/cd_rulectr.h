/*
 * Rule counters that follow rules, not positions (issue 14).
 *
 * cordon-dp counts per position (struct stats rule[]): the fast path
 * knows no names.  cordond gives every rule an identity, its name, and
 * a number (the id) assigned the first time the name runs, kept while
 * the rule stays in the running policy.  At every policy swap the hits
 * the dataplane counted since the last swap are credited to the rules
 * that held those positions (fold), and the new policy's rules take
 * over the carried totals of the rules of the same name (adopt): an
 * inserted rule starts at zero, a moved rule keeps its history, a
 * deleted rule's history goes with it.  Totals count from cordond's
 * start; a rename is a delete and an insert until the candidate can
 * carry an id (docs/control.md, "Rule counters").
 */
#ifndef CORDON_CD_RULECTR_H
#define CORDON_CD_RULECTR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/policy/policy.h"
#include "core/stats/stats.h"

#define CD_RULECTR_DEFAULT_ID 1 /* the default's id; rules get 2, 3, ... */

struct cd_rulectr_ent {
	char name[POL_NAME_MAX];
	uint32_t id;
	uint8_t action;   /* enum cdn_action */
	uint64_t carried; /* hits before the last fold */
};

/* The rules at the positions BASE counts, then the default (last). */
struct cd_rulectr {
	unsigned n; /* entries, default included; 0 before the first adopt */
	uint32_t next_id;
	/*
	 * A LOAD failed (it may still take effect later): which rule the
	 * positions count for is unknown until the next swap, so their
	 * hits since go to nobody.
	 */
	bool unsure;
	struct cd_rulectr_ent e[POL_RULE_MAX + 1];
};

void cd_rulectr_init(struct cd_rulectr *rc);
void cd_rulectr_fold(struct cd_rulectr *rc, const struct stats *now,
    const struct stats *base);
void cd_rulectr_adopt(struct cd_rulectr *rc, const struct policy *p);
uint64_t cd_rulectr_delta(const struct cd_rulectr *rc, unsigned i,
    const struct stats *now, const struct stats *base);

static inline unsigned
cd_rulectr_slot(const struct cd_rulectr *rc, unsigned i)
{
	return i + 1 < rc->n ? i : STATS_RULE_DEFAULT;
}

/* Position as `show counters` numbers them: 1.., the default 0. */
static inline unsigned
cd_rulectr_pos(const struct cd_rulectr *rc, unsigned i)
{
	return i + 1 < rc->n ? i + 1 : 0;
}

static inline uint64_t
cd_rulectr_hits(const struct cd_rulectr *rc, unsigned i,
    const struct stats *now, const struct stats *base)
{
	return rc->e[i].carried + cd_rulectr_delta(rc, i, now, base);
}

#endif
