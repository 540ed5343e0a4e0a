/*
 * cordon-dp's syslog fallback (docs/control.md, "While cordond is
 * down"): while no cordond is connected, the main lcore sends the
 * packet records cordond would have sent, itself, to the local and udp
 * targets cordond handed over (DPC_SYSLOG), marked as its own (APP-NAME
 * cordon-dp, fallback="true").  Rate-limited like cordond's records;
 * formatted once into a bounded ring that every target reads at its own
 * pace through a non-blocking datagram socket.  Main lcore only: the
 * workers never see any of it.  Its counters are struct stats_slog, in
 * the first worker's element of the counters memfd.
 */
#ifndef CORDON_DP_SLOG_H
#define CORDON_DP_SLOG_H

#include <stddef.h>

struct dp_ctx;
struct dpc_msg_syslog;
struct dpc_wire_event;

#define DP_SLOG_RING 256 /* formatted records waiting for the targets */

/*
 * Takes a checked SYSLOG message: the targets from now on (sockets of
 * the old ones closed; records still queued are kept).  MSG says what
 * it will use.  0, or -1 (out of memory) with MSG.
 */
int dp_slog_configure(struct dp_ctx *ctx, const struct dpc_msg_syslog *m,
    char *msg, size_t len);

/*
 * N drained log events that no cordond took: counted, rate-limited,
 * formatted and queued (nothing is sent here).  Events with no target
 * to go to are counted only.
 */
void dp_slog_events(struct dp_ctx *ctx, const struct dpc_wire_event *ev,
    unsigned n);

/* cordond is connected again: it sends the records from now on. */
void dp_slog_back(struct dp_ctx *ctx);

/* Sends what the targets can take now, never waiting. */
void dp_slog_flush(struct dp_ctx *ctx);

/* At exit: one last flush, then the sockets and the ring go. */
void dp_slog_close(struct dp_ctx *ctx);

#endif
