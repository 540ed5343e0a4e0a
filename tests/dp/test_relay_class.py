"""Issue 13: relay classes through cordon-dp, live and in replay.

Over the fixture databases (tests/fixtures/mkmmdb.pl): country.mmdb for
countries, asn.mmdb for a class "hosting" (AS64500) and a prefix file
for a class "tor".  One rule drops ssh from either class: a source in a
class is dropped by that rule, whatever its country; the same country
outside the class passes (default allow).  Crafted SYNs go through the
live fast path (net_pcap ports) and through replay, which must agree.

Every test name contains "replay" or "live": tests/run.sh runs `-k
replay` under the ASan build, where no test may start DPDK.
"""
import os

import pytest
from scapy.all import IP, TCP, Ether, IPv6

import cases
import dplib
import tunframes

PORTS = cases.A_PORTS[:2]

# (name, source, expected rule or None for the default, class note)
SOURCES = [
    ("tor-us", "11.0.2.7", "ssh-relay"),           # US, listed
    ("us", "11.0.2.8", None),                      # US, no class
    ("hosting-cn", "12.51.100.5", "ssh-relay"),    # CN, AS64500
    ("us-outside-as", "12.51.100.200", None),      # US, no AS listed
    ("hosting-ru", "13.0.113.9", "ssh-relay"),     # RU, AS64500
    ("hosting-v6", "2a00:db8:1::5", "ssh-relay"),  # CN, AS64500 /49
    ("cn-v6", "2a00:db8:1:8000::5", None),         # CN, outside the /49
    ("tor-v6", "2a00:db8:2:1::9", "ssh-relay"),    # DE, listed
    ("mapped-tor", "::ffff:11.0.2.7", "ssh-relay"),  # as its IPv4
]


def syn(src):
    if ":" in src:
        l3 = IPv6(src=src, dst="2a00:db8:9::1")
    else:
        l3 = IP(src=src, dst="11.0.9.1")
    return bytes(Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) / l3 /
                 TCP(sport=40000, dport=22, flags="S"))


def class_conf(d, mmdb_fixtures, rules):
    """A config over the fixture databases with classes tor (a prefix
    file) and hosting (AS64500) and RULES."""
    tor = os.path.join(d, "tor.txt")
    with open(tor, "w") as f:
        f.write("# exits\n11.0.2.7\n2a00:db8:2:1::/64\n")
    conf = dplib.render_conf(
        os.path.join(d, "cordon.conf"), ports=PORTS,
        databases=[(os.path.join(mmdb_fixtures, "country.mmdb"),
                    "country.iso_code")],
        rules=rules, include_profile=False)
    with open(conf) as f:
        text = f.read()
    text = text.replace(
        "\toverrides = (",
        '\tasn_database = "%s";\n\tclasses = (\n'
        '\t\t{ name = "tor"; prefixes = "%s"; },\n'
        '\t\t{ name = "hosting"; asn = [ 64500 ]; }\n\t);\n\toverrides = ('
        % (os.path.join(mmdb_fixtures, "asn.mmdb"), tor), 1)
    with open(conf, "w") as f:
        f.write(text)
    return conf


@pytest.fixture(scope="module")
def relay_conf(tmp_path_factory, cordon_dp, mmdb_fixtures):
    d = str(tmp_path_factory.mktemp("relay"))
    return d, class_conf(d, mmdb_fixtures, [
        {"name": "ssh-relay", "src": ["class:tor", "class:hosting"],
         "services": ["ssh"], "direction": "in", "action": "drop"}])


def test_relay_class_replay(relay_conf):
    d, conf = relay_conf
    recs, _, _ = dplib.run_replay(d, conf, [syn(s) for _, s, _ in SOURCES],
                                  "relay", direction="in")
    assert len(recs) == len(SOURCES)
    for (name, src, rule), r in zip(SOURCES, recs):
        want = "drop" if rule else "allow"
        assert r["action"] == want, (name, r)
        assert r["rule"] == (rule or "(default)"), (name, r)
    by_name = {n: r for (n, _, _), r in zip(SOURCES, recs)}
    assert by_name["tor-us"]["src_classes"] == ["tor"]
    assert by_name["hosting-cn"]["src_classes"] == ["hosting"]
    assert by_name["hosting-cn"]["src_cc"] == "CN"
    # No class: no key (records stay as they were without classes).
    assert "src_classes" not in by_name["us"]


def live_check(d, conf, frames):
    """FRAMES: (name, frame, rule or None for the default) into
    outside0 of the live fast path: exactly those the default allows
    reach inside0, and every rule counts its own.  Returns the run."""
    w = os.path.join(d, "live")
    os.makedirs(w, exist_ok=True)
    res = dplib.run_live(w, conf, {"outside0": [f for _, f, _ in frames]},
                         {p["name"]: p["device"] for p in PORTS})
    passed = res.tx["inside0"]
    want = [f for _, f, rule in frames if rule is None]
    assert sorted(passed) == sorted(want), [
        n for n, f, r in frames if (f in passed) != (r is None)]
    for rule in {r for _, _, r in frames if r}:
        assert res.stats["rules"][rule] == sum(
            1 for _, _, r in frames if r == rule), res.stats["rules"]
    return res


def test_relay_class_live(relay_conf):
    d, conf = relay_conf
    live_check(d, conf, [(n, syn(s), r) for n, s, r in SOURCES])


def test_relay_class_missing_file_refused_replay(relay_conf, tmp_path):
    """A class file that is missing: cordon-dp refuses to start (it has
    no tables to fall back on here), naming the file."""
    _, conf = relay_conf
    with open(conf) as f:
        text = f.read()
    bad = str(tmp_path / "cordon.conf")
    with open(bad, "w") as f:
        f.write(text.replace("tor.txt", "missing.txt"))
    p = dplib.run_cmd(["--check", "-c", bad])
    assert p.returncode != 0
    assert "missing.txt: No such file or directory" in p.stderr + p.stdout


# Classes in origin and via (issue 13): (name, frame, expected rule or
# None for the default).  The outer relay 11.0.2.8 (US) is in no class.
def _layered():
    t = tunframes
    return [
        # A tor inner source behind a relay in no class: origin decides.
        ("gre-tor-inner", t.gre("11.0.2.8", t.syn("11.0.2.7")),
         "ssh-origin-tor"),
        ("vxlan-tor-inner", t.vxlan("11.0.2.8", t.syn("11.0.2.7")),
         "ssh-origin-tor"),
        ("gre-tor-inner-v6", t.gre("11.0.2.8", t.syn("2a00:db8:2:1::9")),
         "ssh-origin-tor"),
        # The same relay carrying a source in no class: allowed.
        ("gre-plain-inner", t.gre("11.0.2.8", t.syn("11.0.2.9")), None),
        # Tor as the outer relay only: not the origin; no via rule on it.
        ("gre-tor-relay", t.gre("11.0.2.7", t.syn("11.0.2.9")), None),
        # A hosting relay (AS64500, CN: not in via's countries), outer
        # or in the middle: via, by its class.
        ("gre-hosting-relay", t.gre("12.51.100.5", t.syn("11.0.2.9")),
         "ssh-via-hosting"),
        ("nested-hosting", t.gre("11.0.2.8", t.ipip("12.51.100.5",
                                                    t.syn("11.0.2.9"))),
         "ssh-via-hosting"),
        # Untunnelled: its own origin and only layer.
        ("plain-tor", t.syn("11.0.2.7"), "ssh-origin-tor"),
        ("plain-hosting", t.syn("12.51.100.5"), "ssh-via-hosting"),
    ]


def _eth(l3):
    return bytes(Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) / l3)


@pytest.fixture(scope="module")
def layers_conf(tmp_path_factory, cordon_dp, mmdb_fixtures):
    d = str(tmp_path_factory.mktemp("relay-layers"))
    return d, class_conf(d, mmdb_fixtures, [
        {"name": "ssh-origin-tor", "origin": ["class:tor"],
         "services": ["ssh"], "direction": "in", "action": "drop"},
        {"name": "ssh-via-hosting", "via": ["class:hosting", "RU"],
         "services": ["ssh"], "direction": "in", "action": "drop"}])


def test_relay_class_layers_replay(layers_conf):
    d, conf = layers_conf
    cases_ = _layered()
    recs, _, _ = dplib.run_replay(d, conf, [_eth(f) for _, f, _ in cases_],
                                  "layers", direction="in")
    assert len(recs) == len(cases_)
    for (name, _, rule), r in zip(cases_, recs):
        assert r["action"] == ("drop" if rule else "allow"), (name, r)
        assert r["rule"] == (rule or "(default)"), (name, r)
    by = {n: r for (n, _, _), r in zip(cases_, recs)}
    # Every layer's classes, by name, in the verdict record.
    layers = by["gre-tor-inner"]["layers"]
    assert layers[1]["classes"] == ["tor"], layers
    assert "classes" not in layers[0], layers
    layers = by["nested-hosting"]["layers"]
    assert [la.get("classes") for la in layers] == \
        [None, ["hosting"], None], layers


def test_relay_class_layers_live(layers_conf):
    d, conf = layers_conf
    live_check(d, conf, [(n, _eth(f), r) for n, f, r in _layered()])
