/*
 * A rule's identity block: the token attributes a rule matches on.  The
 * conditions are resolved here (issuer names to indexes, regions to
 * country sets) so that the identity evaluator (control/ident/idm.c)
 * only compares.
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_idm_keys[] = { "who", "issuer", "sub", "groups",
	"roles", "claims", "location", "ip_country", "declared_country",
	"relayed", "ip_mismatch", NULL };
static const char *const conf_idclaim_keys[] = { "name", "in", NULL };

static const char *const conf_who_names[] = {
	[CONF_WHO_SUBJECT] = "subject",
	[CONF_WHO_ACTORS] = "actors",
	[CONF_WHO_ANY] = "any",
	[CONF_WHO_ALL] = "all",
};

const char *
conf_who_name(unsigned w)
{
	return w <= CONF_WHO_ALL ? conf_who_names[w] : "?";
}

static int
conf_idval_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_idlist *l = arg;

	if (l->n == CONF_IDVAL_MAX)
		return conf_err(x, e, "too many values (at most %d)",
		    CONF_IDVAL_MAX);
	if (strlen(s) >= CONF_IDVAL_LEN)
		return conf_err(x, e,
		    "value too long (at most %d "
		    "characters)",
		    CONF_IDVAL_LEN - 1);
	memcpy(l->v[l->n++], s, strlen(s) + 1);
	return 0;
}

static int
conf_idlist_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    struct conf_idlist *l)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	int n;

	if (m == NULL)
		return 0;
	if ((n = conf_strings_each(x, m, conf_idval_one, l)) < 0)
		return -1;
	if (n == 0)
		return conf_err(x, m, "empty %s list", key);
	return 0;
}

static int
conf_idm_issuer(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_idmatch *m = arg;
	int v = conf_issuer_find(x->c, s);

	if (v < 0)
		return conf_err(x, e, "unknown issuer \"%s\"", s);
	m->issuers |= 1u << v;
	return 0;
}

/* Regions, countries and "unknown", as in src/dst. */
static int
conf_idm_cc(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_ccset *set = arg;
	int v;

	if (strcmp(s, "unknown") == 0) {
		conf_ccset_add(set, GEO_CC_UNKNOWN);
	} else if ((v = conf_region_find(x->c, s)) >= 0) {
		for (unsigned i = 0; i < CONF_CC_WORDS; i++)
			set->w[i] |= x->c->regions[v].cc.w[i];
	} else if (conf_builtin_add(s, set)) {
		return 0;
	} else if ((v = geo_cc_parse(s)) >= 0) {
		conf_ccset_add(set, (geo_cc_t)v);
	} else {
		if (conf_cc_unassigned(x, e, "", s) < 0)
			return -1;
		return conf_err(x, e, "unknown region or country \"%s\"", s);
	}
	return 0;
}

static int
conf_idm_ccset(struct conf_ctx *x, const config_setting_t *g, const char *key,
    bool *has, struct conf_ccset *set)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	int n;

	if (m == NULL)
		return 0;
	if ((n = conf_strings_each(x, m, conf_idm_cc, set)) < 0)
		return -1;
	if (n == 0)
		return conf_err(x, m, "empty %s list", key);
	*has = true;
	return 0;
}

static int
conf_idm_claim(struct conf_ctx *x, const config_setting_t *e, void *arg)
{
	struct conf_idmatch *m = arg;
	struct conf_idclaim *c;
	const config_setting_t *in;

	if (m->nclaims == CONF_IDCLAIM_MAX)
		return conf_err(x, e, "too many claims (at most %d)",
		    CONF_IDCLAIM_MAX);
	c = &m->claims[m->nclaims];
	if (conf_group_check(x, e, conf_idclaim_keys) < 0 ||
	    conf_str_get(x, e, "name", true, c->name, sizeof(c->name)) < 0)
		return -1;
	if ((in = config_setting_get_member(e, "in")) == NULL)
		return conf_err(x, e, "claim \"%s\": missing \"in\"", c->name);
	if (conf_idlist_get(x, e, "in", &c->in) < 0)
		return -1;
	m->nclaims++;
	return 0;
}

static int
conf_idm_claims(struct conf_ctx *x, const config_setting_t *g,
    struct conf_idmatch *m)
{
	const config_setting_t *l = config_setting_get_member(g, "claims");

	if (l == NULL)
		return 0;
	if (conf_want_list(x, l) < 0)
		return -1;
	for (int i = 0; i < config_setting_length(l); i++)
		if (conf_idm_claim(x, config_setting_get_elem(l, i), m) < 0)
			return -1;
	return 0;
}

/* Optional boolean as -1 (unset), 0 or 1. */
static int
conf_tristate(struct conf_ctx *x, const config_setting_t *g, const char *key,
    int8_t *out)
{
	bool b;

	*out = -1;
	if (config_setting_get_member(g, key) == NULL)
		return 0;
	if (conf_bool_get(x, g, key, &b) < 0)
		return -1;
	*out = b;
	return 0;
}

static int
conf_idm_who(struct conf_ctx *x, const config_setting_t *g,
    struct conf_idmatch *m)
{
	char w[16];
	int o;

	m->who = CONF_WHO_SUBJECT;
	if ((o = conf_str_get(x, g, "who", false, w, sizeof(w))) <= 0)
		return o;
	for (unsigned i = 0; i <= CONF_WHO_ALL; i++)
		if (strcmp(w, conf_who_names[i]) == 0) {
			m->who = (uint8_t)i;
			return 0;
		}
	return conf_err(x, config_setting_get_member(g, "who"),
	    "who must be "
	    "subject, actors, any or all, not \"%s\"",
	    w);
}

static int
conf_idm_fields(struct conf_ctx *x, const config_setting_t *g,
    struct conf_idmatch *m)
{
	const config_setting_t *is = config_setting_get_member(g, "issuer");

	if (conf_idm_who(x, g, m) < 0)
		return -1;
	if (is != NULL && conf_strings_each(x, is, conf_idm_issuer, m) < 0)
		return -1;
	if (conf_idlist_get(x, g, "sub", &m->sub) < 0 ||
	    conf_idlist_get(x, g, "groups", &m->groups) < 0 ||
	    conf_idlist_get(x, g, "roles", &m->roles) < 0 ||
	    conf_idm_claims(x, g, m) < 0 ||
	    conf_idm_ccset(x, g, "location", &m->has_loc, &m->loc) < 0 ||
	    conf_idm_ccset(x, g, "ip_country", &m->has_ipcc, &m->ipcc) < 0 ||
	    conf_idm_ccset(x, g, "declared_country", &m->has_decl, &m->decl) <
	        0 ||
	    conf_tristate(x, g, "relayed", &m->relayed) < 0 ||
	    conf_tristate(x, g, "ip_mismatch", &m->ip_mismatch) < 0)
		return -1;
	return 0;
}

/*
 * An identity block can only see flows that carry a session: those of
 * the services identity.services names, in the gate's direction.
 */
static int
conf_idm_scope(struct conf_ctx *x, const config_setting_t *g,
    const struct conf_rule *r)
{
	const struct conf_identity *id = &x->c->identity;

	if (id->line == 0)
		return conf_err(x, g,
		    "rule \"%s\": identity block without an "
		    "identity group",
		    r->name);
	if (r->svc_any || r->nports != 0 || (r->services & ~id->services))
		return conf_err(x, g,
		    "rule \"%s\": an identity rule may only "
		    "name services listed in identity.services",
		    r->name);
	if (r->dir == CONF_DIR_OUT && !id->gate_out)
		return conf_err(x, g,
		    "rule \"%s\": an identity rule on "
		    "direction out needs identity.direction = \"any\" (only "
		    "inbound flows carry a session)",
		    r->name);
	return 0;
}

int
conf_idmatch_load(struct conf_ctx *x, const config_setting_t *rule,
    struct conf_rule *r)
{
	const config_setting_t *g = config_setting_get_member(rule, "identity");

	if (g == NULL)
		return 0;
	if (conf_group_check(x, g, conf_idm_keys) < 0 ||
	    conf_idm_scope(x, g, r) < 0 || conf_idm_fields(x, g, &r->id) < 0)
		return -1;
	r->id.on = true;
	return 0;
}
