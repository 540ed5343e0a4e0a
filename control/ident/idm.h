/*
 * Identity matching: what a verified token says about the people behind
 * a session, and which rules' identity blocks that satisfies.  The token
 * names a subject and, through RFC 8693 "act" claims, the chain of actors
 * the subject acts for; every one of them is a principal, evaluated with
 * the same attribute rules.  Runs in cordond only: the fast path sees the
 * result as a bitset over rules (struct pol_set) per session.
 * Semantics: docs/identity.md.
 */
#ifndef CORDON_IDM_H
#define CORDON_IDM_H

#include <stdbool.h>

#include <jansson.h>

#include "config/load/conf.h"
#include "core/geo/geo.h"
#include "core/policy/policy.h"

#define IDM_PRINC_MAX (1 + CONF_ACT_DEPTH_MAX)

struct idm_principal {
	const json_t *obj;      /* borrowed from the claims */
	unsigned depth;         /* 0: the subject; n: the n-th actor */
	bool has_ip;            /* a parsable ipaddr claim */
	bool ip_bad;            /* an ipaddr claim that does not parse */
	geo_cc_t ipcc;          /* its country (or unknown) */
	unsigned ndecl;         /* declared-country values seen */
	struct conf_ccset decl; /* all of them; unparsable: unknown */
};

struct idm_facts {
	int issuer;       /* conf identity issuer of the token */
	geo_cc_t flow_cc; /* country of the session's source address */
	unsigned n;       /* principals: subject + actors */
	struct idm_principal p[IDM_PRINC_MAX];
};

/* Why facts cannot be built from a token's claims. */
#define IDM_ERRORS(X)                                                          \
	X(OK, "ok")                                                            \
	X(ACT_DEPTH, "act-too-deep")                                           \
	X(ACT_FORM, "act-malformed")

enum idm_err {
#define X(id, name) IDM_E_##id,
	IDM_ERRORS(X)
#undef X
	    IDM_E_MAX
};
const char *idm_err_name(unsigned e);

/*
 * Gathers the principals of CLAIMS (which must outlive F) and locates
 * them with G.  An act chain deeper than identity.act_depth is refused:
 * the actors beyond it could not be judged.
 */
int idm_facts_build(const struct conf *c, const struct geo_tables *g,
    const json_t *claims, int issuer, geo_cc_t flow_cc, struct idm_facts *f);

/*
 * Does F satisfy rule R's identity block?  With STEPS, appends one
 * string per condition judged (explain).  A rule without a block: true.
 */
bool idm_rule_match(const struct conf *c, const struct conf_rule *r,
    const struct idm_facts *f, json_t *steps);

/* Bit i: rule i matches F (rules without an identity block included). */
void idm_rule_bits(const struct conf *c, const struct idm_facts *f,
    struct pol_set *bits);

/* Is P placed (ipaddr or declared; unknown when neither) in SET? */
bool idm_principal_loc_in(const struct idm_principal *p,
    const struct conf_ccset *set);

/* A declared country of P in SET (none declared: unknown). */
bool idm_decl_in(const struct idm_principal *p, const struct conf_ccset *set);

/* The first actor placed in one of SET's countries, or -1. */
int idm_actor_in(const struct idm_facts *f, const struct conf_ccset *set);

#endif
