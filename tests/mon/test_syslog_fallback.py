"""cordon-dp's syslog fallback (issue 14): while cordond is down (kill -9,
or a clean stop), cordon-dp sends its packet records to cordond's local
and udp targets itself, marked APP-NAME cordon-dp and fallback="true",
rate-limited and counted; once cordond is back it stops, and no event is
reported twice.

The rig is test_syslog.py's: one network namespace, rsyslogd on
127.0.0.1 (udp, tcp and tls inputs, one file each), a unix datagram
socket standing in for /dev/log, cordond and its cordon-dp.

Run as root: /usr/bin/python3 -m pytest tests/mon/test_syslog_fallback.py
"""
import os
import re
import signal
import subprocess

import pytest

import cordonrig
from cordonrig import CORDONCTL, wait_for
from test_syslog import SD, Rig, _need, deny_sum, records, syn

CN_B, CN_C, CN_D = "198.51.100.21", "198.51.100.22", "198.51.100.23"
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                      "syslog-fallback.txt")
UPDATE = os.environ.get("CORDON_GOLDEN_UPDATE")


@pytest.fixture
def frig():
    _need()
    yield from cordonrig.running(Rig(window=2, rate=100))


@pytest.fixture
def slow_rig():
    _need()
    yield from cordonrig.running(Rig(window=2, rate=5))


def by_app(recs, app):
    return [r for r in recs if r["app"] == app]


def deny(rig, kind, app):
    return by_app(records("%s/%s.log" % (rig.dir, kind), "deny"), app)


def dp_gone(rig, n):
    """cordon-dp noticed cordond's channel close N times."""
    wait_for("cordon-dp sees cordond gone (%d)" % n, lambda: open(
        rig.dir + "/cordond.log", errors="replace").read().count(
        "control: client gone") >= n, timeout=15)


def fallback(rig):
    return rig.ok("counters")["syslog_fallback"]


def send(rig, src, n, sport):
    rig.replay([syn(src, 22, sport + i) for i in range(n)], pps=50)


def block(text, key):
    """KEY's lines in cordonctl's text output: its own and the indented
    ones under it."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith(key + ":"):
            inside = True
        elif inside and not line.startswith("  "):
            break
        if inside:
            out.append(line)
    return out


def session(rig, record):
    """The admin's view once cordond is back, as a golden: what the SIEM
    got from cordon-dp (time, host and pid masked), then the fallback's
    part of `cordonctl show logging` and `show counters`."""
    def ctl(*args):
        return subprocess.run([CORDONCTL, "-s", rig.sock] + list(args),
                              capture_output=True, text=True,
                              check=True).stdout
    raw = re.sub(r"^(<\d+>1) \S+ \S+ (\S+) \d+ ", r"\1 TIME HOST \2 PID ",
                 record)
    raw = re.sub(r'(first|last)="[^"]*"', r'\1="TIME"', raw)
    text = "# rsyslog got from cordon-dp, cordond killed:\n" + raw + "\n"
    text += "$ cordonctl show logging\n"
    text += "\n".join(block(ctl("show", "logging"), "dp_fallback")) + "\n"
    text += "$ cordonctl show counters\n"
    text += "\n".join(block(ctl("show", "counters"),
                            "syslog_fallback")) + "\n"
    if UPDATE:
        with open(GOLDEN, "w") as f:
            f.write(text)
    with open(GOLDEN) as f:
        assert text == f.read(), "differs from " + GOLDEN + ":\n" + text


def raw_lines(rig, app, src):
    with open(rig.dir + "/udp.log", errors="replace") as f:
        return [ln for ln in f.read().split("\n")
                if " %s " % app in ln and 'src="%s"' % src in ln]


def check_fallback_records(recs, pid, src, n):
    """N events of SRC in cordon-dp's records, each as cordond's would
    be, plus its marker."""
    mine = [r for r in recs if r["sd"][SD]["src"] == src]
    assert sum(int(r["sd"][SD]["repeat_count"]) for r in mine) == n, mine
    for r in mine:
        sd = r["sd"][SD]
        assert r["app"] == "cordon-dp" and r["procid"] == str(pid), r
        assert sd["fallback"] == "true", r
        assert r["msgid"] == "deny" and r["severity"] == 4, r
        assert r["facility"] == 19, r
        assert sd["rule"] == "cn-ssh-deny" and sd["action"] == "drop", r
        assert sd["reason"] == "rule" and sd["srccountry"] == "CN", r
        assert sd["service"] == "ssh" and sd["dport"] == "22", r
        assert sd["port"] == "outside0" and sd["proto"] == "tcp", r
        assert sd["first"] <= sd["last"], r


def test_fallback_while_cordond_is_down(frig):
    rig = frig
    pid = rig.cordond.wait_dp_up()["pid"]
    local = []

    # cordond up: it alone reports.
    send(rig, CN_B, 3, 40000)
    wait_for("cordond's records", lambda: deny_sum(
        deny(rig, "udp", "cordond"), CN_B) == 3, timeout=15)
    local.extend(rig.local_records())

    # 1. cordond killed: cordon-dp keeps enforcing and now reports.
    rig.cordond.kill9()
    dp_gone(rig, 1)
    send(rig, CN_C, 7, 41000)
    wait_for("cordon-dp's records over udp", lambda: deny_sum(
        deny(rig, "udp", "cordon-dp"), CN_C) == 7, timeout=15)
    check_fallback_records(deny(rig, "udp", "cordon-dp"), pid, CN_C, 7)
    # The same fields as cordond's record of such a packet, in the same
    # order, and the marker.
    theirs = list(deny(rig, "udp", "cordond")[0]["sd"][SD])
    mine = list(deny(rig, "udp", "cordon-dp")[0]["sd"][SD])
    assert mine == theirs + ["fallback"], (mine, theirs)

    def local_dp():
        local.extend(rig.local_records())
        return [r for r in local
                if r["msgid"] == "deny" and r["app"] == "cordon-dp"]
    wait_for("cordon-dp's records on the local socket (/dev/log)",
             lambda: deny_sum(local_dp(), CN_C) == 7, timeout=10)
    check_fallback_records(local_dp(), pid, CN_C, 7)
    # Stream targets are not covered by the fallback.
    for kind in ("tcp", "tls"):
        assert deny(rig, kind, "cordon-dp") == [], kind

    # 2. cordond back: it adopts the same cordon-dp, which stops.
    rig.cordond_start()
    assert rig.cordond.wait_dp_up()["pid"] == pid
    fb = fallback(rig)
    assert fb["events"] == 7 and fb["records"] == 7, fb
    assert fb["rate_limited_records"] == 0, fb
    wait_for("both targets sent 7", lambda: fallback(rig)["sent"] == 14)
    assert fallback(rig)["dropped"] == 0
    lg = rig.logging()["dp_fallback"]
    assert lg["events"] == 7 and lg["sent"] == 14, lg
    session(rig, raw_lines(rig, "cordon-dp", CN_C)[0])
    send(rig, CN_D, 4, 42000)
    wait_for("cordond reports again", lambda: deny_sum(
        deny(rig, "udp", "cordond"), CN_D) == 4, timeout=15)
    # No event reported twice, none by both.
    assert deny_sum(deny(rig, "udp", "cordon-dp"), CN_D) == 0
    assert deny_sum(deny(rig, "udp", "cordond"), CN_C) == 0
    assert deny_sum(deny(rig, "udp", "cordon-dp"), CN_C) == 7
    assert deny_sum(deny(rig, "udp", "cordon-dp"), CN_B) == 0
    assert fallback(rig)["events"] == 7
    prom = subprocess.run(
        [CORDONCTL, "-s", rig.sock, "show", "counters", "prometheus"],
        capture_output=True, text=True, check=True).stdout
    assert 'cordon_syslog_fallback_total{event="sent"} 14' in prom, prom

    # 3. A clean stop of cordond: the same.
    rig.cd.send_signal(signal.SIGTERM)
    rig.cd.wait(15)
    dp_gone(rig, 2)
    send(rig, CN_B, 5, 43000)
    wait_for("cordon-dp's records after a clean stop", lambda: deny_sum(
        deny(rig, "udp", "cordon-dp"), CN_B) == 5, timeout=15)
    check_fallback_records(deny(rig, "udp", "cordon-dp"), pid, CN_B, 5)
    assert deny_sum(deny(rig, "udp", "cordond"), CN_B) == 3
    wait_for("and on the local socket", lambda: deny_sum(
        local_dp(), CN_B) == 5, timeout=10)
    rig.cordond_start()
    assert rig.cordond.wait_dp_up()["pid"] == pid
    assert fallback(rig)["events"] == 12


def test_fallback_rate_limit_counts(slow_rig):
    """rate = 5/s: a burst of 40 distinct sources while cordond is down
    gets at most the bucket's depth and what refills, the rest counted;
    records + rate-limited events add up to what cordon-dp took."""
    rig = slow_rig
    rig.cordond.wait_dp_up()
    rig.cordond.kill9()
    dp_gone(rig, 1)
    srcs = ["198.51.100.%d" % i for i in range(100, 140)]
    rig.replay([syn(s, 22, 44000) for s in srcs], pps=400)
    rig.cordond_start()
    rig.cordond.wait_dp_up()
    fb = fallback(rig)
    assert fb["events"] == 40, fb
    assert fb["rate_limited_records"] > 0, fb
    assert fb["records"] <= 5 + 2, fb
    wait_for("udp records == counted records", lambda: len(
        deny(rig, "udp", "cordon-dp")) == fb["records"], timeout=10)
    got = deny(rig, "udp", "cordon-dp")
    assert sum(int(r["sd"][SD]["repeat_count"]) for r in got) + \
        fb["rate_limited_events"] == fb["events"], (got, fb)


if __name__ == "__main__":
    raise SystemExit(pytest.main([os.path.abspath(__file__), "-v"]))
