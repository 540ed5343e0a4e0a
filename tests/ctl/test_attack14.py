"""Attacks on the issue-14 surfaces (the admin's day): each test here
failed on the code before its fix.

    CORDOND     the daemon (default build/cordond)

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_attack14.py).
"""
import json
import os
import time

import pytest

from test_daemon import (CORDON_DP, NOBODY, Conn, Daemon, as_nobody,  # noqa: F401
                         binaries)


@pytest.fixture
def cd_nodp(binaries):  # noqa: F811
    """cordond whose dataplane cannot start: control-only behaviour."""
    d = Daemon(dp=False).start(wait_dp=False)
    yield d
    d.stop()


def as_nobody_hold(path, requests, hold_s):
    """Forks a child that, as uid 65534, sends each of REQUESTS on its
    own connection to PATH and keeps them all open HOLD_S seconds.
    Returns (pid, read end): the replies come as one JSON line."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setgroups([NOBODY])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            conns, out = [], []
            for cmd, args in requests:
                try:
                    c = Conn(path, timeout=5)
                    out.append(c.req(cmd, **args))
                    conns.append(c)
                except OSError as e:
                    out.append({"ok": False, "oserror": str(e)})
            os.write(w, (json.dumps(out) + "\n").encode())
            time.sleep(hold_s)
        finally:
            os._exit(0)
    os.close(w)
    return pid, r


def read_line(fd):
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return json.loads(data)


def test_ro_user_cannot_take_every_monitor(cd_nodp):
    """Hole: CD_MON_MAX (8) subscribers at once, and any local user may
    hold 8 connections on the world-writable read-only socket: one user
    could take every monitor slot and keep the admins from watching
    (`cordonctl monitor` answered busy).  Now a non-root uid holds a few
    monitors and the read-only socket never takes the last ones."""
    d = cd_nodp
    pid, r = as_nobody_hold(d.ro, [("monitor", {})] * 8, 6)
    try:
        got = read_line(r)
        subscribed = sum(1 for x in got if x.get("ok"))
        assert 1 <= subscribed < 8, got
        refused = [x for x in got if not x.get("ok")]
        assert all(x["error"]["code"] == "busy" for x in refused), got
        c = Conn(d.sock)
        rep = c.req("monitor")
        assert rep["ok"], rep
        c.close()
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(r)


def alarm(d, name):
    for a in d.ok("alarm-list")["alarms"]:
        if a["name"] == name:
            return a
    return None


@pytest.fixture
def cd_alarmed(binaries):  # noqa: F811
    """cordond with its dataplane up and a dataplane-restarted alarm (an
    event alarm: only an admin clears it) kept from before a restart."""
    from test_daemon import DP
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    d = Daemon()
    os.makedirs(d.dir + "/state", mode=0o700)
    with open(d.dir + "/state/alarms.json", "w") as f:
        json.dump({"schema": 1, "alarms": [{
            "name": "dataplane-restarted", "raised": int(time.time()),
            "detail": "before the test", "count": 1, "acked_at": 0,
            "acked_uid": 0, "acked_by": ""}]}, f)
    d.start()
    yield d
    d.stop()


def test_alarm_ack_and_clear_not_stored_are_refused(cd_alarmed):
    """Hole: alarm-ack (and alarm-clear) answered ok and audited the
    change though the alarm table could not be stored: after a restart
    the acknowledgement (or the clear) was gone.  Now the table is
    stored first; when it cannot be, the command is refused and the
    table stays as it was."""
    d = cd_alarmed
    name = "dataplane-restarted"
    assert alarm(d, name)["acknowledged"] is False
    blocker = d.dir + "/state/alarms.json.tmp"
    os.mkdir(blocker)   # store_file_write cannot create its temporary
    try:
        r = d.req("alarm-ack", name=name)
        assert not r["ok"] and r["error"]["code"] == "internal", r
        assert alarm(d, name)["acknowledged"] is False
        r = d.req("alarm-clear", name=name)
        assert not r["ok"] and r["error"]["code"] == "internal", r
        assert alarm(d, name) is not None
    finally:
        os.rmdir(blocker)
    assert d.ok("alarm-ack", name=name)["acknowledged"] == [name]
    # kill -9 right after the answer: the acknowledgement is kept.
    d.proc.send_signal(9)
    d.proc.wait()
    d.start()
    a = alarm(d, name)
    assert a is not None and a["acknowledged"] is True, a
    assert d.ok("alarm-clear", name=name)["cleared"] == name
    d.proc.send_signal(9)
    d.proc.wait()
    d.start()
    assert alarm(d, name) is None


@pytest.fixture
def cd_dp(binaries):  # noqa: F811
    """cordond with its dataplane up."""
    from test_daemon import DP
    if not DP:
        pytest.skip("cordon-dp has no --control yet")
    d = Daemon().start()
    yield d
    d.stop()


def counters_file(d):
    with open(d.dir + "/state/counters.json") as f:
        return json.load(f)


def cleared_at(d, rule):
    return [e["cleared"] for e in counters_file(d)["rules"]
            if e["name"] == rule]


def test_clear_counters_not_stored_is_refused(cd_dp):
    """Hole: clear counters answered ok (and audited) though
    counters.json could not be written: a restart brought the cleared
    hits back.  Now refused, the entries as they were."""
    d = cd_dp
    rule = "ssh-prohibited"
    assert cleared_at(d, rule) == [0]
    blocker = d.dir + "/state/counters.json.tmp"
    os.mkdir(blocker)
    try:
        r = d.req("clear-counters", rule=rule)
        assert not r["ok"] and r["error"]["code"] == "internal", r
        r = d.req("clear-counters")
        assert not r["ok"] and r["error"]["code"] == "internal", r
    finally:
        os.rmdir(blocker)
    # Not cleared in memory either: the next save writes it as it was.
    d.ok("set", kind="rule", name="x", attrs={"action": "drop",
                                                "src": "prohibited"})
    d.ok("commit")
    assert cleared_at(d, rule) == [0]
    got = d.ok("clear-counters", rule=rule)["cleared"]
    assert [c["rule"] for c in got] == [rule]
    d.proc.send_signal(9)
    d.proc.wait()
    d.start()
    assert cleared_at(d, rule)[0] > 0


def test_ro_socket_refuses_issue14_changes(cd_nodp):
    """Every issue-14 command that changes something is denied on the
    read-only socket, as nobody and as root, and leaves no candidate
    (coverage: these held before)."""
    d = cd_nodp
    changes = [
        ("discard", {}), ("update", {}),
        ("rollback", {"revision": 1}),
        ("load", {"mode": "override", "text": "rules = ();\n"}),
        ("load", {"mode": "merge", "text": "rules = ();\n"}),
        ("rename", {"kind": "rule", "name": "ssh-prohibited", "to": "y"}),
        ("clear-counters", {}),
        ("alarm-ack", {"name": "all"}),
        ("alarm-clear", {"name": "dataplane-restarted"}),
    ]
    for cmd, args in changes:
        r = d.req(cmd, sock=d.ro, **args)
        assert r["error"]["code"] == "denied", (cmd, r)
    for r in as_nobody(d.ro, changes):
        assert r["error"]["code"] == "denied", r
    assert d.ok("show", what="candidate")["exists"] is False
    assert all(a["acknowledged"] is False
               for a in d.ok("alarm-list")["alarms"])


def test_control_group_is_roots(cd_dp, tmp_path):
    """Hole: since the running revision's control group runs (issue
    14), a member of the control socket's group could commit one with
    its own dp_binary (or dp_args, sockets, ...), and the next cordond
    start ran that program as root.  Now a commit or rollback by a
    non-root uid that changes the control group is refused (denied);
    root may."""
    d = cd_dp
    marker = str(tmp_path / "ran-as")
    evil = str(tmp_path / "evil-dp")
    with open(evil, "w") as f:
        f.write("#!/bin/sh\nid -u > %s\nexec %s \"$@\"\n" % (marker,
                                                           CORDON_DP))
    os.chmod(evil, 0o755)
    os.chmod(str(tmp_path), 0o755)
    text = d.ok("show", what="config")["text"]
    assert 'dp_binary = "%s"' % CORDON_DP in text, text
    bad = text.replace('dp_binary = "%s"' % CORDON_DP,
                       'dp_binary = "%s"' % evil)
    out = as_nobody(d.sock, [
        ("load", {"mode": "override", "text": bad}),
        ("commit", {}),
    ])
    assert out[0]["ok"], out
    assert not out[1]["ok"] and out[1]["error"]["code"] == "denied", out
    assert d.ok("show", what="config")["text"] == text
    # A restart runs the running revision's control group: not evil's.
    d.proc.send_signal(9)
    d.proc.wait()
    for pid in list(d.dp_pids) + ([d.dp_pid] if d.dp_pid else []):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    d.start()
    assert not os.path.exists(marker)
    # Root may; a non-root rollback to the revision before it may not.
    assert "geo_max_age = 0;" in text, text
    d.ok("load", mode="override",
         text=text.replace("geo_max_age = 0;", "geo_max_age = 3650;"))
    rev = d.ok("commit")["revision"]
    out = as_nobody(d.sock, [("rollback", {"revision": rev - 1,
                                           "commit": True})])
    assert out[0]["error"]["code"] == "denied", out
    assert "geo_max_age = 3650;" in d.ok("show", what="config")["text"]
    # dataplane.eal: "-d" loads a shared object into cordon-dp (root).
    assert '"--no-pci"' in text
    out = as_nobody(d.sock, [
        ("discard", {}),
        ("load", {"mode": "merge", "text": 'dataplane = { eal = [ '
                  '"--no-huge", "-d", "/tmp/evil.so" ]; };\n'}),
        ("commit", {})])
    assert out[1]["ok"], out
    assert out[2]["error"]["code"] == "denied", out
    assert "dataplane" in out[2]["error"]["message"], out
    # The policy stays theirs to change.
    out = as_nobody(d.sock, [
        ("discard", {}),
        ("set", {"kind": "rule", "name": "x",
                 "attrs": {"action": "drop", "src": "prohibited"}}),
        ("commit", {})])
    assert out[2]["ok"], out


def test_class_file_line_not_shown(cd_dp, tmp_path):
    """Hole: a member of the control socket's group named a file only
    root reads as a relay class's prefix list; cordond (root) read it and
    the refusal of commit (check) quoted its first line."""
    d = cd_dp
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$SECRETHASH:19000:0:99999:7:::\n")
    os.chmod(str(secret), 0o600)
    out = as_nobody(d.sock, [
        ("load", {"mode": "merge", "text": 'geo = { classes = ( { name = '
                  '"x"; prefixes = "%s"; } ); };\n' % secret}),
        ("commit", {"check": True}),
        ("commit", {})])
    assert out[0]["ok"], out
    for r in out[1:]:
        assert not r["ok"] and r["error"]["code"] == "geo", r
        assert "SECRETHASH" not in r["error"]["message"], r
        assert "not shown" in r["error"]["message"], r
    with open(d.dir + "/state/audit.log") as f:
        assert "SECRETHASH" not in f.read()


def test_audit_names_cannot_forge_lines(cd_nodp):
    """Hole: a name a client chose went into the audit record's command
    as it was: `rename rule ssh-prohibited to "a\\nuid: 0..."` (or a
    load's file label with ESC sequences) printed forged lines and
    terminal escapes in root's `cordonctl show audit`.  Now control
    bytes are '?' in the record, and cordonctl never prints them."""
    from cordonrig import CORDONCTL
    import subprocess
    d = cd_nodp
    forged = "a\nuid:       0\ncmd:       commit\x1b[2K\r"
    out = as_nobody(d.sock, [
        ("load", {"mode": "merge", "text": 'non_ip = "drop";\n',
                  "file": "f\x1b]0;title\x07\x1b[2J"}),
        ("rename", {"kind": "rule", "name": "ssh-prohibited", "to": forged}),
    ])
    assert out[0]["ok"], out
    r = subprocess.run([CORDONCTL, "-s", d.sock, "show", "audit"],
                       capture_output=True, timeout=20)
    assert r.returncode == 0, r
    assert b"\x1b" not in r.stdout and b"\r" not in r.stdout, r.stdout
    assert b"\x07" not in r.stdout
    uids = [ln for ln in r.stdout.decode().splitlines()
            if ln.startswith("uid:")]
    assert uids and all(ln.split()[1] == "65534" for ln in uids), uids
    recs = d.ok("show", what="audit")["records"]
    assert any("rename rule ssh-prohibited to a?uid:" in x["cmd"]
               for x in recs), recs


def test_fifo_paths_do_not_hang_cordond(cd_dp, tmp_path):
    """Hole: a member of the control socket's group named a FIFO as a
    relay class's list (or a geo database): commit check opened it and
    cordond waited for a writer forever, answering no one (root
    included).  Now such a file is refused at once: not a regular
    file."""
    d = cd_dp
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo, 0o666)
    os.chmod(str(tmp_path), 0o755)
    for text in ('geo = { classes = ( { name = "x"; prefixes = "%s"; } ); };'
                 '\n' % fifo,
                 'geo = { databases = ( { file = "%s"; '
                 'field = "country_code"; } ); };\n' % fifo):
        t0 = time.time()
        out = as_nobody(d.sock, [("discard", {}),
                                 ("load", {"mode": "merge", "text": text}),
                                 ("commit", {"check": True})])
        assert out[1]["ok"], out
        assert not out[2]["ok"], out
        assert "not a regular file" in out[2]["error"]["message"], out
        assert time.time() - t0 < 10
        assert d.req("status")["ok"]
