"""Issue 13: proxies that report the client, live and in replay.

Over the fixture databases (tests/fixtures/mkmmdb.pl): 11.0.2.0/24 US,
12.51.100.0/25 CN, 2a00:db8:1::/49 CN.  A load balancer at 11.0.2.50
is the one trusted relay.  ssh (22) is proxied with PROXY v1 or v2,
web (80) with X-Forwarded-For, api (8080) with Forwarded.  Rules drop
those services from a CN or unknown source, and via CN (any hop).

Each flow is a handshake SYN and data segments from the outside port.
What reaches the inside port and what comes back out of the outside
port (the RSTs of a refused flow) are checked, and the counters; replay
must give the same verdicts.  Attacks tried: a CN client behind the
trusted relay, an attacker's own PROXY header sent directly, a forged
XFF hop prepended by the client, a header split in 1-byte segments, a
resend with other bytes, a header past the window, a flood of
handshakes filling the table.

Every test name contains "replay" or "live": tests/run.sh runs `-k
replay` under the ASan build, where no test may start DPDK.
"""
import os
import struct

import pytest
from scapy.all import IP, TCP, Ether, IPv6

import cases
import dplib

PORTS = cases.A_PORTS[:2]
RELAY = "11.0.2.50"
SRV = "11.0.9.1"
ISN = 1000
EVIL = 0x70000000  # sequence numbers a forger picks

SERVICES = {
    "ssh": (["tcp"], ["22"], "any"),
    "web": (["tcp"], ["80"], "x-forwarded-for"),
    "api": (["tcp"], ["8080"], "forwarded"),
}
RULES = [
    {"name": "from-cn", "src": ["CN", "unknown"],
     "services": ["ssh", "web", "api"], "direction": "in", "action": "drop",
     "log": True},
    {"name": "via-cn", "via": ["CN", "unknown"],
     "services": ["ssh", "web", "api"], "direction": "in", "action": "drop"},
]


def seg(src, sport, dport, flags, seq, data=b""):
    return bytes(Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) /
                 IP(src=src, dst=SRV) /
                 TCP(sport=sport, dport=dport, flags=flags, seq=seq,
                     ack=1 if "A" in flags else 0) / data)


def flow(sport, dport, data, src=RELAY, pieces=None):
    """The SYN, then DATA in one segment (or cut at PIECES offsets)."""
    out = [seg(src, sport, dport, "S", ISN)]
    cuts = [0] + list(pieces or []) + [len(data)]
    for a, b in zip(cuts, cuts[1:]):
        out.append(seg(src, sport, dport, "PA", ISN + 1 + a, data[a:b]))
    return out


def v2(cmd, fam, addr, tlv=b""):
    body = addr + tlv
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20 | cmd, fam]) +
            struct.pack("!H", len(body)) + body)


def v2_tcp4(src, dst, sp, dp):
    a = bytes(int(x) for x in src.split(".")) + \
        bytes(int(x) for x in dst.split("."))
    return v2(1, 0x11, a + struct.pack("!HH", sp, dp))


def http(hdrs):
    return ("GET / HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n" % hdrs).encode()


V1_CN = b"PROXY TCP4 12.51.100.5 11.0.9.1 40000 22\r\nSSH-2.0-x\r\n"
V1_US = b"PROXY TCP4 11.0.2.9 11.0.9.1 40000 22\r\nSSH-2.0-x\r\n"
V1_LEN = V1_CN.index(b"\r\n") + 2

# name -> (frames, the data segments that must reach the inside (by
# index into the flow, 0 the SYN), reset: both ends get a RST)
FLOWS = {
    "v1-cn": (flow(41001, 22, V1_CN), [0], True),
    "v1-us": (flow(41002, 22, V1_US), [0, 1], False),
    "v2-cn": (flow(41003, 22, v2_tcp4("12.51.100.5", SRV, 5, 22) +
                   b"SSH-2.0"), [0], True),
    "v2-us-tlv": (flow(41004, 22, v2(1, 0x11, bytes([11, 0, 2, 9, 11, 0, 9,
                                                       1, 0, 5, 0, 22]),
                                     b"\x04\x00\x02ab") + b"SSH"),
                  [0, 1], False),
    "v2-local": (flow(41005, 22, v2(0, 0, b"") + b"SSH"), [0, 1], False),
    # An attacker's own header, sent directly: judged by its address.
    "untrusted-cn-claims-us": (flow(41006, 22, V1_US, src="12.51.100.9"),
                               [], False),
    "untrusted-us-claims-cn": (flow(41007, 22, V1_CN, src="11.0.2.9"),
                               [0, 1], False),
    # One byte per segment: all but the deciding one go through.
    "v1-cn-split": (flow(41008, 22, V1_CN[:V1_LEN],
                         pieces=list(range(1, V1_LEN))),
                    list(range(0, V1_LEN)), True),
    "v1-us-split": (flow(41009, 22, V1_US, pieces=[3, 20]),
                    [0, 1, 2, 3], False),
    "invalid": (flow(41010, 22, b"SSH-2.0-OpenSSH\r\n"), [0], True),
    # XFF: the rightmost untrusted hop is the origin; a forged US hop on
    # the left does not help; a CN hop on the left still denies (via).
    "xff-cn": (flow(41011, 80, http("X-Forwarded-For: 11.0.2.9, "
                                    "12.51.100.5, 11.0.2.50")),
               [0], True),
    "xff-us": (flow(41012, 80, http("X-Forwarded-For: 11.0.2.9")),
               [0, 1], False),
    "xff-cn-left": (flow(41013, 80, http("X-Forwarded-For: 12.51.100.5, "
                                         "11.0.2.9")), [0], True),
    # Seven hops are judged one by one; past that the rest is unknown.
    "xff-many": (flow(41014, 80, http("X-Forwarded-For: " + ", ".join(
        ["11.0.2.%d" % i for i in range(1, 8)]))), [0, 1], False),
    "xff-too-many": (flow(41023, 80, http("X-Forwarded-For: " + ", ".join(
        ["11.0.2.%d" % i for i in range(1, 40)]))), [0], True),
    "xff-v6-port": (flow(41015, 80, http("X-Forwarded-For: "
                                         "[2a00:db8:1::5]:443")),
                    [0], True),
    "xff-none": (flow(41016, 80, http("X-Other: 1")), [0], True),
    "xff-past-window": (flow(41017, 80, http("X-Pad: " + "a" * 400 +
                                             "\r\nX-Forwarded-For: "
                                             "11.0.2.9"),
                             pieces=[200]), [0, 1], True),
    "fwd-quoted-us": (flow(41018, 8080, http(
        'Forwarded: for="11.0.2.9:80";proto=http, for=11.0.2.50')),
        [0, 1], False),
    "fwd-v6-cn": (flow(41019, 8080, http(
        'Forwarded: for="[2a00:db8:1::5]:4711"')), [0], True),
    "fwd-obfuscated": (flow(41020, 8080, http("Forwarded: for=_hidden")),
                       [0], True),
    "fwd-unknown": (flow(41021, 8080, http("Forwarded: for=unknown")),
                    [0], True),
    # A SYN forged with the relay's address restarts its flow on the
    # forger's sequence numbers and a US header decides it; the relay's
    # own CN header, off that line, is refused (proxy-out-of-order).
    "syn-injected": ([seg(RELAY, 41024, 22, "S", ISN),
                      seg(RELAY, 41024, 22, "S", EVIL),
                      seg(RELAY, 41024, 22, "PA", EVIL + 1, V1_US),
                      seg(RELAY, 41024, 22, "PA", ISN + 1, V1_CN)],
                     [0, 1, 2], False),
    # Attacks that held (docs/proxies.md): each refused and reset.
    "h2-prior": (flow(41025, 80, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
                 [0], True),
    "xff-folded": (flow(41026, 80, http("X-Forwarded-For: 11.0.2.9,\r\n"
                                        " 12.51.100.5")), [0], True),
    "xff-two-lines": (flow(41027, 80, http("X-Forwarded-For: 11.0.2.9\r\n"
                                           "x-forwarded-for: 12.51.100.5")),
                      [0], True),
    "connect-cn": (flow(41028, 80, b"CONNECT h:22 HTTP/1.1\r\n"
                        b"X-Forwarded-For: 12.51.100.5\r\n\r\n"),
                   [0], True),
    "v1-octal": (flow(41029, 22, b"PROXY TCP4 011.0.2.9 11.0.9.1 1 22\r\n"),
                 [0], True),
    "v1-mapped-cn": (flow(41030, 22, b"PROXY TCP6 ::ffff:12.51.100.5 ::1 "
                          b"40000 22\r\n"), [0], True),
    "v2-version1": (flow(41031, 22, b"\r\n\r\n\x00\r\nQUIT\n\x11\x11"
                         b"\x00\x0c" + bytes(12)), [0], True),
    "v2-unix": (flow(41032, 22, v2(1, 0x31, bytes(216))), [0], True),
    "v2-tlv-bad": (flow(41033, 22, v2(1, 0x11, bytes([11, 0, 2, 9, 11, 0, 9,
                                                      1, 0, 5, 0, 22]),
                                      b"\x04\x00\x09ab")), [0], True),
}
BAD_HEADER = ["invalid", "h2-prior", "xff-folded", "v1-octal",
              "v2-version1", "v2-tlv-bad"]


def resend_changed():
    """A resend of the first bytes with other bytes after a split:
    refused; the flow is then decided on what was held (CN)."""
    f = flow(41022, 22, V1_CN, pieces=[10])
    bad = seg(RELAY, 41022, 22, "PA", ISN + 1, b"PROXY TCP6 2001:db8::1 ")
    return [f[0], f[1], bad, f[2]]


def all_frames():
    out = []
    for frames, _, _ in FLOWS.values():
        out += frames
    return out + resend_changed()


@pytest.fixture(scope="module")
def proxy_conf(tmp_path_factory, mmdb_fixtures):
    d = str(tmp_path_factory.mktemp("proxy"))
    return d, conf_write(d, mmdb_fixtures, "cordon.conf", flows=4096,
                         full="drop")


def conf_write(d, mmdb, name, flows, full):
    conf = dplib.render_conf(
        os.path.join(d, name), ports=PORTS,
        databases=[(os.path.join(mmdb, "country.mmdb"),
                    "country.iso_code")],
        services={k: (p, ports) for k, (p, ports, _) in SERVICES.items()},
        rules=RULES, include_profile=False,
        extra=['proxies = { trusted = [ "%s" ]; window = 256;\n'
               '  incomplete = "drop"; full = "%s"; flows = %d;\n'
               '  buffers = 8; idle = 3600; };' % (RELAY, full, flows)])
    with open(conf) as f:
        text = f.read()
    for k, (_, _, mode) in SERVICES.items():
        text = text.replace('\t%s = { proto' % k,
                            '\t%s = { proxy = "%s"; proto' % (k, mode), 1)
    with open(conf, "w") as f:
        f.write(text)
    return conf


def expected_inside():
    want = []
    for frames, through, _ in FLOWS.values():
        want += [frames[i] for i in through]
    f = resend_changed()
    want += [f[0], f[1]]
    return want


def test_proxy_replay(proxy_conf):
    d, conf = proxy_conf
    frames = all_frames()
    recs, _, st = dplib.run_replay(d, conf, frames, "proxy",
                                   direction="in", stats=True)
    assert len(recs) == len(frames)
    passed = [f for f, r in zip(frames, recs) if r["action"] == "allow"]
    assert sorted(passed) == sorted(expected_inside())
    by_frame = dict(zip(frames, recs))
    for name, (fr, through, reset) in FLOWS.items():
        rs = [by_frame[f] for f in fr]
        if reset:
            assert rs[-1].get("proxy") == "reset", (name, rs[-1])
    assert by_frame[FLOWS["invalid"][0][1]]["reason"] == "proxy-bad-header"
    assert by_frame[FLOWS["xff-past-window"][0][2]]["reason"] == \
        "proxy-incomplete"
    assert by_frame[FLOWS["xff-none"][0][1]]["reason"] == "proxy-incomplete"
    assert by_frame[FLOWS["v1-cn"][0][1]]["src_cc"] == "CN"
    assert by_frame[FLOWS["xff-cn-left"][0][1]]["rule"] == "via-cn"
    u = by_frame[FLOWS["untrusted-us-claims-cn"][0][1]]
    assert u["proxy"] == "untrusted" and u["src_cc"] == "US"
    r = resend_changed()
    assert by_frame[r[2]]["reason"] == "proxy-out-of-order"
    assert by_frame[FLOWS["syn-injected"][0][3]]["reason"] == \
        "proxy-out-of-order"
    for name in BAD_HEADER:
        assert by_frame[FLOWS[name][0][1]]["reason"] == \
            "proxy-bad-header", name
    for name in ["xff-two-lines", "connect-cn", "v1-mapped-cn"]:
        assert by_frame[FLOWS[name][0][1]]["src_cc"] == "CN", name
    assert by_frame[r[3]]["proxy"] == "reset"
    assert st["proxied"]["untrusted"] == 2
    assert st["proxied"]["changed"] == 1
    assert st["proxied"]["local"] == 1


def rst_of(frames):
    return [Ether(f) for f in frames if TCP in Ether(f) and
            Ether(f)[TCP].flags & 0x04]


def test_proxy_live(proxy_conf):
    d, conf = proxy_conf
    w = os.path.join(d, "live")
    os.makedirs(w, exist_ok=True)
    frames = all_frames()
    res = dplib.run_live(w, conf, {"outside0": frames},
                         {p["name"]: p["device"] for p in PORTS})
    inside = res.tx["inside0"]
    rst_in = rst_of(inside)
    passed = [f for f in inside if not (Ether(f)[TCP].flags & 0x04)]
    assert sorted(passed) == sorted(expected_inside())
    nreset = sum(1 for _, _, r in FLOWS.values() if r) + 1
    # Each refused flow: a RST to the service at the refused segment's
    # sequence number (every byte before it went through), one to the
    # relay out of the outside port.
    assert len(rst_in) == nreset
    for name, (fr, _, reset) in FLOWS.items():
        if not reset:
            continue
        last = Ether(fr[-1])
        r = [x for x in rst_in if x[TCP].sport == last[TCP].sport]
        assert len(r) == 1, name
        assert r[0][TCP].seq == last[TCP].seq, name
        assert r[0][IP].src == RELAY and r[0][IP].dst == SRV
    rst_out = rst_of(res.tx["outside0"])
    assert len(rst_out) == nreset
    assert all(x[IP].dst == RELAY for x in rst_out)
    assert res.stats["proxied"]["untrusted"] == 2
    assert res.stats["proxied"]["denied"] == nreset
    assert res.stats["reasons"]["proxy-bad-header"] == len(BAD_HEADER)
    # The refused CN client is logged (the relay's packet, as judged).
    assert "rule=from-cn" in res.stdout, res.stdout[-2000:]


def flood():
    """Handshakes past the table (flows = 8: one bucket), then a flow
    that would be served: refused as the table is full.  Replay puts a
    second between frames: idle = 3600 keeps the half-open flows (a
    minute each) for the whole capture."""
    syns = [seg(RELAY, 42000 + i, 22, "S", ISN) for i in range(12)]
    return syns + [seg(RELAY, 42000 + 11, 22, "PA", ISN + 1, V1_US)]


@pytest.fixture(scope="module")
def full_conf(tmp_path_factory, mmdb_fixtures):
    d = str(tmp_path_factory.mktemp("proxyfull"))
    return d, conf_write(d, mmdb_fixtures, "full.conf", flows=8,
                         full="drop")


def test_proxy_table_full_replay(full_conf):
    d, conf = full_conf
    recs, _, st = dplib.run_replay(d, conf, flood(), "full",
                                   direction="in", stats=True)
    assert [r["action"] for r in recs[:8]] == ["allow"] * 8
    assert all(r["reason"] == "proxy-table-full" for r in recs[8:12])
    # The data of a flow the table refused finds no flow: never passed.
    assert recs[12]["action"] == "drop"
    assert recs[12]["reason"] == "proxy-no-flow"
    assert st["proxied"]["full"] == 4


def test_proxy_table_full_live(full_conf):
    d, conf = full_conf
    w = os.path.join(d, "live")
    os.makedirs(w, exist_ok=True)
    res = dplib.run_live(w, conf, {"outside0": flood()},
                         {p["name"]: p["device"] for p in PORTS})
    assert len(res.tx["inside0"]) == 8
    assert res.stats["reasons"]["proxy-table-full"] == 4
    assert res.stats["reasons"]["proxy-no-flow"] == 1
    assert res.stats["proxied"]["full"] == 4


def test_proxy_config_refused_replay(tmp_path, mmdb_fixtures):
    """A proxied service with nobody to trust: refused, file:line."""
    conf = conf_write(str(tmp_path), mmdb_fixtures, "bad.conf", flows=8,
                      full="drop")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(text.replace('trusted = [ "%s" ];' % RELAY, ""))
    p = dplib.run_cmd(["--check", "-c", conf])
    assert p.returncode != 0
    assert "proxies.trusted names no relay" in p.stderr + p.stdout
