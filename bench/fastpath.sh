# Sourced by bench/run.sh, bench/compare.sh and bench/relay.sh: one
# fast-path run of a cordon-dp binary on two net_null ports, as packets
# per second.  Needs ROOT set; sets BUILD, DP, WORK (made), SECS (from
# BENCH_SECS) and MBUFS (BENCH_MBUFS) unless given.
# shellcheck shell=bash
BUILD=${BUILD:-build}
DP=${DP:-$ROOT/$BUILD/cordon-dp}
WORK=${WORK:-$ROOT/$BUILD/bench}
SECS=${BENCH_SECS:-6}
MBUFS=${BENCH_MBUFS:-131072}
mkdir -p "$WORK/stats"
EAL="--no-huge -m 1024 --no-pci --no-shconf -l 0-1 --log-level lib.eal:error
 --vdev=net_null0,size=64 --vdev=net_null1,size=64"

# stats_at FILE: "time packets" from cordon-dp's stats file.
stats_at() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(s["time"], s["packets"])' "$1" 2>/dev/null
}

# worker_ns PID: CPU time (ns) the worker lcore of PID has run so far.
worker_ns() {
	local t
	for t in /proc/"$1"/task/*; do
		if [ "$(cat "$t/comm" 2>/dev/null)" = rte-worker-1 ]; then
			cut -d' ' -f1 "$t/schedstat"
			return
		fi
	done
	echo 0
}

# snapshot PID: "time packets worker_ns" just after the stats file of PID
# was rewritten, so that its counters and the worker's CPU time agree.
snapshot() {
	local st="$WORK/stats/stats.json" t0 s
	t0=$(stats_at "$st")
	for _ in $(seq 100); do
		s=$(stats_at "$st")
		[ "${s%% *}" != "${t0%% *}" ] && break
		sleep 0.02
	done
	echo "$s $(worker_ns "$1")"
}

# cordon_rate PCAP [DP]: packets/s through cordon-dp (both directions),
# the shipped policy on the real database (bench/bench.conf, or CONF);
# DP defaults to this tree's build.  CACHE: the pool's per-lcore cache
# (0: FIFO).  Also writes $WORK/rate-cpu: packets per second of the
# worker lcore's own CPU time, which a busy machine taking the lcore's
# core away from it (preemption) does not lower.
cordon_rate() {
	local pcap=$1 dp=${2:-$DP} st="$WORK/stats/stats.json"
	local log="$WORK/cordon-dp.log" pid a b
	rm -f "$st" "$WORK/rate-cpu"
	# shellcheck disable=SC2086
	"$dp" $EAL -- -c "${CONF:-$ROOT/bench/bench.conf}" --stats-file "$st" \
	    --bench-fill "$pcap" --mbuf-cache "${CACHE:-0}" --mbufs "$MBUFS" \
	    >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do [ -s "$st" ] && break; sleep 0.1; done
	sleep 2
	a=$(snapshot "$pid")
	sleep "$SECS"
	b=$(snapshot "$pid")
	kill -INT "$pid"
	wait "$pid"
	echo "$a $b" | awk '{ if ($6 > $3) printf "%.0f\n",
		($5 - $2) / (($6 - $3) / 1e9); else print 0 }' >"$WORK/rate-cpu"
	echo "$a $b" | awk '{ if ($4 > $1) printf "%.0f\n", ($5 - $2) / ($4 - $1);
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

# stats_line NAME FIGURES...: median, min and max of the figures.
stats_line() {
	local name=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v n="$name" '
		{ v[NR] = $1 }
		END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		      printf "%s: median %.3f, min %.3f, max %.3f (%d rounds)\n",
			  n, m, v[1], v[NR], NR }'
}
