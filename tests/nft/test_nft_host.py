"""Identity sessions and host protection through control/nft, driven by
tests/tools/nftload (the library cordond uses) in the namespaces of
tests/nft/topo.sh.

Sessions: with an identity group, ssh needs a session: without one the
flow gets identity.unidentified's action (reject); an element of
sessions_v4 / sessions_v6 opens the path and closes it when its timeout
passes.  Host protection: the same rules guard the router's own address
on its management interface (an input-hook chain), as cordond installs
them with backend dpdk and control.host_protection.
"""
import os
import shutil
import subprocess
import time

import pytest

from cordonrig import wait_for
from test_nft import (BUILD, CN4, FIXTURES, HERE, PY, ROOT, RU4, SRV4, SRV6,
                      UNK4, US4, US6, CN6, connect, topo)

IDENTITY = """
identity = {
	issuers = ( { name = "test"; issuer = "https://idp.test";
		      audience = [ "cordon" ]; jwks = "ident.jwks";
		      algorithms = [ "ES256" ]; } );
	services = [ "ssh" ];
	unidentified = { action = "reject"; };
};
"""
NFTLOAD = os.path.join(BUILD, "tools", "nftload")


def rtr(*args, check=True):
    r = subprocess.run(["ip", "netns", "exec", "cnft-rtr"] + list(args),
                       capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def confdir():
    if not os.access(NFTLOAD, os.X_OK):
        pytest.fail("no %s" % NFTLOAD)
    d = os.path.join(BUILD, "test-logs", "nft-host")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(HERE, "nft.conf")) as f:
        base = f.read().replace("@FIXTURES@", FIXTURES)
    with open(os.path.join(d, "ident.conf"), "w") as f:
        f.write(base + IDENTITY)
    with open(os.path.join(d, "host.conf"), "w") as f:
        f.write(base)
    shutil.copy(os.path.join(HERE, "ident.jwks"), d)
    r = topo("nft_topo_up && nft_servers %s" % ROOT)
    assert r.returncode == 0, r.stderr
    # The appliance's own ssh, on its management address.
    srv = subprocess.Popen(["ip", "netns", "exec", "cnft-rtr", PY,
                            os.path.join(ROOT, "tests/lib/banner.py"), "22",
                            "appliance"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    wait_for("the servers", lambda: connect(US4, SRV4, 8080) == "server",
             20, 0.2)
    yield d
    srv.kill()
    topo("nft_topo_down")


def test_session_opens_the_path_and_expires(confdir):
    rtr(NFTLOAD, "apply", os.path.join(confdir, "ident.conf"))
    assert connect(US4, SRV4, 22) == "refused"
    assert connect(US4, SRV4, 8080) == "server"   # not an identity service
    rtr(NFTLOAD, "session-add", US4, "22", "4")
    assert connect(US4, SRV4, 22) == "server"
    assert connect(US6, SRV6, 22) == "refused"    # per source and family
    out = rtr("nft", "list", "set", "inet", "cordon", "sessions_v4").stdout
    assert "192.0.2.10 . 22" in out
    # The kernel removes the element when its timeout passes.
    wait_for("the session to expire", lambda: connect(US4, SRV4, 22, 1.0)
             == "refused", 15, 0.5)


def test_session_does_not_bypass_the_rules(confdir):
    rtr(NFTLOAD, "session-add", CN4, "22", "30")
    rtr(NFTLOAD, "session-add", CN6, "22", "30")
    assert connect(CN4, SRV4, 22) == "quarantine"
    assert connect(CN6, SRV6, 22) == "quarantine"
    rtr(NFTLOAD, "session-del", CN4, "22")
    assert connect(CN4, SRV4, 22) == "refused"


def test_host_protection(confdir):
    rtr(NFTLOAD, "remove")
    rtr(NFTLOAD, "-t", "cordon_host", "apply", "-H", "cnft-o",
        os.path.join(confdir, "host.conf"))
    assert connect(US4, "192.0.2.1", 22) == "appliance"
    assert connect(CN4, "192.0.2.1", 22) == "timeout"   # reroute -> drop
    assert connect(UNK4, "192.0.2.1", 22) == "refused"
    assert connect(US6, "2001:db8:f::1", 22) == "appliance"
    assert connect(CN6, "2001:db8:f::1", 22) == "timeout"
    # Forwarded traffic is not this chain's business.
    assert connect(CN4, SRV4, 443) == "server"
    out = rtr("nft", "list", "chain", "inet", "cordon_host", "input").stdout
    assert "hook input" in out and 'iifname @ports_all jump classify' in out
    rtr(NFTLOAD, "-t", "cordon_host", "remove")
    assert connect(CN4, "192.0.2.1", 22) == "appliance"
