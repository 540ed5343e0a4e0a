/*
 * libFuzzer harness for the monitoring child's receiver
 * (control/mon/mon_proc_in.c): what cordond sends it, as a sequence of
 * messages.  Each is one flag byte (bit 0: a descriptor comes along),
 * a struct proc_hdr and up to its LEN payload bytes, each payload copied
 * to a buffer of exactly its size so that ASan flags any read past it.
 * The header goes through the framework's check first, as proc_recv
 * does; FLUSH is left out (it sends to the targets), and SNMP_CONF
 * (it starts net-snmp's subagent, which connects; the SNMP messages'
 * decoders have their own harness, fuzz_mon_snmp.c).  Whatever the
 * order (records before targets, answers to scrapes never asked, a
 * local socket for a target that is not local), the child must neither
 * crash nor leak, and a message it refuses must be one its decoder
 * refuses.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/mon/mon_proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_drain(int fd)
{
	static uint8_t sink[PROC_MSG_MAX + sizeof(struct proc_hdr)];

	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mon_child m;
	struct proc_hdr h;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	mon_child_init(&m, sv[0]);
	while (size >= 1 + sizeof(h)) {
		int passfd = -1;
		uint8_t flag = data[0];
		uint8_t *p;
		size_t n;

		memcpy(&h, data + 1, sizeof(h));
		data += 1 + sizeof(h);
		size -= 1 + sizeof(h);
		n = h.len < size ? h.len : size;
		h.len = (uint32_t)n;
		if ((p = malloc(n ? n : 1)) == NULL)
			abort();
		memcpy(p, data, n);
		data += n;
		size -= n;
		if (proc_hdr_check(&h, n) == 0 && h.type != MON_T_FLUSH &&
		    h.type != MON_T_SNMP_CONF) {
			if (flag & 1)
				passfd =
				    open("/dev/null", O_RDONLY | O_CLOEXEC);
			(void)mon_child_in(&m, &h, p, passfd);
		}
		free(p);
		fuzz_drain(sv[1]);
	}
	mon_child_free(&m);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
