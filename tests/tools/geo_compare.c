/*
 * geo_compare --geodb FILE --field PATH [--random N] [--seed S]
 *
 * Compiles FILE with geo_db_build() and checks the tables against
 * libmaxminddb on N random IPv4 and N random IPv6 addresses (half of the
 * IPv6 ones inside 2000::/3) and on the first and last address of every
 * prefix in the database.  Addresses in a built-in prefix
 * (config/geo/geo_special.c) are expected to answer its special-purpose
 * sub-region, or, in an IPv4-embedding alias (::ffff:0:0/96, 6to4, NAT64,
 * Teredo), as their embedded IPv4 address; an answer ISO 3166-1 does not
 * assign is expected to be unknown.  Exit 0 only with no mismatch.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_special.h"
#include "tests/tools/geo_tool.h"

#define GC_SHOW_MAX 20
#define GC_BURST    32

struct gc {
	MMDB_s mmdb;
	const char *path[GT_PATH_MAX + 1];
	struct geo_tables *t;
	uint64_t checked;
	uint64_t mismatches;
};

static void
gc_mismatch(struct gc *g, const char *what, const char *addr, geo_cc_t ours,
    geo_cc_t want)
{
	char a[GEO_CC_STRLEN], b[GEO_CC_STRLEN];

	if (g->mismatches++ >= GC_SHOW_MAX)
		return;
	geo_cc_format(ours, a);
	geo_cc_format(want, b);
	printf("MISMATCH %s %s: table %s, libmaxminddb %s\n", what, addr, a, b);
}

/* The reference for IPv4: a special-purpose block, else libmaxminddb. */
static geo_cc_t
gc_want4(struct gc *g, uint32_t a)
{
	uint8_t b[16] = { a >> 24, a >> 16, a >> 8, a };
	const struct geo_builtin *sp = geo_builtin_find(4, b, 32);

	return sp != NULL ? sp->cc : gt_mmdb4(&g->mmdb, a, g->path);
}

static void
gc_check4(struct gc *g, const char *what, uint32_t a, geo_cc_t ours)
{
	geo_cc_t want = gc_want4(g, a);
	struct in_addr in = { .s_addr = htonl(a) };
	char buf[INET_ADDRSTRLEN];

	g->checked++;
	if (ours == want)
		return;
	inet_ntop(AF_INET, &in, buf, sizeof(buf));
	gc_mismatch(g, what, buf, ours, want);
}

/*
 * The reference for IPv6: the built-in prefix written last that holds A
 * decides (a sub-region, or the IPv4 address an alias carries: every
 * built-in alias starts on a byte), then the database, whose own IPv4
 * subtree at ::/96 answers as IPv4.
 */
static geo_cc_t
gc_want6(struct gc *g, const uint8_t a[16])
{
	static const uint8_t zero[12];
	const struct geo_builtin *b = geo_builtin_find(6, a, 128);
	uint32_t v4;

	if (b != NULL && b->cc != GEO_CC_UNKNOWN)
		return b->cc;
	if (b != NULL) {
		v4 = gt_be32(a + b->off / 8);
		return gc_want4(g, b->inverted ? ~v4 : v4);
	}
	if (g->mmdb.metadata.ip_version == 4)
		return GEO_CC_UNKNOWN;
	if (memcmp(a, zero, 12) == 0)
		return gc_want4(g, gt_be32(a + 12));
	return gt_mmdb6(&g->mmdb, a, g->path);
}

static void
gc_check6(struct gc *g, const char *what, const uint8_t a[16])
{
	geo_cc_t ours = geo_lookup6(g->t, a), want = gc_want6(g, a);
	char buf[INET6_ADDRSTRLEN];

	g->checked++;
	if (ours == want)
		return;
	gt_addr6_str(a, buf);
	gc_mismatch(g, what, buf, ours, want);
}

/* Random IPv4 in bursts, so that the bulk form is checked as well. */
static void
gc_random4(struct gc *g, uint64_t n, uint64_t *seed)
{
	uint32_t a[GC_BURST];
	geo_cc_t cc[GC_BURST];
	uint64_t i;
	unsigned j;

	for (i = 0; i < n; i += GC_BURST) {
		for (j = 0; j < GC_BURST; j++)
			a[j] = (uint32_t)gt_rand(seed);
		geo_lookup4_bulk(g->t, a, cc, GC_BURST);
		for (j = 0; j < GC_BURST; j++) {
			if (cc[j] != geo_lookup4(g->t, a[j]))
				gc_mismatch(g, "bulk4", "-", cc[j],
				    geo_lookup4(g->t, a[j]));
			gc_check4(g, "random4", a[j], cc[j]);
		}
	}
}

static void
gc_rand6(uint8_t a[16], uint64_t i, uint64_t *seed)
{
	uint64_t x = gt_rand(seed), y = gt_rand(seed);
	unsigned k;

	if (i & 1) /* global unicast, where the data is */
		x = (x & ~(7ull << 61)) | (1ull << 61);
	else if ((i & 63) == 0) /* some IPv4-mapped too */
		x = 0, y = (y & 0xffffffffull) | (0xffffull << 32);
	else if ((i & 63) == 2) /* 6to4 */
		x = (x & 0x0000ffffffffffffull) | (0x2002ull << 48);
	else if ((i & 63) == 4) /* Teredo */
		x = (x & 0xffffffffull) | (0x20010000ull << 32);
	else if ((i & 63) == 6) /* NAT64 */
		x = 0x0064ff9b00000000ull, y &= 0xffffffffull;
	for (k = 0; k < 8; k++) {
		a[k] = x >> (56 - 8 * k);
		a[8 + k] = y >> (56 - 8 * k);
	}
}

/* Random IPv6 in bursts: the bulk form must agree with the scalar one. */
static void
gc_random6(struct gc *g, uint64_t n, uint64_t *seed)
{
	uint8_t a[GC_BURST][16];
	const uint8_t *ap[GC_BURST];
	geo_cc_t cc[GC_BURST];
	uint64_t i;
	unsigned j;

	for (j = 0; j < GC_BURST; j++)
		ap[j] = a[j];
	for (i = 0; i < n; i += GC_BURST) {
		for (j = 0; j < GC_BURST; j++)
			gc_rand6(a[j], i + j, seed);
		geo_lookup6_bulk(g->t, ap, cc, GC_BURST);
		for (j = 0; j < GC_BURST; j++) {
			if (cc[j] != geo_lookup6(g->t, a[j]))
				gc_mismatch(g, "bulk6", "-", cc[j],
				    geo_lookup6(g->t, a[j]));
			gc_check6(g, "random6", a[j]);
		}
	}
}

static void
gc_prefix(struct gc *g, const struct gt_prefix *p)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t last[16], m[16];
	uint32_t a;
	int end;

	gt_prefix_last(p, last);
	if (!p->v4) {
		gc_check6(g, "first6", p->addr);
		gc_check6(g, "last6", last);
		return;
	}
	for (end = 0; end < 2; end++) {
		a = gt_be32(end ? last : p->addr);
		gc_check4(g, end ? "last4" : "first4", a, geo_lookup4(g->t, a));
		memcpy(m, mapped, 12);
		memcpy(m + 12, end ? last : p->addr, 4);
		gc_check6(g, "mapped", m);
	}
}

static int
gc_prefixes(struct gc *g)
{
	struct gt_plist l = { 0 };
	size_t i, n4 = 0;

	if (gt_walk_db(&g->mmdb, &l) != 0) {
		fprintf(stderr, "geo_compare: cannot walk the search tree\n");
		free(l.p);
		return -1;
	}
	for (i = 0; i < l.n; i++) {
		n4 += l.p[i].v4;
		gc_prefix(g, &l.p[i]);
	}
	printf("prefixes_v4: %zu\nprefixes_v6: %zu\n", n4, l.n - n4);
	free(l.p);
	return 0;
}

static void
gc_usage(void)
{
	fprintf(stderr, "usage: geo_compare --geodb FILE --field PATH "
	                "[--random N] [--seed S]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "geodb", required_argument, NULL, 'g' },
		{ "field", required_argument, NULL, 'f' },
		{ "random", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct geo_source src = { NULL, GEO_DEFAULT_FIELD };
	uint64_t n = 1000000, seed = 1, c0;
	struct geo_db db;
	char err[512], field[GEO_FIELD_MAX];
	struct gc g;
	int o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'g':
			src.path = optarg;
			break;
		case 'f':
			src.field = optarg;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		default:
			gc_usage();
		}
	}
	if (src.path == NULL || strlen(src.field) >= sizeof(field))
		gc_usage();
	memset(&g, 0, sizeof(g));
	strcpy(field, src.field);
	if (gt_split(field, g.path) == -1)
		gc_usage();
	if (geo_db_build(&src, 1, NULL, 0, &db, err, sizeof(err)) == -1) {
		fprintf(stderr, "geo_compare: %s\n", err);
		return 1;
	}
	if (MMDB_open(src.path, MMDB_MODE_MMAP, &g.mmdb) != MMDB_SUCCESS) {
		fprintf(stderr, "geo_compare: %s: cannot open\n", src.path);
		return 1;
	}
	g.t = db.tables;
	geo_db_print(&db, stdout);
	c0 = g.checked;
	gc_random4(&g, n, &seed);
	printf("checked_random4: %llu\n", (unsigned long long)(g.checked - c0));
	c0 = g.checked;
	gc_random6(&g, n, &seed);
	printf("checked_random6: %llu\n", (unsigned long long)(g.checked - c0));
	c0 = g.checked;
	if (gc_prefixes(&g) == -1)
		g.mismatches++;
	printf("checked_prefix_ends: %llu\n",
	    (unsigned long long)(g.checked - c0));
	printf("checked: %llu\nmismatches: %llu\n",
	    (unsigned long long)g.checked, (unsigned long long)g.mismatches);
	MMDB_close(&g.mmdb);
	geo_db_free(&db);
	return g.mismatches == 0 ? 0 : 1;
}
