"""cordond's processes as the kernel shows them (issue 15,
docs/architecture.md "Processes", cordond(8) CAPABILITIES).

The parent keeps exactly the capabilities cordond(8) lists.  Every child
that `cordonctl -j status` lists (processes) runs as its own user with
no capability, no_new_privs, seccomp mode 2, the empty root and a
network namespace of its own unless it needs the network, and none of
systemd's sockets in its environment; killed with
SIGKILL it is back within 2 s, counted, and process-restarted is
raised; five crashes within a minute raise process-crash-loop.  The
children are discovered, not listed here: a build with none checks only
the parent.

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_procs.py).
"""
import functools
import os
import pwd
import re
import signal
import subprocess
import time

import pytest

import cordonrig
from cordonrig import CORDOND, control_conf, dataplane_conf, geo_conf

wait_for = functools.partial(cordonrig.wait_for, step=0.05,
                             fail=pytest.fail)

EMPTY = "/run/cordon/empty"
MAN = cordonrig.repo_path("docs/man/cordond.8")
CAP_BITS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14,
    "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_ADMIN": 21,
    "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24,
}

CONF = geo_conf() + """\
regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ];
      services = [ "ssh" ]; direction = "in"; action = "drop"; }
);
default = { action = "allow"; };
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1", mbufs=4096) + control_conf()


class Daemon(cordonrig.Cordond):
    fail = staticmethod(pytest.fail)

    def __init__(self):
        super().__init__(prefix="cordon-procs-")
        # No dataplane: the children are what is looked at here.
        self.write_conf(CONF, dp="/bin/false")

    def start(self):
        # As under systemd: the children must not inherit the socket.
        os.environ["NOTIFY_SOCKET"] = self.dir + "/notify"
        try:
            self.spawn("-d")
        finally:
            del os.environ["NOTIFY_SOCKET"]
        wait_for("control socket", self.answers, timeout=20)
        return self

    def procs(self):
        return self.once("status")["processes"]

    def alarms(self):
        return [a["name"] for a in self.once("status")["alarms"]]

    def ready_procs(self):
        """Every child listed, each running and READY (10 s at most)."""
        def ready():
            ps = self.procs()
            ok = all(p["pid"] > 0 and p["ready"] for p in ps)
            return (ps,) if ok else None
        return wait_for("every child ready", ready, timeout=10)[0]


@pytest.fixture
def cd():
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    yield from cordonrig.running(Daemon())


def proc_status(pid):
    """/proc/PID/status as a dict of its lines."""
    with open("/proc/%d/status" % pid) as f:
        return dict(ln.rstrip("\n").split(":\t", 1) for ln in f
                    if ":\t" in ln)


def documented_caps():
    """The capabilities cordond(8) lists under CAPABILITIES."""
    with open(MAN) as f:
        text = f.read()
    sec = re.search(r'^\.Sh CAPABILITIES\n(.*?)^\.Sh ', text, re.S | re.M)
    assert sec, "cordond(8) has no CAPABILITIES section"
    return set(re.findall(r"CAP_[A-Z_]+", sec.group(1)))


def children(cd):
    ps = cd.ready_procs()
    if not ps:
        pytest.skip("this build starts no child processes")
    return ps


def test_parent_caps_are_the_documented_set(cd):
    names = documented_caps()
    assert names == set(CAP_BITS), names ^ set(CAP_BITS)
    want = sum(1 << CAP_BITS[n] for n in names)
    # What this test runs with bounds what cordond can keep.
    mine = int(proc_status(os.getpid())["CapBnd"], 16)
    st = proc_status(cd.proc.pid)
    assert int(st["CapEff"], 16) == want & mine, st["CapEff"]
    assert int(st["CapPrm"], 16) == want & mine, st["CapPrm"]
    assert int(st["CapBnd"], 16) == want & mine, st["CapBnd"]
    assert st["NoNewPrivs"] == "1"


def check_child(p, parent_pid):
    pid, pw = p["pid"], pwd.getpwnam(p["user"])
    st = proc_status(pid)
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        assert f.read().split(b"\0")[1:3] == [b"-P", p["name"].encode()]
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4, (p, st["Uid"])
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4, (p, st["Gid"])
    assert set(st["Groups"].split()) <= {str(pw.pw_gid)}, st["Groups"]
    assert pw.pw_uid != 0 and pw.pw_gid != 0
    # The bounding set too: nothing an exec could give back.
    for c in ("CapInh", "CapPrm", "CapEff", "CapAmb", "CapBnd"):
        assert int(st[c], 16) == 0, (p["name"], c, st[c])
    assert st["NoNewPrivs"] == "1", p
    assert st["Seccomp"] == "2", p
    assert os.readlink("/proc/%d/root" % pid) == EMPTY, p
    mine = os.readlink("/proc/%d/ns/net" % parent_pid)
    theirs = os.readlink("/proc/%d/ns/net" % pid)
    assert (theirs == mine) == p["net"], (p, theirs, mine)
    with open("/proc/%d/environ" % pid, "rb") as f:
        assert b"NOTIFY_SOCKET=" not in f.read(), p


def test_children_sandboxed(cd):
    for p in children(cd):
        check_child(p, cd.proc.pid)
    st = os.lstat(EMPTY)
    assert st.st_uid == 0 and (st.st_mode & 0o7777) == 0o755
    assert os.listdir(EMPTY) == []


def test_kill9_each_child_restarted(cd):
    for p in children(cd):
        t0 = time.monotonic()
        os.kill(p["pid"], signal.SIGKILL)

        def back():
            q = [x for x in cd.procs() if x["name"] == p["name"]][0]
            return q if q["pid"] not in (0, p["pid"]) and q["ready"] \
                else None
        q = wait_for("%s back" % p["name"], back, timeout=5)
        assert time.monotonic() - t0 < 2.0, p["name"]
        assert q["crashes"] == p["crashes"] + 1, q
        assert q["starts"] == p["starts"] + 1, q
        assert q["last_exit"] == "killed by SIGKILL", q
        assert q["refused"] == p["refused"], q
        check_child(q, cd.proc.pid)
        assert "process-restarted" in cd.alarms()
    assert "%s: pid %d ended (killed by SIGKILL)" % (p["name"], p["pid"]) \
        in cd.logtext()


def test_crash_loop_alarm(cd):
    p = children(cd)[0]
    assert "process-crash-loop" not in cd.alarms()
    for _ in range(5):
        old = [x for x in cd.procs() if x["name"] == p["name"]][0]
        os.kill(old["pid"], signal.SIGKILL)
        wait_for("restart", lambda: [
            x for x in cd.procs() if x["name"] == p["name"] and
            x["pid"] not in (0, old["pid"]) and x["ready"]], timeout=10)
    assert "process-crash-loop" in cd.alarms()


def test_hidden_option_needs_a_channel():
    """`cordond -P NAME` typed by hand: no channel on fd 3, no child."""
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    r = subprocess.run([CORDOND, "-P", "identity"], capture_output=True,
                       text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r
    assert "cordond: " in r.stderr
