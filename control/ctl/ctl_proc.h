/*
 * The control front-end (PROC_CTL, `cordond -P control`): the admin
 * sockets' clients, in a sandboxed child of cordond (docs/control.md
 * section 3, "Who reads the control sockets").  It accepts on the
 * listening sockets the parent passes it, applies the per-uid slots and
 * the timeouts, reads the framing, parses each request (ctl_json_load)
 * and forwards it to the parent as REQ; it writes what the parent
 * answers (START's notice, REPLY, MON lines) and says when a reply went
 * out whole (DELIVERED) or a client went away (GONE).  It decides
 * nothing else: the parent reads each client's credentials and socket
 * itself from the fd passed with ACCEPTED.  Never includes cordond.h.
 */
#ifndef CORDON_CTL_PROC_H
#define CORDON_CTL_PROC_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control/ctl/ctl_msg.h"

#define CTL_CLIENT_MAX     64    /* cordond.h CD_CLIENT_MAX */
#define CTL_ROOT_RESERVED  8     /* slots only root can take */
#define CTL_RW_RESERVED    16    /* slots the read-only socket cannot take */
#define CTL_PER_UID        8     /* clients per non-root uid, both sockets */
#define CTL_ACCEPT_BURST   16    /* connections accepted per wake-up */
#define CTL_REQ_TIMEOUT_MS 5000  /* a request must arrive within */
#define CTL_OUT_TIMEOUT_MS 30000 /* a reply must drain within */
#define CTL_MON_QUEUE      65536 /* bytes held per subscriber */
#define CTL_MON_SNDBUF     16384 /* a subscriber's socket buffer */
#define CTL_POLL_MAX       (3 + CTL_CLIENT_MAX)

struct ctl_client {
	uint32_t cid;
	int fd;
	bool ro;      /* accepted on the read-only socket (slots only) */
	bool closing; /* close once OUT has drained */
	bool waiting; /* its request is the parent's: no reading, no timeout */
	bool mon;     /* a monitor subscriber */
	bool deliver; /* tell DELIVERED once SENT reaches DELIVER_AT */
	uid_t uid;    /* SO_PEERCRED: for the slots alone */
	uint8_t *in;
	size_t inlen, incap;
	char *out;
	size_t outlen, outoff;
	uint64_t sent, deliver_at; /* bytes written since accept */
	char *req;                 /* compact JSON not yet forwarded */
	int64_t req_deadline;
	int64_t deadline_ms;
	int64_t since_ms;
	uint64_t lost_queue, lost_rate; /* events not told yet */
};

/* proc_send's shape: how the child talks to its parent. */
typedef int ctl_send_fn(int fd, uint16_t type, uint32_t id, const void *p,
    size_t len, int passfd);

struct ctl_proc {
	int chan;          /* the channel to the parent */
	ctl_send_fn *send; /* proc_send; tests and fuzzers their own */
	int lfd[2];        /* listening: [0] control, [1] read-only; -1 */
	uint32_t next_cid;
	bool fatal;    /* the parent cannot be told: exit */
	bool fwd_wait; /* a REQ waits for room in the channel */
	uint8_t *msg;  /* one message being encoded */
	struct ctl_client *cl[CTL_CLIENT_MAX];
};

/* ctl_proc.c: 0, or -1 (out of memory). */
int ctl_proc_init(struct ctl_proc *p, int chan, ctl_send_fn *send);
/* Closes every client (GONE each) and the listeners. */
void ctl_proc_free(struct ctl_proc *p);
/* Fills PFD (at least CTL_POLL_MAX): the channel first. */
unsigned ctl_proc_poll_fill(struct ctl_proc *p, struct pollfd *pfd);
/* The listeners' and clients' events (PFD as filled, N entries). */
void ctl_proc_poll_done(struct ctl_proc *p, const struct pollfd *pfd,
    unsigned n);
/* Timeouts, requests waiting for the channel, lost-event notes. */
void ctl_proc_tick(struct ctl_proc *p, int64_t now_ms);
/* Milliseconds to the next deadline (at most 1000). */
int ctl_proc_timeout(const struct ctl_proc *p, int64_t now_ms);

/*
 * ctl_proc_in.c: one message from the parent (header checked by
 * proc_recv): 0, or -1 when it does not decode or comes out of turn
 * (the child then exits; PASSFD is closed when not taken).
 */
int ctl_proc_in(struct ctl_proc *p, const struct proc_hdr *h, const uint8_t *m,
    size_t len, int passfd);

/* ctl_proc.c, for ctl_proc_in.c. */
struct ctl_client *ctl_proc_find(struct ctl_proc *p, uint32_t cid);
void ctl_client_queue(struct ctl_client *c, const char *s, size_t n,
    bool framed);
int ctl_client_notice(struct ctl_client *c);
void ctl_mon_line(struct ctl_client *c, uint32_t lost, const char *s, size_t n);
void ctl_client_close(struct ctl_proc *p, unsigned i);
void ctl_client_forward(struct ctl_proc *p, struct ctl_client *c);
int ctl_proc_tell(struct ctl_proc *p, uint16_t type, uint32_t id, const void *m,
    size_t len, int passfd);

/* ctl_slot.c: the slot policy (docs/control.md section 3, "Limits"). */
int ctl_slot(struct ctl_client *const *cl, bool ro, uid_t uid, bool *evict);

/* ctl_proc_main.c: the child's main (proc_defs[PROC_CTL].run). */
int ctl_proc_run(int fd);

#endif
