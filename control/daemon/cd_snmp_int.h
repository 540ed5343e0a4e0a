/*
 * Internals shared by cd_snmp.c (notifications, checks, the child's
 * requests) and cd_snmp_tables.c (CORDON-MIB's values).  The values are
 * in the channel's plain form (control/mon/mon_snmp.h): cordond sees no
 * net-snmp header; the monitoring child runs the AgentX subagent.
 */
#ifndef CORDON_CD_SNMP_INT_H
#define CORDON_CD_SNMP_INT_H

#include "control/daemon/cordond.h"
#include "control/mon/mon_snmp.h"

/* control.snmp.enabled, and started. */
bool cd_snmp_on(void);
/* The snapshot's buffer.  0, or -1 (logged). */
int cd_snmp_tables_alloc(void);
void cd_snmp_tables_free(void);
/* Forgets the cached values: the next request sees new ones. */
void cd_snmp_tables_invalidate(void);
/*
 * The snapshot, rebuilt when older than MON_SNMP_CACHE_MS or
 * invalidated: *N records; *GEN counts the builds (a new one: new
 * values).
 */
const struct mon_snmp_var *cd_snmp_tables_get(struct cd *d, size_t *n,
    uint64_t *gen);
/*
 * Copies to OUT the current value of the object whose OID is the root
 * followed by SUB[0..N-1] (a scalar's ".0" included), from a snapshot
 * built now.  0, or -1 when there is no such instance.
 */
int cd_snmp_tables_var(struct cd *d, struct mon_snmp_var *out,
    const uint32_t *sub, size_t n);

/* The snapshot memfds' name. */
#define CD_SNMP_MEMFD_NAME "cordon-snmp"
/*
 * Whether a new snapshot memfd may go to child C: nothing unread on its
 * channel (cd_snmp_pin.c).  Otherwise it gets the last one again.
 */
bool cd_snmp_pin_room(const struct proc_child *c);

/*
 * The counters `cordonctl show counters` reports, summed the same way
 * (dpc_stats_sum over cordon-dp's workers).  0, or -1 when cordon-dp
 * is not up (S is then zeroed).
 */
int cd_snmp_counters(struct cd *d, struct stats *s);
/* Packets not allowed, the deny rate's numerator. */
uint64_t cd_snmp_denied(const struct stats *s);
/* Geo age in seconds and whether control.geo_max_age says stale. */
bool cd_snmp_geo_stale(struct cd *d, int64_t *epoch, int64_t *age);
/* The deny rate and its threshold, for the MIB. */
uint64_t cd_snmp_deny_rate(void);

#endif
