"""jwks_uri through cordond's fetch child (docs/identity.md, "Processes"):
the document is fetched over verified HTTPS by `cordond -P fetch` (the CA
file read by cordond and handed over), parsed by the identity child, and
cached by cordond; a slow identity provider stalls nothing; after a
restart without the provider the cached keys still verify.  A real TLS
server on 127.0.0.1 (tests/lib/tlsidp.py), its own CA made by openssl.
Run with /usr/bin/python3 -m pytest tests/ctl/test_ident_fetch.py.
"""
import json
import os
import time

import pytest

import cordonrig
from cordonrig import CORDONCTL, CORDOND
from test_identity_daemon import CONF, US, Rig
from tlsidp import Handler, make_ca, make_cert, serve

URI_CONF = CONF.replace('jwks = "%(dir)s/jwks.json";',
                        'jwks_uri = "%(uri)s"; ca = "%(ca)s";')


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_ca(d, "ca")
    make_cert(d, "ca", "good", "IP:127.0.0.1")
    srv = serve(d, "good")
    yield d, srv.server_address[1]
    srv.shutdown()


class FetchRig(Rig):
    """The identity rig with its issuer's keys at a jwks_uri."""

    def __init__(self, idp, path="/jwks", dp="/bin/false"):
        super().__init__()
        d, port = idp
        with open(self.dir + "/jwks.json") as f:
            Handler.docs[path] = f.read().encode()
        self.write_conf(URI_CONF, dp=dp, iss="https://idp.test", leeway=30,
                        uri="https://127.0.0.1:%d%s" % (port, path),
                        ca=str(d / "ca.pem"))

    def add(self, sub="alice", src=US):
        return self.ctl("session", "add", "--token", self.token(sub=sub),
                        "--src", src)

    def wait_add(self, timeout=15):
        """session add works once the fetched keys arrived."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.add()
            if r.returncode == 0:
                return r
            time.sleep(0.2)
        pytest.fail("no session from the fetched keys: %s\n%s" %
                    (r.stderr, self.logtext()))


@pytest.fixture
def fetch_rig(idp):
    cordonrig.need_binaries(CORDOND, CORDONCTL)
    Handler.delay = 0
    yield from cordonrig.running(FetchRig(idp))


def test_fetched_keys_verify_and_are_cached(fetch_rig):
    fetch_rig.wait_add()
    cache = fetch_rig.dir + "/state/jwks-corp.json"
    with open(cache) as f, open(fetch_rig.dir + "/jwks.json") as g:
        assert json.load(f) == json.load(g)
    p = [p for p in fetch_rig.ctlj("show", "status")["processes"]
         if p["name"] == "fetch"][0]
    assert p["ready"] and p["net"] and p["user"] == "cordon-fetch"


def test_restart_without_the_provider_uses_the_cache(fetch_rig):
    fetch_rig.wait_add()
    fetch_rig.stop()
    fetch_rig.log = open(fetch_rig.dir + "/cordond.log", "ab")
    # The provider now answers 404: the last good keys are the cache's.
    Handler.docs.pop("/jwks")
    fetch_rig.start()
    r = fetch_rig.add(sub="bob", src="192.0.2.12")
    assert r.returncode == 0, (r.stderr, fetch_rig.logtext())
    deadline = time.time() + 10
    while "keys kept" not in fetch_rig.logtext() and time.time() < deadline:
        time.sleep(0.2)
    assert "jwks_uri" in fetch_rig.logtext()
    # A failed fetch keeps them.
    r = fetch_rig.add(sub="carol", src="192.0.2.13")
    assert r.returncode == 0, r.stderr


def commit_took(rig, path):
    """Seconds a commit moving the issuer's jwks_uri to PATH took."""
    with open(rig.conf) as f:
        text = f.read().replace('/jwks"', path + '"')
    t0 = time.time()
    rig.ok("load", mode="override", text=text)
    rig.ok("commit")
    return time.time() - t0


@pytest.fixture
def dp_rig(idp):
    """FetchRig with a real cordon-dp (a commit needs one), tracked so
    that it is stopped with the rig."""
    cordonrig.need_binaries(CORDOND, CORDONCTL, cordonrig.CORDON_DP)
    Handler.delay = 0
    for rig in cordonrig.running(FetchRig(idp, dp=cordonrig.CORDON_DP)):
        rig.wait_dp_up()
        yield rig
    Handler.delay = 0


def test_slow_provider_stalls_nothing(dp_rig):
    """A commit moves the issuer to a provider that takes 4 s an answer:
    the commit takes no longer than one to a quick provider (before
    privilege separation it waited up to 3 s for the fetch, and so did
    every refresh), requests are served meanwhile with the issuer's last
    good keys, and the new document's keys arrive later."""
    dp_rig.wait_add()
    Handler.docs["/fast"] = Handler.docs["/slow"] = Handler.docs["/jwks"]
    base = commit_took(dp_rig, "/fast")
    dp_rig.wait_add()
    Handler.delay = 4
    t0 = time.time()
    took = commit_took(dp_rig, "/slow")
    assert took < base + 2, (took, base)
    r = dp_rig.add(sub="bob", src="192.0.2.12")
    assert r.returncode == 0, r.stderr
    assert time.time() - t0 < took + 1.5
    cache = dp_rig.dir + "/state/jwks-corp.json"
    deadline = time.time() + 20
    while os.path.getmtime(cache) < t0 and time.time() < deadline:
        time.sleep(0.2)
    assert os.path.getmtime(cache) > t0, dp_rig.logtext()
