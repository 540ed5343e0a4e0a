/*
 * Geo tables as one flat, position-independent blob: how cordond hands
 * compiled tables to a running cordon-dp (docs/control.md, section 1).
 *
 * Layout (little-endian, every section 4 KiB aligned, canonical: the
 * offsets follow from the counts alone):
 *
 *	struct geo_blob_hdr	(with the class names and digests)
 *	lab	nlab x struct geo_lab (country, classes)
 *	tbl24	2^24 x u16
 *	tbl8	tbl8_groups x 256 x u16
 *	root6	2^16 x u32
 *	node6	node6_count x 256 x u32
 *
 * Export renumbers what is reachable (no free chains, no holes); import
 * trusts nothing: every entry of every array is range-checked and the
 * IPv6 trie is walked once to prove it is a tree of bounded depth before
 * a lookup may run on it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/geo/geo.h"
#include "core/geo/geo_impl.h"
#include "core/util/fail.h"

#define GEO_BLOB_NODE6_MAX (1u << 20)

#define GEO_BLOB_MAGIC  0x4f454743u /* "CGEO" */
#define GEO_BLOB_ALIGN  4096u
#define GEO6_LAST_LEVEL 15u /* node indexed by address byte 15 */

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "the blob is little-endian and read in place");

struct geo_blob_hdr {
	uint32_t magic;
	uint32_t version; /* GEO_BLOB_VERSION */
	uint32_t hdr_size;
	uint32_t tbl8_groups;
	uint32_t node6_count;
	uint32_t pad;
	uint64_t tbl24_off;
	uint64_t tbl8_off;
	uint64_t root6_off;
	uint64_t node6_off;
	uint64_t total_len;
	uint32_t nlab;
	uint32_t pad2;
	uint64_t lab_off;
	struct geo_classes cls;
};

struct geo_blob_layout {
	uint64_t lab, tbl24, tbl8, root6, node6, total;
};

static uint64_t
geo_blob_align(uint64_t v)
{
	return (v + GEO_BLOB_ALIGN - 1) & ~(uint64_t)(GEO_BLOB_ALIGN - 1);
}

/* Counts are bounded (< 2^30) so none of this overflows 64 bits. */
static void
geo_blob_layout(uint32_t groups, uint32_t nodes, uint32_t nlab,
    struct geo_blob_layout *l)
{
	l->lab = geo_blob_align(sizeof(struct geo_blob_hdr));
	l->tbl24 =
	    geo_blob_align(l->lab + (uint64_t)nlab * sizeof(struct geo_lab));
	l->tbl8 = geo_blob_align(l->tbl24 + (uint64_t)GEO_TBL24_SIZE * 2);
	l->root6 = geo_blob_align(l->tbl8 + (uint64_t)groups * 256 * 2);
	l->node6 = geo_blob_align(l->root6 + (uint64_t)GEO6_ROOT_SIZE * 4);
	l->total = l->node6 + (uint64_t)nodes * 256 * 4;
}

/* --- export -------------------------------------------------------------- */

/* Old group -> new group, in order of first use by tbl24. */
static uint32_t
geo_blob_map4(const struct geo_tables *t, uint32_t *map)
{
	uint32_t n = 0;

	for (uint32_t g = 0; g < t->tbl8_used; g++)
		map[g] = GEO_TBL8_NONE;
	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = t->tbl24[i];

		if (GEO_IS_TBL8(e) && map[e - GEO_TBL8_BASE] == GEO_TBL8_NONE)
			map[e - GEO_TBL8_BASE] = n++;
	}
	return n;
}

static void
geo_blob_put4(const struct geo_tables *t, const uint32_t *map, uint8_t *b,
    const struct geo_blob_layout *l)
{
	uint16_t *t24 = (uint16_t *)(b + l->tbl24);
	uint16_t *t8 = (uint16_t *)(b + l->tbl8);

	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = t->tbl24[i];

		if (GEO_IS_TBL8(e)) {
			uint32_t g = map[e - GEO_TBL8_BASE];

			memcpy(&t8[(size_t)g << 8],
			    &t->tbl8[(size_t)(e - GEO_TBL8_BASE) << 8], 512);
			e = (uint16_t)(GEO_TBL8_BASE + g);
		}
		t24[i] = e;
	}
}

/* Rewrites entry E for the new numbering, queueing nodes seen first. */
static uint32_t
geo_blob_ent6(uint32_t e, uint32_t *map, uint32_t *queue, uint32_t *n)
{
	uint32_t old;

	if ((e & GEO6_TAG_MASK) != GEO6_NODE)
		return e;
	old = e & GEO6_VAL_MASK;
	if (map[old] == GEO6_NONE) {
		map[old] = *n;
		queue[(*n)++] = old;
	}
	return GEO6_NODE | map[old];
}

/*
 * Breadth first from the root: new numbers are handed out in queue
 * order, so node K of the queue is node K of the blob.  Writes into B
 * when given, else only counts.
 */
static uint32_t
geo_blob_walk6(const struct geo_tables *t, uint32_t *map, uint32_t *queue,
    uint8_t *b, const struct geo_blob_layout *l)
{
	uint32_t n = 0, e;

	for (uint32_t i = 0; i < t->node6_used; i++)
		map[i] = GEO6_NONE;
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++) {
		e = geo_blob_ent6(t->root6[i], map, queue, &n);
		if (b)
			((uint32_t *)(b + l->root6))[i] = e;
	}
	for (uint32_t k = 0; k < n; k++)
		for (uint32_t i = 0; i < 256; i++) {
			e = geo_blob_ent6(t->node6[((size_t)queue[k] << 8) | i],
			    map, queue, &n);
			if (b)
				((uint32_t *)(b +
				              l->node6))[((size_t)k << 8) | i] =
				    e;
		}
	return n;
}

int
geo_tables_export(const struct geo_tables *t, void **blob, size_t *len)
{
	struct geo_blob_layout l;
	struct geo_blob_hdr *h;
	uint32_t *map4, *map6, *queue, groups, nodes;
	uint8_t *b = NULL;

	map4 = malloc(((size_t)t->tbl8_used + 1) * sizeof(*map4));
	map6 = malloc(((size_t)t->node6_used + 1) * sizeof(*map6));
	queue = malloc(((size_t)t->node6_used + 1) * sizeof(*queue));
	if (map4 == NULL || map6 == NULL || queue == NULL)
		goto nomem;
	groups = geo_blob_map4(t, map4);
	nodes = geo_blob_walk6(t, map6, queue, NULL, NULL);
	geo_blob_layout(groups, nodes, t->nlab, &l);
	if ((b = calloc(1, l.total)) == NULL)
		goto nomem;
	if (t->nlab > 0)
		memcpy(b + l.lab, t->lab, t->nlab * sizeof(struct geo_lab));
	geo_blob_put4(t, map4, b, &l);
	geo_blob_walk6(t, map6, queue, b, &l);
	h = (struct geo_blob_hdr *)b;
	*h = (struct geo_blob_hdr){ GEO_BLOB_MAGIC, GEO_BLOB_VERSION,
		sizeof(*h), groups, nodes, 0, l.tbl24, l.tbl8, l.root6, l.node6,
		l.total, t->nlab, 0, l.lab, t->cls };
	free(map4);
	free(map6);
	free(queue);
	*blob = b;
	*len = l.total;
	return 0;

nomem:
	free(map4);
	free(map6);
	free(queue);
	errno = ENOMEM;
	return -1;
}

/* --- import -------------------------------------------------------------- */

static int
geo_blob_check_hdr(const void *blob, size_t len, char *err, size_t errlen)
{
	const struct geo_blob_hdr *h = blob;
	struct geo_blob_layout l;

	if ((uintptr_t)blob % 8 != 0)
		return fail_with(err, errlen, EINVAL, "geo blob: misaligned");
	if (len < sizeof(*h))
		return fail_with(err, errlen, EINVAL,
		    "geo blob: %zu bytes, "
		    "shorter than its header",
		    len);
	if (h->magic != GEO_BLOB_MAGIC || h->hdr_size != sizeof(*h))
		return fail_with(err, errlen, EINVAL, "geo blob: bad magic");
	if (h->version != GEO_BLOB_VERSION)
		return fail_with(err, errlen, EINVAL,
		    "geo blob: version %u, "
		    "expected %u",
		    h->version, GEO_BLOB_VERSION);
	/*
	 * The trie could in principle have 2^30 nodes; a blob claiming more
	 * than GEO_BLOB_NODE6_MAX (1 GiB of nodes; the real whois database
	 * needs about 48k) would only make the main lcore fault in and walk
	 * memory for minutes.
	 */
	if (h->tbl8_groups > GEO_TBL8_MAX ||
	    h->node6_count > GEO_BLOB_NODE6_MAX || h->nlab > GEO_LAB_MAX ||
	    h->cls.n > GEO_CLS_MAX)
		return fail_with(err, errlen, EINVAL,
		    "geo blob: %u groups, %u "
		    "nodes, %u labels, %u classes: too many",
		    h->tbl8_groups, h->node6_count, h->nlab, h->cls.n);
	geo_blob_layout(h->tbl8_groups, h->node6_count, h->nlab, &l);
	if (h->lab_off != l.lab || h->tbl24_off != l.tbl24 ||
	    h->tbl8_off != l.tbl8 || h->root6_off != l.root6 ||
	    h->node6_off != l.node6 || h->total_len != l.total)
		return fail_with(err, errlen, EINVAL,
		    "geo blob: section "
		    "offsets do not match the counts");
	if (len != l.total)
		return fail_with(err, errlen, EINVAL,
		    "geo blob: %zu bytes, "
		    "header says %llu",
		    len, (unsigned long long)l.total);
	return 0;
}

/* A value: a country, or one of the NLAB labels. */
static int
geo_blob_val_ok(const struct geo_tables *t, uint32_t v)
{
	return v < GEO_CC_MAX + t->nlab;
}

/*
 * Every label a pair of a country and some classes the tables name,
 * and the names terminated: lookups and `cordonctl lookup` trust both.
 */
static int
geo_blob_check_lab(const struct geo_tables *t, char *err, size_t errlen)
{
	geo_cls_t known = t->cls.n == GEO_CLS_MAX
	                      ? ~(geo_cls_t)0
	                      : ((geo_cls_t)1 << t->cls.n) - 1;

	for (uint32_t i = 0; i < t->nlab; i++)
		if (t->lab[i].cc >= GEO_CC_MAX || t->lab[i].cls == 0 ||
		    (t->lab[i].cls & ~known) != 0)
			return fail_with(err, errlen, EINVAL,
			    "geo blob: label %u "
			    "(%u, %#x) out of range",
			    i, t->lab[i].cc, t->lab[i].cls);
	for (unsigned i = 0; i < t->cls.n; i++)
		if (memchr(t->cls.name[i], '\0', GEO_CLS_NAMELEN) == NULL)
			return fail_with(err, errlen, EINVAL,
			    "geo blob: class %u: "
			    "name not terminated",
			    i);
	return 0;
}

static int
geo_blob_check4(const struct geo_tables *t, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < GEO_TBL24_SIZE; i++) {
		uint16_t e = t->tbl24[i];

		if (geo_blob_val_ok(t, e) ||
		    (GEO_IS_TBL8(e) && e - GEO_TBL8_BASE < t->tbl8_used))
			continue;
		return fail_with(err, errlen, EINVAL,
		    "geo blob: tbl24[%u] = "
		    "%u out of range (%u groups)",
		    i, e, t->tbl8_used);
	}
	for (size_t i = 0; i < (size_t)t->tbl8_used << 8; i++)
		if (!geo_blob_val_ok(t, t->tbl8[i]))
			return fail_with(err, errlen, EINVAL,
			    "geo blob: tbl8[%zu] "
			    "= %u is not a country or label",
			    i, t->tbl8[i]);
	return 0;
}

static int
geo_blob_ent_ok(const struct geo_tables *t, uint32_t e, uint32_t nodes)
{
	switch (e & GEO6_TAG_MASK) {
	case GEO6_LEAF:
		return geo_blob_val_ok(t, e);
	case GEO6_NODE:
		return (e & GEO6_VAL_MASK) < nodes;
	case GEO6_ALIAS:
		/* The lookup reads 32 bits at bit OFF: OFF + 32 <= 128. */
		return (e & GEO6_VAL_MASK &
		           ~(GEO6_ALIAS_INV | GEO6_ALIAS_OFF)) == 0 &&
		       (e & GEO6_ALIAS_OFF) <= 96;
	default:
		return 0;
	}
}

/* Every entry of root6 and node6 in range. */
static int
geo_blob_check6_ents(const struct geo_tables *t, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++)
		if (!geo_blob_ent_ok(t, t->root6[i], t->node6_used))
			return fail_with(err, errlen, EINVAL,
			    "geo blob: root6[%u] = "
			    "%#x out of range",
			    i, t->root6[i]);
	for (size_t i = 0; i < (size_t)t->node6_used << 8; i++)
		if (!geo_blob_ent_ok(t, t->node6[i], t->node6_used))
			return fail_with(err, errlen, EINVAL,
			    "geo blob: node6[%zu] "
			    "= %#x out of range",
			    i, t->node6[i]);
	return 0;
}

/* Child C of a node at LEVEL - 1: first sight queues it, at LEVEL. */
static int
geo_blob_reach(uint8_t *level, uint32_t *queue, uint32_t *n, uint32_t c,
    uint8_t lv)
{
	if (level[c] == 0) {
		level[c] = lv;
		queue[(*n)++] = c;
		return 0;
	}
	return level[c] == lv ? 0 : -1;
}

/*
 * A lookup indexes a node of level L with address byte L: levels must
 * be 2..15 and each node must sit at one level (which also rules out
 * cycles).  Every node must be reachable: the blob carries no garbage.
 */
static int
geo_blob_check6_tree(const struct geo_tables *t, char *err, size_t errlen)
{
	uint32_t n = 0, nodes = t->node6_used, e;
	uint8_t *level = calloc((size_t)nodes + 1, 1);
	uint32_t *queue = malloc(((size_t)nodes + 1) * sizeof(*queue));
	int rc = -1;

	if (level == NULL || queue == NULL) {
		errno = ENOMEM;
		snprintf(err, errlen, "geo blob: out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < GEO6_ROOT_SIZE; i++)
		if ((t->root6[i] & GEO6_TAG_MASK) == GEO6_NODE)
			(void)geo_blob_reach(level, queue, &n,
			    t->root6[i] & GEO6_VAL_MASK, 2);
	for (uint32_t k = 0; k < n; k++) {
		uint32_t nd = queue[k];

		for (uint32_t i = 0; i < 256; i++) {
			e = t->node6[((size_t)nd << 8) | i];
			if ((e & GEO6_TAG_MASK) != GEO6_NODE)
				continue;
			if (level[nd] == GEO6_LAST_LEVEL ||
			    geo_blob_reach(level, queue, &n, e & GEO6_VAL_MASK,
			        (uint8_t)(level[nd] + 1)) != 0) {
				fail_with(err, errlen, EINVAL,
				    "geo blob: node "
				    "%u: child %u breaks the trie's shape",
				    nd, e & GEO6_VAL_MASK);
				goto out;
			}
		}
	}
	/* Root children may also appear below: caught by the level check. */
	if (n != nodes) {
		fail_with(err, errlen, EINVAL,
		    "geo blob: %u of %u nodes "
		    "unreachable",
		    nodes - n, nodes);
		goto out;
	}
	rc = 0;
out:
	free(level);
	free(queue);
	return rc;
}

struct geo_tables *
geo_tables_import(const void *blob, size_t len, char *err, size_t errlen)
{
	const struct geo_blob_hdr *h = blob;
	const uint8_t *b = blob;
	struct geo_tables *t;

	if (geo_blob_check_hdr(blob, len, err, errlen) != 0)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "geo blob: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	/* Borrowed and read-only: geo_tables_free() leaves them alone. */
	t->borrowed = 1;
	t->serial = geo_tables_serial_next();
	t->tbl24 = (uint16_t *)(b + h->tbl24_off);
	t->tbl8 = h->tbl8_groups ? (uint16_t *)(b + h->tbl8_off) : NULL;
	t->tbl8_cap = t->tbl8_used = t->tbl8_live = h->tbl8_groups;
	t->tbl8_free = GEO_TBL8_NONE;
	t->root6 = (uint32_t *)(b + h->root6_off);
	t->node6 = h->node6_count ? (uint32_t *)(b + h->node6_off) : NULL;
	t->node6_cap = t->node6_used = t->node6_live = h->node6_count;
	t->node6_free = GEO6_NONE;
	t->lab = h->nlab ? (struct geo_lab *)(b + h->lab_off) : NULL;
	t->nlab = h->nlab;
	t->cls = h->cls;
	if (geo_blob_check_lab(t, err, errlen) != 0 ||
	    geo_blob_check4(t, err, errlen) != 0 ||
	    geo_blob_check6_ents(t, err, errlen) != 0 ||
	    geo_blob_check6_tree(t, err, errlen) != 0) {
		geo_tables_free(t);
		return NULL;
	}
	return t;
}

struct geo_tables *
geo_tables_import_own(void *blob, size_t len, char *err, size_t errlen)
{
	struct geo_tables *t = geo_tables_import(blob, len, err, errlen);

	if (t != NULL)
		t->blob = blob;
	return t;
}
