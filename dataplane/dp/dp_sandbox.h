/*
 * cordon-dp's steady-state sandbox (cordon-dp(8), SANDBOX).  Once the
 * EAL is up, the ports started and the channel listening, the process
 * needs no more privilege than its drivers use per packet and per
 * control request: every thread keeps only those capabilities (from
 * its effective, permitted, inheritable and bounding sets), runs as the
 * user DPC_DP_USER, may write only beneath the folders it writes
 * (Landlock, where the kernel has it), gets no_new_privs, and the whole
 * process a seccomp allow-list whose default action kills it (fail
 * closed: cordond restarts it).
 */
#ifndef CORDON_DP_SANDBOX_H
#define CORDON_DP_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* Every thread of the process down to CAPS, with no_new_privs, as
 * UID:GID (no supplementary group) unless UID is 0, restricted by the
 * Landlock ruleset RS unless -1. */
int dp_sandbox_drop_caps(uint64_t caps, uid_t uid, gid_t gid, int rs);

/* The ids of DPC_DP_USER, never root's: 0, or -1 with errno. */
int dp_sandbox_user(uid_t *uid, gid_t *gid);
/* The folders written after start, given to UID and opened. 0 or -1. */
int dp_sandbox_dirs(struct dp_ctx *ctx, uid_t uid);

/* True when NAME is a file the writer of a folder makes (BASE: the
 * stats file's name). */
typedef bool dp_sb_mine_fn(const char *name, const char *base);
/*
 * Folder FD given to UID when it is a folder of its own: UID's already,
 * or root's, no shared or sticky folder nor the root, holding only
 * MINE's regular files (dp_sandbox_own.c).  0, or -1 with WHY said.
 */
int dp_sandbox_own(int fd, uid_t uid, const char *base, dp_sb_mine_fn *mine,
    char *why, size_t len);

/* The running kernel's Landlock ABI, 0 when it has none or it is off. */
int dp_sandbox_ll_abi(void);
/* The ruleset for CTX's folders under ABI (> 0): its fd, or -1. */
int dp_sandbox_ll_ruleset(const struct dp_ctx *ctx, int abi);

/* The seccomp allow-list for the drivers of CTX's ports. */
int dp_sandbox_seccomp(const struct dp_ctx *ctx);

#endif
