"""Syslog from cordond (issue 5): RFC 5424 records over UDP, TCP (RFC
6587 octet counting) and TLS (RFC 5425) to a real rsyslogd, after known
traffic through a real cordon-dp.

One network namespace holds everything: a veth pair (cordon-dp's outside
port is net_af_packet on one end, tcpreplay sends exactly the frames the
test wants on the other), cordond with its own state folder and sockets,
and rsyslogd (its own config, pid file and work folder) listening on
127.0.0.1 with imudp, imtcp and imtcp + the ossl driver (CA and server
certificate made here with the openssl CLI).  rsyslog writes each
message's raw text (%rawmsg%) to one file per input; the test parses them
with its own RFC 5424 parser.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

Run as root: /usr/bin/python3 -m pytest tests/mon/test_syslog.py
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDOND, GEODB, SERVICES_SSH_RDP, Conn,
                       control_conf, dataplane_conf, geo_conf, pcap_write,
                       wait_for)

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"

CN_A, CN_B, US_A, SRV = ("198.51.100.7", "198.51.100.8", "192.0.2.33",
                         "192.0.2.80")
PORTS = {"udp": 15514, "tcp": 15515, "tls": 15516}

CONF = geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "cn-ssh-deny"; src = [ "CN", "RU" ]; services = "ssh";
      direction = "in"; action = "drop"; log = true; }
);
default = { action = "allow"; };
""" + dataplane_conf("net_af_packet0", ["--vdev=net_null0,no-rx=1"],
                     devargs="net_af_packet0,iface=vsl0") + control_conf("""\
    logging = {
        facility = "local3";
        window = %(window)d;
        rate = %(rate)d;
        targets = (
            { type = "udp"; address = "127.0.0.1"; port = %(udp)d; },
            { type = "tcp"; address = "127.0.0.1"; port = %(tcp)d; },
            { type = "tls"; address = "127.0.0.1"; port = %(tls)d;
              ca = "%(dir)s/pki/ca.pem"; name = "syslog.test"; },
            { type = "local"; address = "%(dir)s/run/log.sock"; }
        );
    };
""")

RSYSLOG_CONF = """
global(workDirectory="%(dir)s/rs-work"
       defaultNetstreamDriverCAFile="%(dir)s/pki/ca.pem"
       defaultNetstreamDriverCertFile="%(dir)s/pki/srv.pem"
       defaultNetstreamDriverKeyFile="%(dir)s/pki/srv.key")
module(load="imudp")
module(load="imtcp")
template(name="raw" type="string" string="%%rawmsg%%\\n")
ruleset(name="udp") { action(type="omfile" file="%(dir)s/udp.log" template="raw") }
ruleset(name="tcp") { action(type="omfile" file="%(dir)s/tcp.log" template="raw") }
ruleset(name="tls") { action(type="omfile" file="%(dir)s/tls.log" template="raw") }
input(type="imudp" address="127.0.0.1" port="%(udp)d" ruleset="udp")
input(type="imtcp" address="127.0.0.1" port="%(tcp)d" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="%(tls)d" ruleset="tls"
      streamDriver.name="ossl" streamDriver.mode="1"
      streamDriver.authMode="anon")
"""


# --- RFC 5424 ---------------------------------------------------------------

HDR = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")


def parse_sd(s, i):
    """SD-ELEMENTs from S[i:]; returns ({id: {name: value}}, rest)."""
    sd = {}
    if s[i] == "-":
        return sd, s[i + 1:]
    while i < len(s) and s[i] == "[":
        j = i + 1
        while s[j] not in " ]":
            j += 1
        sid = s[i + 1:j]
        params = {}
        i = j
        while s[i] == " ":
            j = s.index("=", i)
            name = s[i + 1:j]
            assert s[j + 1] == '"', s
            k, val = j + 2, []
            while s[k] != '"':
                if s[k] == "\\" and s[k + 1] in '"\\]':
                    val.append(s[k + 1])
                    k += 2
                else:
                    assert s[k] not in '"]', s   # must have been escaped
                    val.append(s[k])
                    k += 1
            assert name not in params, s
            params[name] = "".join(val)
            i = k + 1
        assert s[i] == "]", s
        sd[sid] = params
        i += 1
    return sd, s[i:]


def parse5424(line):
    m = HDR.match(line)
    assert m, "not RFC 5424: %r" % line
    pri = int(m.group(1))
    sd, rest = parse_sd(line, m.end())
    assert rest == "" or rest.startswith(" "), line
    return {"facility": pri // 8, "severity": pri % 8, "ts": m.group(2),
            "host": m.group(3), "app": m.group(4), "procid": m.group(5),
            "msgid": m.group(6), "sd": sd, "msg": rest[1:]}


def records(path, msgid=None):
    try:
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().split("\n") if ln]
    except OSError:
        return []
    out = [parse5424(ln) for ln in lines]
    return [r for r in out if msgid is None or r["msgid"] == msgid]


def test_parser_escapes():
    r = parse5424('<155>1 2024-01-01T00:00:00.000001Z h cordond 7 commit '
                  '[cordon@32473 comment="a\\"b\\\\c\\]d" x="1"] text')
    assert r["sd"]["cordon@32473"] == {"comment": 'a"b\\c]d', "x": "1"}
    assert r["facility"] == 19 and r["severity"] == 3 and r["msg"] == "text"


# --- helpers ----------------------------------------------------------------

def syn(src, dport, sport=40000):
    return cordonrig.syn(src, SRV, dport, sport)


class Rig:
    """A netns with a veth pair, rsyslogd, cordond and its cordon-dp."""

    def __init__(self, window=2, rate=100):
        self.cordond = cordonrig.Cordond(prefix="cordon-syslog-")
        self.dir = self.cordond.dir
        for sub in ("rs-work", "pki"):
            os.makedirs(os.path.join(self.dir, sub))
        self.ns = "cdsl%d" % os.getpid()
        self.vals = dict(PORTS, dir=self.dir, geodb=GEODB, dp=CORDON_DP,
                         window=window, rate=rate)
        self.rs = None
        self.sock = self.cordond.sock
        self.cd = None
        self.local = None

    # netns ------------------------------------------------------------
    def ip(self, *a):
        subprocess.run(("ip",) + a, check=True)

    def nsrun(self, *a, **kw):
        return subprocess.run(("ip", "netns", "exec", self.ns) + a,
                              check=True, **kw)

    def netns_up(self):
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)
        self.ip("netns", "add", self.ns)
        self.ip("-n", self.ns, "link", "set", "lo", "up")
        self.ip("-n", self.ns, "link", "add", "vsl0", "type", "veth",
                "peer", "name", "vsl1")
        for dev in ("vsl0", "vsl1"):
            self.nsrun("sysctl", "-qw",
                       "net.ipv6.conf.%s.disable_ipv6=1" % dev)
            self.ip("-n", self.ns, "link", "set", dev, "up")

    # pki + rsyslog ----------------------------------------------------
    def pki(self):
        d = self.dir + "/pki"

        def ossl(*a):
            subprocess.run(("openssl",) + a, check=True, cwd=d,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             "ca.key", "-out", "ca.pem", "-days", "2", "-subj",
             "/CN=cordon test CA")
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key",
             "-out", "srv.csr", "-subj", "/CN=syslog.test")
        with open(d + "/ext.cnf", "w") as f:
            f.write("subjectAltName=DNS:syslog.test,IP:127.0.0.1\n")
        ossl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey",
             "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2",
             "-extfile", "ext.cnf")

    def rsyslog_start(self):
        conf = self.dir + "/rsyslog.conf"
        with open(conf, "w") as f:
            f.write(RSYSLOG_CONF % self.vals)
        pidf = self.dir + "/rsyslog.pid"
        if os.path.exists(pidf):
            os.unlink(pidf)
        out = open(self.dir + "/rsyslog.out", "ab")
        self.rs = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, RSYSLOGD, "-n", "-f", conf,
             "-i", pidf], stdout=out, stderr=out)
        out.close()

        def listening():
            for p in (PORTS["tcp"], PORTS["tls"]):
                r = subprocess.run(["ip", "netns", "exec", self.ns, "ss",
                                    "-ltnH", "sport = :%d" % p],
                                   capture_output=True, text=True)
                if str(p) not in r.stdout:
                    return False
            return True
        wait_for("rsyslogd listening", listening, timeout=15)

    def rsyslog_kill(self):
        if self.rs and self.rs.poll() is None:
            self.rs.kill()
            self.rs.wait(10)
        self.rs = None

    # cordond ----------------------------------------------------------
    def local_socket(self):
        """The "local" target: a datagram socket standing in for
        /dev/log."""
        self.local = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.local.bind(self.dir + "/run/log.sock")
        self.local.setblocking(False)
        # As /dev/log: cordon-dp's fallback connects as its own user
        # (cordon-dp(8), SANDBOX), through folders it may only search.
        os.chmod(self.dir + "/run/log.sock", 0o666)
        for d in (self.dir, self.dir + "/run"):
            os.chmod(d, os.stat(d).st_mode | 0o111)

    def local_records(self):
        out = []
        while True:
            try:
                out.append(parse5424(self.local.recv(65536).decode()))
            except BlockingIOError:
                return out

    def cordond_start(self):
        self.cordond.write_conf(CONF, **self.vals)
        self.cd = self.cordond.spawn(wrap=("ip", "netns", "exec", self.ns))
        self.cordond.wait_dp_up(timeout=60)

    def logtext(self):
        return self.cordond.logtext()

    def ok(self, cmd, **args):
        """One request on a fresh connection: cordond closes a client
        that stays idle for 5 s."""
        return self.cordond.once(cmd, **args)

    def logging(self):
        return self.ok("show", what="logging")

    def target(self, kind):
        for t in self.logging()["targets"]:
            if t["type"] == kind:
                return t
        raise KeyError(kind)

    def replay(self, frs, pps=None, loops=1):
        path = self.dir + "/send.pcap"
        pcap_write(path, frs, usec_step=True)
        rate = ["--pps=%d" % pps] if pps else ["--topspeed"]
        self.nsrun("tcpreplay", "-q", "-i", "vsl1", "--loop=%d" % loops,
                   *rate, path, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

    def start(self):
        self.netns_up()
        self.pki()
        self.rsyslog_start()
        self.local_socket()
        self.cordond_start()
        wait_for("every target up", lambda: all(
            t["state"] == "up" for t in self.logging()["targets"]),
            timeout=20)
        return self

    def stop(self):
        self.cordond.stop(dp_signal=signal.SIGINT)
        self.rsyslog_kill()
        if self.local:
            self.local.close()
        subprocess.run(["ip", "netns", "del", self.ns],
                       stderr=subprocess.DEVNULL)

    def cleanup(self):
        self.cordond.cleanup()


def _need():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    cordonrig.need_binaries(CORDOND, CORDON_DP, RSYSLOGD)


@pytest.fixture
def rig():
    _need()
    yield from cordonrig.running(Rig())


@pytest.fixture
def flood_rig():
    _need()
    yield from cordonrig.running(Rig(window=2, rate=20))


SD = "cordon@32473"


def deny_sum(recs, src):
    return sum(int(r["sd"][SD]["repeat_count"]) for r in recs
               if r["sd"][SD]["src"] == src)


def rule_hits(c, name):
    return [r for r in c["rules"] if r["rule"] == name][0][
        "hits_since_activation"]


# --- tests ------------------------------------------------------------------

def test_deny_records_udp_tcp_tls(rig):
    d = rig.dir
    start = wait_for("daemon-start over TCP",
                     lambda: records(d + "/tcp.log", "daemon-start"))
    assert start[0]["app"] == "cordond" and start[0]["facility"] == 19
    assert int(start[0]["procid"]) == rig.cd.pid or start[0]["procid"]

    hits0 = rule_hits(rig.ok("counters"), "cn-ssh-deny")
    # 20 SYNs from CN_A, 10 from CN_B to ssh; 5 from US (allowed, not
    # logged); 3 from CN_A to rdp (no rule: default allow, not logged).
    frs = [syn(CN_A, 22, 40000 + i) for i in range(20)] + \
          [syn(CN_B, 22, 41000 + i) for i in range(10)] + \
          [syn(US_A, 22, 42000 + i) for i in range(5)] + \
          [syn(CN_A, 3389, 43000 + i) for i in range(3)]
    rig.replay(frs, pps=200)
    wait_for("30 hits", lambda: rule_hits(rig.ok("counters"),
                                          "cn-ssh-deny") - hits0 >= 30)
    for kind in ("udp", "tcp", "tls"):
        path = "%s/%s.log" % (d, kind)
        wait_for("%s: every denied packet reported" % kind,
                 lambda: deny_sum(records(path, "deny"), CN_A) == 20 and
                 deny_sum(records(path, "deny"), CN_B) == 10, timeout=15)
        recs = records(path, "deny")
        for r in recs:
            sd = r["sd"][SD]
            assert sd["rule"] == "cn-ssh-deny", r
            assert sd["action"] == "drop" and sd["reason"] == "rule", r
            assert sd["srccountry"] == "CN" and sd["dst"] == SRV, r
            assert sd["dport"] == "22" and sd["proto"] == "tcp", r
            assert sd["service"] == "ssh" and sd["port"] == "outside0", r
            assert sd["first"] <= sd["last"], r
            assert r["severity"] == 4 and r["facility"] == 19, r
        # Aggregated: the first packet at once, the rest in one record.
        assert len([r for r in recs if r["sd"][SD]["src"] == CN_A]) <= 4
        assert not [r for r in recs if r["sd"][SD]["src"] == US_A]
    c = rig.ok("counters")
    assert rule_hits(c, "cn-ssh-deny") - hits0 == 30
    lg = rig.logging()
    assert lg["events"] == 30 and lg["rate_limited_events"] == 0, lg
    assert lg["dp_log_unsent"] == 0 and lg["dp_log_suppressed"] == 0, lg
    for t in lg["targets"]:
        assert t["dropped"] == 0 and t["state"] == "up", t
    # The local target (unix datagram, as /dev/log) got them too.
    loc = [r for r in rig.local_records() if r["msgid"] == "deny"]
    assert deny_sum(loc, CN_A) == 20 and deny_sum(loc, CN_B) == 10


def test_tunnel_records_carry_the_origin(rig):
    """Issue 13: a denied tunnelled packet's record names its innermost
    source and its country next to the relay's (src)."""
    from scapy.all import IP, TCP, Ether, Raw
    d = rig.dir
    rig.ok("set", kind="rule", name="ssh-via-cn", attrs={
        "via": "CN", "services": "ssh", "direction": "in",
        "action": "drop", "log": True, "position": 1})
    rev = rig.ok("commit")["revision"]
    wait_for("revision %d in cordon-dp" % rev, lambda: rig.ok("status")[
        "dataplane"].get("revision") == rev)
    inner = IP(src=CN_B, dst=SRV) / TCP(sport=45000, dport=22, flags="S")
    fr = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
               IP(src=US_A, dst=SRV, proto=47) /
               Raw(b"\x00\x00\x08\x00" + bytes(inner)))
    rig.replay([fr], pps=50)
    path = d + "/udp.log"
    recs = wait_for("the tunnel's deny record", lambda: [
        r for r in records(path, "deny")
        if r["sd"][SD]["rule"] == "ssh-via-cn"], timeout=15)
    sd = recs[0]["sd"][SD]
    assert sd["src"] == US_A and sd["srccountry"] == "US", sd
    assert sd["origin"] == CN_B and sd["origincountry"] == "CN", sd
    assert sd["dport"] == "22" and sd["service"] == "ssh", sd


def test_commit_rollback_events(rig):
    d = rig.dir
    comment = 'quote" back\\ bracket] done'
    rig.ok("set", kind="rule", name="ru-rdp", attrs={
        "src": "RU", "services": "rdp", "direction": "in",
        "action": "drop"})
    rev = rig.ok("commit", comment=comment)["revision"]
    rb = rig.ok("rollback", revision=1, commit=True)["revision"]
    for kind in ("udp", "tcp", "tls"):
        path = "%s/%s.log" % (d, kind)
        com = wait_for(kind + " commit", lambda: records(path, "commit"))
        sd = com[0]["sd"][SD]
        assert sd["revision"] == str(rev) and sd["previous"] == "1", sd
        assert sd["comment"] == comment, sd
        rbr = wait_for(kind + " rollback",
                       lambda: records(path, "rollback"))
        sd = rbr[0]["sd"][SD]
        assert sd["revision"] == str(rb) and sd["copy_of"] == "1", sd
    # Every audit record goes out with its seq and hash: the collector
    # holds the chain head even if the log's tail is deleted.
    log = {r["seq"]: r for r in rig.ok("show", what="audit")["records"]}
    for kind in ("udp", "tcp", "tls"):
        path = "%s/%s.log" % (d, kind)
        aud = wait_for(kind + " audit", lambda: [
            r for r in records(path, "audit")
            if int(r["sd"][SD]["seq"]) == max(log)])
        sd = aud[0]["sd"][SD]
        assert sd["hash"] == log[max(log)]["hash"], sd
        assert sd["command"] == log[max(log)]["cmd"], sd
    # A refused commit is reported too: a candidate gone stale.
    rig.ok("set", kind="rule", name="ru-rdp2", attrs={
        "src": "RU", "services": "rdp", "direction": "in",
        "action": "drop"})
    rig.ok("rollback", revision=rev, commit=True)
    with pytest.raises(AssertionError, match="stale"):
        rig.ok("commit")
    ref = wait_for("commit-refused", lambda: records(d + "/tcp.log",
                                                     "commit-refused"))
    assert ref[0]["sd"][SD]["error"] == "stale", ref
    assert ref[0]["severity"] == 4, ref


def test_flood_aggregates_and_counts(flood_rig):
    rig = flood_rig
    # 200 distinct CN sources, each sending 20 SYNs, as fast as tcpreplay
    # can: more records than rate = 20/s allows, and more events than
    # cordon-dp's own limit (200/s per worker).
    srcs = ["198.51.100.%d" % i for i in range(1, 201)]
    frs = [syn(s, 22, 40000 + j) for j in range(20) for s in srcs]
    t0 = time.monotonic()
    done = threading.Event()
    lat = []

    def poll_status():
        c = Conn(rig.sock, timeout=5)
        try:
            while not done.is_set():
                a = time.monotonic()
                c.ok("status")
                lat.append(time.monotonic() - a)
                time.sleep(0.02)
        finally:
            c.close()
    th = threading.Thread(target=poll_status)
    th.start()
    try:
        rig.replay(frs, loops=3)
        time.sleep(1.0)
    finally:
        done.set()
        th.join()
    assert lat and max(lat) < 1.0, "status took %.3f s" % max(lat)
    hits = rule_hits(rig.ok("counters"), "cn-ssh-deny")
    # af_packet loses some of a topspeed replay; what arrived is counted.
    assert hits >= 1000, hits
    # Windows close (2 s), held counts are reported or counted.
    time.sleep(3)
    lg = rig.logging()
    assert lg["rate_limited_records"] > 0, lg
    dp_lost = lg["dp_log_suppressed"] + lg["dp_log_dropped"] + \
        lg["dp_log_unsent"] + lg["channel_lost"]
    assert dp_lost > 0, lg
    # Every packet of the rule is accounted for: reported by cordon-dp
    # (events) or counted as lost on the way.
    assert lg["events"] + dp_lost == hits, (lg, hits)
    # After the flood (windows closed, the bucket refilled) a new source
    # is aggregated as usual: 1 at once, 9 at the window's end.
    time.sleep(1.5)
    rig.replay([syn("203.0.113.9", 22, 45000 + i) for i in range(10)],
               pps=100)
    agg = wait_for("the new source's aggregated record over TCP", lambda: [
        r for r in records(rig.dir + "/tcp.log", "deny")
        if r["sd"][SD]["src"] == "203.0.113.9" and
        r["sd"][SD]["repeat_count"] == "9"], timeout=15)
    assert agg[0]["sd"][SD]["srccountry"] == "RU", agg
    # What cordond took in was reported or counted as rate-limited.
    wait_for("windows closed", lambda: rig.logging()["pending_pairs"] == 0,
             timeout=10)
    lg = rig.logging()
    tcp = rig.target("tcp")
    assert tcp["dropped"] == 0 and tcp["queued"] == 0, tcp

    def reported():
        return sum(int(r["sd"][SD]["repeat_count"])
                   for r in records(rig.dir + "/tcp.log", "deny"))
    wait_for("reported + rate-limited == events (%s)" % lg, lambda:
             reported() + lg["rate_limited_events"] == lg["events"],
             timeout=10)
    assert time.monotonic() - t0 < 60


def test_tcp_collector_restart_reconnects(rig):
    d = rig.dir
    wait_for("tcp up", lambda: rig.target("tcp")["state"] == "up")
    rig.rsyslog_kill()
    wait_for("tcp target notices", lambda: rig.target("tcp")["state"] !=
             "up", timeout=10)
    # Meanwhile an event is queued, not lost and not blocking.
    rig.ok("set", kind="rule", name="ru-rdp", attrs={
        "src": "RU", "services": "rdp", "direction": "in",
        "action": "drop"})
    rev = rig.ok("commit", comment="while rsyslog is down")["revision"]
    # The monitoring child holds the target's queue and reports it as it
    # changes: the count arrives a moment after the commit's answer.
    wait_for("commit queued for the tcp target",
             lambda: rig.target("tcp")["queued"] >= 1, timeout=5)
    rig.rsyslog_start()
    wait_for("tcp reconnected", lambda: rig.target("tcp")["reconnects"] >= 1
             and rig.target("tcp")["state"] == "up", timeout=40)
    com = wait_for("queued commit delivered after reconnect", lambda: [
        r for r in records(d + "/tcp.log", "commit")
        if r["sd"][SD]["revision"] == str(rev)], timeout=15)
    assert com[0]["sd"][SD]["comment"] == "while rsyslog is down"
    wait_for("tls reconnected", lambda: rig.target("tls")["state"] == "up",
             timeout=40)
