/*
 * Helpers of the config loader: error reporting, typed getters that
 * reject what they do not expect, and the small value parsers (ports,
 * protocols) that several sections share.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/load/conf_int.h"

void
conf_path_join(const struct conf_ctx *x, const char *file, char *out,
    size_t outlen)
{
	if (file[0] == '/' || strcmp(x->dir, ".") == 0)
		snprintf(out, outlen, "%s", file);
	else
		snprintf(out, outlen, "%s/%s", x->dir, file);
}

/* libconfig names an included file as written in the @include. */
static void
conf_source_path(const struct conf_ctx *x, const config_setting_t *s, char *out,
    size_t outlen)
{
	const char *file = s ? config_setting_source_file(s) : NULL;

	if (file == NULL || strcmp(file, x->c->file) == 0)
		snprintf(out, outlen, "%s", x->c->file);
	else
		conf_path_join(x, file, out, outlen);
}

int
conf_file_index(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf *c = x->c;
	char path[CONF_PATH_MAX * 2];

	conf_source_path(x, s, path, sizeof(path));
	for (unsigned i = 0; i < c->nfiles; i++)
		if (strcmp(c->files[i], path) == 0)
			return (int)i;
	if (c->nfiles == CONF_FILE_MAX)
		return conf_err(x, s,
		    "rules come from too many files (at "
		    "most %d)",
		    CONF_FILE_MAX);
	if (strlen(path) >= CONF_PATH_MAX)
		return conf_err(x, s,
		    "file path too long (at most %d "
		    "characters)",
		    CONF_PATH_MAX - 1);
	memcpy(c->files[c->nfiles], path, strlen(path) + 1);
	return (int)c->nfiles++;
}

int
conf_err(struct conf_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char path[CONF_PATH_MAX * 2];
	char msg[512];
	va_list ap;
	int line = s ? (int)config_setting_source_line(s) : 0;

	conf_source_path(x, s, path, sizeof(path));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Quoted config strings may hold anything: keep the error one line. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	snprintf(x->err, x->errlen, "%s:%d: %s", path, line, msg);
	return -1;
}

static bool
conf_key_known(const char *name, const char *const *keys)
{
	for (; *keys != NULL; keys++)
		if (strcmp(name, *keys) == 0)
			return true;
	return false;
}

int
conf_keys_check(struct conf_ctx *x, const config_setting_t *g,
    const char *const *keys)
{
	char list[256];
	size_t off = 0;

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, i);

		if (conf_key_known(config_setting_name(m), keys))
			continue;
		list[0] = '\0';
		for (const char *const *k = keys; *k != NULL; k++)
			off += (size_t)snprintf(list + off,
			    off < sizeof(list) ? sizeof(list) - off : 0, "%s%s",
			    k == keys ? "" : ", ", *k);
		return conf_err(x, m,
		    "unknown key \"%s\" (expected one of: "
		    "%s)",
		    config_setting_name(m), list);
	}
	return 0;
}

int
conf_want_group(struct conf_ctx *x, const config_setting_t *s)
{
	if (config_setting_is_group(s))
		return 0;
	return conf_err(x, s, "\"%s\" must be a group ({ ... })",
	    config_setting_name(s) ? config_setting_name(s) : "element");
}

int
conf_group_check(struct conf_ctx *x, const config_setting_t *g,
    const char *const *keys)
{
	if (conf_want_group(x, g) < 0)
		return -1;
	return conf_keys_check(x, g, keys);
}

int
conf_want_list(struct conf_ctx *x, const config_setting_t *s)
{
	if (config_setting_is_aggregate(s) && !config_setting_is_group(s))
		return 0;
	return conf_err(x, s, "\"%s\" must be a list (( ... ) or [ ... ])",
	    config_setting_name(s) ? config_setting_name(s) : "element");
}

int
conf_str_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    bool required, char *out, size_t outlen)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	const char *v;

	if (m == NULL) {
		if (required)
			return conf_err(x, g, "missing \"%s\"", key);
		return 0;
	}
	if ((v = config_setting_get_string(m)) == NULL)
		return conf_err(x, m, "\"%s\" must be a string", key);
	if (v[0] == '\0')
		return conf_err(x, m, "\"%s\" is empty", key);
	if (strlen(v) >= outlen)
		return conf_err(x, m,
		    "\"%s\" is too long (at most %zu "
		    "characters)",
		    key, outlen - 1);
	memcpy(out, v, strlen(v) + 1);
	return 1;
}

int
conf_name_check(struct conf_ctx *x, const config_setting_t *s, const char *name)
{
	if (name[0] == '\0')
		return conf_err(x, s, "empty name");
	if (strlen(name) >= CONF_NAME_MAX)
		return conf_err(x, s,
		    "name \"%s\" is too long (at most %d "
		    "characters)",
		    name, CONF_NAME_MAX - 1);
	/* Names show up in logs, SNMP and the CLI: keep them plain. */
	for (const char *p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr("-_.", *p) == NULL)
			return conf_err(x, s,
			    "name \"%s\": only letters, "
			    "digits, '-', '_' and '.' are allowed",
			    name);
	return 0;
}

int
conf_name_get(struct conf_ctx *x, const config_setting_t *g,
    char out[CONF_NAME_MAX])
{
	char buf[256];

	if (conf_str_get(x, g, "name", true, buf, sizeof(buf)) < 0)
		return -1;
	if (conf_name_check(x, config_setting_get_member(g, "name"), buf) < 0)
		return -1;
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

int
conf_bool_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    bool *out)
{
	const config_setting_t *m = config_setting_get_member(g, key);

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_BOOL)
		return conf_err(x, m, "\"%s\" must be true or false", key);
	*out = config_setting_get_bool(m);
	return 0;
}

int
conf_uint_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    unsigned lo, unsigned hi, unsigned *out)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	long long v;

	if (m == NULL)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_INT &&
	    config_setting_type(m) != CONFIG_TYPE_INT64)
		return conf_err(x, m, "\"%s\" must be an integer", key);
	v = config_setting_get_int64(m);
	if (v < lo || v > hi)
		return conf_err(x, m, "\"%s\" must be between %u and %u", key,
		    lo, hi);
	*out = (unsigned)v;
	return 0;
}

int
conf_strings_each(struct conf_ctx *x, const config_setting_t *s, conf_str_fn fn,
    void *arg)
{
	const char *name = config_setting_name(s);
	int n;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return fn(x, s, config_setting_get_string(s), arg) < 0 ? -1 : 1;
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s))
		return conf_err(x, s,
		    "\"%s\" must be a string or a list of "
		    "strings",
		    name ? name : "element");
	n = config_setting_length(s);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return conf_err(x, e, "\"%s\": expected a string",
			    name ? name : "element");
		if (fn(x, e, config_setting_get_string(e), arg) < 0)
			return -1;
	}
	return n;
}

/* Runs LOAD on every element of list S, at most MAX of them. */
int
conf_list_each(struct conf_ctx *x, const config_setting_t *s, unsigned max,
    const char *what, int (*load)(struct conf_ctx *, const config_setting_t *))
{
	int n;

	if (conf_want_list(x, s) < 0)
		return -1;
	n = config_setting_length(s);
	if ((unsigned)n > max)
		return conf_err(x, config_setting_get_elem(s, max),
		    "too many %s (at most %u)", what, max);
	for (int i = 0; i < n; i++)
		if (load(x, config_setting_get_elem(s, i)) < 0)
			return -1;
	return 0;
}

/* Parses decimal digits at *P into a port number; advances *P. */
static int
conf_port_parse(const char **p, unsigned *out)
{
	unsigned v = 0;
	int n = 0;

	while (isdigit((unsigned char)**p) && n < 6) {
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || n == 6)
		return -1;
	*out = v;
	return 0;
}

static int
conf_range_str(struct conf_ctx *x, const config_setting_t *e, const char *s,
    struct conf_range *r)
{
	const char *p = s;
	unsigned lo, hi;

	if (conf_port_parse(&p, &lo) < 0)
		return conf_err(x, e, "bad port \"%s\"", s);
	hi = lo;
	if (*p == '-') {
		p++;
		if (conf_port_parse(&p, &hi) < 0)
			return conf_err(x, e, "bad port range \"%s\"", s);
	}
	if (*p != '\0')
		return conf_err(x, e, "bad port \"%s\"", s);
	if (lo < 1 || lo > 65535 || hi < 1 || hi > 65535)
		return conf_err(x, e, "port \"%s\" out of range (1-65535)", s);
	if (lo > hi)
		return conf_err(x, e, "bad port range \"%s\" (low > high)", s);
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

static int
conf_range_elem(struct conf_ctx *x, const config_setting_t *e,
    struct conf_range *r)
{
	long long v;

	switch (config_setting_type(e)) {
	case CONFIG_TYPE_STRING:
		return conf_range_str(x, e, config_setting_get_string(e), r);
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = config_setting_get_int64(e);
		if (v < 1 || v > 65535)
			return conf_err(x, e,
			    "port %lld out of range "
			    "(1-65535)",
			    v);
		r->lo = r->hi = (uint16_t)v;
		return 0;
	default:
		return conf_err(x, e,
		    "a port is a number or a string such "
		    "as \"22\" or \"5985-5986\"");
	}
}

int
conf_ranges_get(struct conf_ctx *x, const config_setting_t *s,
    struct conf_range *r, unsigned *n)
{
	int len;

	if (!config_setting_is_aggregate(s)) {
		*n = 1;
		return conf_range_elem(x, s, &r[0]);
	}
	if (config_setting_is_group(s))
		return conf_want_list(x, s);
	len = config_setting_length(s);
	if (len == 0)
		return conf_err(x, s, "empty port list");
	if (len > CONF_RANGE_MAX)
		return conf_err(x, s, "too many port ranges (at most %d)",
		    CONF_RANGE_MAX);
	for (int i = 0; i < len; i++)
		if (conf_range_elem(x, config_setting_get_elem(s, i), &r[i]) <
		    0)
			return -1;
	*n = (unsigned)len;
	return 0;
}

static const struct {
	const char *name;
	uint8_t bits;
} conf_proto_names[] = {
	{ "tcp", CONF_P_TCP },
	{ "udp", CONF_P_UDP },
	{ "icmp", CONF_P_ICMP },
	{ "other", CONF_P_OTHER },
	{ "any", CONF_P_ANY },
};

struct conf_proto_arg {
	uint8_t allowed;
	uint8_t bits;
};

static int
conf_proto_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_proto_arg *a = arg;

	for (size_t i = 0;
	     i < sizeof(conf_proto_names) / sizeof(conf_proto_names[0]); i++) {
		if (strcmp(s, conf_proto_names[i].name) != 0)
			continue;
		if ((conf_proto_names[i].bits & ~a->allowed) != 0)
			return conf_err(x, e,
			    "protocol \"%s\" not allowed "
			    "here (only tcp or udp)",
			    s);
		a->bits |= conf_proto_names[i].bits;
		return 0;
	}
	return conf_err(x, e,
	    "unknown protocol \"%s\" (tcp, udp, icmp, "
	    "other or any)",
	    s);
}

int
conf_protos_get(struct conf_ctx *x, const config_setting_t *s, uint8_t allowed,
    uint8_t *out)
{
	struct conf_proto_arg a = { allowed, 0 };
	int n;

	if ((n = conf_strings_each(x, s, conf_proto_one, &a)) < 0)
		return -1;
	if (n == 0)
		return conf_err(x, s, "empty protocol list");
	*out = a.bits;
	return 0;
}

/* Every named config struct starts with its name: one search for all. */
_Static_assert(offsetof(struct conf_port, name) == 0, "name first");
_Static_assert(offsetof(struct conf_service, name) == 0, "name first");
_Static_assert(offsetof(struct conf_region, name) == 0, "name first");
_Static_assert(offsetof(struct conf_nexthop, name) == 0, "name first");

static int
conf_name_find(const void *array, size_t stride, unsigned n, const char *name)
{
	const char *base = array;

	for (unsigned i = 0; i < n; i++)
		if (strcmp(base + i * stride, name) == 0)
			return (int)i;
	return -1;
}

int
conf_port_find(const struct conf *c, const char *name)
{
	return conf_name_find(c->ports, sizeof(c->ports[0]), c->nports, name);
}

int
conf_service_find(const struct conf *c, const char *name)
{
	return conf_name_find(c->services, sizeof(c->services[0]), c->nservices,
	    name);
}

int
conf_region_find(const struct conf *c, const char *name)
{
	return conf_name_find(c->regions, sizeof(c->regions[0]), c->nregions,
	    name);
}

int
conf_nexthop_find(const struct conf *c, const char *name)
{
	return conf_name_find(c->nexthops, sizeof(c->nexthops[0]), c->nnexthops,
	    name);
}
