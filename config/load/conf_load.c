/*
 * Config loader, top level: reads the file (and its @includes) with
 * libconfig, runs each section's loader in dependency order into a
 * scratch struct conf, and copies it out only when all of it is valid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config/load/conf_int.h"
#include "core/frag/frag.h"
#include "core/top/top.h"
#include "core/stats/reasons.h"

static const char *const conf_top_keys[] = { "geo", "regions", "services",
	"rules", "default", "non_ip", "dataplane", "identity", "control",
	"backend", "source_route", "tunnels", "proxies", "evidence", NULL };

static const char *const conf_default_keys[] = { "action", "log", NULL };

static void
conf_defaults_set(struct conf *c)
{
	c->default_action = CDN_ACT_ALLOW;
	c->nonip_action = CDN_ACT_ALLOW;
	c->srcroute_action = CDN_ACT_DROP;
	c->workers = 1;
	c->burst = 32;
	c->mbufs = 16384;
	c->frag_entries = FRAG_ENTRIES_DEFAULT;
	c->frag_timeout_ms = FRAG_TIMEOUT_MS_DEFAULT;
	c->top_window = TOP_WINDOW;
	conf_control_defaults(&c->control);
	conf_tunnels_defaults(&c->tunnels);
	conf_proxies_defaults(&c->proxies);
	conf_evidence_defaults(&c->evidence);
}

static int
conf_default_load(struct conf_ctx *x, const config_setting_t *s)
{
	char act[16];
	int a;

	if (conf_group_check(x, s, conf_default_keys) < 0)
		return -1;
	if (conf_str_get(x, s, "action", true, act, sizeof(act)) < 0)
		return -1;
	a = cdn_action_parse(act);
	if (a != CDN_ACT_ALLOW && a != CDN_ACT_DROP && a != CDN_ACT_REJECT)
		return conf_err(x, config_setting_get_member(s, "action"),
		    "default action must be allow, drop or reject, not \"%s\"",
		    act);
	x->c->default_action = a;
	x->c->default_line = (int)config_setting_source_line(s);
	return conf_bool_get(x, s, "log", &x->c->log_default);
}

/* A top-level switch S that is "allow" or "drop", into *ACT. */
static int
conf_allow_drop_get(struct conf_ctx *x, const config_setting_t *s, int *act)
{
	const char *v = config_setting_get_string(s);

	if (v != NULL && strcmp(v, "allow") == 0)
		*act = CDN_ACT_ALLOW;
	else if (v != NULL && strcmp(v, "drop") == 0)
		*act = CDN_ACT_DROP;
	else
		return conf_err(x, s, "%s must be \"allow\" or \"drop\"",
		    config_setting_name(s));
	return 0;
}

static int
conf_nonip_load(struct conf_ctx *x, const config_setting_t *s)
{
	return conf_allow_drop_get(x, s, &x->c->nonip_action);
}

static int
conf_srcroute_load(struct conf_ctx *x, const config_setting_t *s)
{
	return conf_allow_drop_get(x, s, &x->c->srcroute_action);
}

/* Later sections refer to names the earlier ones define. */
static const struct {
	const char *key;
	int (*load)(struct conf_ctx *, const config_setting_t *);
} conf_sections[] = {
	{ "backend", conf_backend_load }, /* ports and next hops need it */
	{ "geo", conf_geo_load },
	{ "regions", conf_regions_load },
	{ "services", conf_services_load },
	{ "dataplane", conf_dataplane_load },
	{ "identity", conf_identity_load },
	{ "rules", conf_rules_load },
	{ "default", conf_default_load },
	{ "non_ip", conf_nonip_load },
	{ "source_route", conf_srcroute_load },
	{ "tunnels", conf_tunnels_load },
	{ "proxies", conf_proxies_load },
	{ "evidence", conf_evidence_load },
	{ "control", conf_control_load },
};

static int
conf_root_load(struct conf_ctx *x, const config_t *cfg)
{
	const config_setting_t *root = config_root_setting(cfg);

	if (conf_keys_check(x, root, conf_top_keys) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(conf_sections) / sizeof(conf_sections[0]);
	     i++) {
		const config_setting_t *s;

		s = config_setting_get_member(root, conf_sections[i].key);
		if (s != NULL && conf_sections[i].load(x, s) < 0)
			return -1;
	}
	return conf_proxies_check(x, root);
}

static int
conf_syntax_err(struct conf_ctx *x, const config_t *cfg)
{
	const char *file = config_error_file(cfg);
	char path[CONF_PATH_MAX * 2];

	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
		snprintf(x->err, x->errlen, "%s:0: cannot read: %s", x->c->file,
		    strerror(errno));
		return -1;
	}
	if (file == NULL || strcmp(file, x->c->file) == 0)
		snprintf(path, sizeof(path), "%s", x->c->file);
	else
		conf_path_join(x, file, path, sizeof(path));
	snprintf(x->err, x->errlen, "%s:%d: %s", path, config_error_line(cfg),
	    config_error_text(cfg));
	return -1;
}

/* @include and relative geo paths resolve against the main file's folder. */
static void
conf_dir_set(struct conf_ctx *x, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(x->dir, sizeof(x->dir), ".");
	else if (slash == path)
		snprintf(x->dir, sizeof(x->dir), "/");
	else
		snprintf(x->dir, sizeof(x->dir), "%.*s", (int)(slash - path),
		    path);
}

static int
conf_parse(struct conf_ctx *x, const char *path)
{
	config_t cfg;
	int rc;

	config_init(&cfg);
	config_set_include_dir(&cfg, x->dir);
	if (!config_read_file(&cfg, path))
		rc = conf_syntax_err(x, &cfg);
	else
		rc = conf_root_load(x, &cfg);
	config_destroy(&cfg);
	return rc;
}

int
conf_load(const char *path, struct conf *c, char *err, size_t errlen)
{
	struct conf_ctx x = { .err = err, .errlen = errlen };

	if (strlen(path) >= CONF_PATH_MAX) {
		snprintf(err, errlen, "%.64s...:0: path too long", path);
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((x.c = calloc(1, sizeof(*x.c))) == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", path);
		return -1;
	}
	snprintf(x.c->file, sizeof(x.c->file), "%s", path);
	conf_dir_set(&x, path);
	conf_defaults_set(x.c);
	if (conf_parse(&x, path) < 0) {
		free(x.c);
		errno = EINVAL;
		return -1;
	}
	memcpy(c, x.c, sizeof(*c));
	free(x.c);
	return 0;
}
