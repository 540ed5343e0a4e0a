#ifndef CORDON_REPLAY_H
#define CORDON_REPLAY_H

#include "core/geo/geo.h"
#include "core/policy/policy.h"
#include "core/stats/stats.h"

struct replay_opts {
	const char *in;		/* pcap file (Ethernet link type) */
	const char *out;	/* JSON lines; NULL or "-" for stdout */
	unsigned dir;		/* enum pol_dir the capture arrived from */
};

/*
 * Classifies every packet of a capture with the live path's code and
 * writes one JSON verdict per packet.  Counters go to ST.  Returns 0, or
 * -1 after printing why (unreadable capture, wrong link type, ...).
 */
int replay_run(const struct policy *p, const struct geo_tables *g,
    const struct replay_opts *o, struct stats *st);

#endif
