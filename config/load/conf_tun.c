/*
 * Tunnels: the `tunnels` group (which encapsulations the parser opens,
 * how deep, which UDP ports are encrypted tunnels it cannot open) and a
 * rule's `tunnel` class.  docs/config.md, Tunnels.
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_tun_keys[] = { "depth", "vxlan_port",
	"geneve_port", "teredo_port", "dtls_port", "opaque_udp", NULL };

void
conf_tunnels_defaults(struct conf_tunnels *t)
{
	static const uint16_t opaque[] = { 500, 4500, 1194, 51820 };

	memset(t, 0, sizeof(*t));
	t->depth = 3;
	t->vxlan = 4789;
	t->geneve = 6081;
	t->teredo = 3544;
	t->dtls = 443;
	t->nopaque = sizeof(opaque) / sizeof(opaque[0]);
	memcpy(t->opaque_udp, opaque, sizeof(opaque));
}

/* opaque_udp: single ports, at most CONF_OPAQUE_MAX. */
static int
conf_opaque_load(struct conf_ctx *x, const config_setting_t *g,
    struct conf_tunnels *t)
{
	const config_setting_t *m = config_setting_get_member(g, "opaque_udp");
	struct conf_range r[CONF_RANGE_MAX];
	unsigned n;

	if (m == NULL)
		return 0;
	/* An empty list: no UDP port is taken for an encrypted tunnel. */
	if (config_setting_is_list(m) || config_setting_is_array(m))
		if (config_setting_length(m) == 0) {
			t->nopaque = 0;
			return 0;
		}
	if (conf_ranges_get(x, m, r, &n) < 0)
		return -1;
	if (n > CONF_OPAQUE_MAX)
		return conf_err(x, m, "opaque_udp: at most %d ports",
		    CONF_OPAQUE_MAX);
	for (unsigned i = 0; i < n; i++) {
		if (r[i].lo != r[i].hi)
			return conf_err(x, m,
			    "opaque_udp: single ports, not "
			    "ranges");
		t->opaque_udp[i] = r[i].lo;
	}
	t->nopaque = n;
	return 0;
}

int
conf_tunnels_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_tunnels *t = &x->c->tunnels;

	if (conf_group_check(x, s, conf_tun_keys) < 0 ||
	    conf_uint_get(x, s, "depth", 1, 7, &t->depth) < 0 ||
	    conf_uint_get(x, s, "vxlan_port", 0, 65535, &t->vxlan) < 0 ||
	    conf_uint_get(x, s, "geneve_port", 0, 65535, &t->geneve) < 0 ||
	    conf_uint_get(x, s, "teredo_port", 0, 65535, &t->teredo) < 0 ||
	    conf_uint_get(x, s, "dtls_port", 0, 65535, &t->dtls) < 0 ||
	    conf_opaque_load(x, s, t) < 0)
		return -1;
	t->line = (int)config_setting_source_line(s);
	return 0;
}

void
conf_tunnels_print(const struct conf *c, FILE *f)
{
	const struct conf_tunnels *t = &c->tunnels;

	fprintf(f,
	    "tunnels: depth %u, vxlan %u, geneve %u, teredo %u, "
	    "dtls %u, opaque udp",
	    t->depth, t->vxlan, t->geneve, t->teredo, t->dtls);
	for (unsigned i = 0; i < t->nopaque; i++)
		fprintf(f, " %u", t->opaque_udp[i]);
	fprintf(f, "%s\n", t->nopaque ? "" : " none");
}

static int
conf_tun_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf_rule *r = arg;

	if (strcmp(s, "none") == 0)
		r->tun |= CONF_TUN_NONE;
	else if (strcmp(s, "inspected") == 0)
		r->tun |= CONF_TUN_OPEN;
	else if (strcmp(s, "opaque") == 0)
		r->tun |= CONF_TUN_OPAQUE;
	else if (strcmp(s, "any") == 0)
		r->tun |= CONF_TUN_OPEN | CONF_TUN_OPAQUE;
	else
		return conf_err(x, e,
		    "rule \"%s\": tunnel must be none, "
		    "inspected, opaque or any, not \"%s\"",
		    r->name, s);
	return 0;
}

/* `tunnel`: which tunnel classes the rule takes; absent: all of them. */
int
conf_rule_tun_load(struct conf_ctx *x, const config_setting_t *g,
    struct conf_rule *r)
{
	const config_setting_t *m = config_setting_get_member(g, "tunnel");
	int n;

	r->tun = CONF_TUN_ALL;
	if (m == NULL)
		return 0;
	r->tun = 0;
	if ((n = conf_strings_each(x, m, conf_tun_one, r)) < 0)
		return -1;
	if (n == 0)
		return conf_err(x, m, "rule \"%s\": empty tunnel list",
		    r->name);
	return 0;
}
