/*
 * The geo section (database layers and prefix overrides) and the regions
 * section (named country sets).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_geo_keys[] = { "databases", "overrides", NULL };
static const char *const conf_db_keys[] = { "file", "field", NULL };
static const char *const conf_ov_keys[] = { "prefix", "country", NULL };

static int
conf_db_load(struct conf_ctx *x, const config_setting_t *e)
{
	struct conf *c = x->c;
	char file[CONF_PATH_MAX];
	char path[CONF_PATH_MAX * 2];

	if (conf_group_check(x, e, conf_db_keys) < 0)
		return -1;
	if (conf_str_get(x, e, "file", true, file, sizeof(file)) < 0)
		return -1;
	conf_path_join(x, file, path, sizeof(path));
	if (strlen(path) >= CONF_PATH_MAX)
		return conf_err(x, config_setting_get_member(e, "file"),
		    "database path too long (at most %d characters)",
		    CONF_PATH_MAX - 1);
	memcpy(c->geo_path[c->ngeo], path, strlen(path) + 1);
	snprintf(c->geo_field[c->ngeo], GEO_FIELD_MAX, "%s", GEO_DEFAULT_FIELD);
	if (conf_str_get(x, e, "field", false, c->geo_field[c->ngeo],
	        GEO_FIELD_MAX) < 0)
		return -1;
	c->ngeo++;
	return 0;
}

/* Parses "ADDR/LEN" (or a bare address: one host) into O. */
int
conf_prefix_parse(const char *s, struct geo_override *o)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned plen = 0;

	if (alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(o->addr, 0, sizeof(o->addr));
	if (inet_pton(AF_INET, addr, o->addr) == 1)
		o->af = 4;
	else if (inet_pton(AF_INET6, addr, o->addr) == 1)
		o->af = 6;
	else
		return -1;
	if (slash == NULL) {
		o->plen = o->af == 4 ? 32 : 128;
		return 0;
	}
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		return -1;
	for (const char *p = slash + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		plen = plen * 10 + (unsigned)(*p - '0');
	}
	if (plen > (o->af == 4 ? 32u : 128u))
		return -1;
	o->plen = (uint8_t)plen;
	return 0;
}

bool
conf_prefix_host_bits(const struct geo_override *o)
{
	unsigned bytes = o->af == 4 ? 4 : 16;

	for (unsigned i = 0; i < bytes; i++) {
		unsigned keep = o->plen >= (i + 1) * 8 ? 8
		                : o->plen > i * 8      ? o->plen - i * 8
		                                       : 0;
		uint8_t mask = (uint8_t)(0xff >> keep);

		if (o->addr[i] & mask)
			return true;
	}
	return false;
}

int
conf_builtin_add(const char *name, struct conf_ccset *set)
{
	int v;

	if (strcmp(name, "special") == 0) {
		for (v = GEO_CC_SPECIAL; v < GEO_CC_MAX; v++)
			conf_ccset_add(set, (geo_cc_t)v);
		return 1;
	}
	if ((v = geo_special_parse(name)) < 0)
		return 0;
	conf_ccset_add(set, (geo_cc_t)v);
	return 1;
}

int
conf_cc_unassigned(struct conf_ctx *x, const config_setting_t *e,
    const char *what, const char *s)
{
	/* A placeholder or a withdrawn code: never a country. */
	if (geo_cc_pair(s) >= 0 && geo_cc_parse(s) < 0)
		return conf_err(x, e,
		    "%s\"%s\" is not an ISO 3166-1 country "
		    "code",
		    what, s);
	return 0;
}

/* An override's country: ISO 3166-1, a special sub-region, "unknown". */
static int
conf_country_parse(const char *s)
{
	if (strcmp(s, "unknown") == 0)
		return GEO_CC_UNKNOWN;
	if (geo_special_parse(s) >= 0)
		return geo_special_parse(s);
	return geo_cc_parse(s);
}

/* S as an override's or a region's country, or -1 reported at E. */
static int
conf_country_get(struct conf_ctx *x, const config_setting_t *e,
    const char *what, const char *s)
{
	int v = conf_country_parse(s);

	if (v >= 0 || conf_cc_unassigned(x, e, what, s) < 0)
		return v;
	return conf_err(x, e,
	    "%sbad country \"%s\" (an ISO 3166-1 code, a "
	    "special-purpose region, or \"unknown\")",
	    what, s);
}

static bool
conf_override_dup(const struct conf *c, const struct geo_override *o)
{
	for (unsigned i = 0; i < c->noverrides; i++) {
		const struct geo_override *p = &c->overrides[i];

		if (p->af == o->af && p->plen == o->plen &&
		    memcmp(p->addr, o->addr, sizeof(o->addr)) == 0)
			return true;
	}
	return false;
}

static int
conf_override_load(struct conf_ctx *x, const config_setting_t *e)
{
	struct geo_override o;
	char pfx[64], cc[16];
	const config_setting_t *ps;
	int v;

	if (conf_group_check(x, e, conf_ov_keys) < 0)
		return -1;
	if (conf_str_get(x, e, "prefix", true, pfx, sizeof(pfx)) < 0 ||
	    conf_str_get(x, e, "country", true, cc, sizeof(cc)) < 0)
		return -1;
	ps = config_setting_get_member(e, "prefix");
	if (conf_prefix_parse(pfx, &o) < 0)
		return conf_err(x, ps, "bad prefix \"%s\"", pfx);
	if (conf_prefix_host_bits(&o))
		return conf_err(x, ps, "prefix \"%s\" has host bits set", pfx);
	if (conf_override_dup(x->c, &o))
		return conf_err(x, ps, "duplicate override for \"%s\"", pfx);
	v = conf_country_get(x, config_setting_get_member(e, "country"), "",
	    cc);
	if (v < 0)
		return -1;
	o.cc = (geo_cc_t)v;
	x->c->overrides[x->c->noverrides++] = o;
	return 0;
}

int
conf_geo_load(struct conf_ctx *x, const config_setting_t *s)
{
	const config_setting_t *m;

	if (conf_group_check(x, s, conf_geo_keys) < 0)
		return -1;
	m = config_setting_get_member(s, "databases");
	if (m != NULL &&
	    conf_list_each(x, m, GEO_LAYER_MAX, "databases", conf_db_load) < 0)
		return -1;
	m = config_setting_get_member(s, "overrides");
	if (m != NULL && conf_list_each(x, m, CONF_OVERRIDE_MAX, "overrides",
	                     conf_override_load) < 0)
		return -1;
	return 0;
}

static int
conf_region_cc(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_region *r = arg;
	char what[CONF_NAME_MAX + 16];
	int v;

	if (conf_builtin_add(s, &r->cc))
		return 0;
	snprintf(what, sizeof(what), "region \"%s\": ", r->name);
	if ((v = conf_country_get(x, e, what, s)) < 0)
		return -1;
	conf_ccset_add(&r->cc, (geo_cc_t)v);
	return 0;
}

static int
conf_region_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf *c = x->c;
	struct conf_region *r = &c->regions[c->nregions];
	const char *name = config_setting_name(s);

	if (conf_name_check(x, s, name) < 0)
		return -1;
	/*
	 * Rules look names up as "any", "unknown", region, built-in region,
	 * then country: none may be shadowed.
	 */
	if (strcmp(name, "any") == 0 || strcmp(name, "unknown") == 0 ||
	    strcmp(name, "special") == 0 || geo_special_parse(name) >= 0)
		return conf_err(x, s, "region name \"%s\" is reserved", name);
	if (geo_cc_pair(name) >= 0)
		return conf_err(x, s,
		    "region name \"%s\" looks like a country "
		    "code",
		    name);
	memcpy(r->name, name, strlen(name) + 1);
	r->line = (int)config_setting_source_line(s);
	if (conf_strings_each(x, s, conf_region_cc, r) < 0)
		return -1;
	c->nregions++;
	return 0;
}

int
conf_regions_load(struct conf_ctx *x, const config_setting_t *s)
{
	int n;

	if (conf_want_group(x, s) < 0)
		return -1;
	n = config_setting_length(s);
	if (n > CONF_REGION_MAX)
		return conf_err(x, config_setting_get_elem(s, CONF_REGION_MAX),
		    "too many regions (at most %d)", CONF_REGION_MAX);
	/* libconfig itself refuses two members of one group with one name. */
	for (int i = 0; i < n; i++)
		if (conf_region_load(x, config_setting_get_elem(s, i)) < 0)
			return -1;
	return 0;
}
