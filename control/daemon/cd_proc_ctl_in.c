/*
 * The parent's receiver for the control child (cd_proc_ctl.h): pure,
 * so that the fuzzer runs it as cordond does.  Nothing the child says is
 * taken on trust: a cid must be known (or new, for ACCEPTED), its
 * messages in turn (ctl_seq_in), a request valid JSON within bounds.
 */
#include <errno.h>
#include <unistd.h>

#include "control/daemon/cd_proc_ctl.h"

static int
cd_ctl_find(const struct cd_ctl_peer *tab, unsigned n, uint32_t cid)
{
	for (unsigned i = 0; i < n; i++)
		if (tab[i].cid == cid)
			return (int)i;
	return -1;
}

static int
cd_ctl_req(const uint8_t *p, size_t len, struct cd_ctl_in *in)
{
	struct ctl_req r;
	char err[256];

	if (ctl_dec_req(p, len, &r) < 0)
		return -1;
	in->cid = r.cid;
	in->deadline_ms = r.deadline_ms;
	if ((in->req = ctl_json_load(r.json, r.len, err, sizeof(err))) == NULL)
		return -1;
	if (ctl_json_deadline(in->req) != r.deadline_ms) {
		json_decref(in->req);
		in->req = NULL;
		return -1;
	}
	return 0;
}

static int
cd_ctl_decode(const struct proc_hdr *h, const uint8_t *p, size_t len,
    struct cd_ctl_in *in)
{
	struct ctl_started s;
	struct ctl_cid c;

	switch (h->type) {
	case CTL_T_REQ:
		return cd_ctl_req(p, len, in);
	case CTL_T_STARTED:
		if (ctl_dec_started(p, len, &s) < 0)
			return -1;
		in->cid = s.cid;
		in->ok = s.ok == 1;
		return 0;
	case CTL_T_ACCEPTED:
	case CTL_T_DELIVERED:
	case CTL_T_GONE:
		if (ctl_dec_cid(p, len, &c) < 0)
			return -1;
		in->cid = c.cid;
		return 0;
	default:
		return -1;
	}
}

/* The entry of IN's cid, a free one for ACCEPTED: 0, or -1. */
static int
cd_ctl_place(struct cd_ctl_peer *tab, unsigned n, struct cd_ctl_in *in)
{
	int i = cd_ctl_find(tab, n, in->cid);
	int next;

	if (in->type == CTL_T_ACCEPTED) {
		if (i >= 0 || (i = cd_ctl_find(tab, n, 0)) < 0)
			return -1; /* a cid twice, or more clients than slots */
	} else if (i < 0) {
		return -1;
	}
	next = ctl_seq_in((enum ctl_state)tab[i].state, in->type);
	if (next < 0)
		return -1;
	in->slot = (unsigned)i;
	tab[i].cid = next == CTL_S_FREE ? 0 : in->cid;
	tab[i].state = (uint8_t)next;
	return 0;
}

int
cd_ctl_take(struct cd_ctl_peer *tab, unsigned n, const struct proc_hdr *h,
    const uint8_t *p, size_t len, int passfd, struct cd_ctl_in *in)
{
	*in = (struct cd_ctl_in){ .type = h->type, .fd = -1 };
	/* A descriptor comes with ACCEPTED, always, and never otherwise. */
	if ((h->type == CTL_T_ACCEPTED) != (passfd >= 0) ||
	    cd_ctl_decode(h, p, len, in) < 0 || cd_ctl_place(tab, n, in) < 0) {
		json_decref(in->req);
		in->req = NULL;
		if (passfd >= 0)
			close(passfd);
		errno = EBADMSG;
		return -1;
	}
	in->fd = passfd;
	return 0;
}

int
cd_ctl_sent(struct cd_ctl_peer *tab, unsigned slot, uint16_t type,
    uint32_t reply_flags)
{
	int next =
	    ctl_seq_out((enum ctl_state)tab[slot].state, type, reply_flags);

	if (next < 0)
		return -1;
	tab[slot].state = (uint8_t)next;
	if (type == CTL_T_REPLY)
		tab[slot].flags = reply_flags;
	return 0;
}
