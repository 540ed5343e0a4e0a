/*
 * nftload: drives control/nft the way cordond does, for the tests and
 * the benchmark.  Run it inside a network namespace.
 *
 *   nftload [-t TABLE] apply CONF [-H IFACE] [-R] [-n N] [-c SECS]
 *       compiles CONF's geo tables, applies the table N times (the
 *       first loads, the others replace), prints one line per batch;
 *       -H host protection on IFACE; -R no policy routes; -c SECS then
 *       prints the counters as JSON after SECS seconds; -s ADDR,PORT,SECS
 *       adds a session after the first batch (the later ones keep it);
 *       -G sends each batch once with a stale generation id first;
 *       -F every batch replaces the whole table (no deltas); -K CONF2
 *       then applies CONF2 with CONF's geo tables (a commit), -N CONF2
 *       with CONF2's own (a geo reload), in the order given, up to 8;
 *       -X the first follow-up carries an element the kernel refuses
 *       (prints "refused ..." and goes on); -E CMD runs shell CMD
 *       before each follow-up.
 *   nftload [-t TABLE] text CONF      the region sets as an nft -f file
 *   nftload [-t TABLE] remove
 *   nftload [-t TABLE] session-add ADDR PORT SECS
 *   nftload [-t TABLE] session-del ADDR PORT
 * Exit status 0, or 1 with the error on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config/load/conf.h"
#include "config/geo/geo_build.h"
#include "control/nft/nft.h"
#include "control/nft/nft_int.h"
#include "core/stats/reasons.h"
#include "core/util/clock.h"

static const char *table = NFT_TABLE_DEFAULT;

static int
load(const char *path, struct conf *c, struct geo_db *db)
{
	struct geo_source src[GEO_LAYER_MAX];
	char err[1024];

	if (conf_load(path, c, err, sizeof(err)) < 0) {
		fprintf(stderr, "nftload: %s\n", err);
		return -1;
	}
	for (unsigned i = 0; i < c->ngeo; i++) {
		src[i].path = c->geo_path[i];
		src[i].field = c->geo_field[i];
	}
	if (geo_db_build(src, c->ngeo, c->overrides, c->noverrides, db, err,
	        sizeof(err)) < 0) {
		fprintf(stderr, "nftload: %s\n", err);
		return -1;
	}
	return 0;
}

static long
maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
print_counters(struct nft_ctx *x, const struct conf *c)
{
	struct stats *s = calloc(1, sizeof(*s));

	if (s == NULL || nft_counters(x, s) < 0) {
		fprintf(stderr, "nftload: counters failed\n");
		free(s);
		return;
	}
	printf("{\"packets\": %llu, \"actions\": {",
	    (unsigned long long)s->packets);
	for (unsigned a = 0; a < CDN_ACT_MAX; a++)
		printf("%s\"%s\": %llu", a ? ", " : "", cdn_action_name(a),
		    (unsigned long long)s->action[a]);
	printf("}, \"rules\": [");
	for (unsigned i = 0; i < c->nrules; i++)
		printf("%s%llu", i ? ", " : "", (unsigned long long)s->rule[i]);
	printf("], \"default\": %llu, \"ports\": {",
	    (unsigned long long)s->rule[STATS_RULE_DEFAULT]);
	for (unsigned i = 0; i < c->nports; i++)
		printf("%s\"%s\": [%llu, %llu]", i ? ", " : "",
		    c->ports[i].name, (unsigned long long)s->port[i].rx_packets,
		    (unsigned long long)s->port[i].tx_packets);
	printf("}}\n");
	free(s);
}

/* "ADDR,PORT,SECS" */
static int
session_opt(struct nft_ctx *x, const char *spec)
{
	char addr[64];
	unsigned port, secs;
	uint8_t a[16];
	int af;

	if (sscanf(spec, "%63[^,],%u,%u", addr, &port, &secs) != 3) {
		errno = EINVAL;
		return -1;
	}
	af = strchr(addr, ':') ? 6 : 4;
	if (inet_pton(af == 4 ? AF_INET : AF_INET6, addr, a) != 1) {
		errno = EINVAL;
		return -1;
	}
	return nft_session_add(x, af, a, (uint16_t)port, secs);
}

/* WALL_MS: nft_apply() as a whole (policy compile, counters, batch). */
static void
print_batch(const char *what, const struct nft_ctx *x, double wall_ms)
{
	const struct nft_info *in = nft_last(x);

	printf("%s kind=%s elems=%zu dels=%zu msgs=%zu bytes=%zu "
	       "build_ms=%.1f send_ms=%.1f wall_ms=%.1f retries=%u "
	       "maxrss_kb=%ld\n",
	    what,
	    in->delta      ? "delta"
	    : in->fallback ? "fallback"
	                   : "full",
	    in->elems, in->dels, in->msgs, in->bytes, in->build_ms, in->send_ms,
	    wall_ms, in->retries, maxrss_kb());
}

static int
apply_timed(struct nft_ctx *x, const struct conf *c, const struct geo_tables *g,
    const struct nft_opts *o, double *ms, char *err, size_t errlen)
{
	uint64_t t0 = clk_mono_ns();
	int rc = nft_apply(x, c, g, o, err, errlen);

	*ms = (double)(clk_mono_ns() - t0) / 1e6;
	return rc;
}

/* The follow-ups of -K / -N: CONF2 with the first tables or its own. */
struct nftload_next {
	const char *path;
	bool own_geo;
};

static int
apply_next(struct nft_ctx *x, const struct nftload_next *n,
    const struct geo_db *db0, const struct nft_opts *o, char *err,
    size_t errlen)
{
	struct conf *c = calloc(1, sizeof(*c));
	struct geo_db db = { 0 };
	double ms = 0;
	int rc = -1;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (!n->own_geo ? conf_load(n->path, c, err, errlen) == 0
	                : load(n->path, c, &db) == 0)
		rc = apply_timed(x, c, n->own_geo ? db.tables : db0->tables, o,
		    &ms, err, errlen);
	else
		snprintf(err, errlen, "%s: not loaded", n->path);
	if (rc == 0)
		print_batch(n->own_geo ? "reload" : "commit", x, ms);
	geo_db_free(&db);
	free(c);
	return rc;
}

static int
cmd_apply(int argc, char **argv)
{
	struct nft_opts o = { .mode = NFT_MODE_ROUTER };
	struct conf *c = calloc(1, sizeof(*c));
	struct geo_db db = { 0 };
	struct nft_ctx *x = NULL;
	unsigned n = 1, secs = 0;
	char err[1024];
	const char *sess = NULL;
	struct nftload_next next[8];
	unsigned nnext = 0;
	const char *before = NULL;
	bool fault = false;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "E:FGH:K:N:Rn:c:s:X")) != -1) {
		switch (opt) {
		case 'E':
			before = optarg;
			break;
		case 'X':
			fault = true;
			break;
		case 'F':
			o.full = true;
			break;
		case 'K':
		case 'N':
			if (nnext < 8)
				next[nnext++] =
				    (struct nftload_next){ optarg, opt == 'N' };
			break;
		case 'H':
			o.mode = NFT_MODE_HOST;
			o.host_if = optarg;
			break;
		case 'R':
			o.no_routes = true;
			break;
		case 'n':
			n = (unsigned)atoi(optarg);
			break;
		case 'c':
			secs = (unsigned)atoi(optarg);
			break;
		case 's':
			sess = optarg;
			break;
		case 'G':
			o.stale_gen_once = true;
			break;
		default:
			goto out;
		}
	}
	if (optind >= argc || c == NULL || load(argv[optind], c, &db) < 0)
		goto out;
	if ((x = nft_open(table, err, sizeof(err))) == NULL)
		goto fail;
	printf("geo maxrss_kb=%ld\n", maxrss_kb());
	for (unsigned i = 0; i < n; i++) {
		double ms;

		if (apply_timed(x, c, db.tables, &o, &ms, err, sizeof(err)) < 0)
			goto fail;
		print_batch(i ? "replace" : "load", x, ms);
		if (i == 0 && sess != NULL && session_opt(x, sess) < 0) {
			snprintf(err, sizeof(err), "session %s: %s", sess,
			    strerror(errno));
			goto fail;
		}
	}
	o.inject_bad_elem = fault;
	for (unsigned i = 0; i < nnext; i++) {
		fflush(stdout);
		if (before != NULL && system(before) != 0) {
			snprintf(err, sizeof(err), "%s failed", before);
			goto fail;
		}
		if (apply_next(x, &next[i], &db, &o, err, sizeof(err)) < 0) {
			if (!o.inject_bad_elem)
				goto fail;
			printf("refused %s: %s\n",
			    nft_last(x)->delta ? "delta" : "full", err);
		}
		o.inject_bad_elem = false;
	}
	fflush(stdout);
	if (secs > 0) {
		sleep(secs);
		print_counters(x, c);
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "nftload: %s%s\n",
	    x != NULL && nft_last(x)->delta ? "delta refused: " : "", err);
out:
	nft_close(x);
	geo_db_free(&db);
	free(c);
	return rc;
}

static void
text_set(const char *name, const char *type, const struct nft_ivs *l, int af)
{
	char a[64], b[64];
	uint8_t k[16];

	printf("\tset %s {\n\t\ttype %s\n\t\tflags interval\n", name, type);
	if ((af == 4 ? l->n4 : l->n6) > 0)
		printf("\t\telements = { ");
	for (size_t i = 0; i < (af == 4 ? l->n4 : l->n6); i++) {
		if (af == 4) {
			uint32_t lo = htonl(l->v4[i].lo),
			         hi = htonl(l->v4[i].hi);

			inet_ntop(AF_INET, &lo, a, sizeof(a));
			inet_ntop(AF_INET, &hi, b, sizeof(b));
		} else {
			nft_u128_bytes(l->v6[i].lo, k);
			inet_ntop(AF_INET6, k, a, sizeof(a));
			nft_u128_bytes(l->v6[i].hi, k);
			inet_ntop(AF_INET6, k, b, sizeof(b));
		}
		printf("%s%s-%s", i ? ",\n\t\t\t" : "", a, b);
	}
	if ((af == 4 ? l->n4 : l->n6) > 0)
		printf(" }\n");
	printf("\t}\n");
}

static int
text_sets(const struct conf *c, const struct geo_tables *g,
    const struct conf_ccset *s, char done[][64], unsigned *ndone)
{
	char n4[64], n6[64];
	struct nft_ivs l;

	nft_set_name(c, s, 4, n4, sizeof(n4));
	nft_set_name(c, s, 6, n6, sizeof(n6));
	for (unsigned i = 0; i < *ndone; i++)
		if (strcmp(done[i], n4) == 0)
			return 0;
	snprintf(done[(*ndone)++], 64, "%s", n4);
	if (nft_iv_export(g, s, &l) < 0)
		return -1;
	text_set(n4, "ipv4_addr", &l, 4);
	text_set(n6, "ipv6_addr", &l, 6);
	nft_ivs_free(&l);
	return 0;
}

/*
 * The region sets the rules use, as an nft(8) file replacing the table
 * atomically like nft_apply() does: the benchmark's reference.
 */
static int
cmd_text(const char *path)
{
	static char done[2 * CONF_RULE_MAX][64];
	struct conf *c = calloc(1, sizeof(*c));
	struct geo_db db = { 0 };
	unsigned ndone = 0;
	int rc = 1;

	if (c == NULL || load(path, c, &db) < 0)
		goto out;
	printf("add table inet %s\ndelete table inet %s\ntable inet %s {\n",
	    table, table, table);
	for (unsigned i = 0; i < c->nrules; i++)
		if ((!c->rules[i].src_any &&
		        text_sets(c, db.tables, &c->rules[i].src, done,
		            &ndone) < 0) ||
		    (!c->rules[i].dst_any &&
		        text_sets(c, db.tables, &c->rules[i].dst, done,
		            &ndone) < 0))
			goto out;
	printf("}\n");
	rc = 0;
out:
	geo_db_free(&db);
	free(c);
	return rc;
}

static int
cmd_session(int argc, char **argv, bool add)
{
	uint8_t a[16];
	char err[512];
	int af = strchr(argv[0], ':') ? 6 : 4;
	struct nft_ctx *x;
	int rc;

	if (argc < (add ? 3 : 2) ||
	    inet_pton(af == 4 ? AF_INET : AF_INET6, argv[0], a) != 1) {
		fprintf(stderr, "nftload: bad session arguments\n");
		return 1;
	}
	if ((x = nft_open(table, err, sizeof(err))) == NULL) {
		fprintf(stderr, "nftload: %s\n", err);
		return 1;
	}
	rc = add ? nft_session_add(x, af, a, (uint16_t)atoi(argv[1]),
	               (unsigned)atoi(argv[2]))
	         : nft_session_del(x, af, a, (uint16_t)atoi(argv[1]));
	if (rc < 0)
		perror("nftload: session");
	nft_close(x);
	return rc < 0;
}

static int
cmd_remove(void)
{
	char err[512];
	struct nft_ctx *x = nft_open(table, err, sizeof(err));

	if (x == NULL || nft_remove(x, err, sizeof(err)) < 0) {
		fprintf(stderr, "nftload: %s\n", err);
		nft_close(x);
		return 1;
	}
	nft_close(x);
	return 0;
}

int
main(int argc, char **argv)
{
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "-t") == 0) {
		table = argv[2];
		i = 3;
	}
	if (i >= argc)
		goto usage;
	if (strcmp(argv[i], "apply") == 0) {
		optind = 1;
		return cmd_apply(argc - i, argv + i);
	}
	if (strcmp(argv[i], "text") == 0 && i + 1 < argc)
		return cmd_text(argv[i + 1]);
	if (strcmp(argv[i], "remove") == 0)
		return cmd_remove();
	if (strcmp(argv[i], "session-add") == 0)
		return cmd_session(argc - i - 1, argv + i + 1, true);
	if (strcmp(argv[i], "session-del") == 0)
		return cmd_session(argc - i - 1, argv + i + 1, false);
usage:
	fprintf(stderr,
	    "usage: nftload [-t TABLE] apply CONF [-H IF] [-R] [-F] "
	    "[-n N] [-c SECS] [-K CONF2] [-N CONF2] [-X] [-E CMD] | text CONF "
	    "| remove | session-add ADDR PORT SECS | session-del ADDR PORT\n");
	return 1;
}
