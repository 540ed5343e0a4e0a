/*
 * cordon-dp: the Cordon fast path.
 *
 *   cordon-dp [EAL options --] [-c FILE] [--stats-file FILE]
 *             [--control SOCKET] [--geo-saved FILE]            live
 *   cordon-dp --check [-c FILE] [--geodb FILE [--geo-field P]]...
 *   cordon-dp -r IN.pcap --verdicts OUT.jsonl [-c FILE] [--geodb ...]
 *
 * Exit status: 0 success, 1 runtime failure, 2 bad usage or config.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>

#include "config/geo/geo_saved.h"
#include "config/rev/rev.h"
#include "dataplane/dp/dp.h"
#include "core/replay/replay.h"

#define CDP_DEFAULT_CONF "/etc/cordon/cordon.conf"
#define CDP_VERSION      "0.1.0"

struct cdp_opts {
	const char *conf;
	int check;
	const char *replay;
	const char *verdicts;
	unsigned dir;
	const char *stats_file;
	const char *control;
	const char *bench_fill;
	const char *geo_saved;
	int mbuf_cache;
	int no_sandbox;
	unsigned mbufs;
	unsigned ngeo;
	const char *geodb[GEO_LAYER_MAX];
	const char *geofield[GEO_LAYER_MAX];
	int eal_argc; /* EAL arguments given before "--" */
	char **eal_argv;
};

static void
cdp_usage(FILE *f)
{
	fprintf(f,
	    "usage: cordon-dp [EAL options --] [-c FILE] [--stats-file FILE]\n"
	    "                 [--control SOCKET] [--geo-saved FILE] "
	    "[--no-sandbox]\n"
	    "       cordon-dp --check [-c FILE] [--geodb FILE "
	    "[--geo-field PATH]]...\n"
	    "       cordon-dp -r IN.pcap [--verdicts OUT.jsonl] [--dir in|out]"
	    " [-c FILE]\n"
	    "                 [--geodb FILE [--geo-field PATH]]...\n"
	    "options:\n"
	    "  -c, --config FILE     configuration (default %s)\n"
	    "      --check           validate config and databases, print the "
	    "effective policy\n"
	    "  -r, --read FILE       offline replay of a pcap capture\n"
	    "      --verdicts FILE   replay output, one JSON object per packet"
	    " (default stdout)\n"
	    "      --dir in|out      replay: the capture arrived on an outside"
	    " (in) or inside port\n"
	    "      --geodb FILE      replace the config's databases (repeat to "
	    "layer)\n"
	    "      --geo-field PATH  country field of the preceding --geodb\n"
	    "      --stats-file FILE live: keep the counters as JSON in FILE\n"
	    "      --control SOCKET  live: serve the dataplane channel (cordond)"
	    " on SOCKET\n"
	    "      --geo-saved FILE  live: tables to fall back to when the "
	    "databases\n"
	    "                        do not compile (cordond's last good)\n"
	    "      --bench-fill PCAP live, benchmarks: preload the pool's mbufs "
	    "with PCAP\n"
	    "      --mbuf-cache N    live: per-lcore mempool cache (default "
	    "256)\n"
	    "      --mbufs N         live: pool size (default: the config's)\n"
	    "      --no-sandbox      live, debugging: keep the capabilities, "
	    "no seccomp\n"
	    "  -V, --version, -h, --help\n",
	    CDP_DEFAULT_CONF);
}

enum {
	OPT_CHECK = 256,
	OPT_VERDICTS,
	OPT_DIR,
	OPT_GEODB,
	OPT_GEOFIELD,
	OPT_STATS,
	OPT_FILL,
	OPT_CACHE,
	OPT_MBUFS,
	OPT_CONTROL,
	OPT_SAVED,
	OPT_NOSANDBOX
};

static const struct option cdp_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "read", required_argument, NULL, 'r' },
	{ "verdicts", required_argument, NULL, OPT_VERDICTS },
	{ "dir", required_argument, NULL, OPT_DIR },
	{ "geodb", required_argument, NULL, OPT_GEODB },
	{ "geo-field", required_argument, NULL, OPT_GEOFIELD },
	{ "stats-file", required_argument, NULL, OPT_STATS },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "bench-fill", required_argument, NULL, OPT_FILL },
	{ "geo-saved", required_argument, NULL, OPT_SAVED },
	{ "mbuf-cache", required_argument, NULL, OPT_CACHE },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	{ "no-sandbox", no_argument, NULL, OPT_NOSANDBOX },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int
cdp_opt_geo(struct cdp_opts *o, int opt, const char *arg)
{
	if (opt == OPT_GEODB) {
		if (o->ngeo == GEO_LAYER_MAX) {
			fprintf(stderr, "cordon-dp: at most %d --geodb\n",
			    GEO_LAYER_MAX);
			return -1;
		}
		o->geodb[o->ngeo++] = arg;
		return 0;
	}
	if (o->ngeo == 0) {
		fprintf(stderr, "cordon-dp: --geo-field needs a --geodb "
		                "before it\n");
		return -1;
	}
	o->geofield[o->ngeo - 1] = arg;
	return 0;
}

static int
cdp_opt_one(struct cdp_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case 'c':
		o->conf = arg;
		return 0;
	case 'r':
		o->replay = arg;
		return 0;
	case OPT_CHECK:
		o->check = 1;
		return 0;
	case OPT_VERDICTS:
		o->verdicts = arg;
		return 0;
	case OPT_STATS:
		o->stats_file = arg;
		return 0;
	case OPT_CONTROL:
		o->control = arg;
		return 0;
	case OPT_FILL:
		o->bench_fill = arg;
		return 0;
	case OPT_SAVED:
		o->geo_saved = arg;
		return 0;
	case OPT_NOSANDBOX:
		o->no_sandbox = 1;
		return 0;
	case OPT_CACHE:
		o->mbuf_cache = atoi(arg);
		return 0;
	case OPT_MBUFS:
		o->mbufs = (unsigned)strtoul(arg, NULL, 10);
		return 0;
	case OPT_GEODB:
	case OPT_GEOFIELD:
		return cdp_opt_geo(o, opt, arg);
	case OPT_DIR:
		if (strcmp(arg, "in") == 0 || strcmp(arg, "out") == 0) {
			o->dir = strcmp(arg, "in") == 0 ? POL_DIR_IN
			                                : POL_DIR_OUT;
			return 0;
		}
		fprintf(stderr, "cordon-dp: --dir: \"in\" or \"out\"\n");
		return -1;
	case 'V':
		printf("cordon-dp %s\n", CDP_VERSION);
		exit(0);
	case 'h':
		cdp_usage(stdout);
		exit(0);
	default:
		cdp_usage(stderr);
		return -1;
	}
}

/* DPDK convention: EAL arguments first, ours after "--" (if any). */
static int
cdp_opts_parse(int argc, char **argv, struct cdp_opts *o)
{
	int opt, split = 0;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			split = i;
			break;
		}
	if (split) {
		o->eal_argc = split;
		o->eal_argv = argv;
		argv[split] = argv[0];
		argc -= split;
		argv += split;
	}
	o->conf = CDP_DEFAULT_CONF;
	o->dir = POL_DIR_IN;
	o->mbuf_cache = -1;
	while (
	    (opt = getopt_long(argc, argv, "c:r:Vh", cdp_longopts, NULL)) != -1)
		if (cdp_opt_one(o, opt, optarg) != 0)
			return -1;
	if (optind < argc) {
		fprintf(stderr, "cordon-dp: unexpected argument \"%s\"\n",
		    argv[optind]);
		return -1;
	}
	return 0;
}

/* What the tables fall back to; whether they were asked to. */
struct cdp_fb {
	const struct cdp_opts *o;
	bool tried;
};

/*
 * Live, when the databases do not compile: the last good tables cordond
 * kept (--geo-saved), if they are whole and were compiled from these
 * very databases and overrides — fail static rather than no traffic.
 */
static int
cdp_geo_saved(void *arg, const struct conf *c, const struct geo_source *src,
    unsigned n, struct geo_db *db, const char *why)
{
	struct cdp_fb *fb = arg;
	const struct cdp_opts *o = fb->o;
	struct geo_saved_info in;
	char err[600];

	fb->tried = true;
	fprintf(stderr, "cordon-dp: %s\n", why);
	if (o->geo_saved == NULL || o->check || o->replay)
		return -1;
	if (geo_saved_read(o->geo_saved, db, &in, err, sizeof(err)) != 0) {
		fprintf(stderr, "cordon-dp: no saved tables: %s\n", err);
		return -1;
	}
	if (geo_saved_fits(db, &in, src, n, c->overrides, c->noverrides) != 0 ||
	    !rev_geo_classes_fit(c, db)) {
		fprintf(stderr,
		    "cordon-dp: %s: compiled from other databases, "
		    "overrides or classes: not used\n",
		    o->geo_saved);
		geo_db_free(db);
		return -1;
	}
	fprintf(stderr,
	    "cordon-dp: geo-static: enforcing the last good "
	    "tables of %s\n",
	    o->geo_saved);
	return 0;
}

/*
 * The config, its policy and the tables of its databases (or those of
 * --geodb): rev_compile(), as cordond compiles what it pushes.  Returns
 * 0, or the exit status.
 */
static int
cdp_compile(const struct cdp_opts *o, struct rev *r)
{
	struct geo_source src[GEO_LAYER_MAX];
	struct cdp_fb fb = { o, false };
	struct rev_geo g = { .fallback = cdp_geo_saved, .arg = &fb };
	char err[1024];

	for (unsigned i = 0; i < o->ngeo; i++) {
		src[i].path = o->geodb[i];
		src[i].field = o->geofield[i] ? o->geofield[i]
		                              : GEO_DEFAULT_FIELD;
	}
	if (o->ngeo > 0) {
		g.src = src;
		g.n = o->ngeo;
	}
	if (rev_compile(o->conf, &g, r, err, sizeof(err)) == 0)
		return 0;
	if (r->fail == REV_FAIL_CONF || !fb.tried)
		fprintf(stderr, "cordon-dp: %s\n", err);
	else
		fprintf(stderr, "cordon-dp: no usable geolocation database: "
		                "refusing to run (fail closed)\n");
	return r->fail == REV_FAIL_CONF || o->check ? 2 : 1;
}

static int
cdp_replay(const struct cdp_opts *o, const struct conf *c,
    const struct policy *p, const struct geo_db *db)
{
	struct replay_opts ro = { o->replay, o->verdicts, o->dir,
		c->frag_entries, c->frag_timeout_ms, c->proxies.flows,
		c->proxies.buffers, c->proxies.idle };
	struct stats *st = calloc(1, sizeof(*st));
	struct stats_names names = { 1, { "capture" }, p };
	int rc;

	if (st == NULL)
		return 1;
	rc = replay_run(p, db->tables, &ro, st);
	if (rc == 0 && o->verdicts && strcmp(o->verdicts, "-") != 0)
		stats_print_text(st, &names, stdout);
	if (rc == 0 && o->stats_file)
		stats_write_file(st, &names, o->stats_file);
	free(st);
	return rc == 0 ? 0 : 1;
}

/* EAL argv: ours from the command line, else the config's, plus vdevs. */
static int
cdp_eal_init(const struct cdp_opts *o, const struct conf *c, char *argv0)
{
	static char *av[CONF_EAL_MAX + 2 * CONF_PORT_MAX + 64];
	static char vdev[CONF_PORT_MAX][300];
	int ac = 0;

	av[ac++] = argv0;
	if (o->eal_argc > 1)
		for (int i = 1; i < o->eal_argc && ac < 64; i++)
			av[ac++] = o->eal_argv[i];
	else
		for (unsigned i = 0; i < c->neal; i++)
			av[ac++] = (char *)c->eal[i];
	for (unsigned i = 0; i < c->nports; i++) {
		if (c->ports[i].devargs[0] == '\0')
			continue;
		snprintf(vdev[i], sizeof(vdev[i]), "--vdev=%s",
		    c->ports[i].devargs);
		av[ac++] = vdev[i];
	}
	av[ac] = NULL;
	if (rte_eal_init(ac, av) < 0) {
		fprintf(stderr, "cordon-dp: EAL: %s\n",
		    rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The evidence group, for the workers and the pcap writer. */
static void
cdp_evid_conf(const struct conf *c, struct dp_conf *dc)
{
	const struct conf_evidence *e = &c->evidence;
	struct evid_conf *f = &dc->evid_files;

	dc->evid_packets = e->packets;
	dc->evid_snaplen = e->snaplen;
	dc->evid_flows = e->flows;
	dc->evid_idle_s = e->flow_idle;
	conf_evidence_dir(c, f->dir, sizeof(f->dir));
	f->file_size = (uint64_t)e->file_size * 1024;
	f->files = e->files;
	f->rotate_age = e->rotate_age;
	f->max_age = e->max_age;
	f->snaplen = e->snaplen;
}

/* The fast path's share of the configuration (dataplane/dp/dp.h). */
static void
cdp_dp_conf(const struct cdp_opts *o, const struct conf *c, struct dp_conf *dc)
{
	_Static_assert(CONF_PORT_MAX <= STATS_PORT_MAX, "ports");
	_Static_assert(sizeof(dc->port[0].name) >= CONF_NAME_MAX, "names");
	_Static_assert(sizeof(dc->port[0].device) >= sizeof(c->ports[0].device),
	    "devices");

	dc->workers = c->workers;
	dc->burst = c->burst;
	dc->mbufs = o->mbufs ? o->mbufs : c->mbufs;
	dc->frag_entries = c->frag_entries;
	dc->frag_timeout_ms = c->frag_timeout_ms;
	dc->top_window = c->top_window;
	dc->prx_flows = c->proxies.flows;
	dc->prx_buffers = c->proxies.buffers;
	dc->prx_window = c->proxies.window;
	dc->prx_idle_s = c->proxies.idle;
	cdp_evid_conf(c, dc);
	dc->nports = c->nports;
	for (unsigned i = 0; i < c->nports; i++) {
		const struct conf_port *cp = &c->ports[i];
		struct dp_port_conf *p = &dc->port[i];

		memcpy(p->name, cp->name, sizeof(cp->name));
		memcpy(p->device, cp->device, sizeof(cp->device));
		p->peer = cp->peer;
		p->dir = cp->role == CONF_ROLE_OUTSIDE ? POL_DIR_IN
		                                       : POL_DIR_OUT;
	}
}

/*
 * P was compiled with config port indexes (port_ids NULL), exactly as
 * cordond compiles what it pushes: the fast path maps them to DPDK port
 * ids itself, so revision 0 and pushed revisions hash alike.  The tables
 * are handed over to the fast path (it frees them when replaced).
 */
static int
cdp_live(const struct cdp_opts *o, const struct conf *c, const struct policy *p,
    struct geo_db *db, char *argv0)
{
	static struct dp_ctx ctx;
	static struct dp_conf dc;
	struct geo_tables *geo = db->tables;
	int rc;

	if (cdp_eal_init(o, c, argv0) != 0)
		return 1;
	db->tables = NULL;
	cdp_dp_conf(o, c, &dc);
	ctx.conf = &dc;
	ctx.stats_file = o->stats_file;
	ctx.control = o->control;
	ctx.fill_pcap = o->bench_fill;
	ctx.mbuf_cache = o->mbuf_cache;
	ctx.no_sandbox = o->no_sandbox;
	rc = dp_run(&ctx, p, geo);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}

/* Everything after the command line: returns the exit status. */
static int
cdp_main(struct cdp_opts *o, struct rev *r, char *argv0)
{
	int rc;

	if ((rc = cdp_compile(o, r)) != 0)
		return rc;
	if (o->check) {
		conf_print(r->conf, stdout);
		geo_db_print(r->geo, stdout);
		printf("configuration OK\n");
		return 0;
	}
	if (o->replay)
		return cdp_replay(o, r->conf, r->pol, r->geo);
	return cdp_live(o, r->conf, r->pol, r->geo, argv0);
}

int
main(int argc, char **argv)
{
	static struct cdp_opts o;
	static struct geo_db db;
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	struct rev r = { .conf = c, .pol = p, .geo = &db };
	char *argv0 = argv[0];
	int rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (c == NULL || p == NULL)
		goto out;
	rc = 2;
	if (cdp_opts_parse(argc, argv, &o) != 0)
		goto out;
	rc = cdp_main(&o, &r, argv0);
out:
	geo_db_free(&db);
	free(p);
	free(c);
	return rc;
}
