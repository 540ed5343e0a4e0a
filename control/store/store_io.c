/*
 * Whole-file I/O for the state folder.  Files are replaced, never
 * rewritten in place, so that a crash leaves either the old contents or
 * the new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/sysuser.h"
#include "control/store/store_int.h"

int
store_dir_sync(const char *path)
{
	int fd, rc;

	if ((fd = sysuser_dir_of(path, O_RDONLY)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
store_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
store_file_write(const char *path, const void *buf, size_t len)
{
	char tmp[PATH_MAX];
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s%s", path, STORE_TMP_SUFFIX) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	if (store_write_all(fd, buf, len) < 0 || fsync(fd) < 0)
		goto fail_close;
	if (close(fd) < 0)
		goto fail_unlink;
	if (rename(tmp, path) < 0)
		goto fail_unlink;
	return store_dir_sync(path);

fail_close:
	saved = errno;
	close(fd);
	errno = saved;
fail_unlink:
	saved = errno;
	unlink(tmp);
	errno = saved;
	return -1;
}

int
store_file_read(const char *path, char **buf, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *b;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0)
		goto fail_close;
	if ((b = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail_close;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, b + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(b);
			errno = saved;
			goto fail_close;
		}
		if (n == 0)
			break; /* shrank under us: return what is there */
		got += (size_t)n;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	if (len != NULL)
		*len = got;
	return 0;

fail_close:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
store_config_text(const config_t *cfg, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	if ((f = open_memstream(&buf, &n)) == NULL)
		return -1;
	config_write(cfg, f);
	if (fclose(f) != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	if (len != NULL)
		*len = n;
	return 0;
}
