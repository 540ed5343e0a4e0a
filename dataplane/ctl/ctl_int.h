/* Private to dataplane/ctl: what the server's files share. */
#ifndef CORDON_CTL_INT_H
#define CORDON_CTL_INT_H

#include "wire/dpc_proto.h"

struct dp_ctx;

/* STATUS/HELLO payload describing what DP enforces now. */
void ctl_status_fill(const struct dp_ctx *dp, struct dpc_msg_status *s);

/*
 * LOAD: checks the request and its NFD memfds, builds the new state
 * aside, publishes it, waits for the grace period; R says how it went.
 * Takes ownership of FDS (closed before it returns).
 */
void ctl_load(struct dp_ctx *dp, const void *payload, int *fds, unsigned nfd,
    struct dpc_msg_result *r);

#endif
