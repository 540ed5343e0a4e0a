/*
 * Helpers shared by geo_compare and geo_bench: a PRNG, a clock, the
 * libmaxminddb reference answer, and an independent walk of the MMDB
 * search tree (written separately from config/geo so that the
 * comparison does not share the compiler's bugs).  Header-only because
 * every .c file under tests/tools is a program of its own.
 */
#ifndef CORDON_GEO_TOOL_H
#define CORDON_GEO_TOOL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <maxminddb.h>

#include "core/geo/geo.h"

#define GT_PATH_MAX 16

struct gt_prefix {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes */
	uint8_t plen;
	uint8_t v4;   /* from the IPv4 subtree */
	uint8_t kind; /* GT_DATA, GT_EMPTY, GT_ALIAS */
};
#define GT_DATA  0
#define GT_EMPTY 1
#define GT_ALIAS 2

struct gt_plist {
	struct gt_prefix *p;
	size_t n, cap;
};

static inline uint64_t
gt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline double
gt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int
gt_split(char *field, const char **v)
{
	unsigned n = 0;
	char *p, *save = NULL;

	for (p = strtok_r(field, ".", &save); p != NULL && n < GT_PATH_MAX;
	     p = strtok_r(NULL, ".", &save))
		v[n++] = p;
	v[n] = NULL;
	return n > 0 ? 0 : -1;
}

static inline geo_cc_t
gt_entry_cc(MMDB_lookup_result_s *r, const char **path)
{
	MMDB_entry_data_s d;
	char s[3];
	int cc;

	if (!r->found_entry ||
	    MMDB_aget_value(&r->entry, &d, path) != MMDB_SUCCESS ||
	    !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    d.data_size != 2)
		return GEO_CC_UNKNOWN;
	memcpy(s, d.utf8_string, 2);
	s[2] = '\0';
	cc = geo_cc_parse(s);
	return cc < 0 ? GEO_CC_UNKNOWN : (geo_cc_t)cc;
}

/* libmaxminddb's answer for an IPv4 address (host order). */
static inline geo_cc_t
gt_mmdb4(MMDB_s *db, uint32_t a, const char **path)
{
	struct sockaddr_in sin;
	MMDB_lookup_result_s r;
	int e;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(a);
	r = MMDB_lookup_sockaddr(db, (struct sockaddr *)&sin, &e);
	if (e != MMDB_SUCCESS)
		return GEO_CC_UNKNOWN;
	return gt_entry_cc(&r, path);
}

static inline geo_cc_t
gt_mmdb6(MMDB_s *db, const uint8_t a[16], const char **path)
{
	struct sockaddr_in6 sin6;
	MMDB_lookup_result_s r;
	int e;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	memcpy(&sin6.sin6_addr, a, 16);
	r = MMDB_lookup_sockaddr(db, (struct sockaddr *)&sin6, &e);
	if (e != MMDB_SUCCESS)
		return GEO_CC_UNKNOWN;
	return gt_entry_cc(&r, path);
}

static inline int
gt_plist_add(struct gt_plist *l, const uint8_t *addr, unsigned plen, int v4,
    int kind)
{
	struct gt_prefix *p;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		p = realloc(l->p, l->cap * sizeof(*p));
		if (p == NULL)
			return -1;
		l->p = p;
	}
	p = &l->p[l->n++];
	memcpy(p->addr, addr, 16);
	p->plen = plen;
	p->v4 = v4;
	p->kind = kind;
	return 0;
}

struct gt_walk {
	MMDB_s *db;
	struct gt_plist *out;
	uint32_t v4root;
	int v4;
};

static inline int
gt_walk_rec(struct gt_walk *w, uint64_t rec, uint8_t *addr, unsigned depth)
{
	uint32_t nodes = w->db->metadata.node_count;
	MMDB_search_node_s n;
	unsigned bits = w->v4 ? 32 : 128;
	int r;

	if (rec == nodes)
		return gt_plist_add(w->out, addr, depth, w->v4, GT_EMPTY);
	if (rec > nodes)
		return gt_plist_add(w->out, addr, depth, w->v4, GT_DATA);
	if (!w->v4 && depth > 0 && rec == w->v4root)
		return gt_plist_add(w->out, addr, depth, 0, GT_ALIAS);
	if (depth >= bits || MMDB_read_node(w->db, (uint32_t)rec, &n) != 0)
		return -1;
	if ((r = gt_walk_rec(w, n.left_record, addr, depth + 1)) != 0)
		return r;
	addr[depth / 8] |= 0x80 >> (depth % 8);
	r = gt_walk_rec(w, n.right_record, addr, depth + 1);
	addr[depth / 8] &= ~(0x80 >> (depth % 8));
	return r;
}

/* Every leaf of the tree: the IPv6 tree (aliases not entered) and IPv4. */
static inline int
gt_walk_db(MMDB_s *db, struct gt_plist *out)
{
	struct gt_walk w = { .db = db, .out = out };
	MMDB_search_node_s n;
	uint8_t addr[16] = { 0 };
	uint64_t rec = 0;
	unsigned i;

	if (db->metadata.ip_version == 6) {
		for (i = 0; i < 96 && rec < db->metadata.node_count; i++) {
			if (MMDB_read_node(db, (uint32_t)rec, &n) != 0)
				return -1;
			rec = n.left_record;
		}
		w.v4root = (uint32_t)rec;
		if (gt_walk_rec(&w, 0, addr, 0) != 0)
			return -1;
	}
	w.v4 = 1;
	return gt_walk_rec(&w, rec, addr, 0);
}

/* The last address of P (all host bits set). */
static inline void
gt_prefix_last(const struct gt_prefix *p, uint8_t *last)
{
	unsigned bits = p->v4 ? 32 : 128, i;

	memcpy(last, p->addr, 16);
	for (i = p->plen; i < bits; i++)
		last[i / 8] |= 0x80 >> (i % 8);
}

static inline uint32_t
gt_be32(const uint8_t *a)
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
	       (uint32_t)a[2] << 8 | a[3];
}

static inline void
gt_addr6_str(const uint8_t *a, char *buf)
{
	inet_ntop(AF_INET6, a, buf, INET6_ADDRSTRLEN);
}

#endif
