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
EAL="--no-huge -m 1024 --no-pci --no-shconf -l 0-1 --log-level lib.eal:error
 --vdev=net_null0,size=64 --vdev=net_null1,size=64"
mkdir -p "$WORK"

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

# stats_at FILE: "time packets" from cordon-dp's stats file.
stats_at() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(s["time"], s["packets"])' "$1" 2>/dev/null
}

# cordon_rate PCAP: packets/s through cordon-dp (both directions).
cordon_rate() {
	local pcap=$1 st="$WORK/stats.json" log="$WORK/cordon-dp.log" pid a b
	rm -f "$st"
	# shellcheck disable=SC2086
	"$DP" $EAL -- -c bench/bench.conf --stats-file "$st" \
	    --bench-fill "$pcap" --mbuf-cache "${CACHE:-0}" --mbufs "$MBUFS" \
	    >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -s "$st" ] && break; sleep 0.1; done
	sleep 2
	a=$(stats_at "$st")
	sleep "$SECS"
	b=$(stats_at "$st")
	kill -INT "$pid"
	wait "$pid"
	echo "$a $b" | awk '{ if ($3 > $1) printf "%.0f\n", ($4 - $2) / ($3 - $1);
		else print 0 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b ? a / b : 0 }'; }
mpps() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }

[ -x "$DP" ] || { echo "bench: $DP missing: run make"; exit 1; }
echo "== traffic: 64-byte frames, 20% IPv6, real database, shipped policy"
[ -s "$WORK/hot.pcap" ] ||
    /usr/bin/python3 bench/mkbench.py "$WORK/hot.pcap" 4096 0.2 1
[ -s "$WORK/wide.pcap" ] ||
    /usr/bin/python3 bench/mkbench.py "$WORK/wide.pcap" 65536 0.2 2

echo "== dpdk-testpmd io forwarding, net_null x2, 1 forwarding lcore"
ref0=$(testpmd_rate 0)
ref250=$(testpmd_rate 250)
echo "testpmd_io_pps (mbuf cache 0, as cordon-dp runs): $(mpps "$ref0") Mpps"
echo "testpmd_io_pps (mbuf cache 250, testpmd default): $(mpps "$ref250") Mpps"

# The pool's cache is off so that net_null hands out every preloaded
# mbuf in turn (a LIFO cache would replay the same few hundred frames).
echo "== cordon-dp, same devices, 1 worker lcore"
hot=$(cordon_rate "$WORK/hot.pcap")
wide=$(cordon_rate "$WORK/wide.pcap")
echo "cordon_hot_pps (4096 flows): $(mpps "$hot") Mpps," \
    "ratio $(ratio "$hot" "$ref0") x testpmd (floor 0.33)," \
    "$(ratio "$hot" "$ref250") x testpmd default cache"
echo "cordon_wide_pps (65536 sources): $(mpps "$wide") Mpps," \
    "ratio $(ratio "$wide" "$ref0") x testpmd (floor 0.15)," \
    "$(ratio "$wide" "$ref250") x testpmd default cache"

echo "== geolocation tables vs libmaxminddb (floors: v4 15x, v6 6x," \
    "compile 1000 ms, 200 MiB)"
"$BUILD/tools/geo_bench" --geodb "$GEODB" --field country_code
