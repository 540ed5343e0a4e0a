/*
 * Fast-path counters.  Each worker lcore owns one struct stats and is its
 * only writer (plain increments, no atomics, no sharing of cache lines);
 * readers sum them.  The same sums feed the exit/SIGUSR1 report, the
 * --stats-file JSON the tests poll, and later the CLI and SNMP.
 */
#ifndef CORDON_STATS_H
#define CORDON_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "core/geo/geo.h"
#include "core/policy/policy.h"
#include "core/stats/reasons.h"

#define STATS_PORT_MAX     16
#define STATS_RULE_DEFAULT POL_RULE_MAX /* index of the default's counter */

#define STATS_PORT_FIELDS(X)                                                   \
	X(rx_packets)                                                          \
	X(rx_bytes)                                                            \
	X(tx_packets)                                                          \
	X(tx_bytes)                                                            \
	X(tx_dropped)

struct stats_port {
#define X(f) uint64_t f;
	STATS_PORT_FIELDS(X)
#undef X
};

/*
 * The fragment table (core/frag): datagrams entered by their first
 * fragment, later fragments given its verdict, datagrams seen whole,
 * entries that timed out incomplete.  Its refusals are drop reasons.
 */
#define STATS_FRAG_FIELDS(X)                                                   \
	X(tracked)                                                             \
	X(followed)                                                            \
	X(completed)                                                           \
	X(expired)

struct stats_frag {
#define X(f) uint64_t f;
	STATS_FRAG_FIELDS(X)
#undef X
};

/*
 * Proxied services (core/prx): flows opened by a trusted relay's SYN,
 * decided by a reported client, by the relay's own (PROXY v2 LOCAL),
 * denied (and reset both ways), PROXY headers from senders not trusted
 * (not believed, judged by their own source), refusals for a full table
 * or buffer pool, retransmissions whose bytes differ from those judged.
 */
#define STATS_PRX_FIELDS(X)                                                    \
	X(tracked)                                                             \
	X(reported)                                                            \
	X(local)                                                               \
	X(denied)                                                              \
	X(untrusted)                                                           \
	X(full)                                                                \
	X(changed)

struct stats_prx {
#define X(f) uint64_t f;
	STATS_PRX_FIELDS(X)
#undef X
};

/*
 * Evidence captures (core/evid): the workers count copies queued, new
 * flows, flows refused by a full table and copies a full ring refused;
 * the main lcore counts records written, records lost (a failed write:
 * disk full), files opened and removed, flow messages over its cap.
 */
#define STATS_EVID_FIELDS(X)                                                   \
	X(captured)                                                            \
	X(flows)                                                               \
	X(flow_full)                                                           \
	X(ring_full)                                                           \
	X(written)                                                             \
	X(lost)                                                                \
	X(files)                                                               \
	X(removed)                                                             \
	X(unlogged)

struct stats_evid {
#define X(f) uint64_t f;
	STATS_EVID_FIELDS(X)
#undef X
};

/*
 * cordon-dp's syslog fallback (dataplane/dp/dp_slog.h), written by the
 * main lcore in the first worker's element: log events it took while
 * no cordond was connected, records it queued, records (and the events
 * they held) refused by the rate limit, datagrams sent (every target),
 * a target's copies lost (its socket refused them, or it fell a whole
 * ring behind).
 */
#define STATS_SLOG_FIELDS(X)                                                   \
	X(events)                                                              \
	X(records)                                                             \
	X(rate_limited_records)                                                \
	X(rate_limited_events)                                                 \
	X(sent)                                                                \
	X(dropped)

struct stats_slog {
#define X(f) uint64_t f;
	STATS_SLOG_FIELDS(X)
#undef X
};

struct stats {
	uint64_t packets;
	uint64_t action[CDN_ACT_MAX];
	uint64_t reason[CDN_R_MAX];
	uint64_t rule[POL_RULE_MAX + 1];
	uint64_t cc_packets[GEO_CC_MAX]; /* by source country */
	uint64_t cc_denied[GEO_CC_MAX];  /* not allowed, by source */
	uint64_t log_dropped;            /* log events lost: ring full */
	uint64_t log_suppressed;         /* over the log rate limit */
	/*
	 * Drained but not sent to cordond: its channel was full.  The one
	 * counter the main lcore writes (in the element of the worker the
	 * event came from); the worker never touches it.
	 */
	uint64_t log_unsent;
	uint64_t knock_dropped; /* knocks lost: over rate, ring full */
	uint64_t knock_unsent;  /* main lcore: cordond not there */
	struct stats_frag frag;
	/*
	 * Tunnels (docs/packet-parsing.md, Tunnels), of packets that
	 * parsed: each layer by how it was carried (PKT_TUNS), packets by
	 * the number of layers seen, those ending in an opaque tunnel.
	 */
	uint64_t tun[PKT_TUN_MAX];
	uint64_t tun_layers[PKT_LAYER_MAX + 1];
	uint64_t tun_opaque;
	struct stats_prx prx;
	struct stats_port port[STATS_PORT_MAX];
	struct stats_evid evid;
	struct stats_slog slog;
} __attribute__((aligned(64)));

#include "core/classify/cls.h"

/*
 * Counts one verdict, once, as carried out (a failed forward or reject is
 * a drop by then); PARSED says whether rule and country are valid.
 */
static inline void
stats_account(struct stats *s, const struct cls_verdict *v, int parsed)
{
	s->packets++;
	s->action[v->action]++;
	s->reason[v->reason]++;
	if (!parsed)
		return;
	s->rule[v->rule == POL_RULE_DEFAULT ? STATS_RULE_DEFAULT : v->rule]++;
	s->cc_packets[v->src_cc]++;
	if (v->action != CDN_ACT_ALLOW)
		s->cc_denied[v->src_cc]++;
}

/* The tunnel counters of a packet that parsed into M. */
static inline void
stats_tun(struct stats *s, const struct pkt_meta *m)
{
	if (__builtin_expect(!m->nlayer && !m->opaque, 1))
		return;
	s->tun_opaque += m->opaque;
	if (m->nlayer == 0)
		return;
	s->tun_layers[m->nlayer]++;
	for (unsigned j = 0; j < m->nlayer; j++)
		s->tun[m->layer[j].kind]++;
}

/* Adds every counter of S into SUM. */
void stats_add(struct stats *sum, const struct stats *s);

/* Names for ports in reports; NULL entries print as "portN". */
struct stats_names {
	unsigned nports;
	const char *port[STATS_PORT_MAX];
	const struct policy *pol; /* rule and service names */
};

void stats_print_text(const struct stats *s, const struct stats_names *n,
    FILE *f);
void stats_print_json(const struct stats *s, const struct stats_names *n,
    FILE *f);
/* Writes the JSON to PATH atomically (temp file + rename). 0 or -1. */
int stats_write_file(const struct stats *s, const struct stats_names *n,
    const char *path);
/* The same, as NAME in folder DFD (or AT_FDCWD). */
int stats_write_fileat(const struct stats *s, const struct stats_names *n,
    int dfd, const char *name);

#endif
