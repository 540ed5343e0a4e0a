/*
 * The services section: named (protocol, destination ports) pairs that
 * rules refer to.
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_svc_keys[] = { "proto", "ports", "sports",
	"proxy", NULL };

/*
 * Destination ports, source ports, or both: a service matches a packet
 * whose destination port is in "ports" or whose source port is in
 * "sports" (a Teredo relay answers from 3544 to any port).
 */
static int
conf_service_ports(struct conf_ctx *x, const config_setting_t *s,
    struct conf_service *v)
{
	const config_setting_t *d = config_setting_get_member(s, "ports");
	const config_setting_t *o = config_setting_get_member(s, "sports");

	if (d == NULL && o == NULL)
		return conf_err(x, s, "service \"%s\": missing \"ports\"",
		    v->name);
	if (d != NULL && conf_ranges_get(x, d, v->range, &v->nranges) < 0)
		return -1;
	if (o != NULL && conf_ranges_get(x, o, v->srange, &v->nsranges) < 0)
		return -1;
	return 0;
}

static int
conf_service_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf *c = x->c;
	struct conf_service *v = &c->services[c->nservices];
	const char *name = config_setting_name(s);
	const config_setting_t *m;

	if (conf_name_check(x, s, name) < 0 ||
	    conf_group_check(x, s, conf_svc_keys) < 0)
		return -1;
	memcpy(v->name, name, strlen(name) + 1);
	v->line = (int)config_setting_source_line(s);
	if ((m = config_setting_get_member(s, "proto")) == NULL)
		return conf_err(x, s, "service \"%s\": missing \"proto\"",
		    name);
	if (conf_protos_get(x, m, CONF_P_TCP | CONF_P_UDP, &v->protos) < 0)
		return -1;
	if (conf_service_ports(x, s, v) < 0 ||
	    conf_service_proxy_load(x, s, v) < 0)
		return -1;
	c->nservices++;
	return 0;
}

int
conf_services_load(struct conf_ctx *x, const config_setting_t *s)
{
	int n;

	if (conf_want_group(x, s) < 0)
		return -1;
	n = config_setting_length(s);
	if (n > CONF_SERVICE_MAX)
		return conf_err(x, config_setting_get_elem(s, CONF_SERVICE_MAX),
		    "too many services (at most %d)", CONF_SERVICE_MAX);
	/* Duplicate names are refused by libconfig as it parses a group. */
	for (int i = 0; i < n; i++)
		if (conf_service_load(x, config_setting_get_elem(s, i)) < 0)
			return -1;
	return 0;
}
