/*
 * libFuzzer harness for the proxied flows' state machine (core/prx/
 * prx_judge.c, prx_flow.c) around the real classifier: the input is a
 * sequence of TCP segments of a few flows from a trusted relay and an
 * untrusted sender (each: a control byte, a sequence offset, a length,
 * payload), built into frames and judged in order through a small
 * table.  The promises checked: no sanitizer finding; an untrusted
 * sender (judged by its own, unknown, address) and an unknown client
 * are never allowed, nor is any verdict that carries a refusal's
 * reason; the table stays within its bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pkt/pkt_parse.h"
#include "core/prx/prx_judge.h"
#include "core/stats/reasons.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy *pol;
static struct geo_tables *geo;

/* Rule 0 drops an unknown source: the relay (10/8) and 1/8 are US,
 * every other client is unknown, and so is the untrusted sender. */
static void
fuzz_policy(void)
{
	pol = calloc(1, sizeof(*pol));
	geo = geo_tables_create();
	if (pol == NULL || geo == NULL)
		abort();
	pol->nrules = 1;
	pol->default_action = CDN_ACT_ALLOW;
	pol->rule[0].action = CDN_ACT_DROP;
	memset(&pol->noident, 0xff, sizeof(pol->noident));
	pol_set_add(&pol->src_cc[GEO_CC_UNKNOWN], 0);
	for (unsigned c = 0; c < GEO_CC_MAX; c++) {
		pol_set_add(&pol->origin_cc[c], 0);
		pol_set_add(&pol->via_cc[c], 0);
		pol_set_add(&pol->dst_cc[c], 0);
		pol_set_add(&pol->dst_via_cc[c], 0);
	}
	memset(pol->tun, 0xff, sizeof(pol->tun));
	memset(pol->dir, 0xff, sizeof(pol->dir));
	memset(pol->proto, 0xff, sizeof(pol->proto));
	memset(&pol->portless, 0xff, sizeof(pol->portless));
	memset(pol->class_rules, 0xff, sizeof(pol->class_rules));
	memset(pol->port_service, POL_SVC_NONE, sizeof(pol->port_service));
	pol->prx_any = 1;
	pol->prx_window = 256;
	pol->prx_port[22] = PRX_MODE_ANY;
	pol->prx_port[80] = PRX_MODE_XFF;
	pol->prx_port[81] = PRX_MODE_FORWARDED;
	pol->prx_trust.n = 1;
	pol->prx_trust.p[0].af = 4;
	pol->prx_trust.p[0].len = 8;
	pol->prx_trust.p[0].a[0] = 10;
	geo_v4_set(geo, 0x01000000u, 8, (geo_cc_t)geo_cc_parse("US"));
	geo_v4_set(geo, 0x0a000000u, 8, (geo_cc_t)geo_cc_parse("US"));
}

/* A frame: 10.0.0.5 (or 11.0.0.5) -> 1.2.3.4, one of 3 ports. */
static uint32_t
fuzz_frame(uint8_t *f, uint8_t ctl, uint32_t seq, const uint8_t *p, uint32_t n)
{
	static const uint16_t dports[4] = { 22, 80, 81, 22 };
	uint32_t tot = 20 + 20 + n;

	memset(f, 0, 54);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)(tot >> 8);
	f[17] = (uint8_t)tot;
	f[22] = 64;
	f[23] = 6;
	f[26] = (ctl & 0x40) ? 11 : 10;
	f[29] = 5;
	f[30] = 1;
	f[31] = 2;
	f[32] = 3;
	f[33] = 4;
	f[34] = 0x9c;
	f[35] = (uint8_t)(ctl & 3); /* source port: the flow */
	f[37] = (uint8_t)dports[(ctl >> 2) & 3];
	f[38] = (uint8_t)(seq >> 24);
	f[39] = (uint8_t)(seq >> 16);
	f[40] = (uint8_t)(seq >> 8);
	f[41] = (uint8_t)seq;
	f[46] = 0x50;
	f[47] = (ctl & 0x80) ? 0x02 : (ctl & 0x20) ? 0x11 : 0x18;
	memcpy(f + 54, p, n);
	return 54 + n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prx_flow_table *t;
	struct stats *st = calloc(1, sizeof(*st));
	uint8_t frame[54 + 512];
	struct pkt_meta m;
	struct cls_verdict v;
	size_t off = 0;
	uint64_t now = 1;

	if (pol == NULL)
		fuzz_policy();
	t = prx_flow_new(8, 2, 256, 1000, 3);
	if (t == NULL || st == NULL)
		abort();
	while (off + 3 <= size) {
		uint8_t ctl = data[off], back = data[off + 1];
		uint32_t n = data[off + 2] % 200, len;
		const struct cls_env e = { pol, geo, NULL, 0 };

		off += 3;
		if (n > size - off)
			n = (uint32_t)(size - off);
		len = fuzz_frame(frame, ctl, 1001u + (uint32_t)off - back,
		    data + off, n);
		off += n;
		now += 1 + (ctl & 0x10) * 40;
		if (pkt_parse(frame, len, &m) != 0)
			continue;
		if (prx_judge(&e, t, frame, len, &m, POL_DIR_IN, now, &v, st) ==
		    PRX_J_NONE)
			continue;
		/* An untrusted sender is judged by its own address: unknown,
		 * so refused; so is a flow the table does not know. */
		if (v.action == CDN_ACT_ALLOW &&
		    (m.src4 >> 24 == 11 || v.reason != CDN_R_NONE))
			abort();
	}
	if (prx_flow_used(t, now) > 8)
		abort();
	prx_flow_free(t);
	free(st);
	return 0;
}
