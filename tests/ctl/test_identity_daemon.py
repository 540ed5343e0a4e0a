"""Identity sessions and explain against the real cordond (issue 10,
items 13-15): a token accepted only thanks to the clock leeway opens no
session; explain tells the identity gate's refusal apart from the
default action, judges identity rules by the session the classifier
used, and states the verdict a token given with --token would get; show
rules shows identity blocks; a token holding a NUL reaches the verifier
(refused by name, exit 6), and explain counts nothing.

cordond runs without a dataplane (cordon-dp is /bin/false): sessions,
explain and show need none.  Tokens are signed with jwcrypto, an
implementation independent of ours.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_identity_daemon.py
"""
import json
import subprocess
import time

import pytest
from jwcrypto import jwk, jwt

import cordonrig
from cordonrig import CORDONCTL, CORDOND, control_conf, dataplane_conf, \
    geo_conf

ISS = "https://idp.test"
LEEWAY = 30
US = "192.0.2.10"
SRV = "203.0.113.1"

CONF = geo_conf((("198.51.100.0/24", "CN"), ("192.0.2.0/24", "US"))) + """\
regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; };
            https = { proto = "tcp"; ports = [ "443" ]; }; };
rules = (
    { name = "escort-actors"; services = [ "ssh" ]; direction = "in";
      identity = { who = "actors"; location = [ "prohibited", "unknown" ]; };
      action = "drop"; log = true; },
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = [ "ssh" ];
      direction = "in"; action = "drop"; log = true; }
);
default = { action = "allow"; };
identity: {
    issuers = ( { name = "corp"; issuer = "%(iss)s"; audience = [ "cordon" ];
        jwks = "%(dir)s/jwks.json"; algorithms = [ "ES256" ];
        leeway = %(leeway)d; } );
    claims = { country = [ "ctry" ]; act_depth = 4; };
    services = [ "ssh" ];
    unidentified = { action = "drop"; log = true; };
    sessions = { capacity = 64; max_ttl = 3600; per_subject = 16; };
};
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1") + control_conf()


class Rig(cordonrig.Cordond):
    """cordond with an identity group whose issuer's key this rig holds."""

    def __init__(self):
        super().__init__(prefix="cordon-ident-")
        self.key = jwk.JWK.generate(kty="EC", crv="P-256", kid="k1")
        pub = json.loads(self.key.export_public())
        pub["alg"] = "ES256"
        with open(self.dir + "/jwks.json", "w") as f:
            json.dump({"keys": [pub]}, f)
        self.write_conf(CONF, dp="/bin/false", iss=ISS, leeway=LEEWAY)
        self.n = 0

    fail = staticmethod(pytest.fail)

    def start(self):
        self.spawn("-d", "--test-timers")
        cordonrig.wait_for("control socket", self.answers, timeout=20,
                           fail=pytest.fail)

    def token(self, raw=None, **claims):
        """A token file signed by the issuer: alice in the US, valid
        for 10 minutes, unless CLAIMS say otherwise; RAW bytes appended
        to the token text."""
        now = int(time.time())
        c = {"iss": ISS, "aud": "cordon", "sub": "alice", "ctry": "US",
             "iat": now - 60, "exp": now + 600}
        c.update(claims)
        t = jwt.JWT(header={"alg": "ES256", "kid": "k1"}, claims=c)
        t.make_signed_token(self.key)
        self.n += 1
        path = "%s/tok%d" % (self.dir, self.n)
        with open(path, "wb") as f:
            f.write(t.serialize().encode() + (raw or b"") + b"\n")
        return path

    def ctl(self, *args):
        return subprocess.run([CORDONCTL, "-s", self.sock, *args],
                              capture_output=True, text=True, timeout=30)

    def ctlj(self, *args):
        r = self.ctl("-j", *args)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def explain(self, src, *extra, iface="in", dport="22"):
        return self.ctlj("explain", src, SRV, "tcp", dport, iface, *extra)

    def sessions(self):
        return self.ctlj("session", "list")

    def refused(self, path, reason, src=US):
        """session add of token file PATH is refused (exit 6) for REASON
        and opens nothing; the message."""
        r = self.ctl("session", "add", "--token", path, "--src", src)
        assert r.returncode == 6, (r.stdout, r.stderr)
        assert "token-refused: " + reason in r.stderr
        assert not [s for s in self.sessions()["sessions"]
                    if s["src"] == src]
        return r.stderr


@pytest.fixture
def rig():
    cordonrig.need_binaries(CORDOND, CORDONCTL)
    yield from cordonrig.running(Rig())


def step(data, name):
    """The steps of explain DATA named NAME."""
    return [s for s in data["steps"] if s["step"] == name]


# -- item 13: the leeway is no lifetime --------------------------------------

def test_leeway_only_token_opens_no_session(rig):
    rig.refused(rig.token(exp=int(time.time()) - 10), "expired-in-leeway")
    assert rig.sessions()["refused"] == 1
    # Past the leeway it is the verifier's own "expired".
    rig.refused(rig.token(exp=int(time.time()) - LEEWAY - 30), "expired:")
    # A token with time left still opens one.
    r = rig.ctl("session", "add", "--token", rig.token(), "--src", US)
    assert r.returncode == 0, r.stderr
    assert len(rig.sessions()["sessions"]) == 1


def test_leeway_only_token_explained_as_refused(rig):
    late = rig.token(exp=int(time.time()) - 10)
    d = rig.explain(US, "--token", late)
    ident = d["identity"]
    assert "expired-in-leeway" in ident["reason"]
    assert ident["verdict"] == "drop"
    assert ident["verdict_reason"] == "no-session"
    assert ident["rule"] == "(unidentified)"


# -- item 14: explain tells the truth ---------------------------------------

def test_explain_no_session_names_the_unidentified_action(rig):
    d = rig.explain(US)
    assert (d["verdict"], d["reason"]) == ("drop", "no-session")
    assert d["rule"] == "(unidentified)" and d["rule_position"] == 0
    gate = step(d, "identity gate")
    assert len(gate) == 1 and gate[0]["result"] == "no-session"
    # The gate decides before any rule: no rule is shown as matching.
    assert not [s for s in d["steps"] if s["step"].startswith("rule ")]
    verdict = step(d, "verdict")[0]
    assert "unidentified" in verdict["detail"]
    assert "default" not in verdict["detail"]
    assert d["identity"]["session"] == "none"


def test_explain_rules_judged_by_the_session(rig):
    assert rig.ctl("session", "add", "--token", rig.token(),
                   "--src", US).returncode == 0
    d = rig.explain(US)
    assert (d["verdict"], d["rule"]) == ("allow", "(default)")
    assert step(d, "identity gate")[0]["result"] == "session"
    r1 = step(d, "rule 1 escort-actors")[0]
    assert r1["result"] == "no match"
    assert "identity block" in r1["detail"]
    assert not step(d, "warning")
    assert d["identity"]["session"] == "hit"

    esc = rig.token(sub="carol", act={"sub": "bob", "ctry": "CN"})
    assert rig.ctl("session", "add", "--token", esc,
                   "--src", "192.0.2.11").returncode == 0
    d = rig.explain("192.0.2.11")
    assert (d["verdict"], d["reason"]) == ("drop", "identity")
    assert (d["rule"], d["rule_position"]) == ("escort-actors", 1)
    assert step(d, "rule 1 escort-actors")[0]["result"] == "match"
    assert not step(d, "warning")


def test_explain_without_gate_shows_identity_rules_unmatched(rig):
    """A flow the gate asks no session of (https) carries none: identity
    rules cannot match it, and there is no identity section."""
    d = rig.explain(US, dport="443")
    assert not step(d, "identity gate")
    assert "identity" not in d
    assert (d["verdict"], d["rule"]) == ("allow", "(default)")
    # A token changes nothing for it, and explain says so.
    ident = rig.explain(US, "--token", rig.token(), dport="443")["identity"]
    assert ident["steps"][0].startswith("this flow needs no session")
    assert (ident["verdict"], ident["rule"]) == ("allow", "(default)")


def test_explain_token_states_its_verdict(rig):
    esc = rig.token(sub="carol", act={"sub": "bob", "ctry": "CN"})
    d = rig.explain(US, "--token", esc)
    # The packet as it is now: no session.
    assert d["rule"] == "(unidentified)"
    ident = d["identity"]
    assert ident["session"] == "token" and ident["sub"] == "carol"
    assert (ident["verdict"], ident["verdict_reason"]) == ("drop",
                                                           "identity")
    assert (ident["rule"], ident["rule_position"]) == ("escort-actors", 1)
    assert "verdict drop, rule escort-actors" in ident["steps"][-1]

    d = rig.explain(US, "--token", rig.token())
    ident = d["identity"]
    assert (ident["verdict"], ident["rule"]) == ("allow", "(default)")
    # From a prohibited source the address rule still decides.
    d = rig.explain("198.51.100.7", "--token", rig.token())
    assert (d["identity"]["verdict"], d["identity"]["rule"]) == (
        "drop", "ssh-prohibited")
    # Explain opened nothing.
    assert rig.sessions()["sessions"] == []


def test_show_rules_shows_identity_blocks(rig):
    rules = rig.ctlj("show", "rules")["rules"]
    assert rules[0]["name"] == "escort-actors"
    assert rules[0]["identity"] == "who actors; location prohibited unknown"
    assert [r["identity"] for r in rules[1:]] == ["", ""]
    text = rig.ctl("show", "rules").stdout
    assert "IDENTITY" in text.splitlines()[0]
    assert "who actors; location prohibited unknown" in text


# -- item 15: NUL bytes, and explain's counters -------------------------------

@pytest.mark.parametrize("where", ["end", "middle"])
def test_token_with_nul_refused_by_the_verifier(rig, where):
    good = open(rig.token(), "rb").read().strip()
    bad = good + b"\0garbage" if where == "end" else \
        good[:20] + b"\0" + good[20:]
    path = rig.dir + "/nul"
    with open(path, "wb") as f:
        f.write(bad)
    assert "JSON" not in rig.refused(path, "bad-base64: byte 0x00")
    assert rig.sessions()["refused"] == 1


def test_nul_outside_a_token_is_a_bad_request(rig):
    """Only a token may hold a NUL (for the verifier to refuse): in any
    other string C would see less than was sent."""
    tok = open(rig.token(), "r").read().strip()
    c = cordonrig.Conn(rig.sock)
    try:
        r = c.req("session-add", token=tok, src=US + "\0junk")
        assert r["error"]["code"] == "bad-request", r
        assert "NUL" in r["error"]["message"]
        r = c.req("session-add", token=tok + "\0", src=US)
        assert r["error"]["code"] == "token-refused", r
        assert r["error"]["message"].startswith("bad-base64")
    finally:
        c.close()
    assert rig.sessions()["sessions"] == []


def test_explain_token_counts_nothing(rig):
    bad = rig.dir + "/bad"
    with open(bad, "w") as f:
        f.write("not.a.token\n")
    late = rig.token(exp=int(time.time()) - 10)
    for t in (bad, late, rig.token()):
        rig.explain(US, "--token", t)
    s = rig.sessions()
    assert (s["refused"], s["sessions"]) == (0, [])
    assert "token-refused" not in rig.logtext()
    # A refused grant is still counted.
    rig.refused(bad, "bad-base64")
    assert rig.sessions()["refused"] == 1


# -- issue 14: the sessions in the Prometheus exposition ---------------------

def test_prometheus_session_counts(rig):
    """`show counters -p` carries session list's counts, the same
    numbers (no dataplane here: the daemon's own metrics only)."""
    assert rig.ctl("session", "add", "--token", rig.token(), "--src",
                   US).returncode == 0
    rig.refused(rig.token(exp=int(time.time()) - 10), "expired-in-leeway",
                src="192.0.2.11")
    r = rig.ctl("show", "counters", "-p")
    assert r.returncode == 0, r.stderr
    prom = dict(ln.rsplit(" ", 1) for ln in r.stdout.splitlines()
                if ln.startswith("cordon_session"))
    s = rig.sessions()
    assert s["live"] == 1 and s["refused"] == 1
    for key, name in (("live", "cordon_sessions"),
                      ("capacity", "cordon_session_capacity"),
                      ("entries", "cordon_session_entries"),
                      ("refused", "cordon_session_refused_total"),
                      ("refused_full", "cordon_session_refused_full_total"),
                      ("revoked", "cordon_session_revoked_total"),
                      ("expired", "cordon_session_expired_total")):
        assert int(prom[name]) == s[key], name
    assert "cordon_dataplane_in_sync 0" in r.stdout
