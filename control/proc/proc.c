/*
 * The parent's side of cordond's processes (proc.h): each child is a
 * fork and exec of cordond itself (`cordond -P NAME`) with its channel
 * on fd PROC_CHILD_FD; one that dies is restarted, at once the first
 * time, then after a backoff that doubles from 100 ms to 30 s and is
 * forgotten once a child stayed up 60 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/proc/proc_int.h"
#include "core/util/clock.h"

#define PROC_BACKOFF_MIN_MS 100
#define PROC_BACKOFF_MAX_MS 30000
#define PROC_STABLE_MS      60000

extern char **environ;

void
proc_say(struct proc_set *s, const char *fmt, ...)
{
	char line[PROC_LOG_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->log != NULL)
		s->log(s->arg, line);
}

int
proc_init(struct proc_set *s, void *arg)
{
	int fd;

	memset(s, 0, sizeof(*s));
	s->arg = arg;
	s->self = "cordond";
	for (unsigned i = 0; i < PROC_MAX; i++) {
		s->c[i].def = proc_defs[i];
		s->c[i].fd = -1;
	}
	if ((fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	/* Above the child's channel, which dup2 puts on PROC_CHILD_FD. */
	s->exe = fcntl(fd, F_DUPFD_CLOEXEC, PROC_CHILD_FD + 1);
	close(fd);
	if (s->exe < 0)
		return -1;
	if ((s->buf = malloc(PROC_MSG_MAX)) == NULL) {
		close(s->exe);
		s->exe = -1;
		return -1;
	}
	return 0;
}

/*
 * SZ bytes of buffer, beyond net.core.[rw]mem_max (CAP_NET_ADMIN,
 * which cordond has); without it (a unit test), what the limit allows.
 */
static int
proc_bufs(int fd, int sz)
{
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    (errno != EPERM ||
	        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) < 0))
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0 &&
	    (errno != EPERM ||
	        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) < 0))
		return -1;
	return 0;
}

/* Both ends take a burst of messages without the sender blocking. */
static int
proc_pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (proc_bufs(sv[0], (int)PROC_SOCKBUF) < 0 ||
	    proc_bufs(sv[1], (int)PROC_SOCKBUF) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

/*
 * After fork: no stdio of cordond's.  A child says what it has to say
 * on its channel (PROC_T_LOG, checked and prefixed with its name);
 * cordond's stdout and stderr would let it write lines into cordond's
 * log that look like cordond's own, and fill its file.  The sanitizer
 * build keeps stderr for its reports.
 */
static int
proc_exec_stdio(void)
{
	int nul = open("/dev/null", O_RDWR);

	if (nul < 0 || dup2(nul, STDIN_FILENO) < 0 ||
	    dup2(nul, STDOUT_FILENO) < 0)
		return -1;
#if !defined(__SANITIZE_ADDRESS__)
	if (dup2(nul, STDERR_FILENO) < 0)
		return -1;
#endif
	if (nul > STDERR_FILENO)
		close(nul);
	return 0;
}

/* After fork: the channel on fd 3, nothing else of ours, then exec. */
static void
proc_exec(struct proc_set *s, const struct proc_def *def, int cfd)
{
	char *argv[] = { (char *)s->self, "-P", (char *)def->name, NULL };
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* A session of its own: cordond's controlling terminal (an admin
	 * ran it in the foreground) is not the child's to TIOCSTI into. */
	if (setsid() < 0 || proc_exec_stdio() < 0)
		_exit(127);
	/* systemd's sockets are the parent's to use, not a child's. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (cfd == PROC_CHILD_FD) {
		if (fcntl(cfd, F_SETFD, 0) < 0)
			_exit(127);
	} else if (dup2(cfd, PROC_CHILD_FD) < 0)
		_exit(127);
	/* Marked, not closed: the executable's descriptor must outlive
	 * this call up to the exec itself. */
	syscall(SYS_close_range, PROC_CHILD_FD + 1, ~0U, 4 /* CLOEXEC */);
	syscall(SYS_execveat, s->exe, "", argv, environ, AT_EMPTY_PATH);
	_exit(127);
}

static int
proc_spawn(struct proc_set *s, struct proc_child *c, int64_t now)
{
	int sv[2];
	pid_t pid;

	if (proc_pair(sv) < 0)
		return -1;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		proc_exec(s, c->def, sv[1]);
	close(sv[1]);
	c->pid = pid;
	c->fd = sv[0];
	c->ready = false;
	c->starts++;
	c->up_since_ms = now;
	c->ping_ms = 0;
	proc_say(s, "%s: started, pid %d", c->def->name, (int)pid);
	return 0;
}

/* The next start of a child that failed to start or ended. */
static void
proc_schedule(struct proc_child *c, int64_t now)
{
	if (c->up_since_ms && now - c->up_since_ms >= PROC_STABLE_MS)
		c->backoff_ms = 0;
	c->next_start_ms = now + c->backoff_ms;
	c->backoff_ms = c->backoff_ms == 0 ? PROC_BACKOFF_MIN_MS
	                : c->backoff_ms * 2 > PROC_BACKOFF_MAX_MS
	                    ? PROC_BACKOFF_MAX_MS
	                    : c->backoff_ms * 2;
}

/*
 * A ready child is pinged every PROC_PING_MS (proc_recv answers in the
 * child); one that leaves a ping unanswered for its hang_ms is stopped
 * or looping, and so is one not READY that long after its start:
 * killed, hence restarted.  Returns when to look again.
 */
static int64_t
proc_watch(struct proc_set *s, struct proc_child *c, int64_t now)
{
	unsigned hang = c->def->hang_ms ? c->def->hang_ms : PROC_HANG_MS;
	int64_t since = c->ready ? c->ping_ms : c->up_since_ms;
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->fd < 0)
		return now + PROC_PING_MS;
	if (since != 0) {
		if (now - since < hang)
			return since + hang;
		/* We may be the late one (a long commit): its answer is
		 * read first. */
		if (poll(&p, 1, 0) > 0)
			return now;
		proc_kill(s, c,
		    c->ready ? "left a ping unanswered (hung)"
		             : "was not ready in time (hung)");
		return now + PROC_PING_MS;
	}
	if (now - c->pong_ms < PROC_PING_MS)
		return c->pong_ms + PROC_PING_MS;
	if ((c->ping_id = ++s->seq) == 0)
		c->ping_id = ++s->seq;
	c->ping_ms = now;
	/* Not sent (its buffer is full: it does not read) is the same as
	 * not answered. */
	(void)proc_send(c->fd, PROC_T_PING, c->ping_id, NULL, 0, -1);
	return now + hang;
}

int
proc_tick(struct proc_set *s, int64_t now_ms)
{
	int64_t next = now_ms + 1000;

	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc_child *c = &s->c[i];

		if (c->def == NULL)
			continue;
		if (c->pid != 0) {
			int64_t w = proc_watch(s, c, now_ms);

			next = w < next ? w : next;
			continue;
		}
		if (now_ms >= c->next_start_ms &&
		    proc_spawn(s, c, now_ms) < 0) {
			proc_say(s, "%s: cannot start: %s", c->def->name,
			    strerror(errno));
			snprintf(c->last_exit, sizeof(c->last_exit),
			    "not started: %s", strerror(errno));
			proc_schedule(c, now_ms);
		}
		if (c->pid == 0 && c->next_start_ms < next)
			next = c->next_start_ms;
	}
	return next <= now_ms ? 0 : (int)(next - now_ms);
}

/* The channel closes; the handlers learn the child is gone. */
void
proc_close(struct proc_set *s, struct proc_child *c)
{
	bool was = c->fd >= 0;

	if (was)
		close(c->fd);
	c->fd = -1;
	c->ready = false;
	if (was && c->def->down != NULL)
		c->def->down(s->arg, c);
}

static void
proc_exit_text(struct proc_child *c, int status)
{
	if (WIFSIGNALED(status))
		snprintf(c->last_exit, sizeof(c->last_exit), "killed by SIG%s",
		    sigabbrev_np(WTERMSIG(status))
		        ? sigabbrev_np(WTERMSIG(status))
		        : "?");
	else
		snprintf(c->last_exit, sizeof(c->last_exit), "exit %d",
		    WEXITSTATUS(status));
}

int
proc_reaped(struct proc_set *s, pid_t pid, int status)
{
	int64_t now = clk_mono_ms();
	struct proc_child *c = NULL;

	for (unsigned i = 0; i < PROC_MAX && c == NULL; i++)
		if (s->c[i].def != NULL && s->c[i].pid == pid && pid > 0)
			c = &s->c[i];
	if (c == NULL)
		return 0;
	proc_close(s, c);
	c->pid = 0;
	c->crashes++;
	memmove(c->crash_ms + 1, c->crash_ms,
	    sizeof(c->crash_ms) - sizeof(c->crash_ms[0]));
	c->crash_ms[0] = now;
	proc_exit_text(c, status);
	proc_schedule(c, now);
	proc_say(s, "%s: pid %d ended (%s); restart in %lld ms", c->def->name,
	    (int)pid, c->last_exit, (long long)(c->next_start_ms - now));
	if (s->ended != NULL)
		s->ended(s->arg, c);
	return 1;
}

unsigned
proc_crashes_within(const struct proc_child *c, int64_t now, int64_t ms)
{
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(c->crash_ms) / sizeof(c->crash_ms[0]);
	     i++)
		if (c->crash_ms[i] != 0 && now - c->crash_ms[i] < ms)
			n++;
	return n;
}

void
proc_kill(struct proc_set *s, struct proc_child *c, const char *why)
{
	proc_say(s, "%s: pid %d %s: killed", c->def->name, (int)c->pid, why);
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
	proc_close(s, c);
}

void
proc_fail(struct proc_set *s, struct proc_child *c, const char *why)
{
	c->refused++;
	proc_kill(s, c, why);
}

void
proc_stop(struct proc_set *s)
{
	if (s->buf == NULL)
		return; /* never initialised */
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc_child *c = &s->c[i];

		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			proc_close(s, c);
			while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
				;
			c->pid = 0;
		}
	}
	if (s->exe >= 0)
		close(s->exe);
	s->exe = -1;
	free(s->buf);
	s->buf = NULL;
}

struct proc_child *
proc_get(struct proc_set *s, enum proc_id id)
{
	struct proc_child *c;

	if ((unsigned)id >= PROC_MAX)
		return NULL;
	c = &s->c[id];
	return c->def != NULL && c->pid > 0 && c->ready && c->fd >= 0 ? c
	                                                              : NULL;
}
