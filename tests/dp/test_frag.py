"""The fragment table at its limits (issue 13): a full table refuses new
datagrams and counts them, never passes them; a datagram whose later
fragments come after the timeout is refused.  Through replay and, for
the full table, the live fast path (names with "replay" also run under
the ASan build).
"""
import os

import cases
import dplib

PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_pcap1", "role": "inside",
     "peer": "outside0"},
]
RULES = [{"name": "ssh-prohibited-drop", "src": ["prohibited"],
          "services": ["ssh"], "action": "drop"}]


def _conf(render_conf, **kw):
    return render_conf(ports=PORTS, rules=RULES, overrides=cases.OVERRIDES,
                       **kw)


def _full_frames():
    """Nine datagrams' first fragments for a one-bucket table (8 entries),
    then: the ninth's later fragment, the first's last fragment (which
    frees its entry), and a tenth datagram that now finds room."""
    s = cases.Seq(20000)
    o = "outside0"
    d = [cases._dgram(o, s, cases.US4, pieces=((0, 24, True),
                                               (24, 8, False)))
         for _ in range(10)]
    frames = [x[0] for x in d[:9]] + [d[8][1], d[0][1], d[9][0], d[9][1]]
    want = ["allow"] * 8 + ["frag-table-full", "frag-no-first", "allow",
                            "allow", "allow"]
    return frames, want


def _verdict(r):
    return r["action"] if r["action"] == "allow" else r["reason"]


def test_replay_frag_table_full(render_conf, tmp_path):
    conf = _conf(render_conf, frag_entries=8)
    frames, want = _full_frames()
    recs, _, st = dplib.run_replay(str(tmp_path), conf, frames, "full",
                                   direction="in", stats=True)
    assert [_verdict(r) for r in recs] == want
    assert st["reasons"]["frag-table-full"] == 1
    assert st["fragments"]["tracked"] == 9
    assert st["fragments"]["completed"] == 2


def test_live_frag_table_full(render_conf, tmp_path):
    conf = _conf(render_conf, frag_entries=8)
    frames, want = _full_frames()
    live = dplib.run_live(str(tmp_path), conf, {"outside0": frames},
                          {"outside0": "net_pcap0", "inside0": "net_pcap1"})
    passed = [f for f, w in zip(frames, want) if w == "allow"]
    assert live.tx["inside0"] == [bytes(f) for f in passed]
    assert live.stats["reasons"]["frag-table-full"] == 1
    assert live.stats["reasons"]["frag-no-first"] == 1
    assert live.stats["fragments"]["tracked"] == 9


def test_replay_frag_timeout(render_conf, tmp_path):
    """Frames are one second apart: with 1.5 s, the second later fragment
    comes too late, and the entry is gone for the next."""
    conf = _conf(render_conf, frag_timeout_ms=1500)
    s = cases.Seq(21000)
    d = cases._dgram("outside0", s, cases.US4, pieces=(
        (0, 24, True), (24, 8, True), (32, 8, True), (40, 8, False)))
    recs, _, st = dplib.run_replay(str(tmp_path), conf, d, "timeout",
                                   direction="in", stats=True)
    assert [_verdict(r) for r in recs] == ["allow", "allow", "frag-timeout",
                                           "frag-no-first"]
    assert st["fragments"]["expired"] == 1


def test_replay_frag_prohibited_follow(render_conf, tmp_path):
    """A prohibited source's fragmented ssh is dropped whole by its rule;
    an allowed source's passes whole (the shipped kind of policy)."""
    conf = _conf(render_conf)
    s = cases.Seq(22000)
    cn = cases._dgram("outside0", s, cases.CN4)
    us = cases._dgram("outside0", s, cases.US4)
    recs, _, _ = dplib.run_replay(str(tmp_path), conf, cn + us, "follow",
                                  direction="in")
    assert [(r["action"], r["rule"]) for r in recs] == \
        [("drop", "ssh-prohibited-drop")] * 3 + [("allow", "(default)")] * 3
    assert [r.get("service") for r in recs] == ["ssh"] * 6


def test_frag_config_range(render_conf, tmp_path):
    """Out-of-range table sizes and timeouts are config errors."""
    for kw in ({"frag_entries": 4}, {"frag_timeout_ms": 5},
               {"frag_entries": (1 << 20) + 1}):
        conf = _conf(render_conf, name="bad%d.conf" % len(os.listdir(
            str(tmp_path))), **kw)
        p = dplib.run_cmd(["--check", "-c", conf])
        assert p.returncode != 0, kw
        assert "frag_" in p.stderr, (kw, p.stderr)
