/*
 * Whole-or-absent audit appends.  A record is one line; a write that
 * fails part-way (a full disk, an I/O error) is cut back to where it
 * started before the append returns, and a tail that a crash left
 * without its newline is cut when the log is next opened for an append
 * or at cordond's start, with a record saying so.  The cut never
 * reaches a whole record: audit.head, written after the line, names at
 * most the last whole one, so head and log stay consistent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/store/store.h"
#include "control/store/store_int.h"

#define AUDIT_SCAN 4096

/* Offset just past FD's last newline (0 when it has none) into *END. */
static int
audit_whole_end(int fd, off_t size, off_t *end)
{
	char buf[AUDIT_SCAN];
	off_t at = size;

	while (at > 0) {
		size_t n = at > AUDIT_SCAN ? AUDIT_SCAN : (size_t)at;
		char *nl;

		if (pread(fd, buf, n, at - (off_t)n) != (ssize_t)n) {
			if (errno == 0)
				errno = EIO;
			return -1;
		}
		if ((nl = memrchr(buf, '\n', n)) != NULL) {
			*end = at - (off_t)n + (nl - buf) + 1;
			return 0;
		}
		at -= (off_t)n;
	}
	*end = 0;
	return 0;
}

int
audit_cut_to(int fd, off_t size)
{
	if (ftruncate(fd, size) < 0)
		return -1;
	return fsync(fd);
}

int
audit_torn_find(int fd, off_t *cut, off_t *at)
{
	struct stat st;
	off_t end;

	*cut = 0;
	*at = 0;
	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size == 0)
		return 0;
	if (audit_whole_end(fd, st.st_size, &end) < 0)
		return -1;
	*cut = st.st_size - end;
	*at = end;
	return 0;
}

int
audit_torn_cut(int fd, off_t *cut, off_t *at)
{
	if (audit_torn_find(fd, cut, at) < 0)
		return -1;
	return *cut == 0 ? 0 : audit_cut_to(fd, *at);
}
