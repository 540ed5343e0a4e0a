/*
 * The user cordon-dp's steady state runs as (DPC_DP_USER, made by
 * cordond; cordon-dp(8), SANDBOX) and the folders it writes after start:
 * the stats file's and the evidence folder.  While still root, cordon-dp
 * takes them over and opens them: after the drop it reaches them by
 * these descriptors, so the folders above them need not let the user
 * through (a test's folder of mode 0700, /var/lib/cordon).
 *
 * A folder is handed to the packet parser only when nothing in it is
 * anybody else's: a folder of its own (dp_sandbox_own.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_evid.h"
#include "dataplane/dp/dp_sandbox.h"
#include "core/evid/evid_pcap.h"
#include "core/util/sysuser.h"
#include "wire/dpc_proto.h"

int
dp_sandbox_user(uid_t *uid, gid_t *gid)
{
	return sysuser_ids(DPC_DP_USER, uid, gid);
}

/* The stats writer's names: the file and its .tmp (stats.c). */
static bool
dp_sb_stats_mine(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 &&
	       (name[n] == '\0' || strcmp(name + n, ".tmp") == 0);
}

/* The evidence writer's names (evid_pcap.c). */
static bool
dp_sb_evid_mine(const char *name, const char *base)
{
	(void)base;
	return evid_name_ok(name);
}

/* DIR made (mode 0750, root's) when missing and its parent exists,
 * then opened and claimed (dp_sandbox_own); -1 with the reason said. */
static int
dp_sb_open_dir(const char *path, const char *base, dp_sb_mine_fn *mine,
    uid_t uid)
{
	char why[128] = "", dir[PATH_MAX];
	size_t n = strlen(path);
	int fd;

	/* A trailing '/' makes open follow a symlink despite O_NOFOLLOW
	 * ("link/", or "link//name" for the stats file). */
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (n >= sizeof(dir)) {
		fprintf(stderr, "cordon-dp: sandbox: %s: too long\n", path);
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		fprintf(stderr, "cordon-dp: sandbox: %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		snprintf(why, sizeof(why), "%s",
		    errno == ELOOP || errno == ENOTDIR
		        ? "a symlink, or not a folder"
		        : strerror(errno));
	else if (dp_sandbox_own(fd, uid, base, mine, why, sizeof(why)) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(stderr,
		    "cordon-dp: sandbox: will not take over the folder %s: "
		    "%s; give cordon-dp a folder of its own (or create it "
		    "owned by %s)\n",
		    dir, why, DPC_DP_USER);
	return fd;
}

/* The stats file's folder ("." without a '/'), its name in BASE. */
static int
dp_sb_stats_dir(struct dp_ctx *ctx, uid_t uid)
{
	const char *path = ctx->stats_file, *slash = strrchr(path, '/');
	char dir[PATH_MAX];

	if (sysuser_dir_name(path, dir, sizeof(dir)) != 0) {
		fprintf(stderr, "cordon-dp: sandbox: %s: too long\n", path);
		return -1;
	}
	ctx->stats_name = slash ? slash + 1 : path;
	ctx->stats_dfd =
	    dp_sb_open_dir(dir, ctx->stats_name, dp_sb_stats_mine, uid);
	return ctx->stats_dfd < 0 ? -1 : 0;
}

int
dp_sandbox_dirs(struct dp_ctx *ctx, uid_t uid)
{
	const char *evid = ctx->conf->evid_files.dir;

	if (ctx->stats_file && dp_sb_stats_dir(ctx, uid) != 0)
		return -1;
	/* The evidence folder is made when first needed; its parent (the
	 * state folder) may be missing when evidence is not in use. */
	if (evid[0] == '\0')
		return 0;
	if (mkdir(evid, 0750) != 0 && errno == ENOENT)
		return 0;
	if ((ctx->evid_dfd = dp_sb_open_dir(evid, "", dp_sb_evid_mine, uid)) <
	    0)
		return -1;
	dp_evid_use_dir(ctx, ctx->evid_dfd);
	return 0;
}
