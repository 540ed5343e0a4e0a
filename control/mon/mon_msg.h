/*
 * The monitoring child's channel (docs/architecture.md "Processes"):
 * the messages between cordond and `cordond -P monitoring`, which holds
 * the Prometheus listener's clients and the syslog targets' sockets.
 *
 * parent -> child
 *   MON_T_PROM     the listening socket (passed fd), empty payload
 *   MON_T_METRICS  id of a METRICS_GET: struct mon_metrics + the text
 *   MON_T_TARGETS  the syslog targets: struct mon_targets, then each
 *                  TLS target's CA, certificate and key bytes in order
 *   MON_T_RECORD   struct mon_record + one formatted syslog message
 *   MON_T_FLUSH    id (not 0), empty: send what is queued (cordond is
 *                  stopping), at most MON_FLUSH_MS, then STATS with id
 * child -> parent
 *   MON_T_METRICS_GET  a scrape came in: id (not 0), empty payload
 *   MON_T_STATS        struct mon_stats: the targets' counters (id 0,
 *                      or a FLUSH's)
 *   MON_T_LOCAL_GET    struct mon_local (ERR 0): a local target wants its
 *                      socket (the child's root has no paths to connect)
 * and the SNMP ones (MON_T_SNMP_*, MON_T_AGENTX*), in mon_snmp.h.
 *
 * The decoders are pure: they check every field of a payload (exact
 * sizes, bounded strings and lengths, enums in range) and copy nothing
 * they did not check.  Whether a message is expected now (a METRICS for
 * a scrape still waiting, a RECORD after TARGETS, STATS of the current
 * generation) is the receiver's business.
 */
#ifndef CORDON_MON_MSG_H
#define CORDON_MON_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config/load/conf_logging.h"
#include "control/proc/proc.h"

enum mon_type {
	MON_T_PROM = PROC_T_BASE,
	MON_T_METRICS,
	MON_T_TARGETS,
	MON_T_RECORD,
	MON_T_FLUSH,
	MON_T_LOCAL,
	MON_T_METRICS_GET,
	MON_T_STATS,
	MON_T_LOCAL_GET,
	/* SNMP (mon_snmp.h) */
	MON_T_SNMP_CONF,  /* -> child: struct mon_snmp_conf */
	MON_T_SNMP_VARS,  /* -> child: a SNMP_GET's snapshot */
	MON_T_SNMP_TRAP,  /* -> child: a notification */
	MON_T_SNMP_STALE, /* -> child: the snapshot is out of date */
	MON_T_AGENTX,     /* -> child: the AgentX socket, connected */
	MON_T_SNMP_GET,   /* -> parent: id (not 0), empty */
	MON_T_AGENTX_GET, /* -> parent: id (not 0), empty */
	MON_T_END
};

#define MON_METRICS_MAX (1u << 20)   /* text bytes of one exposition */
#define MON_BLOB_MAX    (256u << 10) /* a CA, cert or key file (PEM) */
#define MON_RECORD_MAX  4096         /* one framed syslog message */
#define MON_ERROR_MAX   160          /* a target's last error */
#define MON_QUEUE_MAX   100000       /* a target's queue (as the config) */
#define MON_FLUSH_MS    1000         /* FLUSH: sending for at most */

/* Answer to METRICS_GET: STATUS 200 with the text, or 500/503 (no text). */
struct mon_metrics {
	uint32_t status;
	uint32_t len; /* text bytes that follow */
};

struct mon_target {
	uint32_t type;                      /* enum conf_log_type */
	uint32_t port;                      /* 1..65535; 0 for local */
	uint32_t queue;                     /* 1..MON_QUEUE_MAX */
	uint32_t ca_len, cert_len, key_len; /* TLS only; key iff cert */
	char address[CONF_LOG_ADDR_MAX];    /* NUL-terminated */
	char name[256];                     /* TLS: the name to verify */
};

struct mon_targets {
	uint32_t gen; /* the parent's count of TARGETS sent; STATS echo it */
	uint32_t n;   /* <= CONF_LOG_TARGET_MAX */
	struct mon_target t[CONF_LOG_TARGET_MAX];
};

/* A decoded TARGETS: the fixed part and pointers into the payload. */
struct mon_targets_in {
	struct mon_targets h;
	const uint8_t *ca[CONF_LOG_TARGET_MAX];
	const uint8_t *cert[CONF_LOG_TARGET_MAX];
	const uint8_t *key[CONF_LOG_TARGET_MAX];
};

struct mon_record {
	uint32_t gen;    /* the TARGETS it was meant for */
	uint32_t target; /* index into that TARGETS */
};

/* A decoded RECORD (BYTES points into the payload). */
struct mon_record_in {
	struct mon_record h;
	const uint8_t *bytes;
	size_t len; /* 1..MON_RECORD_MAX */
};

enum mon_tstate {
	MON_TS_DOWN,
	MON_TS_CONNECTING,
	MON_TS_HANDSHAKE,
	MON_TS_UP,
	MON_TS_END
};

struct mon_tstat {
	uint32_t state; /* enum mon_tstate */
	uint32_t queued;
	uint64_t taken; /* RECORDs received for it (this TARGETS) */
	uint64_t sent, dropped, reconnects, errors;
	char error[MON_ERROR_MAX]; /* NUL-terminated, printable */
};

struct mon_stats {
	uint32_t gen; /* the TARGETS these are for */
	uint32_t n;   /* <= CONF_LOG_TARGET_MAX */
	struct mon_tstat t[CONF_LOG_TARGET_MAX];
};

struct mon_local {
	uint32_t gen;    /* the TARGETS it is for */
	uint32_t target; /* a local one */
	uint32_t err;    /* LOCAL: 0 and a descriptor, or connect's errno */
};

/* A decoded METRICS (TEXT points into the payload). */
struct mon_metrics_in {
	uint32_t status;
	const uint8_t *text;
	size_t len;
};

/* Decoders: 0, or -1 (errno EBADMSG) with nothing trusted in OUT. */
int mon_dec_prom(const uint8_t *p, size_t len, int passfd);
int mon_dec_metrics(const uint8_t *p, size_t len, struct mon_metrics_in *out);
int mon_dec_targets(const uint8_t *p, size_t len, struct mon_targets_in *out);
int mon_dec_record(const uint8_t *p, size_t len, struct mon_record_in *out);
int mon_dec_metrics_get(uint32_t id, size_t len);
int mon_dec_flush(uint32_t id, size_t len);
int mon_dec_stats(const uint8_t *p, size_t len, struct mon_stats *out);
/* LOCAL (TO_CHILD, PASSFD as received) or LOCAL_GET. */
int mon_dec_local(const uint8_t *p, size_t len, int passfd, bool to_child,
    struct mon_local *out);

/* Encoders into BUF (CAP bytes): the payload's length, or -1 (E2BIG). */
ssize_t mon_enc_metrics(uint8_t *buf, size_t cap, uint32_t status,
    const char *text, size_t len);
ssize_t mon_enc_targets(uint8_t *buf, size_t cap,
    const struct mon_targets_in *in);
ssize_t mon_enc_record(uint8_t *buf, size_t cap, uint32_t gen, uint32_t target,
    const void *msg, size_t len);

/* Whether TYPE goes parent -> child (true) or child -> parent. */
bool mon_type_to_child(uint16_t type);

#endif
