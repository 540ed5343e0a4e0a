/*
 * A private copy of a database file before libmaxminddb maps it.
 *
 * MMDB_open() maps the file shared: a file truncated under the mapping
 * (an update by `cp`, a full disk, an operator's mistake) turns the next
 * read of a vanished page into SIGBUS, and MAP_PRIVATE would not help —
 * pages not yet copied still come from the file.  So the bytes are read
 * with read(2), which only ever sees a shorter file or other bytes, into
 * a sealed memfd that nobody else can reach, and libmaxminddb opens that
 * through /proc/self/fd.  The file must not change while it is read:
 * size, inode and times are compared before and after.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/geo/geo_layer.h"
#include "core/util/ropen.h"

#define GC_CHUNK (1u << 20)

static int
gc_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int
geo_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copies IN to OUT up to EOF; the number of bytes in *N. */
static int
gc_copy(int in, int out, off_t *n)
{
	char *buf = malloc(GC_CHUNK);
	ssize_t r;
	int rc = -1;

	if (buf == NULL)
		return -1;
	*n = 0;
	for (;;) {
		if ((r = read(in, buf, GC_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (r == 0) {
			rc = 0;
			break;
		}
		if (geo_write_all(out, buf, (size_t)r) < 0)
			break;
		*n += r;
	}
	free(buf);
	return rc;
}

/* The file at PATH, whole and unchanged while read, into memfd MFD. */
static int
gc_fill(const char *path, int mfd, char *why, size_t len)
{
	struct stat before, after;
	off_t n;
	int fd, rc = -1;

	/* Not a FIFO either: its open would wait for a writer (ropen.h). */
	if ((fd = ropen_fd(path)) < 0) {
		snprintf(why, len, "%s",
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &before) < 0)
		snprintf(why, len, "%s", strerror(errno));
	else if (!S_ISREG(before.st_mode))
		snprintf(why, len, "not a regular file");
	else if (gc_copy(fd, mfd, &n) < 0 || fstat(fd, &after) < 0)
		snprintf(why, len, "reading: %s", strerror(errno));
	else if (n != before.st_size || !gc_same(&before, &after))
		snprintf(why, len,
		    "the file changed while it was read "
		    "(%lld bytes read, %lld then %lld): try again",
		    (long long)n, (long long)before.st_size,
		    (long long)after.st_size);
	else
		rc = 0;
	close(fd);
	return rc;
}

int
geo_copy_private(const char *path, char *procpath, size_t plen, char *why,
    size_t len)
{
	int mfd;

	mfd = memfd_create("cordon-geo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0) {
		snprintf(why, len, "memfd: %s", strerror(errno));
		return -1;
	}
	if (gc_fill(path, mfd, why, len) < 0)
		goto fail;
	/* Nothing, not even a bug of ours, changes it from now on. */
	if (fcntl(mfd, F_ADD_SEALS,
	        F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		snprintf(why, len, "sealing the copy: %s", strerror(errno));
		goto fail;
	}
	snprintf(procpath, plen, "/proc/self/fd/%d", mfd);
	return mfd;
fail:
	close(mfd);
	return -1;
}
