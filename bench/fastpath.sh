# Sourced by bench/run.sh and bench/compare.sh: one fast-path run of a
# cordon-dp binary on two net_null ports, as packets per second.  Needs
# ROOT, WORK, SECS and MBUFS set.
# shellcheck shell=bash
EAL="--no-huge -m 1024 --no-pci --no-shconf -l 0-1 --log-level lib.eal:error
 --vdev=net_null0,size=64 --vdev=net_null1,size=64"

# stats_at FILE: "time packets" from cordon-dp's stats file.
stats_at() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(s["time"], s["packets"])' "$1" 2>/dev/null
}

# cordon_rate PCAP [DP]: packets/s through cordon-dp (both directions),
# the shipped policy on the real database (bench/bench.conf); DP defaults
# to this tree's build.  CACHE: the pool's per-lcore cache (0: FIFO).
cordon_rate() {
	local pcap=$1 dp=${2:-$DP} st="$WORK/stats.json"
	local log="$WORK/cordon-dp.log" pid a b
	rm -f "$st"
	# shellcheck disable=SC2086
	"$dp" $EAL -- -c "$ROOT/bench/bench.conf" --stats-file "$st" \
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

# bench_pcaps: the hot (4096 flows) and wide (65536 sources) captures.
bench_pcaps() {
	[ -s "$WORK/hot.pcap" ] ||
	    /usr/bin/python3 "$ROOT/bench/mkbench.py" "$WORK/hot.pcap" 4096 0.2 1
	[ -s "$WORK/wide.pcap" ] ||
	    /usr/bin/python3 "$ROOT/bench/mkbench.py" "$WORK/wide.pcap" 65536 \
	    0.2 2
}
