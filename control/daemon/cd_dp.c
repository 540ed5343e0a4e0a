/*
 * Supervision of cordon-dp.  cordon-dp runs in its own session so that
 * it outlives cordond (fail-static); cordond adopts a running one,
 * starts one when nothing answers on control.dp_socket, and restarts it
 * with backoff (1 s doubling to 30 s) when it dies, raising the
 * "dataplane-restarted" alarm.  All of it is driven from the poll loop:
 * nothing here sleeps.
 */
#define _GNU_SOURCE /* struct ucred */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"

#define CD_DP_START_MS 30000 /* to compile geo and open the channel */
#define CD_DP_LOST_MS  5000  /* a live cordon-dp that stopped answering */
#define CD_DP_RETRY_MS 200
#define CD_DP_SYNC_MS  5000
#define CD_DP_HOST_MS  5000 /* retry of host protection that failed */

static bool cd_dp_synced;

const char *
cd_dp_state_name(enum cd_dp_state s)
{
	static const char *const names[] = { "down", "starting", "up" };

	return names[s];
}

bool
cd_dp_in_sync(const struct cd *d)
{
	return d->dp_state == CD_DP_UP && d->dpst.revision == d->run.rev &&
	       !memcmp(d->dpst.policy_hash, d->run.pol_hash, DPC_HASH_LEN);
}

/* Alive and not a zombie (an adopted cordon-dp is not our child). */
static bool
cd_pid_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/*
 * The revision an adopted cordon-dp PID started with: the one whose file
 * in the state folder follows "-c" after the EAL's "--" on its command
 * line (cd_dp_argv), or 0, unknown (show top then names the positions
 * counted under its start-up policy #N@r0, not by the rules that sit at
 * those positions now).
 */
static uint64_t
cd_dp_boot_rev_of(const struct cd *d, pid_t pid)
{
	char path[64], buf[8192], want[CONF_PATH_MAX + 32], *p, *end,
	    *file = NULL;
	const char *base;
	bool args = false;
	uint64_t rev;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (pid <= 0 || (f = fopen(path, "re")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (p = buf; p < buf + n && file == NULL; p += strlen(p) + 1) {
		if (args && strcmp(p, "-c") == 0 && p + 3 < buf + n)
			file = p + 3;
		args = args || strcmp(p, "--") == 0;
	}
	if (file == NULL)
		return 0;
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	rev = strtoull(base, &end, 10);
	if (end == base || strcmp(end, ".conf") != 0 ||
	    store_rev_path(d->store, rev, want, sizeof(want)) != 0 ||
	    strcmp(want, file) != 0)
		return 0;
	return rev;
}

static void
cd_dp_argv(struct cd *d, char **av, size_t max)
{
	static char saved[CONF_PATH_MAX + 32];
	const struct conf *c = d->run.conf;
	size_t n = 0;

	av[n++] = d->dp_binary;
	for (unsigned i = 0; i < c->neal && n < max - 16; i++)
		av[n++] = (char *)c->eal[i];
	av[n++] = "--";
	av[n++] = "-c";
	av[n++] = d->run.path;
	av[n++] = "--control";
	av[n++] = d->ctl.dp_socket;
	/* A database broken at its start must not stop all traffic. */
	cd_geo_saved_path(d, saved, sizeof(saved));
	av[n++] = "--geo-saved";
	av[n++] = saved;
	for (unsigned i = 0; i < d->ctl.ndp_args && n < max - 1; i++)
		av[n++] = d->ctl.dp_args[i];
	av[n] = NULL;
}

/* The child: own session, default signal mask, no inherited fds. */
static void
cd_dp_exec(char **av)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	execv(av[0], av);
	fprintf(stderr, "cordond: exec %s: %s\n", av[0], strerror(errno));
	_exit(127);
}

static void
cd_dp_spawn(struct cd *d)
{
	char *av[CONF_EAL_MAX + CONF_DPARGS_MAX + 16];
	pid_t pid;

	cd_dp_argv(d, av, sizeof(av) / sizeof(av[0]));
	unlink(d->ctl.dp_socket); /* nothing answered on it */
	if ((pid = fork()) < 0) {
		cd_log("fork: %s", strerror(errno));
		d->dp_state = CD_DP_DOWN;
		d->dp_next_ms = clk_mono_ms() + 1000;
		return;
	}
	if (pid == 0)
		cd_dp_exec(av);
	cd_log("started %s (pid %d) with revision %lu", d->dp_binary, (int)pid,
	    (unsigned long)d->run.rev);
	d->dp_pid = pid;
	d->dp_child = true;
	d->dp_boot_rev = d->run.rev;
	if (d->restarts > 0)
		cd_syslog_event(d, "dataplane-restarted", "cordon-dp restarted",
		    "pid", CD_SL_U(pid), "restarts", CD_SL_U(d->restarts),
		    "revision", CD_SL_U(d->run.rev), NULL);
	d->dp_state = CD_DP_STARTING;
	d->dp_next_ms = clk_mono_ms() + CD_DP_RETRY_MS;
	d->dp_give_up_ms = clk_mono_ms() + CD_DP_START_MS;
}

/*
 * Before a swap: what cordon-dp counted goes to the rules that held the
 * positions.  Restored counters whose bases were read from this very
 * cordon-dp running this policy carry on (a cordond restart).
 * Otherwise a cordon-dp that never loaded a revision (0) and enforces
 * the running policy has counted only that policy since it started:
 * its counts are credited from zero, so that the packets before the
 * first LOAD are not lost.
 */
static void
cd_dp_ctr_begin(struct cd *d)
{
	static const struct stats zero;

	dpc_stats_sum(d->dpc, d->sum);
	if (cd_rulectr_swap_resume(d) != CD_RC_SAME && d->dpst.revision == 0 &&
	    memcmp(d->dpst.policy_hash, d->run.pol_hash, DPC_HASH_LEN) == 0)
		cd_rulectr_adopt(d->rc, d->run.pol, d->run.rid, &zero);
	cd_rulectr_swap_begin(d, d->sum);
}

/*
 * Host protection takes the running revision (again): at start-up,
 * after cordon-dp took it, after a refused change.  A failure leaves it
 * stale, retried by the tick.
 */
static void
cd_dp_host_back(struct cd *d)
{
	struct cd_err e;

	d->host_retry_ms = clk_mono_ms() + CD_DP_HOST_MS;
	if (cd_nft_host(d, &d->run, &e) < 0)
		cd_log("%s", e.msg);
}

static int
cd_dp_activate(struct cd *d, const struct cd_running *r, bool with_geo,
    struct cd_err *e)
{
	char err[512];

	if (cd_backend_same(d, r, e) < 0)
		return -1;
	/*
	 * R other than the running revision is a change (commit, rollback,
	 * geo reload): host protection takes it first, so that if the
	 * kernel refuses it nothing changed, rather than cordon-dp running
	 * a policy the management interface does not.
	 */
	if (r != &d->run && cd_nft_host(d, r, e) < 0)
		return -1;
	cd_dp_ctr_begin(d);
	if (dpc_load(d->dpc, r->rev, r->pol, with_geo ? r->geo.tables : NULL,
	        r->geo_hash, CD_DP_TIMEOUT_MS, err, sizeof(err)) < 0) {
		/*
		 * A LOAD that timed out may still be activated later: forget
		 * what cordon-dp is believed to run, so that the next tick
		 * brings it back to the running revision, tables included.
		 */
		memset(&d->dpst.policy_hash, 0, DPC_HASH_LEN);
		memset(&d->dpst.geo_hash, 0, DPC_HASH_LEN);
		d->dpst.revision = 0;
		d->rc->unsure = true;
		cd_dp_synced = false;
		cd_fail(e, "dataplane",
		    "cordon-dp did not activate "
		    "revision %lu: %s",
		    (unsigned long)r->rev, err);
		if (r != &d->run)
			cd_dp_host_back(d);
		return -1;
	}
	d->dpst.revision = r->rev;
	memcpy(d->dpst.policy_hash, r->pol_hash, DPC_HASH_LEN);
	memcpy(d->dpst.geo_hash, r->geo_hash, DPC_HASH_LEN);
	dpc_stats_sum(d->dpc, d->base);
	cd_rulectr_swap_end(d, r);
	cd_dp_synced = true;
	cd_debug("cordon-dp activated revision %lu%s", (unsigned long)r->rev,
	    with_geo ? " with new geo tables" : "");
	if (r == &d->run)
		cd_dp_host_back(d);
	return 0;
}

static void
cd_dp_notify(struct cd *d)
{
	sd_notifyf(0, "%sSTATUS=revision %lu enforced by cordon-dp pid %d",
	    d->ready_sent ? "" : "READY=1\n", (unsigned long)d->run.rev,
	    (int)d->dp_pid);
	d->ready_sent = true;
}

/*
 * Asks cordon-dp what it enforces: -1 if that is not the running
 * revision (then DPST holds its answer and the next sync pushes).
 */
static int
cd_dp_verify(struct cd *d)
{
	struct dpc_status st;

	if (dpc_status_get(d->dpc, &st) < 0)
		return 0; /* a broken channel shows as EOF */
	if (st.revision == d->run.rev &&
	    memcmp(st.policy_hash, d->run.pol_hash, DPC_HASH_LEN) == 0)
		return 0;
	cd_log("cordon-dp enforces revision %lu, not %lu: resyncing",
	    (unsigned long)st.revision, (unsigned long)d->run.rev);
	d->dpst = st;
	return -1;
}

/*
 * A new channel: knocks go to the sessions, and their table goes along
 * with the next LOAD.  True when there is a table.
 */
static bool
cd_dp_sess_attach(struct cd *d)
{
	if (d->sess == NULL || d->dpc == NULL)
		return false;
	dpc_knock_handler(d->dpc, cd_knock_in, d);
	return dpc_sess_pending(d->dpc, d->sess->fd) == 0;
}

/* Brings cordon-dp to the running revision if it has anything else. */
static void
cd_dp_sync(struct cd *d)
{
	bool pol = memcmp(d->dpst.policy_hash, d->run.pol_hash, DPC_HASH_LEN) !=
	           0;
	bool geo = memcmp(d->dpst.geo_hash, d->run.geo_hash, DPC_HASH_LEN) != 0;
	struct cd_err e;

	d->dp_next_ms = clk_mono_ms() + CD_DP_SYNC_MS;
	/* A new cordon-dp, or a new cordond: the session table goes along. */
	if (cd_dp_sess_attach(d) || pol || geo ||
	    d->dpst.revision != d->run.rev) {
		if (cd_dp_activate(d, &d->run, geo, &e) < 0) {
			snprintf(d->dp_error, sizeof(d->dp_error), "%s", e.msg);
			cd_log("%s", e.msg);
			return;
		}
	} else {
		/* A new channel to a cordon-dp that runs our revision. */
		cd_dp_ctr_begin(d);
		cd_rulectr_swap_end(d, &d->run);
	}
	d->dp_error[0] = '\0';
	cd_dp_synced = true;
	cd_dp_notify(d);
}

static int
cd_dp_connect(struct cd *d)
{
	struct dpc *c = dpc_connect(d->ctl.dp_socket, 500);
	struct dpc_status st;

	if (c == NULL)
		return -1;
	if (dpc_hello(c, &st) < 0) {
		cd_log("cordon-dp HELLO: %s", strerror(errno));
		dpc_close(c);
		return -1;
	}
	if (d->dp_child && st.pid != d->dp_pid)
		d->dp_child = false;
	if (!d->dp_child) /* its start-up file, from its command line */
		d->dp_boot_rev = cd_dp_boot_rev_of(d, st.pid);
	if (!d->dp_child)
		cd_log("adopted cordon-dp pid %d (revision %lu)", (int)st.pid,
		    (unsigned long)st.revision);
	d->dpc = c;
	dpc_evidence_handler(c, cd_evid_in, d);
	cd_syslog_dp_handover(d);
	d->dpst = st;
	d->dp_pid = st.pid;
	d->dp_state = CD_DP_UP;
	d->dp_up_since = clk_mono_ms();
	cd_dp_synced = false;
	cd_dp_sync(d);
	cd_snmp_notify_dp(d, true, NULL);
	cd_syslog_event(d, "dataplane-up", "cordon-dp is up", "pid",
	    CD_SL_U(d->dp_pid), "revision", CD_SL_U(d->dpst.revision),
	    "adopted", d->dp_child ? "false" : "true", NULL);
	return 0;
}

/*
 * Whether a process listens on PATH, and which (*PID; 0 when its
 * backlog is full and the kernel did not tell).  The credentials of a
 * socket connected but not yet accepted are the listener's.
 */
static bool
cd_dp_listening(const char *path, pid_t *pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cr = { .pid = 0 };
	socklen_t len = sizeof(cr);
	bool up;
	int fd;

	*pid = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (up && getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0)
		*pid = cr.pid;
	else if (!up)
		up = errno == EAGAIN;
	close(fd);
	return up;
}

static void
cd_dp_start(struct cd *d)
{
	int64_t now = clk_mono_ms();
	pid_t pid;

	cd_dp_host_back(d);
	d->backoff_s = 1;
	if (cd_dp_connect(d) == 0)
		return;
	if (!cd_dp_listening(d->ctl.dp_socket, &pid)) {
		cd_dp_spawn(d);
		return;
	}
	/*
	 * A cordon-dp holds the socket but did not answer (a loaded
	 * machine, a stopped process): it enforces a policy, so it is
	 * waited for like one that stopped answering, and killed before
	 * another starts.  Starting one beside it would unlink its socket
	 * and leave it enforcing, unsupervised, whatever it last loaded.
	 */
	cd_log("cordon-dp pid %d holds %s but did not answer: waiting",
	    (int)pid, d->ctl.dp_socket);
	d->dp_pid = pid;
	d->dp_child = false;
	d->dp_state = CD_DP_STARTING;
	d->dp_next_ms = now + CD_DP_RETRY_MS;
	d->dp_give_up_ms = now + CD_DP_LOST_MS;
}

/* An event alarm: it stays until an admin clears it (cd_alarm.h). */
static void
cd_dp_alarm(struct cd *d, const char *why)
{
	char detail[CD_ALARM_DETAIL];

	snprintf(detail, sizeof(detail), "%.100s; restart %u in %u s", why,
	    d->restarts, d->backoff_s);
	cd_alarm_event(d, CD_AL_DP_RESTARTED, detail);
	sd_notifyf(0, "STATUS=dataplane down: %s", why);
}

/* cordon-dp is gone: restart it after the backoff. */
static void
cd_dp_lost(struct cd *d, const char *why)
{
	if (d->dpc != NULL) {
		dpc_close(d->dpc);
		d->dpc = NULL;
	}
	if (d->dp_state == CD_DP_UP && clk_mono_ms() - d->dp_up_since > 60000)
		d->backoff_s = 1;
	d->restarts++;
	d->dp_pid = 0;
	d->dp_child = false;
	d->dp_state = CD_DP_DOWN;
	cd_dp_alarm(d, why);
	cd_snmp_notify_dp(d, false, why);
	cd_syslog_event(d, "dataplane-down", why, "reason", why, "restarts",
	    CD_SL_U(d->restarts), "retry_s", CD_SL_U(d->backoff_s), NULL);
	d->dp_next_ms = clk_mono_ms() + (int64_t)d->backoff_s * 1000;
	d->backoff_s = d->backoff_s * 2 > CD_BACKOFF_MAX_S ? CD_BACKOFF_MAX_S
	                                                   : d->backoff_s * 2;
}

void
cd_dp_reaped(struct cd *d, pid_t pid, int status)
{
	char why[128];

	if (pid != d->dp_pid || !d->dp_child)
		return;
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why),
		    "cordon-dp pid %d killed by signal "
		    "%d",
		    (int)pid, WTERMSIG(status));
	else
		snprintf(why, sizeof(why),
		    "cordon-dp pid %d exited with "
		    "status %d",
		    (int)pid, WEXITSTATUS(status));
	cd_dp_lost(d, why);
}

/* The channel closed: the process died, or only the channel broke. */
static void
cd_dp_eof(struct cd *d)
{
	char why[128];

	dpc_close(d->dpc);
	d->dpc = NULL;
	if (d->dp_child)
		cd_log("cordon-dp pid %d closed the channel", (int)d->dp_pid);
	if (d->dp_child || cd_pid_alive(d->dp_pid)) {
		/* Reconnect; SIGCHLD tells if our child died meanwhile. */
		d->dp_state = CD_DP_STARTING;
		d->dp_next_ms = clk_mono_ms() + CD_DP_RETRY_MS;
		d->dp_give_up_ms = clk_mono_ms() + CD_DP_LOST_MS;
		return;
	}
	snprintf(why, sizeof(why), "cordon-dp pid %d is gone", (int)d->dp_pid);
	d->dp_state = CD_DP_UP; /* for the backoff reset in cd_dp_lost */
	cd_dp_lost(d, why);
}

static void
cd_dp_starting_tick(struct cd *d, int64_t now)
{
	char why[128];

	if (cd_dp_connect(d) == 0)
		return;
	if (now < d->dp_give_up_ms) {
		d->dp_next_ms = now + CD_DP_RETRY_MS;
		return;
	}
	if (d->dp_pid > 0 && cd_pid_alive(d->dp_pid)) {
		cd_log("cordon-dp pid %d does not answer on %s: killing it",
		    (int)d->dp_pid, d->ctl.dp_socket);
		kill(d->dp_pid, SIGKILL);
		if (d->dp_child) {
			/* cd_dp_reaped takes it from here. */
			d->dp_next_ms = now + 1000;
			d->dp_give_up_ms = now + 60000;
			return;
		}
	}
	snprintf(why, sizeof(why), "cordon-dp pid %d did not answer",
	    (int)d->dp_pid);
	cd_dp_lost(d, why);
}

static void
cd_dp_tick(struct cd *d)
{
	int64_t now = clk_mono_ms();

	if (d->host_stale && now >= d->host_retry_ms)
		cd_dp_host_back(d);
	if (now < d->dp_next_ms)
		return;
	switch (d->dp_state) {
	case CD_DP_DOWN:
		if (cd_dp_connect(d) < 0)
			cd_dp_spawn(d);
		break;
	case CD_DP_STARTING:
		cd_dp_starting_tick(d, now);
		break;
	case CD_DP_UP:
		if (cd_dp_synced && cd_dp_verify(d) < 0)
			cd_dp_synced = false;
		if (!cd_dp_synced)
			cd_dp_sync(d);
		else
			d->dp_next_ms = now + CD_DP_SYNC_MS;
		break;
	}
}

static int
cd_dp_counters(struct cd *d, struct stats *s)
{
	if (d->dpc == NULL) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	dpc_stats_sum(d->dpc, s);
	return 0;
}

static void
cd_dp_sess_table(struct cd *d, int fd)
{
	if (d->dpc != NULL)
		dpc_sess_pending(d->dpc, fd);
}

/* The channel: its fd while connected, else -1. */
static int
cd_dp_poll_fd(const struct cd *d)
{
	return d->dpc != NULL ? dpc_fd(d->dpc) : -1;
}

/*
 * FD (from cd_dp_poll_fd before poll) is readable: log events and
 * knocks, or EOF.  Unless the channel changed meanwhile (SIGCHLD).
 */
static void
cd_dp_poll_in(struct cd *d, int fd)
{
	if (d->dpc != NULL && fd == dpc_fd(d->dpc) && cd_syslog_dp_read(d) < 0)
		cd_dp_eof(d);
}

/*
 * cordon-dp is not up: revision R runs all the same (a confirm timer's
 * revert, a geo reload; commits and rollbacks wait for cordon-dp), and
 * host protection takes it now rather than when cordon-dp comes back.
 * cordon-dp gets it when it does.
 */
static int
cd_dp_standby(struct cd *d, const struct cd_running *r, struct cd_err *e)
{
	if (cd_backend_same(d, r, e) < 0)
		return -1;
	return cd_nft_host(d, r, e);
}

/* Host protection's sessions set, if it is on. */
static struct nft_ctx *
cd_dp_sess_set(const struct cd *d)
{
	return d->nft_host;
}

const struct cd_backend cd_backend_dpdk = {
	.name = "dpdk",
	.backend = CONF_BACKEND_DPDK,
	.start = cd_dp_start,
	.tick = cd_dp_tick,
	.activate = cd_dp_activate,
	.standby = cd_dp_standby,
	.counters = cd_dp_counters,
	.sess_table = cd_dp_sess_table,
	.sess_set = cd_dp_sess_set,
	.poll_fd = cd_dp_poll_fd,
	.poll_in = cd_dp_poll_in,
};
