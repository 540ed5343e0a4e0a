"""cordond over its JSON protocol (docs/control.md sections 2-5).

Each test runs its own cordond with a temporary state folder and
sockets; the dataplane is the real cordon-dp on net_null ports with the
real geolocation database.  The client here speaks the framing directly
(4-byte big-endian length + JSON): these tests do not depend on
cordonctl.  Tests that need a live dataplane are skipped only when
`cordon-dp --help` does not list --control.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_daemon.py).
"""
import functools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDOND, GEODB, control_conf,
                       dataplane_conf, geo_conf, pid_alive)

NOBODY = 65534

Conn = functools.partial(cordonrig.Conn, timeout=20)
wait_for = functools.partial(cordonrig.wait_for, step=0.1, fail=pytest.fail)


def dp_has_control():
    try:
        out = subprocess.run([CORDON_DP, "--help"], capture_output=True,
                             text=True, timeout=10).stdout
    except OSError:
        return False
    return "--control" in out


DP = dp_has_control()
needs_dp = pytest.mark.skipif(not DP, reason="cordon-dp has no --control "
                              "yet")

CONF = geo_conf((("198.51.100.0/24", "CN"), ("192.0.2.0/24", "US"))) + """\
regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = [ "ssh" ];
      direction = "in"; action = "drop"; log = true; }
);
default = { action = "allow"; };
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1", mbufs=4096, quiet=False) + \
    control_conf()

RULE_RDP = {"src": "prohibited", "ports": ["3389"], "proto": "tcp",
            "action": "reject"}


class Daemon(cordonrig.Cordond):
    """cordond with its own folder; stop() kills it and every cordon-dp
    it ran."""

    fail = staticmethod(pytest.fail)
    conn_timeout = 20

    def __init__(self, dp=True):
        super().__init__(prefix="cordond-")
        self.write_conf(CONF, dp=CORDON_DP if dp else "/bin/false")

    def start(self, wait_dp=True):
        self.spawn("-d", "--test-timers")
        wait_for("control socket", self.answers, timeout=20)
        if wait_dp:
            self.wait_dp_up()
        return self

    def ok(self, cmd, **args):
        r = self.req(cmd, **args)
        assert r["ok"], r
        assert r["data"]["schema"] == 1
        return r["data"]

    def status(self):
        return self.ok("status")

    def wait_dp_up(self, timeout=40):
        return super().wait_dp_up(timeout)

    def stop(self):
        super().stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def binaries():
    cordonrig.need_binaries(CORDOND, hint="CORDOND")


@pytest.fixture
def cd(binaries):
    """A running cordond whose cordon-dp is up."""
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    d = Daemon().start()
    yield d
    d.stop()


@pytest.fixture
def cd_nodp(binaries):
    """cordond whose dataplane cannot start: control-only behaviour."""
    d = Daemon(dp=False).start(wait_dp=False)
    yield d
    d.stop()


def as_nobody(path, requests):
    """Runs REQUESTS [(cmd, args)] as uid/gid 65534 in a forked child
    and returns the replies."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([NOBODY])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            c = Conn(path)
            out = [c.req(cmd, **args) for cmd, args in requests]
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


# -n ----------------------------------------------------------------------

def test_check_mode(binaries, tmp_path):
    d = Daemon(dp=False)
    try:
        r = subprocess.run([CORDOND, "-n", "-f", d.conf],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert "configuration OK" in r.stdout
        assert "state_dir %s/state" % d.dir in r.stdout
        bad = tmp_path / "bad.conf"
        bad.write_text('control: { state_dir = "relative"; };\n')
        r = subprocess.run([CORDOND, "-n", "-f", str(bad)],
                           capture_output=True, text=True)
        assert r.returncode == 2
        assert re.search(r"bad\.conf:1: control\.state_dir must be an "
                         r"absolute path", r.stderr), r.stderr
    finally:
        d.stop()


# Without a dataplane --------------------------------------------------------

def test_status_show_without_dataplane(cd_nodp):
    st = cd_nodp.status()
    assert st["running_revision"] == 1
    assert st["dataplane"]["state"] in ("down", "starting")
    assert st["geo"]["stale"] is False        # geo_max_age = 0: off
    rules = cd_nodp.ok("show", what="rules")["rules"]
    assert [r["name"] for r in rules] == ["ssh-prohibited", "(default)"]
    assert cd_nodp.req("counters")["error"]["code"] == "dataplane"


def test_bad_candidate_refused(cd_nodp):
    d = cd_nodp
    before = d.ok("show", what="config")["text"]
    d.ok("set", kind="rule", name="bad",
         attrs={"src": "nowhere", "action": "drop"})
    r = d.req("commit")
    assert not r["ok"]
    assert r["error"]["code"] == "invalid"
    assert re.match(r'candidate:\d+: rule "bad": unknown region or country '
                    r'"nowhere"$', r["error"]["message"]), r
    assert d.status()["running_revision"] == 1
    assert d.ok("show", what="config")["text"] == before
    recs = d.ok("show", what="audit")["records"]
    assert recs[-1]["cmd"] == "commit"
    assert recs[-1]["result"].startswith("refused: invalid: candidate:")


def test_commit_check_only(cd_nodp):
    d = cd_nodp
    d.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    data = d.ok("commit", check=True)
    assert data["valid"] is True and data["geo_rebuilt"] is False
    assert d.status()["running_revision"] == 1
    assert d.ok("show", what="candidate")["exists"] is True
    # Without cordon-dp a real commit is refused: nothing changes.
    r = d.req("commit")
    assert r["error"]["code"] == "dataplane"
    assert d.status()["running_revision"] == 1


def test_audit_verify_then_tampered(cd_nodp):
    d = cd_nodp
    d.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    d.ok("delete", kind="rule", name="rdp")
    v = d.ok("audit-verify")
    assert v["intact"] is True and v["checked"] == 2
    audit_edit(d, lambda ls: audit_uid_changed(ls, 0))
    v = d.ok("audit-verify", sock=d.ro)
    assert v["intact"] is False and v["first_bad"] == 1


def audit_edit(d, change):
    """Rewrites D's audit log with CHANGE(lines) -> lines."""
    path = d.dir + "/state/audit.log"
    with open(path) as f:
        lines = change(f.read().splitlines())
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def audit_uid_changed(lines, i):
    lines[i] = lines[i].replace('"uid":0', '"uid":1', 1)
    assert '"uid":1' in lines[i]
    return lines


def audit_cli(d):
    """cordonctl audit verify against D: (exit status, JSON data)."""
    r = subprocess.run([cordonrig.CORDONCTL, "-s", d.sock, "-J", "audit",
                        "verify"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, json.loads(r.stdout)


def audit_records(d, n):
    for i in range(n):
        d.ok("set", kind="rule", name="audit%d" % i, attrs=RULE_RDP)


def test_audit_verify_exit_status(cd_nodp):
    """A clean log exits 0; one uid changed in record 3 exits 8 and names
    record 3 (it exited 0 before)."""
    d = cd_nodp
    audit_records(d, 5)
    rc, v = audit_cli(d)
    assert rc == 0 and v["intact"] is True and v["checked"] == 5, v
    audit_edit(d, lambda ls: audit_uid_changed(ls, 2))
    rc, v = audit_cli(d)
    assert rc == 8 and v["intact"] is False and v["first_bad"] == 3, v


def test_audit_truncated_tail_detected(cd_nodp):
    """The last three records deleted: not intact (it said intact before),
    the first missing one named, and no change is audited over the gap."""
    d = cd_nodp
    audit_records(d, 6)
    audit_edit(d, lambda ls: ls[:3])
    rc, v = audit_cli(d)
    assert rc == 8 and v["intact"] is False and v["first_bad"] == 4, v
    assert "records 4..6 missing" in v["message"], v
    r = d.req("set", kind="rule", name="after", attrs=RULE_RDP)
    assert not r["ok"] and r["error"]["code"] == "internal", r
    assert len(audit_edit(d, lambda ls: ls)) == 3
    # The head is in the state folder, beside the log.
    with open(d.dir + "/state/audit.head") as f:
        assert json.load(f)["seq"] == 6


def test_ro_socket_refuses_changes(cd_nodp):
    d = cd_nodp
    r = d.req("set", sock=d.ro, kind="rule", name="x",
              attrs={"action": "drop"})
    assert r["error"]["code"] == "denied"
    for cmd in ("commit", "rollback", "confirm", "geo-reload", "delete"):
        assert d.req(cmd, sock=d.ro)["error"]["code"] == "denied"
    assert d.req("status", sock=d.ro)["ok"]
    assert d.req("show", sock=d.ro, what="rules")["ok"]
    assert d.req("lookup", sock=d.ro, addr="198.51.100.1")["ok"]
    assert oct(os.stat(d.ro).st_mode & 0o777) == "0o666"
    assert oct(os.stat(d.sock).st_mode & 0o777) == "0o660"


def test_malformed_requests(cd_nodp):
    d = cd_nodp
    other = Conn(d.sock)
    # Invalid JSON: an error, then the connection is closed.
    c = Conn(d.sock)
    c.send_raw(struct.pack(">I", 5) + b"{nope")
    r = c.recv()
    assert r["error"]["code"] == "bad-request" and c.closed()
    # Duplicate keys are refused too.
    c = Conn(d.sock)
    body = b'{"v":1,"cmd":"status","cmd":"set"}'
    c.send_raw(struct.pack(">I", len(body)) + body)
    assert c.recv()["error"]["code"] == "bad-request" and c.closed()
    # Longer than 1 MiB: refused on the length alone.
    c = Conn(d.sock)
    c.send_raw(struct.pack(">I", (1 << 20) + 1) + b"{")
    r = c.recv()
    assert "1 MiB" in r["error"]["message"] and c.closed()
    # Unknown command, bad version: answered, connection kept.
    c = Conn(d.sock)
    assert c.req("frobnicate")["error"]["code"] == "unknown-command"
    assert c.req("status")["ok"]
    c.close()
    # A partial request: others are served meanwhile; it times out.
    slow = Conn(d.sock)
    slow.send_raw(struct.pack(">I", 100) + b'{"v":1')
    t0 = time.time()
    assert other.req("status")["ok"]
    assert time.time() - t0 < 1.0
    r = slow.recv()
    assert r["error"]["code"] == "bad-request"
    assert "5 s" in r["error"]["message"]
    assert 3.5 < time.time() - t0 < 8
    assert slow.closed()
    assert d.req("status")["ok"]
    other.close()


def test_ro_socket_cannot_lock_admins_out(cd_nodp):
    """Regression (review): any local user could fill every client slot
    through the world-writable read-only socket.  Now a uid gets a few
    read-only connections, and slots stay reserved for the control
    socket; pipelined requests are served one at a time."""
    d = cd_nodp
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([NOBODY])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            conns, served = [], 0
            body = json.dumps({"v": 1, "cmd": "status"}).encode()
            for _ in range(70):
                try:
                    c = Conn(d.ro, timeout=2)
                    c.send_raw((struct.pack(">I", len(body)) + body) * 50)
                    conns.append(c)
                except OSError:
                    pass        # refused: closed by the daemon
            for c in conns:
                try:
                    served += c.recv() is not None
                except OSError:
                    pass
            os.write(w, b"%d\n" % served)
            time.sleep(3)       # hold the connections while root works
        finally:
            os._exit(0)
    os.close(w)
    served = int(os.read(r, 64).split()[0])
    try:
        assert 1 <= served <= 8, served
        t0 = time.time()
        for _ in range(5):
            assert d.req("status")["ok"]
        assert time.time() - t0 < 2
    finally:
        os.waitpid(pid, 0)
        os.close(r)


def test_stuck_reader_does_not_block(cd_nodp):
    d = cd_nodp
    stuck = Conn(d.sock)
    stuck.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    body = json.dumps({"v": 1, "cmd": "show",
                       "args": {"what": "config"}}).encode()
    # Many requests, no reading.  The daemon serves one request at a time
    # per client, so the stuck client meets back-pressure on its own
    # socket while everyone else is served.
    stuck.s.settimeout(0.5)
    try:
        for _ in range(200):
            stuck.send_raw(struct.pack(">I", len(body)) + body)
    except socket.timeout:
        pass
    t0 = time.time()
    for _ in range(5):
        assert d.req("status")["ok"]
    assert time.time() - t0 < 2
    stuck.close()


# With cordon-dp ---------------------------------------------------------------

@needs_dp
def test_status_and_counters(cd):
    st = cd.status()
    dp = st["dataplane"]
    assert dp["state"] == "up" and dp["revision"] == 1 and dp["in_sync"]
    assert dp["ports"] == "outside0 inside0" and dp["restarts"] == 0
    c = cd.ok("counters")
    assert [r["rule"] for r in c["rules"]] == ["ssh-prohibited", "(default)"]
    assert c["ports"][0]["port"] == "outside0"
    assert wait_for("packets", lambda: cd.ok("counters")["packets"] > 0)


def _caps(pid):
    """(bounding set, effective set, no_new_privs) of PID."""
    f = {}
    with open("/proc/%d/status" % pid) as st:
        for line in st:
            k, _, v = line.partition(":")
            f[k] = v.strip()
    return int(f["CapBnd"], 16), int(f["CapEff"], 16), f["NoNewPrivs"]


@needs_dp
def test_privileges_dropped(cd):
    """cordond keeps root but not the capabilities it and cordon-dp never
    use, and cordon-dp inherits the reduced bounding set."""
    CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_SYS_TIME, CAP_NET_RAW = 16, 22, 25, 13
    gone = (1 << CAP_SYS_MODULE) | (1 << CAP_SYS_BOOT) | (1 << CAP_SYS_TIME)
    bnd, eff, nnp = _caps(cd.proc.pid)
    assert bnd & gone == 0 and eff & gone == 0 and nnp == "1"
    assert eff & (1 << CAP_NET_RAW)
    bnd, eff, _ = _caps(cd.status()["dataplane"]["pid"])
    assert bnd & gone == 0 and eff & gone == 0


@needs_dp
def test_show_everything(cd):
    for what in ("rules", "regions", "services", "ports", "nexthops",
                 "revisions", "audit"):
        data = cd.ok("show", what=what)
        key = "records" if what == "audit" else what
        assert isinstance(data[key], list)
    region = cd.ok("show", what="regions")["regions"][0]
    assert region["name"] == "prohibited" and region["countries"] == "CN RU"
    geo = cd.ok("show", what="geo")
    assert geo["layers"][0]["field"] == "country_code"
    assert geo["overrides"][0] == {"prefix": "198.51.100.0/24",
                                   "country": "CN"}
    assert "ssh-prohibited" in cd.ok("show", what="config")["text"]
    assert cd.ok("show", what="candidate")["exists"] is False
    assert cd.req("show", what="bogus")["error"]["code"] == "bad-request"
    lk = cd.ok("lookup", addr="198.51.100.7")
    assert lk["override"]["country"] == "CN" and lk["final"] == "CN"
    assert lk["layers"][0]["found"] is True


@needs_dp
def test_set_compare_commit_explain(cd):
    data = cd.ok("set", kind="rule", name="rdp-block", attrs=RULE_RDP)
    assert "+    name = \"rdp-block\";" in data["diff"]
    assert data["base"] == 1
    assert "rdp-block" in cd.ok("compare")["diff"]
    data = cd.ok("commit", comment="block rdp")
    assert data["revision"] == 2 and data["previous"] == 1
    revs = cd.ok("show", what="revisions")["revisions"]
    assert revs[0]["revision"] == 2 and revs[0]["running"]
    assert revs[0]["comment"] == "block rdp" and revs[0]["uid"] == 0
    dp = cd.wait_dp_up()
    assert dp["revision"] == 2
    assert cd.req("compare")["error"]["code"] == "no-candidate"
    ex = cd.ok("explain", src="198.51.100.7", dst="192.0.2.1", proto="tcp",
               sport=40000, dport=3389, iface="outside0")
    assert ex["verdict"] == "reject" and ex["rule"] == "rdp-block"
    steps = {s["step"]: s for s in ex["steps"]}
    assert steps["source country"]["result"] == "CN"
    assert steps["rule 1 ssh-prohibited"]["result"] == "no match"
    assert steps["rule 2 rdp-block"]["result"] == "match"
    ex = cd.ok("explain", src="192.0.2.1", dst="198.51.100.7", proto="tcp",
               sport=40000, dport=22, iface="outside0")
    assert ex["verdict"] == "allow" and ex["rule"] == "(default)"
    rec = cd.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "commit" and rec["revision"] == 2
    assert rec["result"] == "ok" and "rdp-block" in rec["diff"]


@needs_dp
def test_explain_layered_packet(cd):
    """explain ... via KIND:ADDR: the packet inside tunnels, each layer's
    country shown, judged by the classifier's origin/via sets."""
    cd.ok("set", kind="rule", name="ssh-via-cn",
          attrs={"via": "CN", "services": "ssh", "direction": "in",
                 "action": "reject"})
    cd.ok("commit", comment="via")
    ex = cd.ok("explain", src="198.51.100.7", dst="192.0.2.1", proto="tcp",
               sport=40000, dport=22, iface="outside0",
               via=["gre:192.0.2.33"])
    steps = {s["step"]: s for s in ex["steps"]}
    assert steps["source country"]["result"] == "US"
    assert steps["source country"]["detail"] == "192.0.2.33"
    assert steps["origin country"]["result"] == "CN"
    assert steps["origin country"]["detail"] == "198.51.100.7 via gre"
    assert steps["rule 1 ssh-prohibited"]["result"] == "no match"
    # Denied inside a tunnel: dropped, never rejected.
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-via-cn"
    ex = cd.ok("explain", src="192.0.2.9", dst="192.0.2.1", proto="tcp",
               sport=40000, dport=22, iface="outside0",
               via=["vxlan:192.0.2.33", "ipip:192.0.2.34"])
    steps = {s["step"]: s for s in ex["steps"]}
    assert steps["relay country"]["detail"] == "192.0.2.34 via vxlan"
    assert ex["verdict"] == "allow"
    err = cd.req("explain", src="192.0.2.9", dst="192.0.2.1", proto="tcp",
                 dport=22, via=["warp:192.0.2.33"])
    assert err["error"]["code"] == "bad-request"
    # A fragment of a tunnelled packet: dropped as the parser drops it,
    # whatever the allowed inside (the table tracks outer datagrams).
    for frag in ("first", "later"):
        ex = cd.ok("explain", src="192.0.2.9", dst="192.0.2.1",
                   proto="tcp", sport=40000, dport=22, iface="outside0",
                   via=["ipip:192.0.2.33"], fragment=frag)
        steps = {s["step"]: s for s in ex["steps"]}
        assert ex["verdict"] == "drop"
        assert "tun-fragment" in steps["fragment"]["detail"]
        assert "tun-fragment" in steps["verdict"]["detail"]


@needs_dp
def test_explain_layered_dst_via(cd):
    """explain ... via KIND:ADDR inner_dst ADDR: the relay is sent to
    dst, the tunnelled packet to inner_dst; a dst_via rule takes any
    layer's destination, each shown, the set that missed named."""
    cd.ok("set", kind="rule", name="ssh-to-cn",
          attrs={"dst_via": "CN", "services": "ssh", "direction": "out",
                 "action": "drop"})
    cd.ok("commit", comment="dst_via")
    # ssh to China inside GRE to a US relay: the inner destination.
    ex = cd.ok("explain", src="192.0.2.9", dst="192.0.2.33", proto="tcp",
               sport=40000, dport=22, iface="out",
               via=["gre:192.0.2.8"], inner_dst="198.51.100.7")
    steps = {s["step"]: s for s in ex["steps"]}
    assert steps["destination country"]["result"] == "US"
    assert steps["origin destination country"]["result"] == "CN"
    assert steps["origin destination country"]["detail"].startswith(
        "198.51.100.7")
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-to-cn", ex
    # ssh to the US inside GRE to a Chinese relay: the outer one.
    ex = cd.ok("explain", src="192.0.2.9", dst="198.51.100.7",
               proto="tcp", sport=40000, dport=22, iface="out",
               via=["gre:192.0.2.8"], inner_dst="192.0.2.33")
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-to-cn", ex
    # Nowhere Chinese: the rule misses on dst_via.
    ex = cd.ok("explain", src="192.0.2.9", dst="192.0.2.33", proto="tcp",
               sport=40000, dport=22, iface="out",
               via=["gre:192.0.2.8"], inner_dst="192.0.2.34")
    steps = {s["step"]: s for s in ex["steps"]}
    assert ex["verdict"] == "allow", ex
    miss = [v["detail"] for k, v in steps.items() if "ssh-to-cn" in k]
    assert miss and "dst_via" in miss[0], steps
    # Untunnelled: dst_via is dst.
    ex = cd.ok("explain", src="192.0.2.9", dst="198.51.100.7",
               proto="tcp", sport=40000, dport=22, iface="out")
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-to-cn", ex
    for bad in ({"inner_dst": "192.0.2.34"},
                {"via": ["gre:192.0.2.8"], "inner_dst": "2001:db8::1"}):
        err = cd.req("explain", src="192.0.2.9", dst="192.0.2.33",
                     proto="tcp", dport=22, **bad)
        assert err["error"]["code"] == "bad-request", err


@needs_dp
def test_explain_protocol_1_under_ipv6_is_other(cd):
    """Regression (issue 12): protocol 1 with IPv6 addresses is "other"
    to the classifier.  Explain's old rule walk over the config called
    it ICMP, matched an ICMP rule the verdict never used, and warned of
    a mismatch; its steps now come from the classifier's own sets."""
    cd.ok("set", kind="rule", name="icmp-drop",
               attrs={"proto": "icmp", "action": "drop"})
    cd.ok("commit", comment="icmp")
    ex = cd.ok("explain", src="2001:db8::1", dst="2001:db8::2",
                    proto=1, iface="in")
    steps = {s["step"]: s for s in ex["steps"]}
    assert ex["verdict"] == "allow" and ex["rule"] == "(default)"
    assert "warning" not in steps, steps
    assert steps["rule 2 icmp-drop"]["result"] == "no match"
    assert steps["rule 2 icmp-drop"]["detail"].startswith(
        "protocol not in proto;")
    ex = cd.ok("explain", src="2001:db8::1", dst="2001:db8::2",
                    proto="icmp", iface="in")
    steps = {s["step"]: s for s in ex["steps"]}
    assert ex["verdict"] == "drop" and ex["rule"] == "icmp-drop"
    assert steps["rule 2 icmp-drop"]["result"] == "match"


@needs_dp
def test_stale_commit_refused(cd):
    cd.ok("set", kind="rule", name="mine", attrs=RULE_RDP)
    out = as_nobody(cd.sock, [
        ("set", {"kind": "rule", "name": "theirs",
                 "attrs": {"src": "RU", "action": "drop"}}),
        ("commit", {"comment": "by nobody"})])
    assert out[1]["ok"], out
    assert out[1]["data"]["revision"] == 2
    r = cd.req("commit")
    assert r["error"]["code"] == "stale", r
    assert cd.status()["running_revision"] == 2
    rev = cd.ok("show", what="revisions")["revisions"][0]
    assert rev["uid"] == NOBODY
    rec = cd.ok("show", what="audit")["records"][-1]
    assert rec["result"].startswith("refused: stale") and rec["uid"] == 0


@needs_dp
def test_commit_confirmed_reverts(cd):
    orig = cd.ok("show", what="config")["text"]
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    data = cd.ok("commit", confirmed_seconds=2)
    assert data["revision"] == 2 and data["confirm_deadline"] > 0
    assert cd.status()["confirm"]["revision"] == 2
    wait_for("revert", lambda: cd.status()["running_revision"] == 3,
             timeout=15)
    rev = cd.ok("show", what="revisions")["revisions"][0]
    assert rev["kind"] == "revert"
    # No client to answer: stored at once, not by the next request.
    assert not [r for r in cd.ok("show", what="audit")["records"]
                if r["cmd"] == "promote"]
    assert cd.ok("show", what="config")["text"] == orig
    assert cd.status()["confirm"] is None
    assert cd.wait_dp_up()["revision"] == 3
    assert cd.req("confirm")["error"]["code"] == "no-pending-confirm"


@needs_dp
def test_confirm_stops_revert(cd):
    r = cd.req("commit", confirmed_seconds=2)
    assert r["error"]["code"] == "no-candidate"
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    cd.ok("commit", confirmed_seconds=2)
    assert cd.ok("confirm")["revision"] == 2
    time.sleep(3)
    st = cd.status()
    assert st["running_revision"] == 2 and st["confirm"] is None


@needs_dp
def test_rollback(cd):
    v1 = cd.ok("show", what="config")["text"]
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    cd.ok("commit")
    data = cd.ok("rollback", revision=1, commit=True)
    assert data == {"schema": 1, "revision": 3, "previous": 2, "copy_of": 1}
    assert cd.ok("show", what="config")["text"] == v1
    assert cd.wait_dp_up()["revision"] == 3
    assert cd.req("rollback", revision=99)["error"]["code"] == \
        "no-such-revision"
    assert cd.ok("audit-verify")["intact"]


def test_discard(cd_nodp):
    """Issue 14: discard drops the caller's candidate, audited."""
    d = cd_nodp
    r = d.req("discard")
    assert r["error"]["code"] == "no-candidate", r
    d.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    data = d.ok("discard")
    assert data == {"schema": 1, "discarded": 1, "running": 1}
    assert d.ok("show", what="candidate")["exists"] is False
    assert d.req("compare")["error"]["code"] == "no-candidate"
    rec = d.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "discard" and rec["result"] == "ok"
    assert "+" in rec["diff"] and "rdp" in rec["diff"]
    assert d.ok("audit-verify")["intact"]


@needs_dp
def test_stale_candidate_discarded(cd):
    """Issue 14: a candidate made stale by another admin's commit is no
    dead end: discard, and a new candidate commits."""
    cd.ok("set", kind="rule", name="mine", attrs=RULE_RDP)
    out = as_nobody(cd.sock, [
        ("set", {"kind": "rule", "name": "theirs",
                 "attrs": {"src": "RU", "action": "drop"}}),
        ("commit", {})])
    assert out[1]["ok"], out
    r = cd.req("commit")
    assert r["error"]["code"] == "stale" and "discard" in \
        r["error"]["message"], r
    assert cd.ok("discard")["discarded"] == 1
    cd.ok("set", kind="rule", name="mine", attrs=RULE_RDP)
    assert cd.ok("commit")["revision"] == 3
    names = [x["name"] for x in cd.ok("show", what="rules")["rules"]]
    assert "mine" in names and "theirs" in names


@needs_dp
def test_stale_candidate_update(cd):
    """Issue 14: update replays a stale candidate's changes onto the
    running revision; then it commits, with both changes in force."""
    cd.ok("set", kind="rule", name="mine", attrs=RULE_RDP)
    out = as_nobody(cd.sock, [
        ("set", {"kind": "region", "name": "lab",
                 "attrs": {"countries": ["DE"]}}),
        ("commit", {})])
    assert out[1]["ok"], out
    assert cd.req("commit")["error"]["code"] == "stale"
    data = cd.ok("update")
    assert data["rebased_from"] == 1 and data["base"] == 2
    assert data["stale"] is False and "mine" in data["diff"]
    assert "lab" not in data["diff"]
    rec = cd.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "update 1 -> 2" and rec["result"] == "ok"
    # Not stale: nothing to do.
    assert "rebased_from" not in cd.ok("update")
    assert cd.ok("commit")["revision"] == 3
    regions = cd.ok("show", what="regions")["regions"]
    assert "lab" in [x["name"] for x in regions]
    names = [x["name"] for x in cd.ok("show", what="rules")["rules"]]
    assert "mine" in names


@needs_dp
def test_stale_candidate_update_conflict(cd):
    """Issue 14: update refuses a rebase whose changes collide with the
    running revision's, names the lines, and leaves the candidate."""
    cd.ok("set", kind="rule", name="mine", attrs=RULE_RDP)
    before = cd.ok("show", what="candidate")["text"]
    out = as_nobody(cd.sock, [
        ("set", {"kind": "rule", "name": "theirs",
                 "attrs": {"src": "RU", "action": "drop"}}),
        ("commit", {})])
    assert out[1]["ok"], out
    r = cd.req("update")
    assert r["error"]["code"] == "conflict", r
    msg = r["error"]["message"]
    assert "1 conflict: base " in msg and "running " in msg, msg
    assert 'candidate 38-44 "name = "mine";"' in msg, msg
    assert 'running 38-42 "name = "theirs";"' in msg, msg
    assert cd.ok("show", what="candidate")["text"] == before
    rec = cd.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "update 1 -> 2"
    assert rec["result"].startswith("refused: conflict: ")
    assert cd.req("commit")["error"]["code"] == "stale"
    assert cd.ok("discard")["discarded"] == 1


@needs_dp
def test_rollback_into_candidate(cd):
    """Issue 14: rollback N loads revision N into the candidate for
    review; commit confirmed makes it running; the revert undoes it."""
    v1 = cd.ok("show", what="config")["text"]
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    cd.ok("commit")
    v2 = cd.ok("show", what="config")["text"]
    data = cd.ok("rollback", revision=1)
    assert data["copy_of"] == 1 and data["base"] == 2
    assert data["stale"] is False and "-" in data["diff"]
    assert cd.status()["running_revision"] == 2
    assert cd.ok("show", what="candidate")["text"] == v1
    cmp = cd.ok("compare")
    assert cmp["diff"] == data["diff"] and "rdp" in cmp["diff"]
    rec = cd.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "rollback 1 (into the candidate)"
    assert rec["result"] == "ok"
    c = cd.ok("commit", confirmed_seconds=2)
    assert c["revision"] == 3
    assert cd.ok("show", what="config")["text"] == v1
    wait_for("revert", lambda: cd.status()["running_revision"] == 4,
             timeout=15)
    assert cd.ok("show", what="config")["text"] == v2
    assert cd.req("rollback", revision=0)["error"]["message"].startswith(
        "rollback 0: revisions are numbered from 1")
    assert cd.req("rollback", revision=99)["error"]["code"] == \
        "no-such-revision"
    assert cd.ok("audit-verify")["intact"]


@needs_dp
def test_geo_reload(cd):
    data = cd.ok("geo-reload")
    assert data["v4_prefixes"] == data["previous_v4_prefixes"] > 0
    assert cd.wait_dp_up()["state"] == "up"
    assert cd.ok("show", what="audit")["records"][-1]["cmd"] == "geo-reload"


@needs_dp
def test_geo_special_lookup_and_reload(binaries):
    """Issue 10 item 3: over the real database (which says AU and JP),
    special-purpose addresses answer their sub-region and lookup names the
    block; an override inside one still wins; a broad override, which the
    blocks outrank, does not fail geo-reload's canaries."""
    d = Daemon()
    with open(d.conf) as f:
        text = f.read().replace(
            "overrides = ( ", 'overrides = ( { prefix = "0.0.0.0/0"; '
            'country = "KP"; },\n                  ', 1)
    with open(d.conf, "w") as f:
        f.write(text)
    d.start()
    try:
        lk = d.ok("lookup", addr="192.168.1.1")
        assert lk["final"] == "private", lk
        assert lk["builtin"]["prefix"] == "192.168.0.0/16"
        assert lk["builtin"]["region"] == "private"
        assert lk["layers"][0]["country"] not in ("", "unknown")
        assert d.ok("lookup", addr="2001:db8::1")["final"] == "documentation"
        assert d.ok("lookup", addr="198.51.100.7")["final"] == "CN"
        assert d.ok("lookup", addr="8.8.8.8")["final"] == "KP"
        lk = d.ok("lookup", addr="64:ff9b:1::c633:6407")
        assert lk["final"] == "CN", lk
        assert lk["builtin"]["region"] == "(embedded IPv4)"
        assert d.ok("lookup", addr="fd00::1")["builtin"]["region"] == "ula"
        ex = d.ok("explain", src="192.168.1.1", dst="192.0.2.80",
                  proto="tcp", sport=40000, dport=22, iface="outside0")
        step = [x for x in ex["steps"] if x["step"] == "source country"][0]
        assert step["result"] == "private", ex
        assert "special-purpose block" in step["detail"], step
        data = d.ok("geo-reload")
        assert data["v4_prefixes"] == data["previous_v4_prefixes"] > 0
    finally:
        d.stop()


@needs_dp
def test_geo_reload_bad_database_refused(binaries):
    """A reload that finds the database truncated is refused; the tables
    in force stay, lookups still answer, and the refusal is audited."""
    d = Daemon()
    copy = d.dir + "/geo.mmdb"
    shutil.copy(GEODB, copy)
    with open(d.conf) as f:
        text = f.read().replace(GEODB, copy)
    with open(d.conf, "w") as f:
        f.write(text)
    d.start()
    try:
        before = d.ok("lookup", addr="198.51.100.7")["final"]
        hash0 = d.status()["policy_hash"]
        with open(copy, "r+b") as f:
            f.truncate(os.path.getsize(copy) // 3)
        r = d.req("geo-reload")
        assert not r["ok"] and r["error"]["code"] == "geo", r
        assert "geo.mmdb" in r["error"]["message"]
        st = d.status()
        assert st["policy_hash"] == hash0 and st["dataplane"]["in_sync"]
        assert d.ok("lookup", addr="198.51.100.7")["final"] == before
        rec = d.ok("show", what="audit")["records"][-1]
        assert rec["cmd"] == "geo-reload" and rec["result"] != "ok"
    finally:
        d.stop()


@needs_dp
def test_kill_cordond_dataplane_survives_and_is_adopted(cd):
    dp_pid = cd.status()["dataplane"]["pid"]
    p0 = cd.ok("counters")["packets"]
    cd.kill9()
    time.sleep(1)
    assert pid_alive(dp_pid)
    cd.start()
    dp = cd.wait_dp_up()
    assert dp["pid"] == dp_pid and dp["restarts"] == 0
    assert dp["revision"] == 1
    # Still forwarding: its counters kept counting meanwhile.
    assert cd.ok("counters")["packets"] > p0
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    assert cd.ok("commit")["revision"] == 2
    assert cd.wait_dp_up()["pid"] == dp_pid


@needs_dp
def test_slow_dataplane_is_waited_for_not_doubled(cd):
    """A cordond that starts while its cordon-dp is too slow to answer
    HELLO (here stopped for 9 s: start-up plus HELLO's 5 s) waits for it
    and adopts it: it used to unlink its socket and start a second
    cordon-dp beside it, leaving the first enforcing, unsupervised."""
    dp_pid = cd.status()["dataplane"]["pid"]
    cd.kill9()
    os.kill(dp_pid, signal.SIGSTOP)
    try:
        cd.spawn("-d", "--test-timers")
        time.sleep(9)
    finally:
        os.kill(dp_pid, signal.SIGCONT)
    dp = cd.wait_dp_up()
    assert dp["pid"] == dp_pid and dp["restarts"] == 0
    assert cd.dp_pids == {dp_pid}
    cd.ok("set", kind="rule", name="rdp", attrs=RULE_RDP)
    assert cd.ok("commit")["revision"] == 2
    assert cd.wait_dp_up()["pid"] == dp_pid


@needs_dp
def test_kill_dataplane_restarts_with_alarm(cd):
    old = cd.status()["dataplane"]["pid"]
    os.kill(old, signal.SIGKILL)

    def restarted():
        # Up and in sync: on a loaded machine the new cordon-dp's first
        # LOAD can miss its time, and cordond tries again (CD_DP_SYNC_MS).
        dp = cd.status()["dataplane"]
        if dp["pid"] != old:
            cd.dp_pids.add(dp["pid"])
        if dp["state"] == "up" and dp["pid"] != old and dp["in_sync"]:
            return dp
        return None
    dp = wait_for("cordon-dp restarted", restarted, timeout=40)
    assert dp["restarts"] == 1 and dp["alarm"] == "dataplane-restarted"
    assert dp["revision"] == 1 and dp["in_sync"]
    alarms = cd.status()["alarms"]
    assert alarms[0]["name"] == "dataplane-restarted"
    assert alarms[0]["since"] > 0


def _dp_threads_ids(pid):
    """(uid, gid) of every thread of PID, as /proc says."""
    out = set()
    for t in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/status" % (pid, t)) as f:
            st = dict(ln.rstrip("\n").split(":\t", 1) for ln in f
                      if ":\t" in ln)
        out.add((tuple(st["Uid"].split()), tuple(st["Gid"].split())))
    return out


@needs_dp
def test_dataplane_user_and_landlock(cd):
    """Issue 15: cordond makes the user cordon-dp and the cordon-dp it
    starts runs as it in every thread, under Landlock (status
    dataplane.sandbox), owning the evidence folder; after a kill -9 the
    restarted one does the same (the folder's ownership survives)."""
    import pwd
    pw = pwd.getpwnam("cordon-dp")
    ids = {((str(pw.pw_uid),) * 4, (str(pw.pw_gid),) * 4)}
    dp = cd.status()["dataplane"]
    assert dp["sandbox"].startswith("landlock-"), dp
    assert _dp_threads_ids(dp["pid"]) == ids
    evid = os.path.join(cd.dir, "state", "evidence")
    assert os.stat(evid).st_uid == pw.pw_uid
    # the evidence folder is one of its own; the state folder is never
    # taken (cordond's store is there)
    assert os.stat(os.path.dirname(evid)).st_uid == 0
    assert all(n.startswith("evidence-") for n in os.listdir(evid))
    os.kill(dp["pid"], signal.SIGKILL)

    def restarted():
        st = cd.status()["dataplane"]
        if st["state"] == "up" and st["pid"] != dp["pid"]:
            cd.dp_pids.add(st["pid"])
            return st
        return None
    dp2 = wait_for("cordon-dp restarted", restarted, timeout=40)
    assert dp2["sandbox"] == dp["sandbox"] and dp2["in_sync"]
    assert _dp_threads_ids(dp2["pid"]) == ids


@needs_dp
def test_explain_fragment(cd):
    """Issue 13: explain of a fragment: the first is judged as the packet
    it starts, a later one takes that verdict (a reject drops)."""
    cd.ok("set", kind="rule", name="rdp-block", attrs=RULE_RDP)
    cd.ok("commit", comment="block rdp")
    args = dict(src="198.51.100.7", dst="192.0.2.1", proto="tcp",
                sport=40000, dport=3389, iface="outside0")
    ex = cd.ok("explain", fragment="first", **args)
    steps = {s["step"]: s for s in ex["steps"]}
    assert ex["verdict"] == "reject" and ex["rule"] == "rdp-block"
    assert steps["fragment"]["result"] == "first"
    ex = cd.ok("explain", fragment="later", **args)
    steps = {s["step"]: s for s in ex["steps"]}
    assert ex["verdict"] == "drop" and ex["rule"] == "rdp-block"
    assert steps["fragment"]["result"] == "later"
    assert "frag-no-first" in steps["fragment"]["detail"]
    ex = cd.ok("explain", fragment="later", **dict(args, dport=80))
    assert ex["verdict"] == "allow"
    assert cd.req("explain", fragment="middle", **args)["error"][
        "code"] == "bad-request"
