/*
 * The control sockets' listeners: made here by root (path, group, mode)
 * and handed to the control child (cd_proc_ctl.c), which accepts and
 * reads the clients (control/ctl, docs/control.md section 3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/daemon/cordond.h"

static int
cd_sock_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Creates the socket's folder; refuses a path another daemon serves. */
static int
cd_sock_prepare(const char *path, struct sockaddr_un *sun)
{
	char dir[CONF_PATH_MAX];
	char *slash;
	int fd;

	if (cd_sock_addr(path, sun) < 0)
		return -1;
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		errno = EADDRINUSE;
		return -1;
	}
	close(fd);
	unlink(path);
	return 0;
}

static gid_t
cd_sock_gid(const char *name)
{
	struct group *g = getgrnam(name);

	if (g != NULL)
		return g->gr_gid;
	cd_log("warning: group \"%s\" does not exist: the control socket "
	       "is for root's group only",
	    name);
	return 0;
}

static int
cd_sock_listen(const char *path, mode_t mode, gid_t gid)
{
	struct sockaddr_un sun;
	int fd;

	if (cd_sock_prepare(path, &sun) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chown(path, (uid_t)-1, gid) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
cd_sock_open(struct cd *d)
{
	gid_t gid = cd_sock_gid(d->ctl.socket_group);

	if ((d->lfd = cd_sock_listen(d->ctl.socket, 0660, gid)) < 0) {
		cd_log("%s: %s", d->ctl.socket, strerror(errno));
		return -1;
	}
	if ((d->rofd = cd_sock_listen(d->ctl.ro_socket, 0666, 0)) < 0) {
		cd_log("%s: %s", d->ctl.ro_socket, strerror(errno));
		return -1;
	}
	return 0;
}

void
cd_sock_close(struct cd *d)
{
	cd_ctl_close_all(d);
	cd_promote(d, false, "cordond stopped before its answer was written");
	if (d->lfd >= 0) {
		close(d->lfd);
		unlink(d->ctl.socket);
	}
	if (d->rofd >= 0) {
		close(d->rofd);
		unlink(d->ctl.ro_socket);
	}
}
