"""Revisions and the config file (issue 14): show config [N], compare
rollback N / compare N M, load override|merge FILE, the file against the
running revision at start-up (warning, status), the control group
following the running revision, cordond --check-start (the unit's
ExecStartPre).  The real cordond and cordon-dp (net_null ports) of
test_cli, driven with cordonctl as an admin types it."""
import json
import os
import re
import shlex
import socket
import subprocess
import time

import pytest

from test_cli import (CORDOND, Cordond, ROOT, cordond,  # noqa: F401
                      ctl_bin, golden_check, needs_cordond, run, sockdir)

pytestmark = needs_cordond

UNIT = os.path.join(ROOT, "appliance/systemd/cordond.service")


@pytest.fixture
def cd(cordond):
    """test_cli's cordond, under a short name."""
    return cordond


def ctl(cd, *args, rc=0):
    r = run(cd.ctl, list(args), cd.sock)
    assert r.returncode == rc, (args, r)
    return r


def restart(cd):
    """cordond stopped and started again on the same file and state;
    cordon-dp is adopted (it outlives cordond by design)."""
    cd.proc.terminate()
    cd.proc.wait(15)
    log = open(cd.logpath, "a")
    cd.proc = subprocess.Popen([CORDOND, "-f", cd.conf, "-d"], stdout=log,
                               stderr=subprocess.STDOUT)
    log.close()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        assert cd.proc.poll() is None, cd.log()
        st = cd.status() if os.path.exists(cd.sock) else None
        if st and st["dataplane"]["state"] == "up":
            return st
        time.sleep(0.2)
    pytest.fail("cordond did not come back:\n" + cd.log())


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_show_config_is_a_loadable_file(cd, tmp_path):
    """show config > f; cordond -n f; load override f; compare shows no
    difference.  show config printed "revision: N" and "text:" lines
    around the text, which no loader accepts."""
    f = str(tmp_path / "shown.conf")
    write(f, ctl(cd, "show", "config").stdout)
    n = subprocess.run([CORDOND, "-n", "-f", f], capture_output=True,
                       text=True, timeout=120)
    assert n.returncode == 0, n.stderr
    r = ctl(cd, "load", "override", f)
    assert "load" not in r.stderr
    d = json.loads(ctl(cd, "-j", "compare").stdout)
    assert d["diff"] == "" and not d["stale"], d


def test_show_config_revision_and_compare(cd):
    """show config N and compare rollback N / compare N M: the words
    after show config and compare were refused (exit 2)."""
    ctl(cd, "set", "rule", "rdp", "ports", "3389", "proto", "tcp",
        "action", "reject")
    ctl(cd, "commit", "comment", "rdp")
    one = ctl(cd, "show", "config", "1").stdout
    two = ctl(cd, "show", "config", "2").stdout
    assert one.startswith("# Cordon configuration: revision 1\n"), one
    assert two.startswith("# Cordon configuration: revision 2 (running)\n")
    assert '"rdp"' in two and '"rdp"' not in one
    assert ctl(cd, "show", "config").stdout == two
    j = json.loads(ctl(cd, "-j", "show", "config", "1").stdout)
    assert j["revision"] == 1 and j["running"] is False
    r = ctl(cd, "show", "config", "9", rc=1)
    assert r.stderr.startswith("cordonctl: no-such-revision: no revision 9")
    since = json.loads(ctl(cd, "-j", "compare", "rollback", "1").stdout)
    assert since["from"] == 1 and since["to"] == 2, since
    assert since["diff"].startswith("--- revision 1\n+++ revision 2 "
                                    "(running)\n"), since["diff"]
    assert '+    name = "rdp";' in since["diff"]
    back = json.loads(ctl(cd, "-j", "compare", "2", "1").stdout)
    assert back["diff"].startswith("--- revision 2 (running)\n"
                                   "+++ revision 1\n"), back["diff"]
    assert '-    name = "rdp";' in back["diff"]
    assert json.loads(ctl(cd, "-j", "compare", "1", "1").stdout)["diff"] \
        == ""
    for args in (["compare", "rollback", "7"], ["compare", "1", "7"]):
        r = ctl(cd, *args, rc=1)
        assert "no-such-revision: no revision 7" in r.stderr, r
    # Plain compare is still the candidate's.
    assert "no-candidate" in ctl(cd, "compare", rc=1).stderr


MERGE = """\
# Another site's additions, merged by name.
regions: { watched = [ "RU", "BY" ]; banned = [ "KP" ]; };
services: { rdp = { proto = "tcp"; ports = [ "3389" ]; }; };
rules = (
    { name = "mgmt"; src = [ "watched", "banned" ]; services = [ "ssh" ];
      direction = "in"; action = "reject"; },
    { name = "rdp-banned"; src = [ "banned" ]; services = [ "rdp" ];
      action = "drop"; log = true; }
);
"""


def session(cd, tmp, lines):
    """Runs each cordonctl command line of LINES as an admin types it;
    the transcript, temporary paths and times masked."""
    out = []
    for line in lines:
        r = run(cd.ctl, shlex.split(line), cd.sock)
        out.append("$ cordonctl " + line)
        out.append((r.stdout + r.stderr).rstrip("\n"))
        out.append("[exit %d]" % r.returncode)
    text = "\n".join(out) + "\n"
    text = text.replace(str(tmp), "TMP").replace(cd.tmp, "STATE")
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", text)


def test_load_merge_session(cd, tmp_path):
    """load merge -> compare -> commit, as a golden session: regions and
    services merged member by member, rule mgmt replaced in place,
    rdp-banned appended; a bad merge is refused with its line and the
    candidate left as it was.  There was no load command."""
    f = tmp_path / "site.conf"
    write(str(f), MERGE)
    bad = tmp_path / "bad.conf"
    write(str(bad), 'rules = ( { name = "x"; src = [ "nowhere" ]; '
                    'action = "drop"; } );\n')
    broken = tmp_path / "broken.conf"
    write(str(broken), "rules = ( { name = \"x\"; \n")
    text = session(cd, tmp_path, [
        "load merge %s" % f,
        "compare",
        "load merge %s" % bad,
        "load merge %s" % broken,
        "commit comment 'site additions'",
        "show rules",
    ])
    golden_check("sessions/load-merge.txt", text)
    cand = json.loads(ctl(cd, "-j", "show", "candidate").stdout)
    assert cand["exists"] is False
    audit = json.loads(ctl(cd, "-j", "show", "audit").stdout)["records"]
    cmds = [a["cmd"] for a in audit]
    assert "load merge %s" % f in cmds


def test_load_override_refuses_bad_file(cd, tmp_path):
    """A bad whole file is refused with its own file:line (exit 5), the
    candidate unchanged; an oversized one is refused before it is
    sent."""
    ctl(cd, "set", "region", "x", "CN")
    before = json.loads(ctl(cd, "-j", "show", "candidate").stdout)
    bad = str(tmp_path / "bad.conf")
    write(bad, 'regions: { a = [ "CN" ]; };\n\nrules = ( { name = "r"; '
               'src = [ "nowhere" ]; action = "drop"; } );\n')
    r = ctl(cd, "load", "override", bad, rc=5)
    assert r.stderr.startswith("cordonctl: invalid: %s:3: " % bad), r.stderr
    big = str(tmp_path / "big.conf")
    write(big, 'regions: { big = [ %s ]; };\n' % ", ".join(
        ['"CN"'] * 110000))
    r = ctl(cd, "load", "merge", big, rc=5)
    assert "at most 524288" in r.stderr, r.stderr
    assert json.loads(ctl(cd, "-j", "show", "candidate").stdout) == before


def test_load_reads_includes_and_relative_paths(cd, tmp_path):
    """cordonctl flattens the file as cordond imports its own: @include
    relative to the file's folder, relative database paths made
    absolute; the daemon never reads the admin's folder."""
    sub = tmp_path / "site"
    sub.mkdir()
    write(str(sub / "regions.conf"), 'regions: { lab = [ "KP" ]; };\n')
    db = json.loads(ctl(cd, "-j", "show", "geo").stdout)["layers"][0]["path"]
    os.symlink(db, str(sub / "local.mmdb"))
    write(str(sub / "main.conf"), '@include "regions.conf"\n'
          'geo: { databases = ( { file = "local.mmdb"; } ); };\n')
    ctl(cd, "load", "merge", str(sub / "main.conf"))
    text = json.loads(ctl(cd, "-j", "show", "candidate").stdout)["text"]
    assert 'lab = [ "KP" ];' in text and "@include" not in text
    assert 'file = "%s";' % os.path.realpath(db) in text, text
    assert json.loads(ctl(cd, "-j", "commit", "check").stdout)["valid"]


def test_startup_warns_when_file_differs(cd, tmp_path):
    """After the first start the file is compared with the running
    revision: a rule added to it is not what runs, and cordond says so
    (log, syslog, status) with the way to adopt it; load override,
    commit, and it is adopted.  The rule was silently ignored."""
    st = cd.status()
    assert st["config_file"]["differs"] is False, st["config_file"]
    with open(cd.conf) as f:
        text = f.read()
    # A syslog target (a local datagram socket) in the running revision.
    logsock = os.path.join(cd.tmp, "log.sock")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(logsock)
    rx.settimeout(20)
    f = str(tmp_path / "logging.conf")
    write(f, 'control: { logging = { targets = ( { type = "local"; '
             'address = "%s"; } ); }; };\n' % logsock)
    ctl(cd, "load", "merge", f)
    ctl(cd, "commit")
    write(cd.conf, text.replace("rules = (\n", """rules = (
    { name = "ssh-cn"; src = [ "CN" ]; services = [ "ssh" ];
      action = "drop"; },
""", 1))
    st = restart(cd)
    cf = st["config_file"]
    assert cf["differs"] is True and cf["revision"] == 2, cf
    msgs = []
    while not any(" config-differs " in m for m in msgs):
        msgs.append(rx.recv(65536).decode(errors="replace"))
    rx.close()
    rec = [m for m in msgs if " config-differs " in m][0]
    assert rec.startswith("<132>1 "), rec  # local0.warning
    assert 'file="%s"' % cd.conf in rec and 'revision="2"' in rec, rec
    assert cf["adopt"] == ("cordonctl load override %s, compare, commit "
                           "(or keep the revision: cordonctl show config > "
                           "%s)" % (cd.conf, cd.conf)), cf
    assert "%s differs from the running revision 2" % cd.conf in cd.log()
    shown = ctl(cd, "show", "status").stdout
    assert re.search(r"\n  differs: +yes\n", shown), shown
    rules = json.loads(ctl(cd, "-j", "show", "rules").stdout)["rules"]
    assert "ssh-cn" not in [r["name"] for r in rules]
    ctl(cd, "load", "override", cd.conf)
    assert '+    name = "ssh-cn";' in ctl(cd, "compare").stdout
    ctl(cd, "commit")
    assert cd.status()["config_file"]["differs"] is False
    # The other way: a revision committed with cordonctl, written back.
    ctl(cd, "set", "region", "extra", "KP")
    ctl(cd, "commit")
    assert cd.status()["config_file"]["differs"] is True
    write(cd.conf, ctl(cd, "show", "config").stdout)
    assert cd.status()["config_file"]["differs"] is False


def test_control_group_follows_the_revision(cd, tmp_path):
    """The running revision's control group is what runs after a
    restart; the file's (edited, not loaded) is not.  The file's was
    applied at each start and the committed one ignored."""
    assert cd.status()["geo"]["max_age_s"] == 30 * 86400
    with open(cd.conf) as fh:
        text = fh.read()
    write(cd.conf, text.replace("control: {\n",
                                "control: {\n    geo_max_age = 9;\n", 1))
    st = restart(cd)
    assert st["geo"]["max_age_s"] == 30 * 86400, st["geo"]
    assert st["config_file"]["differs"] is True
    f = str(tmp_path / "ctl.conf")
    write(f, "control: { geo_max_age = 5; };\n")
    ctl(cd, "load", "merge", f)
    ctl(cd, "commit")
    # Committed: it takes effect at the next start.
    assert cd.status()["geo"]["max_age_s"] == 30 * 86400
    st = restart(cd)
    assert st["geo"]["max_age_s"] == 5 * 86400, st["geo"]
    assert "geo_max_age = 5;" in ctl(cd, "show", "config").stdout


def unit_check_start():
    """The unit's ExecStartPre, as words."""
    with open(UNIT) as f:
        pre = [ln.split("=", 1)[1] for ln in f.read().splitlines()
               if ln.startswith("ExecStartPre=")]
    assert len(pre) == 1, pre
    return shlex.split(pre[0])


def test_unit_checks_what_will_run(ctl_bin, sockdir):
    """The unit's ExecStartPre checks the running revision once there is
    one, the file before: with the file's database gone (the revision's
    is fine) -n fails and the check passes; it checked the file (a
    policy that would be ignored)."""
    words = unit_check_start()
    assert words[0] == "/usr/sbin/cordond" and "--check-start" in words
    d = Cordond(sockdir, ctl_bin)
    conf = d.conf

    def pre():
        argv = [CORDOND] + [conf if w == "/etc/cordon/cordon.conf" else w
                            for w in words[1:]]
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=120)
    try:
        d.start()
        first = pre()
        assert first.returncode == 0, first.stderr
        assert "checking revision 1 " in first.stdout, first.stdout
        with open(conf) as f:
            text = f.read()
        write(conf, re.sub(r'file = "[^"]*"', 'file = "/nonexistent.mmdb"',
                           text, count=1))
        n = subprocess.run([CORDOND, "-n", "-f", conf], capture_output=True,
                           text=True, timeout=120)
        assert n.returncode == 2, n
        r = pre()
        assert r.returncode == 0, r.stderr
        assert "differs from revision 1 and does not run" in r.stderr
    finally:
        d.stop()


def test_check_start_before_the_first_start(ctl_bin, sockdir, tmp_path):
    """No revision yet: --check-start checks the file (the first start
    imports it), and refuses a bad one."""
    d = Cordond(sockdir, ctl_bin)
    d.start()
    d.stop()
    state = os.path.join(d.tmp, "state")
    subprocess.run(["rm", "-rf", state], check=True)
    r = subprocess.run([CORDOND, "--check-start", "-f", d.conf],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "no revision in %s yet: checking %s" % (state, d.conf) \
        in r.stdout
    assert not os.path.exists(state), "a check must not create the folder"
    with open(d.conf, "a") as f:
        f.write("bogus = 1;\n")
    r = subprocess.run([CORDOND, "--check-start", "-f", d.conf],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and d.conf in r.stderr, r


def test_load_override_drops_rename_pins(cd, tmp_path):
    """load override replaces the candidate whole, its rename pins too:
    a rename then an override back to the running text left the pin
    "OLD": 0, so the running rule OLD would have restarted at zero."""
    f = str(tmp_path / "running.conf")
    write(f, ctl(cd, "show", "config").stdout)
    rules = json.loads(ctl(cd, "-j", "show", "rules").stdout)["rules"]
    old = rules[0]["name"]
    ctl(cd, "rename", "rule", old, "to", old + "-renamed")
    d = json.loads(ctl(cd, "-j", "compare").stdout)
    assert d.get("renames"), d
    ctl(cd, "load", "override", f)
    d = json.loads(ctl(cd, "-j", "compare").stdout)
    assert d["diff"] == "" and not d.get("renames"), d
    ctl(cd, "commit")
    after = json.loads(ctl(cd, "-j", "show", "rules").stdout)["rules"]
    assert [(r["name"], r["id"]) for r in after] == \
        [(r["name"], r["id"]) for r in rules]


@pytest.mark.parametrize("breakage", ["syntax", "refused"])
def test_broken_file_does_not_stop_the_appliance(cd, breakage):
    """A config file that no longer loads (a broken edit) once stopped
    cordond at its next start although the state folder held the running
    revision: recovery needed a human.  Now that revision runs, the error
    is said (log, status config_file.error) and --check-start (the unit's
    ExecStartPre) passes with a warning."""
    with open(cd.conf) as f:
        text = f.read()
    if breakage == "syntax":
        write(cd.conf, text + "\nrules = ( { name = \n")
    else:
        write(cd.conf, text.replace("rules = (\n", """rules = (
    { name = "x"; src = [ "nowhere" ]; action = "drop"; },
""", 1))
    try:
        st = restart(cd)
        cf = st["config_file"]
        assert cf["differs"] is True and cf["error"], cf
        assert st["running_revision"] == 1, st
        assert "warning: %s " % cd.conf in cd.log(), cd.log()
        r = subprocess.run([CORDOND, "--check-start", "-f", cd.conf],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert "checking revision 1 " in r.stdout, r.stdout
        assert "warning" in r.stderr, r.stderr
    finally:
        write(cd.conf, text)
