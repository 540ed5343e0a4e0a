/*
 * cordond's processes (privilege separation, docs/architecture.md
 * "Processes"), in the manner of relayd's proc.c: a table of processes,
 * each with its own run function and its own message handlers.
 *
 * The parent (cordond, root) forks and execs itself once per child
 * (`cordond -P NAME`, the channel on fd PROC_CHILD_FD); the child
 * initialises its libraries, opens what it needs, then calls
 * proc_sandbox(): its own unprivileged user, no capabilities,
 * no_new_privs, an empty root, a network namespace of its own unless it
 * needs the network, and its seccomp allow-list.  After that it reads
 * nothing but its channel and what it opened before.
 *
 * Channel: a SOCK_SEQPACKET socketpair, one message per packet: a
 * struct proc_hdr and LEN payload bytes.  Every receiver checks the
 * version, the flags, that LEN is the packet's length, that the type is
 * one it takes and the payload's own rules (each type's decoder); a
 * message that fails is refused and counted (the parent then kills the
 * child: it trusts no child).  Multi-byte fields are host order (both
 * ends are the same binary).
 */
#ifndef CORDON_PROC_H
#define CORDON_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#include "wire/dpc_proto.h"

#define PROC_MSG_VERSION 1
#define PROC_MSG_MAX     (2u << 20)    /* payload bytes, any message */
#define PROC_SOCKBUF     (8u << 20)    /* SO_SNDBUFFORCE/RCVBUFFORCE */
#define PROC_CHILD_FD    3             /* the child's end after exec */
#define PROC_EMPTY_DIR   DPC_EMPTY_DIR /* every child's root */
#define PROC_PING_MS     1000          /* a ready child's pings */
#define PROC_HANG_MS     10000         /* proc_def.hang_ms's default */

struct proc_hdr {
	uint16_t version; /* PROC_MSG_VERSION */
	uint16_t type;    /* the channel's enum; 0 is never valid */
	uint32_t len;     /* payload bytes after the header */
	uint32_t id;      /* request id, echoed by the answer; 0: none */
	uint32_t flags;   /* 0 (reserved) */
};

/* Types every channel takes (the per-child enums start at 16). */
enum {
	PROC_T_LOG = 1, /* child -> parent: one line for cordond's log */
	PROC_T_READY,   /* child -> parent: sandboxed, taking requests */
	PROC_T_PING,    /* parent -> child: alive?  (answered in proc_recv) */
	PROC_T_PONG,    /* child -> parent: the ping's id, no payload */
	PROC_T_BASE = 16,
};
#define PROC_LOG_MAX  512 /* a log line's bytes (printable ASCII) */
#define PROC_LOG_RATE 50  /* lines a child may log per second */

enum proc_id {
	PROC_IDENT, /* tokens, knocks, proof of possession */
	PROC_FETCH, /* jwks_uri over HTTPS (the only child on the network
	               for identity) */
	PROC_CTL,   /* the admin sockets: framing, JSON, limits */
	PROC_MON,   /* syslog targets, AgentX, the Prometheus listener */
	PROC_MAX
};

struct proc_child;

/* What one kind of child is. */
struct proc_def {
	enum proc_id id;
	const char *name; /* "identity": -P NAME, logs, counters */
	const char *user; /* its own system user: "cordon-ident" */
	bool net;         /* keeps the host's network namespace */
	/* A ready child that leaves a ping unanswered this long is hung
	 * (stopped, looping) and killed; 0: PROC_HANG_MS.  Longer for a
	 * child that blocks on purpose (a fetch's own timeout). */
	unsigned hang_ms;
	/* The child's main after exec, fd PROC_CHILD_FD its channel; it
	 * calls proc_sandbox itself once initialised, then sends
	 * PROC_T_READY (before it, the parent takes only PROC_T_LOG), and
	 * returns when the channel closes (the parent is gone; it also
	 * gets SIGKILL then).  Exit status. */
	int (*run)(int fd);
	/* Parent side: one message from this child (already checked by
	 * proc_recv: header, length; a type >= PROC_T_BASE, and only
	 * after READY; an answer whose id no proc_call waits for comes
	 * here too, and must be refused).  The handler owns PASSFD (-1:
	 * none) whatever it returns.  -1: the child broke the protocol (the parent kills
	 * and restarts it, counted as refused). */
	int (*in)(void *arg, struct proc_child *c, const struct proc_hdr *h,
	    const uint8_t *p, int passfd);
	/* Parent side: the child is up again (sandboxed, READY): send it
	 * its configuration, keys, listening sockets. */
	void (*up)(void *arg, struct proc_child *c);
	/* Parent side: the child went away (requests in flight failed). */
	void (*down)(void *arg, struct proc_child *c);
};

/* The parent's view of one child. */
struct proc_child {
	const struct proc_def *def;
	pid_t pid;  /* 0: not running */
	int fd;     /* the parent's end; -1 when down */
	bool ready; /* READY seen since the last start */
	/* counters (show status): starts; crashes, every end (each one
	 * restarted); refused, killed by proc_fail */
	unsigned starts, crashes, refused;
	unsigned backoff_ms;   /* the next restart's delay after this */
	int64_t next_start_ms; /* CLOCK_MONOTONIC */
	int64_t up_since_ms;   /* the last start (CLOCK_MONOTONIC) */
	int64_t crash_ms[8];   /* the last crashes' times: crash loop */
	int64_t ping_ms;       /* a ping unanswered since; 0: none */
	int64_t pong_ms;       /* the last answer (or READY) */
	uint32_t ping_id;
	char last_exit[64]; /* "killed by SIGSYS", "exit 1" */
	/* its log lines: the second counted, lines in it, dropped */
	int64_t log_sec;
	unsigned log_n, log_dropped;
};

/* ---- messages (proc_msg.c) ---- */

/*
 * One message, never blocking (MSG_DONTWAIT): 0, or -1 with errno
 * (EAGAIN: the peer does not read; EMSGSIZE; EPIPE: gone).  PASSFD >= 0
 * goes along (SCM_RIGHTS).
 */
int proc_send(int fd, uint16_t type, uint32_t id, const void *p, size_t len,
    int passfd);
/*
 * One message into BUF (CAP bytes, at least PROC_MSG_MAX for a parent):
 * the payload length, or -1 with errno: EAGAIN (nothing), ECONNRESET (the
 * peer closed), EBADMSG (the header is wrong: version, flags, length),
 * EMSGSIZE (truncated).  *PASSFD gets a passed descriptor or -1 (more
 * than one: all closed, EBADMSG).
 */
ssize_t proc_recv(int fd, struct proc_hdr *h, uint8_t *buf, size_t cap,
    int *passfd);
/* The header check alone (the fuzz harnesses use it): 0 or -1. */
int proc_hdr_check(const struct proc_hdr *h, size_t got);
/* Child: one line to the parent's log (PROC_T_LOG). */
void proc_log(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A PROC_T_LOG payload: 1..PROC_LOG_MAX printable ASCII; 0 or -1. */
int proc_log_check(const uint8_t *p, size_t len);

/*
 * A request and its answer (same ID) within TIMEOUT_MS, answering
 * nothing else meanwhile: the answer's payload length, or -1 (errno
 * ETIMEDOUT: the parent then kills the child).  Other messages that
 * arrive first go to the child's def->in.
 */
struct proc_set;
ssize_t proc_call(struct proc_set *s, struct proc_child *c, uint16_t type,
    const void *p, size_t len, uint16_t want, uint8_t *ans, size_t cap,
    unsigned timeout_ms);

/*
 * Parent: at most PROC_LOG_RATE lines a second of child C (its
 * PROC_T_LOG and what its handlers log of its messages): a child that
 * floods must not drown cordond's own lines (journald's rate limit is
 * per service) nor keep cordond writing.  True to log the line.
 */
bool proc_log_admit(struct proc_set *s, struct proc_child *c);

/* ---- the child's side (proc_sandbox.c) ---- */

/*
 * Enters the sandbox: the user DEF->user (its group only), the empty
 * root PROC_EMPTY_DIR, a new network namespace unless DEF->net,
 * no_new_privs, no capabilities, and the seccomp allow-list SYSCALLS
 * (names, NULL-terminated; the common ones of proc_sandbox.c added).
 * Everything but KEEP (NKEEP fds) and the channel is closed first.
 * 0, or -1 (the child must exit).
 */
int proc_sandbox(const struct proc_def *def, const char *const *syscalls,
    const int *keep, unsigned nkeep);

/* ---- the parent's side (proc.c) ---- */

struct proc_set {
	struct proc_child c[PROC_MAX];
	const char *self; /* argv[0] of the children */
	int exe;          /* /proc/self/exe opened: what children exec */
	void *arg;        /* the handlers' ARG (struct cd) */
	uint8_t *buf;     /* PROC_MSG_MAX: one received payload */
	uint32_t seq;     /* proc_call's last request id */
	/* The parent's log, one line (cd_log). */
	void (*log)(void *arg, const char *line);
	/* A child ended (C->last_exit says how; C->next_start_ms when it
	 * starts again): syslog, alarms. */
	void (*ended)(void *arg, struct proc_child *c);
};

extern const struct proc_def *const proc_defs[PROC_MAX];

/*
 * Opens /proc/self/exe (before any privilege is dropped: the file the
 * children run is the one cordond was started from) and the receive
 * buffer; every child down, to start at the first proc_tick.  0 or -1.
 */
int proc_init(struct proc_set *s, void *arg);
/* Creates the users (cordon-dp's too) and the empty root if missing;
 * 0 or -1. */
int proc_prepare(void);
/* PROC_EMPTY_DIR (and /run/cordon) root's, not writable by others, the
 * root 0755 and empty; made when missing.  0, or -1 with errno. */
int proc_empty_check(void);
/* Starts every child whose time has come; returns ms to the next. */
int proc_tick(struct proc_set *s, int64_t now_ms);
/* A reaped pid: 1 when it was a child (restart scheduled), else 0. */
int proc_reaped(struct proc_set *s, pid_t pid, int status);
/* Poll set: one pollfd per running child. */
unsigned proc_poll_fill(struct proc_set *s, struct pollfd *pfd);
void proc_poll_done(struct proc_set *s, const struct pollfd *pfd, unsigned n);
/* Kills and reaps every child (cordond stopping). */
void proc_stop(struct proc_set *s);
/* The child ID if running and READY, else NULL. */
struct proc_child *proc_get(struct proc_set *s, enum proc_id id);
/* A child that broke the protocol: killed (counted as refused),
 * restarted later. */
void proc_fail(struct proc_set *s, struct proc_child *c, const char *why);
/* Killed without blame (a proc_call that timed out). */
void proc_kill(struct proc_set *s, struct proc_child *c, const char *why);
/* How many of C's crashes fell within the last MS before NOW. */
unsigned proc_crashes_within(const struct proc_child *c, int64_t now,
    int64_t ms);

/* The child kind called NAME, or NULL. */
const struct proc_def *proc_def_find(const char *name);
/* cordond -P NAME: the child's entry (never returns). */
void proc_child_main(const char *name) __attribute__((noreturn));

#endif
