#!/bin/bash
# make bench-compare BASE=<git ref>: the fast-path benchmark of two builds
# side by side in one run.  BASE is exported (git archive) and built once
# under .cache/bench-base/<commit>/; then cordon-dp of BASE and of this
# tree run in turn, ROUNDS times (order swapped every round against drift),
# on the same captures, policy and database (this tree's bench/bench.conf,
# mode A of bench/run.sh: pool without cache).  Prints every figure, then
# per capture the medians and the ratio this/base: median, min and max of
# the rounds' ratios.  Reports; never fails on a figure.
#   bench/compare.sh BASE [ROUNDS]     (BENCH_SECS, BENCH_MBUFS as run.sh)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
ROUNDS=${2:-5}
# shellcheck source=bench/fastpath.sh
. "$ROOT/bench/fastpath.sh"

if [ -z "${1:-}" ]; then
	echo "usage: make bench-compare BASE=<git ref> (bench/compare.sh BASE" \
	    "[ROUNDS])" >&2
	exit 2
fi
if ! base=$(git rev-parse --verify -q "$1^{commit}"); then
	echo "bench-compare: $1 is not a commit" >&2
	exit 2
fi
[ -x "$DP" ] || { echo "bench-compare: $DP missing: run make"; exit 1; }

# shellcheck source=bench/refbuild.sh
. "$ROOT/bench/refbuild.sh"

mpps() { awk -v a="$1" 'BEGIN { printf "%.2f", a / 1e6 }'; }

if ! BASE_DIR=$(ref_build bench-base "$base" build/cordon-dp); then
	echo "bench-compare: $1 does not build" >&2
	exit 1
fi
BASE_DP="$BASE_DIR/build/cordon-dp"
bench_pcaps
echo "== fast path, mode A (pool without cache), ${SECS} s a run, $ROUNDS" \
    "rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "base: $1 ($base)"
echo "this: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ||
    echo ' + uncommitted changes')"
for cap in hot wide; do
	b=() t=() r=()
	for i in $(seq "$ROUNDS"); do
		if [ $((i % 2)) -eq 1 ]; then
			x=$(cordon_rate "$WORK/$cap.pcap" "$BASE_DP")
			y=$(cordon_rate "$WORK/$cap.pcap" "$DP")
		else
			y=$(cordon_rate "$WORK/$cap.pcap" "$DP")
			x=$(cordon_rate "$WORK/$cap.pcap" "$BASE_DP")
		fi
		if [ "$x" = 0 ] || [ "$y" = 0 ]; then
			echo "bench-compare: a run forwarded nothing:"
			tail -n 5 "$WORK/cordon-dp.log"
			exit 1
		fi
		b+=("$(mpps "$x")") t+=("$(mpps "$y")")
		r+=("$(awk -v a="$y" -v b="$x" 'BEGIN { printf "%.3f", a / b }')")
		echo "$cap round $i: base $(mpps "$x") Mpps, this $(mpps "$y")" \
		    "Mpps, ratio ${r[-1]}"
	done
	stats_line "${cap}_base_mpps" "${b[@]}"
	stats_line "${cap}_this_mpps" "${t[@]}"
	stats_line "${cap}_ratio" "${r[@]}"
done
