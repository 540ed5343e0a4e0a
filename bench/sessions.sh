#!/bin/bash
# Identity sessions (issue 4; docs/benchmarks.md, "Identity"), through the
# real cordond and the cordon-dp it runs:
#  1. sessions installed per second: session-add requests over the
#     control socket, one at a time on one connection, each with its own
#     token (jwcrypto-made) from its own source address; rate and
#     per-request latency, for an ES256 and an EdDSA issuer, and per block
#     of the table's fill;
#  2. the fast-path rate with SESS_N (100k) live sessions against the same
#     traffic under a config with no identity group: cordon-dp on two
#     net_null ports, --bench-fill with TCP SYNs to port 22 (ssh, an
#     identity service) from the SESS_N sources that hold the sessions, so
#     every packet takes the session lookup and hits.  The rate of the same
#     config before any session (every packet a miss, dropped as
#     no-session) is printed too.
# Prints "key: value" lines and a table; never fails a build (exit 0
# unless the rig itself cannot run, or a check of what the fast path did
# in a measured window fails: then the figure would be meaningless).
#
#   BUILD            build folder (default build)
#   SESS_N           sessions for the fast-path figure (default 100000)
#   SESS_ADD_N       measured adds per algorithm (default 20000)
#   BENCH_SECS       seconds per rate window (default 6)
#   BENCH_MBUFS      mbufs in cordon-dp's pool (default 131072)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
export CORDOND="$ROOT/$BUILD/cordond"
export CORDON_DP="$ROOT/$BUILD/cordon-dp"
export SESS_WORK="$ROOT/$BUILD/bench/sess"
for b in "$CORDOND" "$CORDON_DP"; do
	[ -x "$b" ] || { echo "bench: $b missing: run make"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: sessions.sh needs root (DPDK)"; exit 1; }
mkdir -p "$SESS_WORK"

echo "== identity sessions: session-add through cordond, fast path with" \
    "${SESS_N:-100000} sessions"
SESS_N=${SESS_N:-100000} SESS_ADD_N=${SESS_ADD_N:-20000} \
SECS=${BENCH_SECS:-6} MBUFS=${BENCH_MBUFS:-131072} \
    exec /usr/bin/python3 - <<'EOF'
import json
import os
import statistics
import sys
import time

sys.path.insert(0, "bench")
sys.path.insert(0, "tests/lib")
import mksess  # noqa: E402
from cordonrig import Conn, Cordond, control_conf, wait_for  # noqa: E402

N = int(os.environ["SESS_N"])
NADD = min(int(os.environ["SESS_ADD_N"]), N)
SECS = float(os.environ["SECS"])
MBUFS = int(os.environ["MBUFS"])
WORK = os.environ["SESS_WORK"]
BLOCK = 20000

# One ssh rule without identity conditions: under the identity config a
# packet with a session is allowed by it, one without is dropped as
# no-session before it; under the plain config every packet is allowed.
# Same rules, same traffic: the only difference is the session lookup.
POLICY = """geo: {
    databases = ( { file = "%(geodb)s"; field = "country_code"; } );
};
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = ( { name = "ssh-in"; services = [ "ssh" ]; action = "allow"; } );
default = { action = "drop"; };
dataplane: {
    ports = (
        { name = "outside0"; device = "net_null0"; role = "outside";
          peer = "inside0"; },
        { name = "inside0"; device = "net_null1"; role = "inside";
          peer = "outside0"; }
    );
    eal = [ "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
            "-l", "0-1", "--log-level", "lib.eal:error",
            "--vdev=net_null0,size=64", "--vdev=net_null1,size=64" ];
    workers = 1;
    burst = 32;
};
""" + control_conf("""\
    dp_args = [ "--stats-file", "%(dir)s/stats/stats.json",
                "--bench-fill", "%(pcap)s", "--mbuf-cache", "0",
                "--mbufs", "%(mbufs)d" ];
""")

IDENTITY = """identity: {
    issuers = (
        { name = "es"; issuer = "%(es_iss)s"; audience = [ "cordon" ];
          jwks = "%(work)s/es.jwks"; algorithms = [ "ES256" ]; },
        { name = "ed"; issuer = "%(ed_iss)s"; audience = [ "cordon" ];
          jwks = "%(work)s/ed.jwks"; algorithms = [ "EdDSA" ]; } );
    services = [ "ssh" ];
    unidentified = { action = "drop"; log = false; };
    sessions = { capacity = %(cap)d; max_ttl = 7200; };
};
"""


def fail(msg):
    raise SystemExit("bench: sessions: " + msg)


class Rig(Cordond):
    """cordond (own folder) running cordon-dp on net_null ports filled with
    PCAP; with the identity group when IDENT."""

    fail = staticmethod(fail)

    def __init__(self, pcap, ident):
        super().__init__(prefix="cordon-sessbench-")
        self.stats = self.dir + "/stats.json"
        tmpl = POLICY + (IDENTITY if ident else "")
        self.write_conf(tmpl, pcap=pcap, mbufs=MBUFS, work=WORK,
                        cap=max(150000, N + N // 2),
                        es_iss=mksess.ISSUERS["es"][1],
                        ed_iss=mksess.ISSUERS["ed"][1])

    def start(self):
        self.spawn()
        self.wait_dp_up(timeout=120)
        wait_for("stats file", lambda: self.snap() is not None, 60,
                 fail=fail)
        return self

    def snap(self):
        try:
            with open(self.stats) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid, tid=None):
    """CPU seconds (user + system) of process PID, or of its thread TID."""
    path = "/proc/%d/task/%d/stat" % (pid, tid) if tid else \
        "/proc/%d/stat" % pid
    with open(path) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / TICK


def worker_tid(pid):
    """The thread of cordon-dp that forwards: DPDK names it lcore-worker-N
    (the one worker of this config)."""
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if "worker" in f.read():
                return int(tid)
    fail("no worker thread in cordon-dp %d" % pid)


def window(rig):
    """(packets/s over SECS, first snapshot, last snapshot, share of the
    window the worker thread was on a CPU), after 2 s of warm-up.  On a
    shared machine the worker is preempted now and then: the share says
    by how much."""
    pid = rig.dp_pid
    tid = worker_tid(pid)
    time.sleep(2)
    a, c0 = rig.snap(), cpu_s(pid, tid)
    time.sleep(SECS)
    b, c1 = rig.snap(), cpu_s(pid, tid)
    if not a or not b or b["time"] <= a["time"]:
        fail("no stats in the window")
    dt = b["time"] - a["time"]
    return (b["packets"] - a["packets"]) / dt, a, b, (c1 - c0) / dt


def delta(a, b, group, key):
    return b[group].get(key, 0) - a[group].get(key, 0)


def check(a, b, want, what):
    """Every packet of the window got WANT: "allow" (the ssh rule; with
    the identity group, a session hit) or "no-session" (a miss)."""
    pk = b["packets"] - a["packets"]
    allow = delta(a, b, "actions", "allow")
    nos = delta(a, b, "reasons", "no-session")
    exp = delta(a, b, "reasons", "session-expired")
    got = allow if want == "allow" else nos
    if pk <= 0 or got != pk or (want == "allow" and nos + exp != 0):
        fail("%s: %d packets, %d allowed, %d no-session, %d expired"
             % (what, pk, allow, nos, exp))


def add_all(conn, pairs, pid):
    """session-add of each (token, src), one request at a time; the
    per-request latencies in s and the CPU seconds cordond (PID) spent.
    Any refusal ends the benchmark."""
    lat = []
    c0 = cpu_s(pid)
    for tok, src in pairs:
        t0 = time.perf_counter()
        conn.send("session-add", token=tok, src=src, service="ssh")
        r = conn.recv()
        lat.append(time.perf_counter() - t0)
        if not r.get("ok"):
            fail("session-add %s: %s" % (src, r))
    return lat, cpu_s(pid) - c0


def lat_fig(lat):
    """adds/s, p50 and p99 latency in us of (latencies, cordond CPU s),
    and cordond's CPU us per add."""
    q = statistics.quantiles(lat[0], n=100)
    return (len(lat[0]) / sum(lat[0]), q[49] * 1e6, q[98] * 1e6,
            lat[1] * 1e6 / len(lat[0]))


def mpps(x):
    return "%.2f Mpps" % (x / 1e6)


# --- inputs ---------------------------------------------------------------
mksess.keys(WORK)
pcap = "%s/syn22-%d.pcap" % (WORK, N)
if os.path.exists(pcap + ".src"):
    with open(pcap + ".src") as f:
        srcs = f.read().split()
else:
    srcs = mksess.pcap(pcap, N)
t0 = time.monotonic()
es = mksess.tokens_cached(WORK, "es", NADD)
ed = mksess.tokens_cached(WORK, "ed", N - NADD)
print("tokens: %d ES256 + %d EdDSA ready (%.0f s; jwcrypto, cached in %s)"
      % (len(es), len(ed), time.monotonic() - t0, WORK))

# --- B: no identity group -------------------------------------------------
rig = Rig(pcap, ident=False)
try:
    rig.start()
    plain, a, b, plain_cpu = window(rig)
    check(a, b, "allow", "no identity group")
finally:
    rig.stop(dp_signal=2)
    rig.cleanup()

# --- A: identity group, then N sessions -----------------------------------
rig = Rig(pcap, ident=True)
blocks = []
try:
    rig.start()
    empty, a, b, empty_cpu = window(rig)
    check(a, b, "no-session", "identity, no sessions")
    conn = Conn(rig.sock, timeout=60)
    pairs = list(zip(es + ed, srcs))
    pid = rig.proc.pid
    blocks.append(("ES256", 0, NADD, add_all(conn, pairs[:NADD], pid)))
    for i in range(NADD, N, BLOCK):
        j = min(i + BLOCK, N)
        blocks.append(("EdDSA", i, j, add_all(conn, pairs[i:j], pid)))
    conn.close()
    full, a, b, full_cpu = window(rig)
    check(a, b, "allow", "identity, %d sessions" % N)
    st = rig.once("status")
    if st["dataplane"]["restarts"] != 0:
        fail("cordon-dp restarted: %s" % st["dataplane"])
finally:
    rig.stop(dp_signal=2)
    rig.cleanup()

# --- report ---------------------------------------------------------------
print("-- session-add, one connection, one request at a time (token "
      "verified, session installed, audit record written)")
print("   %-6s %-14s %9s %9s %9s %14s" % (
    "alg", "table fill", "adds/s", "p50 us", "p99 us", "cordond us/add"))
for alg, i, j, lat in blocks:
    f = lat_fig(lat)
    print("   %-6s %-14s %9.0f %9.0f %9.0f %14.0f"
          % ((alg, "%d-%d" % (i, j)) + f))
f = lat_fig(blocks[0][3])
print("sessions_add_es256_per_s: %.0f (p50 %.0f us, p99 %.0f us, cordond "
      "CPU %.0f us per add; %d adds into an empty table)" % (f + (NADD,)))
if len(blocks) > 1:
    f = lat_fig(blocks[1][3])
    print("sessions_add_eddsa_per_s: %.0f (p50 %.0f us, p99 %.0f us, "
          "cordond CPU %.0f us per add; adds %d-%d)"
          % (f + blocks[1][1:3]))
    f = lat_fig(blocks[-1][3])
    print("sessions_add_eddsa_last_per_s: %.0f (p50 %.0f us, p99 %.0f us, "
          "cordond CPU %.0f us per add; adds %d-%d)"
          % (f + blocks[-1][1:3]))
print("-- fast path: 64-byte TCP SYNs to port 22 from %d sources, %d mbufs, "
      "pool cache 0 (mode A); worker = share of the window the worker "
      "thread ran" % (N, MBUFS))
for key, rate, cpu, what in (
        ("no_identity", plain, plain_cpu,
         "no identity group: no lookup, allowed"),
        ("identity_0_sessions", empty, empty_cpu,
         "every packet a miss, dropped as no-session"),
        ("identity_%dk_sessions" % (N // 1000), full, full_cpu,
         "every packet a hit, allowed")):
    print("fastpath_%s_pps: %s (worker %.0f%%, %s per worker CPU "
          "second; %s)" % (key, mpps(rate), cpu * 100,
                           mpps(rate / cpu if cpu else 0), what))
print("fastpath_sessions_ratio: %.3f (%dk sessions / no identity group; "
      "per worker CPU second: %.3f)"
      % (full / plain if plain else 0, N // 1000,
         (full / full_cpu) / (plain / plain_cpu) if plain and full_cpu
         else 0))
EOF
