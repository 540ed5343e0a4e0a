/*
 * One packet through the classifier itself (cls_classify), for the unit
 * tests of the policy and of the identity gate.
 */
#ifndef CORDON_TESTS_UNIT_CLS_H
#define CORDON_TESTS_UNIT_CLS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/load/conf.h"
#include "config/policy/pol_compile.h"
#include "core/classify/cls.h"

/*
 * The policy of config TEXT, through the real loader and compiler
 * (freed by the caller); a refused config fails the test.  Include
 * cmocka first.
 */
static inline struct policy *
unit_pol_text(const char *text)
{
	char path[] = "/tmp/unit_pol.XXXXXX", err[512] = "";
	struct conf *c = calloc(1, sizeof(*c));
	struct policy *p = calloc(1, sizeof(*p));
	int fd = mkstemp(path);
	FILE *f;

	assert_non_null(c);
	assert_non_null(p);
	assert_true(fd >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
	if (conf_load(path, c, err, sizeof(err)) < 0 ||
	    pol_compile(c, NULL, p, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	unlink(path);
	free(c);
	return p;
}

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
