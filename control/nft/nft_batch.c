/*
 * Batches: one growing buffer holding BATCH_BEGIN, the messages and
 * BATCH_END, sent with one sendmsg() so that the kernel takes it as one
 * transaction.  nfnetlink handles a batch synchronously in the sender's
 * context, so every ACK is queued on our socket by the time sendmsg()
 * returns: they are read without waiting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "control/nft/nft_int.h"

#define NFT_SOCKBUF (64u << 20)
#define NFT_RCV_LEN (256u * 1024)

static int
nft_batch_grow(struct nft_batch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 1u << 20;
	char *p;

	if (b->len + need <= b->cap)
		return 0;
	while (cap < b->len + need)
		cap *= 2;
	if ((p = realloc(b->buf, cap)) == NULL)
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

int
nft_batch_init(struct nft_batch *b, uint32_t seq0)
{
	struct nlmsghdr *nlh;

	memset(b, 0, sizeof(*b));
	b->seq0 = seq0;
	if (nft_batch_grow(b, NFT_MSG_ROOM) < 0)
		return -1;
	nlh = nftnl_batch_begin(b->buf, seq0);
	/* The generation is only known when sending: reserve its place. */
	mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, 0);
	b->genid_off =
	    (size_t)((char *)mnl_nlmsg_get_payload_tail(nlh) - b->buf) -
	    sizeof(uint32_t);
	b->len = NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

void
nft_batch_free(struct nft_batch *b)
{
	free(b->buf);
	free(b->what);
	memset(b, 0, sizeof(*b));
}

static int
nft_batch_note(struct nft_batch *b, const char *fmt, va_list ap)
{
	if (b->nmsg == b->what_cap) {
		size_t cap = b->what_cap ? b->what_cap * 2 : 256;
		void *p = realloc(b->what, cap * sizeof(b->what[0]));

		if (p == NULL)
			return -1;
		b->what = p;
		b->what_cap = cap;
	}
	vsnprintf(b->what[b->nmsg], NFT_WHAT_MAX, fmt, ap);
	return 0;
}

struct nlmsghdr *
nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (nft_batch_grow(b, NFT_MSG_ROOM) < 0)
		return NULL;
	va_start(ap, fmt);
	rc = nft_batch_note(b, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return NULL;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFPROTO_INET,
	    flags | NLM_F_ACK, b->seq0 + 1 + b->nmsg);
}

void
nft_batch_put(struct nft_batch *b, struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	b->nmsg++;
}

int
nft_batch_close(struct nft_batch *b)
{
	struct nlmsghdr *nlh;

	if (nft_batch_grow(b, NFT_MSG_ROOM) < 0)
		return -1;
	nlh = nftnl_batch_end(b->buf + b->len, b->seq0 + 1 + b->nmsg);
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

struct mnl_socket *
nft_sock_open(char *err, size_t errlen)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	int one = 1, sz = (int)NFT_SOCKBUF;

	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return NULL;
	}
	/* Big batches and their ACKs: beyond the default limits (root). */
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz,
	        sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_SNDBUF, &sz,
		    sizeof(sz));
	if (setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
	        sizeof(sz)) < 0)
		setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUF, &sz,
		    sizeof(sz));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

static int
nft_gen_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *a;

	mnl_attr_for_each(a, nlh,
	    sizeof(struct nfgenmsg)) if (mnl_attr_get_type(a) == NFTA_GEN_ID) *
	    (uint32_t *)arg = ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

int
nft_sock_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
    void *arg)
{
	char *buf = malloc(NFT_RCV_LEN);
	uint32_t seq = nlh->nlmsg_seq, pid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc = -1;

	if (buf == NULL)
		return -1;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	while ((n = mnl_socket_recvfrom(nl, buf, NFT_RCV_LEN)) > 0) {
		rc = mnl_cb_run(buf, (size_t)n, seq, pid, cb, arg);
		if (rc <= MNL_CB_STOP)
			break;
	}
	rc = rc < 0 ? -1 : 0;
out:
	free(buf);
	return rc;
}

static int
nft_genid(struct mnl_socket *nl, uint32_t seq, uint32_t *gen)
{
	char buf[256];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN,
	    AF_UNSPEC, NLM_F_ACK, seq);

	return nft_sock_talk(nl, nlh, nft_gen_cb, gen);
}

/* The first error of the ACKs, as "what: message"; 0 if all were 0. */
struct nft_acks {
	const struct nft_batch *b;
	int error;
	char *err;
	size_t errlen;
};

static void
nft_ack_error(struct nft_acks *k, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *msg = NULL, *what = "batch";
	uint32_t i = e->msg.nlmsg_seq - k->b->seq0;
	struct nlattr *a;

	if (e->error == 0 || k->error != 0)
		return;
	k->error = -e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_for_each(a, nlh,
		    sizeof(*e)) if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
		    msg = mnl_attr_get_str(a);
	if (i >= 1 && i <= k->b->nmsg)
		what = k->b->what[i - 1];
	snprintf(k->err, k->errlen, "%s: %s%s%s", what, strerror(k->error),
	    msg ? " - " : "", msg ? msg : "");
}

static int
nft_acks_read(struct mnl_socket *nl, struct nft_acks *k)
{
	char *buf = malloc(NFT_RCV_LEN);
	ssize_t n;

	if (buf == NULL)
		return -1;
	while ((n = recv(mnl_socket_get_fd(nl), buf, NFT_RCV_LEN,
	            MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			if (nlh->nlmsg_type == NLMSG_ERROR)
				nft_ack_error(k, nlh);
	}
	free(buf);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		/* ENOBUFS: ACKs were lost, the outcome is unknown. */
		snprintf(k->err, k->errlen, "reading ACKs: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
nft_batch_once(struct mnl_socket *nl, struct nft_batch *b, char *err,
    size_t errlen)
{
	struct nft_acks k = { b, 0, err, errlen };
	uint32_t gen = 0;

	if (b->pin_gen)
		gen = b->pin;
	else if (nft_genid(nl, b->seq0 - 1, &gen) < 0) {
		snprintf(err, errlen, "reading the generation: %s",
		    strerror(errno));
		return -1;
	}
	if (b->stale_gen_once) {
		/* As if another process had committed since we looked. */
		b->stale_gen_once = false;
		gen--;
	}
	b->gen = gen;
	gen = htonl(gen);
	memcpy(b->buf + b->genid_off, &gen, sizeof(gen));
	if (mnl_socket_sendto(nl, b->buf, b->len) < 0) {
		snprintf(err, errlen, "sending the batch (%zu bytes): %s",
		    b->len, strerror(errno));
		return -1;
	}
	if (nft_acks_read(nl, &k) < 0)
		return -1;
	errno = k.error;
	return k.error ? -1 : 0;
}

int
nft_batch_send(struct mnl_socket *nl, struct nft_batch *b, unsigned *retries,
    char *err, size_t errlen)
{
	int rc;

	for (unsigned i = 0; i <= NFT_RETRY_MAX; i++) {
		errno = 0;
		rc = nft_batch_once(nl, b, err, errlen);
		/* A delta is only right on the generation it was made for. */
		if (rc == 0 || b->pin_gen ||
		    (errno != ERESTART && errno != EBUSY && errno != EAGAIN))
			return rc;
		if (retries != NULL)
			(*retries)++;
	}
	return -1;
}
