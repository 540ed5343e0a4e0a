/* Private to cd_syslog*.c: the module's state and what its files share. */
#ifndef CORDON_CD_SYSLOG_INT_H
#define CORDON_CD_SYSLOG_INT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/load/conf_logging.h"
#include "core/slog/sl_fmt.h"
#include "core/slog/sl_rate.h"
#include "wire/dpc_proto.h"

#define SL_AGG_MAX        4096 /* (source, rule) pairs in one window */
#define SL_BACKOFF_MIN_MS 250
#define SL_BACKOFF_MAX_MS 30000
#define SL_CONNECT_MS     5000 /* connect + TLS handshake, at most */

struct sl_tls;

enum sl_tstate {
	SL_T_DOWN,       /* waiting for RETRY_MS */
	SL_T_CONNECTING, /* non-blocking connect() in progress */
	SL_T_HANDSHAKE,  /* TLS */
	SL_T_UP,
};

struct sl_qmsg {
	char *b;
	uint32_t len;
};

struct sl_target {
	const struct conf_log_target *cf;
	int fd;
	enum sl_tstate st;
	bool stream; /* tcp, tls: octet-counted frames */
	short want;  /* TLS: events the handshake/write waits for */
	int64_t retry_ms, deadline_ms;
	unsigned backoff_ms;
	struct sl_qmsg *q; /* ring of CF->queue messages */
	unsigned qhead, qn;
	size_t off; /* bytes of the head already written */
	struct sl_tls *tls;
	uint64_t sent, dropped, reconnects, errors;
	bool ever_up;
	char error[160];
};

struct sl_agg {
	struct dpc_wire_event ev;  /* the first event of the window */
	uint64_t held;             /* events since, not yet reported */
	int64_t first_us, last_us; /* of the held ones */
	int64_t end_ms;            /* window end, monotonic */
	int32_t next;              /* chain, or -1 */
};

struct cd_syslog {
	const struct conf_logging *cf;
	char host[256];
	char procid[16];
	unsigned ntargets;
	struct sl_target t[CONF_LOG_TARGET_MAX];

	struct sl_agg *agg; /* SL_AGG_MAX entries */
	int32_t *bucket;    /* SL_AGG_MAX chain heads */
	int32_t free_head;
	unsigned nagg;
	int64_t agg_next_ms; /* earliest window end, or INT64_MAX */

	struct sl_bucket bucket_rate; /* packet records allowed now */

	uint64_t events, records, overflow, rate_records, rate_events;
};

/* cd_syslog_net.c: targets */
int sl_target_init(struct sl_target *t, const struct conf_log_target *cf,
    char *err, size_t errlen);
void sl_target_free(struct sl_target *t);
void sl_target_push(struct sl_target *t, const char *msg, size_t len);
short sl_target_events(const struct sl_target *t);
void sl_target_io(struct sl_target *t, short revents);
void sl_target_tick(struct sl_target *t, int64_t now);
const char *sl_target_state(const struct sl_target *t);

/* cd_syslog_tls.c: OpenSSL, non-blocking */
struct sl_tls *sl_tls_new(const struct conf_log_target *cf, char *err,
    size_t errlen);
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
