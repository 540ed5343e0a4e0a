/*
 * What the nftables backend needs from the config: which backend, the
 * kernel interface of each port, the address (and routing table, mark)
 * of each next hop, and the management interface that host protection
 * guards when cordon-dp owns the data ports.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include "config/load/conf_int.h"

int
conf_backend_load(struct conf_ctx *x, const config_setting_t *s)
{
	const char *v = config_setting_get_string(s);

	if (v != NULL && strcmp(v, "dpdk") == 0)
		x->c->backend = CONF_BACKEND_DPDK;
	else if (v != NULL && strcmp(v, "nftables") == 0)
		x->c->backend = CONF_BACKEND_NFTABLES;
	else
		return conf_err(x, s,
		    "backend must be \"dpdk\" or "
		    "\"nftables\"");
	return 0;
}

static int
conf_ifname_get(struct conf_ctx *x, const config_setting_t *g, const char *key,
    bool required, char out[IFNAMSIZ])
{
	char buf[64];
	int o = conf_str_get(x, g, key, required, buf, sizeof(buf));

	if (o <= 0)
		return o;
	if (strlen(buf) >= IFNAMSIZ || strchr(buf, '/') != NULL ||
	    strchr(buf, ' ') != NULL)
		return conf_err(x, config_setting_get_member(g, key),
		    "\"%s\" is not an interface name (at most %d characters, "
		    "no '/' or space)",
		    buf, IFNAMSIZ - 1);
	memcpy(out, buf, strlen(buf) + 1);
	return 1;
}

int
conf_nft_port(struct conf_ctx *x, const config_setting_t *e,
    struct conf_port *p)
{
	bool nft = x->c->backend == CONF_BACKEND_NFTABLES;

	if (conf_ifname_get(x, e, "interface", nft, p->ifname) < 0)
		return -1;
	for (unsigned i = 0; nft && i < x->c->nports; i++)
		if (strcmp(x->c->ports[i].ifname, p->ifname) == 0)
			return conf_err(x,
			    config_setting_get_member(e, "interface"),
			    "interface \"%s\" is already port "
			    "\"%s\"",
			    p->ifname, x->c->ports[i].name);
	return 0;
}

static int
conf_nh_addr(struct conf_ctx *x, const config_setting_t *e, const char *key,
    struct conf_nexthop *h)
{
	char buf[64];
	int o = conf_str_get(x, e, key, false, buf, sizeof(buf));
	bool six = strcmp(key, "address6") == 0;

	if (o <= 0)
		return o;
	if (!six && inet_pton(AF_INET, buf, h->addr4) == 1)
		h->has_addr4 = true;
	else if (inet_pton(AF_INET6, buf, h->addr6) == 1)
		h->has_addr6 = true;
	else
		return conf_err(x, config_setting_get_member(e, key),
		    "bad %s address \"%s\"", six ? "IPv6" : "IP", buf);
	return 0;
}

int
conf_nft_nexthop(struct conf_ctx *x, const config_setting_t *e,
    struct conf_nexthop *h)
{
	unsigned mark = 0;

	if (conf_nh_addr(x, e, "address", h) < 0 ||
	    conf_nh_addr(x, e, "address6", h) < 0 ||
	    conf_uint_get(x, e, "table", 1, 0xfffffffeu, &h->table) < 0 ||
	    conf_uint_get(x, e, "fwmark", 1, 0xffffffffu, &mark) < 0)
		return -1;
	h->fwmark = mark;
	if (x->c->backend == CONF_BACKEND_NFTABLES && !h->has_addr4 &&
	    !h->has_addr6)
		return conf_err(x, e,
		    "next hop \"%s\": backend nftables "
		    "needs its address",
		    h->name);
	return 0;
}

int
conf_nft_host_load(struct conf_ctx *x, const config_setting_t *s,
    struct conf_control *ctl)
{
	static const char *const keys[] = { "interface", NULL };

	if (s == NULL)
		return 0;
	if (conf_group_check(x, s, keys) < 0)
		return -1;
	return conf_ifname_get(x, s, "interface", true, ctl->host_if) < 0 ? -1
	                                                                  : 0;
}

/*
 * The backend's keys for conf_print: nothing for backend dpdk, so that
 * its output stays what it was.
 */
void
conf_nft_print(const struct conf *c, FILE *f)
{
	char a4[INET_ADDRSTRLEN], a6[INET6_ADDRSTRLEN];

	if (c->backend != CONF_BACKEND_NFTABLES)
		return;
	fprintf(f, "    backend nftables\n");
	for (unsigned i = 0; i < c->nports; i++)
		fprintf(f, "    port %s: interface %s\n", c->ports[i].name,
		    c->ports[i].ifname);
	for (unsigned i = 0; i < c->nnexthops; i++) {
		const struct conf_nexthop *h = &c->nexthops[i];

		inet_ntop(AF_INET, h->addr4, a4, sizeof(a4));
		inet_ntop(AF_INET6, h->addr6, a6, sizeof(a6));
		fprintf(f,
		    "    nexthop %s: address %s address6 %s table %u "
		    "fwmark 0x%x\n",
		    h->name, h->has_addr4 ? a4 : "none",
		    h->has_addr6 ? a6 : "none", h->table ? h->table : 2000 + i,
		    h->fwmark ? h->fwmark : 0x0c0d0001u + i);
	}
}
