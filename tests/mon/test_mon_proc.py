"""The monitoring child (issue 15): `cordond -P monitoring` accepts the
Prometheus scrapes and holds the syslog targets' sockets, sandboxed.

- it runs as cordon-mon, in the empty root, without capabilities, with
  no_new_privs and a seccomp filter, in the host's network namespace
  (the targets are out there) and cordond's listening socket is the one
  it accepts on;
- kill -9 of it while scrapes keep coming: cordond starts it again
  within 2 s, counts the crash, the scrapes answer again, and the
  dataplane (same cordon-dp, same revision, counters still moving the
  same way) never noticed.

Run as root: /usr/bin/python3 -m pytest tests/mon/test_mon_proc.py
"""
import os
import signal
import threading
import time

import pytest

from cordonrig import http_get, wait_for
from test_prometheus import make_rig


@pytest.fixture(scope="module")
def rig():
    if os.geteuid() != 0:
        pytest.skip("needs root")
    r = make_rig()
    yield r
    r.stop()
    r.cleanup()


def mon(rig):
    for p in rig.once("status")["processes"]:
        if p["name"] == "monitoring":
            return p
    raise KeyError("monitoring")


def scrape(rig, timeout=3.0):
    """Status of one GET /metrics (0: the connection failed)."""
    return max(http_get(rig.host, rig.port, timeout=timeout)[0], 0)


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            out[k] = v.strip()
    return out


def test_sandboxed_on_the_host_network(rig):
    m = wait_for("monitoring ready", lambda: mon(rig)["ready"] and mon(rig))
    pid = m["pid"]
    assert m["user"] == "cordon-mon" and m["net"] is True, m
    st = proc_status(pid)
    uid = int(st["Uid"].split()[0])
    assert uid != 0 and all(int(u) == uid for u in st["Uid"].split()), st
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
    assert st["NoNewPrivs"] == "1" and st["Seccomp"] == "2", st
    assert os.readlink("/proc/%d/root" % pid) == "/run/cordon/empty"
    assert os.readlink("/proc/%d/ns/net" % pid) == \
        os.readlink("/proc/%d/ns/net" % rig.proc.pid)
    # It accepts on cordond's socket: the listening inode is in both.
    def inodes(p):
        out = set()
        for fd in os.listdir("/proc/%d/fd" % p):
            try:
                out.add(os.readlink("/proc/%d/fd/%s" % (p, fd)))
            except OSError:
                pass
        return {x for x in out if x.startswith("socket:")}
    assert inodes(pid) & inodes(rig.proc.pid)
    assert scrape(rig) == 200


def test_kill9_under_scrapes_comes_back(rig):
    m = wait_for("monitoring ready", lambda: mon(rig)["ready"] and mon(rig))
    dp0 = rig.once("status")["dataplane"]
    rev0 = rig.once("status")["running_revision"]
    c0 = rig.once("counters")
    crashes0 = m["crashes"]
    results = []
    stop = threading.Event()

    def scraper():
        while not stop.is_set():
            results.append((time.monotonic(), scrape(rig)))
            time.sleep(0.02)
    th = threading.Thread(target=scraper)
    th.start()
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        os.kill(m["pid"], signal.SIGKILL)
        back = wait_for("monitoring back", lambda: (
            lambda n: n["ready"] and n["pid"] != m["pid"] and n)(mon(rig)),
            timeout=5, step=0.02)
        t_back = time.monotonic()
        took = t_back - t0
        # and serving scrapes again
        wait_for("a scrape answered after the kill", lambda: any(
            t > t0 and s == 200 and t - t0 < 2.0 for t, s in results),
            timeout=5)
        time.sleep(1.0)
    finally:
        stop.set()
        th.join()
    assert took < 2.0, took
    assert back["crashes"] == crashes0 + 1, back
    assert back["last_exit"] == "killed by SIGKILL", back
    # After it is back, every scrape is answered.
    late = [s for t, s in results if t > t_back]
    assert late and all(s == 200 for s in late), late
    # Enforcement untouched: the same cordon-dp, revision, counters.
    dp1 = rig.once("status")["dataplane"]
    assert dp1["pid"] == dp0["pid"] and dp1["state"] == "up", dp1
    assert dp1["restarts"] == dp0["restarts"], dp1
    assert rig.once("status")["running_revision"] == rev0
    c1 = rig.once("counters")
    assert c1["packets"] >= c0["packets"]
    assert c1["actions"] == c0["actions"] or all(
        c1["actions"][k] >= v for k, v in c0["actions"].items())
    assert "monitoring" in rig.logtext()
    # and Prometheus, served by the new child, counts the restart
    body = metrics(rig)
    want = 'cordon_process_restarts_total{process="monitoring"} %d' % (
        crashes0 + 1)
    assert want in body.splitlines(), body


def metrics(rig):
    status, body = http_get(rig.host, rig.port, timeout=5)
    assert status == 200, (status, body)
    return body.decode()
