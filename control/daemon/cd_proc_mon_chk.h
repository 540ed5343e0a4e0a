/*
 * What cordond takes from the monitoring child, checked without
 * cordond's state (so a fuzzer can drive it, tests/fuzz/fuzz_proc_mon.c):
 * each message decoded (mon_msg.c), then held against what cordond sent
 * the child (the view): the targets' generation and count, a local
 * target's type, queues no longer than configured, no more records taken
 * than given; a STATS with an id (a FLUSH's answer) only through
 * proc_call, never here.
 */
#ifndef CORDON_CD_PROC_MON_CHK_H
#define CORDON_CD_PROC_MON_CHK_H

#include <stdint.h>

#include "control/mon/mon_msg.h"

/* The targets as cordond last sent them. */
struct cd_mon_view {
	uint32_t gen, n;
	uint32_t type[CONF_LOG_TARGET_MAX], queue[CONF_LOG_TARGET_MAX];
	uint64_t given[CONF_LOG_TARGET_MAX];
};

/* One message, checked. */
struct cd_mon_msg {
	uint16_t type;
	uint32_t id;
	struct mon_stats st;  /* STATS */
	struct mon_local loc; /* LOCAL_GET */
};

/*
 * 1: OUT is to be acted on; 0: about targets since replaced (ignored);
 * -1: the child broke the protocol (PASSFD, if any, is closed).
 */
int cd_mon_check(const struct cd_mon_view *v, const struct proc_hdr *h,
    const uint8_t *p, int passfd, struct cd_mon_msg *out);

#endif
