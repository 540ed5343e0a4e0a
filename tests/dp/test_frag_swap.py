"""A policy swap empties the fragment table (docs/packet-parsing.md,
Fragments: "Policy swaps"), also when the new state lands where an old
one lay.  cordon-dp runs in a network namespace of its own with its
outside port on a veth, so that frames come one at a time, with loads
in between.  The port is net_pcap on the interface: net_af_packet asks
the kernel to reassemble fragments (PACKET_FANOUT_FLAG_DEFRAG), and
cordon-dp would never see one.

  1. the first fragment of a CN ssh datagram, allowed by policy A;
  2. two loads denying CN ssh (B, then C), with no fragment in between:
     the worker never sees B, and C is allocated where A was freed;
  3. the datagram's last fragment: it must not follow A's verdict.

The worker used to tell states apart by address: C at A's address kept
A's table, and the last fragment passed under a policy that denies it.
"""
import json
import os
import subprocess
import uuid

import pytest

import cases
import dplib
from test_control import dpc_tool_path, wait_for

PORTS = [
    {"name": "outside0", "device": "net_pcap0", "role": "outside",
     "peer": "inside0"},
    {"name": "inside0", "device": "net_null0", "role": "inside",
     "peer": "outside0"},
]


def _rule(action):
    return {"name": "ssh-cn-" + action, "src": ["CN"], "services": ["ssh"],
            "direction": "in", "action": action}


def _ns(ns, *cmd, **kw):
    return subprocess.run(["ip", "netns", "exec", ns] + list(cmd),
                          check=True, capture_output=True, timeout=60, **kw)


def _send(ns, frame):
    _ns(ns, "/usr/bin/python3", "-c",
        "import sys\nfrom scapy.all import Ether, sendp\n"
        "sendp(Ether(bytes.fromhex(sys.argv[1])), iface='fb0', "
        "verbose=False)", bytes(frame).hex())


@pytest.fixture
def netns():
    ns = "cdn-fswap-" + uuid.uuid4().hex[:8]
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        _ns(ns, "ip", "link", "add", "fa0", "type", "veth", "peer",
            "name", "fb0")
        for dev in ("lo", "fa0", "fb0"):
            _ns(ns, "ip", "link", "set", dev, "up")
        for dev in ("fa0", "fb0"):
            _ns(ns, "sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % dev)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns])


def test_live_frag_swap_reused_state(netns, tmp_path, cordon_dp):
    d = str(tmp_path)
    confs = {}
    for a in ("allow", "drop"):
        os.makedirs(os.path.join(d, a))
        confs[a] = dplib.render_conf(
            os.path.join(d, a, "cordon.conf"), ports=PORTS,
            rules=[_rule(a)], overrides=cases.OVERRIDES)
    sock, stats_file = d + "/dp.sock", d + "/stats/stats.json"
    tool = dpc_tool_path()
    eal = dplib.EAL_BASE + ["--vdev=net_null0,no-rx=1",
                            "--vdev=net_pcap0,iface=fa0"]
    with open(d + "/stdout.txt", "w") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", netns, cordon_dp] + eal +
            ["--", "-c", confs["allow"], "--stats-file", stats_file,
             "--control", sock], stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: os.path.exists(sock) and
                 os.path.exists(stats_file), "cordon-dp to listen")

        def stats():
            p = subprocess.run([tool, sock, "stats", confs["drop"]],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            return json.loads(p.stdout)

        def rx():
            return stats()["ports"]["outside0"]["rx_packets"]

        # The port reads once it is up: a whole packet, until one arrives.
        probe = cases.eth("outside0") / cases.IP(src=cases.US4,
                                                  dst=cases.SRV4) / \
            cases.TCP(dport=22, flags="S")
        wait_for(lambda: _send(netns, probe) or rx() > 0, "the port")
        first, last = cases._dgram("outside0", cases.Seq(23000), cases.CN4,
                                   pieces=((0, 24, True), (24, 8, False)))
        _send(netns, first)
        wait_for(lambda: stats()["fragments"]["tracked"] == 1,
                 "the first fragment")
        for rev in (1, 2):
            p = subprocess.run([tool, sock, "load", confs["drop"], str(rev)],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stdout + p.stderr
        _send(netns, last)
        s = wait_for(lambda: (lambda s: s if s["reasons"].get(
            "frag-no-first", 0) + s["fragments"]["followed"] >= 1
            else None)(stats()), "the last fragment")
        assert s["fragments"]["followed"] == 0
        assert s["reasons"]["frag-no-first"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=dplib.TIMEOUT)
