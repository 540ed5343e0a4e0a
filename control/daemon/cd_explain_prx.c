/*
 * explain ... reported ADDR,...: a packet of a proxied service whose
 * trusted relay reported those hops (a PROXY header's client, or the
 * Forwarded / X-Forwarded-For list, leftmost first).  The meta is the
 * one the fast path judges such a flow's packets as (core/prx), so
 * explain and cordon-dp cannot disagree (docs/proxies.md).
 */
#include <string.h>

#include "control/daemon/cordond.h"
#include "core/prx/prx_judge.h"

/* The "reported" array of ARGS into O: 0, 1 when absent, or -1. */
static int
cd_reported_parse(const json_t *args, struct prx_out *o, struct cd_err *e)
{
	const json_t *r = json_object_get(args, "reported");
	struct prx_addr a;
	const char *s;
	size_t n = json_array_size(r);

	memset(o, 0, sizeof(*o));
	if (r == NULL)
		return 1;
	if (!json_is_array(r) || n == 0 || n > PRX_HOPS_MAX)
		return cd_fail(e, "bad-request",
		    "\"reported\": 1 to %d addresses", PRX_HOPS_MAX);
	for (size_t i = 0; i < n; i++) {
		if ((s = json_string_value(json_array_get(r, i))) == NULL)
			return cd_fail(e, "bad-request",
			    "\"reported\": addresses");
		/* Anything but an address is the unknown hop, as on the
		 * wire (`unknown`, `_obfuscated`). */
		prx_addr_parse(s, (uint32_t)strlen(s), &a);
		o->hop[o->n++] = a;
	}
	return 0;
}

static bool
cd_src_trusted(const struct policy *pol, const struct pkt_meta *m)
{
	struct prx_addr a;

	memset(&a, 0, sizeof(a));
	a.af = m->af;
	if (m->af == 4)
		for (unsigned b = 0; b < 4; b++)
			a.a[b] = (uint8_t)(m->src4 >> (24 - 8 * b));
	else
		memcpy(a.a, m->src6, 16);
	return prx_trusted(&pol->prx_trust, &a);
}

int
cd_explain_reported(const struct policy *pol, const json_t *args,
    struct pkt_meta *m, const char **why, struct cd_err *e)
{
	struct prx_flow f;
	struct prx_out o;
	struct pkt_meta in = *m;
	int rc = cd_reported_parse(args, &o, e);

	*why = NULL;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (m->nlayer != 0 || m->l4proto != 6 ||
	    pol->prx_port[m->dport] == PRX_MODE_NONE) {
		*why = "not a proxied service's TCP packet: what a relay "
		       "reports is not read";
		return 0;
	}
	if (!cd_src_trusted(pol, m)) {
		*why = "the sender is not a trusted relay: its header is not "
		       "believed, it is judged by its own address";
		return 0;
	}
	memset(&f, 0, sizeof(f));
	prx_layers_make(&o, prx_origin(&pol->prx_trust, &o), &f);
	prx_meta_make(&in, &f, m);
	*why = "judged by the client its trusted relay reported (the "
	       "rightmost hop not trusted), every hop left of it as via";
	return 0;
}

void
cd_explain_uninspected(const struct policy *pol, const struct pkt_meta *m,
    struct cls_verdict *v, const char **why)
{
	if (!prx_not_inspected(pol, m))
		return;
	v->action = CDN_ACT_DROP;
	v->reason = CDN_R_PRX_NOT_INSPECTED;
	v->rule = POL_RULE_DEFAULT;
	*why = "a trusted relay's flow inside a tunnel or fragmented cannot "
	       "be followed: refused, whatever the rules say";
}
