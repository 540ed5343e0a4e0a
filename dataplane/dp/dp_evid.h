/*
 * Evidence captures on the live path (docs/evidence.md).  A worker
 * copies the first packets of each flow a rule with `evidence = true`
 * denies or reroutes into its own ring (no lock, no allocation, no
 * system call; a full ring or a full flow table drops the copy and
 * counts it); the main lcore drains the rings into the pcap files
 * (core/evid) and tells cordond (or stdout) which file holds what.  The
 * packet's verdict is decided before and never looks at any of it.
 */
#ifndef CORDON_DP_EVID_H
#define CORDON_DP_EVID_H

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>

#include "core/evid/evid_pcap.h"
#include "dataplane/dp/dp.h"

#define DP_EVID_RING 256 /* copies per worker, waiting for the main lcore */

/* One copy, as a worker queues it. */
struct dp_evid_rec {
	struct dp_event ev; /* the flow, its verdict, its ingress port */
	uint64_t tsc;       /* when the worker saw it */
	uint32_t wirelen;
	uint16_t caplen;
	uint8_t first; /* the first packet kept of its flow */
	uint8_t pad;
	uint8_t data[EVID_SNAP_MAX];
};

/* dp_evid.c, worker side: queues a copy of M if its flow wants one. */
void dp_evid_take(struct dp_worker *w, const struct rte_mbuf *m,
    const struct pkt_meta *meta, const struct cls_verdict *v, unsigned in);

/* The one call at the verdict point: cheap when nothing is asked. */
static inline void
dp_evid(struct dp_worker *w, const struct rte_mbuf *m,
    const struct pkt_meta *meta, const struct cls_verdict *v, unsigned in)
{
	if (unlikely(v->evidence) && v->action != CDN_ACT_ALLOW)
		dp_evid_take(w, m, meta, v, in);
}

/* Main lcore: W's ring and flow table, on its socket (start-up). */
int dp_evid_create(struct dp_ctx *ctx, struct dp_worker *w, unsigned lcore);
/* Main lcore: the writer (no file before the first record). */
int dp_evid_open(struct dp_ctx *ctx);
/* The files go to folder DFD from now on (the sandbox's, by its fd). */
void dp_evid_use_dir(struct dp_ctx *ctx, int dfd);
struct ctl;
/* Main lcore, every tick: the rings into the files. */
void dp_evid_drain(struct dp_ctx *ctx, struct ctl *ctl);
/* Main lcore, at exit. */
void dp_evid_close(struct dp_ctx *ctx);

#endif
