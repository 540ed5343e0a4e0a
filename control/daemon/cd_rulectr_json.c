/*
 * Rule counters as the state folder keeps them (counters.json): every
 * entry with its id, carried total and base, the next id to give, and
 * the enforcer the bases were read from.  Pure conversion; the daemon
 * writes and reads the file (cd_rulectr_swap.c).
 */
#include <stdio.h>
#include <string.h>

#include "control/daemon/cd_rulectr.h"
#include "core/stats/reasons.h"

#define CD_RULECTR_VERSION 1

static json_t *
cd_rulectr_ent_json(const struct cd_rulectr_ent *e)
{
	return json_pack("{s:I, s:s, s:i, s:I, s:I, s:I}", "id",
	    (json_int_t)e->id, "name", e->name, "action", (int)e->action,
	    "carried", (json_int_t)e->carried, "base", (json_int_t)e->base,
	    "cleared", (json_int_t)e->cleared);
}

json_t *
cd_rulectr_to_json(const struct cd_rulectr *rc)
{
	json_t *a = json_array(), *o;

	for (unsigned i = 0; i < rc->n; i++)
		json_array_append_new(a, cd_rulectr_ent_json(&rc->e[i]));
	o = json_pack("{s:i, s:I, s:s, s:s, s:b, s:o}", "version",
	    CD_RULECTR_VERSION, "next_id", (json_int_t)rc->next_id, "enforcer",
	    rc->inst, "policy_hash", rc->hash, "unsure", rc->unsure, "rules",
	    a);
	return o;
}

static int
cd_rulectr_ent_parse(struct cd_rulectr_ent *e, const json_t *j)
{
	json_int_t id, carried, base, cleared;
	const char *name;
	int action;

	if (json_unpack((json_t *)j, "{s:I, s:s, s:i, s:I, s:I, s:I}", "id",
	        &id, "name", &name, "action", &action, "carried", &carried,
	        "base", &base, "cleared", &cleared) < 0 ||
	    id < 1 || id > UINT32_MAX || carried < 0 || base < 0 ||
	    action < 0 || action >= CDN_ACT_MAX ||
	    strlen(name) >= sizeof(e->name))
		return -1;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->id = (uint32_t)id;
	e->action = (uint8_t)action;
	e->carried = (uint64_t)carried;
	e->base = (uint64_t)base;
	e->cleared = cleared;
	return 0;
}

/* RC unchanged unless O is a whole, well-formed state. */
int
cd_rulectr_from_json(struct cd_rulectr *rc, const json_t *o)
{
	static struct cd_rulectr t; /* one daemon thread; off the stack */
	const char *inst, *hash;
	json_int_t ver, next;
	json_t *a, *j;
	int unsure;
	size_t i;

	cd_rulectr_init(&t);
	if (json_unpack((json_t *)o, "{s:I, s:I, s:s, s:s, s:b, s:o}",
	        "version", &ver, "next_id", &next, "enforcer", &inst,
	        "policy_hash", &hash, "unsure", &unsure, "rules", &a) < 0 ||
	    ver != CD_RULECTR_VERSION || next < CD_RULECTR_DEFAULT_ID + 1 ||
	    next > UINT32_MAX || !json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > POL_RULE_MAX + 1 ||
	    strlen(inst) >= sizeof(t.inst) || strlen(hash) >= sizeof(t.hash))
		return -1;
	json_array_foreach(a, i, j)
		if (cd_rulectr_ent_parse(&t.e[i], j) < 0)
			return -1;
	t.n = (unsigned)json_array_size(a);
	t.next_id = (uint32_t)next;
	t.unsure = unsure;
	t.restored = true;
	snprintf(t.inst, sizeof(t.inst), "%s", inst);
	snprintf(t.hash, sizeof(t.hash), "%s", hash);
	*rc = t;
	return 0;
}
