/*
 * Rule identity blocks against a session's principals.  Every condition
 * written must hold; a claim the token lacks never satisfies one (lists
 * do not match a missing claim, places default to "unknown").
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/ident/idm.h"

/* A scalar claim as text: strings as they are, numbers and booleans. */
static bool
idm_scalar(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_true(v) || json_is_false(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		return false;
	return true;
}

static bool
idm_list_has(const struct conf_idlist *l, const char *s)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

/* Claim V (a scalar or an array of them) holds a value of L. */
static bool
idm_claim_in(const json_t *v, const struct conf_idlist *l)
{
	char buf[CONF_IDVAL_LEN + 1];
	const json_t *e;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if (idm_scalar(e, buf, sizeof(buf)) &&
			    idm_list_has(l, buf))
				return true;
		return false;
	}
	return v != NULL && idm_scalar(v, buf, sizeof(buf)) &&
	       idm_list_has(l, buf);
}

static bool
idm_issuer_ok(const struct conf *c, const struct conf_idmatch *m,
    const struct idm_facts *f, const struct idm_principal *p)
{
	const char *iss;

	if (m->issuers == 0)
		return true;
	if (p->depth == 0)
		return (m->issuers >> f->issuer) & 1;
	/* An actor names its own issuer, or none: then it cannot pass. */
	if ((iss = json_string_value(json_object_get(p->obj, "iss"))) == NULL)
		return false;
	for (unsigned i = 0; i < c->identity.nissuers; i++)
		if (((m->issuers >> i) & 1) &&
		    strcmp(c->identity.issuers[i].iss, iss) == 0)
			return true;
	return false;
}

static bool
idm_cc_in(bool has, geo_cc_t cc, const struct conf_ccset *set)
{
	return conf_ccset_has(set, has ? cc : GEO_CC_UNKNOWN);
}

/* Every attribute condition of M, for one principal. */
static bool
idm_principal_ok(const struct conf *c, const struct conf_idmatch *m,
    const struct idm_facts *f, const struct idm_principal *p,
    const char **failed)
{
	const struct conf_identity *id = &c->identity;
	const json_t *o = p->obj;

#define IDM_NEED(cond, what)                                                   \
	do {                                                                   \
		if (!(cond)) {                                                 \
			*failed = (what);                                      \
			return false;                                          \
		}                                                              \
	} while (0)
	IDM_NEED(idm_issuer_ok(c, m, f, p), "issuer");
	IDM_NEED(m->sub.n == 0 ||
	             idm_claim_in(json_object_get(o, "sub"), &m->sub),
	    "sub");
	IDM_NEED(m->groups.n == 0 ||
	             idm_claim_in(json_object_get(o, id->groups_claim),
	                 &m->groups),
	    "groups");
	IDM_NEED(m->roles.n == 0 ||
	             idm_claim_in(json_object_get(o, id->roles_claim),
	                 &m->roles),
	    "roles");
	for (unsigned i = 0; i < m->nclaims; i++)
		IDM_NEED(idm_claim_in(json_object_get(o, m->claims[i].name),
		             &m->claims[i].in),
		    m->claims[i].name);
	IDM_NEED(!m->has_loc || idm_principal_loc_in(p, &m->loc), "location");
	IDM_NEED(!m->has_ipcc || idm_cc_in(p->has_ip, p->ipcc, &m->ipcc),
	    "ip_country");
	IDM_NEED(!m->has_decl || idm_decl_in(p, &m->decl), "declared_country");
#undef IDM_NEED
	*failed = NULL;
	return true;
}

static void idm_step(json_t *steps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
idm_step(json_t *steps, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (steps == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(steps, json_string(buf));
}

static void
idm_name(const struct idm_principal *p, char *out, size_t len)
{
	const char *sub = json_string_value(json_object_get(p->obj, "sub"));

	if (p->depth == 0)
		snprintf(out, len, "subject %s", sub ? sub : "(no sub)");
	else
		snprintf(out, len, "actor %u %s", p->depth,
		    sub ? sub : "(no sub)");
}

/* The principals WHO names, judged one by one. */
static bool
idm_who_ok(const struct conf *c, const struct conf_idmatch *m,
    const struct idm_facts *f, json_t *steps)
{
	unsigned lo = m->who == CONF_WHO_ACTORS ? 1 : 0;
	unsigned hi = m->who == CONF_WHO_SUBJECT ? 1 : f->n;
	bool all = m->who == CONF_WHO_ALL || m->who == CONF_WHO_SUBJECT;
	const char *failed;
	char name[128];

	if (lo >= hi) {
		idm_step(steps, "who %s: no actor in the token",
		    conf_who_name(m->who));
		return false;
	}
	for (unsigned i = lo; i < hi; i++) {
		bool ok = idm_principal_ok(c, m, f, &f->p[i], &failed);

		idm_name(&f->p[i], name, sizeof(name));
		idm_step(steps, "%s: %s%s", name, ok ? "matches" : "fails on ",
		    ok ? "" : failed);
		if (ok != all)
			return ok;
	}
	return all;
}

/* Conditions on the session as a whole. */
static bool
idm_session_ok(const struct conf_idmatch *m, const struct idm_facts *f,
    json_t *steps)
{
	const struct idm_principal *s = &f->p[0];
	bool relayed = f->n > 1;
	/* Without an ipaddr claim there is nothing to agree with. */
	bool mismatch = !s->has_ip || s->ipcc != f->flow_cc;

	if (m->relayed >= 0 && relayed != (m->relayed == 1)) {
		idm_step(steps, "relayed must be %s: token has %u actor(s)",
		    m->relayed ? "true" : "false", f->n - 1);
		return false;
	}
	if (m->ip_mismatch >= 0 && mismatch != (m->ip_mismatch == 1)) {
		idm_step(steps, "ip_mismatch must be %s",
		    m->ip_mismatch ? "true" : "false");
		return false;
	}
	return true;
}

bool
idm_rule_match(const struct conf *c, const struct conf_rule *r,
    const struct idm_facts *f, json_t *steps)
{
	if (!r->id.on)
		return true;
	return idm_session_ok(&r->id, f, steps) &&
	       idm_who_ok(c, &r->id, f, steps);
}

void
idm_rule_bits(const struct conf *c, const struct idm_facts *f,
    struct pol_set *bits)
{
	memset(bits, 0, sizeof(*bits));
	for (unsigned i = 0; i < c->nrules; i++)
		if (idm_rule_match(c, &c->rules[i], f, NULL))
			pol_set_add(bits, i);
}
