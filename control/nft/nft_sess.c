/*
 * Identity sessions: elements of sessions_v4 / sessions_v6 keyed by
 * (source address . destination port), each with its own timeout, so
 * the kernel closes the path by itself when a grant runs out.  Each
 * change is a small batch of its own; X keeps the list so that a table
 * replaced by a commit gets them back with the time they have left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/nft/nft_int.h"
#include "core/util/clock.h"

static int
nft_sess_find(const struct nft_ctx *x, int af, const uint8_t *src,
    uint16_t port)
{
	size_t alen = af == 4 ? 4 : 16;

	for (unsigned i = 0; i < x->nsess; i++)
		if (x->sess[i].af == af && x->sess[i].port == port &&
		    memcmp(x->sess[i].addr, src, alen) == 0)
			return (int)i;
	return -1;
}

/* Drops expired entries from the list (the kernel already has). */
static void
nft_sess_gc(struct nft_ctx *x)
{
	int64_t now = clk_mono_ms();
	unsigned n = 0;

	for (unsigned i = 0; i < x->nsess; i++)
		if (x->sess[i].expires_ms > now)
			x->sess[n++] = x->sess[i];
	x->nsess = n;
}

static int
nft_sess_send(struct nft_ctx *x, const struct nft_sess *s, uint16_t type,
    uint64_t timeout_ms)
{
	struct nft_batch b;
	struct nft_elems w;
	char err[256];
	int rc = -1;

	if (nft_batch_init(&b, x->seq) < 0)
		return -1;
	x->seq += 8;
	nft_elems_begin(&w, &b, x->table,
	    s->af == 4 ? "sessions_v4" : "sessions_v6", type);
	if (nft_sess_elem(&w, s, timeout_ms) < 0)
		goto out;
	nft_elems_end(&w);
	if (nft_batch_close(&b) < 0)
		goto out;
	rc = nft_batch_send(x->nl, &b, NULL, err, sizeof(err));
	if (rc == 0)
		nft_rec_follow(x, &b);
	else
		x->rec.valid = false;
out:
	nft_batch_free(&b);
	return rc;
}

int
nft_session_add(struct nft_ctx *x, int af, const uint8_t *src, uint16_t port,
    unsigned timeout_s)
{
	struct nft_sess s = { .af = (uint8_t)af, .port = port };
	int i;

	if ((af != 4 && af != 6) || timeout_s == 0) {
		errno = EINVAL;
		return -1;
	}
	if (x->sess == NULL &&
	    (x->sess = calloc(NFT_SESS_MAX, sizeof(*x->sess))) == NULL)
		return -1;
	memcpy(s.addr, src, af == 4 ? 4 : 16);
	s.expires_ms = clk_mono_ms() + (int64_t)timeout_s * 1000;
	/* A renewal replaces the element: delete it first, then add. */
	if ((i = nft_sess_find(x, af, src, port)) >= 0) {
		(void)nft_sess_send(x, &s, NFT_MSG_DELSETELEM, 0);
		x->sess[i] = x->sess[--x->nsess];
	}
	nft_sess_gc(x);
	if (x->nsess == NFT_SESS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if (nft_sess_send(x, &s, NFT_MSG_NEWSETELEM,
	        (uint64_t)timeout_s * 1000) < 0)
		return -1;
	x->sess[x->nsess++] = s;
	return 0;
}

int
nft_session_del(struct nft_ctx *x, int af, const uint8_t *src, uint16_t port)
{
	struct nft_sess s = { .af = (uint8_t)af, .port = port };
	int i = nft_sess_find(x, af, src, port);

	if (af != 4 && af != 6) {
		errno = EINVAL;
		return -1;
	}
	memcpy(s.addr, src, af == 4 ? 4 : 16);
	if (i >= 0)
		x->sess[i] = x->sess[--x->nsess];
	/* Already expired in the kernel: nothing left to delete. */
	if (nft_sess_send(x, &s, NFT_MSG_DELSETELEM, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}
