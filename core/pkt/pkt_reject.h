/*
 * Reject replies.  Pure C over byte buffers like the parser, so the same
 * code runs on the fast path, in replay, in the unit tests and under the
 * fuzzer.
 */
#ifndef CORDON_PKT_REJECT_H
#define CORDON_PKT_REJECT_H

#include <stdint.h>

#include "core/pkt/pkt_parse.h"

/* Largest frame pkt_reject_build() writes: two tags + a 1280-byte v6 packet. */
#define PKT_REJECT_MAX (14 + 4 * PKT_VLAN_MAX + 1280)

/*
 * Writes into OUT (OUTMAX bytes) the reply that rejects the frame IN of
 * LEN bytes, which pkt_parse() accepted into M: a TCP RST for TCP, an
 * ICMP/ICMPv6 "administratively prohibited" unreachable otherwise.  The
 * reply comes from the original destination (we are a transparent bump
 * in the wire), keeps the VLAN tags and swaps the MAC addresses.
 * Returns the reply length, or -1 when no reply may be sent (RST, ICMP
 * error, non-first fragment, broadcast or multicast, tunnelled) or OUT
 * is too small.
 * The ICMPv6 quote is cut to fit OUTMAX.
 */
int pkt_reject_build(const uint8_t *in, uint32_t len, const struct pkt_meta *m,
    uint8_t *out, uint32_t outmax);

/*
 * Writes into OUT the RST the sender of the TCP segment IN (parsed into
 * M) would send to its receiver: same MACs, addresses and ports, the
 * segment's sequence number, no payload.  What resets the service's end
 * of a proxied flow refused in mid-stream (core/prx): it has received
 * every byte before this segment, so the sequence number is its next.
 * Returns the length, or -1 (not TCP, tunnelled, OUT too small, ...).
 */
int pkt_reset_forward(const uint8_t *in, uint32_t len, const struct pkt_meta *m,
    uint8_t *out, uint32_t outmax);

#endif
