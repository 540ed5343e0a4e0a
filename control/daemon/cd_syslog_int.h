/* Private to cd_syslog*.c: the module's state and what its files share. */
#ifndef CORDON_CD_SYSLOG_INT_H
#define CORDON_CD_SYSLOG_INT_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/load/conf_logging.h"
#include "core/slog/sl_fmt.h"
#include "core/slog/sl_rate.h"
#include "control/mon/mon_msg.h"
#include "wire/dpc_proto.h"

struct cd;

#define SL_AGG_MAX 4096 /* (source, rule) pairs in one window */

struct sl_pend {
	char *b;
	uint32_t len;
};

/*
 * One target as cordond sees it: the monitoring child holds its socket
 * and queue (control/mon/mon_sl_net.c) and reports its counters (CUR);
 * cordond keeps the PEM files' bytes it sends along, what the child's
 * earlier lives counted, and the records formatted while the child was
 * not there to take them (a queue of CF->queue, then dropped).
 */
struct cd_sl_target {
	const struct conf_log_target *cf;
	uint8_t *blob[3]; /* ca, cert, key (TLS) */
	uint32_t blen[3];
	struct mon_tstat cur;
	uint64_t given; /* records sent to the child (these TARGETS) */
	uint64_t sent, dropped, reconnects, errors; /* before CUR */
	struct sl_pend *q;
	unsigned qhead, qn;
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
	uint32_t gen; /* TARGETS sent to the monitoring child */
	struct cd_sl_target t[CONF_LOG_TARGET_MAX];

	struct sl_agg *agg; /* SL_AGG_MAX entries */
	int32_t *bucket;    /* SL_AGG_MAX chain heads */
	int32_t free_head;
	unsigned nagg;
	int64_t agg_next_ms; /* earliest window end, or INT64_MAX */

	struct sl_bucket bucket_rate; /* packet records allowed now */

	uint64_t events, records, overflow, rate_records, rate_events;
};

/* cd_proc_mon_sl.c: the targets, through the monitoring child */
int cd_slt_init(struct cd_sl_target *t, const struct conf_log_target *cf,
    char *err, size_t errlen);
void cd_slt_free(struct cd_sl_target *t);
/* One formatted record for every target: to the child, or queued. */
void cd_slt_push(struct cd *d, const char *msg, size_t len);
const char *cd_slt_state(struct cd *d, const struct cd_sl_target *t);
/* Waiting: here, and in the child's queue as it last reported. */
unsigned cd_slt_queued(const struct cd_sl_target *t);

#endif
