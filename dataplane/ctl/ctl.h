/*
 * Server side of the dataplane channel (docs/control.md, section 1): the
 * main lcore of cordon-dp serves one client (cordond) on a
 * SOCK_SEQPACKET Unix socket, between its housekeeping chores, never
 * blocking.  The wire format is wire/dpc_proto.h.
 */
#ifndef CORDON_CTL_H
#define CORDON_CTL_H

#include <stddef.h>

#include "core/policy/policy.h"

struct dp_ctx;
struct ctl;

/*
 * Listens on PATH (mode 0600).  A stale socket left by a dead cordon-dp
 * is replaced; a live one makes this fail (EADDRINUSE).  NULL with errno
 * and a message on stderr.
 */
struct ctl *ctl_open(const char *path, struct dp_ctx *ctx);
/* Closes the client and the listener and removes the socket file. */
void ctl_close(struct ctl *c);

/*
 * Waits at most TIMEOUT_MS for the listener or the client, then serves
 * what arrived: accepts or refuses connections, answers a bounded number
 * of requests.  Returns early on a signal.
 */
void ctl_poll(struct ctl *c, int timeout_ms);

/*
 * ctl_connected(): a client (cordond) is connected; C may be NULL.
 * ctl_events_send(): sends N log events to the client as DPC_EVENT
 * messages, never blocking.  Returns -1 when no client is connected
 * (nothing sent), else how many events could not be sent: the client's
 * socket buffer was more than half full (replies keep the other half)
 * or refused them.
 */
struct dpc_wire_event;
int ctl_connected(const struct ctl *c);
struct dpc_msg_knock;
/* One knock to the client: 0, or -1 when none or its queue is full. */
int ctl_knock_send(struct ctl *c, const struct dpc_msg_knock *k);
long ctl_events_send(struct ctl *c, const struct dpc_wire_event *ev,
    unsigned n);
struct dpc_msg_evidence;
/* One evidence note to the client: 0, or -1 when none or it is full. */
int ctl_evidence_send(struct ctl *c, const struct dpc_msg_evidence *m);

/*
 * Checks a policy received as bytes: counts, actions, every index the
 * fast path or the reports follow, rule bits beyond NRULES, terminated
 * names, and next-hop ports < NPORTS (config port indexes: the sender
 * compiled with pol_compile(..., NULL, ...)).  0, or -1 with a message.
 */
int ctl_policy_check(const struct policy *p, unsigned nports, char *err,
    size_t errlen);

#endif
