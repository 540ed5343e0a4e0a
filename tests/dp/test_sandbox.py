"""cordon-dp's steady-state sandbox (cordon-dp(8), SANDBOX).

Once its ports run, every thread of cordon-dp must show seccomp mode 2,
no_new_privs and exactly the capabilities its driver needs after start
(none for the virtual devices), in all five sets; a forbidden system call
kills the process; --no-sandbox turns both off.  Each driver runs in a
network namespace of the test's own where it touches interfaces.
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import uuid

import pytest

import dplib
from test_control import wait_for, dpc_tool_path

PORTS = [
    {"name": "outside0", "device": "dev0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "dev1", "role": "inside",
     "peer": "outside0"},
]
# The capabilities each driver keeps after start (cordon-dp(8)).
CAPS = {"net_null": 0, "net_pcap": 0, "net_af_packet": 0, "net_tap": 0}


def _status(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def _threads(pid):
    d = "/proc/%d/task" % pid
    return [os.path.join(d, t, "status") for t in os.listdir(d)]


class Run:
    def __init__(self, tmp, vdevs, binary=None, extra=(), netns=None,
                 eal=(), preexec=None, started=True, conf_extra=()):
        conf = dplib.render_conf(
            str(tmp / "t.conf"),
            ports=[dict(p, device=v.split(",")[0])
                   for p, v in zip(PORTS, vdevs)],
            overrides=[("192.0.2.0/24", "US")], extra=conf_extra)
        self.sock = str(tmp / "dp.sock")
        self.out = str(tmp / "out.txt")
        cmd = ([binary or dplib.cordon_dp_path()] + dplib.EAL_BASE +
               list(eal) + ["--vdev=" + v for v in vdevs] +
               ["--", "-c", conf, "--control", self.sock] + list(extra))
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out,
                                         stderr=subprocess.STDOUT, cwd=tmp,
                                         preexec_fn=preexec)
        wait_for(lambda: "enforcing" in self.text() or self.dead(),
                 "cordon-dp to enforce")
        assert self.dead() != started, self.text()

    def text(self):
        with open(self.out) as f:
            return f.read()

    def dead(self):
        return self.proc.poll() is not None

    def hello(self):
        p = subprocess.run([dpc_tool_path(), self.sock, "hello"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr + self.text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=dplib.TIMEOUT)


@pytest.fixture
def netns():
    name = "cdp-sb-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "add", "sb0", "type", "veth",
                    "peer", "name", "sb1"], check=True)
    for i in ("sb0", "sb1", "lo"):
        subprocess.run(["ip", "-n", name, "link", "set", i, "up"],
                       check=True)
    yield name
    subprocess.run(["ip", "netns", "del", name])


def _vdevs(driver, tmp):
    if driver == "net_null":
        return ["net_null0,no-rx=1", "net_null1,no-rx=1"]
    if driver == "net_pcap":
        rx = str(tmp / "in.pcap")
        dplib.pcap_write(rx, [])
        return ["net_pcap0,rx_pcap=%s,tx_pcap=%s" % (rx, tmp / "o0.pcap"),
                "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (rx, tmp / "o1.pcap")]
    if driver == "net_af_packet":
        return ["net_af_packet0,iface=sb0", "net_af_packet1,iface=sb1"]
    return ["net_tap0,iface=cdptap0", "net_tap1,iface=cdptap1"]


def _dp_ids():
    import pwd
    pw = pwd.getpwnam("cordon-dp")
    return pw.pw_uid, pw.pw_gid


def _check_threads(pid, caps):
    files = _threads(pid)
    uid, gid = _dp_ids()
    assert uid != 0 and gid != 0
    assert len(files) >= 3  # main, a worker, the interrupt thread
    for f in files:
        st = _status(f)
        # the user cordon-dp in all four places; no other group
        assert st["Uid"].split() == [str(uid)] * 4, (f, st["Uid"])
        assert st["Gid"].split() == [str(gid)] * 4, (f, st["Gid"])
        assert st["Groups"] == "", (f, st["Groups"])
        assert st["Seccomp"] == "2", (f, st["Seccomp"])
        assert st["NoNewPrivs"] == "1", f
        for s in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
            want = 0 if s in ("CapInh", "CapAmb") else caps
            assert int(st[s], 16) == want, (f, s, st[s])


@pytest.mark.parametrize("driver", sorted(CAPS))
def test_sandbox_status(tmp_path, cordon_dp, netns, driver):
    """/proc of a running cordon-dp: seccomp 2, no_new_privs, the
    driver's capabilities exactly, in every thread; the channel still
    answers and the process still exits cleanly under the filter."""
    r = Run(tmp_path, _vdevs(driver, tmp_path), netns=netns)
    try:
        _check_threads(r.proc.pid, CAPS[driver])
        r.hello()
        assert not r.dead(), r.text()
    finally:
        rc = r.stop()
    assert rc == 0, r.text()
    assert "--- cordon-dp counters ---" in r.text()


def test_sandbox_forbidden_syscall_kills(tmp_path, cordon_dp):
    """The test build's SIGUSR2 makes the main thread exec: the filter
    kills the whole process with SIGSYS (cordond would start another)."""
    binary = os.path.join(os.path.dirname(dplib.cordon_dp_path()),
                          "tests", "cordon-dp-sysc")
    r = Run(tmp_path, _vdevs("net_null", tmp_path), binary=binary)
    try:
        r.hello()
        r.proc.send_signal(signal.SIGUSR2)
        rc = r.proc.wait(timeout=dplib.TIMEOUT)
    finally:
        r.stop()
    assert rc == -signal.SIGSYS, (rc, r.text())


def _sysc_write(tmp_path, target, env=None, stats=None):
    """The test build with CDP_TEST_WRITE=TARGET (and ENV): SIGUSR2 makes
    the main thread try to create TARGET after the sandbox (or rename,
    connect: dp_sandbox.c); the errno it got.  STATS: the stats file's
    path (a pathlib.Path), there before the attempt."""
    binary = os.path.join(os.path.dirname(dplib.cordon_dp_path()),
                          "tests", "cordon-dp-sysc")
    stats = stats or tmp_path / "stats" / "stats.json"
    env = dict(env or {}, CDP_TEST_WRITE=target)
    os.environ.update(env)
    try:
        r = Run(tmp_path, _vdevs("net_null", tmp_path), binary=binary,
                extra=["--stats-file", str(stats)])
    finally:
        for k in env:
            del os.environ[k]
    try:
        r.hello()
        wait_for(lambda: stats.exists(), "the stats file")
        r.proc.send_signal(signal.SIGUSR2)
        wait_for(lambda: "sysc-write" in r.text() or r.dead(),
                 "the write attempt")
        line = [x for x in r.text().splitlines() if "sysc-write" in x][0]
        # it goes on enforcing: answers, and still writes its stats
        wait_for(lambda: stats.exists(), "the stats file")
        os.unlink(str(stats))
        wait_for(lambda: stats.exists(), "the stats file again")
        r.hello()
        assert not r.dead(), r.text()
    finally:
        assert r.stop() == 0, r.text()
    return int(line.split()[-1])


def _theirs(top):
    """A folder of the user cordon-dp's in TOP, which it may write
    (checked without Landlock); its path."""
    uid, gid = _dp_ids()
    os.chmod(top, 0o755)
    other = os.path.join(top, "theirs")
    os.mkdir(other)
    os.chown(other, uid, gid)
    subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(gid),
                    "--clear-groups", "touch", other + "/y"], check=True)
    return other


@pytest.mark.parametrize("landlock", [True, False])
def test_sandbox_write_outside_landlock(tmp_path, cordon_dp, landlock):
    """A folder the user cordon-dp owns, outside the folders cordon-dp
    writes: only Landlock stands in the way, and it refuses (EACCES);
    cordon-dp goes on enforcing.  Without Landlock (the test build's
    CDP_TEST_NO_LANDLOCK) cordon-dp warns, runs on as its user, and that
    folder is writable: what cordon-dp(8) says of that case."""
    import shutil
    import tempfile
    top = tempfile.mkdtemp(prefix="cdp-sb-", dir="/tmp")
    try:
        other = _theirs(top)
        env = {} if landlock else {"CDP_TEST_NO_LANDLOCK": "1"}
        err = _sysc_write(tmp_path, other + "/x", env)
        assert err == (13 if landlock else 0)
        assert os.path.exists(other + "/x") != landlock
        warned = "Landlock is not available" in \
            (tmp_path / "out.txt").read_text()
        assert warned != landlock
    finally:
        shutil.rmtree(top)


def test_sandbox_no_landlock_still_not_root(tmp_path, cordon_dp):
    """Without Landlock the user still bounds the writes: /etc refused."""
    target = "/etc/cordon-dp-sysc-%s" % uuid.uuid4().hex[:8]
    assert _sysc_write(tmp_path, target, {"CDP_TEST_NO_LANDLOCK": "1"}) == 13
    assert not os.path.exists(target)


def test_sandbox_write_root_file_refused(tmp_path, cordon_dp):
    """A root-owned system folder: refused (no longer uid 0)."""
    target = "/etc/cordon-dp-sysc-%s" % uuid.uuid4().hex[:8]
    assert _sysc_write(tmp_path, target) == 13
    assert not os.path.exists(target)


def test_sandbox_forbidden_syscall_not_in_default_build(tmp_path, cordon_dp):
    """The installed binary has no trigger: SIGUSR2 kills it the default
    way, never through the test's exec."""
    r = Run(tmp_path, _vdevs("net_null", tmp_path))
    r.proc.send_signal(signal.SIGUSR2)
    assert r.proc.wait(timeout=dplib.TIMEOUT) == -signal.SIGUSR2


def test_sandbox_switch_off(tmp_path, cordon_dp):
    """--no-sandbox (debugging): no filter, capabilities kept."""
    r = Run(tmp_path, _vdevs("net_null", tmp_path), extra=["--no-sandbox"])
    try:
        st = _status("/proc/%d/status" % r.proc.pid)
        assert st["Seccomp"] == "0"
        assert int(st["CapEff"], 16) != 0
    finally:
        assert r.stop() == 0


def test_sandbox_telemetry(tmp_path, cordon_dp):
    """DPDK telemetry, when enabled, serves each client on a thread of
    its own started under the filter: it answers, cordon-dp lives on."""
    prefix = "cdpsb" + uuid.uuid4().hex[:8]
    r = Run(tmp_path, _vdevs("net_null", tmp_path),
            eal=["--file-prefix", prefix])
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    try:
        wait_for(lambda: os.path.exists(path), "the telemetry socket")
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(10)
            s.connect(path)
            assert "version" in json.loads(s.recv(4096).decode())
            s.send(b"/ethdev/list")
            assert json.loads(s.recv(4096).decode())["/ethdev/list"] == \
                [0, 1]
        r.hello()
        assert not r.dead(), r.text()
    finally:
        assert r.stop() == 0, r.text()


# What cordond keeps for itself and the cordon-dp it starts (cd_privs.c):
# CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER KILL SETPCAP NET_ADMIN NET_RAW
# IPC_LOCK SYS_RAWIO SYS_ADMIN SYS_NICE SYS_RESOURCE.
CORDOND_CAPS = [0, 1, 2, 3, 5, 6, 7, 8, 12, 13, 14, 17, 21, 23, 24]
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 24, 38


def _as_cordond(keep):
    """A preexec that leaves the child what cordond leaves cordon-dp: the
    bounding set KEEP and no_new_privs (root: the exec then permits
    exactly KEEP)."""
    def run():
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in range(64):
            if cap not in keep:
                libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return run


def test_sandbox_under_cordond_caps(tmp_path, cordon_dp):
    """Started with cordond's capabilities (as cordond execs it), cordon-dp
    still ends with none in any set of any thread."""
    r = Run(tmp_path, _vdevs("net_null", tmp_path),
            preexec=_as_cordond(CORDOND_CAPS))
    try:
        _check_threads(r.proc.pid, 0)
    finally:
        assert r.stop() == 0, r.text()


def test_sandbox_without_setpcap_refuses(tmp_path, cordon_dp):
    """Without CAP_SETPCAP the bounding set cannot be emptied: cordon-dp
    refuses to run rather than run with it (fail closed)."""
    keep = [c for c in CORDOND_CAPS if c != 8]
    r = Run(tmp_path, _vdevs("net_null", tmp_path),
            preexec=_as_cordond(keep), started=False)
    assert r.proc.wait(timeout=dplib.TIMEOUT) == 1
    assert "cannot lower the privileges" in r.text()


def _top():
    """A folder in /tmp the user cordon-dp may pass through (mode 0755),
    with the stats file's folder in it: (top, stats file)."""
    import pathlib
    import tempfile
    top = tempfile.mkdtemp(prefix="cdp-sb-", dir="/tmp")
    os.chmod(top, 0o755)
    os.mkdir(top + "/stats", 0o750)
    return top, pathlib.Path(top) / "stats" / "stats.json"


@pytest.mark.parametrize("landlock", [True, False])
def test_sandbox_rename_out_refused(tmp_path, cordon_dp, landlock):
    """A file of its folders moved into another folder the user cordon-dp
    owns: the user's rights allow it (as without Landlock, what
    cordon-dp(8) says of that case), Landlock refuses it (no right to
    make a file there, nor to reparent one); the file stays."""
    import shutil
    top, stats = _top()
    try:
        other = _theirs(top)
        env = {} if landlock else {"CDP_TEST_NO_LANDLOCK": "1"}
        err = _sysc_write(tmp_path, "rename:%s:%s/moved" % (stats, other),
                          env, stats=stats)
        if landlock:
            assert err in (13, 18), err  # EACCES, EXDEV
        else:
            assert err == 0, err
        assert os.path.exists(other + "/moved") != landlock
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_sandbox_unix_connect_refused(tmp_path, cordon_dp, kind):
    """A datagram socket of root's that anybody may write (mode 0666), as
    a service of the host would bind: by path, the user cordon-dp is let
    through by the mode alone (Landlock has no right for it: cordon-dp(8)
    says so); an abstract one is outside the Landlock domain (scope):
    EPERM.  Stream and seqpacket sockets cannot be made at all."""
    import shutil
    top, stats = _top()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if kind == "path":
            name = top + "/svc.sock"
            srv.bind(name)
            os.chmod(name, 0o666)
        else:
            name = "@cordon-test-%s" % uuid.uuid4().hex[:8]
            srv.bind("\0" + name[1:])
        err = _sysc_write(tmp_path, "connect:" + name, stats=stats)
        assert err == (0 if kind == "path" else 1), err  # EPERM
    finally:
        srv.close()
        shutil.rmtree(top)
