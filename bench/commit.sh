#!/bin/bash
# Control-plane figures (docs/benchmarks.md, "Control plane"): how long a
# one-rule commit takes to be acknowledged and to be enforced, and how
# long a full geo-reload of the real database takes, on a cordond whose
# cordon-dp forwards endless traffic (net_pcap infinite_rx -> net_null).
#
# The rig (config, capture, start/stop) is the one of
# tests/ctl/test_commit_traffic.py.  Prints "key: value" lines; never
# fails a build (exit 0 unless the rig itself cannot run).
#
#   BUILD            build folder (default build)
#   COMMIT_N         measured commits (default 20)
#   GEO_N            measured geo-reloads (default 5)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
export CORDOND="$ROOT/$BUILD/cordond"
export CORDON_DP="$ROOT/$BUILD/cordon-dp"
for b in "$CORDOND" "$CORDON_DP"; do
	[ -x "$b" ] || { echo "bench: $b missing: run make"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: commit.sh needs root (DPDK)"; exit 1; }

echo "== control plane: one-rule commits and geo-reload under traffic"
COMMIT_N=${COMMIT_N:-20} GEO_N=${GEO_N:-5} exec /usr/bin/python3 - <<'EOF'
import os
import re
import statistics
import sys
import time

sys.path.insert(0, "tests/ctl")
sys.path.insert(0, "tests/lib")
import test_commit_traffic as t  # noqa: E402

N = int(os.environ["COMMIT_N"])
NGEO = int(os.environ["GEO_N"])
# A drop->allow flip is seen as CN "allowed" (packets - denied) growing;
# the two counters are read a few ns apart while the worker runs, so a
# growth below two bursts is not taken as the new verdict.
SKEW = 64


def ms(s):
    return s * 1e3


def fig(xs, unit_fmt="%.1f"):
    return ("median " + unit_fmt + " ms, max " + unit_fmt + " ms") % (
        statistics.median(xs), max(xs))


def cn_allowed(c):
    p, d = t.cn(c)
    return p - d


rig = t.Rig()
try:
    rig.start()
    # The CN rule under one name whose action each measured commit flips.
    rig.ok("delete", kind="rule", name="cn-ssh-drop")
    rig.ok("set", kind="rule", name="cn-ssh",
           attrs=dict(t.RULE_CN, action="allow", position=3))
    rig.ok("commit", comment="bench: setup")
    commit, enforced, polls = [], [], []
    for i in range(N):
        action = "drop" if i % 2 == 0 else "allow"
        rig.ok("set", kind="rule", name="cn-ssh",
               attrs=dict(t.RULE_CN, action=action, position=3))
        before = rig.counters()
        t0 = time.monotonic()
        rig.conn.send("commit", comment="bench %d" % i)
        r = rig.conn.recv()
        t1 = time.monotonic()
        assert r["ok"], r
        # The reply comes after cordon-dp's grace period; the enforced
        # time is when the counters first show the flipped verdict.
        n = 0
        while True:
            c = rig.counters()
            n += 1
            if action == "drop" and t.cn(c)[1] > t.cn(before)[1]:
                break
            if action == "allow" and \
                    cn_allowed(c) > cn_allowed(before) + SKEW:
                break
            if time.monotonic() - t0 > 10:
                raise AssertionError("verdict never flipped: %s" % c)
            time.sleep(t.POLL)
        t2 = time.monotonic()
        commit.append(ms(t1 - t0))
        enforced.append(ms(t2 - t0))
        polls.append(n)
    # cordon-dp's own share: receipt of LOAD to end of grace period.
    with open(rig.dir + "/cordond.log", errors="replace") as f:
        apply = [float(x) for x in re.findall(
            r"revision \d+ active: .* same geo tables, ([0-9.]+) ms",
            f.read())][-N:]
    geo = []
    for i in range(NGEO):
        t0 = time.monotonic()
        d = rig.ok("geo-reload")
        geo.append(ms(time.monotonic() - t0))
    st = rig.ok("status")
    assert st["dataplane"]["restarts"] == 0 and st["alarms"] == [], st
    with open(rig.dir + "/cordond.log", errors="replace") as f:
        geo_apply = [float(x) for x in re.findall(
            r"new geo tables, ([0-9.]+) ms", f.read())][-NGEO:]
    pkts = rig.counters()["packets"]
finally:
    rig.stop()
    rig.cleanup()

print("commit_one_rule_ms: %s (%d commits, request to reply)"
      % (fig(commit), N))
print("commit_enforced_ms: %s (send to first 1 ms counter poll showing "
      "the flipped verdict; median %d poll(s))"
      % (fig(enforced), statistics.median(polls)))
if apply:
    print("commit_dp_apply_ms: %s (inside cordon-dp: LOAD received to "
          "grace period over)" % fig(apply, "%.2f"))
print("geo_reload_ms: %s (%d reloads: compile, checks, push, activation; "
      "%d IPv4 / %d IPv6 prefixes)" % (
          fig(geo, "%.0f"), NGEO, d["v4_prefixes"], d["v6_prefixes"]))
if geo_apply:
    print("geo_reload_dp_apply_ms: %s (inside cordon-dp: map, check, "
          "activate)" % fig(geo_apply, "%.0f"))
print("commit_traffic_packets: %d (forwarded or dropped meanwhile)" % pkts)
EOF
