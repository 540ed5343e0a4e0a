/*
 * libFuzzer harness for the control child's receiver of its parent's
 * messages (control/ctl/ctl_proc_in.c), with three clients of its own
 * on real socket pairs: one whose request is with the parent, one
 * monitor subscriber, one idle.  Whatever the parent sends, the child
 * either takes it or refuses it (and would exit), never reads past a
 * message, never leaks a descriptor, and what it queues for a client
 * stays within the client's bounds.
 *
 * Input: records of [type 1][flags 1][len 2, little-endian][payload]:
 * flags bit 0 passes a descriptor along; bits 4-7 the header's id.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/ctl/ctl_proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_send(int fd, uint16_t type, uint32_t id, const void *p, size_t len,
    int passfd)
{
	(void)fd;
	(void)type;
	(void)id;
	(void)p;
	(void)len;
	(void)passfd;
	return 0;
}

static int peer[3];

static void
fuzz_client(struct ctl_proc *p, unsigned i, bool waiting, bool mon)
{
	struct ctl_client *c = calloc(1, sizeof(*c));
	int sv[2];

	if (c == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	c->cid = i + 1;
	c->fd = sv[0];
	c->waiting = waiting;
	c->mon = mon;
	c->deadline_ms = INT64_MAX;
	peer[i] = sv[1];
	p->cl[i] = c;
}

static void
fuzz_sound(const struct ctl_proc *p)
{
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		const struct ctl_client *c = p->cl[i];

		if (c == NULL)
			continue;
		if (c->outoff > c->outlen)
			abort();
		if (c->mon &&
		    c->outlen - c->outoff > CTL_MON_QUEUE + CTL_REPLY_MAX + 4)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_proc p;

	if (ctl_proc_init(&p, -1, fuzz_send) < 0)
		abort();
	fuzz_client(&p, 0, true, false);
	fuzz_client(&p, 1, false, true);
	fuzz_client(&p, 2, false, false);
	while (size >= 4) {
		size_t len = (size_t)data[2] | (size_t)data[3] << 8;
		struct proc_hdr h = { .version = PROC_MSG_VERSION,
			.type = (uint16_t)(PROC_T_BASE + data[0] % 16),
			.id = data[1] >> 4 };
		int fd = (data[1] & 1) ? open("/dev/null", O_RDONLY) : -1;
		uint8_t *copy;

		if (len > size - 4)
			len = size - 4;
		h.len = (uint32_t)len;
		copy = malloc(len ? len : 1);
		memcpy(copy, data + 4, len);
		if (ctl_proc_in(&p, &h, copy, len, fd) < 0 && fd >= 0 &&
		    fcntl(fd, F_GETFD) != -1)
			abort(); /* refused: its descriptor closed */
		free(copy);
		fuzz_sound(&p);
		data += 4 + len;
		size -= 4 + len;
	}
	ctl_proc_free(&p);
	for (unsigned i = 0; i < 3; i++)
		close(peer[i]);
	return 0;
}
