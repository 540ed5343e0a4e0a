/*
 * Client side of the dataplane channel (docs/control.md, section 1):
 * what cordond uses to talk to a running cordon-dp.  Blocking calls with
 * timeouts; the daemon calls them from its event loop only for short,
 * bounded exchanges.
 */
#ifndef CORDON_DPC_H
#define CORDON_DPC_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/geo/geo.h"
#include "core/policy/policy.h"
#include "core/stats/stats.h"

#define DPC_HASH_LEN 32 /* SHA-256 */
#define DPC_PORT_MAX 16
#define DPC_NAME_MAX 32
/* Counters (workers) in the memfd at most: RTE_MAX_LCORE may reach it. */
#define DPC_WORKERS_MAX 1024

struct dpc_status {
	pid_t pid;
	uint64_t revision; /* 0: started from its own config */
	uint8_t policy_hash[DPC_HASH_LEN];
	uint8_t geo_hash[DPC_HASH_LEN];
	uint64_t started_unix_ns;
	uint64_t activated_unix_ns; /* when the current state went live */
	uint32_t workers;
	uint32_t nports;
	bool sandbox;      /* cordon-dp(8) SANDBOX entered */
	unsigned landlock; /* its Landlock ABI, 0: without Landlock */
	char port[DPC_PORT_MAX][DPC_NAME_MAX];
};

struct dpc;

/* Connects to cordon-dp's control socket.  NULL with errno on failure. */
struct dpc *dpc_connect(const char *path, int timeout_ms);
void dpc_close(struct dpc *c);
/*
 * The socket, for poll(): readable with nothing asked means an event
 * (or EOF): call dpc_events_read().
 */
int dpc_fd(const struct dpc *c);

/*
 * Log events cordon-dp sends unsolicited (DPC_EVENT).  dpc_events_read()
 * hands FN the events kept while a request waited for its reply, then
 * those pending on the socket, without blocking; anything else pending
 * (a late reply) is discarded.  0, or -1 with errno when the channel is
 * closed (ECONNRESET) or broken.  dpc_events_lost(): events that did not
 * fit the queue kept during requests.
 */
struct dpc_wire_event;
typedef void dpc_event_fn(void *arg, const struct dpc_wire_event *ev);
int dpc_events_read(struct dpc *c, dpc_event_fn *fn, void *arg);
uint64_t dpc_events_lost(const struct dpc *c);

/*
 * Knocks (DPC_KNOCK) go to FN, from dpc_events_read() too; those that
 * arrived during a request are kept (a few) until then.
 */
struct dpc_msg_knock;
typedef void dpc_knock_fn(void *arg, const struct dpc_msg_knock *k);
void dpc_knock_handler(struct dpc *c, dpc_knock_fn *fn, void *arg);
uint64_t dpc_knocks_lost(const struct dpc *c);

/*
 * Evidence notes (DPC_EVIDENCE) go to FN, from dpc_events_read() too;
 * those that arrived during a request are kept (a few) until then.
 */
struct dpc_msg_evidence;
typedef void dpc_evidence_fn(void *arg, const struct dpc_msg_evidence *m);
void dpc_evidence_handler(struct dpc *c, dpc_evidence_fn *fn, void *arg);

/*
 * The session table memfd (core/sess) to hand over with the next
 * LOAD (duplicated; -1 clears it).  Sent until a LOAD succeeds.
 */
int dpc_sess_pending(struct dpc *c, int fd);

/*
 * HELLO: fills ST and maps the counters memfd (kept by C until close).
 * 0, or -1 with errno.
 */
int dpc_hello(struct dpc *c, struct dpc_status *st);

/* Sums the workers' counters as of now. */
void dpc_stats_sum(const struct dpc *c, struct stats *sum);

/* The workers' top sketches (core/top), *N of them; NULL before HELLO. */
struct top_sketch;
const struct top_sketch *dpc_top(const struct dpc *c, unsigned *n);

/*
 * LOAD: pushes P (and G, unless NULL: keep the current tables) as
 * REVISION.  GEO_HASH identifies G's sources (opaque to cordon-dp).
 * Returns 0 once cordon-dp has activated it, or -1 with the reason in
 * ERR (cordon-dp refused it, timed out, or the channel broke).
 */
int dpc_load(struct dpc *c, uint64_t revision, const struct policy *p,
    const struct geo_tables *g, const uint8_t geo_hash[DPC_HASH_LEN],
    int timeout_ms, char *err, size_t errlen);

/*
 * SYSLOG: hands cordon-dp the syslog targets for its fallback while
 * cordond is away (docs/control.md).  0 with what cordon-dp will use
 * in ERR, or -1 with the reason there.
 */
struct dpc_msg_syslog;
int dpc_syslog(struct dpc *c, const struct dpc_msg_syslog *m, int timeout_ms,
    char *err, size_t errlen);

/* STATUS: like dpc_hello() without (re)mapping the counters. */
int dpc_status_get(struct dpc *c, struct dpc_status *st);

/*
 * dpc_load() with the geo tables already exported (geo_tables_export()):
 * GEO_BLOB NULL keeps the current tables.  Lets a caller export once and
 * push the same blob again (after a cordon-dp restart, say).
 */
int dpc_load_blob(struct dpc *c, uint64_t revision, const struct policy *p,
    const void *geo_blob, size_t geo_len, const uint8_t geo_hash[DPC_HASH_LEN],
    int timeout_ms, char *err, size_t errlen);

#endif
