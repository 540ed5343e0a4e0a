/*
 * The Landlock ruleset of cordon-dp's steady state (cordon-dp(8),
 * SANDBOX): writes only beneath the folders it writes after start (the
 * stats file's, the evidence folder, DPDK's runtime folder), reads only
 * those and its own /proc, no TCP, no signal or abstract socket outside
 * the process.  Each thread restricts itself with the ruleset
 * (dp_sandbox_caps.c); the kernel's ABI decides which rights exist: the
 * ones it lacks are left out, as the kernel's documentation does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dataplane/dp/dp.h"
#include "dataplane/dp/dp_sandbox.h"

/* The rights of ABI 3 and later, for headers older than the kernel. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#define DP_LL_NET_BIND_TCP    (1ULL << 0) /* ABI 4 */
#define DP_LL_NET_CONNECT_TCP (1ULL << 1)
#define DP_LL_SCOPE_ABSTRACT  (1ULL << 0) /* ABI 6 */
#define DP_LL_SCOPE_SIGNAL    (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6. */
struct dp_ll_attr {
	uint64_t fs, net, scoped;
};

#define DP_LL_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Regular files only: the stats file (.tmp, rename), evidence files
 * (made, pruned); no folder, socket or link is made after start. */
#define DP_LL_WRITE                                                            \
	(DP_LL_READ | LANDLOCK_ACCESS_FS_WRITE_FILE |                          \
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |     \
	    LANDLOCK_ACCESS_FS_TRUNCATE)

int
dp_sandbox_ll_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/* Every right the kernel of ABI ABI knows, in ATTR. */
static void
dp_ll_handled(int abi, struct dp_ll_attr *a)
{
	a->fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1 */
	if (abi >= 2)
		a->fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a->fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		a->fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	a->net = abi >= 4 ? DP_LL_NET_BIND_TCP | DP_LL_NET_CONNECT_TCP : 0;
	a->scoped = abi >= 6 ? DP_LL_SCOPE_ABSTRACT | DP_LL_SCOPE_SIGNAL : 0;
}

/* RIGHTS (as far as handled) beneath the folder DFD; a bad fd: skipped. */
static int
dp_ll_beneath(int rs, int dfd, uint64_t rights, uint64_t handled)
{
	struct landlock_path_beneath_attr pb = {
		.allowed_access = rights & handled,
		.parent_fd = dfd,
	};

	if (dfd < 0)
		return 0;
	return (int)syscall(SYS_landlock_add_rule, rs,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

/* The same for PATH, opened here; missing: nothing to allow. */
static int
dp_ll_beneath_path(int rs, const char *path, uint64_t rights, uint64_t handled)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	rc = dp_ll_beneath(rs, fd, rights, handled);
	close(fd);
	return rc;
}

int
dp_sandbox_ll_ruleset(const struct dp_ctx *ctx, int abi)
{
	struct dp_ll_attr a;
	char proc[64];
	int rs;

	dp_ll_handled(abi, &a);
	rs = (int)syscall(SYS_landlock_create_ruleset, &a, sizeof(a), 0);
	if (rs < 0)
		return -1;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)getpid());
	if (dp_ll_beneath(rs, ctx->stats_dfd, DP_LL_WRITE, a.fs) != 0 ||
	    dp_ll_beneath(rs, ctx->evid_dfd, DP_LL_WRITE, a.fs) != 0 ||
	    dp_ll_beneath_path(rs, rte_eal_get_runtime_dir(), DP_LL_WRITE,
	        a.fs) != 0 ||
	    dp_ll_beneath_path(rs, proc, DP_LL_READ, a.fs) != 0) {
		int e = errno;

		close(rs);
		errno = e;
		return -1;
	}
	return rs;
}
