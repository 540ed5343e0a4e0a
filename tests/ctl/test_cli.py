"""cordonctl against the protocol of docs/control.md section 3.

The CLI is a thin client: these tests hold it to the wire.  A small
server in this file (FakeDaemon) speaks the framing, records every
request and answers with canned replies, so the requests the CLI builds,
its text and JSON output, its exit codes and its handling of broken
replies are checked without cordond.  Tests marked `cordond` run the
real daemon when build/cordond exists.

    CORDONCTL   the binary (default $BUILD/cordonctl, BUILD defaulting to
                build; build-asan/... for the sanitizer run)
    CORDOND     the daemon for the `needs_cordond` tests (default
                $BUILD/cordond; they are skipped when it is missing)
    CORDON_DP   the fast path it starts (default: next to CORDOND)
    CORDON_GOLDEN_UPDATE=1   rewrite the golden files under golden/
"""
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

import cordonrig

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(HERE, "golden")
UPDATE = os.environ.get("CORDON_GOLDEN_UPDATE") == "1"
BUILD = os.environ.get("BUILD", "build")
CTL = os.path.join(ROOT, os.environ.get("CORDONCTL",
                                        os.path.join(BUILD, "cordonctl")))
OK_EMPTY = {"v": 1, "ok": True, "data": {"schema": 1}}


@pytest.fixture(scope="session")
def ctl_bin():
    if not os.access(CTL, os.X_OK):
        pytest.fail("no cordonctl binary at %s (build it, or set "
                    "CORDONCTL)" % CTL)
    return CTL


class FakeDaemon:
    """A stream Unix socket server speaking 4-byte big-endian length +
    JSON.  `reply(request)` gives a dict (sent framed), bytes (sent
    raw), a list of them with pauses (floats, seconds) between, or None
    (say nothing and keep the connection open)."""

    def __init__(self, path, reply=None):
        self.path = path
        self.requests = []
        self.deadlines = []
        self.reply = reply or (lambda req: OK_EMPTY)
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.05)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv(self, conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _handle(self, conn):
        conn.settimeout(5)
        (n,) = struct.unpack(">I", self._recv(conn, 4))
        req = json.loads(self._recv(conn, n).decode(), object_pairs_hook=
                         lambda kv: dict(kv))
        # The deadline differs each run: kept aside, the rest is golden.
        self.deadlines.append(req.pop("deadline_ms", None))
        self.requests.append(req)
        r = self.reply(req)
        if r is None:
            self.stopping.wait(10)
            return
        # A list: its messages in turn, a number there a pause (s).
        for m in r if isinstance(r, list) else [r]:
            if isinstance(m, float):
                time.sleep(m)
                continue
            if not isinstance(m, bytes):
                body = json.dumps(m).encode()
                m = struct.pack(">I", len(body)) + body
            conn.sendall(m)

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                try:
                    self._handle(conn)
                except (EOFError, OSError, ValueError):
                    pass

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def sockdir():
    # Short path: sun_path holds 108 bytes, pytest's tmp_path can be long.
    d = tempfile.mkdtemp(prefix="ctl")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def daemon(sockdir):
    d = FakeDaemon(os.path.join(sockdir, "cordon.sock"))
    yield d
    d.stop()


def run(ctl_bin, args, sock=None, timeout=20, env=None):
    argv = [ctl_bin] + (["-s", sock] if sock else []) + list(args)
    return subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, env=env)


def golden_check(rel, text):
    """Compares TEXT with golden/REL (or writes it under UPDATE)."""
    path = os.path.join(GOLDEN, rel)
    if UPDATE:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return
    if not os.path.exists(path):
        pytest.fail("missing golden %s (run with CORDON_GOLDEN_UPDATE=1 "
                    "and review it)" % path)
    with open(path) as f:
        assert text == f.read(), "differs from golden " + rel


# -- requests ---------------------------------------------------------------

# A compact JWS as a token file holds it (a newline at the end).  Not
# signed by anything: cordonctl only carries it, the daemon verifies.
TOKEN = os.path.join(GOLDEN, "tokens", "alice.jws")

LOAD_FILE = os.path.join(GOLDEN, "load", "site.conf")

REQUESTS = {
    "show-status": "show status",
    "show-counters": "show counters",
    "show-rules": "show rules",
    "show-regions": "show regions",
    "show-services": "show services",
    "show-ports": "show ports",
    "show-nexthops": "show nexthops",
    "show-geo": "show geo",
    "show-revisions": "show revisions",
    "show-audit": "show audit",
    "show-config": "show config",
    "show-candidate": "show candidate",
    "show-captures": "show captures",
    "lookup": "lookup 2001:db8::1",
    "explain-4": "explain 203.0.113.9 198.51.100.7 tcp 22",
    "explain-5-sport": "explain 203.0.113.9 198.51.100.7 tcp 40000 22",
    "explain-5-iface": "explain 203.0.113.9 198.51.100.7 tcp 22 outside0",
    "explain-6": "explain 203.0.113.9 198.51.100.7 udp 5000 161 inside0",
    "explain-icmp": "explain 203.0.113.9 198.51.100.7 icmp",
    "explain-keywords": "explain src 203.0.113.9 dst 198.51.100.7 proto tcp "
                        "dport 22 iface outside0",
    "explain-keywords-reordered": "explain iface outside0 dport 22 proto tcp "
                                  "sport 1234 dst 198.51.100.7 "
                                  "src 203.0.113.9",
    "set-rule-full": "set rule mgmt position 1 src prohibited,unknown dst any "
                     "services ssh,rdp proto tcp,udp ports 22,80-90 "
                     "direction in action drop log yes",
    "set-rule-reroute": "set rule scrub src prohibited action reroute "
                        "nexthop scrubber log no",
    "set-rule-minimal": "set rule allow-all action allow",
    "set-rule-dst-via": "set rule to-cn dst_via CN,unknown services ssh "
                        "direction out action drop",
    "explain-layer-dst": "explain 192.0.2.9 192.0.2.33 tcp 22 out "
                         "via gre:192.0.2.8 layer-dst 198.51.100.7",
    "set-rule-evidence": "set rule cn-ssh src CN services ssh action drop "
                         "evidence yes",
    "set-region": "set region prohibited CN,RU,unknown",
    "set-service": "set service winrm proto tcp ports 5985-5986",
    "set-service-both": "set service rdp proto tcp,udp ports 3389",
    "set-override": "set override 203.0.113.0/24 CN",
    "set-override-unknown": "set override 2001:db8:1::/48 unknown",
    "set-nexthop": "set nexthop scrubber port scrub0 mac 02:00:00:00:00:99 "
                   "vlan 100",
    "set-nexthop-novlan": "set nexthop q port scrub0 mac 02:00:00:00:00:98",
    "set-nexthop-kernel": "set nexthop q port out0 address 10.30.0.2 "
                          "address6 fd00:30::2 table 55 fwmark 119",
    "set-default": "set default action drop log yes",
    "delete-rule": "delete rule mgmt",
    "delete-region": "delete region lab",
    "delete-service": "delete service winrm",
    "delete-override": "delete override 203.0.113.0/24",
    "delete-nexthop": "delete nexthop scrubber",
    "delete-default": "delete default",
    "compare": "compare",
    "commit": "commit",
    "commit-check": "commit check",
    "commit-confirmed": ["commit", "confirmed", "5", "comment",
                         "ssh from US, for now"],
    "commit-confirmed-default": "commit confirmed comment x",
    "commit-confirmed-last": "commit check confirmed",
    "confirm": "confirm",
    "rollback": "rollback 3",
    "rollback-commit": "rollback 3 commit",
    "discard": "discard",
    "update": "update",
    "geo-reload": "geo reload",
    "audit-verify": "audit verify",
    "rename-rule": "rename rule ru-rdp-drop to ru-rdp-deny",
    "clear-counters": "clear counters",
    "clear-counters-rule": "clear counters rule ru-rdp-drop",
    "session-add": ["session", "add", "--token", TOKEN, "--src",
                    "203.0.113.9"],
    "session-add-full": ["session", "add", "token", TOKEN, "src",
                         "203.0.113.9", "service", "ssh", "ttl", "600"],
    "session-add-reordered": ["session", "add", "--ttl", "60", "--src",
                              "2001:db8::7", "--service", "rdp", "--token",
                              TOKEN],
    "session-list": "session list",
    "show-sessions": "show sessions",
    "session-revoke-id": "session revoke id 7",
    "session-revoke-sub": "session revoke sub alice@corp.example",
    "session-revoke-jti": "session revoke jti 7f3c9a1e",
    "session-revoke-src": "session revoke src 2001:db8::7",
    "explain-token": ["explain", "203.0.113.9", "198.51.100.7", "tcp", "22",
                      "--token", TOKEN],
    "show-top": "show top",
    "show-top-filtered": "show top rule cn-ssh-reject country CN limit 5",
    "explain-token-keywords": ["explain", "token", TOKEN, "src",
                               "203.0.113.9", "dst", "198.51.100.7",
                               "proto", "tcp", "sport", "40000", "dport",
                               "22", "iface", "outside0"],
    "show-alarms": "show alarms",
    "alarm-ack": "alarm ack dataplane-restarted",
    "alarm-ack-all": "alarm ack all",
    "alarm-clear": "alarm clear dataplane-restarted",
    "monitor": "monitor",
    "monitor-filters": "monitor deny rule cn-ssh src 198.51.100.0/24",
    "show-config-revision": "show config 3",
    "compare-rollback": "compare rollback 3",
    "compare-revisions": "compare 3 5",
    "load-override": ["load", "override", LOAD_FILE],
    "load-merge": ["load", "merge", LOAD_FILE],
}


def argv_of(spec):
    return spec.split() if isinstance(spec, str) else spec


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request(ctl_bin, daemon, name):
    r = run(ctl_bin, argv_of(REQUESTS[name]), daemon.path)
    # A monitor ends when the daemon closes its stream: exit 3.
    assert r.returncode == (3 if name.startswith("monitor") else 0), \
        r.stderr
    assert len(daemon.requests) == 1
    # load names its file absolute: relative to the tree in the golden.
    args = daemon.requests[0].get("args", {})
    if "file" in args:
        args["file"] = os.path.relpath(args["file"], ROOT)
    # Key order too: one command line always gives one request text.
    golden_check("requests/%s.json" % name,
                 json.dumps(daemon.requests[0], indent=2) + "\n")


def test_every_command_has_a_request_golden(ctl_bin):
    """Each command of the table (from -h) appears in REQUESTS."""
    usage = run(ctl_bin, ["-h"]).stdout
    cmds = usage.split("commands")[1].split("exit status")[0]
    covered = {" ".join(argv_of(s)[:2]) for s in REQUESTS.values()} | \
        {argv_of(s)[0] for s in REQUESTS.values()}
    for line in cmds.splitlines()[1:]:
        if not line.startswith("  ") or line.startswith("      "):
            continue
        words = [w for w in line.split()[:2] if w.islower()]
        assert " ".join(words) in covered or words[0] in covered, line


def test_prefixes(ctl_bin, daemon):
    for args, want in [
            ("sh st", {"cmd": "status"}),
            ("sh ru", {"cmd": "show", "args": {"what": "rules"}}),
            ("comm ch", {"cmd": "commit", "args": {"check": True}}),
            ("conf", {"cmd": "confirm"}),
            ("del ov 10.0.0.0/8", {"cmd": "delete"}),
            ("set ru r1 act dr l y", {"cmd": "set", "args": {
                "kind": "rule", "name": "r1",
                "attrs": {"action": "drop", "log": True}}}),
            ("set ru r1 a rer n nh", {"cmd": "set", "args": {
                "kind": "rule", "name": "r1",
                "attrs": {"action": "reroute", "nexthop": "nh"}}}),
            ("set ru r1 pr u,ic ac al dir o", {"cmd": "set", "args": {
                "kind": "rule", "name": "r1",
                "attrs": {"proto": ["udp", "icmp"], "direction": "out",
                          "action": "allow"}}}),
            ("g r", {"cmd": "geo-reload"}),
            ("au v", {"cmd": "audit-verify"}),
            ("al a all", {"cmd": "alarm-ack"})]:
        daemon.requests.clear()
        r = run(ctl_bin, args.split(), daemon.path)
        assert r.returncode == 0, (args, r.stderr)
        req = daemon.requests[0]
        for k, v in want.items():
            if k == "args":
                for ak, av in v.items():
                    assert req["args"][ak] == av, args
            else:
                assert req[k] == v, args


def test_name_that_looks_like_a_keyword(ctl_bin, daemon):
    """NAME comes first: a rule may be called "src" or "action"."""
    r = run(ctl_bin, "set rule src src any action allow".split(),
            daemon.path)
    assert r.returncode == 0, r.stderr
    assert daemon.requests[0]["args"]["name"] == "src"
    assert daemon.requests[0]["args"]["attrs"]["src"] == ["any"]


@pytest.mark.parametrize("args,msg", [
    ("s", 'ambiguous "s" (matches: show, set, session)'),
    ("se", 'ambiguous "se" (matches: set, session)'),
    ("sh se", 'ambiguous "se" (matches: services, sessions)'),
    ("sh co", 'ambiguous "co" (matches: counters, config)'),
    ("co", 'ambiguous "co" (matches: compare, commit, confirm)'),
    ("com", 'ambiguous "com" (matches: compare, commit)'),
    ("set rule r1 action r", 'action: ambiguous "r" (valid: allow, drop, '
                             'reject, reroute)'),
    ("set rule r1 d any action drop", 'ambiguous "d" after "rule" '
                                      '(matches: dst, dst_via, direction)'),
    ("frobnicate", 'unknown command "frobnicate" (valid: show, lookup, '),
    ("show frob", 'unknown command "frob" (valid: status, counters, '),
    ("show", "incomplete command (valid next: status, counters, rules"),
    ("set", "incomplete command (valid next: rule, region, service, "
            "override, nexthop, default)"),
    ("set rule r1", 'missing "action ACTION"'),
    ("set rule", "missing NAME"),
    ("set rule r1 action", '"action" needs a value (ACTION)'),
    ("set rule r1 action drop action allow", '"action" given twice'),
    ("set rule r1 action drop log maybe", 'log: "maybe" is not yes or no'),
    ("set rule r1 action drop position x", 'position: "x" is not an '
                                           'integer'),
    ("set rule r1 action drop ports 22,,23", 'ports: bad list "22,,23"'),
    ("set rule r1 action drop proto tcp,sctp", 'proto: unknown "sctp"'),
    ("set region r", "missing CC,CC"),
    ("set service s proto icmp ports 1", 'proto: unknown "icmp" (valid: '
                                         'tcp, udp)'),
    ("set default action reroute", 'action: unknown "reroute"'),
    ("rollback latest", 'N: "latest" is not an integer'),
    ("commit confirmed x", 'unexpected "x" after "commit"'),
    ("commit confirmed 5 confirmed", '"confirmed" given twice'),
    ("commit now", 'unexpected "now" after "commit" (valid: check, '
                   'confirmed, comment)'),
    ("confirm 3", 'unexpected "3" after "confirm" (valid: nothing more)'),
    ("explain 1.2.3.4", 'missing "dst ADDR"'),
    ("explain 1.2.3.4 5.6.7.8 tcp 1 2 x y", 'unexpected "y" after '
                                            '"explain"'),
    ("explain 1.2.3.4 5.6.7.8 tcp dport http", 'dport: "http" is not an '
                                               'integer'),
    ("explain 1.2.3.4 5.6.7.8 tcp 22 token", '"token" needs a value '
                                             '(FILE)'),
    ("session", "incomplete command (valid next: add, list, revoke)"),
    ("session add", 'missing "token FILE"'),
    ("session add --src 192.0.2.1", 'missing "token FILE"'),
    ("session add --token /nonexistent", 'missing "src ADDR"'),
    ("session add --token", '"token" needs a value (FILE)'),
    ("session add --tok %s --src 192.0.2.1 --ttl soon" % TOKEN,
     'ttl: "soon" is not an integer'),
    ("session add --token /x --src a --src b", '"src" given twice'),
    ("session add --t /x", 'unexpected "--t" after "add"'),
    ("session add --frob 1", 'unexpected "--frob" after "add" (valid: '
                             'token, src, service, ttl)'),
    ("session list all", 'unexpected "all" after "list" (valid: nothing '
                         'more)'),
    ("session revoke", "give one of id, sub, jti, src"),
    ("session revoke id 1 sub alice", '"sub": only one of id, sub, jti, '
                                      'src may be given'),
    ("session revoke src 192.0.2.1 src 192.0.2.2", '"src" given twice'),
    ("session revoke id seven", 'id: "seven" is not an integer'),
    ("session revoke id", '"id" needs a value (N)'),
    ("session revoke s x", 'ambiguous "s" after "revoke" (matches: sub, '
                           'src)'),
    ("session revoke 7", 'unexpected "7" after "revoke"'),
])
def test_usage_errors(ctl_bin, daemon, args, msg):
    r = run(ctl_bin, args.split(), daemon.path)
    assert r.returncode == 2, r
    assert r.stderr.startswith("cordonctl: "), r.stderr
    assert msg in r.stderr
    assert daemon.requests == []


def test_options(ctl_bin, daemon):
    assert run(ctl_bin, []).returncode == 2
    assert run(ctl_bin, ["-x", "show", "status"]).returncode == 2
    for bad in ["0", "-1", "x", "1e9"]:
        r = run(ctl_bin, ["-t", bad, "show", "status"])
        assert r.returncode == 2 and "-t: bad timeout" in r.stderr
    r = run(ctl_bin, ["-V"])
    assert r.returncode == 0 and r.stdout.startswith("cordonctl ")
    h = run(ctl_bin, ["-h"])
    assert h.returncode == 0
    for line in ["0 success", "1 cordond refused", "2 usage error",
                 "3 cordond cannot be reached", "4 commit refused as stale",
                 "5 the candidate is invalid", "6 the token was refused",
                 "7 the session table is full"]:
        assert line in h.stdout
    assert daemon.requests == []


# -- help and completion ----------------------------------------------------

def help_words(out):
    return [ln.split()[0] for ln in out.splitlines() if ln.strip()]


@pytest.mark.parametrize("args,want", [
    ("?", ["show", "lookup", "explain", "set", "delete", "compare",
           "commit", "confirm", "rollback", "discard", "update", "geo",
           "audit", "session", "alarm", "monitor", "load", "rename", "clear"]),
    ("help", ["show", "lookup", "explain", "set", "delete", "compare",
              "commit", "confirm", "rollback", "discard", "update", "geo",
           "audit", "session", "alarm", "monitor", "load", "rename", "clear"]),
    ("show ?", ["status", "counters", "rules", "regions", "services",
                "ports", "nexthops", "geo", "revisions", "audit", "config",
                "candidate", "logging", "captures", "sessions",
                "alarms", "top"]),
    ("sh help", ["status", "counters", "rules", "regions", "services",
                 "ports", "nexthops", "geo", "revisions", "audit",
                 "config", "candidate", "logging", "captures", "sessions",
                 "alarms", "top"]),
    ("set ?", ["rule", "region", "service", "override", "nexthop",
               "default"]),
    ("set rule ?", ["NAME"]),
    ("set rule r1 ?", ["position", "src", "dst", "origin", "via", "dst_via",
                       "tunnel", "services", "proto", "ports", "direction", "action",
                       "nexthop", "log", "evidence"]),
    ("set rule r1 action drop src any ?", ["position", "dst", "origin",
                                           "via", "dst_via", "tunnel",
                                           "services",
                                           "proto", "ports", "direction",
                                           "nexthop", "log", "evidence",
                                           "<cr>"]),
    ("set rule r1 action ?", ["allow", "drop", "reject", "reroute"]),
    ("set rule r1 log ?", ["yes", "no"]),
    ("set rule r1 proto ?", ["tcp", "udp", "icmp", "other", "any", "A,B"]),
    ("commit ?", ["check", "confirmed", "comment", "<cr>"]),
    ("commit confirmed ?", ["[MINUTES]", "check", "comment", "<cr>"]),
    ("explain ?", ["src", "dst", "proto", "sport", "dport", "iface",
                   "token", "fragment", "via", "layer-dst", "reported",
                   "ADDR"]),
    ("explain 1.2.3.4 5.6.7.8 tcp 22 fragment ?", ["first", "later"]),
    ("explain 1.2.3.4 5.6.7.8 tcp 22 token ?", ["FILE"]),
    ("geo ?", ["reload"]),
    ("confirm ?", ["<cr>"]),
    ("session ?", ["add", "list", "revoke"]),
    ("ses help", ["add", "list", "revoke"]),
    ("session add ?", ["token", "src", "service", "ttl"]),
    ("session add --token ?", ["FILE"]),
    ("session add token /x src 192.0.2.1 ?", ["service", "ttl", "<cr>"]),
    ("session list ?", ["<cr>"]),
    ("session revoke ?", ["id", "sub", "jti", "src"]),
    ("session revoke jti ?", ["J"]),
    ("session revoke jti x ?", ["<cr>"]),
    ("monitor ?", ["deny", "rule", "src", "<cr>"]),
])
def test_help(ctl_bin, daemon, args, want):
    r = run(ctl_bin, args.split(), daemon.path)
    assert r.returncode == 0, r.stderr
    assert help_words(r.stdout) == want
    assert daemon.requests == []


def test_help_text(ctl_bin):
    r = run(ctl_bin, ["set", "rule", "r1", "?"])
    golden_check("help/set-rule.txt", r.stdout)
    r = run(ctl_bin, ["?"])
    golden_check("help/top.txt", r.stdout)


@pytest.mark.parametrize("words,want", [
    ([""], ["show", "lookup", "explain", "set", "delete", "compare",
            "commit", "confirm", "rollback", "discard", "update", "geo",
           "audit", "session", "alarm", "monitor", "load", "rename", "clear"]),
    (["co"], ["compare", "commit", "confirm"]),
    (["sh", ""], ["status", "counters", "rules", "regions", "services",
                  "ports", "nexthops", "geo", "revisions", "audit",
                  "config", "candidate", "logging", "captures", "sessions",
                  "alarms", "top"]),
    (["s"], ["show", "set", "session"]),
    (["show", "se"], ["services", "sessions"]),
    (["session", ""], ["add", "list", "revoke"]),
    (["ses", "add", ""], ["token", "src", "service", "ttl"]),
    (["session", "add", "--"], ["--token", "--src", "--service", "--ttl"]),
    (["session", "add", "--t"], ["--token", "--ttl"]),
    (["session", "add", "--token", "/x", "--s"], ["--src", "--service"]),
    (["session", "add", "--token", ""], []),
    (["session", "revoke", ""], ["id", "sub", "jti", "src"]),
    (["session", "revoke", "id", "3", ""], []),
    (["session", "revoke", "id", "3", "--"], []),
    (["explain", "t"], ["token"]),
    (["show", "re"], ["regions", "revisions"]),
    (["show", "status", ""], []),
    (["set", "rule", ""], []),
    (["set", "rule", "r1", "a"], ["action"]),
    (["set", "rule", "r1", "action", "drop", "l"], ["log"]),
    (["set", "rule", "r1", "action", "re"], ["reject", "reroute"]),
    (["set", "rule", "r1", "log", ""], ["yes", "no"]),
    (["set", "rule", "r1", "proto", "tcp,u"], ["tcp,udp"]),
    (["set", "rule", "r1", "src", ""], []),
    (["commit", "check", ""], ["confirmed", "comment"]),
    (["commit", "confirmed", ""], ["check", "comment"]),
    (["frob", ""], []),
    (["explain", "s"], ["src", "sport"]),
])
def test_complete(ctl_bin, words, want):
    r = run(ctl_bin, ["__complete"] + words)
    assert r.returncode == 0
    assert r.stdout.split() == want


def bash_complete(ctl_bin, line):
    """COMPREPLY of appliance/bash-completion/cordonctl for LINE (the
    cursor at its end)."""
    return cordonrig.bash_complete(line)


def test_bash_completion(ctl_bin):
    assert bash_complete(ctl_bin, [ctl_bin, "sh"]) == ["show"]
    assert bash_complete(ctl_bin, [ctl_bin, "-j", "show", "st"]) == \
        ["status"]
    assert bash_complete(ctl_bin, [ctl_bin, "-s", "/x.sock", "-t", "3",
                                   "set", "rule", "r", "act"]) == ["action"]
    assert "-j" in bash_complete(ctl_bin, [ctl_bin, "-"])
    assert bash_complete(ctl_bin, [ctl_bin, "set", "default", "action",
                                   ""]) == ["allow", "drop", "reject"]
    assert bash_complete(ctl_bin, [ctl_bin, "sess"]) == ["session"]
    assert bash_complete(ctl_bin, [ctl_bin, "-j", "session", "l"]) == \
        ["list"]
    assert bash_complete(ctl_bin, [ctl_bin, "session", "add", "--to"]) == \
        ["--token"]
    assert bash_complete(ctl_bin, [ctl_bin, "session", "revoke", "j"]) == \
        ["jti"]


# -- rendering ----------------------------------------------------------------

# Replies recorded from cordond (temp paths replaced), one per command.
RENDER = {
    "status": "show status",
    "counters": "show counters",
    "rules": "show rules",
    "rules-identity": "show rules",
    "regions": "show regions",
    "services": "show services",
    "ports": "show ports",
    "nexthops": "show nexthops",
    "geo": "show geo",
    "revisions": "show revisions",
    "audit": "show audit",
    "config": "show config",
    "candidate": "show candidate",
    "captures": "show captures",
    "lookup": "lookup 203.0.113.9",
    "explain": "explain 203.0.113.9 198.51.100.200 tcp 22 outside0",
    "set": "set region partners DE,NL",
    "compare": "compare",
    "commit-check": "commit check",
    "commit": "commit confirmed 5",
    "confirm": "confirm",
    "rollback": "rollback 1 commit",
    "rollback-candidate": "rollback 1",
    "discard": "discard",
    "update": "update",
    "geo-reload": "geo reload",
    "audit-verify": "audit verify",
    "alarms": "show alarms",
    "config-revision": "show config 1",
    "compare-revisions": "compare 1 2",
    "load-merge": "load merge " + LOAD_FILE,
    "clear-counters": "clear counters rule ru-rdp-drop",
    "top": "show top",
}


def load_reply(name):
    with open(os.path.join(GOLDEN, "replies", name + ".json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", sorted(RENDER))
def test_render(ctl_bin, daemon, name):
    data = load_reply(name)
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    args = RENDER[name].split()
    text = run(ctl_bin, args, daemon.path)
    assert text.returncode == 0, text.stderr
    golden_check("render/%s.txt" % name, text.stdout)
    assert "schema" not in text.stdout
    pretty = run(ctl_bin, ["-j"] + args, daemon.path)
    assert pretty.returncode == 0
    golden_check("render/%s.json" % name, pretty.stdout)
    # -j is the daemon's data, schema and key order as sent.
    assert pretty.stdout == json.dumps(data, indent=2) + "\n"
    compact = run(ctl_bin, ["-J"] + args, daemon.path)
    assert compact.stdout == json.dumps(data, separators=(",", ":")) + "\n"


def test_render_multiline_alone_is_raw(ctl_bin, daemon):
    diff = load_reply("compare")["diff"]
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
        "schema": 1, "diff": diff}}
    assert run(ctl_bin, ["compare"], daemon.path).stdout == diff


def test_render_odd_shapes(ctl_bin, daemon):
    for data, want in [
            (None, ""),
            ({"schema": 1}, ""),
            ({"schema": 1, "n": 1.5, "s": "", "l": [], "o": {}},
             "n: 1.5\ns: -\nl: -\no:\n"),
            ([1, "a", True], "1\na\nyes\n"),
            ({"rows": [{"a": 1}, {"b": "x", "a": 22}], "x": 1},
             "rows:\n   A  B\n   1  -\n  22  x\nx: 1\n"),
            ({"mixed": [{"a": {"deep": 1}}, "s"]}, "a:\n  deep: 1\ns\n"),
            ({"mixed": [{"a": {"deep": 1}}, {"b": 2}], "n": 0},
             "mixed:\n  a:\n    deep: 1\n\n  b: 2\nn: 0\n")]:
        daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
        r = run(ctl_bin, ["show", "status"], daemon.path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == want, data


# -- errors and the wire ----------------------------------------------------

@pytest.mark.parametrize("code,rc", [
    ("bad-request", 1), ("unknown-command", 1), ("denied", 1),
    ("invalid", 5), ("stale", 4), ("no-candidate", 1),
    ("no-such-revision", 1), ("no-pending-confirm", 1), ("dataplane", 1),
    ("geo", 1), ("internal", 1), ("some-future-code", 1)])
def test_error_codes(ctl_bin, daemon, code, rc):
    msg = "candidate:12: rule \"x\": unknown region" if code == "invalid" \
        else "something about " + code
    daemon.reply = lambda req: {"v": 1, "ok": False, "error": {
        "code": code, "message": msg}}
    for j in ([], ["-j"]):
        r = run(ctl_bin, j + ["commit"], daemon.path)
        assert r.returncode == rc
        assert r.stderr == "cordonctl: %s: %s\n" % (code, msg)
        assert r.stdout == ""


@pytest.mark.parametrize("intact,rc", [(True, 0), (False, 8)])
def test_audit_verify_exit_status(ctl_bin, daemon, intact, rc):
    """A broken chain is an answer, not a refusal, but must fail a script:
    exit 8 (it was 0), in text and JSON output alike."""
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
        "schema": 1, "intact": intact, "checked": 5,
        "first_bad": None if intact else 3, "message": "m"}}
    for j in ([], ["-j"]):
        r = run(ctl_bin, j + ["audit", "verify"], daemon.path)
        assert r.returncode == rc, r
        assert "first_bad" in r.stdout and r.stderr == ""


def test_audit_verify_warnings(ctl_bin, daemon):
    """Wall time going backwards (issue 11): each warning on a line of its
    own, "-" when there is none.  They came out comma-joined on one line,
    and a warning holds commas itself."""
    warns = ["record 5: wall time goes back 7200 s from record 4, x",
             "record 9: wall time goes back 3 s from record 8"]
    for w, want in [(warns, "warnings:\n  1. %s\n  2. %s\n" % tuple(warns)),
                    ([], "warnings:  -\n")]:
        daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
            "schema": 1, "intact": True, "checked": 9, "first_bad": None,
            "message": "audit log intact", "warnings": w}}
        r = run(ctl_bin, ["audit", "verify"], daemon.path)
        assert r.returncode == 0, r
        assert r.stdout.endswith("message:   audit log intact\n" + want), \
            r.stdout


def test_unreachable(ctl_bin, sockdir):
    path = os.path.join(sockdir, "none.sock")
    r = run(ctl_bin, ["show", "status"], path)
    assert r.returncode == 3
    assert "cannot reach cordond at %s" % path in r.stderr
    # A socket file nobody listens on: ECONNREFUSED.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    r = run(ctl_bin, ["commit"], path)
    assert r.returncode == 3 and "Connection refused" in r.stderr


def frame(body):
    return struct.pack(">I", len(body)) + body


@pytest.mark.parametrize("raw,msg", [
    (frame(b"{not json"), "malformed reply"),
    (frame(b"[1,2]"), "malformed reply"),
    (frame(b'{"v":2,"ok":true,"data":{}}'), "not a v1 reply"),
    (frame(b'{"v":1,"data":{}}'), "not a v1 reply"),
    (frame(b'{"v":1,"ok":false,"error":{"message":"x"}}'),
     "error without code"),
    (frame(b'{"v":1,"ok":true,"ok":true}'), "duplicate"),
    (struct.pack(">I", (64 << 20) + 1), "reply too large (67108865 bytes"),
    (struct.pack(">I", 0xffffffff), "reply too large"),
    (struct.pack(">I", 100) + b'{"v":1', "truncated"),
    (b"\x00\x00", "connection closed"),
    (b"", "connection closed"),
])
def test_bad_replies(ctl_bin, daemon, raw, msg):
    daemon.reply = lambda req: raw
    r = run(ctl_bin, ["show", "status"], daemon.path)
    assert r.returncode == 3, r
    assert msg in r.stderr
    assert r.stdout == ""


def test_large_reply(ctl_bin, daemon):
    """Replies of many MiB arrive in many reads; 64 MiB is the limit."""
    big = "x" * (8 << 20)
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
        "schema": 1, "text": big + "\n", "more": 1}}
    r = run(ctl_bin, ["show", "candidate"], daemon.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "more: 1\ntext:\n" + big + "\n" or \
        r.stdout == "text:\n" + big + "\nmore: 1\n"


def test_timeout(ctl_bin, daemon):
    daemon.reply = lambda req: None
    t0 = time.monotonic()
    r = run(ctl_bin, ["-t", "0.5", "show", "status"], daemon.path)
    assert r.returncode == 3
    assert "timed out" in r.stderr
    assert time.monotonic() - t0 < 5


START = {"v": 1, "started": True}


def test_deadline_sent(ctl_bin, daemon):
    """Every request carries the client's deadline: CLOCK_MONOTONIC
    milliseconds, now + -t."""
    t0 = time.clock_gettime(time.CLOCK_MONOTONIC)
    r = run(ctl_bin, ["-t", "7", "show", "status"], daemon.path)
    t1 = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert r.returncode == 0, r
    assert (t0 + 7) * 1000 - 1 <= daemon.deadlines[0] <= (t1 + 7) * 1000


def test_timeout_before_start_changed_nothing(ctl_bin, daemon):
    daemon.reply = lambda req: None
    r = run(ctl_bin, ["-t", "0.3", "commit"], daemon.path)
    assert r.returncode == 3, r
    assert "had not started the request, nothing was changed" in r.stderr


def test_start_notice_extends_the_wait(ctl_bin, daemon):
    """Once cordond said it started the change, the answer is awaited
    past -t: a timeout now would not say whether it was made."""
    daemon.reply = lambda req: [START, 1.0, OK_EMPTY]
    t0 = time.monotonic()
    r = run(ctl_bin, ["-t", "0.3", "commit"], daemon.path)
    assert r.returncode == 0, r
    assert time.monotonic() - t0 >= 0.9


def test_start_notice_then_silence_is_unknown(ctl_bin, daemon):
    """Started, then the connection went: exit 9, said so."""
    daemon.reply = lambda req: [START]
    r = run(ctl_bin, ["-t", "5", "commit"], daemon.path)
    assert r.returncode == 9, r
    assert "may or may not have been made" in r.stderr


def test_deadline_passed_code(ctl_bin, daemon):
    daemon.reply = lambda req: {"v": 1, "ok": False, "error": {
        "code": "deadline-passed", "message": "not started"}}
    assert run(ctl_bin, ["commit"], daemon.path).returncode == 3


def nobody_copy(d, path):
    """PATH copied into D, readable (and, for a program, runnable) by
    every user: the checkout may sit in a home folder that uid 65534
    cannot enter (Debian creates them 0700)."""
    dst = os.path.join(d, os.path.basename(path))
    if not os.path.exists(dst):
        shutil.copyfile(path, dst)
        os.chmod(dst, 0o755 if os.access(path, os.X_OK) else 0o644)
    return dst


def run_as_nobody(d, cmd):
    """Runs CMD as uid/gid 65534 (when we are root) from the folder D
    (sockdir: outside the checkout, 0755), its program copied there."""
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("needs setpriv to drop root for an EACCES test")
        cmd = ["setpriv", "--reuid=65534", "--regid=65534",
               "--clear-groups", nobody_copy(d, cmd[0])] + cmd[1:]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                          cwd=d)


def test_ro_fallback(ctl_bin, sockdir):
    """The read-only socket is used when the read-write one is not ours,
    only for the commands it serves."""
    rw = FakeDaemon(os.path.join(sockdir, "cordon.sock"))
    ro = FakeDaemon(os.path.join(sockdir, "cordon-ro.sock"))
    try:
        os.chmod(rw.path, 0o600)
        os.chmod(ro.path, 0o666)
        if os.geteuid() != 0 and os.access(rw.path, os.W_OK):
            pytest.skip("cannot make the socket inaccessible")
        for args in (["show", "status"], ["lookup", "192.0.2.1"],
                     ["explain", "192.0.2.1", "198.51.100.1", "icmp"],
                     ["audit", "verify"]):
            r = run_as_nobody(sockdir, [ctl_bin, "-s", rw.path] + args)
            assert r.returncode == 0, r.stderr
        assert [q["cmd"] for q in ro.requests] == [
            "status", "lookup", "explain", "audit-verify"]
        for args in (["commit"], ["set", "region", "r", "CN"],
                     ["geo", "reload"]):
            r = run_as_nobody(sockdir, [ctl_bin, "-s", rw.path] + args)
            assert r.returncode == 3
            assert "Permission denied" in r.stderr
        assert rw.requests == [] and len(ro.requests) == 4
    finally:
        rw.stop()
        ro.stop()


# -- the manual page --------------------------------------------------------

MAN = os.path.join(ROOT, "docs", "man", "cordonctl.8")


def test_man_lint():
    if not shutil.which("mandoc"):
        pytest.skip("mandoc is not installed")
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", MAN],
                       capture_output=True, text=True)
    assert r.stdout + r.stderr == ""


def test_man_covers_the_table(ctl_bin):
    """Every command, option and exit status of -h is in the manual."""
    r = subprocess.run(["mandoc", "-T", "utf8", MAN], capture_output=True,
                       text=True) if shutil.which("mandoc") else None
    if r is None:
        pytest.skip("mandoc is not installed")
    man = " ".join(re.sub(".\b", "", r.stdout).split())
    usage = run(ctl_bin, ["-h"]).stdout
    cmds = usage.split("commands")[1].split("exit status")[0]
    for line in cmds.splitlines()[1:]:
        if line.startswith("  ") and not line.startswith("      "):
            words = " ".join(w for w in line.split()[:2] if w.islower())
            assert words in man, words
    for opt in ["-s", "-j", "-J", "-t", "-h", "-V"]:
        assert opt in man
    for st in ["stale", "invalid", "Usage error", "cannot be reached",
               "token-refused", "session-table-full", "CORDONCTL_NOW"]:
        assert st in man
    for code in range(8):
        assert re.search(r"EXIT STATUS.* %d [A-Z]" % code, man), code


# -- the real daemon ----------------------------------------------------------

CORDOND = os.path.join(ROOT, os.environ.get("CORDOND",
                                            os.path.join(BUILD, "cordond")))
CORDON_DP = os.environ.get("CORDON_DP") or os.path.join(
    os.path.dirname(CORDOND), "cordon-dp")
needs_cordond = pytest.mark.skipif(
    not os.access(CORDOND, os.X_OK),
    reason="no cordond binary at %s (not built yet)" % CORDOND)


CORDOND_CONF = """
control: {
    socket = "%(d)s/cordon.sock";
    ro_socket = "%(d)s/cordon-ro.sock";
    state_dir = "%(d)s/state";
    dp_socket = "%(d)s/dp.sock";
    dp_binary = "%(dp)s";
};
geo: { databases = ( { file = "%(geo)s"; } ); };
regions: { watched = [ "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
    { name = "mgmt"; src = [ "watched", "unknown" ]; services = [ "ssh" ];
      direction = "in"; action = "drop"; log = true; }
);
default = { action = "allow"; };
dataplane: {
    ports = (
        { name = "outside0"; device = "net_null0"; devargs = "net_null0";
          role = "outside"; peer = "inside0"; },
        { name = "inside0"; device = "net_null1"; devargs = "net_null1";
          role = "inside"; peer = "outside0"; }
    );
    eal = [ "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l",
            "0-1", "--log-level", "lib.eal:error" ];
    workers = 1;
    mbufs = 4096;
};
"""


def mmdb_dir(tmp):
    d = os.environ.get("CORDON_FIXTURES")
    if d and os.path.exists(os.path.join(d, "country.mmdb")):
        return d
    subprocess.run(["perl", os.path.join(ROOT, "tests/fixtures/mkmmdb.pl"),
                    tmp], check=True, capture_output=True)
    return tmp


class Cordond:
    """The real cordond (and the cordon-dp it starts on net_null ports)
    with its sockets and state in a temp folder."""

    def __init__(self, tmp, ctl_bin, extra="", first_rule=""):
        self.tmp = tmp
        self.ctl = ctl_bin
        self.extra = extra  # more configuration, appended
        self.first_rule = first_rule  # a rule before "mgmt"
        self.sock = os.path.join(tmp, "cordon.sock")
        self.conf = os.path.join(tmp, "cordon.conf")
        self.logpath = os.path.join(tmp, "cordond.log")
        self.proc = None
        self.dp_pid = 0

    def status(self):
        r = run(self.ctl, ["-j", "-t", "5", "show", "status"], self.sock)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def log(self):
        with open(self.logpath) as f:
            return f.read()[-3000:]

    def start(self):
        with open(self.conf, "w") as f:
            f.write((CORDOND_CONF % {
                "d": self.tmp, "dp": os.path.abspath(CORDON_DP),
                "geo": os.path.join(mmdb_dir(self.tmp), "country.mmdb")})
                .replace("rules = (\n", "rules = (\n" + self.first_rule, 1))
            f.write(self.extra)
        log = open(self.logpath, "w")
        self.proc = subprocess.Popen([CORDOND, "-f", self.conf, "-d"],
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cordond exited %d:\n%s" %
                                   (self.proc.returncode, self.log()))
            st = self.status() if os.path.exists(self.sock) else None
            if st:
                self.dp_pid = st["dataplane"]["pid"] or self.dp_pid
                if st["dataplane"]["state"] == "up":
                    return
            time.sleep(0.2)
        raise RuntimeError("cordond: dataplane not up within 60 s:\n" +
                           self.log())

    def stop(self):
        st = self.status() if self.proc and self.proc.poll() is None \
            else None
        if st and st["dataplane"]["pid"]:
            self.dp_pid = st["dataplane"]["pid"]
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        # cordon-dp has its own session and outlives cordond by design.
        if self.dp_pid > 0:
            try:
                os.kill(self.dp_pid, 2)
                for _ in range(100):
                    os.kill(self.dp_pid, 0)
                    time.sleep(0.1)
                os.kill(self.dp_pid, 9)
            except ProcessLookupError:
                pass


@pytest.fixture
def cordond(ctl_bin, sockdir):
    d = Cordond(sockdir, ctl_bin)
    try:
        d.start()
    except RuntimeError as e:
        d.stop()
        pytest.fail(str(e))
    yield d
    d.stop()


@needs_cordond
def test_real_status(ctl_bin, cordond):
    r = run(ctl_bin, ["show", "status"], cordond.sock)
    assert r.returncode == 0, r.stderr
    j = run(ctl_bin, ["-j", "show", "status"], cordond.sock)
    assert j.returncode == 0, j.stderr
    data = json.loads(j.stdout)
    assert data["schema"] == 1
    # Text and JSON say the same: every top-level scalar is a text line
    # (a time in ISO 8601 UTC).
    for k, v in data.items():
        if k == "started":
            v = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(v))
        if k not in ("schema", "uptime_s") and isinstance(v, (int, str)) and \
                not isinstance(v, bool) and v != "":
            assert any(ln.split(":", 1)[0] == k and
                       ln.split(":", 1)[1].strip() == str(v)
                       for ln in r.stdout.splitlines()), k


@needs_cordond
def test_real_session(ctl_bin, cordond):
    s = cordond.sock
    rev0 = json.loads(run(ctl_bin, ["-j", "sh", "st"], s).stdout)[
        "running_revision"]
    r = run(ctl_bin, ["set", "region", "ctl-test", "CN,RU"], s)
    assert r.returncode == 0, r.stderr
    r = run(ctl_bin, ["set", "rule", "ctl-ssh", "position", "1", "src",
                      "ctl-test", "ports", "22", "action", "drop", "log",
                      "yes"], s)
    assert r.returncode == 0, r.stderr
    diff = run(ctl_bin, ["compare"], s)
    assert diff.returncode == 0, diff.stderr
    assert "ctl-ssh" in diff.stdout and "ctl-test" in diff.stdout
    # The diff is printed raw, after the scalar members.
    assert diff.stdout.endswith(json.loads(run(
        ctl_bin, ["-j", "compare"], s).stdout)["diff"])
    chk = run(ctl_bin, ["commit", "check"], s)
    assert chk.returncode == 0, chk.stderr
    c = run(ctl_bin, ["-j", "commit", "comment", "cordonctl test"], s)
    assert c.returncode == 0, c.stderr
    st = json.loads(run(ctl_bin, ["-j", "show", "status"], s).stdout)
    rev1 = st["running_revision"]
    assert rev1 > rev0
    rules = run(ctl_bin, ["-j", "show", "rules"], s)
    assert "ctl-ssh" in rules.stdout
    text = run(ctl_bin, ["show", "rules"], s)
    assert "ctl-ssh" in text.stdout
    # A bad candidate is refused as invalid (5) and changes nothing.
    run(ctl_bin, ["set", "rule", "bad", "src", "nowhere", "action",
                  "drop"], s)
    bad = run(ctl_bin, ["commit"], s)
    assert bad.returncode == 5, bad
    assert bad.stderr.startswith("cordonctl: invalid: ")
    run(ctl_bin, ["delete", "rule", "bad"], s)
    # rollback N only loads N into the candidate; discard drops it.
    rb = run(ctl_bin, ["rollback", str(rev0)], s)
    assert rb.returncode == 0, rb.stderr
    assert "copy_of: %d" % rev0 in rb.stdout
    st = json.loads(run(ctl_bin, ["-j", "show", "status"], s).stdout)
    assert st["running_revision"] == rev1
    cmp = run(ctl_bin, ["compare"], s)
    assert "ctl-ssh" in cmp.stdout and "\n-" in cmp.stdout
    assert run(ctl_bin, ["discard"], s).returncode == 0
    again = run(ctl_bin, ["discard"], s)
    assert again.returncode == 1
    assert again.stderr.startswith("cordonctl: no-candidate: ")
    rb = run(ctl_bin, ["rollback", "0"], s)
    assert rb.returncode == 1 and "discard" in rb.stderr, rb.stderr
    rb = run(ctl_bin, ["rollback", str(rev0), "commit"], s)
    assert rb.returncode == 0, rb.stderr
    st = json.loads(run(ctl_bin, ["-j", "show", "status"], s).stdout)
    assert st["running_revision"] > rev1
    assert "ctl-ssh" not in run(ctl_bin, ["show", "rules"], s).stdout
    revs = run(ctl_bin, ["-j", "show", "revisions"], s)
    assert revs.returncode == 0
    v = run(ctl_bin, ["audit", "verify"], s)
    assert v.returncode == 0, v.stderr


# -- Prometheus exposition (issue 5) ------------------------------------------

def prom_daemon_reply(counters_ok=True):
    """Answers status, counters and show rules with the recorded replies
    (counters refused as "dataplane" when not COUNTERS_OK)."""
    def reply(req):
        if req["cmd"] == "counters" and not counters_ok:
            return {"v": 1, "ok": False, "error": {
                "code": "dataplane", "message": "cordon-dp is down"}}
        name = {"status": "status", "counters": "counters",
                "session-list": "session-list-1",
                "top": "top"}.get(
            req["cmd"], req.get("args", {}).get("what"))
        return {"v": 1, "ok": True, "data": load_reply(name)}
    return reply


PROM_LINE = re.compile(
    r'^(# HELP [a-z_]+ .+|# TYPE [a-z_]+ (counter|gauge)|'
    r'[a-z_]+(\{[a-z_]+="([^"\\\n]|\\["\\n])*"'
    r'(,[a-z_]+="([^"\\\n]|\\["\\n])*")*\})? [0-9]+)$')


@pytest.mark.parametrize("spelling", [
    "show counters prometheus", "show counters --prometheus",
    "show counters -p", "sh cou prom", "show counters --prom"])
def test_prometheus_text(ctl_bin, daemon, spelling):
    daemon.reply = prom_daemon_reply()
    r = run(ctl_bin, spelling.split(), daemon.path)
    assert r.returncode == 0, r.stderr
    golden_check("prometheus/counters.txt", r.stdout)
    # Three requests, each as a plain command: the flag is cordonctl's.
    assert [(q["cmd"], q.get("args", {})) for q in daemon.requests] == [
        ("status", {}), ("counters", {}), ("show", {"what": "rules"}),
        ("show", {"what": "logging"}), ("session-list", {}),
        ("top", {})]
    for ln in r.stdout.splitlines():
        assert PROM_LINE.match(ln), ln
    names = [ln.split()[2] for ln in r.stdout.splitlines()
             if ln.startswith("# TYPE")]
    assert len(names) == len(set(names))
    for ln in r.stdout.splitlines():
        if ln.startswith("# TYPE") and ln.endswith(" counter"):
            assert ln.split()[2].endswith("_total"), ln


def test_prometheus_dataplane_down(ctl_bin, daemon):
    """Without cordon-dp the daemon's own metrics still come out."""
    daemon.reply = prom_daemon_reply(counters_ok=False)
    r = run(ctl_bin, ["show", "counters", "-p"], daemon.path)
    assert r.returncode == 0, r.stderr
    golden_check("prometheus/down.txt", r.stdout)
    assert [q["cmd"] for q in daemon.requests] == [
        "status", "counters", "show", "session-list"]


def test_prometheus_usage(ctl_bin, daemon):
    r = run(ctl_bin, ["-j", "show", "counters", "-p"], daemon.path)
    assert r.returncode == 2 and "-j and -J do not apply" in r.stderr
    r = run(ctl_bin, ["show", "counters", "-x"], daemon.path)
    assert r.returncode == 2 and 'unexpected "-x"' in r.stderr
    r = run(ctl_bin, ["show", "counters", "-p", "-p"], daemon.path)
    assert r.returncode == 2 and '"prometheus" given twice' in r.stderr
    assert daemon.requests == []
    assert run(ctl_bin, ["__complete", "show", "counters", ""]).stdout \
        .split() == ["prometheus"]
    daemon.reply = lambda req: {"v": 1, "ok": False, "error": {
        "code": "internal", "message": "boom"}}
    r = run(ctl_bin, ["show", "counters", "-p"], daemon.path)
    assert r.returncode == 1 and r.stderr == "cordonctl: internal: boom\n"
    assert r.stdout == ""


# -- monitor (issue 14) -------------------------------------------------------

MON_EVENTS = [
    {"type": "event", "time_us": 1796638497123456, "action": "drop",
     "reason": "rule", "rule": "cn-ssh-deny", "src": "198.51.100.10",
     "dst": "192.0.2.100", "sport": 40000, "dport": 22, "proto": "tcp",
     "country": "CN", "service": "ssh", "port": "outside0", "count": 1},
    {"type": "dropped", "events": 12, "queue_full": 10, "rate_limited": 2},
    {"type": "event", "time_us": 1796638498000999, "action": "allow",
     "reason": "none", "rule": "(default)", "src": "2001:db8::7",
     "dst": "2001:db8::1", "proto": "icmpv6", "country": "DE",
     "service": None, "origin": "203.0.113.9", "origin_country": "RU",
     "port": "outside0", "count": 3},
]


def mon_reply(req):
    """The subscription's reply, then the lines, then the end."""
    lines = "".join(json.dumps(e) + "\n" for e in MON_EVENTS).encode()
    return [{"v": 1, "ok": True, "data": {"schema": 1, "subscribed": True}},
            lines[:100], 0.1, lines[100:]]


def test_monitor_text_and_json(ctl_bin, daemon):
    """Each line as text (ISO 8601 time, verdict, rule, src -> dst,
    proto, country, service) or, with -j, as it came; the stream's end
    by the daemon is exit 3."""
    daemon.reply = mon_reply
    r = run(ctl_bin, ["monitor", "deny"], daemon.path)
    assert r.returncode == 3, r.stderr
    assert r.stderr == "cordonctl: cordond ended the monitor\n"
    golden_check("render/monitor.txt", r.stdout)
    r = run(ctl_bin, ["monitor", "-j"], daemon.path)
    assert [json.loads(ln) for ln in r.stdout.splitlines()] == MON_EVENTS
    daemon.reply = lambda req: {"v": 1, "ok": False, "error": {
        "code": "busy", "message": "8 monitors are running already"}}
    r = run(ctl_bin, ["monitor"], daemon.path)
    assert r.returncode == 1 and "busy" in r.stderr and r.stdout == ""


# -- identity sessions (issue 4) ----------------------------------------------

# The clock relative times are shown against, pinned for the goldens:
# one second after the fixtures' sessions were created.
NOW = "1700000001"


def token_text():
    with open(TOKEN) as f:
        return f.read().strip()


def write_file(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_session_add_sends_the_token_text(ctl_bin, daemon):
    """The file's text, whitespace around it stripped; ttl an integer."""
    r = run(ctl_bin, ["session", "add", "--token", TOKEN, "--src",
                      "203.0.113.9", "--ttl", "600"], daemon.path)
    assert r.returncode == 0, r.stderr
    args = daemon.requests[0]["args"]
    assert args == {"token": token_text(), "src": "203.0.113.9",
                    "ttl": 600}
    assert "\n" not in args["token"] and args["token"].count(".") == 2


@pytest.mark.parametrize("data,sent", [
    (b"  \r\n\teyJ.e30.c2ln \n\n", "eyJ.e30.c2ln"),
    (b"eyJ.e30.c2ln", "eyJ.e30.c2ln"),
    (65536, "x" * 65536),
    (b"\n" * 100 + b"x" * 65436, "x" * 65436),
], ids=["trimmed", "bare", "64KiB", "64KiB-with-blank-lines"])
def test_token_file_accepted(ctl_bin, daemon, sockdir, data, sent):
    if isinstance(data, int):
        data = b"x" * data
    path = write_file(sockdir, "tok", data)
    for args in (["session", "add", "--token", path, "--src", "192.0.2.1"],
                 ["explain", "192.0.2.1", "198.51.100.7", "icmp", "token",
                  path]):
        daemon.requests.clear()
        r = run(ctl_bin, args, daemon.path)
        assert r.returncode == 0, r.stderr
        assert daemon.requests[0]["args"]["token"] == sent


def test_token_from_stdin(ctl_bin, daemon):
    r = subprocess.run([ctl_bin, "-s", daemon.path, "session", "add",
                        "--token", "-", "--src", "192.0.2.1"],
                       input=token_text() + "\n", capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert daemon.requests[0]["args"]["token"] == token_text()


@pytest.mark.parametrize("data,msg", [
    (None, 'token: cannot read "%s": No such file or directory'),
    ("dir", 'token: cannot read "%s": Is a directory'),
    (b"", 'token: "%s" is empty'),
    (b" \n\t\r\n ", 'token: "%s" is empty'),
    (65537, 'token: "%s" is larger than 65536 bytes'),
    (5 << 20, 'token: "%s" is larger than 65536 bytes'),
    (b"eyJ.\xff\xfe.sig", 'token: "%s" is not valid UTF-8'),
], ids=["missing", "directory", "empty", "blank", "64KiB+1", "5MiB",
        "not-utf8"])
def test_token_file_refused_locally(ctl_bin, daemon, sockdir, data, msg):
    """Refused before anything is sent, with the usage exit code; the
    message names the file, never its content."""
    path = os.path.join(sockdir, "tok")
    if data == "dir":
        os.mkdir(path)
    elif isinstance(data, int):
        write_file(sockdir, "tok", b"x" * data)
    elif data is not None:
        write_file(sockdir, "tok", data)
    for args in (["session", "add", "--token", path, "--src", "192.0.2.1"],
                 ["explain", "192.0.2.1", "198.51.100.7", "tcp", "22",
                  "--token", path]):
        r = run(ctl_bin, args, daemon.path)
        assert r.returncode == 2, r
        assert r.stderr == "cordonctl: " + msg % path + "\n"
        assert r.stdout == ""
    assert daemon.requests == []


def test_token_refused_stdin_empty(ctl_bin, daemon):
    r = subprocess.run([ctl_bin, "-s", daemon.path, "session", "add",
                        "--token", "-", "--src", "192.0.2.1"], input="\n",
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and 'token: "-" is empty' in r.stderr
    assert daemon.requests == []


def test_session_prefixes(ctl_bin, daemon):
    tok = token_text()
    for args, want in [
            (["ses", "a", "--tok", TOKEN, "--sr", "192.0.2.1", "--ser",
              "ssh", "--tt", "60"],
             {"cmd": "session-add", "args": {
                 "token": tok, "src": "192.0.2.1", "service": "ssh",
                 "ttl": 60}}),
            (["sess", "add", "tok", TOKEN, "sr", "192.0.2.1", "se", "rdp"],
             {"cmd": "session-add", "args": {
                 "token": tok, "src": "192.0.2.1", "service": "rdp"}}),
            (["ses", "l"], {"cmd": "session-list", "args": {}}),
            (["sh", "sess"], {"cmd": "session-list", "args": {}}),
            (["ses", "r", "i", "3"],
             {"cmd": "session-revoke", "args": {"id": 3}}),
            (["ses", "rev", "su", "alice"],
             {"cmd": "session-revoke", "args": {"sub": "alice"}}),
            (["ses", "rev", "--j", "7f3c"],
             {"cmd": "session-revoke", "args": {"jti": "7f3c"}}),
            (["ses", "rev", "sr", "192.0.2.1"],
             {"cmd": "session-revoke", "args": {"src": "192.0.2.1"}}),
            (["ex", "192.0.2.1", "198.51.100.7", "udp", "53", "to", TOKEN],
             {"cmd": "explain", "args": {
                 "src": "192.0.2.1", "dst": "198.51.100.7", "proto": "udp",
                 "dport": 53, "token": tok}})]:
        daemon.requests.clear()
        r = run(ctl_bin, args, daemon.path)
        assert r.returncode == 0, (args, r.stderr)
        req = daemon.requests[0]
        assert {"cmd": req["cmd"], "args": req["args"]} == want, args


# Reply fixture -> (command line, pinned clock).
SESSION_RENDER = {
    "session-add": ["session", "add", "--token", TOKEN, "--src",
                    "203.0.113.9"],
    "session-add-relayed": ["session", "add", "--token", TOKEN, "--src",
                            "198.51.100.23"],
    "session-list-0": ["session", "list"],
    "session-list-1": ["session", "list"],
    "session-list-many": ["session", "list"],
    "session-revoke": ["session", "revoke", "sub", "alice@corp.example"],
    "explain-identity-hit": ["explain", "203.0.113.9", "198.51.100.200",
                             "tcp", "22", "outside0"],
    "explain-identity-token": ["explain", "203.0.113.9", "198.51.100.200",
                               "tcp", "22", "outside0", "--token", TOKEN],
    "explain-identity-none": ["explain", "203.0.113.9", "198.51.100.200",
                              "tcp", "22", "outside0"],
}


@pytest.mark.parametrize("name", sorted(SESSION_RENDER))
def test_render_sessions(ctl_bin, daemon, name):
    data = load_reply(name)
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    env = dict(os.environ, CORDONCTL_NOW=NOW)
    args = SESSION_RENDER[name]
    text = run(ctl_bin, args, daemon.path, env=env)
    assert text.returncode == 0, text.stderr
    golden_check("render/%s.txt" % name, text.stdout)
    assert "schema" not in text.stdout
    pretty = run(ctl_bin, ["-j"] + args, daemon.path, env=env)
    assert pretty.returncode == 0
    golden_check("render/%s.json" % name, pretty.stdout)
    assert pretty.stdout == json.dumps(data, indent=2) + "\n"
    compact = run(ctl_bin, ["-J"] + args, daemon.path, env=env)
    assert compact.stdout == json.dumps(data, separators=(",", ":")) + "\n"


def test_show_sessions_is_session_list(ctl_bin, daemon):
    data = load_reply("session-list-many")
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    env = dict(os.environ, CORDONCTL_NOW=NOW)
    a = run(ctl_bin, ["show", "sessions"], daemon.path, env=env)
    b = run(ctl_bin, ["session", "list"], daemon.path, env=env)
    assert a.returncode == 0 and a.stdout == b.stdout
    assert [q["cmd"] for q in daemon.requests] == ["session-list"] * 2


def test_session_list_table(ctl_bin, daemon):
    """The columns of issue 4, one row per session, then the summary;
    relayed sessions say so and expiry is relative to now."""
    data = load_reply("session-list-many")
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    r = run(ctl_bin, ["session", "list"], daemon.path,
            env=dict(os.environ, CORDONCTL_NOW=NOW))
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "SUB", "ISSUER", "SOURCE", "SERVICES",
                                "EXPIRES", "VIA", "RELAYED"]
    rows = [ln.split() for ln in lines[1:4]]
    assert [row[0] for row in rows] == ["7", "9", "12"]
    assert rows[0][1:] == ["alice@corp.example", "corp", "203.0.113.9",
                           "ssh", "in", "9m59s", "push", "no"]
    assert rows[1][4:] == ["ssh,rdp", "in", "5m49s", "push", "yes"]
    assert rows[2][3:] == ["2001:db8:10::5", "https-admin", "in", "8h0m",
                           "knock", "no"]
    assert lines[4] == "3 live of 3, 2 refused (table full)"
    # Counters cordonctl has no column for still show.
    assert lines[5:] == ["entries: 3", "refused: 5", "revoked: 1",
                         "expired: 4"]


def test_session_expiry_uses_the_real_clock(ctl_bin, daemon):
    """Without CORDONCTL_NOW the client's clock is used."""
    def reply(req):
        s = dict(load_reply("session-list-1")["sessions"][0])
        s["expires"] = int(time.time()) + 600
        return {"v": 1, "ok": True, "data": {
            "schema": 1, "sessions": [s], "capacity": 8, "live": 1,
            "refused_full": 0}}
    daemon.reply = reply
    env = {k: v for k, v in os.environ.items() if k != "CORDONCTL_NOW"}
    r = run(ctl_bin, ["session", "list"], daemon.path, env=env)
    assert r.returncode == 0, r.stderr
    assert re.search(r" in (10m0s|9m5[0-9]s) ", r.stdout), r.stdout


@pytest.mark.parametrize("expires,shown", [
    (1700000001 + 59, "in 59s"), (1700000001 + 3600, "in 1h0m"),
    (1700000001 + 90061, "in 1d1h"), (1700000001, "now"),
    (1700000001 - 5, "expired 5s ago"), ("soon", "soon")])
def test_session_expiry_forms(ctl_bin, daemon, expires, shown):
    s = dict(load_reply("session-list-1")["sessions"][0], expires=expires)
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
        "schema": 1, "sessions": [s], "capacity": 8, "live": 1,
        "refused_full": 0}}
    r = run(ctl_bin, ["session", "list"], daemon.path,
            env=dict(os.environ, CORDONCTL_NOW=NOW))
    assert r.returncode == 0, r.stderr
    assert "  %s  " % shown in r.stdout.splitlines()[1], r.stdout


def test_session_list_missing_members(ctl_bin, daemon):
    """A sparse reply still prints: absent values as "-"."""
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": {
        "schema": 1, "sessions": [{"id": 1}]}}
    r = run(ctl_bin, ["session", "list"], daemon.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].split() == ["1"] + ["-"] * 7
    assert r.stdout.splitlines()[-1] == "- live of -, - refused (table full)"


def test_explain_without_identity_unchanged(ctl_bin, daemon):
    """No identity object (absent or null): the output of before."""
    with open(os.path.join(GOLDEN, "render", "explain.txt")) as f:
        before = f.read()
    for name in ("explain", "explain-identity-null"):
        data = load_reply(name)
        daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
        r = run(ctl_bin, RENDER["explain"].split(), daemon.path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == before, name


def test_explain_identity_after_the_steps(ctl_bin, daemon):
    data = load_reply("explain-identity-hit")
    assert list(data).index("identity") < list(data).index("steps")
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    r = run(ctl_bin, RENDER["explain"].split(), daemon.path)
    out = r.stdout
    assert out.index("\nsteps:\n") < out.index("\nidentity:\n")
    ident = out.split("\nidentity:\n")[1].splitlines()
    assert ident[0].split() == ["session:", "hit"]
    assert ident[4] == "  steps:"
    assert ident[5] == "    1. session 7 from 203.0.113.9 (push, not " \
        "relayed)"
    assert ident[7].startswith("    3. ")


@pytest.mark.parametrize("code,rc", [
    ("token-refused", 6), ("session-table-full", 7), ("bad-request", 1),
    ("denied", 1), ("no-such-session", 1)])
def test_session_error_codes(ctl_bin, daemon, code, rc):
    msg = {"token-refused": "expired: exp 1700000000 is before now "
                            "1700000100",
           "session-table-full": "1024 sessions live"}.get(
        code, "something about " + code)
    daemon.reply = lambda req: {"v": 1, "ok": False, "error": {
        "code": code, "message": msg}}
    for args in (["session", "add", "--token", TOKEN, "--src", "192.0.2.1"],
                 ["session", "list"], ["session", "revoke", "id", "1"],
                 ["explain", "192.0.2.1", "198.51.100.7", "icmp", "--token",
                  TOKEN]):
        for j in ([], ["-j"]):
            r = run(ctl_bin, j + args, daemon.path)
            assert r.returncode == rc, (args, r)
            assert r.stderr == "cordonctl: %s: %s\n" % (code, msg)
            assert r.stdout == ""


def test_session_sockets(ctl_bin, sockdir):
    """session list may use the read-only socket; add and revoke not."""
    rw = FakeDaemon(os.path.join(sockdir, "cordon.sock"))
    ro = FakeDaemon(os.path.join(sockdir, "cordon-ro.sock"))
    try:
        os.chmod(rw.path, 0o600)
        os.chmod(ro.path, 0o666)
        if os.geteuid() != 0 and os.access(rw.path, os.W_OK):
            pytest.skip("cannot make the socket inaccessible")
        for args in (["session", "list"], ["show", "sessions"]):
            r = run_as_nobody(sockdir, [ctl_bin, "-s", rw.path] + args)
            assert r.returncode == 0, r.stderr
        # The token too: nobody may not be able to read the checkout.
        tok = nobody_copy(sockdir, TOKEN)
        for args in (["session", "add", "--token", tok, "--src",
                      "192.0.2.1"], ["session", "revoke", "id", "1"]):
            r = run_as_nobody(sockdir, [ctl_bin, "-s", rw.path] + args)
            assert r.returncode == 3 and "Permission denied" in r.stderr, \
                r.stderr
        assert rw.requests == []
        assert [q["cmd"] for q in ro.requests] == ["session-list"] * 2
    finally:
        rw.stop()
        ro.stop()


IDENTITY_CONF = """
identity:
{
    issuers = ( { name = "corp"; issuer = "https://idp.test";
        audience = [ "cordon" ]; jwks = "%s/jwks.json";
        algorithms = [ "ES256" ]; } );
    claims = { country = [ "ctry" ]; act_depth = 4; };
    services = [ "ssh" ];
    unidentified = { action = "drop"; log = true; };
    sessions = { capacity = 1024; max_ttl = 3600; };
};
"""


ESCORT_RULE = """    { name = "escort"; services = [ "ssh" ]; direction = "in";
      identity = { who = "actors"; location = [ "watched", "unknown" ]; };
      action = "drop"; log = true; },
"""


@needs_cordond
def test_real_identity_sessions(ctl_bin, sockdir):
    """The session commands against the real cordond, with tokens signed
    by jwcrypto (tests/integ/mktokens.py), not by our code."""
    r = subprocess.run(["/usr/bin/python3",
                        os.path.join(ROOT, "tests/integ/mktokens.py"),
                        sockdir, "https://idp.test", "cordon", "600"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    d = Cordond(sockdir, ctl_bin, IDENTITY_CONF % sockdir, ESCORT_RULE)
    try:
        d.start()
    except RuntimeError as e:
        d.stop()
        pytest.fail(str(e))
    try:
        s, us = d.sock, "192.0.2.10"
        tok = os.path.join(sockdir, "alice.jwt")
        r = run(ctl_bin, ["session", "add", "--token", tok, "--src", us], s)
        assert r.returncode == 0, r.stderr
        lines = dict(ln.split(":", 1) for ln in r.stdout.splitlines()
                     if not ln.startswith(" "))
        assert lines["src"].strip() == us
        assert lines["relayed"].strip() == "no"
        assert re.match(r" *\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d",
                        lines["expires"]), lines["expires"]
        r = run(ctl_bin, ["session", "list"], s)
        assert r.returncode == 0, r.stderr
        out = r.stdout.splitlines()
        assert out[0].split() == ["ID", "SUB", "ISSUER", "SOURCE",
                                  "SERVICES", "EXPIRES", "VIA", "RELAYED"]
        assert out[1].split()[2:5] == ["corp", us, "ssh"]
        assert out[1].split()[-2:] == ["push", "no"]
        assert out[2].startswith("1 live of 1024, 0 refused (table full)")
        j = json.loads(run(ctl_bin, ["-j", "show", "sessions"], s).stdout)
        assert len(j["sessions"]) == 1 and j["sessions"][0]["src"] == us
        # A token whose signature does not cover its claims: exit 6.
        r = run(ctl_bin, ["session", "add", "--token",
                          os.path.join(sockdir, "forged.jwt"), "--src", us],
                s)
        assert r.returncode == 6, r
        assert r.stderr.startswith("cordonctl: token-refused: ")
        # explain with a token: the identity section after the steps.
        r = run(ctl_bin, ["explain", us, "198.51.100.7", "tcp", "22",
                          "outside0", "--token",
                          os.path.join(sockdir, "escort.jwt")], s)
        assert r.returncode == 0, r.stderr
        assert r.stdout.index("\nsteps:\n") < r.stdout.index("\nidentity:\n")
        ident = r.stdout.split("\nidentity:\n")[1]
        assert re.match(r"  session: +token\n", ident), ident
        # The verdict the token would get (its actor is in CN, not in
        # watched): the rules after the escort rule decide.
        assert re.search(r"\n  verdict: +allow\n", ident), ident
        assert re.search(r"\n  rule: +\(default\)\n", ident), ident
        assert re.search(r"\n    1\. ", ident)
        # Issue 10: the gate judges inbound flows only; an inside host's
        # ssh out needs no session, and explain says the gate let it be.
        j = json.loads(run(ctl_bin, ["-j", "explain", "192.0.2.20",
                                     "192.0.2.30", "tcp", "22", "out"],
                           s).stdout)
        assert (j["verdict"], j["reason"]) == ("allow", "none"), j
        assert "identity" not in j
        assert {"step": "identity", "result": "not judged",
                "detail": "the gate judges inbound flows only "
                "(identity.direction \"in\")"} in j["steps"], j
        j = json.loads(run(ctl_bin, ["-j", "explain", "192.0.2.20",
                                     "192.0.2.30", "tcp", "22", "in"],
                           s).stdout)
        assert j["reason"] == "no-session", j
        r = run(ctl_bin, ["session", "revoke", "sub", lines["sub"].strip()],
                s)
        assert r.returncode == 0 and r.stdout == "revoked: 1\n", r
        r = run(ctl_bin, ["session", "list"], s)
        assert r.stdout.splitlines()[:2] == [
            "(none)", "0 live of 1024, 0 refused (table full)"]
    finally:
        d.stop()


def test_explain_identity_without_steps(ctl_bin, daemon):
    """No rule looks at identity: no empty "steps:" heading; schema and
    members cordonctl does not know are kept (schema only for -j)."""
    data = dict(load_reply("explain"), identity={
        "schema": 1, "steps": [], "session": "none",
        "reason": "no session for this source and service", "extra": 3})
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    r = run(ctl_bin, RENDER["explain"].split(), daemon.path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("identity:\n")[1] == (
        "  session: none\n"
        "  reason:  no session for this source and service\n"
        "  extra:   3\n")


def test_option_spelling_of_keywords(ctl_bin, daemon):
    """--KEYWORD works for every keyword, with its value after it."""
    for args, want in [
            ("set rule r1 --action drop --log yes",
             {"kind": "rule", "name": "r1",
              "attrs": {"action": "drop", "log": True}}),
            ("explain --src 192.0.2.1 --dst 198.51.100.7 --proto tcp "
             "--dport 22", {"src": "192.0.2.1", "dst": "198.51.100.7",
                            "proto": "tcp", "dport": 22}),
            ("commit --confirmed 5 --comment x",
             {"confirmed": 5, "comment": "x"})]:
        daemon.requests.clear()
        r = run(ctl_bin, args.split(), daemon.path)
        assert r.returncode == 0, (args, r.stderr)
        assert daemon.requests[0]["args"] == want, args


@pytest.mark.parametrize("created,expires,want", [
    (None, "soon", "expires:  soon"),
    (0, -1, "expires:  1969-12-31 23:59:59 UTC (expired "),
    (1700000000, 2 ** 62, "expires:  "),
    (1.5, None, "created:  1.5"),
])
def test_session_add_odd_values(ctl_bin, daemon, created, expires, want):
    """Values of unexpected type or range print as they are."""
    data = load_reply("session-add")
    for k, v in (("created", created), ("expires", expires)):
        if v is None:
            del data[k]
        else:
            data[k] = v
    daemon.reply = lambda req: {"v": 1, "ok": True, "data": data}
    r = run(ctl_bin, ["session", "add", "--token", TOKEN, "--src", "x"],
            daemon.path, env=dict(os.environ, CORDONCTL_NOW=NOW))
    assert r.returncode == 0, r.stderr
    assert want in r.stdout, r.stdout
