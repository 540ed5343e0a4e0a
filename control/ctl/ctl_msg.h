/*
 * The control child's channel (docs/control.md section 3, "Who reads the
 * control sockets"): what the control front-end (PROC_CTL, control/ctl)
 * and cordond's parent say to each other.  Pure encoders and decoders;
 * every decoder checks every field (exact sizes, lengths within their
 * bounds, flags and enums in range) and each receiver also checks the
 * order (ctl_seq_*): a message that breaks either is refused.
 *
 * One client (an accepted connection on either control socket) is a
 * cid: the child numbers them, never 0, never reused while it runs.
 *
 *   child -> parent                      parent -> child
 *   ACCEPTED {cid} + the client's fd     LISTEN {ro} + a listening fd
 *   REQ {cid, deadline, JSON}            START {cid} (call)
 *   STARTED {cid, ok} (START's answer)   REPLY {cid, flags, JSON}
 *   DELIVERED {cid}                      MON {cid, lost, line}
 *   GONE {cid}
 *
 * The fd of ACCEPTED goes once, before any REQ of that client: the
 * parent reads SO_PEERCRED and the listener (getsockname) from it and
 * never takes a uid or a socket from the child.  GONE: the child closed
 * the client; the parent closes its copy.
 */
#ifndef CORDON_CTL_MSG_H
#define CORDON_CTL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "control/proc/proc.h"

#define CTL_REQ_MAX    (1u << 20)           /* a request's JSON bytes */
#define CTL_REPLY_MAX  (PROC_MSG_MAX - 16u) /* a reply's JSON bytes */
#define CTL_LINE_MAX   8192u                /* a monitor line's bytes */
#define CTL_JSON_DEPTH 32                   /* nesting of a request */

enum ctl_type {
	/* child -> parent */
	CTL_T_ACCEPTED = PROC_T_BASE,
	CTL_T_REQ,
	CTL_T_STARTED,
	CTL_T_DELIVERED,
	CTL_T_GONE,
	/* parent -> child */
	CTL_T_LISTEN = PROC_T_BASE + 8,
	CTL_T_START,
	CTL_T_REPLY,
	CTL_T_MON,
	CTL_T_END,
};

/* ACCEPTED, DELIVERED, GONE, START: a cid alone. */
struct ctl_cid {
	uint32_t cid;
};

struct ctl_listen {
	uint32_t ro; /* 0: the control socket, 1: the read-only one */
};

/* REQ: the fixed part, then LEN bytes of compact JSON (no NUL). */
struct ctl_req {
	uint32_t cid;
	uint32_t zero;       /* 0 */
	int64_t deadline_ms; /* the request's deadline_ms; 0: none */
	/* decoded: */
	const char *json; /* inside the message */
	size_t len;       /* 1 .. CTL_REQ_MAX */
};
#define CTL_REQ_FIXED 16u

struct ctl_started {
	uint32_t cid;
	uint32_t ok; /* 1: the notice was written whole; 0: gone */
};

#define CTL_REPLY_CLOSE   0x1u /* close the client once it is written */
#define CTL_REPLY_MONITOR 0x2u /* a subscriber from now on (cd_mon.c) */
#define CTL_REPLY_FLAGS   0x3u

struct ctl_reply {
	uint32_t cid;
	uint32_t flags; /* CTL_REPLY_* */
	const char *json;
	size_t len; /* 1 .. CTL_REPLY_MAX */
};
#define CTL_REPLY_FIXED 8u

/* MON: one event line (ends with '\n') and/or events lost to the rate. */
struct ctl_mon {
	uint32_t cid;
	uint32_t lost; /* events rate-limited since the last MON */
	const char *line;
	size_t len; /* 0 .. CTL_LINE_MAX; 0 only with LOST > 0 */
};
#define CTL_MON_FIXED 8u

/*
 * Encoders: the payload into BUF (CAP bytes); its length, or -1 (EINVAL:
 * a field out of range; EMSGSIZE: CAP too small).
 */
ssize_t ctl_enc_cid(uint32_t cid, uint8_t *buf, size_t cap);
ssize_t ctl_enc_listen(bool ro, uint8_t *buf, size_t cap);
ssize_t ctl_enc_req(const struct ctl_req *m, uint8_t *buf, size_t cap);
ssize_t ctl_enc_started(uint32_t cid, bool ok, uint8_t *buf, size_t cap);
ssize_t ctl_enc_reply(const struct ctl_reply *m, uint8_t *buf, size_t cap);
ssize_t ctl_enc_mon(const struct ctl_mon *m, uint8_t *buf, size_t cap);

/* Decoders: 0, or -1 (EBADMSG) with OUT undefined. */
int ctl_dec_cid(const uint8_t *p, size_t len, struct ctl_cid *out);
int ctl_dec_listen(const uint8_t *p, size_t len, struct ctl_listen *out);
int ctl_dec_req(const uint8_t *p, size_t len, struct ctl_req *out);
int ctl_dec_started(const uint8_t *p, size_t len, struct ctl_started *out);
int ctl_dec_reply(const uint8_t *p, size_t len, struct ctl_reply *out);
int ctl_dec_mon(const uint8_t *p, size_t len, struct ctl_mon *out);

/*
 * A request's JSON, parsed as both ends parse it: at most CTL_REQ_MAX
 * bytes, duplicate keys refused, NUL escapes kept (a token may hold one
 * for the verifier to refuse), at most CTL_JSON_DEPTH levels.  NULL with
 * ERR (CAP bytes) filled.
 */
json_t *ctl_json_load(const char *s, size_t len, char *err, size_t cap);
/* The request's deadline_ms when it is one, else 0 (the parent refuses
 * a malformed one by name): what REQ carries. */
int64_t ctl_json_deadline(const json_t *req);
/* The nesting depth of V (a scalar: 0), counted up to LIMIT + 1. */
int ctl_json_depth(const json_t *v, int limit);

/*
 * Order: what the parent knows of one cid (ctl_seq_in for what the
 * child sends, ctl_seq_out for what the parent sends).  The new state,
 * or -1 when the message is out of order (the parent: proc_fail).
 */
enum ctl_state {
	CTL_S_FREE,     /* no such client */
	CTL_S_IDLE,     /* connected, no request */
	CTL_S_REQ,      /* a request being served */
	CTL_S_REPLIED,  /* its reply sent, not yet delivered */
	CTL_S_MON_WAIT, /* subscribed, the reply not yet delivered */
	CTL_S_MON,      /* a monitor subscriber */
};
int ctl_seq_in(enum ctl_state s, uint16_t type);
int ctl_seq_out(enum ctl_state s, uint16_t type, uint32_t reply_flags);

#endif
