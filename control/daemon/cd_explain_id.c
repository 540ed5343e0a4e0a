/*
 * The identity part of explain: whose session the packet carries (or
 * what a token given with --token would earn), judged against every
 * rule's identity block, step by step.  Verdicts come from the
 * classifier itself: a token's from a one-entry session table holding
 * the session it would open, so explain and the fast path cannot part.
 * Explain counts nothing: a token shown here is not a refused grant.
 */
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_proc_ident.h"
#include "control/daemon/cordond.h"
#include "core/classify/cls.h"
#include "core/stats/reasons.h"

const uint64_t *
cd_explain_session(const struct cd *d, const struct pkt_meta *m, unsigned svc,
    int64_t now, const struct cd_grant **g)
{
	const struct sess_table *t = cd_sess_table(d);
	struct sess_key k;
	uint32_t ident;

	*g = NULL;
	if (t == NULL || svc == POL_SVC_NONE)
		return NULL;
	cls_sess_key(m, (uint8_t)svc, &k);
	if (sess_lookup(t, &k, now, &ident) != SESS_HIT)
		return NULL;
	*g = ident < d->sess->cap ? d->sess->g[ident] : NULL;
	return sess_ident_bits(t, ident);
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

/* Facts of token TOK for source country CC; -1 (reason in ID) if the
 * token would not open a session. */
static int
cd_id_token(struct cd *d, const json_t *tok, geo_cc_t cc, json_t *id,
    struct idm_facts *f, json_t **claims)
{
	struct cd_idprop p;
	char why[IDENT_DETAIL_MAX + 64];
	int rc;

	rc = cd_ident_check(d, json_string_value(tok), json_string_length(tok),
	    &p);
	if (rc == CD_IDENT_DOWN) {
		/* Not judged: no verdict to show, and none made up. */
		snprintf(why, sizeof(why), "identity-unavailable: %s",
		    p.detail);
		json_object_set_new(id, "reason", json_string(why));
		return -1;
	}
	if (rc != JOSE_OK) {
		snprintf(why, sizeof(why), "token-refused: %s: %s",
		    jose_reason_name(rc), p.detail);
		json_object_set_new(id, "reason", json_string(why));
		cd_idprop_free(&p);
		return -1;
	}
	*claims = json_incref(p.claims);
	json_object_set_new(id, "issuer",
	    json_string(d->run.conf->identity.issuers[p.issuer].name));
	rc = idm_facts_build(d->run.conf, d->run.geo.tables, *claims, p.issuer,
	    cc, f);
	cd_idprop_free(&p);
	if (rc != IDM_E_OK) {
		/* As session-add words it. */
		snprintf(why, sizeof(why), "token-refused: %s",
		    idm_err_name((unsigned)rc));
		json_object_set_new(id, "reason", json_string(why));
		return -1;
	}
	return 0;
}

/*
 * A private table holding the one session F (from CLAIMS) would open for
 * M's source and service SVC.  0, or -1 (nothing to free).
 */
static int
cd_id_table(const struct cd *d, const struct pkt_meta *m, unsigned svc,
    const struct idm_facts *f, const json_t *claims, int64_t now,
    struct sess_table **t, int *fd)
{
	struct pol_set bits;
	struct sess_key k;
	char err[128];

	if (sess_create(1, 1, POL_WORDS, t, fd, err, sizeof(err)) != 0)
		return -1;
	idm_rule_bits(d->run.conf, f, &bits);
	cls_sess_key(m, (uint8_t)svc, &k);
	if (sess_ident_set(*t, 0, bits.w) != 0 ||
	    sess_put(*t, &k,
	        cd_grant_expiry(d->run.conf, claims, 0, now, clk_unix_s(), now),
	        0, 0) != 0) {
		sess_detach(*t);
		close(*fd);
		return -1;
	}
	return 0;
}

/*
 * What this flow gets once the token is presented from its source: the
 * classifier with the token's session (none when F is NULL: refused).
 */
static void
cd_id_token_verdict(const struct cd *d, const struct pkt_meta *m, unsigned dir,
    unsigned svc, const struct idm_facts *f, const json_t *claims, json_t *id,
    json_t *steps)
{
	const struct policy *pol = d->run.pol;
	struct sess_table *t = NULL;
	struct cls_verdict tv;
	int64_t now = clk_boot_s(); /* the table's clock */
	char line[256];
	int fd = -1;

	if (f != NULL && svc != POL_SVC_NONE &&
	    cd_id_table(d, m, svc, f, claims, now, &t, &fd) < 0) {
		json_array_append_new(steps,
		    json_string("no verdict: the "
		                "token's session could not be built"));
		return;
	}
	cls_classify(&(struct cls_env){ pol, d->run.geo.tables, t, now }, m,
	    dir, &tv);
	if (t != NULL) {
		sess_detach(t);
		close(fd);
	}
	json_object_set_new(id, "verdict",
	    json_string(cdn_action_name(tv.action)));
	json_object_set_new(id, "verdict_reason",
	    json_string(cdn_reason_name(tv.reason)));
	json_object_set_new(id, "rule", json_string(cd_verdict_rule(pol, &tv)));
	json_object_set_new(id, "rule_position",
	    json_integer(tv.rule == POL_RULE_DEFAULT ? 0 : tv.rule + 1));
	snprintf(line, sizeof(line), "with %s: verdict %s, rule %s: %s",
	    f ? "the session this token opens"
	      : "no session (the token "
	        "opens none)",
	    cdn_action_name(tv.action), cd_verdict_rule(pol, &tv),
	    cd_verdict_detail(&tv));
	json_array_append_new(steps, json_string(line));
}

static void
cd_id_with_token(struct cd *d, const json_t *tok, const struct pkt_meta *m,
    unsigned dir, const struct cls_verdict *v, bool gate, json_t *id,
    json_t *steps)
{
	json_t *claims = NULL;
	struct idm_facts f;
	bool ok = false;

	json_object_set_new(id, "session", json_string("token"));
	if (d->sess == NULL)
		json_object_set_new(id, "reason",
		    json_string("no identity "
		                "group configured: a token opens nothing"));
	else
		ok = cd_id_token(d, tok, v->src_cc, id, &f, &claims) == 0;
	if (!gate)
		json_array_append_new(steps,
		    json_string("this flow needs no "
		                "session: a token changes nothing for it"));
	if (ok) {
		const char *sub =
		    json_string_value(json_object_get(f.p[0].obj, "sub"));

		json_object_set_new(id, "sub", json_string(sub ? sub : ""));
		cd_id_rules(d->run.conf, &f, steps);
	}
	cd_id_token_verdict(d, m, dir, v->service, ok ? &f : NULL, claims, id,
	    steps);
	json_decref(claims);
}

/* The session the classifier used (or found missing) for this flow. */
static void
cd_id_session(struct cd *d, const struct pkt_meta *m,
    const struct cls_verdict *v, json_t *id, json_t *steps)
{
	const struct cd_grant *g;
	const char *sub;

	if (cd_explain_session(d, m, v->service, clk_boot_s(), &g) == NULL ||
	    g == NULL) {
		json_object_set_new(id, "session",
		    json_string(v->reason == CDN_R_SESSION_EXPIRED ? "expired"
		                                                   : "none"));
		json_object_set_new(id, "reason",
		    json_string(
		        v->reason == CDN_R_SESSION_EXPIRED
		            ? "the session for this "
		              "source and service has expired: the unidentified action"
		            : "no session for this source and service: the unidentified "
		              "action"));
		return;
	}
	json_object_set_new(id, "session", json_string("hit"));
	json_object_set_new(id, "issuer", json_string(g->iss_name));
	sub = json_string_value(json_object_get(g->facts.p[0].obj, "sub"));
	json_object_set_new(id, "sub", json_string(sub ? sub : ""));
	cd_id_rules(d->run.conf, &g->facts, steps);
}

json_t *
cd_explain_identity(struct cd *d, const json_t *args, const struct pkt_meta *m,
    unsigned dir, const struct cls_verdict *v, bool gate)
{
	const json_t *tok = json_object_get(args, "token");
	json_t *id, *steps;

	if (!json_is_string(tok))
		tok = NULL;
	/* Without a token, only a flow the gate asked a session of. */
	if (tok == NULL && (d->sess == NULL || !gate))
		return NULL;
	id = cd_obj();
	steps = json_array();
	if (tok != NULL)
		cd_id_with_token(d, tok, m, dir, v, gate, id, steps);
	else
		cd_id_session(d, m, v, id, steps);
	json_object_set_new(id, "steps", steps);
	return id;
}
