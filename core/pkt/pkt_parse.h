/*
 * Packet header parser.  Pure C over a byte buffer, no DPDK, so that the
 * live path, offline replay, unit tests and the fuzzer all run the same
 * code.  It never reads outside [buf, buf + len).
 */
#ifndef CORDON_PKT_PARSE_H
#define CORDON_PKT_PARSE_H

#include <stdint.h>

#define PKT_VLAN_MAX    2 /* 802.1Q and QinQ */
#define PKT_IP6_EXT_MAX 8 /* extension headers walked before giving up */

enum pkt_frag {
	PKT_FRAG_NONE = 0,
	PKT_FRAG_FIRST, /* offset 0, more fragments follow */
	PKT_FRAG_LATER, /* offset > 0: no L4 header here */
};

struct pkt_meta {
	uint8_t af;      /* 4, 6, or 0 for a non-IP frame */
	uint8_t l4proto; /* IPPROTO_*; for IPv6, after the ext chain */
	uint8_t frag;    /* enum pkt_frag */
	uint8_t nvlan;
	uint16_t vlan[PKT_VLAN_MAX]; /* TCI, outermost first */
	uint16_t ethertype;          /* innermost, host order */
	uint16_t l3_off;             /* offset of the IP header */
	uint16_t l4_off; /* offset of the L4 header (valid if has_l4) */
	uint8_t has_l4;  /* L4 header present and validated */
	uint8_t tcp_flags;
	/* IPv4 source-route option or IPv6 routing header: DST is only
	 * the next waypoint (docs/packet-parsing.md, Source routing). */
	uint8_t srcroute;
	uint8_t pad;
	uint16_t sport;  /* host order; ICMP: type << 8 | code */
	uint16_t dport;  /* host order; 0 for ICMP */
	uint16_t l3_len; /* IP total length as the header says */
	uint32_t src4;   /* host order */
	uint32_t dst4;
	uint8_t src6[16];
	uint8_t dst6[16];
};

/*
 * Parses the Ethernet frame in BUF.  Returns 0 and fills M on success,
 * otherwise an enum cdn_reason naming the malformation (M partially
 * filled).  A non-IP frame returns CDN_R_NON_IP with M->ethertype set.
 */
int pkt_parse(const uint8_t *buf, uint32_t len, struct pkt_meta *m);

#endif
