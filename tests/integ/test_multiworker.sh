#!/bin/bash
# Integration: two worker lcores polling two queues per net_af_packet
# port (PACKET_FANOUT spreads flows over them); every scenario must still
# get its verdict.  Prints TAP.
set -u
. "$(dirname "$0")/../lib/integ.sh"

# Two levels below the repo, so that demo.conf's relative paths hold.
CONFDIR="$ROOT/$BUILD/integ"
CONF="$CONFDIR/multiworker.conf"

mkdir -p "$CONFDIR"
# Three lcores on two cores: main, and two workers sharing core 1.
sed -e 's/workers = 1;/workers = 2;/' \
    -e 's/"-l", "0-1"/"--lcores", "0@0,1@1,2@1"/' \
    -e 's/\(iface=cdn-[oiq]\)"/\1,qpairs=2"/' \
    appliance/demo/demo.conf >"$CONF"

topo_up && scen_servers_start || { echo "Bail out! topology"; exit 1; }
dp_start "$CONF"
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
dp_stop && tap ok "clean exit" || tap fail "clean exit"
echo "1..$N"
