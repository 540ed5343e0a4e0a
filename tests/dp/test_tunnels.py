"""Tunnels judged by their inner sources (issue 13, Tunnels): every
encapsulation cordon-dp opens, through replay with the shipped policy
(the issue's attack list) and a small policy of origin/via/tunnel rules,
malformed inner headers, nesting past the limit, and the live fast path
on af_packet-free pcap ports checked by counters and by what arrives on
the inside.

Names contain "replay" where they only replay: tests/run.sh runs those
under the ASan build too.
"""
import pytest
from scapy.all import IP, TCP, UDP, Ether, IPv6, Raw

import cases
import dplib
import tunframes as T
from test_shipped import IDENTITY, shipped_conf

US4, CN4, US6, CN6 = cases.US4, cases.CN4, cases.US6, cases.CN6
RU4, UNK4 = cases.RU4, cases.UNK4

# (name, builder(outer source, inner packet), outer source, inner af,
#  how the inner layer is reported)
ENCAPS = [
    ("ipip", T.ipip, US4, 4, "ipip"),
    ("6in4", T.ipip, US4, 6, "6in4"),
    ("4in6", T.ip6ip, US6, 4, "4in6"),
    ("6in6", T.ip6ip, US6, 6, "6in6"),
    ("gre", T.gre, US4, 4, "gre"),
    ("gre6", T.gre, US4, 6, "gre"),
    ("gre-key-seq-csum", lambda s, i: T.gre(s, i, csum=True, key=7, seq=9),
     US4, 4, "gre"),
    ("gre-eth", lambda s, i: T.gre(s, T.INNER_MAC / i), US4, 4, "gre-eth"),
    ("gre-mpls", T.gre_mpls, US4, 4, "mpls"),
    ("etherip", T.etherip, US4, 6, "etherip"),
    ("mpls-in-ip6", T.mpls_ip, US6, 4, "mpls"),
    ("vxlan", T.vxlan, US4, 4, "vxlan"),
    ("vxlan6", T.vxlan, US4, 6, "vxlan"),
    ("geneve", T.geneve, US4, 4, "geneve"),
    ("geneve-ip", lambda s, i: T.geneve(s, i, eth=False), US4, 6,
     "geneve"),
    ("teredo-to-client", T.teredo, US4, 6, "teredo"),
    ("teredo-to-relay", lambda s, i: T.teredo(s, i, to_client=False),
     US4, 6, "teredo"),
    ("teredo-origin-auth", lambda s, i: T.teredo(s, i, origin=True,
                                                 auth=True),
     US4, 6, "teredo"),
]


def eth(l3):
    return Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) / l3


def _inner(af, allowed):
    if af == 4:
        return T.syn(US4 if allowed else CN4)
    return T.syn(US6 if allowed else CN6)


def _replay(tmp_path, conf, frames, tag, stats=False):
    recs, _, st = dplib.run_replay(str(tmp_path), conf, frames, tag,
                                   direction="in", stats=stats)
    assert len(recs) == len(frames)
    return recs, st


@pytest.fixture
def shipped(tmp_path, cordon_dp, geodb):
    return shipped_conf(str(tmp_path / "shipped.conf"))


def test_tunnels_shipped_attack_list_replay(shipped, tmp_path):
    """The issue's attack list: an ssh SYN from a Chinese address inside
    each tunnel, sent by a US address, is denied by the shipped policy;
    the same tunnel carrying a US source passes (allowed relay, allowed
    inner source)."""
    frames, want = [], []
    for name, build, outer, af, _ in ENCAPS:
        frames.append(eth(build(outer, _inner(af, False))))
        want.append((name, "mgmt-via-prohibited", "drop", "rule"))
        frames.append(eth(build(outer, _inner(af, True))))
        want.append((name + "-allowed", "(default)", "allow", None))
    recs, _ = _replay(tmp_path, shipped, frames, "attack")
    for (name, rule, action, reason), r in zip(want, recs):
        assert (r["rule"], r["action"], r.get("reason")) == \
            (rule, action, reason), (name, r)
        assert r["dport"] == 22 and r["service"] == "ssh", (name, r)
        assert r["src"] in (US4, US6) and r["tunnel"] == "open", (name, r)


def test_tunnels_shipped_srv6_replay(shipped, tmp_path):
    """IPv4 behind a segment routing header: the shipped policy drops
    source routes before any rule, whatever the inside."""
    recs, _ = _replay(tmp_path, shipped, [
        eth(T.srv6(US6, T.syn(CN4))), eth(T.srv6(US6, T.syn(US4)))],
        "srv6")
    for r in recs:
        assert (r["action"], r["reason"]) == ("drop", "source-route"), r
        assert r["layers"][1]["via"] == "srv6", r


def test_tunnels_identity_needs_inner_session_replay(tmp_path, cordon_dp,
                                                     geodb):
    """With an identity group, a tunnelled ssh from an allowed relay and
    an allowed inner source still needs a session (replay has none)."""
    conf = shipped_conf(str(tmp_path / "id.conf"), IDENTITY)
    frames = [eth(b(o, _inner(af, True))) for _, b, o, af, _ in ENCAPS]
    recs, _ = _replay(tmp_path, conf, frames, "ident")
    for (name, *_), r in zip(ENCAPS, recs):
        assert (r["action"], r["reason"]) == ("drop", "no-session"), \
            (name, r)


def test_tunnels_layers_in_verdicts_replay(shipped, tmp_path):
    """Replay writes every layer's source, country and carrier."""
    inner = T.ipip(RU4, T.syn(CN4))
    recs, st = _replay(tmp_path, shipped, [eth(T.gre(US4, inner))],
                       "layers", stats=True)
    r = recs[0]
    assert r["src"] == US4 and r["src_cc"] == "US"
    assert r["origin"] == CN4 and r["origin_cc"] == "CN"
    # Each layer's destination too (dst_via): here the server's.
    srv = {"dst": cases.SRV4, "dst_cc": "US"}
    assert r["layers"] == [
        {"src": US4, "via": "none", "cc": "US", **srv},
        {"src": RU4, "via": "gre", "cc": "RU", **srv},
        {"src": CN4, "via": "ipip", "cc": "CN", **srv}]
    assert st["tunnels"]["gre"] == 1 and st["tunnels"]["ipip"] == 1
    assert st["tunnels"]["layers"][3] == 1


def test_tunnels_opaque_replay(shipped, tmp_path):
    """Encrypted tunnels are marked, not opened: the shipped policy
    keeps today's treatment (allowed from the US)."""
    frames = [eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=4500, dport=4500)
                  / Raw(b"\x00" * 40)),
              eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=41000,
                                                   dport=51820) /
                  Raw(b"\x01" + b"\x00" * 40)),
              eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=41000, dport=443)
                  / Raw(b"\x17\xfe\xfd" + b"\x00" * 20))]
    recs, st = _replay(tmp_path, shipped, frames, "opaque", stats=True)
    for r in recs:
        assert r["tunnel"] == "opaque" and r["action"] == "allow", r
    assert st["tunnels"]["opaque"] == 3



def test_tunnels_pptp_ppp_ip_replay(shipped, tmp_path):
    """PPTP carrying IP in plain PPP (no MPPE) is opened, not waved
    through as opaque: a Chinese ssh SYN inside, from a US relay, is
    denied, with or without address/control and a long protocol field
    (ACFC, PFC), sequence and acknowledgement.  Encrypted PPP (MPPE,
    0x00fd) stays opaque; Van Jacobson compressed TCP, whose source an
    earlier packet set, is not inspected."""
    cases_ = [
        ("ppp-ip4", T.pptp(US4, T.syn(CN4)), "drop", "mgmt-via-prohibited"),
        ("ppp-ip6", T.pptp(US4, T.syn(CN6)), "drop", "mgmt-via-prohibited"),
        ("acfc-pfc-seq-ack", T.pptp(US4, T.syn(CN4), ppp=b"\x21", seq=3,
                                    ack=2), "drop", "mgmt-via-prohibited"),
        ("ppp-ip4-allowed", T.pptp(US4, T.syn(US4)), "allow", "(default)"),
        ("mppe", T.pptp(US4, Raw(b"\x90\x00" + b"\x5a" * 40),
                        ppp=b"\xff\x03\x00\xfd"), "allow", "(default)"),
        ("vj", T.pptp(US4, Raw(b"\x00" * 40), ppp=b"\x2d"), "drop", None),
    ]
    recs, _ = _replay(tmp_path, shipped, [eth(f) for _, f, _, _ in cases_],
                      "pptp")
    for (name, _, action, rule), r in zip(cases_, recs):
        assert (r["action"], r.get("rule")) == (action, rule), (name, r)
    assert recs[0]["origin"] == CN4 and recs[0]["tunnel"] == "open"
    assert recs[4]["tunnel"] == "opaque"
    assert recs[5]["reason"] == "tun-not-inspected"


def test_tunnels_udp_carriers_replay(shipped, tmp_path):
    """GRE in UDP (4754), MPLS in UDP (6635) and VXLAN-GPE (4790) are
    opened like their IP twins: a Chinese ssh SYN inside, from a US
    relay, is denied (it passed as plain UDP); an unknown GPE next
    protocol is not inspected."""
    def udp(dport, payload):
        return IP(src=US4, dst=cases.SRV4) / UDP(sport=50003,
                                                 dport=dport) / Raw(payload)
    s4 = bytes(T.syn(CN4))
    gpe = b"\x0c\x00\x00"
    cases_ = [
        ("gre-udp", udp(4754, T.gre_hdr(0x0800) + s4), "mgmt-via-prohibited"),
        ("mpls-udp", udp(6635, T.mpls_stack() + s4), "mgmt-via-prohibited"),
        ("gpe-ip4", udp(4790, gpe + b"\x01" + b"\x00" * 4 + s4),
         "mgmt-via-prohibited"),
        ("gpe-eth", udp(4790, gpe + b"\x03" + b"\x00" * 4 +
                        bytes(T.INNER_MAC / T.syn(CN4))),
         "mgmt-via-prohibited"),
        ("gpe-nsh", udp(4790, gpe + b"\x04" + b"\x00" * 4 + s4), None),
    ]
    recs, _ = _replay(tmp_path, shipped, [eth(f) for _, f, _ in cases_],
                      "udpcarriers")
    for (name, _, rule), r in zip(cases_, recs):
        assert (r["action"], r.get("rule")) == ("drop", rule), (name, r)
    assert recs[0]["origin"] == CN4 and recs[0]["tunnel"] == "open"
    assert recs[4]["reason"] == "tun-not-inspected"


def test_tunnels_attack2_replay(shipped, tmp_path):
    """What a second attacker got through the shipped policy, each a
    Chinese ssh SYN from a US relay: L2TPv2 (PPP in UDP 1701, either
    way), GUE (6080, both variants) and GTP-U (2152) passed as plain
    UDP; PPTP carrying bridged Ethernet (BCP) passed as opaque; GENEVE
    sent from port 3544 was read as Teredo and judged by a harmless IPv6
    header hidden in the inner frame's trailer; an Ethernet pseudowire
    frame whose MAC begins with 4 passed as a harmless IPv4 packet from
    8.0.69.0.  L2TPv3 data cannot be opened: not inspected.  A US inner
    source still passes."""
    def udp(sport, dport, payload, src=US4):
        return IP(src=src, dst=cases.SRV4) / UDP(sport=sport,
                                                 dport=dport) / Raw(payload)
    s4 = bytes(T.syn(CN4))
    s6 = bytes(T.syn(CN6))
    ppp4 = b"\xff\x03\x00\x21"
    l2tp = b"\x00\x02\x00\x01\x00\x02"
    gtp = b"\x34\xff\x00\x00\x00\x00\x00\x01\x00\x00\x00\x85" \
        b"\x01\x10\x05\x00"
    frame = bytes(T.INNER_MAC / T.syn(CN4))
    geneve = b"\x00\x01\x65\x58\x00\x00\x01\x00" + frame
    geneve += b"\x00" * (202 - len(geneve))
    geneve += bytes(IPv6(src=US6, dst=US6, nh=59, plen=0))
    bcp = T.pptp(US4, Raw(b"\x00\x01" + frame), ppp=b"\x00\x31")
    l2tp3 = IP(src=US4, dst=cases.SRV4, proto=115) / Raw(
        b"\x00\x00\x00\x05" + frame)
    pw = IP(src=US4, dst=cases.SRV4, proto=47) / Raw(
        T.gre_hdr(0x8847) + T.mpls_stack() +
        bytes(Ether(dst="46:00:00:30:00:00", src="00:00:00:fd:00:00") /
              T.syn(CN4)))
    drop = "mgmt-via-prohibited"
    cases_ = [
        ("l2tp", udp(50004, 1701, l2tp + ppp4 + s4), drop),
        ("l2tp-from-lns", udp(1701, 50004, l2tp + ppp4 + s4), drop),
        ("gue-bare", udp(50004, 6080, s6), drop),
        ("gue-hdr", udp(50004, 6080, b"\x00\x04\x00\x00" + s4), drop),
        ("gtp-u", udp(50004, 2152, gtp + s4), drop),
        ("pptp-bcp", bcp, None),
        ("geneve-from-3544", udp(3544, 6081, geneve), drop),
        ("l2tpv3-ip", l2tp3, None),
        ("mpls-pw-disguise", pw, None),
        ("l2tp-us", udp(50004, 1701, l2tp + ppp4 + bytes(T.syn(US4))),
         "allow"),
    ]
    recs, _ = _replay(tmp_path, shipped, [eth(f) for _, f, _ in cases_],
                      "attack2")
    for (name, _, rule), r in zip(cases_, recs):
        if rule == "allow":
            assert r["action"] == "allow", (name, r)
            assert r["origin"] == US4 and r["tunnel"] == "open", (name, r)
        elif rule is None:
            assert (r["action"], r["reason"]) == \
                ("drop", "tun-not-inspected"), (name, r)
        else:
            assert (r["action"], r.get("rule")) == ("drop", rule), (name, r)
            assert r["tunnel"] == "open", (name, r)
    assert recs[0]["origin"] == CN4
    assert recs[6]["origin"] == CN4


def test_tunnels_opaque_relayed_replay(shipped, tmp_path):
    """ESP, WireGuard and IKE from a Chinese address are dropped by the
    shipped policy (tunnels- and vpn-from-prohibited); relayed inside
    GRE by a US address they passed (the rules matched `src`, the
    relay): they match `via` now.  From a US inner source they pass."""
    def inner(src):
        return [IP(src=src, dst=cases.SRV4, proto=50) / Raw(
                    b"\x00\x00\x10\x01" + b"\x00" * 40),
                IP(src=src, dst=cases.SRV4) / UDP(sport=51820, dport=51820) /
                Raw(b"\x01\x00\x00\x00" + b"\x00" * 144),
                IP(src=src, dst=cases.SRV4) / UDP(sport=500, dport=500) /
                Raw(b"\x00" * 28)]
    frames, want = [], []
    for src, action in ((CN4, "drop"), (US4, "allow")):
        for i, rule in zip(inner(src), ("tunnels-from-prohibited",
                                        "vpn-from-prohibited",
                                        "vpn-from-prohibited")):
            frames.append(eth(i))
            frames.append(eth(T.gre(US4, i)))
            r = rule if action == "drop" else "(default)"
            want += [(action, r)] * 2
    recs, _ = _replay(tmp_path, shipped, frames, "opaquerelay")
    assert [(r["action"], r.get("rule")) for r in recs] == want
    assert recs[1]["origin"] == CN4 and recs[1]["tunnel"] == "opaque"


def test_tunnels_teredo_off_port_replay(shipped, tmp_path):
    """A Teredo relay talks from a port of its own to the client's
    mapped port (RFC 4380, 5.4), not only on 3544: IPv6 with a Teredo
    address inside UDP is opened on any port (it passed as plain UDP)."""
    t6 = IPv6(src=CN6, dst=T.TEREDO_CLIENT) / TCP(sport=40001, dport=22,
                                                   flags="S")
    frames = [IP(src=US4, dst=cases.SRV4) / UDP(sport=3545, dport=40000) /
              Raw(hdr + bytes(t6))
              for hdr in (b"", b"\x00\x00" + b"\x11" * 6)]
    recs, _ = _replay(tmp_path, shipped, [eth(f) for f in frames],
                      "teredo-port")
    for r in recs:
        assert (r["action"], r["rule"]) == ("drop", "mgmt-via-prohibited"), r
        assert r["origin"] == CN6 and r["layers"][1]["via"] == "teredo", r

TUN_RULES = [
    {"name": "ssh-origin-cn", "origin": ["CN"], "services": ["ssh"],
     "direction": "in", "action": "drop", "log": False},
    {"name": "ssh-via-ru", "via": ["RU"], "services": ["ssh"],
     "direction": "in", "action": "reject", "log": False},
    {"name": "opaque-drop", "tunnel": "opaque", "direction": "in",
     "action": "drop", "log": False},
    {"name": "tunnelled-https", "tunnel": "inspected",
     "services": ["https-admin"], "direction": "in", "action": "drop",
     "log": False},
]


@pytest.fixture
def tun_conf(tmp_path, cordon_dp, geodb):
    ports = [{"name": "outside0", "device": "net_null0", "role": "outside",
              "peer": "inside0"},
             {"name": "inside0", "device": "net_null1", "role": "inside",
              "peer": "outside0"}]
    return dplib.render_conf(
        str(tmp_path / "tun.conf"), ports=ports, rules=TUN_RULES,
        overrides=cases.OVERRIDES,
        extra=['tunnels = { depth = 2; opaque_udp = [ 4500 ]; };'])


def test_tunnels_origin_via_class_replay(tun_conf, tmp_path):
    """origin matches the innermost source, via any layer, tunnel the
    class; a denied tunnelled packet is dropped, never rejected."""
    cases_ = [
        (eth(T.syn(CN4)), "ssh-origin-cn", "drop"),
        (eth(T.gre(US4, T.syn(CN4))), "ssh-origin-cn", "drop"),
        (eth(T.gre(US4, T.ipip(CN4, T.syn(US4)))), "(default)", "allow"),
        (eth(T.gre(RU4, T.syn(US4))), "ssh-via-ru", "drop"),
        (eth(T.syn(RU4)), "ssh-via-ru", "reject"),
        (eth(T.vxlan(US4, T.ipip(RU4, T.syn(US4)))), "ssh-via-ru", "drop"),
        (eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=4500, dport=4500) /
             Raw(b"\x00" * 20)), "opaque-drop", "drop"),
        (eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=41000, dport=51820) /
             Raw(b"\x00" * 20)), "(default)", "allow"),
        (eth(T.syn(US4, dport=443)), "(default)", "allow"),
        (eth(T.gre(US4, T.syn(US4, dport=443))), "tunnelled-https", "drop"),
    ]
    recs, _ = _replay(tmp_path, tun_conf, [c[0] for c in cases_], "cls")
    for n, ((_, rule, action), r) in enumerate(zip(cases_, recs)):
        assert (r["rule"], r["action"]) == (rule, action), (n, r)


MALFORMED = [
    ("gre-routing", lambda: eth(IP(src=US4, dst=cases.SRV4, proto=47) /
                                Raw(b"\x40\x00\x08\x00" + bytes(
                                    T.syn(CN4)))), "tun-bad-gre"),
    ("gre-short", lambda: eth(IP(src=US4, dst=cases.SRV4, proto=47) /
                              Raw(b"\xb0\x00\x08\x00\x00")), "tun-bad-gre"),
    ("gre-unknown-proto", lambda: eth(IP(src=US4, dst=cases.SRV4,
                                         proto=47) /
                                      Raw(b"\x00\x00\x88\xbe" + b"\0" * 40)),
     "tun-not-inspected"),
    ("vxlan-no-i-flag", lambda: eth(T.vxlan(US4, T.syn(CN4), flags=0)),
     "tun-bad-vxlan"),
    ("geneve-option-overrun", lambda: eth(T.geneve(
        US4, T.syn(CN4), opts=b"\x01\x02\x80\x05" + b"\0" * 4)),
     "tun-bad-geneve"),
    ("geneve-optlen-past-end", lambda: eth(IP(src=US4, dst=cases.SRV4) /
                                           UDP(sport=1, dport=6081) /
                                           Raw(b"\x3f\x00\x65\x58" +
                                               b"\0" * 8)),
     "tun-bad-geneve"),
    ("teredo-not-ipv6", lambda: eth(T.teredo(US4, T.syn(CN4))),
     "tun-bad-teredo"),
    ("teredo-auth-past-end", lambda: eth(IP(src=US4, dst=cases.SRV4) /
                                         UDP(sport=3544, dport=40000) /
                                         Raw(b"\x00\x01\xff\xff" +
                                             b"\0" * 30)),
     "tun-bad-teredo"),
    ("inner-ipv4-truncated", lambda: eth(T.ipip(US4, Raw(bytes(
        T.syn(CN4))[:30]))), "tun-bad-inner"),
    ("inner-ipv6-version", lambda: eth(T.ipip(US4, Raw(b"\x45" + bytes(
        T.syn(CN6))[1:]))), "tun-bad-inner"),
    ("inner-tcp-truncated", lambda: eth(T.gre(US4, Raw(bytes(
        IP(src=CN4, dst=cases.SRV4, proto=6, len=30) / Raw(b"\0" * 10)))))
     , "tun-bad-inner"),
    ("inner-eth-truncated", lambda: eth(IP(src=US4, dst=cases.SRV4) /
                                        UDP(sport=1, dport=4789) /
                                        Raw(b"\x08\0\0\0\0\0\x05\0" +
                                            b"\0" * 10)),
     "tun-bad-ethernet"),
    ("mpls-no-bottom", lambda: eth(IP(src=US4, dst=cases.SRV4, proto=47) /
                                   Raw(T.gre_hdr(0x8847) +
                                       b"\x00\x01\x00\x40" * 9)),
     "tun-bad-mpls"),
    ("ipip-first-fragment", lambda: eth(IP(src=US4, dst=cases.SRV4,
                                           proto=4, flags="MF") /
                                        Raw(bytes(T.syn(CN4)))),
     "tun-fragment"),
    ("nested-4-deep", lambda: eth(T.nest(US4, T.syn(US4), 4)),
     "tun-too-deep"),
    ("inner-malformed-deep", lambda: eth(T.gre(US4, T.vxlan(US4, T.syn(
        CN4), flags=0))), "tun-bad-vxlan"),
]


def test_tunnels_malformed_replay(shipped, tmp_path):
    """A malformed inner header is a drop with its own reason, never a
    pass on the outer verdict; nesting past the limit (3) too."""
    frames = [f() for _, f, _ in MALFORMED]
    frames.append(eth(T.nest(US4, T.syn(US4), 3)))
    recs, _ = _replay(tmp_path, shipped, frames, "bad")
    for (name, _, reason), r in zip(MALFORMED, recs):
        assert (r["action"], r.get("reason")) == ("drop", reason), (name, r)
        assert r["rule"] is None, (name, r)
    deep = recs[-1]
    assert deep["action"] == "allow" and len(deep["layers"]) == 4, deep


def test_tunnels_depth_configurable_replay(tun_conf, tmp_path):
    """tunnels.depth = 2: two tunnels open, the third is too deep."""
    recs, _ = _replay(tmp_path, tun_conf, [
        eth(T.nest(US4, T.syn(CN4), 2)), eth(T.nest(US4, T.syn(CN4), 3))],
        "depth")
    assert recs[0]["rule"] == "ssh-origin-cn"
    assert recs[1]["reason"] == "tun-too-deep"


# --- the live fast path -----------------------------------------------------

LIVE_PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_pcap1", "role": "inside",
     "peer": "outside0"},
]


def _live(tmp_path, conf, allowed, denied, bad):
    """Sends ALLOWED, DENIED, BAD in from outside: exactly ALLOWED
    arrive inside, DENIED are counted under `rule`.  The stats."""
    frames = [bytes(f) for f in allowed + denied + bad]
    res = dplib.run_live(str(tmp_path), conf, {"outside0": frames},
                         {"outside0": "net_pcap0", "inside0": "net_pcap1"})
    inside = [bytes(f) for f in res.tx.get("inside0", [])]
    assert inside == [bytes(f) for f in allowed]
    assert res.stats["reasons"]["rule"] == len(denied)
    return res.stats


def test_tunnels_live(tmp_path, cordon_dp, geodb):
    """cordon-dp on pcap ports with the shipped rules' via rule: the
    allowed tunnels arrive on the inside unchanged, the denied and the
    malformed do not, and the counters say why."""
    conf = dplib.render_conf(
        str(tmp_path / "live.conf"), ports=LIVE_PORTS,
        overrides=cases.OVERRIDES, rules=[
            {"name": "mgmt-via-prohibited",
             "via": ["prohibited", "unknown", "special"],
             "services": ["ssh", "rdp", "https-admin"],
             "direction": "in", "action": "drop", "log": True}])
    allowed = [eth(T.gre(US4, T.syn(US4))), eth(T.vxlan(US4, T.syn(US6))),
               eth(T.geneve(US4, T.syn(US4))),
               eth(T.teredo(US4, T.syn(US6))),
               eth(T.ip6ip(US6, T.syn(US4)))]
    denied = [eth(T.gre(US4, T.syn(CN4))), eth(T.vxlan(US4, T.syn(CN6))),
              eth(T.geneve(US4, T.syn(CN4))), eth(T.ipip(US4, T.syn(CN4))),
              eth(T.teredo(US4, T.syn(CN6))), eth(T.ip6ip(US6, T.syn(CN6)))]
    bad = [eth(T.vxlan(US4, T.syn(US4), flags=0)),
           eth(T.nest(US4, T.syn(US4), 4))]
    st = _live(tmp_path, conf, allowed, denied, bad)
    assert st["reasons"]["tun-bad-vxlan"] == 1
    assert st["reasons"]["tun-too-deep"] == 1
    assert st["actions"]["allow"] == len(allowed)
    t = st["tunnels"]
    assert (t["gre"], t["vxlan"], t["geneve"], t["teredo"], t["ipip"],
            t["4in6"], t["6in6"]) == (2, 2, 2, 2, 1, 1, 1)
    assert t["layers"][2] == len(allowed) + len(denied)



def test_tunnels_attack2_live(tmp_path, cordon_dp, geodb):
    """The live fast path on the second attacker's carriers: L2TPv2,
    GUE and GTP-U with a US inner source arrive on the inside; with a
    Chinese one, and GENEVE from port 3544 hiding an IPv6 header where a
    Teredo header would end, they do not; PPTP carrying bridged Ethernet
    is not inspected."""
    conf = dplib.render_conf(
        str(tmp_path / "live.conf"), ports=LIVE_PORTS,
        overrides=cases.OVERRIDES, rules=[
            {"name": "mgmt-via-prohibited",
             "via": ["prohibited", "unknown", "special"],
             "services": ["ssh"], "direction": "in", "action": "drop"}])
    frame = bytes(T.INNER_MAC / T.syn(CN4))
    gn = b"\x00\x01\x65\x58\x00\x00\x01\x00" + frame
    gn += b"\x00" * (202 - len(gn)) + bytes(IPv6(src=US6, dst=US6, nh=59,
                                                 plen=0))
    allowed = [eth(T.l2tp(US4, T.syn(US4))),
               eth(T.l2tp(US4, T.syn(US6), from_lns=True)),
               eth(T.gue(US4, T.syn(US4))),
               eth(T.gue(US4, T.syn(US6), hdr=True)),
               eth(T.gtp(US4, T.syn(US4)))]
    denied = [eth(T.l2tp(US4, T.syn(CN4))),
              eth(T.l2tp(US4, T.syn(CN6), from_lns=True)),
              eth(T.gue(US4, T.syn(CN6))),
              eth(T.gue(US4, T.syn(CN4), hdr=True)),
              eth(T.gtp(US4, T.syn(CN4))),
              eth(IP(src=US4, dst=cases.SRV4) / UDP(sport=3544, dport=6081) /
                  Raw(gn))]
    bad = [eth(T.pptp(US4, Raw(b"\x00\x01" + frame), ppp=b"\x00\x31"))]
    st = _live(tmp_path, conf, allowed, denied, bad)
    assert st["reasons"]["tun-not-inspected"] == 1
    t = st["tunnels"]
    assert (t["l2tp"], t["gue"], t["gtp"], t["geneve"]) == (4, 4, 2, 1)

def _out(build, relay, inner, **kw):
    """INNER sent by the inside server through BUILD's tunnel to RELAY."""
    p = build(cases.SRV6 if ":" in relay else cases.SRV4, inner, **kw)
    p.dst = relay
    return Ether(src=cases.SRV_MAC, dst=cases.CLI_MAC) / p


def _out_syn(dst):
    """The inside server's ssh SYN to DST."""
    src = cases.SRV6 if ":" in dst else cases.SRV4
    return T.syn(src, dst=dst)


def _to(p, dst):
    """P, sent to DST."""
    p.dst = dst
    return p


# IPv6 forms of the Chinese CN4: mapped, 6to4, NAT64 (the geo tables
# alias the IPv4 address they embed).
CN4_MAPPED = "::ffff:" + CN4
CN4_6TO4 = "2002:c633:6407::1"
CN4_NAT64 = "64:ff9b::" + CN4
# A Teredo client behind CN4 (RFC 4380: its address inverted, last).
CN4_TEREDO = "2001:0:c000:221::39cc:9bf8"


def test_tunnels_outbound_inner_dst_replay(shipped, tmp_path):
    """An inside host's ssh SYN to China is dropped (mgmt-to-prohibited,
    dst_via); the same SYN inside a tunnel to a US relay is dropped too,
    whatever carries it and at whatever depth the Chinese destination
    sits, also as an IPv6 destination embedding a Chinese IPv4 address.
    Failed before dst_via: judged by the relay's country, it passed."""
    cases_ = [
        ("plain", Ether(src=cases.SRV_MAC, dst=cases.CLI_MAC) /
         _out_syn(CN4)),
        ("gre", _out(T.gre, US4, _out_syn(CN4))),
        ("ipip", _out(T.ipip, US4, _out_syn(CN4))),
        ("vxlan", _out(T.vxlan, US4, _out_syn(CN4))),
        ("geneve", _out(T.geneve, US4, _out_syn(CN4))),
        ("6in4-cn6", _out(T.ipip, US4, _out_syn(CN6))),
        ("gre-cn6", _out(T.gre, US4, _out_syn(CN6))),
        ("6in6", _out(T.ip6ip, US6, _out_syn(CN6))),
        ("4in6", _out(T.ip6ip, US6, _out_syn(CN4))),
        ("mapped", _out(T.ipip, US4, _out_syn(CN4_MAPPED))),
        ("6to4", _out(T.ipip, US4, _out_syn(CN4_6TO4))),
        ("nat64", _out(T.ipip, US4, _out_syn(CN4_NAT64))),
        ("teredo-client", _out(T.ipip, US4, _out_syn(CN4_TEREDO))),
        ("teredo", _out(T.teredo, US4, _out_syn(CN6), to_client=False)),
        # The Chinese destination at the middle layer: a US relay
        # carrying a tunnel to a Chinese relay carrying ssh to the US.
        ("middle", _out(T.gre, US4, _to(T.gre(cases.SRV4,
                                              _out_syn(US4)), CN4))),
        # Nested, the Chinese destination innermost.
        ("nested", _out(T.gre, US4, T.vxlan(cases.SRV4,
                                             _out_syn(CN4)))),
        # An unknown (unassigned) inner destination: denied as unknown.
        ("unknown", _out(T.gre, US4, _out_syn(UNK4))),
    ]
    recs, _, _ = dplib.run_replay(str(tmp_path), shipped,
                                  [f for _, f in cases_], "outdst",
                                  direction="out")
    for (name, _), r in zip(cases_, recs):
        assert (r["action"], r["rule"]) == ("drop", "mgmt-to-prohibited"), \
            (name, r)
    layers = recs[1]["layers"]
    assert [(l["dst"], l["dst_cc"]) for l in layers] == \
        [(US4, "US"), (CN4, "CN")], recs[1]
    by = {n: r for (n, _), r in zip(cases_, recs)}
    # The embedded IPv4 address decides, not "special" or "unknown".
    for n in ("mapped", "6to4", "nat64", "teredo-client"):
        assert by[n]["layers"][1]["dst_cc"] == "CN", by[n]
    middle = by["middle"]
    assert [l["dst_cc"] for l in middle["layers"]] == \
        ["US", "CN", "US"], middle


def test_tunnels_outbound_disguise_replay(shipped, tmp_path):
    """The reverse disguise: ssh to a US address inside GRE to a Chinese
    relay is dropped (the relay's destination is a layer's too); ssh to
    the US through a US relay, and untunnelled to the US, still pass;
    inbound ssh from the US to the inside is untouched."""
    frames = [_out(T.gre, CN4, _out_syn(US4)),
              _out(T.gre, CN4, _out_syn(US6)),
              _out(T.gre, US4, _out_syn(US4)),
              _out(T.ip6ip, US6, _out_syn(US6)),
              Ether(src=cases.SRV_MAC, dst=cases.CLI_MAC) / _out_syn(US4)]
    recs, _, _ = dplib.run_replay(str(tmp_path), shipped, frames, "disg",
                                  direction="out")
    got = [(r["action"], r["rule"]) for r in recs]
    assert got == [("drop", "mgmt-to-prohibited")] * 2 + \
        [("allow", "(default)")] * 3, recs
    assert "layers" not in recs[4] and recs[4]["dst_cc"] == "US", recs[4]
    inbound, _ = _replay(tmp_path, shipped, [eth(T.gre(US4, T.syn(US4)))],
                         "disg-in")
    assert inbound[0]["action"] == "allow", inbound


def test_tunnels_outbound_dst_via_live(tmp_path, cordon_dp, geodb):
    """The live fast path (the burst classifier, inner destinations
    looked up in bulk) with the shipped rule's dst_via: the inside
    server's ssh to China inside GRE, VXLAN or 6in4 to a US relay, to
    the US inside GRE to a Chinese relay, or with a Chinese relay in the
    middle, never leaves; ssh to the US through a US relay does."""
    conf = dplib.render_conf(
        str(tmp_path / "live.conf"), ports=LIVE_PORTS,
        overrides=cases.OVERRIDES, rules=[
            {"name": "mgmt-to-prohibited",
             "dst_via": ["prohibited", "unknown", "special"],
             "services": ["ssh"], "direction": "out", "action": "drop"}])
    allowed = [_out(T.gre, US4, _out_syn(US4)),
               _out(T.vxlan, US4, _out_syn(US6)),
               _out(T.ipip, US4, _out_syn(US6)),
               Ether(src=cases.SRV_MAC, dst=cases.CLI_MAC) / _out_syn(US4)]
    denied = [_out(T.gre, US4, _out_syn(CN4)),
              _out(T.vxlan, US4, _out_syn(CN6)),
              _out(T.ipip, US4, _out_syn(CN4_6TO4)),
              _out(T.gre, CN4, _out_syn(US4)),
              _out(T.gre, US4, _to(T.gre(cases.SRV4, _out_syn(US4)), CN4)),
              Ether(src=cases.SRV_MAC, dst=cases.CLI_MAC) / _out_syn(CN4)]
    frames = [bytes(f) for f in allowed + denied]
    res = dplib.run_live(str(tmp_path), conf, {"inside0": frames},
                         {"outside0": "net_pcap0", "inside0": "net_pcap1"})
    out = [bytes(f) for f in res.tx.get("outside0", [])]
    assert out == [bytes(f) for f in allowed]
    assert res.stats["reasons"]["rule"] == len(denied)
