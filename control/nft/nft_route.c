/*
 * Reroute under the kernel: a rule's packets get the next hop's firewall
 * mark in prerouting, "ip rule fwmark M table T" sends them to table T,
 * whose default route is the next hop's address.  This keeps the
 * packet's addresses and lets the kernel resolve the next hop's MAC, as
 * cordon-dp does with its configured one; netdev `fwd` would bypass the
 * routing the rest of the ruleset relies on (and the forward counters).
 * Installed with rtnetlink (libmnl) before the nft batch, so a mark
 * never points at a missing table; `ip rule`s in our priority range
 * (9000 + next hop index) that the config no longer has go after the
 * adds.  Routes in tables no rule points at any more are left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>

#include "control/nft/nft_build.h"

#define NFT_RULE_PRIO 9000 /* ip rule priority of the first next hop */

uint32_t
nft_nh_mark(const struct conf *c, unsigned nh)
{
	return c->nexthops[nh].fwmark ? c->nexthops[nh].fwmark
	                              : NFT_MARK_NH + nh;
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

/* Starts a request of TYPE with FLAGS in BUF. */
static struct nlmsghdr *
nft_rt_msg(char *buf, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	return nlh;
}

/* The body of a fwmark rule: FAMILY's MARK goes to TABLE, at PRIO. */
static void
nft_rt_rule_put(struct nlmsghdr *nlh, uint8_t family, uint32_t mark,
    uint32_t table, uint32_t prio)
{
	struct fib_rule_hdr *fr = mnl_nlmsg_put_extra_header(nlh, sizeof(*fr));

	fr->family = family;
	fr->action = FR_ACT_TO_TBL;
	mnl_attr_put_u32(nlh, FRA_FWMARK, mark);
	mnl_attr_put_u32(nlh, FRA_FWMASK, 0xffffffffu);
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, prio);
}

static int
nft_rt_route(struct mnl_socket *nl, int af, const uint8_t *gw, unsigned table,
    uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nft_rt_msg(buf, RTM_NEWROUTE,
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, seq);
	struct rtmsg *rt;

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
	struct nlmsghdr *nlh = nft_rt_msg(buf, RTM_NEWRULE,
	    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);

	nft_rt_rule_put(nlh, (uint8_t)(af == 4 ? AF_INET : AF_INET6), mark,
	    table, prio);
	return nft_rt_talk(nl, nlh, true);
}

/* A rule of ours that the config no longer has: deleted after the adds. */
struct nft_rt_stale {
	const struct conf *c;
	uint32_t prio[2 * CONF_NEXTHOP_MAX];
	uint8_t fam[2 * CONF_NEXTHOP_MAX];
	uint32_t mark[2 * CONF_NEXTHOP_MAX], table[2 * CONF_NEXTHOP_MAX];
	unsigned n;
};

static int
nft_rt_rule_attr(const struct nlattr *a, void *arg)
{
	const struct nlattr **tb = arg;

	if (mnl_attr_get_type(a) <= FRA_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

/* Is the rule at PRIO with MARK and TABLE what next hop PRIO - base is? */
static bool
nft_rt_current(const struct conf *c, int af, uint32_t prio, uint32_t mark,
    uint32_t table)
{
	unsigned i = prio - NFT_RULE_PRIO;
	const struct conf_nexthop *h;

	if (i >= c->nnexthops)
		return false;
	h = &c->nexthops[i];
	return (af == AF_INET ? h->has_addr4 : h->has_addr6) &&
	       mark == nft_nh_mark(c, i) && table == nft_nh_table(c, i);
}

static int
nft_rt_dump_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct fib_rule_hdr *fr = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[FRA_MAX + 1] = { 0 };
	struct nft_rt_stale *st = arg;
	uint32_t prio, mark, table;

	mnl_attr_parse(nlh, sizeof(*fr), nft_rt_rule_attr, tb);
	if (tb[FRA_PRIORITY] == NULL || tb[FRA_FWMARK] == NULL)
		return MNL_CB_OK;
	prio = mnl_attr_get_u32(tb[FRA_PRIORITY]);
	mark = mnl_attr_get_u32(tb[FRA_FWMARK]);
	table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : fr->table;
	if (prio < NFT_RULE_PRIO || prio >= NFT_RULE_PRIO + CONF_NEXTHOP_MAX ||
	    nft_rt_current(st->c, fr->family, prio, mark, table) ||
	    st->n == 2 * CONF_NEXTHOP_MAX)
		return MNL_CB_OK;
	st->prio[st->n] = prio;
	st->fam[st->n] = fr->family;
	st->mark[st->n] = mark;
	st->table[st->n++] = table;
	return MNL_CB_OK;
}

/* Our priority range's rules that the config no longer names. */
static int
nft_rt_stale_find(struct mnl_socket *nl, struct nft_rt_stale *st, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    nft_rt_msg(buf, RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq);
	struct fib_rule_hdr *fr;
	ssize_t n;
	int rc = MNL_CB_OK;

	fr = mnl_nlmsg_put_extra_header(nlh, sizeof(*fr));
	fr->family = AF_UNSPEC;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	while (rc > MNL_CB_STOP &&
	       (n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0)
		rc = mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(nl),
		    nft_rt_dump_cb, st);
	return rc < 0 ? -1 : 0;
}

static int
nft_rt_rule_del(struct mnl_socket *nl, const struct nft_rt_stale *st,
    unsigned k, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    nft_rt_msg(buf, RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, seq);

	nft_rt_rule_put(nlh, st->fam[k], st->mark[k], st->table[k],
	    st->prio[k]);
	return nft_rt_talk(nl, nlh, false);
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
			snprintf(err, errlen,
			    "next hop \"%s\": IPv%d policy "
			    "route: %s",
			    h->name, af, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int
nft_route_apply(const struct conf *c, char *err, size_t errlen)
{
	struct nft_rt_stale st = { 0 };
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int rc = 0;

	if ((nl = mnl_socket_open(NETLINK_ROUTE)) == NULL ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "rtnetlink: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return -1;
	}
	st.c = c;
	if (nft_rt_stale_find(nl, &st, ++seq) < 0)
		st.n = 0; /* cannot tell: leave them (they steer no mark) */
	for (unsigned i = 0; i < c->nnexthops && rc == 0; i++)
		rc = nft_route_one(nl, c, i, &seq, err, errlen);
	/* After the adds: a mark in use always has its rule. */
	for (unsigned k = 0; k < st.n && rc == 0; k++)
		(void)nft_rt_rule_del(nl, &st, k, ++seq);
	mnl_socket_close(nl);
	return rc;
}
