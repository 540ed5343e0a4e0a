"""Golden CLI session: rule counters across an insert, a rename, a
delete, a cordond restart and a rollback, then cleared (issue 14).

An admin's cordonctl commands, in order, against a real cordond and the
cordon-dp it runs (the SNMP rig of tests/mon/test_snmp.py: a finite
capture replayed once, so that the counters settle), their text output
kept in golden/sessions/counters.txt with times and folders masked.
After each step the SNMP cordonRuleTable (snmpbulkwalk through snmpd's
AgentX master) and the Prometheus rule series must say what `show
counters` says; they are part of the transcript too.

    CORDON_GOLDEN_UPDATE=1   rewrite the golden file

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_counters_session.py
"""
import json
import os
import re
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "mon"))

import cordonrig  # noqa: E402
from cordonrig import wait_for  # noqa: E402
from test_snmp import OBJ, ROUNDS, check_equal, registered  # noqa: E402
from test_snmp import rig  # noqa: E402,F401  (the fixture)

GOLDEN = os.path.join(HERE, "golden", "sessions", "counters.txt")
UPDATE = os.environ.get("CORDON_GOLDEN_UPDATE") == "1"
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


class Session:
    """Runs cordonctl as an admin types it; keeps the transcript."""

    def __init__(self, snmp, cd):
        self.snmp, self.cd = snmp, cd
        self.out = []

    def ctl(self, *words, keep=None, rc=0):
        r = subprocess.run([cordonrig.CORDONCTL, "-s", self.cd.sock] +
                           list(words), capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == rc, (words, r.stdout, r.stderr)
        text = keep(r.stdout) if keep else r.stdout + r.stderr
        self.out.append("$ cordonctl %s\n%s" % (" ".join(
            "'%s'" % w if " " in w else w for w in words), text))
        return r.stdout

    def note(self, text):
        self.out.append("# %s\n" % text)

    def transcript(self):
        t = "\n".join(self.out)
        return ISO.sub("TIME", t.replace(self.cd.dir, "DIR"))


def rules_section(text):
    """The `rules:` table of show counters' text output."""
    m = re.search(r"^rules:\n((?:  .*\n)+)", text, re.M)
    assert m, text
    return "rules:\n" + m.group(1)


def agree(s, c):
    """SNMP and Prometheus say what the counters reply C says; both go
    into the transcript, rows by id."""
    walk = check_equal(s.snmp, c)
    rows = {}
    for k, v in walk.items():
        if k.startswith(OBJ + ".4.1.1."):
            col, idx = k[len(OBJ) + 7:].split(".")
            rows.setdefault(int(idx), {})[int(col)] = v
    lines = ["%d  %s  %s  position %s" % (i, r[2], r[4], r[5])
             for i, r in sorted(rows.items())]
    s.out.append("$ snmpbulkwalk ... cordonRuleTable  (id, name, hits, "
                 "position)\n%s\n" % "\n".join(lines))
    prom = subprocess.run([cordonrig.CORDONCTL, "-s", s.cd.sock, "show",
                           "counters", "--prometheus"], capture_output=True,
                          text=True, timeout=20).stdout.splitlines()
    series = [ln for ln in prom if ln.startswith("cordon_rule_hits_total{")]
    want = ['cordon_rule_hits_total{id="%d",rule="%s",action="%s"} %d' %
            (r["id"], r["rule"], act(s, r["rule"]), r["hits"])
            for r in c["rules"]]
    assert sorted(series) == sorted(want), (series, want)
    s.out.append("$ cordonctl show counters --prometheus  "
                 "(cordon_rule_hits_total)\n%s\n" % "\n".join(series))


def act(s, name):
    rules = s.cd.ok("show", what="rules")["rules"]
    return [r["action"] for r in rules if r["name"] == name][0]


def counters(s):
    s.ctl("show", "counters", keep=rules_section)
    c = s.cd.ok("counters")
    agree(s, c)
    return {r["rule"]: r for r in c["rules"]}


def last_audit(s):
    rec = json.loads(subprocess.run(
        [cordonrig.CORDONCTL, "-s", s.cd.sock, "-j", "show", "audit"],
        capture_output=True, text=True, timeout=20).stdout)["records"][-1]
    s.out.append("$ cordonctl show audit  (the last record)\n"
                 "uid: %s\ncmd: %s\nresult: %s\ndiff:\n%s" %
                 (rec["uid"], rec["cmd"], rec["result"], rec["diff"]))
    return rec


def test_counters_session(rig):
    snmp, cd = rig
    s = Session(snmp, cd)
    wait_for("the subagent registered", lambda: registered(snmp))
    cd.settled()
    s.note("revision 1: %d SYNs per rule were counted" % ROUNDS)
    c1 = counters(s)

    s.note("insert at position 2: a new rule starts at zero")
    s.ctl("set", "rule", "ssh-by-quarantine", "src", "CN", "services",
          "rdp", "direction", "in", "action", "drop", "position", "2")
    s.ctl("commit", "comment", "insert at 2")
    c2 = counters(s)
    assert c2["ssh-by-quarantine"]["hits"] == 0
    assert c2["ru-rdp-drop"]["hits"] == c1["ru-rdp-drop"]["hits"] == ROUNDS

    s.note("rename: the rule keeps its id and its hits")
    s.ctl("rename", "rule", "ru-rdp-drop", "to", "ru-rdp-deny")
    s.ctl("compare")
    s.ctl("commit", "comment", "rename")
    c3 = counters(s)
    assert "ru-rdp-drop" not in c3
    assert c3["ru-rdp-deny"]["id"] == c1["ru-rdp-drop"]["id"]
    assert c3["ru-rdp-deny"]["hits"] == ROUNDS

    s.note("delete: the rule's history goes with it")
    s.ctl("delete", "rule", "cn-ssh-reject")
    s.ctl("commit", "comment", "delete")
    c4 = counters(s)
    assert "cn-ssh-reject" not in c4

    s.note("cordond restarts; cordon-dp keeps running and counting")
    dp = cd.dp_pid
    cd.proc.terminate()
    cd.proc.wait(15)
    cd.spawn()
    assert cd.wait_up()["pid"] == dp
    wait_for("the subagent back", lambda: registered(snmp), timeout=20)
    c5 = counters(s)
    assert c5 == c4

    s.note("rollback to revision 2, reviewed: its rules come back with "
           "their ids; ru-rdp-drop is ru-rdp-deny again, cn-ssh-reject "
           "from zero")
    s.ctl("rollback", "2")
    s.ctl("commit", "comment", "back to 2")
    c6 = counters(s)
    assert c6["ru-rdp-drop"]["id"] == c1["ru-rdp-drop"]["id"]
    assert c6["ru-rdp-drop"]["hits"] == ROUNDS
    assert c6["cn-ssh-reject"]["id"] == c1["cn-ssh-reject"]["id"]
    assert c6["cn-ssh-reject"]["hits"] == 0

    s.note("clear one rule, then all: audited")
    s.ctl("clear", "counters", "rule", "ru-rdp-drop")
    c7 = counters(s)
    assert c7["ru-rdp-drop"]["hits"] == 0
    assert c7["us-allow"]["hits"] == ROUNDS
    rec = last_audit(s)
    assert rec["cmd"] == "clear counters rule ru-rdp-drop"
    assert rec["uid"] == os.getuid() and rec["result"] == "ok"
    s.ctl("clear", "counters", "rule", "nosuchrule", rc=1)
    s.ctl("clear", "counters")
    c8 = counters(s)
    assert all(r["hits"] == 0 for r in c8.values())
    last_audit(s)

    got = s.transcript()
    if UPDATE:
        with open(GOLDEN, "w") as f:
            f.write(got)
    with open(GOLDEN) as f:
        assert got == f.read()


def restart_cordond(cd):
    """cordond stops and starts again; its cordon-dp runs on."""
    dp = cd.dp_pid
    cd.proc.terminate()
    cd.proc.wait(15)
    cd.spawn()
    assert cd.wait_up()["pid"] == dp


@pytest.mark.parametrize("rig", [{"infinite": True}], indirect=True)
def test_restart_while_counting(rig):
    """cordon-dp counts without a pause while cordond restarts: every
    packet it decided after the restart is some rule's hit, once.  In one
    counters reply packets and hits come from the same reading, so their
    difference (what swaps credited to nobody) must not move: were hits
    lost it would grow, were they counted twice it would shrink."""
    snmp, cd = rig

    def gap(c):
        return c["packets"] - sum(r["hits"] for r in c["rules"])

    c1 = wait_for("traffic counted", lambda: (lambda c: c if c["packets"] >
                  5000 else None)(cd.ok("counters")), timeout=30)
    restart_cordond(cd)
    c2 = wait_for("more traffic", lambda: (lambda c: c if c["packets"] >
                  c1["packets"] else None)(cd.ok("counters")), timeout=30)
    assert gap(c2) == gap(c1)
    h1 = {r["id"]: r["hits"] for r in c1["rules"]}
    for r in c2["rules"]:
        assert r["hits"] >= h1[r["id"]] > 0, r
    assert os.path.exists(cd.dir + "/state/counters.json")


def test_revert_brings_ids_back(rig):
    """An unconfirmed commit that renamed a rule is reverted by the
    timer: the revert takes the old revision's ids, so the rule has its
    old name, id and hits again (by names alone it would be new)."""
    snmp, cd = rig
    cd.stop()
    cd.__init__(cd.dir + "/again")
    cd.spawn("--test-timers")
    cd.wait_up()
    c1 = {r["rule"]: r for r in cd.settled()["rules"]}
    cd.ok("rename", kind="rule", name="ru-rdp-drop", to="ru-rdp-deny")
    rev = cd.ok("commit", confirmed_seconds=5)["revision"]
    c2 = {r["rule"]: r for r in cd.ok("counters")["rules"]}
    assert c2["ru-rdp-deny"]["id"] == c1["ru-rdp-drop"]["id"]
    wait_for("the revert", lambda: cd.ok("status")["running_revision"] >
             rev, timeout=30)
    c3 = {r["rule"]: r for r in cd.ok("counters")["rules"]}
    assert "ru-rdp-deny" not in c3
    assert c3["ru-rdp-drop"]["id"] == c1["ru-rdp-drop"]["id"]
    assert c3["ru-rdp-drop"]["hits"] == ROUNDS
