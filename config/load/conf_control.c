/*
 * The control group: cordond's own settings (sockets, state folder,
 * dataplane binary, geo freshness, revision keeping).  cordon-dp loads
 * the same files (flattened revisions) and ignores the group.
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_control_keys[] = { "socket", "ro_socket",
	"socket_group", "state_dir", "dp_socket", "dp_binary", "dp_args",
	"geo_max_age", "geo_min_coverage", "keep_revisions", "confirm_default",
	"logging", "prometheus", "snmp", "host_protection", NULL };

void
conf_control_defaults(struct conf_control *ctl)
{
	memset(ctl, 0, sizeof(*ctl));
	snprintf(ctl->socket, sizeof(ctl->socket), "/run/cordon/cordon.sock");
	snprintf(ctl->ro_socket, sizeof(ctl->ro_socket),
	    "/run/cordon/cordon-ro.sock");
	snprintf(ctl->socket_group, sizeof(ctl->socket_group), "cordon");
	snprintf(ctl->state_dir, sizeof(ctl->state_dir), "/var/lib/cordon");
	snprintf(ctl->dp_socket, sizeof(ctl->dp_socket), "/run/cordon/dp.sock");
	ctl->geo_max_age = 30;
	ctl->geo_min_coverage = 90;
	ctl->keep_revisions = 50;
	ctl->confirm_default = 10;
	conf_logging_defaults(&ctl->logging);
	snprintf(ctl->snmp.agentx_socket, sizeof(ctl->snmp.agentx_socket),
	    "/var/agentx/master");
	ctl->snmp.ping_interval = 5;
}

/* A path member: absolute, so that it means the same from any revision. */
static int
conf_control_path(struct conf_ctx *x, const config_setting_t *s,
    const char *key, char *out, size_t outlen)
{
	int rc = conf_str_get(x, s, key, false, out, outlen);

	if (rc == 1 && out[0] != '/')
		return conf_err(x, config_setting_get_member(s, key),
		    "control.%s must be an absolute path", key);
	return rc < 0 ? -1 : 0;
}

static int
conf_dparg_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_control *ctl = arg;

	if (ctl->ndp_args == CONF_DPARGS_MAX)
		return conf_err(x, e, "too many dp_args (at most %d)",
		    CONF_DPARGS_MAX);
	if (strlen(s) >= sizeof(ctl->dp_args[0]))
		return conf_err(x, e,
		    "dp_args item too long (at most %zu "
		    "characters)",
		    sizeof(ctl->dp_args[0]) - 1);
	memcpy(ctl->dp_args[ctl->ndp_args++], s, strlen(s) + 1);
	return 0;
}

static int
conf_control_numbers(struct conf_ctx *x, const config_setting_t *s,
    struct conf_control *ctl)
{
	if (conf_uint_get(x, s, "geo_max_age", 0, 3650, &ctl->geo_max_age) <
	        0 ||
	    conf_uint_get(x, s, "geo_min_coverage", 0, 100,
	        &ctl->geo_min_coverage) < 0 ||
	    conf_uint_get(x, s, "keep_revisions", 2, 100000,
	        &ctl->keep_revisions) < 0 ||
	    conf_uint_get(x, s, "confirm_default", 1, 1440,
	        &ctl->confirm_default) < 0)
		return -1;
	return 0;
}

/* control.snmp (docs/config.md): the AgentX subagent. */
static int
conf_snmp_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_snmp *snmp)
{
	static const char *const keys[] = { "enabled", "agentx_socket",
		"deny_rate_threshold", "ping_interval", NULL };

	if (s == NULL)
		return 0;
	if (conf_group_check(x, s, keys) < 0 ||
	    conf_bool_get(x, s, "enabled", &snmp->enabled) < 0 ||
	    conf_str_get(x, s, "agentx_socket", false, snmp->agentx_socket,
	        sizeof(snmp->agentx_socket)) < 0 ||
	    conf_uint_get(x, s, "deny_rate_threshold", 0, 1000000000,
	        &snmp->deny_rate_threshold) < 0 ||
	    conf_uint_get(x, s, "ping_interval", 1, 3600,
	        &snmp->ping_interval) < 0)
		return -1;
	/* A Unix socket path, or a net-snmp address such as tcp:HOST:PORT. */
	if (snmp->agentx_socket[0] != '/' && !strchr(snmp->agentx_socket, ':'))
		return conf_err(x,
		    config_setting_get_member(s, "agentx_socket"),
		    "control.snmp.agentx_socket: an absolute "
		    "path or TRANSPORT:ADDRESS (unix:/path, tcp:HOST:PORT)");
	return 0;
}

static void
conf_snmp_print(const struct conf_snmp *snmp, FILE *f)
{
	fprintf(f,
	    "    snmp %s agentx_socket %s deny_rate_threshold %u%s "
	    "ping_interval %u s\n",
	    snmp->enabled ? "enabled" : "disabled", snmp->agentx_socket,
	    snmp->deny_rate_threshold,
	    snmp->deny_rate_threshold ? "/s" : " (off)", snmp->ping_interval);
}

int
conf_control_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_control *ctl = &x->c->control;
	const config_setting_t *m;

	if (conf_group_check(x, s, conf_control_keys) < 0)
		return -1;
	if (conf_control_path(x, s, "socket", ctl->socket,
	        sizeof(ctl->socket)) < 0 ||
	    conf_control_path(x, s, "ro_socket", ctl->ro_socket,
	        sizeof(ctl->ro_socket)) < 0 ||
	    conf_control_path(x, s, "state_dir", ctl->state_dir,
	        sizeof(ctl->state_dir)) < 0 ||
	    conf_control_path(x, s, "dp_socket", ctl->dp_socket,
	        sizeof(ctl->dp_socket)) < 0 ||
	    conf_control_path(x, s, "dp_binary", ctl->dp_binary,
	        sizeof(ctl->dp_binary)) < 0)
		return -1;
	if (conf_str_get(x, s, "socket_group", false, ctl->socket_group,
	        sizeof(ctl->socket_group)) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "dp_args")) != NULL &&
	    conf_strings_each(x, m, conf_dparg_one, ctl) < 0)
		return -1;
	if (strcmp(ctl->socket, ctl->ro_socket) == 0)
		return conf_err(x, s,
		    "control.socket and control.ro_socket "
		    "must differ");
	ctl->line = (int)config_setting_source_line(s);
	if (conf_logging_load(x, config_setting_get_member(s, "logging")) < 0)
		return -1;
	if (conf_prom_load(x, s, ctl) < 0)
		return -1;
	if (conf_snmp_load(x, config_setting_get_member(s, "snmp"),
	        &ctl->snmp) < 0 ||
	    conf_nft_host_load(x,
	        config_setting_get_member(s, "host_protection"), ctl) < 0)
		return -1;
	return conf_control_numbers(x, s, ctl);
}

void
conf_control_print(const struct conf_control *ctl, FILE *f)
{
	fprintf(f,
	    "control:\n    socket %s\n    ro_socket %s\n"
	    "    socket_group %s\n    state_dir %s\n    dp_socket %s\n"
	    "    dp_binary %s\n    dp_args:",
	    ctl->socket, ctl->ro_socket, ctl->socket_group, ctl->state_dir,
	    ctl->dp_socket,
	    ctl->dp_binary[0] ? ctl->dp_binary : "(cordon-dp next to cordond)");
	for (unsigned i = 0; i < ctl->ndp_args; i++)
		fprintf(f, " \"%s\"", ctl->dp_args[i]);
	fprintf(f,
	    "%s\n    geo_max_age %u days%s\n    geo_min_coverage %u%%\n"
	    "    keep_revisions %u\n    confirm_default %u minutes\n",
	    ctl->ndp_args ? "" : " none", ctl->geo_max_age,
	    ctl->geo_max_age ? "" : " (off)", ctl->geo_min_coverage,
	    ctl->keep_revisions, ctl->confirm_default);
	conf_logging_print(&ctl->logging, f);
	conf_prom_print(ctl, f);
	conf_snmp_print(&ctl->snmp, f);
	if (ctl->host_if[0])
		fprintf(f, "    host_protection interface %s\n", ctl->host_if);
}
