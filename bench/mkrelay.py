#!/usr/bin/python3
"""mkrelay.py ROOT WORK PCAP...

The two configs of the relay benchmark (bench/relay.sh), from
bench/bench.conf and the shipped policy, into WORK:

  bench-plain.conf  no relay inspection: the shipped policy without its
                    `via` rule, no relay classes, VXLAN, GENEVE and
                    Teredo ports off, tunnel depth 1.
  bench-relay.conf  all of it: the shipped policy (its `via` rule), two
                    relay classes from prefix lists, rules first that
                    match them in `origin` and `via`, the default tunnel
                    ports and depth spelled out, a larger fragment table.
  bench-relay-hit.conf  the same, with every 20th source of the captures
                    in class "tor" too (host entries: /32, /128): 5% of
                    the traffic takes the classes' sets and the deeper
                    table walks of host entries.

Class "tor" is shaped like an exit list: 1500 IPv4 and 400 IPv6 host
addresses and 1000 /24s, drawn at random (the captures' sources are in
it only by chance); class "vpn" 500 random /20s and 200 IPv6 /40s.
"""
import ipaddress
import os
import random
import re
import struct
import sys

MGMT = '[ "ssh", "rdp", "winrm", "snmp", "https-admin" ]'
RELAY_RULES = """
	{ name = "mgmt-from-tor"; origin = [ "class:tor" ];
	  services = %s; direction = "in"; action = "drop"; log = true; },
	{ name = "mgmt-via-relay"; via = [ "class:vpn", "class:tor" ];
	  services = %s; direction = "in"; action = "drop"; log = true; },
""" % (MGMT, MGMT)


def sources(path):
    """The source addresses of a capture's frames (untunnelled)."""
    out = []
    with open(path, "rb") as f:
        f.read(24)
        while True:
            h = f.read(16)
            if len(h) < 16:
                return out
            n = struct.unpack("<IIII", h)[2]
            fr = f.read(n)
            et = fr[12:14]
            if et == b"\x08\x00":
                out.append(ipaddress.IPv4Address(fr[26:30]))
            elif et == b"\x86\xdd":
                out.append(ipaddress.IPv6Address(fr[22:38]))


def class_files(work, pcaps):
    rng = random.Random(13)
    tor = []
    for _ in range(1500):
        tor.append("%d.%d.%d.%d" % (rng.choice([23, 45, 51, 62, 80, 91,
                                                185, 195]),
                                    rng.randrange(256), rng.randrange(256),
                                    rng.randrange(1, 255)))
    for _ in range(400):
        top = rng.choice([0x2001, 0x2a00, 0x2a01, 0x2600, 0x2400])
        tor.append(str(ipaddress.IPv6Address((top << 112) |
                                             rng.getrandbits(112))))
    for _ in range(1000):
        a = rng.choice([23, 45, 51, 62, 80, 91, 103, 146, 185, 195])
        tor.append("%d.%d.%d.0/24" % (a, rng.randrange(256),
                                      rng.randrange(256)))
    vpn = []
    for _ in range(500):
        a = rng.choice([5, 31, 37, 46, 89, 104, 141, 172, 176, 198])
        vpn.append("%d.%d.%d.0/20" % (a, rng.randrange(256),
                                      rng.randrange(16) << 4))
    for _ in range(200):
        top = rng.choice([0x2a00, 0x2a01, 0x2600, 0x2400])
        vpn.append("%x:%x:%x00::/40" % (top, rng.randrange(65536),
                                        rng.randrange(256)))
    hit = tor + ["%s" % a for p in pcaps for a in sources(p)[::20]]
    for name, lines in (("tor", tor), ("tor-hit", hit), ("vpn", vpn)):
        with open(os.path.join(work, name + ".txt"), "w") as f:
            f.write("\n".join(sorted(set(lines))) + "\n")


def policies(root, work):
    with open(os.path.join(root, "config/policy.conf")) as f:
        text = f.read()
    # The rule's block: its opening brace, comments, name, to its end.
    via = (r'\t\{\n(\t\t#[^\n]*\n)*\t\tname = "mgmt-via-prohibited";'
           r'.*?\n\t\},\n')
    plain, n = re.subn(via, "", text, flags=re.S)
    assert n == 1, "mgmt-via-prohibited not found in config/policy.conf"
    relay, n = re.subn(r"^rules = \(\n", "rules = (" + RELAY_RULES, text,
                       flags=re.M)
    assert n == 1, "rules list not found in config/policy.conf"
    for name, t in (("plain", plain), ("relay", relay)):
        with open(os.path.join(work, "policy-%s.conf" % name), "w") as f:
            f.write(t)


def configs(root, work):
    # @include resolves against the file's folder, even for absolute
    # paths: every path relative to WORK.
    up = os.path.relpath(root, work)
    with open(os.path.join(root, "bench/bench.conf")) as f:
        base = f.read().replace('"../', '"%s/' % up)
    tun = "tunnels: { depth = %d; vxlan_port = %d; geneve_port = %d;" \
          " teredo_port = %d; };\n"
    for name in ("plain", "relay", "relay-hit"):
        t = base.replace("%s/config/policy.conf" % up,
                         "policy-%s.conf" % name[:5])
        if name != "plain":
            t = t.replace("\tdatabases = (", "\tclasses = (\n"
                          '\t\t{ name = "tor"; prefixes = "%s.txt"; },\n'
                          '\t\t{ name = "vpn"; prefixes = "vpn.txt"; }\n'
                          "\t);\n\tdatabases = (" % name.replace(
                              "relay", "tor"), 1)
            t = t.replace("burst = 32;", "burst = 32;\n\tfrag_entries = "
                          "16384;\n\tfrag_timeout_ms = 2000;", 1)
            t += tun % (3, 4789, 6081, 3544)
        else:
            t += tun % (1, 0, 0, 0)
        with open(os.path.join(work, "bench-%s.conf" % name), "w") as f:
            f.write(t)


def main():
    root, work = sys.argv[1], sys.argv[2]
    class_files(work, sys.argv[3:])
    policies(root, work)
    configs(root, work)


if __name__ == "__main__":
    main()
