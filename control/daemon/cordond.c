/*
 * cordond: the Cordon control daemon.
 *
 *   cordond [-f FILE] [-n | --check-start] [-d] [--test-timers]
 *
 * -n checks FILE (config, policy, geo databases), prints the effective
 * configuration and exits 0, or 2 on any error.  --check-start checks
 * the same way what a start would run (cd_conffile.c).  Otherwise cordond opens
 * its state folder, compiles the running revision, binds the control
 * sockets, adopts or starts cordon-dp and serves until SIGTERM.  It
 * always stays in the foreground (systemd Type=notify); -d adds debug
 * messages.  Exit status: 0 stopped, 1 runtime failure, 2 bad usage or
 * config.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cd_proc_mon.h"
#include "control/daemon/cordond.h"

#define CD_DEFAULT_CONF "/etc/cordon/cordon.conf"
#define CD_POLL_MAX_MS  1000

static void
cd_usage(FILE *f)
{
	fprintf(f,
	    "usage: cordond [-f FILE] [-n | --check-start] [-d]\n"
	    "  -f FILE  configuration (default %s)\n"
	    "  -n       check the configuration, print it, exit\n"
	    "  --check-start\n"
	    "           check what a start would run: the running revision\n"
	    "           of the state folder, or FILE when it has none\n"
	    "  -d       debug messages on stderr\n"
	    "  -V       version\n"
	    "  -h       this help\n",
	    CD_DEFAULT_CONF);
}

/* control.dp_binary, or cordon-dp in the folder of our own executable. */
static int
cd_dp_binary(struct cd *d)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (d->ctl.dp_binary[0]) {
		snprintf(d->dp_binary, sizeof(d->dp_binary), "%s",
		    d->ctl.dp_binary);
		return 0;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	snprintf(d->dp_binary, sizeof(d->dp_binary), "%s/cordon-dp", self);
	return 0;
}

/*
 * A log kept before audit.head existed gets its head from its own last
 * record, once; a log that does not verify keeps none (changes are then
 * refused until an administrator looks: cordonctl audit verify).
 */
static void
cd_audit_adopt(struct cd *d)
{
	struct audit_head h;
	char err[512];
	int rc = audit_head_adopt(d->audit_path, &h, err, sizeof(err));

	if (rc < 0)
		cd_log("audit: %s", err);
	else if (rc > 0)
		cd_log("audit: audit.head adopted from record %llu",
		    (unsigned long long)h.seq);
}

/* First start: the config file becomes revision 1. */
static int
cd_store_init(struct cd *d)
{
	struct store_meta m = { .uid = getuid(), .pid = getpid() };
	char err[1024], *text;
	size_t len;

	if ((d->store = store_open(d->ctl.state_dir, err, sizeof(err))) ==
	    NULL) {
		cd_log("state folder: %s", err);
		return -1;
	}
	snprintf(d->audit_path, sizeof(d->audit_path), "%s/audit.log",
	    d->ctl.state_dir);
	cd_audit_adopt(d);
	if (cd_recover(d) < 0)
		return -1;
	if (store_running(d->store) != 0)
		return 0;
	if (store_flatten(d->conf_path, &text, &len, err, sizeof(err)) < 0) {
		cd_log("%s", err);
		return -1;
	}
	snprintf(m.kind, sizeof(m.kind), "initial");
	snprintf(m.comment, sizeof(m.comment), "imported from %s",
	    d->conf_path);
	if (store_commit(d->store, text, len, &m, d->ctl.keep_revisions, err,
	        sizeof(err)) < 0) {
		cd_log("importing %s: %s", d->conf_path, err);
		free(text);
		return -1;
	}
	free(text);
	cd_log("imported %s as revision %lu", d->conf_path,
	    (unsigned long)m.rev);
	return 0;
}

static int
cd_signals(struct cd *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return d->sigfd < 0 ? -1 : 0;
}

static void
cd_signal_read(struct cd *d)
{
	struct signalfd_siginfo si;
	pid_t pid;
	int status;

	while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			d->quit = true;
		else if (si.ssi_signo == SIGHUP)
			cd_log("SIGHUP: changes go through cordonctl commit");
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (!proc_reaped(&d->procs, pid, status))
			cd_dp_reaped(d, pid, status);
}

/* Start-up: after this the daemon only answers and supervises. */
static int
cd_setup(struct cd *d)
{
	struct cd_err e;
	int devnull;

	if (cd_dp_binary(d) < 0 || cd_signals(d) < 0 ||
	    (d->base = calloc(1, sizeof(*d->base))) == NULL ||
	    (d->sum = calloc(1, sizeof(*d->sum))) == NULL ||
	    (d->rc = malloc(sizeof(*d->rc))) == NULL) {
		cd_log("setup: %s", strerror(errno));
		return -1;
	}
	cd_rulectr_init(d->rc);
	if (cd_proc_init(d) < 0)
		return -1;
	if (cd_store_init(d) < 0 || cd_confirm_startup(d) < 0)
		return -1;
	cd_alarm_load(d, &cd_alarm_checks);
	if (cd_run_load_running(d, &e) < 0) {
		cd_log("running revision %lu: %s",
		    (unsigned long)store_running(d->store), e.msg);
		return -1;
	}
	cd_log("running revision %lu", (unsigned long)d->run.rev);
	cd_rulectr_restore(d);
	cd_ruleid_startup(d);
	/* For good: a commit cannot switch it (cd_backend_same). */
	d->be = d->run.conf->backend == CONF_BACKEND_NFTABLES
	            ? &cd_backend_nft
	            : &cd_backend_dpdk;
	if (cd_sess_open(d) < 0)
		return -1;
	cd_confirm_tick(d);
	if (cd_sock_open(d) < 0 || cd_prom_open(d) < 0 || cd_privs_drop() < 0)
		return -1;
	/* Nothing more to create: files stay private, stdin is not ours. */
	umask(077);
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	if (cd_snmp_start(d) < 0)
		return -1;
	d->be->start(d);
	return 0;
}

static int
cd_poll_timeout(struct cd *d, int64_t now)
{
	int64_t t = now + CD_POLL_MAX_MS;

	if (d->dp_next_ms < t)
		t = d->dp_next_ms;
	if (d->proc_next_ms < t)
		t = d->proc_next_ms;
	if (cd_syslog_next_ms(d) < t)
		t = cd_syslog_next_ms(d);
	if (cd_proc_mon_next_ms() < t)
		t = cd_proc_mon_next_ms();
	return t <= now ? 0 : (int)(t - now);
}

/* The control sockets' clients are the control child's (cd_proc_ctl.c),
 * the Prometheus scrapes and syslog targets the monitoring child's
 * (cd_proc_mon.c): here signals, the dataplane channel, SNMP and the
 * children's channels. */
static void
cd_poll_once(struct cd *d)
{
	struct pollfd pfd[2 + CD_SNMP_FD_MAX + PROC_MAX];
	unsigned n = 2;
	int timeout = cd_poll_timeout(d, clk_mono_ms());
	unsigned nsnmp =
	    cd_snmp_poll_fill(d, pfd + n, CD_SNMP_FD_MAX, &timeout);
	struct pollfd *ppfd = pfd + n + nsnmp;
	unsigned nproc = proc_poll_fill(&d->procs, ppfd);

	pfd[0] = (struct pollfd){ .fd = d->sigfd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = d->be->poll_fd(d), .events = POLLIN };
	if (poll(pfd, n + nsnmp + nproc, timeout) < 0) {
		if (errno != EINTR)
			cd_log("poll: %s", strerror(errno));
		return;
	}
	if (pfd[0].revents)
		cd_signal_read(d);
	/* Readable: log events; EOF only on a 0-length read or an error. */
	if (pfd[1].revents)
		d->be->poll_in(d, pfd[1].fd);
	cd_snmp_poll_done(d, pfd + n, nsnmp);
	proc_poll_done(&d->procs, ppfd, nproc);
}

static void
cd_loop(struct cd *d)
{
	while (!d->quit) {
		d->proc_next_ms =
		    clk_mono_ms() + proc_tick(&d->procs, clk_mono_ms());
		cd_poll_once(d);
		d->be->tick(d);
		cd_confirm_tick(d);
		cd_syslog_tick(d);
		cd_mon_tick(d);
		cd_proc_mon_tick(d);
		cd_sess_tick(d);
		cd_alarm_tick(d);
	}
	cd_rulectr_shutdown(d);
	cd_log("stopping; cordon-dp pid %d keeps enforcing revision %lu",
	    (int)d->dp_pid, (unsigned long)d->run.rev);
}

static int
cd_opts(int argc, char **argv, struct cd *d, int *check)
{
	static const struct option lo[] = {
		{ "test-timers", no_argument, NULL, 'T' },
		{ "check-start", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	d->conf_path = CD_DEFAULT_CONF;
	while ((opt = getopt_long(argc, argv, "f:ndVh", lo, NULL)) != -1) {
		switch (opt) {
		case 'f':
			d->conf_path = optarg;
			break;
		case 'n':
			*check = *check ? *check : 1;
			break;
		case 'S':
			*check = 2;
			break;
		case 'd':
			d->debug = cd_debug_on = true;
			break;
		case 'T':
			d->test_timers = true;
			break;
		case 'V':
			printf("cordond %s\n", CD_VERSION);
			exit(0);
		case 'h':
			cd_usage(stdout);
			exit(0);
		default:
			cd_usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		cd_usage(stderr);
		return -1;
	}
	return 0;
}

static int
cd_main(struct cd *d)
{
	char err[1024];
	bool broken;

	if (cd_conffile_start_ctl(d->conf_path, &d->ctl, &broken, err,
	        sizeof(err)) < 0) {
		cd_log("%s", err);
		return 2;
	}
	if (broken)
		cd_log("warning: %s: the running revision of %s runs", err,
		    d->ctl.state_dir);
	if (cd_conffile_ctl(d) < 0)
		return 1;
	if (cd_syslog_open(d) < 0)
		return 1;
	if (cd_setup(d) < 0)
		return 1;
	cd_conffile_warn(d);
	cd_syslog_event(d, "daemon-start", "cordond started", "version",
	    CD_VERSION, "revision", CD_SL_U(d->run.rev), NULL);
	cd_loop(d);
	cd_syslog_event(d, "daemon-stop",
	    "cordond stopping; cordon-dp keeps "
	    "enforcing",
	    "revision", CD_SL_U(d->run.rev), NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct cd d = { .lfd = -1,
		.rofd = -1,
		.sigfd = -1,
		.ctlp = { .serving = -1 } };
	int check = 0; /* 1: -n, 2: --check-start */
	int rc;

	setvbuf(stderr, NULL, _IOLBF, 0);
	/* Hidden: a child of cordond (proc.h), never typed by an admin. */
	if (argc == 3 && strcmp(argv[1], "-P") == 0)
		proc_child_main(argv[2]);
	if (cd_opts(argc, argv, &d, &check) < 0)
		return 2;
	if (check)
		return check == 2 ? cd_conffile_check_start(d.conf_path)
		                  : cd_check(d.conf_path);
	d.started = clk_unix_s();
	d.started_boot = clk_boot_s();
	rc = cd_main(&d);
	/* before the children stop: the monitoring child sends what the
	 * targets still hold */
	cd_syslog_close(&d);
	proc_stop(&d.procs);
	cd_sock_close(&d);
	cd_prom_close(&d);
	cd_snmp_stop(&d);
	cd_sess_close(&d);
	if (d.dpc != NULL)
		dpc_close(d.dpc);
	cd_nft_close(&d); /* the kernel keeps enforcing the table */
	cd_run_free(&d.run);
	if (d.store != NULL)
		store_close(d.store);
	free(d.base);
	free(d.sum);
	return rc;
}
