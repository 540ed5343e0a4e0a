/*
 * The user cordon-dp's steady state runs as (DPC_DP_USER, made by
 * cordond; cordon-dp(8), SANDBOX) and the folders it writes after start:
 * the stats file's and the evidence folder.  While still root, cordon-dp
 * gives them to that user and opens them: after the drop it reaches
 * them by these descriptors, so the folders above them need not let the
 * user through (a test's folder of mode 0700, /var/lib/cordon).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_evid.h"
#include "dataplane/dp/dp_sandbox.h"
#include "core/util/sysuser.h"
#include "wire/dpc_proto.h"

int
dp_sandbox_user(uid_t *uid, gid_t *gid)
{
	return sysuser_ids(DPC_DP_USER, uid, gid);
}

/*
 * Folder FD the user's: already, or root's (given over, its group and
 * mode kept, the owner's rwx added).  A folder of another user is
 * refused: cordon-dp takes nothing from anybody but root.
 */
static int
dp_sb_claim(int fd, uid_t uid)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if (st.st_uid == uid && (st.st_mode & 0700) == 0700)
		return 0;
	if (st.st_uid != 0 && st.st_uid != uid) {
		errno = EPERM;
		return -1;
	}
	if (fchown(fd, uid, (gid_t)-1) != 0 ||
	    fchmod(fd, (st.st_mode & 07777) | 0700) != 0)
		return -1;
	return 0;
}

/* PATH's folder (PARENT: the folder PATH is in), opened and claimed;
 * -1. */
static int
dp_sb_open_dir(const char *path, int parent, uid_t uid)
{
	int fd = parent ? sysuser_dir_of(path, O_RDONLY)
	                : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (dp_sb_claim(fd, uid) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
dp_sandbox_dirs(struct dp_ctx *ctx, uid_t uid)
{
	const char *evid = ctx->conf->evid_files.dir;
	const char *base;

	if (ctx->stats_file) {
		base = strrchr(ctx->stats_file, '/');
		base = base ? base + 1 : ctx->stats_file;
		ctx->stats_dfd = dp_sb_open_dir(ctx->stats_file, 1, uid);
		if (ctx->stats_dfd < 0) {
			fprintf(stderr,
			    "cordon-dp: sandbox: the folder of %s: %s\n",
			    ctx->stats_file, strerror(errno));
			return -1;
		}
		ctx->stats_name = base;
	}
	/* The evidence folder is made when first needed; its parent (the
	 * state folder) may be missing when evidence is not in use. */
	if (evid[0] == '\0')
		return 0;
	if (mkdir(evid, 0750) != 0 && errno != EEXIST) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "cordon-dp: sandbox: %s: %s\n", evid,
		    strerror(errno));
		return -1;
	}
	if ((ctx->evid_dfd = dp_sb_open_dir(evid, 0, uid)) < 0) {
		fprintf(stderr, "cordon-dp: sandbox: %s: %s\n", evid,
		    strerror(errno));
		return -1;
	}
	dp_evid_use_dir(ctx, ctx->evid_dfd);
	return 0;
}
