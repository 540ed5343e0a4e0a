/*
 * cordond's children as the parent sees them (control/proc, the table
 * in cd_procs.c): their log lines in cordond's log, a child that ended
 * logged to syslog and raised as process-restarted, a crash loop as
 * process-crash-loop, and the processes array of show status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/daemon/cordond.h"

#define CD_PROC_LOOP_N  5     /* crashes ... */
#define CD_PROC_LOOP_MS 60000 /* ... within: a crash loop */
/* --test-timers: a test sees the alarm clear without waiting 60 s */
#define CD_PROC_LOOP_TEST_MS 10000

static void
cd_proc_log(void *arg, const char *line)
{
	(void)arg;
	cd_log("%s", line);
}

static void
cd_proc_ended(void *arg, struct proc_child *c)
{
	struct cd *d = arg;
	char detail[CD_ALARM_DETAIL];

	snprintf(detail, sizeof(detail), "process %s %s; restarted",
	    c->def->name, c->last_exit);
	cd_syslog_event(d, "process-restarted", detail, "process", c->def->name,
	    "how", c->last_exit, "crashes", CD_SL_U(c->crashes), NULL);
	cd_alarm_event(d, CD_AL_PROC_RESTARTED, detail);
	cd_alarm_sync(d, CD_AL_PROC_LOOP);
}

int
cd_proc_init(struct cd *d)
{
	if (proc_init(&d->procs, d) < 0) {
		cd_log("processes: /proc/self/exe: %s", strerror(errno));
		return -1;
	}
	d->procs.log = cd_proc_log;
	d->procs.ended = cd_proc_ended;
	if (proc_prepare() < 0) {
		cd_log("processes: users or %s: %s", PROC_EMPTY_DIR,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
cd_proc_crash_loop(struct cd *d, char *detail, size_t len)
{
	int64_t now = clk_mono_ms();
	int64_t win = d->test_timers ? CD_PROC_LOOP_TEST_MS : CD_PROC_LOOP_MS;

	for (unsigned i = 0; i < PROC_MAX; i++) {
		const struct proc_child *c = &d->procs.c[i];

		if (c->def != NULL &&
		    proc_crashes_within(c, now, win) >= CD_PROC_LOOP_N) {
			snprintf(detail, len,
			    "process %s crashed %u times within %d s (last: "
			    "%s)",
			    c->def->name, proc_crashes_within(c, now, win),
			    (int)(win / 1000), c->last_exit);
			return 1;
		}
	}
	return 0;
}

/* Up since, in wall-clock seconds: the child's start, 0 when down. */
static json_int_t
cd_proc_since(const struct proc_child *c)
{
	if (c->pid == 0)
		return 0;
	return (
	    json_int_t)(clk_unix_s() - (clk_mono_ms() - c->up_since_ms) / 1000);
}

json_t *
cd_proc_status(struct cd *d)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < PROC_MAX; i++) {
		const struct proc_child *c = &d->procs.c[i];

		if (c->def == NULL)
			continue;
		json_array_append_new(a,
		    json_pack("{s:s, s:i, s:s, s:b, s:b, s:I, s:i, s:i, s:i, "
		              "s:s}",
		        "name", c->def->name, "pid", (int)c->pid, "user",
		        c->def->user, "net", c->def->net, "ready", c->ready,
		        "up_since", cd_proc_since(c), "starts", (int)c->starts,
		        "crashes", (int)c->crashes, "refused", (int)c->refused,
		        "last_exit", c->last_exit));
	}
	return a;
}
