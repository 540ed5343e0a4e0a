/*
 * JWKS over HTTPS with libcurl: https only (also for redirects, which are
 * not followed anyway), peer certificate and host name verified, a size
 * cap enforced while receiving, and a status of 200 required.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "control/ident/jose_int.h"
#include "core/util/ropen.h"

struct jose_buf {
	char *data;
	size_t len;
};

static pthread_once_t jose_curl_once = PTHREAD_ONCE_INIT;

static void
jose_curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
jose_fetch_write(char *p, size_t size, size_t n, void *arg)
{
	struct jose_buf *b = arg;
	size_t add = size * n;
	char *d;

	/* Returning less than ADD makes libcurl abort the transfer. */
	if (add > JOSE_JWKS_MAX - b->len)
		return 0;
	if ((d = realloc(b->data, b->len + add + 1)) == NULL)
		return 0;
	memcpy(d + b->len, p, add);
	b->data = d;
	b->len += add;
	d[b->len] = '\0';
	return add;
}

/* Where the trusted CAs come from: a file, or PEM bytes in memory. */
struct jose_ca {
	const char *file;
	const void *blob;
	size_t len;
};

static void
jose_fetch_setup(CURL *c, const char *url, const struct jose_ca *ca,
    unsigned timeout_ms, struct jose_buf *b, char *ebuf)
{
	struct curl_blob blob = { .data = (void *)ca->blob,
		.len = ca->len,
		.flags = CURL_BLOB_COPY };

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (ca->blob != NULL && ca->len > 0) {
		/* No file to read after the sandbox: nor any CA folder. */
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	} else if (ca->file != NULL && ca->file[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca->file);
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)JOSE_JWKS_MAX);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, jose_fetch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cordond-jwks/1");
}

static int
jose_fetch_do(const char *url, const struct jose_ca *ca, unsigned timeout_ms,
    char **body, size_t *len, char *err, size_t errlen)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct jose_buf b = { NULL, 0 };
	long status = 0;
	CURLcode rc;
	CURL *c;

	*body = NULL;
	*len = 0;
	if (strncasecmp(url, "https://", 8) != 0) {
		jose_errf(err, errlen, "%s: only https:// is accepted", url);
		return -1;
	}
	pthread_once(&jose_curl_once, jose_curl_init);
	if ((c = curl_easy_init()) == NULL) {
		jose_errf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	jose_fetch_setup(c, url, ca, timeout_ms ? timeout_ms : 5000, &b, ebuf);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200 || b.data == NULL) {
		jose_errf(err, errlen, "%s: %s", url,
		    rc != CURLE_OK  ? (ebuf[0] ? ebuf : curl_easy_strerror(rc))
		    : status != 200 ? "HTTP status not 200"
		                    : "empty body");
		free(b.data);
		return -1;
	}
	*body = b.data;
	*len = b.len;
	return 0;
}

int
jose_jwks_fetch(const char *url, const char *ca_file, unsigned timeout_ms,
    char **body, size_t *len, char *err, size_t errlen)
{
	struct jose_ca ca = { .file = ca_file };

	/* OpenSSL would open a FIFO and wait for a writer (ropen.h). */
	if (ca_file != NULL && ca_file[0] != '\0') {
		int fd = ropen_fd(ca_file);

		if (fd < 0) {
			*body = NULL;
			*len = 0;
			jose_errf(err, errlen, "%s: %s", ca_file,
			    errno == EINVAL ? "not a regular file"
			                    : strerror(errno));
			return -1;
		}
		close(fd);
	}
	return jose_fetch_do(url, &ca, timeout_ms, body, len, err, errlen);
}

int
jose_jwks_fetch_blob(const char *url, const void *ca, size_t ca_len,
    unsigned timeout_ms, char **body, size_t *len, char *err, size_t errlen)
{
	struct jose_ca c = { .blob = ca, .len = ca_len };

	return jose_fetch_do(url, &c, timeout_ms, body, len, err, errlen);
}

void
jose_fetch_init(void)
{
	pthread_once(&jose_curl_once, jose_curl_init);
}
