/*
 * The backends' side of rule counters: cd_rulectr around each policy
 * swap, so that no position's hits are credited to the rule that
 * replaces it.  Hits between the reading before the swap and the base
 * taken after it are credited to nobody rather than to the wrong rule.
 * After each change the entries go to the state folder (counters.json)
 * with the enforcer their bases were read from: a cordond that restarts
 * while that enforcer kept counting takes up where it left off.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/daemon/cordond.h"
#include "core/util/clock.h"

/* Whose counters: cordon-dp by pid and start, nftables by boot. */
static void
cd_rulectr_enforcer(const struct cd *d, char *inst, size_t ilen, char *hash,
    size_t hlen)
{
	*hash = '\0';
	if (d->be == &cd_backend_nft) {
		snprintf(inst, ilen, "nftables %s", clk_boot_id());
		return;
	}
	snprintf(inst, ilen, "cordon-dp %d %llu", (int)d->dpst.pid,
	    (unsigned long long)d->dpst.started_unix_ns);
	for (unsigned i = 0; i < DPC_HASH_LEN && 2 * i + 2 < hlen; i++)
		snprintf(hash + 2 * i, 3, "%02x", d->dpst.policy_hash[i]);
}

enum cd_rulectr_resume
cd_rulectr_swap_resume(struct cd *d)
{
	char inst[sizeof(d->rc->inst)], hash[sizeof(d->rc->hash)];
	enum cd_rulectr_resume r;

	cd_rulectr_enforcer(d, inst, sizeof(inst), hash, sizeof(hash));
	r = cd_rulectr_resume(d->rc, inst, hash);
	if (r == CD_RC_SAME)
		cd_log("rule counters: taken up from %s", inst);
	else if (r == CD_RC_OTHER)
		cd_log("rule counters: saved for %s, now %s: totals kept, hits "
		       "until the next swap credited to nobody",
		    d->rc->inst, inst);
	return r;
}

int
cd_rulectr_save(struct cd *d)
{
	char path[CONF_PATH_MAX + 32], *buf;
	json_t *o;
	int rc = 0;

	if (d->rc->n == 0 || d->rc->restored)
		return 0;
	cd_rulectr_enforcer(d, d->rc->inst, sizeof(d->rc->inst), d->rc->hash,
	    sizeof(d->rc->hash));
	snprintf(path, sizeof(path), "%s/counters.json", d->ctl.state_dir);
	o = cd_rulectr_to_json(d->rc);
	buf = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (buf == NULL || store_file_write(path, buf, strlen(buf)) < 0) {
		cd_log("%s: %s", path, buf ? strerror(errno) : "out of memory");
		rc = -1;
	}
	free(buf);
	return rc;
}

void
cd_rulectr_restore(struct cd *d)
{
	char path[CONF_PATH_MAX + 32];
	json_error_t je;
	json_t *o;

	snprintf(path, sizeof(path), "%s/counters.json", d->ctl.state_dir);
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		if (errno != ENOENT)
			cd_log("%s: %s: rule totals start at zero", path,
			    je.text);
		return;
	}
	if (cd_rulectr_from_json(d->rc, o) < 0)
		cd_log("%s: not a counters file: rule totals start at zero",
		    path);
	json_decref(o);
}

void
cd_rulectr_shutdown(struct cd *d)
{
	if (d->rc->n == 0 || d->rc->restored || d->dp_state != CD_DP_UP ||
	    d->be->counters(d, d->sum) < 0)
		return;
	cd_rulectr_fold(d->rc, d->sum);
	memcpy(d->base, d->sum, sizeof(*d->base));
	cd_rulectr_save(d);
}

void
cd_rulectr_swap_begin(struct cd *d, const struct stats *now)
{
	if (now == NULL)
		return;
	cd_rulectr_fold(d->rc, now);
	memcpy(d->base, now, sizeof(*d->base));
	/* A crash during the swap loses only what comes after this. */
	cd_rulectr_save(d);
}

void
cd_rulectr_swap_end(struct cd *d, const struct cd_running *r)
{
	if (r == NULL)
		return;
	cd_rulectr_adopt(d->rc, r->pol, r->rid, d->base);
	cd_rulectr_save(d);
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
		int i = name && up ? cd_rulectr_find(rc, name) : -1;

		if (i < 0)
			continue;
		json_object_set_new(o, "id",
		    json_integer((json_int_t)rc->e[i].id));
		json_object_set_new(o, "hits",
		    json_integer(
		        (json_int_t)cd_rulectr_hits(rc, (unsigned)i, d->sum)));
	}
}
