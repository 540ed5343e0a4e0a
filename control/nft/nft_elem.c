/*
 * Set elements, written straight into the batch with libmnl: the real
 * database's regions are hundreds of thousands of elements, and one
 * nftnl_set_elem object each would cost more than the elements
 * themselves.  A message holds what fits one nested attribute (64 KiB).
 */
#include <endian.h>
#include <string.h>

#include "control/nft/nft_int.h"

void
nft_elems_begin(struct nft_elems *w, struct nft_batch *b, const char *table,
    const char *set, uint16_t type)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->table = table;
	w->set = set;
	w->type = type;
}

static int
nft_elems_open(struct nft_elems *w)
{
	size_t first = w->first + w->n;

	w->nlh = nft_batch_msg(w->b, w->type, NLM_F_CREATE,
	    "set %s elements from #%zu", w->set, first);
	if (w->nlh == NULL)
		return -1;
	mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_TABLE, w->table);
	mnl_attr_put_strz(w->nlh, NFTA_SET_ELEM_LIST_SET, w->set);
	w->list = mnl_attr_nest_start(w->nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	w->first = first;
	w->n = 0;
	return 0;
}

void
nft_elems_end(struct nft_elems *w)
{
	if (w->nlh == NULL)
		return;
	mnl_attr_nest_end(w->nlh, w->list);
	nft_batch_put(w->b, w->nlh);
	w->nlh = NULL;
}

static void
nft_data_put(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, type);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(nlh, n);
}

int
nft_elems_add(struct nft_elems *w, const void *key, size_t klen,
    const void *kend, uint32_t flags, uint64_t timeout_ms)
{
	struct nlattr *e;

	if (w->nlh != NULL &&
	    (size_t)((char *)mnl_nlmsg_get_payload_tail(w->nlh) -
	             (char *)w->list) +
	            2 * klen + 64 >
	        NFT_ELEMS_MAX)
		nft_elems_end(w);
	if (w->nlh == NULL && nft_elems_open(w) < 0)
		return -1;
	e = mnl_attr_nest_start(w->nlh, NFTA_LIST_ELEM);
	nft_data_put(w->nlh, NFTA_SET_ELEM_KEY, key, klen);
	if (kend != NULL)
		nft_data_put(w->nlh, NFTA_SET_ELEM_KEY_END, kend, klen);
	if (flags)
		mnl_attr_put_u32(w->nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
	if (timeout_ms)
		mnl_attr_put_u64(w->nlh, NFTA_SET_ELEM_TIMEOUT,
		    htobe64(timeout_ms));
	mnl_attr_nest_end(w->nlh, e);
	w->n++;
	w->b->elems++;
	return 0;
}

/*
 * An interval set holds each range as its first address and, unless the
 * range runs to the top of the space, an end element one past its last.
 */
int
nft_iv4_elems(struct nft_elems *w, const struct nft_ivs *l)
{
	for (size_t i = 0; i < l->n4; i++) {
		uint32_t lo = htonl(l->v4[i].lo), end;

		if (nft_elems_add(w, &lo, 4, NULL, 0, 0) < 0)
			return -1;
		if (l->v4[i].hi == UINT32_MAX)
			continue;
		end = htonl(l->v4[i].hi + 1);
		if (nft_elems_add(w, &end, 4, NULL, NFT_SET_ELEM_INTERVAL_END,
		        0) < 0)
			return -1;
	}
	return 0;
}

int
nft_iv6_elems(struct nft_elems *w, const struct nft_ivs *l)
{
	uint8_t k[16];

	for (size_t i = 0; i < l->n6; i++) {
		nft_u128_bytes(l->v6[i].lo, k);
		if (nft_elems_add(w, k, 16, NULL, 0, 0) < 0)
			return -1;
		if (l->v6[i].hi == ~(nft_u128)0)
			continue;
		nft_u128_bytes(l->v6[i].hi + 1, k);
		if (nft_elems_add(w, k, 16, NULL, NFT_SET_ELEM_INTERVAL_END,
		        0) < 0)
			return -1;
	}
	return 0;
}

/* Two big-endian 64-bit halves: this runs once per trie entry walked. */
void
nft_u128_bytes(nft_u128 v, uint8_t out[16])
{
	uint64_t hi = htobe64((uint64_t)(v >> 64)), lo = htobe64((uint64_t)v);

	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

nft_u128
nft_bytes_u128(const uint8_t in[16])
{
	uint64_t hi, lo;

	memcpy(&hi, in, 8);
	memcpy(&lo, in + 8, 8);
	return (nft_u128)be64toh(hi) << 64 | be64toh(lo);
}
