/*
 * The identity part of explain: whose session the packet carries (or
 * what a token given with --token would earn), judged against every
 * rule's identity block, step by step.
 */
#include <string.h>

#include "control/daemon/cordond.h"

/* The grant in force for (SRC, SVC), or NULL. */
static const struct cd_grant *
cd_grant_find(const struct cd *d, const struct pkt_meta *m, unsigned svc)
{
	struct sess_key k;
	const struct cd_grant *g;

	cls_sess_key(m, (uint8_t)svc, &k);
	for (g = cd_idx_src(d->sess, k.addr, k.af); g != NULL;
	    g = cd_idx_next(d->sess, g->src_next))
		if (g->af == k.af && ((g->svcs >> svc) & 1) &&
		    memcmp(g->addr, k.addr, 16) == 0)
			return g;
	return NULL;
}

static void
cd_id_rules(const struct conf *c, const struct idm_facts *f, json_t *steps)
{
	char head[96];

	for (unsigned i = 0; i < c->nrules; i++) {
		const struct conf_rule *r = &c->rules[i];
		bool ok;

		if (!r->id.on)
			continue;
		snprintf(head, sizeof(head), "rule %u %s (who %s)", i + 1,
		    r->name, conf_who_name(r->id.who));
		json_array_append_new(steps, json_string(head));
		ok = idm_rule_match(c, r, f, steps);
		snprintf(head, sizeof(head), "rule %u %s: identity %s", i + 1,
		    r->name, ok ? "matches" : "does not match");
		json_array_append_new(steps, json_string(head));
	}
}

/* Facts of the token in ARGS for source country CC; -1 when refused. */
static int
cd_id_token(struct cd *d, const char *tok, geo_cc_t cc, json_t *id,
    struct idm_facts *f, json_t **claims)
{
	struct jose_result res;
	struct cd_err e;
	int rc;

	if (cd_ident_verify(d, tok, strlen(tok), &res, &e) < 0) {
		json_object_set_new(id, "reason", json_string(e.msg));
		return -1;
	}
	*claims = json_incref(res.claims);
	json_object_set_new(id, "issuer",
	    json_string(d->sess->iss[res.issuer].name));
	rc = idm_facts_build(d->run.conf, d->run.geo.tables, *claims,
	    res.issuer, cc, f);
	jose_result_free(&res);
	if (rc != IDM_E_OK) {
		json_object_set_new(id, "reason", json_string(idm_err_name(
		    (unsigned)rc)));
		return -1;
	}
	return 0;
}

json_t *
cd_explain_identity(struct cd *d, const json_t *args,
    const struct pkt_meta *m, const struct cls_verdict *v)
{
	const char *tok = json_string_value(json_object_get(args, "token"));
	const struct cd_grant *g = NULL;
	json_t *id, *steps, *claims = NULL;
	struct idm_facts f;
	bool have = false;

	if (d->sess == NULL || (v->service == POL_SVC_NONE && tok == NULL) ||
	    (tok == NULL && !((d->run.pol->ident_svc >> v->service) & 1)))
		return NULL;
	id = cd_obj();
	steps = json_array();
	if (tok != NULL) {
		json_object_set_new(id, "session", json_string("token"));
		have = cd_id_token(d, tok, v->src_cc, id, &f, &claims) == 0;
	} else if ((g = cd_grant_find(d, m, v->service)) != NULL) {
		json_object_set_new(id, "session", json_string(
		    g->expires > cd_unix() ? "hit" : "expired"));
		json_object_set_new(id, "issuer", json_string(g->iss_name));
		f = g->facts;
		have = true;
	} else {
		json_object_set_new(id, "session", json_string("none"));
		json_object_set_new(id, "reason", json_string("no session for "
		    "this source and service: the unidentified action"));
	}
	if (have) {
		const char *sub = json_string_value(json_object_get(f.p[0].obj,
		    "sub"));

		json_object_set_new(id, "sub", json_string(sub ? sub : ""));
		cd_id_rules(d->run.conf, &f, steps);
	}
	json_object_set_new(id, "steps", steps);
	json_decref(claims);
	return id;
}
