/* ropen.h */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/ropen.h"

int
ropen_fd(const char *path)
{
	/* O_NONBLOCK: a FIFO opens at once (and is refused below). */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	int saved;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		saved = S_ISREG(st.st_mode) ? errno : EINVAL;
		close(fd);
		errno = saved;
		return -1;
	}
	/* Reads of a regular file never wait anyway; cleared for stdio. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

FILE *
ropen_file(const char *path)
{
	int fd = ropen_fd(path), saved;
	FILE *f;

	if (fd < 0)
		return NULL;
	if ((f = fdopen(fd, "re")) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return f;
}
