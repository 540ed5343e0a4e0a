/*
 * `cordond -P control`: the control child's main (ctl_proc.h).  It
 * enters its sandbox at once: it needs nothing from the file system and
 * no network (the listening sockets come from the parent afterwards,
 * LISTEN), then serves its clients and its parent from one poll loop.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl/ctl_proc.h"
#include "core/util/clock.h"

/* Beyond the common list of proc_sandbox.c: the clients' sockets. */
static const char *const ctl_syscalls[] = {
	"accept4",
	"getsockopt", /* SO_PEERCRED */
	"setsockopt", /* a subscriber's SO_SNDBUF */
	"sendto",
	"recvfrom",
	NULL,
};

/* The parent's messages waiting on the channel: 0 more later, 1 the
 * parent closed it, -1 one did not decode. */
static int
ctl_proc_chan(struct ctl_proc *p, uint8_t *buf)
{
	for (;;) {
		struct proc_hdr h;
		int passfd;
		ssize_t n = proc_recv(p->chan, &h, buf, PROC_MSG_MAX, &passfd);

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0
			       : errno == ECONNRESET             ? 1
			                                         : -1;
		if (ctl_proc_in(p, &h, buf, (size_t)n, passfd) < 0) {
			proc_log(p->chan, "refused a message of type %u",
			    (unsigned)h.type);
			return -1;
		}
	}
}

static int
ctl_proc_loop(struct ctl_proc *p, uint8_t *buf)
{
	struct pollfd pfd[CTL_POLL_MAX];

	while (!p->fatal) {
		unsigned n = ctl_proc_poll_fill(p, pfd);
		int rc;

		if (poll(pfd, n, ctl_proc_timeout(p, clk_mono_ms())) < 0 &&
		    errno != EINTR)
			return 1;
		if (pfd[0].revents & POLLIN) {
			if ((rc = ctl_proc_chan(p, buf)) != 0)
				return rc < 0 ? 1 : 0;
		} else if (pfd[0].revents & (POLLHUP | POLLERR)) {
			return 0; /* cordond has gone */
		}
		ctl_proc_poll_done(p, pfd, n);
		ctl_proc_tick(p, clk_mono_ms());
	}
	return 1;
}

int
ctl_proc_run(int fd)
{
	struct ctl_proc p;
	uint8_t *buf;
	int rc;

	/* jansson seeds its hash tables from /dev/urandom: now, while
	 * there is a file system to read it from. */
	json_object_seed(0);
	if (proc_sandbox(proc_defs[PROC_CTL], ctl_syscalls, NULL, 0) < 0)
		return 1;
	if ((buf = malloc(PROC_MSG_MAX)) == NULL ||
	    ctl_proc_init(&p, fd, proc_send) < 0 ||
	    proc_send(fd, PROC_T_READY, 0, NULL, 0, -1) < 0)
		return 1;
	rc = ctl_proc_loop(&p, buf);
	ctl_proc_free(&p);
	free(buf);
	return rc;
}
