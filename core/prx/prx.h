/*
 * Proxies that report the client (docs/proxies.md): the PROXY protocol
 * header (HAProxy's spec, v1 and v2) and the HTTP Forwarded (RFC 7239)
 * and X-Forwarded-For headers of a flow's first bytes.  Pure functions
 * over bytes with explicit lengths, no DPDK, no allocation: the fast
 * path, replay, the unit tests and the fuzzer run the same code.
 */
#ifndef CORDON_PRX_H
#define CORDON_PRX_H

#include <stdint.h>

#define PRX_HOPS_MAX   16   /* hops a header reports that are kept */
#define PRX_V1_MAX     107  /* a v1 line, CRLF included (the spec's) */
#define PRX_V2_HDR     16   /* signature, version/command, family, len */
#define PRX_WINDOW_DEF 4096 /* bytes of a flow read, by default */
#define PRX_WINDOW_MIN 128
#define PRX_WINDOW_MAX 16384

/* What a service's first bytes carry (a service's `proxy`). */
enum prx_mode {
	PRX_MODE_NONE,
	PRX_MODE_V1,        /* PROXY protocol v1 only */
	PRX_MODE_V2,        /* v2 only */
	PRX_MODE_ANY,       /* v1 or v2 */
	PRX_MODE_FORWARDED, /* HTTP request, Forwarded: for= */
	PRX_MODE_XFF,       /* HTTP request, X-Forwarded-For */
	PRX_MODE_MAX
};

const char *prx_mode_name(unsigned mode);
/* The enum prx_mode of NAME (not "none"), or -1. */
int prx_mode_parse(const char *name);

/* A reported address; AF 0 is unknown (obfuscated, unparseable). */
struct prx_addr {
	uint8_t af; /* 4, 6, or 0 */
	uint8_t pad;
	uint16_t port; /* host order; 0 when not given */
	uint8_t a[16]; /* network order; IPv4 in the first 4 */
};

/* What a header said. */
enum prx_res {
	PRX_MORE,  /* no verdict yet: the header goes on past LEN */
	PRX_DONE,  /* complete: see struct prx_out */
	PRX_BAD,   /* malformed */
	PRX_LONG,  /* does not end within the window */
	PRX_LOCAL, /* v2 LOCAL: the relay's own connection (health check) */
};

/*
 * What a flow gets when its header does not complete within the window
 * or the table has no room for it: judged as relayed from an unknown
 * client (the rules decide), or dropped.
 */
enum prx_act { PRX_ACT_UNKNOWN, PRX_ACT_DROP };

/*
 * The hops a header reports, in header order (leftmost first; a PROXY
 * header reports one).  OVER: more hops than PRX_HOPS_MAX, the rest
 * counted as one unknown hop.  HDRLEN: bytes a PROXY header takes.
 */
struct prx_out {
	uint8_t n;
	uint8_t over;
	uint16_t pad;
	uint32_t hdrlen;
	struct prx_addr hop[PRX_HOPS_MAX];
};

/*
 * A PROXY protocol header (MODE V1, V2 or ANY) at the start of BUF, LEN
 * bytes seen so far, at most WINDOW bytes read (a v2 header longer is
 * PRX_LONG; a v1 line past 107 bytes PRX_BAD).  v1 UNKNOWN and v2 PROXY
 * with an unspecified or Unix family report one unknown hop: the relay
 * does not know the client, so neither do we.
 */
int prx_proxy_parse(const uint8_t *buf, uint32_t len, uint32_t window,
    unsigned mode, struct prx_out *o);

/*
 * The HTTP request at the start of BUF (LEN bytes so far): the hops of
 * every Forwarded `for=` (MODE FORWARDED) or X-Forwarded-For (MODE XFF)
 * field, lines in order.  PRX_MORE until the header block ends (CRLF
 * CRLF) within WINDOW bytes; PRX_LONG when it does not; PRX_BAD when
 * the request line is not one, or a line break is bare or folded.  A
 * request without the field reports no hop.
 */
int prx_http_parse(const uint8_t *buf, uint32_t len, uint32_t window,
    unsigned mode, struct prx_out *o);

/*
 * One value of a header (NUL-free, LEN bytes) as an address: IPv4,
 * IPv4:port, IPv6, [IPv6] and [IPv6]:port, quotes already removed.
 * Anything else (`unknown`, `_obfuscated`, junk) is the unknown address.
 */
void prx_addr_parse(const char *s, uint32_t len, struct prx_addr *a);

/* Trusted relays: prefixes, both families, checked in order. */
#define PRX_TRUST_MAX 64

struct prx_prefix {
	uint8_t af;
	uint8_t len; /* bits */
	uint16_t pad;
	uint8_t a[16];
};

struct prx_trust {
	uint16_t n;
	uint16_t pad;
	struct prx_prefix p[PRX_TRUST_MAX];
};

/* Is A (af 4 or 6) in one of T's prefixes?  The unknown address never is. */
int prx_trusted(const struct prx_trust *t, const struct prx_addr *a);

/*
 * The origin of O's hops: walking from the right, the first hop not in
 * T (an unknown one included); all trusted, the leftmost.  -1: no hop.
 */
int prx_origin(const struct prx_trust *t, const struct prx_out *o);

#endif
