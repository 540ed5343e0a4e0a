/*
 * The nftables backend: the same compiled policy that cordon-dp enforces,
 * encoded into one private table ("inet cordon") and installed through
 * libnftnl + libmnl as one atomic batch per change, every message ACKed.
 * Counters are read back from the kernel into the fast path's struct
 * stats, so the CLI, SNMP and Prometheus read the same figures.
 * docs/nftables.md describes the ruleset.  Nothing here runs `nft`.
 */
#ifndef CORDON_NFT_H
#define CORDON_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "config/load/conf.h"
#include "core/geo/geo.h"
#include "core/policy/policy.h"
#include "core/stats/stats.h"

#define NFT_TABLE_DEFAULT "cordon"

enum nft_mode {
	NFT_MODE_ROUTER, /* forwarded traffic between conf ports */
	NFT_MODE_HOST,   /* input on one interface (host protection) */
};

struct nft_opts {
	enum nft_mode mode;
	const char *host_if;  /* NFT_MODE_HOST: the management interface */
	bool no_routes;       /* leave policy routing alone (tests, bench) */
	bool inject_bad_elem; /* tests: add an element the kernel refuses */
	bool stale_gen_once;  /* tests: first attempt with an old generation */
	bool full;            /* replace the whole table, never a delta */
};

/* What the last batch did, for logs and the benchmark. */
struct nft_info {
	size_t elems;     /* set elements sent */
	size_t msgs;      /* netlink messages in the batch */
	size_t bytes;     /* batch size */
	unsigned retries; /* generation conflicts retried */
	double build_ms, send_ms;
	/*
	 * DELTA: the batch changed the table in place (rules and small sets
	 * replaced, region sets by their changed ranges); else the whole
	 * table was replaced, FALLBACK when a delta was refused because the
	 * ruleset had changed under us.  DELS: elements deleted.
	 */
	bool delta, fallback;
	size_t dels;
};

struct nft_ctx;

/* Netlink sockets for table "inet NAME".  NULL with a message in ERR. */
struct nft_ctx *nft_open(const char *name, char *err, size_t errlen);
void nft_close(struct nft_ctx *x);

/*
 * Replaces the whole table with C's rules and G's regions in one batch
 * (and, in router mode, the policy routes of C's next hops first).  The
 * kernel applies all of it or nothing: on -1 ERR names the object it
 * refused and the previous ruleset is still in force.  When X knows what
 * the kernel holds (its last batch went through and nothing changed the
 * ruleset since), the batch is a delta instead: the rules and small sets
 * replaced, the region sets' changed ranges deleted and added, the same
 * result in one transaction (docs/nftables.md, "Deltas").  Counters of the
 * replaced table are kept in X, so nft_counters() stays monotonic.
 */
int nft_apply(struct nft_ctx *x, const struct conf *c,
    const struct geo_tables *g, const struct nft_opts *o, char *err,
    size_t errlen);
/*
 * The same with C's compiled policy P (pol_compile(C, NULL, ...)), which
 * alone says what the rules match; nft_apply() compiles it itself.
 */
int nft_apply_policy(struct nft_ctx *x, const struct conf *c,
    const struct policy *p, const struct geo_tables *g,
    const struct nft_opts *o, char *err, size_t errlen);
/*
 * 1 when the table is in the kernel, 0 when it is not (someone deleted
 * it: apply again), -1 with errno when the kernel cannot be asked.
 */
int nft_table_present(struct nft_ctx *x);
/* Deletes the table (if any).  0, or -1 with ERR. */
int nft_remove(struct nft_ctx *x, char *err, size_t errlen);
const struct nft_info *nft_last(const struct nft_ctx *x);

/*
 * Sums the kernel's counters of the applied table (plus those of tables
 * it replaced) into OUT, indexed like cordon-dp's: rule i, the default,
 * actions, reasons, ports.  0, or -1 with errno.
 */
int nft_counters(struct nft_ctx *x, struct stats *out);

/*
 * Identity sessions: SRC (4 or 16 bytes by AF) may reach destination
 * port PORT until TIMEOUT_S passes.  Sent as one small batch of its own;
 * kept in X and re-added (with the time left) when the table is
 * replaced.  0, or -1 with errno.
 */
int nft_session_add(struct nft_ctx *x, int af, const uint8_t *src,
    uint16_t port, unsigned timeout_s);
int nft_session_del(struct nft_ctx *x, int af, const uint8_t *src,
    uint16_t port);

/*
 * Log events: rules with `log = true` send their packets to nfnetlink_log
 * group NFT_LOG_GROUP with the prefix "cordon rN" (rule N), "cordon
 * default" or "cordon identity".  nft_log_read() drains what is queued
 * without blocking, calling FN for each packet (PKT: the IP header
 * onwards); it returns how many datagrams it read, or -1 with errno.
 */
#define NFT_LOG_GROUP 7411
struct nft_log_pkt {
	const char *prefix;
	const uint8_t *pkt;
	size_t len;
	uint32_t ifindex; /* arrived on; 0: unknown */
};
typedef void nft_log_fn(void *arg, const struct nft_log_pkt *p);
struct nft_log;
struct nft_log *nft_log_open(uint16_t group, char *err, size_t errlen);
void nft_log_close(struct nft_log *l);
int nft_log_fd(const struct nft_log *l);
int nft_log_read(struct nft_log *l, nft_log_fn *fn, void *arg);

/* Sets of the last apply, for the golden tests and `explain`. */
void nft_set_name(const struct conf *c, const struct conf_ccset *s, int af,
    char *out, size_t len);

#endif
