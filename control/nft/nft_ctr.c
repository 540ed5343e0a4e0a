/*
 * Counters read back: one dump of the table's rules; each counter is
 * mapped through its rule's comment ("rN vF NAME", "default", "identity
 * vF", "source-route", "rx IF", "tx IF") into the slots cordon-dp's own
 * counters use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>

#include "control/nft/nft_int.h"
#include "core/stats/reasons.h"

struct nft_ctr_walk {
	struct nft_ctx *x;
	struct stats *s;
};

/* The comment nft_x_comment() wrote, or "". */
static void
nft_rule_comment(const struct nftnl_rule *r, char *out, size_t len)
{
	uint32_t n = 0;
	const uint8_t *u = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &n);

	out[0] = '\0';
	if (u == NULL || n < 2 || u[0] != 0 || (uint32_t)u[1] + 2 > n)
		return;
	snprintf(out, len, "%.*s", (int)u[1], (const char *)u + 2);
}

static int
nft_ctr_expr(struct nftnl_expr *e, void *arg)
{
	uint64_t *pb = arg;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
		pb[0] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		pb[1] += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static void
nft_ctr_verdict(struct stats *s, int action, unsigned slot, bool dflt,
    uint64_t p)
{
	s->packets += p;
	s->rule[slot] += p;
	s->action[action] += p;
	s->reason[action == CDN_ACT_ALLOW ? CDN_R_NONE
	          : dflt                  ? CDN_R_DEFAULT
	                                  : CDN_R_RULE] += p;
}

static void
nft_ctr_port(struct nft_ctr_walk *w, const char *ifname, bool rx,
    const uint64_t *pb)
{
	for (unsigned i = 0; i < w->x->nports && i < STATS_PORT_MAX; i++) {
		if (strcmp(w->x->ports[i], ifname) != 0)
			continue;
		if (rx) {
			w->s->port[i].rx_packets += pb[0];
			w->s->port[i].rx_bytes += pb[1];
		} else {
			w->s->port[i].tx_packets += pb[0];
			w->s->port[i].tx_bytes += pb[1];
		}
	}
}

static void
nft_ctr_map(struct nft_ctr_walk *w, const char *cm, const uint64_t *pb)
{
	struct nft_ctx *x = w->x;
	unsigned i;

	if (strcmp(cm, "default") == 0)
		nft_ctr_verdict(w->s, x->actions[x->nrules], STATS_RULE_DEFAULT,
		    true, pb[0]);
	else if (sscanf(cm, "r%u ", &i) == 1 && i < x->nrules)
		nft_ctr_verdict(w->s, x->actions[i], i, false, pb[0]);
	else if (strncmp(cm, "identity ", 9) == 0) {
		w->s->packets += pb[0];
		w->s->action[x->ident_action] += pb[0];
		w->s->reason[CDN_R_NO_SESSION] += pb[0];
	} else if (strcmp(cm, "source-route") == 0) {
		w->s->packets += pb[0];
		w->s->action[CDN_ACT_DROP] += pb[0];
		w->s->reason[CDN_R_SRCROUTE] += pb[0];
	} else if (strcmp(cm, "tunnel") == 0) {
		/* The kernel does not look inside (docs/nftables.md). */
		w->s->packets += pb[0];
		w->s->action[CDN_ACT_DROP] += pb[0];
		w->s->reason[CDN_R_TUN_PROTO] += pb[0];
	} else if (strncmp(cm, "rx ", 3) == 0 || strncmp(cm, "tx ", 3) == 0)
		nft_ctr_port(w, cm + 3, cm[0] == 'r', pb);
}

static int
nft_ctr_rule_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct nft_ctr_walk *w = arg;
	struct nftnl_rule *r = nftnl_rule_alloc();
	uint64_t pb[2] = { 0, 0 };
	char cm[128];

	if (r == NULL)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, r) == 0) {
		nft_rule_comment(r, cm, sizeof(cm));
		nftnl_expr_foreach(r, nft_ctr_expr, pb);
		nft_ctr_map(w, cm, pb);
	}
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int
nft_counters_table(struct nft_ctx *x, struct stats *out)
{
	char buf[512];
	struct nft_ctr_walk w = { x, out };
	struct nlmsghdr *nlh;
	struct nftnl_rule *r = nftnl_rule_alloc();

	memset(out, 0, sizeof(*out));
	if (!x->applied) {
		nftnl_rule_free(r);
		return 0;
	}
	if (r == NULL)
		return -1;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET,
	    NLM_F_DUMP, x->seq++);
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, x->table);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	return nft_sock_talk(x->nl, nlh, nft_ctr_rule_cb, &w);
}

static int
nft_table_cb(const struct nlmsghdr *nlh, void *arg)
{
	(void)nlh;
	*(bool *)arg = true;
	return MNL_CB_OK;
}

int
nft_table_present(struct nft_ctx *x)
{
	char buf[512];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE,
	    NFPROTO_INET, NLM_F_ACK, x->seq++);
	bool seen = false;

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, x->table);
	if (nft_sock_talk(x->nl, nlh, nft_table_cb, &seen) < 0)
		return errno == ENOENT ? 0 : -1;
	return seen ? 1 : 0;
}

int
nft_counters(struct nft_ctx *x, struct stats *out)
{
	if (nft_counters_table(x, out) < 0)
		return -1;
	stats_add(out, x->retired);
	return 0;
}
