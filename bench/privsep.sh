#!/bin/bash
# Privilege separation (issue 15; docs/benchmarks.md, "Split daemon
# against a reference"): session-add rate and commit latency through
# this tree's cordond and through a reference cordond built from another
# revision, in the same run, so that the figure is this / reference.
# The reference defaults to the merge-base with main (today's unsplit
# daemon while the split is on a branch); it is built once per commit
# under .cache/bench-ref/ (bench/refbuild.sh).  Rounds alternate the
# order (reference first, then this first) against drift.  Reports;
# never fails a build on a figure (issue 15 asks for session-add at least
# 0.9 of the reference and commit latency unchanged within noise: both
# are printed, not enforced).
#
#   bench/privsep.sh [REF]   REF a git revision (default: merge-base
#                            HEAD main; BENCH_REF the same)
#   BUILD            build folder of this tree (default build)
#   PRIVSEP_ROUNDS   rounds, each running both builds (default 3)
#   PRIVSEP_ADDS     session-adds measured per run (default 2000)
#   PRIVSEP_COMMITS  one-rule commits measured per run (default 10)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
# shellcheck source=bench/refbuild.sh
. "$ROOT/bench/refbuild.sh"

ref=${1:-${BENCH_REF:-$(git merge-base HEAD main 2>/dev/null)}}
if [ -z "$ref" ] || ! commit=$(git rev-parse --verify -q "$ref^{commit}")
then
	echo "bench: privsep: no reference revision (give one: bench/privsep.sh REF)"
	exit 1
fi
for b in cordond cordon-dp; do
	[ -x "$BUILD/$b" ] || { echo "bench: $BUILD/$b missing: run make"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: privsep.sh needs root (DPDK)"; exit 1; }
if ! REF_DIR=$(ref_build bench-ref "$commit" build/cordond build/cordon-dp)
then
	echo "bench: privsep: reference $ref does not build"
	exit 1
fi

echo "== privilege separation: session-add and commit, this tree against" \
    "a reference build (same run)"
echo "reference: $ref ($(git rev-parse --short "$commit"))"
echo "this: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ||
    echo ' + uncommitted changes'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
REF_DIR="$REF_DIR" THIS_BUILD="$ROOT/$BUILD" \
ROUNDS=${PRIVSEP_ROUNDS:-3} NADD=${PRIVSEP_ADDS:-2000} \
NCOMMIT=${PRIVSEP_COMMITS:-10} WORK="$ROOT/$BUILD/bench/privsep" \
    exec /usr/bin/python3 - <<'EOF'
import os
import statistics
import sys
import time

sys.path.insert(0, "bench")
sys.path.insert(0, "tests/lib")
import mksess  # noqa: E402
import cordonrig  # noqa: E402
from cordonrig import Conn, Cordond, control_conf, dataplane_conf  # noqa: E402,E501

ROUNDS = int(os.environ["ROUNDS"])
NADD = int(os.environ["NADD"])
NCOMMIT = int(os.environ["NCOMMIT"])
WORK = os.environ["WORK"]
WARM = 100  # first adds of a run: caches, page faults, the journal
BUILDS = {"ref": os.environ["REF_DIR"] + "/build",
          "this": os.environ["THIS_BUILD"]}

# cordon-dp idles on two net_null ports: what is measured is cordond's
# path (token check, table, journal, audit; compile, push, activation).
CONF = """geo: {
    databases = ( { file = "%(geodb)s"; field = "country_code"; } );
};
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = ( { name = "ssh-in"; services = [ "ssh" ]; action = "allow"; } );
default = { action = "drop"; };
""" + dataplane_conf("net_null1", ["--vdev=net_null0,no-rx=1",
                                   "--vdev=net_null1,no-rx=1"]) + """
identity: {
    issuers = (
        { name = "es"; issuer = "%(iss)s"; audience = [ "cordon" ];
          jwks = "%(work)s/es.jwks"; algorithms = [ "ES256" ]; } );
    services = [ "ssh" ];
    unidentified = { action = "drop"; log = false; };
    sessions = { capacity = %(cap)d; max_ttl = 7200; };
};
""" + control_conf()


def fail(msg):
    raise SystemExit("bench: privsep: " + msg)


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid, skip):
    """CPU seconds of PID and of its live children but SKIP (cordon-dp):
    the split daemon's work spreads over its processes."""
    tot = 0
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % p) as f:
                v = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if p.isdigit() and int(p) != skip and \
                (int(p) == pid or int(v[1]) == pid):
            tot += int(v[11]) + int(v[12])
    return tot / TICK


def add(conn, pairs):
    """session-add of each (token, src), one request at a time."""
    for tok, src in pairs:
        conn.send("session-add", token=tok, src=src, service="ssh")
        r = conn.recv()
        if not r.get("ok"):
            fail("session-add %s: %s" % (src, r))


def commits(conn):
    """NCOMMIT one-rule commits, each flipping the rule: latencies, ms."""
    lat = []
    for i in range(NCOMMIT):
        conn.ok("set", kind="rule", name="ssh-in",
                attrs={"services": "ssh",
                       "action": "drop" if i % 2 == 0 else "allow"})
        t0 = time.perf_counter()
        conn.ok("commit", comment="bench %d" % i)
        lat.append((time.perf_counter() - t0) * 1e3)
    return lat


def run(build, pairs):
    """One cordond of BUILD: session-adds per second and daemon CPU us
    per add (after WARM unmeasured adds), median commit latency, ms."""
    cordonrig.CORDOND = build + "/cordond"
    rig = Cordond(prefix="cordon-privsep-")
    rig.fail = staticmethod(fail)
    rig.write_conf(CONF, dp=build + "/cordon-dp", work=WORK,
                   iss=mksess.ISSUERS["es"][1], cap=2 * len(pairs) + 16)
    try:
        rig.spawn()
        dp = rig.wait_dp_up(timeout=120)["pid"]
        conn = Conn(rig.sock, timeout=60)
        add(conn, pairs[:WARM])
        c0, t0 = cpu_s(rig.proc.pid, dp), time.perf_counter()
        add(conn, pairs[WARM:])
        dt, cpu = time.perf_counter() - t0, cpu_s(rig.proc.pid, dp) - c0
        n = len(pairs) - WARM
        com = statistics.median(commits(conn))
        conn.close()
        if rig.once("status")["dataplane"]["restarts"] != 0:
            fail("%s: cordon-dp restarted" % build)
        return {"add": n / dt, "cpu": cpu * 1e6 / n, "commit": com}
    finally:
        rig.stop(dp_signal=2)
        rig.cleanup()


def spread(xs):
    return "%.3f (%.3f-%.3f)" % (statistics.median(xs), min(xs), max(xs))


os.makedirs(WORK, exist_ok=True)
mksess.keys(WORK)
pairs = list(zip(mksess.tokens_cached(WORK, "es", NADD + WARM),
                 mksess.sources(NADD + WARM)))
res = {"ref": [], "this": []}
ratio = {"add": [], "cpu": [], "commit": []}
for i in range(ROUNDS):
    for b in ("ref", "this") if i % 2 == 0 else ("this", "ref"):
        res[b].append(run(BUILDS[b], pairs))
    r, t = res["ref"][-1], res["this"][-1]
    for k in ratio:
        ratio[k].append(t[k] / r[k])
    print("round %d: session-add/s ref %.0f this %.0f (ratio %.3f); daemon "
          "CPU us/add ref %.0f this %.0f; commit median ms ref %.1f this "
          "%.1f (ratio %.3f)" % (i + 1, r["add"], t["add"], ratio["add"][-1],
                                 r["cpu"], t["cpu"], r["commit"],
                                 t["commit"], ratio["commit"][-1]))

for b in ("ref", "this"):
    m = {k: statistics.median(x[k] for x in res[b]) for k in ratio}
    print("privsep_%s_session_add_per_s: %.0f (median of %d runs, %d adds "
          "each, one connection, ES256; daemon CPU %.0f us per add)"
          % (b, m["add"], ROUNDS, NADD, m["cpu"]))
    print("privsep_%s_commit_ms: %.1f (median of the runs' medians, %d "
          "one-rule commits each)" % (b, m["commit"], NCOMMIT))
print("privsep_session_add_ratio: %s (this / reference, each round's two "
      "runs: median (min-max); issue 15 asks >= 0.9)" % spread(ratio["add"]))
print("privsep_session_add_cpu_ratio: %s (daemon CPU per add, this / "
      "reference; lower is better)" % spread(ratio["cpu"]))
print("privsep_commit_ratio: %s (median commit latency, this / reference; "
      "unchanged within noise is the aim)" % spread(ratio["commit"]))
EOF
