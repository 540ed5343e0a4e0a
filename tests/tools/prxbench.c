/*
 * prxbench [--flows N] [--seed S]
 *
 * The proxied flows' table (core/prx/prx_flow.c): memory per flow, and
 * inserts (a SYN opening a flow) and lookups (a packet of a decided
 * flow) per second with N flows (default one million) in a table of 2N
 * entries (buckets of 8; a full bucket refuses, so the table is sized
 * with headroom as a deployment would be).  Keys are IPv4 relays and
 * ports in random order.  Prints `key: value` lines for scripts.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/prx/prx.h"
#include "core/prx/prx_flow.h"

static double
pb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
pb_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Flow I's key: relay 10.x.y.z, service 192.0.2.9:22, random port. */
static void
pb_key(unsigned i, uint64_t r, struct prx_fkey *k)
{
	memset(k, 0, sizeof(*k));
	k->af = 4;
	k->src[0] = 10;
	k->src[1] = (uint8_t)(i >> 16);
	k->src[2] = (uint8_t)(i >> 8);
	k->src[3] = (uint8_t)i;
	k->sport = (uint16_t)r;
	k->dport = 22;
	memcpy(k->dst, "\xc0\x00\x02\x09", 4);
}

int
main(int argc, char **argv)
{
	unsigned n = 1000000, ok = 0, hit = 0;
	uint64_t seed = 1, s, *r;
	struct prx_flow_table *t;
	struct prx_fkey k;
	size_t bytes;
	double t0, ins, look;
	int c;

	while ((c = getopt_long(argc, argv, "",
	            (const struct option[]){ { "flows", 1, NULL, 'n' },
	                { "seed", 1, NULL, 's' }, { NULL, 0, NULL, 0 } },
	            NULL)) != -1) {
		if (c == 'n')
			n = (unsigned)strtoul(optarg, NULL, 10);
		else if (c == 's')
			seed = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	bytes = prx_flow_size(2 * n, PRX_BUFS_DEFAULT, PRX_WINDOW_DEF);
	t = prx_flow_new(2 * n, PRX_BUFS_DEFAULT, PRX_WINDOW_DEF, 1u << 30, 7);
	r = malloc(n * sizeof(*r));
	if (t == NULL || r == NULL || bytes == 0) {
		perror("prxbench");
		return 1;
	}
	s = seed | 1;
	for (unsigned i = 0; i < n; i++)
		r[i] = pb_rnd(&s);
	t0 = pb_now();
	for (unsigned i = 0; i < n; i++) {
		pb_key(i, r[i], &k);
		ok += prx_flow_open(t, &k, 1, 1) != NULL;
	}
	ins = pb_now() - t0;
	t0 = pb_now();
	for (unsigned j = 0; j < n; j++) {
		unsigned i = (unsigned)(pb_rnd(&s) % n);

		pb_key(i, r[i], &k);
		hit += prx_flow_find(t, &k, 2) != NULL;
	}
	look = pb_now() - t0;
	printf("flows: %u\n", n);
	printf("entries: %u\n", 2 * n);
	printf("inserted: %u\n", ok);
	printf("refused: %u\n", n - ok);
	printf("found: %u\n", hit);
	printf("entry_bytes: %zu\n", sizeof(struct prx_flow));
	printf("table_bytes_per_flow: %.0f\n", (double)bytes / n);
	printf("insert_per_s: %.0f\n", n / ins);
	printf("lookup_per_s: %.0f\n", n / look);
	prx_flow_free(t);
	free(r);
	return 0;
}
