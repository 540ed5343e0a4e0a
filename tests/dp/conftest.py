"""Fixtures of the fast-path suite.

The binary is $CORDON_DP (default build/cordon-dp, relative to the repo
root), the real database $CORDON_GEODB (default
.cache/geo/geo-whois-asn-country.mmdb).  Each live scenario starts
cordon-dp once per session; the tests then assert on its pcaps and
counters.  Replay runs are cached per session too, so that the ASan run
(`-k replay`) stays short.
"""
import os
import subprocess

import pytest

import cases
import dplib


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "known_bug(desc): a test that fails because of a bug "
        "in cordon-dp, described in the marker; it is left failing on "
        "purpose until the bug is fixed")


@pytest.fixture(scope="session", autouse=True)
def dp_user():
    """The user cordon-dp's sandbox takes (cordon-dp(8), SANDBOX):
    cordond makes it, these tests start cordon-dp themselves."""
    if subprocess.run(["id", "-u", "cordon-dp"],
                      capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--user-group",
                        "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", "cordon-dp"],
                       capture_output=True)
    return int(subprocess.run(["id", "-u", "cordon-dp"], check=True,
                              capture_output=True).stdout)


@pytest.fixture(scope="session")
def cordon_dp():
    path = dplib.cordon_dp_path()
    if not os.access(path, os.X_OK):
        pytest.fail("no cordon-dp binary at %s (build it, or set "
                    "CORDON_DP)" % path)
    return path


@pytest.fixture(scope="session")
def geodb():
    path = dplib.geodb_path()
    if not os.path.exists(path):
        pytest.fail("real geo database missing: %s" % path)
    return path


@pytest.fixture(scope="session")
def mmdb_fixtures(tmp_path_factory):
    """Folder with the small test MMDBs of tests/fixtures/mkmmdb.pl."""
    d = os.environ.get("CORDON_FIXTURES")
    if d and os.path.exists(os.path.join(d, "country.mmdb")):
        return d
    d = str(tmp_path_factory.mktemp("mmdb"))
    subprocess.run(["perl", os.path.join(dplib.ROOT,
                                         "tests/fixtures/mkmmdb.pl"), d],
                   check=True, capture_output=True)
    return d


@pytest.fixture
def render_conf(tmp_path):
    """render_conf(name="test.conf", **kw) writes a config into tmp_path;
    see dplib.render_conf for the keywords."""
    def render(name="test.conf", **kw):
        return dplib.render_conf(str(tmp_path / name), **kw)
    return render


class Scenario:
    """A policy, its cases, and (lazily) one live run and replay runs."""

    def __init__(self, workdir, conf, cases_, ports, peers, nexthops,
                 rule_names, dst_geo):
        self.workdir = workdir
        self.conf = conf
        self.cases = cases_
        self.ports = ports
        self.peers = peers
        self.nexthops = nexthops
        self.rule_names = rule_names
        self.dst_geo = dst_geo
        self._live = None
        self._replay = {}

    def port_cases(self, port):
        return [c for c in self.cases if c.port == port]

    def direction(self, port):
        role = [p["role"] for p in self.ports if p["name"] == port][0]
        return "in" if role == "outside" else "out"

    @property
    def live(self):
        if self._live is None:
            frames = {p["name"]: [c.frame for c in self.port_cases(p["name"])]
                      for p in self.ports}
            devices = {p["name"]: p["device"] for p in self.ports}
            d = os.path.join(self.workdir, "live")
            os.makedirs(d, exist_ok=True)
            self._live = dplib.run_live(d, self.conf, frames, devices)
        return self._live

    def replay(self, port):
        """(records, stats) of replaying PORT's capture in its direction."""
        if port not in self._replay:
            recs, _, st = dplib.run_replay(
                self.workdir, self.conf,
                [c.frame for c in self.port_cases(port)], port,
                direction=self.direction(port), stats=True)
            self._replay[port] = (recs, st)
        return self._replay[port]


def _scenario(tmp_path_factory, tag, ports, peers, nexthops, rules, cases_,
              **kw):
    d = str(tmp_path_factory.mktemp(tag))
    conf = dplib.render_conf(os.path.join(d, "cordon.conf"), ports=ports,
                             rules=rules, nexthops=list(nexthops.values()),
                             overrides=cases.OVERRIDES, **kw)
    names = [r["name"] for r in rules]
    dst_geo = any("dst" in r for r in rules)
    return Scenario(d, conf, cases_, ports, peers, nexthops, names, dst_geo)


@pytest.fixture(scope="session")
def scen_a(tmp_path_factory, cordon_dp, geodb):
    return _scenario(tmp_path_factory, "scenA", cases.A_PORTS, cases.A_PEERS,
                     cases.A_NEXTHOPS, cases.A_RULES, cases.scenario_a())


@pytest.fixture(scope="session")
def scen_b(tmp_path_factory, cordon_dp, geodb):
    return _scenario(tmp_path_factory, "scenB", cases.B_PORTS, cases.B_PEERS,
                     {}, cases.B_RULES, cases.scenario_b(),
                     default=("reject", True), non_ip="drop")


@pytest.fixture(scope="session")
def scen_ident(tmp_path_factory, cordon_dp, geodb):
    """Identity on ssh; cordon-dp alone has no sessions, so every ssh
    flow gets the unidentified action (drop, no-session)."""
    return _scenario(tmp_path_factory, "scenIdent", cases.ID_PORTS,
                     cases.ID_PEERS, {}, cases.ID_RULES,
                     cases.scenario_ident(), extra=[cases.ID_CONF])


@pytest.fixture(scope="session")
def scen_bugs(tmp_path_factory, cordon_dp, geodb):
    """Scenario A's policy with the known-bug cases of cases.py."""
    return _scenario(tmp_path_factory, "scenBugs", cases.A_PORTS,
                     cases.A_PEERS, cases.A_NEXTHOPS, cases.A_RULES,
                     cases.scenario_bugs())
