#!/bin/bash
# Relay inspection (issue 13) on the fast path, from make bench: two
# ratios, each of two rates measured in alternating rounds of this run
# (the order swapped every round against drift), as medians.  Targets
# are reported, never enforced (docs/benchmarks.md).  Every rate is
# given twice: by the wall clock, and per second of the worker lcore's
# own CPU time (what a shared machine's preemption does not move).
#   (a) the hot and wide captures (no tunnel in them) under
#       bench-relay.conf (relay classes, origin/via rules, tunnel ports,
#       a larger fragment table) against bench-plain.conf (none of it):
#       target 0.95.  Again with 5% of the sources in a class
#       (bench-relay-hit.conf, bench/mkrelay.py).
#   (b) the hot capture's frames, each carried by GRE or VXLAN from a
#       relay (hot-tun), against the same frames plain, both under
#       bench-relay.conf on 128-byte net_null frames: target 0.6.
#   bench/relay.sh [ROUNDS]     (BENCH_SECS, BENCH_MBUFS as run.sh)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
ROUNDS=${1:-5}
# shellcheck source=bench/fastpath.sh
. "$ROOT/bench/fastpath.sh"

mpps() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# tunnels: what the last run's parser opened, per tunnel type (proof
# that the tunnels were inspected, not passed by their outer header).
tunnels() {
	/usr/bin/python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))
print(", ".join("%s %d" % (k, v) for k, v in t["tunnels"].items()
                if isinstance(v, int) and v))' "$WORK/stats/stats.json"
}

# rate_of PCAP CONF: "wall cpu" packets/s of one run (cordon_rate).
rate_of() {
	local w
	w=$(CONF=$2 cordon_rate "$1")
	echo "$w $(cat "$WORK/rate-cpu")"
}

ratio() { awk -v p="$1" -v q="$2" 'BEGIN { printf "%.3f", q ? p / q : 0 }'; }

# pair NAME PCAP_A CONF_A PCAP_B CONF_B: ROUNDS of A then B (B then A
# every other round); every rate, then the medians and B/A, by the wall
# clock and by the worker's CPU time.
pair() {
	local name=$1 pa=$2 ca=$3 pb=$4 cb=$5 x y xw xc yw yc
	local a=() b=() r=() ac=() bc=() rc=()
	for i in $(seq "$ROUNDS"); do
		if [ $((i % 2)) -eq 1 ]; then
			x=$(rate_of "$pa" "$ca")
			y=$(rate_of "$pb" "$cb")
		else
			y=$(rate_of "$pb" "$cb")
			x=$(rate_of "$pa" "$ca")
		fi
		read -r xw xc <<<"$x"
		read -r yw yc <<<"$y"
		if [ "$xw" = 0 ] || [ "$yw" = 0 ]; then
			echo "relay bench: a run forwarded nothing:"
			tail -n 5 "$WORK/cordon-dp.log"
			return 1
		fi
		a+=("$(mpps "$xw")") b+=("$(mpps "$yw")")
		r+=("$(ratio "$yw" "$xw")")
		ac+=("$(mpps "$xc")") bc+=("$(mpps "$yc")")
		rc+=("$(ratio "$yc" "$xc")")
		echo "$name round $i: reference $(mpps "$xw") Mpps" \
		    "($(mpps "$xc") per worker CPU s), measured $(mpps "$yw")" \
		    "($(mpps "$yc")), ratio ${r[-1]} (CPU ${rc[-1]}); load $(load)"
	done
	stats_line "${name}_reference_mpps" "${a[@]}"
	stats_line "${name}_measured_mpps" "${b[@]}"
	stats_line "${name}_ratio" "${r[@]}"
	stats_line "${name}_reference_cpu_mpps" "${ac[@]}"
	stats_line "${name}_measured_cpu_mpps" "${bc[@]}"
	stats_line "${name}_cpu_ratio" "${rc[@]}"
}

[ -x "$DP" ] || { echo "relay bench: $DP missing: run make"; exit 1; }
bench_pcaps
[ -s "$WORK/hot-tun.pcap" ] ||
    /usr/bin/python3 "$ROOT/bench/mkbench.py" "$WORK/hot-tun.pcap" 4096 0.2 \
    1 tun
/usr/bin/python3 "$ROOT/bench/mkrelay.py" "$ROOT" "$WORK" "$WORK/hot.pcap" \
    "$WORK/wide.pcap" || exit 1
PLAIN="$WORK/bench-plain.conf" RELAY="$WORK/bench-relay.conf"

echo "== relay inspection configured, untunnelled traffic (mode A," \
    "${SECS} s a run, $ROUNDS rounds; target 0.95); load $(load)"
for cap in hot wide; do
	pair "relay_$cap" "$WORK/$cap.pcap" "$PLAIN" "$WORK/$cap.pcap" \
	    "$RELAY" || exit 1
done
echo "== the same with 5% of the sources in class tor (host entries)"
for cap in hot wide; do
	pair "relay_hit_$cap" "$WORK/$cap.pcap" "$PLAIN" "$WORK/$cap.pcap" \
	    "$WORK/bench-relay-hit.conf" || exit 1
done

echo "== 100% tunnelled (GRE and VXLAN, 20% inner IPv6) against the same" \
    "frames plain, 128-byte frames (target 0.6); load $(load)"
EAL=${EAL//size=64/size=128}
pair "tunnelled_hot" "$WORK/hot.pcap" "$RELAY" "$WORK/hot-tun.pcap" \
    "$RELAY" || exit 1
echo "tunnels opened in the last run: $(tunnels)"
