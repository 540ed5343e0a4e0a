/*
 * libFuzzer harness for the SNMP decoders of the monitoring child
 * (control/mon/mon_snmp_msg.c): a snapshot (as a payload and through a
 * memfd, sealed or not), a notification, the configuration and the
 * AgentX answer.  The first byte picks the decoder (and, for the memfd,
 * which seals); the rest is the payload, in a buffer of exactly its
 * size so that ASan flags any read past it.  Whatever a decoder takes
 * must hold what the child relies on: every record valid, a snapshot
 * sorted strictly increasing.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/mon/mon_snmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_sorted(const struct mon_snmp_var *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (mon_snmp_var_ok(&v[i]) < 0)
			abort();
		if (i > 0 && mon_snmp_oid_cmp(v[i - 1].name, v[i - 1].len,
		                 v[i].name, v[i].len) >= 0)
			abort();
	}
}

static void
fuzz_memfd(uint8_t seals, const uint8_t *p, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct mon_snmp_var *v;
	size_t n;

	if (fd < 0)
		abort();
	if (len && write(fd, p, len) != (ssize_t)len)
		abort();
	(void)fcntl(fd, F_ADD_SEALS, (int)(seals & 0x0f));
	if (mon_snmp_read_memfd(fd, &v, &n) == 0) {
		int s = fcntl(fd, F_GET_SEALS);
		const int want = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;

		if ((s & want) != want)
			abort();
		fuzz_sorted(v, n);
		free(v);
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct mon_snmp_var *tv;
	struct mon_snmp_trap t;
	struct mon_snmp_conf c;
	struct mon_agentx a;
	uint8_t *p;
	size_t n;

	if (size < 1)
		return 0;
	if ((p = malloc(size - 1 ? size - 1 : 1)) == NULL)
		abort();
	memcpy(p, data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		if (mon_dec_snmp_vars(p, size - 1, &n) == 0) {
			struct mon_snmp_var *v = malloc(n ? size - 1 : 1);

			if (v == NULL)
				abort();
			memcpy(v, p, size - 1);
			fuzz_sorted(v, n);
			free(v);
		}
		break;
	case 1:
		if (mon_dec_snmp_trap(p, size - 1, &t, &tv) == 0) {
			struct mon_snmp_var v;

			for (uint32_t i = 0; i < t.n; i++) {
				memcpy(&v, (const uint8_t *)tv + i * sizeof(v),
				    sizeof(v));
				if (mon_snmp_var_ok(&v) < 0)
					abort();
			}
		}
		break;
	case 2:
		if (mon_dec_snmp_conf(p, size - 1, &c) == 0 &&
		    memchr(c.socket, '\0', sizeof(c.socket)) == NULL)
			abort();
		break;
	case 3:
		(void)mon_dec_agentx(p, size - 1, data[0] & 0x80 ? 7 : -1, &a);
		break;
	default:
		fuzz_memfd(data[0] >> 3, p, size - 1);
		break;
	}
	free(p);
	return 0;
}
