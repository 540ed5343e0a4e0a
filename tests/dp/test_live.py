"""The live DPDK path with net_pcap ports: what each port sends, packet by
packet, and the counters of --stats-file.

One cordon-dp run per scenario (see conftest.py); every test below reads
the same run.
"""
import re

import pytest
from scapy.all import ICMP, IP, TCP, Ether, ICMPv6DestUnreach, IPv6

import cases


def _tx_by_case(scen, port):
    """Checks PORT's tx pcap against the model and returns its frames.

    Frames from different ingress ports may interleave on one egress, so
    order is checked per ingress port: each ingress port's expected
    frames must appear in order, and nothing else may appear.
    """
    want = cases.expected_tx(scen.cases, scen.peers, scen.nexthops)
    got = scen.live.tx[port]
    exp = want.get(port, [])
    where = {}
    for idx, (c, fr) in enumerate(exp):
        assert fr not in where, "model: two equal frames %s" % c.name
        where[fr] = (c, idx)
    unexpected = [fr.hex() for fr in got if fr not in where]
    assert not unexpected, "%s sent frames nobody expected: %s" % (
        port, unexpected[:3])
    for ingress in {c.port for c, _ in exp}:
        seq = [where[fr][0].name for fr in got
               if where[fr][0].port == ingress]
        model = [c.name for c, _ in exp if c.port == ingress]
        assert seq == model, "%s: frames from %s" % (port, ingress)
    assert len(got) == len(exp)
    return got


@pytest.mark.parametrize("scen_name,port", [
    ("scen_a", "outside0"), ("scen_a", "inside0"), ("scen_a", "quar0"),
    ("scen_b", "outside0"), ("scen_b", "inside0"), ("scen_b", "lonely0"),
    ("scen_ident", "outside0"), ("scen_ident", "inside0"),
])
def test_live_port_output(request, scen_name, port):
    """Every port sends exactly the model's frames, byte for byte."""
    _tx_by_case(request.getfixturevalue(scen_name), port)


def _by_name(scen):
    return {c.name: c for c in scen.cases}


def _where(scen, name):
    """Ports whose tx pcap holds a frame produced for case NAME."""
    want = cases.expected_tx(scen.cases, scen.peers, scen.nexthops)
    c = _by_name(scen)[name]
    out = []
    for port, frames in scen.live.tx.items():
        if c.frame in frames:
            out.append((port, "unchanged"))
        for cc, fr in want.get(port, []):
            if cc is c and fr != c.frame and fr in frames:
                out.append((port, "modified"))
    return out


def test_live_forwarded_unchanged(scen_a):
    a = scen_a
    for name in ("v4-us-ssh", "v4-cn-http", "dot1q-v4-us-ssh",
                 "v6-hbh-dstopt-de-https", "frag4-us-ssh-later2",
                 "frag6-de-ssh-first", "frag4-cn-http-later1",
                 "arp-request", "v4-us-ssh-ip-options"):
        assert _where(a, name) == [("inside0", "unchanged")], name
    assert _where(a, "in-v4-cn-src-ssh") == [("outside0", "unchanged")]
    assert _where(a, "quar-v4-answer") == [("outside0", "unchanged")]


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b"])
def test_live_dropped_appear_nowhere(request, scen_name):
    """Dropped frames (policy, fragments, malformed) are not forwarded,
    rerouted or answered."""
    scen = request.getfixturevalue(scen_name)
    for c in scen.cases:
        if c.live_action != "drop":
            continue
        for port, frames in scen.live.tx.items():
            for fr in frames:
                assert fr[12:] != c.frame[12:], (c.name, port)
                assert not _answers(fr, c.frame), (c.name, port)


def _answers(reply, frame):
    """Is REPLY a TCP RST or an ICMP error about FRAME?"""
    try:
        off = cases.l3_offset(frame)
        r = Ether(reply)
        f = Ether(frame)
    except Exception:
        return False
    L = IP if IP in r else IPv6 if IPv6 in r else None
    if L is None or L not in f:
        return False
    if r[L].src != f[L].dst or r[L].dst != f[L].src:
        return False
    if TCP in r and TCP in f:
        return r[TCP].sport == f[TCP].dport and r[TCP].dport == f[TCP].sport
    for E in (ICMP, ICMPv6DestUnreach):
        if E in r:
            quote = bytes(r[E].payload)
            return len(quote) > 0 and frame[off:off + len(quote)] == quote
    return False


def test_live_reroute_rewrites_mac_and_pushes_vlan(scen_a):
    a = scen_a
    got = a.live.tx["quar0"]
    quar = bytes.fromhex(cases.QUAR_MAC.replace(":", ""))
    scrub = bytes.fromhex(cases.SCRUB_MAC.replace(":", ""))
    c = _by_name(a)["v4-cn-ssh"]
    fr = [f for f in got if f[14 + 4:] == c.frame[14:]]
    assert len(fr) == 1
    fr = fr[0]
    assert fr[0:6] == quar and fr[6:12] == c.frame[6:12]
    assert fr[12:16] == b"\x81\x00\x00\x64"      # 802.1Q, VID 100
    # A tagged frame keeps its own tag inside the pushed one.
    c = _by_name(a)["dot1q-v4-cn-ssh"]
    fr = [f for f in got if f[16:] == c.frame[12:]]
    assert len(fr) == 1 and fr[0][0:6] == quar
    assert fr[0][12:20] == b"\x81\x00\x00\x64\x81\x00\x00\x0a"
    # The scrubber has no VLAN: only the destination MAC changes.
    c = _by_name(a)["v4-ru-ssh"]
    fr = [f for f in got if f[6:] == c.frame[6:]]
    assert len(fr) == 1 and fr[0][0:6] == scrub


def _replies(scen):
    want = cases.expected_tx(scen.cases, scen.peers, scen.nexthops)
    return [(c, fr) for c, fr in want.get("outside0", [])
            if c.port == "outside0" and c.action == "reject"]


def _recomputed(frame):
    """FRAME rebuilt by scapy with every checksum recomputed."""
    p = Ether(frame)
    for L, field in ((IP, "chksum"), (TCP, "chksum"), (ICMP, "chksum"),
                     (ICMPv6DestUnreach, "cksum")):
        if L in p:
            delattr(p[L], field)
    return bytes(p)


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b"])
def test_live_reject_replies(request, scen_name):
    """Each answered reject produced exactly one reply out of its ingress
    port: addresses swapped, VLAN tags kept, checksums right."""
    scen = request.getfixturevalue(scen_name)
    got = scen.live.tx["outside0"]
    reps = _replies(scen)
    assert reps, "the scenario has no answered reject"
    for c, exp in reps:
        assert got.count(exp) == 1, "no reply or a wrong one for %s" % c.name
        # What was sent, with scapy recomputing every checksum.
        assert _recomputed(exp) == exp, "checksum of %s" % c.name
        r, f = Ether(exp), Ether(c.frame)
        assert r.src == f.dst and r.dst == f.src
        L = IP if IP in f else IPv6
        assert r[L].src == f[L].dst and r[L].dst == f[L].src
        if TCP in f:
            assert r[TCP].sport == f[TCP].dport
            assert r[TCP].dport == f[TCP].sport
            assert "R" in str(r[TCP].flags)
        off = cases.l3_offset(c.frame)
        assert exp[12:off] == c.frame[12:off], "VLAN tags of %s" % c.name


def test_live_reject_no_reply_cases(scen_a, scen_b):
    """A RST, a broadcast frame, an ICMP error, a multicast destination:
    rejected, and nothing is sent anywhere."""
    for scen in (scen_a, scen_b):
        for c in scen.cases:
            if c.action == "reject" and not c.reply:
                for port, frames in scen.live.tx.items():
                    for fr in frames:
                        assert fr != c.frame and not _answers(fr, c.frame), \
                            (c.name, port)


def test_live_rst_fields(scen_a):
    """Spot checks of RFC 9293 3.10.7.1 beyond the byte comparison."""
    got = {bytes(f) for f in scen_a.live.tx["outside0"]}
    c = _by_name(scen_a)["v4-unknown-https-ack-data"]
    exp = cases.expected_reply(c.frame)
    assert exp in got
    r = Ether(exp)
    assert r[TCP].seq == 777777 and str(r[TCP].flags) == "R"
    c = _by_name(scen_a)["v4-unknown-ssh-syn"]
    r = Ether(cases.expected_reply(c.frame))
    assert r[TCP].ack == Ether(c.frame)[TCP].seq + 1
    assert r[TCP].seq == 0 and str(r[TCP].flags) == "RA"
    assert r[IP].ttl == 64 and r[IP].id == 0 and str(r[IP].flags) == "DF"


def _strip_ports(st):
    return {k: v for k, v in st.items() if k in (
        "packets", "actions", "reasons", "rules", "countries")}


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b", "scen_ident"])
def test_live_counters(request, scen_name):
    """packets, actions, reasons, rules and countries match exactly."""
    scen = request.getfixturevalue(scen_name)
    exp = cases.expected_stats(scen.cases, scen.rule_names, live=True)
    got = _strip_ports(scen.live.stats)
    assert got["packets"] == exp["packets"]
    assert got["actions"] == exp["actions"]
    assert got["reasons"] == exp["reasons"]
    assert got["rules"] == exp["rules"]
    assert got["countries"] == exp["countries"]
    assert scen.live.stats["log_dropped"] == 0


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b"])
def test_live_port_counters(request, scen_name):
    scen = request.getfixturevalue(scen_name)
    ports = scen.live.stats["ports"]
    assert list(ports) == [p["name"] for p in scen.ports]
    for p in scen.ports:
        name = p["name"]
        rx = [c.frame for c in scen.port_cases(name)]
        tx = scen.live.tx[name]
        assert ports[name] == {
            "rx_packets": len(rx), "rx_bytes": sum(map(len, rx)),
            "tx_packets": len(tx), "tx_bytes": sum(map(len, tx)),
            "tx_dropped": 0}, name


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b"])
def test_live_reject_without_reply_counted_as_drop(request, scen_name):
    """Regression (issue 10 item 16): a reject whose reply may not or
    cannot be built (a RST, a broadcast, an ICMP error, a multicast
    destination, a frame in two mbufs) is counted once, as a drop with
    reason reject-build-failed, and still as denied for its country; the
    per-country denied counts add up to every parsed frame that was not
    let through."""
    scen = request.getfixturevalue(scen_name)
    st = scen.live.stats
    nreply = [c for c in scen.cases if c.action == "reject" and not c.reply]
    assert nreply
    assert st["reasons"]["reject-build-failed"] == len(nreply)
    sent = [c for c in scen.cases if c.action == "reject" and c.reply]
    assert st["actions"]["reject"] == len(sent)
    assert sum(st["actions"].values()) == st["packets"]
    assert sum(st["reasons"].values()) == st["packets"] - \
        st["actions"]["allow"]
    parsed = [c for c in scen.cases if c.parsed]
    denied = sum(e["denied"] for e in st["countries"].values())
    assert denied == len([c for c in parsed if c.live_action != "allow"])
    assert sum(e["packets"] for e in st["countries"].values()) == \
        len(parsed)
    for c in nreply:
        cc = cases.src_cc(c)
        assert st["countries"][cc]["denied"] >= 1, c.name


def test_live_every_reason_and_action_exercised(scen_a, scen_b):
    """The catalogue covers every parser reason and every action."""
    reasons = {c.live_reason for c in scen_a.cases + scen_b.cases}
    assert cases.MALFORMED <= reasons
    assert {"non-ip", "rule", "default", "frag-no-first", "frag-overlap",
            "frag-tcp-offset-1", "no-egress-port"} <= reasons
    actions = {c.live_action for c in scen_a.cases}
    assert actions == set(cases.ACTIONS)


def test_live_fragments(scen_a):
    """Issue 13: a datagram's fragments go where its first fragment goes.
    An allowed source's fragmented ssh, and a source's fragments to a
    service it may use while others are denied (CN http, unknown dns),
    are forwarded whole; a prohibited source's are dropped or rerouted
    with the first; the attacks are dropped under their reasons."""
    by = _by_name(scen_a)
    for pre in ("frag4-us-ssh", "frag6-de-ssh", "frag4-cn-http",
                "frag4-unknown-dns-udp", "frag4-ah-us-ssh"):
        parts = [c for n, c in by.items() if n.startswith(pre + "-")]
        assert len(parts) >= 2, pre
        for c in parts:
            assert _where(scen_a, c.name) == [("inside0", "unchanged")], \
                c.name
    for name in ("frag4-cn-https-later1", "frag4-cn-https-later2",
                 "frag4-unknown-ssh-later1", "frag4-cn-later-alone",
                 "frag4-us-overlap-1", "frag4-us-overlap-2",
                 "frag4-us-tcp-off1", "frag6-de-tcp-off1",
                 "frag4-us-dup-first-2", "frag4-ru-ssh-later-early"):
        assert _where(scen_a, name) == [], name
    for name in ("frag4-cn-ssh-later1", "frag6-cn-ssh-later2"):
        assert [p for p, _ in _where(scen_a, name)] == ["quar0"], name
    st = scen_a.live.stats
    for r in ("frag-no-first", "frag-overlap", "frag-tcp-offset-1"):
        assert st["reasons"][r] == sum(
            1 for c in scen_a.cases if c.live_reason == r), r
    assert st["reasons"]["frag-table-full"] == 0
    later = [c for c in scen_a.cases if c.fragment == "later" and
             not (c.live_reason or "").startswith("frag-")]
    assert st["fragments"]["followed"] == len(later)
    assert st["fragments"]["completed"] >= 8


def test_live_log_lines(scen_a):
    """Rules with log = true print one line per packet on stdout."""
    lines = re.findall(r"^cordon-dp: (\w+) rule=(\S+) reason=(\S+) "
                       r"port=(\S+) ", scen_a.live.stdout, re.M)
    # A line says what was done: a reject without a reply is a drop.
    # A datagram's later fragments follow its first one silently.
    exp = sorted((c.live_action, c.rule, c.live_reason, c.port)
                 for c in scen_a.cases
                 if c.parsed and c.rule and cases.A_RULE_LOG[c.rule] and
                 c.fragment != "later")
    assert sorted(lines) == exp
    assert "cordon-dp: enforcing: 3 port(s), 1 worker(s), 5 rule(s)" in \
        scen_a.live.stdout
    # The exit report repeats the counters as text.
    assert "packets: %d" % len(scen_a.cases) in scen_a.live.stdout


def _bugs(scen, word):
    return [c for c in scen.cases if word in c.name]


def test_live_udp_first_fragment_regression(scen_bugs):
    """Regression (core/pkt/pkt_parse.c, pkt_l4): first fragments of
    UDP datagrams from allowed sources (US over IPv4, DE over IPv6; UDP
    length 1400, the whole datagram) are forwarded unchanged to inside0,
    not dropped as udp-bad-length."""
    got = scen_bugs.live.tx["inside0"]
    for c in _bugs(scen_bugs, "udp"):
        assert c.frame in got, "%s was not forwarded" % c.name
    assert scen_bugs.live.stats["reasons"]["udp-bad-length"] == 0


def test_live_jumbo_frame_regression(scen_bugs):
    """Regression (dataplane/dp/dp_worker.c, dp_classify): a 4054-byte frame
    (US -> 192.0.2.80 tcp/80, allowed) does not fit one mbuf of the pool
    (RTE_MBUF_DEFAULT_BUF_SIZE) and arrives as a chain; pkt_parse() is
    given pkts[i]->data_len (the first segment), so the IPv4 total length
    lay "beyond the frame": it was dropped as ipv4-bad-length while replay
    of the same capture said allow.  Chained frames are now copied out
    whole for the parser and forwarded unchanged."""
    (c,) = _bugs(scen_bugs, "jumbo")
    recs, _ = scen_bugs.replay("outside0")
    assert recs[scen_bugs.cases.index(c)]["action"] == "allow"
    assert scen_bugs.live.stats["reasons"]["ipv4-bad-length"] == 0
    assert c.frame in scen_bugs.live.tx["inside0"]
