/*
 * The monitoring child's AgentX subagent (mon_snmpa*.c): net-snmp runs
 * in the child's poll loop (no threads, no SIGALRM) and answers
 * CORDON-MIB's requests from the snapshot cordond last sent
 * (mon_snmp.h).  A snapshot older than MON_SNMP_CACHE_MS, or one
 * cordond said is stale, is asked for again when a request comes; the
 * request waits for it at most MON_SNMPA_WAIT_MS (well within AgentX's
 * timeout of the master, 1 s by default), else is answered from the
 * previous snapshot.
 *
 * For a unix master socket the subagent's transport (the domain
 * "cordonfd:") asks cordond for a connected socket each time net-snmp
 * opens its session (at start, and the AgentX ping's reconnects): the
 * socket is root's (agentXPerms) and the child's root is empty.
 */
#ifndef CORDON_MON_SNMPA_H
#define CORDON_MON_SNMPA_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "control/mon/mon_snmp.h"

#define MON_SNMPA_WAIT_MS 500  /* a request waits for a snapshot */
#define MON_SNMPA_OPEN_MS 1000 /* an open waits for a socket */
#define MON_SNMPA_FD_MAX  8    /* net-snmp's descriptors in a poll */
#define MON_SNMPA_TRAPQ   16   /* notifications held during a wait */

struct mon_child;

/*
 * One SNMP message from cordond (MON_T_SNMP_*, MON_T_AGENTX): 0, or -1
 * when it does not decode or is not expected.  PASSFD is taken either
 * way.
 */
int mon_snmpa_in(struct mon_child *m, const struct proc_hdr *h,
    const uint8_t *p, int passfd);
/* net-snmp's descriptors into PFD (at most MAX), its next timer into
 * *TIMEOUT_MS; how many slots it used. */
unsigned mon_snmpa_poll_fill(struct pollfd *pfd, unsigned max, int *timeout_ms);
/* After poll(): net-snmp reads, runs its timers; held notifications go. */
void mon_snmpa_poll_done(const struct pollfd *pfd, unsigned n);
/* Counters for the log at exit and the tests: traps sent, dropped. */
struct mon_snmpa_stats {
	uint64_t traps_sent, traps_dropped, snapshots, waits_timed_out;
	uint64_t opens, opens_failed;
};
extern struct mon_snmpa_stats mon_snmpa_st;

/* Internal (mon_snmpa_fd.c): the "cordonfd" transport domain. */
int mon_snmpa_fd_register(void);
/*
 * Sends request TYPE and reads the channel until the answer WANT with
 * the same id comes (handled by mon_child_in like any message) or MS
 * pass.  Other messages are handled meanwhile.  0 when it came, -1 not.
 */
int mon_snmpa_wait(struct mon_child *m, uint16_t type, uint16_t want,
    unsigned ms);
/* The child's state, for net-snmp's callbacks. */
extern struct mon_child *mon_snmpa_m;
/* A passed AgentX socket the transport takes (-1: none). */
extern int mon_snmpa_fd;
/* Set while a wait reads the channel: notifications are held. */
extern bool mon_snmpa_busy;

#endif
