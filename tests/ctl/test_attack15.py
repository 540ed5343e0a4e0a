"""Attacks on cordond's privilege separation (issue 15) from a child
taken over (tests/lib/fakechild.py): the parent must refuse what a
compromised child proposes beyond its role, and kill that child.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_attack15.py
"""
import fcntl
import json
import os
import pty
import socket
import struct
import subprocess
import termios
import threading
import time

import pytest

import cordonrig
import fakechild
from cordonrig import CORDOND
from test_procs import Daemon

CTL_T_ACCEPTED = fakechild.PROC_T_BASE
CTL_T_REQ = CTL_T_ACCEPTED + 1
CTL_T_REPLY = fakechild.PROC_T_BASE + 10


@pytest.fixture
def cd():
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    yield from cordonrig.running(Daemon())


def ctl_req(cid, obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return struct.pack("=IIq", cid, 0, obj.get("deadline_ms", 0)) + body


def listener(cd, socks, path):
    """Among SOCKS, the listening socket bound to PATH."""
    for s in socks:
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) and \
                s.getsockname() == path:
            return s
    pytest.fail("the control child holds no listener on %s" % path)


def test_ctl_child_passes_the_listening_socket(cd):
    """SO_PEERCRED of a listening socket is whoever called listen():
    cordond itself, uid 0.  A control child that passes the control
    listener as a client's socket must not get requests served as
    root on the read-write socket, with no admin connected."""
    cd.ready_procs()
    pid = fakechild.child_pid(cd.proc.pid, "control")
    socks = fakechild.child_sockets(pid)
    lst = listener(cd, socks, cd.sock)
    fc = fakechild.FakeChild(cd.proc.pid, "control")
    try:
        fc.send(CTL_T_ACCEPTED, struct.pack("=I", 4242), fds=[lst.fileno()])
        try:
            fc.send(CTL_T_REQ, ctl_req(4242, {"v": 1, "cmd": "status",
                                              "args": {}}))
        except BrokenPipeError:
            pass  # killed already
        got = fc.drain(timeout=2)
        assert not [m for m in got if m and m[0] == CTL_T_REPLY], \
            "served a request on the listening socket: %r" % got
        assert got and got[-1] is None, "the child was not killed"
    finally:
        fc.close()
        for s in socks:
            s.close()
    # A new control child serves the real admins.
    cordonrig.wait_for("served again", cd.answers, timeout=10,
                       fail=pytest.fail)
    p = [x for x in cd.procs() if x["name"] == "control"][0]
    assert p["refused"] >= 1, p


class TtyDaemon(Daemon):
    """cordond started from a terminal (an admin running it in the
    foreground): its stdio and controlling terminal are a pty."""

    def spawn(self, *args, wrap=()):
        master, slave = pty.openpty()
        self.master = master

        def ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        self.proc = subprocess.Popen(
            list(wrap) + [CORDOND] + list(args) + ["-f", self.conf],
            stdin=slave, stdout=slave, stderr=slave,
            start_new_session=True, preexec_fn=ctty)
        os.close(slave)
        threading.Thread(target=self.pump, daemon=True).start()
        return self.proc

    def pump(self):
        while True:
            try:
                b = os.read(self.master, 4096)
            except OSError:
                return
            if not b:
                return
            self.log.write(b)
            self.log.flush()


def stat_fields(pid):
    """/proc/PID/stat after the command: state, ppid, pgrp, session,
    tty_nr, ..."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


@pytest.fixture
def ttycd():
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    yield from cordonrig.running(TtyDaemon())


def test_children_have_no_controlling_terminal(ttycd):
    """A child keeps its stdout and stderr (whatever cordond's are), but
    not cordond's controlling terminal: with it, a child that may call
    ioctl (fetch: libcurl) could push keystrokes into the admin's shell
    with TIOCSTI.  Each child leads a session of its own."""
    ps = ttycd.ready_procs()
    assert stat_fields(ttycd.proc.pid)[4] != "0", "the rig has no tty"
    for p in ps:
        st = stat_fields(p["pid"])
        assert st[4] == "0", (p["name"], "tty_nr", st[4])
        assert st[3] == str(p["pid"]), (p["name"], "session", st[3])


CTL_T_START = fakechild.PROC_T_BASE + 9


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmHWM:"):
                return int(ln.split()[1])
    return 0


def test_ctl_child_flood_while_start_is_awaited(cd):
    """While cordond waits for STARTED (a change with a deadline), what
    the control child sends meanwhile is held, undecoded.  A child that
    sends 2 MiB messages instead of its answer must be cut off at what
    a real child could have outstanding (one request per client), not
    grow the root process by gigabytes until the call times out."""
    cd.ready_procs()
    pid = fakechild.child_pid(cd.proc.pid, "control")
    socks = fakechild.child_sockets(pid)
    lst = listener(cd, socks, cd.sock)
    fc = fakechild.FakeChild(cd.proc.pid, "control")
    admin = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        admin.connect(cd.sock)
        srv, _ = lst.accept()
        fc.send(CTL_T_ACCEPTED, struct.pack("=I", 1), fds=[srv.fileno()])
        srv.close()
        dl = int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000) + 20000
        fc.send(CTL_T_REQ, ctl_req(1, {"v": 1, "cmd": "session-revoke",
                                       "args": {"id": 1},
                                       "deadline_ms": dl}))
        m = fc.recv(5)
        assert m and m[0] == CTL_T_START, m
        before = vm_hwm_kb(cd.proc.pid)
        blob = ctl_req(1, {"x": "a" * ((2 << 20) - 64)})
        fc.sock.settimeout(5)
        sent = 0
        try:
            for _ in range(150):  # 300 MiB
                fc.send(CTL_T_REQ, blob)
                sent += 1
        except (BrokenPipeError, ConnectionResetError):
            pass
        grew = vm_hwm_kb(cd.proc.pid) - before
        assert grew < 150 * 1024, "cordond grew by %d KiB (%d sent)" % (
            grew, sent)
    finally:
        admin.close()
        fc.close()
        for s in socks:
            s.close()
    cordonrig.wait_for("served again", cd.answers, timeout=10,
                       fail=pytest.fail)


IDENT_T_VERIFY = fakechild.PROC_T_BASE + 2
IDENT_T_VERDICT = fakechild.PROC_T_BASE + 5
JOSE_ALG_RS256, JOSE_ALG_ES256 = 0, 2


@pytest.fixture
def idrig():
    from test_sock_faults import Rig
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    r = Rig(dp=False)
    try:
        r.start(dp=False)
        yield r
    finally:
        r.stop()
        r.cleanup()


def verdict(issuer, alg, claims):
    c = json.dumps(claims, separators=(",", ":")).encode()
    return struct.pack("=iiiIq160s", 0, issuer, alg, len(c),
                       int(claims.get("exp", 0)), b"") + c


def proposed(rig, make):
    """session-add answered by a taken-over identity child with
    MAKE(now): the reply, and whether the child was killed."""
    def ready():
        ps = rig.once("status")["processes"]
        return [p for p in ps if p["name"] == "identity" and p["ready"]]
    cordonrig.wait_for("identity ready", ready, timeout=10, fail=pytest.fail)
    fc = fakechild.FakeChild(rig.proc.pid, "identity")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=rig.req(
        "session-add", token="a.b.c", src="192.0.2.10")))
    try:
        t.start()
        while True:
            m = fc.recv(5)
            assert m is not None, "no VERIFY"
            if m[0] == IDENT_T_VERIFY:
                break
        fc.send(IDENT_T_VERDICT, make(int(time.time())), mid=m[1])
        t.join(10)
        got = fc.drain(timeout=1)
        return out["r"], bool(got) and got[-1] is None
    finally:
        fc.close()


def test_ident_child_proposals_checked(idrig):
    """A compromised identity child proposes sessions the running config
    does not allow: each is refused and the child killed; exp beyond
    max_ttl is cut to max_ttl."""
    iss = "https://idp.test"
    good = {"iss": iss, "aud": "cordon", "sub": "eve", "ctry": "US"}
    for name, make in (
        ("no such issuer", lambda now: verdict(
            5, JOSE_ALG_ES256, dict(good, exp=now + 600))),
        ("another iss", lambda now: verdict(
            0, JOSE_ALG_ES256, dict(good, iss="https://evil", exp=now + 600))),
        ("other aud", lambda now: verdict(
            0, JOSE_ALG_ES256, dict(good, aud="x", exp=now + 600))),
        ("alg not allowed", lambda now: verdict(
            0, JOSE_ALG_RS256, dict(good, exp=now + 600))),
    ):
        r, killed = proposed(idrig, make)
        assert not r["ok"], (name, r)
        assert killed, name
    now = time.time()
    r, killed = proposed(idrig, lambda now: verdict(
        0, JOSE_ALG_ES256, dict(good, exp=now + 30 * 86400)))
    assert r["ok"] and not killed, r
    ss = idrig.ok("session-list")["sessions"]
    assert [s["sub"] for s in ss] == ["eve"], ss
    assert ss[0]["expires"] <= now + 3600 + 5, ss


def test_children_have_no_stdio_of_cordond(cd):
    """A child's stdout and stderr are /dev/null, not cordond's log: a
    child writes only through its channel, where each line is checked
    and prefixed with its name; fd 2 would let it forge cordond's own
    lines and fill the log's disk."""
    ps = cd.ready_procs()
    assert os.readlink("/proc/%d/fd/2" % cd.proc.pid) != "/dev/null"
    for p in ps:
        for fd in (0, 1, 2):
            t = os.readlink("/proc/%d/fd/%d" % (p["pid"], fd))
            assert t == "/dev/null", (p["name"], fd, t)


def test_children_cannot_fork_bomb(cd):
    """Each child's user may hold a few dozen processes and threads at
    most (RLIMIT_NPROC): a compromised child that may clone (fetch,
    for libcurl's resolver) cannot take every pid of the host."""
    for p in cd.ready_procs():
        with open("/proc/%d/limits" % p["pid"]) as f:
            ln = [x for x in f if x.startswith("Max processes")][0]
        soft, hard = ln.split()[2:4]
        assert soft != "unlimited" and int(soft) <= 64, (p["name"], ln)
        assert hard != "unlimited" and int(hard) <= 64, (p["name"], ln)


IDENT_T_KEYSTAT = fakechild.PROC_T_BASE + 4


def test_ident_child_keystat_flood_rated(idrig):
    """Each KEYSTAT with an error is a line of cordond's log: a taken-over
    identity child sending thousands must get the child's log rate, not
    a line each (cordond's own lines drowned, its log's disk filled)."""
    def ready():
        ps = idrig.once("status")["processes"]
        return [p for p in ps if p["name"] == "identity" and p["ready"]]
    cordonrig.wait_for("identity ready", ready, timeout=10, fail=pytest.fail)
    fc = fakechild.FakeChild(idrig.proc.pid, "identity")
    try:
        msg = struct.pack("=IIII256s", 0, 0, 0, 1, b"forged error")
        for _ in range(400):
            fc.send(IDENT_T_KEYSTAT, msg)
        time.sleep(1)
        assert idrig.once("status")  # still answering
    finally:
        fc.close()
    with open(idrig.dir + "/cordond.log", errors="replace") as f:
        n = f.read().count("forged error")
    assert 0 < n <= 101, n
