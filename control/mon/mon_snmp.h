/*
 * SNMP between cordond and the monitoring child.  cordond builds
 * CORDON-MIB's values (a snapshot: every instance, sorted by OID) and
 * decides the notifications; the child runs net-snmp's AgentX subagent
 * and answers from the snapshot.  The values cross the channel in this
 * plain form: OID arcs as uint32_t, the type an enum of our own, so
 * that cordond needs no net-snmp header and the child trusts nothing it
 * did not check.
 *
 * parent -> child
 *   MON_T_SNMP_CONF   struct mon_snmp_conf: start the subagent
 *   MON_T_SNMP_VARS   a SNMP_GET's id: the snapshot, either as the
 *                     payload (n records) or, empty payload, in a sealed
 *                     memfd passed along (n records, its whole size)
 *   MON_T_SNMP_TRAP   struct mon_snmp_trap + N records
 *   MON_T_SNMP_STALE  empty: the next request asks for a new snapshot
 *   MON_T_AGENTX      an AGENTX_GET's id: struct mon_agentx; ERR 0 with
 *                     the connected AgentX socket passed, else errno
 * child -> parent
 *   MON_T_SNMP_GET    id (not 0), empty: a snapshot, please
 *   MON_T_AGENTX_GET  id (not 0), empty: a new AgentX connection
 */
#ifndef CORDON_MON_SNMP_H
#define CORDON_MON_SNMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "control/mon/mon_msg.h"

/* Renumbering the MIB: change this and the MODULE-IDENTITY's number. */
#define MON_SNMP_ENTERPRISE 32473
#define MON_SNMP_ROOT_LEN   7 /* 1.3.6.1.4.1.ENTERPRISE */
#define MON_SNMP_OID_MAX    16
#define MON_SNMP_STR_MAX    72
#define MON_SNMP_VARS_MAX   (1u << 17) /* records of one snapshot */
#define MON_SNMP_TRAP_VARS  8          /* records of one notification */
#define MON_SNMP_SOCK_MAX   256        /* agentx_socket, with its NUL */
#define MON_SNMP_CACHE_MS   200        /* a snapshot serves this long */

extern const uint32_t mon_snmp_root[MON_SNMP_ROOT_LEN];

enum mon_snmp_type {
	MON_SNMP_INTEGER = 1,
	MON_SNMP_OCTETS,
	MON_SNMP_UNSIGNED, /* Unsigned32 and Gauge32: one ASN.1 type */
	MON_SNMP_TIMETICKS,
	MON_SNMP_COUNTER64,
	MON_SNMP_TYPE_END
};

/* One instance with its value (no padding: 160 bytes as sent). */
struct mon_snmp_var {
	uint32_t name[MON_SNMP_OID_MAX];
	uint32_t len;  /* arcs used: the root's and more, <= OID_MAX */
	uint32_t type; /* enum mon_snmp_type */
	uint64_t num;  /* INTEGER: a signed 32-bit value; others' range */
	uint32_t slen; /* OCTETS: bytes of STR used */
	uint32_t zero; /* 0 */
	char str[MON_SNMP_STR_MAX];
};

struct mon_snmp_conf {
	uint32_t ping_interval; /* s, 1..3600 */
	uint32_t via_parent;    /* 1: unix socket, cordond connects it */
	char socket[MON_SNMP_SOCK_MAX]; /* tcp:HOST:PORT, or the path */
};

/* The notification cordonNotifications.TRAP (1..MON_SNMP_TRAP_MAX). */
#define MON_SNMP_TRAP_MAX 10
struct mon_snmp_trap {
	uint32_t trap;
	uint32_t n; /* records that follow, <= MON_SNMP_TRAP_VARS */
};

struct mon_agentx {
	uint32_t err; /* 0: the socket is passed; else why not (errno) */
};

/* Order of OIDs (shorter first on a common prefix): <0, 0, >0. */
int mon_snmp_oid_cmp(const uint32_t *a, size_t alen, const uint32_t *b,
    size_t blen);

/*
 * Decoders: 0, or -1 (errno EBADMSG) with nothing to trust.  Every
 * record is checked: OID of the root and at least one arc more, at most
 * OID_MAX; a known type; INTEGER within int32; slen <= STR_MAX and 0
 * unless OCTETS.  A snapshot's records are sorted strictly increasing.
 */
int mon_snmp_var_ok(const struct mon_snmp_var *v);
int mon_dec_snmp_vars(const uint8_t *p, size_t len, size_t *n);
int mon_dec_snmp_trap(const uint8_t *p, size_t len, struct mon_snmp_trap *t,
    const struct mon_snmp_var **vars);
int mon_dec_snmp_conf(const uint8_t *p, size_t len, struct mon_snmp_conf *out);
int mon_dec_agentx(const uint8_t *p, size_t len, int passfd,
    struct mon_agentx *out);
/* SNMP_GET, AGENTX_GET, SNMP_STALE: what an empty request must be. */
int mon_dec_snmp_get(uint32_t id, size_t len);

/*
 * The snapshot in memfd FD (the child's side): its records read into
 * a buffer of the caller's (*OUT, malloc'd; free it) and decoded.  The
 * file must be sealed against writing and growing, hold a whole number
 * of records, at most MON_SNMP_VARS_MAX.  0, or -1 (errno).
 */
int mon_snmp_read_memfd(int fd, struct mon_snmp_var **out, size_t *n);

#endif
