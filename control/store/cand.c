/*
 * Candidate edits: one object of the config (a rule, a region, ...) set
 * or deleted in libconfig text.  The text is parsed into a libconfig
 * tree, edited with config_setting_* calls and written back, so the
 * result is always well-formed; whether it is a valid policy is for the
 * commit to decide.  libconfig 1.5 can only append to a list or group,
 * so an object keeps (or takes) its place by moving the ones after it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/store.h"
#include "control/store/store_int.h"
#include "core/util/fail.h"

enum cand_type {
	CAND_STR,   /* a string */
	CAND_STRS,  /* a string, or an array of strings */
	CAND_ARRAY, /* an array of strings (a string: one item) */
	CAND_PORTS, /* an array of "N" / "LO-HI" (numbers allowed) */
	CAND_BOOL,
	CAND_INT,
	CAND_POS, /* 1-based position, not written */
};

struct cand_attr {
	const char *key;
	enum cand_type type;
};

struct cand_ctx {
	config_t cfg;
	const char *kind, *name;
	char *err;
	size_t errlen;
};

static const struct cand_attr cand_rule_attrs[] = { { "src", CAND_STRS },
	{ "dst", CAND_STRS }, { "services", CAND_STRS }, { "proto", CAND_STRS },
	{ "ports", CAND_PORTS }, { "direction", CAND_STR },
	{ "action", CAND_STR }, { "nexthop", CAND_STR }, { "log", CAND_BOOL },
	{ "origin", CAND_STRS }, { "via", CAND_STRS }, { "dst_via", CAND_STRS },
	{ "tunnel", CAND_STRS }, { "evidence", CAND_BOOL },
	{ "position", CAND_POS }, { NULL, 0 } };
static const struct cand_attr cand_region_attrs[] = {
	{ "countries", CAND_ARRAY }, { NULL, 0 }
};
static const struct cand_attr cand_service_attrs[] = { { "proto", CAND_STRS },
	{ "ports", CAND_PORTS }, { NULL, 0 } };
static const struct cand_attr cand_override_attrs[] = { { "country", CAND_STR },
	{ NULL, 0 } };
static const struct cand_attr cand_nexthop_attrs[] = { { "port", CAND_STR },
	{ "mac", CAND_STR }, { "vlan", CAND_INT }, { "address", CAND_STR },
	{ "address6", CAND_STR }, { "table", CAND_INT }, { "fwmark", CAND_INT },
	{ NULL, 0 } };
static const struct cand_attr cand_default_attrs[] = { { "action", CAND_STR },
	{ "log", CAND_BOOL }, { NULL, 0 } };

/*
 * Stored texts are flattened; an @include would be read relative to
 * the daemon's working folder, so it is refused rather than followed.
 */
int
cand_include_check(const char *text, const char *label, char *err,
    size_t errlen)
{
	int line = 1;

	for (const char *p = text; *p != '\0'; line++) {
		p += strspn(p, " \t");
		if (strncmp(p, "@include", 8) == 0)
			return fail_with(err, errlen, EINVAL,
			    "%s:%d: @include is not "
			    "allowed in a candidate",
			    label, line);
		p = strchrnul(p, '\n');
		if (*p == '\n')
			p++;
	}
	return 0;
}

static int
cand_parse(struct cand_ctx *x, const char *text)
{
	config_init(&x->cfg);
	if (cand_include_check(text, "candidate", x->err, x->errlen) < 0)
		return -1;
	if (!config_read_string(&x->cfg, text))
		return fail_with(x->err, x->errlen, EINVAL, "candidate:%d: %s",
		    config_error_line(&x->cfg), config_error_text(&x->cfg));
	return 0;
}

/* Deep copy of SRC as a new last element (or member) of PARENT. */
static config_setting_t *
cand_copy(config_setting_t *parent, const config_setting_t *src)
{
	int type = config_setting_type(src);
	const char *name =
	    config_setting_is_group(parent) ? config_setting_name(src) : NULL;
	config_setting_t *d = config_setting_add(parent, name, type);

	if (d == NULL)
		return NULL;
	switch (type) {
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_LIST:
	case CONFIG_TYPE_ARRAY:
		for (int i = 0; i < config_setting_length(src); i++)
			if (cand_copy(d, config_setting_get_elem(src,
			                     (unsigned)i)) == NULL)
				return NULL;
		break;
	case CONFIG_TYPE_INT:
		config_setting_set_int(d, config_setting_get_int(src));
		break;
	case CONFIG_TYPE_INT64:
		config_setting_set_int64(d, config_setting_get_int64(src));
		break;
	case CONFIG_TYPE_FLOAT:
		config_setting_set_float(d, config_setting_get_float(src));
		break;
	case CONFIG_TYPE_BOOL:
		config_setting_set_bool(d, config_setting_get_bool(src));
		break;
	case CONFIG_TYPE_STRING:
		config_setting_set_string(d, config_setting_get_string(src));
		break;
	}
	config_setting_set_format(d, config_setting_get_format(src));
	return d;
}

/*
 * Moves PARENT's last element to index POS, by moving the ones from POS
 * on through a scratch tree to the end.
 */
static int
cand_move_last(struct cand_ctx *x, config_setting_t *parent, int pos)
{
	int n = config_setting_length(parent), rc = 0;
	config_setting_t *hold;
	config_t tmp;

	if (pos >= n - 1)
		return 0;
	config_init(&tmp);
	hold = config_setting_add(config_root_setting(&tmp), "hold",
	    config_setting_type(parent) == CONFIG_TYPE_GROUP
	        ? CONFIG_TYPE_GROUP
	        : CONFIG_TYPE_LIST);
	for (int i = pos; i < n - 1 && rc == 0; i++) {
		config_setting_t *e =
		    config_setting_get_elem(parent, (unsigned)pos);

		if (cand_copy(hold, e) == NULL)
			rc = -1;
		config_setting_remove_elem(parent, (unsigned)pos);
	}
	for (int i = 0; i < config_setting_length(hold) && rc == 0; i++)
		if (cand_copy(parent,
		        config_setting_get_elem(hold, (unsigned)i)) == NULL)
			rc = -1;
	config_destroy(&tmp);
	if (rc < 0)
		return fail_with(x->err, x->errlen, EINVAL,
		    "%s \"%s\": cannot "
		    "reorder",
		    x->kind, x->name);
	return 0;
}

/* Member KEY of group G of aggregate TYPE, added when absent. */
static config_setting_t *
cand_child(struct cand_ctx *x, config_setting_t *g, const char *key, int type,
    bool create)
{
	config_setting_t *s = config_setting_get_member(g, key);

	/* "x = [ ];" parses as an empty array: a list can take its place. */
	if (s != NULL && type == CONFIG_TYPE_LIST &&
	    config_setting_is_array(s) && config_setting_length(s) == 0) {
		config_setting_remove(g, key);
		s = NULL;
	}
	if (s == NULL && create)
		s = config_setting_add(g, key, type);
	if (s != NULL && config_setting_type(s) != type) {
		fail_with(x->err, x->errlen, EINVAL,
		    "candidate:%d: %s is not "
		    "a %s",
		    (int)config_setting_source_line(s), key,
		    type == CONFIG_TYPE_LIST ? "list" : "group");
		return NULL;
	}
	if (s == NULL && create)
		fail_with(x->err, x->errlen, EINVAL, "%s: cannot add %s",
		    x->kind, key);
	return s;
}

/* Index of the group in LIST whose string KEY is VAL, or -1. */
static int
cand_find(const config_setting_t *list, const char *key, const char *val)
{
	for (int i = 0; i < config_setting_length(list); i++) {
		config_setting_t *e =
		    config_setting_get_elem(list, (unsigned)i);
		const char *v = NULL;

		if (config_setting_is_group(e) &&
		    config_setting_lookup_string(e, key, &v) && v != NULL &&
		    strcmp(v, val) == 0)
			return i;
	}
	return -1;
}

static const struct cand_attr *
cand_attr_find(const struct cand_attr *t, const char *key)
{
	for (; t->key != NULL; t++)
		if (strcmp(t->key, key) == 0)
			return t;
	return NULL;
}

static bool
cand_json_strings(const json_t *v, bool numbers)
{
	size_t i;
	json_t *e;

	if (!json_is_array(v))
		return false;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) && !(numbers && json_is_integer(e)))
			return false;
	return true;
}

static int
cand_attr_check(struct cand_ctx *x, const struct cand_attr *a, const json_t *v)
{
	static const char *const want[] = {
		[CAND_STR] = "a string",
		[CAND_STRS] = "a string or an array of strings",
		[CAND_ARRAY] = "an array of strings",
		[CAND_PORTS] = "an array of ports",
		[CAND_BOOL] = "a boolean",
		[CAND_INT] = "an integer",
		[CAND_POS] = "a position (1, 2, ...)",
	};
	bool ok = false;

	switch (a->type) {
	case CAND_STR:
		ok = json_is_string(v);
		break;
	case CAND_STRS:
	case CAND_ARRAY:
		ok = json_is_string(v) || cand_json_strings(v, false);
		break;
	case CAND_PORTS:
		ok = json_is_string(v) || json_is_integer(v) ||
		     cand_json_strings(v, true);
		break;
	case CAND_BOOL:
		ok = json_is_boolean(v);
		break;
	case CAND_INT:
		ok = json_is_integer(v) && json_integer_value(v) >= INT_MIN &&
		     json_integer_value(v) <= INT_MAX;
		break;
	case CAND_POS:
		ok = json_is_integer(v) && json_integer_value(v) >= 1 &&
		     json_integer_value(v) <= INT_MAX;
		break;
	}
	if (!ok)
		return fail_with(x->err, x->errlen, EINVAL,
		    "%s \"%s\": %s "
		    "must be %s",
		    x->kind, x->name, a->key, want[a->type]);
	return 0;
}

static void
cand_attr_names(const struct cand_attr *t, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (; t->key != NULL && off < len; t++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    off ? ", " : "", t->key);
}

static int
cand_attrs_check(struct cand_ctx *x, const struct cand_attr *t,
    const json_t *attrs)
{
	const char *key;
	char names[256];
	json_t *v;

	if (attrs != NULL && !json_is_object(attrs))
		return fail_with(x->err, x->errlen, EINVAL,
		    "%s \"%s\": attrs "
		    "must be a JSON object",
		    x->kind, x->name);
	json_object_foreach((json_t *)attrs, key, v) {
		const struct cand_attr *a = cand_attr_find(t, key);

		if (a == NULL) {
			cand_attr_names(t, names, sizeof(names));
			return fail_with(x->err, x->errlen, EINVAL,
			    "%s \"%s\": unknown attribute \"%s\" "
			    "(expected one of: %s)",
			    x->kind, x->name, key, names);
		}
		if (!json_is_null(v) && cand_attr_check(x, a, v) < 0)
			return -1;
	}
	return 0;
}

/* One string item of an array; a port number becomes "N". */
static int
cand_item_add(config_setting_t *arr, const json_t *v)
{
	config_setting_t *e = config_setting_add(arr, NULL, CONFIG_TYPE_STRING);
	char num[24];

	if (e == NULL)
		return -1;
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return config_setting_set_string(e, num) ? 0 : -1;
	}
	return config_setting_set_string(e, json_string_value(v)) ? 0 : -1;
}

static int
cand_value_add(config_setting_t *g, const char *key, enum cand_type type,
    const json_t *v)
{
	config_setting_t *s;
	size_t i;
	json_t *e;

	if (type == CAND_STR || (type == CAND_STRS && json_is_string(v))) {
		s = config_setting_add(g, key, CONFIG_TYPE_STRING);
		return s && config_setting_set_string(s, json_string_value(v))
		           ? 0
		           : -1;
	}
	if (type == CAND_BOOL) {
		s = config_setting_add(g, key, CONFIG_TYPE_BOOL);
		return s && config_setting_set_bool(s, json_is_true(v)) ? 0
		                                                        : -1;
	}
	if (type == CAND_INT) {
		s = config_setting_add(g, key, CONFIG_TYPE_INT);
		return s && config_setting_set_int(s,
		                (int)json_integer_value(v))
		           ? 0
		           : -1;
	}
	if ((s = config_setting_add(g, key, CONFIG_TYPE_ARRAY)) == NULL)
		return -1;
	if (!json_is_array(v))
		return cand_item_add(s, v);
	json_array_foreach(v, i, e)
		if (cand_item_add(s, e) < 0)
			return -1;
	return 0;
}

/* Adds ATTRS to group G in table order (the config's own order). */
static int
cand_attrs_write(struct cand_ctx *x, config_setting_t *g,
    const struct cand_attr *t, const json_t *attrs)
{
	for (; t->key != NULL; t++) {
		const json_t *v = json_object_get(attrs, t->key);

		if (v == NULL || json_is_null(v) || t->type == CAND_POS)
			continue;
		if (cand_value_add(g, t->key, t->type, v) < 0)
			return fail_with(x->err, x->errlen, EINVAL,
			    "%s "
			    "\"%s\": cannot set %s",
			    x->kind, x->name, t->key);
	}
	return 0;
}

/*
 * A new group element of LIST at position POS (0-based) with string
 * member KEY = NAME first; the caller removed the old one.
 */
static config_setting_t *
cand_elem_new(struct cand_ctx *x, config_setting_t *list, int pos,
    const char *key)
{
	config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
	config_setting_t *k = g ? config_setting_add(g, key, CONFIG_TYPE_STRING)
	                        : NULL;

	if (k == NULL || !config_setting_set_string(k, x->name)) {
		fail_with(x->err, x->errlen, EINVAL, "%s \"%s\": cannot add",
		    x->kind, x->name);
		return NULL;
	}
	if (cand_move_last(x, list, pos) < 0)
		return NULL;
	return config_setting_get_elem(list, (unsigned)pos);
}

/* Replaces (or appends) the element of LIST whose KEY is the name. */
static int
cand_list_set(struct cand_ctx *x, config_setting_t *list, const char *key,
    const struct cand_attr *t, const json_t *attrs)
{
	int idx = cand_find(list, key, x->name);
	int n = config_setting_length(list);
	config_setting_t *g;

	if (idx >= 0)
		config_setting_remove_elem(list, (unsigned)idx);
	if ((g = cand_elem_new(x, list, idx >= 0 ? idx : n, key)) == NULL)
		return -1;
	return cand_attrs_write(x, g, t, attrs);
}

/*
 * The identity block of rule IDX of RULES, copied into KEEP's root: the
 * command line cannot express it, and `set rule` must not drop it.
 */
static const config_setting_t *
cand_rule_identity(config_setting_t *rules, int idx, config_t *keep)
{
	config_setting_t *r, *id;

	config_init(keep);
	if (idx < 0 ||
	    (r = config_setting_get_elem(rules, (unsigned)idx)) == NULL ||
	    (id = config_setting_get_member(r, "identity")) == NULL ||
	    cand_setting_copy(config_root_setting(keep), id) < 0)
		return NULL;
	return config_setting_get_member(config_root_setting(keep), "identity");
}

static int
cand_rule_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *rules, *g;
	const json_t *pv = json_object_get(attrs, "position");
	const config_setting_t *id;
	config_t keep;
	int idx, n, pos, rc;

	if ((rules = cand_child(x, root, "rules", CONFIG_TYPE_LIST, true)) ==
	    NULL)
		return -1;
	idx = cand_find(rules, "name", x->name);
	n = config_setting_length(rules) - (idx >= 0);
	pos = idx >= 0 ? idx : n;
	if (json_is_integer(pv)) {
		if (json_integer_value(pv) > n + 1)
			return fail_with(x->err, x->errlen, EINVAL,
			    "rule \"%s\": position %" JSON_INTEGER_FORMAT
			    " is past the end (1-%d)",
			    x->name, json_integer_value(pv), n + 1);
		pos = (int)json_integer_value(pv) - 1;
	}
	id = cand_rule_identity(rules, idx, &keep);
	if (idx >= 0)
		config_setting_remove_elem(rules, (unsigned)idx);
	rc = (g = cand_elem_new(x, rules, pos, "name")) == NULL
	         ? -1
	         : cand_attrs_write(x, g, cand_rule_attrs, attrs);
	if (rc == 0 && id != NULL && cand_setting_copy(g, id) < 0)
		rc = fail_with(x->err, x->errlen, EINVAL,
		    "rule \"%s\": cannot "
		    "keep its identity block",
		    x->name);
	config_destroy(&keep);
	return rc;
}

/* Member NAME of G, replaced in place (or appended) with a new one. */
static config_setting_t *
cand_member_new(struct cand_ctx *x, config_setting_t *g, int type)
{
	config_setting_t *old = config_setting_get_member(g, x->name), *s;
	int pos = old ? config_setting_index(old) : config_setting_length(g);

	if (old != NULL)
		config_setting_remove(g, x->name);
	if ((s = config_setting_add(g, x->name, type)) == NULL) {
		fail_with(x->err, x->errlen, EINVAL,
		    "%s \"%s\": bad name (letters, digits, '-', '_' "
		    "and '*', starting with a letter)",
		    x->kind, x->name);
		return NULL;
	}
	if (cand_move_last(x, g, pos) < 0)
		return NULL;
	return config_setting_get_member(g, x->name);
}

static int
cand_region_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *g, *a;
	const json_t *v = json_object_get(attrs, "countries");
	size_t i;
	json_t *e;

	if ((g = cand_child(x, root, "regions", CONFIG_TYPE_GROUP, true)) ==
	    NULL)
		return -1;
	if ((a = cand_member_new(x, g, CONFIG_TYPE_ARRAY)) == NULL)
		return -1;
	if (json_is_string(v))
		return cand_item_add(a, v);
	json_array_foreach(v, i, e)
		if (cand_item_add(a, e) < 0)
			return fail_with(x->err, x->errlen, EINVAL,
			    "region \"%s\": cannot set countries", x->name);
	return 0;
}

static int
cand_service_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *g, *svc;

	if ((g = cand_child(x, root, "services", CONFIG_TYPE_GROUP, true)) ==
	    NULL)
		return -1;
	if ((svc = cand_member_new(x, g, CONFIG_TYPE_GROUP)) == NULL)
		return -1;
	return cand_attrs_write(x, svc, cand_service_attrs, attrs);
}

static int
cand_override_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *geo, *ovs;

	if ((geo = cand_child(x, root, "geo", CONFIG_TYPE_GROUP, true)) == NULL)
		return -1;
	if ((ovs = cand_child(x, geo, "overrides", CONFIG_TYPE_LIST, true)) ==
	    NULL)
		return -1;
	return cand_list_set(x, ovs, "prefix", cand_override_attrs, attrs);
}

static int
cand_nexthop_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *dp, *nhs;

	if ((dp = cand_child(x, root, "dataplane", CONFIG_TYPE_GROUP, true)) ==
	    NULL)
		return -1;
	if ((nhs = cand_child(x, dp, "next_hops", CONFIG_TYPE_LIST, true)) ==
	    NULL)
		return -1;
	return cand_list_set(x, nhs, "name", cand_nexthop_attrs, attrs);
}

static int
cand_default_set(struct cand_ctx *x, const json_t *attrs)
{
	config_setting_t *root = config_root_setting(&x->cfg), *g;

	if ((g = cand_member_new(x, root, CONFIG_TYPE_GROUP)) == NULL)
		return -1;
	return cand_attrs_write(x, g, cand_default_attrs, attrs);
}

/* Removes the element of LIST (under PATH) whose KEY is the name. */
static int
cand_list_delete(struct cand_ctx *x, const char *path, const char *key,
    const char *what)
{
	config_setting_t *list = config_lookup(&x->cfg, path);
	int idx = list && config_setting_is_list(list)
	              ? cand_find(list, key, x->name)
	              : -1;

	if (idx < 0)
		return fail_with(x->err, x->errlen, ENOENT, "%s %s", what,
		    x->name);
	config_setting_remove_elem(list, (unsigned)idx);
	return 0;
}

static int
cand_member_delete(struct cand_ctx *x, const char *group, const char *what)
{
	config_setting_t *root = config_root_setting(&x->cfg);
	config_setting_t *g = *group ? config_setting_get_member(root, group)
	                             : root;

	if (g == NULL || !config_setting_is_group(g) ||
	    config_setting_get_member(g, x->name) == NULL)
		return fail_with(x->err, x->errlen, ENOENT, "%s %s", what,
		    x->name);
	config_setting_remove(g, x->name);
	return 0;
}

static int
cand_rule_del(struct cand_ctx *x)
{
	return cand_list_delete(x, "rules", "name", "no rule named");
}

static int
cand_region_del(struct cand_ctx *x)
{
	return cand_member_delete(x, "regions", "no region named");
}

static int
cand_service_del(struct cand_ctx *x)
{
	return cand_member_delete(x, "services", "no service named");
}

static int
cand_override_del(struct cand_ctx *x)
{
	return cand_list_delete(x, "geo.overrides", "prefix",
	    "no override for prefix");
}

static int
cand_nexthop_del(struct cand_ctx *x)
{
	return cand_list_delete(x, "dataplane.next_hops", "name",
	    "no next hop named");
}

static int
cand_default_del(struct cand_ctx *x)
{
	if (config_setting_get_member(config_root_setting(&x->cfg),
	        "default") == NULL)
		return fail_with(x->err, x->errlen, ENOENT,
		    "no default is "
		    "set");
	config_setting_remove(config_root_setting(&x->cfg), "default");
	return 0;
}

static const struct cand_kind {
	const char *kind;
	const struct cand_attr *attrs;
	int (*set)(struct cand_ctx *, const json_t *);
	int (*del)(struct cand_ctx *);
	bool named;
} cand_kinds[] = {
	{ "rule", cand_rule_attrs, cand_rule_set, cand_rule_del, true },
	{ "region", cand_region_attrs, cand_region_set, cand_region_del, true },
	{ "service", cand_service_attrs, cand_service_set, cand_service_del,
	    true },
	{ "override", cand_override_attrs, cand_override_set, cand_override_del,
	    true },
	{ "nexthop", cand_nexthop_attrs, cand_nexthop_set, cand_nexthop_del,
	    true },
	{ "default", cand_default_attrs, cand_default_set, cand_default_del,
	    false },
};

static const struct cand_kind *
cand_kind_find(struct cand_ctx *x, const char *kind, const char *name)
{
	for (size_t i = 0; i < sizeof(cand_kinds) / sizeof(cand_kinds[0]);
	     i++) {
		if (strcmp(cand_kinds[i].kind, kind) != 0)
			continue;
		if (cand_kinds[i].named && (name == NULL || *name == '\0')) {
			fail_with(x->err, x->errlen, EINVAL,
			    "%s: a name is "
			    "required",
			    kind);
			return NULL;
		}
		return &cand_kinds[i];
	}
	fail_with(x->err, x->errlen, EINVAL,
	    "unknown kind \"%s\" (expected one of: rule, region, "
	    "service, override, nexthop, default)",
	    kind);
	return NULL;
}

/* Parses TEXT, runs the edit (SET when ATTRS, else DELETE), writes OUT. */
static int
cand_edit(const char *text, const char *kind, const char *name,
    const json_t *attrs, bool set, char **out, char *err, size_t errlen)
{
	struct cand_ctx x = { .kind = kind,
		.name = name ? name : "",
		.err = err,
		.errlen = errlen };
	const struct cand_kind *k;
	int rc = -1, e;

	*out = NULL;
	if ((k = cand_kind_find(&x, kind, name)) == NULL)
		return -1;
	if (!k->named)
		x.name = kind;
	if (set && cand_attrs_check(&x, k->attrs, attrs) < 0)
		return -1;
	if (cand_parse(&x, text) < 0)
		goto out;
	if ((set ? k->set(&x, attrs) : k->del(&x)) < 0)
		goto out;
	if (store_config_text(&x.cfg, out, NULL) < 0) {
		fail_with(x.err, x.errlen, EINVAL, "%s \"%s\": %s", kind,
		    x.name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	e = errno; /* ENOENT tells "nothing to delete" from a bad edit */
	config_destroy(&x.cfg);
	errno = e;
	return rc;
}

int
cand_set(const char *text, const char *kind, const char *name,
    const json_t *attrs, char **out, char *err, size_t errlen)
{
	return cand_edit(text, kind, name, attrs, true, out, err, errlen);
}

int
cand_delete(const char *text, const char *kind, const char *name, char **out,
    char *err, size_t errlen)
{
	return cand_edit(text, kind, name, NULL, false, out, err, errlen);
}

/*
 * Renames rule NAME to TO in place: its position and body stay.  The
 * identity that goes with the name is the daemon's (cd_ruleid.c).
 */
int
cand_rename(const char *text, const char *kind, const char *name,
    const char *to, char **out, char *err, size_t errlen)
{
	struct cand_ctx x = { .kind = kind,
		.name = name ? name : "",
		.err = err,
		.errlen = errlen };
	config_setting_t *rules, *g;
	int idx, rc = -1, e;

	*out = NULL;
	if (strcmp(kind, "rule") != 0)
		return fail_with(err, errlen, EINVAL,
		    "rename: only rules can be renamed (kind \"%s\")", kind);
	if (name == NULL || *name == '\0' || to == NULL || *to == '\0')
		return fail_with(err, errlen, EINVAL,
		    "rename rule: the old and the new name are required");
	if (cand_parse(&x, text) < 0)
		goto out;
	rules = config_lookup(&x.cfg, "rules");
	idx = rules && config_setting_is_list(rules)
	          ? cand_find(rules, "name", name)
	          : -1;
	if (idx < 0) {
		fail_with(err, errlen, ENOENT, "no rule named %s", name);
		goto out;
	}
	if (strcmp(name, to) != 0 && cand_find(rules, "name", to) >= 0) {
		fail_with(err, errlen, EEXIST, "a rule named %s exists", to);
		goto out;
	}
	g = config_setting_get_member(config_setting_get_elem(rules,
	                                  (unsigned)idx),
	    "name");
	if (g == NULL || config_setting_set_string(g, to) == CONFIG_FALSE ||
	    store_config_text(&x.cfg, out, NULL) < 0) {
		fail_with(err, errlen, EINVAL, "rule \"%s\": cannot rename",
		    name);
		goto out;
	}
	rc = 0;
out:
	e = errno;
	config_destroy(&x.cfg);
	errno = e;
	return rc;
}
