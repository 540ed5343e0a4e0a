/*
 * geo.classes and geo.asn_database: the relay classes (docs/config.md).
 * Only the config is read here; the files themselves are read by the
 * geo compiler (config/geo/geo_class.c), at every compile and every
 * `geo reload`, and refused there with FILE:LINE.
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_class_keys[] = { "name", "prefixes", "asns",
	"asn", NULL };

/* A file member: joined to the config's folder, into OUT. */
static int
conf_class_path(struct conf_ctx *x, const config_setting_t *g, const char *key,
    char out[CONF_PATH_MAX])
{
	char file[CONF_PATH_MAX], path[CONF_PATH_MAX * 2];
	int r;

	out[0] = '\0';
	if ((r = conf_str_get(x, g, key, false, file, sizeof(file))) <= 0)
		return r;
	conf_path_join(x, file, path, sizeof(path));
	if (strlen(path) >= CONF_PATH_MAX)
		return conf_err(x, config_setting_get_member(g, key),
		    "%s path too long (at most %d characters)", key,
		    CONF_PATH_MAX - 1);
	memcpy(out, path, strlen(path) + 1);
	return 1;
}

/* asn = [ 64500, 64501 ]: AS numbers 1..4294967295. */
static int
conf_class_asn(struct conf_ctx *x, const config_setting_t *m,
    struct conf_class *k)
{
	const config_setting_t *e;
	long long v;
	int n;

	if (!config_setting_is_aggregate(m))
		return conf_err(x, m,
		    "class \"%s\": asn must be a list of "
		    "numbers",
		    k->name);
	n = config_setting_length(m);
	if (n > CONF_CLASS_ASN_MAX)
		return conf_err(x, m,
		    "class \"%s\": too many asn (at most "
		    "%d; use an asns file)",
		    k->name, CONF_CLASS_ASN_MAX);
	for (int i = 0; i < n; i++) {
		e = config_setting_get_elem(m, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_INT &&
		    config_setting_type(e) != CONFIG_TYPE_INT64)
			return conf_err(x, e,
			    "class \"%s\": asn must be "
			    "numbers",
			    k->name);
		v = config_setting_get_int64(e);
		if (v < 1 || v > 4294967295LL)
			return conf_err(x, e,
			    "class \"%s\": AS number %lld "
			    "out of range",
			    k->name, v);
		k->asn[k->nasn++] = (uint32_t)v;
	}
	return 0;
}

static int
conf_class_load(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf *c = x->c;
	struct conf_class *k = &c->classes[c->nclasses];
	const config_setting_t *m;

	memset(k, 0, sizeof(*k));
	if (conf_group_check(x, g, conf_class_keys) < 0 ||
	    conf_name_get(x, g, k->name) < 0)
		return -1;
	if (conf_class_find(c, k->name) >= 0)
		return conf_err(x, g, "duplicate class \"%s\"", k->name);
	k->line = (int)config_setting_source_line(g);
	if (conf_class_path(x, g, "prefixes", k->prefixes) < 0 ||
	    conf_class_path(x, g, "asns", k->asns) < 0)
		return -1;
	if ((m = config_setting_get_member(g, "asn")) != NULL &&
	    conf_class_asn(x, m, k) < 0)
		return -1;
	if (k->prefixes[0] == '\0' && k->asns[0] == '\0' && k->nasn == 0)
		return conf_err(x, g,
		    "class \"%s\": give prefixes, asns or "
		    "asn",
		    k->name);
	c->nclasses++;
	return 0;
}

int
conf_classes_load(struct conf_ctx *x, const config_setting_t *g)
{
	const config_setting_t *m = config_setting_get_member(g, "classes");
	struct conf *c = x->c;

	if (conf_class_path(x, g, "asn_database", c->asn_db) < 0)
		return -1;
	if (m != NULL &&
	    conf_list_each(x, m, GEO_CLS_MAX, "classes", conf_class_load) < 0)
		return -1;
	for (unsigned i = 0; i < c->nclasses; i++)
		if ((c->classes[i].asns[0] != '\0' || c->classes[i].nasn > 0) &&
		    c->asn_db[0] == '\0')
			return conf_err(x, config_setting_get_elem(m, i),
			    "class \"%s\" names AS numbers: "
			    "geo.asn_database is required",
			    c->classes[i].name);
	return 0;
}

int
conf_class_find(const struct conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nclasses; i++)
		if (strcmp(c->classes[i].name, name) == 0)
			return (int)i;
	return -1;
}
