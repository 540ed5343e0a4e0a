/*
 * What the children need from the host before any starts (proc.h,
 * proc_prepare): each its own system user, and the empty folder every
 * one of them takes as its root.  A root that is not root's, is
 * writable by others or holds anything is refused, never repaired by
 * emptying it: a child must see nothing there.
 */
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/proc/proc.h"
#include "core/util/sysuser.h"
#include "wire/dpc_proto.h"

#define PROC_USERADD "/usr/sbin/useradd"

/* Runs useradd for NAME (the package makes them; this is a start on a
 * host that was not installed from it). */
static int
proc_useradd(const char *name)
{
	char *argv[] = { PROC_USERADD, "--system", "--user-group",
		"--no-create-home", "--home-dir", "/nonexistent", "--shell",
		"/usr/sbin/nologin", (char *)name, NULL };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(PROC_USERADD, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
proc_user_ids(const char *name, uid_t *uid, gid_t *gid)
{
	return sysuser_ids(name, uid, gid);
}

static int
proc_user(const char *name)
{
	uid_t uid;
	gid_t gid;

	int e;

	if (proc_user_ids(name, &uid, &gid) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	/* Another cordond starting at the same time may have made it:
	 * its useradd or ours fails, the user is there all the same. */
	e = proc_useradd(name) < 0 ? errno : 0;
	if (proc_user_ids(name, &uid, &gid) == 0)
		return 0;
	errno = e ? e : errno;
	return -1;
}

/* Only "." and "..": 0; anything else: -1 ENOTEMPTY. */
static int
proc_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = -1;
	closedir(d);
	if (rc < 0)
		errno = ENOTEMPTY;
	return rc;
}

/*
 * PATH a folder of root's that nobody else may write (made 0755 when
 * missing, whatever the umask), of mode MODE exactly unless 0.
 */
static int
proc_root_dir(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, 0755) == 0) {
		if (chmod(path, 0755) < 0)
			return -1;
	} else if (errno != EEXIST)
		return -1;
	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) ||
	    (mode && (st.st_mode & 07777) != mode)) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
proc_empty_check(void)
{
	if (proc_root_dir("/run/cordon", 0) < 0 ||
	    proc_root_dir(PROC_EMPTY_DIR, 0755) < 0)
		return -1;
	return proc_dir_empty(PROC_EMPTY_DIR);
}

int
proc_prepare(void)
{
	bool any = false;

	/* Not a child, but cordond starts it (cordon-dp(8), SANDBOX). */
	if (proc_user(DPC_DP_USER) < 0)
		return -1;
	for (unsigned i = 0; i < PROC_MAX; i++) {
		if (proc_defs[i] == NULL)
			continue;
		any = true;
		if (proc_user(proc_defs[i]->user) < 0)
			return -1;
	}
	return any ? proc_empty_check() : 0;
}
