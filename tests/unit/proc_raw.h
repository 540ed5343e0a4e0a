/*
 * One raw SOCK_SEQPACKET packet with NFD (at most 4) descriptors, for
 * the tests of the children's channel (test_proc_msg, fuzz_proc_hdr):
 * whatever bytes, whatever header, bypassing proc_send's checks.
 */
#ifndef CORDON_TESTS_PROC_RAW_H
#define CORDON_TESTS_PROC_RAW_H

#include <string.h>
#include <sys/socket.h>

static inline ssize_t
proc_raw_send(int sock, struct iovec *iov, int niov, const int *fds,
    unsigned nfd)
{
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr a;
	} u;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
	struct cmsghdr *cm;

	if (nfd > 0) {
		memset(&u, 0, sizeof(u));
		m.msg_control = u.b;
		m.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cm = CMSG_FIRSTHDR(&m);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfd * sizeof(int));
	}
	return sendmsg(sock, &m, 0);
}

#endif
