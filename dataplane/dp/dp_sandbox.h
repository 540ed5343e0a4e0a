/*
 * cordon-dp's steady-state sandbox (cordon-dp(8), SANDBOX).  Once the
 * EAL is up, the ports started and the channel listening, the process
 * needs no more privilege than its drivers use per packet and per
 * control request: every thread keeps only those capabilities (from
 * its effective, permitted, inheritable and bounding sets), gets
 * no_new_privs, and the whole process a seccomp allow-list whose
 * default action kills it (fail closed: cordond restarts it).
 */
#ifndef CORDON_DP_SANDBOX_H
#define CORDON_DP_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

struct dp_ctx;

/*
 * The capabilities (a mask of 1 << CAP_*) the drivers of CTX's ports
 * need after start, by the table in dp_sandbox_caps.c.  -1 with a
 * message in ERR when a port's driver is not in the table.
 */
int dp_sandbox_caps(const struct dp_ctx *ctx, uint64_t *caps, char *err,
    size_t errlen);

/* Enters the sandbox (main lcore, before the workers run): 0 or -1. */
int dp_sandbox_enter(struct dp_ctx *ctx);

/* Every thread of the process down to CAPS, with no_new_privs. */
int dp_sandbox_drop_caps(uint64_t caps);

/* The seccomp allow-list for the drivers of CTX's ports. */
int dp_sandbox_seccomp(const struct dp_ctx *ctx);

#endif
