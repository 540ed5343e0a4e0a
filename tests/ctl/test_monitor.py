"""cordonctl monitor (issue 14): verdict events as they happen.

Three network namespaces of the test's own: a client (addresses placed
in US and CN by geo overrides), a server with a banner on port 22, and
cordon-dp between them on two net_af_packet ports, run by a cordond with
its own folder.  Real TCP connections are made while `cordonctl monitor`
runs; its text and JSON lines, its filters (deny, rule, src), its clean
end on SIGINT, the subscriber limit, and a stalled subscriber that loses
events (and is told how many) while commits go on at full speed.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDONCTL   the CLI (default: cordonctl next to CORDOND)

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_monitor.py
"""
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, SERVICES_SSH_RDP, EAL,
                       Conn, control_conf, geo_conf, pcap_write, syn,
                       wait_for)

LIB = os.path.join(cordonrig.ROOT, "tests", "lib")
US, CN, SRV = "192.0.2.10", "198.51.100.10", "192.0.2.100"

CONF = geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "us-ssh"; src = "US"; services = "ssh"; direction = "in";
      action = "allow"; log = true; },
    { name = "cn-ssh-deny"; src = "CN"; services = "ssh"; direction = "in";
      action = "drop"; log = true; }
);
default = { action = "allow"; };
non_ip = "allow";
dataplane: {
    ports = (
        { name = "outside0"; device = "net_af_packet0";
          devargs = "net_af_packet0,iface=%(ns)so"; role = "outside";
          peer = "inside0"; },
        { name = "inside0"; device = "net_af_packet1";
          devargs = "net_af_packet1,iface=%(ns)si"; role = "inside";
          peer = "outside0"; }
    );
    eal = [ """ + EAL + """, "--log-level", "lib.eal:error" ];
    mbufs = 8192;
};
""" + control_conf()


class Rig:
    """Namespaces NS-cli, NS-srv, NS-dp; cordond (and its cordon-dp) in
    NS-dp."""

    def __init__(self):
        self.cd = cordonrig.Cordond(prefix="cordon-mon-")
        self.ns = "cmon%d" % os.getpid()
        self.made = []
        self.banner = None

    def ip(self, *a):
        subprocess.run(("ip",) + a, check=True)

    def nsx(self, ns, *a, **kw):
        return subprocess.run(("ip", "netns", "exec", "%s-%s" % (
            self.ns, ns)) + a, **kw)

    def link(self, ns, dpif):
        dp, other = self.ns + "-dp", "%s-%s" % (self.ns, ns)
        self.ip("link", "add", dpif, "netns", dp, "type", "veth", "peer",
                "name", "eth0", "netns", other)
        self.ip("-n", dp, "link", "set", dpif, "up")
        self.ip("-n", other, "link", "set", "lo", "up")
        self.ip("-n", other, "link", "set", "eth0", "up")
        for ns_, dev in ((dp, dpif), (other, "eth0")):
            subprocess.run(["ip", "netns", "exec", ns_, "ethtool", "-K",
                            dev, "tx", "off", "rx", "off"],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)

    def topo(self):
        for n in ("cli", "srv", "dp"):
            name = "%s-%s" % (self.ns, n)
            subprocess.run(["ip", "netns", "del", name],
                           stderr=subprocess.DEVNULL)
            self.ip("netns", "add", name)
            self.made.append(name)
            self.nsx(n, "sysctl", "-qw",
                     "net.ipv6.conf.all.disable_ipv6=1", check=True)
        self.ip("-n", self.ns + "-dp", "link", "set", "lo", "up")
        self.link("cli", self.ns + "o")
        self.link("srv", self.ns + "i")
        for a in (US + "/24", CN + "/24"):
            self.ip("-n", self.ns + "-cli", "addr", "add", a, "dev", "eth0")
        self.ip("-n", self.ns + "-srv", "addr", "add", SRV + "/24", "dev",
                "eth0")
        self.ip("-n", self.ns + "-srv", "route", "add", "198.51.100.0/24",
                "dev", "eth0")
        self.banner = subprocess.Popen(
            ["ip", "netns", "exec", self.ns + "-srv", LIB + "/banner.py",
             "22", "hello-ssh"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)

    def start(self):
        self.topo()
        self.cd.write_conf(CONF, ns=self.ns)
        self.cd.spawn(wrap=("ip", "netns", "exec", self.ns + "-dp"))
        self.cd.wait_dp_up(timeout=60)
        return self

    def stop(self):
        self.cd.stop(dp_signal=signal.SIGINT)
        if self.banner:
            self.banner.kill()
            self.banner.wait()
        for name in self.made:
            subprocess.run(["ip", "netns", "del", name],
                           stderr=subprocess.DEVNULL)

    def cleanup(self):
        self.cd.cleanup()

    def connect(self, src, timeout=1):
        """tcpconnect.py from SRC to the server's ssh banner."""
        r = self.nsx("cli", LIB + "/tcpconnect.py", src, SRV, "22",
                     str(timeout), capture_output=True, text=True,
                     check=True)
        return r.stdout.strip()

    def monitors(self):
        return self.cd.once("show", what="logging")["monitors"]

    def monitor(self, *args):
        """cordonctl ARGS... monitor FILTER..., output to pipes."""
        return subprocess.Popen([CORDONCTL, "-s", self.cd.sock] +
                                list(args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def replay(self, frs, pps):
        path = self.cd.dir + "/send.pcap"
        pcap_write(path, frs, usec_step=True)
        self.nsx("cli", "tcpreplay", "-q", "-i", "eth0", "--pps=%d" % pps,
                 path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                 check=True)


@pytest.fixture(scope="module")
def rig():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    yield from cordonrig.running(Rig())


def end(p):
    """SIGINT, as Ctrl-C: cordonctl ends cleanly; (rc, stdout, stderr)."""
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    return p.returncode, out, err


TEXT = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) +(\S+) (\S+) -> (\S+) "
    r"(\S+) (\S+) (\S+)( \(\d+ packets\))?$")


GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden",
                      "sessions", "monitor.txt")


def golden_session(out):
    """`cordonctl monitor` as the admin saw it, times, source ports and
    packet counts masked, each distinct line once, sorted: against
    golden/sessions/monitor.txt (CORDON_GOLDEN_UPDATE=1 rewrites it)."""
    masked = set()
    for ln in out.splitlines():
        ln = re.sub(r"^\S+Z ", "TIME ", ln)
        ln = re.sub(r":\d+ -> ", ":PORT -> ", ln)
        masked.add(re.sub(r" \(\d+ packets\)$", "", ln))
    text = "$ cordonctl monitor\n" + "".join(
        ln + "\n" for ln in sorted(masked)) + "^C\n"
    if os.environ.get("CORDON_GOLDEN_UPDATE") == "1":
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            f.write(text)
    with open(GOLDEN) as f:
        assert text == f.read(), text


def test_monitor_shows_the_connections_made(rig):
    n0 = rig.monitors()
    procs = {
        "all": rig.monitor("monitor"),
        "deny": rig.monitor("-j", "monitor", "deny"),
        "rule": rig.monitor("monitor", "rule", "us-ssh", "-J"),
        "src": rig.monitor("monitor", "src", "198.51.100.0/24"),
        "none": rig.monitor("monitor", "src", "2001:db8::/32"),
    }
    wait_for("five monitors", lambda: rig.monitors() == n0 + 5)
    # A denied connection from CN (SYN and its retransmits dropped)
    # and an allowed one from US, made now.
    wait_for("the US connection", lambda: rig.connect(US) == "hello-ssh",
             timeout=20, step=0.5)
    assert rig.connect(CN) == "timeout"
    time.sleep(1.5)   # the main lcore drains the log rings every 100 ms
    res = {k: end(p) for k, p in procs.items()}
    for k, (rc, out, err) in res.items():
        assert rc == 0, (k, rc, err)
        assert "Traceback" not in err and err == "", (k, err)
    wait_for("monitors gone", lambda: rig.monitors() == n0)

    golden_session(res["all"][1])
    lines = [TEXT.match(ln) for ln in res["all"][1].splitlines()]
    assert all(lines), res["all"][1]
    seen = {(m.group(1), m.group(2), m.group(3).rsplit(":", 1)[0],
             m.group(4), m.group(5), m.group(6), m.group(7))
            for m in lines}
    assert ("drop", "cn-ssh-deny", CN, SRV + ":22", "tcp", "CN",
            "ssh") in seen, seen
    assert ("allow", "us-ssh", US, SRV + ":22", "tcp", "US",
            "ssh") in seen, seen

    deny = [json.loads(ln) for ln in res["deny"][1].splitlines()]
    assert deny and all(e["action"] == "drop" for e in deny), deny
    e = deny[0]
    assert e["type"] == "event" and e["rule"] == "cn-ssh-deny"
    assert e["src"] == CN and e["dst"] == SRV and e["dport"] == 22
    assert e["country"] == "CN" and e["service"] == "ssh"
    assert e["port"] == "outside0" and e["count"] >= 1
    assert abs(e["time_us"] / 1e6 - time.time()) < 60

    rule = [json.loads(ln) for ln in res["rule"][1].splitlines()]
    assert rule and {e["rule"] for e in rule} == {"us-ssh"}, rule
    src = [TEXT.match(ln) for ln in res["src"][1].splitlines()]
    assert src and all(m and m.group(3).startswith(CN + ":")
                       for m in src), res["src"][1]
    assert res["none"][1] == ""


def test_monitor_refusals(rig):
    r = subprocess.run([CORDONCTL, "-s", rig.cd.sock, "monitor", "src",
                        "300.1.2.3"], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1 and "src: an IPv4 or IPv6" in r.stderr
    # The read-only socket serves it too.
    c = Conn(rig.cd.ro)
    assert c.ok("monitor")["subscribed"] is True
    subs = [c]
    try:
        while True:
            c = Conn(rig.cd.sock)
            r = c.req("monitor", deny=True)
            if not r["ok"]:
                break
            subs.append(c)
        assert r["error"]["code"] == "busy", r
        assert len(subs) == 8
        assert rig.monitors() == 8
    finally:
        for c in subs:
            c.close()
    wait_for("subscriptions ended", lambda: rig.monitors() == 0)


def read_lines(s, timeout):
    """Everything S carries for TIMEOUT s (after the framed reply)."""
    s.settimeout(0.2)
    buf, end_t = b"", time.monotonic() + timeout
    while time.monotonic() < end_t:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        if not b:
            break
        buf += b
    return buf.decode().splitlines()


def test_stalled_subscriber_loses_events_not_commits(rig):
    stalled = Conn(rig.cd.sock)
    stalled.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert stalled.ok("monitor", deny=True)["subscribed"]
    ev0 = rig.cd.once("show", what="logging")["events"]
    # 1500 denied SYNs at 500 a second: cordon-dp logs up to 200 a
    # second, far more than the stalled subscriber's queue holds.
    frs = [syn(CN, SRV, 22, 20000 + i) for i in range(1500)]
    t = threading.Thread(target=rig.replay, args=(frs, 500))
    t.start()
    try:
        # Commits go on at full speed meanwhile.
        for i in range(5):
            rig.cd.once("set", kind="rule", name="x%d" % i, attrs={
                "src": "RU", "services": "rdp", "direction": "in",
                "action": "drop"})
            t0 = time.monotonic()
            rig.cd.once("commit", comment="under a stalled monitor")
            assert time.monotonic() - t0 < 3, "commit stalled"
            time.sleep(0.3)
    finally:
        t.join()
    wait_for("events logged", lambda: rig.cd.once(
        "show", what="logging")["events"] - ev0 >= 500, timeout=20)
    # The stalled one now reads: what was queued, then the count of
    # what it lost.
    lines = read_lines(stalled.s, 4)
    stalled.close()
    evs = [json.loads(ln) for ln in lines]
    drops = [e for e in evs if e["type"] == "dropped"]
    got = [e for e in evs if e["type"] == "event"]
    assert got and drops, lines[-3:]
    assert drops[0]["events"] == drops[0]["queue_full"] + \
        drops[0]["rate_limited"] > 0, drops
    assert all(e["rule"] == "cn-ssh-deny" for e in got)
