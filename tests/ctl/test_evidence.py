"""Evidence captures seen from cordond (issue 13): a rule with
`evidence = true` makes cordon-dp keep the first packets of each denied
flow in STATE/evidence; `cordonctl show captures` lists the files (name,
size, packets, first and last time) and syslog names the file when it is
opened and when a flow's evidence is written.

cordond runs with its own folder; cordon-dp's outside port reads a pcap
of two CN ssh flows (denied, kept) and one US flow (allowed, not kept);
syslog goes to a local datagram socket the test reads.

Run as root: /usr/bin/python3 -m pytest tests/ctl/test_evidence.py
"""
import glob
import json
import re
import os
import socket
import subprocess

import pytest
from scapy.all import rdpcap

from cordonrig import (CORDON_DP, CORDOND, CORDONCTL, SERVICES_SSH_RDP,
                       Cordond, control_conf, geo_conf, need_binaries,
                       pcap_dataplane, pcap_write, syn, wait_for)

CN, US, SRV = "198.51.100.7", "192.0.2.33", "192.0.2.80"

def evid_conf(evidence, rx_args=""):
    """CN ssh denied with evidence, the EVIDENCE group, outside0 reading
    %(pcap)s (then RX_ARGS), syslog to DIR/run/log.sock."""
    return geo_conf() + SERVICES_SSH_RDP + """rules = (
    { name = "cn-ssh-drop"; src = "CN"; services = "ssh"; direction = "in";
      action = "drop"; evidence = true; }
);
default = { action = "allow"; };
""" + evidence + "\n" + pcap_dataplane(rx_args) + control_conf("""\
    logging = {
        targets = ( { type = "local"; address = "%(dir)s/run/log.sock"; } );
    };
""")


CONF = evid_conf("evidence = { packets = 2; snaplen = 64; };")


class Rig(Cordond):
    def __init__(self):
        super().__init__(prefix="cordon-evid-")
        self.pcap = self.dir + "/in.pcap"
        self.log_sock = None

    def start(self):
        # Three packets of each CN flow (two kept), three of the US one.
        frs = [syn(src, SRV, 22, sport) for _ in range(3)
               for src, sport in ((CN, 41001), (CN, 41002), (US, 41003))]
        pcap_write(self.pcap, frs)
        self.run(CONF)

    def run(self, conf):
        """Listens for syslog, then starts cordond with CONF."""
        self.log_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.log_sock.bind(self.dir + "/run/log.sock")
        self.log_sock.settimeout(0.2)
        self.write_conf(conf, pcap=self.pcap)
        self.spawn()
        wait_for("cordond", self.answers)
        self.wait_dp_up()

    def syslog(self):
        out = []
        while True:
            try:
                out.append(self.log_sock.recv(65536).decode(
                    errors="replace"))
            except (socket.timeout, BlockingIOError):
                return out


@pytest.fixture(scope="module")
def rig():
    need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    r = Rig()
    try:
        r.start()
        yield r
    finally:
        r.stop()
        if r.log_sock:
            r.log_sock.close()
        r.cleanup()


def ctl(rig, *args):
    p = subprocess.run([CORDONCTL, "-s", rig.sock] + list(args),
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return p.stdout


def captures(rig):
    return json.loads(ctl(rig, "-J", "show", "captures"))


def test_show_captures_lists_the_file(rig):
    def kept():
        c = captures(rig)["captures"]
        return c if c and c[0]["packets"] == 4 else None
    c = wait_for("4 packets kept", kept)
    assert len(c) == 1
    f = c[0]
    d = captures(rig)["dir"]
    assert d == rig.dir + "/state/evidence"
    path = os.path.join(d, f["file"])
    assert f["size"] == os.path.getsize(path)
    assert not f["torn"]
    assert f["first"].endswith("Z") and f["first"] <= f["last"]
    pk = rdpcap(path)
    assert sorted(p.sport for p in pk) == [41001, 41001, 41002, 41002]
    text = ctl(rig, "show", "captures")
    assert f["file"] in text and "PACKETS" in text


def test_syslog_names_the_file(rig):
    wait_for("kept", lambda: captures(rig)["captures"] and
             captures(rig)["captures"][0]["packets"] == 4)
    name = captures(rig)["captures"][0]["file"]
    msgs = []

    def both():
        msgs.extend(rig.syslog())
        return (any("evidence-file" in m and name in m for m in msgs) and
                sum("evidence-flow" in m and name in m
                    for m in msgs) == 2)
    wait_for("syslog evidence-file and two evidence-flow", both)
    flows = [m for m in msgs if "evidence-flow" in m]
    assert all('rule="cn-ssh-drop"' in m for m in flows)
    assert all(US not in m for m in flows)


def test_counters_show_evidence(rig):
    ev = json.loads(ctl(rig, "-J", "show", "counters"))["evidence"]
    assert ev["flows"] == 2 and ev["captured"] == 4
    assert ev["written"] == 4 and ev["lost"] == 0
    assert glob.glob(rig.dir + "/state/evidence/evidence-*.pcap")


def test_commit_evidence_rule(rig):
    """`set rule ... evidence yes` reaches the running policy; evidence on
    an allow rule is refused with its line, and nothing changes."""
    out = ctl(rig, "set", "rule", "ru-ssh", "src", "RU", "services", "ssh",
              "action", "reject", "evidence", "yes")
    rev = rig.ok("commit")["revision"]
    rules = rig.ok("show", what="rules")["rules"]
    ru = [r for r in rules if r["name"] == "ru-ssh"][0]
    assert ru["evidence"] is True and ru["action"] == "reject", out
    cn = [r for r in rules if r["name"] == "cn-ssh-drop"][0]
    assert cn["evidence"] is True
    rig.wait_dp_up()
    rig.ok("set", kind="rule", name="bad",
           attrs={"src": "US", "action": "allow", "evidence": True})
    r = rig.req("commit")
    assert not r["ok"]
    assert re.match(r'candidate:\d+: rule "bad": evidence is kept of denied '
                    r'or rerouted flows, not of action allow$',
                    r["error"]["message"]), r
    assert rig.once("status")["running_revision"] == rev


# --- a full disk under cordond ----------------------------------------------

FULL_CONF = evid_conf("evidence = { packets = 4; snaplen = 1024; };",
                      ",infinite_rx=1")


def _libc_mount(src, target, fstype, flags, data):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.mount(src, target, fstype, flags, data) == 0


def _own_mount_ns():
    """This process (and what it starts) in a mount namespace of its own."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() != 0 or libc.unshare(0x20000) != 0:   # CLONE_NEWNS
        return False
    return _libc_mount(None, b"/", None, 0x4000 | 0x40000, None)


class FullRig(Rig):
    def start(self):
        from scapy.all import IP, TCP, Ether, Raw
        big = Raw(b"x" * 1000)

        def fr(src, sport):
            return bytes(Ether(src="02:00:00:00:00:01",
                               dst="02:00:00:00:00:02") /
                         IP(src=src, dst=SRV) /
                         TCP(sport=sport, dport=22, flags="A") / big)
        pcap_write(self.pcap, [fr(CN, 42000 + i) for i in range(30)] +
                   [fr(US, 43000)])
        self.ev = self.dir + "/state/evidence"
        os.makedirs(self.ev)
        assert _libc_mount(b"tmpfs", self.ev.encode(), b"tmpfs", 0,
                           b"size=8k,mode=0750")  # not 1777: refused
        self.run(FULL_CONF)


def alarms(rig):
    return {a["name"]: a for a in rig.once("status")["alarms"]}


def test_disk_full_alarm_and_resume():
    """The evidence folder is an 8 KiB tmpfs: cordon-dp stops writing,
    cordond raises the evidence-failed alarm (status, syslog); traffic
    goes on as before.  Given room and a new flow to keep, writing
    resumes and the alarm clears."""
    need_binaries(CORDOND, CORDON_DP, CORDONCTL)
    if not _own_mount_ns():
        pytest.skip("needs root (a tmpfs in a private mount namespace)")
    r = FullRig()
    msgs = []
    try:
        r.start()
        a = wait_for("evidence-failed alarm",
                     lambda: alarms(r).get("evidence-failed"))
        assert "No space left on device" in a["detail"]
        ev = json.loads(ctl(r, "-J", "show", "counters"))["evidence"]
        assert ev["lost"] > 0 and ev["written"] > 0
        wait_for("syslog evidence-failed", lambda: msgs.extend(r.syslog())
                 or any("evidence-failed" in m for m in msgs))
        # The kept file reads whole, and is listed as such.
        f = captures(r)["captures"][0]
        assert not f["torn"] and f["packets"] == ev["written"]
        assert len(rdpcap(os.path.join(r.ev, f["file"]))) == f["packets"]
        # Room again, and a new flow to keep: the US one, denied now.
        assert _libc_mount(None, r.ev.encode(), None, 0x20,   # MS_REMOUNT
                           b"size=4m")
        ctl(r, "set", "rule", "us-ssh", "src", "US", "services", "ssh",
            "action", "drop", "evidence", "yes")
        r.ok("commit")
        wait_for("alarm cleared",
                 lambda: "evidence-failed" not in alarms(r), timeout=30)
        wait_for("syslog evidence-resumed", lambda: msgs.extend(r.syslog())
                 or any("evidence-resumed" in m for m in msgs))
        kept = rdpcap(os.path.join(r.ev, f["file"]))
        assert 43000 in {p.sport for p in kept}
    finally:
        r.stop()
        if r.log_sock:
            r.log_sock.close()
        subprocess.run(["umount", "-l", r.dir + "/state/evidence"],
                       capture_output=True)
        r.cleanup()
