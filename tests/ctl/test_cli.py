"""cordonctl against the protocol of docs/control.md section 3.

The CLI is a thin client: these tests hold it to the wire.  A small
server in this file (FakeDaemon) speaks the framing, records every
request and answers with canned replies, so the requests the CLI builds,
its text and JSON output, its exit codes and its handling of broken
replies are checked without cordond.  Tests marked `cordond` run the
real daemon when build/cordond exists.

    CORDONCTL   the binary (default build/cordonctl; build-asan/... for
                the sanitizer run)
    CORDOND     the daemon for the `needs_cordond` tests (default
                build/cordond; they are skipped when it is missing)
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GOLDEN = os.path.join(HERE, "golden")
UPDATE = os.environ.get("CORDON_GOLDEN_UPDATE") == "1"
CTL = os.path.join(ROOT, os.environ.get("CORDONCTL", "build/cordonctl"))
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
    raw), or None (say nothing and keep the connection open)."""

    def __init__(self, path, reply=None):
        self.path = path
        self.requests = []
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
        self.requests.append(req)
        r = self.reply(req)
        if r is None:
            self.stopping.wait(10)
            return
        if not isinstance(r, bytes):
            body = json.dumps(r).encode()
            r = struct.pack(">I", len(body)) + body
        conn.sendall(r)

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
    "set-region": "set region prohibited CN,RU,unknown",
    "set-service": "set service winrm proto tcp ports 5985-5986",
    "set-service-both": "set service rdp proto tcp,udp ports 3389",
    "set-override": "set override 203.0.113.0/24 CN",
    "set-override-unknown": "set override 2001:db8:1::/48 unknown",
    "set-nexthop": "set nexthop scrubber port scrub0 mac 02:00:00:00:00:99 "
                   "vlan 100",
    "set-nexthop-novlan": "set nexthop q port scrub0 mac 02:00:00:00:00:98",
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
    "geo-reload": "geo reload",
    "audit-verify": "audit verify",
}


def argv_of(spec):
    return spec.split() if isinstance(spec, str) else spec


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request(ctl_bin, daemon, name):
    r = run(ctl_bin, argv_of(REQUESTS[name]), daemon.path)
    assert r.returncode == 0, r.stderr
    assert len(daemon.requests) == 1
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
            ("a v", {"cmd": "audit-verify"})]:
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
    ("s", 'ambiguous "s" (matches: show, set)'),
    ("sh co", 'ambiguous "co" (matches: counters, config)'),
    ("co", 'ambiguous "co" (matches: compare, commit, confirm)'),
    ("com", 'ambiguous "com" (matches: compare, commit)'),
    ("set rule r1 action r", 'action: ambiguous "r" (valid: allow, drop, '
                             'reject, reroute)'),
    ("set rule r1 d any action drop", 'ambiguous "d" after "rule" '
                                      '(matches: dst, direction)'),
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
                 "5 the candidate is invalid"]:
        assert line in h.stdout
    assert daemon.requests == []


# -- help and completion ----------------------------------------------------

def help_words(out):
    return [ln.split()[0] for ln in out.splitlines() if ln.strip()]


@pytest.mark.parametrize("args,want", [
    ("?", ["show", "lookup", "explain", "set", "delete", "compare",
           "commit", "confirm", "rollback", "geo", "audit"]),
    ("help", ["show", "lookup", "explain", "set", "delete", "compare",
              "commit", "confirm", "rollback", "geo", "audit"]),
    ("show ?", ["status", "counters", "rules", "regions", "services",
                "ports", "nexthops", "geo", "revisions", "audit", "config",
                "candidate", "logging"]),
    ("sh help", ["status", "counters", "rules", "regions", "services",
                 "ports", "nexthops", "geo", "revisions", "audit",
                 "config", "candidate", "logging"]),
    ("set ?", ["rule", "region", "service", "override", "nexthop",
               "default"]),
    ("set rule ?", ["NAME"]),
    ("set rule r1 ?", ["position", "src", "dst", "services", "proto",
                       "ports", "direction", "action", "nexthop", "log"]),
    ("set rule r1 action drop src any ?", ["position", "dst", "services",
                                           "proto", "ports", "direction",
                                           "nexthop", "log", "<cr>"]),
    ("set rule r1 action ?", ["allow", "drop", "reject", "reroute"]),
    ("set rule r1 log ?", ["yes", "no"]),
    ("set rule r1 proto ?", ["tcp", "udp", "icmp", "other", "any", "A,B"]),
    ("commit ?", ["check", "confirmed", "comment", "<cr>"]),
    ("commit confirmed ?", ["[MINUTES]", "check", "comment", "<cr>"]),
    ("explain ?", ["src", "dst", "proto", "sport", "dport", "iface",
                   "ADDR"]),
    ("geo ?", ["reload"]),
    ("confirm ?", ["<cr>"]),
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
            "commit", "confirm", "rollback", "geo", "audit"]),
    (["co"], ["compare", "commit", "confirm"]),
    (["sh", ""], ["status", "counters", "rules", "regions", "services",
                  "ports", "nexthops", "geo", "revisions", "audit",
                  "config", "candidate", "logging"]),
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
    script = os.path.join(ROOT, "appliance", "bash-completion", "cordonctl")
    prog = ("source %s\n"
            "COMP_WORDS=(%s)\n"
            "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
            "_cordonctl\n"
            "printf '%%s\\n' \"${COMPREPLY[@]}\"\n") % (
                script, " ".join("'%s'" % w for w in line))
    r = subprocess.run(["bash", "-c", prog], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_bash_completion(ctl_bin):
    assert bash_complete(ctl_bin, [ctl_bin, "sh"]) == ["show"]
    assert bash_complete(ctl_bin, [ctl_bin, "-j", "show", "st"]) == \
        ["status"]
    assert bash_complete(ctl_bin, [ctl_bin, "-s", "/x.sock", "-t", "3",
                                   "set", "rule", "r", "act"]) == ["action"]
    assert "-j" in bash_complete(ctl_bin, [ctl_bin, "-"])
    assert bash_complete(ctl_bin, [ctl_bin, "set", "default", "action",
                                   ""]) == ["allow", "drop", "reject"]


# -- rendering ----------------------------------------------------------------

# Replies recorded from cordond (temp paths replaced), one per command.
RENDER = {
    "status": "show status",
    "counters": "show counters",
    "rules": "show rules",
    "regions": "show regions",
    "services": "show services",
    "ports": "show ports",
    "nexthops": "show nexthops",
    "geo": "show geo",
    "revisions": "show revisions",
    "audit": "show audit",
    "config": "show config",
    "candidate": "show candidate",
    "lookup": "lookup 203.0.113.9",
    "explain": "explain 203.0.113.9 198.51.100.200 tcp 22 outside0",
    "set": "set region partners DE,NL",
    "compare": "compare",
    "commit-check": "commit check",
    "commit": "commit confirmed 5",
    "confirm": "confirm",
    "rollback": "rollback 1",
    "geo-reload": "geo reload",
    "audit-verify": "audit verify",
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
    r = run(ctl_bin, ["show", "config"], daemon.path)
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


def as_nobody(cmd):
    if os.geteuid() != 0:
        return cmd
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv to drop root for an EACCES test")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
        + cmd


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
            r = subprocess.run(as_nobody([ctl_bin, "-s", rw.path] + args),
                               capture_output=True, text=True, timeout=20)
            assert r.returncode == 0, r.stderr
        assert [q["cmd"] for q in ro.requests] == [
            "status", "lookup", "explain", "audit-verify"]
        for args in (["commit"], ["set", "region", "r", "CN"],
                     ["geo", "reload"]):
            r = subprocess.run(as_nobody([ctl_bin, "-s", rw.path] + args),
                               capture_output=True, text=True, timeout=20)
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
    for st in ["stale", "invalid", "Usage error", "cannot be reached"]:
        assert st in man


# -- the real daemon ----------------------------------------------------------

CORDOND = os.path.join(ROOT, os.environ.get("CORDOND", "build/cordond"))
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

    def __init__(self, tmp, ctl_bin):
        self.tmp = tmp
        self.ctl = ctl_bin
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
            f.write(CORDOND_CONF % {
                "d": self.tmp, "dp": os.path.abspath(CORDON_DP),
                "geo": os.path.join(mmdb_dir(self.tmp), "country.mmdb")})
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
    # Text and JSON say the same: every top-level scalar is a text line.
    for k, v in data.items():
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
    rb = run(ctl_bin, ["rollback", str(rev0)], s)
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
        name = {"status": "status", "counters": "counters"}.get(
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
        ("status", {}), ("counters", {}), ("show", {"what": "rules"})]
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
    assert [q["cmd"] for q in daemon.requests] == ["status", "counters"]


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
