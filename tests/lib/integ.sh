# shellcheck shell=bash
# Shared by the namespace tests and the demo: paths, TAP output, starting
# and stopping cordon-dp in the cdn-dp namespace, and cleaning up.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 1
. tests/lib/topo.sh
. tests/lib/scenarios.sh

BUILD=${BUILD:-build}
DP="$ROOT/$BUILD/cordon-dp"
WORK=$(mktemp -d)
DP_PID=""
N=0

tap() {
	N=$((N + 1))
	if [ "$1" = ok ]; then echo "ok $N - $2"; else echo "not ok $N - $2"; fi
}

integ_cleanup() {
	[ -n "$DP_PID" ] && kill -INT "$DP_PID" 2>/dev/null &&
	    wait "$DP_PID" 2>/dev/null
	DP_PID=""
	topo_down
	scen_servers_stop
	rm -rf "$WORK"
}
trap integ_cleanup EXIT

# dp_start CONF: cordon-dp in cdn-dp, log in $WORK/dp.log, counters in
# $WORK/stats/stats.json; returns once it enforces (10 s at most).
dp_start() {
	ip netns exec "$CDN_DP" "$DP" -c "$1" --stats-file "$WORK/stats/stats.json" \
	    >"$WORK/dp.log" 2>&1 &
	DP_PID=$!
	for _ in $(seq 100); do
		grep -q enforcing "$WORK/dp.log" && return 0
		kill -0 "$DP_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$WORK/dp.log"
	return 1
}

# dp_stop: SIGINT, as an operator would; returns cordon-dp's status.
dp_stop() {
	local rc
	kill -INT "$DP_PID"
	wait "$DP_PID"
	rc=$?
	DP_PID=""
	return $rc
}
