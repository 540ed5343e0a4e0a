/*
 * Private to control/nft: the batch buffer, the element writer, the
 * expression helpers, interval export and policy routing.
 */
#ifndef CORDON_NFT_INT_H
#define CORDON_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <arpa/inet.h>

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "control/nft/nft.h"
#include "core/util/clock.h"

#define NFT_WHAT_MAX 96
/* Largest message a builder may write: a nested attribute tops at 64k. */
#define NFT_MSG_ROOM  (72u * 1024)
#define NFT_ELEMS_MAX (60u * 1024) /* bytes of elements per message */
#define NFT_RETRY_MAX 5
#define NFT_SESS_MAX  65536

/* One transaction being built: BATCH_BEGIN, messages, BATCH_END. */
struct nft_batch {
	char *buf;
	size_t len, cap;
	uint32_t seq0;              /* BATCH_BEGIN's sequence number */
	uint32_t nmsg;              /* messages after BATCH_BEGIN */
	size_t genid_off;           /* where BATCH_BEGIN's generation id goes */
	bool stale_gen_once;        /* tests: send one attempt with gen - 1 */
	char (*what)[NFT_WHAT_MAX]; /* what message seq0 + 1 + i makes */
	size_t what_cap;
	size_t elems;
	size_t dels; /* of ELEMS, deleted */
	/*
	 * PIN_GEN: send against generation PIN (a delta batch, valid only
	 * on the ruleset we last wrote): once, no retry; the kernel answers
	 * ERESTART when anything changed since.  GEN: the one sent.
	 */
	bool pin_gen;
	uint32_t pin, gen;
};

int nft_batch_init(struct nft_batch *b, uint32_t seq0);
void nft_batch_free(struct nft_batch *b);
/*
 * Starts a message of TYPE (NFT_MSG_*) for the inet family with flags
 * FLAGS | NLM_F_REQUEST | NLM_F_ACK, recording what it makes for error
 * reports.  NFT_MSG_ROOM bytes are free behind it.  NULL: ENOMEM.
 */
struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type,
    uint16_t flags, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Accounts the message NLH, which the caller has finished. */
void nft_batch_put(struct nft_batch *b, struct nlmsghdr *nlh);
/* Closes the batch: BATCH_END.  0 or -1 (ENOMEM). */
int nft_batch_close(struct nft_batch *b);

/* The nfnetlink socket with large buffers, extended ACKs. */
struct mnl_socket *nft_sock_open(char *err, size_t errlen);
/*
 * Sends B as one transaction against the current generation and reads
 * every ACK.  A generation conflict (ERESTART) or EBUSY is retried up to
 * NFT_RETRY_MAX times.  0, or -1 with "what: error" in ERR.
 */
int nft_batch_send(struct mnl_socket *nl, struct nft_batch *b,
    unsigned *retries, char *err, size_t errlen);
/* A request outside a batch (dumps): CB for each reply.  0 or -1. */
int nft_sock_talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
    void *arg);

/* Writes set elements into as many NEWSETELEM messages as they need. */
struct nft_elems {
	struct nft_batch *b;
	const char *table, *set;
	uint16_t type; /* NFT_MSG_NEWSETELEM or DELSETELEM */
	struct nlmsghdr *nlh;
	struct nlattr *list;
	size_t first, n; /* element numbers of this message */
};

void nft_elems_begin(struct nft_elems *w, struct nft_batch *b,
    const char *table, const char *set, uint16_t type);
/*
 * One element: KEY (and KEY_END for a concatenated interval), FLAGS
 * (NFT_SET_ELEM_INTERVAL_END), TIMEOUT_MS (0: none).  0 or -1 ENOMEM.
 */
int nft_elems_add(struct nft_elems *w, const void *key, size_t klen,
    const void *kend, uint32_t flags, uint64_t timeout_ms);
void nft_elems_end(struct nft_elems *w);

/* Interval lists: closed ranges, ascending, merged. */
struct nft_iv4 {
	uint32_t lo, hi;
};
typedef unsigned __int128 nft_u128;
struct nft_iv6 {
	nft_u128 lo, hi;
};
struct nft_ivs {
	struct nft_iv4 *v4;
	size_t n4, cap4;
	struct nft_iv6 *v6;
	size_t n6, cap6;
};

/*
 * Appends LO..HI, which must not start below the last range's start,
 * merging with it when they overlap or touch.  0 or -1 (ENOMEM).
 */
int nft_iv4_add(struct nft_ivs *l, uint32_t lo, uint32_t hi);
int nft_iv6_add(struct nft_ivs *l, nft_u128 lo, nft_u128 hi);
void nft_ivs_free(struct nft_ivs *l);
/*
 * The addresses of G whose country is in S, per family, as merged
 * ranges.  IPv6 aliases of the IPv4 table (::/96, ::ffff:0:0/96,
 * 2002::/16, 64:ff9b::/96) carry the IPv4 ranges; an alias with free
 * bits before its IPv4 field (Teredo) is left out.  0 or -1 ENOMEM.
 */
int nft_iv_export(const struct geo_tables *g, const struct conf_ccset *s,
    struct nft_ivs *out);
/* Interval set elements (start, end + 1 flagged) for L into W. */
int nft_iv4_elems(struct nft_elems *w, const struct nft_ivs *l);
int nft_iv6_elems(struct nft_elems *w, const struct nft_ivs *l);
void nft_u128_bytes(nft_u128 v, uint8_t out[16]);
nft_u128 nft_bytes_u128(const uint8_t in[16]);

/* Expression helpers: each appends to R; -1 on ENOMEM. */
int nft_x_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg);
int nft_x_meta_set(struct nftnl_rule *r, uint32_t key, uint32_t sreg);
int nft_x_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op,
    const void *data, uint32_t len);
int nft_x_payload(struct nftnl_rule *r, uint32_t base, uint32_t off,
    uint32_t len, uint32_t dreg);
int nft_x_lookup(struct nftnl_rule *r, uint32_t sreg, const char *set,
    bool inv);
int nft_x_counter(struct nftnl_rule *r);
int nft_x_verdict(struct nftnl_rule *r, int verdict, const char *chain);
int nft_x_imm(struct nftnl_rule *r, uint32_t dreg, const void *data,
    uint32_t len);
int nft_x_reject(struct nftnl_rule *r, uint32_t type, uint8_t code);
int nft_x_ct_invalid(struct nftnl_rule *r);
int nft_x_exthdr_present(struct nftnl_rule *r, uint32_t op, uint8_t type,
    uint32_t dreg);
/* REG = (REG & MASK) ^ XOR, 4 bytes (MASK, XOR in register order). */
int nft_x_bitwise(struct nftnl_rule *r, uint32_t reg, uint32_t mask,
    uint32_t xor);
int nft_x_comment(struct nftnl_rule *r, const char *text);
int nft_x_log(struct nftnl_rule *r, const char *prefix);
/* WANT: a `log` with PREFIX; else nothing.  0 or -1. */
static inline int
nft_x_log_if(struct nftnl_rule *r, bool want, const char *prefix)
{
	return want ? nft_x_log(r, prefix) : 0;
}

/* Policy routing for reroute: fwmark -> table -> default via next hop. */
int nft_route_apply(const struct conf *c, char *err, size_t errlen);
uint32_t nft_nh_mark(const struct conf *c, unsigned nh);
unsigned nft_nh_table(const struct conf *c, unsigned nh);

/*
 * Builds the whole table into B: the rules from P (C's compiled policy),
 * the interfaces, region names and next hops from C.
 */
struct nft_sess;
int nft_build(struct nft_batch *b, const char *table, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, const struct nft_sess *s, unsigned ns, char *err,
    size_t errlen);
/*
 * The same as one delta against OLD (NULL: the whole table), recording
 * what the batch leaves in the kernel into REC (may be NULL without OLD).
 */
struct nft_rec;
int nft_build_rec(struct nft_batch *b, const char *table, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, const struct nft_sess *s, unsigned ns,
    const struct nft_rec *old, struct nft_rec *rec, char *err, size_t errlen);

/*
 * What the kernel holds of our table, as we last wrote it (nft_rec.c):
 * the region sets with their ranges and the other sets' names.  Valid
 * only while the ruleset's generation is still the one our last batch
 * made (GEN): a delta batch is sent against it, so a table someone else
 * touched (`nft flush ruleset`, another process) is refused with
 * ERESTART and replaced whole.
 */
struct nft_rec_geo {
	char n4[64], n6[64];
	struct conf_ccset s;
	struct nft_ivs l;
};

struct nft_rec {
	bool valid;
	uint32_t gen;
	enum nft_mode mode;
	/* The tables the ranges came from: geo_tables_serial(), 0 none. */
	uint64_t gserial;
	struct nft_rec_geo *geo;
	unsigned ngeo, capgeo;
	char (*sets)[64]; /* every set declared, region sets included */
	unsigned nsets, capsets;
};

void nft_rec_free(struct nft_rec *r);
/* A region set's record by its IPv4 set's name, or NULL. */
const struct nft_rec_geo *nft_rec_geo_find(const struct nft_rec *r,
    const char *n4);
bool nft_rec_has_set(const struct nft_rec *r, const char *name);
/* Appends; 0 or -1 ENOMEM (L is moved into R on success). */
int nft_rec_add_geo(struct nft_rec *r, const char *n4, const char *n6,
    const struct conf_ccset *s, struct nft_ivs *l);
int nft_rec_add_set(struct nft_rec *r, const char *name);
/* Are G the tables R's ranges were exported from? */
bool nft_rec_same_geo(const struct nft_rec *r, const struct geo_tables *g);
void nft_rec_set_geo(struct nft_rec *r, const struct geo_tables *g);
/* A deep copy of L into OUT.  0 or -1 ENOMEM. */
int nft_ivs_copy(const struct nft_ivs *l, struct nft_ivs *out);
/* The ranges of A that are not, exactly, ranges of B.  0 or -1. */
int nft_ivs_minus(const struct nft_ivs *a, const struct nft_ivs *b,
    struct nft_ivs *out);

/* One identity session as cordond asked for it. */
struct nft_sess {
	uint8_t af;
	uint8_t addr[16];
	uint16_t port;
	int64_t expires_ms; /* CLOCK_MONOTONIC */
};
int nft_sess_elem(struct nft_elems *w, const struct nft_sess *s,
    uint64_t timeout_ms);

struct nft_ctx {
	char table[64];
	struct mnl_socket *nl;
	uint32_t seq;
	bool applied;
	struct nft_info info;
	struct stats *retired; /* counters of tables replaced */
	struct stats *scratch;
	struct nft_sess *sess;
	unsigned nsess;
	unsigned nrules;                /* config rules of the applied table */
	int actions[CONF_RULE_MAX + 1]; /* per rule, [nrules]: default */
	int ident_action;               /* flows without a session */
	unsigned nports;
	char ports[CONF_PORT_MAX][16]; /* interface of each conf port */
	struct nft_rec rec;            /* what the kernel holds */
};

/* After batch B of ours went through: still know the ruleset? */
void nft_rec_follow(struct nft_ctx *x, const struct nft_batch *b);

/* Counters of the table now in the kernel only (not the retired ones). */
int nft_counters_table(struct nft_ctx *x, struct stats *out);

#endif
