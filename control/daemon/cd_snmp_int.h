/*
 * Internals shared by cd_snmp.c (the subagent, notifications) and
 * cd_snmp_tables.c (CORDON-MIB's values).  Only these two files see
 * net-snmp's headers.
 */
#ifndef CORDON_CD_SNMP_INT_H
#define CORDON_CD_SNMP_INT_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include "control/daemon/cordond.h"

#define CD_SNMP_OID_MAX  16
#define CD_SNMP_STR_MAX  72
#define CD_SNMP_ROOT_LEN 7 /* 1.3.6.1.4.1.ENTERPRISE */

extern const oid cd_snmp_root[CD_SNMP_ROOT_LEN];

/* One instance of CORDON-MIB with its value, as sent. */
struct cd_snmp_var {
	oid name[CD_SNMP_OID_MAX];
	size_t len;
	u_char type; /* ASN_* */
	uint64_t num;
	size_t slen;
	char str[CD_SNMP_STR_MAX];
};

/* Registers the MIB's subtree with the agent.  0, or -1 (logged). */
int cd_snmp_tables_register(struct cd *d);
void cd_snmp_tables_free(void);
/* Forgets the cached values: the next request sees new ones. */
void cd_snmp_tables_invalidate(void);
/*
 * Appends to *VARS the current value of the object whose OID is the
 * root followed by SUB[0..N-1] (a scalar's ".0" included).  0, or -1
 * when there is no such instance.
 */
int cd_snmp_tables_vb(struct cd *d, netsnmp_variable_list **vars,
    const oid *sub, size_t n);

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
