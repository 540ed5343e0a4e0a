/*
 * Live mode: pools, ports, workers, and the main lcore's housekeeping
 * loop (log drain, counters on SIGUSR1 and at exit, the stats file, the
 * control channel).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "core/classify/cls_fmt.h"
#include "dataplane/ctl/ctl.h"
#include "wire/dpc_proto.h"
#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_evid.h"
#include "dataplane/dp/dp_sandbox.h"
#include "dataplane/dp/dp_slog.h"
#include "core/util/clock.h"

#define DP_TICK_US     100000 /* housekeeping period */
#define DP_STATS_TICKS 5      /* stats file every 0.5 s */

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

/*
 * W's fragment table, on its lcore's socket, sized once: the timeout is
 * counted in TSC ticks, the worker's clock.
 */
static int
dp_frag_create(const struct dp_ctx *ctx, struct dp_worker *w, unsigned lcore)
{
	const struct dp_conf *c = ctx->conf;
	unsigned n = c->frag_entries ? c->frag_entries : FRAG_ENTRIES_DEFAULT;
	unsigned ms = c->frag_timeout_ms ? c->frag_timeout_ms
	                                 : FRAG_TIMEOUT_MS_DEFAULT;
	size_t len = frag_table_size(n);
	void *mem;

	if (len == 0)
		return -1;
	mem = rte_zmalloc_socket("cordon_frag", len, 64,
	    (int)rte_lcore_to_socket_id(lcore));
	w->frag =
	    frag_table_init(mem, n, rte_get_tsc_hz() / 1000 * ms, rte_rand());
	return w->frag != NULL ? 0 : -1;
}

/*
 * W's flow table of proxied services, sized once (start-up: its memory
 * is its own, never allocated per packet); idle time in TSC ticks.
 */
static int
dp_prx_create(const struct dp_ctx *ctx, struct dp_worker *w)
{
	const struct dp_conf *c = ctx->conf;

	/* Always there: a policy that proxies a service may come later,
	 * from cordond, and must find a table (or the flows fail open). */
	w->prx = prx_flow_new(c->prx_flows ? c->prx_flows : PRX_FLOWS_DEFAULT,
	    c->prx_flows ? c->prx_buffers : PRX_BUFS_DEFAULT,
	    c->prx_window ? c->prx_window : PRX_WINDOW_DEF,
	    rte_get_tsc_hz() *
	        (c->prx_idle_s ? c->prx_idle_s : PRX_FLOW_IDLE_S_DEF),
	    rte_rand());
	return w->prx != NULL ? 0 : -1;
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
		snprintf(name, sizeof(name), "cordon_knock%u", i);
		w->knock = rte_ring_create_elem(name, sizeof(struct dp_knock),
		    DP_KNOCK_RING, (int)rte_lcore_to_socket_id(lcore),
		    RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->idx = i;
		if (w->knock == NULL || dp_frag_create(ctx, w, lcore) != 0 ||
		    dp_prx_create(ctx, w) != 0 ||
		    dp_evid_create(ctx, w, lcore) != 0)
			return -1;
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

/*
 * The workers' counters: one struct stats each (cache-line sized and
 * aligned, so no two writers share a line) in a memfd mapped before they
 * launch, followed by one top sketch each (core/top).  Sealed against
 * growing, shrinking and new writable mappings: the fd handed to cordond
 * gives read-only access to the live numbers.
 */
static int
dp_stats_create(struct dp_ctx *ctx)
{
	size_t len =
	    ctx->nworkers * (sizeof(struct stats) + sizeof(struct top_sketch));
	int fd = memfd_create("cordon-stats", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
		goto fail;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
	    fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	if (fcntl(fd, F_ADD_SEALS,
	        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE |
	            F_SEAL_SEAL) != 0) {
		munmap(p, len);
		goto fail;
	}
	ctx->stats = p;
	ctx->stats_fd = fd;
	ctx->stats_len = len;
	for (unsigned i = 0; i < ctx->nworkers; i++) {
		struct top_sketch *t =
		    (struct top_sketch *)&ctx->stats[ctx->nworkers] + i;

		ctx->worker[i]->stats = &ctx->stats[i];
		ctx->worker[i]->top = t;
		top_init(t,
		    ctx->conf->top_window ? ctx->conf->top_window : TOP_WINDOW,
		    rte_rand());
	}
	return 0;

fail:
	fprintf(stderr, "cordon-dp: counters memfd: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void
dp_stats_sum(const struct dp_ctx *ctx, struct stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < ctx->nworkers; i++)
		stats_add(sum, &ctx->stats[i]);
}

static void
dp_stats_names(const struct dp_ctx *ctx, struct stats_names *n)
{
	n->nports = ctx->nports;
	for (unsigned i = 0; i < ctx->nports; i++)
		n->port[i] = ctx->port[i].name;
	n->pol = ctx->state->pol;
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
	/* In the sandbox by the folder's fd (dp_sandbox_user.c). */
	if (ctx->stats_file &&
	    stats_write_fileat(&sum, &names,
	        ctx->stats_dfd >= 0 ? ctx->stats_dfd : AT_FDCWD,
	        ctx->stats_dfd >= 0 ? ctx->stats_name : ctx->stats_file) != 0)
		fprintf(stderr, "cordon-dp: cannot write %s\n",
		    ctx->stats_file);
}

static void
dp_log_print(const struct dp_ctx *ctx, const struct dp_event *ev)
{
	struct cls_record r;

	memset(&r, 0, sizeof(r));
	r.port = ctx->port[ev->port].name;
	r.parsed = 1;
	r.m = &ev->m;
	r.v = &ev->v;
	printf("cordon-dp: ");
	cls_record_text(stdout, ctx->state->pol, &r);
}

/* A tunnelled packet's innermost source, for syslog's origin. */
static void
dp_event_origin(struct dpc_wire_event *w, const struct pkt_meta *m,
    const struct cls_verdict *v)
{
	const struct pkt_layer *o = pkt_origin(m);
	uint32_t a;

	w->origin_af = o->af;
	w->origin_cc = v->origin_cc;
	if (o->af == 4) {
		a = htonl(o->src4);
		memcpy(w->origin, &a, 4);
	} else {
		memcpy(w->origin, o->src6, 16);
	}
}

void
dp_event_wire(const struct dp_event *ev, uint64_t now, struct dpc_wire_event *w)
{
	const struct pkt_meta *m = &ev->m;
	uint32_t a;

	memset(w, 0, sizeof(*w));
	w->af = m->af;
	if (m->af == 4) {
		a = htonl(m->src4);
		memcpy(w->src, &a, 4);
		a = htonl(m->dst4);
		memcpy(w->dst, &a, 4);
	} else {
		memcpy(w->src, m->src6, 16);
		memcpy(w->dst, m->dst6, 16);
	}
	w->sport = m->sport;
	w->dport = m->dport;
	w->proto = m->l4proto;
	if (m->has_l4 &&
	    (m->l4proto == IPPROTO_TCP || m->l4proto == IPPROTO_UDP))
		w->flags |= DPC_EV_PORTS;
	if (m->frag != PKT_FRAG_NONE)
		w->flags |= DPC_EV_FRAG;
	w->action = ev->v.action;
	w->reason = ev->v.reason;
	w->src_cc = ev->v.src_cc;
	w->dst_cc = ev->v.dst_cc;
	w->rule = ev->v.rule;
	w->service = ev->v.service;
	w->port = (uint8_t)ev->port;
	if (m->nlayer)
		dp_event_origin(w, m, &ev->v);
	w->count = 1;
	w->unix_ns = now;
}

/* Adds EV to the worker's batch, folding it into an identical last one. */
static void
dp_event_add(struct dpc_wire_event *b, unsigned *n, const struct dp_event *ev,
    uint64_t now)
{
	struct dpc_wire_event w;

	dp_event_wire(ev, now, &w);
	if (*n > 0 && b[*n - 1].count < UINT32_MAX) {
		w.count = b[*n - 1].count;
		if (memcmp(&w, &b[*n - 1], sizeof(w)) == 0) {
			b[*n - 1].count++;
			return;
		}
		w.count = 1;
	}
	b[(*n)++] = w;
}

/*
 * Log events go to cordond when it is connected (never blocking: what
 * its channel cannot take is counted as log_unsent).  Without it they
 * are printed on stdout and go to the syslog fallback (dp_slog.h): each
 * event goes one way, decided when it is drained, so cordond and
 * cordon-dp never both report it.
 */
static void
dp_log_drain(struct dp_ctx *ctx, struct ctl *ctl)
{
	static struct dpc_wire_event batch[DP_LOG_RING];
	struct dp_event ev;
	uint64_t now = clk_unix_ns();
	int send = ctl_connected(ctl);
	unsigned n;
	long left;

	if (send)
		dp_slog_back(ctx);
	for (unsigned i = 0; i < ctx->nworkers; i++) {
		n = 0;
		while (n < DP_LOG_RING &&
		       rte_ring_sc_dequeue_elem(ctx->worker[i]->log, &ev,
		           sizeof(ev)) == 0) {
			if (!send)
				dp_log_print(ctx, &ev);
			dp_event_add(batch, &n, &ev, now);
		}
		if (n == 0)
			continue;
		if (!send) {
			dp_slog_events(ctx, batch, n);
			continue;
		}
		if ((left = ctl_events_send(ctl, batch, n)) < 0)
			left = n;
		for (unsigned k = n - (unsigned)left; k < n; k++)
			ctx->stats[i].log_unsent += batch[k].count;
	}
	dp_slog_flush(ctx);
	fflush(stdout);
}

/*
 * Knocks to cordond, as they are.  Without cordond there is no one to
 * judge them: they are counted and dropped, never answered.
 */
static void
dp_knock_drain(const struct dp_ctx *ctx, struct ctl *ctl)
{
	static struct dp_knock k;
	static struct dpc_msg_knock out;

	for (unsigned i = 0; i < ctx->nworkers; i++)
		while (rte_ring_sc_dequeue_elem(ctx->worker[i]->knock, &k,
		           sizeof(k)) == 0) {
			memcpy(out.src, k.src, sizeof(out.src));
			out.af = k.af;
			out.port = k.port;
			out.len = k.len;
			out.sport = k.sport;
			out.unix_ns = clk_unix_ns();
			memcpy(out.data, k.data, k.len);
			memset(out.data + k.len, 0, DPC_KNOCK_MAX - k.len);
			if (ctl_knock_send(ctl, &out) != 0)
				ctx->stats[i].knock_unsent++;
		}
}

/* Sleeps until DEADLINE (monotonic us), serving the channel meanwhile. */
static void
dp_wait(struct ctl *ctl, uint64_t deadline)
{
	uint64_t now;

	while (!dp_sig_quit && (now = clk_mono_ns() / 1000) < deadline) {
		if (ctl)
			ctl_poll(ctl, (int)((deadline - now + 999) / 1000));
		else
			usleep((useconds_t)(deadline - now));
	}
}

static void
dp_housekeep(struct dp_ctx *ctx, struct ctl *ctl)
{
	uint64_t next = clk_mono_ns() / 1000;
	unsigned tick = 0;

	while (!dp_sig_quit) {
		next += DP_TICK_US;
		dp_wait(ctl, next);
		ctx->now_boot = clk_boot_s();
		dp_log_drain(ctx, ctl);
		dp_knock_drain(ctx, ctl);
		dp_evid_drain(ctx, ctl);
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
	unsigned cache = ctx->mbuf_cache >= 0 ? (unsigned)ctx->mbuf_cache : 256;

	ctx->pool = rte_pktmbuf_pool_create("cordon_mbufs", n, cache, 0,
	    RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (ctx->pool == NULL) {
		fprintf(stderr,
		    "cordon-dp: cannot create a pool of %u mbufs: "
		    "%s\n",
		    n, rte_strerror(rte_errno));
		return -1;
	}
	if (ctx->fill_pcap && dp_pool_fill(ctx->pool, ctx->fill_pcap) != 0)
		return -1;
	return 0;
}

/* Revision 0: the policy and tables compiled from the config. */
static int
dp_state_init(struct dp_ctx *ctx, const struct policy *pol,
    struct geo_tables *geo)
{
	struct dp_geo *g = dp_geo_new(geo, NULL, 0);
	struct dp_state *st;
	char err[256];

	if (g == NULL) {
		geo_tables_free(geo);
		return -1;
	}
	st = dp_state_create(ctx, pol, g, NULL, 0, NULL, err, sizeof(err));
	dp_geo_put(g);
	if (st == NULL) {
		fprintf(stderr, "cordon-dp: %s\n", err);
		return -1;
	}
	dp_state_publish(ctx, st);
	return 0;
}

static int
dp_setup(struct dp_ctx *ctx, const struct policy *pol, struct geo_tables *geo)
{
	ctx->stats_fd = -1;
	ctx->stats_dfd = ctx->evid_dfd = -1;
	ctx->started_unix_ns = clk_unix_ns();
	ctx->nworkers = ctx->conf->workers ? ctx->conf->workers
	                                   : rte_lcore_count() - 1;
	if (ctx->nworkers > DP_WORKER_MAX)
		ctx->nworkers = DP_WORKER_MAX;
	ctx->burst = ctx->conf->burst ? ctx->conf->burst : 32;
	if (dp_pool_create(ctx) != 0 || dp_workers_create(ctx) != 0 ||
	    dp_ports_init(ctx) != 0) {
		geo_tables_free(geo);
		return -1;
	}
	if (dp_state_init(ctx, pol, geo) != 0 || dp_stats_create(ctx) != 0 ||
	    dp_evid_open(ctx) != 0 || dp_rcu_init(ctx) != 0)
		return -1;
	return 0;
}

int
dp_run(struct dp_ctx *ctx, const struct policy *pol, struct geo_tables *geo)
{
	struct ctl *ctl = NULL;

	if (dp_setup(ctx, pol, geo) != 0)
		goto fail;
	if (ctx->control && (ctl = ctl_open(ctx->control, ctx)) == NULL) {
		dp_ports_close(ctx);
		goto fail;
	}
	dp_signals_init();
	/* Everything privileged is done: ports up, channel listening. */
	if (!ctx->no_sandbox && dp_sandbox_enter(ctx) != 0) {
		ctl_close(ctl);
		dp_ports_close(ctx);
		goto fail;
	}
	ctx->now_boot = clk_boot_s();
	printf("cordon-dp: enforcing: %u port(s), %u worker(s), %u rule(s)\n",
	    ctx->nports, ctx->nworkers, ctx->state->pol->nrules);
	fflush(stdout);
	for (unsigned i = 0; i < ctx->nworkers; i++)
		rte_eal_remote_launch(dp_worker_main, ctx->worker[i],
		    ctx->worker[i]->lcore);
	dp_housekeep(ctx, ctl);
	ctx->quit = 1;
	rte_eal_mp_wait_lcore();
	ctl_close(ctl);
	dp_log_drain(ctx, NULL);
	dp_slog_close(ctx);
	dp_evid_drain(ctx, NULL);
	dp_evid_close(ctx);
	dp_stats_report(ctx, 1);
	dp_ports_close(ctx);
	dp_state_free(ctx->state);
	ctx->state = NULL;
	return 0;

fail:
	dp_state_free(ctx->state);
	ctx->state = NULL;
	return -1;
}
