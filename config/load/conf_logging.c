/*
 * control.logging: facility, aggregation window, rate limit and the
 * syslog targets of cordond.  Addresses are numeric (cordond never waits
 * for a resolver); files are absolute paths.
 */
#include <arpa/inet.h>
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_logging_keys[] = { "facility", "window", "rate",
	"targets", NULL };
static const char *const conf_target_keys[] = { "type", "address", "port", "ca",
	"name", "cert", "key", "queue", NULL };
static const char *const conf_log_types[] = {
	[CONF_LOG_LOCAL] = "local",
	[CONF_LOG_UDP] = "udp",
	[CONF_LOG_TCP] = "tcp",
	[CONF_LOG_TLS] = "tls",
};
static const char *const conf_facilities[] = {
	"kern",
	"user",
	"mail",
	"daemon",
	"auth",
	"syslog",
	"lpr",
	"news",
	"uucp",
	"cron",
	"authpriv",
	"ftp",
	"ntp",
	"security",
	"console",
	"solaris-cron",
	"local0",
	"local1",
	"local2",
	"local3",
	"local4",
	"local5",
	"local6",
	"local7",
};
static const unsigned conf_default_ports[] = { 0, 514, 514, 6514 };

const char *
conf_log_type_name(enum conf_log_type t)
{
	return t <= CONF_LOG_TLS ? conf_log_types[t] : "?";
}

const char *
conf_facility_name(unsigned code)
{
	return code < 24 ? conf_facilities[code] : "?";
}

void
conf_logging_defaults(struct conf_logging *l)
{
	memset(l, 0, sizeof(*l));
	l->facility = 16;
	l->window = 10;
	l->rate = 100;
}

static int
conf_facility_get(struct conf_ctx *x, const config_setting_t *g, unsigned *out)
{
	char name[32];
	int rc = conf_str_get(x, g, "facility", false, name, sizeof(name));

	if (rc <= 0)
		return rc;
	for (unsigned i = 0; i < 24; i++) {
		if (strcmp(name, conf_facilities[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return conf_err(x, config_setting_get_member(g, "facility"),
	    "unknown facility \"%s\" (kern, user, daemon, auth, local0 .. "
	    "local7, ...)",
	    name);
}

static int
conf_target_type(struct conf_ctx *x, const config_setting_t *e,
    struct conf_log_target *t)
{
	char type[16];

	if (conf_str_get(x, e, "type", true, type, sizeof(type)) < 0)
		return -1;
	for (int i = CONF_LOG_LOCAL; i <= CONF_LOG_TLS; i++) {
		if (strcmp(type, conf_log_types[i]) == 0) {
			t->type = (enum conf_log_type)i;
			return 0;
		}
	}
	return conf_err(x, config_setting_get_member(e, "type"),
	    "target "
	    "type must be local, udp, tcp or tls, not \"%s\"",
	    type);
}

/* An absolute file for KEY (tls only), or nothing. */
static int
conf_target_file(struct conf_ctx *x, const config_setting_t *e,
    const struct conf_log_target *t, const char *key, char *out, size_t len)
{
	const config_setting_t *m = config_setting_get_member(e, key);
	int rc;

	if (m != NULL && t->type != CONF_LOG_TLS)
		return conf_err(x, m, "\"%s\" is only for tls targets", key);
	if ((rc = conf_str_get(x, e, key, false, out, len)) < 0)
		return -1;
	if (rc == 1 && out[0] != '/' && strcmp(key, "name") != 0)
		return conf_err(x, m, "\"%s\" must be an absolute path", key);
	return 0;
}

static int
conf_target_address(struct conf_ctx *x, const config_setting_t *e,
    struct conf_log_target *t)
{
	const config_setting_t *m = config_setting_get_member(e, "address");
	unsigned char a[16];

	if (conf_str_get(x, e, "address", t->type != CONF_LOG_LOCAL, t->address,
	        sizeof(t->address)) < 0)
		return -1;
	if (t->type == CONF_LOG_LOCAL) {
		if (t->address[0] == '\0')
			snprintf(t->address, sizeof(t->address), "/dev/log");
		else if (t->address[0] != '/')
			return conf_err(x, m,
			    "a local target's address is "
			    "an absolute socket path");
		if (config_setting_get_member(e, "port") != NULL)
			return conf_err(x, config_setting_get_member(e, "port"),
			    "a local target has no port");
		return 0;
	}
	if (inet_pton(AF_INET, t->address, a) != 1 &&
	    inet_pton(AF_INET6, t->address, a) != 1)
		return conf_err(x, m,
		    "address \"%s\" is not a numeric IPv4 "
		    "or IPv6 address",
		    t->address);
	t->port = conf_default_ports[t->type];
	return conf_uint_get(x, e, "port", 1, 65535, &t->port);
}

static int
conf_target_load(struct conf_ctx *x, const config_setting_t *e)
{
	struct conf_logging *l = &x->c->control.logging;
	struct conf_log_target *t = &l->target[l->ntargets];

	memset(t, 0, sizeof(*t));
	t->queue = 1000;
	t->line = (int)config_setting_source_line(e);
	if (conf_group_check(x, e, conf_target_keys) < 0 ||
	    conf_target_type(x, e, t) < 0 || conf_target_address(x, e, t) < 0 ||
	    conf_target_file(x, e, t, "ca", t->ca, sizeof(t->ca)) < 0 ||
	    conf_target_file(x, e, t, "name", t->name, sizeof(t->name)) < 0 ||
	    conf_target_file(x, e, t, "cert", t->cert, sizeof(t->cert)) < 0 ||
	    conf_target_file(x, e, t, "key", t->key, sizeof(t->key)) < 0 ||
	    conf_uint_get(x, e, "queue", 1, 100000, &t->queue) < 0)
		return -1;
	if (t->type == CONF_LOG_TLS && t->ca[0] == '\0')
		return conf_err(x, e,
		    "a tls target needs \"ca\": the server "
		    "certificate is always verified");
	if ((t->cert[0] == '\0') != (t->key[0] == '\0'))
		return conf_err(x, e, "\"cert\" and \"key\" go together");
	l->ntargets++;
	return 0;
}

/* Called by conf_control_load for the member "logging". */
int
conf_logging_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_logging *l = &x->c->control.logging;
	const config_setting_t *m;

	if (s == NULL)
		return 0;
	if (conf_group_check(x, s, conf_logging_keys) < 0 ||
	    conf_facility_get(x, s, &l->facility) < 0 ||
	    conf_uint_get(x, s, "window", 0, 3600, &l->window) < 0 ||
	    conf_uint_get(x, s, "rate", 1, 100000, &l->rate) < 0)
		return -1;
	l->line = (int)config_setting_source_line(s);
	if ((m = config_setting_get_member(s, "targets")) == NULL)
		return 0;
	return conf_list_each(x, m, CONF_LOG_TARGET_MAX, "logging targets",
	    conf_target_load);
}

void
conf_logging_print(const struct conf_logging *l, FILE *f)
{
	fprintf(f, "    logging: facility %s window %u s rate %u/s\n",
	    conf_facility_name(l->facility), l->window, l->rate);
	for (unsigned i = 0; i < l->ntargets; i++) {
		const struct conf_log_target *t = &l->target[i];

		fprintf(f, "        target %s %s", conf_log_type_name(t->type),
		    t->address);
		if (t->port)
			fprintf(f, " port %u", t->port);
		if (t->type == CONF_LOG_TLS)
			fprintf(f, " ca %s name %s%s%s", t->ca,
			    t->name[0] ? t->name : t->address,
			    t->cert[0] ? " cert " : "", t->cert);
		fprintf(f, " queue %u\n", t->queue);
	}
}
