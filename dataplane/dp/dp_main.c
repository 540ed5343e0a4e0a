/*
 * Live mode: pools, ports, workers, and the main lcore's housekeeping
 * loop (log drain, counters on SIGUSR1 and at exit, the stats file).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/classify/cls_fmt.h"
#include "dataplane/dp/dp.h"

#define DP_TICK_US	100000	/* housekeeping period */
#define DP_STATS_TICKS	5	/* stats file every 0.5 s */

static volatile sig_atomic_t dp_sig_quit;
static volatile sig_atomic_t dp_sig_usr1;

static void
dp_on_signal(int sig)
{
	if (sig == SIGUSR1)
		dp_sig_usr1 = 1;
	else
		dp_sig_quit = 1;
}

static void
dp_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dp_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

static int
dp_workers_create(struct dp_ctx *ctx)
{
	char name[RTE_RING_NAMESIZE];
	unsigned lcore, i = 0;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct dp_worker *w;

		if (i == ctx->nworkers)
			break;
		w = rte_zmalloc_socket("cordon_worker", sizeof(*w), 64,
		    (int)rte_lcore_to_socket_id(lcore));
		snprintf(name, sizeof(name), "cordon_log%u", i);
		if (w == NULL)
			return -1;
		w->scratch = rte_zmalloc_socket("cordon_burst", dp_burst_size(),
		    64, (int)rte_lcore_to_socket_id(lcore));
		if (w->scratch == NULL)
			return -1;
		w->log = rte_ring_create_elem(name, sizeof(struct dp_event),
		    DP_LOG_RING, (int)rte_lcore_to_socket_id(lcore),
		    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->log == NULL)
			return -1;
		w->idx = i;
		w->lcore = lcore;
		w->ctx = ctx;
		ctx->worker[i++] = w;
	}
	if (i == 0) {
		fprintf(stderr, "cordon-dp: no worker lcore: give EAL at "
		    "least two lcores (e.g. -l 0-1)\n");
		return -1;
	}
	ctx->nworkers = i;
	return 0;
}

static void
dp_stats_sum(const struct dp_ctx *ctx, struct stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < ctx->nworkers; i++)
		stats_add(sum, &ctx->worker[i]->stats);
}

static void
dp_stats_names(const struct dp_ctx *ctx, struct stats_names *n)
{
	n->nports = ctx->nports;
	for (unsigned i = 0; i < ctx->nports; i++)
		n->port[i] = ctx->port[i].name;
	n->pol = ctx->pol;
}

static void
dp_stats_report(const struct dp_ctx *ctx, int text)
{
	static struct stats sum;
	struct stats_names names;

	dp_stats_sum(ctx, &sum);
	dp_stats_names(ctx, &names);
	if (text) {
		printf("--- cordon-dp counters ---\n");
		stats_print_text(&sum, &names, stdout);
		fflush(stdout);
	}
	if (ctx->stats_file &&
	    stats_write_file(&sum, &names, ctx->stats_file) != 0)
		fprintf(stderr, "cordon-dp: cannot write %s\n", ctx->stats_file);
}

static void
dp_log_drain(const struct dp_ctx *ctx)
{
	struct dp_event ev;
	struct cls_record r;

	for (unsigned i = 0; i < ctx->nworkers; i++) {
		while (rte_ring_sc_dequeue_elem(ctx->worker[i]->log, &ev,
		    sizeof(ev)) == 0) {
			memset(&r, 0, sizeof(r));
			r.port = ctx->port[ev.port].name;
			r.parsed = 1;
			r.m = &ev.m;
			r.v = &ev.v;
			printf("cordon-dp: ");
			cls_record_text(stdout, ctx->pol, &r);
		}
	}
	fflush(stdout);
}

static void
dp_housekeep(struct dp_ctx *ctx)
{
	unsigned tick = 0;

	while (!dp_sig_quit) {
		usleep(DP_TICK_US);
		dp_log_drain(ctx);
		if (dp_sig_usr1) {
			dp_sig_usr1 = 0;
			dp_stats_report(ctx, 1);
		} else if (++tick % DP_STATS_TICKS == 0) {
			dp_stats_report(ctx, 0);
		}
	}
}

static int
dp_pool_create(struct dp_ctx *ctx)
{
	unsigned n = ctx->conf->mbufs ? ctx->conf->mbufs : 16384;
	unsigned cache = ctx->mbuf_cache >= 0 ? (unsigned)ctx->mbuf_cache :
	    256;

	ctx->pool = rte_pktmbuf_pool_create("cordon_mbufs", n, cache, 0,
	    RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (ctx->pool == NULL) {
		fprintf(stderr, "cordon-dp: cannot create a pool of %u mbufs: "
		    "%s\n", n, rte_strerror(rte_errno));
		return -1;
	}
	if (ctx->fill_pcap && dp_pool_fill(ctx->pool, ctx->fill_pcap) != 0)
		return -1;
	return 0;
}

int
dp_run(struct dp_ctx *ctx)
{
	ctx->nworkers = ctx->conf->workers ? ctx->conf->workers :
	    rte_lcore_count() - 1;
	if (ctx->nworkers > DP_WORKER_MAX)
		ctx->nworkers = DP_WORKER_MAX;
	ctx->burst = ctx->conf->burst ? ctx->conf->burst : 32;
	if (dp_pool_create(ctx) != 0 || dp_workers_create(ctx) != 0 ||
	    dp_ports_init(ctx) != 0)
		return -1;
	dp_signals_init();
	printf("cordon-dp: enforcing: %u port(s), %u worker(s), %u rule(s)\n",
	    ctx->nports, ctx->nworkers, ctx->pol->nrules);
	fflush(stdout);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		rte_eal_remote_launch(dp_worker_main, ctx->worker[i],
		    ctx->worker[i]->lcore);
	dp_housekeep(ctx);
	ctx->quit = 1;
	rte_eal_mp_wait_lcore();
	dp_log_drain(ctx);
	dp_stats_report(ctx, 1);
	dp_ports_close(ctx);
	return 0;
}
