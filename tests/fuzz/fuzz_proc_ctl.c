/*
 * libFuzzer harness for cordond's receiver of the control child
 * (control/daemon/cd_proc_ctl_in.c): a run of messages, as a child
 * under an attacker's control might send them, with the parent's own
 * sends in between.  Whatever comes, the table of clients stays sound
 * (no cid twice, free entries free, states in range), a request taken
 * is JSON within the bounds, and no descriptor or JSON value leaks.
 *
 * Input: records of [type 1][flags 1][len 2, little-endian][payload]:
 * flags bit 0 passes a descriptor along, bit 1 lets the parent send a
 * message for the client afterwards (bits 2-3: START, REPLY, MON, the
 * REPLY's flags from bits 4-5).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/daemon/cd_proc_ctl.h"

#define FUZZ_PEERS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_ctl_sound(const struct cd_ctl_peer *tab)
{
	for (unsigned i = 0; i < FUZZ_PEERS; i++) {
		if (tab[i].state > CTL_S_MON)
			abort();
		if ((tab[i].cid == 0) != (tab[i].state == CTL_S_FREE))
			abort();
		for (unsigned k = i + 1; k < FUZZ_PEERS; k++)
			if (tab[i].cid != 0 && tab[i].cid == tab[k].cid)
				abort();
	}
}

static void
fuzz_ctl_send(struct cd_ctl_peer *tab, unsigned slot, uint8_t flags)
{
	static const uint16_t types[] = { CTL_T_START, CTL_T_REPLY, CTL_T_MON,
		CTL_T_LISTEN };
	uint8_t before = tab[slot].state;

	if (cd_ctl_sent(tab, slot, types[(flags >> 2) & 3], (flags >> 4) & 3) <
	        0 &&
	    tab[slot].state != before)
		abort(); /* refused, yet changed */
}

static void
fuzz_ctl_one(struct cd_ctl_peer *tab, uint8_t type, uint8_t flags,
    const uint8_t *p, size_t len)
{
	struct proc_hdr h = { .version = PROC_MSG_VERSION,
		.type = (uint16_t)(PROC_T_BASE + type % 12),
		.len = (uint32_t)len };
	int fd = (flags & 1) ? open("/dev/null", O_RDONLY) : -1;
	uint8_t *copy = malloc(len ? len : 1);
	struct cd_ctl_in in;

	memcpy(copy, p, len); /* exactly its size: ASan sees overreads */
	if (cd_ctl_take(tab, FUZZ_PEERS, &h, copy, len, fd, &in) == 0) {
		if (in.slot >= FUZZ_PEERS)
			abort();
		if (h.type == CTL_T_REQ &&
		    (in.req == NULL || ctl_json_depth(in.req, CTL_JSON_DEPTH) >
		                           CTL_JSON_DEPTH))
			abort();
		if (in.fd >= 0)
			close(in.fd);
		json_decref(in.req);
		if (flags & 2)
			fuzz_ctl_send(tab, in.slot, flags);
	} else if (fd >= 0 && fcntl(fd, F_GETFD) != -1) {
		abort(); /* a refused descriptor must be closed */
	}
	free(copy);
	fuzz_ctl_sound(tab);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cd_ctl_peer tab[FUZZ_PEERS];

	memset(tab, 0, sizeof(tab));
	while (size >= 4) {
		size_t len = (size_t)data[2] | (size_t)data[3] << 8;

		if (len > size - 4)
			len = size - 4;
		fuzz_ctl_one(tab, data[0], data[1], data + 4, len);
		data += 4 + len;
		size -= 4 + len;
	}
	return 0;
}
