/* Shared by the framework's own files (proc*.c), no one else. */
#ifndef CORDON_PROC_INT_H
#define CORDON_PROC_INT_H

#include "control/proc/proc.h"

/* Set in a child (proc_child_main): proc_recv answers the parent's
 * pings itself (proc_msg.c). */
extern bool proc_is_child;

/* One line to the parent's log (proc_set.log). */
void proc_say(struct proc_set *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Closes C's channel; def->down when it was open. */
void proc_close(struct proc_set *s, struct proc_child *c);
/* One received message of C: the common types, else def->in.  0, or -1
 * when C broke the protocol (the caller fails it). */
int proc_dispatch(struct proc_set *s, struct proc_child *c,
    const struct proc_hdr *h, int passfd, const char **why);

/* proc_users.c: NAME's uid and gid; -1 (ENOENT: no such user; EPERM:
 * root's uid or group). */
int proc_user_ids(const char *name, uid_t *uid, gid_t *gid);

/* proc_seccomp.c: the allow-list (common + SYSCALLS) built before the
 * sandbox (NULL, logged on FD), loaded as its last step (0 or -1). */
void *proc_seccomp_build(const char *const *syscalls, int fd);
int proc_seccomp_load(void *ctx);

#endif
