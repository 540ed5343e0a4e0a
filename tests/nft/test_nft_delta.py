"""Deltas of the nftables backend (docs/nftables.md, "Deltas"): a batch
that changes the table in place must leave exactly what a whole
replacement of the same revision leaves, must be refused whole, and must
give way to a whole replacement when the ruleset changed under it.

tests/tools/nftload (the library cordond uses) in a namespace of its
own; the listings are compared as `nft -j list table` prints them.
"""
import json
import os
import random
import shutil
import subprocess

import pytest

from test_nft import normalize

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
FIXTURES = os.environ.get("CORDON_FIXTURES", os.path.join(BUILD, "fixtures"))
NFTLOAD = os.path.join(BUILD, "tools", "nftload")
REALDB = os.path.join(ROOT, ".cache", "geo", "geo-whois-asn-country.mmdb")
NS = "cnft-delta"

# One rule's action and services change.
ONE_RULE = ('services = [ "rdp", "https" ];\n\t\tdirection = "in";\n'
            '\t\taction = "drop";',
            'services = [ "https" ];\n\t\tdirection = "in";\n'
            '\t\taction = "reject";')
# A rule's sources change: its region set goes, another comes.
NEW_SET = ('src = [ "unknown" ];', 'src = [ "unknown", "KP" ];')
# Overrides a geo reload brings: a range moved out of a region, one
# split, one that now touches a region's range (merged with it), IPv6.
OVERRIDES = (
    ('{ prefix = "198.51.100.0/24";   country = "CN"; }',
     '{ prefix = "198.51.100.0/24";   country = "US"; }'),
    ('{ prefix = "192.0.2.0/24";      country = "US"; }',
     '{ prefix = "192.0.2.0/24";      country = "US"; },\n'
     '\t\t{ prefix = "192.0.2.0/25";      country = "RU"; },\n'
     '\t\t{ prefix = "203.0.112.0/24";    country = "KP"; }'),
    ('{ prefix = "2001:db8:2::/48";   country = "DE"; }',
     '{ prefix = "2001:db8:2::/48";   country = "IR"; }'),
    ('{ prefix = "2001:db8:1::/48";   country = "CN"; }',
     '{ prefix = "2001:db8:1::/48";   country = "unknown"; }'),
)


def ns(*args, check=True):
    r = subprocess.run(["ip", "netns", "exec", NS] + list(args),
                       capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def canon(doc):
    """The table as normalize() leaves it: sets in name order."""
    return normalize(doc)


def listing():
    return canon(json.loads(ns("nft", "-j", "list", "table", "inet",
                               "cordon").stdout))


def apply(conf, *args, check=True):
    """nftload apply CONF ARGS: the batches' lines as dicts."""
    r = ns(NFTLOAD, "apply", conf, "-R", *args, check=check)
    out = []
    for ln in r.stdout.splitlines():
        w = ln.split()
        if w and w[0] in ("load", "replace", "commit", "reload"):
            out.append(dict([("what", w[0])] +
                            [kv.split("=", 1) for kv in w[1:]]))
        elif w and w[0] == "refused":
            out.append({"what": "refused", "kind": w[1].rstrip(":"),
                        "line": ln})
    return out


def whole(conf):
    """CONF's table as a whole replacement leaves it."""
    ns(NFTLOAD, "remove")
    apply(conf, "-F")
    return listing()


@pytest.fixture(scope="module")
def confs():
    if not os.access(NFTLOAD, os.X_OK):
        pytest.fail("no %s" % NFTLOAD)
    if not os.path.exists(os.path.join(FIXTURES, "flat.mmdb")):
        pytest.fail("no test databases in %s" % FIXTURES)
    d = os.path.join(BUILD, "test-logs", "nft-delta")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(HERE, "nft.conf")) as f:
        base = f.read().replace("@FIXTURES@", FIXTURES)
    reload = base
    for a, b in OVERRIDES:
        assert a in reload
        reload = reload.replace(a, b)
    texts = {"base": base,
             "one-rule": base.replace(*ONE_RULE),
             "new-set": base.replace(*ONE_RULE).replace(*NEW_SET),
             "reload": reload}
    assert texts["one-rule"] != base and texts["new-set"] != \
        texts["one-rule"]
    if os.path.exists(REALDB):
        real = base.replace(os.path.join(FIXTURES, "flat.mmdb"), REALDB)
        texts["real"] = real
        # A few hundred more prefixes change country, as a new release.
        rnd = random.Random(16)
        extra = "".join(
            '\t\t{ prefix = "%d.%d.%d.0/24"; country = "%s"; },\n' % (
                rnd.randint(1, 223), rnd.randint(0, 255),
                rnd.randint(0, 255), rnd.choice(["CN", "US", "unknown"]))
            for _ in range(300))
        extra = "\n".join(sorted(set(extra.splitlines()))) + "\n"
        texts["real-reload"] = reload.replace(
            os.path.join(FIXTURES, "flat.mmdb"), REALDB).replace(
            "overrides = (\n", "overrides = (\n" + extra)
    paths = {}
    for k, t in texts.items():
        paths[k] = os.path.join(d, k + ".conf")
        with open(paths[k], "w") as f:
            f.write(t)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NS], check=True)
    yield paths
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def test_commit_delta_equals_whole_replacement(confs):
    ns(NFTLOAD, "remove")
    got = apply(confs["base"], "-K", confs["one-rule"], "-K",
                confs["new-set"])
    assert [b["kind"] for b in got] == ["full", "delta", "delta"], got
    # A changed rule does not resend the region sets.
    assert int(got[1]["elems"]) < 20 and got[1]["dels"] == "0", got
    delta = listing()
    assert delta == whole(confs["new-set"])
    # And back: the set the rule no longer uses is gone.
    got = apply(confs["new-set"], "-K", confs["base"])
    assert [b["kind"] for b in got] == ["full", "delta"], got
    assert listing() == whole(confs["base"])


def test_geo_reload_delta_equals_whole_replacement(confs):
    ns(NFTLOAD, "remove")
    got = apply(confs["base"], "-N", confs["reload"])
    assert [b["kind"] for b in got] == ["full", "delta"], got
    assert int(got[1]["dels"]) > 0, got
    assert int(got[1]["elems"]) > int(got[1]["dels"]), got
    assert listing() == whole(confs["reload"])


def test_geo_reload_delta_real_database(confs):
    if "real" not in confs:
        pytest.skip("no %s (make deps)" % REALDB)
    ns(NFTLOAD, "remove")
    got = apply(confs["real"], "-N", confs["real-reload"])
    assert [b["kind"] for b in got] == ["full", "delta"], got
    # Only the changed ranges went: a small part of the sets.
    assert 0 < int(got[1]["dels"]) < int(got[0]["elems"]) // 20, got
    assert int(got[1]["elems"]) < int(got[0]["elems"]) // 10, got
    after = listing()
    assert after == whole(confs["real-reload"])
    # And back to the first release.
    apply(confs["real-reload"], "-N", confs["real"])
    assert listing() == whole(confs["real"])


def test_refused_delta_leaves_the_previous_ruleset(confs):
    ns(NFTLOAD, "remove")
    dump = os.path.join(BUILD, "test-logs", "nft-delta", "dumps.json")
    if os.path.exists(dump):
        os.unlink(dump)
    got = apply(confs["base"], "-X", "-E",
                "nft -j list table inet cordon >>%s" % dump,
                "-K", confs["one-rule"], "-K", confs["one-rule"])
    # The delta carrying a bad element is refused whole; the record is
    # then not trusted: the next batch replaces the whole table.
    assert [b["kind"] for b in got] == ["full", "delta", "full"], got
    assert "set ports_all" in got[1]["line"], got
    with open(dump) as f:
        before, after_refusal = [canon(json.loads(ln)) for ln in f]
    assert after_refusal == before
    assert listing() == whole(confs["one-rule"])


@pytest.mark.parametrize("change", [
    "nft add table inet other",
    "nft flush ruleset",
    "nft delete table inet cordon",
    "nft flush chain inet cordon classify",
])
def test_changed_ruleset_gets_a_whole_replacement(confs, change):
    ns(NFTLOAD, "remove")
    got = apply(confs["base"], "-E", change, "-K", confs["one-rule"])
    assert [b["kind"] for b in got] == ["full", "fallback"], got
    assert listing() == whole(confs["one-rule"])
    ns("nft", "delete", "table", "inet", "other", check=False)


def test_sessions_stay_through_a_delta(confs):
    ns(NFTLOAD, "remove")
    got = apply(confs["base"], "-s", "192.0.2.10,22,300", "-K",
                confs["one-rule"])
    # Our own session batch does not make the record stale.
    assert [b["kind"] for b in got] == ["full", "delta"], got
    s = json.loads(ns("nft", "-j", "list", "set", "inet", "cordon",
                      "sessions_v4").stdout)
    elems = [i["set"] for i in s["nftables"] if "set" in i][0]["elem"]
    assert len(elems) == 1 and "192.0.2.10" in json.dumps(elems), elems
