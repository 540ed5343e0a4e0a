/*
 * Evidence (docs/evidence.md): the first packets of each flow a rule
 * with `evidence = true` denies or reroutes, kept in rotating pcap files.
 *
 * Two halves.  The flow table is the workers': one per worker, sized at
 * start-up, no lock, no allocation, no system call; it says whether a
 * packet is among the first of its flow, and a full table refuses new
 * flows (counted, never a verdict).  The pcap writer and the listing are
 * the main lcore's and cordond's: plain file I/O, never per packet on a
 * worker.
 */
#ifndef CORDON_EVID_H
#define CORDON_EVID_H

#include <stddef.h>
#include <stdint.h>

#include "core/pkt/pkt_parse.h"

#define EVID_SNAP_MIN    64
#define EVID_SNAP_MAX    2048
#define EVID_PACKETS_MAX 64
#define EVID_FLOWS_MIN   16
#define EVID_FLOWS_MAX   (1u << 20)
#define EVID_PROBE       8 /* slots a flow may sit in */
#define EVID_NAME_MAX    64
#define EVID_PREFIX      "evidence-"
#define EVID_SUFFIX      ".pcap"
#define EVID_PACKETS_DEF 8
#define EVID_SNAP_DEF    256
#define EVID_FLOWS_DEF   4096
#define EVID_IDLE_DEF    300  /* s */
#define EVID_FILE_KB_DEF 8192 /* 8 MiB */
#define EVID_FILES_DEF   16
#define EVID_ROTATE_DEF  3600   /* s */
#define EVID_MAX_AGE_DEF 604800 /* s: a week */

/* ---- the workers' flow table ---- */

struct evid_flow {
	uint64_t key;  /* evid_flow_key(); 0: free */
	uint64_t last; /* caller's clock, last packet seen */
	uint32_t n;    /* packets taken */
	uint32_t pad;
};

struct evid_table {
	unsigned mask;    /* slots - 1 */
	unsigned packets; /* taken per flow, at most */
	uint64_t idle;    /* a flow quiet this long is forgotten */
	uint64_t seed;
	struct evid_flow slot[];
};

/* What evid_table_take() says of a packet. */
enum evid_take {
	EVID_SKIP,  /* its flow has had its packets: not kept */
	EVID_FIRST, /* the first of a new flow: keep it */
	EVID_NEXT,  /* a later one of a flow still short: keep it */
	EVID_FULL,  /* a new flow, and no room: not kept */
};

/* Bytes a table of FLOWS slots (rounded up to a power of two) needs;
 * 0 when FLOWS is out of range. */
size_t evid_table_size(unsigned flows);

/*
 * Lays a table over MEM (evid_table_size(FLOWS) bytes, zeroed or not):
 * PACKETS kept per flow, flows quiet for IDLE (caller's clock units)
 * forgotten, SEED keys the hash.  NULL and EINVAL when out of range.
 */
struct evid_table *evid_table_init(void *mem, unsigned flows, unsigned packets,
    uint64_t idle, uint64_t seed);

/* The flow of M (its outer addresses, protocol and ports), hashed. */
uint64_t evid_flow_key(const struct evid_table *t, const struct pkt_meta *m);

/*
 * Whether the packet of flow KEY, seen at NOW, is to be kept; *SLOT gets
 * the flow's slot (for evid_table_undo).  Pure memory work.
 */
enum evid_take evid_table_take(struct evid_table *t, uint64_t key, uint64_t now,
    unsigned *slot);

/* Gives back what the last take of SLOT took (its copy had no room). */
void evid_table_undo(struct evid_table *t, unsigned slot, enum evid_take how);

/* Flows held (for tests and reports: walks the table). */
unsigned evid_table_used(const struct evid_table *t, uint64_t now);

#endif
