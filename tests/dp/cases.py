"""The packet catalogue: every frame the fast-path tests inject, with the
verdict the policy must give it, and the model that turns a verdict into
the frames each port must send and the counters cordon-dp must report.

Addresses are documentation ranges only (RFC 5737, RFC 3849), placed in
countries by the test config's overrides over the real database.
"""
import ipaddress
import struct

from scapy.layers.ipsec import AH, ESP
from scapy.all import (ARP, GRE, ICMP, IP, TCP, UDP, Dot1AD, Dot1Q, Ether,
                       ICMPv6DestUnreach, ICMPv6EchoRequest, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw)
from scapy.layers.inet6 import IPv6ExtHdrSegmentRouting

# MACs: outside clients, the protected inside server, the quarantine host.
CLI_MAC = "02:00:00:00:01:01"
SRV_MAC = "02:00:00:00:02:02"
QUAR_MAC = "02:00:00:00:00:99"
SCRUB_MAC = "02:00:00:00:00:98"

# Sources by country (overrides in OVERRIDES below).
US4, CN4, RU4, UNK4 = "192.0.2.33", "198.51.100.7", "203.0.113.9", \
    "203.0.113.200"
SRV4 = "192.0.2.80"
DE6, CN6, RU6, UNK6, US6 = "2001:db8:2::5", "2001:db8:1::7", \
    "2001:db8:3::9", "2001:db8:e::200", "2001:db8:f::33"
SRV6 = "2001:db8:f::80"

OVERRIDES = [
    ("192.0.2.0/24", "US"),
    ("198.51.100.0/24", "CN"),
    ("203.0.113.0/25", "RU"),
    ("203.0.113.128/25", "unknown"),
    ("2001:db8:1::/48", "CN"),
    ("2001:db8:2::/48", "DE"),
    ("2001:db8:3::/48", "RU"),
    ("2001:db8:e::/48", "unknown"),
    ("2001:db8:f::/48", "US"),
    # More specific than the ones above: a host and a /64 inside them.
    ("198.51.100.99/32", "DE"),
    ("2001:db8:1:5::/64", "US"),
]

SERVICES_TCP = {22: "ssh", 3389: "rdp", 443: "https-admin",
                8443: "https-admin"}
SERVICES_UDP = {3389: "rdp"}

# Parser reasons: a frame dropped for one of these never reaches a rule.
MALFORMED = {
    "eth-truncated", "vlan-truncated", "vlan-too-deep", "ipv4-truncated",
    "ipv4-bad-version", "ipv4-bad-ihl", "ipv4-bad-length", "ipv6-truncated",
    "ipv6-bad-version", "ipv6-bad-length", "ipv6-ext-truncated",
    "ipv6-ext-chain-too-long", "tcp-truncated", "tcp-bad-offset",
    "udp-truncated", "udp-bad-length", "icmp-truncated",
    "ipv4-bad-options", "ipv4-bad-ah", "ethertype-not-inspected",
    "tun-bad-gre", "tun-bad-vxlan", "tun-bad-geneve", "tun-bad-teredo",
    "tun-bad-mpls", "tun-bad-ethernet", "tun-bad-inner", "tun-too-deep",
    "tun-not-inspected", "tun-fragment", "tun-bad-l2tp", "tun-bad-gue",
    "tun-bad-gtp",
}
ALL_REASONS = [
    "eth-truncated", "vlan-truncated", "vlan-too-deep", "ipv4-truncated",
    "ipv4-bad-version", "ipv4-bad-ihl", "ipv4-bad-length", "ipv6-truncated",
    "ipv6-bad-version", "ipv6-bad-length", "ipv6-ext-truncated",
    "ipv6-ext-chain-too-long", "tcp-truncated", "tcp-bad-offset",
    "udp-truncated", "udp-bad-length", "icmp-truncated",
    "ipv4-bad-options", "ipv4-bad-ah",
    "tun-bad-gre", "tun-bad-vxlan", "tun-bad-geneve", "tun-bad-teredo",
    "tun-bad-mpls", "tun-bad-ethernet", "tun-bad-l2tp", "tun-bad-gue",
    "tun-bad-gtp", "tun-bad-inner", "tun-too-deep",
    "tun-not-inspected", "tun-fragment",
    "ethertype-not-inspected", "non-ip", "rule",
    "default", "fragment", "no-egress-port", "tx-queue-full",
    "reject-build-failed", "no-session", "session-expired", "identity",
    "knock", "source-route", "frag-no-first", "frag-overlap",
    "frag-tcp-offset-1", "frag-holes", "frag-table-full", "frag-timeout",
    "proxy-bad-header", "proxy-incomplete", "proxy-table-full",
    "proxy-no-flow", "proxy-out-of-order", "proxy-not-inspected",
    "proxy-flow-denied",
]
ACTIONS = ["allow", "drop", "reject", "reroute"]


def country(addr, overrides=OVERRIDES):
    """Country the config's overrides give ADDR ("--" when unknown)."""
    a = ipaddress.ip_address(addr)
    best = None
    for pfx, cc in overrides:
        n = ipaddress.ip_network(pfx)
        if a.version == n.version and a in n and (
                best is None or n.prefixlen > best[0]):
            best = (n.prefixlen, cc)
    if best is None or best[1] == "unknown":
        return "--"
    return best[1]


class Case:
    """One injected frame and what must happen to it.

    action/reason/rule are the verdict as replay reports it; port is the
    ingress port; nexthop names the reroute target; reply=False marks a
    reject that must not or cannot be answered (RST, broadcast, a frame
    the fast path cannot rewrite, ...): the live path drops it and counts
    reject-build-failed.
    """

    def __init__(self, name, port, pkt, action, reason=None, rule=None,
                 nexthop=None, reply=True, fragment=None, service="auto",
                 proto=None, live_action=None, live_reason=None, l4=True,
                 layers=None, inner=None, opaque=False):
        self.name = name
        self.port = port
        self.pkt = pkt if not isinstance(pkt, (bytes, bytearray)) else None
        self.frame = bytes(pkt)
        self.action = action
        self.reason = reason
        self.rule = rule
        self.nexthop = nexthop
        self.reply = reply
        self.fragment = fragment
        self.service = service
        self.proto = proto
        self.l4 = l4            # False: a TCP/UDP layer is not the L4
        # Tunnels: [(src, how it was carried)] outermost first, and the
        # innermost IP packet (its transport header is the one judged).
        self.layers = layers
        self.inner = inner
        self.opaque = opaque    # an encrypted tunnel: "tunnel": "opaque"
        # What the live path counts when it differs from the verdict
        # (an allowed frame on a port without a peer is dropped, so is a
        # reject without a reply).
        if action == "reject" and not reply and live_action is None:
            live_action, live_reason = "drop", "reject-build-failed"
        self.live_action = live_action or action
        self.live_reason = live_reason if live_action else reason

    @property
    def parsed(self):
        """Did the parser accept it (so that rule and country count)?"""
        return self.pkt is not None and self.reason not in MALFORMED and \
            (IP in self.pkt or IPv6 in self.pkt or self.inner is not None)

    def __repr__(self):
        return "Case(%s)" % self.name


# --- frame builders --------------------------------------------------------

class Seq:
    """Unique source ports and IP IDs, so that no two frames are equal."""

    def __init__(self, start):
        self.n = start

    def __call__(self):
        self.n += 1
        return self.n


def eth(port, src=None, dst=None):
    if port == "outside0":
        return Ether(src=src or CLI_MAC, dst=dst or SRV_MAC)
    if port == "quar0":
        return Ether(src=src or QUAR_MAC, dst=dst or CLI_MAC)
    return Ether(src=src or SRV_MAC, dst=dst or CLI_MAC)


def l3_offset(frame):
    off, et = 14, frame[12:14]
    while et in (b"\x81\x00", b"\x88\xa8", b"\x91\x00"):
        off += 4
        et = frame[off - 2:off]
    return off


def raw_frame(l2, payload):
    return bytes(l2) + bytes(payload)


# --- expected outputs ----------------------------------------------------

def rst_fields(tcp, dlen):
    """RFC 9293 3.10.7.1 for a segment with payload DLEN."""
    if tcp.flags & 0x10:
        return tcp.ack, 0, "R"
    a = tcp.seq + dlen + (1 if tcp.flags & 0x02 else 0) + \
        (1 if tcp.flags & 0x01 else 0)
    return 0, a & 0xffffffff, "RA"


def expected_reply(frame):
    """The frame cordon-dp must send back for a rejected FRAME, built from
    docs/packet-parsing.md with scapy computing every checksum."""
    off = l3_offset(frame)
    l2 = frame[6:12] + frame[0:6] + frame[12:off]
    ipb = frame[off:]
    if ipb[0] >> 4 == 4:
        ip = IP(ipb)
        hl = ip.ihl * 4
        l3_len = ip.len
        nip = IP(src=ip.dst, dst=ip.src, ttl=64, flags="DF", id=0)
        if ip.proto == 6:
            tcp = TCP(ipb[hl:l3_len])
            dlen = l3_len - hl - tcp.dataofs * 4
            seq, ack, fl = rst_fields(tcp, dlen)
            body = nip / TCP(sport=tcp.dport, dport=tcp.sport, seq=seq,
                             ack=ack, flags=fl, window=0)
        else:
            q = min(hl + 8, l3_len)
            body = nip / ICMP(type=3, code=13) / Raw(ipb[:q])
        return l2 + bytes(body)
    ip6 = IPv6(ipb)
    l3_len = 40 + ip6.plen
    nip = IPv6(src=ip6.dst, dst=ip6.src, hlim=64)
    tcp = ip6.getlayer(TCP)
    if tcp is not None:
        l4 = bytes(tcp)
        l4_len = len(l4)
        dlen = l4_len - tcp.dataofs * 4
        seq, ack, fl = rst_fields(tcp, dlen)
        body = nip / TCP(sport=tcp.dport, dport=tcp.sport, seq=seq, ack=ack,
                         flags=fl, window=0)
    else:
        q = min(l3_len, 1280 - 48)
        body = nip / ICMPv6DestUnreach(code=1) / Raw(ipb[:q])
    return l2 + bytes(body)


def rerouted(frame, nh):
    mac = bytes.fromhex(nh["mac"].replace(":", ""))
    out = mac + frame[6:]
    if nh.get("vlan"):
        out = out[:12] + struct.pack("!HH", 0x8100, nh["vlan"]) + out[12:]
    return out


def expected_tx(cases, peers, nexthops):
    """Port name -> list of (case, frame) it must send, in ingress order."""
    tx = {}
    for c in cases:
        if c.live_action == "allow":
            tx.setdefault(peers[c.port], []).append((c, c.frame))
        elif c.live_action == "reroute":
            nh = nexthops[c.nexthop]
            tx.setdefault(nh["port"], []).append((c, rerouted(c.frame, nh)))
        elif c.live_action == "reject" and c.reply:
            tx.setdefault(c.port, []).append((c, expected_reply(c.frame)))
    return tx


def expected_stats(cases, rules, live=True):
    """The counters of STATS.json (without ports) for CASES."""
    st = {"packets": len(cases),
          "actions": {a: 0 for a in ACTIONS},
          "reasons": {r: 0 for r in ALL_REASONS},
          "rules": {r: 0 for r in rules},
          "countries": {}}
    st["rules"]["(default)"] = 0
    for c in cases:
        act = c.live_action if live else c.action
        rsn = c.live_reason if live else c.reason
        st["actions"][act] += 1
        if rsn:
            st["reasons"][rsn] += 1
        if not c.parsed:
            continue
        st["rules"][c.rule or "(default)"] += 1
        cc = src_cc(c)
        e = st["countries"].setdefault(cc, {"packets": 0, "denied": 0})
        e["packets"] += 1
        # Denied is any action but allow, as counted: a frame allowed but
        # dropped for want of a port was not let through either.
        if act != "allow":
            e["denied"] += 1
    return st


def ip_layer(pkt):
    return pkt.getlayer(IP) if IP in pkt else pkt.getlayer(IPv6)


def case_ip(c):
    """The outermost IP header of C (behind an MPLS stack: the inner)."""
    ip = ip_layer(c.pkt)
    return ip if ip is not None else ip_layer(c.inner)


def src_cc(c):
    return country(case_ip(c).src)


def tunnel_record(layers, r, dst_geo):
    """The tunnel fields of a verdict record: LAYERS is [(src, via)] or
    [(src, via, dst)]; without dst, the layer goes to the server."""
    r["tunnel"] = "open"
    r["origin"] = str(ipaddress.ip_address(layers[-1][0]))
    r["origin_cc"] = country(layers[-1][0])
    r["layers"] = []
    for t in layers:
        a, v = t[0], t[1]
        d = t[2] if len(t) > 2 else (SRV6 if ":" in a else SRV4)
        lay = {"src": str(ipaddress.ip_address(a)), "via": v,
               "cc": country(a), "dst": str(ipaddress.ip_address(d))}
        if dst_geo:
            lay["dst_cc"] = country(d)
        r["layers"].append(lay)


def expected_record(c, n, dst_geo):
    """The --verdicts JSON object replay must print for case C."""
    r = {"n": n}
    if not c.parsed:
        r.update({"src": None, "dst": None, "proto": None, "sport": None,
                  "dport": None, "service": None, "src_cc": None,
                  "rule": None, "action": c.action})
        if c.reason:
            r["reason"] = c.reason
        return r
    ip = case_ip(c)
    r["src"] = str(ipaddress.ip_address(ip.src))
    r["dst"] = str(ipaddress.ip_address(ip.dst))
    l4 = None
    pkt = c.inner if c.inner is not None else c.pkt
    if c.fragment != "later" and c.l4:
        for cls in (TCP, UDP):
            if cls in pkt:
                l4 = pkt[cls]
    if c.proto:
        r["proto"] = c.proto
    elif TCP in pkt:
        r["proto"] = "tcp"
    elif UDP in pkt:
        r["proto"] = "udp"
    elif ICMP in pkt:
        r["proto"] = "icmp"
    else:
        r["proto"] = "icmpv6"
    r["sport"] = l4.sport if l4 is not None else None
    r["dport"] = l4.dport if l4 is not None else None
    svc = c.service
    if svc == "auto":
        svc = None
        if l4 is not None and c.fragment != "later":
            table = SERVICES_TCP if isinstance(l4, TCP) else SERVICES_UDP
            svc = table.get(l4.dport)
    r["service"] = svc
    r["src_cc"] = country(ip.src)
    if dst_geo:
        r["dst_cc"] = country(ip.dst)
    if c.layers:
        tunnel_record(c.layers, r, dst_geo)
    elif c.opaque:
        r["tunnel"] = "opaque"
    if c.fragment:
        r["fragment"] = c.fragment
    r["rule"] = c.rule or "(default)"
    r["action"] = c.action
    if c.reason:
        r["reason"] = c.reason
    return r


# --- scenario A: the full policy -------------------------------------------

A_PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_pcap1", "role": "inside",
     "peer": "outside0"},
    # The quarantine segment answers back out of the outside port.
    {"name": "quar0", "device": "net_pcap2", "role": "other",
     "peer": "outside0"},
]
A_PEERS = {"outside0": "inside0", "inside0": "outside0", "quar0": "outside0"}
A_NEXTHOPS = {
    "quarantine": {"name": "quarantine", "port": "quar0", "mac": QUAR_MAC,
                   "vlan": 100},
    "scrubber": {"name": "scrubber", "port": "quar0", "mac": SCRUB_MAC},
}
A_RULES = [
    {"name": "ssh-ru-scrub", "src": ["RU"], "services": ["ssh"],
     "direction": "in", "action": "reroute", "nexthop": "scrubber",
     "log": True},
    {"name": "ssh-prohibited-quarantine", "src": ["prohibited"],
     "services": ["ssh"], "direction": "in", "action": "reroute",
     "nexthop": "quarantine", "log": True},
    {"name": "mgmt-prohibited-drop", "src": ["prohibited"],
     "services": ["rdp", "https-admin"], "direction": "in",
     "action": "drop", "log": False},
    {"name": "mgmt-unknown-reject", "src": ["unknown"],
     "services": ["ssh", "rdp", "https-admin"], "direction": "in",
     "action": "reject", "log": True},
    # Destination rule: makes the policy need dst geo (dst_cc in replay).
    {"name": "ssh-out-to-prohibited", "dst": ["prohibited"],
     "services": ["ssh"], "direction": "out", "action": "drop",
     "log": False},
]
A_RULE_NAMES = [r["name"] for r in A_RULES]
A_RULE_LOG = {r["name"]: r["log"] for r in A_RULES}


def _v4(port, seq, src, dst=SRV4, dport=22, flags="S", l2=None, **kw):
    return (l2 if l2 is not None else eth(port)) / IP(
        src=src, dst=dst, id=seq()) / TCP(sport=seq(), dport=dport,
                                          flags=flags, seq=1000 + seq.n, **kw)


def _v6(port, seq, src, dst=SRV6, dport=22, flags="S", ext=None, l2=None):
    p = (l2 if l2 is not None else eth(port)) / IPv6(src=src, dst=dst,
                                                     fl=seq())
    if ext is not None:
        p = p / ext
    return p / TCP(sport=seq(), dport=dport, flags=flags, seq=5000 + seq.n)


def _u4(port, seq, src, dst=SRV4, dport=3389, l2=None):
    return (l2 if l2 is not None else eth(port)) / IP(
        src=src, dst=dst, id=seq()) / UDP(sport=seq(), dport=dport) / Raw(
            b"rdp-probe-%d" % seq.n)


def _frag4(port, seq, src, first, proto=6, dst=SRV4, dport=22,
           udp_len=None):
    """A first or later IPv4 fragment.  UDP_LEN is the UDP length field of
    a first fragment: by default only what the fragment holds (a real
    first fragment carries the whole datagram's length, see
    scenario_bugs)."""
    ip = IP(src=src, dst=dst, id=seq(), proto=proto,
            flags="MF" if first else 0, frag=0 if first else 185)
    if first:
        l4 = TCP(sport=seq(), dport=dport) if proto == 6 else UDP(
            sport=seq(), dport=dport, len=udp_len or 8 + 32)
        return eth(port) / ip / l4 / Raw(b"F" * 32)
    return eth(port) / ip / Raw(b"later-fragment-%d" % seq.n + b"L" * 16)


def _dgram(port, seq, src, dst=None, dport=22, proto=6, pieces=None,
           ident=None, labels=None, ah=False):
    """Frames of one fragmented datagram, one per (offset, length, more)
    of PIECES, in that order; all share one identification.  The piece at
    offset 0 holds the whole TCP (or UDP) header, behind an AH when AH
    (IPv4), and LENGTH bytes in all.  IPv6 when SRC is; LABELS gives each
    IPv6 later fragment's next header (default: PROTO)."""
    v6 = ":" in src
    dst = dst or (SRV6 if v6 else SRV4)
    ident = ident if ident is not None else seq()
    pieces = pieces or ((0, 24, True), (24, 24, True), (48, 8, False))
    labels = list(labels or [])
    out = []
    for off, n, more in pieces:
        if off == 0:
            l4 = TCP(sport=seq(), dport=dport, flags="S",
                     seq=7000 + seq.n) if proto == 6 else UDP(
                         sport=seq(), dport=dport, len=n + 32)
            if ah:
                l4 = AH(nh=proto, payloadlen=4, spi=1, seq=seq.n,
                        icv=b"\0" * 12) / l4
            body = l4 / Raw(b"F" * (n - len(l4)))
        else:
            body = Raw(bytes([0x40 + off // 8 % 26]) * n)
        if v6:
            nh = proto if off == 0 or not labels else labels.pop(0)
            ip = IPv6(src=src, dst=dst, nh=44) / IPv6ExtHdrFragment(
                nh=nh, offset=off // 8, m=1 if more else 0, id=ident)
        else:
            ip = IP(src=src, dst=dst, id=ident, proto=51 if ah else proto,
                    flags="MF" if more else 0, frag=off // 8)
        out.append(eth(port) / ip / body)
    return out


def _follow(C, name, port, frames, action, reason=None, rule=None,
            nexthop=None, service="auto", proto="tcp", reply=True):
    """Cases for FRAMES, a datagram whose first fragment comes first: the
    first gets the verdict, the later ones follow it (a reject becomes a
    drop: a later fragment cannot be answered; no log line)."""
    C.append(Case(name + "-first", port, frames[0], action, reason, rule,
                  nexthop=nexthop, fragment="first", reply=reply))
    if service == "auto":
        f0 = frames[0]
        service = SERVICES_TCP.get(f0[TCP].dport) if TCP in f0 else \
            SERVICES_UDP.get(f0[UDP].dport)
    protos = proto if isinstance(proto, list) else [proto] * len(frames)
    for k, fr in enumerate(frames[1:], 1):
        C.append(Case("%s-later%d" % (name, k), port, fr,
                      "drop" if action == "reject" else action, reason,
                      rule, nexthop=nexthop, fragment="later",
                      service=service, proto=protos[k - 1]))


def _ah4(port, seq, src, dport=22, dst=SRV4):
    """A TCP SYN behind an IPv4 AH header (24 bytes)."""
    return eth(port) / IP(src=src, dst=dst, id=seq()) / AH(
        nh=6, payloadlen=4, spi=1, seq=seq(), icv=b"\0" * 12) / TCP(
            sport=seq(), dport=dport)


def _ah4_later(port, seq, src):
    """A later fragment of an IPv4 AH datagram: its L4 protocol is in the
    first fragment, behind the AH."""
    return eth(port) / IP(src=src, dst=SRV4, id=seq(), proto=51,
                          frag=185) / Raw(b"ah-later-%d" % seq.n + b"L" * 16)


def _srcroute4(opt, via=SRV4):
    """IPv4 option bytes: loose (131) or strict (137) route through VIA."""
    return bytes([opt, 7, 4]) + ipaddress.ip_address(via).packed + b"\0"


def _issue10_outside(o, s):
    """Issue 10: IPv4 AH, source routes, IPv6 later fragments."""
    R0, R1, R2 = A_RULE_NAMES[:3]
    C = []
    C.append(Case("v4-ah-cn-ssh", o, _ah4(o, s, CN4), "reroute", "rule",
                  R1, nexthop="quarantine"))
    C.append(Case("v4-ah-ru-ssh", o, _ah4(o, s, RU4), "reroute", "rule",
                  R0, nexthop="scrubber"))
    C.append(Case("v4-ah-cn-https", o, _ah4(o, s, CN4, 443), "drop",
                  "rule", R2))
    C.append(Case("v4-ah-us-ssh", o, _ah4(o, s, US4), "allow"))
    # Later fragments of AH datagrams, and IPv6 ones labelled anything,
    # follow their first fragment (issue 13).
    _follow(C, "frag4-ah-cn-ssh", o, _dgram(o, s, CN4, ah=True,
                                            pieces=((0, 48, True),
                                                    (48, 8, False))),
            "reroute", "rule", R1, nexthop="quarantine", proto="51")
    _follow(C, "frag4-ah-us-ssh", o, _dgram(o, s, US4, ah=True,
                                            pieces=((0, 48, True),
                                                    (48, 8, False))),
            "allow", proto="51")
    C.append(Case("frag4-ah-later-alone", o, _ah4_later(o, s, US4), "drop",
                  "frag-no-first", fragment="later", proto="51"))
    _follow(C, "frag6-cn-labelled-udp", o, _dgram(o, s, CN6, labels=[17, 17]),
            "reroute", "rule", R1, nexthop="quarantine", proto="udp")
    _follow(C, "frag6-de-labelled-other", o, _dgram(o, s, DE6,
                                                    labels=[99, 99]),
            "allow", proto="99")
    C.append(Case("v4-lsrr-us-ssh", o, eth(o) / IP(
        src=US4, dst=SRV4, id=s(), options=[_srcroute4(131)]) /
        TCP(sport=s(), dport=22), "drop", "source-route"))
    C.append(Case("v4-ssrr-cn-https", o, eth(o) / IP(
        src=CN4, dst=SRV4, id=s(), options=[_srcroute4(137)]) /
        TCP(sport=s(), dport=443), "drop", "source-route"))
    # Record route is not source routing.
    C.append(Case("v4-rr-us-ssh", o, eth(o) / IP(
        src=US4, dst=SRV4, id=s(), options=[b"\x07\x07\x04" + b"\0" * 5]) /
        TCP(sport=s(), dport=22), "allow"))
    C.append(Case("v6-srh-de-ssh", o, _v6(o, s, DE6, ext=(
        IPv6ExtHdrSegmentRouting(addresses=[SRV6], segleft=0))), "drop",
        "source-route"))
    C.append(Case("v6-rh2-us-ssh", o, _v6(o, s, US6, ext=IPv6ExtHdrRouting(
        type=2, segleft=1, addresses=[SRV6])), "drop", "source-route"))
    C.append(Case("bad-ipv4-option-length-0", o, eth(o) / IP(
        src=US4, dst=SRV4, id=s(), options=[b"\x07\x00\x00\x00"]) /
        TCP(sport=s(), dport=22), "drop", "ipv4-bad-options"))
    C.append(Case("bad-ipv4-ah-truncated", o, eth(o) / IP(
        src=US4, dst=SRV4, id=s(), proto=51) / Raw(b"\x06\x04" + b"\0" * 6),
        "drop", "ipv4-bad-ah"))
    return C


def _malformed(seq):
    """(name, frame bytes, reason): one per parser reason."""
    l2 = bytes(eth("outside0"))
    l2v4 = l2[:12] + b"\x08\x00"
    l2v6 = l2[:12] + b"\x86\xdd"
    good4 = bytes(IP(src=CN4, dst=SRV4, id=seq()) / TCP(sport=seq(),
                                                         dport=22))
    good6 = bytes(IPv6(src=CN6, dst=SRV6) / TCP(sport=seq(), dport=22))
    out = []
    out.append(("eth-truncated", l2[:10], "eth-truncated"))
    out.append(("vlan-truncated", l2[:12] + b"\x81\x00\x00", "vlan-truncated"))
    three = bytes(Ether(src=CLI_MAC, dst=SRV_MAC) / Dot1AD(vlan=1) /
                  Dot1Q(vlan=2) / Dot1Q(vlan=3) / IP(src=US4, dst=SRV4,
                                                     id=seq()) /
                  TCP(sport=seq(), dport=80))
    out.append(("three-vlan-tags", three, "vlan-too-deep"))
    out.append(("ipv4-truncated", l2v4 + good4[:12], "ipv4-truncated"))
    bad = bytearray(good4)
    bad[0] = 0x65
    out.append(("ipv4-version-6", l2v4 + bytes(bad), "ipv4-bad-version"))
    bad = bytearray(good4)
    bad[0] = 0x44
    out.append(("ipv4-ihl-4", l2v4 + bytes(bad), "ipv4-bad-ihl"))
    ip = IP(src=CN4, dst=SRV4, id=seq(), len=400) / TCP(sport=seq(),
                                                        dport=22)
    out.append(("ipv4-len-beyond-frame", l2v4 + bytes(ip), "ipv4-bad-length"))
    out.append(("ipv6-truncated", l2v6 + good6[:30], "ipv6-truncated"))
    bad = bytearray(good6)
    bad[0] = 0x40
    out.append(("ipv6-version-4", l2v6 + bytes(bad), "ipv6-bad-version"))
    ip6 = IPv6(src=CN6, dst=SRV6, plen=200) / TCP(sport=seq(), dport=22)
    out.append(("ipv6-plen-beyond-frame", l2v6 + bytes(ip6),
                "ipv6-bad-length"))
    # Hop-by-hop header claiming 3 * 8 + 8 bytes in a 16-byte payload.
    ip6 = IPv6(src=CN6, dst=SRV6, nh=0, plen=16) / Raw(
        b"\x06\x03" + b"\x01\x04\x00\x00\x00\x00" + b"\x00" * 8)
    out.append(("ipv6-ext-truncated", l2v6 + bytes(ip6),
                "ipv6-ext-truncated"))
    chain = IPv6(src=DE6, dst=SRV6)
    for _ in range(9):
        chain = chain / IPv6ExtHdrDestOpt()
    chain = chain / TCP(sport=seq(), dport=80)
    out.append(("ipv6-nine-ext-headers", l2v6 + bytes(chain),
                "ipv6-ext-chain-too-long"))
    ip = IP(src=CN4, dst=SRV4, id=seq(), proto=6) / Raw(b"\x00\x16" * 5)
    out.append(("tcp-10-bytes", l2v4 + bytes(ip), "tcp-truncated"))
    ip = IP(src=CN4, dst=SRV4, id=seq()) / TCP(sport=seq(), dport=22,
                                              dataofs=15)
    out.append(("tcp-doff-15", l2v4 + bytes(ip), "tcp-bad-offset"))
    bad = IP(src=CN4, dst=SRV4, id=seq()) / TCP(sport=seq(), dport=22,
                                               dataofs=4)
    out.append(("tcp-doff-4", l2v4 + bytes(bad), "tcp-bad-offset"))
    ip = IP(src=CN4, dst=SRV4, id=seq(), proto=17) / Raw(b"\x0d\x3d\x0d")
    out.append(("udp-truncated", l2v4 + bytes(ip), "udp-truncated"))
    ip = IP(src=CN4, dst=SRV4, id=seq()) / UDP(sport=seq(), dport=3389,
                                              len=300) / Raw(b"x" * 8)
    out.append(("udp-len-beyond-packet", l2v4 + bytes(ip), "udp-bad-length"))
    ip = IP(src=CN4, dst=SRV4, id=seq(), proto=1) / Raw(b"\x08")
    out.append(("icmp-truncated", l2v4 + bytes(ip), "icmp-truncated"))
    ip6 = IPv6(src=CN6, dst=SRV6, nh=17) / Raw(b"\x00\x01\x0d")
    out.append(("ipv6-udp-truncated", l2v6 + bytes(ip6), "udp-truncated"))
    # "Tiny fragment": a first fragment without the whole TCP header.
    ip = IP(src=US4, dst=SRV4, id=seq(), proto=6, flags="MF") / Raw(
        b"\x9c\x40\x00\x16\x00\x00\x00\x01")
    out.append(("frag4-first-tiny-tcp", l2v4 + bytes(ip), "tcp-truncated"))
    ip6 = IPv6(src=DE6, dst=SRV6, nh=44) / IPv6ExtHdrFragment(
        nh=6, offset=0, m=1, id=seq()) / Raw(b"\x9c\x41\x00\x16" + b"\0" * 4)
    out.append(("frag6-first-tiny-tcp", l2v6 + bytes(ip6), "tcp-truncated"))
    # RFC 7112: a first fragment whose header chain does not end in it
    # (a destination options header of 24 bytes, 8 of them here).
    ip6 = IPv6(src=DE6, dst=SRV6, nh=44) / IPv6ExtHdrFragment(
        nh=60, offset=0, m=1, id=seq()) / Raw(b"\x06\x02" + b"\0" * 6)
    out.append(("frag6-first-chain-cut", l2v6 + bytes(ip6),
                "ipv6-ext-truncated"))
    return out + _malformed_tunnels(l2)


def _inner_frags():
    """Issue 13: fragments inside a tunnel are never judged (the table
    tracks outer datagrams only), first or later, either family."""
    import tunframes as T
    s = T.syn(US4)
    first4 = IP(src=US4, dst=SRV4, flags="MF", id=77) / TCP(
        sport=40001, dport=22, flags="S") / Raw(b"\0" * 16)
    later4 = IP(src=US4, dst=SRV4, frag=3, proto=6, id=77) / Raw(b"\0" * 16)
    first6 = IPv6(src=US6, dst=SRV6) / IPv6ExtHdrFragment(
        nh=6, offset=0, m=1, id=78) / TCP(sport=40001, dport=22, flags="S")
    later6 = IPv6(src=US6, dst=SRV6) / IPv6ExtHdrFragment(
        nh=6, offset=3, m=0, id=78) / Raw(b"\0" * 16)
    return [
        ("tun-inner-first-fragment", T.ipip(US4, first4), "tun-fragment"),
        ("tun-inner-later-fragment", T.ipip(US4, later4), "tun-fragment"),
        ("tun-gre-inner-later-fragment", T.gre(US4, later4),
         "tun-fragment"),
        ("tun-vxlan-inner-later-fragment", T.vxlan(US4, later4),
         "tun-fragment"),
        ("tun-6in4-inner-first-fragment", T.ipip(US4, first6),
         "tun-fragment"),
        ("tun-6in4-inner-later-fragment", T.ipip(US4, later6),
         "tun-fragment"),
        ("tun-udp-first-fragment", IP(src=US4, dst=SRV4, proto=17,
                                      flags="MF") /
         Raw(bytes(T.vxlan(US4, s))[20:]), "tun-fragment"),
    ]


def _malformed_tunnels(l2):
    """Malformed tunnels (docs/packet-parsing.md, Tunnels): one per
    reason, each carrying a US ssh SYN that must not pass."""
    import tunframes as T
    s = T.syn(US4)
    out = [
        ("tun-gre-routing", T.gre(US4, s), "tun-bad-gre"),
        ("tun-vxlan-no-i", T.vxlan(US4, s, flags=0), "tun-bad-vxlan"),
        ("tun-geneve-opt", T.geneve(US4, s, opts=b"\x01\x02\x80\x05" +
                                    b"\0" * 4), "tun-bad-geneve"),
        ("tun-teredo-v4", T.teredo(US4, s), "tun-bad-teredo"),
        ("tun-mpls-no-bos", IP(src=US4, dst=SRV4, proto=47) / Raw(
            T.gre_hdr(0x8847) + b"\x00\x01\x00\x40" * 9), "tun-bad-mpls"),
        ("tun-eth-short", IP(src=US4, dst=SRV4) / UDP(sport=1, dport=4789) /
         Raw(b"\x08" + b"\0" * 7 + b"\0" * 10), "tun-bad-ethernet"),
        ("tun-inner-short", T.ipip(US4, Raw(bytes(s)[:30])),
         "tun-bad-inner"),
        ("tun-too-deep", T.nest(US4, s, 4), "tun-too-deep"),
        ("tun-l2tp-v1", IP(src=US4, dst=SRV4) / UDP(sport=1, dport=1701) /
         Raw(b"\x00\x01\x00\x00" + bytes(s)), "tun-bad-l2tp"),
        ("tun-gue-variant-2", IP(src=US4, dst=SRV4) /
         UDP(sport=1, dport=6080) / Raw(b"\x80\x04\x00\x00" + bytes(s)),
         "tun-bad-gue"),
        ("tun-gtp-v2", IP(src=US4, dst=SRV4) / UDP(sport=1, dport=2152) /
         Raw(b"\x48\xff\x00\x00" + b"\x00" * 4 + bytes(s)),
         "tun-bad-gtp"),
        ("tun-gre-erspan", IP(src=US4, dst=SRV4, proto=47) / Raw(
            b"\x00\x00\x88\xbe" + bytes(s)), "tun-not-inspected"),
        ("tun-first-fragment", IP(src=US4, dst=SRV4, proto=4, flags="MF") /
         Raw(bytes(s)), "tun-fragment"),
    ] + _inner_frags()
    gre = bytearray(bytes(out[0][1]))
    gre[20] |= 0x40     # routing present (RFC 1701)
    out[0] = (out[0][0], bytes(gre), out[0][2])
    return [(n, l2[:12] + (b"\x08\x00" if isinstance(f, (bytes, bytearray))
                           or IP in f else b"\x86\xdd") + bytes(f), r)
            for n, f, r in out]


def _frag_cases_v4(o, s):
    """Issue 13: IPv4 datagrams in fragments, from allowed and prohibited
    sources, and the attacks the fragment table refuses."""
    R0, R1, R2, R3 = A_RULE_NAMES[:4]
    C = []
    _follow(C, "frag4-cn-ssh", o, _dgram(o, s, CN4), "reroute", "rule", R1,
            nexthop="quarantine")
    _follow(C, "frag4-us-ssh", o, _dgram(o, s, US4), "allow")
    # Regression: CN may reach http, UNK dns; the coarse rule dropped
    # their fragments because ssh is denied to them.
    _follow(C, "frag4-cn-http", o, _dgram(o, s, CN4, dport=80), "allow")
    _follow(C, "frag4-unknown-dns-udp", o, _dgram(
        o, s, UNK4, dport=53, proto=17), "allow", proto="udp")
    _follow(C, "frag4-cn-https", o, _dgram(o, s, CN4, dport=443), "drop",
            "rule", R2)
    _follow(C, "frag4-unknown-ssh", o, _dgram(o, s, UNK4), "reject", "rule",
            R3)
    # A later fragment before its first: dropped; the rest follow.
    d = _dgram(o, s, RU4)
    C.append(Case("frag4-ru-ssh-later-early", o, d[2], "drop",
                  "frag-no-first", fragment="later", proto="tcp"))
    _follow(C, "frag4-ru-ssh", o, d[:2], "reroute", "rule", R0,
            nexthop="scrubber")
    C.append(Case("frag4-cn-later-alone", o, _dgram(o, s, CN4)[1], "drop",
                  "frag-no-first", fragment="later", proto="tcp"))
    # A tunnel in fragments: its first fragment is refused (tun-fragment,
    # bad-tun-first-fragment), so a later one has no verdict to follow.
    C.append(Case("frag4-ipip-later", o, eth(o) / IP(
        src=US4, dst=SRV4, proto=4, frag=3, id=s()) / Raw(b"\0" * 16),
        "drop", "frag-no-first", fragment="later", proto="4"))
    # RFC 5722: an overlap drops the rest of the datagram.
    d = _dgram(o, s, US4, pieces=((0, 24, True), (16, 16, True),
                                  (32, 8, False)))
    C.append(Case("frag4-us-overlap-first", o, d[0], "allow",
                  fragment="first"))
    for k, fr in enumerate(d[1:], 1):
        C.append(Case("frag4-us-overlap-%d" % k, o, fr, "drop",
                      "frag-overlap", fragment="later", proto="tcp"))
    d = _dgram(o, s, US4)
    C.append(Case("frag4-us-dup-first-1", o, d[0], "allow",
                  fragment="first"))
    # A second first fragment (other bytes, same place) overlaps.
    dup = d[0].copy()
    dup[TCP].sport = s()
    C.append(Case("frag4-us-dup-first-2", o, dup, "drop",
                  "frag-overlap", fragment="first", service=None))
    # RFC 1858 / 3128: TCP at offset 8 would rewrite the header's flags.
    d = _dgram(o, s, US4, pieces=((0, 24, True), (8, 16, False)))
    C.append(Case("frag4-us-tcp-off1-first", o, d[0], "allow",
                  fragment="first"))
    C.append(Case("frag4-us-tcp-off1", o, d[1], "drop", "frag-tcp-offset-1",
                  fragment="later", proto="tcp"))
    C.append(Case("frag4-us-tcp-off1-alone", o, _dgram(
        o, s, US4, pieces=((0, 24, True), (8, 16, False)))[1], "drop",
        "frag-tcp-offset-1", fragment="later", proto="tcp"))
    return C


def _frag_cases_v6(o, s):
    """Issue 13: IPv6 datagrams in fragments; a later fragment's next
    header is whatever its sender wrote, and it follows all the same."""
    R1 = A_RULE_NAMES[1]
    C = []
    _follow(C, "frag6-cn-ssh", o, _dgram(o, s, CN6, labels=[17, 6]),
            "reroute", "rule", R1, nexthop="quarantine",
            proto=["udp", "tcp"])
    _follow(C, "frag6-de-ssh", o, _dgram(o, s, DE6, labels=[6, 59]),
            "allow", proto=["tcp", "59"])
    C.append(Case("frag6-de-later-alone", o, _dgram(o, s, DE6)[2], "drop",
                  "frag-no-first", fragment="later", proto="tcp"))
    d = _dgram(o, s, DE6, pieces=((0, 24, True), (8, 16, False)),
               labels=[17])
    C.append(Case("frag6-de-tcp-off1-first", o, d[0], "allow",
                  fragment="first"))
    C.append(Case("frag6-de-tcp-off1", o, d[1], "drop",
                  "frag-tcp-offset-1", fragment="later", proto="udp"))
    return C


def scenario_a():
    """Cases of scenario A, in the order they are injected per port."""
    s = Seq(40000)
    o, i, q = "outside0", "inside0", "quar0"
    R0, R1, R2, R3, R4 = A_RULE_NAMES
    C = []
    # IPv4 TCP/UDP from allowed, prohibited and unknown sources.
    C.append(Case("v4-us-ssh", o, _v4(o, s, US4), "allow"))
    C.append(Case("v4-us-https", o, _v4(o, s, US4, dport=443), "allow"))
    C.append(Case("v4-us-rdp", o, _v4(o, s, US4, dport=3389), "allow"))
    C.append(Case("v4-us-http", o, _v4(o, s, US4, dport=80), "allow"))
    C.append(Case("v4-cn-ssh", o, _v4(o, s, CN4), "reroute", "rule", R1,
                  nexthop="quarantine"))
    C.append(Case("v4-ru-ssh", o, _v4(o, s, RU4), "reroute", "rule", R0,
                  nexthop="scrubber"))
    C.append(Case("v4-cn-https-8443", o, _v4(o, s, CN4, dport=8443), "drop",
                  "rule", R2))
    C.append(Case("v4-cn-rdp-tcp", o, _v4(o, s, CN4, dport=3389), "drop",
                  "rule", R2))
    C.append(Case("v4-cn-rdp-udp", o, _u4(o, s, CN4), "drop", "rule", R2))
    C.append(Case("v4-cn-http", o, _v4(o, s, CN4, dport=80), "allow"))
    C.append(Case("v4-unknown-ssh-syn", o, _v4(o, s, UNK4), "reject",
                  "rule", R3))
    C.append(Case("v4-unknown-https-ack-data", o,
                  _v4(o, s, UNK4, dport=443, flags="PA", ack=777777) /
                  Raw(b"GET / HTTP/1.0\r\n"), "reject", "rule", R3))
    C.append(Case("v4-unknown-ssh-fin", o, _v4(o, s, UNK4, flags="F"),
                  "reject", "rule", R3))
    C.append(Case("v4-unknown-rdp-udp", o, _u4(o, s, UNK4), "reject",
                  "rule", R3))
    C.append(Case("v4-unknown-http", o, _v4(o, s, UNK4, dport=80), "allow"))
    C.append(Case("v4-unknown-ssh-rst-no-reply", o,
                  _v4(o, s, UNK4, flags="R"), "reject", "rule", R3,
                  reply=False))
    C.append(Case("v4-unknown-ssh-broadcast-no-reply", o,
                  _v4(o, s, UNK4, l2=eth(o, dst="ff:ff:ff:ff:ff:ff")),
                  "reject", "rule", R3, reply=False))
    C.append(Case("v4-us-ssh-ip-options", o,
                  eth(o) / IP(src=US4, dst=SRV4, id=s(),
                              options=[b"\x01\x01\x01\x00"]) /
                  TCP(sport=s(), dport=22), "allow"))
    # ICMP echo: no rule names ICMP.
    C.append(Case("v4-cn-icmp-echo", o, eth(o) / IP(src=CN4, dst=SRV4,
                                                   id=s()) /
                  ICMP(id=s(), seq=1), "allow"))
    C.append(Case("v4-unknown-icmp-echo", o, eth(o) / IP(
        src=UNK4, dst=SRV4, id=s()) / ICMP(id=s(), seq=1), "allow"))
    # VLAN tags.
    C.append(Case("dot1q-v4-cn-ssh", o, _v4(o, s, CN4, l2=eth(o) /
                                            Dot1Q(vlan=10)),
                  "reroute", "rule", R1, nexthop="quarantine"))
    C.append(Case("dot1q-v4-us-ssh", o, _v4(o, s, US4, l2=eth(o) /
                                            Dot1Q(vlan=10)), "allow"))
    C.append(Case("qinq-v4-unknown-ssh", o, _v4(o, s, UNK4, l2=eth(o) /
                                                Dot1AD(vlan=20) /
                                                Dot1Q(vlan=30)),
                  "reject", "rule", R3))
    C.append(Case("qinq-v4-cn-https", o, _v4(o, s, CN4, dport=443,
                                             l2=eth(o) / Dot1AD(vlan=20) /
                                             Dot1Q(vlan=30)),
                  "drop", "rule", R2))
    C.append(Case("dot1q-v6-us-https", o, _v6(o, s, US6, dport=443,
                                              l2=eth(o) / Dot1Q(vlan=11)),
                  "allow"))
    C.append(Case("qinq-v6-ru-ssh", o, _v6(o, s, RU6, l2=eth(o) /
                                           Dot1AD(vlan=21) / Dot1Q(vlan=31)),
                  "reroute", "rule", R0, nexthop="scrubber"))
    # IPv4 fragments (issue 13): later fragments follow the first.
    C += _frag_cases_v4(o, s)
    # IPv6, with and without extension headers.
    C.append(Case("v6-de-ssh", o, _v6(o, s, DE6), "allow"))
    C.append(Case("v6-cn-ssh", o, _v6(o, s, CN6), "reroute", "rule", R1,
                  nexthop="quarantine"))
    C.append(Case("v6-ru-ssh", o, _v6(o, s, RU6), "reroute", "rule", R0,
                  nexthop="scrubber"))
    C.append(Case("v6-cn-https", o, _v6(o, s, CN6, dport=443), "drop",
                  "rule", R2))
    C.append(Case("v6-cn-http", o, _v6(o, s, CN6, dport=80), "allow"))
    C.append(Case("v6-unknown-ssh-syn", o, _v6(o, s, UNK6), "reject",
                  "rule", R3))
    C.append(Case("v6-unknown-rdp-udp", o, eth(o) / IPv6(src=UNK6, dst=SRV6)
                  / UDP(sport=s(), dport=3389) / Raw(b"u" * 40),
                  "reject", "rule", R3))
    C.append(Case("v6-hbh-cn-ssh", o, _v6(o, s, CN6,
                                          ext=IPv6ExtHdrHopByHop()),
                  "reroute", "rule", R1, nexthop="quarantine"))
    # A routing header with nothing left to visit still names a path.
    C.append(Case("v6-routing-cn-https", o, _v6(
        o, s, CN6, dport=443, ext=IPv6ExtHdrRouting(
            type=0, segleft=0, addresses=[SRV6])), "drop", "source-route"))
    C.append(Case("v6-dstopt-unknown-ssh", o, _v6(o, s, UNK6,
                                                  ext=IPv6ExtHdrDestOpt()),
                  "reject", "rule", R3))
    C.append(Case("v6-hbh-dstopt-de-https", o, _v6(
        o, s, DE6, dport=443,
        ext=IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt()), "allow"))
    C.append(Case("v6-atomic-frag-cn-https", o, _v6(
        o, s, CN6, dport=443, ext=IPv6ExtHdrFragment(offset=0, m=0, id=7)),
        "drop", "rule", R2))
    C += _frag_cases_v6(o, s)
    C.append(Case("v6-cn-icmpv6-echo", o, eth(o) / IPv6(src=CN6, dst=SRV6) /
                  ICMPv6EchoRequest(id=s()), "allow"))
    # Ethernet padding (to 60 bytes), IP and TCP options, big quotes.
    pad = _v4(o, s, UNK4) / Raw(b"\0" * 6)
    pad[IP].len = 40
    C.append(Case("v4-unknown-ssh-syn-padded", o, pad, "reject", "rule",
                  R3))
    pad = _v4(o, s, US4) / Raw(b"\0" * 6)
    pad[IP].len = 40
    C.append(Case("v4-us-ssh-padded", o, pad, "allow"))
    C.append(Case("v4-unknown-ssh-ip-options", o,
                  eth(o) / IP(src=UNK4, dst=SRV4, id=s(),
                              options=[b"\x01\x01\x01\x00"]) /
                  TCP(sport=s(), dport=22, seq=99), "reject", "rule", R3))
    C.append(Case("v4-unknown-rdp-udp-ip-options", o,
                  eth(o) / IP(src=UNK4, dst=SRV4, id=s(),
                              options=[b"\x01\x01\x01\x00"]) /
                  UDP(sport=s(), dport=3389) / Raw(b"o" * 20),
                  "reject", "rule", R3))
    C.append(Case("v4-unknown-ssh-tcp-options-data", o,
                  eth(o) / IP(src=UNK4, dst=SRV4, id=s()) /
                  TCP(sport=s(), dport=22, flags="S", seq=0xfffffffe,
                      options=[("MSS", 1460), ("NOP", None),
                               ("WScale", 7)]) / Raw(b"d" * 5),
                  "reject", "rule", R3))
    # Regression (issue 10 item 16): a frame that spans two mbufs cannot
    # be rewritten into its reply in place; it used to be counted as a
    # reject that was never sent.
    C.append(Case("v4-unknown-rdp-udp-jumbo-no-reply", o,
                  _u4(o, s, UNK4) / Raw(b"J" * 4000), "reject", "rule", R3,
                  reply=False))
    C.append(Case("v6-unknown-rdp-udp-big", o, eth(o) / IPv6(src=UNK6,
                                                             dst=SRV6) /
                  UDP(sport=s(), dport=3389) / Raw(b"B" * 1400),
                  "reject", "rule", R3))
    C.append(Case("tpid9100-v4-us-ssh", o, Ether(
        src=CLI_MAC, dst=SRV_MAC, type=0x9100) / Dot1Q(vlan=12) /
        IP(src=US4, dst=SRV4, id=s()) / TCP(sport=s(), dport=22), "allow"))
    assert C[-1].frame[12:14] == b"\x91\x00"
    # Host and /64 overrides inside prohibited prefixes.
    C.append(Case("v4-host-override-de-https", o,
                  _v4(o, s, "198.51.100.99", dport=443), "allow"))
    C.append(Case("v4-host-neighbour-cn-https", o,
                  _v4(o, s, "198.51.100.98", dport=443), "drop", "rule",
                  R2))
    C.append(Case("v6-64-override-us-https", o,
                  _v6(o, s, "2001:db8:1:5::1", dport=443), "allow"))
    C.append(Case("v6-64-neighbour-cn-https", o,
                  _v6(o, s, "2001:db8:1:6::1", dport=443), "drop", "rule",
                  R2))
    # Other protocols: no ports, so no service rule matches them.
    C.append(Case("v6-ah-cn-ssh", o, eth(o) / IPv6(src=CN6, dst=SRV6) /
                  AH(nh=6, payloadlen=4, spi=1, seq=s(), icv=b"\0" * 12) /
                  TCP(sport=s(), dport=22), "reroute", "rule", R1,
                  nexthop="quarantine"))
    C.append(Case("v6-esp-cn", o, eth(o) / IPv6(src=CN6, dst=SRV6) /
                  ESP(spi=7, seq=s(), data=b"e" * 24), "allow", proto="50",
                  opaque=True))
    # Tunnels are opened: the inner ssh is what the rules see.
    gre_in = IP(src=CN4, dst=SRV4) / TCP(dport=22)
    C.append(Case("v4-gre-cn", o, eth(o) / IP(src=CN4, dst=SRV4, id=s()) /
                  GRE() / gre_in, "reroute", "rule", R1,
                  nexthop="quarantine", layers=[(CN4, "none"),
                                                (CN4, "gre")],
                  inner=gre_in))
    # Non-IP.
    C.append(Case("arp-request", o, Ether(src=CLI_MAC,
                                          dst="ff:ff:ff:ff:ff:ff") /
                  ARP(psrc=US4, pdst=SRV4, hwsrc=CLI_MAC), "allow"))
    C.append(Case("dot1q-arp", o, Ether(src=CLI_MAC,
                                        dst="ff:ff:ff:ff:ff:ff") /
                  Dot1Q(vlan=10) / ARP(psrc=US4, pdst="192.0.2.81",
                                       hwsrc=CLI_MAC), "allow"))
    # Regression (review): IP behind an ethertype the parser does not
    # open (MPLS, PPPoE session, PBB, unknown tag, LLC/SNAP) used to pass
    # as "non-ip"; it is now refused as uninspectable.  Link control
    # (LLDP, STP's LLC) still follows non_ip.
    syn = bytes(IP(src=CN4, dst=SRV4) / TCP(sport=40999, dport=22))
    for name, et, pre in (("pppoe", 0x8864, b"\x11\x00\x00\x01\x00\x2a"
                           b"\x00\x21"),
                          ("tag-9200", 0x9200, b"\x00\x0a\x08\x00")):
        C.append(Case("cn-ssh-in-" + name, o,
                      Ether(src=CLI_MAC, dst=SRV_MAC, type=et) /
                      Raw(pre + syn), "drop", "ethertype-not-inspected"))
    # MPLS is opened now (docs/packet-parsing.md, Tunnels): the IP
    # behind the label stack is judged; a pseudowire is not inspected.
    C.append(Case("cn-ssh-in-mpls", o, Ether(src=CLI_MAC, dst=SRV_MAC,
                                             type=0x8847) /
                  Raw(b"\x00\x01\x01\x40" + syn), "reroute", "rule", R1,
                  nexthop="quarantine", layers=[(CN4, "mpls")],
                  inner=IP(syn)))
    C.append(Case("pw-in-mpls", o, Ether(src=CLI_MAC, dst=SRV_MAC,
                                         type=0x8847) /
                  Raw(b"\x00\x01\x01\x40\x00\x00\x00\x00" + syn), "drop",
                  "tun-not-inspected"))
    C.append(Case("cn-ssh-in-llc-snap", o, Ether(
        src=CLI_MAC, dst=SRV_MAC, type=8 + len(syn)) / Raw(
        b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + syn), "drop",
        "ethertype-not-inspected"))
    C.append(Case("stp-bpdu-llc", o, Ether(
        src=CLI_MAC, dst="01:80:c2:00:00:00", type=38) / Raw(
        b"\x42\x42\x03" + b"\x00" * 35), "allow"))
    C.append(Case("lldp", o, Ether(src=CLI_MAC, dst="01:80:c2:00:00:0e",
                                   type=0x88cc) / Raw(b"\x02\x07" +
                                                      b"\x00" * 40), "allow"))
    C += _issue10_outside(o, s)
    # Malformed: dropped before any rule, whatever the source.
    for name, fr, reason in _malformed(s):
        C.append(Case("bad-" + name, o, fr, "drop", reason))
    # Inside port: direction out.
    C.append(Case("in-v4-cn-src-ssh", i, _v4(i, s, CN4, dst=SRV4),
                  "allow"))
    C.append(Case("in-v4-to-cn-ssh", i, _v4(i, s, SRV4, dst=CN4), "drop",
                  "rule", R4))
    C.append(Case("in-v4-to-us-ssh", i, _v4(i, s, SRV4, dst=US4), "allow"))
    C.append(Case("in-v6-to-cn-ssh", i, _v6(i, s, SRV6, dst=CN6), "drop",
                  "rule", R4))
    C.append(Case("in-v4-to-unknown-ssh", i, _v4(i, s, SRV4, dst=UNK4),
                  "allow"))
    _follow(C, "in-frag4-to-cn-ssh", i, _dgram(i, s, SRV4, dst=CN4), "drop",
            "rule", R4)
    _follow(C, "in-frag4-to-us-ssh", i, _dgram(i, s, SRV4, dst=US4), "allow")
    # Source routes are dropped in both directions.
    C.append(Case("in-v4-lsrr-to-us-ssh", i, eth(i) / IP(
        src=SRV4, dst=US4, id=s(), options=[_srcroute4(131, US4)]) /
        TCP(sport=s(), dport=22), "drop", "source-route"))
    C.append(Case("in-arp-reply", i, Ether(src=SRV_MAC, dst=CLI_MAC) /
                  ARP(op=2, psrc=SRV4, pdst=US4, hwsrc=SRV_MAC,
                      hwdst=CLI_MAC), "allow"))
    bad = bytearray(bytes(_v4(i, s, SRV4, dst=US4)))
    bad[14] = 0x43
    C.append(Case("in-bad-ihl", i, bytes(bad), "drop", "ipv4-bad-ihl"))
    # Quarantine port: its host answers, forwarded to outside0.
    C.append(Case("quar-v4-answer", q, _v4(q, s, SRV4, dst=CN4, dport=40001,
                                           flags="SA"), "allow"))
    C.append(Case("quar-v4-to-cn-ssh", q, _v4(q, s, SRV4, dst=CN4), "drop",
                  "rule", R4))
    C.append(Case("quar-v6-answer", q, _v6(q, s, SRV6, dst=CN6,
                                           dport=40002, flags="SA"),
                  "allow"))
    return C


# --- scenario B: default reject, non-IP dropped, a port with no peer -------

B_PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_pcap1", "role": "inside",
     "peer": "outside0"},
    # A monitoring port with nowhere to forward to.
    {"name": "lonely0", "device": "net_pcap2", "role": "other"},
]
B_PEERS = {"outside0": "inside0", "inside0": "outside0", "lonely0": None}
B_RULES = [
    {"name": "allow-us", "src": ["US"], "action": "allow", "log": False},
]
B_RULE_NAMES = ["allow-us"]


def scenario_b():
    s = Seq(50000)
    o, i, lp = "outside0", "inside0", "lonely0"
    C = []
    C.append(Case("b-us-ssh", o, _v4(o, s, US4), "allow", None, "allow-us"))
    C.append(Case("b-cn-ssh", o, _v4(o, s, CN4), "reject", "default"))
    C.append(Case("b-cn-dns-udp", o, eth(o) / IP(src=CN4, dst=SRV4, id=s()) /
                  UDP(sport=s(), dport=53) / Raw(b"q" * 30),
                  "reject", "default", service=None))
    C.append(Case("b-cn-echo", o, eth(o) / IP(src=CN4, dst=SRV4, id=s()) /
                  ICMP(id=s(), seq=3) / Raw(b"ping" * 8), "reject",
                  "default"))
    C.append(Case("b-cn-icmp-unreach-no-reply", o, eth(o) / IP(
        src=CN4, dst=SRV4, id=s()) / ICMP(type=3, code=1) / Raw(b"e" * 28),
        "reject", "default", reply=False))
    C.append(Case("b-de6-echo", o, eth(o) / IPv6(src=DE6, dst=SRV6) /
                  ICMPv6EchoRequest(id=s(), data=b"p6" * 10),
                  "reject", "default"))
    C.append(Case("b-v6-multicast-dst-no-reply", o, eth(o) / IPv6(
        src=CN6, dst="ff02::1") / UDP(sport=s(), dport=5353),
        "reject", "default", reply=False))
    C.append(Case("b-arp-dropped", o, Ether(src=CLI_MAC,
                                            dst="ff:ff:ff:ff:ff:ff") /
                  ARP(psrc=US4, pdst=SRV4), "drop", "non-ip"))
    _follow(C, "b-frag4-cn", o, _dgram(o, s, CN4), "reject", "default")
    _follow(C, "b-frag4-us", o, _dgram(o, s, US4), "allow", None,
            "allow-us")
    C.append(Case("b-in-us-src", i, _v4(i, s, SRV4, dst=CN4), "allow", None,
                  "allow-us"))
    # Allowed by policy, but the port has no peer: a counted drop.
    C.append(Case("b-lonely-us", lp, _v4(lp, s, US4), "allow", None,
                  "allow-us", live_action="drop",
                  live_reason="no-egress-port"))
    C.append(Case("b-lonely-arp", lp, Ether(src=CLI_MAC,
                                            dst="ff:ff:ff:ff:ff:ff") /
                  ARP(psrc=US4, pdst=SRV4), "drop", "non-ip"))
    return C


# --- identity: what the identity gate sees behind AH and in fragments ------

ID_PORTS = A_PORTS[:2]
ID_PEERS = {"outside0": "inside0", "inside0": "outside0"}
ID_RULES = [
    {"name": "mgmt-prohibited-drop", "src": ["prohibited"],
     "services": ["rdp", "https-admin"], "direction": "in",
     "action": "drop", "log": False},
]
ID_CONF = """identity = {
	issuers = ( { name = "corp"; issuer = "https://idp.example";
		audience = "cordon"; jwks = "/dev/null";
		algorithms = [ "ES256" ]; } );
	services = [ "ssh" ];
	unidentified = { action = "drop"; log = false; };
};"""


def scenario_ident():
    """Issue 10: an IPv4 AH packet to ssh is refused by the identity gate
    like its IPv6 equivalent (cordon-dp alone has no sessions)."""
    s = Seq(30000)
    o, i = "outside0", "inside0"
    C = []
    for name, src in (("us", US4), ("cn", CN4)):
        C.append(Case("id-v4-%s-ssh" % name, o, _v4(o, s, src), "drop",
                      "no-session"))
        C.append(Case("id-v4-ah-%s-ssh" % name, o, _ah4(o, s, src),
                      "drop", "no-session"))
    for name, src in (("us", US6), ("cn", CN6)):
        C.append(Case("id-v6-ah-%s-ssh" % name, o, eth(o) / IPv6(
            src=src, dst=SRV6) / AH(nh=6, payloadlen=4, spi=1, seq=s(),
                                    icv=b"\0" * 12) /
            TCP(sport=s(), dport=22), "drop", "no-session"))
    C.append(Case("id-v4-ah-us-http", o, _ah4(o, s, US4, 80), "allow"))
    C.append(Case("id-v4-ah-cn-https", o, _ah4(o, s, CN4, 443), "drop",
                  "rule", ID_RULES[0]["name"]))
    # A first fragment meets the gate as the packet it starts; its later
    # fragments follow (issue 13), whatever they are labelled.
    _follow(C, "id-frag4-ah-us-ssh", o, _dgram(o, s, US4, ah=True, pieces=(
        (0, 48, True), (48, 8, False))), "drop", "no-session", proto="51",
        service="ssh")
    _follow(C, "id-frag6-us-ssh-labelled-udp", o, _dgram(
        o, s, US6, labels=[17, 17]), "drop", "no-session", proto="udp")
    _follow(C, "id-frag4-us-dns-udp", o, _dgram(o, s, US4, dport=53,
                                                proto=17), "allow",
            proto="udp")
    C.append(Case("id-in-v4-us-http", i, _v4(i, s, SRV4, dst=US4, dport=80),
                  "allow"))
    return C


# --- bugs found by this suite: kept apart so that one open bug does not
# hide regressions in the scenarios above --------------------------------

def scenario_bugs():
    """Cases of bugs this suite found (open ones are the known_bug
    tests).  Same policy and ports as scenario A."""
    s = Seq(60000)
    o = "outside0"
    C = []
    # Fixed: the first fragment of a UDP datagram carries the length of
    # the whole datagram in its UDP header, necessarily more than the
    # fragment's IP payload; pkt_l4() used to drop it as udp-bad-length.
    # From an allowed source it is forwarded like the later fragments.
    C.append(Case("bug-frag4-first-us-udp-real-length", o,
                  _frag4(o, s, US4, True, 17, dport=53, udp_len=1400),
                  "allow", fragment="first"))
    fh = IPv6ExtHdrFragment(nh=17, offset=0, m=1, id=s())
    C.append(Case("bug-frag6-first-de-udp-real-length", o,
                  eth(o) / IPv6(src=DE6, dst=SRV6, nh=44) / fh /
                  UDP(sport=s(), dport=53, len=1400) / Raw(b"F" * 32),
                  "allow", fragment="first"))
    # BUG: a frame bigger than one mbuf (2048 bytes of data room) arrives
    # as a chain; dp_classify() parses only the first segment (data_len),
    # so the IP total length looks beyond the frame and the live path
    # drops it as ipv4-bad-length while replay (whole frame) allows it.
    C.append(Case("bug-jumbo-us-http", o, _v4(o, s, US4, dport=80) /
                  Raw(b"J" * 4000), "allow"))
    return C
