"""The man pages against --help and against behaviour (issue 14).

Data-driven: whatever commands docs/man/cordonctl.8 documents are read
from it, so a command added to the page (and to cordonctl) is checked
without touching this file; a new placeholder only needs its sample in
SAMPLES when "1" will not do.

- Every command item of cordonctl.8 (`.It Ic ...` and `.It Xo` blocks:
  the synopsis of each command) names a command of `cordonctl -h`, and
  every command of `cordonctl -h` has an item; the options of the page
  are the options of -h.
- Each item becomes an example (its words, required keywords and
  placeholders filled from SAMPLES; optional parts and alternatives
  after the first left out) and runs, in the page's order, against a
  live cordond with a throwaway state folder; so does every
  `$ cordonctl ...` line of EXAMPLES.  None may be a usage error (exit
  2) nor lose the daemon (exit 3).
- cordond.8 and cordon-dp.8: the options of SYNOPSIS and of the option
  list are those of -h; `-V`, `-h` and the check modes run.

    CORDOND, CORDON_DP, CORDONCTL   binaries (default build/...)

Run: /usr/bin/python3 -m pytest tests/ctl/test_manpages.py
"""
import os
import re
import signal
import subprocess

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, GEODB, control_conf,
                       dataplane_conf, geo_conf)

MAN = os.path.join(cordonrig.ROOT, "docs", "man")

CONF = geo_conf() + """regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; };
            rdp = { proto = "tcp"; ports = [ "3389" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = "ssh";
      direction = "in"; action = "drop"; log = true; }
);
default = { action = "allow"; };
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1") + control_conf()

# Placeholder -> value, by "command words/placeholder", then by the
# placeholder alone.  Names the page's own examples use where it has some.
SAMPLES = {
    "set rule/name": "man-rule", "delete rule/name": "man-rule",
    "set region/name": "man-region", "delete region/name": "man-region",
    "set service/name": "man-svc", "delete service/name": "man-svc",
    "set nexthop/name": "man-nh", "delete nexthop/name": "man-nh",
    "monitor/name": "ssh-prohibited",
    "addr": "203.0.113.9", "dst/addr": "198.51.100.7",
    "src": "203.0.113.9", "dst": "198.51.100.7",
    "proto": "tcp", "cc": "DE", "list": "8022", "prefix": "192.0.2.0/28",
    "port": "inside0", "n": "1", "m": "1", "minutes": "5", "text": "man",
    "file": "alice.jws", "subject": "alice@corp.example",
    "token-id": "7f3c9a1e", "seconds": "600", "service": "ssh",
}


# -- the page -----------------------------------------------------------------

def man_lines(name):
    with open(os.path.join(MAN, name)) as f:
        return [ln.rstrip("\n") for ln in f]


def items(lines):
    """The command items: (words, tokens) with the command's words and
    the macro tokens of the whole synopsis, in page order."""
    out, i = [], 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(".It Xo"):
            j = lines.index(".Xc", i)
            body = lines[i + 1:j]
            i = j + 1
        elif ln.startswith(".It Ic "):
            body = [ln[4:]]
            i += 1
        else:
            i += 1
            continue
        if body and body[0].startswith(".Ic "):
            body[0] = body[0][1:]
        if body and body[0].startswith("Ic "):
            out.append(synopsis(body))
    return out


MACRO = re.compile(r"^[A-Z][a-z][a-z]?$")


def synopsis(body):
    """(command words, [(macro, [words])...] per line)."""
    lines = []
    for ln in body:
        toks = ln.lstrip(".").split()
        groups, cur = [], None
        for t in toks:
            if MACRO.match(t):
                cur = (t, [])
                groups.append(cur)
            elif cur is not None:
                cur[1].append(t)
        lines.append(groups)
    first = lines[0][0]
    words = [w for w in first[1] if re.match(r"^[a-z][a-z-]*$", w)]
    return words, lines


def pick(args):
    """The first of alternatives: "a | b | c" -> [a]; (words, rest) where
    REST is false when the alternatives run on into the line's next
    macros ("Ar n | Cm sub Ar subject"): then the line ends here."""
    if "|" not in args:
        return args, True
    if args[-1] == "|":
        return args[:args.index("|")], False
    out, skip = [], False
    for a in args:
        if a == "|":
            skip = True
        elif skip:
            skip = False
        else:
            out.append(a)
    return out, True


def sample(cmd, kw, name):
    for k in (cmd + "/" + name, kw + "/" + name, name):
        if k in SAMPLES:
            return SAMPLES[k]
    return "1"


def example(words, lines):
    """The command line an item stands for: required parts only, the
    first of alternatives, placeholders from SAMPLES (by command, by
    the keyword before, by name; else "1")."""
    cmd = " ".join(words)
    argv, kw, depth = list(words), "", 0
    for li, groups in enumerate(lines):
        macs = [m for m, _ in groups]
        if depth > 0:           # inside an .Oo block of several lines
            depth += macs.count("Oo") - macs.count("Oc")
            continue
        for gi, (mac, args) in enumerate(groups):
            if li == 0 and gi == 0:
                continue
            if mac in ("Op", "Oo"):
                # Optional: the rest of the line, and up to the .Oc
                # that closes an .Oo left open here.
                rest = macs[gi:]
                depth = rest.count("Oo") - rest.count("Oc")
                break
            got, rest = pick(args)
            if mac in ("Cm", "Ic"):
                argv += got
                kw = got[-1] if got else kw
            elif mac == "Ar":
                argv += [sample(cmd, kw, a) for a in got
                         if a not in ("...", ",", ":")]
            if not rest:
                break
    return argv


def examples(lines):
    """The `$ cordonctl ...` lines of EXAMPLES, continuations joined."""
    out, cur = [], None
    for ln in lines[lines.index(".Sh EXAMPLES"):]:
        if cur is not None:
            cur += " " + ln.strip()
        elif ln.startswith("$ cordonctl "):
            cur = ln[2:]
        else:
            continue
        if cur.endswith("\\e"):
            cur = cur[:-2]
            continue
        out.append(cur.split("#")[0].replace("\\e?", "?").replace(
            "\\e", "\\"))
        cur = None
    return out


def help_commands():
    r = subprocess.run([CORDONCTL, "-h"], capture_output=True, text=True)
    assert r.returncode == 0
    block = r.stdout.split("\ncommands")[1].split("\nexit status")[0]
    return [ln.split() for ln in block.splitlines()[1:]
            if ln.startswith("  ") and not ln.startswith("     ")], r.stdout


def options(text):
    """The options a usage text lists: the leading words of its lines
    that start with a dash ("  -c, --config FILE" -> -c, --config)."""
    out = set()
    for ln in text.splitlines():
        for t in ln.split():
            if not re.match(r"^--?[A-Za-z][\w-]*,?$", t):
                break
            out.add(t.rstrip(","))
    return out


def man_options(lines, section_end):
    """Options of SYNOPSIS and of the .It Fl list (the page's spelling:
    Fl x -> -x, Fl \\-long -> --long)."""
    out = set()
    syn = lines[lines.index(".Sh SYNOPSIS"):lines.index(section_end)]
    for ln in syn + [ln for ln in lines if ln.startswith(".It Fl")]:
        toks = ln.split()
        for k, t in enumerate(toks):
            if t == "Fl" and k + 1 < len(toks):
                f = toks[k + 1].replace("\\-", "-")
                # ".Fl jJ" is -j and -J; ".Fl \-check" is --check.
                for one in [f] if f.startswith("-") else list(f):
                    out.add("-" + one)
                # ".Fl V | h": h is a flag too.
                if k + 3 < len(toks) and toks[k + 2] == "|":
                    out.add("-" + toks[k + 3])
    out.discard("--")
    return out


# -- the checks without a daemon ----------------------------------------------

def test_items_and_help_agree():
    cmds, _ = help_commands()
    its = items(man_lines("cordonctl.8"))
    assert len(its) > 40, "the page's items were not found"
    paths = {" ".join(w) for w, _ in its}
    for h in cmds:
        assert any(h[:len(p.split())] == p.split() for p in paths), \
            "cordonctl -h has %r, cordonctl.8 no item for it" % " ".join(h)
    for p in paths:
        assert any(h[:len(p.split())] == p.split() for h in cmds), \
            "cordonctl.8 documents %r, cordonctl -h does not" % p


def test_cordonctl_options():
    lines = man_lines("cordonctl.8")
    _, usage = help_commands()
    usage_opts = options(usage.split("\ncommands")[0])
    assert man_options(lines, ".Sh DESCRIPTION") == usage_opts


@pytest.mark.parametrize("page,binary,hidden", [
    ("cordond.8", CORDOND, {"--test-timers"}),
    ("cordon-dp.8", CORDON_DP, set()),
])
def test_daemon_options(page, binary, hidden):
    cordonrig.need_binaries(binary)
    r = subprocess.run([binary, "-h"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    lines = man_lines(page)
    man = man_options(lines, ".Sh DESCRIPTION")
    usage = options(r.stdout)
    assert man - hidden == usage - hidden, (page, man ^ usage)
    v = subprocess.run([binary, "-V"], capture_output=True, text=True)
    assert v.returncode == 0 and v.stdout.strip(), v


# -- the examples against a live daemon ---------------------------------------

class Rig(cordonrig.Cordond):
    def __init__(self):
        super().__init__(prefix="cordon-man-")
        self.write_conf(CONF)
        with open(self.dir + "/alice.jws", "w") as f:
            f.write("eyJhbGciOiJFUzI1NiJ9.e30.c2ln\n")

    def start(self):
        self.spawn()
        self.wait_dp_up(timeout=60)

    def run(self, argv):
        """cordonctl ARGV from the rig's folder; monitor ends by
        SIGINT after a second, as Ctrl-C would.  (rc, stderr)."""
        env = dict(os.environ, CORDONCTL_SOCKET=self.sock)
        p = subprocess.Popen([CORDONCTL] + argv, cwd=self.dir, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            _, err = p.communicate(timeout=1.0 if argv[0] == "monitor"
                                   else 30)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=10)
        return p.returncode, err


@pytest.fixture(scope="module")
def rig():
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    yield from cordonrig.running(Rig())


def test_every_item_runs(rig):
    ran = []
    for words, lines in items(man_lines("cordonctl.8")):
        argv = example(words, lines)
        rc, err = rig.run(argv)
        ran.append((" ".join(argv), rc))
        assert rc not in (2, 3), "cordonctl %s: exit %d: %s" % (
            " ".join(argv), rc, err)
    # Read-only ones do their job; the page's order makes the changes
    # work too (set before delete, then commit).
    ok = {a for a, rc in ran if rc == 0}
    for a in ("show status", "show rules", "lookup 203.0.113.9",
              "explain 203.0.113.9 198.51.100.7 tcp", "monitor",
              "set rule man-rule action allow", "delete rule man-rule",
              "compare", "audit verify"):
        assert a in ok, (a, ran)


def test_every_example_runs(rig):
    ex = examples(man_lines("cordonctl.8"))
    assert len(ex) >= 15, ex
    for line in ex:
        argv = line.split()[1:]
        # The shell's quoting: "a b" is one word.
        argv = [w for w in re.findall(r'"[^"]*"|\S+', " ".join(argv))]
        argv = [w.strip('"') for w in argv]
        rc, err = rig.run(argv)
        assert rc not in (2, 3), "%s: exit %d: %s" % (line, rc, err)


def test_check_modes(rig, tmp_path):
    r = subprocess.run([CORDOND, "-n", "-f", rig.conf],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "configuration OK" in r.stdout, r.stderr
    r = subprocess.run([CORDON_DP, "--check", "-c", rig.conf, "--geodb",
                        GEODB, "--geo-field", "country_code"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
