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
import json
import shutil
import signal
import subprocess
import time

import pytest

from cordonrig import wait_for
from test_nft import (BUILD, CN4, FIXTURES, HERE, PY, ROOT, RU4, SRV4, SRV6,
                      UNK4, US4, US6, CN6, Rig, connect, topo)

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
    with open(os.path.join(d, "mark.conf"), "w") as f:
        f.write(base.replace('address6 = "fd00:30::2"; }',
                             'address6 = "fd00:30::2"; fwmark = 0x77; '
                             'table = 55; }'))
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


def test_session_survives_a_replaced_table(confdir):
    # The second batch replaces the table; the context re-adds the session
    # with the time it has left.
    rtr(NFTLOAD, "apply", os.path.join(confdir, "ident.conf"), "-n", "2",
        "-s", "%s,22,60" % US6)
    out = rtr("nft", "list", "set", "inet", "cordon", "sessions_v6").stdout
    assert "2001:db8:f::10 . 22" in out
    assert connect(US6, SRV6, 22) == "server"
    rtr(NFTLOAD, "session-del", US6, "22")
    assert connect(US6, SRV6, 22) == "refused"


def test_generation_conflict_is_retried(confdir):
    """-G sends each batch once with the generation before the current
    one, as if another process had committed meanwhile: the kernel
    refuses it (ERESTART) and the library retries with a fresh id."""
    out = rtr(NFTLOAD, "apply", os.path.join(confdir, "ident.conf"), "-G",
              "-n", "3").stdout
    lines = [ln for ln in out.splitlines() if ln.startswith("replace ")]
    assert len(lines) == 2 and all("retries=1" in ln for ln in lines), out
    assert connect(US4, SRV4, 22) == "refused"   # the table is in force
    assert connect(US4, SRV4, 8080) == "server"


def test_session_does_not_bypass_the_rules(confdir):
    rtr(NFTLOAD, "session-add", CN4, "22", "30")
    rtr(NFTLOAD, "session-add", CN6, "22", "30")
    assert connect(CN4, SRV4, 22) == "quarantine"
    assert connect(CN6, SRV6, 22) == "quarantine"
    rtr(NFTLOAD, "session-del", CN4, "22")
    assert connect(CN4, SRV4, 22) == "refused"


def connect_out(src, dst, port, timeout=2.0):
    """What the inside server at SRC gets from DST:PORT outside."""
    r = subprocess.run(["ip", "netns", "exec", "cnft-srv", PY,
                        os.path.join(ROOT, "tests/lib/tcpconnect.py"), src,
                        dst, str(port), str(timeout)],
                       capture_output=True, text=True, timeout=timeout + 10)
    return r.stdout.strip()


def test_outbound_needs_no_session(confdir):
    """The gate judges flows arriving on outside ports only (issue 10):
    the inside server's own ssh out is judged by the rules, not refused
    for want of a session; inbound ssh still needs one."""
    rtr(NFTLOAD, "apply", os.path.join(confdir, "ident.conf"))
    out = rtr("nft", "list", "chain", "inet", "cordon", "classify").stdout
    gate = [ln for ln in out.splitlines() if "identity v4" in ln]
    assert gate and "iifname @ports_outside" in gate[0], out
    srv = subprocess.Popen(["ip", "netns", "exec", "cnft-cli", PY,
                            os.path.join(ROOT, "tests/lib/banner.py"), "22",
                            "outside"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for("ssh out", lambda: connect_out(SRV4, US4, 22) == "outside",
                 10, 0.2)
        assert connect_out(SRV6, US6, 22) == "outside"
        assert connect(US4, SRV4, 22) == "refused"
    finally:
        srv.kill()
        srv.wait()


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


def test_host_protection_needs_a_session(confdir):
    """The identity rules guard the appliance's own ssh too."""
    rtr(NFTLOAD, "remove")
    rtr(NFTLOAD, "-t", "cordon_host", "apply", "-H", "cnft-o",
        os.path.join(confdir, "ident.conf"))
    assert connect(US4, "192.0.2.1", 22) == "refused"
    rtr(NFTLOAD, "-t", "cordon_host", "session-add", US4, "22", "30")
    assert connect(US4, "192.0.2.1", 22) == "appliance"
    rtr(NFTLOAD, "-t", "cordon_host", "session-add", CN4, "22", "30")
    assert connect(CN4, "192.0.2.1", 22) == "timeout"   # rules still apply
    rtr(NFTLOAD, "-t", "cordon_host", "remove")


def test_policy_routes_follow_the_config(confdir):
    rtr(NFTLOAD, "apply", os.path.join(confdir, "host.conf"))
    for fam in ("-4", "-6"):
        out = rtr("ip", fam, "rule").stdout
        assert "9000:\tfrom all fwmark 0xc0d0001 lookup 2000" in out, out
    assert "via 10.30.0.2" in rtr("ip", "route", "show", "table",
                                  "2000").stdout
    assert connect(CN4, SRV4, 22) == "quarantine"
    rtr(NFTLOAD, "apply", os.path.join(confdir, "mark.conf"))
    for fam in ("-4", "-6"):
        out = rtr("ip", fam, "rule").stdout
        assert "fwmark 0x77 lookup 55" in out and "0xc0d0001" not in out
    assert "via fd00:30::2" in rtr("ip", "-6", "route", "show", "table",
                                   "55").stdout
    assert connect(CN4, SRV4, 22) == "quarantine"
    assert connect(CN6, SRV6, 22) == "quarantine"
    rtr(NFTLOAD, "remove")


# Backend dpdk: cordon-dp on net_null ports, cordond guards its own
# management interface (cnft-o) with the same rules.
HOST_CONF = """
geo:
{
	databases = ( { file = "@FIXTURES@/flat.mmdb"; field = "country_code"; } );
	overrides = (
		{ prefix = "192.0.2.0/24";      country = "US"; },
		{ prefix = "198.51.100.0/24";   country = "CN"; },
		{ prefix = "203.0.113.128/25";  country = "unknown"; },
		{ prefix = "2001:db8:1::/48";   country = "CN"; },
		{ prefix = "2001:db8:f::/48";   country = "US"; }
	);
};
regions: { prohibited = [ "CN", "RU" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = (
	{ name = "ssh-prohibited-drop"; src = [ "prohibited" ];
	  services = [ "ssh" ]; direction = "in"; action = "drop"; },
	{ name = "ssh-unknown-reject"; src = [ "unknown" ];
	  services = [ "ssh" ]; direction = "in"; action = "reject"; }
);
dataplane: {
	ports = (
		{ name = "outside0"; device = "net_null0"; role = "outside";
		  peer = "inside0"; },
		{ name = "inside0"; device = "net_null1"; role = "inside";
		  peer = "outside0"; }
	);
	eal = [ "--no-huge", "-m", "512", "--no-pci", "--no-shconf", "-l",
		"0-1", "--log-level", "lib.eal:error",
		"--vdev=net_null0,no-rx=1", "--vdev=net_null1,no-rx=1" ];
	mbufs = 8192;
};
"""


def test_host_protection_by_cordond(confdir):
    from test_nft import Rig
    rtr(NFTLOAD, "remove")
    rg = Rig(HOST_CONF, "nft-host-rig",
             '    host_protection = { interface = "cnft-o"; };\n'
             '    dp_binary = "%s";\n' % os.path.join(BUILD, "cordon-dp"))
    try:
        st = rg.status()
        assert st["dataplane"]["state"] == "up"
        assert connect(US4, "192.0.2.1", 22) == "appliance"
        assert connect(CN4, "192.0.2.1", 22) == "timeout"
        assert connect(UNK4, "192.0.2.1", 22) == "refused"
        assert connect(CN6, "2001:db8:f::1", 22) == "timeout"
        # A commit moves host protection with the fast path.
        rg.ok("set", kind="rule", name="us-ssh-drop",
              attrs={"src": "US", "services": "ssh", "direction": "in",
                     "action": "drop", "position": 1})
        rg.ok("commit")
        assert connect(US4, "192.0.2.1", 22) == "timeout"
        out = rtr("nft", "list", "table", "inet", "cordon_host").stdout
        assert 'comment "r0 v4 us-ssh-drop"' in out
    finally:
        pid = rg.status()["dataplane"]["pid"]
        rg.stop()
        if pid:
            subprocess.run(["kill", str(pid)])


def ident_rig(confdir, name):
    """cordond (backend nftables) with the identity group and fresh
    tokens: the rig and alice's token."""
    from test_nft import Rig
    tok = os.path.join(confdir, "tok-" + name)
    os.makedirs(tok, exist_ok=True)
    subprocess.run([PY, os.path.join(ROOT, "tests/integ/mktokens.py"), tok,
                    "https://idp.test", "cordon", "600"], check=True)
    with open(os.path.join(HERE, "nft.conf")) as f:
        text = f.read() + IDENTITY.replace(
            '"ident.jwks"', '"%s"' % os.path.join(tok, "jwks.json"))
    with open(os.path.join(tok, "alice.jwt")) as f:
        alice = f.read().strip()
    rtr(NFTLOAD, "remove")
    return Rig(text, name), alice


def test_cordond_sessions_in_the_kernel(confdir):
    """Backend nftables with an identity group, driven through cordond:
    a pushed token opens ssh for its source in the kernel's sessions set,
    revocation closes it again."""
    rg, alice = ident_rig(confdir, "nft-ident-rig")
    try:
        assert connect(US4, SRV4, 22) == "refused"
        g = rg.ok("session-add", token=alice, src=US4)
        assert g["sub"] == "alice"
        out = rtr("nft", "list", "set", "inet", "cordon", "sessions_v4").stdout
        assert "192.0.2.10 . 22" in out
        assert connect(US4, SRV4, 22) == "server"
        assert connect(CN4, SRV4, 22) == "refused"   # per source
        assert rg.ok("session-revoke", sub="alice")["revoked"] == 1
        assert connect(US4, SRV4, 22) == "refused"
    finally:
        rg.stop()


def test_moved_service_port_leaves_the_sessions_set(confdir):
    """A commit moves ssh from 22 to 2222: the new table gets the
    session's elements back, and (source . 22) must not be among them,
    or whatever identity service takes port 22 next is open to that
    source without a session of its own (cordon-dp asks for that
    service's session)."""
    rg, alice = ident_rig(confdir, "nft-move-rig")
    try:
        rg.ok("session-add", token=alice, src=US4)
        out = rtr("nft", "list", "set", "inet", "cordon", "sessions_v4").stdout
        assert "192.0.2.10 . 22 " in out
        rg.ok("set", kind="service", name="ssh",
              attrs={"proto": "tcp", "ports": ["2222"]})
        rg.ok("commit")
        out = rtr("nft", "list", "set", "inet", "cordon", "sessions_v4").stdout
        assert "192.0.2.10 . 2222 " in out
        assert "192.0.2.10 . 22 " not in out
    finally:
        rg.stop()


def test_sports_match_the_source_port(confdir):
    """A service's sports match a packet's source port, as a Teredo
    relay's answers from 3544 are matched (issue 10): here the server's
    answers from 8080 to a prohibited client are dropped on the way out,
    through each rule's sports twin."""
    with open(os.path.join(confdir, "host.conf")) as f:
        text = f.read()
    svc = 'https = { proto = "tcp"; ports = [ "443", "8443" ]; };'
    assert svc in text
    text = text.replace(svc, svc + '\n\tfrom8080 = { proto = "tcp"; '
                        'sports = [ "8080" ]; };')
    text = text.replace("rules = (", 'rules = (\n\t{ name = "answers-out"; '
                        'dst = [ "prohibited" ]; services = [ "from8080" ]; '
                        'direction = "out"; action = "drop"; },', 1)
    path = os.path.join(confdir, "sports.conf")
    with open(path, "w") as f:
        f.write(text)
    rtr(NFTLOAD, "remove", check=False)
    rtr(NFTLOAD, "apply", path)
    try:
        out = rtr("nft", "list", "chain", "inet", "cordon",
                  "classify").stdout
        assert "th sport @r0_ssvc" in out, out
        assert connect(US4, SRV4, 8080) == "server"
        assert connect(CN4, SRV4, 8080) == "timeout"
        assert connect(CN6, SRV6, 8080) == "timeout"
    finally:
        rtr(NFTLOAD, "remove", check=False)


class DownRig(Rig):
    """A Rig whose cordon-dp never starts (dp_binary is /bin/false):
    cordond runs all the same, restarting it with backoff."""

    def up(self):
        try:
            return self.status()["dataplane"]["state"] != "up"
        except OSError:
            return False


def host_table():
    r = rtr("nft", "-j", "list", "table", "inet", "cordon_host")
    return r.stdout


def prohibited_v4():
    """The elements of host protection's IPv4 set(s) of region
    "prohibited", as text."""
    doc = json.loads(host_table())
    return " ".join(json.dumps(i["set"].get("elem", []))
                    for i in doc["nftables"] if "set" in i and
                    "prohibited" in i["set"]["name"] and
                    i["set"]["type"] == "ipv4_addr")


def test_host_protection_takes_a_geo_reload_without_cordon_dp(confdir):
    """cordon-dp never starts: host protection holds the running revision
    from cordond's start, and a geo reload (which changes the running
    tables whether cordon-dp is up or not) moves it at once, not when
    cordon-dp comes back: until then the management interface let in
    what the new tables deny."""
    rtr(NFTLOAD, "remove")
    geo = os.path.join(confdir, "geo-down.mmdb")
    # Before the reload 12.51.100.0/26 is JP (layer2.mmdb), after it CN.
    shutil.copy(os.path.join(FIXTURES, "layer2.mmdb"), geo)
    text = HOST_CONF.replace('"@FIXTURES@/flat.mmdb"', '"%s"' % geo)
    rg = DownRig(text, "nft-host-down",
                 '    host_protection = { interface = "cnft-o"; };\n'
                 '    dp_binary = "/bin/false";\n')
    try:
        wait_for("host protection", lambda: "ssh-prohibited-drop" in
                 host_table(), 10, 0.2)
        assert rg.status()["dataplane"]["state"] != "up"
        assert connect(US4, "192.0.2.1", 22) == "appliance"
        assert connect(CN4, "192.0.2.1", 22) == "timeout"
        assert "12.51.100.0" not in prohibited_v4()
        shutil.copy(os.path.join(FIXTURES, "flat.mmdb"), geo + ".new")
        os.rename(geo + ".new", geo)
        rg.ok("geo-reload")
        assert rg.status()["dataplane"]["state"] != "up"
        assert "12.51.100.0" in prohibited_v4()
    finally:
        rg.stop()
        rtr("nft", "delete", "table", "inet", "cordon_host", check=False)


def test_host_protection_takes_a_revert_without_cordon_dp(confdir):
    """A commit confirmed loosens the rules, then cordon-dp dies and
    cannot start again: the confirm timer's revert (which runs whether
    cordon-dp is up or not) must put host protection back on the
    stricter revision at once."""
    rtr(NFTLOAD, "remove")
    d = os.path.join(confdir, "revert")
    os.makedirs(d, exist_ok=True)
    nodp = os.path.join(d, "nodp")
    if os.path.exists(nodp):
        os.unlink(nodp)
    wrap = os.path.join(d, "dp.sh")
    with open(wrap, "w") as f:
        f.write("#!/bin/sh\n[ -e %s ] && exit 1\nexec %s \"$@\"\n"
                % (nodp, os.path.join(BUILD, "cordon-dp")))
    os.chmod(wrap, 0o755)
    rg = Rig(HOST_CONF, "nft-host-revert",
             '    host_protection = { interface = "cnft-o"; };\n'
             '    dp_binary = "%s";\n' % wrap)
    pid = 0
    try:
        assert connect(CN4, "192.0.2.1", 22) == "timeout"
        rev = rg.status()["running_revision"]
        rg.ok("delete", kind="rule", name="ssh-prohibited-drop")
        rg.ok("commit", confirmed_seconds=8)
        assert "ssh-prohibited-drop" not in host_table()
        pid = rg.status()["dataplane"]["pid"]
        open(nodp, "w").close()
        os.kill(pid, signal.SIGKILL)
        wait_for("cordon-dp down", lambda: rg.status()["dataplane"]["state"]
                 != "up", 10, 0.1)
        wait_for("the revert", lambda: rg.status()["confirm"] is None, 20,
                 0.2)
        st = rg.status()
        assert st["running_revision"] == rev + 2
        assert st["dataplane"]["state"] != "up"
        assert "ssh-prohibited-drop" in host_table()
        assert connect(CN4, "192.0.2.1", 22) == "timeout"
    finally:
        rg.stop()
        rtr("nft", "delete", "table", "inet", "cordon_host", check=False)


def test_refused_host_protection_refuses_the_change(confdir):
    """The kernel refuses host protection's batch: the commit (cordon-dp
    up) and the geo reload fail with nothing changed, rather than run a
    revision the management interface does not enforce; cordon-dp stays
    on the previous revision too."""
    rtr(NFTLOAD, "remove")
    rg = Rig(HOST_CONF, "nft-host-refused",
             '    host_protection = { interface = "cnft-o"; };\n'
             '    dp_binary = "%s";\n' % os.path.join(BUILD, "cordon-dp"))
    fault = os.path.join(rg.dir, "state", "nft-host-fault")
    pid = 0
    try:
        pid = rg.status()["dataplane"]["pid"]
        rev = rg.status()["running_revision"]
        wait_for("cordon-dp in sync", lambda: rg.status()["dataplane"]
                 ["in_sync"], 10, 0.2)
        open(fault, "w").close()
        rg.ok("delete", kind="rule", name="ssh-prohibited-drop")
        out = rg.ctl("commit")
        msg = out.stdout + out.stderr
        assert out.returncode != 0 and "host protection" in msg, msg
        out = rg.ctl("geo", "reload")
        msg = out.stdout + out.stderr
        assert out.returncode != 0 and "host protection" in msg, msg
        st = rg.status()
        assert st["running_revision"] == rev
        assert st["dataplane"]["revision"] == rev
        assert st["dataplane"]["in_sync"]
        assert "ssh-prohibited-drop" in host_table()
        assert connect(CN4, "192.0.2.1", 22) == "timeout"
        os.unlink(fault)
        rg.ok("commit")
        assert rg.status()["running_revision"] == rev + 1
        assert "ssh-prohibited-drop" not in host_table()
    finally:
        if os.path.exists(fault):
            os.unlink(fault)
        rg.stop()
        if pid:
            subprocess.run(["kill", str(pid)])
        rtr("nft", "delete", "table", "inet", "cordon_host", check=False)
