"""Commits under traffic (issue 3): packets flow through cordon-dp while
100 commits alternate between two policies; every packet's verdict is one
of the two policies' and none is lost.

cordond runs with its own state folder and a dataplane whose outside port
is a net_pcap device replaying a capture forever (`infinite_rx=1`) and
whose inside port is a net_null sink (`no-rx=1`).  The capture holds SYNs
from three documentation ranges mapped by geo overrides over the real
database: US -> ssh, CN -> ssh, RU -> rdp.

Policy A and policy B decide every one of those frames by an explicit
rule and differ only in CN -> ssh (A: rule "cn-ssh-drop", B: rule
"cn-ssh-allow").  The default is `reject`: a frame classified against an
empty or half-built policy would show up as action `reject` / reason
`default`, which neither policy can produce.

The same rig (class Rig) is used by bench/commit.sh.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_commit_traffic.py
"""
import json
import signal
import time

import pytest

from cordonrig import (CORDON_DP, CORDOND, SERVICES_SSH_RDP, Cordond,
                       control_conf, geo_conf, need_binaries, pcap_dataplane,
                       pcap_write, pid_alive, running, syn, wait_for)

POLL = 0.001            # counter polls: 1 ms
ROUNDS = 100            # commits alternating A, B, A, ...

US_SRC, CN_SRC, RU_SRC, SRV = ("192.0.2.33", "198.51.100.7", "203.0.113.9",
                               "192.0.2.80")

RULE_US = {"src": "US", "direction": "in", "action": "allow"}
RULE_RU = {"src": "RU", "services": "rdp", "direction": "in",
           "action": "drop"}
RULE_CN = {"src": "CN", "services": "ssh", "direction": "in"}

CONF = geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "ru-rdp-drop"; src = "RU"; services = "rdp"; direction = "in";
      action = "drop"; },
    { name = "cn-ssh-drop"; src = "CN"; services = "ssh"; direction = "in";
      action = "drop"; }
);
default = { action = "reject"; };
""" + pcap_dataplane(",infinite_rx=1") + control_conf("""\
    dp_args = [ "--stats-file", "%(dir)s/stats/stats.json" ];
    keep_revisions = 1000;
""")


def frames():
    """Four SYNs per country, interleaved US, CN, RU, US, CN, RU, ..."""
    return [syn(src, SRV, dport, 40000 + i) for i in range(4)
            for src, dport in ((US_SRC, 22), (CN_SRC, 22), (RU_SRC, 3389))]


def cn(c):
    """(packets, denied) of CN in cordond's counters."""
    for row in c["countries"]:
        if row["country"] == "CN":
            return row["packets"], row["denied"]
    return 0, 0


class Rig(Cordond):
    """cordond (own folder, sockets, state) whose cordon-dp sees endless
    US/CN/RU traffic.  stop() ends cordond, then the cordon-dp it ran."""

    def __init__(self):
        super().__init__(prefix="cordon-commit-")
        self.pcap = self.dir + "/in.pcap"
        pcap_write(self.pcap, frames())
        self.stats_file = self.dir + "/stats/stats.json"
        self.write_conf(CONF, pcap=self.pcap)

    def start(self):
        self.spawn()
        self.wait_dp_up(timeout=60)
        self.connect()
        # Traffic is flowing before anything is measured.
        wait_for("traffic", lambda: self.counters()["packets"] > 0)
        return self

    def counters(self):
        return self.ok("counters")

    def stop(self):
        """Stops cordond, then its cordon-dp with SIGINT (so its final
        counters, taken after the workers stopped, land in the stats
        file).  Returns that file's JSON, or None."""
        if not super().stop(dp_signal=signal.SIGINT):
            return None
        try:
            with open(self.stats_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


# ---------------------------------------------------------------------------

@pytest.fixture
def rig():
    need_binaries(CORDOND, CORDON_DP)
    yield from running(Rig())


def grow_cn(rig, before, by=100, timeout=10.0):
    """Polls (1 ms) until CN packets pass BEFORE's by BY; the snapshot."""
    p0 = cn(before)[0]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        c = rig.counters()
        if cn(c)[0] >= p0 + by:
            return c
        time.sleep(POLL)
    raise AssertionError("CN traffic stopped: %s" % cn(before))


def check_clean(c, where):
    """What neither policy can produce, in a snapshot (exact at any time:
    these counters never move)."""
    acts = c["actions"]
    assert acts.get("reject", 0) == 0, (where, c)
    assert acts.get("reroute", 0) == 0, (where, c)
    nonzero = {k for k, v in c["reasons"].items() if v}
    assert nonzero <= {"rule"}, (where, c["reasons"])
    dflt = [r for r in c["rules"] if r["position"] == 0]
    assert dflt and dflt[0]["hits"] == 0, (where, c["rules"])
    for row in c["countries"]:
        assert row["country"] in ("US", "CN", "RU"), (where, row)
        if row["country"] == "US":
            assert row["denied"] == 0, (where, row)


def test_commits_under_traffic(rig):
    t_start = time.monotonic()
    st = rig.ok("status")
    assert st["running_revision"] == 1
    dp_pid = st["dataplane"]["pid"]
    rev_a = 1                                   # the initial config is A

    # Commit B: cn-ssh-drop out, cn-ssh-allow in at the same position.
    rig.ok("delete", kind="rule", name="cn-ssh-drop")
    rig.ok("set", kind="rule", name="cn-ssh-allow",
           attrs=dict(RULE_CN, action="allow", position=3))
    rev_b = rig.ok("commit", comment="policy B")["revision"]
    assert rev_b == 2
    names = [r["name"] for r in rig.ok("show", what="rules")["rules"]]
    assert names == ["us-allow", "ru-rdp-drop", "cn-ssh-allow", "(default)"]
    c = rig.counters()
    check_clean(c, "after B")

    # 100 commits, alternating A, B, A, ... (rollback to the two
    # revisions).  After a reply the new policy is in force (cordon-dp
    # replies after its RCU grace period): under B not one more CN packet
    # may be denied; under A CN packets must be denied again.
    rev = rev_b
    pol = "B"
    frozen_checks = 0
    for i in range(ROUNDS):
        to, pol = (rev_a, "A") if pol == "B" else (rev_b, "B")
        data = rig.ok("rollback", revision=to, commit=True)
        assert data["revision"] == rev + 1 and data["copy_of"] == to, data
        rev = data["revision"]
        c0 = rig.counters()
        assert c0["revision"] == rev, c0
        c1 = grow_cn(rig, c0)
        check_clean(c1, "round %d (%s)" % (i, pol))
        if pol == "B":
            assert cn(c1)[1] == cn(c0)[1], (
                "round %d: CN denied grew under B: %s -> %s"
                % (i, cn(c0), cn(c1)))
            frozen_checks += 1
        else:
            assert cn(c1)[1] > cn(c0)[1], (
                "round %d: CN not denied under A: %s -> %s"
                % (i, cn(c0), cn(c1)))
    assert frozen_checks == ROUNDS // 2
    assert pol == "B" and rev == rev_b + ROUNDS

    st = rig.ok("status")
    dp = st["dataplane"]
    assert st["running_revision"] == rev
    assert dp["pid"] == dp_pid and dp["restarts"] == 0, dp
    assert dp["state"] == "up" and dp["in_sync"] and dp["revision"] == rev
    assert dp["alarm"] is None and st["alarms"] == [], st
    assert dp["error"] == "", dp
    revs = rig.ok("show", what="revisions")["revisions"]
    assert len(revs) == ROUNDS + 2
    assert sum(r["kind"] == "rollback" for r in revs) == ROUNDS
    live = rig.counters()
    check_clean(live, "end")
    cn_p, cn_d = cn(live)
    assert 0 < cn_d < cn_p, live["countries"]
    assert rig.ok("audit-verify")["intact"]

    # Exact totals: cordon-dp's own final counters, written after its
    # workers stopped (no torn snapshot).
    final = rig.stop()
    assert final is not None, "cordon-dp left no final stats file: " + \
        rig.logtext()
    assert not pid_alive(dp_pid)
    acts, reasons = final["actions"], final["reasons"]
    pk = final["packets"]
    assert pk >= live["packets"] > 0
    assert pk == sum(acts.values()), final
    assert acts["reject"] == 0 and acts["reroute"] == 0, acts
    nonzero = {k: v for k, v in reasons.items() if v}
    assert nonzero == {"rule": acts["drop"]}, reasons   # allows: "none"
    assert reasons["default"] == 0
    rules = final["rules"]
    assert rules["(default)"] == 0, rules
    cc = final["countries"]
    assert set(cc) == {"US", "CN", "RU"}, cc
    assert sum(v["packets"] for v in cc.values()) == pk
    assert cc["US"]["denied"] == 0
    assert cc["RU"]["denied"] == cc["RU"]["packets"] > 0
    assert 0 < cc["CN"]["denied"] < cc["CN"]["packets"]
    # Rule counters are per position; the stats file names positions
    # after the rules of the policy in force at exit (B).
    assert rules["us-allow"] == cc["US"]["packets"]
    assert rules["ru-rdp-drop"] == cc["RU"]["packets"]
    assert rules["cn-ssh-allow"] == cc["CN"]["packets"]
    allowed = cc["US"]["packets"] + cc["CN"]["packets"] - cc["CN"]["denied"]
    assert acts["allow"] == allowed
    assert acts["drop"] == cc["RU"]["packets"] + cc["CN"]["denied"]
    # The capture cycles US, CN, RU: no country can be ahead by more
    # than one frame if nothing was lost on the way.
    counts = [v["packets"] for v in cc.values()]
    assert max(counts) - min(counts) <= 1, cc
    # None lost: every packet read on the outside port was either sent
    # out of the inside port or dropped by a rule.
    out, ins = final["ports"]["outside0"], final["ports"]["inside0"]
    assert out["rx_packets"] == pk
    assert ins["rx_packets"] == 0
    assert ins["tx_packets"] == acts["allow"]
    assert ins["tx_dropped"] == 0 and out["tx_packets"] == 0
    assert out["tx_dropped"] == 0
    assert ins["tx_packets"] + acts["drop"] == out["rx_packets"]
    assert time.monotonic() - t_start < 60
