/*
 * libFuzzer harness for the channel between cordond and its children
 * (control/proc/proc_msg.c).  The input's first byte says how many
 * descriptors go along (0-3); the rest is one raw packet, sent over a
 * real SOCK_SEQPACKET pair and read back with proc_recv into a buffer
 * of 1 KiB.  What proc_recv accepts must agree with proc_hdr_check on
 * the same bytes, fit the buffer and carry at most one descriptor;
 * what it refuses leaves no descriptor open; and a PROC_T_LOG payload
 * proc_log_check accepts is printable ASCII.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/proc/proc.h"
#include "tests/unit/proc_raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CAP 1024

static int sv[2] = { -1, -1 };
static int spare; /* a descriptor to pass */

static void
fuzz_send(const uint8_t *p, size_t len, unsigned nfd)
{
	struct iovec iov = { (void *)p, len };
	int fds[3] = { spare, spare, spare };

	if (proc_raw_send(sv[1], &iov, 1, fds, nfd) < 0)
		abort();
}

/* Descriptors open: a refused packet must leave none behind. */
static int
fuzz_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 256; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void
fuzz_check(const uint8_t *p, size_t len, unsigned nfd, int nopen)
{
	static uint8_t buf[FUZZ_CAP];
	struct proc_hdr h, raw;
	int passfd;
	ssize_t n = proc_recv(sv[0], &h, buf, sizeof(buf), &passfd);

	if (n < 0) {
		if (passfd != -1 || fuzz_open_fds() != nopen)
			abort();
		return;
	}
	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, p, len < sizeof(raw) ? len : sizeof(raw));
	if (proc_hdr_check(&raw, len) < 0 || (size_t)n != h.len ||
	    (size_t)n > sizeof(buf) || nfd > 1 || (passfd >= 0) != (nfd == 1))
		abort();
	if (memcmp(buf, p + sizeof(raw), (size_t)n) != 0)
		abort();
	if (h.type == PROC_T_LOG && proc_log_check(buf, (size_t)n) == 0)
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] < 0x20 || buf[i] > 0x7e)
				abort();
	if (passfd >= 0)
		close(passfd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nfd;
	int nopen;

	if (sv[0] < 0) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
			abort();
		spare = open("/dev/null", O_RDONLY);
	}
	if (size < 1)
		return 0;
	nfd = data[0] & 3;
	nopen = fuzz_open_fds();
	fuzz_send(data + 1, size - 1, nfd);
	fuzz_check(data + 1, size - 1, nfd, nopen);
	return 0;
}
