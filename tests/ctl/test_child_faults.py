"""The durability faults of issue 11 with cordond's children as the
target of kill -9 (issue 15): nothing acknowledged is lost, no state
needs a human to recover.

- The identity child killed during a stream of session adds, with the
  state folder full and then with space again: no add is acknowledged
  while the journal cannot take it; every acknowledged session survives
  a kill -9 of cordond itself; once space is back adds work with no
  repair.
- The control child killed during a commit burst: every acknowledged
  revision is stored, running and audited, `audit-verify` passes, no
  revision is left staged, and after kill -9 of cordond the same holds.
- Stalled clients holding connection slots while the control child
  restarts: the new control child serves root and another admin at
  once, on both sockets, even with the stalled clients back.

The rigs are those of tests/ctl/test_sess_journal.py (a tmpfs state
folder), test_state_faults.py and test_sock_faults.py.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_child_faults.py
"""
import os
import signal
import threading
import time

import pytest

import cordonrig
from cordonrig import CORDOND
from test_child_kill import BACK_S, procs, wait_back
from test_daemon import RULE_RDP, binaries, cd  # noqa: F401 (fixtures)
from test_sess_journal import Rig as JournalRig
from test_sock_faults import other_admin_served, served_both, stalled
from test_sock_faults import rig_nodp  # noqa: F401  (the fixture)
from test_state_faults import audit_lines, check_audited, revisions


def kill_child(rig, name):
    """kill -9 of child NAME; waits until another one is ready (within
    BACK_S).  Its status row."""
    old = procs(rig)[name]["pid"]
    os.kill(old, signal.SIGKILL)
    return wait_back(rig, name, old)[0]


class Loop(threading.Thread):
    """FN() back to back until stopped; FN's exceptions end the loop and
    are raised again by finish()."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn = fn
        self.halt = threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.halt.is_set():
                self.fn()
        except Exception as e:  # noqa: BLE001  (raised by finish)
            self.error = e

    def finish(self):
        self.halt.set()
        self.join(60)
        assert not self.is_alive(), "a request hangs"
        if self.error is not None:
            raise self.error


# -- the identity child and the sessions journal -----------------------------

@pytest.fixture
def jrig():
    cordonrig.need_binaries(CORDOND)
    r = JournalRig()
    try:
        r.start()
        wait_for_child(r, "identity")
        yield r
    finally:
        r.close()


def wait_for_child(rig, name):
    cordonrig.wait_for(name + " ready", lambda: procs(rig)[name]["ready"],
                       timeout=10)


def adds(rig, replies):
    """One session add (new subject, new source) into REPLIES: (reply or
    None when the connection failed)."""
    try:
        replies.append(rig.add())
    except (OSError, ValueError):
        replies.append(None)


def adds_while_killed(rig, kills=2):
    """Session adds back to back while the identity child is killed
    KILLS times (each time back within BACK_S): their replies."""
    replies = []
    loop = Loop(lambda: adds(rig, replies))
    loop.start()
    for _ in range(kills):
        time.sleep(0.3)
        kill_child(rig, "identity")
    time.sleep(0.3)
    loop.finish()
    assert replies, "no add was tried"
    return replies


def check_adds(replies, journal=True):
    """The ids REPLIES acknowledged; every refusal is the identity
    child's absence or (JOURNAL) the journal's."""
    for r in replies:
        if r is None or r["ok"]:
            continue
        e = r["error"]
        assert e["code"] == "identity-unavailable" or (
            journal and e["code"] == "internal" and
            "journal" in e["message"]), r
    return {r["data"]["id"] for r in replies if r and r["ok"]}


def test_identity_killed_during_adds_full_then_free(jrig):
    rig = jrig
    acked = rig.add_ok(5)
    # Full: adds refused (the journal's reserve may take the first few,
    # as in test_sess_journal), whichever of the journal or the killed
    # identity child refused them; nothing half-granted.
    rig.fill()
    full = adds_while_killed(rig)
    acked |= check_adds(full)
    assert [r for r in full if r and not r["ok"] and
            "journal" in r["error"]["message"]], full
    assert rig.ids() == acked
    # Space again: adds go on while the identity child is killed; every
    # one acknowledged is a session, and survives cordond's kill -9.
    rig.free()
    free = adds_while_killed(rig)
    ok = check_adds(free, journal=False)
    assert ok, free
    acked |= ok
    assert rig.ids() == acked
    rig.restart(kill=True)
    wait_for_child(rig, "identity")
    assert rig.ids() == acked, "acknowledged sessions lost"
    # No repair by hand: the next add is acknowledged, no journal alarm.
    acked |= rig.add_ok(1)
    assert rig.ids() == acked
    assert not [a for a in rig.ok("alarm-list")["alarms"]
                if a["name"] == "session-journal"]
    print("full: %d tried; free: %d acknowledged of %d" % (
        len(full), len(ok), len(free)))


# -- the control child and commits --------------------------------------------

def commit_burst(d, acked, n):
    """One set + commit (rule N[0]) on a connection of its own; an
    acknowledged revision into ACKED.  A connection the killed control
    child took along is an error, not a failure."""
    n[0] += 1
    try:
        r = d.req("set", kind="rule", name="k%d" % n[0], attrs=RULE_RDP)
        # At most 64 of them: a fast machine would pass the rule limit.
        if r["ok"] and n[0] > 64:
            d.req("delete", kind="rule", name="k%d" % (n[0] - 64))
        if r["ok"]:
            r = d.req("commit")
            if r["ok"]:
                acked.add(r["data"]["revision"])
    except (OSError, ValueError):
        time.sleep(0.01)


def has_ctl(d):
    return "control" in procs(d)


def test_control_killed_during_commits(cd):
    d = cd
    if not has_ctl(d):
        pytest.skip("no control child in this build")
    acked, n = set(), [0]
    loop = Loop(lambda: commit_burst(d, acked, n))
    loop.start()
    for _ in range(3):
        time.sleep(0.8)
        kill_child(d, "control")
    time.sleep(0.8)
    loop.finish()
    assert len(acked) >= 3, acked

    def consistent():
        st = d.status()
        kept = revisions(d)
        # The store keeps the newest keep_revisions: on a quiet machine
        # the burst commits more than that, and older ones are pruned.
        assert {r for r in acked if r >= kept[0]} <= set(kept), \
            (sorted(acked), kept)
        assert max(acked) <= kept[-1], (sorted(acked), kept)
        assert st["running_revision"] == kept[-1], (st, kept)
        check_audited(d, [("commit", r) for r in acked if r >= kept[0]])
        # Pruned or not, every acknowledged commit has its record.
        done = {r["revision"] for r in audit_lines(d)
                if r["result"] == "ok" and r["cmd"].startswith("commit")}
        assert acked <= done, sorted(acked - done)
        assert d.ok("audit-verify")["intact"]
        assert not [r for r in audit_lines(d) if r["cmd"] == "recover"]
        # Nothing staged behind: the next commit goes through.
        d.ok("set", kind="rule", name="after%d" % len(kept),
             attrs=RULE_RDP)
        d.wait_dp_up()
        acked.add(d.ok("commit")["revision"])
        dp = d.status()["dataplane"]
        assert dp["in_sync"] and dp["revision"] == max(acked), dp
    consistent()
    # kill -9 of cordond: the same, nothing completed by recovery.
    d.kill9()
    d.spawn("-d", "--test-timers")
    cordonrig.wait_for("control socket", d.answers, timeout=20,
                       fail=pytest.fail)
    d.wait_dp_up()
    consistent()
    ps = procs(d)
    assert ps["control"]["starts"] == 1, ps     # a new cordond's


# -- stalled clients while the control child restarts ------------------------

def test_stalled_clients_while_control_restarts(rig_nodp):
    rig = rig_nodp
    if not has_ctl(rig):
        pytest.skip("no control child in this build")
    with stalled(rig, 4100, 70) as kept:
        assert 1 <= kept <= 8, kept
        assert served_both(rig)
        t0 = time.monotonic()
        kill_child(rig, "control")
        # Root and another admin are served by the new child at once.
        assert served_both(rig)
        assert time.monotonic() - t0 < BACK_S + 1
        assert other_admin_served(rig, 4101)
    # The stalled clients come back to the new child: still no lock-out.
    with stalled(rig, 4100, 70) as kept:
        assert 1 <= kept <= 8, kept
        assert served_both(rig)
        assert other_admin_served(rig, 4101)
