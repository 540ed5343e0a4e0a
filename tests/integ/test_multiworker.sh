#!/bin/bash
# Integration: two worker lcores polling two queues per net_af_packet
# port (PACKET_FANOUT spreads flows over them); every scenario must still
# get its verdict.  Prints TAP.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
. tests/lib/topo.sh
. tests/lib/scenarios.sh

BUILD=${BUILD:-build}
DP="$ROOT/$BUILD/cordon-dp"
# Two levels below the repo, so that demo.conf's relative paths hold.
CONFDIR="$ROOT/$BUILD/integ"
CONF="$CONFDIR/multiworker.conf"
WORK=$(mktemp -d)
DP_PID=""
N=0

tap() {
	N=$((N + 1))
	if [ "$1" = ok ]; then echo "ok $N - $2"; else echo "not ok $N - $2"; fi
}

cleanup() {
	[ -n "$DP_PID" ] && kill -9 "$DP_PID" 2>/dev/null
	topo_down
	scen_servers_stop
	rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p "$CONFDIR"
# Three lcores on two cores: main, and two workers sharing core 1.
sed -e 's/workers = 1;/workers = 2;/' \
    -e 's/"-l", "0-1"/"--lcores", "0@0,1@1,2@1"/' \
    -e 's/\(iface=cdn-[oiq]\)"/\1,qpairs=2"/' \
    appliance/demo/demo.conf >"$CONF"

topo_up && scen_servers_start || { echo "Bail out! topology"; exit 1; }
ip netns exec cdn-dp "$DP" -c "$CONF" --stats-file "$WORK/stats.json" \
    >"$WORK/dp.log" 2>&1 &
DP_PID=$!
for _ in $(seq 100); do
	grep -q enforcing "$WORK/dp.log" && break
	sleep 0.1
done
if grep -q "enforcing: 3 port(s), 2 worker(s)" "$WORK/dp.log"; then
	tap ok "cordon-dp runs two workers on two queues per port"
else
	tap fail "cordon-dp runs two workers on two queues per port"
	cat "$WORK/dp.log"
fi
while IFS='|' read -r name src cc dst port svc want; do
	got=$(scen_observe "$(topo_connect "$src" "$dst" "$port")")
	[ "$got" = "$want" ] && tap ok "2 workers: $name: $want" ||
	    tap fail "2 workers: $name: want $want, got $got"
done <<<"$SCENARIOS"
kill -INT "$DP_PID"
wait "$DP_PID" && tap ok "clean exit" || tap fail "clean exit"
DP_PID=""
echo "1..$N"
