/*
 * Classifier: parsed packet + geo tables + compiled policy -> verdict.
 * The one place a verdict is decided; the live path (dataplane/dp) and
 * offline replay (core/replay) both call it.
 */
#ifndef CORDON_CLS_H
#define CORDON_CLS_H

#include <netinet/in.h>
#include <stdint.h>
#include <netinet/in.h>

#include "core/geo/geo.h"
#include "core/pkt/pkt_parse.h"
#include "core/policy/policy.h"
#include "core/sess/sess.h"

struct cls_verdict {
	uint8_t action; /* enum cdn_action */
	uint8_t reason; /* enum cdn_reason; NONE when allowed */
	uint8_t log;
	uint8_t service; /* index into policy service_name, or NONE */
	uint16_t rule;   /* matching rule, or POL_RULE_DEFAULT */
	geo_cc_t src_cc;
	geo_cc_t dst_cc;
	uint8_t nexthop;      /* reroute: index into policy nexthop[] */
	uint8_t evidence;     /* the rule keeps its flows' first packets */
	geo_cls_t src_cls;    /* the source's relay classes */
	geo_cc_t origin_cc;   /* the innermost source's; SRC_CC untunnelled */
	geo_cls_t origin_cls; /* its relay classes; SRC_CLS untunnelled */
};

/*
 * What a verdict is decided against.  SESS may be NULL (offline replay,
 * no sessions): flows that need one then get the unidentified action.
 * NOW is CLOCK_BOOTTIME seconds, the clock of session expiry.
 */
struct cls_env {
	const struct policy *pol;
	const struct geo_tables *geo;
	const struct sess_table *sess;
	int64_t now;
};

/*
 * The protocol class (enum pol_proto) of L4PROTO under address family AF
 * (4 or 6): the index into policy proto[] and port_class[].  ICMP is
 * protocol 1 only under IPv4, 58 only under IPv6; anywhere else they are
 * "other", as the parser sees them (no ICMP header read).  Explain and
 * the nftables compiler ask this, never a copy of it.
 */
static inline unsigned
cls_proto_class(uint8_t l4proto, uint8_t af)
{
	switch (l4proto) {
	case IPPROTO_TCP:
		return POL_PROTO_TCP;
	case IPPROTO_UDP:
		return POL_PROTO_UDP;
	case IPPROTO_ICMP:
		return af == 4 ? POL_PROTO_ICMP : POL_PROTO_OTHER;
	case IPPROTO_ICMPV6:
		return af == 6 ? POL_PROTO_ICMP : POL_PROTO_OTHER;
	default:
		return POL_PROTO_OTHER;
	}
}

/*
 * The compiled sets a whole packet is judged against: a rule matches
 * when all of them hold its bit.  Explain names the first one lacking it
 * (cls_rule_miss).  VIA is the OR of every layer's via set, DST_VIA
 * of every layer's destination's dst_via set.
 */
enum cls_set {
	CLS_SET_SRC,
	CLS_SET_DST,
	CLS_SET_DIR,
	CLS_SET_PROTO,
	CLS_SET_PORT,
	CLS_SET_ORIGIN,
	CLS_SET_VIA,
	CLS_SET_TUN,
	CLS_SET_IDENT,
	CLS_SET_DST_VIA,
	CLS_SET_MAX
};

struct cls_sets {
	const struct pol_set *s[CLS_SET_MAX];
};

/* The first set of S lacking rule I, or CLS_SET_MAX: rule I matches. */
static inline unsigned
cls_rule_miss(const struct cls_sets *s, unsigned i)
{
	for (unsigned k = 0; k < CLS_SET_MAX; k++)
		if (!((s->s[k]->w[i / 64] >> (i % 64)) & 1))
			return k;
	return CLS_SET_MAX;
}

/*
 * Classifies N packets that parsed cleanly.  DIR[i] is enum pol_dir.
 * Geo lookups are done for the whole burst first (prefetched), then the
 * rules.  No allocation, no locks.
 */
void cls_classify_burst(const struct cls_env *e,
    const struct pkt_meta *const *m, const uint8_t *dir, unsigned n,
    struct cls_verdict *v);

/* One packet: the same code, for replay and explain. */
void cls_classify(const struct cls_env *e, const struct pkt_meta *m,
    unsigned dir, struct cls_verdict *v);

/*
 * A packet by its header fields alone, as explain is asked about one:
 * a whole packet without options.  ICMP: SPORT is type << 8 | code.
 */
struct cls_key {
	uint8_t af; /* 4 or 6 */
	uint8_t l4proto;
	uint16_t sport;
	uint16_t dport;
	uint8_t src[16]; /* network order; IPv4 in the first 4 */
	uint8_t dst[16];
};

/* The pkt_meta the parser gives such a packet: what explain judges. */
void cls_key_meta(const struct cls_key *k, struct pkt_meta *m);

/* A relay a layered packet came through, for explain: how and from where. */
struct cls_via {
	uint8_t kind;     /* enum pkt_tun, not NONE */
	uint8_t af;       /* 4 or 6 */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 */
};

/*
 * Puts M (from cls_key_meta) inside N tunnels, VIA[0] the outermost
 * relay: the meta the parser gives such a packet (its source and
 * family become VIA[0]'s, its layers every relay's then its own).  0,
 * or -1 when N is 0 or more layers than the parser records.
 */
int cls_key_via(struct pkt_meta *m, const struct cls_via *via, unsigned n);

/*
 * Every layer cls_key_via put M in goes to M's destination; this sends
 * the inner ones of family AF (4 or 6; DST in network order, IPv4 in
 * the first 4) to DST instead: where the tunnelled packet goes, the
 * outermost header staying where the relay sends it.
 */
void cls_key_via_dst(struct pkt_meta *m, uint8_t af, const uint8_t *dst);

/*
 * One packet, with the evaluation laid open for explain: the verdict
 * (the same as cls_classify's), whether the identity gate asked for a
 * session and what the lookup found, and, when the rules decided, the
 * set each rule up to the deciding one lacks (CLS_SET_MAX for that one).
 */
struct cls_why {
	struct cls_verdict v;
	uint8_t gate;      /* the flow needs a session */
	uint8_t sess;      /* enum sess_res, when gate */
	uint8_t walked;    /* the rules decided: miss[] holds */
	uint8_t ident_hit; /* the rules' identity set is a session's */
	uint32_t ident;    /* that session's identity index */
	geo_cc_t layer_cc[PKT_LAYER_MAX];   /* a tunnelled packet's */
	geo_cls_t layer_cls[PKT_LAYER_MAX]; /* and its layers' classes */
	geo_cc_t layer_dcc[PKT_LAYER_MAX];  /* and their destinations' */
	uint16_t nmiss;                     /* entries of miss[] */
	uint8_t miss[POL_RULE_MAX];         /* enum cls_set per rule */
};

void cls_explain(const struct cls_env *e, const struct pkt_meta *m,
    unsigned dir, struct cls_why *w);

/*
 * The country and relay classes of every layer of a tunnelled M into
 * CC and CLS (M->nlayer entries, outermost first), as the classifier
 * looks them up: `origin` judges the last, `via` every one.
 */
void cls_layer_ccs(const struct geo_tables *g, const struct pkt_meta *m,
    geo_cc_t *cc, geo_cls_t *cls);

/*
 * The country of every layer's destination of a tunnelled M into DCC,
 * as `dst_via` judges them; GEO_CC_UNKNOWN, not looked up, when no rule
 * of P reads destinations or M is a proxied flow (its hops' destinations
 * are not known: its own is judged).
 */
void cls_layer_dccs(const struct geo_tables *g, const struct policy *p,
    const struct pkt_meta *m, geo_cc_t *dcc);

/* The tunnel class of M (enum pol_tun). */
static inline unsigned
cls_tun_class(const struct pkt_meta *m)
{
	/* A proxied flow's layers are the hops its relay reported. */
	return m->opaque                  ? POL_TUN_OPAQUE
	       : m->nlayer && !m->proxied ? POL_TUN_OPEN
	                                  : POL_TUN_NONE;
}

/* The session key of M's source for service SVC. */
void cls_sess_key(const struct pkt_meta *m, uint8_t svc, struct sess_key *k);

/*
 * Verdict for a frame the parser refused with REASON (malformed, or
 * non-IP, which follows policy nonip_action).
 */
void cls_unparsed(const struct policy *p, int reason, struct cls_verdict *v);

#endif
