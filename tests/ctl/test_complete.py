"""Bash completion with names from the running daemon (issue 14).

appliance/bash-completion/cordonctl runs in a real bash (`bash -c`, with
COMP_WORDS and COMP_CWORD set as readline sets them) against a live
cordond with its own folder: rule names, revision numbers, regions,
services, dataplane ports and next hops come from the daemon; with the
daemon gone the keywords still complete and the names quietly do not.

    CORDOND     the daemon (default build/cordond)
    CORDON_DP   the fast path (default: cordon-dp next to CORDOND)
    CORDONCTL   the CLI (default: cordonctl next to CORDOND)

Run: /usr/bin/python3 -m pytest tests/ctl/test_complete.py
"""
import os
import subprocess
import time

import pytest

import cordonrig
from cordonrig import (CORDON_DP, CORDONCTL, CORDOND, bash_complete,
                       control_conf, dataplane_conf, geo_conf)

CONF = geo_conf() + """regions: { prohibited = [ "CN", "RU" ];
          partners = [ "DE", "NL" ]; };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; };
            rdp = { proto = "tcp"; ports = [ "3389" ]; };
            winrm = { proto = "tcp"; ports = [ "5985-5986" ]; }; };
rules = (
    { name = "ssh-prohibited"; src = [ "prohibited" ]; services = "ssh";
      direction = "in"; action = "drop"; },
    { name = "rdp-partners"; src = [ "partners" ]; services = "rdp";
      direction = "in"; action = "allow"; },
    { name = "scrub-ru"; src = "RU"; action = "reroute";
      nexthop = "scrubber"; }
);
default = { action = "allow"; };
""" + dataplane_conf("net_null0", ["--vdev=net_null0", "--vdev=net_null1"],
                     inside="net_null1").replace("    mbufs", """\
    next_hops = ( { name = "scrubber"; port = "inside0";
                    mac = "02:00:00:00:00:99"; } );
    mbufs""") + control_conf()


class Rig(cordonrig.Cordond):
    """cordond and its cordon-dp (net_null ports), with three
    revisions."""

    def __init__(self):
        super().__init__(prefix="cordon-compl-")
        self.write_conf(CONF)

    def start(self):
        self.spawn()
        self.wait_dp_up(timeout=60)
        for i in (2, 3):
            self.once("set", kind="service", name="svc%d" % i,
                      attrs={"proto": "tcp", "ports": str(8000 + i)})
            self.once("commit", comment="r%d" % i)


@pytest.fixture(scope="module")
def rig():
    cordonrig.need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    yield from cordonrig.running(Rig())


def words(rig, *line):
    return bash_complete([CORDONCTL, "-s", rig.sock] + list(line))


def test_names_from_the_daemon(rig):
    rules = ["ssh-prohibited", "rdp-partners", "scrub-ru"]
    assert words(rig, "delete", "rule", "") == rules
    assert words(rig, "delete", "rule", "s") == ["ssh-prohibited",
                                                 "scrub-ru"]
    assert words(rig, "set", "rule", "r") == ["rdp-partners"]
    assert words(rig, "monitor", "rule", "") == rules
    assert words(rig, "rollback", "") == ["3", "2", "1"]   # newest first
    assert words(rig, "rollback", "3", "") == ["commit"]
    assert words(rig, "delete", "region", "") == ["prohibited", "partners"]
    assert words(rig, "set", "rule", "x", "src", "p") == ["prohibited",
                                                         "partners"]
    # A list: the items before the last comma stay as typed.
    assert words(rig, "set", "rule", "x", "src", "CN,pa") == ["CN,partners"]
    assert words(rig, "set", "rule", "x", "services", "ssh,") == [
        "ssh,ssh", "ssh,rdp", "ssh,winrm", "ssh,svc2", "ssh,svc3"]
    assert words(rig, "delete", "service", "w") == ["winrm"]
    assert words(rig, "set", "nexthop", "q", "port", "") == ["outside0",
                                                             "inside0"]
    assert words(rig, "explain", "1.2.3.4", "5.6.7.8", "tcp", "22",
                 "iface", "in") == ["inside0"]
    assert words(rig, "set", "rule", "x", "nexthop", "") == ["scrubber"]
    assert words(rig, "delete", "nexthop", "") == ["scrubber"]
    # Keywords still come from the table; -j on the line is no word.
    assert words(rig, "show", "rules", "-j", "") == []
    assert words(rig, "-j", "delete", "rule", "rdp") == ["rdp-partners"]


def test_environment_socket(rig):
    env = dict(os.environ, CORDONCTL_SOCKET=rig.sock)
    assert bash_complete([CORDONCTL, "rollback", "2"], env=env) == ["2"]


def test_daemon_down_is_quiet():
    t0 = time.monotonic()
    line = [CORDONCTL, "-s", "/nonexistent/cordon.sock"]
    assert bash_complete(line + ["delete", "rule", ""]) == []
    assert bash_complete(line + ["rollback", ""]) == []
    assert bash_complete(line + ["del", ]) == ["delete"]
    assert bash_complete(line + ["set", "rule", "x", "log", ""]) == [
        "yes", "no"]
    assert time.monotonic() - t0 < 10
    r = subprocess.run([CORDONCTL, "-s", "/nonexistent/x.sock",
                        "__complete", "delete", "rule", ""],
                       capture_output=True, text=True, timeout=10)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_complete_request(rig):
    c = cordonrig.Conn(rig.ro)
    try:
        assert c.ok("complete", what="services")["words"] == [
            "ssh", "rdp", "winrm", "svc2", "svc3"]
        r = c.req("complete", what="frobs")
        assert not r["ok"] and r["error"]["code"] == "bad-request"
    finally:
        c.close()
