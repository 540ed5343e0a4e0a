"""The shipped policy (config/policy.conf and its profiles) through
offline replay, the test overrides placing the documentation ranges in
countries (cases.OVERRIDES): issue 10, items 8-10.

Names contain "replay": tests/run.sh runs these under the ASan build too.
"""
import os
import shutil

import pytest
from scapy.all import IP, TCP, UDP, Ether, IPv6

import cases
import dplib
import tunframes

IDENTITY = """
identity = {
	issuers = ( { name = "corp"; issuer = "https://idp.test";
		      audience = "cordon"; jwks = "/dev/null";
		      algorithms = "ES256"; } );
	services = [ "ssh", "rdp" ];
};
"""


def shipped_conf(path, extra=""):
    """The shipped profiles and policy, copied next to PATH (libconfig
    includes are relative to the main file's folder), with the test's
    geo and ports."""
    d = os.path.dirname(path)
    os.makedirs(os.path.join(d, "profiles"), exist_ok=True)
    inc = ["profiles/foreign-adversaries.conf",
           "profiles/management-services.conf", "policy.conf"]
    for i in inc:
        shutil.copy(os.path.join(dplib.ROOT, "config", i),
                    os.path.join(d, i))
    ov = ",\n".join('\t\t{ prefix = "%s"; country = "%s"; }' % o
                    for o in cases.OVERRIDES)
    text = "".join('@include "%s"\n' % i for i in inc)
    text += ('geo: {\n\tdatabases = ( { file = "%s"; '
             'field = "country_code"; } );\n\toverrides = (\n%s\n\t);\n};\n'
             % (dplib.geodb_path(), ov))
    text += extra
    text += ('dataplane: { ports = (\n'
             '\t{ name = "outside0"; device = "net_null0"; role = "outside";'
             ' peer = "inside0"; },\n'
             '\t{ name = "inside0"; device = "net_null1"; role = "inside";'
             ' peer = "outside0"; } ); };\n')
    with open(path, "w") as f:
        f.write(text)
    return path


def eth(l3):
    return Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) / l3


# (name, direction, frame, rule or None for the default, action, reason)
SHIPPED = [
    # Item 9: towards prohibited and unknown destinations.
    ("ssh-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                 TCP(sport=40000, dport=22)),
     "mgmt-to-prohibited", "drop", "rule"),
    ("ssh-out-to-unknown", "out", eth(IP(src=cases.SRV4, dst=cases.UNK4) /
                                      TCP(sport=40000, dport=22)),
     "mgmt-to-prohibited", "drop", "rule"),
    ("ssh6-out-to-ru", "out", eth(IPv6(src=cases.SRV6, dst=cases.RU6) /
                                  TCP(sport=40000, dport=2222)),
     "mgmt-to-prohibited", "drop", "rule"),
    ("ssh-out-to-us", "out", eth(IP(src=cases.SRV4, dst=cases.US4) /
                                 TCP(sport=40000, dport=22)),
     None, "allow", None),
    ("ssh6-out-to-de", "out", eth(IPv6(src=cases.SRV6, dst=cases.DE6) /
                                  TCP(sport=40000, dport=22)),
     None, "allow", None),
    ("https-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                   TCP(sport=40000, dport=443)),
     None, "allow", None),
    ("quic-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                  UDP(sport=40000, dport=443)),
     "mgmt-to-prohibited", "drop", "rule"),
    ("wireguard-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                       UDP(sport=40000, dport=51821)),
     "vpn-to-prohibited", "drop", "rule"),
    ("gre-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4,
                                    proto=47) / (tunframes.gre_hdr(0x0800) +
                                                 bytes(IP(src=cases.SRV4,
                                                          dst=cases.US4)))),
     "tunnels-to-prohibited", "drop", "rule"),
    # Item 8: services the list missed.
    ("quic-in-from-cn", "in", eth(IP(src=cases.CN4, dst=cases.SRV4) /
                                  UDP(sport=40000, dport=443)),
     "mgmt-from-prohibited", "drop", "rule"),
    ("ipmi-in-from-unknown", "in", eth(IP(src=cases.UNK4, dst=cases.SRV4) /
                                       UDP(sport=40000, dport=623)),
     "mgmt-from-prohibited", "drop", "rule"),
    ("kubelet-in-from-ru", "in", eth(IP(src=cases.RU4, dst=cases.SRV4) /
                                     TCP(sport=40000, dport=10250)),
     "mgmt-from-prohibited", "drop", "rule"),
    # An opened tunnel is judged by its inside (here no L4: "other"),
    # from a prohibited source (the outer one).
    ("geneve-in-from-cn", "in", eth(tunframes.geneve(
        cases.CN4, IP(src=cases.US4, dst=cases.SRV4), eth=False)),
     "tunnels-from-prohibited", "drop", "rule"),
    ("teredo-relay-in-from-cn", "in", eth(tunframes.teredo(
        cases.CN4, IPv6(src=cases.US6, dst=tunframes.TEREDO_CLIENT))),
     "tunnels-from-prohibited", "drop", "rule"),
    ("teredo-relay-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                          UDP(sport=3544, dport=40000) /
                                          IPv6(src=cases.US6,
                                               dst=cases.US6)),
     "tunnels-to-prohibited", "drop", "rule"),
    ("teredo-relay-in-from-us", "in", eth(tunframes.teredo(
        cases.US4, IPv6(src=cases.US6, dst=tunframes.TEREDO_CLIENT))),
     None, "allow", None),
    ("quic-in-from-us", "in", eth(IP(src=cases.US4, dst=cases.SRV4) /
                                  UDP(sport=40000, dport=443)),
     None, "allow", None),
]


def _check(workdir, conf, table, tag):
    for direction in ("in", "out"):
        rows = [t for t in table if t[1] == direction]
        recs, _, _ = dplib.run_replay(workdir, conf, [t[2] for t in rows],
                                      "%s-%s" % (tag, direction),
                                      direction=direction)
        assert len(recs) == len(rows)
        for (name, _, _, rule, action, reason), r in zip(rows, recs):
            got = (r["rule"], r["action"], r.get("reason"))
            assert got == (rule or "(default)", action, reason), (name, r)


def test_shipped_replay(cordon_dp, geodb, tmp_path):
    conf = shipped_conf(str(tmp_path / "shipped.conf"))
    _check(str(tmp_path), conf, SHIPPED, "shipped")


# Item 10: with an identity group, the gate judges inbound flows only.
IDENT = [
    ("ssh-out-to-us", "out", eth(IP(src=cases.SRV4, dst=cases.US4) /
                                 TCP(sport=40000, dport=22)),
     None, "allow", None),
    ("rdp6-out-to-de", "out", eth(IPv6(src=cases.SRV6, dst=cases.DE6) /
                                  TCP(sport=40000, dport=3389)),
     None, "allow", None),
    ("ssh-out-to-cn", "out", eth(IP(src=cases.SRV4, dst=cases.CN4) /
                                 TCP(sport=40000, dport=22)),
     "mgmt-to-prohibited", "drop", "rule"),
    ("ssh-in-from-us", "in", eth(IP(src=cases.US4, dst=cases.SRV4) /
                                 TCP(sport=40000, dport=22)),
     "(default)", "drop", "no-session"),
    # A later fragment follows its first one (issue 13); alone, dropped.
    ("ssh-frag-out-first", "out", eth(IP(src=cases.SRV4, dst=cases.US4,
                                         flags="MF", id=77, proto=6) /
                                      TCP(sport=40000, dport=22) /
                                      (b"\x00" * 4)),
     None, "allow", None),
    ("ssh-frag-out", "out", eth(IP(src=cases.SRV4, dst=cases.US4, flags=0,
                                   id=77, frag=3, proto=6) / (b"\x00" * 16)),
     None, "allow", None),
    ("ssh-frag-out-alone", "out", eth(IP(src=cases.SRV4, dst=cases.US4,
                                         flags=0, id=78, frag=3, proto=6) /
                                      (b"\x00" * 16)),
     "(default)", "drop", "frag-no-first"),
]


@pytest.mark.parametrize("direction", ["in", "any"])
def test_shipped_identity_gate_replay(cordon_dp, geodb, tmp_path, direction):
    extra = IDENTITY
    table = IDENT
    if direction == "any":
        extra = IDENTITY.replace('services = [ "ssh", "rdp" ];',
                                 'services = [ "ssh", "rdp" ]; '
                                 'direction = "any";')
        table = [t if t[1] != "out" or t[0] in ("ssh-out-to-cn",
                                                "ssh-frag-out-alone") else
                 t[:3] + ("(default)", "drop", "no-session") for t in IDENT]
        # A session is looked for before any rule: no-session first.
        table = [t if t[0] != "ssh-out-to-cn" else
                 t[:3] + ("(default)", "drop", "no-session") for t in table]
    conf = shipped_conf(str(tmp_path / "ident.conf"), extra)
    _check(str(tmp_path), conf, table, "ident-" + direction)
