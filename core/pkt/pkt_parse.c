/*
 * Packet header parser.  Every read is preceded by a check against the
 * end of the region it belongs to (frame, IP packet, extension header),
 * so a lying length field can only produce an error, never an
 * out-of-bounds load.  See docs/packet-parsing.md for the malformations
 * and the reason each one is counted under.
 */
#include "core/pkt/pkt_int.h"
#include "core/stats/reasons.h"

#define PKT_IP4_HLEN 20
#define PKT_IP6_HLEN 40

/* pkt_parse() unrolls the tag loop for exactly this many tags. */
_Static_assert(PKT_VLAN_MAX == 2, "pkt_parse() unrolls two VLAN tags");

#define PKT_IP4_MF      0x2000
#define PKT_IP4_OFFMASK 0x1fff
#define PKT_IP4_AH_MAX  PKT_IP6_EXT_MAX /* AH headers walked in IPv4 */

/* IPv4 option types the parser acts on (IANA "IP Option Numbers"). */
enum {
	PKT_OPT_EOL = 0,
	PKT_OPT_NOP = 1,
	PKT_OPT_LSRR = 131,
	PKT_OPT_SSRR = 137,
	PKT_OPT_SDB = 149, /* selective directed broadcast, RFC 1770 */
};

/* IPv6 next-header values the walk needs by name. */
enum {
	PKT_NH_HOPOPTS = 0,
	PKT_NH_ICMP = 1,
	PKT_NH_TCP = 6,
	PKT_NH_UDP = 17,
	PKT_NH_ROUTING = 43,
	PKT_NH_FRAGMENT = 44,
	PKT_NH_ESP = 50,
	PKT_NH_AH = 51,
	PKT_NH_ICMP6 = 58,
	PKT_NH_NONE = 59,
	PKT_NH_DSTOPTS = 60,
	PKT_NH_MOBILITY = 135,
	PKT_NH_HIP = 139,
	PKT_NH_SHIM6 = 140,
};

/*
 * Consumes one VLAN tag at *OFF.  The TPID has already been read as the
 * ethertype; the tag's TCI and the next ethertype follow it.
 */
static inline int
pkt_vlan_pop(const uint8_t *buf, uint32_t len, uint32_t *off,
    struct pkt_meta *m)
{
	if (unlikely(len < *off + PKT_VLAN_HLEN))
		return CDN_R_VLAN_TRUNC;
	m->vlan[m->nvlan++] = pkt_ld16(buf + *off);
	m->ethertype = pkt_ld16(buf + *off + 2);
	*off += PKT_VLAN_HLEN;
	return 0;
}

/*
 * L4 header at OFF, with LEN bytes of IP payload behind it.  ICMP is
 * recognised only under its own address family's protocol number.
 */
static inline int
pkt_l4(const uint8_t *p, uint32_t len, struct pkt_meta *m)
{
	uint32_t n;

	switch (m->l4proto) {
	case PKT_NH_TCP:
		if (unlikely(len < 20))
			return CDN_R_TCP_TRUNC;
		n = (uint32_t)(p[12] >> 4) * 4;
		if (unlikely(n < 20 || n > len))
			return CDN_R_TCP_DOFF;
		m->tcp_flags = p[13];
		break;
	case PKT_NH_UDP:
		if (unlikely(len < 8))
			return CDN_R_UDP_TRUNC;
		/*
		 * A first fragment's UDP length covers the whole datagram,
		 * not this fragment: only its lower bound can be checked.
		 */
		n = pkt_ld16(p + 4);
		if (unlikely(n < 8 || (n > len && m->frag != PKT_FRAG_FIRST)))
			return CDN_R_UDP_LEN;
		break;
	case PKT_NH_ICMP:
	case PKT_NH_ICMP6:
		if ((m->l4proto == PKT_NH_ICMP) != (m->af == 4))
			return 0;
		if (unlikely(len < 4))
			return CDN_R_ICMP_TRUNC;
		m->sport = pkt_ld16(p);
		m->has_l4 = 1;
		return 0;
	default:
		return 0;
	}
	m->sport = pkt_ld16(p);
	m->dport = pkt_ld16(p + 2);
	m->has_l4 = 1;
	return 0;
}

/*
 * Walks the IPv4 options in [P, P + N): EOL ends the list (what follows
 * is padding), NOP is one byte, every other option has a length byte of
 * at least 2 that must stay inside the header.  Options that name
 * further destinations (loose and strict source route, selective
 * directed broadcast) mark M->srcroute: the header's destination is
 * then not where the packet is going.
 */
static int
pkt_ip4_opts(const uint8_t *p, uint32_t n, struct pkt_meta *m)
{
	uint32_t i = 0, olen;

	while (i < n && p[i] != PKT_OPT_EOL) {
		if (p[i] == PKT_OPT_NOP) {
			i++;
			continue;
		}
		if (unlikely(i + 2 > n))
			return CDN_R_IP4_OPTS;
		olen = p[i + 1];
		if (unlikely(olen < 2 || olen > n - i))
			return CDN_R_IP4_OPTS;
		if (p[i] == PKT_OPT_LSRR || p[i] == PKT_OPT_SSRR ||
		    p[i] == PKT_OPT_SDB)
			m->srcroute = 1;
		i += olen;
	}
	return 0;
}

/*
 * IPv4 AH (RFC 4302) at *OFF (relative to the IP header), the packet
 * ending at END: the L4 header follows it, so step over it as IPv6
 * does.  Its length counts 4-octet units, excluding the first two.
 */
static int
pkt_ip4_ah(const uint8_t *ip, uint32_t end, uint32_t *off, struct pkt_meta *m)
{
	uint32_t n;
	unsigned i;

	for (i = 0; m->l4proto == PKT_NH_AH; i++) {
		if (unlikely(i == PKT_IP4_AH_MAX || end - *off < 8))
			return CDN_R_IP4_AH;
		n = ((uint32_t)ip[*off + 1] + 2) * 4;
		if (unlikely(n > end - *off))
			return CDN_R_IP4_AH;
		m->l4proto = ip[*off];
		*off += n;
	}
	return 0;
}

/*
 * The fragment field of the header at IP (HL bytes of TOT): a later
 * fragment has no L4 header to parse.  A fragment's place in its
 * datagram is kept for the fragment table.
 */
static inline int
pkt_ip4_frag(const uint8_t *ip, uint32_t hl, uint32_t tot, struct pkt_meta *m)
{
	uint16_t frag = pkt_ld16(ip + 6);

	if (likely((frag & (PKT_IP4_MF | PKT_IP4_OFFMASK)) == 0))
		return 0;
	m->frag = frag & PKT_IP4_OFFMASK ? PKT_FRAG_LATER : PKT_FRAG_FIRST;
	m->frag_id = pkt_ld16(ip + 4);
	m->frag_off = (uint16_t)((frag & PKT_IP4_OFFMASK) * 8);
	m->frag_len = (uint16_t)(tot - hl);
	m->frag_more = (frag & PKT_IP4_MF) != 0;
	return m->frag == PKT_FRAG_LATER;
}

int
pkt_ip4(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	const uint8_t *ip = buf + m->l3_off;
	uint32_t avail = len - m->l3_off, hl, tot;
	int rc;

	if (unlikely(avail < PKT_IP4_HLEN))
		return CDN_R_IP4_TRUNC;
	if (unlikely((ip[0] >> 4) != 4))
		return CDN_R_IP4_VERSION;
	hl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (unlikely(hl < PKT_IP4_HLEN))
		return CDN_R_IP4_IHL;
	if (unlikely(hl > avail))
		return CDN_R_IP4_TRUNC;
	tot = pkt_ld16(ip + 2);
	/* Bytes past the total length are Ethernet padding: ignored. */
	if (unlikely(tot < hl || tot > avail))
		return CDN_R_IP4_LEN;
	m->af = 4;
	m->l3_len = (uint16_t)tot;
	m->l4proto = ip[9];
	m->src4 = pkt_ld32(ip + 12);
	m->dst4 = pkt_ld32(ip + 16);
	pkt_layer_note(m);
	m->l4_off = (uint16_t)(m->l3_off + hl);
	if (unlikely(hl > PKT_IP4_HLEN) &&
	    (rc = pkt_ip4_opts(ip + PKT_IP4_HLEN, hl - PKT_IP4_HLEN, m)) != 0)
		return rc;
	/* A later fragment's protocol field names the datagram's first
	 * header (AH included); its bytes are not that header. */
	if (pkt_ip4_frag(ip, hl, tot, m))
		return 0;
	if (unlikely(m->l4proto == PKT_NH_AH)) {
		if ((rc = pkt_ip4_ah(ip, tot, &hl, m)) != 0)
			return rc;
		m->l4_off = (uint16_t)(m->l3_off + hl);
	}
	if ((rc = pkt_l4(ip + hl, tot - hl, m)) != 0)
		return rc;
	return pkt_tun(buf, m->l3_off + tot, c, m);
}

/*
 * Length of the extension header at P (REM bytes left in the packet),
 * or 0 when it does not fit.  AH counts in 4-octet units, the rest in
 * 8-octet units, both excluding the first unit.
 */
static inline uint32_t
pkt_ip6_ext_len(const uint8_t *p, uint32_t rem, uint8_t nh)
{
	uint32_t n;

	if (rem < 8)
		return 0;
	if (nh == PKT_NH_FRAGMENT)
		n = 8;
	else if (nh == PKT_NH_AH)
		n = ((uint32_t)p[1] + 2) * 4;
	else
		n = ((uint32_t)p[1] + 1) * 8;
	return n <= rem ? n : 0;
}

static inline int
pkt_ip6_is_ext(uint8_t nh)
{
	switch (nh) {
	case PKT_NH_HOPOPTS:
	case PKT_NH_ROUTING:
	case PKT_NH_FRAGMENT:
	case PKT_NH_AH:
	case PKT_NH_DSTOPTS:
	case PKT_NH_MOBILITY:
	case PKT_NH_HIP:
	case PKT_NH_SHIM6:
		return 1;
	default:
		return 0;
	}
}

/*
 * Walks the extension chain from *OFF (relative to the IPv6 header) to
 * END, leaving the upper-layer protocol in M->l4proto.  A non-first
 * fragment ends the walk with M->frag set to PKT_FRAG_LATER: what
 * follows its fragment header is the middle of someone else's packet.
 */
static int
pkt_ip6_walk(const uint8_t *ip, uint32_t end, uint32_t *off, struct pkt_meta *m)
{
	uint8_t nh = m->l4proto;
	uint16_t fo;
	uint32_t n;
	unsigned i;

	for (i = 0; pkt_ip6_is_ext(nh); i++) {
		if (unlikely(i == PKT_IP6_EXT_MAX))
			return CDN_R_IP6_EXT_CHAIN;
		n = pkt_ip6_ext_len(ip + *off, end - *off, nh);
		if (unlikely(n == 0))
			return CDN_R_IP6_EXT_TRUNC;
		if (nh == PKT_NH_ROUTING) {
			m->srcroute = 1;
			/* Segment routing (RFC 8754) may carry IPv4 after it. */
			m->srh |= ip[*off + 2] == 4;
		}
		if (nh == PKT_NH_FRAGMENT &&
		    (fo = pkt_ld16(ip + *off + 2)) & 0xfff9) {
			m->frag = fo & 0xfff8 ? PKT_FRAG_LATER : PKT_FRAG_FIRST;
			m->frag_id = pkt_ld32(ip + *off + 4);
			m->frag_off = fo & 0xfff8;
			m->frag_len = (uint16_t)(end - *off - 8);
			m->frag_more = fo & 1;
		}
		nh = ip[*off];
		*off += n;
		if (m->frag == PKT_FRAG_LATER)
			break;
	}
	m->l4proto = nh;
	return 0;
}

int
pkt_ip6(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	const uint8_t *ip = buf + m->l3_off;
	uint32_t avail = len - m->l3_off, end, off = PKT_IP6_HLEN;
	int rc;

	if (unlikely(avail < PKT_IP6_HLEN))
		return CDN_R_IP6_TRUNC;
	if (unlikely((ip[0] >> 4) != 6))
		return CDN_R_IP6_VERSION;
	end = PKT_IP6_HLEN + (uint32_t)pkt_ld16(ip + 4);
	if (unlikely(end > avail))
		return CDN_R_IP6_LEN;
	m->af = 6;
	m->l3_len = (uint16_t)end;
	memcpy(m->src6, ip + 8, 16);
	memcpy(m->dst6, ip + 24, 16);
	pkt_layer_note(m);
	m->srh = 0;
	m->l4proto = ip[6];
	if (unlikely(pkt_ip6_is_ext(m->l4proto)) &&
	    (rc = pkt_ip6_walk(ip, end, &off, m)) != 0)
		return rc;
	m->l4_off = (uint16_t)(m->l3_off + off);
	if (m->frag == PKT_FRAG_LATER || m->l4proto == PKT_NH_NONE)
		return 0;
	if ((rc = pkt_l4(ip + off, end - off, m)) != 0)
		return rc;
	return pkt_tun(buf, m->l3_off + end, c, m);
}

/*
 * A frame that is neither IPv4 nor IPv6 passes only if it is link control
 * (what `non_ip` governs).  Anything else may carry IP we cannot see
 * (MPLS, PPPoE sessions, PBB, MACsec, unknown tags, LLC/SNAP): a bump in
 * the wire that forwarded it would let a prohibited source through
 * unclassified, so it is refused as uninspectable.
 */
static int
pkt_non_ip(const uint8_t *buf, uint32_t len, struct pkt_meta *m)
{
	uint32_t off = m->l3_off;

	if (pkt_et_link(m->ethertype))
		return CDN_R_NON_IP;
	if (m->ethertype >= 0x0600)
		return CDN_R_ETHERTYPE;
	/* 802.3 length field: LLC follows.  SNAP (0xaa) can carry IP. */
	if (off + 3 > len)
		return CDN_R_ETH_TRUNC;
	if (buf[off] == 0xaa || buf[off + 1] == 0xaa)
		return CDN_R_ETHERTYPE;
	return CDN_R_NON_IP;
}

int
pkt_parse_cfg(const uint8_t *buf, uint32_t len, const struct pkt_tun_cfg *c,
    struct pkt_meta *m)
{
	uint32_t off = PKT_ETH_HLEN;
	int rc;

	m->af = m->l4proto = m->frag = m->nvlan = 0;
	m->has_l4 = m->tcp_flags = m->srcroute = m->opaque = 0;
	m->nlayer = m->l0kind = m->tun_next = m->srh = 0;
	m->sport = m->dport = m->l3_len = m->l4_off = 0;
	m->frag_id = 0;
	m->frag_off = m->frag_len = 0;
	m->frag_more = 0;
	if (unlikely(len < PKT_ETH_HLEN))
		return CDN_R_ETH_TRUNC;
	m->ethertype = pkt_ld16(buf + 12);
	/* Unrolled: PKT_VLAN_MAX tags, the third one is an error. */
	if (pkt_is_vlan_tpid(m->ethertype)) {
		if ((rc = pkt_vlan_pop(buf, len, &off, m)) != 0)
			return rc;
		if (pkt_is_vlan_tpid(m->ethertype)) {
			if ((rc = pkt_vlan_pop(buf, len, &off, m)) != 0)
				return rc;
			if (unlikely(pkt_is_vlan_tpid(m->ethertype)))
				return CDN_R_VLAN_DEPTH;
		}
	}
	m->l3_off = (uint16_t)off;
	if (likely(m->ethertype == PKT_ET_IP4))
		return pkt_ip4(buf, len, c, m);
	if (m->ethertype == PKT_ET_IP6)
		return pkt_ip6(buf, len, c, m);
	if (m->ethertype == PKT_ET_MPLS || m->ethertype == PKT_ET_MPLS_MC)
		return pkt_tun_mpls_eth(buf, len, c, m);
	return pkt_non_ip(buf, len, m);
}

int
pkt_parse(const uint8_t *buf, uint32_t len, struct pkt_meta *m)
{
	return pkt_parse_cfg(buf, len, &pkt_tun_default, m);
}
