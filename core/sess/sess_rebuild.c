/*
 * Rebuild: a fresh table (new seed, no tombstones) with the live,
 * unexpired entries of the old one.  The caller hands the new memfd to
 * the readers and retires the old table once they have switched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/sess/sess_int.h"

/* The key of a live slot, as the writer stored it. */
static void
slot_key(const struct sess_slot *s, struct sess_key *k)
{
	memset(k, 0, sizeof(*k));
	k->af = (uint8_t)(s->meta >> 8);
	k->svc = (uint8_t)(s->meta >> 16);
	memcpy(k->addr, s->addr, 16);
}

static int
sess_copy(struct sess_table *nt, const struct sess_table *old, int64_t now)
{
	struct sess_key k;
	int rc;

	memcpy(nt->ident, old->ident,
	    (size_t)old->nident * old->words * sizeof(uint64_t));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint32_t i = 0; i < old->nslots; i++) {
		const struct sess_slot *s = &old->slots[i];

		if ((s->meta & 0xff) != SESS_LIVE || s->expires <= now)
			continue;
		slot_key(s, &k);
		rc = sess_put(nt, &k, s->expires, s->sid, s->ident);
		if (rc < 0)
			return rc;
	}
	nt->hdr->refused_full = sess_ctr(&old->hdr->refused_full);
	return 0;
}

int
sess_rebuild(const struct sess_table *old, int64_t now, struct sess_table **ntp,
    int *memfd, char *err, size_t errlen)
{
	struct sess_table *nt;
	int fd, rc;

	rc = sess_create(old->capacity, old->nident, old->words, &nt, &fd, err,
	    errlen);
	if (rc < 0)
		return rc;
	rc = sess_copy(nt, old, now);
	if (rc < 0) {
		snprintf(err, errlen, "session table: rebuild: %s",
		    strerror(-rc));
		sess_detach(nt);
		close(fd);
		return rc;
	}
	*ntp = nt;
	*memfd = fd;
	return 0;
}
