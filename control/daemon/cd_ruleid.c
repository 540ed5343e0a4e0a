/*
 * Stable rule ids (docs/control.md, "Rule counters").  A rule's identity
 * is its name, except where the candidate pins another: `rename rule A
 * to B` moves A's id to B (and leaves the name A to a new rule), and
 * `rollback N` pins revision N's ids.  Each revision records its rules'
 * ids in its metadata, so that they survive restarts, rollbacks and
 * reverts.  Ids are never reused: the next one is past every id a kept
 * revision or the counters file holds.
 */
#include <errno.h>
#include <string.h>

#include <libconfig.h>

#include "control/daemon/cordond.h"

static uint32_t
cd_ruleid_of(const struct cd_running *r, const char *name)
{
	for (unsigned i = 0; r != NULL && r->pol != NULL && i < r->pol->nrules;
	     i++)
		if (strcmp(r->pol->rule[i].name, name) == 0)
			return r->rid[i];
	return 0;
}

static bool
cd_ruleid_taken(const struct cd_running *n, uint32_t id)
{
	for (unsigned i = 0; i < n->pol->nrules; i++)
		if (n->rid[i] == id)
			return true;
	return false;
}

void
cd_ruleid_assign(struct cd *d, struct cd_running *n, const json_t *ids,
    const struct cd_running *run)
{
	const struct policy *p = n->pol;
	bool fresh[POL_RULE_MAX] = { false };
	unsigned r;

	memset(n->rid, 0, sizeof(n->rid));
	for (r = 0; r < p->nrules; r++) {
		json_t *v = json_object_get(ids, p->rule[r].name);
		json_int_t id = json_integer_value(v);

		fresh[r] = json_is_integer(v) && id == 0;
		if (id > CD_RULECTR_DEFAULT_ID && id <= UINT32_MAX &&
		    !cd_ruleid_taken(n, (uint32_t)id))
			n->rid[r] = (uint32_t)id;
	}
	for (r = 0; r < p->nrules; r++) {
		uint32_t id = cd_ruleid_of(run, p->rule[r].name);

		if (n->rid[r] == 0 && !fresh[r] && id != 0 &&
		    !cd_ruleid_taken(n, id))
			n->rid[r] = id;
	}
	for (r = 0; r < p->nrules; r++)
		if (n->rid[r] == 0)
			n->rid[r] = d->rc->next_id++;
		else if (n->rid[r] >= d->rc->next_id)
			d->rc->next_id = n->rid[r] + 1;
}

json_t *
cd_ruleid_json(const struct cd_running *r)
{
	json_t *o = json_object();

	for (unsigned i = 0; r->pol != NULL && i < r->pol->nrules; i++)
		json_object_set_new(o, r->pol->rule[i].name,
		    json_integer((json_int_t)r->rid[i]));
	return o;
}

/* The next id past every id of the kept revisions. */
static void
cd_ruleid_past_kept(struct cd *d)
{
	static struct store_meta m[256];
	unsigned n = 0;
	const char *k;
	json_t *ids, *v;

	if (store_rev_list(d->store, m, sizeof(m) / sizeof(m[0]), &n) < 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (store_rev_ids(d->store, m[i].rev, &ids) < 0)
			continue;
		json_object_foreach(ids, k, v) {
			json_int_t id = json_integer_value(v);

			if (id >= (json_int_t)d->rc->next_id &&
			    id < (json_int_t)UINT32_MAX)
				d->rc->next_id = (uint32_t)id + 1;
		}
		json_decref(ids);
	}
}

/*
 * A running revision without ids (the initial one, or from before ids)
 * takes the saved counters' by name, else new ones, and records them:
 * a rollback or revert to it later brings them back.
 */
static void
cd_ruleid_first(struct cd *d)
{
	json_t *ids = json_object(), *mine;

	for (unsigned i = 0; i + 1 < d->rc->n; i++)
		json_object_set_new(ids, d->rc->e[i].name,
		    json_integer((json_int_t)d->rc->e[i].id));
	cd_ruleid_assign(d, &d->run, ids, NULL);
	json_decref(ids);
	mine = cd_ruleid_json(&d->run);
	if (store_rev_ids_put(d->store, d->run.rev, mine) < 0 &&
	    errno != EEXIST) /* EEXIST: a revision without rules */
		cd_log("revision %lu: recording its rule ids: %s",
		    (unsigned long)d->run.rev, strerror(errno));
	json_decref(mine);
}

void
cd_ruleid_startup(struct cd *d)
{
	json_t *ids = NULL;

	cd_ruleid_past_kept(d);
	if (store_rev_ids(d->store, d->run.rev, &ids) < 0 ||
	    json_object_size(ids) == 0)
		cd_ruleid_first(d);
	else
		cd_ruleid_assign(d, &d->run, ids, NULL);
	json_decref(ids);
}

/* Whether TEXT (a candidate) has a rule named NAME. */
static bool
cd_ruleid_in_text(const config_setting_t *rules, const char *name)
{
	for (int i = 0; rules != NULL && i < config_setting_length(rules);
	     i++) {
		const char *n = NULL;

		if (config_setting_lookup_string(config_setting_get_elem(rules,
		                                     (unsigned)i),
		        "name", &n) &&
		    strcmp(n, name) == 0)
			return true;
	}
	return false;
}

/*
 * The renames IDS makes, for review before the commit: each rule of
 * TEXT that takes the id a running rule of another name has.
 */
static json_t *
cd_ruleid_renames(struct cd *d, const json_t *ids, const char *text)
{
	json_t *a = json_array(), *v;
	const char *k;
	config_t cfg;

	config_init(&cfg);
	if (config_read_string(&cfg, text)) {
		const config_setting_t *rules = config_lookup(&cfg, "rules");

		json_object_foreach((json_t *)ids, k, v) {
			for (unsigned i = 0; i < d->run.pol->nrules; i++) {
				const char *was = d->run.pol->rule[i].name;

				if ((json_int_t)d->run.rid[i] !=
				        json_integer_value(v) ||
				    strcmp(was, k) == 0 ||
				    !cd_ruleid_in_text(rules, k))
					continue;
				json_array_append_new(a,
				    json_pack("{s:s, s:s, s:i}", "rule", k,
				        "was", was, "id", (int)d->run.rid[i]));
			}
		}
	}
	config_destroy(&cfg);
	return a;
}

void
cd_ruleid_review(struct cd *d, uid_t uid, const char *text, json_t *data)
{
	json_t *ids = NULL, *a;

	if (data == NULL || store_cand_ids(d->store, uid, &ids) < 0)
		return;
	a = cd_ruleid_renames(d, ids, text);
	if (json_array_size(a) > 0)
		json_object_set_new(data, "renames", a);
	else
		json_decref(a);
	json_decref(ids);
}
