/*
 * The SNMP messages (mon_snmp.h): pure decoders.  The records are
 * checked one by one and a snapshot's order as a whole before the child
 * answers a request from it: a binary search over records that are not
 * sorted would answer wrong, and a walk over them might never end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/mon/mon_snmp.h"

_Static_assert(sizeof(struct mon_snmp_var) == 160, "no padding");

const uint32_t mon_snmp_root[MON_SNMP_ROOT_LEN] = { 1, 3, 6, 1, 4, 1,
	MON_SNMP_ENTERPRISE };

static int
mon_snmp_bad(void)
{
	errno = EBADMSG;
	return -1;
}

int
mon_snmp_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;

	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

int
mon_snmp_var_ok(const struct mon_snmp_var *v)
{
	if (v->len <= MON_SNMP_ROOT_LEN || v->len > MON_SNMP_OID_MAX ||
	    memcmp(v->name, mon_snmp_root, sizeof(mon_snmp_root)) != 0)
		return mon_snmp_bad();
	if (v->slen > MON_SNMP_STR_MAX || v->zero != 0 ||
	    (v->type != MON_SNMP_OCTETS && v->slen != 0))
		return mon_snmp_bad();
	switch (v->type) {
	case MON_SNMP_INTEGER:
		return v->num <= INT32_MAX ? 0 : mon_snmp_bad();
	case MON_SNMP_UNSIGNED:
	case MON_SNMP_TIMETICKS:
		return v->num <= UINT32_MAX ? 0 : mon_snmp_bad();
	case MON_SNMP_OCTETS:
		return v->num == 0 ? 0 : mon_snmp_bad();
	case MON_SNMP_COUNTER64:
		return 0;
	default:
		return mon_snmp_bad();
	}
}

int
mon_dec_snmp_vars(const uint8_t *p, size_t len, size_t *n)
{
	struct mon_snmp_var v, prev;

	if (len % sizeof(v) != 0 || len / sizeof(v) > MON_SNMP_VARS_MAX)
		return mon_snmp_bad();
	for (size_t i = 0; i < len / sizeof(v); i++) {
		memcpy(&v, p + i * sizeof(v), sizeof(v));
		if (mon_snmp_var_ok(&v) < 0)
			return -1;
		if (i > 0 &&
		    mon_snmp_oid_cmp(prev.name, prev.len, v.name, v.len) >= 0)
			return mon_snmp_bad();
		prev = v;
	}
	*n = len / sizeof(v);
	return 0;
}

int
mon_dec_snmp_trap(const uint8_t *p, size_t len, struct mon_snmp_trap *t,
    const struct mon_snmp_var **vars)
{
	struct mon_snmp_var v;

	if (len < sizeof(*t))
		return mon_snmp_bad();
	memcpy(t, p, sizeof(*t));
	if (t->trap < 1 || t->trap > MON_SNMP_TRAP_MAX ||
	    t->n > MON_SNMP_TRAP_VARS ||
	    len != sizeof(*t) + (size_t)t->n * sizeof(v))
		return mon_snmp_bad();
	for (uint32_t i = 0; i < t->n; i++) {
		memcpy(&v, p + sizeof(*t) + i * sizeof(v), sizeof(v));
		if (mon_snmp_var_ok(&v) < 0)
			return -1;
	}
	*vars = (const struct mon_snmp_var *)(p + sizeof(*t));
	return 0;
}

int
mon_dec_snmp_conf(const uint8_t *p, size_t len, struct mon_snmp_conf *out)
{
	struct mon_snmp_conf c;
	const char *end;

	if (len != sizeof(c))
		return mon_snmp_bad();
	memcpy(&c, p, sizeof(c));
	if (c.ping_interval < 1 || c.ping_interval > 3600 || c.via_parent > 1)
		return mon_snmp_bad();
	end = memchr(c.socket, '\0', sizeof(c.socket));
	if (end == NULL || end == c.socket)
		return mon_snmp_bad();
	for (const char *s = c.socket; s < end; s++)
		if (*s <= 0x20 || *s > 0x7e)
			return mon_snmp_bad();
	/* a unix socket is root's: cordond connects it, never the child */
	if (!c.via_parent &&
	    (c.socket[0] == '/' || strncmp(c.socket, "unix:", 5) == 0))
		return mon_snmp_bad();
	*out = c;
	return 0;
}

int
mon_dec_agentx(const uint8_t *p, size_t len, int passfd, struct mon_agentx *out)
{
	struct mon_agentx a;

	if (len != sizeof(a))
		return mon_snmp_bad();
	memcpy(&a, p, sizeof(a));
	if ((a.err == 0) != (passfd >= 0))
		return mon_snmp_bad();
	*out = a;
	return 0;
}

int
mon_dec_snmp_get(uint32_t id, size_t len)
{
	return id != 0 && len == 0 ? 0 : mon_snmp_bad();
}

int
mon_snmp_read_memfd(int fd, struct mon_snmp_var **out, size_t *n)
{
	const int want = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	struct stat st;
	uint8_t *buf;
	int seals = fcntl(fd, F_GET_SEALS);
	size_t len, got = 0;

	if (seals < 0 || (seals & want) != want || fstat(fd, &st) < 0)
		return mon_snmp_bad();
	len = (size_t)st.st_size;
	if (st.st_size < 0 ||
	    len > (size_t)MON_SNMP_VARS_MAX * sizeof(struct mon_snmp_var) ||
	    len % sizeof(struct mon_snmp_var) != 0)
		return mon_snmp_bad();
	if ((buf = malloc(len ? len : 1)) == NULL)
		return -1;
	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, (off_t)got);

		if (r <= 0) {
			free(buf);
			return mon_snmp_bad();
		}
		got += (size_t)r;
	}
	if (mon_dec_snmp_vars(buf, len, n) < 0) {
		free(buf);
		return -1;
	}
	*out = (struct mon_snmp_var *)buf;
	return 0;
}
