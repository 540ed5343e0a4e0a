/*
 * The syslog record of a packet log event (docs/control.md, "Syslog"):
 * its MSGID, severity, structured data and sentence, built from a
 * struct dpc_wire_event.  cordond builds its records with it, and so
 * does cordon-dp's fallback while cordond is down, so both say the
 * same thing the same way.  Pure: no I/O, no clock.
 */
#ifndef CORDON_DPC_RECORD_H
#define CORDON_DPC_RECORD_H

#include <stdint.h>

#include <netinet/in.h>

#include "core/geo/geo.h"
#include "core/slog/sl_fmt.h"
#include "wire/dpc_proto.h"

#define DPC_REC_PARAMS 24 /* room for every field and a few more */

struct policy;

struct dpc_record {
	const char *msgid; /* deny (a drop), reject, reroute, allow */
	unsigned severity; /* enum sl_severity */
	struct sl_param sd[DPC_REC_PARAMS];
	unsigned nsd;
	char msg[320];
	/* The text the params point into. */
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char sport[8], dport[8], proto[8], rule[16];
	char scc[GEO_CC_STRLEN], dcc[GEO_CC_STRLEN];
	char origin[INET6_ADDRSTRLEN], occ[GEO_CC_STRLEN];
	char count[24], first[32], last[32], port[DPC_WIRE_NAME + 1];
};

/*
 * Fills R with the record of COUNT events like EV, drained from
 * FIRST_US to LAST_US (unix microseconds).  POL names rules and
 * services (NULL: rules by number); PORT names the ingress port (NULL:
 * no port field).  R's params point into R itself.
 */
void dpc_record_fill(struct dpc_record *r, const struct dpc_wire_event *ev,
    const struct policy *pol, const char *port, uint64_t count,
    int64_t first_us, int64_t last_us);

/* Appends NAME="VALUE" (both must outlive R's use).  0, or -1: full. */
int dpc_record_add(struct dpc_record *r, const char *name, const char *value);
/* A rule as records name it: its name, "(default)", or "#N" (1-based). */
const char *dpc_record_rule(const struct policy *p, unsigned rule,
    char buf[16]);

#endif
