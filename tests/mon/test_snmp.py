"""SNMP (issue 5): cordond's AgentX subagent under a real snmpd.

snmpd runs as AgentX master on a loopback port with its own config and a
temporary AgentX socket, sending its notifications to an snmptrapd on
another loopback port that logs them to a file.  cordond (control.snmp
pointing at that socket, ping_interval 1) runs a cordon-dp whose outside
port replays a finite capture once: the counters settle, so that
snmpget and `counters` taken afterwards must agree exactly.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDON_GEODB  the database (default .cache/geo/geo-whois-asn-country.mmdb)

Run as root: /usr/bin/python3 -m pytest tests/mon/test_snmp.py
"""
import json
import re
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import cordonrig
import fakechild
from cordonrig import (CORDON_DP, CORDOND, ROOT, SERVICES_SSH_RDP,
                       control_conf, free_port, geo_conf, pcap_dataplane,
                       pcap_write, syn, wait_for)

ENT = ".1.3.6.1.4.1.32473"
OBJ = ENT + ".1"
NOTIF = ENT + ".0"
ACTIONS = ["allow", "drop", "reject", "reroute"]
# core/stats/stats.h STATS_PRX_FIELDS, STATS_EVID_FIELDS; core/pkt
# PKT_TUNS from 1: the MIB's order (cordonTotals 10.., cordonTunnelTable).
PROXIED = ["tracked", "reported", "local", "denied", "untrusted", "full",
           "changed"]
EVIDENCE = ["captured", "flows", "flow_full", "ring_full", "written", "lost",
            "files", "removed", "unlogged"]
TUNNELS = ["ipip", "6in4", "4in6", "6in6", "srv6", "gre", "gre-eth", "mpls",
           "vxlan", "geneve", "teredo", "etherip", "l2tp", "gue", "gtp"]
PORT_COLS = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes",
             "tx_dropped"]

US_SRC, CN_SRC, RU_SRC, XX_SRC, SRV = ("192.0.2.33", "198.51.100.7",
                                       "203.0.113.9", "203.0.113.200",
                                       "192.0.2.80")

CONF = geo_conf((("192.0.2.0/24", "US"), ("198.51.100.0/24", "CN"),
                 ("203.0.113.0/25", "RU"))) + SERVICES_SSH_RDP + """rules = (
    { name = "us-allow"; src = "US"; direction = "in"; action = "allow"; },
    { name = "ru-rdp-drop"; src = "RU"; services = "rdp"; direction = "in";
      action = "drop"; },
    { name = "cn-ssh-reject"; src = "CN"; services = "ssh"; direction = "in";
      action = "reject"; }
);
default = { action = "drop"; };
""" + pcap_dataplane("%(infinite)s") + control_conf("""\
    snmp: {
        enabled = true;
        agentx_socket = "%(dir)s/agentx.sock";
        ping_interval = 1;
        deny_rate_threshold = %(threshold)d;
    };
%(logging)s""")

# An identity group with the smallest session table (issue 10 item 17).
IDENTITY = """identity: {
    issuers = ( { name = "corp"; issuer = "https://idp.test";
                  audience = [ "cordon" ]; jwks = "%(dir)s/jwks.json";
                  algorithms = [ "ES256" ]; } );
    services = [ "ssh" ];
    sessions = { capacity = 16; };
};
"""
SESS_CAP = 16
# Its syslog records go to a datagram socket of the test's.
LOCAL_LOG = """    logging = {
        targets = ( { type = "local"; address = "%(dir)s/log.sock"; } );
    };
"""

# Known traffic: per round a US SYN (allowed), a CN ssh SYN (rejected by
# rule 3), a RU rdp SYN (dropped by rule 2), an unmapped-country SYN
# (default: drop).
ROUNDS = 25


def frames():
    return [syn(src, SRV, dport, 40000 + i) for i in range(ROUNDS)
            for src, dport in ((US_SRC, 22), (CN_SRC, 22), (RU_SRC, 3389),
                               (XX_SRC, 80))]


def snmp_env():
    """Environment of the net-snmp tools: no MIB loading, own state."""
    env = dict(os.environ)
    env["MIBS"] = ""
    env["MIBDIRS"] = os.path.join(ROOT, "docs/mib")
    return env


class Snmp:
    """snmpd (AgentX master) and snmptrapd on loopback ports."""

    def __init__(self, d):
        self.dir = d
        self.port = free_port()
        self.trap_port = free_port()
        self.sock = d + "/agentx.sock"
        self.trap_log = d + "/traps.log"
        self.env = snmp_env()
        self.env["SNMP_PERSISTENT_DIR"] = d + "/persist"
        with open(d + "/snmpd.conf", "w") as f:
            f.write("master agentx\nagentXSocket unix:%s\n"
                    "agentXPerms 0600 0700\n"
                    "rocommunity public 127.0.0.1\n"
                    "trap2sink 127.0.0.1:%d public\n"
                    % (self.sock, self.trap_port))
        with open(d + "/snmptrapd.conf", "w") as f:
            f.write("disableAuthorization yes\n")
        self.snmpd = None
        self.trapd = subprocess.Popen(
            ["snmptrapd", "-f", "-Lf", self.trap_log, "-C", "-c",
             d + "/snmptrapd.conf", "-On", "-F", "TRAP %v\n",
             "udp:127.0.0.1:%d" % self.trap_port],
            env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT)

    def start_snmpd(self):
        log = open(self.dir + "/snmpd.log", "ab")
        self.snmpd = subprocess.Popen(
            ["snmpd", "-f", "-Lo", "-C", "-c", self.dir + "/snmpd.conf",
             "-I", "-smux",
             "udp:127.0.0.1:%d" % self.port],
            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for("snmpd's AgentX socket", lambda: os.path.exists(self.sock))
        wait_for("snmpd answering", lambda: self.get(
            ".1.3.6.1.2.1.1.3.0", check=False) is not None)

    def stop_snmpd(self):
        if self.snmpd and self.snmpd.poll() is None:
            self.snmpd.terminate()
            self.snmpd.wait(10)
        self.snmpd = None

    def stop(self):
        self.stop_snmpd()
        if self.trapd.poll() is None:
            self.trapd.terminate()
            self.trapd.wait(10)

    def _run(self, tool, *args, check=True):
        r = subprocess.run(
            [tool, "-v2c", "-c", "public", "-On", "-OQ", "-Oe", "-Ot",
             "-t", "2", "-r", "1", "127.0.0.1:%d" % self.port] + list(args),
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        if r.returncode != 0:
            if check:
                raise AssertionError("%s %s: %s" % (tool, args, r.stderr))
            return None
        return r.stdout

    def walk(self, oid=ENT, check=True):
        """{oid: value} of a subtree (values as text, strings unquoted)."""
        out = self._run("snmpbulkwalk", oid, check=check)
        if out is None:
            return None
        vals = {}
        for line in out.splitlines():
            if " = " not in line:
                continue
            k, v = line.split(" = ", 1)
            vals[k] = v.strip().strip('"')
        return vals

    def get(self, *oids, check=True):
        out = self._run("snmpget", *oids, check=check)
        if out is None:
            return None
        vals = {}
        for line in out.splitlines():
            if " = " in line:
                k, v = line.split(" = ", 1)
                vals[k] = v.strip().strip('"')
        return vals

    def traps(self):
        try:
            with open(self.trap_log, errors="replace") as f:
                return [ln for ln in f if ln.startswith("TRAP ")]
        except OSError:
            return []

    def trap_with(self, notif, *also):
        """The first logged notification NOTIF (an OID under
        cordonNotifications) whose varbinds contain every ALSO."""
        want = "OID: %s.%d" % (NOTIF, notif)
        for t in self.traps():
            vbs = t.rstrip("\n").split("\t")
            if len(vbs) > 1 and vbs[1].endswith(want) and \
                    all(a in vbs for a in also):
                return t
        return None


def issuer_token(d):
    """Writes D/jwks.json (a new ES256 key) and returns a token it
    signed, made with jwcrypto (not our code)."""
    from jwcrypto import jwk, jwt
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
    pub = dict(json.loads(key.export_public()), alg="ES256", use="sig")
    with open(d + "/jwks.json", "w") as f:
        json.dump({"keys": [pub]}, f)
    now = int(time.time())
    t = jwt.JWT(header={"alg": "ES256", "kid": "k1", "typ": "JWT"},
                claims={"iss": "https://idp.test", "aud": "cordon",
                        "sub": "filler", "jti": "j-fill", "iat": now,
                        "nbf": now - 5, "exp": now + 600})
    t.make_signed_token(key)
    return t.serialize()


class Daemon(cordonrig.Cordond):
    """cordond with the snmp group, and the cordon-dp it starts."""

    def __init__(self, d, infinite=False, threshold=0, identity=False):
        super().__init__(d)
        self.pcap = d + "/in.pcap"
        self.frames = frames()
        pcap_write(self.pcap, self.frames)
        self.log_sock, self.msgids = None, []
        if identity:
            self.token = issuer_token(d)
            self.log_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.log_sock.bind(d + "/log.sock")
            self.log_sock.setblocking(False)
        self.write_conf(CONF + (IDENTITY if identity else ""),
                        pcap=self.pcap, threshold=threshold,
                        infinite=",infinite_rx=1" if infinite else "",
                        logging=(LOCAL_LOG % {"dir": d}) if identity else "")

    def syslog_msgids(self):
        """MSGIDs of the RFC 5424 records received so far.  Call it
        often: a Unix datagram socket queues only a few (max_dgram_qlen)."""
        while True:
            try:
                rec = self.log_sock.recv(65536).decode()
            except BlockingIOError:
                return self.msgids
            self.msgids.append(rec.split(" ")[5])

    def start(self):
        self.spawn()
        self.wait_up()

    def wait_up(self, other_than=0):
        return self.wait_dp_up(60, other_than, what="cordon-dp up")

    def settled(self):
        """The counters once every frame of the capture is counted."""
        n = len(self.frames)
        return wait_for("all %d frames counted" % n,
                        lambda: (lambda c: c if c["packets"] == n else None)(
                            self.ok("counters")), timeout=30)


@pytest.fixture
def rig(request):
    for tool in ("snmpd", "snmptrapd", "snmpget", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            pytest.fail("%s is not installed (make deps)" % tool)
    cordonrig.need_binaries(CORDOND, CORDON_DP)
    d = tempfile.mkdtemp(prefix="cordon-snmp-")
    os.chmod(d, 0o755)
    param = dict(getattr(request, "param", {}))
    master_first = param.pop("master_first", True)
    snmp = Snmp(d)
    cd = Daemon(d, **param)
    try:
        if master_first:
            snmp.start_snmpd()
        cd.start()
        yield snmp, cd
    finally:
        cd.stop()
        snmp.stop()
        if os.environ.get("CORDON_KEEP"):
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def registered(snmp):
    """The subagent's subtree answers (after a (re)connect)."""
    w = snmp.walk(check=False)
    return w if w and (OBJ + ".2.1.0") in w else None


# The sub-regions of "special", in CORDON-MIB's cordonCountryIndex order.
SPECIAL = ["private", "shared", "loopback", "link-local", "documentation",
           "benchmarking", "ula", "multicast", "protocol", "reserved"]


def cc_index(code):
    if code in SPECIAL:
        return 678 + SPECIAL.index(code)
    return (ord(code[0]) - 65) * 26 + (ord(code[1]) - 65) + 2


def check_equal(snmp, c):
    """snmpget of every per-action, per-reason, per-rule, per-port and
    per-country counter equals the `counters` reply C."""
    want = {OBJ + ".2.1.0": c["packets"],
            OBJ + ".2.2.0": c["log_dropped"],
            OBJ + ".2.3.0": c["log_suppressed"]}
    # The fragment table's counters: cordonFragTracked .. Expired.
    for i, k in enumerate(("tracked", "followed", "completed", "expired")):
        want["%s.2.%d.0" % (OBJ, 6 + i)] = c["fragments"][k]
    # Proxied flows, evidence (cordonTotals 10..25, the counters reply's
    # order), opaque tunnels (26) and layers per carrier (27).
    relay = [c["proxied"][k] for k in PROXIED] + \
        [c["evidence"][k] for k in EVIDENCE]
    for i, v in enumerate(relay):
        want["%s.2.%d.0" % (OBJ, 10 + i)] = v
    want[OBJ + ".2.26.0"] = c["tunnel_opaque"]
    for i, k in enumerate(TUNNELS):
        want["%s.2.27.1.3.%d" % (OBJ, i + 1)] = c["tunnels"][k]
    for i, a in enumerate(ACTIONS):
        want["%s.2.4.1.3.%d" % (OBJ, i + 1)] = c["actions"][a]
    rules = c["rules"]
    for r in rules:                     # rows by rule id, not position
        want["%s.4.1.1.4.%d" % (OBJ, r["id"])] = r["hits"]
        want["%s.4.1.1.5.%d" % (OBJ, r["id"])] = r["position"]
    for i, p in enumerate(c["ports"]):
        for col, f in enumerate(PORT_COLS):
            want["%s.3.1.1.%d.%d" % (OBJ, col + 3, i + 1)] = p[f]
    for row in c["countries"]:
        idx = 1 if row["country"] == "unknown" else cc_index(row["country"])
        want["%s.5.1.1.3.%d" % (OBJ, idx)] = row["packets"]
        want["%s.5.1.1.4.%d" % (OBJ, idx)] = row["denied"]
    oids = sorted(want)
    got = {}
    for k in range(0, len(oids), 20):           # one PDU per 20 OIDs
        got.update(snmp.get(*oids[k:k + 20]))
    assert {k: int(got[k]) for k in oids} == want
    # Names line up with the reply too.
    walk = snmp.walk()
    reasons = {walk["%s.2.5.1.2.%s" % (OBJ, k.rsplit(".", 1)[1])]:
               int(v) for k, v in walk.items()
               if k.startswith(OBJ + ".2.5.1.3.")}
    assert reasons == c["reasons"]
    names = {k.rsplit(".", 1)[1]: v for k, v in walk.items()
             if k.startswith(OBJ + ".4.1.1.2.")}
    assert names == {str(r["id"]): r["rule"] for r in rules}
    assert names["1"] == "(default)"
    ports = [walk["%s.3.1.1.2.%d" % (OBJ, i + 1)]
             for i in range(len(c["ports"]))]
    assert ports == [p["port"] for p in c["ports"]]
    return walk


def test_snmp(rig):
    snmp, cd = rig
    t0 = time.monotonic()

    # The whole subtree walks; scalars say what status says.
    walk = wait_for("the subagent registered", lambda: registered(snmp))
    st = cd.ok("status")
    assert walk[OBJ + ".1.1.0"] == st["version"]
    assert int(walk[OBJ + ".1.2.0"]) == st["running_revision"]
    assert walk[OBJ + ".1.7.0"] == "1"                # up(1)
    assert int(walk[OBJ + ".6.1.0"]) == 0              # no sessions yet
    assert not [k for k in walk if k.startswith(OBJ + ".6.3.")]

    # Known traffic, settled: SNMP and the CLI's counters agree.
    c = cd.settled()
    assert c["actions"] == {"allow": ROUNDS, "drop": 2 * ROUNDS,
                            "reject": ROUNDS, "reroute": 0}, c
    walk = check_equal(snmp, c)
    cc = {row["country"]: row for row in c["countries"]}
    assert cc["US"]["packets"] == ROUNDS and cc["US"]["denied"] == 0
    assert walk["%s.5.1.1.2.%d" % (OBJ, cc_index("US"))] == "US"

    # A commit: policyCommitted with the new revision.
    cd.ok("set", kind="rule", name="us-allow",
          attrs={"src": "US", "direction": "in", "action": "allow",
                 "position": 1})
    cd.ok("delete", kind="rule", name="cn-ssh-reject")
    rev = cd.ok("commit", comment="snmp test")["revision"]
    wait_for("policyCommitted", lambda: snmp.trap_with(
        1, "%s.1.2.0 = Gauge32: %d" % (OBJ, rev)), timeout=15)
    assert int(snmp.get(OBJ + ".1.2.0")[OBJ + ".1.2.0"]) == rev
    c = cd.ok("counters")
    check_equal(snmp, c)

    # snmpd restarts: the subagent reconnects by itself.
    snmp.stop_snmpd()
    snmp.start_snmpd()
    wait_for("the subagent back", lambda: registered(snmp), timeout=20)
    check_equal(snmp, cd.ok("counters"))

    # cordon-dp killed: dataplaneDown (through the new snmpd), then Up.
    old = cd.dp_pid
    os.kill(old, signal.SIGKILL)
    wait_for("dataplaneDown", lambda: snmp.trap_with(
        5, "%s.1.7.0 = INTEGER: 3" % OBJ), timeout=15)
    cd.wait_up(other_than=old)
    wait_for("dataplaneUp", lambda: snmp.trap_with(6), timeout=15)
    check_equal(snmp, cd.settled())
    assert time.monotonic() - t0 < 90


def test_insert_keeps_rule_history(rig):
    """A rule inserted at position 2 starts at zero, and the rule that
    stood there keeps its hits: in the CLI, in `show rules`, in SNMP
    (rows by rule id) and in Prometheus (series by id and name)."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    c = cd.settled()
    before = {r["rule"]: r for r in c["rules"]}
    assert before["ru-rdp-drop"]["position"] == 2
    assert before["ru-rdp-drop"]["hits"] == ROUNDS
    cd.ok("set", kind="rule", name="ssh-by-quarantine",
          attrs={"src": "CN", "services": "rdp", "direction": "in",
                 "action": "drop", "position": 2})
    cd.ok("commit", comment="insert at 2")
    c = cd.ok("counters")
    after = {r["rule"]: r for r in c["rules"]}
    assert after["ssh-by-quarantine"]["position"] == 2
    assert after["ssh-by-quarantine"]["hits"] == 0
    assert after["ru-rdp-drop"]["position"] == 3
    for name, r in before.items():
        assert after[name]["hits"] == r["hits"], name
        assert after[name]["id"] == r["id"], name
        assert after[name]["hits_since_activation"] == 0, name
    assert after["ssh-by-quarantine"]["id"] not in \
        [r["id"] for r in before.values()]
    shown = {r["name"]: r for r in cd.ok("show", what="rules")["rules"]}
    assert {n: r["hits"] for n, r in shown.items()} == \
        {n: r["hits"] for n, r in after.items()}
    walk = check_equal(snmp, c)
    old = before["ru-rdp-drop"]["id"]
    assert walk["%s.4.1.1.2.%d" % (OBJ, old)] == "ru-rdp-drop"
    assert int(walk["%s.4.1.1.4.%d" % (OBJ, old)]) == ROUNDS
    r = subprocess.run([cordonrig.CORDONCTL, "-s", cd.sock, "show",
                        "counters", "--prometheus"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert ('cordon_rule_hits_total{id="%d",rule="ru-rdp-drop",'
            'action="drop"} %d' % (old, ROUNDS)) in r.stdout.split("\n")
    assert ('cordon_rule_hits_total{id="%d",rule="ssh-by-quarantine",'
            'action="drop"} 0' % after["ssh-by-quarantine"]["id"]) in \
        r.stdout.split("\n")
    # Deleted: its history goes with it; back again, it starts at zero.
    cd.ok("delete", kind="rule", name="ru-rdp-drop")
    cd.ok("commit", comment="delete")
    assert "ru-rdp-drop" not in [r["rule"] for r in
                                 cd.ok("counters")["rules"]]
    cd.ok("set", kind="rule", name="ru-rdp-drop",
          attrs={"src": "RU", "services": "rdp", "direction": "in",
                 "action": "drop"})
    cd.ok("commit", comment="again")
    back = {r["rule"]: r for r in cd.ok("counters")["rules"]}
    assert back["ru-rdp-drop"]["hits"] == 0
    assert back["ru-rdp-drop"]["id"] != old


DENY_THRESHOLD = 1000


@pytest.mark.parametrize("rig", [{"infinite": True,
                                  "threshold": DENY_THRESHOLD}],
                         indirect=True)
def test_snmp_deny_rate(rig):
    """Endless traffic, three quarters denied: the rate check sends
    cordonDenyRateHigh once, and cordonDenyRate shows the rate."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    thr = "%s.1.12.0 = Gauge32: %d" % (OBJ, DENY_THRESHOLD)
    t = wait_for("denyRateHigh", lambda: snmp.trap_with(7, thr),
                 timeout=15)
    rate = int(t.split("%s.1.11.0 = Gauge32: " % OBJ)[1].split()[0])
    assert rate > DENY_THRESHOLD, t
    g = snmp.get(OBJ + ".1.11.0", OBJ + ".1.12.0")
    assert int(g[OBJ + ".1.12.0"]) == DENY_THRESHOLD
    time.sleep(2.5)             # still over: not sent again
    assert sum(1 for x in snmp.traps() if "%s.7\t" % NOTIF in x) == 1
    # With the deny-rate-high alarm (issue 14): raised once.
    assert sum(1 for x in snmp.traps() if "%s.9\t" % NOTIF in x and
               '"deny-rate-high"' in x) == 1
    assert "deny-rate-high" in [a["name"] for a in cd.ok("alarm-list")[
        "alarms"]]
    # The threshold turned off (committed: the running revision's control
    # group is what the next start runs): cleared at the start.
    cd.ok("load", mode="merge", file="snmp-off",
          text="control: { snmp = { deny_rate_threshold = 0; }; };\n")
    cd.ok("commit")
    cd.stop()
    cd.log = open(cd.dir + "/cordond.log", "ab")
    cd.start()
    wait_for("cordonAlarmCleared deny-rate-high", lambda: [
        x for x in snmp.traps() if "%s.10\t" % NOTIF in x and
        '"deny-rate-high"' in x], timeout=15)
    assert cd.ok("alarm-list")["alarms"] == []


@pytest.mark.parametrize("rig", [{"master_first": False}], indirect=True)
def test_snmp_master_starts_later(rig):
    """cordond starts while no master agent listens: it runs as usual,
    and registers once snmpd comes up."""
    snmp, cd = rig
    assert cd.ok("status")["dataplane"]["state"] == "up"
    snmp.start_snmpd()
    walk = wait_for("the subagent registered", lambda: registered(snmp),
                    timeout=15)
    assert int(walk[OBJ + ".1.2.0"]) == cd.ok("status")["running_revision"]


def _sessions_full_traps(snmp):
    """(count, capacity) of every cordonSessionTableNearlyFull logged."""
    out = []
    for t in snmp.traps():
        vbs = t.rstrip("\n").split("\t")
        if len(vbs) < 2 or not vbs[1].endswith("OID: %s.8" % NOTIF):
            continue
        val = {}
        for vb in vbs[2:]:
            k, _, v = vb.partition(" = ")
            val[k] = int(v.split(": ")[1])
        out.append((val[OBJ + ".6.1.0"], val[OBJ + ".6.2.0"]))
    return out


@pytest.mark.parametrize("rig", [{"identity": True}], indirect=True)
def test_snmp_session_table_nearly_full(rig):
    """Regression (issue 10 item 17): cordonSessionTableNearlyFull was
    never sent.  A table of 16 sends it once when the 15th session makes
    it 90% full, not again while it stays at or over 80%, and again after
    it fell under 80% and filled up once more."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))

    def add(i):
        cd.ok("session-add", token=cd.token, src="10.9.0.%d" % i)
        cd.syslog_msgids()

    def revoke(i):
        assert cd.ok("session-revoke", src="10.9.0.%d" % i)["revoked"] == 1
        cd.syslog_msgids()

    for i in range(1, 16):
        add(i)
    wait_for("sessionTableNearlyFull", lambda: _sessions_full_traps(snmp),
             timeout=15)
    assert _sessions_full_traps(snmp) == [(15, SESS_CAP)]
    add(16)
    for i in (16, 15, 14):          # down to 13: over 80%, still raised
        revoke(i)
    time.sleep(2.5)                 # freed slots are held back 2 s
    for i in (14, 15):
        add(i + 100)
    revoke(115)
    revoke(114)
    revoke(13)                      # 12 of 16: under 80%, re-armed
    time.sleep(2.5)
    for i in (13, 14, 15):
        add(i + 200)
    wait_for("the second notification",
             lambda: len(_sessions_full_traps(snmp)) == 2, timeout=15)
    assert _sessions_full_traps(snmp) == [(15, SESS_CAP)] * 2
    assert cd.ok("session-list")["live"] == 15
    # Syslog has the same crossings, and the one clearing between them.
    ids = wait_for("the syslog records", lambda: (lambda x: x if len(
        x) >= 3 else None)([m for m in cd.syslog_msgids()
                            if m.startswith("session-table")]))
    assert ids == ["session-table-nearly-full", "session-table-cleared",
                   "session-table-nearly-full"], ids
    # The alarm's raise, clear and raise (issue 14), in that order.
    seq = [t.split("\t")[1].rsplit(".", 1)[1] for t in snmp.traps()
           if '"session-table-nearly-full"' in t]
    assert seq == ["9", "10", "9"], seq


# The monitoring child's channel (control/mon/mon_msg.h, mon_snmp.h).
MON_T_METRICS_GET = 16 + 6
MON_T_SNMP_GET = 16 + 14


def _mon_pid(cd):
    pid = fakechild.child_pid(cd.proc.pid, "monitoring")
    assert pid, "no monitoring child"
    return pid


def _unix_peers(path):
    """{pid: count} of the processes holding a client socket connected to
    the unix socket bound at PATH (ss pairs each end with its peer)."""
    server = set()
    with open("/proc/net/unix") as f:
        for ln in f.readlines()[1:]:
            parts = ln.split()
            if len(parts) >= 8 and parts[7] == path:
                server.add(parts[6])
    out = subprocess.run(["ss", "-xpnH"], stdout=subprocess.PIPE,
                         text=True, check=True).stdout
    pids = {}
    for ln in out.splitlines():
        f = ln.split()
        # Netid State Recv-Q Send-Q Local Port Peer Port [users]
        if len(f) < 8 or f[7] not in server or f[5] in server:
            continue
        for pid in re.findall(r"pid=(\d+)", ln):
            pids[int(pid)] = pids.get(int(pid), 0) + 1
    return pids


def test_agentx_socket_is_the_childs(rig):
    """cordond (root) connects the master's root-only socket and passes
    it: the monitoring child holds the AgentX connection, cordond none,
    and cordond parses no AgentX."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    peers = _unix_peers(snmp.sock)
    assert cd.proc.pid not in peers, peers
    assert peers.get(_mon_pid(cd)) == 1, peers
    st = cd.ok("status")["snmp"]
    assert st["enabled"] and st["agentx_connects"] >= 1
    assert st["snapshots_built"] >= 1


def test_monitoring_child_killed_during_walks(rig):
    """kill -9 of the monitoring child while walks run (one every
    0.3 s, as a poller would): at most one walk misses CORDON-MIB, the
    subtree answers again within 2 s, and the notifications come again."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    old = _mon_pid(cd)
    failed, ok_after = 0, None
    os.kill(old, signal.SIGKILL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        if registered(snmp):
            ok_after = time.monotonic() - t0
            break
        failed += 1
        time.sleep(0.3)
    assert ok_after is not None, "no walk answered after the kill"
    assert failed <= 1, failed
    assert ok_after < 2, ok_after
    assert _mon_pid(cd) != old
    n = len(snmp.traps())
    cd.ok("load", mode="merge", file="threshold",
          text="control: { snmp = { deny_rate_threshold = 7; }; };\n")
    cd.ok("commit")
    rev = cd.ok("status")["running_revision"]
    wait_for("policyCommitted after the restart", lambda: snmp.trap_with(
        1, "%s.1.2.0 = Gauge32: %d" % (OBJ, rev)) and len(snmp.traps()) > n)


def test_compromised_child_floods_requests(rig):
    """A taken-over monitoring child asking for snapshots and metrics in
    a loop: cordond builds at most one snapshot per 200 ms and renders
    at most one text per 50 ms (after a burst of 20), keeps answering
    its clients, and its CPU stays bounded."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    before = cd.ok("status")["snmp"]
    fc = fakechild.FakeChild(cd.proc.pid, "monitoring")
    try:
        def cpu():
            with open("/proc/%d/stat" % cd.proc.pid) as f:
                v = f.read().rsplit(")", 1)[1].split()
            return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
        c0, t0, sent, i = cpu(), time.monotonic(), 0, 0
        fc.sock.setblocking(False)
        while time.monotonic() - t0 < 2.0:
            i += 1
            try:
                fc.send(MON_T_SNMP_GET if i % 2 else MON_T_METRICS_GET,
                        mid=i)
                sent += 1
            except BlockingIOError:
                pass
            try:
                while fc.sock.recv(1 << 22):
                    pass
            except (BlockingIOError, InterruptedError):
                pass
        elapsed = time.monotonic() - t0
        assert cd.ok("status")  # still answering meanwhile
        used = cpu() - c0
        after = cd.ok("status")["snmp"]
    finally:
        fc.close()
    periods = elapsed / 0.2 + 2
    assert sent > 200, sent
    assert after["snapshot_requests"] - before["snapshot_requests"] > 100
    assert after["snapshots_built"] - before["snapshots_built"] <= periods
    # a burst of 20, then one per 50 ms (cd_proc_mon.c)
    assert after["metrics_rendered"] - before["metrics_rendered"] <= \
        20 + elapsed / 0.05 + 2
    assert used < 0.6 * elapsed, (used, elapsed)


MON_T_SNMP_VARS = 16 + 10
MON_T_AGENTX = 16 + 13
MON_T_AGENTX_GET = 16 + 15


def _fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def _recv_fds(fc, out):
    """Every message waiting on FC's channel: (type, fd or None) appended
    to OUT; returns when none is waiting."""
    import array
    fds = array.array("i")
    while True:
        try:
            b, anc, _, _ = fc.sock.recvmsg(1 << 22,
                                           socket.CMSG_SPACE(4 * 4))
        except (BlockingIOError, InterruptedError):
            return
        if not b:
            return
        t = fakechild.HDR.unpack_from(b)[1]
        got = None
        for lvl, typ, data in anc:
            if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[:len(data) - len(data) % 4])
                got = list(fds)
        sealed = None
        for fd in got or ():
            if t == MON_T_SNMP_VARS:
                sealed = _sealed(fd)
            os.close(fd)
        out.append((t, got, sealed))


def _sealed(fd):
    """Whether the memfd FD has every seal (write, grow, shrink, seal:
    F_GET_SEALS) and refuses a write."""
    import fcntl
    if fcntl.fcntl(fd, 1034) & 0xf != 0xf:
        return False
    try:
        os.pwrite(fd, b"x", 0)
    except PermissionError:
        return True
    return False


def test_compromised_child_agentx_flood_no_fd_left(rig):
    """A taken-over monitoring child asking for AgentX connections and
    snapshots in a loop: cordond connects the master at most once per
    200 ms, keeps no copy of what it passed (its descriptors do not
    grow), holds no AgentX connection itself, and every snapshot passed
    as a memfd is sealed against writes."""
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    before = cd.ok("status")["snmp"]
    fds0 = _fds(cd.proc.pid)
    fc = fakechild.FakeChild(cd.proc.pid, "monitoring")
    got = []
    try:
        fc.sock.setblocking(False)
        t0, i = time.monotonic(), 0
        while time.monotonic() - t0 < 2.0:
            i += 1
            try:
                fc.send(MON_T_AGENTX_GET if i % 2 else MON_T_SNMP_GET,
                        mid=i)
            except BlockingIOError:
                pass
            _recv_fds(fc, got)
        elapsed = time.monotonic() - t0
        time.sleep(0.3)
        _recv_fds(fc, got)
        assert cd.ok("status")
        fds1 = _fds(cd.proc.pid)
        after = cd.ok("status")["snmp"]
        assert cd.proc.pid not in _unix_peers(snmp.sock)
        passed = [f for t, f, _ in got if t == MON_T_AGENTX and f]
        memfds = [s for t, f, s in got if t == MON_T_SNMP_VARS and f]
        assert passed
        assert all(memfds), memfds.count(False)
    finally:
        fc.close()
    opens = after["agentx_connects"] - before["agentx_connects"]
    assert len(passed) == opens, (len(passed), opens)
    assert opens <= elapsed / 0.2 + 2, opens
    # cordond's own descriptors: what it had (a memfd of its own at most)
    assert fds1 <= fds0 + 1, (fds0, fds1)


def _agentx(ptype, sess, tid, pid, payload, flags=0x10, version=1,
            length=None):
    """An AgentX PDU in network byte order (RFC 2741 6.1)."""
    import struct
    n = len(payload) if length is None else length
    return struct.pack("!BBBBIIII", version, ptype, flags, 0, sess, tid,
                       pid, n) + payload


def _garbage_master(path, stop, seen):
    """A fake AgentX master at PATH: answers each connection's first PDU
    with malformed ones, one kind per connection, until STOP is set."""
    import struct
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    srv.settimeout(0.2)
    kinds = 0
    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        try:
            h = c.recv(20)
            if len(h) < 20:
                c.close()
                continue
            pid = struct.unpack("!I", h[12:16])[0]
            seen.append(h[1])
            k = kinds % 6
            kinds += 1
            ok = struct.pack("!IHH", 0, 0, 0)
            if k == 0:    # an answer claiming 4 GB follows
                c.sendall(_agentx(18, 1, 0, pid, ok, length=0xffffffff))
            elif k == 1:  # the open accepted, then a Get with a broken OID
                c.sendall(_agentx(18, 7, 0, pid, ok))
                c.sendall(_agentx(5, 7, 1, 1,
                                  struct.pack("!BBBB", 255, 0, 0, 0) +
                                  b"\x00" * 8))
            elif k == 2:  # noise
                c.sendall(os.urandom(4096))
            elif k == 3:  # a version 9 PDU, little endian, odd length
                c.sendall(_agentx(18, 1, 0, pid, ok + b"\x01", flags=0,
                                  version=9))
            elif k == 4:  # accepted, then a GetBulk with huge repeaters
                c.sendall(_agentx(18, 7, 0, pid, ok))
                c.sendall(_agentx(7, 7, 2, 2,
                                  struct.pack("!HH", 0, 0xffff) +
                                  struct.pack("!BBBB", 2, 0, 0, 0) +
                                  struct.pack("!II", 1, 3) +
                                  struct.pack("!BBBB", 0, 0, 0, 0)))
            else:         # accepted, then a TestSet to our subtree
                c.sendall(_agentx(18, 7, 0, pid, ok))
                c.sendall(_agentx(8, 7, 3, 3, b"\x00" * 40))
            time.sleep(0.3)
        except OSError:
            pass
        c.close()
    srv.close()


@pytest.mark.parametrize("rig", [{"master_first": False}], indirect=True)
def test_malformed_agentx_master(rig):
    """A master agent that answers with malformed PDUs (a 4 GB length,
    broken OIDs, noise, a wrong version, a GetBulk of 65535 repeats, a
    TestSet): cordond parses none of it and keeps answering; the
    monitoring child survives or restarts, and registers cleanly with
    the real snmpd afterwards."""
    import threading
    snmp, cd = rig
    stop, seen = threading.Event(), []
    th = threading.Thread(target=_garbage_master,
                          args=(snmp.sock, stop, seen))
    th.start()
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 8 and len(seen) < 6:
            assert cd.ok("status")
            time.sleep(0.2)
    finally:
        stop.set()
        th.join()
    assert len(seen) >= 3, seen
    assert all(t == 1 for t in seen), seen  # each time an Open PDU
    assert cd.proc.poll() is None
    st = cd.ok("status")
    assert st["dataplane"]["state"] == "up"
    mon = [p for p in st["processes"] if p["name"] == "monitoring"][0]
    assert mon["crashes"] == 0 and mon["refused"] == 0, mon
    _mon_pid(cd)
    os.unlink(snmp.sock)
    snmp.start_snmpd()
    wait_for("the subagent registered", lambda: registered(snmp),
             timeout=15)


def test_compromised_child_cannot_pin_snapshots(rig):
    """A taken-over monitoring child that asks for snapshots and leaves
    the answers unread on its channel: each new generation would be a
    new sealed memfd charged to cordond, one per 200 ms, kept alive by
    the queued messages up to the channel's buffer (2.5 MB each for
    CD_SNMP_VARS_MAX records).  cordond passes the last one again
    instead: a bounded number of distinct memfds reach the child, and it
    says so (cd_snmp_pin.c)."""
    import array
    snmp, cd = rig
    wait_for("the subagent registered", lambda: registered(snmp))
    before = cd.ok("status")["snmp"]
    fc = fakechild.FakeChild(cd.proc.pid, "monitoring")
    inodes, n = set(), 0
    try:
        fc.sock.setblocking(False)
        t0, i = time.monotonic(), 0
        while time.monotonic() - t0 < 3.0:
            i += 1
            fc.send(MON_T_SNMP_GET, mid=i)
            time.sleep(0.05)
        fc.sock.settimeout(1)
        while True:
            try:
                b, anc, _, _ = fc.sock.recvmsg(1 << 22,
                                               socket.CMSG_SPACE(16))
            except (socket.timeout, BlockingIOError):
                break
            for lvl, typ, data in anc:
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(data[:len(data) - len(data) % 4])
                    for fd in fds:
                        inodes.add(os.fstat(fd).st_ino)
                        os.close(fd)
                        n += 1
        after = cd.ok("status")["snmp"]
    finally:
        fc.close()
    assert n > 20, n
    assert len(inodes) <= 3, len(inodes)
    assert after["snapshots_withheld"] > before["snapshots_withheld"]
