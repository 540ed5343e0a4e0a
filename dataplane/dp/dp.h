/*
 * The live fast path: DPDK ports in bump-in-the-wire pairs, worker lcores
 * polling their RX queue on every port, and the main lcore doing the
 * slow work (log drain, counter reports, signals).
 */
#ifndef CORDON_DP_H
#define CORDON_DP_H

#include <stdint.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "config/conf.h"
#include "dataplane/classify/cls.h"
#include "dataplane/stats/stats.h"

#define DP_WORKER_MAX	16
#define DP_BURST_MAX	256
#define DP_NO_PORT	0xffff
#define DP_LOG_RING	1024	/* log events per worker */

struct dp_port {
	uint16_t id;		/* DPDK port id */
	uint16_t peer;		/* local index of the paired port */
	uint8_t dir;		/* enum pol_dir of traffic arriving here */
	uint16_t nq;		/* queues configured (RX = TX) */
	const char *name;
};

/* A log event: what the main lcore needs to print one record. */
struct dp_event {
	struct pkt_meta m;
	struct cls_verdict v;
	uint16_t port;		/* local ingress index */
	uint16_t pad[3];
};

/*
 * Log events are rate-limited per worker (a token bucket on the TSC): a
 * flood of denied packets must not turn into a flood of log lines.
 */
#define DP_LOG_RATE	200	/* events per second per worker */
#define DP_LOG_BURST	400

struct dp_burst;

struct dp_worker {
	unsigned idx;		/* also its queue id on every port */
	unsigned lcore;
	struct dp_ctx *ctx;
	struct rte_ring *log;
	struct dp_burst *scratch;	/* per-burst arrays, this lcore's */
	uint64_t log_tokens;	/* in TSC ticks */
	uint64_t log_last;
	uint64_t log_tick;	/* TSC ticks per event */
	struct stats stats;
} __attribute__((aligned(64)));

/* Size of the per-worker scratch area (dp_worker.c owns its layout). */
size_t dp_burst_size(void);

struct dp_ctx {
	const struct conf *conf;
	const struct policy *pol;
	const struct geo_tables *geo;
	unsigned nports;
	struct dp_port port[STATS_PORT_MAX];
	uint16_t local[RTE_MAX_ETHPORTS];	/* DPDK id -> local index */
	unsigned nworkers;
	struct dp_worker *worker[DP_WORKER_MAX];
	struct rte_mempool *pool;
	unsigned burst;
	const char *stats_file;
	const char *fill_pcap;	/* --bench-fill: preload mbuf contents */
	int mbuf_cache;		/* per-lcore mempool cache, -1: default */
	volatile int quit;
};

/* dp_port.c: resolves, configures and starts every configured port. */
int dp_ports_init(struct dp_ctx *ctx);
void dp_ports_close(struct dp_ctx *ctx);

/* dp_worker.c: the per-lcore loop (rte_eal_remote_launch entry). */
int dp_worker_main(void *arg);

/*
 * dp_fill.c: writes the frames of a capture, in turn, into every mbuf of
 * the pool.  Virtual devices such as net_null hand out pool mbufs without
 * touching their data, so a benchmark then sees that traffic.
 */
int dp_pool_fill(struct rte_mempool *mp, const char *pcap_path);

/* dp_main.c: runs the live path until SIGINT/SIGTERM. */
int dp_run(struct dp_ctx *ctx);

#endif
