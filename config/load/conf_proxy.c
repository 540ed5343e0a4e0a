/*
 * Proxies that report the client (docs/proxies.md): a service's `proxy`
 * (what its relays put first on each connection) and the `proxies`
 * group (the relays believed, the window, the actions, the flow table).
 */
#include <arpa/inet.h>
#include <string.h>

#include "config/load/conf_int.h"
#include "core/prx/prx.h"
#include "core/prx/prx_flow.h"

static const char *const conf_prx_keys[] = { "trusted", "window", "incomplete",
	"full", "flows", "buffers", "idle", NULL };

void
conf_proxies_defaults(struct conf_proxies *p)
{
	memset(p, 0, sizeof(*p));
	p->window = PRX_WINDOW_DEF;
	p->incomplete = PRX_ACT_UNKNOWN;
	p->full = PRX_ACT_UNKNOWN;
	p->flows = PRX_FLOWS_DEFAULT;
	p->buffers = PRX_BUFS_DEFAULT;
	p->idle = PRX_FLOW_IDLE_S_DEF;
}

static int
conf_prx_trusted_one(struct conf_ctx *x, const config_setting_t *e,
    const char *s, void *arg)
{
	struct conf_proxies *p = arg;
	struct geo_override *o = &p->trusted[p->ntrusted];

	if (p->ntrusted == CONF_TRUST_MAX)
		return conf_err(x, e, "proxies.trusted: at most %d prefixes",
		    CONF_TRUST_MAX);
	if (conf_prefix_parse(s, o) < 0)
		return conf_err(x, e,
		    "proxies.trusted: \"%s\" is not an address "
		    "or prefix",
		    s);
	if (conf_prefix_host_bits(o))
		return conf_err(x, e,
		    "proxies.trusted: \"%s\" has bits set past "
		    "its length",
		    s);
	/* Everyone a relay: any sender's PROXY header would be believed. */
	if (o->plen == 0)
		return conf_err(x, e,
		    "proxies.trusted: \"%s\" trusts every sender", s);
	p->ntrusted++;
	return 0;
}

/* "unknown" (judged as relayed from an unknown client) or "drop". */
static int
conf_prx_act_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    int *out)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	const char *v;

	if (m == NULL)
		return 0;
	v = config_setting_get_string(m);
	if (v != NULL && strcmp(v, "unknown") == 0)
		*out = PRX_ACT_UNKNOWN;
	else if (v != NULL && strcmp(v, "drop") == 0)
		*out = PRX_ACT_DROP;
	else
		return conf_err(x, m,
		    "proxies.%s must be \"unknown\" or "
		    "\"drop\"",
		    key);
	return 0;
}

int
conf_proxies_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_proxies *p = &x->c->proxies;
	const config_setting_t *t;

	if (conf_group_check(x, s, conf_prx_keys) < 0 ||
	    conf_uint_get(x, s, "window", PRX_WINDOW_MIN, PRX_WINDOW_MAX,
	        &p->window) < 0 ||
	    conf_prx_act_get(x, s, "incomplete", &p->incomplete) < 0 ||
	    conf_prx_act_get(x, s, "full", &p->full) < 0 ||
	    conf_uint_get(x, s, "flows", PRX_FLOW_WAYS, PRX_FLOWS_MAX,
	        &p->flows) < 0 ||
	    conf_uint_get(x, s, "idle", 10, 86400, &p->idle) < 0)
		return -1;
	if (conf_uint_get(x, s, "buffers", 0, p->flows, &p->buffers) < 0)
		return -1;
	if ((t = config_setting_get_member(s, "trusted")) != NULL &&
	    conf_strings_each(x, t, conf_prx_trusted_one, p) < 0)
		return -1;
	p->line = (int)config_setting_source_line(s);
	return 0;
}

int
conf_service_proxy_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_service *v)
{
	const config_setting_t *m = config_setting_get_member(s, "proxy");
	const char *name;
	int mode;

	v->proxy = PRX_MODE_NONE;
	if (m == NULL)
		return 0;
	name = config_setting_get_string(m);
	if (name == NULL || (mode = prx_mode_parse(name)) < 0)
		return conf_err(x, m,
		    "service \"%s\": proxy must be v1, v2, any, "
		    "forwarded or x-forwarded-for",
		    v->name);
	/* The header is the first bytes of a TCP stream, and a flow is
	 * told by its destination port. */
	if (v->protos != CONF_P_TCP || v->nsranges != 0 || v->nranges == 0)
		return conf_err(x, m,
		    "service \"%s\": proxy needs proto \"tcp\" and "
		    "ports, without sports",
		    v->name);
	v->proxy = (uint8_t)mode;
	return 0;
}

/* Do services I and J share a port? */
static int
conf_svc_overlap(const struct conf_service *a, const struct conf_service *b)
{
	for (unsigned i = 0; i < a->nranges; i++)
		for (unsigned j = 0; j < b->nranges; j++)
			if (a->range[i].lo <= b->range[j].hi &&
			    b->range[j].lo <= a->range[i].hi)
				return 1;
	return 0;
}

/*
 * After every section: a proxied service needs someone to believe, and
 * a port is read one way only (inspection is per TCP port).
 */
int
conf_proxies_check(struct conf_ctx *x, const config_setting_t *root)
{
	const struct conf *c = x->c;
	const config_setting_t *svcs =
	    config_setting_get_member(root, "services");

	for (unsigned i = 0; i < c->nservices; i++) {
		const struct conf_service *a = &c->services[i];

		if (a->proxy == PRX_MODE_NONE)
			continue;
		if (c->proxies.ntrusted == 0)
			return conf_err(x, svcs,
			    "service \"%s\": proxy \"%s\" but "
			    "proxies.trusted names no relay",
			    a->name, prx_mode_name(a->proxy));
		for (unsigned j = 0; j < c->nservices; j++) {
			const struct conf_service *b = &c->services[j];

			if (j == i || !(b->protos & CONF_P_TCP) ||
			    b->proxy == a->proxy || !conf_svc_overlap(a, b))
				continue;
			return conf_err(x, svcs,
			    "services \"%s\" and \"%s\" share a port "
			    "but not their proxy",
			    a->name, b->name);
		}
	}
	return 0;
}

void
conf_proxies_print(const struct conf *c, FILE *f)
{
	const struct conf_proxies *p = &c->proxies;
	char a[64];

	/* Said only when written: a config without proxies prints as
	 * it always did. */
	if (p->line == 0)
		return;
	fprintf(f,
	    "proxies: window %u, incomplete %s, full %s, flows %u, "
	    "buffers %u, idle %u s, trusted",
	    p->window, p->incomplete == PRX_ACT_DROP ? "drop" : "unknown",
	    p->full == PRX_ACT_DROP ? "drop" : "unknown", p->flows, p->buffers,
	    p->idle);
	for (unsigned i = 0; i < p->ntrusted; i++) {
		inet_ntop(p->trusted[i].af == 4 ? AF_INET : AF_INET6,
		    p->trusted[i].addr, a, sizeof(a));
		fprintf(f, " %s/%u", a, p->trusted[i].plen);
	}
	fprintf(f, "%s\n", p->ntrusted ? "" : " none");
}
