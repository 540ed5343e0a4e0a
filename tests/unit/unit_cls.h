/*
 * One packet through the classifier itself (cls_classify), for the unit
 * tests of the policy and of the identity gate.
 */
#ifndef CORDON_TESTS_UNIT_CLS_H
#define CORDON_TESTS_UNIT_CLS_H

#include <string.h>

#include "core/classify/cls.h"

/*
 * The verdict P gives an IPv4 packet of protocol PROTO (6 or 17), SPORT
 * -> DPORT, 192.0.2.10 -> 192.0.2.20, direction DIR (enum pol_dir);
 * FRAG: a later fragment instead (no ports).  Empty geo tables: both
 * addresses are unknown.  No session table.
 */
static inline struct cls_verdict
unit_cls_probe(const struct policy *p, int proto, uint16_t sport,
    uint16_t dport, unsigned dir, int frag)
{
	struct geo_tables *g = geo_tables_create();
	struct cls_env env = { p, g, NULL, 1000 };
	struct pkt_meta m;
	struct cls_verdict v;

	memset(&m, 0, sizeof(m));
	m.af = 4;
	m.l4proto = (uint8_t)proto;
	m.has_l4 = !frag;
	m.frag = frag ? PKT_FRAG_LATER : PKT_FRAG_NONE;
	m.src4 = 0xc000020a;
	m.dst4 = 0xc0000214;
	m.sport = frag ? 0 : sport;
	m.dport = frag ? 0 : dport;
	cls_classify(&env, &m, dir, &v);
	geo_tables_free(g);
	return v;
}

#endif
