"""The nftables backend end to end: cordond (backend = "nftables") in the
router namespace of tests/nft/topo.sh enforces tests/nft/nft.conf through
the kernel; real TCP from client addresses of several countries.

    BUILD            build folder (default build)
    CORDON_FIXTURES  test databases (default $BUILD/fixtures)
    NFT_GOLDEN_UPDATE=1  rewrite tests/nft/golden/ instead of comparing
"""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

import cordonrig
from cordonrig import wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
FIXTURES = os.environ.get("CORDON_FIXTURES", os.path.join(BUILD, "fixtures"))
GOLDEN = os.path.join(HERE, "golden")
PY = "/usr/bin/python3"
SRV4, SRV6 = "10.20.0.2", "fd00:20::2"
US4, CN4, RU4, UNK4 = "192.0.2.10", "198.51.100.10", "203.0.113.10", \
    "203.0.113.200"
US6, CN6 = "2001:db8:f::10", "2001:db8:1::10"

CONTROL = """
control: {
    socket = "%(dir)s/run/cordon.sock";
    ro_socket = "%(dir)s/run/cordon-ro.sock";
    socket_group = "nogroup";
    state_dir = "%(dir)s/state";
    dp_socket = "%(dir)s/run/dp.sock";
    geo_max_age = 0;
%(extra)s};
"""


def sh(cmd, check=True):
    return subprocess.run(["bash", "-c", cmd], check=check, text=True,
                          capture_output=True)


def topo(fn):
    return sh("source %s/topo.sh && %s" % (HERE, fn))


def connect(src, dst, port, timeout=2.0, ipopts=None):
    """What a client at SRC gets from DST:PORT: the banner, "timeout",
    "refused", "error: ...".  IPOPTS: IPv4 option bytes to send."""
    extra = [ipopts.hex()] if ipopts else []
    r = subprocess.run(["ip", "netns", "exec", "cnft-cli", PY,
                        os.path.join(ROOT, "tests/lib/tcpconnect.py"), src,
                        dst, str(port), str(timeout)] + extra,
                       capture_output=True, text=True, timeout=timeout + 10)
    return r.stdout.strip()


def nft_json():
    r = subprocess.run(["ip", "netns", "exec", "cnft-rtr", "nft", "-j",
                        "list", "table", "inet", "cordon"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def normalize(doc):
    """The table without what changes from run to run: handles, counter
    values, metainfo, the order of the sets."""
    out = []
    for item in doc["nftables"]:
        if "metainfo" in item:
            continue
        out.append(json.loads(json.dumps(item), object_hook=_strip))
    return order(out)


def order(items):
    """Sets by name: a listing gives them in the order they were made,
    which a delta (docs/nftables.md) changes; chains and rules as they
    are."""
    rank = {"table": 0, "set": 1, "chain": 2, "rule": 3}
    return sorted(items, key=lambda i: (
        rank.get(next(iter(i)), 9),
        i["set"]["name"] if "set" in i else ""))


def _strip(o):
    o.pop("handle", None)
    if "counter" in o and isinstance(o["counter"], dict):
        o["counter"] = {"packets": 0, "bytes": 0}
    return o


class Rig:
    """cordond in the router namespace with TEXT (default nft.conf) and
    a control group of its own under $BUILD/test-logs/NAME."""

    def __init__(self, text=None, name="nft-rig", extra=""):
        # Kept after the run (the log), replaced by the next one.
        self.dir = os.path.join(BUILD, "test-logs", name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.join(self.dir, "run"))
        if text is None:
            with open(os.path.join(HERE, "nft.conf")) as f:
                text = f.read()
        text = text.replace("@FIXTURES@", FIXTURES)
        self.conf = os.path.join(self.dir, "cordon.conf")
        with open(self.conf, "w") as f:
            f.write(text + CONTROL % {"dir": self.dir, "extra": extra})
        self.sock = os.path.join(self.dir, "run/cordon.sock")
        self.log = open(os.path.join(self.dir, "cordond.log"), "w")
        self.spawn()

    def spawn(self):
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", "cnft-rtr",
             os.path.join(BUILD, "cordond"), "-f", self.conf, "-d",
             "--test-timers"], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for("cordond's socket", lambda: os.path.exists(self.sock), 30)
        wait_for("the table", lambda: self.up(), 30)

    def up(self):
        try:
            return self.status()["dataplane"]["state"] == "up"
        except OSError:
            return False

    def restart(self):
        """cordond stops and starts again; the kernel's table stays."""
        self.p.terminate()
        self.p.wait(10)
        self.spawn()

    def status(self):
        return self.ok("status")

    def ok(self, cmd, **kw):
        c = cordonrig.Conn(self.sock)
        try:
            return c.ok(cmd, **kw)
        finally:
            c.close()

    def ctl(self, *args):
        return subprocess.run([os.path.join(BUILD, "cordonctl"), "-s",
                               self.sock] + list(args), capture_output=True,
                              text=True, timeout=60)

    def stop(self):
        self.p.terminate()
        self.p.wait(10)
        self.log.close()

    def logtext(self):
        with open(os.path.join(self.dir, "cordond.log")) as f:
            return f.read()


# Log events go to a UDP listener in the router namespace, unaggregated.
LOGGING = """    logging = { window = 0; targets = ( { type = "udp";
        address = "127.0.0.1"; port = 5514; } ); };
"""
LISTENER = """import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5514))
f = open(sys.argv[1], "ab", 0)
while True:
    f.write(s.recv(65535) + b"\\n")
"""


@pytest.fixture(scope="module")
def rig():
    for b in ("cordond", "cordonctl"):
        if not os.access(os.path.join(BUILD, b), os.X_OK):
            pytest.fail("no %s in %s" % (b, BUILD))
    if not os.path.exists(os.path.join(FIXTURES, "flat.mmdb")):
        pytest.fail("no test databases in %s" % FIXTURES)
    r = topo("nft_topo_up && nft_servers %s" % ROOT)
    assert r.returncode == 0, r.stderr
    wait_for("the servers", lambda: connect(US4, SRV4, 8080) == "server",
             20, 0.2)
    syslog = os.path.join(BUILD, "test-logs", "nft-syslog.txt")
    if os.path.exists(syslog):
        os.unlink(syslog)
    subprocess.Popen(["ip", "netns", "exec", "cnft-rtr", PY, "-c", LISTENER,
                      syslog])
    rg = Rig(extra=LOGGING)
    rg.syslog = syslog
    yield rg
    rg.stop()
    topo("nft_topo_down")


def test_allowed_v4_and_v6(rig):
    assert connect(US4, SRV4, 22) == "server"
    assert connect(RU4, SRV4, 8080) == "server"
    assert connect(US6, SRV6, 22) == "server"


def test_dropped(rig):
    assert connect(CN4, SRV4, 443) == "timeout"
    assert connect(RU4, SRV4, 3389) == "timeout"
    assert connect(CN6, SRV6, 443) == "timeout"


def test_source_routed_dropped(rig):
    """Issue 10: an allowed client's connection carrying a loose source
    route (through the server itself) is dropped by the first rules of
    classify and counted under source-route; without it, it passes."""
    lsrr = b"\x01\x83\x07\x04" + socket.inet_aton(SRV4)
    assert connect(US4, SRV4, 8080, 1.0, lsrr) == "timeout"
    assert connect(US4, SRV4, 8080) == "server"
    c = wait_for("counters", lambda: rig.ok("counters"), 5)
    assert c["reasons"]["source-route"] > 0, c["reasons"]


def test_rejected_with_reset(rig):
    assert connect(UNK4, SRV4, 22) == "refused"
    assert connect(UNK4, SRV4, 443) == "refused"


def test_rerouted_to_quarantine(rig):
    assert connect(CN4, SRV4, 22) == "quarantine"
    assert connect(RU4, SRV4, 22) == "quarantine"
    assert connect(CN6, SRV6, 22) == "quarantine"


TEREDO_CN = "2001::39cc:9bf5"   # client 198.51.100.10, inverted


def test_teredo_source_judged_by_its_ipv4_client(rig):
    assert connect(TEREDO_CN, SRV6, 22) == "quarantine"
    assert connect(TEREDO_CN, SRV6, 443) == "timeout"
    assert connect(TEREDO_CN, SRV6, 8080) == "server"


def test_log_events_reach_syslog(rig):
    """A `log = true` rule's packets come back through nfnetlink_log and
    leave as the same RFC 5424 records cordon-dp's events make."""
    assert connect(CN4, SRV4, 3389, 1.0) == "timeout"

    def record():
        if not os.path.exists(rig.syslog):
            return None
        with open(rig.syslog, errors="replace") as f:
            for ln in f:
                if "198.51.100.10" in ln and "mgmt-prohibited-drop" in ln \
                        and "3389" in ln:
                    return ln
        return None
    ln = wait_for("the log record", record, 10, 0.2)
    assert "CN" in ln and "drop" in ln, ln
    assert rig.ok("show", what="logging")["events"] > 0


def test_counters_from_the_kernel(rig):
    c = wait_for("counters", lambda: rig.ok("counters"), 5)
    hits = {r["rule"]: r["hits"] for r in c["rules"]}
    assert hits["ssh-prohibited-quarantine"] >= 3
    assert hits["mgmt-prohibited-drop"] >= 3
    assert hits["mgmt-unknown-reject"] >= 2
    assert hits["(default)"] > 0
    for a in ("allow", "drop", "reject", "reroute"):
        assert c["actions"][a] > 0, (a, c["actions"])
    out = rig.ctl("show", "counters")
    assert out.returncode == 0, out.stderr
    assert "mgmt-prohibited-drop" in out.stdout
    # Prometheus reads the same sums.
    out = rig.ctl("show", "counters", "prometheus")
    assert out.returncode == 0, out.stderr
    assert 'action="reroute"' in out.stdout, out.stdout[:2000]


def test_explain_matches_the_kernel(rig):
    """explain walks the same rules the kernel enforced above."""
    ex = rig.ok("explain", src=CN4, dst=SRV4, proto="tcp", sport=40000,
                dport=22, iface="outside0")
    assert ex["verdict"] == "reroute"
    assert ex["rule"] == "ssh-prohibited-quarantine"
    ex = rig.ok("explain", src=UNK4, dst=SRV4, proto="tcp", sport=40000,
                dport=443, iface="outside0")
    assert ex["verdict"] == "reject"
    ex = rig.ok("explain", src=US4, dst=SRV4, proto="tcp", sport=40000,
                dport=22, iface="outside0")
    assert ex["verdict"] == "allow"


def test_golden_table(rig):
    got = normalize(nft_json())
    path = os.path.join(GOLDEN, "table.json")
    if os.environ.get("NFT_GOLDEN_UPDATE") == "1":
        with open(path, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
            f.write("\n")
    with open(path) as f:
        assert got == order(json.load(f))


RULE_US_8080 = {"src": "US", "ports": ["8080"], "proto": "tcp",
                "direction": "in", "action": "drop"}


def test_refused_batch_keeps_the_ruleset(rig):
    before = normalize(nft_json())
    rev = rig.status()["running_revision"]
    fault = os.path.join(rig.dir, "state", "nft-fault")
    open(fault, "w").close()
    try:
        rig.ok("set", kind="rule", name="us-8080-drop", attrs=RULE_US_8080)
        out = rig.ctl("commit")
        assert out.returncode != 0
        msg = out.stdout + out.stderr
        assert "nftables refused" in msg and "set ports_all" in msg, msg
    finally:
        os.unlink(fault)
    assert rig.status()["running_revision"] == rev
    assert normalize(nft_json()) == before
    assert connect(US4, SRV4, 8080) == "server"
    # The same candidate goes in once the kernel takes it.
    rig.ok("commit")
    assert rig.status()["running_revision"] == rev + 1
    assert connect(US4, SRV4, 8080) == "timeout"
    assert connect(US4, SRV4, 22) == "server"
    rig.ok("rollback", revision=rev, commit=True)
    assert connect(US4, SRV4, 8080) == "server"


def test_counters_survive_commits(rig):
    """A commit replaces the table (and its counters): cordond carries
    the old counts, so every figure stays monotonic."""
    before = rig.ok("counters")
    assert connect(CN4, SRV4, 443) == "timeout"
    rig.ok("set", kind="rule", name="us-8443-drop",
           attrs={"src": "US", "ports": ["8443"], "proto": "tcp",
                  "direction": "in", "action": "drop"})
    rig.ok("commit")
    after = rig.ok("counters")
    assert after["packets"] >= before["packets"]
    for a in ("allow", "drop", "reject", "reroute"):
        assert after["actions"][a] >= before["actions"][a], a
    hb = {r["rule"]: r["hits"] for r in before["rules"]}
    ha = {r["rule"]: r["hits"] for r in after["rules"]}
    assert ha["mgmt-prohibited-drop"] > hb["mgmt-prohibited-drop"]
    rig.ok("delete", kind="rule", name="us-8443-drop")
    rig.ok("commit")


def test_insert_keeps_rule_history(rig):
    """Backend nftables: a rule inserted at position 2 starts at zero and
    the rule that stood there keeps its hits and id."""
    assert connect(CN4, SRV4, 3389, 1.0) == "timeout"
    before = {r["rule"]: r for r in rig.ok("counters")["rules"]}
    assert before["mgmt-prohibited-drop"]["position"] == 2
    assert before["mgmt-prohibited-drop"]["hits"] > 0
    rig.ok("set", kind="rule", name="us-9999-drop",
           attrs={"src": "US", "ports": ["9999"], "proto": "tcp",
                  "direction": "in", "action": "drop", "position": 2})
    rig.ok("commit")
    after = {r["rule"]: r for r in rig.ok("counters")["rules"]}
    assert after["us-9999-drop"]["position"] == 2
    assert after["us-9999-drop"]["hits"] == 0
    old = after["mgmt-prohibited-drop"]
    assert old["position"] == 3
    assert old["id"] == before["mgmt-prohibited-drop"]["id"]
    assert old["hits"] >= before["mgmt-prohibited-drop"]["hits"]
    rig.ok("delete", kind="rule", name="us-9999-drop")
    rig.ok("commit")


def test_cordond_restart_keeps_rule_counters(rig):
    """Backend nftables: cordond restarts while the kernel's table keeps
    counting: every rule keeps its id and its hits (counters.json),
    neither lost (they read 0 before) nor counted twice."""
    assert connect(CN4, SRV4, 3389, 1.0) == "timeout"
    before = {r["rule"]: r for r in rig.ok("counters")["rules"]}
    assert before["mgmt-prohibited-drop"]["hits"] > 0
    rig.restart()
    after = {r["rule"]: r for r in rig.ok("counters")["rules"]}
    assert sorted(after) == sorted(before)
    for name, b in before.items():
        a = after[name]
        assert a["id"] == b["id"], name
        assert b["hits"] <= a["hits"] <= b["hits"] + 3, (name, b, a)


def test_restart_replaces_whole_then_deltas(rig):
    """A restarted cordond does not know what the kernel holds: it
    replaces the whole table, and only then changes it by deltas."""
    rig.restart()
    rev = rig.status()["running_revision"]
    log = rig.logtext()
    last = log[log.rindex("nftables: revision %d installed" % rev):]
    assert last.startswith("nftables: revision %d installed (whole table)"
                           % rev), last[:200]
    rig.ok("set", kind="rule", name="us-8444-drop",
           attrs={"src": "US", "ports": ["8444"], "proto": "tcp",
                  "direction": "in", "action": "drop"})
    rig.ok("commit")
    line = "nftables: revision %d installed (delta)" % (rev + 1)
    wait_for("the delta's log line", lambda: line in rig.logtext(), 5)
    assert connect(US4, SRV4, 8444, 1.0) == "timeout"
    assert connect(CN4, SRV4, 22) == "quarantine"
    rig.ok("delete", kind="rule", name="us-8444-drop")
    rig.ok("commit")


def test_geo_reload_is_one_batch(rig):
    before = normalize(nft_json())
    rev = rig.status()["running_revision"]
    line = "nftables: revision %d installed" % rev
    n = rig.logtext().count(line)
    rig.ok("geo-reload")
    assert rig.status()["running_revision"] == rev
    # Rebuilt tables went in as one more batch, to the same table.
    wait_for("the batch's log line",
             lambda: rig.logtext().count(line) == n + 1, 5)
    assert normalize(nft_json()) == before
    assert connect(CN4, SRV4, 22) == "quarantine"
    assert connect(US4, SRV4, 22) == "server"


def test_deleted_table_is_reinstalled(rig):
    """Someone flushes the ruleset: cordond notices within seconds and
    puts the running revision back."""
    before = normalize(nft_json())
    r = subprocess.run(["ip", "netns", "exec", "cnft-rtr", "nft", "delete",
                        "table", "inet", "cordon"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr

    def back():
        r = subprocess.run(["ip", "netns", "exec", "cnft-rtr", "nft", "-j",
                            "list", "table", "inet", "cordon"],
                           capture_output=True, text=True)
        return r.returncode == 0 and normalize(json.loads(r.stdout)) == \
            before
    wait_for("the table to come back", back, 15, 0.2)
    assert connect(CN4, SRV4, 443) == "timeout"
    assert "is gone: reinstalling" in rig.logtext()
    # An event alarm (issue 14): it stays until an admin clears it.
    alarms = {a["name"]: a for a in rig.ok("alarm-list")["alarms"]}
    assert alarms["dataplane-restarted"]["kind"] == "event", alarms
    assert rig.ok("alarm-clear", name="dataplane-restarted")["cleared"]
    assert "dataplane-restarted" not in [
        a["name"] for a in rig.ok("alarm-list")["alarms"]]
