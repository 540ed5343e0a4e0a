/*
 * The last good tables on disk (geo_saved.h).  Layout, host byte order
 * (the file never leaves the box that wrote it):
 *
 *	struct gs_hdr
 *	struct geo_layer_meta x nlayers
 *	the tables as geo_tables_export() writes them (geo_blob.c)
 *
 * The header's SUM is the SHA-256 of all of it with SUM zeroed.  A
 * file is trusted for nothing: the checksum must match and the tables
 * pass geo_tables_import()'s checks, or it is not used at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "config/geo/geo_layer.h"
#include "config/geo/geo_saved.h"

#define GS_MAGIC    "CGEOSAV"
#define GS_VERSION  1
#define GS_BLOB_MAX ((uint64_t)1 << 31)

struct gs_hdr {
	char magic[8];
	uint32_t version;
	uint32_t nlayers;
	uint32_t noverrides;
	uint32_t meta_size; /* sizeof(struct geo_layer_meta) */
	uint64_t blob_len;
	int64_t saved_at;
	uint8_t id[GEO_SAVED_ID_LEN];
	uint8_t sum[32];
};

/* SHA-256 of H (with SUM zeroed), the metadata and the blob. */
static void
gs_sum(const struct gs_hdr *h, const void *meta, const void *blob,
    uint8_t out[32])
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	struct gs_hdr z = *h;
	unsigned n = 32;

	memset(z.sum, 0, sizeof(z.sum));
	EVP_DigestInit_ex(x, EVP_sha256(), NULL);
	EVP_DigestUpdate(x, &z, sizeof(z));
	EVP_DigestUpdate(x, meta, (size_t)h->nlayers * h->meta_size);
	EVP_DigestUpdate(x, blob, h->blob_len);
	EVP_DigestFinal_ex(x, out, &n);
	EVP_MD_CTX_free(x);
}

void
geo_saved_id(const struct geo_db *db, const struct geo_override *ov,
    unsigned nov, uint8_t out[GEO_SAVED_ID_LEN])
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned n = GEO_SAVED_ID_LEN;

	EVP_DigestInit_ex(x, EVP_sha256(), NULL);
	for (unsigned i = 0; i < db->nlayers; i++) {
		const struct geo_layer_meta *m = &db->layer[i];

		EVP_DigestUpdate(x, m->path, strlen(m->path) + 1);
		EVP_DigestUpdate(x, m->field, strlen(m->field) + 1);
		EVP_DigestUpdate(x, &m->build_epoch, sizeof(m->build_epoch));
		EVP_DigestUpdate(x, &m->node_count, sizeof(m->node_count));
		EVP_DigestUpdate(x, &m->v4_prefixes, sizeof(m->v4_prefixes));
		EVP_DigestUpdate(x, &m->v6_prefixes, sizeof(m->v6_prefixes));
	}
	EVP_DigestUpdate(x, ov, nov * sizeof(ov[0]));
	EVP_DigestFinal_ex(x, out, &n);
	EVP_MD_CTX_free(x);
}

int
geo_saved_fits(const struct geo_db *db, const struct geo_saved_info *s,
    const struct geo_source *src, unsigned n, const struct geo_override *ov,
    unsigned nov)
{
	uint8_t id[GEO_SAVED_ID_LEN];

	if (n != db->nlayers)
		return -1;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(src[i].path, db->layer[i].path) != 0 ||
		    strcmp(src[i].field ? src[i].field : GEO_DEFAULT_FIELD,
		        db->layer[i].field) != 0)
			return -1;
	geo_saved_id(db, ov, nov, id);
	return memcmp(id, s->id, sizeof(id)) == 0 ? 0 : -1;
}

static int
gs_dir_sync(const char *path)
{
	char buf[PATH_MAX];
	int fd, rc;

	snprintf(buf, sizeof(buf), "%s", path);
	if ((fd = open(dirname(buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* TMP gets the whole file, durably; -1 with errno. */
static int
gs_write_tmp(const char *tmp, const struct gs_hdr *h, const void *meta,
    const void *blob)
{
	int fd, e;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (geo_write_all(fd, h, sizeof(*h)) < 0 ||
	    geo_write_all(fd, meta, (size_t)h->nlayers * h->meta_size) < 0 ||
	    geo_write_all(fd, blob, h->blob_len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
geo_saved_write(const char *path, const struct geo_db *db,
    const uint8_t id[GEO_SAVED_ID_LEN], char *err, size_t errlen)
{
	struct gs_hdr h = { .magic = GS_MAGIC,
		.version = GS_VERSION,
		.nlayers = db->nlayers,
		.noverrides = db->noverrides,
		.meta_size = sizeof(db->layer[0]),
		.saved_at = time(NULL) };
	char tmp[PATH_MAX];
	void *blob;
	size_t len;
	int e;

	if (geo_tables_export(db->tables, &blob, &len) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	h.blob_len = len;
	memcpy(h.id, id, sizeof(h.id));
	gs_sum(&h, db->layer, blob, h.sum);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (gs_write_tmp(tmp, &h, db->layer, blob) < 0 ||
	    rename(tmp, path) < 0 || gs_dir_sync(path) < 0) {
		e = errno;
		unlink(tmp); /* a full disk gets its space back */
		free(blob);
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	free(blob);
	return 0;
}

static int
gs_read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The header is plausible and its sizes add up to the file's. */
static const char *
gs_hdr_check(const struct gs_hdr *h, off_t size)
{
	if (memcmp(h->magic, GS_MAGIC, sizeof(h->magic)) != 0)
		return "not a saved tables file";
	if (h->version != GS_VERSION ||
	    h->meta_size != sizeof(struct geo_layer_meta))
		return "written by another version";
	if (h->nlayers > GEO_LAYER_MAX || h->blob_len > GS_BLOB_MAX)
		return "header out of range";
	if ((uint64_t)size !=
	    sizeof(*h) + (uint64_t)h->nlayers * h->meta_size + h->blob_len)
		return "truncated or extended";
	return NULL;
}

/* Header, metadata and blob of the open file FD, checksum checked. */
static int
gs_read_parts(int fd, struct gs_hdr *h, struct geo_db *db, void **blob,
    char *why, size_t len)
{
	uint8_t sum[32];
	const char *bad;
	struct stat st;

	*blob = NULL;
	if (fstat(fd, &st) < 0 || gs_read_all(fd, h, sizeof(*h)) < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	if ((bad = gs_hdr_check(h, st.st_size)) != NULL) {
		snprintf(why, len, "%s", bad);
		return -1;
	}
	if ((*blob = malloc(h->blob_len ? h->blob_len : 1)) == NULL ||
	    gs_read_all(fd, db->layer, (size_t)h->nlayers * h->meta_size) < 0 ||
	    gs_read_all(fd, *blob, h->blob_len) < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	gs_sum(h, db->layer, *blob, sum);
	if (memcmp(sum, h->sum, sizeof(sum)) != 0) {
		snprintf(why, len, "checksum mismatch: the file is corrupt");
		return -1;
	}
	return 0;
}

static void
gs_meta_terminate(struct geo_db *db)
{
	for (unsigned i = 0; i < db->nlayers; i++) {
		struct geo_layer_meta *m = &db->layer[i];

		m->path[sizeof(m->path) - 1] = '\0';
		m->field[sizeof(m->field) - 1] = '\0';
		m->db_type[sizeof(m->db_type) - 1] = '\0';
	}
}

int
geo_saved_read(const char *path, struct geo_db *out,
    struct geo_saved_info *info, char *err, size_t errlen)
{
	struct geo_db db = { 0 };
	struct gs_hdr h;
	char why[300];
	void *blob;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = gs_read_parts(fd, &h, &db, &blob, why, sizeof(why));
	close(fd);
	if (rc == 0 && (db.tables = geo_tables_import_own(blob, h.blob_len, why,
	                    sizeof(why))) == NULL)
		rc = -1;
	if (rc < 0) {
		free(blob);
		snprintf(err, errlen, "%s: %s", path, why);
		errno = EINVAL;
		return -1;
	}
	db.nlayers = h.nlayers;
	db.noverrides = h.noverrides;
	gs_meta_terminate(&db);
	memcpy(info->id, h.id, sizeof(info->id));
	info->saved_at = h.saved_at;
	*out = db;
	return 0;
}
