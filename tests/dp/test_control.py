"""The dataplane channel (docs/control.md, section 1): cordon-dp --control
driven through control/dpc (tests/tools/dpc_tool) and, for malformed
traffic, raw from Python.

Traffic never stops: the outside port is a net_pcap device replaying a
two-frame capture forever (infinite_rx) -- an SSH SYN from a "CN" source
and one from a "US" source -- and the inside and quarantine ports are
net_null sinks.  A verdict flip is then visible in the counters within
milliseconds, and "the old policy is still enforced" is an exact
statement: a counter that the new policy can no longer move stays put.

The vdevs are created in the order quar0, inside0, outside0 so that DPDK
port ids differ from config port indexes: a reroute only reaches quar0
if cordon-dp maps the pushed policy's config indexes to its own ids.
"""
import array
import fcntl
import hashlib
import json
import mmap
import os
import signal
import socket
import stat
import struct
import subprocess
import time

import pytest
from scapy.all import ARP, IP, TCP, Ether

import dplib

MAGIC = 0x31504443
HELLO, HELLO_REPLY, LOAD, LOAD_REPLY, STATUS, STATUS_REPLY, ERR = range(1, 8)
HDR = struct.Struct("<IHHII")
LOAD_FMT = struct.Struct("<IIQ32s32sQQII")
POL_LAYOUT = 8          # core/policy/policy.h POL_LAYOUT_VERSION
DPC_VERSION = 4         # wire/dpc_proto.h DPC_PROTO_VERSION
RESULT = struct.Struct("<iIQQQ256s")
STATUS_FMT = struct.Struct("<IIQ32s32sQQIIIIIIII512s")

CN_SRC, US_SRC, SRV = "198.51.100.7", "192.0.2.33", "192.0.2.80"
OVERRIDES = [("192.0.2.0/24", "US"), ("198.51.100.0/24", "CN")]
OVERRIDES_NO_CN = [("192.0.2.0/24", "US"), ("198.51.100.0/24", "US")]
PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_null0", "role": "inside",
     "peer": "outside0"},
    {"name": "quar0", "device": "net_null1", "role": "other"},
]
NEXTHOPS = [{"name": "quarantine", "port": "quar0",
             "mac": "02:00:00:00:00:99"}]


def _rule(action, **kw):
    r = {"name": "ssh-cn-" + action, "src": ["CN"], "services": ["ssh"],
         "direction": "in", "action": action}
    r.update(kw)
    return r


def dpc_tool_path():
    return os.environ.get("CORDON_DPC_TOOL", os.path.join(
        os.path.dirname(dplib.cordon_dp_path()), "tools", "dpc_tool"))


def syn(src):
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                 IP(src=src, dst=SRV) / TCP(sport=40000, dport=22,
                                            flags="S"))


def wait_for(fn, what, timeout=dplib.TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(dplib.POLL_INTERVAL)
    raise AssertionError("timed out waiting for " + what)


class Dp:
    """One cordon-dp --control run and the dpc_tool that talks to it."""

    def __init__(self, workdir, conf, frames, infinite):
        self.dir = workdir
        self.conf = conf
        self.sock = os.path.join(workdir, "dp.sock")
        # a folder of its own: cordon-dp takes it over (cordon-dp(8))
        self.stats_file = os.path.join(workdir, "stats", "stats.json")
        self.tool = dpc_tool_path()
        rx = os.path.join(workdir, "in.pcap")
        dplib.pcap_write(rx, frames)
        eal = dplib.EAL_BASE + [
            "--vdev=net_null1,no-rx=1", "--vdev=net_null0,no-rx=1",
            "--vdev=net_pcap0,rx_pcap=%s%s" % (
                rx, ",infinite_rx=1" if infinite else
                ",tx_pcap=" + os.path.join(workdir, "out.pcap"))]
        self.out_path = os.path.join(workdir, "stdout.txt")
        self.cmd = [dplib.cordon_dp_path()] + eal + [
            "--", "-c", conf, "--stats-file", self.stats_file,
            "--control", self.sock]
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(self.cmd, stdout=out,
                                         stderr=subprocess.STDOUT,
                                         cwd=workdir)
        wait_for(lambda: os.path.exists(self.sock) and
                 os.path.exists(self.stats_file) or self._died(),
                 "cordon-dp to listen")
        self._died()

    def _died(self):
        if self.proc.poll() is not None:
            raise AssertionError("cordon-dp exited %s:\n%s" % (
                self.proc.returncode, self.stdout()))
        return False

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def run(self, *args):
        return subprocess.run([self.tool] + list(args), capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args):
        p = self.run(*args)
        assert p.returncode == 0, "dpc_tool %s: rc %d\n%s%s\n%s" % (
            " ".join(args), p.returncode, p.stdout, p.stderr,
            self.stdout()[-2000:])
        return p.stdout

    def hello(self):
        return json.loads(self.ok(self.sock, "hello"))

    def stats(self, conf=None):
        return json.loads(self.ok(self.sock, "stats", conf or self.conf))

    def load(self, conf, rev, *extra):
        return self.run(self.sock, "load", conf, str(rev), *extra)

    def hash(self, conf):
        return self.ok("-", "hash", conf).strip()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=dplib.TIMEOUT)


@pytest.fixture(scope="module")
def ctl(tmp_path_factory, cordon_dp, mmdb_fixtures):
    d = str(tmp_path_factory.mktemp("control"))
    if not os.access(dpc_tool_path(), os.X_OK):
        pytest.fail("no dpc_tool at %s (build it, or set CORDON_DPC_TOOL)"
                    % dpc_tool_path())
    db = [(os.path.join(mmdb_fixtures, "flat.mmdb"), "country_code")]

    def conf(name, rules, overrides=OVERRIDES):
        os.makedirs(os.path.join(d, name), exist_ok=True)
        return dplib.render_conf(os.path.join(d, name, "cordon.conf"),
                                 ports=PORTS, rules=rules, nexthops=NEXTHOPS,
                                 overrides=overrides, databases=db,
                                 include_profile=False)
    confs = {
        "drop": conf("drop", [_rule("drop")]),
        "allow": conf("allow", [_rule("allow")]),
        "reroute": conf("reroute", [_rule("reroute",
                                          nexthop="quarantine")]),
        "drop-no-cn": conf("drop-no-cn", [_rule("drop")], OVERRIDES_NO_CN),
    }
    dp = Dp(d, confs["drop"], [syn(CN_SRC), syn(US_SRC)], infinite=True)
    dp.confs = confs
    yield dp
    rc = dp.stop()
    assert rc == 0, dp.stdout()[-3000:]
    # Sandboxed, cordon-dp cannot remove its socket from a folder not
    # its user's (cordon-dp(8), SANDBOX); cordond removes it before the
    # next start.


def grows(dp, key, after, by=1000):
    """Waits until counter KEY (a function of the stats) passes AFTER+BY;
    returns that snapshot."""
    return wait_for(lambda: (lambda s: s if key(s) >= after + by else None)(
        dp.stats()), "counter to grow")


def drops(s):
    return s["actions"]["drop"]


def allows(s):
    return s["actions"]["allow"]


# --- the client library against a live cordon-dp --------------------------

def test_hello_revision0(ctl):
    """Revision 0 is the config's own policy, hashed as cordond would hash
    it (compiled with config port indexes)."""
    h = ctl.hello()
    assert h["revision"] == 0
    assert h["policy_hash"] == ctl.hash(ctl.confs["drop"])
    assert h["geo_hash"] == "0" * 64
    assert h["workers"] == 1
    assert h["ports"] == ["outside0", "inside0", "quar0"]
    assert h["pid"] == ctl.proc.pid
    assert stat.S_IMODE(os.stat(ctl.sock).st_mode) == 0o600
    st = json.loads(ctl.ok(ctl.sock, "status"))
    assert st["revision"] == 0 and st["policy_hash"] == h["policy_hash"]


def test_revision0_enforces(ctl):
    s = ctl.stats()
    s2 = grows(ctl, drops, drops(s))
    # The snapshot is summed while the worker counts: a packet's action
    # may be in it and its rule not yet (one burst at most in flight).
    assert s2["rules"]["ssh-cn-drop"] >= drops(s2) - 32
    assert allows(s2) > 0           # the US frame
    assert s2["ports"]["inside0"]["tx_packets"] > 0


def test_load_flips_verdict(ctl):
    """Once LOAD_REPLY is in, every packet sees the new policy: the drop
    counter freezes exactly."""
    ctl.ok(ctl.sock, "load", ctl.confs["allow"], "1")
    s1 = ctl.stats()
    s2 = grows(ctl, allows, allows(s1), by=50000)
    assert drops(s2) == drops(s1)
    h = ctl.hello()
    assert h["revision"] == 1
    assert h["policy_hash"] == ctl.hash(ctl.confs["allow"])
    assert h["geo_hash"].startswith("01")      # dpc_tool's stamp
    assert h["activated_unix_ns"] > h["started_unix_ns"]
    assert "revision 1 active" in ctl.stdout()


def test_load_policy_only_remaps_ports(ctl):
    """A policy-only LOAD keeps the tables (and their hash); the reroute
    leaves through quar0 although its DPDK id is not its config index."""
    before = ctl.hello()["geo_hash"]
    out = ctl.ok(ctl.sock, "load", ctl.confs["reroute"], "2", "--no-geo")
    assert "loaded revision 2" in out
    s1 = ctl.stats()
    s2 = grows(ctl, lambda s: s["ports"]["quar0"]["tx_packets"],
               s1["ports"]["quar0"]["tx_packets"])
    assert s2["ports"]["outside0"]["tx_packets"] == 0
    assert s2["actions"]["reroute"] > 0
    assert drops(s2) == drops(s1)
    h = ctl.hello()
    assert h["revision"] == 2 and h["geo_hash"] == before
    assert "same geo tables" in ctl.stdout()


def test_load_geo_swap(ctl):
    """New tables alone flip the verdict: the same drop rule, but the
    source is no longer in CN."""
    ctl.ok(ctl.sock, "load", ctl.confs["drop"], "3")
    s1 = grows(ctl, drops, drops(ctl.stats()))
    ctl.ok(ctl.sock, "load", ctl.confs["drop-no-cn"], "4")
    s2 = ctl.stats()
    s3 = grows(ctl, allows, allows(s2), by=50000)
    assert drops(s3) == drops(s2) >= drops(s1)
    assert s3["countries"]["US"]["packets"] > s2["countries"]["US"]["packets"]
    assert ctl.hello()["revision"] == 4


@pytest.mark.parametrize("what,msg", [
    ("policy-class", "class 255"),
    ("policy-action", "action 9 invalid"),
    ("policy-nexthop", "port 15, but cordon-dp has 3"),
    ("policy-bits", "beyond"),
    ("geo-tbl24", "tbl24[12345] = 65535 out of range"),
    ("geo-root6", "root6[8193]"),
    ("geo-cycle", "shape"),
    ("geo-truncate", "header says"),
])
def test_corrupt_bundle_refused(ctl, what, msg):
    """A damaged bundle is refused with the reason; revision 4 (which
    allows the flood) stays in force."""
    p = ctl.load(ctl.confs["drop"], 9, "--corrupt", what)
    assert p.returncode == 1, p.stdout + p.stderr
    assert msg in p.stderr
    s1 = ctl.stats()
    s2 = grows(ctl, allows, allows(s1), by=20000)
    assert drops(s2) == drops(s1)
    assert ctl.hello()["revision"] == 4
    assert "revision 9 refused" in ctl.stdout()


# --- raw messages ---------------------------------------------------------

def connect(dp):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(dp.sock)
    return s


def msg(typ, seq, payload=b"", magic=MAGIC, length=None, flags=0):
    return HDR.pack(magic, typ, flags,
                    len(payload) if length is None else length,
                    seq) + payload


def reply(s):
    data, fds, _, _ = socket.recv_fds(s, 8192, 4)
    magic, typ, flags, length, seq = HDR.unpack(data[:HDR.size])
    assert magic == MAGIC and flags == 0 and length == len(data) - HDR.size
    return typ, seq, data[HDR.size:], fds


def result(payload):
    err, _, rev, act, apply_ns, text = RESULT.unpack(payload)
    return err, rev, text.split(b"\0")[0].decode()


def hello_raw(s, seq=1):
    s.sendall(msg(HELLO, seq))
    typ, rseq, payload, fds = reply(s)
    assert (typ, rseq) == (HELLO_REPLY, seq)
    return STATUS_FMT.unpack(payload[:STATUS_FMT.size]), fds


@pytest.mark.parametrize("name,data,seq,text", [
    ("short", b"abc", 0, "short message"),
    ("empty", b"", 0, "short message"),
    ("bad-magic", msg(HELLO, 5, magic=0x12345678), 5, "bad magic"),
    ("unknown-type", msg(42, 6), 6, "unknown message type 42"),
    ("reply-type", msg(ERR, 7, b"\0" * RESULT.size), 7, "not a request"),
    ("length-lie", msg(HELLO, 8, length=20), 8, "length 20"),
    ("hello-payload", msg(HELLO, 9, b"xxxx"), 9, "payload of 4"),
    ("flags", msg(HELLO, 10, flags=3), 10, "flags"),
    ("oversized", msg(LOAD, 11, b"\0" * 5000), 11, "oversized"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_malformed_message_err(ctl, name, data, seq, text):
    """Each gets an ERR echoing its seq; the connection stays usable."""
    with connect(ctl) as s:
        s.sendall(data)
        typ, rseq, payload, fds = reply(s)
        assert typ == ERR and rseq == seq, name
        assert not fds
        err, rev, message = result(payload)
        assert text in message and err > 0, message
        st, fds = hello_raw(s, seq=99)
        for fd in fds:
            os.close(fd)
        assert st[2] == 4


SYSLOG, SYSLOG_REPLY = 11, 12
LOG_LOCAL, LOG_UDP, LOG_TCP, LOG_TLS = 1, 2, 3, 4
SYSLOG_TARGET = struct.Struct("<II112s")


def syslog_msg(targets, version=DPC_VERSION, facility=19, rate=100):
    """A SYSLOG payload: TARGETS are (type, port, address)."""
    body = struct.pack("<IIII", version, facility, rate, len(targets))
    for t, port, addr in targets + [(0, 0, "")] * (8 - len(targets)):
        body += SYSLOG_TARGET.pack(t, port, addr.encode())
    return body


def syslog_raw(s, seq, payload):
    s.sendall(msg(SYSLOG, seq, payload))
    typ, rseq, data, fds = reply(s)
    assert (typ, rseq) == (SYSLOG_REPLY, seq) and not fds
    return result(data)


def test_syslog_targets_checked(ctl):
    """Issue 14: cordond hands its syslog targets over (for cordon-dp's
    fallback while it is away); every field is checked, a refusal changes
    nothing, and 0 targets turns the fallback off."""
    with connect(ctl) as s:
        st, fds = hello_raw(s, seq=2)
        for fd in fds:
            os.close(fd)
        for bad, text in [
                (syslog_msg([], version=2), "protocol version 2"),
                (syslog_msg([], facility=30), "facility 30"),
                (syslog_msg([(LOG_UDP, 514, "syslog.example")]),
                 "not a numeric address"),
                (syslog_msg([(LOG_UDP, 0, "127.0.0.1")]), "port 0"),
                (syslog_msg([(7, 514, "127.0.0.1")]), "type 7"),
                (syslog_msg([(LOG_LOCAL, 0, "x" * 112)]),
                 "not terminated")]:
            err, rev, message = syslog_raw(s, 3, bad)
            assert err > 0 and text in message, message
            assert rev == st[2]
        err, _, message = syslog_raw(s, 4, syslog_msg([
            (LOG_UDP, 514, "127.0.0.1"), (LOG_LOCAL, 0, "/dev/null/log"),
            (LOG_TCP, 514, "127.0.0.1"), (LOG_TLS, 6514, "::1")]))
        assert err == 0, message
        assert "2 target(s)" in message and "2 not covered" in message
        err, _, message = syslog_raw(s, 5, syslog_msg([]))
        assert err == 0 and "0 target(s)" in message, message
        st, fds = hello_raw(s, seq=6)
        for fd in fds:
            os.close(fd)


def test_counters_memfd_read_only(ctl):
    """HELLO passes the counters memfd: mappable read-only, never
    writable, one struct stats per worker, then one top sketch each."""
    with connect(ctl) as s:
        st, fds = hello_raw(s)
    assert len(fds) == 1
    fd = fds[0]
    try:
        size = os.fstat(fd).st_size
        stats_size, stats_count, top_size = st[9], st[10], st[13]
        assert stats_count == 1 and top_size > 0
        assert size == (stats_size + top_size) * stats_count
        m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
        packets = struct.unpack_from("<Q", m, 0)[0]
        assert packets > 0
        wait_for(lambda: struct.unpack_from("<Q", m, 0)[0] > packets,
                 "live counters")
        m.close()
        with pytest.raises(PermissionError):
            mmap.mmap(fd, size, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE)
        with pytest.raises(OSError):
            os.write(fd, b"x")
    finally:
        os.close(fd)


def sealed_memfd(data, seals=True):
    fd = os.memfd_create("test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    if seals:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE |
                    fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)
    return fd


def load_raw(s, seq, pol, rev=20, layout=None, pol_size=None,
             digest=None, fds=None, version=DPC_VERSION):
    """Sends a policy-only LOAD; returns (type, error, message)."""
    fd = None
    if fds is None:
        fd = sealed_memfd(pol)
        fds = [fd]
    req = LOAD_FMT.pack(version, POL_LAYOUT if layout is None else layout,
                        rev,
                        digest or hashlib.sha256(pol).digest(), b"\0" * 32,
                        len(pol) if pol_size is None else pol_size, 0, 0, 0)
    socket.send_fds(s, [msg(LOAD, seq, req)], fds)
    if fd is not None:
        os.close(fd)
    typ, rseq, payload, _ = reply(s)
    assert rseq == seq
    err, rev_now, text = result(payload)
    return typ, err, text, rev_now


@pytest.fixture(scope="module")
def policy_bytes(ctl):
    path = os.path.join(ctl.dir, "allow.pol")
    ctl.ok("-", "policy", ctl.confs["allow"], path)
    with open(path, "rb") as f:
        return f.read()


def test_load_raw_refusals(ctl, policy_bytes):
    """What cordond could get wrong, refused one by one with LOAD_REPLY;
    the running revision never moves."""
    pol = policy_bytes
    with connect(ctl) as s:
        st, fds = hello_raw(s)
        for fd in fds:
            os.close(fd)
        assert st[11] == POL_LAYOUT     # the layout it accepts
        assert st[12] == len(pol)       # pol_size it accepts
        cases = [
            (dict(layout=99), "policy layout version 99"),
            (dict(version=99), "protocol version 99"),
            (dict(pol_size=len(pol) - 8), "policy of"),
            (dict(rev=0), "revision 0"),
            (dict(digest=b"\1" * 32), "policy hash mismatch"),
            (dict(fds=[]), "0 file descriptor(s), expected 1"),
        ]
        for i, (kw, text) in enumerate(cases):
            typ, err, message, rev = load_raw(s, 100 + i, pol, **kw)
            assert typ == LOAD_REPLY and err > 0, kw
            assert text in message, (kw, message)
            assert rev == 4
        # Not sealed: cordond could still change it after the checks.
        fd = sealed_memfd(pol, seals=False)
        typ, err, message, rev = load_raw(s, 120, pol, fds=[fd])
        os.close(fd)
        assert "not sealed" in message
        # The right size, but not what was hashed... nor a memfd at all.
        with open(os.devnull, "rb") as f:
            typ, err, message, rev = load_raw(s, 121, pol,
                                              fds=[f.fileno()])
        assert err > 0 and rev == 4, message
        # Two fds for a policy-only load.
        fd1, fd2 = sealed_memfd(pol), sealed_memfd(pol)
        typ, err, message, rev = load_raw(s, 122, pol, fds=[fd1, fd2])
        os.close(fd1)
        os.close(fd2)
        assert "2 file descriptor(s), expected 1" in message
    assert ctl.hello()["revision"] == 4


def test_second_client_refused(ctl):
    with connect(ctl) as s:
        st, fds = hello_raw(s)
        for fd in fds:
            os.close(fd)
        p = ctl.run(ctl.sock, "hello")
        assert p.returncode == 1
        assert "busy" in p.stderr.lower(), p.stderr
        # The first client is still served.
        st, fds = hello_raw(s, seq=2)
        for fd in fds:
            os.close(fd)
    # Once it is gone, the next one is welcome.
    wait_for(lambda: ctl.run(ctl.sock, "hello").returncode == 0,
             "the slot to free up")
    assert "another client is connected" in ctl.stdout()


def test_disconnect_mid_load_keeps_enforcing(ctl, policy_bytes):
    """A client that sends LOAD and vanishes: the revision still lands,
    the reply goes nowhere, cordon-dp keeps forwarding and accepts the
    next client."""
    s = connect(ctl)
    fd = sealed_memfd(policy_bytes)
    req = LOAD_FMT.pack(DPC_VERSION, POL_LAYOUT, 5,
                        hashlib.sha256(policy_bytes).digest(),
                        b"\0" * 32, len(policy_bytes), 0, 0, 0)
    socket.send_fds(s, [msg(LOAD, 1, req)], [fd])
    os.close(fd)
    s.close()
    wait_for(lambda: ctl.hello()["revision"] == 5, "revision 5")
    s1 = ctl.stats()
    grows(ctl, allows, allows(s1), by=50000)
    assert "client gone" in ctl.stdout()
    assert ctl.proc.poll() is None


# --- counters: memfd and --stats-file agree --------------------------------

def _strip_time(s):
    s = dict(s)
    s.pop("time", None)
    return s


def test_stats_memfd_equals_stats_file(tmp_path, cordon_dp, mmdb_fixtures):
    db = [(os.path.join(mmdb_fixtures, "flat.mmdb"), "country_code")]
    conf = dplib.render_conf(str(tmp_path / "cordon.conf"), ports=PORTS,
                             rules=[_rule("drop", log=True)],
                             nexthops=NEXTHOPS, overrides=OVERRIDES,
                             databases=db, include_profile=False)
    frames = [syn(CN_SRC), syn(US_SRC), syn(US_SRC),
              bytes(Ether(src="02:00:00:00:00:01", dst="ff:ff:ff:ff:ff:ff")
                    / ARP(pdst=SRV)),
              syn(CN_SRC)[:20]]
    dp = Dp(str(tmp_path), conf, frames, infinite=False)
    try:
        wait_for(lambda: (dplib._read_json(dp.stats_file) or {}).get(
            "packets") == len(frames), "the frames to be counted")

        def agree():
            a = dp.stats()
            b = dplib._read_json(dp.stats_file)
            return b is not None and _strip_time(a) == _strip_time(b)
        wait_for(agree, "memfd and stats file to agree")
        s = dp.stats()
        assert s["packets"] == 5 and s["actions"]["drop"] == 2
        assert s["rules"]["ssh-cn-drop"] == 1
    finally:
        assert dp.stop() == 0
