"""Offline replay (cordon-dp -r): per-packet verdict records, counters,
agreement with the live path, --geodb, --dir and the error cases.

Every test name contains "replay": tests/run.sh runs `-k replay` under the
ASan build, where no test may start DPDK.  Tests comparing with the live
path are named "live_vs_replay" and skip themselves there (the ASan
binary is only ever used for replay).
"""
import ipaddress
import json
import os
import shutil
import subprocess

import pytest

import cases
import dplib

SCEN_PORTS = [("scen_a", "outside0"), ("scen_a", "inside0"),
              ("scen_a", "quar0"), ("scen_b", "outside0"),
              ("scen_b", "inside0"), ("scen_b", "lonely0"),
              ("scen_ident", "outside0"), ("scen_ident", "inside0")]


@pytest.mark.parametrize("scen_name,port", SCEN_PORTS)
def test_replay_records(request, scen_name, port):
    """Each JSON line has exactly the fields and values the model says."""
    scen = request.getfixturevalue(scen_name)
    recs, _ = scen.replay(port)
    cs = scen.port_cases(port)
    assert len(recs) == len(cs)
    for n, (c, r) in enumerate(zip(cs, recs), 1):
        assert r == cases.expected_record(c, n, scen.dst_geo), c.name


@pytest.mark.parametrize("scen_name", ["scen_a", "scen_b", "scen_ident"])
def test_replay_counters(request, scen_name):
    """--stats-file of replay: the verdict counters, summed over the
    scenario's captures, match the model (replay knows no ports, so an
    allowed frame stays allowed)."""
    scen = request.getfixturevalue(scen_name)
    exp = cases.expected_stats(scen.cases, scen.rule_names, live=False)
    tot = None
    for p in scen.ports:
        _, st = scen.replay(p["name"])
        n = len(scen.port_cases(p["name"]))
        assert st["ports"] == {"capture": {
            "rx_packets": n,
            "rx_bytes": sum(len(c.frame) for c in scen.port_cases(
                p["name"])),
            "tx_packets": 0, "tx_bytes": 0, "tx_dropped": 0}}
        tot = _stats_sum(tot, st)
    for k in ("packets", "actions", "reasons", "rules", "countries"):
        assert tot[k] == exp[k], k


def _stats_sum(a, b):
    if a is None:
        return {k: (dict(v) if isinstance(v, dict) else v)
                for k, v in b.items()}
    a["packets"] += b["packets"]
    for k in ("actions", "reasons", "rules"):
        for n, v in b[k].items():
            a[k][n] += v
    for cc, v in b["countries"].items():
        e = a["countries"].setdefault(cc, {"packets": 0, "denied": 0})
        e["packets"] += v["packets"]
        e["denied"] += v["denied"]
    return a


def test_replay_prints_counters_after_verdicts(scen_a, tmp_path):
    """With --verdicts FILE, stdout has the counter report."""
    cs = scen_a.port_cases("outside0")[:5]
    _, p, _ = dplib.run_replay(str(tmp_path), scen_a.conf,
                               [c.frame for c in cs], "five")
    assert "packets: 5" in p.stdout
    assert "action allow" in p.stdout


def test_replay_verdicts_to_stdout(scen_a, tmp_path):
    """--verdicts - (and no --verdicts) writes the records to stdout."""
    cs = scen_a.port_cases("outside0")[:3]
    pcap = str(tmp_path / "three.pcap")
    dplib.pcap_write(pcap, [c.frame for c in cs])
    for extra in (["--verdicts", "-"], []):
        p = dplib.run_cmd(["-r", pcap, "-c", scen_a.conf] + extra)
        assert p.returncode == 0, p.stderr
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        assert [json.loads(ln)["n"] for ln in lines] == [1, 2, 3]
        assert "packets:" not in p.stdout


def test_replay_dir_out_changes_verdicts(scen_a, tmp_path):
    """The outside capture replayed as if it arrived on an inside port:
    direction-in rules stop matching, the direction-out one starts."""
    cs = [c for c in scen_a.port_cases("outside0") if c.parsed]
    recs, _, _ = dplib.run_replay(str(tmp_path), scen_a.conf,
                                  [c.frame for c in cs], "dirout",
                                  direction="out")
    by = {c.name: r for c, r in zip(cs, recs)}
    for name in ("v4-cn-ssh", "v4-ru-ssh", "v4-cn-https-8443",
                 "v4-unknown-ssh-syn", "v6-cn-ssh"):
        assert by[name]["action"] == "allow", name
        assert by[name]["rule"] == "(default)", name
    # Inbound to 192.0.2.80 (US): the outbound rule matches destinations.
    assert by["v4-us-ssh"]["action"] == "allow"
    recs_in, _ = scen_a.replay("outside0")
    assert recs_in[0]["n"] == 1


def test_replay_dir_default_is_in(scen_a, tmp_path):
    c = [c for c in scen_a.cases if c.name == "v4-cn-https-8443"][0]
    recs, _, _ = dplib.run_replay(str(tmp_path), scen_a.conf, [c.frame],
                                  "nodir")
    assert recs[0]["action"] == "drop"
    assert recs[0]["rule"] == "mgmt-prohibited-drop"


# --- replay versus live ---------------------------------------------------

def _live_outcome(scen, c):
    """What the live run did with case C, read from the pcaps only."""
    peer = scen.peers.get(c.port)
    tx = scen.live.tx
    if peer and c.frame in tx[peer]:
        return "allow"
    for port, frames in tx.items():
        for f in frames:
            if f == c.frame or len(f) < 14:
                continue
            if f[6:] == c.frame[6:] or (f[6:12] == c.frame[6:12] and
                                        f[12:14] == b"\x81\x00" and
                                        f[16:] == c.frame[12:]):
                return "reroute"
    from test_live import _answers
    if any(_answers(f, c.frame) for f in tx[c.port]):
        return "reject"
    return "nothing"


def _is_asan():
    if "asan" in dplib.cordon_dp_path():
        return True
    try:
        out = subprocess.run(["nm", "-D", dplib.cordon_dp_path()],
                             capture_output=True, text=True).stdout
    except OSError:
        return False
    return "__asan_init" in out


@pytest.mark.parametrize("scen_name,port", SCEN_PORTS)
def test_live_vs_replay_agree(request, scen_name, port):
    """Replay's action for each packet is what the live path did with it:
    allow = forwarded unchanged to the peer, reroute = sent to the next
    hop, reject = answered (or silently dropped when no reply may be
    sent), drop = sent nowhere."""
    if _is_asan():
        pytest.skip("live path not run with the sanitizer build")
    scen = request.getfixturevalue(scen_name)
    recs, _ = scen.replay(port)
    for c, r in zip(scen.port_cases(port), recs):
        live = _live_outcome(scen, c)
        act = r["action"]
        assert act == c.action, c.name
        if c.live_action != c.action:
            # Live differs only where it cannot carry out the verdict (no
            # port to go to, no reply to send): then it sends nothing.
            assert c.live_action == "drop" and live == "nothing", c.name
            continue
        if act == "drop":
            assert live == "nothing", c.name
        else:
            assert live == act, c.name


def test_replay_udp_first_fragment_regression(scen_bugs):
    """Regression (found by this suite; core/pkt/pkt_parse.c,
    pkt_l4): the first fragment of a UDP datagram (MF set, offset 0)
    carries the UDP length of the whole datagram, larger than the
    fragment's own IP payload; it was rejected as udp-bad-length, so
    fragmented UDP from an allowed source lost its first fragment.
    Expected: allow (rule "(default)", fragment "first")."""
    recs, _ = scen_bugs.replay("outside0")
    for n, (c, r) in enumerate(zip(scen_bugs.cases, recs), 1):
        if "udp" in c.name:
            assert r == cases.expected_record(c, n, scen_bugs.dst_geo), \
                c.name


# --- geolocation: the real database, --geodb and layering --------------------

GEO_ADDRS = ["192.0.2.33", "198.51.100.7", "198.51.100.100", "198.51.100.200",
             "203.0.113.9", "203.0.113.200", "2001:db8:1::7",
             "2001:db8:1:1::5", "2001:db8:2::5", "2001:db8:e::200",
             "2001:db8:ff::1"]
# The fixture databases hold the same data in stand-in unicast ranges
# (tests/fixtures/mkmmdb.pl): the documentation ranges above answer
# "documentation" whatever a database says.
FX_ADDRS = ["11.0.2.33", "12.51.100.7", "12.51.100.100", "12.51.100.200",
            "13.0.113.9", "13.0.113.200", "2a00:db8:1::7", "2a00:db8:1:1::5",
            "2a00:db8:2::5", "2a00:db8:e::200", "2a00:db8:ff::1",
            "14.0.0.1", "192.0.2.34"]


def _geo_frames(addrs=GEO_ADDRS):
    from scapy.all import IP, TCP, Ether, IPv6
    out = []
    for i, a in enumerate(addrs):
        L = IP if ipaddress.ip_address(a).version == 4 else IPv6
        dst = "192.0.2.80" if L is IP else "2001:db8:f::80"
        out.append(bytes(Ether(src=cases.CLI_MAC, dst=cases.SRV_MAC) /
                         L(src=a, dst=dst) / TCP(sport=41000 + i, dport=22)))
    return out


@pytest.fixture(scope="module")
def geo_conf(tmp_path_factory, geodb):
    """Real database, no overrides except 203.0.113.128/25 -> unknown, and
    one rule dropping ssh from prohibited sources."""
    d = tmp_path_factory.mktemp("geo")
    return str(d), dplib.render_conf(
        str(d / "geo.conf"), ports=cases.A_PORTS[:2],
        overrides=[("203.0.113.128/25", "unknown")],
        rules=[{"name": "ssh-prohibited", "src": ["prohibited"],
                "services": ["ssh"], "direction": "in", "action": "drop"}])


def _ccs(workdir, conf, tag, extra=(), addrs=GEO_ADDRS):
    recs, _, _ = dplib.run_replay(workdir, conf, _geo_frames(addrs), tag,
                                  extra=extra)
    return {a: (r["src_cc"], r["action"]) for a, r in zip(addrs, recs)}


def _mmdb_country(db, addr):
    p = subprocess.run(["mmdblookup", "-f", db, "-i", addr, "country_code"],
                       capture_output=True, text=True)
    for tok in p.stdout.split():
        if tok.startswith('"'):
            return tok.strip('"')
    return "--"


def test_replay_real_db_base_layer(geo_conf, geodb):
    """Without overrides the documentation ranges are "documentation",
    although the real database places them in AU and JP (issue 10 item
    3; libmaxminddb's mmdblookup shows it does); the override wins."""
    if shutil.which("mmdblookup") is None:
        pytest.skip("mmdblookup (mmdb-bin) not installed")
    d, conf = geo_conf
    got = _ccs(d, conf, "real")
    assert _mmdb_country(geodb, "198.51.100.7") not in ("--", "")
    for a in GEO_ADDRS:
        want = "documentation"
        if a == "203.0.113.200":
            want = "--"         # the config's override wins
        assert got[a][0] == want, a
        assert got[a][1] == "allow", a      # not a prohibited country


def test_replay_geodb_replaces_config_databases(geo_conf, mmdb_fixtures):
    """--geodb FILE (MaxMind layout, default field) replaces the real
    database of the config; the config's overrides still apply on top."""
    d, conf = geo_conf
    got = _ccs(d, conf, "fixture",
               ["--geodb", os.path.join(mmdb_fixtures, "country.mmdb")],
               addrs=FX_ADDRS)
    assert got == {
        "11.0.2.33": ("US", "allow"),
        "12.51.100.7": ("CN", "drop"),
        "12.51.100.100": ("CN", "drop"),
        "12.51.100.200": ("US", "allow"),
        "13.0.113.9": ("RU", "drop"),
        "13.0.113.200": ("RU", "drop"),
        "2a00:db8:1::7": ("CN", "drop"),
        "2a00:db8:1:1::5": ("CN", "drop"),
        "2a00:db8:2::5": ("DE", "allow"),
        "2a00:db8:e::200": ("--", "allow"),   # no record
        "2a00:db8:ff::1": ("--", "allow"),    # record without a country
        "14.0.0.1": ("--", "allow"),          # "XX" is no country
        "192.0.2.34": ("documentation", "allow"),  # the fixture says US
    }


def test_replay_geodb_layers_and_fields(geo_conf, mmdb_fixtures):
    """Two --geodb layers, each with its own --geo-field: the later layer
    wins where it has an answer."""
    d, conf = geo_conf
    got = _ccs(d, conf, "layers", [
        "--geodb", os.path.join(mmdb_fixtures, "flat.mmdb"),
        "--geo-field", "country_code",
        "--geodb", os.path.join(mmdb_fixtures, "layer2.mmdb"),
        "--geo-field", "country_code"], addrs=FX_ADDRS)
    assert got["12.51.100.7"] == ("JP", "allow")      # layer2 /26
    assert got["12.51.100.100"] == ("CN", "drop")     # flat only
    assert got["2a00:db8:1:1::5"] == ("FR", "allow")  # layer2 /64
    assert got["2a00:db8:1::7"] == ("CN", "drop")
    assert got["11.0.2.33"] == ("US", "allow")


def test_replay_geodb_wrong_field_is_unknown_or_refused(geo_conf,
                                                        mmdb_fixtures):
    """A database without the field yields no countries: cordon-dp either
    refuses it (fail closed) or classifies everything as unknown; it must
    never invent a country."""
    d, conf = geo_conf
    pcap = os.path.join(d, "geo-nofield.pcap")
    dplib.pcap_write(pcap, _geo_frames())
    p = dplib.run_cmd(["-r", pcap, "-c", conf, "--verdicts", "-",
                       "--geodb", os.path.join(mmdb_fixtures,
                                               "nofield.mmdb")])
    if p.returncode != 0:
        assert "nofield.mmdb" in p.stderr
        return
    for line in p.stdout.splitlines():
        r = json.loads(line)
        assert r["src_cc"] == "--" or r["src"] == "203.0.113.200"


# --- errors ----------------------------------------------------------------

def test_replay_missing_pcap(scen_a, tmp_path):
    missing = str(tmp_path / "no-such-capture.pcap")
    p = dplib.run_cmd(["-r", missing, "--verdicts",
                       str(tmp_path / "v.jsonl"), "-c", scen_a.conf])
    assert p.returncode != 0
    assert "no-such-capture.pcap" in p.stderr


def test_replay_non_ethernet_linktype(scen_a, tmp_path):
    """A DLT_RAW capture (IP without Ethernet) is refused, naming it."""
    from scapy.all import IP, TCP
    raw = str(tmp_path / "raw-ip.pcap")
    dplib.pcap_write(raw, [bytes(IP(src=cases.US4, dst=cases.SRV4) /
                                 TCP(dport=22))],
                     linktype=dplib.LINKTYPE_RAW)
    p = dplib.run_cmd(["-r", raw, "--verdicts", str(tmp_path / "v.jsonl"),
                       "-c", scen_a.conf])
    assert p.returncode != 0
    assert "raw-ip.pcap" in p.stderr
    assert "Ethernet" in p.stderr


def test_replay_garbage_pcap(scen_a, tmp_path):
    bad = tmp_path / "garbage.pcap"
    bad.write_bytes(b"this is not a capture file at all" * 4)
    p = dplib.run_cmd(["-r", str(bad), "-c", scen_a.conf])
    assert p.returncode != 0
    assert "garbage.pcap" in p.stderr


def test_replay_missing_geodb_option(scen_a, tmp_path):
    pcap = str(tmp_path / "one.pcap")
    dplib.pcap_write(pcap, [scen_a.cases[0].frame])
    p = dplib.run_cmd(["-r", pcap, "-c", scen_a.conf, "--geodb",
                       str(tmp_path / "missing-geo.mmdb")])
    assert p.returncode != 0
    assert "missing-geo.mmdb" in p.stderr
    assert p.stdout.strip() == ""


def test_replay_missing_config_database(tmp_path):
    """The config's own database missing: fail closed, naming it."""
    conf = dplib.render_conf(
        str(tmp_path / "nodb.conf"), ports=cases.A_PORTS[:2],
        databases=[(str(tmp_path / "gone-away.mmdb"), "country_code")])
    pcap = str(tmp_path / "one.pcap")
    dplib.pcap_write(pcap, [cases.scenario_a()[0].frame])
    p = dplib.run_cmd(["-r", pcap, "-c", conf])
    assert p.returncode != 0
    assert "gone-away.mmdb" in p.stderr


def test_replay_bad_dir(scen_a, tmp_path):
    pcap = str(tmp_path / "one.pcap")
    dplib.pcap_write(pcap, [scen_a.cases[0].frame])
    p = dplib.run_cmd(["-r", pcap, "-c", scen_a.conf, "--dir", "sideways"])
    assert p.returncode == 2
    assert "--dir" in p.stderr


def test_replay_empty_capture(scen_a, tmp_path):
    recs, p, st = dplib.run_replay(str(tmp_path), scen_a.conf, [], "empty",
                                   stats=True)
    assert recs == []
    assert st["packets"] == 0


def test_replay_asan_no_leak(scen_a, tmp_path):
    """Regression (found by this suite; dataplane/main.c, main): struct
    conf and struct policy were calloc'd and never freed, so under the
    ASan build LeakSanitizer failed every replay (exit 1).  Passes
    trivially with a non-sanitizer build."""
    pcap = str(tmp_path / "one.pcap")
    dplib.pcap_write(pcap, [scen_a.cases[0].frame])
    p = dplib.run_cmd(["-r", pcap, "--verdicts", str(tmp_path / "v.jsonl"),
                       "-c", scen_a.conf])
    assert "LeakSanitizer" not in p.stderr, p.stderr[-2000:]
    assert p.returncode == 0
