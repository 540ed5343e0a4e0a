/*
 * One MMDB layer -> geo tables.  The search tree is walked once with an
 * explicit stack; every leaf becomes one geo_v4_set()/geo_v6_set().  The
 * country of a data record is decoded once per record and cached by its
 * data-section offset: a country database has a few hundred distinct
 * records under a million leaves.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <maxminddb.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_layer.h"

#define GL_PATH_MAX  16   /* components of a dotted field path */
#define GL_NO_FIELD  (-2) /* cached: record lacks the field */
#define GL_BAD_VALUE (-3) /* cached: field is not a country code */
#define GL_NON_ISO   (-4) /* cached: two letters, no ISO country */
#define GL_SEPARATOR 16   /* bytes between search tree and data */

struct gl_cache {
	uint32_t *key; /* data offset + 1; 0 marks a free slot */
	int16_t *val;  /* country, or GL_NO_FIELD */
	uint32_t mask;
	uint32_t n;
};

/* A record to look at and the prefix it covers. */
struct gl_frame {
	uint64_t rec;
	unsigned depth;
	uint8_t addr[16];
};

struct gl_ctx {
	MMDB_s mmdb;
	const char *path;
	const char *fieldv[GL_PATH_MAX + 1];
	char fieldbuf[GEO_FIELD_MAX];
	struct geo_tables *t;
	struct geo_layer_meta *meta;
	struct gl_cache cache;
	uint64_t nodes;  /* node_count */
	uint64_t v4root; /* record where IPv4 ::/96 starts */
	uint64_t visits; /* nodes read, to stop on shared subtrees */
	char *err;
	size_t errlen;
};

static void __attribute__((format(printf, 2, 3)))
gl_error(struct gl_ctx *c, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
}

static int
gl_cache_init(struct gl_cache *h, uint32_t cap)
{
	h->key = calloc(cap, sizeof(*h->key));
	h->val = calloc(cap, sizeof(*h->val));
	h->mask = cap - 1;
	h->n = 0;
	if (h->key == NULL || h->val == NULL) {
		free(h->key);
		free(h->val);
		return -1;
	}
	return 0;
}

static void
gl_cache_fini(struct gl_cache *h)
{
	free(h->key);
	free(h->val);
}

static uint32_t
gl_cache_slot(const struct gl_cache *h, uint32_t off)
{
	uint32_t i = (off * 2654435761u) & h->mask;

	while (h->key[i] != 0 && h->key[i] != off + 1)
		i = (i + 1) & h->mask;
	return i;
}

static int
gl_cache_put(struct gl_cache *h, uint32_t off, int16_t val)
{
	struct gl_cache nh;
	uint32_t i, s;

	if ((h->n + 1) * 2 > h->mask + 1) {
		if (gl_cache_init(&nh, (h->mask + 1) * 2) == -1)
			return -1;
		for (i = 0; i <= h->mask; i++) {
			if (h->key[i] == 0)
				continue;
			s = gl_cache_slot(&nh, h->key[i] - 1);
			nh.key[s] = h->key[i];
			nh.val[s] = h->val[i];
		}
		nh.n = h->n;
		gl_cache_fini(h);
		*h = nh;
	}
	s = gl_cache_slot(h, off);
	h->key[s] = off + 1;
	h->val[s] = val;
	h->n++;
	return 0;
}

static int
gl_field_split(struct gl_ctx *c, const char *field)
{
	unsigned n = 0;
	char *p, *save = NULL;

	if (strlen(field) >= sizeof(c->fieldbuf)) {
		gl_error(c, "field '%.32s...' too long", field);
		return -1;
	}
	strcpy(c->fieldbuf, field);
	for (p = c->fieldbuf; *p != '\0'; p++)
		if (*p == '.' &&
		    (p == c->fieldbuf || p[1] == '.' || p[1] == '\0'))
			goto bad;
	for (p = strtok_r(c->fieldbuf, ".", &save); p != NULL;
	     p = strtok_r(NULL, ".", &save)) {
		if (n == GL_PATH_MAX)
			goto bad;
		c->fieldv[n++] = p;
	}
	if (n == 0)
		goto bad;
	c->fieldv[n] = NULL;
	return 0;
bad:
	gl_error(c, "bad field path '%s'", field);
	return -1;
}

/*
 * Decodes the record at OFF: a country, GL_NO_FIELD, GL_BAD_VALUE,
 * GL_NON_ISO or -1.
 */
static int
gl_decode(struct gl_ctx *c, uint32_t off)
{
	MMDB_entry_s ent = { .mmdb = &c->mmdb, .offset = off };
	MMDB_entry_data_s d;
	char s[3];
	int r, cc;

	r = MMDB_aget_value(&ent, &d, c->fieldv);
	if (r == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR ||
	    r == MMDB_INVALID_LOOKUP_PATH_ERROR ||
	    (r == MMDB_SUCCESS && !d.has_data))
		return GL_NO_FIELD;
	if (r != MMDB_SUCCESS) {
		gl_error(c, "data record at %u: %s", off, MMDB_strerror(r));
		return -1;
	}
	if (d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
		return GL_BAD_VALUE;
	memcpy(s, d.utf8_string, 2);
	s[2] = '\0';
	/* "XX", "EU", "ZZ": placeholders, not countries; counted apart. */
	if ((cc = geo_cc_parse(s)) < 0)
		return geo_cc_pair(s) < 0 ? GL_BAD_VALUE : GL_NON_ISO;
	return cc;
}

/* The country of the record at OFF (0 if it has none), or -1. */
static int
gl_country(struct gl_ctx *c, uint32_t off)
{
	uint32_t s = gl_cache_slot(&c->cache, off);
	int v;

	if (c->cache.key[s] != 0)
		v = c->cache.val[s];
	else {
		if ((v = gl_decode(c, off)) == -1)
			return -1;
		c->meta->data_records++;
		if (v == GL_NO_FIELD)
			c->meta->records_no_field++;
		if (v == GL_BAD_VALUE)
			c->meta->records_bad_value++;
		if (v == GL_NON_ISO)
			c->meta->records_non_iso++;
		if (gl_cache_put(&c->cache, off, (int16_t)v) == -1) {
			gl_error(c, "%s", strerror(ENOMEM));
			return -1;
		}
	}
	return v < 0 ? GEO_CC_UNKNOWN : v;
}

static int
gl_leaf(struct gl_ctx *c, const struct gl_frame *f, unsigned bits)
{
	uint64_t off = f->rec - c->nodes - GL_SEPARATOR;
	uint32_t a4;
	int cc, r;

	if (f->rec < c->nodes + GL_SEPARATOR ||
	    off >= c->mmdb.data_section_size) {
		gl_error(c,
		    "corrupt search tree: record %llu points outside "
		    "the data section",
		    (unsigned long long)f->rec);
		return -1;
	}
	if ((cc = gl_country(c, (uint32_t)off)) == -1)
		return -1;
	if (bits == 32) {
		a4 = (uint32_t)f->addr[0] << 24 | (uint32_t)f->addr[1] << 16 |
		     (uint32_t)f->addr[2] << 8 | f->addr[3];
		r = geo_v4_set(c->t, a4, f->depth, cc);
		c->meta->v4_prefixes += cc != GEO_CC_UNKNOWN;
	} else {
		r = geo_v6_set(c->t, f->addr, f->depth, cc);
		c->meta->v6_prefixes += cc != GEO_CC_UNKNOWN;
	}
	if (r == -1)
		gl_error(c, "%s", strerror(errno));
	return r;
}

/* Pushes the two children of search node F onto ST. */
static int
gl_descend(struct gl_ctx *c, const struct gl_frame *f, unsigned bits,
    struct gl_frame *st, unsigned *sp)
{
	MMDB_search_node_s node;
	struct gl_frame *l, *r;
	int e;

	if (f->depth >= bits || ++c->visits > 2 * c->nodes + 64) {
		gl_error(c, "corrupt search tree: %s at node %llu",
		    f->depth >= bits ? "too deep" : "not a tree",
		    (unsigned long long)f->rec);
		return -1;
	}
	if ((e = MMDB_read_node(&c->mmdb, (uint32_t)f->rec, &node)) != 0) {
		gl_error(c, "node %llu: %s", (unsigned long long)f->rec,
		    MMDB_strerror(e));
		return -1;
	}
	r = &st[(*sp)++];
	l = &st[(*sp)++];
	*r = *f;
	r->rec = node.right_record;
	r->depth = f->depth + 1;
	r->addr[f->depth / 8] |= 0x80 >> (f->depth % 8);
	*l = *f;
	l->rec = node.left_record;
	l->depth = f->depth + 1;
	return 0;
}

/* One record of the walk: descend, alias, write or skip. */
static int
gl_visit(struct gl_ctx *c, const struct gl_frame *f, unsigned bits,
    struct gl_frame *st, unsigned *sp)
{
	int r;

	if (f->rec > c->nodes)
		return gl_leaf(c, f, bits);
	if (f->rec == c->nodes)
		return 0; /* empty: earlier layers keep their answer */
	if (bits == 128 && f->rec == c->v4root && f->depth > 0) {
		if (f->depth > 96) {
			gl_error(c,
			    "corrupt search tree: IPv4 alias at "
			    "depth %u",
			    f->depth);
			return -1;
		}
		r = geo_v6_set_alias4(c->t, f->addr, f->depth);
		if (r == -1)
			gl_error(c, "%s", strerror(errno));
		return r;
	}
	return gl_descend(c, f, bits, st, sp);
}

/* Walks the subtree at START as a BITS-bit address space. */
static int
gl_walk(struct gl_ctx *c, uint64_t start, unsigned bits)
{
	struct gl_frame st[130], f;
	unsigned sp = 0;

	memset(&st[0], 0, sizeof(st[0]));
	st[sp++].rec = start;
	while (sp > 0) {
		f = st[--sp];
		if (gl_visit(c, &f, bits, st, &sp) == -1)
			return -1;
	}
	return 0;
}

/* The record 96 zero bits down (libmaxminddb's IPv4 start). */
static int
gl_find_v4root(struct gl_ctx *c)
{
	MMDB_search_node_s node;
	uint64_t rec = 0;
	unsigned i;
	int e;

	if (c->mmdb.metadata.ip_version == 4) {
		c->v4root = 0;
		return 0;
	}
	for (i = 0; i < 96 && rec < c->nodes; i++) {
		if ((e = MMDB_read_node(&c->mmdb, (uint32_t)rec, &node)) != 0) {
			gl_error(c, "node %llu: %s", (unsigned long long)rec,
			    MMDB_strerror(e));
			return -1;
		}
		rec = node.left_record;
	}
	c->v4root = rec;
	return 0;
}

static int
gl_check_meta(struct gl_ctx *c)
{
	const MMDB_metadata_s *m = &c->mmdb.metadata;
	uint64_t tree;

	if (m->binary_format_major_version != 2 ||
	    (m->ip_version != 4 && m->ip_version != 6) ||
	    (m->record_size != 24 && m->record_size != 28 &&
	        m->record_size != 32) ||
	    m->node_count == 0) {
		gl_error(c,
		    "unsupported database (format %u, IPv%u, "
		    "record size %u, %u nodes)",
		    m->binary_format_major_version, m->ip_version,
		    m->record_size, m->node_count);
		return -1;
	}
	tree = (uint64_t)m->node_count * m->record_size / 4;
	if (c->mmdb.file_size < 0 ||
	    tree + GL_SEPARATOR > (uint64_t)c->mmdb.file_size) {
		gl_error(c, "truncated: search tree larger than the file");
		return -1;
	}
	c->nodes = m->node_count;
	return 0;
}

static void
gl_meta_fill(struct gl_ctx *c, const char *field)
{
	const MMDB_metadata_s *m = &c->mmdb.metadata;
	struct geo_layer_meta *lm = c->meta;

	memset(lm, 0, sizeof(*lm));
	snprintf(lm->path, sizeof(lm->path), "%s", c->path);
	snprintf(lm->field, sizeof(lm->field), "%s", field);
	snprintf(lm->db_type, sizeof(lm->db_type), "%s",
	    m->database_type != NULL ? m->database_type : "");
	lm->build_epoch = m->build_epoch;
	lm->node_count = m->node_count;
	lm->ip_version = m->ip_version;
	lm->record_size = m->record_size;
}

static int
gl_open(struct gl_ctx *c)
{
	char proc[64], why[200];
	int e, fd;

	/* Never the file itself: see geo_copy.c. */
	if ((fd = geo_copy_private(c->path, proc, sizeof(proc), why,
	         sizeof(why))) < 0) {
		gl_error(c, "%s", why);
		return -1;
	}
	errno = 0;
	e = MMDB_open(proc, MMDB_MODE_MMAP, &c->mmdb);
	close(fd); /* the mapping keeps the copy */
	if (e == MMDB_SUCCESS)
		return 0;
	if ((e == MMDB_FILE_OPEN_ERROR || e == MMDB_IO_ERROR) && errno != 0)
		gl_error(c, "%s: %s", MMDB_strerror(e), strerror(errno));
	else
		gl_error(c, "%s", MMDB_strerror(e));
	return -1;
}

static int
gl_run(struct gl_ctx *c, const char *field)
{
	if (gl_check_meta(c) == -1)
		return -1;
	gl_meta_fill(c, field);
	if (gl_find_v4root(c) == -1)
		return -1;
	if (c->mmdb.metadata.ip_version == 6 && gl_walk(c, 0, 128) == -1)
		return -1;
	if (gl_walk(c, c->v4root, 32) == -1)
		return -1;
	if (c->meta->records_no_field == c->meta->data_records) {
		gl_error(c, "field '%s' not found in any record", field);
		return -1;
	}
	return 0;
}

int
geo_layer_load(struct geo_tables *t, const struct geo_source *src,
    struct geo_layer_meta *meta, char *err, size_t errlen)
{
	const char *field = src->field ? src->field : GEO_DEFAULT_FIELD;
	struct gl_ctx *c;
	int r = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s: %s", src->path, strerror(ENOMEM));
		return -1;
	}
	c->path = src->path;
	c->t = t;
	c->meta = meta;
	c->err = err;
	c->errlen = errlen;
	if (gl_field_split(c, field) == -1)
		goto free_c;
	if (gl_cache_init(&c->cache, 1024) == -1) {
		gl_error(c, "%s", strerror(ENOMEM));
		goto free_c;
	}
	if (gl_open(c) == -1)
		goto free_cache;
	r = gl_run(c, field);
	MMDB_close(&c->mmdb);
free_cache:
	gl_cache_fini(&c->cache);
free_c:
	free(c);
	return r;
}
