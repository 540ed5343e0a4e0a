/*
 * One verdict record, as replay writes it (--verdicts, JSON lines) and as
 * the live path logs rules with `log = true` (text).  Shared so that the
 * two never drift apart.
 */
#ifndef CORDON_CLS_FMT_H
#define CORDON_CLS_FMT_H

#include <stdint.h>
#include <stdio.h>

#include "core/classify/cls.h"

struct cls_record {
	uint64_t n;       /* packet number, 1-based */
	const char *port; /* ingress port name, or NULL */
	int parsed;       /* 0: M holds only what the parser reached */
	const struct pkt_meta *m;
	const struct cls_verdict *v;
	/* The tables' relay class names: a source in classes is shown
	 * with them ("src_classes"); NULL: never shown. */
	const struct geo_classes *cls;
	/* A tunnelled packet's layer countries and classes
	 * (cls_layer_ccs), or NULL. */
	const geo_cc_t *layer_cc;
	const geo_cls_t *layer_cls;
	const geo_cc_t *layer_dcc; /* their destinations' (cls_layer_dccs) */
	/* What the proxied flows' table did (core/prx), or NULL:
	 * "reset" (refused, both ends reset), "untrusted" (a PROXY
	 * header from a sender nobody trusts, not believed). */
	const char *proxy;
};

void cls_addr_format(const struct pkt_meta *m, int dst, char *buf, size_t len);
const char *cls_proto_name(uint8_t proto, char *buf, size_t len);

/*
 * Why a rule does not match, for explain: the set of cls_why.miss[]
 * (enum cls_set) in words of the config.  PC is the packet's protocol
 * class; SESSION: the identity set was a session's.  NULL for
 * CLS_SET_MAX (the rule matches).
 */
const char *cls_miss_text(unsigned set, unsigned pc, int session);

void cls_record_json(FILE *f, const struct policy *p,
    const struct cls_record *r);
void cls_record_text(FILE *f, const struct policy *p,
    const struct cls_record *r);

#endif
