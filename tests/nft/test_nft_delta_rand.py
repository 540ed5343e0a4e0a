"""A randomized differential test of the nftables deltas: seeded random
sequences of policy edits (rules added, removed, renamed; region lists,
services, actions, the default changed) and geo reloads (override ranges
moved between countries: adjacent, nested, split and merged, IPv4 and
IPv6, from /1 to /32 and /128, at the ends of the address space), each
applied as a delta by one nftload; after every step the table must be
exactly what a whole replacement of the same configuration leaves.

CORDON_NFT_RAND_SEQS (default 6) sequences from CORDON_NFT_RAND_SEED
(default 16), over the real database with CORDON_NFT_RAND_REAL=1; a failure names the seed and the step, and leaves the
configurations in build/test-logs/nft-delta-rand.
"""
import ipaddress
import json
import os
import random
import shutil
import subprocess

import pytest

import test_nft_delta as d

NS = d.NS
CCS = ["CN", "RU", "KP", "IR", "US", "DE", "unknown"]
V4_EDGES = ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/32", "255.255.255.255/32",
            "255.255.255.0/24", "0.0.0.0/8", "10.0.0.0/8", "192.0.2.0/24",
            "192.0.2.0/25", "192.0.2.128/25", "192.0.3.0/24",
            "198.51.100.0/24", "198.51.100.7/32", "198.51.101.0/24",
            "203.0.113.0/24", "203.0.113.255/32"]
V6_EDGES = ["8000::/1", "2001:db8::/32", "2001:db8:1::/48",
            "2001:db8:1::/49", "2001:db8:1:8000::/49", "2001:db8:2::/48",
            "2001:db8:1::1/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
            "fe80::/10", "2001:db8:3::/48", "2a00::/12"]


def rand_v4(r):
    if r.random() < 0.5:
        return r.choice(V4_EDGES)
    plen = r.choice([8, 12, 16, 20, 23, 24, 25, 28, 31, 32])
    base = r.choice([0xc0000200, 0xc6336400, 0xcb007100, 0x0a000000,
                     r.getrandbits(32)])
    net = ipaddress.ip_network((base + r.randint(-4, 4) * (1 << (32 - plen)))
                               % (1 << 32) >> (32 - plen) << (32 - plen))
    return "%s/%d" % (net.network_address, plen)


def rand_v6(r):
    if r.random() < 0.5:
        return r.choice(V6_EDGES)
    plen = r.choice([16, 32, 47, 48, 49, 64, 100, 127, 128])
    base = 0x20010db8 << 96 | r.getrandbits(40) << 56
    a = base >> (128 - plen) << (128 - plen)
    return "%s/%d" % (ipaddress.IPv6Address(a), plen)


class Policy:
    def __init__(self, r):
        self.r = r
        ovr = dict((rand_v4(r) if r.random() < 0.6 else rand_v6(r),
                    r.choice(CCS)) for _ in range(r.randint(2, 8)))
        self.ovr = list(ovr.items())
        self.regions = {"prohibited": sorted(r.sample(CCS[:4], 2)),
                        "west": ["US", "DE"]}
        self.ports = {"ssh": ["22"], "rdp": ["3389"],
                      "https": ["443", "8443"]}
        self.rules = [self.rand_rule() for _ in range(r.randint(1, 4))]
        self.default = "allow"
        self.n = 0

    def rand_src(self):
        r = self.r
        pool = ["prohibited", "west", "unknown", "CN", "RU", "US", "KP"]
        return sorted(set(r.sample(pool, r.randint(1, 3))))

    def rand_rule(self):
        r = self.r
        rule = {"name": "r%d" % r.getrandbits(20),
                "direction": r.choice(["in", "any", "out"]),
                "action": r.choice(["drop", "reject", "allow", "reroute"])}
        if r.random() < 0.85:
            rule["src"] = self.rand_src()
        k = r.random()
        if k < 0.6:
            rule["services"] = sorted(r.sample(["ssh", "rdp", "https"],
                                               r.randint(1, 3)))
        elif k < 0.75:
            rule["ports"] = sorted({str(r.randint(1, 65535))
                                    for _ in range(r.randint(1, 3))})
        elif k < 0.9:
            rule["proto"] = sorted(r.sample(["tcp", "udp", "icmp", "other"],
                                            r.randint(1, 3)))
        if r.random() < 0.3:
            rule["dst"] = self.rand_src()
        return rule

    def mutate(self):
        """One random edit; True when the geo tables change."""
        r = self.r
        k = r.choice(["add", "del", "rename", "src", "svc", "action",
                      "region", "ports", "default", "geo", "geo", "geo",
                      "geo-move", "geo-del"])
        if k == "add" or (k == "del" and len(self.rules) < 2):
            self.rules.insert(r.randint(0, len(self.rules)),
                              self.rand_rule())
        elif k == "del":
            self.rules.pop(r.randrange(len(self.rules)))
        elif k == "rename":
            r.choice(self.rules)["name"] = "r%d" % r.getrandbits(20)
        elif k == "src":
            r.choice(self.rules)["src"] = self.rand_src()
        elif k == "svc":
            ru = r.choice(self.rules)
            for f in ("services", "ports", "proto"):
                ru.pop(f, None)
            ru["services"] = sorted(
                r.sample(["ssh", "rdp", "https"], r.randint(1, 3)))
        elif k == "action":
            r.choice(self.rules)["action"] = r.choice(
                ["drop", "reject", "allow", "reroute"])
        elif k == "region":
            n = r.choice(["prohibited", "west"])
            self.regions[n] = sorted(r.sample(CCS[:6], r.randint(1, 4)))
        elif k == "ports":
            s = r.choice(["ssh", "rdp", "https"])
            self.ports[s] = sorted({str(r.randint(1, 65535))
                                    for _ in range(r.randint(1, 3))})
        elif k == "default":
            self.default = r.choice(["allow", "drop", "reject"])
        elif k == "geo":
            pfx = rand_v4(r) if r.random() < 0.6 else rand_v6(r)
            self.ovr = [o for o in self.ovr if o[0] != pfx]
            self.ovr.insert(r.randint(0, len(self.ovr)),
                            (pfx, r.choice(CCS)))
            return True
        elif k == "geo-move" and self.ovr:
            i = r.randrange(len(self.ovr))
            self.ovr[i] = (self.ovr[i][0], r.choice(CCS))
            return True
        elif k == "geo-del" and self.ovr:
            self.ovr.pop(r.randrange(len(self.ovr)))
            return True
        return False

    def text(self, fixtures):
        def lst(v):
            return "[ %s ]" % ", ".join('"%s"' % x for x in v)
        o = ",\n".join('\t\t{ prefix = "%s"; country = "%s"; }' % p
                       for p in self.ovr)
        out = ['backend = "nftables";',
               'geo:\n{\n\tdatabases = ( { file = "%s/flat.mmdb"; '
               'field = "country_code"; } );' % fixtures]
        out.append("\toverrides = (\n%s\n\t);\n};" % o if self.ovr
                   else "};")
        out.append("regions:\n{\n%s\n};" % "\n".join(
            "\t%s = %s;" % (k, lst(v)) for k, v in self.regions.items()))
        out.append('services:\n{\n\tssh = { proto = "tcp"; ports = %s; };\n'
                   '\trdp = { proto = [ "tcp", "udp" ]; ports = %s; };\n'
                   '\thttps = { proto = "tcp"; ports = %s; };\n};' % (
                       lst(self.ports["ssh"]), lst(self.ports["rdp"]),
                       lst(self.ports["https"])))
        rules = []
        for ru in self.rules:
            t = '\t{ name = "%s"; direction = "%s"; action = "%s";' % (
                ru["name"], ru["direction"], ru["action"])
            for f in ("src", "dst", "services", "ports", "proto"):
                if f in ru:
                    t += " %s = %s;" % (f, lst(ru[f]))
            if ru["action"] == "reroute":
                t += ' nexthop = "quarantine";'
            rules.append(t + " }")
        out.append("rules = (\n%s\n);" % ",\n".join(rules))
        out.append('default = { action = "%s"; };' % self.default)
        with open(os.path.join(d.HERE, "nft.conf")) as f:
            nft = f.read()
        out.append(nft[nft.index("dataplane:"):])
        text = "\n\n".join(out) + "\n"
        if os.environ.get("CORDON_NFT_RAND_REAL") and \
                os.path.exists(d.REALDB):
            text = text.replace(os.path.join(fixtures, "flat.mmdb"),
                                d.REALDB)
        return text


@pytest.fixture(scope="module")
def logdir():
    if not os.access(d.NFTLOAD, os.X_OK):
        pytest.fail("no %s" % d.NFTLOAD)
    if not os.path.exists(os.path.join(d.FIXTURES, "flat.mmdb")):
        pytest.fail("no test databases in %s" % d.FIXTURES)
    dr = os.path.join(d.BUILD, "test-logs", "nft-delta-rand")
    shutil.rmtree(dr, ignore_errors=True)
    os.makedirs(dr)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    yield dr
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def nosess(doc):
    """DOC without the session sets' elements (a whole replacement here
    has none); the count of those taken out."""
    n = 0
    for o in doc:
        st = o.get("set") if isinstance(o, dict) else None
        if st and st["name"].startswith("sessions_") and "elem" in st:
            n += len(st.pop("elem"))
    return doc, n


def whole(conf, *args):
    d.ns(d.NFTLOAD, "remove")
    d.apply(conf, "-F", *args)
    return d.listing()


def one_sequence(dr, seed, steps):
    r = random.Random(seed)
    mode = ["-H", "cnft-o"] if r.random() < 0.2 else []
    pol = Policy(r)
    paths, geo0, own = [], None, []
    for i in range(steps):
        if i > 0:
            geo = any([pol.mutate() for _ in range(r.randint(1, 3))])
        p = os.path.join(dr, "s%d-%d.conf" % (seed, i))
        with open(p, "w") as f:
            f.write(pol.text(d.FIXTURES))
        key = tuple(pol.ovr)
        if i == 0:
            geo0 = key
        # -K: the first tables; -N: the step's own.
        own.append(key != geo0 or r.random() < 0.3)
        paths.append(p)
    dump = os.path.join(dr, "s%d.dump" % seed)
    args = list(mode)
    if r.random() < 0.3:
        args += ["-s", "192.0.2.%d,22,300" % r.randint(1, 254)]
    args += ["-E", "nft -j list table inet cordon >>%s" % dump]
    for p, o in zip(paths[1:], own[1:]):
        args += ["-N" if o else "-K", p]
    d.ns(d.NFTLOAD, "remove")
    got = d.apply(paths[0], *args)
    kinds = [b.get("kind") for b in got]
    with open(dump) as f:
        seen = [d.canon(json.loads(ln)) for ln in f]
    seen.append(d.listing())
    nsess = 1 if "-s" in args else 0
    deltas = 0
    for i, p in enumerate(paths):
        want = whole(p, *mode)
        seen[i], n = nosess(seen[i])
        assert n == nsess, "seed %d step %d: sessions %d" % (seed, i, n)
        if i > 0 and kinds[i] == "delta":
            deltas += 1
        assert seen[i] == want, "seed %d step %d (%s, %s): delta " \
            "differs from a whole replacement" % (seed, i, p, kinds)
    return deltas


def test_random_sequences(logdir):
    seed0 = int(os.environ.get("CORDON_NFT_RAND_SEED", "16"))
    n = int(os.environ.get("CORDON_NFT_RAND_SEQS", "6"))
    total = 0
    for s in range(seed0, seed0 + n):
        total += one_sequence(logdir, s, 8)
    print("nft delta random: %d sequences, %d deltas compared" % (n, total))
    assert total > 0


@pytest.mark.parametrize("change", [
    # The fail-open one: a prohibited range taken out of our set.
    "nft delete element inet cordon geo_prohibited_v4 "
    "{ 198.51.100.0/24 }",
    "nft delete element inet cordon geo_prohibited_v6 "
    "{ 2001:db8:1::/48 }",
    "nft flush set inet cordon geo_prohibited_v4",
    "nft add element inet cordon geo_prohibited_v4 { 10.9.9.0/24 }",
    "nft delete rule inet cordon classify handle "
    "$(nft -a list chain inet cordon classify | "
    "sed -n 's/.*r1 v4.*# handle //p')",
])
def test_outside_change_inside_our_sets(logdir, change):
    """The generation pin catches a change inside one of our sets, not
    only to the table: the delta gives way to a whole replacement."""
    with open(os.path.join(d.HERE, "nft.conf")) as f:
        text = f.read().replace("@FIXTURES@", d.FIXTURES)
    a = os.path.join(logdir, "outside-a.conf")
    b = os.path.join(logdir, "outside-b.conf")
    with open(a, "w") as f:
        f.write(text)
    with open(b, "w") as f:
        f.write(text.replace('action = "reject";', 'action = "drop";'))
    d.ns(d.NFTLOAD, "remove")
    got = d.apply(a, "-E", change, "-K", b)
    assert [x["kind"] for x in got] == ["full", "fallback"], got
    assert d.listing() == whole(b)
