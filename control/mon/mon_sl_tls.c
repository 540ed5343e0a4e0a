/*
 * TLS for syslog targets (RFC 5425), OpenSSL, non-blocking: the poll
 * loop drives the handshake and writes.  The server's certificate is
 * always verified against the target's "ca" certificates and its "name"
 * (or, when no name is given, its numeric address); TLS 1.2 at least; an
 * optional client certificate.  The PEM files come as bytes (cordond
 * reads them; the monitoring child cannot open files in its sandbox).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "control/mon/mon_sl.h"

struct sl_tls {
	const struct mon_target *cf;
	SSL_CTX *ctx;
	SSL *ssl;
};

static void
sl_tls_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	if (e != 0)
		ERR_error_string_n(e, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "failed");
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

/* Every certificate of the PEM bytes P (LEN) into the trust store. */
static int
sl_tls_ca(SSL_CTX *ctx, const uint8_t *p, uint32_t len)
{
	BIO *b = BIO_new_mem_buf(p, (int)len);
	X509_STORE *st = SSL_CTX_get_cert_store(ctx);
	X509 *x;
	int n = 0;

	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(st, x) == 1)
			n++;
		X509_free(x);
	}
	BIO_free(b);
	ERR_clear_error(); /* the end of the bytes */
	return n > 0 ? 0 : -1;
}

/* The client certificate (then its chain) and its key. */
static int
sl_tls_client(SSL_CTX *ctx, const uint8_t *cert, uint32_t clen,
    const uint8_t *key, uint32_t klen)
{
	BIO *b = BIO_new_mem_buf(cert, (int)clen);
	BIO *k = BIO_new_mem_buf(key, (int)klen);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = k ? PEM_read_bio_PrivateKey(k, NULL, NULL, NULL) : NULL;
	int rc = -1;

	if (x == NULL || pk == NULL || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out;
	rc = 0;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add_extra_chain_cert(ctx, x) != 1) {
			X509_free(x);
			rc = -1;
			break;
		}
	x = NULL;
out:
	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(b);
	BIO_free(k);
	return rc;
}

struct sl_tls *
sl_tls_new(const struct mon_target *cf, const uint8_t *ca, const uint8_t *cert,
    const uint8_t *key, char *err, size_t errlen)
{
	struct sl_tls *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		sl_tls_err(err, errlen, "TLS context");
		free(t);
		return NULL;
	}
	t->cf = cf;
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (sl_tls_ca(t->ctx, ca, cf->ca_len) < 0) {
		snprintf(err, errlen, "ca: no certificate");
		goto fail;
	}
	if (cf->cert_len > 0 &&
	    sl_tls_client(t->ctx, cert, cf->cert_len, key, cf->key_len) < 0) {
		sl_tls_err(err, errlen, "cert");
		goto fail;
	}
	return t;
fail:
	SSL_CTX_free(t->ctx);
	free(t);
	return NULL;
}

void
sl_tls_free(struct sl_tls *t)
{
	if (t == NULL)
		return;
	sl_tls_stop(t);
	SSL_CTX_free(t->ctx);
	free(t);
}

int
sl_tls_start(struct sl_tls *t, int fd, char *err, size_t errlen)
{
	const char *name = t->cf->name[0] ? t->cf->name : NULL;

	sl_tls_stop(t);
	if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1)
		goto fail;
	if (name) {
		if (SSL_set1_host(t->ssl, name) != 1 ||
		    SSL_set_tlsext_host_name(t->ssl, name) != 1)
			goto fail;
	} else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl),
	               t->cf->address) != 1)
		goto fail;
	SSL_set_connect_state(t->ssl);
	return 0;
fail:
	sl_tls_err(err, errlen, "TLS session");
	sl_tls_stop(t);
	return -1;
}

void
sl_tls_stop(struct sl_tls *t)
{
	if (t->ssl == NULL)
		return;
	SSL_free(t->ssl); /* no close_notify: the socket may be dead */
	t->ssl = NULL;
	ERR_clear_error();
}

/* WANT_READ / WANT_WRITE into poll events; 0 for a real error. */
static short
sl_tls_want(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return POLLIN;
	case SSL_ERROR_WANT_WRITE:
		return POLLOUT;
	default:
		return 0;
	}
}

int
sl_tls_handshake(struct sl_tls *t, short *want, char *err, size_t errlen)
{
	int rc = SSL_do_handshake(t->ssl);
	long v;

	if (rc == 1)
		return 1;
	if ((*want = sl_tls_want(t->ssl, rc)) != 0)
		return 0;
	v = SSL_get_verify_result(t->ssl);
	if (v != X509_V_OK)
		snprintf(err, errlen, "server certificate: %s",
		    X509_verify_cert_error_string(v));
	else
		sl_tls_err(err, errlen, "handshake");
	ERR_clear_error();
	return -1;
}

long
sl_tls_write(struct sl_tls *t, const void *b, size_t n, short *want)
{
	int rc;

	if (t->ssl == NULL)
		return -1;
	rc = SSL_write(t->ssl, b, n > INT32_MAX ? INT32_MAX : (int)n);
	if (rc > 0)
		return rc;
	if ((*want = sl_tls_want(t->ssl, rc)) != 0)
		return 0;
	ERR_clear_error();
	return -1;
}

int
sl_tls_drain(struct sl_tls *t)
{
	char buf[512];
	int rc;

	if (t->ssl == NULL)
		return -1;
	while ((rc = SSL_read(t->ssl, buf, sizeof(buf))) > 0)
		;
	if (sl_tls_want(t->ssl, rc) != 0)
		return 0;
	ERR_clear_error();
	return -1;
}
