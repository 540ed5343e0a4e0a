/*
 * The flow table of proxied services (docs/proxies.md): one per worker,
 * sized at start-up, only for TCP flows from trusted relays to services
 * with a `proxy` setting.  A flow's first bytes are held (bounded, in a
 * pool of window-sized buffers) until its header decides; then it keeps
 * the hops its relay reported, and every later packet is judged with
 * them.  Full (bucket or buffer pool) refuses the new flow, counted;
 * the table never passes a flow it could not inspect.  The caller's
 * clock is any monotonic count (TSC ticks, capture microseconds).
 */
#ifndef CORDON_PRX_FLOW_H
#define CORDON_PRX_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "core/pkt/pkt_parse.h"

#define PRX_FLOW_WAYS       8
#define PRX_FLOWS_DEFAULT   65536
#define PRX_FLOWS_MAX       (1u << 24)
#define PRX_BUFS_DEFAULT    1024
#define PRX_FLOW_IDLE_S_DEF 600
#define PRX_BUF_NONE        UINT32_MAX
/* A flow whose header has not decided lives IDLE / PRX_PEND_DIV (10 s of
 * the default 600): half-open flows from a spoofed relay address cannot
 * hold the table for long. */
#define PRX_PEND_DIV 60

enum prx_fstate {
	PRX_F_FREE,
	PRX_F_PENDING, /* handshake seen, header not complete yet */
	PRX_F_DECIDED, /* judged per packet with LAYER[] (none: itself) */
	PRX_F_DENIED,  /* dropped, both ways, until it expires */
};

struct prx_fkey {
	uint8_t af;
	uint8_t pad[3];
	uint16_t sport, dport; /* the relay's, the service's */
	uint8_t src[16];       /* the relay */
	uint8_t dst[16];       /* the service */
};

struct prx_flow {
	struct prx_fkey k;
	uint64_t expires;  /* 0: free */
	uint32_t seq_next; /* relay's next byte (decided: highest seen) */
	uint32_t buf;      /* buffer slot while pending, or PRX_BUF_NONE */
	uint16_t blen;     /* bytes held */
	uint8_t state;     /* enum prx_fstate */
	uint8_t reason;    /* a denied flow's enum cdn_reason */
	uint8_t nlayer;    /* decided: the reported hops, as pkt_meta's */
	uint8_t proxied;   /* decided: pkt_meta.proxied */
	uint8_t pad[2];
	struct pkt_layer layer[PKT_LAYER_MAX];
} __attribute__((aligned(64)));

struct prx_flow_table;

/* Bytes a table of ENTRIES flows and BUFS buffers of WINDOW bytes needs
 * (entries rounded up to a power of two of at least PRX_FLOW_WAYS); 0
 * when out of range. */
size_t prx_flow_size(unsigned entries, unsigned bufs, unsigned window);

/* The table, with memory of its own (start-up only).  IDLE: a decided
 * flow's life without packets, in the caller's clock (a pending one's:
 * IDLE / PRX_PEND_DIV); SEED keys the hash. */
struct prx_flow_table *prx_flow_new(unsigned entries, unsigned bufs,
    unsigned window, uint64_t idle, uint64_t seed);
void prx_flow_free(struct prx_flow_table *t);

/* Flows in use at NOW (walks the table), for tests and reports. */
unsigned prx_flow_used(const struct prx_flow_table *t, uint64_t now);

/* The key of M (TCP), from its sender's side (REV: the receiver's). */
void prx_fkey_make(const struct pkt_meta *m, int rev, struct prx_fkey *k);

/* K's live flow at NOW (its idle time restarted), or NULL. */
struct prx_flow *prx_flow_find(struct prx_flow_table *t,
    const struct prx_fkey *k, uint64_t now);

/*
 * K's flow started afresh (a SYN), pending, next byte SEQ_NEXT; NULL
 * when K's bucket has no room (expired flows are reclaimed first).
 */
struct prx_flow *prx_flow_open(struct prx_flow_table *t,
    const struct prx_fkey *k, uint32_t seq_next, uint64_t now);

/*
 * Appends LEN bytes to pending flow F's buffer (taking one from the pool
 * first): the buffer and its length, or NULL when the pool is empty.
 * Bytes past the window are not kept.
 */
uint8_t *prx_flow_hold(struct prx_flow_table *t, struct prx_flow *f,
    const uint8_t *p, uint32_t len, uint32_t *held);

/* F's held bytes (NULL when none). */
const uint8_t *prx_flow_held(const struct prx_flow_table *t,
    const struct prx_flow *f);

/* F is decided (or denied): its buffer goes back to the pool. */
void prx_flow_settle(struct prx_flow_table *t, struct prx_flow *f,
    unsigned state);

/* The window the table's buffers hold. */
unsigned prx_flow_window(const struct prx_flow_table *t);

#endif
