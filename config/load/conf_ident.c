/*
 * The identity group: trusted token issuers, the claim names this site's
 * identity provider uses, the services that need a session, and the
 * session table and knock settings.  Rules' identity blocks are in
 * conf_idmatch.c.
 */
#include <string.h>

#include "config/load/conf_int.h"
#include "core/stats/reasons.h"

static const char *const conf_ident_keys[] = { "issuers", "claims", "services",
	"direction", "unidentified", "sessions", "knock", NULL };
static const char *const conf_iss_keys[] = { "name", "issuer", "audience",
	"jwks", "jwks_uri", "ca", "algorithms", "leeway", "max_token",
	"max_lifetime", "refresh", NULL };
static const char *const conf_claims_keys[] = { "groups", "roles", "ipaddr",
	"country", "act_depth", NULL };
static const char *const conf_unident_keys[] = { "action", "nexthop", "log",
	NULL };
static const char *const conf_sess_keys[] = { "capacity", "max_ttl",
	"per_subject", NULL };
static const char *const conf_knock_keys[] = { "port", "max_age", "rate",
	"burst", "proof", "nat", NULL };

static const char *const conf_alg_names[] = {
#define X(a) #a,
	CONF_ALGS(X)
#undef X
};
#define CONF_NALGS (sizeof(conf_alg_names) / sizeof(conf_alg_names[0]))

const char *
conf_alg_name(unsigned b)
{
	return b < CONF_NALGS ? conf_alg_names[b] : NULL;
}

int
conf_issuer_find(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->identity.nissuers; i++)
		if (strcmp(c->identity.issuers[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
conf_alg_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	unsigned *bits = arg;

	for (unsigned i = 0; i < CONF_NALGS; i++)
		if (strcmp(s, conf_alg_names[i]) == 0) {
			*bits |= 1u << i;
			return 0;
		}
	return conf_err(x, e,
	    "unsupported algorithm \"%s\" (RS256, PS256, "
	    "ES256, ES384 or EdDSA; HS* and none are never accepted)",
	    s);
}

static int
conf_aud_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_issuer *is = arg;

	if (is->naud == CONF_AUD_MAX)
		return conf_err(x, e, "too many audiences (at most %d)",
		    CONF_AUD_MAX);
	if (*s == '\0' || strlen(s) >= sizeof(is->aud[0]))
		return conf_err(x, e, "audience empty or too long");
	memcpy(is->aud[is->naud++], s, strlen(s) + 1);
	return 0;
}

/* A relative key file is the main file's folder's, like geo databases. */
static int
conf_iss_path(struct conf_ctx *x, const config_setting_t *g, const char *key,
    char *out)
{
	char raw[CONF_PATH_MAX], joined[CONF_PATH_MAX * 2];
	int o;

	if ((o = conf_str_get(x, g, key, false, raw, sizeof(raw))) <= 0)
		return o;
	conf_path_join(x, raw, joined, sizeof(joined));
	if (strlen(joined) >= CONF_PATH_MAX)
		return conf_err(x, config_setting_get_member(g, key),
		    "path too long");
	memcpy(out, joined, strlen(joined) + 1);
	return 1;
}

static int
conf_iss_keys_load(struct conf_ctx *x, const config_setting_t *g,
    struct conf_issuer *is)
{
	int f, u;

	if ((f = conf_iss_path(x, g, "jwks", is->jwks_file)) < 0 ||
	    (u = conf_str_get(x, g, "jwks_uri", false, is->jwks_uri,
	         sizeof(is->jwks_uri))) < 0 ||
	    conf_iss_path(x, g, "ca", is->ca_file) < 0)
		return -1;
	if (f == 0 && u == 0)
		return conf_err(x, g, "issuer \"%s\": needs jwks or jwks_uri",
		    is->name);
	if (u > 0 && strncmp(is->jwks_uri, "https://", 8) != 0)
		return conf_err(x, config_setting_get_member(g, "jwks_uri"),
		    "issuer \"%s\": jwks_uri must be https://", is->name);
	return 0;
}

static int
conf_iss_limits(struct conf_ctx *x, const config_setting_t *g,
    struct conf_issuer *is)
{
	is->leeway = 60;
	is->max_token = 8192;
	is->max_lifetime = 12 * 3600;
	is->refresh = 3600;
	if (conf_uint_get(x, g, "leeway", 0, 600, &is->leeway) < 0 ||
	    conf_uint_get(x, g, "max_token", 256, 65536, &is->max_token) < 0 ||
	    conf_uint_get(x, g, "max_lifetime", 60, 7 * 86400,
	        &is->max_lifetime) < 0 ||
	    conf_uint_get(x, g, "refresh", 60, 86400, &is->refresh) < 0)
		return -1;
	return 0;
}

static int
conf_issuer_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf_identity *id = &x->c->identity;
	struct conf_issuer *is = &id->issuers[id->nissuers];
	const config_setting_t *m;

	if (conf_group_check(x, g, conf_iss_keys) < 0 ||
	    conf_name_get(x, g, is->name) < 0)
		return -1;
	is->line = (int)config_setting_source_line(g);
	if (conf_issuer_find(x->c, is->name) >= 0)
		return conf_err(x, g, "duplicate issuer \"%s\"", is->name);
	if (conf_str_get(x, g, "issuer", true, is->iss, sizeof(is->iss)) < 0)
		return -1;
	if ((m = config_setting_get_member(g, "audience")) == NULL)
		return conf_err(x, g, "issuer \"%s\": missing audience",
		    is->name);
	if (conf_strings_each(x, m, conf_aud_one, is) <= 0)
		return is->naud ? -1 : conf_err(x, m, "empty audience list");
	if ((m = config_setting_get_member(g, "algorithms")) == NULL)
		return conf_err(x, g,
		    "issuer \"%s\": missing algorithms "
		    "(the key types it signs with)",
		    is->name);
	if (conf_strings_each(x, m, conf_alg_one, &is->algs) < 0)
		return -1;
	if (is->algs == 0)
		return conf_err(x, m, "empty algorithms list");
	if (conf_iss_keys_load(x, g, is) < 0 || conf_iss_limits(x, g, is) < 0)
		return -1;
	id->nissuers++;
	return 0;
}

static int
conf_cclaim_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_identity *id = arg;

	if (id->ncountry_claims == CONF_CCLAIM_MAX)
		return conf_err(x, e, "too many country claims (at most %d)",
		    CONF_CCLAIM_MAX);
	if (*s == '\0' || strlen(s) >= CONF_CLAIM_LEN)
		return conf_err(x, e, "claim name empty or too long");
	memcpy(id->country_claims[id->ncountry_claims++], s, strlen(s) + 1);
	return 0;
}

static int
conf_claims_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf_identity *id = &x->c->identity;
	const config_setting_t *m;

	if (conf_group_check(x, g, conf_claims_keys) < 0 ||
	    conf_str_get(x, g, "groups", false, id->groups_claim,
	        CONF_CLAIM_LEN) < 0 ||
	    conf_str_get(x, g, "roles", false, id->roles_claim,
	        CONF_CLAIM_LEN) < 0 ||
	    conf_str_get(x, g, "ipaddr", false, id->ip_claim, CONF_CLAIM_LEN) <
	        0 ||
	    conf_uint_get(x, g, "act_depth", 1, CONF_ACT_DEPTH_MAX,
	        &id->act_depth) < 0)
		return -1;
	if ((m = config_setting_get_member(g, "country")) != NULL) {
		id->ncountry_claims = 0;
		if (conf_strings_each(x, m, conf_cclaim_one, id) < 0)
			return -1;
	}
	return 0;
}

/*
 * First port number A and B both name, or 0 when they are disjoint.  *L4
 * is CONF_P_TCP or CONF_P_UDP when they name it under a protocol they
 * share, else 0: across protocols, which counts too, since the nftables
 * sessions set is keyed by (source, port) without the protocol.
 */
static unsigned
conf_svc_shared(const struct conf_service *a, const struct conf_service *b,
    uint8_t *l4)
{
	for (unsigned i = 0; i < a->nranges; i++)
		for (unsigned j = 0; j < b->nranges; j++) {
			unsigned lo = a->range[i].lo > b->range[j].lo
			                  ? a->range[i].lo
			                  : b->range[j].lo;
			unsigned hi = a->range[i].hi < b->range[j].hi
			                  ? a->range[i].hi
			                  : b->range[j].hi;

			if (lo > hi)
				continue;
			*l4 = a->protos & b->protos & CONF_P_TCP   ? CONF_P_TCP
			      : a->protos & b->protos & CONF_P_UDP ? CONF_P_UDP
			                                           : 0;
			return lo;
		}
	return 0;
}

/* "tcp port 22", or across protocols (L4 0) "port 22 (tcp and udp)". */
static const char *
conf_ident_port(uint8_t l4, unsigned port, char *buf, size_t len)
{
	if (l4 == 0)
		snprintf(buf, len, "port %u (tcp and udp)", port);
	else
		snprintf(buf, len, "%s port %u",
		    l4 == CONF_P_TCP ? "tcp" : "udp", port);
	return buf;
}

/*
 * A session is keyed by (source, service) and a packet has one service,
 * its port's: two identity services naming one port would leave the
 * second one's sessions unable to open it.  Refused (docs/identity.md).
 */
static int
conf_ident_overlap(struct conf_ctx *x, const config_setting_t *e,
    const struct conf_identity *id, unsigned v)
{
	const struct conf_service *sv = x->c->services;
	char buf[32];
	uint8_t l4;
	unsigned port;

	for (unsigned s = 0; s < x->c->nservices; s++) {
		if (s == v || !((id->services >> s) & 1) ||
		    (port = conf_svc_shared(&sv[s], &sv[v], &l4)) == 0)
			continue;
		return conf_err(x, e,
		    "identity: services \"%s\" and \"%s\" "
		    "share %s (a session opens its own service's "
		    "ports only: give each port to one identity service)",
		    sv[s].name, sv[v].name,
		    conf_ident_port(l4, port, buf, sizeof(buf)));
	}
	return 0;
}

static int
conf_ident_svc(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_identity *id = arg;
	int v = conf_service_find(x->c, s);

	if (v < 0)
		return conf_err(x, e, "identity: unknown service \"%s\"", s);
	if (x->c->services[v].nsranges != 0)
		return conf_err(x, e,
		    "identity: service \"%s\" has sports: a "
		    "session is looked up by destination port only",
		    s);
	if (conf_ident_overlap(x, e, id, (unsigned)v) < 0)
		return -1;
	id->services |= 1ULL << v;
	return 0;
}

/* "in" (the default): only flows arriving on outside ports need one. */
static int
conf_ident_dir(struct conf_ctx *x, const config_setting_t *s,
    struct conf_identity *id)
{
	char dir[16];
	int o;

	if ((o = conf_str_get(x, s, "direction", false, dir, sizeof(dir))) <= 0)
		return o;
	if (strcmp(dir, "in") != 0 && strcmp(dir, "any") != 0)
		return conf_err(x, config_setting_get_member(s, "direction"),
		    "identity: direction must be in or any, not \"%s\"", dir);
	id->gate_out = strcmp(dir, "any") == 0;
	return 0;
}

static int
conf_unident_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf_identity *id = &x->c->identity;
	char act[16], nh[CONF_NAME_MAX];
	const config_setting_t *nm = config_setting_get_member(g, "nexthop");

	if (conf_group_check(x, g, conf_unident_keys) < 0 ||
	    conf_str_get(x, g, "action", true, act, sizeof(act)) < 0 ||
	    conf_bool_get(x, g, "log", &id->unident_log) < 0)
		return -1;
	id->unident_action = cdn_action_parse(act);
	/* Unidentified management access is never let through. */
	if (id->unident_action < 0 || id->unident_action == CDN_ACT_ALLOW)
		return conf_err(x, config_setting_get_member(g, "action"),
		    "unidentified action must be drop, reject or reroute, "
		    "not \"%s\"",
		    act);
	if ((id->unident_action == CDN_ACT_REROUTE) != (nm != NULL))
		return conf_err(x, g,
		    "unidentified: a nexthop goes with "
		    "reroute, and only with it");
	if (nm == NULL)
		return 0;
	if (conf_str_get(x, g, "nexthop", true, nh, sizeof(nh)) < 0)
		return -1;
	if ((id->unident_nexthop = conf_nexthop_find(x->c, nh)) < 0)
		return conf_err(x, nm, "unknown next hop \"%s\"", nh);
	return 0;
}

static int
conf_knock_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf_identity *id = &x->c->identity;

	if (conf_group_check(x, g, conf_knock_keys) < 0 ||
	    conf_uint_get(x, g, "port", 1, 65535, &id->knock_port) < 0 ||
	    conf_uint_get(x, g, "max_age", 1, 600, &id->knock_max_age) < 0 ||
	    conf_uint_get(x, g, "rate", 1, 1000, &id->knock_rate) < 0 ||
	    conf_uint_get(x, g, "burst", 1, 10000, &id->knock_burst) < 0 ||
	    conf_bool_get(x, g, "proof", &id->knock_pop) < 0)
		return -1;
	if (id->knock_port == 0)
		return conf_err(x, g, "knock: missing port");
	if (conf_knock_nat_load(x, config_setting_get_member(g, "nat")) < 0)
		return -1;
	/* Knocks are consumed, never forwarded: no service may use it. */
	for (unsigned s = 0; s < x->c->nservices; s++) {
		const struct conf_service *v = &x->c->services[s];

		for (unsigned r = 0; (v->protos & CONF_P_UDP) && r < v->nranges;
		     r++)
			if (id->knock_port >= v->range[r].lo &&
			    id->knock_port <= v->range[r].hi)
				return conf_err(x,
				    config_setting_get_member(g, "port"),
				    "knock: port %u is service "
				    "\"%s\"'s",
				    id->knock_port, v->name);
	}
	return 0;
}

static void
conf_ident_defaults(struct conf_identity *id)
{
	snprintf(id->groups_claim, CONF_CLAIM_LEN, "groups");
	snprintf(id->roles_claim, CONF_CLAIM_LEN, "roles");
	snprintf(id->ip_claim, CONF_CLAIM_LEN, "ipaddr");
	snprintf(id->country_claims[0], CONF_CLAIM_LEN, "ctry");
	id->ncountry_claims = 1;
	id->act_depth = 4;
	id->unident_action = CDN_ACT_DROP;
	id->unident_nexthop = -1;
	id->unident_log = true;
	id->capacity = 65536;
	id->max_ttl = 3600;
	id->per_subject = 64;
	id->knock_max_age = 30;
	id->knock_rate = 1;
	id->knock_burst = 5;
	/* A bearer knock can be re-wrapped by whoever captures it. */
	id->knock_pop = true;
}

/* Each member group in turn; absent ones keep their defaults. */
static int
conf_ident_parts(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_identity *id = &x->c->identity;
	const config_setting_t *m;
	int n;

	if ((m = config_setting_get_member(s, "claims")) != NULL &&
	    conf_claims_load(x, m) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "services")) == NULL)
		return conf_err(x, s,
		    "identity: missing services (the "
		    "services that need a session)");
	if ((n = conf_strings_each(x, m, conf_ident_svc, id)) < 0)
		return -1;
	if (n == 0)
		return conf_err(x, m, "identity: empty services list");
	if (conf_ident_dir(x, s, id) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "unidentified")) != NULL &&
	    conf_unident_load(x, m) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "sessions")) != NULL &&
	    (conf_group_check(x, m, conf_sess_keys) < 0 ||
	        conf_uint_get(x, m, "capacity", 16, 1u << 20, &id->capacity) <
	            0 ||
	        conf_uint_get(x, m, "max_ttl", 10, 7 * 86400, &id->max_ttl) <
	            0 ||
	        conf_uint_get(x, m, "per_subject", 1, 1u << 20,
	            &id->per_subject) < 0))
		return -1;
	if ((m = config_setting_get_member(s, "knock")) != NULL &&
	    conf_knock_load(x, m) < 0)
		return -1;
	return 0;
}

int
conf_identity_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_identity *id = &x->c->identity;
	const config_setting_t *m;

	if (conf_group_check(x, s, conf_ident_keys) < 0)
		return -1;
	conf_ident_defaults(id);
	id->line = (int)config_setting_source_line(s);
	if ((m = config_setting_get_member(s, "issuers")) == NULL)
		return conf_err(x, s, "identity: missing issuers");
	if (conf_list_each(x, m, CONF_ISSUER_MAX, "issuers", conf_issuer_load) <
	    0)
		return -1;
	if (id->nissuers == 0)
		return conf_err(x, m, "identity: empty issuers list");
	return conf_ident_parts(x, s);
}
