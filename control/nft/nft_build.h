/*
 * Private to the table compiler (nft_build.c, nft_sets.c, nft_rules.c).
 */
#ifndef CORDON_NFT_BUILD_H
#define CORDON_NFT_BUILD_H

#include "control/nft/nft_int.h"
#include "control/nft/nft_ir.h"

#define NFT_NAME_LEN 64
#define NFT_GEO_MAX  (2 * CONF_RULE_MAX)

/* Mark bits cordond owns: reroute to next hop N sets NFT_MARK_NH + N. */
#define NFT_MARK_MASK 0x0c0d0000u
#define NFT_MARK_NH   0x0c0d0001u

struct nft_bx {
	struct nft_batch *b;
	const char *table;
	/* Interfaces, region names, next hops' marks: the config's. */
	const struct conf *c;
	/* What the rules match: the compiled policy, as a rule list. */
	const struct nft_ir *ir;
	const struct geo_tables *g;
	const struct nft_opts *o;
	const struct nft_sess *sess;
	unsigned nsess;
	uint32_t setid;
	unsigned ngeo;
	char geo[NFT_GEO_MAX][NFT_NAME_LEN];
	/*
	 * OLD: what the kernel holds, the batch being a delta against it;
	 * NULL: the whole table.  REC: what the batch leaves there.
	 */
	const struct nft_rec *old;
	struct nft_rec *rec;
	char *err;
	size_t errlen;
};

struct nft_setdef {
	const char *name;
	uint32_t type, klen, flags;
	const uint8_t *concat;
	unsigned nconcat;
	uint32_t byteorder;
};

int nft_set_decl(struct nft_bx *x, const struct nft_setdef *d);
int nft_set_ifnames(struct nft_bx *x, const char *name, const char *const *ifs,
    unsigned n);
int nft_set_geo(struct nft_bx *x, const struct conf_ccset *s);
/* (l4proto . port) interval set NAME of the ranges L. */
int nft_set_ports(struct nft_bx *x, const char *name,
    const struct nft_ir_ports *l);
int nft_set_sessions(struct nft_bx *x);

/* nft_rules.c: the classify chain, one nft rule per rule and family,
 * from X->ir. */
int nft_rules_sets(struct nft_bx *x);
int nft_rules_classify(struct nft_bx *x);
int nft_rule_send(struct nft_bx *x, struct nftnl_rule *r, const char *chain,
    const char *what);
struct nftnl_rule *nft_rule_new(struct nft_bx *x, const char *chain);
int nft_rule_done(struct nft_bx *x, struct nftnl_rule *r, bool ok,
    const char *chain, const char *what);

#endif
