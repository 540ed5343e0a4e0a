/*
 * dpc_tool: drives cordon-dp's control channel through control/dpc, the
 * client library cordond uses, for tests/dp/test_control.py.
 *
 *   dpc_tool SOCKET hello|status        JSON status on stdout
 *   dpc_tool SOCKET stats [CONF]        summed counters (memfd) as JSON
 *   dpc_tool SOCKET load CONF REVISION [--geodb DB [--geo-field F]]...
 *            [--no-geo] [--corrupt WHAT]
 *   dpc_tool - hash CONF                policy hash of CONF
 *   dpc_tool - policy CONF OUT          the flat policy of CONF, raw
 *
 * load compiles CONF as cordond does (conf_load, pol_compile with config
 * port indexes, the config's databases and overrides) and pushes it;
 * --corrupt damages the bundle on the way (policy-class, policy-action,
 * policy-nexthop, policy-bits, geo-tbl24, geo-root6, geo-cycle,
 * geo-truncate).  Exit 0 on success, 1 when refused (message on
 * stderr), 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load/conf.h"
#include "control/dpc/dpc.h"
#include "wire/dpc_proto.h"
#include "config/geo/geo_build.h"
#include "config/policy/pol_compile.h"
#include "config/rev/rev.h"

#define TIMEOUT_MS 20000

static struct conf conf;
static struct policy pol;

static void
hex(const uint8_t *h, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static int
compile(const char *path)
{
	char err[512];

	if (conf_load(path, &conf, err, sizeof(err)) != 0 ||
	    pol_compile(&conf, NULL, &pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "dpc_tool: %s\n", err);
		return -1;
	}
	return 0;
}

static void
status_print(const struct dpc_status *st)
{
	char ph[2 * DPC_HASH_LEN + 1], gh[2 * DPC_HASH_LEN + 1];

	hex(st->policy_hash, DPC_HASH_LEN, ph);
	hex(st->geo_hash, DPC_HASH_LEN, gh);
	printf("{\"pid\":%d,\"revision\":%llu,\"policy_hash\":\"%s\","
	       "\"geo_hash\":\"%s\",\"started_unix_ns\":%llu,"
	       "\"activated_unix_ns\":%llu,\"workers\":%u,\"ports\":[",
	    (int)st->pid, (unsigned long long)st->revision, ph, gh,
	    (unsigned long long)st->started_unix_ns,
	    (unsigned long long)st->activated_unix_ns, st->workers);
	for (unsigned i = 0; i < st->nports; i++)
		printf("%s\"%s\"", i ? "," : "", st->port[i]);
	printf("]}\n");
}

static struct dpc *
open_hello(const char *sock, struct dpc_status *st)
{
	struct dpc *c = dpc_connect(sock, 5000);

	if (c == NULL) {
		fprintf(stderr, "dpc_tool: connect %s: %s\n", sock,
		    strerror(errno));
		return NULL;
	}
	if (dpc_hello(c, st) != 0) {
		fprintf(stderr, "dpc_tool: hello: %s\n", strerror(errno));
		dpc_close(c);
		return NULL;
	}
	return c;
}

static int
cmd_status(const char *sock, int hello)
{
	struct dpc_status st;
	struct dpc *c;
	int rc = 0;

	if ((c = open_hello(sock, &st)) == NULL)
		return 1;
	if (!hello && dpc_status_get(c, &st) != 0) {
		fprintf(stderr, "dpc_tool: status: %s\n", strerror(errno));
		rc = 1;
	}
	if (rc == 0)
		status_print(&st);
	dpc_close(c);
	return rc;
}

static int
cmd_stats(const char *sock, const char *confpath)
{
	static struct stats sum;
	struct stats_names names;
	struct dpc_status st;
	struct dpc *c;

	if (confpath && compile(confpath) != 0)
		return 2;
	if ((c = open_hello(sock, &st)) == NULL)
		return 1;
	dpc_stats_sum(c, &sum);
	memset(&names, 0, sizeof(names));
	names.nports = st.nports;
	for (unsigned i = 0; i < st.nports; i++)
		names.port[i] = st.port[i];
	names.pol = confpath ? &pol : NULL;
	stats_print_json(&sum, &names, stdout);
	dpc_close(c);
	return 0;
}

static int
corrupt_policy(const char *what)
{
	if (strcmp(what, "policy-class") == 0)
		pol.port_class[0][22] = 255;
	else if (strcmp(what, "policy-action") == 0)
		pol.rule[0].action = 9;
	else if (strcmp(what, "policy-nexthop") == 0)
		pol.nexthop[0].port = 15;
	else if (strcmp(what, "policy-bits") == 0)
		pol.src_cc[1].w[POL_WORDS - 1] |= 1ULL << 63;
	else
		return 0;
	return 1;
}

/* The blob's header: offsets at fixed places (core/geo/geo_blob.c). */
static uint64_t
blob_u64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static int
corrupt_geo(const char *what, uint8_t *b, size_t *len)
{
	uint32_t nodes, bad;

	memcpy(&nodes, b + 16, sizeof(nodes));
	if (strcmp(what, "geo-tbl24") == 0) {
		uint16_t e = 0xffff;

		memcpy(b + blob_u64(b, 24) + 2 * 12345, &e, sizeof(e));
	} else if (strcmp(what, "geo-root6") == 0) {
		bad = 0x40000000u | (nodes + 7);
		memcpy(b + blob_u64(b, 40) + 4 * 0x2001, &bad, sizeof(bad));
	} else if (strcmp(what, "geo-cycle") == 0) {
		/* Node 0's first entry points back at node 0. */
		bad = 0x40000000u;
		if (nodes == 0)
			return -1;
		memcpy(b + blob_u64(b, 48), &bad, sizeof(bad));
	} else if (strcmp(what, "geo-truncate") == 0) {
		*len -= 4096;
	} else {
		return -1;
	}
	return 0;
}

static int
build_geo(struct geo_source *src, unsigned n, struct geo_db *db)
{
	char err[512];

	if (n == 0)
		n = rev_geo_sources(&conf, src);
	if (geo_db_build(src, n, conf.overrides, conf.noverrides, db, err,
	        sizeof(err)) != 0) {
		fprintf(stderr, "dpc_tool: %s\n", err);
		return -1;
	}
	return 0;
}

struct load_opts {
	const char *corrupt;
	int no_geo;
	unsigned ngeo;
	struct geo_source src[GEO_LAYER_MAX];
};

static int
load_opts(int argc, char **argv, struct load_opts *o)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--no-geo") == 0) {
			o->no_geo = 1;
		} else if (strcmp(argv[i], "--corrupt") == 0 && i + 1 < argc) {
			o->corrupt = argv[++i];
		} else if (strcmp(argv[i], "--geodb") == 0 && i + 1 < argc &&
		           o->ngeo < GEO_LAYER_MAX) {
			o->src[o->ngeo].path = argv[++i];
			o->src[o->ngeo++].field = GEO_DEFAULT_FIELD;
		} else if (strcmp(argv[i], "--geo-field") == 0 &&
		           i + 1 < argc && o->ngeo > 0) {
			o->src[o->ngeo - 1].field = argv[++i];
		} else {
			fprintf(stderr, "dpc_tool: load: bad option %s\n",
			    argv[i]);
			return -1;
		}
	}
	return 0;
}

static int
push(const char *sock, uint64_t rev, const void *blob, size_t len)
{
	struct dpc_status st;
	uint8_t gh[DPC_HASH_LEN];
	char err[300];
	struct dpc *c;
	int rc;

	memset(gh, 0, sizeof(gh));
	gh[0] = (uint8_t)rev; /* an opaque stamp, echoed back */
	if ((c = open_hello(sock, &st)) == NULL)
		return 1;
	rc = dpc_load_blob(c, rev, &pol, blob, len, gh, TIMEOUT_MS, err,
	    sizeof(err));
	if (rc != 0)
		fprintf(stderr, "dpc_tool: refused (%s): %s\n", strerror(errno),
		    err);
	else
		printf("loaded revision %llu\n", (unsigned long long)rev);
	dpc_close(c);
	return rc == 0 ? 0 : 1;
}

static int
cmd_load(const char *sock, int argc, char **argv)
{
	static struct load_opts o;
	static struct geo_db db;
	void *blob = NULL;
	size_t len = 0;
	uint64_t rev;
	int rc;

	if (argc < 2 || load_opts(argc - 2, argv + 2, &o) != 0)
		return 2;
	rev = strtoull(argv[1], NULL, 10);
	if (compile(argv[0]) != 0)
		return 2;
	if (o.corrupt)
		(void)corrupt_policy(o.corrupt);
	if (!o.no_geo) {
		if (build_geo(o.src, o.ngeo, &db) != 0)
			return 2;
		if (geo_tables_export(db.tables, &blob, &len) != 0) {
			perror("dpc_tool: export");
			return 2;
		}
		geo_db_free(&db);
		if (o.corrupt && strncmp(o.corrupt, "geo-", 4) == 0 &&
		    corrupt_geo(o.corrupt, blob, &len) != 0)
			return 2;
	}
	rc = push(sock, rev, blob, len);
	free(blob);
	return rc;
}

static int
cmd_local(int argc, char **argv)
{
	uint8_t h[DPC_HASH_LEN];
	char hx[2 * DPC_HASH_LEN + 1];
	FILE *f;

	if (argc >= 4 && strcmp(argv[2], "hash") == 0) {
		if (compile(argv[3]) != 0)
			return 2;
		dpc_policy_hash(&pol, h);
		hex(h, sizeof(h), hx);
		printf("%s\n", hx);
		return 0;
	}
	if (argc >= 5 && strcmp(argv[2], "policy") == 0) {
		if (compile(argv[3]) != 0 || (f = fopen(argv[4], "wb")) == NULL)
			return 2;
		fwrite(&pol, sizeof(pol), 1, f);
		return fclose(f) == 0 ? 0 : 2;
	}
	return 2;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3) {
		fprintf(stderr,
		    "usage: dpc_tool SOCKET hello|status|stats|load "
		    "...\n");
		return 2;
	}
	if (strcmp(argv[1], "-") == 0)
		return cmd_local(argc, argv);
	if (strcmp(argv[2], "hello") == 0 || strcmp(argv[2], "status") == 0)
		return cmd_status(argv[1], strcmp(argv[2], "hello") == 0);
	if (strcmp(argv[2], "stats") == 0)
		return cmd_stats(argv[1], argc > 3 ? argv[3] : NULL);
	if (strcmp(argv[2], "load") == 0)
		return cmd_load(argv[1], argc - 3, argv + 3);
	fprintf(stderr, "dpc_tool: unknown command %s\n", argv[2]);
	return 2;
}
