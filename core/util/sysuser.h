/*
 * The system users Cordon's sandboxed processes run as (cordond's
 * children, cordon-dp), and the folders they are handed by descriptor.
 */
#ifndef CORDON_UTIL_SYSUSER_H
#define CORDON_UTIL_SYSUSER_H

#include <stddef.h>
#include <sys/types.h>

/* The ids of user NAME, never root's user or group (EPERM): 0, or -1
 * with errno (ENOENT when there is no such user). */
int sysuser_ids(const char *name, uid_t *uid, gid_t *gid);

/* The name of the folder PATH is in (up to its last '/'; "." without
 * one) in DIR: 0, or -1 with errno ENAMETOOLONG. */
int sysuser_dir_name(const char *path, char *dir, size_t len);

/* The folder PATH is in (up to its last '/'; "." without one), opened
 * with FLAGS | O_DIRECTORY | O_CLOEXEC: its fd, or -1 with errno. */
int sysuser_dir_of(const char *path, int flags);

#endif
