"""Issue 11: the geolocation database under faults.

The database file is truncated, overwritten in place (cp, dd
conv=notrunc) and replaced (rename) while geo-reload compiles it, many
rounds: cordond never dies (it compiles a private copy, never the file
mapped shared).  A database broken at cordond's start, and at a
restart of cordon-dp, leaves the last good tables (kept in the state
folder) in force with the geo-static alarm, instead of no traffic.  A
saved file that is corrupt is refused (fail closed).

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_geo_faults.py).
"""
import functools
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import pytest

import cordonrig
from cordonrig import CORDONCTL, CORDOND, GEODB

# One cordond rig for all: the one of test_daemon.py.
from test_daemon import CONF, DP

wait_for = functools.partial(cordonrig.wait_for, step=0.1, fail=pytest.fail)
needs_dp = pytest.mark.skipif(not DP, reason="cordon-dp has no --control")

# Answers of the real database, and an override (198.51.100.0/24 CN).
PROBES = ("1.1.1.1", "8.8.8.8", "193.0.6.139", "2001:4860:4860::8888",
          "198.51.100.7")
ROUNDS = 16


class GeoDaemon(cordonrig.Cordond):
    """cordond over a private copy DIR/geo.mmdb of the real database,
    restartable (the log is reopened)."""
    fail = staticmethod(pytest.fail)
    conn_timeout = 30

    def __init__(self):
        super().__init__(prefix="cordond-geo-")
        self.db = self.dir + "/geo.mmdb"
        shutil.copy(GEODB, self.db)
        self.write_conf(CONF.replace("%(geodb)s", self.db))
        self.saved = self.dir + "/state/geo-tables.saved"

    def start(self):
        if self.log.closed:
            self.log = open(self.dir + "/cordond.log", "ab")
        self.spawn("-d", "--test-timers")
        wait_for("control socket", self.answers, timeout=30)
        return self.wait_dp_up(40)

    def answers_all(self):
        return {a: self.ok("lookup", addr=a)["final"] for a in PROBES}

    def alarms(self):
        return [a["name"] for a in self.ok("status")["alarms"]]

    def restore(self):
        """The good database back, atomically."""
        shutil.copy(GEODB, self.db + ".new")
        os.rename(self.db + ".new", self.db)

    def truncate(self, frac=3):
        with open(self.db, "r+b") as f:
            f.truncate(os.path.getsize(self.db) // frac)


@pytest.fixture
def gd():
    cordonrig.need_binaries(CORDOND, hint="CORDOND")
    if not DP:
        pytest.skip("cordon-dp has no --control")
    d = GeoDaemon()
    try:
        d.start()
        yield d
    finally:
        d.stop()
        d.cleanup()


def mutate(d, how, rng):
    size = os.path.getsize(d.db)
    if how == "truncate":
        d.truncate(rng.choice((2, 3, 50)))
    elif how == "cp":
        # cp truncates the target, then writes: in place, as updates do.
        subprocess.run(["cp", GEODB, d.db], check=True)
    elif how == "dd":
        subprocess.run(["dd", "if=/dev/urandom", "of=" + d.db, "bs=4096",
                        "count=256", "seek=%d" % rng.randrange(size // 4096),
                        "conv=notrunc", "status=none"], check=True)
    elif how == "rename":
        with open(GEODB, "rb") as f:
            data = f.read()
        with open(d.db + ".tmp", "wb") as f:
            f.write(data[:rng.randrange(len(data))])
        os.rename(d.db + ".tmp", d.db)


@needs_dp
def test_geo_reload_survives_file_changes(gd):
    """Every round: a reload starts, and the file is changed under it a
    moment later.  The reload succeeds or is refused ("geo"); cordond
    stays the same process; the answers never change."""
    rng = random.Random(11)
    before = gd.answers_all()
    pid = gd.proc.pid
    for i in range(ROUNDS):
        how = ("truncate", "cp", "dd", "rename")[i % 4]
        out = {}
        t = threading.Thread(target=lambda: out.update(
            r=gd.req("geo-reload")))
        t.start()
        time.sleep(rng.uniform(0.0, 0.3))
        mutate(gd, how, rng)
        t.join(60)
        assert gd.proc.poll() is None, "cordond died (%s): %s" % (
            how, gd.logtext())
        # And a reload of the file as the change left it.
        rs = [out["r"], gd.req("geo-reload")]
        for r in rs:
            assert r["ok"] or r["error"]["code"] == "geo", r
        assert gd.proc.pid == pid and gd.proc.poll() is None
        if not any(r["ok"] for r in rs):
            # Refused: the tables in force are untouched.
            assert gd.answers_all() == before, how
        gd.restore()
        if any(r["ok"] for r in rs):
            # Garbage that still parsed: the good file puts them back.
            gd.ok("geo-reload")
            assert gd.answers_all() == before, how
    assert gd.ok("geo-reload")["v4_prefixes"] > 0
    assert gd.wait_dp_up()["in_sync"]
    assert gd.ok("audit-verify")["intact"]


def dp_packets(d):
    return d.ok("counters")["packets"]


@needs_dp
def test_geo_broken_at_start_falls_back_to_saved(gd):
    """cordond restarted while the database is truncated: it starts on
    the last good tables (geo-static alarm), cordon-dp enforces them; a
    reload once the file is whole clears the alarm."""
    before = gd.answers_all()
    assert os.path.exists(gd.saved)
    gd.stop()
    gd.truncate()
    gd.dp_pids.clear()
    dp = gd.start()
    assert "geo-static" in gd.alarms(), gd.logtext()
    shown = subprocess.run([CORDONCTL, "-s", gd.sock, "show", "status"],
                           capture_output=True, text=True).stdout
    assert "geo-static" in shown, shown
    for a, cc in before.items():
        shown = subprocess.run([CORDONCTL, "-s", gd.sock, "lookup", a],
                               capture_output=True, text=True).stdout
        assert cc in shown, (a, cc, shown)
    assert gd.answers_all() == before
    assert dp["in_sync"]
    p0 = dp_packets(gd)
    wait_for("traffic", lambda: dp_packets(gd) > p0, timeout=10)
    assert gd.req("geo-reload")["error"]["code"] == "geo"
    gd.restore()
    gd.ok("geo-reload")
    assert "geo-static" not in gd.alarms()
    assert gd.answers_all() == before


@needs_dp
def test_dp_restart_with_broken_db_keeps_tables(gd):
    """cordon-dp killed while the database is broken: it restarts on the
    saved tables (--geo-saved) instead of refusing to run."""
    before = gd.answers_all()
    old = gd.ok("status")["dataplane"]["pid"]
    gd.truncate()
    os.kill(old, signal.SIGKILL)
    dp = gd.wait_dp_up(40, other_than=old)
    assert dp["restarts"] == 1
    with open(gd.dir + "/cordond.log", errors="replace") as f:
        assert "cordon-dp: geo-static: enforcing the last good" in f.read()
    assert dp["revision"] == 1
    p0 = dp_packets(gd)
    wait_for("traffic", lambda: dp_packets(gd) > p0, timeout=10)
    assert gd.answers_all() == before


@needs_dp
def test_corrupt_saved_tables_refused(gd):
    """A saved file with one byte changed is never used: with the
    database broken too, cordond does not start (fail closed).  And
    cordon-dp --check never falls back: it reports the database."""
    gd.stop()
    gd.truncate()
    check = [cordonrig.CORDON_DP, "-c", gd.conf, "--geo-saved", gd.saved,
             "--check"]
    assert subprocess.run(check, capture_output=True).returncode == 2
    with open(gd.saved, "r+b") as f:
        f.seek(os.path.getsize(gd.saved) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0x40]))
    gd.dp_pids.clear()
    if gd.log.closed:
        gd.log = open(gd.dir + "/cordond.log", "ab")
    gd.spawn("-d", "--test-timers")
    # Fail closed: no tables it could trust, so cordond does not start.
    try:
        gd.proc.wait(30)
    except subprocess.TimeoutExpired:
        pytest.fail("cordond started on a corrupt saved file")
    assert gd.proc.returncode != 0
    assert "checksum" in gd.logtext(), gd.logtext()
