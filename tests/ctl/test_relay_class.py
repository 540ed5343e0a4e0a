"""Issue 13: relay infrastructure as a class, through cordond.

A class "tor" comes from a prefix file next to the config.  `lookup`
names the classes of an address (from the same table lookup as its
country); `explain` shows them and names them when the source set turns
a rule down; `geo-reload` rereads a changed class file hitlessly, and a
malformed one is refused with FILE:LINE while the tables in force stay.
The AS-number side is the unit tests' (tests/unit/test_geo_class.c).

Run as root (/usr/bin/python3 -m pytest tests/ctl/test_relay_class.py).
"""
import os

import pytest

from test_daemon import CONF, DP, Daemon

needs_dp = pytest.mark.skipif(not DP, reason="cordon-dp has no --control")

RULE_TOR = ('    { name = "ssh-tor"; src = [ "class:tor" ]; '
            'services = [ "ssh" ];\n      direction = "in"; '
            'action = "drop"; }\n')


class ClassDaemon(Daemon):
    """The daemon of test_daemon.py with a class "tor" (DIR/tor.txt)
    and a second rule dropping ssh from it."""

    def __init__(self, tor):
        super().__init__()
        self.tor = self.dir + "/tor.txt"
        self.write_tor(tor)
        with open(self.conf) as f:
            text = f.read()
        text = text.replace(
            "overrides = ( ", 'classes = ( { name = "tor"; prefixes = '
            '"%s"; } );\n    overrides = ( ' % self.tor, 1)
        text = text.replace("action = \"drop\"; log = true; }\n",
                            "action = \"drop\"; log = true; },\n" +
                            RULE_TOR, 1)
        assert "ssh-tor" in text and "classes" in text
        with open(self.conf, "w") as f:
            f.write(text)

    def write_tor(self, text):
        with open(self.tor + ".new", "w") as f:
            f.write(text)
        os.rename(self.tor + ".new", self.tor)

    def classes(self, addr):
        return self.ok("lookup", addr=addr)["classes"]

    def explain_ssh(self, src):
        ex = self.ok("explain", src=src, dst="203.0.113.9", proto="tcp",
                     sport=40000, dport=22, iface="outside0")
        return ex, {s["step"]: s for s in ex["steps"]}


@pytest.fixture
def cdc():
    if not DP:
        pytest.skip("cordon-dp has no --control")
    d = ClassDaemon("# exits\n192.0.2.0/28\n2001:db8:77::/48  # v6\n")
    d.start()
    yield d
    d.stop()


@needs_dp
def test_lookup_names_the_classes(cdc):
    lk = cdc.ok("lookup", addr="192.0.2.7")
    assert lk["final"] == "US" and lk["classes"] == ["tor"], lk
    assert cdc.classes("192.0.2.100") == []
    assert cdc.classes("2001:db8:77::1") == ["tor"]
    # IPv4-mapped: the IPv4 address's classes.
    assert cdc.classes("::ffff:192.0.2.7") == ["tor"]
    geo = cdc.ok("show", what="geo")
    assert geo["classes"] == [{"name": "tor", "prefixes": cdc.tor,
                               "asns": "", "asn": []}], geo


@needs_dp
def test_explain_judges_and_names_the_class(cdc):
    ex, steps = cdc.explain_ssh("192.0.2.7")
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-tor", ex
    assert steps["source classes"]["result"] == "tor"
    detail = steps["rule 1 ssh-prohibited"]["detail"]
    assert detail.startswith("source country and classes (tor) not in "
                             "src;"), detail
    assert steps["rule 2 ssh-tor"]["result"] == "match"
    ex, steps = cdc.explain_ssh("192.0.2.100")
    assert ex["verdict"] == "allow", ex
    assert "source classes" not in steps
    assert steps["rule 2 ssh-tor"]["detail"].startswith(
        "source country not in src;")


@needs_dp
def test_geo_reload_rereads_the_class_file(cdc):
    hash0 = cdc.status()["policy_hash"]
    cdc.write_tor("192.0.2.64/28\n")
    data = cdc.ok("geo-reload")
    assert data["v4_prefixes"] == data["previous_v4_prefixes"] > 0
    assert cdc.classes("192.0.2.7") == []
    assert cdc.classes("192.0.2.70") == ["tor"]
    assert cdc.explain_ssh("192.0.2.70")[0]["rule"] == "ssh-tor"
    st = cdc.status()
    # The policy did not change: only the tables, and the dataplane has them.
    assert st["policy_hash"] == hash0 and st["dataplane"]["in_sync"], st


@needs_dp
def test_geo_reload_refuses_a_malformed_class_file(cdc):
    cdc.write_tor("# ok\n192.0.2.0/28\n192.0.2.300\n")
    r = cdc.req("geo-reload")
    assert not r["ok"] and r["error"]["code"] == "geo", r
    assert cdc.tor + ":3: bad prefix \"192.0.2.300\"" in \
        r["error"]["message"], r
    # The tables in force stay, and the dataplane with them.
    assert cdc.classes("192.0.2.7") == ["tor"]
    assert cdc.status()["dataplane"]["in_sync"]
    rec = cdc.ok("show", what="audit")["records"][-1]
    assert rec["cmd"] == "geo-reload" and rec["result"] != "ok"
    cdc.write_tor("")
    cdc.ok("geo-reload")
    assert cdc.classes("192.0.2.7") == []


@needs_dp
def test_commit_class_rules(cdc):
    """A rule on an unknown class is refused at commit with the config's
    FILE:LINE, and the running policy stays; one on a known class is
    committed and judges at once."""
    hash0 = cdc.status()["policy_hash"]
    cdc.ok("set", kind="rule", name="rdp-nope",
           attrs={"src": "class:nope", "ports": ["3389"], "proto": "tcp",
                  "action": "drop"})
    r = cdc.req("commit")
    assert not r["ok"], r
    assert 'unknown class "nope" (geo.classes)' in r["error"]["message"]
    assert r["error"]["message"].split(":")[1].isdigit(), r
    assert cdc.status()["policy_hash"] == hash0
    cdc.ok("delete", kind="rule", name="rdp-nope")
    cdc.ok("set", kind="rule", name="rdp-tor",
           attrs={"src": "class:tor", "ports": ["3389"], "proto": "tcp",
                  "action": "reject"})
    assert cdc.ok("commit")["revision"] == 2
    ex = cdc.ok("explain", src="192.0.2.7", dst="203.0.113.9",
                proto="tcp", sport=40000, dport=3389, iface="outside0")
    assert ex["verdict"] == "reject" and ex["rule"] == "rdp-tor", ex


@needs_dp
def test_explain_layers_show_their_classes(cdc):
    """Relay classes in origin and via (issue 13): explain shows each
    layer's classes after its country, and a rule on the innermost
    source's class decides a packet whose outer relay is in none."""
    cdc.ok("set", kind="rule", name="ssh-origin-tor",
           attrs={"origin": "class:tor", "services": "ssh",
                  "direction": "in", "action": "drop"})
    cdc.ok("commit", comment="origin class")

    def explain(src, via):
        ex = cdc.ok("explain", src=src, dst="203.0.113.9", proto="tcp",
                    sport=40000, dport=22, iface="outside0", via=via)
        return ex, {s["step"]: s for s in ex["steps"]}

    # A tor inner source behind a relay in no class: origin decides.
    ex, steps = explain("192.0.2.7", ["gre:192.0.2.100"])
    assert ex["verdict"] == "drop" and ex["rule"] == "ssh-origin-tor", ex
    assert steps["origin classes"]["result"] == "tor"
    assert "192.0.2.7" in steps["origin classes"]["detail"]
    assert "source classes" not in steps
    assert steps["rule 2 ssh-tor"]["result"] == "no match"
    # The tor address as the middle relay: shown, no rule on it.
    ex, steps = explain("192.0.2.200",
                        ["gre:192.0.2.100", "vxlan:192.0.2.8"])
    assert steps["relay classes"]["result"] == "tor", steps
    assert ex["verdict"] == "allow", ex
    detail = steps["rule 3 ssh-origin-tor"]["detail"]
    assert detail.startswith("innermost source's country and classes "
                             "not in origin"), detail
