/*
 * The parent's side of cordond's children (control/proc/proc.c,
 * proc_io.c): this program is its own child (`test_proc -P echo`, fd 3
 * its channel), started, READY, answering proc_call, killed and
 * restarted with backoff; and a child the test plays itself, which is
 * killed (and counted as refused) for anything that breaks the
 * protocol: a bad header, a message before READY, a second READY, a bad
 * log line, a payload its handler refuses, a wrong answer; a proc_call
 * that times out kills without blame, and so does a ready child that
 * leaves the watchdog's ping unanswered.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/proc/proc.h"
#include "core/util/clock.h"

enum { T_PING = PROC_T_BASE, T_PONG, T_NOTE };

static struct {
	unsigned in, up, down, ended;
	char log[8192];
	int in_rc;
} seen;

static int
echo_run(int fd)
{
	uint8_t buf[256];
	struct proc_hdr h;
	int pfd;

	proc_log(fd, "echo here");
	proc_send(fd, PROC_T_READY, 0, NULL, 0, -1);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		poll(&p, 1, -1);
		if ((n = proc_recv(fd, &h, buf, sizeof(buf), &pfd)) < 0) {
			if (errno == EAGAIN)
				continue;
			return 0;
		}
		proc_send(fd, T_PONG, h.id, buf, (size_t)n, -1);
	}
}

static int
t_in(void *arg, struct proc_child *c, const struct proc_hdr *h,
    const uint8_t *p, int passfd)
{
	(void)arg;
	(void)c;
	(void)h;
	(void)p;
	if (passfd >= 0)
		close(passfd);
	seen.in++;
	return seen.in_rc;
}

static void
t_up(void *arg, struct proc_child *c)
{
	(void)arg;
	(void)c;
	seen.up++;
}

static void
t_down(void *arg, struct proc_child *c)
{
	(void)arg;
	(void)c;
	seen.down++;
}

static const struct proc_def echo_def = { .id = PROC_IDENT,
	.name = "echo",
	.user = "nobody",
	.run = echo_run,
	.in = t_in,
	.up = t_up,
	.down = t_down };

const struct proc_def *const proc_defs[PROC_MAX] = { [PROC_IDENT] = &echo_def };

static void
t_log(void *arg, const char *line)
{
	(void)arg;
	snprintf(seen.log + strlen(seen.log),
	    sizeof(seen.log) - strlen(seen.log), "%s\n", line);
}

static void
t_ended(void *arg, struct proc_child *c)
{
	(void)arg;
	(void)c;
	seen.ended++;
}

static struct proc_set set;
static int peer = -1; /* the played child's end */

static int
setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	if (proc_init(&set, NULL) < 0)
		return -1;
	set.log = t_log;
	set.ended = t_ended;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	proc_stop(&set);
	if (peer >= 0)
		close(peer);
	peer = -1;
	return 0;
}

/* The child the test plays: a process to kill, a channel to write. */
static struct proc_child *
played(bool ready)
{
	struct proc_child *c = &set.c[PROC_IDENT];
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	c->pid = pid;
	c->fd = sv[0];
	c->ready = ready;
	peer = sv[1];
	return c;
}

/* Reads what C sent; then C must have been killed, with BLAME. */
static void
pump(struct proc_child *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN, .revents = POLLIN };

	proc_poll_done(&set, &p, 1);
}

static void
assert_killed(struct proc_child *c, pid_t pid, unsigned refused)
{
	int status;

	assert_int_equal(c->fd, -1);
	assert_false(c->ready);
	assert_int_equal(c->refused, refused);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	assert_int_equal(proc_reaped(&set, pid, status), 1);
	assert_string_equal(c->last_exit, "killed by SIGKILL");
	c->pid = 0;
}

static void
test_ready_log_and_messages(void **state)
{
	struct proc_child *c = played(false);

	(void)state;
	proc_log(peer, "hello from the child");
	proc_send(peer, PROC_T_READY, 0, NULL, 0, -1);
	proc_send(peer, T_NOTE, 0, "n", 1, -1);
	pump(c);
	assert_true(c->ready);
	assert_int_equal(seen.up, 1);
	assert_int_equal(seen.in, 1);
	assert_non_null(strstr(seen.log, "echo: hello from the child"));
	assert_ptr_equal(proc_get(&set, PROC_IDENT), c);
	assert_null(proc_get(&set, PROC_FETCH));
	assert_int_equal(c->refused, 0);
}

/* A child that floods the log: PROC_LOG_RATE lines a second, the rest
 * dropped and counted. */
static void
test_log_flood(void **state)
{
	struct proc_child *c = played(false);
	const char *p;
	unsigned n = 0;

	(void)state;
	/* Within one second (the burst is sent at once). */
	while (clk_mono_ms() % 1000 > 800)
		usleep(10000);
	for (unsigned i = 0; i < 3 * PROC_LOG_RATE; i++)
		proc_log(peer, "line %u", i);
	pump(c);
	pump(c);
	pump(c);
	for (p = seen.log; (p = strstr(p, "echo: line ")) != NULL; p++)
		n++;
	assert_int_equal(n, PROC_LOG_RATE);
	assert_int_equal(c->log_dropped, 2 * PROC_LOG_RATE);
	assert_int_equal(c->refused, 0);
	assert_true(c->fd >= 0);
}

/* Each way of breaking the protocol: the child is killed, refused. */
static void
refused_case(bool ready, int in_rc, void (*send)(void))
{
	struct proc_child *c = played(ready);
	pid_t pid = c->pid;

	seen.in_rc = in_rc;
	send();
	pump(c);
	assert_int_equal(seen.down, 1);
	assert_killed(c, pid, 1);
	assert_null(proc_get(&set, PROC_IDENT));
}

static void
send_bad_version(void)
{
	struct proc_hdr h = { 9, T_NOTE, 0, 0, 0 };

	assert_int_equal(send(peer, &h, sizeof(h), 0), (ssize_t)sizeof(h));
}

static void
send_note(void)
{
	proc_send(peer, T_NOTE, 0, "x", 1, -1);
}

static void
send_ready_twice(void)
{
	proc_send(peer, PROC_T_READY, 0, NULL, 0, -1);
	proc_send(peer, PROC_T_READY, 0, NULL, 0, -1);
}

static void
send_bad_log(void)
{
	proc_send(peer, PROC_T_LOG, 0, "a\nb", 3, -1);
}

static void
send_unknown_common(void)
{
	proc_send(peer, PROC_T_READY + 1, 0, NULL, 0, -1);
}

static void
test_refusals(void **state)
{
	void (*sends[])(void) = { send_bad_version, send_ready_twice,
		send_bad_log, send_unknown_common };

	(void)state;
	for (unsigned i = 0; i < sizeof(sends) / sizeof(sends[0]); i++) {
		teardown(NULL);
		setup(NULL);
		refused_case(false, 0, sends[i]);
	}
	teardown(NULL);
	setup(NULL);
	refused_case(false, 0, send_note); /* before READY */
	teardown(NULL);
	setup(NULL);
	refused_case(true, -1, send_note); /* its handler says no */
	assert_int_equal(seen.in, 1);
}

static void
test_call_answers_in_order(void **state)
{
	struct proc_child *c = played(true);
	uint8_t ans[16];

	(void)state;
	/* Something else first (to def->in), then the answer. */
	proc_send(peer, T_NOTE, 0, "z", 1, -1);
	proc_send(peer, T_PONG, set.seq + 1, "pong", 4, -1);
	assert_int_equal(proc_call(&set, c, T_PING, "ping", 4, T_PONG, ans,
	                     sizeof(ans), 1000),
	    4);
	assert_memory_equal(ans, "pong", 4);
	assert_int_equal(seen.in, 1);
	/* A wrong type under the right id breaks the protocol. */
	proc_send(peer, T_NOTE, set.seq + 1, "pong", 4, -1);
	assert_int_equal(proc_call(&set, c, T_PING, "ping", 4, T_PONG, ans,
	                     sizeof(ans), 1000),
	    -1);
	assert_int_equal(c->refused, 1);
	assert_int_equal(c->fd, -1);
}

static void
test_call_timeout(void **state)
{
	struct proc_child *c = played(true);
	pid_t pid = c->pid;
	int64_t t0 = clk_mono_ms();
	uint8_t ans[16];

	(void)state;
	assert_int_equal(proc_call(&set, c, T_PING, "ping", 4, T_PONG, ans,
	                     sizeof(ans), 200),
	    -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(clk_mono_ms() - t0 >= 200);
	assert_killed(c, pid, 0);
	assert_non_null(strstr(seen.log, "did not answer"));
}

/* The ping the parent sent C's peer: its id. */
static uint32_t
pinged(void)
{
	struct proc_hdr h;
	uint8_t b[16];
	int fd;

	assert_int_equal(proc_recv(peer, &h, b, sizeof(b), &fd), 0);
	assert_int_equal(h.type, PROC_T_PING);
	return h.id;
}

/*
 * The watchdog: a ready child is pinged every PROC_PING_MS; its pong
 * clears the ping; one left unanswered PROC_HANG_MS is killed without
 * blame (restarted), unless its answer is waiting to be read (the
 * parent was the late one), as is one not READY that long after its
 * start; a pong for no ping breaks the protocol.
 */
static void
test_hung_child_killed(void **state)
{
	struct proc_child *c = played(true);
	int64_t now = clk_mono_ms();
	pid_t pid = c->pid;
	uint32_t id;

	(void)state;
	c->pong_ms = now;
	assert_int_equal(proc_tick(&set, now), PROC_PING_MS);
	assert_int_equal(proc_tick(&set, now + PROC_PING_MS), 1000);
	assert_true(c->ping_ms == now + PROC_PING_MS);
	id = pinged();
	assert_int_equal(c->ping_id, id);
	proc_send(peer, PROC_T_PONG, id, NULL, 0, -1);
	pump(c);
	assert_int_equal(c->ping_ms, 0);
	assert_int_equal(c->fd >= 0, 1);
	/* Unanswered, but the pong is there by the time we look. */
	now = c->pong_ms + PROC_PING_MS;
	proc_tick(&set, now);
	id = pinged();
	proc_send(peer, PROC_T_PONG, id, NULL, 0, -1);
	assert_int_equal(proc_tick(&set, now + PROC_HANG_MS), 0);
	assert_int_equal(c->fd >= 0, 1);
	pump(c);
	/* Unanswered for PROC_HANG_MS: killed. */
	now = c->pong_ms + PROC_PING_MS;
	proc_tick(&set, now);
	(void)pinged();
	proc_tick(&set, now + PROC_HANG_MS - 1);
	assert_int_equal(c->fd >= 0, 1);
	proc_tick(&set, now + PROC_HANG_MS);
	assert_non_null(strstr(seen.log, "left a ping unanswered (hung)"));
	assert_killed(c, pid, 0);
	/* A child not READY within PROC_HANG_MS of its start. */
	teardown(NULL);
	setup(NULL);
	c = played(false);
	pid = c->pid;
	c->up_since_ms = now;
	proc_tick(&set, now + PROC_HANG_MS - 1);
	assert_int_equal(c->fd >= 0, 1);
	proc_tick(&set, now + PROC_HANG_MS);
	assert_non_null(strstr(seen.log, "was not ready in time (hung)"));
	assert_killed(c, pid, 0);
	/* A pong nobody asked for. */
	teardown(NULL);
	setup(NULL);
	c = played(true);
	pid = c->pid;
	proc_send(peer, PROC_T_PONG, 5, NULL, 0, -1);
	pump(c);
	assert_killed(c, pid, 1);
}

/* Restarts: at once, then 100 ms doubling to 30 s; 60 s up resets. */
static void
test_backoff(void **state)
{
	static const int64_t want[] = { 0, 100, 200, 400, 800, 1600, 3200, 6400,
		12800, 25600, 30000, 30000 };
	struct proc_child *c = &set.c[PROC_IDENT];
	int st = 0x9; /* killed by SIGKILL */

	(void)state;
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int64_t now;

		c->pid = 4000000 + (pid_t)i;
		c->up_since_ms = clk_mono_ms();
		assert_int_equal(proc_reaped(&set, c->pid, st), 1);
		now = clk_mono_ms();
		assert_true(c->next_start_ms - now <= want[i] &&
		            c->next_start_ms - now >= want[i] - 50);
	}
	assert_int_equal(c->crashes, 12);
	assert_int_equal(seen.ended, 12);
	assert_int_equal(proc_crashes_within(c, clk_mono_ms(), 60000), 8);
	c->pid = 4100000;
	c->up_since_ms = clk_mono_ms() - 61000;
	assert_int_equal(proc_reaped(&set, c->pid, 1 << 8), 1);
	assert_true(c->next_start_ms <= clk_mono_ms());
	assert_string_equal(c->last_exit, "exit 1");
	assert_int_equal(proc_reaped(&set, 4200000, 0), 0);
}

/* Waits for C's READY through the poll loop's functions. */
static void
wait_ready(struct proc_child *c)
{
	int64_t end = clk_mono_ms() + 10000;

	while (!c->ready && clk_mono_ms() < end) {
		struct pollfd p[PROC_MAX];
		unsigned n = proc_poll_fill(&set, p);

		if (n != 1)
			fail_msg("the child went away: %s", seen.log);
		poll(p, n, 100);
		proc_poll_done(&set, p, n);
	}
	assert_true(c->ready);
}

/* The real thing: this program as its own child, killed, restarted. */
static void
test_spawn_kill_restart(void **state)
{
	struct proc_child *c = &set.c[PROC_IDENT];
	uint8_t ans[16];
	pid_t first;
	int status;

	(void)state;
	assert_int_equal(proc_tick(&set, clk_mono_ms()), 1000);
	assert_true(c->pid > 0 && c->starts == 1);
	wait_ready(c);
	assert_non_null(strstr(seen.log, "echo: echo here"));
	assert_int_equal(proc_call(&set, c, T_PING, "abc", 3, T_PONG, ans,
	                     sizeof(ans), 5000),
	    3);
	first = c->pid;
	kill(first, SIGKILL);
	assert_int_equal(waitpid(first, &status, 0), first);
	assert_int_equal(proc_reaped(&set, first, status), 1);
	assert_int_equal(seen.down, 1);
	assert_int_equal(proc_tick(&set, clk_mono_ms()), 1000); /* at once */
	assert_true(c->pid > 0 && c->pid != first && c->starts == 2);
	wait_ready(c);
	assert_int_equal(c->crashes, 1);
	assert_int_equal(c->refused, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ready_log_and_messages,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_child_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_flood, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_call_answers_in_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_timeout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spawn_kill_restart, setup,
		    teardown),
	};

	if (argc == 3 && strcmp(argv[1], "-P") == 0)
		proc_child_main(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
