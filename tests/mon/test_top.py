"""Top denied sources (issue 14): the live fast path's sketch, merged by
cordond, in `cordonctl show top`, CORDON-MIB's cordonTopTable and the
Prometheus listener's cordon_top_denied_packets.

cordond (SNMP subagent under a real snmpd, Prometheus on a loopback
port, dataplane.top_window 30 s) runs a cordon-dp whose outside port
replays a finite capture once: three heavy denied sources (60, 30 and 15
SYNs, each denied by another rule, from another country), 200 light ones
(one SYN each, IPv4 and IPv6) and allowed traffic that must never show.
Then the heavy ones lead `show top` in order with exact counts, the
filters by rule and country hold, SNMP and Prometheus show the same rows,
and once the window has passed with no traffic the ranking is empty.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDONCTL   the CLI (default: cordonctl next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

Run as root: /usr/bin/python3 -m pytest tests/mon/test_top.py
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request

import pytest

import cordonrig
import test_snmp
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, free_port, pcap_write,
                       syn, wait_for)
from test_snmp import OBJ, Snmp

WINDOW = 30
TOP = OBJ + ".9"

CN_HEAVY, RU_HEAVY, DOC_HEAVY, US_SRC, SRV = (
    "198.51.100.7", "203.0.113.9", "203.0.113.200", "192.0.2.33",
    "192.0.2.80")

# test_snmp's rules and SNMP settings, with the window and Prometheus.
CONF = test_snmp.CONF.replace(
    "mbufs =", "top_window = %d;\n    mbufs =" % WINDOW)
PROM = '    prometheus = { listen = "%s"; };\n'

# (source, country, rule, packets) of the heavy ones, most first.
HEAVY = [(CN_HEAVY, "CN", "cn-ssh-reject", 60),
         (RU_HEAVY, "RU", "ru-rdp-drop", 30),
         (DOC_HEAVY, "documentation", "(default)", 15)]


def frames():
    """The heavy sources' first half before any light one (so the sketch
    counts them exactly), then the light ones with the rest interleaved,
    and allowed US SYNs throughout."""
    cn = lambda i: syn(CN_HEAVY, SRV, 22, 40000 + i)
    ru = lambda i: syn(RU_HEAVY, SRV, 3389, 40000 + i)
    doc = lambda i: syn(DOC_HEAVY, SRV, 80, 40000 + i)
    out = []
    for i in range(15):
        out += [cn(i), cn(100 + i), ru(i), doc(i), syn(US_SRC, SRV, 22)]
    for j in range(200):
        if j < 150:      # CN, rejected by cn-ssh-reject
            out.append(syn("198.51.100.%d" % (50 + j), SRV, 22))
        else:            # documentation (IPv6), dropped by the default
            out.append(ipv6_syn("2001:db8::%x" % (j + 1)))
        if j < 30:
            out.append(cn(200 + j))
        if j < 15:
            out.append(ru(200 + j))
    return out


def ipv6_syn(src):
    from scapy.all import IPv6, TCP, Ether
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                 IPv6(src=src, dst="2001:db8:ffff::80") /
                 TCP(sport=40000, dport=22, flags="S"))


class Daemon(cordonrig.Cordond):
    def __init__(self, d):
        super().__init__(d)
        self.pcap = d + "/in.pcap"
        self.frames = frames()
        pcap_write(self.pcap, self.frames)
        self.listen = "127.0.0.1:%d" % free_port(
            kind=cordonrig.socket.SOCK_STREAM)
        self.write_conf(CONF, pcap=self.pcap, infinite="", threshold=0,
                        logging=PROM % self.listen)

    def ctl(self, *args):
        r = subprocess.run([CORDONCTL, "-s", self.sock] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout


@pytest.fixture
def rig():
    for tool in ("snmpd", "snmptrapd", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            pytest.fail("%s is not installed (make deps)" % tool)
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    d = tempfile.mkdtemp(prefix="cordon-top-")
    os.chmod(d, 0o755)
    snmp = Snmp(d)
    cd = Daemon(d)
    try:
        snmp.start_snmpd()
        cd.spawn()
        cd.wait_dp_up(60, what="cordon-dp up")
        yield snmp, cd
    finally:
        cd.stop()
        snmp.stop()
        if os.environ.get("CORDON_KEEP"):
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def rows_of(top):
    return [(r["source"], r["country"], r["rule"], r["packets"], r["error"])
            for r in top["top"]]


def snmp_rows(snmp):
    w = snmp.walk(TOP)
    rows = []
    for k in range(1, 21):
        cell = lambda c: w.get("%s.3.1.%d.%d" % (TOP, c, k))
        if cell(2) is None:
            break
        rows.append((cell(2), cell(3), cell(4), int(cell(5)),
                     int(cell(6))))
    return w, rows


SAMPLE = re.compile(r'^cordon_top_denied_packets\{src="([^"]*)",'
                    r'country="([^"]*)",rule="([^"]*)"\} ([0-9]+)$')


def prom_rows(text):
    return [(m.group(1), m.group(2), m.group(3), int(m.group(4)))
            for m in map(SAMPLE.match, text.splitlines()) if m]


def golden_session(cd, name, commands):
    """cordonctl COMMANDS in turn, each line after "$ cordonctl", compared
    with golden/NAME (rewritten with CORDON_GOLDEN_UPDATE=1)."""
    text = "".join("$ cordonctl %s\n%s" % (c, cd.ctl(*c.split()))
                   for c in commands)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "golden", name)
    if os.environ.get("CORDON_GOLDEN_UPDATE"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), "differs from golden " + name


def test_top_live(rig):
    snmp, cd = rig
    n = len(cd.frames)
    wait_for("all %d frames counted" % n,
             lambda: cd.ok("counters")["packets"] == n, timeout=30)
    denied = n - 15
    top = cd.ok("top")
    assert top["window"] == WINDOW
    assert top["denied"] == denied
    # The heavy ones first, in order, counted exactly.
    assert rows_of(top)[:3] == [h + (0,) for h in HEAVY]
    assert len(top["top"]) == 20
    for r in top["top"][3:]:
        assert r["packets"] - r["error"] <= 1
        assert r["source"] != US_SRC
    # Filters: by country, by rule, both; the limit.
    ru = cd.ok("top", country="RU")["top"]
    assert rows_of({"top": ru}) == [HEAVY[1] + (0,)]
    cn = cd.ok("top", rule="cn-ssh-reject", limit=200)["top"]
    assert cn[0]["source"] == CN_HEAVY and len(cn) > 100
    assert {r["country"] for r in cn} == {"CN"}
    d6 = cd.ok("top", rule="(default)", country="documentation",
               limit=100)["top"]
    assert d6[0]["source"] == DOC_HEAVY
    assert any(r["source"].startswith("2001:db8::") for r in d6)
    assert len(cd.ok("top", limit=2)["top"]) == 2
    assert not cd.ok("top", country="US")["top"]

    # The CLI, as an admin types it: a golden session.
    golden_session(cd, "top-session.txt", [
        "show top limit 3", "show top country RU",
        "show top rule ru-rdp-drop country CN",
        "sh top ru cn-ssh-reject l 1"])

    # SNMP and Prometheus: the same 20 rows.
    want = rows_of(cd.ok("top"))
    w, rows = snmp_rows(snmp)
    assert rows == want
    assert w[TOP + ".1.0"] == str(WINDOW)
    assert w[TOP + ".2.0"] == str(denied)
    body = urllib.request.urlopen("http://%s/metrics" % cd.listen,
                                  timeout=10).read().decode()
    assert prom_rows(body) == [r[:4] for r in want]
    assert "cordon_top_window_seconds %d\n" % WINDOW in body
    assert prom_rows(cd.ctl("show", "counters", "-p")) == \
        [r[:4] for r in want]

    # A commit that moves every rule down one: the rows keep their
    # rules' names (read from the older revision's file), not positions.
    cd.ok("set", kind="rule", name="us-first",
          attrs={"src": "US", "direction": "in", "action": "allow",
                 "position": 1})
    cd.ok("commit", comment="a rule above the others")
    assert rows_of(cd.ok("top"))[:3] == [h + (0,) for h in HEAVY]
    assert rows_of(cd.ok("top", rule="ru-rdp-drop"))[0][:4] == HEAVY[1]

    # cordond killed and started again adopts cordon-dp: rows counted
    # under cordon-dp's start-up policy (revision 0) keep that policy's
    # names, never the names at their positions in the running revision
    # (where us-first, an allow rule, now sits above every other).
    dp_pid = cd.ok("status")["dataplane"]["pid"]
    cd.kill9()
    cd.spawn()
    assert cd.wait_dp_up(60, what="cordon-dp adopted")["pid"] == dp_pid
    top = cd.ok("top", limit=1000)
    assert "us-first" not in {r["rule"] for r in top["top"]}
    assert rows_of(top)[:3] == [h + (0,) for h in HEAVY]

    # No traffic for a window: everything is forgotten, everywhere.
    t0 = time.monotonic()
    wait_for("the window to pass",
             lambda: not cd.ok("top")["top"], timeout=WINDOW + 15,
             step=0.5)
    assert cd.ok("top")["denied"] == 0
    # Not before its time: the capture was counted within the last
    # window when the checks above ran.
    assert time.monotonic() - t0 < WINDOW + 15
    assert snmp_rows(snmp)[1] == []
    body = urllib.request.urlopen("http://%s/metrics" % cd.listen,
                                  timeout=10).read().decode()
    assert prom_rows(body) == []
