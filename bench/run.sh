#!/bin/bash
# make bench: fast-path throughput against dpdk-testpmd on the same pair
# of net_null devices (one worker lcore, 64-byte frames), then the geo
# table figures.  Prints figures and ratios measured in this same run;
# the floors are reported, not enforced (benchmarks never fail a build).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
DP="$ROOT/$BUILD/cordon-dp"
GEODB="$ROOT/.cache/geo/geo-whois-asn-country.mmdb"
WORK="$ROOT/$BUILD/bench"
SECS=${BENCH_SECS:-6}
MBUFS=${BENCH_MBUFS:-131072}
mkdir -p "$WORK/stats"
# shellcheck source=bench/fastpath.sh
. "$ROOT/bench/fastpath.sh"

# testpmd_rate CACHE: packets/s forwarded (both ports), io mode.
testpmd_rate() {
	local log="$WORK/testpmd-$1.log"
	# shellcheck disable=SC2086
	timeout -s INT $((SECS + 3)) dpdk-testpmd $EAL -- \
	    --forward-mode=io --tx-first --total-num-mbufs="$MBUFS" \
	    --mbcache="$1" --stats-period 1 </dev/null >"$log" 2>&1
	# Each period prints Rx-pps per port: sum the pairs, average the
	# periods after the first two (warm-up).
	grep -oE 'Rx-pps: +[0-9]+' "$log" | awk '{print $2}' |
	    awk 'NR % 2 { a = $1; next } { s[++n] = a + $1 }
		END { t = 0; c = 0; for (i = 3; i <= n; i++) { t += s[i]; c++ }
		      if (c) printf "%.0f\n", t / c; else print 0 }'
}

# countries: source countries with packets in the last cordon-dp run.
countries() {
	/usr/bin/python3 -c 'import json,sys;
print(len(json.load(open(sys.argv[1]))["countries"]))' "$WORK/stats/stats.json"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b ? a / b : 0 }'; }
mpps() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }

[ -x "$DP" ] || { echo "bench: $DP missing: run make"; exit 1; }
echo "== traffic: 64-byte frames, 20% IPv6, real database, shipped policy"
bench_pcaps

# net_null hands out pool mbufs without touching their data, so the
# frames preloaded into the pool are the traffic.  With the per-lcore
# mempool cache on (LIFO) the same few dozen mbufs come back burst after
# burst; with it off (FIFO) every preloaded frame comes in turn.  The
# floors are measured in mode A, with testpmd on the same pool settings.
echo "== A: pool without cache: every preloaded frame in turn"
ref0=$(CACHE=0 testpmd_rate 0)
echo "testpmd_io_pps: $(mpps "$ref0") Mpps (reference, $MBUFS mbufs, cache 0)"
hot=$(CACHE=0 cordon_rate "$WORK/hot.pcap")
echo "cordon_hot_pps: $(mpps "$hot") Mpps (4096 flows," \
    "$(countries) source countries seen)"
echo "cordon_hot_ratio: $(ratio "$hot" "$ref0") (floor 0.33)"
wide=$(CACHE=0 cordon_rate "$WORK/wide.pcap")
echo "cordon_wide_pps: $(mpps "$wide") Mpps (65536 sources, 20% IPv6," \
    "$(countries) source countries seen)"
echo "cordon_wide_ratio: $(ratio "$wide" "$ref0") (floor 0.15)"

echo "== B: default pool cache (256; testpmd 250): a few dozen frames recycled"
ref250=$(testpmd_rate 250)
echo "testpmd_io_pps_cached: $(mpps "$ref250") Mpps"
hotc=$(CACHE=256 cordon_rate "$WORK/hot.pcap")
echo "cordon_cached_pps: $(mpps "$hotc") Mpps," \
    "ratio $(ratio "$hotc" "$ref250")"

echo "== geolocation tables vs libmaxminddb (floors: v4 15x, v6 6x," \
    "compile 1000 ms, 200 MiB)"
"$BUILD/tools/geo_bench" --geodb "$GEODB" --field country_code

BUILD="$BUILD" bench/sess.sh

echo "== proxied flows' table (core/prx): memory, inserts, lookups at 1M"
"$BUILD/tools/prxbench" --flows 1000000

echo "== control plane: commit and geo reload to enforcement"
BUILD="$BUILD" bench/commit.sh

echo "== nftables backend: batches vs nft -f (load, atomic replace, RSS)"
BUILD="$BUILD" bench/nft.sh

BUILD="$BUILD" bench/ident.sh
BUILD="$BUILD" BENCH_SECS="$SECS" BENCH_MBUFS="$MBUFS" bench/sessions.sh

echo "== relay inspection (issue 13): configured vs not, tunnelled vs plain"
BUILD="$BUILD" BENCH_SECS="$SECS" BENCH_MBUFS="$MBUFS" bench/relay.sh

BUILD="$BUILD" bench/privsep.sh
