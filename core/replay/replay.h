#ifndef CORDON_REPLAY_H
#define CORDON_REPLAY_H

#include "core/classify/cls.h"
#include "core/geo/geo.h"
#include "core/policy/policy.h"
#include "core/stats/stats.h"

struct replay_opts {
	const char *in;           /* pcap file (Ethernet link type) */
	const char *out;          /* JSON lines; NULL or "-" for stdout */
	unsigned dir;             /* enum pol_dir the capture arrived from */
	unsigned frag_entries;    /* fragment table (core/frag); 0: default */
	unsigned frag_timeout_ms; /* 0: default */
	/* The proxied flows' table (core/prx): 0, the defaults. */
	unsigned prx_flows, prx_buffers, prx_idle_s;
};

/*
 * One frame, DATA of CAPLEN bytes, judged as replay judges every packet
 * (no sessions; NOW the capture's clock): parsed into M, classified into
 * V in direction DIR.  Returns the parser's result: 0, or the reason the
 * frame was refused (V then says what befalls it).
 */
int replay_packet(const struct policy *p, const struct geo_tables *g,
    int64_t now, unsigned dir, const uint8_t *data, uint32_t caplen,
    struct pkt_meta *m, struct cls_verdict *v);

/*
 * Classifies every packet of a capture with the live path's code and
 * writes one JSON verdict per packet; fragments go through a fragment
 * table of their own, on the capture's clock.  Counters go to ST.
 * Returns 0, or -1 after printing why (unreadable capture, wrong link
 * type, no memory for the table, ...).
 */
int replay_run(const struct policy *p, const struct geo_tables *g,
    const struct replay_opts *o, struct stats *st);

#endif
