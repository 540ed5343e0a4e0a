/*
 * The dataplane section: ports and their bump-in-the-wire pairing, next
 * hops for reroute, EAL arguments and worker tuning.
 */
#include <ctype.h>
#include <string.h>

#include "config/load/conf_int.h"
#include "core/frag/frag.h"
#include "core/top/top.h"

static const char *const conf_dp_keys[] = { "ports", "next_hops", "eal",
	"workers", "burst", "mbufs", "frag_entries", "frag_timeout_ms",
	"top_window", NULL };
static const char *const conf_port_keys[] = { "name", "device", "devargs",
	"role", "peer", "interface", NULL };
static const char *const conf_nh_keys[] = { "name", "port", "mac", "vlan",
	"address", "address6", "table", "fwmark", NULL };

static const char *const conf_role_names[] = {
	[CONF_ROLE_OUTSIDE] = "outside",
	[CONF_ROLE_INSIDE] = "inside",
	[CONF_ROLE_OTHER] = "other",
};

const char *
conf_role_name(enum conf_role r)
{
	return r <= CONF_ROLE_OTHER ? conf_role_names[r] : "?";
}

/* Peer names wait until every port is known. */
struct conf_peers {
	char name[CONF_PORT_MAX][CONF_NAME_MAX];
	const config_setting_t *at[CONF_PORT_MAX];
};

static int
conf_role_get(struct conf_ctx *x, const config_setting_t *e,
    enum conf_role *out)
{
	char role[16];

	if (conf_str_get(x, e, "role", true, role, sizeof(role)) < 0)
		return -1;
	for (int r = CONF_ROLE_OUTSIDE; r <= CONF_ROLE_OTHER; r++) {
		if (strcmp(role, conf_role_names[r]) == 0) {
			*out = (enum conf_role)r;
			return 0;
		}
	}
	return conf_err(x, config_setting_get_member(e, "role"),
	    "role must be outside, inside or other, not \"%s\"", role);
}

static int
conf_port_load(struct conf_ctx *x, const config_setting_t *e,
    struct conf_peers *pp)
{
	struct conf *c = x->c;
	struct conf_port *p = &c->ports[c->nports];
	int o;

	if (conf_group_check(x, e, conf_port_keys) < 0 ||
	    conf_name_get(x, e, p->name) < 0)
		return -1;
	if (conf_port_find(c, p->name) >= 0)
		return conf_err(x, e, "duplicate port \"%s\"", p->name);
	if (conf_str_get(x, e, "device", c->backend == CONF_BACKEND_DPDK,
	        p->device, sizeof(p->device)) < 0 ||
	    conf_nft_port(x, e, p) < 0 ||
	    conf_str_get(x, e, "devargs", false, p->devargs,
	        sizeof(p->devargs)) < 0 ||
	    conf_role_get(x, e, &p->role) < 0)
		return -1;
	for (unsigned i = 0; p->device[0] && i < c->nports; i++)
		if (strcmp(c->ports[i].device, p->device) == 0)
			return conf_err(x,
			    config_setting_get_member(e, "device"),
			    "device \"%s\" is already port \"%s\"", p->device,
			    c->ports[i].name);
	o = conf_str_get(x, e, "peer", false, pp->name[c->nports],
	    CONF_NAME_MAX);
	if (o < 0)
		return -1;
	pp->at[c->nports] = o ? config_setting_get_member(e, "peer") : NULL;
	p->peer = -1;
	p->line = (int)config_setting_source_line(e);
	c->nports++;
	return 0;
}

static int
conf_peer_resolve(struct conf_ctx *x, const struct conf_peers *pp, unsigned i)
{
	struct conf *c = x->c;
	struct conf_port *p = &c->ports[i];
	int j;

	if (pp->at[i] == NULL)
		return 0;
	if ((j = conf_port_find(c, pp->name[i])) < 0)
		return conf_err(x, pp->at[i], "unknown peer port \"%s\"",
		    pp->name[i]);
	if ((unsigned)j == i)
		return conf_err(x, pp->at[i],
		    "port \"%s\" cannot be its own "
		    "peer",
		    p->name);
	/*
	 * An "other" port (a quarantine or inspection segment) may name a
	 * peer one way: where the traffic it sends back is forwarded.
	 */
	if (p->role == CONF_ROLE_OTHER) {
		if (c->ports[j].role == CONF_ROLE_OTHER)
			return conf_err(x, pp->at[i],
			    "port \"%s\": the peer "
			    "of an \"other\" port must be outside or inside",
			    p->name);
		p->peer = j;
		return 0;
	}
	if (pp->at[j] == NULL || strcmp(pp->name[j], p->name) != 0)
		return conf_err(x, pp->at[i],
		    "port \"%s\" names peer \"%s\", "
		    "which does not name it back",
		    p->name, pp->name[i]);
	/* A pair is one wire: the outside half faces the prohibited side. */
	if (!((p->role == CONF_ROLE_OUTSIDE &&
	          c->ports[j].role == CONF_ROLE_INSIDE) ||
	        (p->role == CONF_ROLE_INSIDE &&
	            c->ports[j].role == CONF_ROLE_OUTSIDE)))
		return conf_err(x, pp->at[i],
		    "peers \"%s\" and \"%s\" must be "
		    "one outside and one inside port",
		    p->name, pp->name[i]);
	p->peer = j;
	return 0;
}

static int
conf_ports_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf_peers pp;
	int n;

	if (conf_want_list(x, s) < 0)
		return -1;
	n = config_setting_length(s);
	if (n > CONF_PORT_MAX)
		return conf_err(x, config_setting_get_elem(s, CONF_PORT_MAX),
		    "too many ports (at most %d)", CONF_PORT_MAX);
	for (int i = 0; i < n; i++)
		if (conf_port_load(x, config_setting_get_elem(s, i), &pp) < 0)
			return -1;
	for (unsigned i = 0; i < x->c->nports; i++)
		if (conf_peer_resolve(x, &pp, i) < 0)
			return -1;
	return 0;
}

static int
conf_hex(int ch)
{
	if (isdigit(ch))
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx". */
static int
conf_mac_parse(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = conf_hex((unsigned char)s[i * 3]);
		int lo = conf_hex((unsigned char)s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
conf_nexthop_mac(struct conf_ctx *x, const config_setting_t *e, uint8_t *mac)
{
	static const uint8_t zero[6];
	const config_setting_t *m = config_setting_get_member(e, "mac");
	char s[32];
	int o;

	/* The kernel resolves the next hop's MAC itself (nftables). */
	o = conf_str_get(x, e, "mac", x->c->backend == CONF_BACKEND_DPDK, s,
	    sizeof(s));
	if (o <= 0)
		return o;
	if (conf_mac_parse(s, mac) < 0)
		return conf_err(x, m, "bad MAC address \"%s\"", s);
	/* Rerouted traffic goes to one router, never to a group. */
	if ((mac[0] & 1) || memcmp(mac, zero, 6) == 0)
		return conf_err(x, m, "MAC address \"%s\" is not unicast", s);
	return 0;
}

static int
conf_nexthop_load(struct conf_ctx *x, const config_setting_t *e)
{
	struct conf *c = x->c;
	struct conf_nexthop *h = &c->nexthops[c->nnexthops];
	char port[CONF_NAME_MAX];
	unsigned vlan = 0;

	if (conf_group_check(x, e, conf_nh_keys) < 0 ||
	    conf_name_get(x, e, h->name) < 0)
		return -1;
	if (conf_nexthop_find(c, h->name) >= 0)
		return conf_err(x, e, "duplicate next hop \"%s\"", h->name);
	if (conf_str_get(x, e, "port", true, port, sizeof(port)) < 0)
		return -1;
	if ((h->port = conf_port_find(c, port)) < 0)
		return conf_err(x, config_setting_get_member(e, "port"),
		    "unknown port \"%s\"", port);
	if (conf_nexthop_mac(x, e, h->mac) < 0 ||
	    conf_uint_get(x, e, "vlan", 1, 4094, &vlan) < 0 ||
	    conf_nft_nexthop(x, e, h) < 0)
		return -1;
	h->vlan = vlan ? (int)vlan : -1;
	h->line = (int)config_setting_source_line(e);
	c->nnexthops++;
	return 0;
}

static int
conf_eal_one(struct conf_ctx *x, const config_setting_t *e, const char *s,
    void *arg)
{
	struct conf *c = arg;

	if (c->neal == CONF_EAL_MAX)
		return conf_err(x, e, "too many eal arguments (at most %d)",
		    CONF_EAL_MAX);
	if (strlen(s) >= sizeof(c->eal[0]))
		return conf_err(x, e,
		    "eal argument too long (at most %zu "
		    "characters)",
		    sizeof(c->eal[0]) - 1);
	memcpy(c->eal[c->neal++], s, strlen(s) + 1);
	return 0;
}

static int
conf_tuning_load(struct conf_ctx *x, const config_setting_t *s)
{
	struct conf *c = x->c;

	if (conf_uint_get(x, s, "workers", 0, 127, &c->workers) < 0 ||
	    conf_uint_get(x, s, "burst", 1, 256, &c->burst) < 0 ||
	    conf_uint_get(x, s, "mbufs", 1024, 16u << 20, &c->mbufs) < 0 ||
	    conf_uint_get(x, s, "frag_entries", FRAG_ENTRIES_MIN,
	        FRAG_ENTRIES_MAX, &c->frag_entries) < 0 ||
	    conf_uint_get(x, s, "frag_timeout_ms", 10, 60000,
	        &c->frag_timeout_ms) < 0 ||
	    conf_uint_get(x, s, "top_window", TOP_WIN_MIN, TOP_WIN_MAX,
	        &c->top_window) < 0)
		return -1;
	return 0;
}

int
conf_dataplane_load(struct conf_ctx *x, const config_setting_t *s)
{
	const config_setting_t *m;

	if (conf_group_check(x, s, conf_dp_keys) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "ports")) != NULL &&
	    conf_ports_load(x, m) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "next_hops")) != NULL &&
	    conf_list_each(x, m, CONF_NEXTHOP_MAX, "next hops",
	        conf_nexthop_load) < 0)
		return -1;
	if ((m = config_setting_get_member(s, "eal")) != NULL &&
	    conf_strings_each(x, m, conf_eal_one, x->c) < 0)
		return -1;
	return conf_tuning_load(x, s);
}
