/*
 * Tunnels: the parser looks inside IP-in-IP, GRE, MPLS and the UDP
 * encapsulations, for classification only (the frame is forwarded as it
 * came).  Every inner header is bounded by the outer packet's payload,
 * never by the frame, and a malformed one is a drop with a named reason:
 * an outer verdict must never pass what the inside hides.  See
 * docs/packet-parsing.md, Tunnels.
 */
#include "core/pkt/pkt_int.h"
#include "core/stats/reasons.h"

#define PKT_MPLS_MAX    8 /* labels walked before giving up */
#define PKT_UDP_HLEN    8
#define PKT_VXLAN_HLEN  8
#define PKT_GENEVE_HLEN 8
#define PKT_DTLS_HLEN   13

/* GRE flags (RFC 2784, 2890): checksum, key and sequence are all known. */
#define PKT_GRE_C   0x8000
#define PKT_GRE_K   0x2000
#define PKT_GRE_S   0x1000
#define PKT_GRE_VER 0x0007
#define PKT_GRE_A   0x0080 /* PPTP acknowledgement (RFC 2637) */

/* L2TP flags (RFC 2661, 3931): control, length, sequence, offset. */
#define PKT_L2TP_T   0x8000
#define PKT_L2TP_L   0x4000
#define PKT_L2TP_S   0x0800
#define PKT_L2TP_O   0x0200
#define PKT_L2TP_VER 0x000f

/* GTP-U (3GPP TS 29.281): version 1, protocol type GTP, G-PDU. */
#define PKT_GTP_HLEN 8
#define PKT_GTP_GPDU 255
#define PKT_GTP_OPT  0x07 /* E, S, PN: 4 more bytes */
#define PKT_GTP_E    0x04

/* PPP protocols (RFC 1661, 1332, 5072, 1962, 3032). */
#define PKT_PPP_IP4 0x0021
#define PKT_PPP_IP6 0x0057
#define PKT_PPP_CCP 0x00fd /* compressed (MPPE), per link: 0x00fb */
#define PKT_PPP_CIL 0x00fb
#define PKT_PPP_MPL 0x0281 /* MPLS unicast, RFC 3032 */
#define PKT_PPP_MPM 0x0283 /* MPLS multicast */

enum {
	PKT_P_IPIP = 4,
	PKT_P_IPV6 = 41,
	PKT_P_GRE = 47,
	PKT_P_ESP = 50,
	PKT_P_UDP = 17,
	PKT_P_ETHERIP = 97,
	PKT_P_L2TP = 115,
	PKT_P_MPLS = 137
};

const struct pkt_tun_cfg pkt_tun_default = {
	.depth = PKT_TUN_DEPTH_DEF,
	.nopaque = 4,
	.vxlan = 4789,
	.geneve = 6081,
	.teredo = 3544,
	.dtls = 443,
	.opaque_udp = { 500, 4500, 1194, 51820 },
};

static const char *const pkt_tun_names[] = {
#define X(id, name) name,
	PKT_TUNS(X)
#undef X
};

const char *
pkt_tun_name(unsigned t)
{
	return t < PKT_TUN_MAX ? pkt_tun_names[t] : "?";
}

int
pkt_tun_parse(const char *name)
{
	for (unsigned t = PKT_TUN_NONE + 1; t < PKT_TUN_MAX; t++)
		if (strcmp(name, pkt_tun_names[t]) == 0)
			return (int)t;
	return -1;
}

/* What parsing the inner packet overwrites and the outer one keeps. */
struct pkt_outer {
	uint8_t af;
	uint16_t l3_off, l3_len;
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
};

static void
pkt_outer_save(const struct pkt_meta *m, struct pkt_outer *o)
{
	o->af = m->af;
	o->l3_off = m->l3_off;
	o->l3_len = m->l3_len;
	o->src4 = m->src4;
	o->dst4 = m->dst4;
	memcpy(o->src6, m->src6, 16);
	memcpy(o->dst6, m->dst6, 16);
}

static void
pkt_outer_restore(struct pkt_meta *m, const struct pkt_outer *o)
{
	m->af = o->af;
	m->l3_off = o->l3_off;
	m->l3_len = o->l3_len;
	m->src4 = o->src4;
	m->dst4 = o->dst4;
	memcpy(m->src6, o->src6, 16);
	memcpy(m->dst6, o->dst6, 16);
}

/* The outermost layer, recorded when the first tunnel is found. */
static void
pkt_layer_first(struct pkt_meta *m)
{
	m->nlayer = 1;
	m->layer[0].af = m->af;
	m->layer[0].kind = m->l0kind;
	m->layer[0].src4 = m->src4;
	m->layer_dst[0].dst4 = m->dst4;
	if (m->af == 6) {
		memcpy(m->layer[0].src6, m->src6, 16);
		memcpy(m->layer_dst[0].dst6, m->dst6, 16);
	}
}

/*
 * Opens the IP packet of family AF at OFF, ending at END, carried as
 * KIND.  The transport fields become the inner packet's; the rest stays
 * the outer one's.  A malformed inner packet is tun-bad-inner, whatever
 * the parser called it, unless a tunnel deeper down named it.
 */
static int
pkt_tun_ip(const uint8_t *buf, uint32_t off, uint32_t end, unsigned af,
    unsigned kind, const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	struct pkt_outer o;
	int rc;

	if (m->nlayer == 0)
		pkt_layer_first(m);
	if (m->nlayer > c->depth || m->nlayer >= PKT_LAYER_MAX)
		return CDN_R_TUN_DEPTH;
	if (off > end || end > 0xffff)
		return CDN_R_TUN_INNER;
	pkt_outer_save(m, &o);
	m->l3_off = (uint16_t)off;
	m->tun_next = (uint8_t)kind;
	m->has_l4 = m->tcp_flags = 0;
	m->sport = m->dport = 0;
	rc = af == 4 ? pkt_ip4(buf, end, c, m) : pkt_ip6(buf, end, c, m);
	pkt_outer_restore(m, &o);
	if (rc != 0 && !CDN_R_IS_TUN(rc))
		rc = CDN_R_TUN_INNER;
	/* The outer packet is whole (a fragment is refused before it is
	 * opened), so a fragment here is an inner one.  The fragment table
	 * tracks outer datagrams only: refused, never judged apart. */
	if (rc == 0 && m->frag != PKT_FRAG_NONE)
		rc = CDN_R_TUN_FRAG;
	return rc;
}

/*
 * Could the bytes at OFF be an Ethernet frame carrying IP, as an
 * Ethernet pseudowire without control word sends it (RFC 4448)?  Its
 * destination MAC may begin with 4 or 6, and the label says which it
 * is, not the bytes: an ethertype of IPv4 or IPv6 (behind up to one
 * tag) where an IP header would hold its source, followed by that
 * version, is read both ways.  An IP source that looks so (8.0.64.0/
 * 18 and the like) is rare enough to refuse.
 */
static int
pkt_mpls_eth_like(const uint8_t *buf, uint32_t off, uint32_t end)
{
	uint32_t o = off + PKT_ETH_HLEN - 2;
	uint16_t et;

	if (end - off < PKT_ETH_HLEN + PKT_VLAN_HLEN + 1)
		return 0;
	et = pkt_ld16(buf + o);
	if (pkt_is_vlan_tpid(et))
		et = pkt_ld16(buf + (o += PKT_VLAN_HLEN));
	return (et == PKT_ET_IP4 && buf[o + 2] >> 4 == 4) ||
	       (et == PKT_ET_IP6 && buf[o + 2] >> 4 == 6);
}

/*
 * Steps over the label stack at *OFF; returns the IP version behind its
 * bottom (4 or 6) or, negated, the reason it cannot be opened.  A
 * pseudowire (control word, Ethernet) is not IP: not inspected, and so
 * is what could be read as either (pkt_mpls_eth_like).
 */
static int
pkt_mpls_walk(const uint8_t *buf, uint32_t *off, uint32_t end)
{
	unsigned i, bos = 0, v;

	for (i = 0; !bos; i++) {
		if (i == PKT_MPLS_MAX || end < *off || end - *off < 4)
			return -CDN_R_TUN_MPLS;
		bos = buf[*off + 2] & 1;
		*off += 4;
	}
	if (*off >= end)
		return -CDN_R_TUN_MPLS;
	v = buf[*off] >> 4;
	if ((v != 4 && v != 6) || pkt_mpls_eth_like(buf, *off, end))
		return -CDN_R_TUN_PROTO;
	return (int)v;
}

static int
pkt_tun_mpls(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	int af = pkt_mpls_walk(buf, &off, end);

	if (af < 0)
		return -af;
	return pkt_tun_ip(buf, off, end, (unsigned)af, PKT_TUN_MPLS, c, m);
}

int
pkt_tun_mpls_eth(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	uint32_t off = m->l3_off;
	int af = pkt_mpls_walk(buf, &off, len), rc;

	if (af < 0)
		return -af;
	m->l0kind = PKT_TUN_MPLS;
	m->l3_off = (uint16_t)off;
	rc = af == 4 ? pkt_ip4(buf, len, c, m) : pkt_ip6(buf, len, c, m);
	if (rc == 0 && m->nlayer == 0)
		pkt_layer_first(m);
	return rc;
}

static int pkt_tun_eth(const uint8_t *buf, uint32_t off, uint32_t end,
    unsigned kind, const struct pkt_tun_cfg *c, struct pkt_meta *m);

/*
 * The payload ET names at OFF.  Link control carries no IP: the packet
 * is then judged as the tunnel packet it is.  Anything else unknown
 * could hide IP: not inspected, dropped.
 */
static int
pkt_tun_payload(const uint8_t *buf, uint32_t off, uint32_t end, uint16_t et,
    unsigned kind, const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	switch (et) {
	case PKT_ET_IP4:
		return pkt_tun_ip(buf, off, end, 4, kind, c, m);
	case PKT_ET_IP6:
		return pkt_tun_ip(buf, off, end, 6, kind, c, m);
	case PKT_ET_MPLS:
	case PKT_ET_MPLS_MC:
		return pkt_tun_mpls(buf, off, end, c, m);
	case PKT_ET_TEB:
		if (kind == PKT_TUN_GRE)
			kind = PKT_TUN_GRE_ETH;
		return pkt_tun_eth(buf, off, end, kind, c, m);
	default:
		return pkt_et_link(et) ? 0 : CDN_R_TUN_PROTO;
	}
}

/* An inner Ethernet frame at OFF: at most PKT_VLAN_MAX tags. */
static int
pkt_tun_eth(const uint8_t *buf, uint32_t off, uint32_t end, unsigned kind,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint16_t et;

	if (end < off || end - off < PKT_ETH_HLEN)
		return CDN_R_TUN_ETH;
	et = pkt_ld16(buf + off + 12);
	off += PKT_ETH_HLEN;
	for (unsigned i = 0; pkt_is_vlan_tpid(et); i++) {
		if (i == PKT_VLAN_MAX || end - off < PKT_VLAN_HLEN)
			return CDN_R_TUN_ETH;
		et = pkt_ld16(buf + off + 2);
		off += PKT_VLAN_HLEN;
	}
	/* Ethernet in Ethernet would only recurse: not a thing. */
	if (et == PKT_ET_TEB)
		return CDN_R_TUN_PROTO;
	return pkt_tun_payload(buf, off, end, et, kind, c, m);
}

/*
 * PPP at OFF (PPTP, L2TP): address and control optional (ACFC), a 1- or
 * 2-byte protocol (PFC).  IP and MPLS in PPP are plain to read and
 * opened.  Compressed or encrypted datagrams (MPPE) and control
 * protocols (0x8000 and up: LCP, NCPs, authentication) carry nothing
 * that can be read: opaque.  Every other network protocol (bridged
 * Ethernet 0x0031, Van Jacobson and IPHC compressed TCP/IP, multilink
 * fragments, ...) could hide or split an IP packet: not inspected,
 * dropped.
 */
static int
pkt_tun_ppp(const uint8_t *buf, uint32_t off, uint32_t end, unsigned kind,
    int bad, const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint16_t pr;

	if (end - off >= 2 && pkt_ld16(buf + off) == 0xff03)
		off += 2;
	m->opaque = 1;
	if (off == end)
		return 0;
	/* A protocol with its low bit set is one byte long (PFC). */
	if (buf[off] & 1)
		pr = buf[off++];
	else if (end - off >= 2)
		pr = pkt_ld16(buf + off), off += 2;
	else
		return bad;
	if (pr >= 0x8000 || pr == PKT_PPP_CCP || pr == PKT_PPP_CIL)
		return 0;
	m->opaque = 0;
	if (pr == PKT_PPP_MPL || pr == PKT_PPP_MPM)
		return pkt_tun_mpls(buf, off, end, c, m);
	if (pr != PKT_PPP_IP4 && pr != PKT_PPP_IP6)
		return CDN_R_TUN_PROTO;
	return pkt_tun_ip(buf, off, end, pr == PKT_PPP_IP4 ? 4 : 6, kind, c, m);
}

/*
 * PPTP (RFC 2637): enhanced GRE, version 1, key (length and call id)
 * always, sequence and acknowledgement optional, then PPP.
 */
static int
pkt_tun_pptp(const uint8_t *buf, uint32_t off, uint32_t end, uint16_t fl,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint32_t hl = 8 + (fl & PKT_GRE_S ? 4 : 0) + (fl & PKT_GRE_A ? 4 : 0);

	if (fl & ~(PKT_GRE_K | PKT_GRE_S | PKT_GRE_A | PKT_GRE_VER) ||
	    !(fl & PKT_GRE_K) || hl > end - off)
		return CDN_R_TUN_GRE;
	return pkt_tun_ppp(buf, off + hl, end, PKT_TUN_GRE, CDN_R_TUN_GRE, c,
	    m);
}

/*
 * GRE at OFF (RFC 2784, with RFC 2890's key and sequence): version 0
 * with only C, K and S set.  Routing (RFC 1701) and the other reserved
 * bits are refused, not skipped; version 1 is PPTP (pkt_tun_pptp).
 */
static int
pkt_tun_gre(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint16_t fl, et;
	uint32_t hl;

	if (end - off < 4)
		return CDN_R_TUN_GRE;
	fl = pkt_ld16(buf + off);
	et = pkt_ld16(buf + off + 2);
	if ((fl & PKT_GRE_VER) == 1 && et == 0x880b)
		return pkt_tun_pptp(buf, off, end, fl, c, m);
	if (fl & ~(PKT_GRE_C | PKT_GRE_K | PKT_GRE_S))
		return CDN_R_TUN_GRE;
	hl = 4 + (fl & PKT_GRE_C ? 4 : 0) + (fl & PKT_GRE_K ? 4 : 0) +
	     (fl & PKT_GRE_S ? 4 : 0);
	if (hl > end - off)
		return CDN_R_TUN_GRE;
	if (et == PKT_ET_TEB)
		return pkt_tun_eth(buf, off + hl, end, PKT_TUN_GRE_ETH, c, m);
	if (et == PKT_ET_IP4 || et == PKT_ET_IP6 || et == PKT_ET_MPLS ||
	    et == PKT_ET_MPLS_MC)
		return pkt_tun_payload(buf, off + hl, end, et, PKT_TUN_GRE, c,
		    m);
	return CDN_R_TUN_PROTO;
}

/* GENEVE (RFC 8926): version 0; each option stays inside the options. */
static int
pkt_tun_geneve(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint32_t o, oend, n;
	uint16_t et;

	if (end - off < PKT_GENEVE_HLEN || (buf[off] >> 6) != 0)
		return CDN_R_TUN_GENEVE;
	o = off + PKT_GENEVE_HLEN;
	oend = o + (uint32_t)(buf[off] & 0x3f) * 4;
	if (oend > end)
		return CDN_R_TUN_GENEVE;
	while (o < oend) {
		if (oend - o < 4)
			return CDN_R_TUN_GENEVE;
		n = 4 + (uint32_t)(buf[o + 3] & 0x1f) * 4;
		if (n > oend - o)
			return CDN_R_TUN_GENEVE;
		o += n;
	}
	et = pkt_ld16(buf + off + 2);
	if (et == PKT_ET_TEB)
		return pkt_tun_eth(buf, oend, end, PKT_TUN_GENEVE, c, m);
	if (et == PKT_ET_IP4 || et == PKT_ET_IP6)
		return pkt_tun_payload(buf, oend, end, et, PKT_TUN_GENEVE, c,
		    m);
	return CDN_R_TUN_PROTO;
}

/*
 * Steps *OFF over Teredo's optional authentication header (type 1) and
 * origin indication (type 0), in that order (RFC 4380); -1 when one
 * runs past END.
 */
static int
pkt_teredo_skip(const uint8_t *buf, uint32_t *off, uint32_t end)
{
	uint32_t n;

	if (end - *off >= 4 && pkt_ld16(buf + *off) == 1) {
		n = 4 + (uint32_t)buf[*off + 2] + buf[*off + 3] + 8 + 1;
		if (n > end - *off)
			return -1;
		*off += n;
	}
	if (end - *off >= 2 && pkt_ld16(buf + *off) == 0) {
		if (end - *off < 8)
			return -1;
		*off += 8;
	}
	return 0;
}

/*
 * Teredo off its port: a relay sends from a port of its own to the
 * client's mapped one (RFC 4380, 5.4).  Taken as Teredo when an IPv6
 * header follows with a Teredo address (2001:0::/32) on either side.
 */
static int
pkt_teredo_like(const uint8_t *buf, uint32_t off, uint32_t end)
{
	if (pkt_teredo_skip(buf, &off, end) < 0 || end - off < 40 ||
	    (buf[off] >> 4) != 6)
		return 0;
	return pkt_ld32(buf + off + 8) == 0x20010000 ||
	       pkt_ld32(buf + off + 24) == 0x20010000;
}

/*
 * Teredo: an IPv6 packet after the optional headers.  Anything else on
 * the Teredo port is refused: an unknown payload there is not let
 * through on the outer verdict.
 */
static int
pkt_tun_teredo(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	if (pkt_teredo_skip(buf, &off, end) < 0 || end - off < 40 ||
	    (buf[off] >> 4) != 6)
		return CDN_R_TUN_TEREDO;
	return pkt_tun_ip(buf, off, end, 6, PKT_TUN_TEREDO, c, m);
}

/* Does the UDP datagram at OFF..END look like what cannot be opened? */
static int
pkt_udp_opaque(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, const struct pkt_meta *m)
{
	for (unsigned i = 0; i < c->nopaque && i < PKT_OPAQUE_MAX; i++)
		if (m->dport == c->opaque_udp[i] ||
		    m->sport == c->opaque_udp[i])
			return 1;
	/* A DTLS record header: content type 20..25, version 0xfe.. */
	return c->dtls != 0 && (m->dport == c->dtls || m->sport == c->dtls) &&
	       end - off >= PKT_DTLS_HLEN && buf[off] >= 20 && buf[off] <= 25 &&
	       buf[off + 1] == 0xfe;
}

/*
 * VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): version 0; with the P flag
 * the next protocol names IPv4 (1), IPv6 (2), Ethernet (3) or MPLS (5),
 * without it Ethernet follows as in VXLAN.
 */
static int
pkt_tun_gpe(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	static const uint16_t et[] = { 0, PKT_ET_IP4, PKT_ET_IP6, PKT_ET_TEB, 0,
		PKT_ET_MPLS };
	unsigned np;

	if (end - off < PKT_VXLAN_HLEN || (buf[off] & 0x30))
		return CDN_R_TUN_VXLAN;
	np = buf[off] & 0x04 ? buf[off + 3] : 3;
	if (np >= sizeof(et) / sizeof(et[0]) || et[np] == 0)
		return CDN_R_TUN_PROTO;
	return pkt_tun_payload(buf, off + PKT_VXLAN_HLEN, end, et[np],
	    PKT_TUN_VXLAN, c, m);
}

static int pkt_tun_etherip(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m);

/*
 * L2TPv3 data (RFC 3931) puts a cookie and a sublayer, whose lengths
 * are set per session and never on the wire, before its payload: it
 * cannot be opened reliably, so it is not inspected.  Session 0 is a
 * control message, carrying no IP.  OFF is where the session id is.
 */
static int
pkt_tun_l2tp3(const uint8_t *buf, uint32_t off, uint32_t end)
{
	if (end - off < 4)
		return CDN_R_TUN_L2TP;
	return pkt_ld32(buf + off) == 0 ? 0 : CDN_R_TUN_PROTO;
}

/*
 * L2TP on UDP (RFC 2661, 3931).  Control messages (T) carry no IP.
 * Version 2 data is PPP behind the optional length, sequence and
 * offset fields, opened like PPTP; version 3 as pkt_tun_l2tp3 says.
 */
static int
pkt_tun_l2tp(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint16_t fl;
	uint32_t hl;

	if (end - off < 2)
		return CDN_R_TUN_L2TP;
	fl = pkt_ld16(buf + off);
	if ((fl & PKT_L2TP_VER) == 3)
		return fl & PKT_L2TP_T ? 0 : pkt_tun_l2tp3(buf, off + 4, end);
	if ((fl & PKT_L2TP_VER) != 2)
		return CDN_R_TUN_L2TP;
	if (fl & PKT_L2TP_T)
		return 0;
	hl = 2 + (fl & PKT_L2TP_L ? 2 : 0) + 4 + (fl & PKT_L2TP_S ? 4 : 0);
	if (fl & PKT_L2TP_O) {
		if (end - off < hl + 2)
			return CDN_R_TUN_L2TP;
		hl += 2 + (uint32_t)pkt_ld16(buf + off + hl);
	}
	if (hl > end - off)
		return CDN_R_TUN_L2TP;
	return pkt_tun_ppp(buf, off + hl, end, PKT_TUN_L2TP, CDN_R_TUN_L2TP, c,
	    m);
}

/*
 * What the IP protocol number PROTO names at OFF, as behind an IP
 * header (GUE).  A bare transport header would take the outer packet's
 * addresses, as no rule expects of a tunnel: not inspected.
 */
static int
pkt_tun_ipproto(const uint8_t *buf, uint32_t off, uint32_t end, uint8_t proto,
    unsigned kind, const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	switch (proto) {
	case PKT_P_IPIP:
		return pkt_tun_ip(buf, off, end, 4, kind, c, m);
	case PKT_P_IPV6:
		return pkt_tun_ip(buf, off, end, 6, kind, c, m);
	case PKT_P_GRE:
		return pkt_tun_gre(buf, off, end, c, m);
	case PKT_P_MPLS:
		return pkt_tun_mpls(buf, off, end, c, m);
	case PKT_P_ETHERIP:
		return pkt_tun_etherip(buf, off, end, c, m);
	case PKT_P_L2TP:
		return pkt_tun_l2tp3(buf, off, end);
	case PKT_P_ESP:
		m->opaque = 1;
		return 0;
	default:
		return CDN_R_TUN_PROTO;
	}
}

/*
 * GUE (draft-ietf-intarea-gue): variant 1 is a bare IPv4 or IPv6
 * packet; variant 0 a header whose extension fields are skipped by its
 * length, then the IP protocol it names (or a control message).
 */
static int
pkt_tun_gue(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	unsigned v;
	uint32_t hl;

	if (end - off < 4)
		return CDN_R_TUN_GUE;
	v = buf[off] >> 4;
	if (v == 4 || v == 6)
		return pkt_tun_ip(buf, off, end, v, PKT_TUN_GUE, c, m);
	if (v >> 2 != 0)
		return CDN_R_TUN_GUE;
	if (buf[off] & 0x20)
		return 0;
	hl = 4 + (uint32_t)(buf[off] & 0x1f) * 4;
	if (hl > end - off)
		return CDN_R_TUN_GUE;
	return pkt_tun_ipproto(buf, off + hl, end, buf[off + 1], PKT_TUN_GUE, c,
	    m);
}

/*
 * GTP-U (3GPP TS 29.281): version 1; a G-PDU carries a user packet
 * behind the optional sequence, N-PDU and extension headers (each
 * counted in 4-octet units, its last byte naming the next).  Other
 * messages (echo, error indication, end marker) carry none.  A user
 * packet that is not IP (Ethernet or unstructured PDU sessions) is not
 * inspected.
 */
static int
pkt_tun_gtp(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	uint32_t hl = PKT_GTP_HLEN, n;
	unsigned nx = 0, v;

	if (end - off < PKT_GTP_HLEN || (buf[off] & 0xf0) != 0x30)
		return CDN_R_TUN_GTP;
	if (buf[off + 1] != PKT_GTP_GPDU)
		return 0;
	if (buf[off] & PKT_GTP_OPT) {
		if (end - off < (hl += 4))
			return CDN_R_TUN_GTP;
		nx = buf[off] & PKT_GTP_E ? buf[off + hl - 1] : 0;
	}
	while (nx != 0) {
		n = end - off - hl >= 4 ? (uint32_t)buf[off + hl] * 4 : 0;
		if (n == 0 || n > end - off - hl)
			return CDN_R_TUN_GTP;
		nx = buf[off + hl + n - 1];
		hl += n;
	}
	if (hl == end - off)
		return CDN_R_TUN_GTP;
	v = buf[off + hl] >> 4;
	if (v != 4 && v != 6)
		return CDN_R_TUN_PROTO;
	return pkt_tun_ip(buf, off + hl, end, v, PKT_TUN_GTP, c, m);
}

/* The UDP carriers pkt_udp_carrier tells apart. */
enum {
	PKT_U_NONE,
	PKT_U_VXLAN,
	PKT_U_GENEVE,
	PKT_U_TEREDO,
	PKT_U_GRE,
	PKT_U_MPLS,
	PKT_U_GPE,
	PKT_U_L2TP,
	PKT_U_GUE,
	PKT_U_GTP
};

/*
 * Which carrier the datagram at OFF..END is.  The destination port
 * first: the receiver decapsulates by the port it listens on.  Then the
 * ports replies come from (Teredo, L2TP) and Teredo's signature.  A
 * source port is the sender's to choose: it must never stand in for
 * what the destination port opens (a GENEVE packet from port 3544 is
 * GENEVE to its receiver, whatever Teredo would make of it).
 */
static unsigned
pkt_udp_carrier(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, const struct pkt_meta *m)
{
	uint16_t d = m->dport, s = m->sport;

	if (c->vxlan && d == c->vxlan)
		return PKT_U_VXLAN;
	if (c->geneve && d == c->geneve)
		return PKT_U_GENEVE;
	if (c->teredo && d == c->teredo)
		return PKT_U_TEREDO;
	switch (d) {
	case PKT_UDP_GRE:
		return PKT_U_GRE;
	case PKT_UDP_MPLS:
		return PKT_U_MPLS;
	case PKT_UDP_GPE:
		return PKT_U_GPE;
	case PKT_UDP_L2TP:
		return PKT_U_L2TP;
	case PKT_UDP_GUE:
		return PKT_U_GUE;
	case PKT_UDP_GTPU:
		return PKT_U_GTP;
	}
	if (s == PKT_UDP_L2TP)
		return PKT_U_L2TP;
	if (c->teredo && (s == c->teredo || pkt_teredo_like(buf, off, end)))
		return PKT_U_TEREDO;
	return PKT_U_NONE;
}

/*
 * HAVE is where the bytes of this packet end: a first fragment's UDP
 * length covers the whole datagram, so END is bounded by it before
 * anything looks at the payload.
 */
static int
pkt_tun_udp(const uint8_t *buf, uint32_t have, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	uint32_t off = m->l4_off + PKT_UDP_HLEN;
	uint32_t end = m->l4_off + (uint32_t)pkt_ld16(buf + m->l4_off + 4);
	unsigned u;

	if (end > have)
		end = have;
	u = pkt_udp_carrier(buf, off, end, c, m);
	if (u == PKT_U_NONE) {
		if (m->frag == PKT_FRAG_NONE &&
		    pkt_udp_opaque(buf, off, end, c, m))
			m->opaque = 1;
		return 0;
	}
	/* A first fragment: the rest of the inside is not here to judge. */
	if (m->frag != PKT_FRAG_NONE)
		return CDN_R_TUN_FRAG;
	switch (u) {
	case PKT_U_VXLAN:
		if (end - off < PKT_VXLAN_HLEN || !(buf[off] & 0x08))
			return CDN_R_TUN_VXLAN;
		return pkt_tun_eth(buf, off + PKT_VXLAN_HLEN, end,
		    PKT_TUN_VXLAN, c, m);
	case PKT_U_GENEVE:
		return pkt_tun_geneve(buf, off, end, c, m);
	case PKT_U_TEREDO:
		return pkt_tun_teredo(buf, off, end, c, m);
	case PKT_U_GRE:
		return pkt_tun_gre(buf, off, end, c, m);
	case PKT_U_MPLS:
		return pkt_tun_mpls(buf, off, end, c, m);
	case PKT_U_GPE:
		return pkt_tun_gpe(buf, off, end, c, m);
	case PKT_U_L2TP:
		return pkt_tun_l2tp(buf, off, end, c, m);
	case PKT_U_GUE:
		return pkt_tun_gue(buf, off, end, c, m);
	default:
		return pkt_tun_gtp(buf, off, end, c, m);
	}
}

/* IPv4 or IPv6 straight behind an IP header (or an IPv6 SRH). */
static int
pkt_tun_ipip(const uint8_t *buf, uint32_t end, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	unsigned af = m->l4proto == PKT_P_IPIP ? 4 : 6, kind;

	if (m->af == 4)
		kind = af == 4 ? PKT_TUN_IPIP : PKT_TUN_SIT;
	else if (m->srh)
		kind = PKT_TUN_SRV6;
	else
		kind = af == 4 ? PKT_TUN_IP4IN6 : PKT_TUN_IP6IN6;
	if (m->frag != PKT_FRAG_NONE)
		return CDN_R_TUN_FRAG;
	return pkt_tun_ip(buf, m->l4_off, end, af, kind, c, m);
}

/* EtherIP (RFC 3378): version 3, the rest reserved, then Ethernet. */
static int
pkt_tun_etherip(const uint8_t *buf, uint32_t off, uint32_t end,
    const struct pkt_tun_cfg *c, struct pkt_meta *m)
{
	if (end - off < 2 || pkt_ld16(buf + off) != 0x3000)
		return CDN_R_TUN_ETH;
	return pkt_tun_eth(buf, off + 2, end, PKT_TUN_ETHERIP, c, m);
}

int
pkt_tun(const uint8_t *buf, uint32_t end, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	switch (m->l4proto) {
	case PKT_P_UDP:
		return m->has_l4 ? pkt_tun_udp(buf, end, c, m) : 0;
	case PKT_P_IPIP:
	case PKT_P_IPV6:
		return pkt_tun_ipip(buf, end, c, m);
	case PKT_P_GRE:
		if (m->frag != PKT_FRAG_NONE)
			return CDN_R_TUN_FRAG;
		return pkt_tun_gre(buf, m->l4_off, end, c, m);
	case PKT_P_ETHERIP:
	case PKT_P_MPLS:
	case PKT_P_L2TP:
		if (m->frag != PKT_FRAG_NONE)
			return CDN_R_TUN_FRAG;
		return pkt_tun_ipproto(buf, m->l4_off, end, m->l4proto,
		    PKT_TUN_NONE, c, m);
	case PKT_P_ESP:
		m->opaque = 1;
		return 0;
	default:
		return 0;
	}
}
