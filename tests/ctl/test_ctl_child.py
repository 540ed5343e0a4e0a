"""The control child (issue 15, PROC_CTL): cordond's admin sockets are
read by a sandboxed child, which the parent restarts when it dies.

- kill -9 of the child while idle: a connected client sees its
  connection end (never a false answer), and requests are served again
  within 2 s, by a new child;
- kill -9 of the child while `commit` runs, at several moments: the
  client gets either the ok or an error; what was acknowledged is what
  runs (revision and dataplane), and a change made without its answer
  delivered is stored and audited as such, exactly as for a client that
  went away;
- the child runs as its own user, in its own network namespace.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_ctl_child.py
"""
import os
import signal
import subprocess
import time

import pytest

import cordonrig
from cordonrig import CORDONCTL
from test_sock_faults import rig, rig_nodp  # noqa: F401 (fixtures)


def child(rig):
    """The control child's entry in status (ready), waited for."""
    def ready():
        try:
            st = rig.req("status")
        except OSError:
            return None
        for p in st.get("data", {}).get("processes", []):
            if p["name"] == "control" and p["ready"] and p["pid"]:
                return p
        return None
    return cordonrig.wait_for("the control child", ready, timeout=10,
                              fail=pytest.fail)


def served_again(rig, t0, old_pid, within=2.0):
    """Status answered by a new child within WITHIN s of T0."""
    def answered():
        try:
            return rig.req("status")["ok"]
        except OSError:
            return False
    cordonrig.wait_for("served again", answered, timeout=within + 3,
                       step=0.02, fail=pytest.fail)
    took = time.monotonic() - t0
    assert took < within, "served again after %.2f s" % took
    p = child(rig)
    assert p["pid"] != old_pid
    assert p["starts"] >= 2


def test_kill_idle_back_within_2s(rig_nodp):
    p = child(rig_nodp)
    assert p["user"] == "cordon-ctl" and p["net"] is False
    # Its own network namespace, its own uid: not root's.
    assert os.readlink("/proc/%d/ns/net" % p["pid"]) != \
        os.readlink("/proc/self/ns/net")
    with open("/proc/%d/status" % p["pid"]) as f:
        uid = [ln.split()[1] for ln in f if ln.startswith("Uid:")][0]
    assert uid != "0"
    idle = cordonrig.Conn(rig_nodp.sock, timeout=5)
    assert idle.ok("status")
    os.kill(p["pid"], signal.SIGKILL)
    t0 = time.monotonic()
    # The idle connection ends: no answer comes on it any more.
    cordonrig.wait_for("the idle client closed", idle.closed, timeout=2,
                       fail=pytest.fail)
    idle.close()
    served_again(rig_nodp, t0, p["pid"])
    assert "process control" in rig_nodp.logtext()


def rule(i):
    return {"src": "prohibited", "ports": [str(3300 + i)], "proto": "tcp",
            "action": "reject"}


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.04, 0.1, 0.3])
def test_kill_during_commit(rig, delay):
    """Whatever moment the child dies at, the client is not told ok for
    a change that is not running, nor an error for one it was told ok
    of."""
    name = "k%d" % int(delay * 1000)
    rig.ok("set", kind="rule", name=name, attrs=rule(int(delay * 1000)))
    before = rig.ok("status")["running_revision"]
    p = child(rig)
    cmd = subprocess.Popen([CORDONCTL, "-s", rig.sock, "-t", "30",
                            "commit"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    os.kill(p["pid"], signal.SIGKILL)
    t0 = time.monotonic()
    out, err = cmd.communicate(timeout=60)
    served_again(rig, max(t0, time.monotonic() - 1.0), p["pid"], within=5)
    st = rig.ok("status")
    after = st["running_revision"]
    print("delay %s: exit %d, revision %d -> %d: %s" % (
        delay, cmd.returncode, before, after, err.strip()))
    if cmd.returncode == 0:
        # Acknowledged: it runs, and it is stored.
        assert after == before + 1, (out, err)
    else:
        assert after in (before, before + 1), (out, err)
        assert "ok" not in out.lower().split(), out
        if after == before + 1:
            # Made, its answer not delivered: stored, and audited so.
            audit = rig.ok("show", what="audit")["records"]
            assert any(r["cmd"] == "promote" for r in audit), audit
        else:
            assert st["candidate"]
    revs = rig.ok("show", what="revisions")
    assert max(r["revision"] for r in revs["revisions"]) == after
    dp = rig.wait_dp_up()
    assert dp["revision"] == after
    # The daemon is fine: the next commit, if any, is made and answered.
    if after == before:
        c = subprocess.run([CORDONCTL, "-s", rig.sock, "-t", "30",
                            "commit"], capture_output=True, text=True,
                           timeout=60)
        assert c.returncode == 0, c.stderr
        assert rig.ok("status")["running_revision"] == before + 1
