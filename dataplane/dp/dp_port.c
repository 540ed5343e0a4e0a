#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "dataplane/dp/dp.h"

#define DP_RX_DESC 1024
#define DP_TX_DESC 1024

static int
dp_port_resolve(struct dp_ctx *ctx, unsigned i)
{
	const struct dp_port_conf *cp = &ctx->conf->port[i];
	struct dp_port *p = &ctx->port[i];

	if (rte_eth_dev_get_port_by_name(cp->device, &p->id) != 0) {
		fprintf(stderr, "cordon-dp: port %s: no DPDK device \"%s\"\n",
		    cp->name, cp->device);
		return -1;
	}
	p->name = cp->name;
	p->peer = cp->peer >= 0 ? (uint16_t)cp->peer : DP_NO_PORT;
	p->dir = cp->dir;
	ctx->local[p->id] = (uint16_t)i;
	return 0;
}

/* Queues per port: one per worker, capped by what every port offers. */
static unsigned
dp_ports_queues(struct dp_ctx *ctx, unsigned want)
{
	struct rte_eth_dev_info info;

	for (unsigned i = 0; i < ctx->nports; i++) {
		if (rte_eth_dev_info_get(ctx->port[i].id, &info) != 0)
			return 1;
		if (info.max_rx_queues < want)
			want = info.max_rx_queues;
		if (info.max_tx_queues < want)
			want = info.max_tx_queues;
	}
	return want ? want : 1;
}

static int
dp_port_configure(struct dp_ctx *ctx, struct dp_port *p, unsigned nq)
{
	struct rte_eth_conf pc;
	struct rte_eth_dev_info info;
	int socket = rte_eth_dev_socket_id(p->id);

	memset(&pc, 0, sizeof(pc));
	if (rte_eth_dev_info_get(p->id, &info) != 0)
		return -1;
	if (nq > 1) {
		pc.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		pc.rx_adv_conf.rss_conf.rss_hf =
		    info.flow_type_rss_offloads &
		    (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	}
	if (rte_eth_dev_configure(p->id, (uint16_t)nq, (uint16_t)nq, &pc) != 0)
		return -1;
	for (unsigned q = 0; q < nq; q++) {
		if (rte_eth_rx_queue_setup(p->id, (uint16_t)q, DP_RX_DESC,
		        socket < 0 ? 0 : (unsigned)socket, NULL,
		        ctx->pool) != 0)
			return -1;
		if (rte_eth_tx_queue_setup(p->id, (uint16_t)q, DP_TX_DESC,
		        socket < 0 ? 0 : (unsigned)socket, NULL) != 0)
			return -1;
	}
	p->nq = (uint16_t)nq;
	if (rte_eth_dev_start(p->id) != 0)
		return -1;
	/* A bump in the wire forwards frames for any MAC. */
	rte_eth_promiscuous_enable(p->id);
	return 0;
}

int
dp_ports_init(struct dp_ctx *ctx)
{
	unsigned nq;

	ctx->nports = ctx->conf->nports;
	memset(ctx->local, 0xff, sizeof(ctx->local));
	for (unsigned i = 0; i < ctx->nports; i++)
		if (dp_port_resolve(ctx, i) != 0)
			return -1;
	nq = dp_ports_queues(ctx, ctx->nworkers);
	if (nq < ctx->nworkers) {
		printf("cordon-dp: ports offer %u queue(s): using %u "
		       "worker(s), not %u\n",
		    nq, nq, ctx->nworkers);
		ctx->nworkers = nq;
	}
	for (unsigned i = 0; i < ctx->nports; i++) {
		if (dp_port_configure(ctx, &ctx->port[i], nq) != 0) {
			fprintf(stderr,
			    "cordon-dp: port %s: cannot start "
			    "device %s: %s\n",
			    ctx->port[i].name, ctx->conf->port[i].device,
			    rte_strerror(rte_errno));
			return -1;
		}
	}
	return 0;
}

void
dp_ports_close(struct dp_ctx *ctx)
{
	/* Closing flushes pcap writers: tests read whole files after it. */
	for (unsigned i = 0; i < ctx->nports; i++) {
		rte_eth_dev_stop(ctx->port[i].id);
		rte_eth_dev_close(ctx->port[i].id);
	}
}
