/*
 * Syslog targets' sockets (RFC 5426 udp, RFC 6587 tcp, RFC 5425 tls,
 * local datagrams): one non-blocking socket and one bounded queue each,
 * reconnected with backoff.  They take records already formatted (the
 * parent formats them, control/daemon/cd_syslog.c) and are driven by the
 * monitoring child's poll loop (mon_proc.c).
 */
#ifndef CORDON_MON_SL_H
#define CORDON_MON_SL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control/mon/mon_msg.h"

#define SL_BACKOFF_MIN_MS 250
#define SL_BACKOFF_MAX_MS 30000
#define SL_CONNECT_MS     5000 /* connect + TLS handshake, at most */

struct sl_tls;

struct sl_qmsg {
	char *b;
	uint32_t len;
};

struct sl_target {
	struct mon_target cf; /* a copy: the message goes away */
	int fd;
	enum mon_tstate st;
	bool stream; /* tcp, tls: octet-counted frames */
	short want;  /* TLS: events the handshake/write waits for */
	int64_t retry_ms, deadline_ms;
	unsigned backoff_ms;
	struct sl_qmsg *q; /* ring of CF.queue messages */
	unsigned qhead, qn;
	size_t off; /* bytes of the head already written */
	struct sl_tls *tls;
	uint64_t taken, sent, dropped, reconnects, errors;
	bool ever_up;
	bool reported_busy; /* queue not empty in the last STATS */
	char error[MON_ERROR_MAX];
	/* local: asks for a connected socket (sl_target_local answers) */
	int (*ask)(void *arg, const struct sl_target *t);
	void *ask_arg;
};

/* mon_sl_net.c.  init: CA, CERT, KEY are the TLS target's PEM bytes
 * (lengths in CF), used now and not kept. */
int sl_target_init(struct sl_target *t, const struct mon_target *cf,
    const uint8_t *ca, const uint8_t *cert, const uint8_t *key, char *err,
    size_t errlen);
void sl_target_free(struct sl_target *t);
void sl_target_push(struct sl_target *t, const char *msg, size_t len);
short sl_target_events(const struct sl_target *t);
void sl_target_io(struct sl_target *t, short revents);
void sl_target_tick(struct sl_target *t, int64_t now);
/* Monotonic ms of its next timer, or INT64_MAX. */
int64_t sl_target_next_ms(const struct sl_target *t);
const char *sl_target_state(const struct sl_target *t);
/* A local target's socket, connected by cordond (FD), or ERR. */
void sl_target_local(struct sl_target *t, int fd, int err);
void sl_target_stat(const struct sl_target *t, struct mon_tstat *out);

/* mon_sl_tls.c: OpenSSL, non-blocking */
struct sl_tls *sl_tls_new(const struct mon_target *cf, const uint8_t *ca,
    const uint8_t *cert, const uint8_t *key, char *err, size_t errlen);
void sl_tls_free(struct sl_tls *t);
/* Starts a session on connected FD.  0, or -1 with ERR. */
int sl_tls_start(struct sl_tls *t, int fd, char *err, size_t errlen);
void sl_tls_stop(struct sl_tls *t);
/* 1 done, 0 again when *WANT (POLLIN/POLLOUT) is ready, -1 failed. */
int sl_tls_handshake(struct sl_tls *t, short *want, char *err, size_t errlen);
/* Bytes written (> 0), 0: wait for *WANT, -1: the session is broken. */
long sl_tls_write(struct sl_tls *t, const void *b, size_t n, short *want);
/* Reads and discards what the server sent; -1 once it has closed. */
int sl_tls_drain(struct sl_tls *t);

#endif
