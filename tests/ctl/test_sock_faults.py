"""The control sockets under faults (issue 11): a frozen cordond and the
clients that gave up on it meanwhile; stalled clients that try to take
every connection slot.

- SIGSTOP cordond while cordonctl -t 1 sends `commit` and `session
  revoke` (and raw clients send changes: one keeping its connection past
  its deadline, one closing it, one shutting its reading side): each
  gives up, cordonctl says nothing was changed, and after SIGCONT none
  of those requests is executed (revision, audit log, sessions).
- 64+ stalled connections from one non-root uid in the socket group, on
  both sockets, and 8 connections from each of 8 such uids: root and
  another admin are still served on both sockets, at once.

cordond runs the real cordon-dp on net_null ports (commit needs it) with
an identity group (sessions).  Run as root:
/usr/bin/python3 -m pytest tests/ctl/test_sock_faults.py
"""
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import time

import pytest
from jwcrypto import jwk, jwt

import cordonrig
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, control_conf,
                       dataplane_conf, geo_conf)

ISS = "https://idp.test"
NOGROUP = 65534         # control_conf's socket_group "nogroup"

CONF = geo_conf((("198.51.100.0/24", "CN"), ("192.0.2.0/24", "US"))) + """\
regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = [ "ssh" ];
      direction = "in"; action = "drop"; }
);
default = { action = "allow"; };
identity: {
    issuers = ( { name = "corp"; issuer = "%(iss)s"; audience = [ "cordon" ];
        jwks = "%(dir)s/jwks.json"; algorithms = [ "ES256" ]; } );
    claims = { country = [ "ctry" ]; };
    services = [ "ssh" ];
    unidentified = { action = "drop"; };
    sessions = { capacity = 64; max_ttl = 3600; per_subject = 16; };
};
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1", mbufs=4096) + control_conf()


class Rig(cordonrig.Cordond):
    fail = staticmethod(pytest.fail)
    conn_timeout = 20

    def __init__(self, dp=True):
        super().__init__(prefix="cordon-sockf-")
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        pub = json.loads(self.key.export_public())
        pub["alg"] = "ES256"
        with open(self.dir + "/jwks.json", "w") as f:
            json.dump({"keys": [pub]}, f)
        self.write_conf(CONF, iss=ISS, dp=CORDON_DP if dp else "/bin/false")

    def start(self, dp=True):
        self.spawn("-d", "--test-timers")
        cordonrig.wait_for("control socket", self.answers, timeout=20,
                           fail=pytest.fail)
        if dp:
            self.wait_dp_up()

    def token(self, sub):
        now = int(time.time())
        t = jwt.JWT(header={"alg": "ES256", "kid": "k1"}, claims={
            "iss": ISS, "aud": "cordon", "sub": sub, "ctry": "US",
            "iat": now - 60, "exp": now + 600})
        t.make_signed_token(self.key)
        return t.serialize()

    def ctl(self, *args, timeout=30):
        return subprocess.Popen([CORDONCTL, "-s", self.sock, *args],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def audit_cmds(self):
        return [r["cmd"] for r in self.ok("show", what="audit")["records"]]


@pytest.fixture
def rig():
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    yield from cordonrig.running(Rig())


@pytest.fixture
def rig_nodp():
    cordonrig.need_binaries(CORDOND, CORDONCTL)
    r = Rig(dp=False)
    try:
        r.start(dp=False)
        yield r
    finally:
        r.stop()
        r.cleanup()


def frame(obj):
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def mono_ms():
    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1000)


# -- a frozen daemon ---------------------------------------------------------

def test_frozen_daemon_runs_no_abandoned_change(rig):
    """Regression (issue 11): after SIGSTOP/SIGCONT, a commit and a
    session revoke whose clients had already exited with an error were
    executed.  Now every client that gave up is told nothing was changed,
    and nothing was."""
    for sub in ("alice", "bob", "carol"):
        rig.ok("session-add", token=rig.token(sub), src="192.0.2.10")
    sids = sorted(s["id"] for s in rig.ok("session-list")["sessions"])
    rig.ok("set", kind="rule", name="rdp", attrs={
        "src": "prohibited", "ports": ["3389"], "proto": "tcp",
        "action": "reject"})
    rev = rig.ok("status")["running_revision"]
    audit = rig.audit_cmds()

    os.kill(rig.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        procs = [rig.ctl("-t", "1", "commit"),
                 rig.ctl("-t", "1", "session", "revoke", "id",
                         str(sids[0]))]
        # A client that keeps its connection past its deadline, and one
        # without a deadline that closes its connection.
        stay = cordonrig.Conn(rig.sock, timeout=20)
        stay_deadline = mono_ms() + 1000
        stay.send_raw(frame({"v": 1, "cmd": "session-revoke",
                             "args": {"sub": "bob"},
                             "deadline_ms": stay_deadline}))
        gone = cordonrig.Conn(rig.sock, timeout=20)
        gone.send_raw(frame({"v": 1, "cmd": "commit", "args": {}}))
        gone.close()
        # One that gives up as cordonctl does, by shutting its reading
        # side, but stays connected: its deadline is far, the start
        # notice cannot reach it, so its change is not made either.
        shut = cordonrig.Conn(rig.sock, timeout=20)
        shut.send_raw(frame({"v": 1, "cmd": "session-revoke",
                             "args": {"sub": "carol"},
                             "deadline_ms": mono_ms() + 60000}))
        shut.s.shutdown(socket.SHUT_RD)
        for p in procs:
            out, err = p.communicate(timeout=10)
            assert p.returncode == 3, err
            assert "nothing was changed" in err, err
        assert time.monotonic() - t0 < 5
        time.sleep(max(0, stay_deadline + 200 - mono_ms()) / 1000)
    finally:
        os.kill(rig.proc.pid, signal.SIGCONT)
    r = stay.recv()
    assert r["error"]["code"] == "deadline-passed", r
    stay.close()
    cordonrig.wait_for("the drops logged", lambda: rig.logtext().count(
        "not served") >= 5, timeout=5, fail=pytest.fail)
    shut.close()
    st = rig.ok("status")
    assert st["running_revision"] == rev and st["candidate"]
    assert sorted(s["id"] for s in rig.ok("session-list")["sessions"]) == \
        sids
    assert rig.audit_cmds() == audit
    # The daemon is fine: the same commit, not abandoned, is made.
    p = rig.ctl("-t", "30", "commit")
    out, err = p.communicate(timeout=40)
    assert p.returncode == 0, err
    assert rig.ok("status")["running_revision"] == rev + 1


def test_change_gets_start_notice(rig_nodp):
    """A change sent with a deadline is preceded by the start notice; a
    deadline too near (under 100 ms) is not started; a read-only request
    gets no notice."""
    c = cordonrig.Conn(rig_nodp.sock, timeout=20)
    c.send_raw(frame({"v": 1, "cmd": "set", "args": {
        "kind": "default", "attrs": {"action": "drop"}},
        "deadline_ms": mono_ms() + 10000}))
    assert c.recv() == {"v": 1, "started": True}
    assert c.recv()["ok"]
    c.send_raw(frame({"v": 1, "cmd": "status",
                      "deadline_ms": mono_ms() + 10000}))
    assert c.recv()["ok"]
    c.send_raw(frame({"v": 1, "cmd": "set", "args": {
        "kind": "default", "attrs": {"action": "allow"}},
        "deadline_ms": mono_ms() + 50}))
    r = c.recv()
    assert r["error"]["code"] == "deadline-passed", r
    c.send_raw(frame({"v": 1, "cmd": "status", "deadline_ms": "soon"}))
    assert c.recv()["error"]["code"] == "bad-request"
    c.close()
    assert "action = \"drop\"" in rig_nodp.ok("show", what="candidate")[
        "text"]


# -- stalled clients ---------------------------------------------------------

def in_child(uid, fn, close=()):
    """Runs FN() as UID (group nogroup: it may use the control socket) in
    a forked child, which first closes the fds CLOSE.  Returns (pid,
    read end of a pipe): FN gets the write end and reports there."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            for fd in close:
                os.close(fd)
            os.setgroups([NOGROUP])
            os.setgid(NOGROUP)
            os.setuid(uid)
            fn(w)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def stall(paths, n):
    """N connections to each of PATHS, each holding half a request.
    Returns those cordond kept."""
    conns = []
    for _ in range(n):
        for p in paths:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(1)
                s.connect(p)
                s.send(struct.pack(">I", 100) + b'{"v":1')
                conns.append(s)
            except OSError:
                pass
    time.sleep(0.5)
    kept = []
    for s in conns:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            kept.append(s)
        except OSError:
            pass
    return kept


def served_both(rig):
    """status on both sockets, each within a second."""
    for path in (rig.sock, rig.ro):
        t0 = time.monotonic()
        c = cordonrig.Conn(path, timeout=3)
        assert c.req("status")["ok"]
        c.close()
        assert time.monotonic() - t0 < 1, path
    return True


def other_admin_served(rig, uid):
    def fn(w):
        served_both(rig)
        os.write(w, b"ok")
    pid, r = in_child(uid, fn)
    out = os.read(r, 16)
    os.close(r)
    os.waitpid(pid, 0)
    return out == b"ok"


def hold(rig, uid, n, ready):
    """A child of UID holding N stalled connections on each socket until
    the parent closes READY's write end; reports how many were kept."""
    def fn(w):
        kept = stall([rig.sock, rig.ro], n)
        os.write(w, b"%d\n" % len(kept))
        os.read(ready[0], 1)
    return in_child(uid, fn, close=(ready[1],))


@contextlib.contextmanager
def stalled(rig, uid, n):
    """N stalled connections of UID on each socket while the block runs;
    it gets how many cordond kept."""
    ready_r, ready_w = os.pipe()
    pid, r = hold(rig, uid, n, (ready_r, ready_w))
    try:
        yield int(os.read(r, 64).split()[0])
    finally:
        os.close(ready_w)
        os.waitpid(pid, 0)
        os.close(r)
        os.close(ready_r)


def test_stalled_clients_of_one_uid_lock_no_one_out(rig_nodp):
    """Regression (issue 11): 64 stalled connections from one local user
    locked every other admin, root included, out of both sockets."""
    rig = rig_nodp
    with stalled(rig, 4100, 70) as kept:
        assert 1 <= kept <= 8, kept
        assert served_both(rig)
        assert other_admin_served(rig, 4101)


def test_stalled_clients_of_many_uids_lock_no_one_out(rig_nodp):
    """8 uids with 8 stalled connections each fill the table: root takes
    its reserve, and a ninth admin an idle slot of one of them."""
    rig = rig_nodp
    ready_r, ready_w = os.pipe()
    kids = [hold(rig, 4200 + i, 8, (ready_r, ready_w)) for i in range(8)]
    try:
        kept = [int(os.read(r, 64).split()[0]) for _, r in kids]
        assert sum(kept) >= 48, kept
        assert served_both(rig)
        assert other_admin_served(rig, 4300)
    finally:
        os.close(ready_w)
        for pid, r in kids:
            os.waitpid(pid, 0)
            os.close(r)
        os.close(ready_r)
