/*
 * Who may take a client slot.  The read-only socket is open to every
 * local user and the control socket to a group: neither may lock root,
 * or the admins, out (docs/control.md section 3, "Limits").
 *
 *   - a non-root uid holds at most CTL_PER_UID connections, both
 *     sockets together;
 *   - CTL_ROOT_RESERVED slots are root's alone, and of the others
 *     CTL_RW_RESERVED are the control socket's alone;
 *   - when the pool a newcomer draws from is full, the oldest idle
 *     connection of the uid holding the most there is closed for it, if
 *     that uid would still hold at least as many as the newcomer.
 *
 * Idle: no reply queued and no request with the parent.  A client
 * waiting for its answer is never the one closed, so no one loses the
 * answer to a change that was made.
 */
#include <errno.h>

#include "control/ctl/ctl_proc.h"

/* The connections a newcomer competes with: never root's. */
static bool
ctl_slot_rival(const struct ctl_client *c, bool ro_only)
{
	return c != NULL && c->uid != 0 && (!ro_only || c->ro);
}

static unsigned
ctl_slot_count(struct ctl_client *const *cl, uid_t uid, bool ro_only)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++)
		n += ctl_slot_rival(cl[i], ro_only) && cl[i]->uid == uid;
	return n;
}

/* The uid with the most rival connections, and how many. */
static unsigned
ctl_slot_top(struct ctl_client *const *cl, bool ro_only, uid_t *top)
{
	unsigned best = 0;

	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		unsigned n;

		if (!ctl_slot_rival(cl[i], ro_only))
			continue;
		if ((n = ctl_slot_count(cl, cl[i]->uid, ro_only)) > best) {
			best = n;
			*top = cl[i]->uid;
		}
	}
	return best;
}

/* The oldest idle connection of UID among the rivals, or -1. */
static int
ctl_slot_victim(struct ctl_client *const *cl, bool ro_only, uid_t uid)
{
	int v = -1;

	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		const struct ctl_client *c = cl[i];

		if (!ctl_slot_rival(c, ro_only) || c->uid != uid ||
		    c->outlen > 0 || c->closing || c->waiting)
			continue;
		if (v < 0 || c->since_ms < cl[v]->since_ms)
			v = (int)i;
	}
	return v;
}

static int
ctl_slot_evict(struct ctl_client *const *cl, bool ro_only, uid_t uid,
    unsigned mine, bool *evict)
{
	uid_t top = 0;
	unsigned most = ctl_slot_top(cl, ro_only, &top);
	int v;

	/* Root always gets in; others only from a uid holding more. */
	if (most == 0 || top == uid || (uid != 0 && most < mine + 2) ||
	    (v = ctl_slot_victim(cl, ro_only, top)) < 0) {
		errno = EUSERS;
		return -1;
	}
	*evict = true;
	return v;
}

int
ctl_slot(struct ctl_client *const *cl, bool ro, uid_t uid, bool *evict)
{
	unsigned all = 0, nonroot = 0, ro_nonroot = 0, mine = 0;
	int free_slot = -1;
	bool ro_full;

	*evict = false;
	for (unsigned i = 0; i < CTL_CLIENT_MAX; i++) {
		if (cl[i] == NULL) {
			free_slot = free_slot < 0 ? (int)i : free_slot;
			continue;
		}
		all++;
		nonroot += cl[i]->uid != 0;
		ro_nonroot += cl[i]->uid != 0 && cl[i]->ro;
		mine += cl[i]->uid == uid;
	}
	if (uid != 0 && mine >= CTL_PER_UID) {
		errno = EUSERS;
		return -1;
	}
	ro_full = uid != 0 && ro &&
	          ro_nonroot >=
	              CTL_CLIENT_MAX - CTL_ROOT_RESERVED - CTL_RW_RESERVED;
	if (free_slot >= 0 && !ro_full &&
	    (uid == 0 || nonroot < CTL_CLIENT_MAX - CTL_ROOT_RESERVED))
		return free_slot;
	return ctl_slot_evict(cl, uid != 0 && ro, uid, mine, evict);
}
