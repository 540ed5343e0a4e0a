/*
 * Rule counters that follow rules, not positions (issue 14).
 *
 * cordon-dp counts per position (struct stats rule[]): the fast path
 * knows no names.  cordond gives every rule a stable id (cd_ruleid.c),
 * recorded with each revision and carried by `rename rule`.  At every
 * policy swap the hits the dataplane counted since each entry's base
 * are credited to the rules that held those positions (fold), and the
 * new policy's rules take over the carried totals of the rules with
 * the same id (adopt): an inserted rule starts at zero, a moved or
 * renamed rule keeps its history, a deleted rule's history goes with
 * it.  `clear counters` zeroes an entry (clear).  The entries, with
 * their bases and the enforcer those were read from, are kept in the
 * state folder (counters.json), so that a cordond restart neither loses
 * nor counts twice what a cordon-dp that kept running counted
 * (docs/control.md, "Rule counters").
 */
#ifndef CORDON_CD_RULECTR_H
#define CORDON_CD_RULECTR_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/policy/policy.h"
#include "core/stats/stats.h"

#define CD_RULECTR_DEFAULT_ID 1 /* the default's id; rules get 2, 3, ... */

struct cd_rulectr_ent {
	char name[POL_NAME_MAX];
	uint32_t id;
	uint8_t action;   /* enum cdn_action */
	uint64_t carried; /* hits before the last fold */
	uint64_t base;    /* its position's counter at the last fold */
	int64_t cleared;  /* unix seconds of the last clear; 0: never */
};

/* The rules at the positions the counters count, then the default. */
struct cd_rulectr {
	unsigned n; /* entries, default included; 0 before the first adopt */
	uint32_t next_id;
	/*
	 * A LOAD failed (it may still take effect later), or the bases
	 * are from an enforcer that now runs something else: which rule
	 * the positions count for is unknown until the next swap, so
	 * their hits since go to nobody.
	 */
	bool unsure;
	/*
	 * Read back from the state folder and not yet held against the
	 * enforcer (cd_rulectr_resume).  INST and HASH: the enforcer the
	 * bases were read from and the policy it ran.
	 */
	bool restored;
	char inst[64];
	char hash[72];
	struct cd_rulectr_ent e[POL_RULE_MAX + 1];
};

enum cd_rulectr_resume {
	CD_RC_FRESH, /* nothing restored: as after the last swap */
	CD_RC_SAME,  /* restored, same enforcer and policy: bases hold */
	CD_RC_OTHER, /* restored, another enforcer or policy: unsure */
};

void cd_rulectr_init(struct cd_rulectr *rc);
void cd_rulectr_fold(struct cd_rulectr *rc, const struct stats *now);
/* P (its rules' ids IDS) is now counted, from BASE. */
void cd_rulectr_adopt(struct cd_rulectr *rc, const struct policy *p,
    const uint32_t *ids, const struct stats *base);
uint64_t cd_rulectr_delta(const struct cd_rulectr *rc, unsigned i,
    const struct stats *now);
/* Entry I back to zero as of NOW (counters), at unix time T. */
void cd_rulectr_clear(struct cd_rulectr *rc, unsigned i,
    const struct stats *now, int64_t t);
/* Entry of rule NAME ("(default)" included), or -1. */
int cd_rulectr_find(const struct cd_rulectr *rc, const char *name);
/*
 * Before the first fold after a restart: whether the restored bases
 * were read from enforcer INST running HASH ("" : not known, the
 * instance decides).
 */
enum cd_rulectr_resume cd_rulectr_resume(struct cd_rulectr *rc,
    const char *inst, const char *hash);
/* counters.json: the entries, the next id, the enforcer. */
json_t *cd_rulectr_to_json(const struct cd_rulectr *rc);
int cd_rulectr_from_json(struct cd_rulectr *rc, const json_t *o);

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
    const struct stats *now)
{
	return rc->e[i].carried + cd_rulectr_delta(rc, i, now);
}

#endif
