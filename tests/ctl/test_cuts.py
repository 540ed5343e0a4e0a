"""Issue 14 paper cuts in cordonctl: the socket from the environment,
-j anywhere on the line, "did you mean" for typos, exit codes and
messages.  Uses test_cli's fake daemon."""
import os

import pytest

from test_cli import (FakeDaemon, cordond, ctl_bin, daemon,  # noqa: F401
                      needs_cordond, run, sockdir)


def env_with(**kw):
    e = dict(os.environ)
    e.pop("CORDONCTL_SOCKET", None)
    e.update(kw)
    return e


def test_socket_from_environment(ctl_bin, daemon, sockdir):
    """CORDONCTL_SOCKET names the socket; it was ignored (the default
    /run/cordon/cordon.sock was tried)."""
    r = run(ctl_bin, ["show", "status"],
            env=env_with(CORDONCTL_SOCKET=daemon.path))
    assert r.returncode == 0, r
    assert [q["cmd"] for q in daemon.requests] == ["status"]
    # -s wins over the environment.
    other = os.path.join(sockdir, "other.sock")
    r = run(ctl_bin, ["show", "status"], daemon.path,
            env=env_with(CORDONCTL_SOCKET=other))
    assert r.returncode == 0, r
    assert len(daemon.requests) == 2
    # The environment's socket is the one reported when unreachable.
    r = run(ctl_bin, ["show", "status"],
            env=env_with(CORDONCTL_SOCKET=other))
    assert r.returncode == 3 and other in r.stderr, r
    h = run(ctl_bin, ["-h"])
    assert "CORDONCTL_SOCKET" in h.stdout


def test_json_option_anywhere(ctl_bin, daemon):
    """-j and -J after the command: it was "unexpected "-j" after
    "status"" (exit 2)."""
    daemon.reply = lambda req: {"v": 1, "ok": True,
                                "data": {"schema": 1, "a": 1}}
    for argv, want in [(["show", "status", "-j"], '{\n  "schema": 1'),
                       (["show", "-J", "status"], '{"schema":1,"a":1}\n'),
                       (["-J", "show", "status", "-j"], '{\n  "schema"')]:
        r = run(ctl_bin, argv, daemon.path)
        assert r.returncode == 0, r
        assert r.stdout.startswith(want), r.stdout
    assert [q["cmd"] for q in daemon.requests] == ["status"] * 3


@needs_cordond
def test_delete_missing_name_exits_1(ctl_bin, cordond):
    """Deleting what is not there is a refusal (exit 1, no-such-name),
    not an invalid candidate: it exited 5, documented for commit."""
    for kind in ["rule", "region", "service", "nexthop"]:
        r = run(ctl_bin, ["delete", kind, "nosuch"], cordond.sock)
        assert r.returncode == 1, r
        assert r.stderr.startswith("cordonctl: no-such-name: no "), r.stderr
    r = run(ctl_bin, ["delete", "override", "192.0.2.0/24"], cordond.sock)
    assert r.returncode == 1 and "no-such-name" in r.stderr, r


@needs_cordond
def test_rollback_zero(ctl_bin, cordond):
    """rollback 0 said 'rollback needs "revision"' (bad-request) though
    the revision was given."""
    r = run(ctl_bin, ["rollback", "0"], cordond.sock)
    assert r.returncode == 1, r
    assert r.stderr.startswith("cordonctl: no-such-revision: rollback 0: "
                               "revisions are numbered from 1"), r.stderr


DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "docs")


def test_docs_are_not_drafts():
    """control.md said "being built (issue 3)" long after it was built,
    prometheus.md "Status: issue 5", and cordonctl.8 was dated 2024 while
    its siblings said 2026."""
    import datetime
    import glob
    for p in glob.glob(os.path.join(DOCS, "*.md")):
        text = open(p).read()
        assert "being built" not in text, p
        assert not text.split("\n", 3)[2].startswith("Status: issue"), p
    dates = {}
    for p in glob.glob(os.path.join(DOCS, "man", "*.[0-9]")):
        dd = [ln for ln in open(p) if ln.startswith(".Dd ")]
        assert dd, p
        dates[p] = datetime.datetime.strptime(dd[0][4:].strip(),
                                              "%B %d, %Y")
    newest = max(dates.values())
    for p, d in dates.items():
        assert (newest - d).days < 366, "%s dated %s" % (p, d.date())


@pytest.mark.parametrize("args,hint", [
    ("shwo status", 'did you mean "show"?'),          # swap
    ("show stauts", 'did you mean "status"?'),        # swap
    ("sesion list", 'did you mean "session"?'),       # one left out
    ("show rulez", 'did you mean "rules"?'),          # one changed
    ("delete rulee r1", 'did you mean "rule"?'),      # one too many
    ("session revoke subb x", 'did you mean "sub"?'),  # a keyword
    ("show config", None),                            # not a typo
    ("xy", None),                                     # too short
    ("frobnicate", None),                             # too far
])
def test_did_you_mean(ctl_bin, daemon, args, hint):
    """A one-edit typo names the word meant; it only listed all."""
    r = run(ctl_bin, args.split(), daemon.path)
    if hint is None:
        assert "did you mean" not in r.stderr, r
        return
    assert r.returncode == 2, r
    assert r.stderr.rstrip("\n").endswith(" - " + hint), r.stderr
    assert daemon.requests == []


@needs_cordond
def test_explain_iface_optional(ctl_bin, cordond):
    """explain's iface is optional as cordonctl(8) says: without it, "in".
    The daemon refused it ('"iface": a port name of the running config')."""
    base = ["-j", "explain", "192.0.2.1", "198.51.100.7", "tcp", "22"]
    r = run(ctl_bin, base, cordond.sock)
    assert r.returncode == 0, r
    r_in = run(ctl_bin, base + ["in"], cordond.sock)
    assert r_in.returncode == 0, r_in
    assert r.stdout == r_in.stdout
    r_out = run(ctl_bin, base + ["out"], cordond.sock)
    assert r_out.returncode == 0, r_out
    # Two words after proto: sport dport (numbers), or dport iface.
    r2 = run(ctl_bin, base[:-1] + ["22", "in"], cordond.sock)
    assert r2.stdout == r_in.stdout, r2


def test_times_iso_and_vlan_untagged(ctl_bin, daemon):
    """Text output showed epoch seconds (revisions, status, alarms) and
    VLAN -1 for an untagged next hop; -j keeps the numbers."""
    data = {"schema": 1, "started": 1795946266, "alarms": [
        {"name": "dataplane-restarted", "since": 1795946267, "detail": "x"}],
        "dataplane": {"alarm_since": 0, "activated": 1795946266},
        "nexthops": [{"name": "nh1", "port": "inside0",
                      "mac": "02:00:00:00:00:01", "vlan": -1},
                     {"name": "nh2", "port": "inside0",
                      "mac": "02:00:00:00:00:02", "vlan": 7}]}
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    r = run(ctl_bin, ["show", "status"], daemon.path)
    assert r.returncode == 0, r
    out = r.stdout
    assert "started: 2026-11-29T09:57:46Z\n" in out, out
    assert "dataplane-restarted  2026-11-29T09:57:47Z  x" in out, out
    assert "alarm_since: -\n" in out and \
        "activated:   2026-11-29T09:57:46Z" in out, out
    assert "inside0  02:00:00:00:00:01  untagged" in out, out
    assert "inside0  02:00:00:00:00:02  7" in out, out
    assert "1795946266" not in out
    j = run(ctl_bin, ["-J", "show", "status"], daemon.path)
    assert '"started":1795946266' in j.stdout and '"vlan":-1' in j.stdout


ROOT = os.path.dirname(DOCS)


def topo_sh(prefix, script):
    import subprocess
    return subprocess.run(
        ["bash", "-c", '. tests/lib/topo.sh; ' + script],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, TOPO_P=prefix))


def netns_list():
    import subprocess
    out = subprocess.run(["ip", "netns", "list"], capture_output=True,
                         text=True).stdout
    return {ln.split()[0] for ln in out.splitlines() if ln.strip()}


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root")
def test_demo_namespaces_are_its_own():
    """make demo used fixed namespace names and topo_up/topo_down killed
    everything in them: a second demo took the first one's down.  Now a
    run names its own (TOPO_P), refuses names in use, and takes down only
    what it made."""
    import subprocess
    a, b = "cta%d" % os.getpid(), "ctb%d" % os.getpid()
    mine = ["%s-%s" % (a, n) for n in ("cli", "srv", "q", "dp")]
    sleeper = None
    try:
        r = topo_sh(a, "topo_up && echo up")
        assert r.stdout.strip() == "up", r
        assert set(mine) <= netns_list()
        sleeper = subprocess.Popen(["ip", "netns", "exec", mine[0],
                                    "sleep", "60"])
        # Another run beside it comes and goes.
        r = topo_sh(b, "topo_up && topo_down && echo done")
        assert r.stdout.strip() == "done", r
        # A run that picks names in use refuses and leaves them.
        r = topo_sh(a, "topo_up || echo refused; topo_down")
        assert "refused" in r.stdout and "exists" in r.stderr, r
        ns = netns_list()
        assert set(mine) <= ns, ns
        assert not any(n.startswith(b + "-") for n in ns), ns
        assert sleeper.poll() is None
    finally:
        if sleeper:
            sleeper.kill()
            sleeper.wait()
        for n in mine:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)
