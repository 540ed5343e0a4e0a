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

#include <stdint.h>

#include "control/ctl/ctl_msg.h"

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

#endif
