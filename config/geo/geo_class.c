/*
 * Relay classes -> the tables (geo_build.h): prefix-list files and ASN
 * lists, the latter through an ASN database, ORed as class bits over
 * the countries already written.  Every line of every file is checked:
 * one bad line refuses the whole build with "FILE:LINE: why", so the
 * caller keeps its last good tables and policy.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config/geo/geo_build.h"
#include "config/geo/geo_class.h"
#include "config/geo/geo_layer.h"
#include "config/geo/geo_special.h"
#include "core/util/ropen.h"

#define GC_LINE_MAX 256
#define GC_ASN_MAX  (1u << 20) /* distinct ASNs over all classes */

/* One file being read: its lines, and the digest of every byte. */
struct gc_file {
	const char *path;
	FILE *fp;
	unsigned line;
	char buf[GC_LINE_MAX];
	EVP_MD_CTX *md;
};

static int __attribute__((format(printf, 4, 5)))
gc_err(const struct gc_file *f, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->line > 0)
		snprintf(err, errlen, "%s:%u: %s", f->path, f->line, msg);
	else
		snprintf(err, errlen, "%s: %s", f->path, msg);
	errno = EINVAL;
	return -1;
}

/*
 * The next item of F: its line without comment and surrounding blanks,
 * in F->buf.  1 with an item, 0 at the end, -1 with ERR.
 */
static int
gc_next(struct gc_file *f, char **item, char *err, size_t errlen)
{
	char *p, *e;
	size_t n;

	while (fgets(f->buf, sizeof(f->buf), f->fp) != NULL) {
		f->line++;
		n = strlen(f->buf);
		EVP_DigestUpdate(f->md, f->buf, n);
		if (n == sizeof(f->buf) - 1 && f->buf[n - 1] != '\n' &&
		    !feof(f->fp))
			return gc_err(f, err, errlen, "line too long");
		if ((p = strchr(f->buf, '#')) != NULL)
			*p = '\0';
		for (p = f->buf; isspace((unsigned char)*p); p++)
			;
		for (e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);
		     e--)
			;
		*e = '\0';
		if (*p != '\0') {
			*item = p;
			return 1;
		}
	}
	if (ferror(f->fp))
		return gc_err(f, err, errlen, "%s", strerror(errno));
	return 0;
}

static int
gc_open(struct gc_file *f, const char *path, EVP_MD_CTX *md, char *err,
    size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->path = path;
	f->md = md;
	if ((f->fp = ropen_file(path)) == NULL)
		return gc_err(f, err, errlen, "%s",
		    errno == EINVAL ? "not a regular file" : strerror(errno));
	EVP_DigestUpdate(md, path, strlen(path) + 1);
	return 0;
}

/* "ADDR/LEN" or a bare address; host bits refused. */
static int
gc_prefix(const char *s, unsigned *af, uint8_t a[16], unsigned *plen)
{
	char addr[64], *end;
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long v;
	unsigned bytes, k;

	if (alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, addr, a) == 1)
		*af = 4;
	else if (inet_pton(AF_INET6, addr, a) == 1)
		*af = 6;
	else
		return -1;
	bytes = *af == 4 ? 4 : 16;
	*plen = bytes * 8;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || v > bytes * 8)
			return -1;
		*plen = (unsigned)v;
	}
	for (k = *plen; k < bytes * 8; k++)
		if (a[k / 8] & (0x80 >> (k % 8)))
			return -2;
	return 0;
}

/*
 * A bad item, quoted in an error only when it could have been one
 * (ALPHABET, at most 49 bytes: the longest IPv6 prefix): the file may
 * be one the admin asking cannot read (cordond opens it as root), and
 * its first line must not come back to them in the message.
 */
static const char *
gc_shown(const char *s, const char *alphabet, char *buf, size_t len)
{
	size_t n = strlen(s);

	if (n > 49 || strspn(s, alphabet) != n)
		return "(a line that is not one; not shown)";
	snprintf(buf, len, "\"%s\"", s);
	return buf;
}

static int
gc_prefix_apply(struct geo_tables *t, struct gc_file *f, const char *s,
    geo_cls_t bit, struct geo_db *db, char *err, size_t errlen)
{
	unsigned af, plen;
	uint8_t a[16];
	int r = gc_prefix(s, &af, a, &plen);
	char shown[64];

	if (r == -1)
		return gc_err(f, err, errlen, "bad prefix %s",
		    gc_shown(s, "0123456789abcdefABCDEF.:/", shown,
		        sizeof(shown)));
	if (r == -2)
		return gc_err(f, err, errlen,
		    "prefix \"%s\" has host bits "
		    "set",
		    s);
	/* Those answer as the IPv4 address inside: list that instead. */
	if (af == 6 && geo_builtin_in(6, a, plen) == GEO_IN_ALIAS)
		return gc_err(f, err, errlen,
		    "prefix \"%s\" lies in an "
		    "IPv4-embedding range: list the IPv4 prefix",
		    s);
	if (af == 4)
		r = geo_v4_add_cls(t,
		    (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
		        (uint32_t)a[2] << 8 | a[3],
		    plen, bit);
	else
		r = geo_v6_add_cls(t, a, plen, bit);
	if (r == -1 && errno == ENOSPC)
		return gc_err(f, err, errlen,
		    "more than %u country/class "
		    "pairs",
		    GEO_LAB_MAX);
	if (r == -1)
		return gc_err(f, err, errlen, "%s", strerror(errno));
	if (af == 4)
		db->class_v4++;
	else
		db->class_v6++;
	return 0;
}

static int
gc_prefixes(struct geo_tables *t, const char *path, geo_cls_t bit,
    EVP_MD_CTX *md, struct geo_db *db, char *err, size_t errlen)
{
	struct gc_file f;
	char *item;
	int r;

	if (gc_open(&f, path, md, err, errlen) == -1)
		return -1;
	while ((r = gc_next(&f, &item, err, errlen)) == 1)
		if (gc_prefix_apply(t, &f, item, bit, db, err, errlen) == -1) {
			r = -1;
			break;
		}
	fclose(f.fp);
	return r;
}

/* The ASN map being gathered: unsorted, duplicates merged at the end. */
struct gc_asns {
	struct geo_asn_map *v;
	unsigned n, cap;
};

static int
gc_asn_add(struct gc_asns *m, uint32_t asn, geo_cls_t bit)
{
	struct geo_asn_map *p;
	unsigned cap;

	if (m->n == m->cap) {
		if (m->cap >= GC_ASN_MAX) {
			errno = ENOSPC;
			return -1;
		}
		cap = m->cap ? m->cap * 2 : 256;
		if ((p = realloc(m->v, cap * sizeof(*p))) == NULL)
			return -1;
		m->v = p;
		m->cap = cap;
	}
	m->v[m->n++] = (struct geo_asn_map){ asn, bit };
	return 0;
}

/* "AS64500" or "64500" (1..4294967295). */
static int
gc_asn_parse(const char *s, uint32_t *asn)
{
	unsigned long long v;
	char *end;

	if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's'))
		s += 2;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*asn = (uint32_t)v;
	return 0;
}

static int
gc_asn_file(struct gc_asns *m, const char *path, geo_cls_t bit, EVP_MD_CTX *md,
    char *err, size_t errlen)
{
	struct gc_file f;
	uint32_t asn;
	char *item, shown[64];
	int r;

	if (gc_open(&f, path, md, err, errlen) == -1)
		return -1;
	while ((r = gc_next(&f, &item, err, errlen)) == 1) {
		if (gc_asn_parse(item, &asn) == -1)
			r = gc_err(&f, err, errlen, "bad AS number %s",
			    gc_shown(item, "0123456789ASas+-", shown,
			        sizeof(shown)));
		else if (gc_asn_add(m, asn, bit) == -1)
			r = gc_err(&f, err, errlen, "%s", strerror(errno));
		if (r == -1)
			break;
	}
	fclose(f.fp);
	return r;
}

static int
gc_asn_cmp(const void *a, const void *b)
{
	const struct geo_asn_map *x = a, *y = b;

	return x->asn < y->asn ? -1 : x->asn > y->asn;
}

/* Sorted by ASN, one entry per ASN with its classes ORed. */
static void
gc_asn_sort(struct gc_asns *m)
{
	unsigned i, k = 0;

	if (m->n == 0)
		return;
	qsort(m->v, m->n, sizeof(*m->v), gc_asn_cmp);
	for (i = 1; i < m->n; i++) {
		if (m->v[i].asn == m->v[k].asn)
			m->v[k].bits |= m->v[i].bits;
		else
			m->v[++k] = m->v[i];
	}
	m->n = k + 1;
}

/* The ASN lists of every class, then one walk of the ASN database. */
static int
gc_asn_apply(struct geo_tables *t, const struct geo_class_cfg *cfg,
    EVP_MD_CTX *md, struct geo_db *db, char *err, size_t errlen)
{
	struct gc_asns m = { NULL, 0, 0 };
	int r = 0;

	for (unsigned k = 0; k < cfg->n && r == 0; k++) {
		const struct geo_class_src *c = &cfg->cls[k];

		for (unsigned i = 0; i < c->nasn && r == 0; i++)
			r = gc_asn_add(&m, c->asn[i], (geo_cls_t)1 << k);
		if (r == -1)
			snprintf(err, errlen, "class %s: %s", c->name,
			    strerror(errno));
		if (r == 0 && c->asns != NULL)
			r = gc_asn_file(&m, c->asns, (geo_cls_t)1 << k, md, err,
			    errlen);
	}
	if (r == 0) {
		gc_asn_sort(&m);
		r = geo_layer_asn(t, cfg->asn_db, m.v, m.n, &db->asn, err,
		    errlen);
	}
	if (r == 0) {
		db->has_asn = true;
		EVP_DigestUpdate(md, &db->asn.build_epoch,
		    sizeof(db->asn.build_epoch));
		EVP_DigestUpdate(md, &db->asn.node_count,
		    sizeof(db->asn.node_count));
	}
	free(m.v);
	return r;
}

void
geo_class_cfg_id(const struct geo_class_cfg *cfg, uint8_t out[GEO_CLS_ID_LEN])
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned n = GEO_CLS_ID_LEN;
	static const char none[] = "";

	EVP_DigestInit_ex(x, EVP_sha256(), NULL);
	for (unsigned k = 0; cfg != NULL && k < cfg->n; k++) {
		const struct geo_class_src *c = &cfg->cls[k];
		const char *pf = c->prefixes ? c->prefixes : none;
		const char *af = c->asns ? c->asns : none;

		EVP_DigestUpdate(x, c->name, strlen(c->name) + 1);
		EVP_DigestUpdate(x, pf, strlen(pf) + 1);
		EVP_DigestUpdate(x, af, strlen(af) + 1);
		EVP_DigestUpdate(x, &c->nasn, sizeof(c->nasn));
		EVP_DigestUpdate(x, c->asn, c->nasn * sizeof(c->asn[0]));
	}
	if (cfg != NULL && cfg->asn_db != NULL)
		EVP_DigestUpdate(x, cfg->asn_db, strlen(cfg->asn_db) + 1);
	EVP_DigestFinal_ex(x, out, &n);
	EVP_MD_CTX_free(x);
}

static int
gc_names(const struct geo_class_cfg *cfg, struct geo_classes *gc, char *err,
    size_t errlen)
{
	if (cfg->n > GEO_CLS_MAX) {
		snprintf(err, errlen, "%u classes: at most %d", cfg->n,
		    GEO_CLS_MAX);
		return -1;
	}
	gc->n = cfg->n;
	for (unsigned k = 0; k < cfg->n; k++)
		if (snprintf(gc->name[k], GEO_CLS_NAMELEN, "%s",
		        cfg->cls[k].name) >= GEO_CLS_NAMELEN) {
			snprintf(err, errlen, "class name \"%s\" too long",
			    cfg->cls[k].name);
			return -1;
		}
	return 0;
}

static int
gc_apply(struct geo_tables *t, const struct geo_class_cfg *cfg, EVP_MD_CTX *md,
    struct geo_db *db, char *err, size_t errlen)
{
	bool asn = false;

	for (unsigned k = 0; k < cfg->n; k++) {
		const struct geo_class_src *c = &cfg->cls[k];

		if (c->prefixes != NULL &&
		    gc_prefixes(t, c->prefixes, (geo_cls_t)1 << k, md, db, err,
		        errlen) == -1)
			return -1;
		asn |= c->asns != NULL || c->nasn > 0;
	}
	if (!asn)
		return 0;
	if (cfg->asn_db == NULL) {
		snprintf(err, errlen,
		    "classes name AS numbers but no ASN "
		    "database is configured");
		return -1;
	}
	return gc_asn_apply(t, cfg, md, db, err, errlen);
}

int
geo_class_apply(struct geo_tables *t, const struct geo_class_cfg *cfg,
    struct geo_db *db, char *err, size_t errlen)
{
	struct geo_classes gc;
	EVP_MD_CTX *md;
	unsigned n = GEO_CLS_ID_LEN;
	int r;

	memset(&gc, 0, sizeof(gc));
	if (cfg != NULL && gc_names(cfg, &gc, err, errlen) == -1)
		return -1;
	geo_class_cfg_id(cfg, gc.cfg_id);
	if ((md = EVP_MD_CTX_new()) == NULL) {
		snprintf(err, errlen, "classes: %s", strerror(ENOMEM));
		return -1;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	r = cfg != NULL ? gc_apply(t, cfg, md, db, err, errlen) : 0;
	EVP_DigestFinal_ex(md, gc.data_id, &n);
	EVP_MD_CTX_free(md);
	if (r == 0)
		geo_tables_set_classes(t, &gc);
	return r;
}
