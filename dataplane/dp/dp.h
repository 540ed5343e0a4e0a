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
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "core/classify/cls.h"
#include "core/evid/evid_pcap.h"
#include "core/frag/frag.h"
#include "core/prx/prx_flow.h"
#include "wire/dpc_proto.h"
#include "core/stats/stats.h"
#include "core/top/top.h"

#define DP_WORKER_MAX   16
#define DP_BURST_MAX    256
#define DP_NO_PORT      0xffff
#define DP_LOG_RING     1024 /* log events per worker */
#define DP_KNOCK_RING   64   /* knocks per worker, waiting for the main lcore */
#define DP_KNOCK_RATE   500  /* knocks per second per worker, at most */
#define DP_KNOCK_SRC    1024 /* per-source buckets per worker */
#define DP_KNOCK_SRC_HZ 10   /* knocks per second one source bucket passes */

/*
 * What the fast path takes from the configuration: main.c fills it from
 * the loaded config, so nothing here depends on the config layer.
 */
#define DP_NAME_MAX   32
#define DP_DEVICE_MAX 128
struct dp_port_conf {
	char name[DP_NAME_MAX];
	char device[DP_DEVICE_MAX]; /* DPDK device name */
	int peer;                   /* index of the paired port, or -1 */
	uint8_t dir;                /* enum pol_dir of traffic arriving here */
};

struct dp_conf {
	unsigned workers;         /* worker lcores; 0: all but main */
	unsigned burst;           /* 0: 32 */
	unsigned mbufs;           /* pool size; 0: 16384 */
	unsigned frag_entries;    /* fragment table per worker; 0: default */
	unsigned frag_timeout_ms; /* 0: default */
	unsigned top_window;      /* seconds (core/top); 0: TOP_WINDOW */
	/* The flow table of proxied services (core/prx), per worker;
	 * 0: the defaults. */
	unsigned prx_flows, prx_buffers, prx_window, prx_idle_s;
	unsigned nports;
	struct dp_port_conf port[STATS_PORT_MAX];
	/* Evidence (dp_evid.h): per worker, then the files. */
	unsigned evid_packets, evid_snaplen, evid_flows, evid_idle_s;
	struct evid_conf evid_files;
};

struct dp_port {
	uint16_t id;   /* DPDK port id */
	uint16_t peer; /* local index of the paired port */
	uint8_t dir;   /* enum pol_dir of traffic arriving here */
	uint16_t nq;   /* queues configured (RX = TX) */
	const char *name;
};

/* A log event: what the main lcore needs to print one record. */
struct dp_event {
	struct pkt_meta m;
	struct cls_verdict v;
	uint16_t port; /* local ingress index */
	uint16_t pad[3];
};

/* A knock datagram's UDP payload, copied out of its mbuf. */
struct dp_knock {
	uint8_t src[16]; /* IPv4: first 4 bytes, network order */
	uint8_t af;
	uint8_t port; /* local ingress index */
	uint16_t len;
	uint16_t sport;
	uint16_t pad;
	uint8_t data[DPC_KNOCK_MAX];
};

/*
 * Log events are rate-limited per worker (a token bucket on the TSC): a
 * flood of denied packets must not turn into a flood of log lines.
 */
#define DP_LOG_RATE  200 /* events per second per worker */
#define DP_LOG_BURST 400

struct dp_burst;

struct dp_worker {
	unsigned idx; /* also its queue id on every port */
	unsigned lcore;
	struct dp_ctx *ctx;
	struct rte_ring *log;
	struct dp_burst *scratch; /* per-burst arrays, this lcore's */
	uint64_t log_tokens;      /* in TSC ticks */
	uint64_t log_last;
	uint64_t log_tick;      /* TSC ticks per event */
	struct rte_ring *knock; /* struct dp_knock, to the main lcore */
	uint64_t knock_tokens;  /* token bucket, as for the log */
	uint64_t knock_last;
	uint64_t knock_tick;
	/*
	 * Per source (IPv6: per /64), hashed with a seed of the worker's:
	 * when each bucket may pass its next knock, so one flooding source
	 * cannot take the whole worker's knock rate.
	 */
	uint64_t knock_seed;
	uint64_t knock_src_next[DP_KNOCK_SRC];
	struct stats *stats;    /* its element of dp_ctx.stats */
	struct top_sketch *top; /* denied sources, after the counters */
	/*
	 * Its fragments (core/frag), on the TSC, and the generation of the
	 * state their verdicts were decided under: a new state empties the
	 * table.  Not its address: a new state can be allocated where a
	 * freed one lay, and would inherit its verdicts.
	 */
	struct frag_table *frag;
	uint64_t frag_gen;
	/* Its proxied flows (core/prx), on the TSC; kept across states:
	 * each packet of a decided flow is judged under the current one. */
	struct prx_flow_table *prx;
	/* Evidence copies (dp_evid.h) and the flows they were of. */
	struct rte_ring *evid;
	struct evid_table *evid_flows;
} __attribute__((aligned(64)));

/* Size of the per-worker scratch area (dp_worker.c owns its layout). */
size_t dp_burst_size(void);

#define DP_HASH_LEN 32 /* SHA-256 */

/* Geo tables shared by the states that use them (main lcore only). */
struct dp_geo {
	struct geo_tables *t;
	void *map; /* imported blob, or NULL: T owns its arrays */
	size_t len;
	unsigned refs;
};

/* A session table mapping shared by the states that use it. */
struct dp_sess {
	struct sess_table *t;
	unsigned refs;
};

/*
 * What the workers enforce: built aside, published with one atomic
 * pointer store, freed after an RCU grace period.  Never changed once
 * published.
 */
struct dp_state {
	const struct policy *pol; /* nexthop ports are DPDK port ids */
	const struct geo_tables *geo;
	uint64_t revision;                /* 0: cordon-dp's own config */
	uint8_t policy_hash[DP_HASH_LEN]; /* of the policy as received */
	uint8_t geo_hash[DP_HASH_LEN];    /* the sender's; zero for rev 0 */
	uint64_t activated_unix_ns;
	uint64_t gen; /* publish order, from 1: no two states share one */
	struct policy *pol_own; /* our copy (ports remapped) */
	struct dp_geo *geo_ref;
	const struct sess_table *sess; /* NULL: no sessions yet */
	struct dp_sess *sess_ref;
};

struct dp_ctx {
	const struct dp_conf *conf;
	struct dp_state *state;   /* workers: __atomic load, acquire */
	struct rte_rcu_qsbr *qsv; /* one thread id per worker */
	/* nworkers elements, memfd-backed, then as many sketches */
	struct stats *stats;
	int stats_fd; /* the memfd, sealed read-only */
	size_t stats_len;
	const char *control; /* --control socket path */
	uint64_t started_unix_ns;
	unsigned nports;
	struct dp_port port[STATS_PORT_MAX];
	uint16_t local[RTE_MAX_ETHPORTS]; /* DPDK id -> local index */
	unsigned nworkers;
	struct dp_worker *worker[DP_WORKER_MAX];
	struct rte_mempool *pool;
	unsigned burst;
	const char *stats_file;
	/* The sandbox writes the stats file as STATS_NAME in folder
	 * STATS_DFD, the evidence in EVID_DFD (-1: by path). */
	int stats_dfd, evid_dfd;
	const char *stats_name;
	int landlock_abi;      /* 0: the sandbox runs without Landlock */
	const char *fill_pcap; /* --bench-fill: preload mbuf contents */
	int mbuf_cache;        /* per-lcore mempool cache, -1: default */
	int no_sandbox;        /* --no-sandbox: keep caps, no seccomp */
	volatile int quit;
	/* CLOCK_BOOTTIME seconds, written by the main lcore every tick: the
	 * workers' clock for session expiry (no system call on their side).
	 * cordond writes expiries in the same system-wide clock, so a
	 * wall-clock step moves neither. */
	volatile int64_t now_boot;
	struct dp_evid *evid; /* the main lcore's writer (dp_evid.c) */
	struct dp_slog *slog; /* syslog fallback (dp_slog.c), or NULL */
};

/* dp_port.c: resolves, configures and starts every configured port. */
int dp_ports_init(struct dp_ctx *ctx);
void dp_ports_close(struct dp_ctx *ctx);

/* dp_main.c: EV as the channel carries it, drained at NOW (unix ns). */
void dp_event_wire(const struct dp_event *ev, uint64_t now,
    struct dpc_wire_event *w);

/* dp_worker.c: the per-lcore loop (rte_eal_remote_launch entry). */
int dp_worker_main(void *arg);

/*
 * dp_fill.c: writes the frames of a capture, in turn, into every mbuf of
 * the pool.  Virtual devices such as net_null hand out pool mbufs without
 * touching their data, so a benchmark then sees that traffic.
 */
int dp_pool_fill(struct rte_mempool *mp, const char *pcap_path);

/*
 * dp_main.c: runs the live path until SIGINT/SIGTERM, enforcing POL
 * (compiled with config port indexes: pol_compile(c, NULL, ...)) and GEO
 * (taken over: freed when replaced or at exit).
 */
int dp_run(struct dp_ctx *ctx, const struct policy *pol,
    struct geo_tables *geo);

/*
 * dp_state.c.  dp_state_create() checks SRC (as received: next-hop ports
 * are config port indexes), copies it with the ports remapped to DPDK
 * ids, hashes it, and takes a reference on GEO.  NULL with a message.
 */
struct dp_state *dp_state_create(const struct dp_ctx *ctx,
    const struct policy *src, struct dp_geo *geo, struct dp_sess *sess,
    uint64_t revision, const uint8_t geo_hash[DP_HASH_LEN], char *err,
    size_t errlen);
/* Publishes NEW, waits for every worker to pass, frees the old state. */
void dp_state_publish(struct dp_ctx *ctx, struct dp_state *st);
/* Frees a state no worker can see (and drops its geo reference). */
void dp_state_free(struct dp_state *st);
/* Wraps tables: owned arrays (MAP NULL) or an imported blob mapping. */
struct dp_geo *dp_geo_new(struct geo_tables *t, void *map, size_t len);
void dp_geo_put(struct dp_geo *g);
/* Takes over T (a read-only attachment); NULL when out of memory. */
struct dp_sess *dp_sess_new(struct sess_table *t);
void dp_sess_put(struct dp_sess *s);
/* RCU: one reader id per worker, registered before they launch. */
int dp_rcu_init(struct dp_ctx *ctx);

#endif
