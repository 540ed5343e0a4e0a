"""Wall-clock steps under cordond (issue 11, time): Debian's libfaketime
moves cordond's wall clock by +-2 h while the test runs (an offset file
it re-reads on every call, FAKETIME_NO_CACHE=1), and leaves
CLOCK_MONOTONIC and CLOCK_BOOTTIME alone (DONT_FAKE_MONOTONIC=1).
Confirm deadlines, sessions' max_ttl, uptime and the slot hold must not
move; tokens' exp, judged on the wall clock, must.

The session tests run cordond without a dataplane (cordon-dp is
/bin/false); the confirm tests with cordon-dp on null devices (commits
need it), under the same libfaketime.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_clock.py
"""
import glob
import os
import signal
import subprocess
import time

import pytest

import cordonrig
import test_identity_daemon as ident
from cordonrig import CORDONCTL, CORDOND, wait_for

LIBFAKETIME = (glob.glob("/usr/lib/*/faketime/libfaketime.so.1") +
               [None])[0]
US = ident.US
HOUR = 3600
LIFE = 6 * HOUR         # a token's lifetime, under the issuer's 12 h

RULE_RDP = {"src": "prohibited", "ports": ["3389"], "proto": "tcp",
            "action": "reject"}


class Rig(ident.Rig):
    """test_identity_daemon's rig (an issuer whose key it holds, max_ttl
    1 h), with cordond under libfaketime, its wall clock offset by what
    step() writes."""

    conn_timeout = 20

    def __init__(self, dp="/bin/false"):
        super().__init__()
        self.write_conf(ident.CONF, dp=dp, iss=ident.ISS, leeway=5)
        self.dp = dp != "/bin/false"
        self.offset = self.dir + "/faketime"
        self.step(0)

    def step(self, secs):
        """cordond's wall clock is now SECS away from the real one."""
        with open(self.offset + ".tmp", "w") as f:
            f.write("%+ds\n" % secs)
        # Whole or nothing: libfaketime reads the file at any moment.
        subprocess.run(["mv", self.offset + ".tmp", self.offset],
                       check=True)

    def start(self):
        self.spawn("-d", "--test-timers", wrap=(
            "env", "LD_PRELOAD=" + LIBFAKETIME,
            "FAKETIME_TIMESTAMP_FILE=" + self.offset,
            "FAKETIME_NO_CACHE=1", "DONT_FAKE_MONOTONIC=1"))
        wait_for("control socket", self.answers, timeout=20,
                 fail=pytest.fail)
        if self.dp:
            self.wait_dp_up(timeout=60)

    def restart(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.start()

    def status(self):
        return self.ok("status")

    def token(self, **claims):
        """A token file: alice in the US, exp in LIFE of real time unless
        CLAIMS say otherwise."""
        claims.setdefault("exp", int(time.time()) + LIFE)
        return super().token(**claims)

    def add(self, path, ttl=None):
        extra = ["--ttl", str(ttl)] if ttl else []
        return self.ctl("session", "add", "--token", path, "--src", US,
                        *extra)

    def sessions(self):
        return super().sessions()["sessions"]

    def commit_confirmed(self, secs):
        self.ok("set", kind="rule", name="rdp%d" % self.n, attrs=RULE_RDP)
        self.n += 1
        return self.ok("commit", confirmed_seconds=secs)["revision"]


@pytest.fixture
def rig():
    cordonrig.need_binaries(CORDOND, CORDONCTL)
    if LIBFAKETIME is None:
        pytest.skip("libfaketime is not installed (appliance/deps.sh)")
    yield from cordonrig.running(Rig())


@pytest.fixture
def rig_dp():
    cordonrig.need_binaries(CORDOND, CORDONCTL, cordonrig.CORDON_DP)
    if LIBFAKETIME is None:
        pytest.skip("libfaketime is not installed (appliance/deps.sh)")
    yield from cordonrig.running(Rig(dp=cordonrig.CORDON_DP))


def sweep():
    """Long enough for the session sweep (every second) and the confirm
    timer to have run."""
    time.sleep(2.5)


def test_faketime_moves_wall_clock_only(rig):
    """The rig itself: the step reaches cordond's wall clock (a session's
    created time), its boot-time clock it does not (uptime)."""
    rig.step(2 * HOUR)
    r = rig.add(rig.token())
    assert r.returncode == 0, r.stderr
    ahead = rig.sessions()[0]["created"] - time.time()
    assert 2 * HOUR - 10 <= ahead <= 2 * HOUR + 10, ahead
    assert rig.status()["uptime_s"] < 60


def test_confirm_backward_step_reverts_on_time(rig_dp):
    rev = rig_dp.commit_confirmed(3)
    rig_dp.step(-2 * HOUR)
    wait_for("revert",
             lambda: rig_dp.status()["running_revision"] == rev + 1,
             timeout=8, fail=pytest.fail)
    assert rig_dp.status()["confirm"] is None


def test_confirm_forward_step_does_not_revert_early(rig_dp):
    rev = rig_dp.commit_confirmed(60)
    rig_dp.step(2 * HOUR)
    sweep()
    st = rig_dp.status()
    assert st["running_revision"] == rev
    assert 50 <= st["confirm"]["remaining_s"] <= 60
    rig_dp.ok("confirm")
    assert rig_dp.status()["confirm"] is None


def test_confirm_keeps_its_deadline_across_restart_and_step(rig_dp):
    rev = rig_dp.commit_confirmed(60)
    rig_dp.step(-2 * HOUR)
    rig_dp.restart()
    st = rig_dp.status()
    assert st["running_revision"] == rev
    assert 45 <= st["confirm"]["remaining_s"] <= 60, st["confirm"]
    rig_dp.step(2 * HOUR)
    rig_dp.restart()
    sweep()
    st = rig_dp.status()
    assert st["running_revision"] == rev, "reverted early"
    assert 40 <= st["confirm"]["remaining_s"] <= 60, st["confirm"]


def test_dataplane_restart_and_alarm_ignore_step(rig_dp):
    """cordon-dp killed just after a 2 h backward step is restarted
    after its 1 s backoff, not 2 h later; the alarm is raised, its
    `since` on the wall clock cordond has now."""
    old = rig_dp.wait_dp_up()["pid"]
    rig_dp.step(-2 * HOUR)
    os.kill(old, signal.SIGKILL)
    rig_dp.wait_dp_up(timeout=30, other_than=old)
    alarms = {a["name"]: a for a in rig_dp.status()["alarms"]}
    since = alarms["dataplane-restarted"]["since"]
    assert abs(since - (time.time() - 2 * HOUR)) < 60, since
    assert rig_dp.status()["dataplane"]["restarts"] == 1


def test_uptime_ignores_steps(rig):
    rig.step(-2 * HOUR)
    up = rig.status()["uptime_s"]
    assert 0 <= up < 60
    rig.step(2 * HOUR)
    assert 0 <= rig.status()["uptime_s"] < 60


def left_after_forward_step(rig, path):
    """Adds a session with the token file PATH, steps cordond's clock
    2 h forward, lets a sweep run: the seconds the one session has left
    by that clock (its `expires` is shown on it)."""
    r = rig.add(path)
    assert r.returncode == 0, r.stderr
    rig.step(2 * HOUR)
    sweep()
    s = rig.sessions()
    assert len(s) == 1, s
    return s[0]["expires"] - (time.time() + 2 * HOUR)


def test_max_ttl_ignores_forward_step(rig):
    """A session with 59 minutes of max_ttl left survives a 2 h forward
    step (its token, valid for 6 h, still is)."""
    left = left_after_forward_step(rig, rig.token())
    assert 3500 <= left <= 3600, left
    # And it survives a restart at that time.
    rig.restart()
    assert len(rig.sessions()) == 1


def test_ttl_ignores_backward_step(rig):
    """A session asked for 3 s ends after 3 s, whatever the wall clock
    does meanwhile."""
    assert rig.add(rig.token(), ttl=3).returncode == 0
    rig.step(-2 * HOUR)
    wait_for("session end", lambda: rig.sessions() == [], timeout=8,
             fail=pytest.fail)


def test_token_exp_follows_wall_clock(rig):
    """exp is the token's own claim: a forward step past it ends the
    session at once, and a token expired by the wall clock opens none."""
    r = rig.add(rig.token(exp=int(time.time()) + 600))
    assert r.returncode == 0, r.stderr
    rig.step(2 * HOUR)
    wait_for("session end", lambda: rig.sessions() == [], timeout=8,
             fail=pytest.fail)
    r = rig.add(rig.token(exp=int(time.time()) + 600))
    assert r.returncode == 6 and "expired" in r.stderr, r.stderr


def test_forward_step_shortens_to_token_exp(rig):
    """max_ttl left a session an hour; a forward step leaves its token
    10 minutes: the session (and its table entry) now ends with exp."""
    left = left_after_forward_step(rig, rig.token(
        exp=int(time.time()) + 2 * HOUR + 600))
    assert 500 <= left <= 600, left
    d = rig.explain(US)
    assert d["identity"]["session"] == "hit", d["identity"]


def test_token_exp_judged_after_backward_step(rig):
    """A token whose exp has passed by the real clock is good for a
    wall clock set 2 h back; its session is still bounded by max_ttl
    from the grant."""
    rig.step(-2 * HOUR)
    now = int(time.time())
    r = rig.add(rig.token(iat=now - 3 * HOUR, exp=now - 60))
    assert r.returncode == 0, r.stderr
    s = rig.sessions()
    assert len(s) == 1
    # expires is a whole wall-clock second: up to one over the exact end.
    left = s[0]["expires"] - (time.time() - 2 * HOUR)
    assert left <= HOUR + 1
