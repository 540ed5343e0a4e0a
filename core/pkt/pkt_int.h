/*
 * Inside the parser: what pkt_parse.c and pkt_tun.c share.  The IP
 * parsers call the tunnel code, which calls them back for the inner
 * packet, so both sides see each other here and nowhere else.
 */
#ifndef CORDON_PKT_INT_H
#define CORDON_PKT_INT_H

#include <endian.h>
#include <string.h>

#include "core/pkt/pkt_parse.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define PKT_ETH_HLEN  14
#define PKT_VLAN_HLEN 4

#define PKT_ET_IP4      0x0800
#define PKT_ET_IP6      0x86dd
#define PKT_ET_VLAN     0x8100
#define PKT_ET_QINQ     0x88a8
#define PKT_ET_QINQ_OLD 0x9100
#define PKT_ET_MPLS     0x8847
#define PKT_ET_MPLS_MC  0x8848
#define PKT_ET_TEB      0x6558 /* transparent Ethernet bridging */

static inline uint16_t
pkt_ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t
pkt_ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline int
pkt_is_vlan_tpid(uint16_t et)
{
	return et == PKT_ET_VLAN || et == PKT_ET_QINQ || et == PKT_ET_QINQ_OLD;
}

/* Link control: what `non_ip` governs, carrying no IP. */
static inline int
pkt_et_link(uint16_t et)
{
	switch (et) {
	case 0x0806: /* ARP */
	case 0x8035: /* RARP */
	case 0x8809: /* slow protocols: LACP, marker, OAM */
	case 0x888e: /* EAPOL */
	case 0x88cc: /* LLDP */
	case 0x88f7: /* PTP */
	case 0x8902: /* CFM */
		return 1;
	default:
		return 0;
	}
}

/*
 * The IP packet at M->l3_off, whatever follows it ending at LEN (the
 * frame, or the outer packet's payload): 0 or an enum cdn_reason.
 */
int pkt_ip4(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m);
int pkt_ip6(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m);

/*
 * Called by pkt_ip4/pkt_ip6 once M holds a whole packet's transport
 * fields, the packet ending at END: opens it when it is a tunnel (the
 * transport fields become the inner packet's), marks it opaque when it
 * is an encrypted one.  0 or an enum cdn_reason.
 */
int pkt_tun(const uint8_t *buf, uint32_t end, const struct pkt_tun_cfg *c,
    struct pkt_meta *m);

/* An MPLS label stack at OFF over Ethernet: the outer packet behind it. */
int pkt_tun_mpls_eth(const uint8_t *buf, uint32_t len,
    const struct pkt_tun_cfg *c, struct pkt_meta *m);

/* A layer begins: recorded when the packet is tunnelled. */
static inline void
pkt_layer_note(struct pkt_meta *m)
{
	struct pkt_layer *l;
	struct pkt_layer_dst *d;

	if (likely(m->nlayer == 0))
		return;
	d = &m->layer_dst[m->nlayer];
	l = &m->layer[m->nlayer++];
	l->af = m->af;
	l->kind = m->tun_next;
	l->src4 = m->src4;
	d->dst4 = m->dst4;
	if (m->af == 6) {
		memcpy(l->src6, m->src6, 16);
		memcpy(d->dst6, m->dst6, 16);
	}
}

#endif
