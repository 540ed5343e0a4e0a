/*
 * Whether cordon-dp may take over a folder (cordon-dp(8), SANDBOX).
 * The folders it writes after start become its user's; a folder that
 * holds anything but that writer's own files (/tmp, /etc, cordond's
 * state or socket folder, after an admin's typo) would hand those to the
 * process that parses packets from outside.  So a root folder is taken
 * only when it is a plain folder of its own: not the root, not writable
 * by group or others, not sticky, holding only regular files (one link
 * each) of the names the writer makes.  The checks and the change go
 * through the one descriptor: a folder swapped meanwhile is not the one
 * changed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/dp/dp_sandbox.h"
#include "wire/dpc_proto.h"

/* 0 when every entry of folder FD is MINE's; else -1, WHY said. */
static int
dp_sb_only_mine(int fd, const char *base, dp_sb_mine_fn *mine, char *why,
    size_t len)
{
	struct dirent *e;
	struct stat st;
	int rc = 0, d = dup(fd);
	DIR *dir = d >= 0 ? fdopendir(d) : NULL;

	if (dir == NULL) {
		if (d >= 0)
			close(d);
		snprintf(why, len, "cannot list it: %s", strerror(errno));
		return -1;
	}
	while (rc == 0 && (e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (!mine(e->d_name, base) ||
		    fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode) || st.st_nlink != 1) {
			snprintf(why, len,
			    "it holds %.64s, not a file of its own", e->d_name);
			rc = -1;
		}
	}
	closedir(dir);
	return rc;
}

/* Whether ST is the folder PATH. */
static bool
dp_sb_is(const char *path, const struct stat *st)
{
	struct stat p;

	return stat(path, &p) == 0 && p.st_dev == st->st_dev &&
	       p.st_ino == st->st_ino;
}

/* -1 (WHY said) when the root folder FD is not one of its own. */
static int
dp_sb_takeable(int fd, const struct stat *st, const char *base,
    dp_sb_mine_fn *mine, char *why, size_t len)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(why, len, "not a folder");
		return -1;
	}
	if (dp_sb_is("/", st)) {
		snprintf(why, len, "it is the root folder");
		return -1;
	}
	/* empty and root's as any fresh folder, but every child's root */
	if (dp_sb_is(DPC_EMPTY_DIR, st)) {
		snprintf(why, len, "it is cordond's children's empty root");
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH | S_ISVTX)) {
		snprintf(why, len,
		    "it is shared (mode %04o: writable by group or others, "
		    "or sticky)",
		    (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return dp_sb_only_mine(fd, base, mine, why, len);
}

int
dp_sandbox_own(int fd, uid_t uid, const char *base, dp_sb_mine_fn *mine,
    char *why, size_t len)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	/* Already the user's: its own, used as it is. */
	if (st.st_uid == uid && S_ISDIR(st.st_mode))
		return (st.st_mode & 0700) == 0700 ||
		               fchmod(fd, (st.st_mode & 07777) | 0700) == 0
		           ? 0
		           : -1;
	if (st.st_uid != 0) {
		snprintf(why, len, "it belongs to another user (uid %u)",
		    (unsigned)st.st_uid);
		return -1;
	}
	if (dp_sb_takeable(fd, &st, base, mine, why, len) != 0)
		return -1;
	if (fchown(fd, uid, (gid_t)-1) != 0 ||
	    fchmod(fd, (st.st_mode & 07777) | 0700) != 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	return 0;
}
