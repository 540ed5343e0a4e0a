/*
 * Keeping an issuer's keys current: the configured JWKS file plus the last
 * good document from jwks_uri.  A failed or useless fetch never costs the
 * keys we have, and the last good document is cached on disk so that a
 * restart without network can still verify tokens.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/ident/jose_int.h"
#include "control/store/store.h"
#include "core/util/ropen.h"

char *
jose_file_read(const char *path, size_t max, size_t *len)
{
	FILE *f = ropen_file(path); /* never a FIFO: see ropen.h */
	char *buf;
	size_t n;

	if (f == NULL)
		return NULL;
	if ((buf = malloc(max + 2)) == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		fclose(f);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The state folder's one writer: every byte, fsync, rename, folder fsync. */
int
jose_file_replace(const char *path, const char *buf, size_t len)
{
	return store_file_write(path, buf, len);
}

static void
jose_issuer_install(struct jose_issuer *iss, struct jose_keyset *ks)
{
	jose_keyset_free(iss->keys);
	iss->keys = ks;
}

/* The keys of jwks_uri's document BODY merged with FILE_KS; NULL if bad. */
static struct jose_keyset *
jose_doc_keys(const char *body, size_t len, const struct jose_keyset *file_ks,
    char *err, size_t errlen)
{
	struct jose_keyset *net = jose_keyset_parse(body, len, err, errlen);
	struct jose_keyset *all;

	if (net == NULL)
		return NULL;
	all = jose_keyset_merge(file_ks, net);
	jose_keyset_free(net);
	return all;
}

/* The fetch failed: keep what we have, else the cache, else the file. */
static int
jose_refresh_fallback(struct jose_issuer *iss, const char *cache_path,
    struct jose_keyset *file_ks)
{
	struct jose_keyset *ks = NULL;
	size_t len;
	char *body;

	if (iss->keys != NULL) {
		jose_keyset_free(file_ks);
		return JOSE_REFRESH_KEPT;
	}
	if (cache_path != NULL &&
	    (body = jose_file_read(cache_path, JOSE_JWKS_MAX, &len)) != NULL) {
		ks = jose_doc_keys(body, len, file_ks, NULL, 0);
		free(body);
	}
	if (ks != NULL) {
		jose_keyset_free(file_ks);
		jose_issuer_install(iss, ks);
		return JOSE_REFRESH_CACHED;
	}
	if (file_ks == NULL)
		return JOSE_REFRESH_FAILED;
	jose_issuer_install(iss, file_ks);
	return JOSE_REFRESH_FILE;
}

static int
jose_refresh_uri(struct jose_issuer *iss, const char *cache_path,
    unsigned timeout_ms, struct jose_keyset *file_ks, char *err, size_t errlen)
{
	struct jose_keyset *ks = NULL;
	char *body;
	size_t len;

	if (jose_jwks_fetch(iss->jwks_uri, iss->ca_file, timeout_ms, &body,
	        &len, err, errlen) == 0) {
		ks = jose_doc_keys(body, len, file_ks, err, errlen);
		if (ks != NULL && cache_path != NULL &&
		    jose_file_replace(cache_path, body, len) < 0)
			jose_errf(err, errlen, "%s: cache not written",
			    cache_path);
		free(body);
	}
	if (ks == NULL)
		return jose_refresh_fallback(iss, cache_path, file_ks);
	jose_keyset_free(file_ks);
	jose_issuer_install(iss, ks);
	return JOSE_REFRESH_FETCHED;
}

int
jose_issuer_refresh(struct jose_issuer *iss, const char *cache_path,
    unsigned timeout_ms, char *err, size_t errlen)
{
	struct jose_keyset *file_ks = NULL;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (iss->jwks_file[0] != '\0')
		file_ks = jose_keyset_load_file(iss->jwks_file, err, errlen);
	if (iss->jwks_uri[0] != '\0')
		return jose_refresh_uri(iss, cache_path, timeout_ms, file_ks,
		    err, errlen);
	if (file_ks == NULL)
		return iss->keys ? JOSE_REFRESH_KEPT : JOSE_REFRESH_FAILED;
	jose_issuer_install(iss, file_ks);
	return JOSE_REFRESH_FILE;
}

void
jose_issuer_clear(struct jose_issuer *iss)
{
	jose_keyset_free(iss->keys);
	iss->keys = NULL;
}
