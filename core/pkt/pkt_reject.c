/*
 * Reject replies: TCP RST per RFC 9293 section 3.10.7.1 (the CLOSED
 * state rules, since no connection exists for a rejected peer), ICMP
 * destination unreachable per RFC 792/1812 and ICMPv6 per RFC 4443.
 * Rejecting is the slow path: clarity and the no-reply rules matter
 * more here than cycles.
 */
#include <endian.h>
#include <string.h>

#include "core/pkt/pkt_int.h"
#include "core/pkt/pkt_reject.h"

#define PKT_IP4_HLEN   20
#define PKT_IP6_HLEN   40
#define PKT_TCP_HLEN   20
#define PKT_ICMP_HLEN  8
#define PKT_IP6_MINMTU 1280
#define PKT_TTL        64

#define PKT_TH_FIN 0x01
#define PKT_TH_SYN 0x02
#define PKT_TH_RST 0x04
#define PKT_TH_ACK 0x10

/*
 * ICMPv4 query types: echo reply and request (0, 8), router advertisement
 * and solicitation (9, 10), timestamp (13, 14), information (15, 16),
 * address mask (17, 18).
 */
#define PKT_ICMP4_QUERIES                                                      \
	(1u << 0 | 1u << 8 | 1u << 9 | 1u << 10 | 1u << 13 | 1u << 14 |        \
	    1u << 15 | 1u << 16 | 1u << 17 | 1u << 18)

#define PKT_PROTO_ICMP  1
#define PKT_PROTO_TCP   6
#define PKT_PROTO_ICMP6 58

static inline void
pkt_rej_st16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void
pkt_rej_st32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

/* One's-complement sum of N bytes at P added to SUM (RFC 1071). */
static uint32_t
pkt_rej_sum(uint32_t sum, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
pkt_rej_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Sum of the pseudo-header for an L4 payload of N bytes and protocol
 * PROTO behind the IP header IP that we already wrote.  The address
 * fields sit at the same place relative to the header end in both
 * families: the last 8 (v4) or 32 (v6) bytes of the fixed header.
 */
static uint32_t
pkt_rej_pseudo(const uint8_t *ip, uint8_t af, uint8_t proto, uint32_t n)
{
	uint32_t sum;

	if (af == 4)
		sum = pkt_rej_sum(0, ip + 12, 8);
	else
		sum = pkt_rej_sum(0, ip + 8, 32);
	return sum + proto + (n >> 16) + (n & 0xffff);
}

/* Source or destination that does not name one host: never answer. */
static int
pkt_rej_ip4_group(uint32_t a)
{
	return a == 0 || (a >> 24) == 127 || (a >> 28) >= 0xe;
}

static int
pkt_rej_ip6_group(const uint8_t *a)
{
	static const uint8_t unspec[16];

	return a[0] == 0xff || memcmp(a, unspec, sizeof(unspec)) == 0;
}

/*
 * RFC 1122 3.2.2 and RFC 4443 2.4(e): no ICMP error about an ICMP
 * error.  For ICMPv4 only the known query types are answered, so an
 * unknown type is treated as the error it may be.
 */
static int
pkt_rej_icmp_is_error(const struct pkt_meta *m)
{
	uint8_t type = (uint8_t)(m->sport >> 8);

	if (!m->has_l4)
		return 1;
	if (m->af == 6)
		return type < 128;
	return type >= 32 || !((1u << type) & PKT_ICMP4_QUERIES);
}

static int
pkt_rej_allowed(const uint8_t *in, uint32_t len, const struct pkt_meta *m)
{
	if (m->af != 4 && m->af != 6)
		return 0;
	if (m->l3_off < 14 || (uint32_t)m->l3_off + m->l3_len > len)
		return 0;
	if (m->frag == PKT_FRAG_LATER)
		return 0;
	/* Group bit of either MAC: broadcast or multicast. */
	if ((in[0] & 1) || (in[6] & 1))
		return 0;
	if (m->af == 4 &&
	    (pkt_rej_ip4_group(m->src4) || pkt_rej_ip4_group(m->dst4)))
		return 0;
	if (m->af == 6 &&
	    (pkt_rej_ip6_group(m->src6) || pkt_rej_ip6_group(m->dst6)))
		return 0;
	if (m->l4proto == PKT_PROTO_TCP)
		return m->has_l4 && !(m->tcp_flags & PKT_TH_RST) &&
		       (uint32_t)m->l4_off + PKT_TCP_HLEN <= len;
	if (m->l4proto == (m->af == 4 ? PKT_PROTO_ICMP : PKT_PROTO_ICMP6))
		return !pkt_rej_icmp_is_error(m);
	return 1;
}

/* The frame's own L2 header with the MAC addresses swapped. */
static void
pkt_rej_eth(const uint8_t *in, const struct pkt_meta *m, uint8_t *out)
{
	memcpy(out, in + 6, 6);
	memcpy(out + 6, in, 6);
	memcpy(out + 12, in + 12, (size_t)m->l3_off - 12);
}

/* IP header from the original destination back to the source. */
static uint32_t
pkt_rej_ip(const struct pkt_meta *m, uint8_t proto, uint32_t plen, uint8_t *ip)
{
	if (m->af == 4) {
		memset(ip, 0, PKT_IP4_HLEN);
		ip[0] = 0x45;
		pkt_rej_st16(ip + 2, (uint16_t)(PKT_IP4_HLEN + plen));
		pkt_rej_st16(ip + 6, 0x4000); /* DF; ID 0 (RFC 6864) */
		ip[8] = PKT_TTL;
		ip[9] = proto;
		pkt_rej_st32(ip + 12, m->dst4);
		pkt_rej_st32(ip + 16, m->src4);
		pkt_rej_st16(ip + 10, pkt_rej_fold(pkt_rej_sum(0, ip, 20)));
		return PKT_IP4_HLEN;
	}
	memset(ip, 0, 8);
	ip[0] = 0x60;
	pkt_rej_st16(ip + 4, (uint16_t)plen);
	ip[6] = proto;
	ip[7] = PKT_TTL;
	memcpy(ip + 8, m->dst6, 16);
	memcpy(ip + 24, m->src6, 16);
	return PKT_IP6_HLEN;
}

/* Fills the RST at TH for the segment at SEG; RFC 9293 3.10.7.1. */
static void
pkt_rej_rst(const uint8_t *seg, const struct pkt_meta *m, uint8_t *th)
{
	uint32_t doff = (uint32_t)(seg[12] >> 4) * 4;
	uint32_t dlen = (uint32_t)m->l3_off + m->l3_len - m->l4_off - doff;

	memset(th, 0, PKT_TCP_HLEN);
	pkt_rej_st16(th, m->dport);
	pkt_rej_st16(th + 2, m->sport);
	if (m->tcp_flags & PKT_TH_ACK) {
		memcpy(th + 4, seg + 8, 4);
		th[13] = PKT_TH_RST;
	} else {
		dlen += !!(m->tcp_flags & PKT_TH_SYN);
		dlen += !!(m->tcp_flags & PKT_TH_FIN);
		pkt_rej_st32(th + 8, pkt_ld32(seg + 4) + dlen);
		th[13] = PKT_TH_RST | PKT_TH_ACK;
	}
	th[12] = (PKT_TCP_HLEN / 4) << 4;
}

static int
pkt_rej_tcp(const uint8_t *in, const struct pkt_meta *m, uint8_t *out,
    uint32_t outmax)
{
	uint32_t hl = m->af == 4 ? PKT_IP4_HLEN : PKT_IP6_HLEN;
	uint32_t tot = m->l3_off + hl + PKT_TCP_HLEN;
	uint8_t *ip = out + m->l3_off, *th = ip + hl;
	uint32_t sum;

	if (tot > outmax)
		return -1;
	pkt_rej_eth(in, m, out);
	pkt_rej_ip(m, PKT_PROTO_TCP, PKT_TCP_HLEN, ip);
	pkt_rej_rst(in + m->l4_off, m, th);
	sum = pkt_rej_pseudo(ip, m->af, PKT_PROTO_TCP, PKT_TCP_HLEN);
	pkt_rej_st16(th + 16, pkt_rej_fold(pkt_rej_sum(sum, th, 20)));
	return (int)tot;
}

/*
 * How much of the offending IP packet the ICMP error quotes: the IP
 * header and 8 bytes for v4 (RFC 792), as much as keeps the v6 reply
 * within the minimum MTU (RFC 4443 2.4(c)) and OUTMAX.
 */
static uint32_t
pkt_rej_quote_len(const struct pkt_meta *m, uint32_t outmax)
{
	uint32_t q, room;

	if (m->af == 4) {
		q = (uint32_t)m->l4_off - m->l3_off + 8;
		return q < m->l3_len ? q : m->l3_len;
	}
	room = outmax - m->l3_off - PKT_IP6_HLEN - PKT_ICMP_HLEN;
	q = PKT_IP6_MINMTU - PKT_IP6_HLEN - PKT_ICMP_HLEN;
	if (q > m->l3_len)
		q = m->l3_len;
	return q < room ? q : room;
}

static int
pkt_rej_icmp(const uint8_t *in, const struct pkt_meta *m, uint8_t *out,
    uint32_t outmax)
{
	uint32_t hl = m->af == 4 ? PKT_IP4_HLEN : PKT_IP6_HLEN;
	uint8_t proto = m->af == 4 ? PKT_PROTO_ICMP : PKT_PROTO_ICMP6;
	uint8_t *ip = out + m->l3_off, *ih = ip + hl;
	uint32_t q, plen, sum;

	if ((uint32_t)m->l3_off + hl + PKT_ICMP_HLEN > outmax)
		return -1;
	q = pkt_rej_quote_len(m, outmax);
	plen = PKT_ICMP_HLEN + q;
	if (m->l3_off + hl + plen > outmax)
		return -1;
	pkt_rej_eth(in, m, out);
	pkt_rej_ip(m, proto, plen, ip);
	memset(ih, 0, PKT_ICMP_HLEN);
	ih[0] = m->af == 4 ? 3 : 1;  /* destination unreachable */
	ih[1] = m->af == 4 ? 13 : 1; /* administratively prohibited */
	memcpy(ih + PKT_ICMP_HLEN, in + m->l3_off, q);
	/* ICMPv4 has no pseudo-header; ICMPv6 does. */
	sum = m->af == 4 ? 0 : pkt_rej_pseudo(ip, 6, proto, plen);
	pkt_rej_st16(ih + 2, pkt_rej_fold(pkt_rej_sum(sum, ih, plen)));
	return (int)(m->l3_off + hl + plen);
}

int
pkt_reject_build(const uint8_t *in, uint32_t len, const struct pkt_meta *m,
    uint8_t *out, uint32_t outmax)
{
	/* A tunnelled packet is never answered: its transport header is
	 * the inner packet's, its addresses the relay's (docs/packet-
	 * parsing.md, Tunnels); the classifier drops it instead. */
	if (pkt_tunnelled(m) || !pkt_rej_allowed(in, len, m))
		return -1;
	if (m->l4proto == PKT_PROTO_TCP)
		return pkt_rej_tcp(in, m, out, outmax);
	return pkt_rej_icmp(in, m, out, outmax);
}

int
pkt_reset_forward(const uint8_t *in, uint32_t len, const struct pkt_meta *m,
    uint8_t *out, uint32_t outmax)
{
	uint32_t hl = m->af == 4 ? PKT_IP4_HLEN : PKT_IP6_HLEN;
	uint32_t tot = m->l3_off + hl + PKT_TCP_HLEN, sum;
	uint8_t *ip = out + m->l3_off, *th = ip + hl;
	struct pkt_meta r = *m;

	if (pkt_tunnelled(m) || m->l4proto != PKT_PROTO_TCP ||
	    !pkt_rej_allowed(in, len, m) || tot > outmax)
		return -1;
	/* pkt_rej_ip writes destination -> source: give it the reverse. */
	r.src4 = m->dst4;
	r.dst4 = m->src4;
	memcpy(r.src6, m->dst6, 16);
	memcpy(r.dst6, m->src6, 16);
	memcpy(out, in, m->l3_off);
	pkt_rej_ip(&r, PKT_PROTO_TCP, PKT_TCP_HLEN, ip);
	memset(th, 0, PKT_TCP_HLEN);
	pkt_rej_st16(th, m->sport);
	pkt_rej_st16(th + 2, m->dport);
	memcpy(th + 4, in + m->l4_off + 4, 4); /* the receiver's next byte */
	th[12] = (PKT_TCP_HLEN / 4) << 4;
	th[13] = PKT_TH_RST;
	sum = pkt_rej_pseudo(ip, m->af, PKT_PROTO_TCP, PKT_TCP_HLEN);
	pkt_rej_st16(th + 16, pkt_rej_fold(pkt_rej_sum(sum, th, 20)));
	return (int)tot;
}
