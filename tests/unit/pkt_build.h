/*
 * Frame builders shared by the packet parser and reject tests.  Each
 * call appends one header to a struct pkt_frame; pkt_fr_done() fills in
 * the IP length fields and the IPv4 header checksum last, so a test can
 * corrupt any field afterwards.  Addresses come from the documentation
 * ranges: 192.0.2.1 -> 198.51.100.2 and 2001:db8::1 -> 2001:db8::2.
 */
#ifndef CORDON_TESTS_PKT_BUILD_H
#define CORDON_TESTS_PKT_BUILD_H

#include <stdint.h>
#include <string.h>

#define PKT_FR_MAX 4096

struct pkt_frame {
	uint8_t b[PKT_FR_MAX];
	uint32_t len;
	uint32_t l3; /* offset of the IP header */
	uint32_t l4; /* offset of the last header appended */
};

static const uint8_t pkt_fr_mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t pkt_fr_mac_src[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t pkt_fr_ip6_src[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t pkt_fr_ip6_dst[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
#define PKT_FR_IP4_SRC 0xc0000201u /* 192.0.2.1 */
#define PKT_FR_IP4_DST 0xc6336402u /* 198.51.100.2 */

static inline void
pkt_fr_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
pkt_fr_put32(uint8_t *p, uint32_t v)
{
	pkt_fr_put16(p, (uint16_t)(v >> 16));
	pkt_fr_put16(p + 2, (uint16_t)v);
}

static inline uint16_t
pkt_fr_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
pkt_fr_get32(const uint8_t *p)
{
	return (uint32_t)pkt_fr_get16(p) << 16 | pkt_fr_get16(p + 2);
}

/* Ethernet header with NTAGS tags (TPIDs from TPID, TCI 100 + i). */
static inline void
pkt_fr_eth(struct pkt_frame *f, const uint16_t *tpid, int ntags, uint16_t et)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b, pkt_fr_mac_dst, 6);
	memcpy(f->b + 6, pkt_fr_mac_src, 6);
	f->len = 12;
	for (int i = 0; i < ntags; i++) {
		pkt_fr_put16(f->b + f->len, tpid[i]);
		pkt_fr_put16(f->b + f->len + 2, (uint16_t)(100 + i));
		f->len += 4;
	}
	pkt_fr_put16(f->b + f->len, et);
	f->len += 2;
	f->l3 = f->len;
}

/* IPv4 header with OPTWORDS 4-byte words of NOP options. */
static inline void
pkt_fr_ip4(struct pkt_frame *f, uint8_t proto, unsigned optwords,
    uint16_t fragfield)
{
	uint8_t *p = f->b + f->len;

	p[0] = (uint8_t)(0x40 | (5 + optwords));
	pkt_fr_put16(p + 4, 0x1234);
	pkt_fr_put16(p + 6, fragfield);
	p[8] = 64;
	p[9] = proto;
	pkt_fr_put32(p + 12, PKT_FR_IP4_SRC);
	pkt_fr_put32(p + 16, PKT_FR_IP4_DST);
	memset(p + 20, 1, optwords * 4);
	f->len += 20 + optwords * 4;
	f->l4 = f->len;
}

static inline void
pkt_fr_ip6(struct pkt_frame *f, uint8_t nh)
{
	uint8_t *p = f->b + f->len;

	p[0] = 0x60;
	p[6] = nh;
	p[7] = 64;
	memcpy(p + 8, pkt_fr_ip6_src, 16);
	memcpy(p + 24, pkt_fr_ip6_dst, 16);
	f->len += 40;
	f->l4 = f->len;
}

/* Generic extension header of LEN bytes (a multiple of 8; AH of 4). */
static inline void
pkt_fr_ext(struct pkt_frame *f, uint8_t type, uint8_t nh, unsigned len)
{
	uint8_t *p = f->b + f->len;

	p[0] = nh;
	p[1] = (uint8_t)(type == 51 ? len / 4 - 2 : len / 8 - 1);
	if (type != 51 && len > 2) {
		p[2] = 1; /* PadN over the rest */
		p[3] = (uint8_t)(len - 4);
	}
	f->len += len;
	f->l4 = f->len;
}

static inline void
pkt_fr_frag6(struct pkt_frame *f, uint8_t nh, uint16_t off8, int more)
{
	uint8_t *p = f->b + f->len;

	p[0] = nh;
	pkt_fr_put16(p + 2, (uint16_t)(off8 << 3 | (more ? 1 : 0)));
	pkt_fr_put32(p + 4, 0xabcd);
	f->len += 8;
	f->l4 = f->len;
}

static inline void
pkt_fr_data(struct pkt_frame *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		f->b[f->len++] = (uint8_t)(0xa0 + i);
}

static inline void
pkt_fr_tcp(struct pkt_frame *f, uint16_t sp, uint16_t dp, uint32_t seq,
    uint32_t ack, uint8_t flags, unsigned datalen)
{
	uint8_t *p = f->b + f->len;

	f->l4 = f->len;
	pkt_fr_put16(p, sp);
	pkt_fr_put16(p + 2, dp);
	pkt_fr_put32(p + 4, seq);
	pkt_fr_put32(p + 8, ack);
	p[12] = 5 << 4;
	p[13] = flags;
	pkt_fr_put16(p + 14, 65535);
	f->len += 20;
	pkt_fr_data(f, datalen);
}

static inline void
pkt_fr_udp(struct pkt_frame *f, uint16_t sp, uint16_t dp, unsigned datalen)
{
	uint8_t *p = f->b + f->len;

	f->l4 = f->len;
	pkt_fr_put16(p, sp);
	pkt_fr_put16(p + 2, dp);
	pkt_fr_put16(p + 4, (uint16_t)(8 + datalen));
	f->len += 8;
	pkt_fr_data(f, datalen);
}

static inline void
pkt_fr_icmp(struct pkt_frame *f, uint8_t type, uint8_t code, unsigned datalen)
{
	uint8_t *p = f->b + f->len;

	f->l4 = f->len;
	p[0] = type;
	p[1] = code;
	f->len += 8;
	pkt_fr_data(f, datalen);
}

/* RFC 1071 sum, folded, not inverted. */
static inline uint32_t
pkt_fr_sum(uint32_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sum += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/* Sets the IP length fields (and the v4 checksum) from f->len. */
static inline void
pkt_fr_done(struct pkt_frame *f)
{
	uint8_t *ip = f->b + f->l3;
	uint32_t n = f->len - f->l3;

	if ((ip[0] >> 4) == 6) {
		pkt_fr_put16(ip + 4, (uint16_t)(n - 40));
		return;
	}
	pkt_fr_put16(ip + 2, (uint16_t)n);
	pkt_fr_put16(ip + 10, 0);
	pkt_fr_put16(ip + 10,
	    (uint16_t)~pkt_fr_sum(0, ip, (uint32_t)(ip[0] & 15) * 4));
}

#endif
