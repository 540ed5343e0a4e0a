"""The Prometheus side of issue 5, with the real daemons.

cordond runs with `control.prometheus.listen` on a free loopback port and
a cordon-dp whose outside port replays a small capture once (net_pcap
without infinite_rx: the counters stop moving once it is through).  Then:

- curl GETs /metrics: 200, the 0.0.4 content type, a body every line of
  which is a HELP, a TYPE or a sample of a known family;
- every counter of the `counters` reply is in the body with its value;
- `cordonctl show counters --prometheus` prints the same body, but for
  the geo age (it is computed per request);
- POST, other paths, bad request lines, an oversized header and a
  request that never ends get their status codes (405, 404, 400, 431,
  408 after 5 s) while the control socket keeps answering within 1 s;
- `cordond -n` refuses wildcard and malformed listen addresses.

    CORDOND, CORDON_DP, CORDONCTL   binaries (default build/...)
    CORDON_GEODB                    database (default .cache/geo/...)

Run as root: /usr/bin/python3 -m pytest tests/mon/test_prometheus.py
"""
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, GEODB,
                       SERVICES_SSH_RDP, Conn, control_conf, free_port,
                       geo_conf, pcap_dataplane, pcap_write, syn, wait_for)

US_SRC, CN_SRC, RU_SRC, SRV = ("192.0.2.33", "198.51.100.7", "203.0.113.9",
                               "192.0.2.80")
ROUNDS = 25             # frames per country in the capture

CONF = geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "ru-rdp-drop"; src = "RU"; services = "rdp"; direction = "in";
      action = "drop"; },
    { name = "cn-ssh-reject"; src = "CN"; services = "ssh";
      direction = "in"; action = "reject"; }
);
default = { action = "drop"; };
""" + pcap_dataplane() + control_conf("""\
    prometheus = { listen = "%(listen)s"; };
    logging = { targets = ( { type = "udp"; address = "127.0.0.1";
                              port = %(udp)d; } ); };
""")


def frames():
    """ROUNDS SYNs per country: US -> ssh (allowed), CN -> ssh
    (rejected), RU -> rdp (dropped), and one non-IP frame."""
    from scapy.all import Ether
    out = [syn(src, SRV, dport, 40000 + i) for i in range(ROUNDS)
           for src, dport in ((US_SRC, 22), (CN_SRC, 22), (RU_SRC, 3389))]
    out.append(bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02",
                           type=0x88b5) / (b"\x00" * 50)))
    return out


class Rig(cordonrig.Cordond):
    """cordond with the Prometheus listener on LISTEN and a cordon-dp
    that replays the capture once."""

    def __init__(self, host="127.0.0.1", family=socket.AF_INET):
        super().__init__(prefix="cordon-prom-")
        self.pcap = self.dir + "/in.pcap"
        self.frames = frames()
        pcap_write(self.pcap, self.frames)
        self.port = free_port(socket.SOCK_STREAM, family, host)
        self.host = host
        self.listen = ("[%s]:%d" if ":" in host else "%s:%d") % (
            host, self.port)
        self.url = "http://%s/metrics" % self.listen
        self.write_conf(CONF, pcap=self.pcap, listen=self.listen,
                        udp=free_port())

    def start(self):
        self.spawn()
        self.wait_dp_up(timeout=60)
        self.connect()
        return self

    def settled(self):
        """Waits until the whole capture is counted and the counters
        stop changing; returns that snapshot."""
        want = len(self.frames)
        wait_for("the capture counted",
                 lambda: self.ok("counters")["packets"] >= want)
        last = None
        end = time.monotonic() + 20
        while time.monotonic() < end:
            c = self.ok("counters")
            c.pop("time")
            if c == last:
                return c
            last = c
            time.sleep(0.3)
        raise AssertionError("counters keep changing")

    def stop(self):
        super().stop(dp_signal=signal.SIGINT)


def need_binaries():
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL,
                            hint="CORDOND / CORDON_DP / CORDONCTL")
    if not shutil.which("curl"):
        pytest.fail("curl is missing")


def make_rig(**kw):
    need_binaries()
    r = Rig(**kw)
    try:
        r.start()
    except BaseException:
        r.stop()
        r.cleanup()
        raise
    return r


@pytest.fixture(scope="module")
def rig():
    r = make_rig()
    yield r
    r.stop()
    r.cleanup()


# -- the exposition format ----------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)\})? (-?[0-9]+)$" %
                    (NAME, LABEL, LABEL))
HELP = re.compile(r"^# HELP (%s) (.*)$" % NAME)
TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|untyped)$" % NAME)
LABEL_ONE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1),
                                                      m.group(1)), v)


def parse_exposition(text):
    """{family: {"type", "help", "samples": {labels-tuple: value}}},
    strictly: HELP then TYPE before a family's samples, each once, every
    sample line in the family announced last, no blank lines."""
    assert text.endswith("\n")
    fams = {}
    cur = None
    for ln in text[:-1].split("\n"):
        m = HELP.match(ln)
        if m:
            assert m.group(1) not in fams, "family twice: " + ln
            cur = fams[m.group(1)] = {"help": m.group(2), "type": None,
                                      "samples": {}}
            continue
        m = TYPE.match(ln)
        if m:
            assert cur is not None and cur["type"] is None
            assert fams.get(m.group(1)) is cur, ln
            cur["type"] = m.group(2)
            continue
        m = SAMPLE.match(ln)
        assert m, "not an exposition line: %r" % ln
        name = m.group(1)
        assert cur is not None and fams.get(name) is cur, ln
        labels = tuple(sorted((k, unescape(v)) for k, v in
                              LABEL_ONE.findall(m.group(2) or "")))
        assert labels not in cur["samples"], "sample twice: " + ln
        cur["samples"][labels] = int(m.group(3))
    for name, f in fams.items():
        assert f["type"] is not None, name
        assert name.startswith("cordon_"), name
        assert (f["type"] == "counter") == name.endswith("_total"), name
    return fams


def curl(url, *args):
    """Status, headers (lower-case names) and body of one curl request."""
    r = subprocess.run(["curl", "-sS", "-i", "--max-time", "10"] +
                       list(args) + [url], capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    head, _, body = r.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body.decode()


def ctl_prometheus(rig, *spelling):
    r = subprocess.run([CORDONCTL, "-s", rig.sock, "show", "counters"] +
                       list(spelling or ["--prometheus"]),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r.stdout


def without_age(text):
    return "\n".join(ln for ln in text.split("\n")
                     if not ln.startswith("cordon_geo_age_seconds "))


# -- tests ------------------------------------------------------------------

def test_metrics_match_counters(rig):
    c = rig.settled()
    st = rig.ok("status")
    rules = {r["name"]: r for r in rig.ok("show", what="rules")["rules"]}
    status, hdrs, body = curl(rig.url)
    assert status == 200, body
    assert hdrs["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert int(hdrs["content-length"]) == len(body.encode())
    assert hdrs["connection"] == "close"
    f = parse_exposition(body)

    def val(name, **labels):
        return f[name]["samples"][tuple(sorted(labels.items()))]

    # The traffic: every frame counted, each country by its rule.
    assert c["packets"] == len(rig.frames)
    assert c["actions"]["allow"] == c["actions"]["reject"] == \
        c["actions"]["drop"] - 1 == ROUNDS
    assert val("cordon_packets_total") == c["packets"]
    for k, v in c["actions"].items():
        assert val("cordon_action_packets_total", action=k) == v, k
    assert len(f["cordon_action_packets_total"]["samples"]) == \
        len(c["actions"])
    for k, v in c["reasons"].items():
        assert val("cordon_drop_reason_packets_total", reason=k) == v, k
    assert len(f["cordon_drop_reason_packets_total"]["samples"]) == \
        len(c["reasons"])
    for r in c["rules"]:
        lab = dict(id=str(r["id"]), rule=r["rule"],
                   action=rules[r["rule"]]["action"])
        assert val("cordon_rule_hits_total", **lab) == r["hits"], r
        assert val("cordon_rule_hits_since_activation", **lab) == \
            r["hits_since_activation"], r
        assert val("cordon_rule_position", id=str(r["id"]),
                   rule=r["rule"]) == r["position"], r
    assert len(f["cordon_rule_hits_total"]["samples"]) == len(c["rules"])
    assert {r["country"] for r in c["countries"]} == {"US", "CN", "RU"}
    for r in c["countries"]:
        assert val("cordon_country_packets_total",
                   country=r["country"]) == r["packets"]
        assert val("cordon_country_denied_packets_total",
                   country=r["country"]) == r["denied"]
    for p in c["ports"]:
        for k, v in p.items():
            if k != "port":
                assert val("cordon_port_%s_total" % k, port=p["port"]) == \
                    v, (p["port"], k)
    assert val("cordon_log_dropped_total") == c["log_dropped"]
    assert val("cordon_log_suppressed_total") == c["log_suppressed"]
    for k, v in c["fragments"].items():
        assert val("cordon_fragments_total", event=k) == v, k
    assert len(f["cordon_fragments_total"]["samples"]) == 4
    for k, v in c["evidence"].items():
        assert val("cordon_evidence_total", event=k) == v, k
    assert len(f["cordon_evidence_total"]["samples"]) == 9
    # The daemon's own.
    assert val("cordon_build_info", version=st["version"]) == 1
    assert val("cordon_policy_revision") == st["running_revision"] == \
        c["revision"]
    assert val("cordon_dataplane_up") == 1
    assert val("cordon_dataplane_restarts_total") == \
        st["dataplane"]["restarts"]
    assert val("cordon_geo_build_time_seconds") == st["geo"]["build_epoch"]
    assert val("cordon_geo_build_time_seconds") > 1500000000
    assert abs(val("cordon_geo_age_seconds") - st["geo"]["age_s"]) <= 2
    for name, fam in f.items():
        assert fam["help"], name


def test_cli_equals_http(rig):
    rig.settled()
    _, _, body = curl(rig.url)
    for spelling in (["--prometheus"], ["-p"], ["prometheus"]):
        assert without_age(ctl_prometheus(rig, *spelling)) == \
            without_age(body)
    parse_exposition(ctl_prometheus(rig))


def test_head_and_query(rig):
    status, hdrs, body = curl(rig.url + "?x=1")
    assert status == 200 and body.startswith("# HELP cordon_build_info")
    r = subprocess.run(["curl", "-sS", "-I", "--max-time", "10", rig.url],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and r.stdout.startswith("HTTP/1.1 200 ")
    assert "Content-Length: " in r.stdout


@pytest.mark.parametrize("args,path,want", [
    (["-X", "POST", "-d", "x=1"], "/metrics", 405),
    (["-X", "PUT"], "/metrics", 405),
    (["-X", "DELETE"], "/metrics", 405),
    ([], "/other", 404),
    ([], "/", 404),
    ([], "/metrics/x", 404),
    (["-0"], "/nope", 404),
])
def test_http_errors(rig, args, path, want):
    status, hdrs, body = curl("http://%s%s" % (rig.listen, path), *args)
    assert status == want, body
    assert hdrs["connection"] == "close"
    if want == 405:
        assert hdrs["allow"] == "GET, HEAD"


def raw(rig, data, timeout=10):
    """Sends DATA on one TCP connection, returns all it gets back."""
    s = socket.create_connection((rig.host, rig.port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def status_of(resp):
    return int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/1.1 ") \
        else None


@pytest.mark.parametrize("data,want", [
    (b"GET /metrics HTTP/1.0\r\n\r\n", 200),
    (b"GET /metrics HTTP/1.0\n\n", 200),
    (b"GET /metrics HTTP/1.1\r\n\r\n", 400),           # no Host
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200),
    (b"GET  /metrics HTTP/1.0\r\n\r\n", 400),
    (b"GET /metrics\r\n\r\n", 400),
    (b"get /metrics HTTP/1.0\r\n\r\n", 400),
    (b"GET metrics HTTP/1.0\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.0 x\r\n\r\n", 400),
    (b"GET /metrics HTTP/2.0\r\n\r\n", 505),
    (b"GET /metrics FTP/1.0\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.0\r\nno colon\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.0\r\n folded: x\r\n\r\n", 400),
    (b"GET /metrics HTTP/1.0\r\nX: \x00\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40, 400),
    (b"BREW /metrics HTTP/1.0\r\n\r\n", 405),
])
def test_raw_requests(rig, data, want):
    resp = raw(rig, data)
    assert status_of(resp) == want, resp[:200]
    assert b"\r\nConnection: close\r\n" in resp


def test_oversized_header(rig):
    big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 9000 + \
        b"\r\n\r\n"
    resp = raw(rig, big)
    assert status_of(resp) == 431, resp[:200]
    # Just under the limit is fine.
    ok = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + \
        b"\r\n\r\n"
    assert len(ok) < 8192
    assert status_of(raw(rig, ok)) == 200


def status_time(rig):
    t0 = time.monotonic()
    c = Conn(rig.sock, timeout=5)
    try:
        c.ok("status")
    finally:
        c.close()
    return time.monotonic() - t0


def test_slow_clients_do_not_block(rig):
    """Half-sent requests (one byte now and then, or nothing at all) are
    answered 408 after 5 s; meanwhile the control socket answers within
    1 s and other scrapes are served."""
    hold = []
    try:
        for i in range(8):
            s = socket.create_connection((rig.host, rig.port), timeout=15)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" if i % 2
                      else b"")
            hold.append(s)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3:
            assert status_time(rig) < 1.0
            for s in hold[1::2]:
                s.sendall(b"X")           # a trickle does not extend it
            status, _, body = curl(rig.url)
            assert status == 200
            time.sleep(0.3)
        for s in hold:
            resp = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                resp += chunk
            assert status_of(resp) == 408, resp[:200]
        took = time.monotonic() - t0
        assert 1.0 < took < 8, took
    finally:
        for s in hold:
            s.close()
    assert status_time(rig) < 1.0


def test_connection_flood(rig):
    """More idle connections than the listener keeps: the extra ones are
    closed at once, the daemon and the next scrape are fine."""
    hold = []
    try:
        for _ in range(40):
            hold.append(socket.create_connection((rig.host, rig.port),
                                                 timeout=15))
        assert status_time(rig) < 1.0
        # The listener keeps 16 (MON_HTTP_CLIENT_MAX); which 16 depends
        # on how its accepts and idle timeouts interleave on a loaded
        # machine, so the count of those still open is what is checked.
        time.sleep(1)
        still = 0
        for s in hold:
            s.setblocking(False)
            try:
                still += s.recv(1) != b""
            except BlockingIOError:
                still += 1
            except ConnectionResetError:
                pass
        assert still <= 16
    finally:
        for s in hold:
            s.close()
    wait_for("a scrape after the flood", lambda: curl(rig.url)[0] == 200,
             timeout=10)
    assert status_time(rig) < 1.0


def test_client_gone_mid_reply(rig):
    """A scraper that resets the connection before reading costs nothing."""
    for _ in range(20):
        s = socket.create_connection((rig.host, rig.port), timeout=5)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        s.close()
    assert curl(rig.url)[0] == 200
    assert rig.proc.poll() is None


def test_ipv6_listener():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    r = make_rig(host="::1", family=socket.AF_INET6)
    try:
        status, hdrs, body = curl(r.url)
        assert status == 200
        parse_exposition(body)
    finally:
        r.stop()
        r.cleanup()


# -- the config --------------------------------------------------------------

@pytest.mark.parametrize("listen,ok,msg", [
    ("127.0.0.1:9477", True, "prometheus 127.0.0.1:9477"),
    ("[::1]:9477", True, "prometheus [::1]:9477"),
    ("192.0.2.1:80", True, "prometheus 192.0.2.1:80"),
    ("0.0.0.0:9477", False, "a wildcard address is not allowed"),
    ("[::]:9477", False, "a wildcard address is not allowed"),
    ("localhost:9477", False, "not a numeric IPv4 address"),
    ("127.0.0.1", False, "must be ADDRESS:PORT"),
    ("127.0.0.1:0", False, "must be ADDRESS:PORT"),
    ("127.0.0.1:65536", False, "must be ADDRESS:PORT"),
    ("127.0.0.1:+80", False, "must be ADDRESS:PORT"),
    ("::1:9477", False, "not a numeric IPv4 address"),
    ("[::1]9477", False, "must be ADDRESS:PORT"),
    ("[fe80::zz]:1", False, "not a numeric IPv6 address"),
])
def test_config_listen(listen, ok, msg, tmp_path):
    need_binaries()
    conf = CONF % {"geodb": GEODB, "dir": str(tmp_path), "dp": CORDON_DP,
                   "udp": 514,
                   "pcap": "/nonexistent.pcap", "listen": listen}
    path = tmp_path / "cordon.conf"
    path.write_text(conf)
    r = subprocess.run([CORDOND, "-n", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    if ok:
        assert r.returncode == 0, r.stderr
        assert msg in r.stdout
    else:
        assert r.returncode == 2, r.stdout
        line = conf[:conf.index('listen = "')].count("\n") + 1
        assert "%s:%d: control.prometheus.listen" % (path, line) in \
            r.stderr, r.stderr
        assert msg in r.stderr


@pytest.mark.parametrize("group,msg", [
    ("prometheus = { };", 'missing "listen"'),
    ("prometheus = { listen = \"127.0.0.1:1\"; port = 1; };", "port"),
    ("prometheus = \"127.0.0.1:1\";", "group"),
])
def test_config_group(group, msg, tmp_path):
    need_binaries()
    conf = (CONF % {"geodb": GEODB, "dir": str(tmp_path), "dp": CORDON_DP,
                    "udp": 514,
                    "pcap": "/x.pcap", "listen": "127.0.0.1:1"}).replace(
        'prometheus = { listen = "127.0.0.1:1"; };', group)
    path = tmp_path / "cordon.conf"
    path.write_text(conf)
    r = subprocess.run([CORDOND, "-n", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert msg in r.stderr, r.stderr


def test_config_absent_is_off(tmp_path):
    need_binaries()
    conf = (CONF % {"geodb": GEODB, "dir": str(tmp_path), "dp": CORDON_DP,
                    "udp": 514,
                    "pcap": "/x.pcap", "listen": "127.0.0.1:1"}).replace(
        'prometheus = { listen = "127.0.0.1:1"; };', "")
    path = tmp_path / "cordon.conf"
    path.write_text(conf)
    r = subprocess.run([CORDOND, "-n", "-f", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "    prometheus off\n" in r.stdout


# -- issue 14: what show status, show logging and counters knew -------------

SYSLOG_KEYS = {"events": "cordon_syslog_events_total",
               "records": "cordon_syslog_records_total",
               "rate_limited_records":
               "cordon_syslog_rate_limited_records_total",
               "rate_limited_events":
               "cordon_syslog_rate_limited_events_total",
               "aggregation_overflow":
               "cordon_syslog_aggregation_overflow_total",
               "channel_lost": "cordon_syslog_channel_lost_total",
               "monitors": "cordon_monitors"}
TARGET_KEYS = {"sent": "cordon_syslog_target_sent_total",
               "dropped": "cordon_syslog_target_dropped_total",
               "reconnects": "cordon_syslog_target_reconnects_total",
               "errors": "cordon_syslog_target_errors_total",
               "queued": "cordon_syslog_target_queued"}


def scrape(rig):
    status, _, body = curl(rig.url)
    assert status == 200, body
    f = parse_exposition(body)
    return lambda name, **lab: f.get(name, {"samples": {}})[
        "samples"].get(tuple(sorted(lab.items())))


def test_status_logging_knocks_and_confirm(rig):
    rig.conn.close()   # idle since the tests before: closed by cordond
    rig.connect()
    rig.settled()
    ok = rig.once
    mon = Conn(rig.sock)
    assert mon.ok("monitor")["subscribed"]
    try:
        val = scrape(rig)
        st, lg = ok("status"), ok("show", what="logging")
        c = ok("counters")
    finally:
        mon.close()
    assert val("cordon_dataplane_in_sync") == int(
        st["dataplane"]["in_sync"]) == 1
    assert st["confirm"] is None
    assert val("cordon_confirm_pending") == 0
    assert val("cordon_confirm_deadline_seconds") is None
    for k, name in SYSLOG_KEYS.items():
        assert val(name) == lg[k], k
    assert lg["monitors"] == 1
    assert len(lg["targets"]) == 1
    for t in lg["targets"]:
        lab = dict(target=str(t["target"]), type=t["type"],
                   address=t["address"])
        for k, name in TARGET_KEYS.items():
            assert val(name, **lab) == t[k], k
    assert val("cordon_knock_dropped_total") == c["knock_dropped"]
    assert val("cordon_knock_unsent_total") == c["knock_unsent"]
    # No identity group: no sessions, no knock verdicts.
    assert val("cordon_sessions") is None
    assert val("cordon_knocks_total", result="ok") is None

    ok("set", kind="rule", name="prom-x", attrs={
        "src": "RU", "services": "ssh", "direction": "in",
        "action": "drop"})
    rev = ok("commit", confirmed=5)["revision"]
    val, st = scrape(rig), ok("status")
    assert val("cordon_confirm_pending") == 1
    assert val("cordon_confirm_deadline_seconds") == \
        st["confirm"]["deadline"] > time.time()
    assert val("cordon_confirm_revision") == st["confirm"]["revision"] == rev
    ok("confirm")
    val = scrape(rig)
    assert val("cordon_confirm_pending") == 0
    assert val("cordon_confirm_deadline_seconds") is None
