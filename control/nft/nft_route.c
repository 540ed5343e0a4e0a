/*
 * Reroute under the kernel: a rule's packets get the next hop's firewall
 * mark in prerouting, "ip rule fwmark M table T" sends them to table T,
 * whose default route is the next hop's address.  This keeps the
 * packet's addresses and lets the kernel resolve the next hop's MAC, as
 * cordon-dp does with its configured one; netdev `fwd` would bypass the
 * routing the rest of the ruleset relies on (and the forward counters).
 * Installed with rtnetlink (libmnl) before the nft batch, so a mark
 * never points at a missing table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "control/nft/nft_build.h"

#define NFT_RULE_PRIO	9000	/* ip rule priority of the first next hop */

uint32_t
nft_nh_mark(const struct conf *c, unsigned nh)
{
	return c->nexthops[nh].fwmark ? c->nexthops[nh].fwmark :
	    NFT_MARK_NH + nh;
}

unsigned
nft_nh_table(const struct conf *c, unsigned nh)
{
	return c->nexthops[nh].table ? c->nexthops[nh].table : 2000 + nh;
}

static int
nft_rt_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, bool ok_exist)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	if ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) < 0)
		return -1;
	rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq,
	    mnl_socket_get_portid(nl), NULL, NULL);
	if (rc < 0 && ok_exist && errno == EEXIST)
		return 0;
	return rc < 0 ? -1 : 0;
}

static int
nft_rt_route(struct mnl_socket *nl, int af, const uint8_t *gw, unsigned table,
    uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rt;

	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
	    NLM_F_REPLACE;
	nlh->nlmsg_seq = seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtm_family = (uint8_t)(af == 4 ? AF_INET : AF_INET6);
	rt->rtm_table = RT_TABLE_UNSPEC;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = RT_SCOPE_UNIVERSE;
	rt->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
	mnl_attr_put(nlh, RTA_GATEWAY, af == 4 ? 4 : 16, gw);
	return nft_rt_talk(nl, nlh, false);
}

static int
nft_rt_rule(struct mnl_socket *nl, int af, uint32_t mark, unsigned table,
    unsigned prio, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *fr;

	nlh->nlmsg_type = RTM_NEWRULE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE |
	    NLM_F_EXCL;
	nlh->nlmsg_seq = seq;
	fr = mnl_nlmsg_put_extra_header(nlh, sizeof(*fr));
	fr->family = (uint8_t)(af == 4 ? AF_INET : AF_INET6);
	fr->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
	return nft_rt_talk(nl, nlh, true);
}

static int
nft_route_one(struct mnl_socket *nl, const struct conf *c, unsigned i,
    uint32_t *seq, char *err, size_t errlen)
{
	const struct conf_nexthop *h = &c->nexthops[i];

	for (int k = 0; k < 2; k++) {
		int af = k ? 6 : 4;
		const uint8_t *gw = k ? h->addr6 : h->addr4;

		if (!(k ? h->has_addr6 : h->has_addr4))
			continue;
		if (nft_rt_route(nl, af, gw, nft_nh_table(c, i), ++*seq) < 0 ||
		    nft_rt_rule(nl, af, nft_nh_mark(c, i), nft_nh_table(c, i),
		    NFT_RULE_PRIO + i, ++*seq) < 0) {
			snprintf(err, errlen, "next hop \"%s\": IPv%d policy "
			    "route: %s", h->name, af, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
nft_route_apply(const struct conf *c, char *err, size_t errlen)
{
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int rc = 0;

	if (c->nnexthops == 0)
		return 0;
	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return -1;
	}
	for (unsigned i = 0; i < c->nnexthops && rc == 0; i++)
		rc = nft_route_one(nl, c, i, &seq, err, errlen);
	mnl_socket_close(nl);
	return rc;
}
