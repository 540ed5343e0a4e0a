"""The identity child (docs/identity.md, "Processes"): tokens are judged
in `cordond -P identity`, sandboxed, and a child that breaks out of its
system-call list dies without costing anything but the request in hand.

Uses build/tests/cordond-testsys: cordond built with CORDON_TEST_SYSCALL
(Makefile), whose identity child calls mount(2) when it is handed the
token "cordon-test-forbidden-syscall".  The default build has no such
code (the test checks that too).  Run with /usr/bin/python3 -m pytest
tests/ctl/test_ident_proc.py.
"""
import os
import time

import pytest

import cordonrig
from cordonrig import CORDONCTL, CORDOND
from test_identity_daemon import US, Rig

TESTSYS = os.path.join(os.path.dirname(CORDOND), "tests", "cordond-testsys")
MARKER = "cordon-test-forbidden-syscall"


@pytest.fixture
def rig(monkeypatch):
    cordonrig.need_binaries(TESTSYS, CORDONCTL)
    monkeypatch.setattr(cordonrig, "CORDOND", TESTSYS)
    yield from cordonrig.running(Rig())


def identity(rig):
    return [p for p in rig.ctlj("show", "status")["processes"]
            if p["name"] == "identity"][0]


def test_identity_child_sandboxed(rig):
    """The child runs as its own user, without the network, READY."""
    r = rig.ctl("session", "add", "--token", rig.token(), "--src", US)
    assert r.returncode == 0, r.stderr
    p = identity(rig)
    assert p["ready"] and p["user"] == "cordon-ident" and not p["net"]
    with open("/proc/%d/status" % p["pid"]) as f:
        status = f.read()
    uid = [ln.split()[1:] for ln in status.splitlines()
           if ln.startswith("Uid:")][0]
    assert "0" not in uid, status
    assert "Seccomp:\t2" in status
    assert os.readlink("/proc/%d/root" % p["pid"]) == "/run/cordon/empty"
    assert os.stat("/proc/%d/ns/net" % p["pid"]).st_ino != \
        os.stat("/proc/self/ns/net").st_ino


def test_forbidden_syscall_kills_only_the_child(rig):
    r = rig.ctl("session", "add", "--token", rig.token(), "--src", US)
    assert r.returncode == 0, r.stderr
    before = rig.sessions()["sessions"]
    assert len(before) == 1
    pid = identity(rig)["pid"]
    path = rig.dir + "/marker"
    with open(path, "w") as f:
        f.write(MARKER + "\n")
    r = rig.ctl("session", "add", "--token", path, "--src", "192.0.2.11")
    # No verdict is no session, and says so.
    assert r.returncode != 0
    assert "identity-unavailable" in r.stderr, r.stderr
    # Killed by its seccomp list, counted, restarted.
    deadline = time.time() + 10
    while time.time() < deadline:
        p = identity(rig)
        if p["ready"] and p["pid"] != pid:
            break
        time.sleep(0.1)
    assert p["crashes"] >= 1 and "SIGSYS" in p["last_exit"], p
    assert p["pid"] != pid and p["ready"], p
    # The sessions before are unchanged: the same grant, the same end
    # (shown on the wall clock as it is when asked: within a second).
    after = rig.sessions()["sessions"]
    assert len(after) == 1
    assert abs(after[0].pop("expires") - before[0].pop("expires")) <= 1
    assert after == before
    # And the next token is judged by the new child.
    r = rig.ctl("session", "add", "--token", rig.token(sub="bob"),
                "--src", "192.0.2.12")
    assert r.returncode == 0, r.stderr
    assert len(rig.sessions()["sessions"]) == 2
    assert "process-restarted" in rig.logtext()


def test_default_build_has_no_marker():
    """The marker exists only in the test build."""
    with open(CORDOND, "rb") as f:
        assert MARKER.encode() not in f.read()
    with open(TESTSYS, "rb") as f:
        assert MARKER.encode() in f.read()
