"""The state folder under faults (issue 11; docs/control.md, "State
folder" and "Recovery").

- A full state file system: the folder on a small tmpfs (mounted in a
  private mount namespace of this test process), filled before and
  during set, commit, rollback, confirm and geo reload.  After space is
  freed every operation works without repair, nothing acknowledged is
  missing, `audit-verify` passes and every change made has its record.
- kill -9 of cordond at random points of a commit burst: after each
  restart the running revision was acknowledged or completed by
  recovery, every revision has its audit record, no candidate is stuck.

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_state_faults.py).
"""
import ctypes
import json
import os
import random
import shutil
import socket
import subprocess
import threading
import time

import pytest

import cordonrig
from test_daemon import DP, RULE_RDP, Daemon, binaries, wait_for  # noqa: F401

CLONE_NEWNS = 0x00020000
TMPFS_MB = 16

needs_dp = pytest.mark.skipif(not DP, reason="cordon-dp has no --control")


def private_mounts():
    """This process (and what it starts) in a mount namespace of its own:
    the tmpfs is gone with it, whatever happens."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        pytest.skip("unshare(CLONE_NEWNS): %s" %
                    os.strerror(ctypes.get_errno()))
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)


class Filler:
    """Fills the file system at DIR up to FREE bytes left."""

    def __init__(self, d):
        self.path = d + "/filler"

    def fill(self, free=0):
        self.free()
        st = os.statvfs(os.path.dirname(self.path))
        n = max(0, st.f_bavail * st.f_frsize - free)
        with open(self.path, "wb") as f:
            chunk = b"\0" * 65536
            try:
                while n > 0:
                    n -= f.write(chunk[:min(n, len(chunk))])
                    f.flush()
            except OSError:
                pass
        if free == 0:
            # tmpfs may still have a partial page: take it too.
            try:
                with open(self.path, "ab") as f:
                    while True:
                        f.write(b"\0" * 512)
                        f.flush()
            except OSError:
                pass

    def free(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def audit_lines(d):
    with open(d.dir + "/state/audit.log") as f:
        return [json.loads(line) for line in f]


def revisions(d):
    return sorted(int(n[:6]) for n in os.listdir(d.dir + "/state/revisions")
                  if n.endswith(".conf"))


def check_audited(d, acked):
    """Every revision after the first has its "ok" record; every ACKED
    (cmd-prefix, revision) change too."""
    recs = audit_lines(d)
    ok = [(r["cmd"], r["revision"]) for r in recs if r["result"] == "ok"]
    for rev in revisions(d):
        if rev == 1:
            continue  # imported at the first start
        assert any(rv == rev and c.split()[0] in
                   ("commit", "rollback", "revert") for c, rv in ok), \
            "revision %d has no audit record" % rev
    kept = revisions(d)
    for cmd, rev in acked:
        assert any(c.startswith(cmd) and rv == rev for c, rv in ok), \
            "acknowledged %s (revision %d) has no record" % (cmd, rev)
        if cmd in ("commit", "rollback"):
            assert rev in kept, "acknowledged revision %d is gone" % rev
    return recs


def attempt(d, acked, cmd, **args):
    """CMD; an acknowledged change goes into ACKED as (cmd, revision)."""
    r = d.req(cmd, **args)
    if r["ok"]:
        rev = r["data"].get("revision", d.status()["running_revision"])
        acked.append((cmd, rev))
    return r


@pytest.fixture
def tmpfs_daemon(binaries):
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    private_mounts()
    d = Daemon()
    state = d.dir + "/state"
    os.makedirs(state)
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%dm,mode=0750" % TMPFS_MB, "tmpfs", state],
                   check=True)
    try:
        d.start()
        yield d
    finally:
        if d.proc:
            d.stop()
        subprocess.run(["umount", "-l", state])
        shutil.rmtree(d.dir, ignore_errors=True)


def full_round(d, fill, free, acked, i):
    """set, commit, rollback, commit confirmed + confirm, geo reload,
    with the state folder filled up to FREE bytes left."""
    fill.fill(free)
    # The rollback first: after it a candidate left by a failed commit
    # is still based on the running revision (there is no discard).
    attempt(d, acked, "rollback", revision=1, commit=True)
    d.req("set", kind="rule", name="r%d" % i, attrs=RULE_RDP)
    attempt(d, acked, "commit", comment="full %d" % i)
    d.req("set", kind="rule", name="c%d" % i, attrs=RULE_RDP)
    if attempt(d, acked, "commit", confirmed_seconds=600)["ok"]:
        attempt(d, acked, "confirm")
    attempt(d, acked, "geo-reload")
    fill.free()


def works_after(d, i):
    """With space again: every operation works, no repair by hand."""
    v = d.ok("audit-verify")
    assert v["intact"], v
    d.ok("set", kind="rule", name="after%d" % i, attrs=RULE_RDP)
    rev = d.ok("commit")["revision"]
    assert d.ok("rollback", revision=1, commit=True)["revision"] == rev + 1
    d.ok("set", kind="rule", name="conf%d" % i, attrs=RULE_RDP)
    d.ok("commit", confirmed_seconds=600)
    d.ok("confirm")
    d.ok("geo-reload")
    return [("commit", rev), ("rollback", rev + 1)]


@needs_dp
def test_full_state_folder(tmpfs_daemon):
    """The wedges of issue 11: a candidate without its base (stale
    forever), a partial audit line (audit-broken until truncated by
    hand), an acknowledged geo reload or revision with no record."""
    d = tmpfs_daemon
    fill = Filler(d.dir + "/state")
    acked = []
    for i, free in enumerate((0, 700, 2500, 5000, 9000)):
        full_round(d, fill, free, acked, i)
        acked += works_after(d, i)
        check_audited(d, acked)
    # A restart finds nothing to repair by hand either.
    d.kill9()
    d.start()
    acked += works_after(d, 99)
    recs = check_audited(d, acked)
    assert d.ok("audit-verify")["intact"]
    assert not [n for n in os.listdir(d.dir + "/state/candidates")
                if n.endswith(".discarded")]
    assert recs[-1]["cmd"] == "geo-reload"


def burst(d, acked, stop):
    """set + commit in a loop until STOP; acknowledged revisions into
    ACKED.  Errors (cordond killed) end it."""
    i = 0
    while not stop.is_set():
        i += 1
        try:
            r = d.req("set", kind="rule", name="b%d" % i, attrs=RULE_RDP)
            if not r["ok"]:
                continue
            r = d.req("commit")
        except Exception:  # cordond killed mid-request
            return
        if r["ok"]:
            acked.add(r["data"]["revision"])


@needs_dp
def test_kill9_commit_burst(binaries):
    """kill -9 at random points of a commit burst, 50 rounds (the review
    made 52 kills): after each restart the running revision is one the client had the answer for,
    or one a "recover" record says recovery completed.  A kill between
    the promotion to N.conf and the reply left one that was neither
    (the reply is now written before the promotion)."""
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    rng = random.Random(11)
    d = Daemon()
    acked = set()
    completed = set()
    try:
        d.start()
        t_end = time.monotonic() + 150
        rounds = 0
        while rounds < 50 and time.monotonic() < t_end:
            rounds += 1
            stop = threading.Event()
            t = threading.Thread(target=burst, args=(d, acked, stop))
            t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            d.kill9()
            stop.set()
            t.join(30)
            d.spawn("-d", "--test-timers")
            wait_for("control socket", d.answers, timeout=20)
            recs = audit_lines(d)
            for r in recs:
                if r["cmd"] == "recover" and \
                        "completed by recovery" in r["diff"]:
                    completed.add(int(r["diff"].split()[1]))
            run = d.status()["running_revision"]
            assert run == 1 or run in acked or run in completed, \
                (run, sorted(acked), sorted(completed))
            # No revision stored behind its client's back (the client
            # stays connected until the kill).
            assert not [r for r in recs if r["cmd"] == "promote"], recs
            # Every acknowledged revision is there (or pruned: older
            # than the oldest kept).
            kept = revisions(d)
            assert not {a for a in acked if a >= kept[0]} - set(kept), \
                (sorted(acked), kept)
            check_audited(d, [])
            v = d.ok("audit-verify")
            assert v["intact"], v
            # No candidate needs repair: the next commit goes through.
            d.ok("set", kind="rule", name="next%d" % rounds,
                 attrs=RULE_RDP)
            d.wait_dp_up()
            acked.add(d.ok("commit")["revision"])
        assert rounds >= 40
        print("rounds %d, completed by recovery %s" %
              (rounds, sorted(completed)))
    finally:
        d.stop()


@needs_dp
def test_commit_answer_undeliverable(binaries):
    """A commit whose client cannot take the answer (its socket shut for
    reading before it asked: the reply's write fails): the change is
    made, stored and audited, and a "promote" record says the answer was
    not delivered.  A restart finds nothing to complete."""
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    d = Daemon()
    try:
        d.start()
        d.ok("set", kind="rule", name="gone", attrs=RULE_RDP)
        c = cordonrig.Conn(d.sock)
        c.s.shutdown(socket.SHUT_RD)
        c.send("commit")
        wait_for("revision 2 stored", lambda: 2 in revisions(d),
                 timeout=15)
        c.close()
        assert d.status()["running_revision"] == 2
        recs = audit_lines(d)
        assert [r["cmd"] for r in recs[-2:]] == ["commit", "promote"], recs
        assert recs[-1]["revision"] == 2
        assert recs[-1]["diff"].startswith(
            "revision 2 stored without its answer delivered"), recs[-1]
        d.kill9()
        d.spawn("-d", "--test-timers")
        wait_for("control socket", d.answers, timeout=20)
        assert d.status()["running_revision"] == 2
        assert not [r for r in audit_lines(d) if r["cmd"] == "recover"]
        assert d.ok("audit-verify")["intact"]
    finally:
        d.stop()


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.mark.skipif(not os.path.exists(FAKETIME), reason="no libfaketime")
def test_audit_wall_clock_back_warned(binaries):
    """A record written 2 h "earlier" than the one before it (the wall
    clock stepped back): audit-verify stays intact and warns (it did not
    notice before)."""
    d = Daemon(dp=False)
    try:
        d.start(wait_dp=False)
        d.ok("set", kind="rule", name="before", attrs=RULE_RDP)
        d.kill9()
        d.spawn("-d", "--test-timers", wrap=[
            "env", "LD_PRELOAD=" + FAKETIME, "FAKETIME=-7200",
            "FAKETIME_DONT_FAKE_MONOTONIC=1",
            # An ASan build of cordond, too: its runtime is not first.
            "ASAN_OPTIONS=verify_asan_link_order=0"])
        wait_for("control socket", d.answers, timeout=20)
        d.ok("set", kind="rule", name="after", attrs=RULE_RDP)
        v = d.ok("audit-verify")
        assert v["intact"] is True and v["checked"] == 2, v
        assert len(v["warnings"]) == 1, v
        assert v["warnings"][0].startswith(
            "record 2: wall time goes back"), v
        recs = audit_lines(d)
        assert recs[1]["boot"] == recs[0]["boot"]
        assert recs[1]["uptime_ms"] >= recs[0]["uptime_ms"]
    finally:
        d.stop()


def test_torn_audit_tail_cut(binaries):
    """A partial record at the end of audit.log (a crash or a full disk
    mid-append): cut at the next change and at start, with a record
    saying so; nothing refused.  It refused every change (audit-broken)
    until someone truncated the log by hand."""
    d = Daemon(dp=False)
    log = d.dir + "/state/audit.log"
    try:
        d.start(wait_dp=False)
        d.ok("set", kind="rule", name="one", attrs=RULE_RDP)
        with open(log, "a") as f:
            f.write('{"seq":2,"time":1765000000,"cmd":"se')
        d.ok("set", kind="rule", name="two", attrs=RULE_RDP)
        with open(log, "a") as f:
            f.write('{"seq":4,"ti')
        d.kill9()
        d.spawn("-d", "--test-timers")
        wait_for("control socket", d.answers, timeout=20)
        d.ok("set", kind="rule", name="three", attrs=RULE_RDP)
        v = d.ok("audit-verify")
        assert v["intact"] is True and v["checked"] == 5, v
        cmds = [(r["cmd"], r["diff"]) for r in audit_lines(d)]
        assert [c for c, _ in cmds] == [
            "set rule one " + json.dumps(RULE_RDP, sort_keys=True,
                                         separators=(",", ":")),
            "audit-repair", cmds[2][0], "audit-repair", cmds[4][0]]
        assert "cut a partial record (36 bytes" in cmds[1][1], cmds[1]
        assert "cut a partial record (12 bytes" in cmds[3][1], cmds[3]
    finally:
        d.stop()


def test_staged_revision_undone_at_start(binaries):
    """A revision staged but never audited (a crash before its record):
    undone at start, said so in the audit log; the running revision
    stays and the next change goes through."""
    d = Daemon(dp=False)
    rev = d.dir + "/state/revisions/"
    try:
        d.start(wait_dp=False)
        d.kill9()
        with open(rev + "000001.conf") as f:
            text = f.read()
        with open(rev + "000002.staged", "w") as f:
            f.write(text)
        with open(rev + "000002.json", "w") as f:
            f.write('{"revision": 2, "kind": "commit"}')
        d.spawn("-d", "--test-timers")
        wait_for("control socket", d.answers, timeout=20)
        assert d.status()["running_revision"] == 1
        assert not os.path.exists(rev + "000002.staged")
        assert not os.path.exists(rev + "000002.json")
        last = audit_lines(d)[-1]
        assert last["cmd"] == "recover" and last["diff"].startswith(
            "revision 2 undone"), last
        assert d.ok("audit-verify")["intact"]
        d.ok("set", kind="rule", name="next", attrs=RULE_RDP)
    finally:
        d.stop()
