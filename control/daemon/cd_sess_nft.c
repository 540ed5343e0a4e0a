/*
 * Sessions where the kernel enforces: backend nftables, and host
 * protection with backend dpdk.  The kernel's sessions set is keyed by
 * (source, destination port) with a timeout per element, so a grant
 * becomes one element per port of its services, living as long as the
 * grant.  Rule identity blocks cannot be judged there
 * (docs/nftables.md): a session only opens the identity gate.
 */
#include <errno.h>
#include <string.h>

#include "control/daemon/cd_backend.h"
#include "control/daemon/cordond.h"
#include "control/nft/nft.h"

#define CD_NFT_PORTS_MAX 256 /* elements per service, at most */

/*
 * Grants (ADD) or withdraws access for SRC (4 or 16 bytes by AF) to
 * destination PORT for TIMEOUT_S seconds, as an element of the sessions
 * set (control/nft/nft.h) of the backend's sess_set (backend nftables'
 * table, or with backend dpdk host protection's).  0 (also when there
 * is none), or -1 with errno, logged.
 */
static int
cd_nft_session(struct cd *d, bool add, int af, const uint8_t *src,
    uint16_t port, unsigned timeout_s)
{
	struct nft_ctx *x = d->be->sess_set(d);
	int rc;

	if (x == NULL)
		return 0;
	rc = add ? nft_session_add(x, af, src, port, timeout_s)
	         : nft_session_del(x, af, src, port);
	if (rc < 0)
		cd_log("nftables: session %s: %s", add ? "add" : "delete",
		    strerror(errno));
	return rc;
}

/* Does a service of SVCS (indexes of C) name destination PORT? */
static bool
cd_svcs_port(const struct conf *c, uint64_t svcs, unsigned port)
{
	for (unsigned s = 0; s < c->nservices && s < 64; s++) {
		const struct conf_service *v = &c->services[s];

		if (!((svcs >> s) & 1))
			continue;
		for (unsigned r = 0; r < v->nranges; r++)
			if (port >= v->range[r].lo && port <= v->range[r].hi)
				return true;
	}
	return false;
}

unsigned
cd_grant_ports_gone(const struct conf *old, uint64_t svcs,
    const struct conf *nc, uint64_t svcs_next, uint16_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned s = 0; s < old->nservices && s < 64; s++) {
		const struct conf_service *v = &old->services[s];
		unsigned k = 0;

		if (!((svcs >> s) & 1))
			continue;
		for (unsigned r = 0; r < v->nranges; r++)
			for (unsigned p = v->range[r].lo;
			     p <= v->range[r].hi && k < CD_NFT_PORTS_MAX &&
			     n < max;
			     p++, k++)
				if (!cd_svcs_port(nc, svcs_next, p))
					out[n++] = (uint16_t)p;
	}
	return n;
}

void
cd_grant_nft_gone(struct cd *d, const struct conf *nc)
{
	static uint16_t port[64 * CD_NFT_PORTS_MAX];
	struct cd_sessions *s = d->sess;

	if (s == NULL || !s->next_on || d->be->sess_set(d) == NULL)
		return;
	for (unsigned i = 0; i < s->cap; i++) {
		const struct cd_grant *g = s->g[i];
		unsigned n;

		if (g == NULL)
			continue;
		n = cd_grant_ports_gone(d->run.conf, g->svcs, nc, g->svcs_next,
		    port, sizeof(port) / sizeof(port[0]));
		for (unsigned k = 0; k < n; k++)
			cd_nft_session(d, false, g->af, g->addr, port[k], 0);
	}
}

void
cd_grant_nft(struct cd *d, const struct cd_grant *g, bool add)
{
	const struct conf *c = d->run.conf;
	int64_t left = g->ends - clk_boot_s();

	if (add && left <= 0)
		return;
	for (unsigned s = 0; s < c->nservices && s < 64; s++) {
		const struct conf_service *v = &c->services[s];
		unsigned n = 0;

		if (!((g->svcs >> s) & 1))
			continue;
		for (unsigned r = 0; r < v->nranges; r++)
			for (unsigned p = v->range[r].lo;
			     p <= v->range[r].hi && n < CD_NFT_PORTS_MAX;
			     p++, n++)
				cd_nft_session(d, add, g->af, g->addr,
				    (uint16_t)p, add ? (unsigned)left : 0);
	}
}
