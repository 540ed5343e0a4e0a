/*
 * The table's sets: interface sets for direction, interval sets per
 * country set and family, a concatenated (protocol . port) interval set
 * per rule that takes some ports only, and the identity sessions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <net/if.h>

#include "control/nft/nft_build.h"
#include "core/util/clock.h"

/* nft(8)'s datatype numbers, so that `nft list` shows the right types. */
#define NFT_TYPE_IPV4      7
#define NFT_TYPE_IPV6      8
#define NFT_TYPE_PROTO     12
#define NFT_TYPE_PORT      13
#define NFT_TYPE_IFNAME    41
#define NFT_CONCAT(a, b)   ((a) << 6 | (b))
#define NFT_BYTEORDER_HOST 1
#define NFT_BYTEORDER_BIG  2

static void
nft_set_udata(struct nftnl_set *s, uint32_t byteorder)
{
	struct nftnl_udata_buf *u = nftnl_udata_buf_alloc(64);

	if (u == NULL)
		return;
	nftnl_udata_put_u32(u, NFTNL_UDATA_SET_KEYBYTEORDER, byteorder);
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(u),
	    nftnl_udata_buf_len(u));
	nftnl_udata_buf_free(u);
}

int
nft_set_decl(struct nft_bx *x, const struct nft_setdef *d)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (s == NULL)
		return -1;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, x->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, d->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, d->type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, d->klen);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, d->flags);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++x->setid);
	if (d->nconcat)
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, d->concat,
		    d->nconcat);
	nft_set_udata(s, d->byteorder);
	nlh = nft_batch_msg(x->b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL,
	    "set %s", d->name);
	if (nlh == NULL) {
		nftnl_set_free(s);
		return -1;
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nft_batch_put(x->b, nlh);
	nftnl_set_free(s);
	return x->rec != NULL ? nft_rec_add_set(x->rec, d->name) : 0;
}

/* A set of interface names, for iifname lookups. */
int
nft_set_ifnames(struct nft_bx *x, const char *name, const char *const *ifs,
    unsigned n)
{
	struct nft_setdef d = { .name = name,
		.type = NFT_TYPE_IFNAME,
		.klen = IFNAMSIZ,
		.byteorder = NFT_BYTEORDER_HOST };
	struct nft_elems w;

	if (nft_set_decl(x, &d) < 0)
		return -1;
	nft_elems_begin(&w, x->b, x->table, name, NFT_MSG_NEWSETELEM);
	for (unsigned i = 0; i < n; i++) {
		char k[IFNAMSIZ] = { 0 };

		snprintf(k, sizeof(k), "%s", ifs[i]);
		if (nft_elems_add(&w, k, IFNAMSIZ, NULL, 0, 0) < 0)
			return -1;
	}
	nft_elems_end(&w);
	return 0;
}

static const char *
nft_cc_word(geo_cc_t cc, char buf[GEO_CC_STRLEN])
{
	if (cc == GEO_CC_UNKNOWN)
		return "unknown";
	geo_cc_format(cc, buf);
	return buf;
}

/* Is WORDS ("CN_RU") the name of one of C's regions? */
static bool
nft_region_named(const struct conf *c, const char *words)
{
	for (unsigned i = 0; i < c->nregions; i++)
		if (strcmp(c->regions[i].name, words) == 0)
			return true;
	return false;
}

/*
 * A region's own name when S is exactly a region, else the countries
 * (a hash of them when there are many, or when the countries spell a
 * region's name: a set is declared once per name, so region CN_RU's
 * set must not stand in for {CN, RU}): names stay stable across
 * commits, which keeps `nft list` and the golden files readable.
 */
void
nft_set_name(const struct conf *c, const struct conf_ccset *s, int af,
    char *out, size_t len)
{
	char cc[GEO_CC_STRLEN], buf[64] = "";
	unsigned n = 0;
	uint64_t h = 1469598103934665603ULL;

	for (unsigned i = 0; i < c->nregions; i++)
		if (memcmp(&c->regions[i].cc, s, sizeof(*s)) == 0) {
			snprintf(out, len, "geo_%s_v%d", c->regions[i].name,
			    af);
			return;
		}
	for (geo_cc_t i = 0; i < GEO_CC_MAX; i++) {
		if (!conf_ccset_has(s, i))
			continue;
		h = (h ^ i) * 1099511628211ULL;
		if (++n <= 4)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%s%s", n > 1 ? "_" : "", nft_cc_word(i, cc));
	}
	/* Relay classes: "cls-tor", after the countries. */
	for (unsigned k = 0; k < c->nclasses; k++) {
		if (!((s->cls >> k) & 1))
			continue;
		h = (h ^ (GEO_CC_MAX + k)) * 1099511628211ULL;
		if (++n <= 4)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%scls-%s", n > 1 ? "_" : "", c->classes[k].name);
	}
	/* A name cut short could name two sets: the hash then. */
	if (n <= 4 && strlen(buf) < sizeof(buf) - 8 &&
	    !nft_region_named(c, buf))
		snprintf(out, len, "geo_%s_v%d", buf, af);
	else
		snprintf(out, len, "geo_%016llx_v%d", (unsigned long long)h,
		    af);
}

static bool
nft_set_seen(struct nft_bx *x, const char *name)
{
	for (unsigned i = 0; i < x->ngeo; i++)
		if (strcmp(x->geo[i], name) == 0)
			return true;
	if (x->ngeo < NFT_GEO_MAX)
		snprintf(x->geo[x->ngeo++], sizeof(x->geo[0]), "%s", name);
	return false;
}

/*
 * The ranges of S in X's tables: the record's when they come from the
 * same tables (a commit that changes a rule, not the regions), else
 * walked afresh.
 */
static int
nft_geo_ranges(struct nft_bx *x, const struct conf_ccset *s, const char *n4,
    struct nft_ivs *l)
{
	const struct nft_rec_geo *e =
	    x->old != NULL ? nft_rec_geo_find(x->old, n4) : NULL;

	if (e != NULL && memcmp(&e->s, s, sizeof(*s)) == 0 &&
	    nft_rec_same_geo(x->old, x->g))
		return nft_ivs_copy(&e->l, l);
	return nft_iv_export(x->g, s, l);
}

/* L's ranges as elements of N4 and N6, added or (TYPE) deleted. */
static int
nft_geo_elems(struct nft_bx *x, const char *n4, const char *n6,
    const struct nft_ivs *l, uint16_t type)
{
	struct nft_elems w;
	size_t e0 = x->b->elems;

	nft_elems_begin(&w, x->b, x->table, n4, type);
	if (nft_iv4_elems(&w, l) < 0)
		return -1;
	nft_elems_end(&w);
	nft_elems_begin(&w, x->b, x->table, n6, type);
	if (nft_iv6_elems(&w, l) < 0)
		return -1;
	nft_elems_end(&w);
	if (type == NFT_MSG_DELSETELEM)
		x->b->dels += x->b->elems - e0;
	return 0;
}

/*
 * The kernel's sets hold OLD: delete the ranges that are not in NEW,
 * then add those that were not in OLD.  Both lists are merged the same
 * way, so the sets end up holding exactly NEW's elements, as a whole
 * replacement would have written them.
 */
static int
nft_geo_delta(struct nft_bx *x, const char *n4, const char *n6,
    const struct nft_ivs *old, const struct nft_ivs *new)
{
	struct nft_ivs del, add;
	int rc = -1;

	if (nft_ivs_minus(old, new, &del) < 0)
		return -1;
	if (nft_ivs_minus(new, old, &add) == 0) {
		rc = nft_geo_elems(x, n4, n6, &del, NFT_MSG_DELSETELEM) < 0 ||
		             nft_geo_elems(x, n4, n6, &add,
		                 NFT_MSG_NEWSETELEM) < 0
		         ? -1
		         : 0;
		nft_ivs_free(&add);
	}
	nft_ivs_free(&del);
	return rc;
}

/* The two interval sets of S (once per distinct set of countries). */
int
nft_set_geo(struct nft_bx *x, const struct conf_ccset *s)
{
	struct nft_setdef d4 = { .type = NFT_TYPE_IPV4,
		.klen = 4,
		.flags = NFT_SET_INTERVAL,
		.byteorder = NFT_BYTEORDER_BIG };
	struct nft_setdef d6 = { .type = NFT_TYPE_IPV6,
		.klen = 16,
		.flags = NFT_SET_INTERVAL,
		.byteorder = NFT_BYTEORDER_BIG };
	char n4[NFT_NAME_LEN], n6[NFT_NAME_LEN];
	const struct nft_rec_geo *was;
	struct nft_ivs l;
	int rc = -1;

	nft_set_name(x->c, s, 4, n4, sizeof(n4));
	nft_set_name(x->c, s, 6, n6, sizeof(n6));
	if (nft_set_seen(x, n4))
		return 0;
	d4.name = n4;
	d6.name = n6;
	was = x->old != NULL ? nft_rec_geo_find(x->old, n4) : NULL;
	if (nft_geo_ranges(x, s, n4, &l) < 0)
		return -1;
	if (was != NULL)
		rc = nft_geo_delta(x, n4, n6, &was->l, &l);
	else if (nft_set_decl(x, &d4) == 0 && nft_set_decl(x, &d6) == 0)
		rc = nft_geo_elems(x, n4, n6, &l, NFT_MSG_NEWSETELEM);
	if (rc == 0 && x->rec != NULL &&
	    ((was != NULL && (nft_rec_add_set(x->rec, n4) < 0 ||
	                         nft_rec_add_set(x->rec, n6) < 0)) ||
	        nft_rec_add_geo(x->rec, n4, n6, s, &l) < 0))
		rc = -1;
	nft_ivs_free(&l);
	return rc;
}

/*
 * A (protocol . port) interval set NAME of the ranges L: what "meta
 * l4proto . th dport" (or th sport) is looked up in.
 */
int
nft_set_ports(struct nft_bx *x, const char *name, const struct nft_ir_ports *l)
{
	static const uint8_t concat[2] = { 1, 2 };
	static const uint8_t num[2] = { 6, 17 }; /* TCP, UDP */
	struct nft_setdef d = { .name = name,
		.type = NFT_CONCAT(NFT_TYPE_PROTO, NFT_TYPE_PORT),
		.klen = 8,
		.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT,
		.concat = concat,
		.nconcat = 2,
		.byteorder = NFT_BYTEORDER_BIG };
	struct nft_elems w;

	if (nft_set_decl(x, &d) < 0)
		return -1;
	nft_elems_begin(&w, x->b, x->table, name, NFT_MSG_NEWSETELEM);
	for (unsigned i = 0; i < l->n; i++) {
		const struct nft_ir_range *r = &l->v[i];
		uint8_t k[8] = { num[r->l4] }, e[8] = { num[r->l4] };

		k[4] = (uint8_t)(r->lo >> 8);
		k[5] = (uint8_t)r->lo;
		e[4] = (uint8_t)(r->hi >> 8);
		e[5] = (uint8_t)r->hi;
		if (nft_elems_add(&w, k, 8, e, 0, 0) < 0)
			return -1;
	}
	nft_elems_end(&w);
	return 0;
}

/* Identity sessions: (source . destination port), with timeouts. */
int
nft_set_sessions(struct nft_bx *x)
{
	static const uint8_t c4[2] = { 4, 2 }, c6[2] = { 16, 2 };
	struct nft_setdef d4 = { .name = "sessions_v4",
		.type = NFT_CONCAT(NFT_TYPE_IPV4, NFT_TYPE_PORT),
		.klen = 8,
		.flags = NFT_SET_TIMEOUT | NFT_SET_CONCAT,
		.concat = c4,
		.nconcat = 2,
		.byteorder = NFT_BYTEORDER_BIG };
	struct nft_setdef d6 = { .name = "sessions_v6",
		.type = NFT_CONCAT(NFT_TYPE_IPV6, NFT_TYPE_PORT),
		.klen = 20,
		.flags = NFT_SET_TIMEOUT | NFT_SET_CONCAT,
		.concat = c6,
		.nconcat = 2,
		.byteorder = NFT_BYTEORDER_BIG };
	int64_t now = clk_mono_ms();
	struct nft_elems w;

	/* A delta leaves the sessions, with their timeouts, as they are. */
	if (x->old != NULL)
		return nft_rec_add_set(x->rec, d4.name) < 0 ||
		               nft_rec_add_set(x->rec, d6.name) < 0
		           ? -1
		           : 0;
	if (nft_set_decl(x, &d4) < 0 || nft_set_decl(x, &d6) < 0)
		return -1;
	for (int af = 4; af <= 6; af += 2) {
		nft_elems_begin(&w, x->b, x->table, af == 4 ? d4.name : d6.name,
		    NFT_MSG_NEWSETELEM);
		for (unsigned i = 0; i < x->nsess; i++)
			if (x->sess[i].af == af &&
			    x->sess[i].expires_ms > now + 1000 &&
			    nft_sess_elem(&w, &x->sess[i],
			        (uint64_t)(x->sess[i].expires_ms - now)) < 0)
				return -1;
		nft_elems_end(&w);
	}
	return 0;
}

int
nft_sess_elem(struct nft_elems *w, const struct nft_sess *s,
    uint64_t timeout_ms)
{
	uint8_t k[20] = { 0 };
	size_t alen = s->af == 4 ? 4 : 16;

	memcpy(k, s->addr, alen);
	k[alen] = (uint8_t)(s->port >> 8);
	k[alen + 1] = (uint8_t)s->port;
	return nft_elems_add(w, k, alen + 4, NULL, 0, timeout_ms);
}
