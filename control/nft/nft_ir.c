/*
 * The intermediate rule list of the classify chain, read off struct
 * policy: each compiled matcher (a bitset over rules per value) becomes,
 * for rule i, the values whose set holds bit i.  The ports come from the
 * port classes: runs of ports sharing a class, kept where the class takes
 * rule i.  Nothing here looks at the config.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/nft/nft_ir.h"
#include "core/classify/cls.h"
#include "core/stats/reasons.h"

/* Runs of ports with one class, per L4: what a rule's ranges are cut of. */
struct nft_ir_runs {
	struct nft_ir_range *v; /* lo, hi; l4 holds the class */
	unsigned n;
};

static bool
nft_ir_has(const struct pol_set *s, unsigned bit)
{
	return (s->w[bit / 64] >> (bit % 64)) & 1;
}

static int
nft_ir_range_add(struct nft_ir_ports *p, uint8_t l4, unsigned lo, unsigned hi)
{
	struct nft_ir_range *last = p->n ? &p->v[p->n - 1] : NULL;
	struct nft_ir_range *v;

	if (last != NULL && last->l4 == l4 && last->hi + 1u == lo) {
		last->hi = (uint16_t)hi;
		return 0;
	}
	if (p->n == p->cap) {
		unsigned cap = p->cap ? 2 * p->cap : 16;

		if ((v = realloc(p->v, cap * sizeof(*v))) == NULL)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = (struct nft_ir_range){ l4, (uint16_t)lo, (uint16_t)hi };
	return 0;
}

/* The runs of TAB (port -> class).  0, or -1 ENOMEM. */
static int
nft_ir_runs_make(const uint8_t *tab, struct nft_ir_runs *r)
{
	unsigned lo = 0;

	r->n = 0;
	if ((r->v = malloc(65536 * sizeof(*r->v))) == NULL)
		return -1;
	for (unsigned port = 1; port <= 65536; port++)
		if (port == 65536 || tab[port] != tab[lo]) {
			r->v[r->n++] = (struct nft_ir_range){ tab[lo],
				(uint16_t)lo, (uint16_t)(port - 1) };
			lo = port;
		}
	return 0;
}

/* Ports of L4 whose class (RUNS of P) takes rule I, into OUT. */
static int
nft_ir_ports_of(const struct policy *p, const struct nft_ir_runs *runs,
    uint8_t l4, unsigned i, struct nft_ir_ports *out)
{
	for (unsigned k = 0; k < runs->n; k++)
		if (nft_ir_has(&p->class_rules[runs->v[k].l4], i) &&
		    nft_ir_range_add(out, l4, runs->v[k].lo, runs->v[k].hi) < 0)
			return -1;
	return 0;
}

static void
nft_ir_ccs(const struct pol_set *cc, unsigned i, struct conf_ccset *out,
    bool *any)
{
	*any = true;
	memset(out, 0, sizeof(*out));
	for (geo_cc_t k = 0; k < GEO_CC_MAX; k++) {
		if (nft_ir_has(&cc[k], i))
			conf_ccset_add(out, k);
		else
			*any = false;
	}
}

static uint8_t
nft_ir_bits(const struct pol_set *sets, unsigned n, unsigned i)
{
	uint8_t m = 0;

	for (unsigned k = 0; k < n; k++)
		if (nft_ir_has(&sets[k], i))
			m |= (uint8_t)(1u << k);
	return m;
}

/* The classes whose set in SETS holds rule I. */
static geo_cls_t
nft_ir_cls(const struct pol_set *sets, unsigned i)
{
	geo_cls_t c = 0;

	for (unsigned k = 0; k < GEO_CLS_MAX; k++)
		if (nft_ir_has(&sets[k], i))
			c |= (geo_cls_t)1 << k;
	return c;
}

/*
 * The kernel sees no tunnel's inside (NFT_IR_TUNNEL drops them), so
 * every packet reaching the rules is its own origin and only layer: a
 * rule's origin and via countries narrow its source countries.  Relay
 * classes (one interval set with the countries) cannot be narrowed by
 * country, nor intersected: an allow leaves them all out (it allows
 * less), a denial takes those of src, origin and via together (an
 * address in all three is in their countries or in one of those
 * classes: it denies more).  Stricter both ways.  Exact when origin or
 * via is the rule's only source list: its countries and classes are
 * then the source set.
 */
static void
nft_ir_relay(const struct policy *p, unsigned i, struct nft_ir_rule *r)
{
	struct conf_ccset o, v;
	bool oany, vany;

	nft_ir_ccs(p->origin_cc, i, &o, &oany);
	nft_ir_ccs(p->via_cc, i, &v, &vany);
	/* Every country in origin and via: they add nothing to src. */
	if (oany && vany)
		return;
	if (r->src_any && (oany || vany)) {
		r->src = oany ? v : o;
		r->src.cls = nft_ir_cls(oany ? p->via_cls : p->origin_cls, i);
		r->src_any = false;
		return;
	}
	for (unsigned k = 0; k < CONF_CC_WORDS; k++) {
		if (r->src_any)
			r->src.w[k] = ~0ULL;
		if (!oany)
			r->src.w[k] &= o.w[k];
		if (!vany)
			r->src.w[k] &= v.w[k];
	}
	if (r->action == CDN_ACT_ALLOW)
		r->src.cls = 0;
	else
		r->src.cls |= (oany ? 0 : nft_ir_cls(p->origin_cls, i)) |
		              (vany ? 0 : nft_ir_cls(p->via_cls, i));
	r->src_any = false;
}

/*
 * Any layer's destination (dst_via): every packet reaching the kernel's
 * rules is its own only layer (NFT_IR_TUNNEL drops tunnels), so its
 * destination must be in dst and in dst_via: the intersection, exact.
 */
static void
nft_ir_dst_via(const struct policy *p, unsigned i, struct nft_ir_rule *r)
{
	struct conf_ccset d;
	bool dany;

	nft_ir_ccs(p->dst_via_cc, i, &d, &dany);
	if (dany)
		return;
	for (unsigned k = 0; k < CONF_CC_WORDS; k++)
		r->dst.w[k] = r->dst_any ? d.w[k] : r->dst.w[k] & d.w[k];
	r->dst_any = false;
}

/*
 * A rule that never takes an untunnelled packet: what the kernel can
 * tell of tunnel classes is nothing, so such a rule is left out when it
 * allows (stricter) and, when it denies only opaque tunnels, kept for
 * every packet (stricter too).  Opened tunnels never reach it.
 */
static bool
nft_ir_tun_omit(const struct policy *p, unsigned i, uint8_t action)
{
	if (nft_ir_has(&p->tun[POL_TUN_NONE], i))
		return false;
	return action == CDN_ACT_ALLOW ||
	       !nft_ir_has(&p->tun[POL_TUN_OPAQUE], i);
}

/* Policy rule I; RUNS: destination then source port runs per L4. */
static int
nft_ir_rule(const struct policy *p, const struct nft_ir_runs runs[2][2],
    unsigned i, struct nft_ir_rule *r)
{
	const struct pol_rule *pr = &p->rule[i];

	r->kind = NFT_IR_RULE;
	r->rule = (uint16_t)i;
	r->name = pr->name;
	r->action = pr->action;
	r->log = pr->log;
	r->nexthop = pr->action == CDN_ACT_REROUTE ? pr->nexthop : -1;
	r->ident = !nft_ir_has(&p->noident, i);
	r->protos = nft_ir_bits(p->proto, POL_PROTO_MAX, i);
	r->dirs = nft_ir_bits(p->dir, POL_DIR_MAX, i);
	/* An identity block sees only the flows the gate judges (cls.c). */
	if (r->ident && !p->ident_out)
		r->dirs &= 1u << POL_DIR_IN;
	nft_ir_ccs(p->src_cc, i, &r->src, &r->src_any);
	/* Relay classes join the source set: one interval set holds both. */
	if (!r->src_any)
		r->src.cls = nft_ir_cls(p->src_cls, i);
	nft_ir_ccs(p->dst_cc, i, &r->dst, &r->dst_any);
	nft_ir_dst_via(p, i, r);
	nft_ir_relay(p, i, r);
	r->ports_any = nft_ir_has(&p->portless, i);
	r->omit = (r->ident && r->action == CDN_ACT_ALLOW) || r->dirs == 0 ||
	          r->protos == 0 || nft_ir_tun_omit(p, i, r->action);
	if (r->ports_any)
		return 0;
	for (uint8_t l = 0; l < 2; l++) {
		if (!((r->protos >> l) & 1))
			continue;
		if (nft_ir_ports_of(p, &runs[0][l], l, i, &r->dport) < 0 ||
		    (p->has_sports &&
		        nft_ir_ports_of(p, &runs[1][l], l, i, &r->sport) < 0))
			return -1;
	}
	return 0;
}

/* The ports of the identity services: a flow to one needs a session. */
static int
nft_ir_gate(const struct policy *p, struct nft_ir_rule *r)
{
	*r = (struct nft_ir_rule){ .kind = NFT_IR_GATE,
		.protos = 1u << POL_PROTO_TCP | 1u << POL_PROTO_UDP,
		.dirs = p->ident_out ? NFT_IR_DIRS_ANY : 1u << POL_DIR_IN,
		.src_any = true,
		.dst_any = true,
		.action = p->unident_action,
		.log = p->unident_log,
		.nexthop = p->unident_action == CDN_ACT_REROUTE
		               ? p->unident_nexthop
		               : -1 };
	for (uint8_t l = 0; l < 2; l++)
		for (unsigned port = 0; port < 65536; port++) {
			uint8_t s = p->port_service[l][port];

			if (s != POL_SVC_NONE && ((p->ident_svc >> s) & 1) &&
			    nft_ir_range_add(&r->dport, l, port, port) < 0)
				return -1;
		}
	return 0;
}

static void
nft_ir_fixed(struct nft_ir_rule *r, uint8_t kind, uint8_t action, uint8_t log)
{
	*r = (struct nft_ir_rule){ .kind = kind,
		.protos = NFT_IR_PROTOS_ANY,
		.dirs = NFT_IR_DIRS_ANY,
		.src_any = true,
		.dst_any = true,
		.ports_any = true,
		.action = action,
		.log = log,
		.nexthop = -1 };
}

/*
 * Could the policy deny some packet?  Then a tunnel, whose inside could
 * be that packet, is denied too: the strictest rule that could apply.
 */
static bool
nft_ir_may_deny(const struct policy *p)
{
	if (p->default_action != CDN_ACT_ALLOW || p->ident_svc != 0)
		return true;
	for (unsigned i = 0; i < p->nrules; i++)
		if (p->rule[i].action != CDN_ACT_ALLOW)
			return true;
	return false;
}

/* Tunnels cordon-dp opens and the kernel cannot: dropped, first. */
static void
nft_ir_tunnel(const struct policy *p, struct nft_ir_rule *r)
{
	nft_ir_fixed(r, NFT_IR_TUNNEL, CDN_ACT_DROP, 0);
	r->vxlan = p->tuncfg.vxlan;
	r->geneve = p->tuncfg.geneve;
	r->teredo = p->tuncfg.teredo;
}

/*
 * Proxied services (docs/proxies.md): the client a relay reports is in
 * the first bytes of the stream, which no kernel rule reads.  While the
 * policy can deny anything, TCP to their ports is dropped, whoever
 * sends it: stricter than any verdict on the client it would report.
 */
static int
nft_ir_proxy(const struct policy *p, struct nft_ir_rule *r)
{
	nft_ir_fixed(r, NFT_IR_PROXY, CDN_ACT_DROP, 0);
	r->ports_any = false;
	r->protos = 1u << POL_PROTO_TCP;
	for (unsigned port = 0; port < 65536; port++)
		if (p->prx_port[port] != PRX_MODE_NONE &&
		    nft_ir_range_add(&r->dport, POL_PROTO_TCP, port, port) < 0)
			return -1;
	return 0;
}

static int
nft_ir_rules(const struct policy *p, struct nft_ir *ir)
{
	struct nft_ir_runs runs[2][2] = { { { 0 } } };
	int rc = -1;

	for (unsigned l = 0; l < 2; l++)
		if (nft_ir_runs_make(p->port_class[l], &runs[0][l]) < 0 ||
		    nft_ir_runs_make(p->sport_class[l], &runs[1][l]) < 0)
			goto out;
	for (unsigned i = 0; i < p->nrules; i++)
		if (nft_ir_rule(p, runs, i, &ir->r[ir->n++]) < 0)
			goto out;
	rc = 0;
out:
	for (unsigned l = 0; l < 2; l++) {
		free(runs[0][l].v);
		free(runs[1][l].v);
	}
	return rc;
}

int
nft_ir_build(const struct policy *p, struct nft_ir *ir)
{
	memset(ir, 0, sizeof(*ir));
	if (p->srcroute_action != CDN_ACT_ALLOW)
		nft_ir_fixed(&ir->r[ir->n++], NFT_IR_SRCROUTE,
		    p->srcroute_action, 0);
	if (nft_ir_may_deny(p))
		nft_ir_tunnel(p, &ir->r[ir->n++]);
	if (p->prx_any && nft_ir_may_deny(p) &&
	    nft_ir_proxy(p, &ir->r[ir->n++]) < 0)
		goto fail;
	if (p->ident_svc != 0 && nft_ir_gate(p, &ir->r[ir->n++]) < 0)
		goto fail;
	if (nft_ir_rules(p, ir) < 0)
		goto fail;
	nft_ir_fixed(&ir->r[ir->n++], NFT_IR_DEFAULT, p->default_action,
	    p->default_log);
	return 0;
fail:
	nft_ir_free(ir);
	errno = ENOMEM;
	return -1;
}

void
nft_ir_free(struct nft_ir *ir)
{
	for (unsigned i = 0; i < ir->n; i++) {
		free(ir->r[i].dport.v);
		free(ir->r[i].sport.v);
	}
	ir->n = 0;
}

unsigned
nft_ir_protos(uint8_t protos, int af, uint8_t num[256], bool *inv)
{
	unsigned n = 0;

	*inv = (protos >> POL_PROTO_OTHER) & 1;
	for (unsigned c = 0; c < POL_PROTO_MAX; c++) {
		if ((((protos >> c) & 1) != 0) == *inv)
			continue;
		for (unsigned k = 0; k < 256; k++)
			if (cls_proto_class((uint8_t)k, (uint8_t)af) == c)
				num[n++] = (uint8_t)k;
	}
	return n;
}
