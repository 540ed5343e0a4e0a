/*
 * The rules section: the ordered rule list.  Each rule is resolved here
 * against regions, services and next hops, so that the policy compiler
 * only ever sees sets and indexes.
 */
#include <string.h>

#include "config/load/conf_int.h"
#include "core/stats/reasons.h"

static const char *const conf_rule_keys[] = { "name", "src", "dst", "services",
	"proto", "ports", "direction", "action", "nexthop", "log", "identity",
	"origin", "via", "tunnel", "evidence", "dst_via", NULL };

/* Where one src or dst list lands. */
struct conf_side {
	struct conf_rule *r;
	bool *any;
	struct conf_ccset *set;
	unsigned *nref;
	struct conf_ref *ref;
};

/*
 * "class:NAME": addresses of relay class NAME (geo.classes), whatever
 * their country.  Sources only (src, origin, via): a class says who
 * connects or relays, never where a packet goes.
 */
static int
conf_side_class(struct conf_ctx *x, const config_setting_t *e, const char *s,
    struct conf_side *d, struct conf_ref *ref)
{
	const char *name = s + strlen(CONF_CLASS_PREFIX);
	int v;

	if (d->set == &d->r->dst || d->set == &d->r->dst_via)
		return conf_err(x, e,
		    "rule \"%s\": \"%s\": classes match "
		    "sources only (src, origin, via)",
		    d->r->name, s);
	if ((v = conf_class_find(x->c, name)) < 0)
		return conf_err(x, e,
		    "rule \"%s\": unknown class \"%s\" "
		    "(geo.classes)",
		    d->r->name, name);
	d->set->cls |= (geo_cls_t)1 << v;
	*ref = (struct conf_ref){ CONF_REF_CLASS, (uint16_t)v };
	return 0;
}

static int
conf_side_item(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_side *d = arg;
	struct conf_ref ref = { CONF_REF_ANY, 0 };
	char what[CONF_NAME_MAX + 16];
	int v;

	if (*d->nref == CONF_REF_MAX)
		return conf_err(x, e, "too many items (at most %d)",
		    CONF_REF_MAX);
	if (strcmp(s, "any") == 0) {
		*d->any = true;
	} else if (strncmp(s, CONF_CLASS_PREFIX, strlen(CONF_CLASS_PREFIX)) ==
	           0) {
		if (conf_side_class(x, e, s, d, &ref) < 0)
			return -1;
	} else if (strcmp(s, "unknown") == 0) {
		ref = (struct conf_ref){ CONF_REF_CC, GEO_CC_UNKNOWN };
		conf_ccset_add(d->set, GEO_CC_UNKNOWN);
	} else if ((v = conf_region_find(x->c, s)) >= 0) {
		ref = (struct conf_ref){ CONF_REF_REGION, (uint16_t)v };
		for (unsigned i = 0; i < CONF_CC_WORDS; i++)
			d->set->w[i] |= x->c->regions[v].cc.w[i];
	} else if (strcmp(s, "special") == 0) {
		ref = (struct conf_ref){ CONF_REF_SPECIAL, 0 };
		conf_builtin_add(s, d->set);
	} else if ((v = geo_special_parse(s)) >= 0 ||
	           (v = geo_cc_parse(s)) >= 0) {
		ref = (struct conf_ref){ CONF_REF_CC, (uint16_t)v };
		conf_ccset_add(d->set, (geo_cc_t)v);
	} else {
		snprintf(what, sizeof(what), "rule \"%s\": ", d->r->name);
		if (conf_cc_unassigned(x, e, what, s) < 0)
			return -1;
		return conf_err(x, e, "%sunknown region or country \"%s\"",
		    what, s);
	}
	d->ref[(*d->nref)++] = ref;
	return 0;
}

static int
conf_side_load(struct conf_ctx *x, const config_setting_t *g, const char *key,
    struct conf_side *d)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	int n;

	if (m == NULL) {
		*d->any = true;
		return 0;
	}
	if ((n = conf_strings_each(x, m, conf_side_item, d)) < 0)
		return -1;
	/* An empty list matching nothing is never what was meant. */
	if (n == 0)
		return conf_err(x, m, "rule \"%s\": empty %s list", d->r->name,
		    key);
	return 0;
}

static int
conf_sides_load(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	struct conf_side src = { r, &r->src_any, &r->src, &r->nsrc_ref,
		r->src_ref };
	struct conf_side dst = { r, &r->dst_any, &r->dst, &r->ndst_ref,
		r->dst_ref };
	bool oany = false, vany = false;
	struct conf_side origin = { r, &oany, &r->origin, &r->norigin_ref,
		r->origin_ref };
	struct conf_side via = { r, &vany, &r->via, &r->nvia_ref, r->via_ref };
	bool dvany = false;
	struct conf_side dvia = { r, &dvany, &r->dst_via, &r->ndst_via_ref,
		r->dst_via_ref };

	if (conf_side_load(x, g, "src", &src) < 0 ||
	    conf_side_load(x, g, "dst", &dst) < 0 ||
	    conf_side_load(x, g, "origin", &origin) < 0 ||
	    conf_side_load(x, g, "via", &via) < 0 ||
	    conf_side_load(x, g, "dst_via", &dvia) < 0)
		return -1;
	r->has_origin = !oany;
	r->has_via = !vany;
	r->has_dst_via = !dvany;
	return conf_rule_tun_load(x, g, r);
}

static int
conf_rule_svc(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_rule *r = arg;
	int v;

	if ((v = conf_service_find(x->c, s)) < 0)
		return conf_err(x, e, "rule \"%s\": unknown service \"%s\"",
		    r->name, s);
	r->services |= 1ULL << v;
	return 0;
}

/*
 * Services and ports only match TCP and UDP.  Without "proto" a rule
 * takes the protocols of its services (ports alone: both); with it, each
 * service must share one of them, or the rule could never match it.
 */
static int
conf_rule_protos(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	const config_setting_t *m = config_setting_get_member(g, "proto");
	const uint8_t l4 = CONF_P_TCP | CONF_P_UDP;
	uint8_t given = CONF_P_ANY;

	if (m != NULL && conf_protos_get(x, m, CONF_P_ANY, &given) < 0)
		return -1;
	if (r->svc_any) {
		r->protos = given;
		return 0;
	}
	if (given != CONF_P_ANY && (given & ~l4) != 0)
		return conf_err(x, m,
		    "rule \"%s\": services and ports only "
		    "match tcp and udp",
		    r->name);
	if (m == NULL || given == CONF_P_ANY) {
		r->protos = r->nports ? l4 : 0;
		for (unsigned i = 0; i < x->c->nservices; i++)
			if (r->services & (1ULL << i))
				r->protos |= x->c->services[i].protos;
		return 0;
	}
	r->protos = given;
	for (unsigned i = 0; i < x->c->nservices; i++)
		if ((r->services & (1ULL << i)) &&
		    (x->c->services[i].protos & given) == 0)
			return conf_err(x, m,
			    "rule \"%s\": service \"%s\" has "
			    "no protocol in common with proto",
			    r->name, x->c->services[i].name);
	return 0;
}

static int
conf_rule_match(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	const config_setting_t *m;
	int n;

	if (conf_sides_load(x, g, r) < 0)
		return -1;
	if ((m = config_setting_get_member(g, "services")) != NULL) {
		if ((n = conf_strings_each(x, m, conf_rule_svc, r)) < 0)
			return -1;
		if (n == 0)
			return conf_err(x, m,
			    "rule \"%s\": empty services "
			    "list",
			    r->name);
	}
	if ((m = config_setting_get_member(g, "ports")) != NULL &&
	    conf_ranges_get(x, m, r->ports, &r->nports) < 0)
		return -1;
	r->svc_any = r->services == 0 && r->nports == 0;
	return conf_rule_protos(x, g, r);
}

static int
conf_rule_dir(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	char dir[16];
	int o;

	if ((o = conf_str_get(x, g, "direction", false, dir, sizeof(dir))) <= 0)
		return o;
	if (strcmp(dir, "in") == 0)
		r->dir = CONF_DIR_IN;
	else if (strcmp(dir, "out") == 0)
		r->dir = CONF_DIR_OUT;
	else if (strcmp(dir, "any") == 0)
		r->dir = CONF_DIR_ANY;
	else
		return conf_err(x, config_setting_get_member(g, "direction"),
		    "rule \"%s\": direction must be in, out or any, not \"%s\"",
		    r->name, dir);
	return 0;
}

static int
conf_rule_action(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	const config_setting_t *nm = config_setting_get_member(g, "nexthop");
	char act[16], nh[CONF_NAME_MAX];

	if (conf_str_get(x, g, "action", true, act, sizeof(act)) < 0)
		return -1;
	if ((r->action = cdn_action_parse(act)) < 0)
		return conf_err(x, config_setting_get_member(g, "action"),
		    "rule \"%s\": action must be allow, drop, reject or "
		    "reroute, not \"%s\"",
		    r->name, act);
	r->nexthop = -1;
	if (r->action == CDN_ACT_REROUTE && nm == NULL)
		return conf_err(x, g, "rule \"%s\": reroute needs a nexthop",
		    r->name);
	if (r->action != CDN_ACT_REROUTE && nm != NULL)
		return conf_err(x, nm,
		    "rule \"%s\": nexthop is only valid "
		    "with action reroute",
		    r->name);
	if (nm == NULL)
		return 0;
	if (conf_str_get(x, g, "nexthop", true, nh, sizeof(nh)) < 0)
		return -1;
	if ((r->nexthop = conf_nexthop_find(x->c, nh)) < 0)
		return conf_err(x, nm, "rule \"%s\": unknown next hop \"%s\"",
		    r->name, nh);
	return 0;
}

static int
conf_rule_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf *c = x->c;
	struct conf_rule *r = &c->rules[c->nrules];
	int f;

	if (conf_group_check(x, g, conf_rule_keys) < 0 ||
	    conf_name_get(x, g, r->name) < 0)
		return -1;
	for (unsigned i = 0; i < c->nrules; i++)
		if (strcmp(c->rules[i].name, r->name) == 0)
			return conf_err(x, config_setting_get_member(g, "name"),
			    "duplicate rule \"%s\"", r->name);
	if ((f = conf_file_index(x, g)) < 0)
		return -1;
	r->file = (unsigned)f;
	r->line = (int)config_setting_source_line(g);
	if (conf_rule_match(x, g, r) < 0 || conf_rule_dir(x, g, r) < 0 ||
	    conf_idmatch_load(x, g, r) < 0 || conf_rule_action(x, g, r) < 0 ||
	    conf_bool_get(x, g, "log", &r->log) < 0 ||
	    conf_bool_get(x, g, "evidence", &r->evidence) < 0 ||
	    conf_evidence_check(x, g, r) < 0)
		return -1;
	c->nrules++;
	return 0;
}

int
conf_rules_load(struct conf_ctx *x, const config_setting_t *s)
{
	return conf_list_each(x, s, CONF_RULE_MAX, "rules", conf_rule_load);
}
