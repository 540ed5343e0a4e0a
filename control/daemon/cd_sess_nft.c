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
