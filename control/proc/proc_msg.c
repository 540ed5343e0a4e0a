/*
 * The channel between cordond and its children (proc.h): one
 * SOCK_SEQPACKET packet per message, a struct proc_hdr and its payload,
 * at most one descriptor alongside (SCM_RIGHTS).  Both ends refuse what
 * does not fit the header's rules; a truncated packet is never read as
 * a shorter one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/proc/proc_int.h"

/* Room for a few descriptors: a peer that sends more is caught. */
#define PROC_CMSG_FDS 4

bool proc_is_child;

int
proc_hdr_check(const struct proc_hdr *h, size_t got)
{
	if (got < sizeof(*h) || h->version != PROC_MSG_VERSION ||
	    h->type == 0 || h->flags != 0 || h->len > PROC_MSG_MAX ||
	    h->len != got - sizeof(*h)) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
proc_send(int fd, uint16_t type, uint32_t id, const void *p, size_t len,
    int passfd)
{
	struct proc_hdr h = { PROC_MSG_VERSION, type, (uint32_t)len, id, 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct cmsghdr *cm;

	if (len > PROC_MSG_MAX || type == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	if (passfd >= 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
	}
	if (sendmsg(fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -1;
	return 0;
}

/*
 * The descriptors that came with M: one into *PASSFD; more than one, or
 * anything but SCM_RIGHTS, is closed and refused.
 */
static int
proc_recv_fds(struct msghdr *m, int *passfd)
{
	int n = 0, bad = (m->msg_flags & MSG_CTRUNC) != 0;

	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL;
	     cm = CMSG_NXTHDR(m, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (n++ == 0 && *passfd < 0)
				*passfd = fd;
			else
				close(fd);
		}
	}
	if (bad || n > 1) {
		if (*passfd >= 0)
			close(*passfd);
		*passfd = -1;
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/*
 * A child answers the parent's ping here, whatever its loop: a child
 * that stops reading its channel (stopped, looping) stops answering and
 * the parent kills it (proc.c).  To the loop it is nothing (EAGAIN).
 */
static ssize_t
proc_pong(int fd, const struct proc_hdr *h, int *passfd)
{
	if (h->len != 0 || *passfd >= 0) {
		if (*passfd >= 0)
			close(*passfd);
		*passfd = -1;
		errno = EBADMSG;
		return -1;
	}
	(void)proc_send(fd, PROC_T_PONG, h->id, NULL, 0, -1);
	errno = EAGAIN;
	return -1;
}

ssize_t
proc_recv(int fd, struct proc_hdr *h, uint8_t *buf, size_t cap, int *passfd)
{
	union {
		char buf[CMSG_SPACE(PROC_CMSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov[2] = { { h, sizeof(*h) }, { buf, cap } };
	struct msghdr m = { .msg_iov = iov,
		.msg_iovlen = 2,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf) };
	ssize_t n;

	*passfd = -1;
	memset(h, 0, sizeof(*h));
	n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -1;
	/* Descriptors first: whatever is refused, none stays open. */
	if (proc_recv_fds(&m, passfd) < 0)
		return -1;
	if (n == 0)
		errno = ECONNRESET; /* the peer closed (we never send 0) */
	else if (m.msg_flags & MSG_TRUNC)
		errno = EMSGSIZE;
	else if (proc_hdr_check(h, (size_t)n) == 0)
		return proc_is_child && h->type == PROC_T_PING
		           ? proc_pong(fd, h, passfd)
		           : (ssize_t)h->len;
	if (*passfd >= 0)
		close(*passfd);
	*passfd = -1;
	return -1;
}

void
proc_log(int fd, const char *fmt, ...)
{
	char line[PROC_LOG_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	if ((size_t)n > PROC_LOG_MAX)
		n = PROC_LOG_MAX;
	for (int i = 0; i < n; i++)
		if (line[i] < 0x20 || line[i] > 0x7e)
			line[i] = '?';
	(void)proc_send(fd, PROC_T_LOG, 0, line, (size_t)n, -1);
}

int
proc_log_check(const uint8_t *p, size_t len)
{
	if (len == 0 || len > PROC_LOG_MAX) {
		errno = EBADMSG;
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e) {
			errno = EBADMSG;
			return -1;
		}
	return 0;
}
