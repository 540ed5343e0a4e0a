"""Alarms (issue 14): the alarm table of cordond, seen from every side.

An alarm is raised, acknowledged and cleared; each raise and clear is
seen by a real snmptrapd (cordonAlarmRaised / cordonAlarmCleared, and
the alarm's own notification), by syslog (RFC 5424 records `alarm`,
`alarm-cleared`) and by Prometheus (cordon_alarm_active); the SNMP
alarm table and `cordonctl show alarms` agree.  A restart of cordond
with the condition unchanged sends nothing again; a condition that
ended while cordond was down is cleared, with its notifications, when
it starts.  The admin's session (show alarms, alarm ack, alarm clear)
is compared with golden/alarms-session.txt.

    CORDON_GOLDEN_UPDATE=1   rewrite the golden session

Run as root: /usr/bin/python3 -m pytest tests/mon/test_alarms.py
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import cordonrig
from cordonrig import CORDON_DP, CORDOND, CORDONCTL, wait_for
from test_snmp import CONF, NOTIF, OBJ, Snmp, frames, registered
from cordonrig import pcap_write

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "alarms-session.txt")
ALARM_ROW = OBJ + ".8.1.1"          # cordonAlarmEntry
RAISED, CLEARED = 9, 10             # cordonAlarmRaised, cordonAlarmCleared
GEO_STALE_TRAP = 3
LOG = """    logging = {
        targets = ( { type = "local"; address = "%(dir)s/log.sock"; } );
    };
"""


class Daemon(cordonrig.Cordond):
    """cordond with SNMP, syslog to a socket of the test's and
    control.geo_max_age MAX_AGE days (the shipped database is older
    than one day: 1 makes geo-stale hold, 0 turns it off)."""

    def __init__(self, d, max_age=0, wrap_dp=False):
        super().__init__(d)
        self.dp = CORDON_DP
        if wrap_dp:
            # cordon-dp, unless DIR/block exists: then it cannot start.
            self.dp = d + "/cordon-dp.sh"
            with open(self.dp, "w") as f:
                f.write('#!/bin/sh\n[ -e "%s/block" ] && exit 1\n'
                        'exec "%s" "$@"\n' % (d, CORDON_DP))
            os.chmod(self.dp, 0o755)
        self.pcap = d + "/in.pcap"
        pcap_write(self.pcap, frames())
        self.log_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.log_sock.bind(d + "/log.sock")
        self.log_sock.setblocking(False)
        self.records = []
        self.configure(max_age)

    def configure(self, max_age):
        conf = CONF.replace("geo_max_age = 0;",
                            "geo_max_age = %d;" % max_age)
        self.write_conf(conf, pcap=self.pcap, threshold=0, infinite="",
                        logging=LOG % {"dir": self.dir}, dp=self.dp)

    def syslog(self):
        """Every RFC 5424 record received so far (call it often)."""
        while True:
            try:
                self.records.append(self.log_sock.recv(65536).decode())
            except BlockingIOError:
                return self.records

    def alarm_records(self, msgid, name):
        return [r for r in self.syslog() if r.split(" ")[5] == msgid and
                'alarm="%s"' % name in r]

    def start(self):
        if self.log.closed:
            self.log = open(self.dir + "/cordond.log", "ab")
        self.spawn("--test-timers")
        self.wait_dp_up(60)

    def ctl(self, *args):
        env = dict(os.environ, CORDONCTL_SOCKET=self.sock)
        return subprocess.run([CORDONCTL] + list(args), env=env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)

    def prom(self):
        """{(family, alarm): value} of cordon_alarm_* in the exposition."""
        out = self.ctl("show", "counters", "prometheus").stdout
        vals = {}
        for m in re.finditer(r'^(cordon_alarm_\w+)\{alarm="([^"]+)"\} (\d)$',
                             out, re.M):
            vals[(m.group(1), m.group(2))] = int(m.group(3))
        return vals


def alarm_traps(snmp, notif, name):
    """The logged notifications NOTIF naming alarm NAME."""
    want = "OID: %s.%d" % (NOTIF, notif)
    out = []
    for t in snmp.traps():
        vbs = t.rstrip("\n").split("\t")
        if len(vbs) > 1 and vbs[1].endswith(want) and \
                any(v.startswith(ALARM_ROW + ".2.") and
                    v.endswith('"%s"' % name) for v in vbs):
            out.append(t)
    return out


def own_traps(snmp, notif):
    want = "OID: %s.%d" % (NOTIF, notif)
    return [t for t in snmp.traps()
            if len(t.split("\t")) > 1 and t.split("\t")[1].endswith(want)]


@pytest.fixture
def rig(request):
    for tool in ("snmpd", "snmptrapd", "snmpget", "snmpbulkwalk"):
        if shutil.which(tool) is None:
            pytest.fail("%s is not installed (make deps)" % tool)
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    d = tempfile.mkdtemp(prefix="cordon-alarm-")
    os.chmod(d, 0o755)
    snmp = Snmp(d)
    cd = Daemon(d, **getattr(request, "param", {}))
    try:
        snmp.start_snmpd()
        cd.start()
        wait_for("the subagent registered", lambda: registered(snmp))
        yield snmp, cd
    finally:
        cd.stop()
        snmp.stop()
        if os.environ.get("CORDON_KEEP"):
            print("kept", d)
        else:
            shutil.rmtree(d, ignore_errors=True)


def mask(text):
    """Times, pids and signals (numbers that differ from run to run);
    the table's padding, which follows their widths, as two spaces."""
    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)
    text = re.sub(r"pid \d+", "pid <pid>", text)
    return re.sub(r"  +", "  ", text)


def session(cd, commands):
    """The admin's session as typed: prompt, command, output, exit."""
    out = []
    for cmd in commands:
        r = cd.ctl(*cmd.split())
        out.append("$ cordonctl %s\n%s[exit %d]\n" % (cmd, r.stdout,
                                                     r.returncode))
    return mask("".join(out))


def golden_check(text):
    if os.environ.get("CORDON_GOLDEN_UPDATE"):
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w") as f:
            f.write(text)
        return
    with open(GOLDEN) as f:
        assert text == f.read(), "differs from " + GOLDEN + ":\n" + text


@pytest.mark.parametrize("rig", [{"max_age": 1}], indirect=True)
def test_alarm_event_ack_clear(rig):
    """cordon-dp killed: dataplane-restarted is raised (trap, syslog,
    Prometheus, SNMP table, show alarms), acknowledged, and stays until
    the admin clears it; a condition alarm cannot be cleared by hand.
    Regression: the alarm stayed in show status forever, nothing could
    acknowledge or clear it, and no cleared notification existed."""
    snmp, cd = rig
    name = "dataplane-restarted"
    names = lambda: [a["name"] for a in cd.ok("alarm-list")["alarms"]]
    assert names() == ["geo-stale"]
    prom = cd.prom()
    assert prom[("cordon_alarm_active", name)] == 0
    assert prom[("cordon_alarm_active", "audit-broken")] == 0
    old = cd.dp_pid
    os.kill(old, signal.SIGKILL)
    cd.wait_dp_up(60, other_than=old)
    wait_for("cordonAlarmRaised", lambda: alarm_traps(snmp, RAISED, name))
    rec = wait_for("syslog alarm", lambda: cd.alarm_records("alarm", name))
    assert int(rec[0][1:rec[0].index(">")]) % 8 == 3, rec   # major: err
    assert 'severity="major"' in rec[0], rec
    row = cd.ok("alarm-list")["alarms"][0]
    assert names() == [name, "geo-stale"]
    assert row["name"] == name and row["kind"] == "event" and \
        row["severity"] == "major" and not row["acknowledged"], row
    assert cd.prom()[("cordon_alarm_active", name)] == 1
    walk = snmp.walk(OBJ + ".8")
    assert walk[ALARM_ROW + ".2.1"] == name
    assert walk[ALARM_ROW + ".3.1"] == "2"        # major
    assert walk[ALARM_ROW + ".5.1"] == "2"        # not acknowledged

    text = session(cd, ["show alarms", "alarm ack " + name, "show alarms",
                        "alarm clear geo-stale", "alarm clear audit-broken",
                        "alarm clear no-such",
                        "alarm clear " + name, "show alarms",
                        "alarm ack all"])
    golden_check(text)

    wait_for("cordonAlarmCleared", lambda: alarm_traps(snmp, CLEARED, name))
    rec = wait_for("syslog alarm-cleared",
                   lambda: cd.alarm_records("alarm-cleared", name))
    assert 'by="root"' in rec[0], rec
    assert int(rec[0][1:rec[0].index(">")]) % 8 == 5, rec   # notice
    prom = cd.prom()
    assert prom[("cordon_alarm_active", name)] == 0
    assert prom[("cordon_alarm_acknowledged", name)] == 0
    assert names() == ["geo-stale"]
    assert cd.ok("status")["dataplane"]["alarm"] is None
    assert not [k for k in snmp.walk(OBJ + ".8", check=False) or {}
                if k.startswith(ALARM_ROW) and k.endswith(".1")]
    audit = [r["cmd"] for r in cd.ok("show", what="audit")["records"]]
    assert "alarm-ack" in audit and "alarm-clear" in audit, audit
    # One raise, one clear: nothing sent twice.
    assert len(alarm_traps(snmp, RAISED, name)) == 1
    assert len(alarm_traps(snmp, CLEARED, name)) == 1


def test_alarm_ack_shows_everywhere(rig):
    """An acknowledged alarm: SNMP's cordonAlarmAcknowledged and
    Prometheus' cordon_alarm_acknowledged say so, with who and when."""
    snmp, cd = rig
    name = "dataplane-restarted"
    old = cd.dp_pid
    os.kill(old, signal.SIGKILL)
    cd.wait_dp_up(60, other_than=old)
    wait_for("raised", lambda: cd.ok("alarm-list")["alarms"])
    assert cd.ok("alarm-ack", name="all")["acknowledged"] == [name]
    row = cd.ok("alarm-list")["alarms"][0]
    assert row["acknowledged"] and row["acked_by"] == "root" and \
        row["acked_at"] >= row["since"], row
    assert cd.prom()[("cordon_alarm_acknowledged", name)] == 1
    wait_for("cordonAlarmAcknowledged true", lambda: (snmp.walk(
        OBJ + ".8") or {}).get(ALARM_ROW + ".5.1") == "1")
    # A new occurrence takes the acknowledgement back.
    old = cd.dp_pid
    os.kill(old, signal.SIGKILL)
    cd.wait_dp_up(60, other_than=old)
    row = wait_for("acknowledgement withdrawn", lambda: (lambda r: r if r[
        "count"] == 2 else None)(cd.ok("alarm-list")["alarms"][0]))
    assert not row["acknowledged"], row
    assert len(alarm_traps(snmp, RAISED, name)) == 1


def break_audit(cd):
    path = cd.dir + "/state/audit.log"
    with open(path, "rb") as f:
        good = f.read()
    # Its last record removed: the end is not the head audit.head holds.
    with open(path, "wb") as f:
        f.write(b"".join(good.splitlines(keepends=True)[:-1]))
    return path, good


@pytest.mark.parametrize("rig", [{"max_age": 1}], indirect=True)
def test_alarm_condition_and_restart(rig):
    """Condition alarms clear by themselves, with cleared notifications;
    a restart with the condition unchanged sends nothing again (it used
    to send cordonGeoStale at every start); a condition gone while
    cordond was down is cleared when it starts."""
    snmp, cd = rig
    st = cd.ok("status")
    assert st["geo"]["stale"], st["geo"]
    wait_for("cordonAlarmRaised geo-stale",
             lambda: alarm_traps(snmp, RAISED, "geo-stale"))
    wait_for("cordonGeoStale", lambda: own_traps(snmp, GEO_STALE_TRAP))
    wait_for("syslog geo-stale",
             lambda: cd.alarm_records("alarm", "geo-stale"))
    since = {a["name"]: a["since"] for a in st["alarms"]}["geo-stale"]
    assert cd.prom()[("cordon_alarm_active", "geo-stale")] == 1
    r = cd.req("alarm-clear", name="geo-stale")
    assert r["error"]["code"] == "alarm-condition", r

    assert cd.ok("alarm-ack", name="geo-stale")["acknowledged"] == \
        ["geo-stale"]

    # audit-broken: raised by a refused change, cleared once the log
    # takes records again.
    path, good = break_audit(cd)
    r = cd.req("set", kind="region", name="x", attrs={"countries": ["DE"]})
    assert not r["ok"], r
    wait_for("cordonAlarmRaised audit-broken",
             lambda: alarm_traps(snmp, RAISED, "audit-broken"))
    assert cd.prom()[("cordon_alarm_active", "audit-broken")] == 1
    with open(path, "wb") as f:
        f.write(good)
    wait_for("cordonAlarmCleared audit-broken",
             lambda: alarm_traps(snmp, CLEARED, "audit-broken"))
    wait_for("syslog alarm-cleared audit-broken",
             lambda: cd.alarm_records("alarm-cleared", "audit-broken"))
    assert cd.prom()[("cordon_alarm_active", "audit-broken")] == 0

    # Restart, still stale: nothing raised again.
    cd.stop()
    traps, recs = len(snmp.traps()), len(cd.syslog())
    cd.start()
    wait_for("cordond restarted and registered", lambda: registered(snmp))
    time.sleep(3)
    new = snmp.traps()[traps:]
    assert not [t for t in new if "%s.%d\t" % (NOTIF, GEO_STALE_TRAP) in t
                or '"geo-stale"' in t], new
    new = [x.split(" ")[5] for x in cd.syslog()[recs:]]
    assert "geo-stale" not in new and "alarm" not in new, new
    st = cd.ok("status")
    row = {a["name"]: a for a in st["alarms"]}["geo-stale"]
    assert row["since"] == since and row["acked_by"] == "root", row

    # Turned off (committed: the running revision's control group is what
    # the next start runs): cleared at the start.
    cd.ok("load", mode="merge", file="geo-age-off",
          text="control: { geo_max_age = 0; };\n")
    cd.ok("commit")
    cd.stop()
    cd.start()
    wait_for("cordonAlarmCleared geo-stale",
             lambda: alarm_traps(snmp, CLEARED, "geo-stale"), timeout=15)
    wait_for("syslog alarm-cleared geo-stale",
             lambda: cd.alarm_records("alarm-cleared", "geo-stale"))
    assert cd.ok("status")["alarms"] == []
    assert cd.prom()[("cordon_alarm_active", "geo-stale")] == 0


@pytest.mark.parametrize("rig", [{"wrap_dp": True}], indirect=True)
def test_alarm_out_of_sync(rig):
    """cordon-dp cannot be started again: dataplane-out-of-sync is
    raised (after 3 s with --test-timers, 30 s otherwise) next to
    dataplane-restarted, and cleared once cordon-dp enforces the
    running revision again."""
    snmp, cd = rig
    name = "dataplane-out-of-sync"
    block = cd.dir + "/block"
    open(block, "w").close()
    old = cd.dp_pid
    os.kill(old, signal.SIGKILL)
    wait_for("cordonAlarmRaised " + name,
             lambda: alarm_traps(snmp, RAISED, name), timeout=20)
    rows = {a["name"]: a for a in cd.ok("alarm-list")["alarms"]}
    assert rows[name]["kind"] == "condition", rows
    assert "dataplane-restarted" in rows, rows
    assert cd.prom()[("cordon_alarm_active", name)] == 1
    assert cd.req("alarm-clear", name=name)["error"]["code"] == \
        "alarm-condition"
    os.unlink(block)
    cd.wait_dp_up(60, other_than=old)
    wait_for("cordonAlarmCleared " + name,
             lambda: alarm_traps(snmp, CLEARED, name), timeout=20)
    wait_for("syslog alarm-cleared",
             lambda: cd.alarm_records("alarm-cleared", name))
    assert cd.prom()[("cordon_alarm_active", name)] == 0
