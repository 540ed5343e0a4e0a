"""cordon-dp --check: the effective policy of a good config, and
"file:line: message" with exit status 2 for a broken one."""
import os
import re

import pytest

import cases
import dplib

BASE = """\
# --check test config
@include "profiles/foreign-adversaries.conf"
geo:
{
	databases = ( { file = "@DB@"; field = "country_code"; } );
	overrides = (
		{ prefix = "192.0.2.0/24"; country = "US"; }
	);
};
services:
{
	ssh = { proto = "tcp"; ports = [ "22" ]; };
};
rules = (
	{ name = "r1"; src = [ "prohibited" ]; services = [ "ssh" ]; action = "drop"; }
);
default = { action = "allow"; log = false; };
non_ip = "allow";
dataplane:
{
	ports = (
		{ name = "outside0"; device = "net_pcap0"; role = "outside"; peer = "inside0"; },
		{ name = "inside0"; device = "net_pcap1"; role = "inside"; peer = "outside0"; }
	);
	next_hops = (
		{ name = "q"; port = "inside0"; mac = "02:00:00:00:00:99"; }
	);
};
"""

RULE = '{ name = "r1"; src = [ "prohibited" ]; services = [ "ssh" ]; ' \
       'action = "drop"; }'

# (id, text to replace, replacement, message the error must contain)
BROKEN = [
    ("unknown-service", '[ "ssh" ]; action', '[ "sshh" ]; action',
     'rule "r1": unknown service "sshh"'),
    ("reroute-without-nexthop", 'action = "drop"; }',
     'action = "reroute"; }', 'rule "r1": reroute needs a nexthop'),
    ("unknown-nexthop", 'action = "drop"; }',
     'action = "reroute"; nexthop = "nope"; }',
     'rule "r1": unknown next hop "nope"'),
    ("bad-action", 'action = "drop"; }', 'action = "explode"; }',
     'rule "r1": action must be allow, drop, reject or reroute, not '
     '"explode"'),
    ("unknown-region", '[ "prohibited" ]', '[ "mordor" ]',
     'rule "r1": unknown region or country "mordor"'),
    ("bad-prefix", '"192.0.2.0/24"', '"192.0.2.0/33"',
     'bad prefix "192.0.2.0/33"'),
    ("prefix-host-bits", '"192.0.2.0/24"', '"192.0.2.1/24"',
     'prefix "192.0.2.1/24" has host bits set'),
    ("multicast-mac", '"02:00:00:00:00:99"', '"03:00:00:00:00:99"',
     'MAC address "03:00:00:00:00:99" is not unicast'),
    ("unknown-key", 'non_ip = "allow";', 'non_ip = "allow"; frobnicate = 1;',
     'unknown key "frobnicate"'),
    ("default-reroute", 'default = { action = "allow";',
     'default = { action = "reroute";',
     'default action must be allow, drop or reject, not "reroute"'),
    ("peer-one-way", 'role = "inside"; peer = "outside0"; }',
     'role = "inside"; }', None),
]


def _write(tmp_path, text, profile=None):
    d = str(tmp_path)
    dplib.render_conf(os.path.join(d, "scratch.conf"), ports=[])
    if profile is not None:
        with open(os.path.join(d, "profiles/foreign-adversaries.conf"),
                  "w") as f:
            f.write(profile)
    path = os.path.join(d, "cordon.conf")
    with open(path, "w") as f:
        f.write(text.replace("@DB@", dplib.geodb_path()))
    return path


def _line_of(text, needle):
    for n, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return n
    raise AssertionError("%r not in config" % needle)


def test_check_shipped_config(cordon_dp, geodb):
    """config/cordon.conf with --geodb prints the effective policy, the
    database layer and "configuration OK"."""
    p = dplib.run_cmd(["--check", "-c", os.path.join(dplib.ROOT,
                                                     "config/cordon.conf"),
                       "--geodb", geodb, "--geo-field", "country_code"])
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert out.rstrip().endswith("configuration OK")
    assert "prohibited: CN CU HK IR KP MO RU VE" in out
    assert "mgmt-from-prohibited" in out
    assert "default: allow" in out
    assert re.search(r"^layer 1: %s$" % re.escape(geodb), out, re.M)
    assert re.search(r"^  field: country_code$", out, re.M)


def test_check_scenario_config(cordon_dp, scen_a):
    """The live tests' own config passes --check with its overrides."""
    p = dplib.run_cmd(["--check", "-c", scen_a.conf])
    assert p.returncode == 0, p.stderr
    for r in cases.A_RULES:
        assert r["name"] in p.stdout
    assert re.search(r"^overrides: %d\b" % len(cases.OVERRIDES), p.stdout,
                     re.M), p.stdout
    assert "configuration OK" in p.stdout


def test_check_base_config_is_valid(cordon_dp, geodb, tmp_path):
    path = _write(tmp_path, BASE)
    p = dplib.run_cmd(["--check", "-c", path])
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("name,old,new,msg", BROKEN,
                         ids=[b[0] for b in BROKEN])
def test_check_broken_config(cordon_dp, tmp_path, name, old, new, msg):
    assert BASE.count(old) == 1
    text = BASE.replace(old, new)
    path = _write(tmp_path, text)
    p = dplib.run_cmd(["--check", "-c", path])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "configuration OK" not in p.stdout
    if name == "peer-one-way":
        line = _line_of(text, 'name = "outside0"')
        msg = 'port "outside0" names peer "inside0", which does not name ' \
              'it back'
    else:
        line = _line_of(text, new)
    first = p.stderr.splitlines()[0]
    prefix = "cordon-dp: %s:%d: " % (path, line)
    assert first.startswith(prefix), first
    assert first[len(prefix):].startswith(msg), first


def test_check_syntax_error(cordon_dp, tmp_path):
    text = BASE.replace('non_ip = "allow";', 'non_ip = = "allow";')
    path = _write(tmp_path, text)
    p = dplib.run_cmd(["--check", "-c", path])
    assert p.returncode == 2
    m = re.match(r"cordon-dp: (.*):(\d+): (.+)", p.stderr)
    assert m, p.stderr
    assert m.group(1) == path
    assert int(m.group(2)) == _line_of(text, "non_ip")


def test_check_error_in_included_file(cordon_dp, tmp_path):
    """An error inside an @include names the included file and its line."""
    prof = "# test profile\nregions:\n{\n\tprohibited = [ \"CN\", " \
           "\"XX1\" ];\n};\n"
    path = _write(tmp_path, BASE, profile=prof)
    p = dplib.run_cmd(["--check", "-c", path])
    assert p.returncode == 2
    inc = os.path.join(str(tmp_path), "profiles/foreign-adversaries.conf")
    first = p.stderr.splitlines()[0]
    m = re.match(r"cordon-dp: (.*):(\d+): (.+)", first)
    assert m, first
    assert os.path.normpath(m.group(1)) == inc
    assert m.group(2) == "4"
    assert 'bad country "XX1"' in m.group(3)


def test_check_missing_config(cordon_dp, tmp_path):
    path = str(tmp_path / "absent.conf")
    p = dplib.run_cmd(["--check", "-c", path])
    assert p.returncode == 2
    assert p.stderr.startswith("cordon-dp: %s:0: " % path)


def test_check_missing_geodb(cordon_dp, tmp_path):
    p = dplib.run_cmd(["--check", "-c", os.path.join(
        dplib.ROOT, "config/cordon.conf"), "--geodb",
        str(tmp_path / "geo-missing.mmdb")])
    assert p.returncode == 2
    assert "geo-missing.mmdb" in p.stderr
    assert "configuration OK" not in p.stdout
