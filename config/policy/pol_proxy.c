/*
 * Proxied services into the compiled policy (docs/proxies.md).  The
 * loader refused two services that share a port but not their proxy,
 * so each TCP port has one mode.
 */
#include <string.h>

#include "config/policy/pol_compile.h"

static void
pol_trust_compile(const struct conf_proxies *c, struct prx_trust *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < c->ntrusted && i < PRX_TRUST_MAX; i++) {
		t->p[i].af = c->trusted[i].af;
		t->p[i].len = c->trusted[i].plen;
		memcpy(t->p[i].a, c->trusted[i].addr, 16);
	}
	t->n = (uint16_t)(c->ntrusted < PRX_TRUST_MAX ? c->ntrusted
	                                              : PRX_TRUST_MAX);
}

void
pol_proxy_compile(const struct conf *c, struct policy *p)
{
	const struct conf_proxies *x = &c->proxies;

	/* A conf built by hand, not loaded: nothing is inspected. */
	p->prx_window = (uint16_t)(x->window ? x->window : PRX_WINDOW_DEF);
	p->prx_incomplete = (uint8_t)x->incomplete;
	p->prx_full = (uint8_t)x->full;
	pol_trust_compile(x, &p->prx_trust);
	for (unsigned i = 0; i < c->nservices; i++) {
		const struct conf_service *s = &c->services[i];

		if (s->proxy == PRX_MODE_NONE)
			continue;
		for (unsigned r = 0; r < s->nranges; r++)
			for (unsigned port = s->range[r].lo;
			     port <= s->range[r].hi; port++)
				p->prx_port[port] = s->proxy;
		p->prx_any = 1;
	}
}
