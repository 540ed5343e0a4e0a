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
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _repo(p):
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


CORDOND = _repo(os.environ.get("CORDOND", "build/cordond"))
CORDON_DP = _repo(os.environ.get("CORDON_DP") or os.path.join(
    os.path.dirname(CORDOND), "cordon-dp"))
GEODB = _repo(os.environ.get("CORDON_GEODB",
                             ".cache/geo/geo-whois-asn-country.mmdb"))

POLL = 0.001            # counter polls: 1 ms
ROUNDS = 100            # commits alternating A, B, A, ...

US_SRC, CN_SRC, RU_SRC, SRV = ("192.0.2.33", "198.51.100.7", "203.0.113.9",
                               "192.0.2.80")

RULE_US = {"src": "US", "direction": "in", "action": "allow"}
RULE_RU = {"src": "RU", "services": "rdp", "direction": "in",
           "action": "drop"}
RULE_CN = {"src": "CN", "services": "ssh", "direction": "in"}

CONF = """
geo: {
    databases = ( { file = "%(geodb)s"; field = "country_code"; } );
    overrides = ( { prefix = "192.0.2.0/24"; country = "US"; },
                  { prefix = "198.51.100.0/24"; country = "CN"; },
                  { prefix = "203.0.113.0/24"; country = "RU"; } );
};
services: {
    ssh = { proto = "tcp"; ports = [ "22" ]; };
    rdp = { proto = "tcp"; ports = [ "3389" ]; };
};
rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "ru-rdp-drop"; src = "RU"; services = "rdp"; direction = "in";
      action = "drop"; },
    { name = "cn-ssh-drop"; src = "CN"; services = "ssh"; direction = "in";
      action = "drop"; }
);
default = { action = "reject"; };
dataplane: {
    ports = (
        { name = "outside0"; device = "net_pcap0"; role = "outside";
          peer = "inside0"; },
        { name = "inside0"; device = "net_null0"; role = "inside";
          peer = "outside0"; }
    );
    eal = [ "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l", "0-1",
            "--log-level", "lib.eal:error", "--vdev=net_null0,no-rx=1",
            "--vdev=net_pcap0,rx_pcap=%(pcap)s,infinite_rx=1" ];
    mbufs = 8192;
};
control: {
    socket = "%(dir)s/run/cordon.sock";
    ro_socket = "%(dir)s/run/cordon-ro.sock";
    socket_group = "nogroup";
    state_dir = "%(dir)s/state";
    dp_socket = "%(dir)s/run/dp.sock";
    dp_binary = "%(dp)s";
    dp_args = [ "--stats-file", "%(dir)s/stats.json" ];
    geo_max_age = 0;
    keep_revisions = 1000;
};
"""


def frames():
    """Four SYNs per country, interleaved US, CN, RU, US, CN, RU, ..."""
    from scapy.all import IP, TCP, Ether
    out = []
    for i in range(4):
        for src, dport in ((US_SRC, 22), (CN_SRC, 22), (RU_SRC, 3389)):
            out.append(bytes(
                Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                IP(src=src, dst=SRV) /
                TCP(sport=40000 + i, dport=dport, flags="S")))
    return out


def pcap_write(path, frs):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frs):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr),
                                len(fr)))
            f.write(fr)


class Conn:
    """One connection to cordond's control socket (4-byte length + JSON)."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("cordond closed the connection")
            buf += chunk
        return buf

    def send(self, cmd, **args):
        body = json.dumps({"v": 1, "cmd": cmd, "args": args}).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)

    def recv(self):
        n = struct.unpack(">I", self._read(4))[0]
        return json.loads(self._read(n))

    def req(self, cmd, **args):
        self.send(cmd, **args)
        return self.recv()

    def ok(self, cmd, **args):
        r = self.req(cmd, **args)
        if not r.get("ok"):
            raise AssertionError("%s %s: %s" % (cmd, args, r))
        return r["data"]

    def close(self):
        self.s.close()


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def wait_for(what, fn, timeout=30.0, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


def cn(c):
    """(packets, denied) of CN in cordond's counters."""
    for row in c["countries"]:
        if row["country"] == "CN":
            return row["packets"], row["denied"]
    return 0, 0


class Rig:
    """cordond (own folder, sockets, state) whose cordon-dp sees endless
    US/CN/RU traffic.  stop() ends cordond, then the cordon-dp it ran."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cordon-commit-")
        os.chmod(self.dir, 0o755)
        os.makedirs(self.dir + "/run", mode=0o755)
        self.pcap = self.dir + "/in.pcap"
        pcap_write(self.pcap, frames())
        self.conf = self.dir + "/cordon.conf"
        self.stats_file = self.dir + "/stats.json"
        with open(self.conf, "w") as f:
            f.write(CONF % {"geodb": GEODB, "dir": self.dir, "dp": CORDON_DP,
                            "pcap": self.pcap})
        self.sock = self.dir + "/run/cordon.sock"
        self.proc = None
        self.dp_pid = 0
        self.conn = None
        self.log = open(self.dir + "/cordond.log", "ab")

    def start(self):
        self.proc = subprocess.Popen(
            [CORDOND, "-f", self.conf], stdout=self.log,
            stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("cordond exited: " + self.logtext())
            try:
                c = Conn(self.sock)
            except OSError:
                return None
            try:
                dp = c.ok("status")["dataplane"]
            finally:
                c.close()
            if dp["pid"]:
                self.dp_pid = dp["pid"]
            return dp if dp["state"] == "up" and dp["in_sync"] else None
        wait_for("cordon-dp up and in sync", up, timeout=60)
        self.conn = Conn(self.sock)
        # Traffic is flowing before anything is measured.
        wait_for("traffic", lambda: self.counters()["packets"] > 0)
        return self

    def logtext(self):
        with open(self.dir + "/cordond.log", errors="replace") as f:
            return f.read()[-4000:]

    def ok(self, cmd, **args):
        return self.conn.ok(cmd, **args)

    def counters(self):
        return self.ok("counters")

    def stop(self):
        """Stops cordond, then its cordon-dp with SIGINT (so its final
        counters, taken after the workers stopped, land in the stats
        file).  Returns that file's JSON, or None."""
        if self.conn:
            self.conn.close()
            self.conn = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        final = None
        if self.dp_pid and pid_alive(self.dp_pid):
            os.kill(self.dp_pid, signal.SIGINT)
            end = time.monotonic() + 15
            while pid_alive(self.dp_pid) and time.monotonic() < end:
                time.sleep(0.02)
            if pid_alive(self.dp_pid):
                os.kill(self.dp_pid, signal.SIGKILL)
                wait_for("cordon-dp to die",
                         lambda: not pid_alive(self.dp_pid), timeout=10)
            else:
                try:
                    with open(self.stats_file) as f:
                        final = json.load(f)
                except (OSError, ValueError):
                    final = None
        self.log.close()
        return final

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------------------

@pytest.fixture
def rig():
    for p in (CORDOND, CORDON_DP):
        if not os.access(p, os.X_OK):
            pytest.fail("no %s (build it, or set CORDOND / CORDON_DP)" % p)
    if not os.path.exists(GEODB):
        pytest.fail("real geo database missing: %s" % GEODB)
    r = Rig()
    try:
        r.start()
        yield r
    finally:
        r.stop()
        r.cleanup()


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
        data = rig.ok("rollback", revision=to)
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
