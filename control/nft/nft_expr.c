/*
 * Expression helpers: each builds one libnftnl expression the way nft(8)
 * itself encodes it, so that `nft list` shows cordond's rules in plain
 * nft syntax.
 */
#include <stdio.h>
#include <string.h>

#include <libnftnl/expr.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <libnftnl/udata.h>

#include "control/nft/nft_int.h"

static struct nftnl_expr *
nft_x_new(const char *name)
{
	return nftnl_expr_alloc(name);
}

static int
nft_x_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e == NULL)
		return -1;
	nftnl_rule_add_expr(r, e);
	return 0;
}

int
nft_x_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nft_x_new("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	}
	return nft_x_add(r, e);
}

int
nft_x_meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = nft_x_new("meta");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
		nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	}
	return nft_x_add(r, e);
}

int
nft_x_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data,
    uint32_t len)
{
	struct nftnl_expr *e = nft_x_new("cmp");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
		nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	}
	return nft_x_add(r, e);
}

int
nft_x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
    uint32_t dreg)
{
	struct nftnl_expr *e = nft_x_new("payload");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
		nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	}
	return nft_x_add(r, e);
}

int
nft_x_lookup(struct nftnl_rule *r, uint32_t sreg, const char *set, bool inv)
{
	struct nftnl_expr *e = nft_x_new("lookup");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
		if (inv)
			nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS,
			    NFT_LOOKUP_F_INV);
	}
	return nft_x_add(r, e);
}

int
nft_x_counter(struct nftnl_rule *r)
{
	return nft_x_add(r, nft_x_new("counter"));
}

int
nft_x_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nft_x_new("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT,
		    (uint32_t)verdict);
		if (chain != NULL)
			nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	}
	return nft_x_add(r, e);
}

int
nft_x_imm(struct nftnl_rule *r, uint32_t dreg, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_x_new("immediate");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
		nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
	}
	return nft_x_add(r, e);
}

int
nft_x_reject(struct nftnl_rule *r, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nft_x_new("reject");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
	}
	return nft_x_add(r, e);
}

/* `log group NFT_LOG_GROUP prefix PREFIX`: cordond's log events. */
int
nft_x_log(struct nftnl_rule *r, const char *prefix)
{
	struct nftnl_expr *e = nft_x_new("log");

	if (e != NULL) {
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, NFT_LOG_GROUP);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	}
	return nft_x_add(r, e);
}

int
nft_x_bitwise(struct nftnl_rule *r, uint32_t reg, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *bw = nft_x_new("bitwise");

	if (bw != NULL) {
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_SREG, reg);
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_DREG, reg);
		nftnl_expr_set_u32(bw, NFTNL_EXPR_BITWISE_LEN, 4);
		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &xor, 4);
	}
	return nft_x_add(r, bw);
}

/*
 * `ct state invalid counter`: the table's one conntrack expression.
 * Using conntrack makes the kernel reassemble fragments before our
 * prerouting chain (defrag runs at -400), so the classifier always sees
 * a whole datagram with its ports, which is stricter than cordon-dp's
 * rule for fragments it cannot tie to ports.
 */
int
nft_x_ct_invalid(struct nftnl_rule *r)
{
	struct nftnl_expr *ct = nft_x_new("ct");
	uint32_t zero = 0;

	if (ct == NULL)
		return -1;
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(ct, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	nftnl_rule_add_expr(r, ct);
	if (nft_x_bitwise(r, NFT_REG_1, NF_CT_STATE_INVALID_BIT, 0) < 0)
		return -1;
	return nft_x_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
}

/*
 * `ip option T exists` (OP NFT_EXTHDR_OP_IPV4) or `exthdr T exists`
 * (NFT_EXTHDR_OP_IPV6): one byte in DREG, 1 when the packet has one.
 */
int
nft_x_exthdr_present(struct nftnl_rule *r, uint32_t op, uint8_t type,
    uint32_t dreg)
{
	struct nftnl_expr *e = nft_x_new("exthdr");

	if (e != NULL) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, dreg);
		nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, type);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, 0);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, 1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS,
		    NFT_EXTHDR_F_PRESENT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, op);
	}
	return nft_x_add(r, e);
}

/* A comment, as nft(8) stores it: how counters find their rule. */
int
nft_x_comment(struct nftnl_rule *r, const char *text)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(256);

	if (u == NULL)
		return -1;
	if (!nftnl_udata_put_strz(u, 0 /* NFTNL_UDATA_RULE_COMMENT */, text)) {
		nftnl_udata_buf_free(u);
		return -1;
	}
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
	    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
	return 0;
}
