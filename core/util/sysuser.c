#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "core/util/sysuser.h"

int
sysuser_ids(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int rc = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (rc != 0 || res == NULL) {
		errno = rc ? rc : ENOENT;
		return -1;
	}
	/* root, or root's group, would be no sandbox at all */
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		errno = EPERM;
		return -1;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

int
sysuser_dir_name(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else if (snprintf(dir, len, "%.*s", (int)(slash - path), path) >=
	         (int)len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
sysuser_dir_of(const char *path, int flags)
{
	char dir[PATH_MAX];

	if (sysuser_dir_name(path, dir, sizeof(dir)) != 0)
		return -1;
	return open(dir, flags | O_DIRECTORY | O_CLOEXEC);
}
