/*
 * Judging the packets of proxied services (docs/proxies.md): the flow
 * table's state machine around the one classifier.  A decided flow's
 * packets are classified each with the client its relay reported (as
 * source, origin and via), so identity sessions are still looked up per
 * packet and a revocation applies to the next one.
 */
#ifndef CORDON_PRX_JUDGE_H
#define CORDON_PRX_JUDGE_H

#include <stdint.h>

#include "core/classify/cls.h"
#include "core/prx/prx_flow.h"
#include "core/stats/stats.h"

/* prx_judge's answer. */
enum {
	PRX_J_NONE = 0,   /* not a proxied service's: classify as usual */
	PRX_J_DONE = 1,   /* V is the verdict */
	PRX_J_RESET = 2,  /* with DONE: reset the flow both ways */
	PRX_J_UNTRUST = 4 /* with DONE: a PROXY header nobody trusts: log */
};

/* Might M belong to a proxied service?  Cheap: the fast path's filter. */
static inline int
prx_wants(const struct policy *p, const struct pkt_meta *m)
{
	return __builtin_expect(p->prx_any, 0) && m->l4proto == 6 &&
	       m->has_l4 && (p->prx_port[m->dport] || p->prx_port[m->sport]);
}

/*
 * Is M a trusted relay's packet to a proxied port that cannot be
 * followed, tunnelled (its innermost source the relay) or fragmented?
 * prx_judge refuses it (proxy-not-inspected); explain says so too.
 */
int prx_not_inspected(const struct policy *p, const struct pkt_meta *m);

/*
 * Judges M (parsed from FRAME, LEN bytes) arriving in direction DIR at
 * time NOW (T's clock) when it belongs to a proxied service, through T:
 * PRX_J_NONE, or PRX_J_DONE with the verdict in V and the flags above.
 * Counts into S->prx.
 */
int prx_judge(const struct cls_env *e, struct prx_flow_table *t,
    const uint8_t *frame, uint32_t len, const struct pkt_meta *m, unsigned dir,
    uint64_t now, struct cls_verdict *v, struct stats *s);

/*
 * For logs: M (a relay's packet of a proxied flow) into OUT with the
 * hops its relay reported as layers, so the record's origin is the
 * client; its source stays the relay.  0, or -1 (no flow decided, or
 * denied, by a reported client).
 */
int prx_log_meta(struct prx_flow_table *t, const struct pkt_meta *m,
    uint64_t now, struct pkt_meta *out);

/*
 * The meta a decided flow F's packet M is judged as: the reported
 * client as source (IPv4 and IPv6 mixed: both as IPv6, the IPv4 one
 * mapped, which geolocates as itself), F's hops as layers.
 */
void prx_meta_make(const struct pkt_meta *m, const struct prx_flow *f,
    struct pkt_meta *out);

/*
 * F's layers from O's hops (origin index ORIGIN): the origin, the hops
 * left of it (each can deny; those past the layers' room become one
 * unknown), the origin again last.  No hop: one unknown.
 */
void prx_layers_make(const struct prx_out *o, int origin, struct prx_flow *f);

#endif
