/*
 * cordond's side of the control child (PROC_CTL, control/ctl): what it
 * takes from the child.  cd_ctl_take is the receiver the fuzzer drives
 * (tests/fuzz/fuzz_proc_ctl.c): it decodes one message, checks it comes
 * in turn for its client and parses a request again, as the child did,
 * with the same bounds (ctl_json_load).  It keeps only a table of
 * cids and their states, parallel to cordond's clients (d->cl).
 */
#ifndef CORDON_CD_PROC_CTL_H
#define CORDON_CD_PROC_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "control/ctl/ctl_msg.h"

#define CTL_CLIENT_MAX_PARENT 64 /* CD_CLIENT_MAX, CTL_CLIENT_MAX */

struct cd_ctl_peer {
	uint32_t cid;   /* 0: the entry is free */
	uint8_t state;  /* enum ctl_state */
	uint32_t flags; /* the last REPLY's CTL_REPLY_* */
};

/* One message taken. */
struct cd_ctl_in {
	uint16_t type;
	uint32_t cid;
	unsigned slot;       /* its entry in the table */
	int64_t deadline_ms; /* REQ */
	json_t *req;         /* REQ: the request, the caller's to free */
	int fd;              /* ACCEPTED: the client's socket, the caller's */
	bool ok;             /* STARTED */
};

/*
 * Takes the message H, P (LEN bytes), PASSFD for the peers TAB (N
 * entries): 0 with IN filled and TAB updated, or -1 when the child broke
 * the protocol (PASSFD closed; the caller kills the child).  A REQ whose
 * JSON the child should have refused, or whose deadline is not the
 * request's own, is a broken protocol too.
 */
int cd_ctl_take(struct cd_ctl_peer *tab, unsigned n, const struct proc_hdr *h,
    const uint8_t *p, size_t len, int passfd, struct cd_ctl_in *in);
/* What the parent sends, checked against TAB[SLOT]: 0, or -1. */
int cd_ctl_sent(struct cd_ctl_peer *tab, unsigned slot, uint16_t type,
    uint32_t reply_flags);

/*
 * cd_proc_ctl.c: the parent's handlers (proc_defs[PROC_CTL]) and what
 * cordond's clients are now: a cid, the parent's copy of the socket
 * (SO_PEERCRED, which listener, a hang-up), a monitor filter.
 */
struct cd;
struct cd_client;
struct proc_def;
struct cd_ctl_msg;

struct cd_ctl {
	struct cd_ctl_peer peer[CTL_CLIENT_MAX_PARENT];
	int serving;   /* the slot whose request is being served, or -1 */
	unsigned gen;  /* the child's starts: a request outlived it? */
	bool draining; /* taking the messages queued while serving */
	struct cd_ctl_msg *head, *tail;
	unsigned queued;
	size_t held; /* their payload bytes */
};

extern const struct proc_def cd_proc_ctl_def;

/* Every client released (cordond stopping). */
void cd_ctl_close_all(struct cd *d);
/*
 * Before a request is acted on: 1 to serve it; 0 when its deadline has
 * passed (or is too near for a CHANGE), E filled; -1 when the client has
 * gone (no reply).  For a CHANGE with a deadline the child writes the
 * start notice (START, STARTED), and a client that cannot take it has
 * gone.
 */
struct cd_err;
int cd_client_admit(struct cd *d, const struct cd_client *c,
    int64_t deadline_ms, bool change, struct cd_err *e);
/* A monitor line (LEN 0: only LOST) for subscriber SLOT: 0, or -1. */
int cd_ctl_mon(struct cd *d, unsigned slot, uint32_t lost, const char *line,
    size_t len);

#endif
