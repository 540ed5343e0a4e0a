"""Evidence captures through the live fast path (issue 13): a rule with
`evidence = true` keeps the first packets of each flow it denies, cut to
the snap length, in pcap files of the evidence folder; allowed flows are
not kept; a full flow table refuses new flows and counts them; the
verdicts are the same with and without evidence; a restart starts a new
file and leaves the old one readable.  The files are read with scapy.
"""
import glob
import os

from scapy.all import IP, IPv6, TCP, Raw, rdpcap

import cases
import dplib

PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_pcap1", "role": "inside",
     "peer": "outside0"},
]
DEVS = {"outside0": "net_pcap0", "inside0": "net_pcap1"}
SNAP = 96
PACKETS = 3


def _rules(evidence=True):
    r = [{"name": "cn-ssh-drop", "src": ["CN"], "services": ["ssh"],
          "action": "drop"},
         {"name": "ru-ssh-reject", "src": ["RU"], "services": ["ssh"],
          "action": "reject"}]
    if evidence:
        for x in r:
            x["evidence"] = True
    return r


def _evid_group(d, flows=64):
    return ['evidence: { dir = "%s"; packets = %d; snaplen = %d; '
            'flows = %d; };' % (d, PACKETS, SNAP, flows)]


def _flow(src, sport, n, v6=False, dst=None):
    """N packets of one TCP flow to port 22, each 300 bytes of payload."""
    out = []
    for i in range(n):
        if v6:
            ip = IPv6(src=src, dst=dst or cases.SRV6)
        else:
            ip = IP(src=src, dst=dst or cases.SRV4, id=sport + i)
        out.append(bytes(cases.eth("outside0") / ip /
                         TCP(sport=sport, dport=22, flags="A",
                             seq=1000 + 300 * i) /
                         Raw(bytes([i % 256]) * 300)))
    return out


def _frames():
    cn_a = _flow(cases.CN4, 40001, 6)
    cn_b = _flow(cases.CN4, 40002, 2)
    cn_6 = _flow(cases.CN6, 40003, 5, v6=True)
    ru = _flow(cases.RU4, 40004, 4)
    us = _flow(cases.US4, 40005, 5)
    # Interleaved, as flows arrive.
    frames = []
    for i in range(6):
        for f in (cn_a, cn_b, cn_6, ru, us):
            if i < len(f):
                frames.append(f[i])
    return frames, {"cn_a": cn_a, "cn_b": cn_b, "cn_6": cn_6, "ru": ru,
                    "us": us}


def _kept(d):
    """Every packet of every evidence file, oldest file first."""
    pkts = []
    for f in sorted(glob.glob(os.path.join(d, "evidence-*.pcap"))):
        pkts.extend(rdpcap(f))
    return pkts


def _sport(p):
    return p[TCP].sport if TCP in p else None


def test_live_evidence_first_packets(render_conf, tmp_path):
    ev = str(tmp_path / "evidence")
    frames, flows = _frames()
    conf = render_conf(ports=PORTS, rules=_rules(),
                       overrides=cases.OVERRIDES, extra=_evid_group(ev))
    live = dplib.run_live(str(tmp_path), conf, {"outside0": frames}, DEVS)
    # The verdicts: only the US flow crossed; RU got RSTs back.
    assert live.tx["inside0"] == flows["us"]
    assert len(live.tx["outside0"]) == len(flows["ru"])
    kept = _kept(ev)
    by_flow = {}
    for p in kept:
        by_flow.setdefault(_sport(p), []).append(p)
    # The first PACKETS of each denied flow, in order; none of the US one.
    want = {40001: flows["cn_a"][:PACKETS], 40002: flows["cn_b"],
            40003: flows["cn_6"][:PACKETS], 40004: flows["ru"][:PACKETS]}
    assert sorted(by_flow) == sorted(want)
    for sport, frs in want.items():
        got = by_flow[sport]
        assert [bytes(p) for p in got] == [f[:SNAP] for f in frs], sport
        for p, f in zip(got, frs):
            assert p.wirelen == len(f)
    # Kept before the reject rewrote it: the client's packet, not the RST.
    assert all(p[TCP].flags == "A" for p in by_flow[40004])
    st = live.stats["evidence"]
    assert st["flows"] == 4
    assert st["captured"] == 3 * PACKETS + 2
    assert st["written"] == st["captured"]
    assert st["flow_full"] == 0 and st["ring_full"] == 0
    assert st["lost"] == 0 and st["files"] == 1
    names = [os.path.basename(f) for f in glob.glob(ev + "/*.pcap")]
    assert "cordon-dp: evidence: writing %s" % names[0] in live.stdout
    assert live.stdout.count("cordon-dp: evidence: flow ") == 4


def test_live_verdicts_same_without_evidence(render_conf, tmp_path):
    frames, _ = _frames()
    runs = []
    for ev_on in (True, False):
        d = tmp_path / ("on" if ev_on else "off")
        d.mkdir()
        conf = dplib.render_conf(str(d / "t.conf"), ports=PORTS,
                                 rules=_rules(ev_on),
                                 overrides=cases.OVERRIDES,
                                 extra=_evid_group(str(d / "ev")))
        runs.append(dplib.run_live(str(d), conf, {"outside0": frames},
                                   DEVS))
    assert runs[0].tx == runs[1].tx
    assert runs[0].stats["reasons"] == runs[1].stats["reasons"]
    assert runs[1].stats["evidence"]["captured"] == 0
    assert not glob.glob(str(tmp_path / "off" / "ev" / "*.pcap"))


def test_live_evidence_flow_table_full(render_conf, tmp_path):
    """40 new CN flows against a 16-flow table: at most 16 are kept, the
    rest are counted as refused, and every one of them is still dropped."""
    ev = str(tmp_path / "evidence")
    frames = []
    for i in range(40):
        frames += _flow(cases.CN4, 41000 + i, 1)
    conf = render_conf(ports=PORTS, rules=_rules(),
                       overrides=cases.OVERRIDES,
                       extra=_evid_group(ev, flows=16))
    live = dplib.run_live(str(tmp_path), conf, {"outside0": frames}, DEVS)
    assert live.tx["inside0"] == []
    assert live.stats["reasons"]["rule"] == 40
    st = live.stats["evidence"]
    assert 8 <= st["flows"] <= 16
    assert st["flow_full"] == 40 - st["flows"]
    assert len(_kept(ev)) == st["flows"]


def test_live_evidence_restart_new_file(render_conf, tmp_path):
    """A second run never appends: it opens a file of its own, and the
    first run's file still reads whole."""
    ev = str(tmp_path / "evidence")
    conf = render_conf(ports=PORTS, rules=_rules(),
                       overrides=cases.OVERRIDES, extra=_evid_group(ev))
    for i, sport in enumerate((42001, 42002)):
        d = tmp_path / ("run%d" % i)
        d.mkdir()
        dplib.run_live(str(d), conf,
                       {"outside0": _flow(cases.CN4, sport, 2)}, DEVS)
    files = sorted(glob.glob(ev + "/evidence-*.pcap"))
    assert len(files) == 2
    assert [[_sport(p) for p in rdpcap(f)] for f in files] == [
        [42001, 42001], [42002, 42002]]


def _private_tmpfs(path, size):
    """Mounts a SIZE tmpfs on PATH in a mount namespace of this process's
    own (so nothing outside sees it, and it goes when the process does)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 0x4000, 0x40000
    if os.geteuid() != 0 or libc.unshare(CLONE_NEWNS) != 0:
        return False
    assert libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0
    os.makedirs(path)
    return libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0,
                      b"size=%d,mode=0750" % size) == 0  # not 1777


def test_live_evidence_disk_full(render_conf, tmp_path):
    """The evidence folder is a 48 KiB tmpfs: writing stops when it is
    full, the records are counted lost and stdout says so once; the file
    reads whole; every verdict is what it is without evidence."""
    import pytest
    ev = str(tmp_path / "evidence")
    if not _private_tmpfs(ev, 48 * 1024):
        pytest.skip("needs root (a tmpfs in a private mount namespace)")
    frames = []
    for i in range(150):
        frames += _flow(cases.CN4, 43000 + i, 2)
    us = _flow(cases.US4, 44000, 3)
    frames += us
    conf = render_conf(ports=PORTS, rules=_rules(),
                       overrides=cases.OVERRIDES,
                       extra=['evidence: { dir = "%s"; packets = 2; '
                              'snaplen = 1024; };' % ev])
    live = dplib.run_live(str(tmp_path), conf, {"outside0": frames}, DEVS)
    assert live.tx["inside0"] == us
    assert live.stats["reasons"]["rule"] == 300
    st = live.stats["evidence"]
    # Arriving at once, more than the ring holds: the rest is counted.
    assert st["captured"] + st["ring_full"] == 300
    assert st["lost"] > 0 and st["written"] > 0
    assert st["written"] + st["lost"] == st["captured"]
    assert live.stdout.count("cordon-dp: evidence: cannot write") == 1
    assert "No space left on device" in live.stdout
    files = glob.glob(ev + "/evidence-*.pcap")
    assert len(files) == 1
    assert len(rdpcap(files[0])) == st["written"]


def _whole(path):
    """Whether the pcap at PATH ends exactly after its last record."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        off += 16 + struct.unpack("<I", data[off + 8:off + 12])[0]
    return off == len(data)


def test_live_evidence_kill9_then_restart(render_conf, tmp_path):
    """cordon-dp killed with SIGKILL after writing: its file reads whole;
    the next run writes a file of its own and never touches it."""
    import signal
    import subprocess
    import time
    ev = str(tmp_path / "evidence")
    conf = render_conf(ports=PORTS, rules=_rules(),
                       overrides=cases.OVERRIDES, extra=_evid_group(ev))
    rx = str(tmp_path / "rx.pcap")
    dplib.pcap_write(rx, _flow(cases.CN4, 45001, 3))
    stats = str(tmp_path / "stats" / "stats.json")
    cmd = [dplib.cordon_dp_path()] + dplib.EAL_BASE + [
        "--vdev=net_pcap0,rx_pcap=%s,tx_pcap=%s" % (rx, tmp_path / "o.pcap"),
        "--vdev=net_pcap1,rx_pcap=%s,tx_pcap=%s" % (
            tmp_path / "empty.pcap", tmp_path / "i.pcap"),
        "--", "-c", conf, "--stats-file", stats]
    dplib.pcap_write(str(tmp_path / "empty.pcap"), [])
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + dplib.TIMEOUT
        while time.monotonic() < deadline:
            st = dplib._read_json(stats)
            if st and st["evidence"]["written"] == PACKETS:
                break
            time.sleep(dplib.POLL_INTERVAL)
        else:
            raise AssertionError("no evidence written")
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    first = glob.glob(ev + "/evidence-*.pcap")
    assert len(first) == 1 and _whole(first[0])
    before = open(first[0], "rb").read()
    d = tmp_path / "run2"
    d.mkdir()
    dplib.run_live(str(d), conf, {"outside0": _flow(cases.CN4, 45002, 2)},
                   DEVS)
    files = sorted(glob.glob(ev + "/evidence-*.pcap"))
    assert len(files) == 2
    assert open(first[0], "rb").read() == before
    assert [_sport(p) for p in rdpcap(first[0])] == [45001] * PACKETS
    other = [f for f in files if f != first[0]][0]
    assert [_sport(p) for p in rdpcap(other)] == [45002] * 2


def test_live_evidence_reroute_keeps_the_original(render_conf, tmp_path):
    """A rerouted flow is kept as it arrived: before its MAC is rewritten
    and the next hop's VLAN tag pushed."""
    ev = str(tmp_path / "evidence")
    rules = [{"name": "cn-ssh-scrub", "src": ["CN"], "services": ["ssh"],
              "action": "reroute", "nexthop": "scrub", "evidence": True}]
    nh = [{"name": "scrub", "port": "inside0", "mac": cases.SCRUB_MAC,
           "vlan": 7}]
    conf = render_conf(ports=PORTS, rules=rules, nexthops=nh,
                       overrides=cases.OVERRIDES, extra=_evid_group(ev))
    cn = _flow(cases.CN4, 46001, 4)
    live = dplib.run_live(str(tmp_path), conf, {"outside0": cn}, DEVS)
    out = live.tx["inside0"]
    assert len(out) == 4
    assert out[0][:6] == bytes.fromhex(cases.SCRUB_MAC.replace(":", ""))
    assert out[0][12:14] == b"\x81\x00"
    kept = _kept(ev)
    assert [bytes(p) for p in kept] == [f[:SNAP] for f in cn[:PACKETS]]
    assert live.stats["evidence"]["flows"] == 1
