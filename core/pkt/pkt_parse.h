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

/*
 * Tunnels (docs/packet-parsing.md, Tunnels): how a layer was carried.
 * The parser looks inside for classification only; the frame is
 * forwarded unchanged.  X(id, name): the name is what counters, replay
 * and explain print.
 */
#define PKT_TUNS(X)                                                            \
	X(NONE, "none")                                                        \
	X(IPIP, "ipip")       /* IPv4 in IPv4, protocol 4 */                   \
	X(SIT, "6in4")        /* IPv6 in IPv4, 41 (6in4, 6to4) */              \
	X(IP4IN6, "4in6")     /* IPv4 in IPv6, next header 4 */                \
	X(IP6IN6, "6in6")     /* IPv6 in IPv6, next header 41 */               \
	X(SRV6, "srv6")       /* IPv4/6 behind a segment routing header */     \
	X(GRE, "gre")         /* GRE, inner IPv4 or IPv6 */                    \
	X(GRE_ETH, "gre-eth") /* GRE, transparent Ethernet 0x6558 */           \
	X(MPLS, "mpls")       /* MPLS label stack, over Ethernet or GRE */     \
	X(VXLAN, "vxlan")                                                      \
	X(GENEVE, "geneve")                                                    \
	X(TEREDO, "teredo")                                                    \
	X(ETHERIP, "etherip") /* Ethernet in IP, protocol 97 */                \
	X(L2TP, "l2tp")       /* L2TPv2, PPP in UDP 1701 */                    \
	X(GUE, "gue")         /* generic UDP encapsulation, 6080 */            \
	X(GTP, "gtp")         /* GTP-U, 2152 */

enum pkt_tun {
#define X(id, name) PKT_TUN_##id,
	PKT_TUNS(X)
#undef X
	    PKT_TUN_MAX
};

const char *pkt_tun_name(unsigned t);
/* The enum pkt_tun of NAME (a carrier, not "none"), or -1. */
int pkt_tun_parse(const char *name);

/* Layers recorded: the outer packet and up to PKT_TUN_DEPTH_MAX inner. */
#define PKT_TUN_DEPTH_MAX 7
#define PKT_TUN_DEPTH_DEF 3
#define PKT_LAYER_MAX     (PKT_TUN_DEPTH_MAX + 1)
#define PKT_OPAQUE_MAX    8

/* IANA ports of the UDP carriers of GRE (RFC 8086), MPLS (RFC 7510)
 * and VXLAN-GPE, fixed: opened like their IP twins. */
#define PKT_UDP_GRE  4754
#define PKT_UDP_MPLS 6635
#define PKT_UDP_GPE  4790
/* L2TP (RFC 2661, 3931; either port), GUE, GTP-U: also fixed. */
#define PKT_UDP_L2TP 1701
#define PKT_UDP_GUE  6080
#define PKT_UDP_GTPU 2152

/*
 * What the parser needs to know to open tunnels: the policy's `tunnels`
 * group (docs/config.md).  A zero port is off.
 */
struct pkt_tun_cfg {
	uint8_t depth; /* tunnels opened, nested; deeper: dropped */
	uint8_t nopaque;
	uint16_t vxlan;  /* UDP destination port */
	uint16_t geneve; /* UDP destination port */
	uint16_t teredo; /* UDP port, either direction */
	uint16_t dtls;   /* UDP port where a DTLS record is opaque */
	uint16_t pad;
	uint16_t opaque_udp[PKT_OPAQUE_MAX]; /* either direction */
};

/* The defaults: depth 3, 4789, 6081, 3544, 443, IKE, OpenVPN, WireGuard. */
extern const struct pkt_tun_cfg pkt_tun_default;

/* One IP layer of a tunnelled packet. */
struct pkt_layer {
	uint8_t af;   /* 4 or 6 */
	uint8_t kind; /* enum pkt_tun: how this layer was carried */
	uint16_t pad;
	uint32_t src4;    /* host order, when af is 4 */
	uint8_t src6[16]; /* when af is 6 */
};

/*
 * A layer's destination (`dst_via`): a relay's says where the relay
 * sends, the innermost where the inside host does.  Apart from struct
 * pkt_layer, which the proxied flows' table keeps per flow: a relay's
 * reported hops say who, never where.
 */
struct pkt_layer_dst {
	uint32_t dst4; /* host order, when the layer's af is 4 */
	uint8_t dst6[16];
};

/* pkt_meta.proxied */
#define PKT_PRX_REPORTED    1
#define PKT_PRX_SRC_UNKNOWN 2

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
	uint8_t opaque;  /* innermost payload is an encrypted tunnel */
	uint16_t sport;  /* host order; ICMP: type << 8 | code */
	uint16_t dport;  /* host order; 0 for ICMP */
	uint16_t l3_len; /* IP total length as the header says */
	uint32_t src4;   /* host order */
	uint32_t dst4;
	uint8_t src6[16];
	uint8_t dst6[16];
	/*
	 * A fragment (frag != NONE): its datagram's identification (IPv4:
	 * the 16-bit ID), where its data lies in the datagram (bytes) and
	 * whether more follow: what the fragment table (core/frag) keys
	 * and tracks.  Zero otherwise.  Always the outermost packet's: an
	 * inner fragment is refused (tun-fragment), never tracked.
	 */
	uint32_t frag_id;
	uint16_t frag_off;
	uint16_t frag_len;
	uint8_t frag_more;
	/*
	 * Never the parser's: a flow whose relay reported its client
	 * (core/prx) is judged as PKT_PRX_REPORTED, the client in SRC and
	 * in LAYER[] (docs/proxies.md); PKT_PRX_SRC_UNKNOWN: the relay
	 * did not say who (SRC then geolocates as unknown).
	 */
	uint8_t proxied;
	uint8_t frag_pad[2];
	/*
	 * Tunnels: NLAYER is 0 for a packet carried by nothing, else the
	 * IP layers seen, outermost first (LAYER[0] is SRC above).  The
	 * transport fields (l4proto, ports, tcp_flags, has_l4, l4_off)
	 * are the innermost packet's; af, addresses, l3_off, l3_len and
	 * the fragment fields stay the outermost's.
	 */
	uint8_t nlayer;
	uint8_t l0kind;   /* how LAYER[0] came: NONE or MPLS */
	uint8_t tun_next; /* parser scratch: kind of the next layer */
	uint8_t srh;      /* parser scratch: SRH (type 4) seen */
	struct pkt_layer layer[PKT_LAYER_MAX];
	struct pkt_layer_dst layer_dst[PKT_LAYER_MAX]; /* unused proxied */
};

static inline int
pkt_tunnelled(const struct pkt_meta *m)
{
	return m->nlayer != 0;
}

/* The innermost layer: the origin.  Only for a tunnelled M. */
static inline const struct pkt_layer *
pkt_origin(const struct pkt_meta *m)
{
	return &m->layer[m->nlayer - 1];
}

/* The address family of the packet the transport fields belong to. */
static inline uint8_t
pkt_l4_af(const struct pkt_meta *m)
{
	return m->nlayer ? pkt_origin(m)->af : m->af;
}

/*
 * Parses the Ethernet frame in BUF.  Returns 0 and fills M on success,
 * otherwise an enum cdn_reason naming the malformation (M partially
 * filled).  A non-IP frame returns CDN_R_NON_IP with M->ethertype set.
 */
int pkt_parse(const uint8_t *buf, uint32_t len, struct pkt_meta *m);

/* The same, opening tunnels as CFG says (pkt_parse: pkt_tun_default). */
int pkt_parse_cfg(const uint8_t *buf, uint32_t len,
    const struct pkt_tun_cfg *cfg, struct pkt_meta *m);

#endif
