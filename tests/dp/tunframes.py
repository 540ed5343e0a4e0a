"""Tunnelled frames, built by hand from the RFCs' headers (scapy's IP,
IPv6, UDP and TCP around them), for the tunnel tests: every
encapsulation cordon-dp opens (docs/packet-parsing.md, Tunnels).

Each builder takes the outer source and the inner packet (bytes or a
scapy packet) and returns the outer IP packet (no Ethernet).
"""
import struct

from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw
from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting

import cases

TEREDO_CLIENT = "2001:0:c000:221::1"
INNER_MAC = Ether(src="02:00:00:00:05:01", dst="02:00:00:00:05:02")


def syn(src, dport=22, dst=None):
    """An ssh (or DPORT) SYN from SRC: the packet inside the tunnels."""
    if ":" in src:
        return IPv6(src=src, dst=dst or cases.SRV6) / TCP(
            sport=40001, dport=dport, flags="S")
    return IP(src=src, dst=dst or cases.SRV4) / TCP(sport=40001,
                                                    dport=dport, flags="S")


def _outer4(src):
    return IP(src=src, dst=cases.SRV4)


def _outer6(src):
    return IPv6(src=src, dst=cases.SRV6)


def ipip(src, inner):
    """IPv4 in IPv4 (4) or IPv6 in IPv4 (41, 6in4 and 6to4)."""
    o = _outer4(src)
    o.proto = 41 if isinstance(inner, IPv6) else 4
    return o / Raw(bytes(inner))


def ip6ip(src, inner):
    """IPv4 (4) or IPv6 (41) in IPv6."""
    o = _outer6(src)
    o.nh = 41 if isinstance(inner, IPv6) else 4
    return o / Raw(bytes(inner))


def srv6(src, inner):
    """IPv4 behind a segment routing header (RFC 8754, type 4)."""
    return _outer6(src) / IPv6ExtHdrSegmentRouting(
        addresses=[cases.SRV6], segleft=0, nh=4) / Raw(bytes(inner))


def gre_hdr(et, csum=False, key=None, seq=None):
    """A GRE header (RFC 2784, 2890): flags C, K, S and their fields."""
    fl = (0x8000 if csum else 0) | (0x2000 if key is not None else 0) | \
        (0x1000 if seq is not None else 0)
    h = struct.pack("!HH", fl, et)
    if csum:
        h += b"\x00\x00\x00\x00"
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h


def gre(src, inner, **kw):
    """GRE over IPv4: IPv4, IPv6 (by the inner packet) or Ethernet."""
    if isinstance(inner, Ether):
        et = 0x6558
    else:
        et = 0x86DD if isinstance(inner, IPv6) else 0x0800
    o = _outer4(src)
    o.proto = 47
    return o / Raw(gre_hdr(et, **kw) + bytes(inner))


def mpls_stack(n=2):
    """N labels, the last with bottom of stack."""
    return b"".join(struct.pack("!I", (100 + i) << 12 |
                                (0x100 if i == n - 1 else 0) | 64)
                    for i in range(n))


def gre_mpls(src, inner):
    o = _outer4(src)
    o.proto = 47
    return o / Raw(gre_hdr(0x8847) + mpls_stack() + bytes(inner))


def etherip(src, inner):
    """EtherIP (RFC 3378): version 3, then an Ethernet frame."""
    o = _outer4(src)
    o.proto = 97
    return o / Raw(b"\x30\x00" + bytes(INNER_MAC / inner))


def mpls_ip(src, inner):
    """MPLS in IP (RFC 4023, protocol 137)."""
    o = _outer6(src)
    o.nh = 137
    return o / Raw(mpls_stack() + bytes(inner))


def vxlan(src, inner, flags=0x08):
    """VXLAN (RFC 7348) on UDP 4789, an Ethernet frame inside."""
    h = struct.pack("!B3xI", flags, 5000 << 8)
    return _outer4(src) / UDP(sport=50001, dport=4789) / Raw(
        h + bytes(INNER_MAC / inner))


def geneve(src, inner, opts=None, optlen=None, eth=True):
    """GENEVE (RFC 8926) on UDP 6081, with one 8-byte option."""
    if opts is None:
        opts = b"\x01\x02\x80\x01" + b"\xaa" * 4
    n = len(opts) // 4 if optlen is None else optlen
    et = 0x6558 if eth else (0x86DD if isinstance(inner, IPv6) else 0x0800)
    h = struct.pack("!BBH", n & 0x3f, 0, et) + struct.pack("!I", 77 << 8)
    body = bytes(INNER_MAC / inner) if eth else bytes(inner)
    return _outer4(src) / UDP(sport=50002, dport=6081) / Raw(h + opts + body)


def teredo(src, inner, to_client=True, origin=False, auth=False):
    """Teredo (RFC 4380): IPv6 in UDP 3544, a relay towards its client
    (source port 3544) or a client towards the relay, with the optional
    authentication and origin indication headers."""
    h = b""
    if auth:
        h += b"\x00\x01\x00\x00" + b"\x11" * 8 + b"\x00"
    if origin:
        h += b"\x00\x00" + struct.pack("!H", 0xffff ^ 40000) + \
            bytes(a ^ 0xff for a in (198, 51, 100, 7))
    udp = UDP(sport=3544, dport=40000) if to_client else \
        UDP(sport=40000, dport=3544)
    return _outer4(src) / udp / Raw(h + bytes(inner))


def nest(src, inner, depth):
    """DEPTH IPv4-in-IPv4 tunnels around INNER, each from SRC."""
    p = inner
    for _ in range(depth):
        p = ipip(src, p)
    return p


def pptp(src, inner, ppp=None, seq=None, ack=None):
    """PPTP (RFC 2637): enhanced GRE version 1 (key: payload length and
    call id, sequence and acknowledgement optional), then PPP: PPP
    bytes (address, control, protocol) given, or ff 03 and IPv4/IPv6."""
    if ppp is None:
        ppp = b"\xff\x03" + (b"\x00\x57" if isinstance(inner, IPv6)
                             else b"\x00\x21")
    body = ppp + bytes(inner)
    fl = 0x2001 | (0x1000 if seq is not None else 0) | \
        (0x0080 if ack is not None else 0)
    h = struct.pack("!HHHH", fl, 0x880B, len(body), 1)
    if seq is not None:
        h += struct.pack("!I", seq)
    if ack is not None:
        h += struct.pack("!I", ack)
    o = _outer4(src)
    o.proto = 47
    return o / Raw(h + body)


def l2tp(src, inner, from_lns=False):
    """L2TPv2 data (RFC 2661) on UDP 1701: tunnel and session ids, then
    PPP with address and control, IPv4 or IPv6."""
    ppp = b"\xff\x03" + (b"\x00\x57" if isinstance(inner, IPv6)
                         else b"\x00\x21")
    udp = UDP(sport=1701, dport=50004) if from_lns else \
        UDP(sport=50004, dport=1701)
    return _outer4(src) / udp / Raw(b"\x00\x02\x00\x01\x00\x02" + ppp +
                                    bytes(inner))


def gue(src, inner, hdr=False):
    """GUE on UDP 6080: variant 1 (the bare packet) or a variant 0
    header naming IPv4 (4) or IPv6 (41)."""
    h = b""
    if hdr:
        h = bytes([0, 41 if isinstance(inner, IPv6) else 4, 0, 0])
    return _outer4(src) / UDP(sport=50004, dport=6080) / Raw(h +
                                                              bytes(inner))


def gtp(src, inner):
    """GTP-U G-PDU on UDP 2152 with sequence and one extension header
    (a PDU session container)."""
    h = b"\x34\xff" + struct.pack("!H", len(bytes(inner)) + 8) + \
        b"\x00\x00\x00\x01\x00\x00\x00\x85\x01\x10\x05\x00"
    return _outer4(src) / UDP(sport=50004, dport=2152) / Raw(h +
                                                              bytes(inner))
