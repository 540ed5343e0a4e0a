/*
 * Log events under the kernel: rules with `log = true` carry a `log
 * group` expression, and the kernel hands each such packet (its network
 * header onwards) to nfnetlink_log.  This is the reading side: one
 * netlink socket bound to the group, drained without blocking from
 * cordond's poll loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "control/nft/nft_int.h"

#define NFT_LOG_BUF  (256u * 1024)
#define NFT_LOG_COPY 0xffffu /* whole packets: pkt_parse checks lengths */

struct nft_log {
	struct mnl_socket *nl;
	uint16_t group;
	uint32_t seq;
	char *buf;
};

static int
nft_log_cmd(struct nft_log *l, uint8_t cmd)
{
	char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;
	struct nfulnl_msg_config_cmd c = { .command = cmd };
	struct nfulnl_msg_config_mode m = { .copy_range = htonl(NFT_LOG_COPY),
		.copy_mode = NFULNL_COPY_PACKET };

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++l->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(l->group);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
	if (cmd == NFULNL_CFG_CMD_BIND)
		mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(m), &m);
	return nft_sock_talk(l->nl, nlh, NULL, NULL);
}

struct nft_log *
nft_log_open(uint16_t group, char *err, size_t errlen)
{
	struct nft_log *l = calloc(1, sizeof(*l));
	int sz = 4 << 20;

	if (l == NULL || (l->buf = malloc(NFT_LOG_BUF)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	l->group = group;
	if ((l->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL ||
	    mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    nft_log_cmd(l, NFULNL_CFG_CMD_BIND) < 0) {
		snprintf(err, errlen, "nfnetlink_log group %u: %s", group,
		    strerror(errno));
		goto fail;
	}
	setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
	    sizeof(sz));
	return l;
fail:
	nft_log_close(l);
	return NULL;
}

void
nft_log_close(struct nft_log *l)
{
	if (l == NULL)
		return;
	if (l->nl != NULL)
		mnl_socket_close(l->nl);
	free(l->buf);
	free(l);
}

int
nft_log_fd(const struct nft_log *l)
{
	return l != NULL ? mnl_socket_get_fd(l->nl) : -1;
}

struct nft_log_walk {
	nft_log_fn *fn;
	void *arg;
};

static int
nft_log_attr(const struct nlattr *a, void *arg)
{
	const struct nlattr **tb = arg;

	if (mnl_attr_get_type(a) <= NFULA_MAX)
		tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

static int
nft_log_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	struct nft_log_walk *w = arg;
	struct nft_log_pkt p = { 0 };

	if ((nlh->nlmsg_type & 0xff) != NFULNL_MSG_PACKET)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), nft_log_attr, tb);
	if (tb[NFULA_PAYLOAD] == NULL || tb[NFULA_PREFIX] == NULL)
		return MNL_CB_OK;
	p.prefix = mnl_attr_get_str(tb[NFULA_PREFIX]);
	if (mnl_attr_get_payload_len(tb[NFULA_PREFIX]) == 0 ||
	    memchr(p.prefix, '\0',
	        mnl_attr_get_payload_len(tb[NFULA_PREFIX])) == NULL)
		return MNL_CB_OK;
	p.pkt = mnl_attr_get_payload(tb[NFULA_PAYLOAD]);
	p.len = mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]);
	if (tb[NFULA_IFINDEX_INDEV] != NULL)
		p.ifindex = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_INDEV]));
	w->fn(w->arg, &p);
	return MNL_CB_OK;
}

int
nft_log_read(struct nft_log *l, nft_log_fn *fn, void *arg)
{
	struct nft_log_walk w = { fn, arg };
	ssize_t n;
	int count = 0;

	while ((n = recv(mnl_socket_get_fd(l->nl), l->buf, NFT_LOG_BUF,
	            MSG_DONTWAIT)) > 0) {
		/* Packets carry sequence 0: no sequence or port check. */
		mnl_cb_run(l->buf, (size_t)n, 0, 0, nft_log_cb, &w);
		count++;
	}
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != ENOBUFS)
		return -1;
	return count;
}
