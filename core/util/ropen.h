/*
 * Opening a file a config names, to read: a regular file only, and
 * never waiting.  A path a member of the control socket's group wrote
 * (a geo database, a relay class's list, a JWKS file) may name a FIFO
 * or a device: open(2) of a FIFO waits for a writer, and cordond, a
 * single loop, would answer no one again.
 */
#ifndef CORDON_UTIL_ROPEN_H
#define CORDON_UTIL_ROPEN_H

#include <stdio.h>

/* A read-only descriptor of regular file PATH, or -1 (errno; EINVAL
 * for anything but a regular file). */
int ropen_fd(const char *path);

/* ropen_fd as a stdio stream ("re"), or NULL (errno). */
FILE *ropen_file(const char *path);

#endif
