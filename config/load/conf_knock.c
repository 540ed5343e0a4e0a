/*
 * identity.knock.nat: the NAT pairings a knock may cross.  A knock signs
 * the address its sender believes it has; behind a NAT that is an inside
 * address and the datagram arrives from the NAT's outside one.  Each
 * pairing the administrator lists allows exactly that: a signed address
 * in "inside" arriving from a source in "outside".  None by default, so
 * a knock must come from the address it signed (docs/knock.md).
 */
#include <string.h>

#include "config/load/conf_int.h"

static const char *const conf_nat_keys[] = { "inside", "outside", NULL };

static int
conf_nat_pfx(struct conf_ctx *x, const config_setting_t *g, const char *key,
    struct knock_pfx *out)
{
	const config_setting_t *m = config_setting_get_member(g, key);
	struct geo_override o;
	char s[64];

	if (conf_str_get(x, g, key, true, s, sizeof(s)) < 0)
		return -1;
	if (conf_prefix_parse(s, &o) < 0)
		return conf_err(x, m, "knock nat: bad %s prefix \"%s\"", key,
		    s);
	if (conf_prefix_host_bits(&o))
		return conf_err(x, m,
		    "knock nat: %s prefix \"%s\" has host "
		    "bits set",
		    key, s);
	out->af = o.af;
	out->plen = o.plen;
	memcpy(out->addr, o.addr, sizeof(out->addr));
	return 0;
}

static int
conf_nat_one(struct conf_ctx *x, const config_setting_t *g)
{
	struct conf_identity *id = &x->c->identity;
	struct knock_nat *n = &id->knock_nat[id->nknock_nat];

	memset(n, 0, sizeof(*n));
	if (conf_group_check(x, g, conf_nat_keys) < 0 ||
	    conf_nat_pfx(x, g, "inside", &n->inside) < 0 ||
	    conf_nat_pfx(x, g, "outside", &n->outside) < 0)
		return -1;
	/*
	 * A broad outside prefix would undo the binding for every knock
	 * (two /1 pairings are "anywhere"): a NAT's public addresses are
	 * an address or a small pool.
	 */
	if (n->outside.plen < (n->outside.af == 4 ? 16 : 32))
		return conf_err(x, config_setting_get_member(g, "outside"),
		    "knock nat: outside prefix /%u is too broad for a NAT's "
		    "addresses (at least /16 for IPv4, /32 for IPv6)",
		    n->outside.plen);
	id->nknock_nat++;
	return 0;
}

int
conf_knock_nat_load(struct conf_ctx *x, const config_setting_t *s)
{
	x->c->identity.nknock_nat = 0;
	if (s == NULL)
		return 0;
	return conf_list_each(x, s, KNOCK_NAT_MAX, "knock nat pairings",
	    conf_nat_one);
}
