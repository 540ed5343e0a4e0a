/*
 * Principals of a token: the subject, then each nested "act" claim
 * (RFC 8693 section 4.1: the current actor outermost), each located by
 * its geolocated ipaddr claim and its declared-country claims.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#include "control/ident/idm.h"

static const char *const idm_err_names[] = {
#define X(id, name) name,
	IDM_ERRORS(X)
#undef X
};

const char *
idm_err_name(unsigned e)
{
	return e < IDM_E_MAX ? idm_err_names[e] : "?";
}

/* The country of a textual address, or unknown when it does not parse. */
static bool
idm_ip_cc(const struct geo_tables *g, const char *s, geo_cc_t *cc)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		*cc = g ? geo_lookup4(g, ntohl(a4.s_addr)) : GEO_CC_UNKNOWN;
		return true;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		*cc = g ? geo_lookup6(g, a6.s6_addr) : GEO_CC_UNKNOWN;
		return true;
	}
	*cc = GEO_CC_UNKNOWN;
	return false;
}

/* ISO 3166 alpha-2 in either case; anything else counts as unknown. */
static geo_cc_t
idm_decl_cc(const json_t *v)
{
	const char *s = json_string_value(v);
	char up[3];
	int cc;

	if (s == NULL || strlen(s) != 2)
		return GEO_CC_UNKNOWN;
	up[0] = (char)toupper((unsigned char)s[0]);
	up[1] = (char)toupper((unsigned char)s[1]);
	up[2] = '\0';
	cc = geo_cc_parse(up);
	return cc < 0 ? GEO_CC_UNKNOWN : (geo_cc_t)cc;
}

static void
idm_decl_add(struct idm_principal *p, const json_t *v)
{
	size_t i;
	const json_t *e;

	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			idm_decl_add(p, e);
		return;
	}
	/* Every value counts: a long list must not hide a prohibited one. */
	conf_ccset_add(&p->decl, idm_decl_cc(v));
	p->ndecl++;
}

static void
idm_locate(const struct conf *c, const struct geo_tables *g,
    struct idm_principal *p)
{
	const struct conf_identity *id = &c->identity;
	const json_t *ipv = json_object_get(p->obj, id->ip_claim), *v;
	const char *ip = json_string_value(ipv);

	p->has_ip = ip != NULL && idm_ip_cc(g, ip, &p->ipcc);
	/* A list, a number, "a.b.c.d:port": somewhere we cannot place. */
	p->ip_bad = ipv != NULL && !json_is_null(ipv) && !p->has_ip;
	if (!p->has_ip)
		p->ipcc = GEO_CC_UNKNOWN;
	p->ndecl = 0;
	memset(&p->decl, 0, sizeof(p->decl));
	for (unsigned i = 0; i < id->ncountry_claims; i++)
		if ((v = json_object_get(p->obj, id->country_claims[i])) !=
		    NULL)
			idm_decl_add(p, v);
}

int
idm_facts_build(const struct conf *c, const struct geo_tables *g,
    const json_t *claims, int issuer, geo_cc_t flow_cc, struct idm_facts *f)
{
	const json_t *o = claims, *act;
	unsigned depth = c->identity.act_depth;

	memset(f, 0, sizeof(*f));
	f->issuer = issuer;
	f->flow_cc = flow_cc;
	if (!json_is_object(o))
		return IDM_E_ACT_FORM;
	for (;;) {
		struct idm_principal *p = &f->p[f->n];

		p->obj = o;
		p->depth = f->n++;
		idm_locate(c, g, p);
		if ((act = json_object_get(o, "act")) == NULL)
			return IDM_E_OK;
		if (!json_is_object(act))
			return IDM_E_ACT_FORM;
		/* Actors past the limit would go unjudged: refuse. */
		if (f->n > depth || f->n == IDM_PRINC_MAX)
			return IDM_E_ACT_DEPTH;
		o = act;
	}
}

bool
idm_decl_in(const struct idm_principal *p, const struct conf_ccset *set)
{
	if (p->ndecl == 0)
		return conf_ccset_has(set, GEO_CC_UNKNOWN);
	for (unsigned i = 0; i < CONF_CC_WORDS; i++)
		if (p->decl.w[i] & set->w[i])
			return true;
	return false;
}

/*
 * Where a principal is: its ipaddr country and declared ones; with
 * neither, unknown (never a pass).  An ipaddr claim that does not parse
 * is an unknown place too: a declared country beside it must not hide
 * where the principal really connected from.
 */
static bool
idm_loc_in(const struct idm_principal *p, const struct conf_ccset *set)
{
	if (p->ip_bad && conf_ccset_has(set, GEO_CC_UNKNOWN))
		return true;
	if (p->has_ip)
		return conf_ccset_has(set, p->ipcc) ||
		       (p->ndecl != 0 && idm_decl_in(p, set));
	return idm_decl_in(p, set);
}

int
idm_actor_in(const struct idm_facts *f, const struct conf_ccset *set)
{
	for (unsigned i = 1; i < f->n; i++)
		if (idm_loc_in(&f->p[i], set))
			return (int)i;
	return -1;
}

bool
idm_principal_loc_in(const struct idm_principal *p,
    const struct conf_ccset *set)
{
	return idm_loc_in(p, set);
}
