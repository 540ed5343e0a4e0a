#!/bin/bash
# Integration: real TCP clients and servers (sshd, banner servers) in
# namespaces of our own, through cordon-dp on net_af_packet ports.
# Prints TAP; tests/run.sh counts it.
set -u
. "$(dirname "$0")/../lib/integ.sh"

CONF="$ROOT/appliance/demo/demo.conf"

# stat_get PYTHON-EXPR: a value from the stats file, e.g. s["packets"].
stat_get() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(eval(sys.argv[2]))' "$WORK/stats/stats.json" "$1"
}

topo_up && scen_servers_start || { echo "Bail out! topology"; exit 1; }
# Without cordon-dp the wire is cut: nothing passes.
out=$(ip netns exec cdn-cli "$TOPO_LIB/tcpconnect.py" 192.0.2.10 \
    192.0.2.100 22 1)
[ "$out" = timeout ] && tap ok "no path without cordon-dp" ||
    tap fail "no path without cordon-dp (got $out)"
dp_start "$CONF" || { echo "Bail out! cordon-dp did not start"; exit 1; }
tap ok "cordon-dp starts on net_af_packet ports"
# That probe left the client's ARP entry for the server FAILED; until the
# kernel probes again (seconds, longer on a busy machine) connects fail
# with "No route to host" whatever cordon-dp does.  Forget it.
ip -n cdn-cli neigh flush all
ip -n cdn-srv neigh flush all

while IFS='|' read -r name src cc dst port svc want; do
	got=$(scen_observe "$(topo_connect "$src" "$dst" "$port")")
	if [ "$got" = "$want" ]; then
		tap ok "$name: $src ($cc) -> $svc/$port: $want"
	else
		tap fail "$name: $src ($cc) -> $svc/$port: want $want, got $got"
	fi
done <<<"$SCENARIOS"

# Counters, polled: the stats file is rewritten twice a second.
for _ in $(seq 30); do
	[ "$(stat_get 's["rules"]["mgmt-unknown-reject"]' 2>/dev/null)" \
	    -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
check_stat() {
	local expr=$1 what=$2 v
	v=$(stat_get "$expr")
	if [ "$v" = True ]; then tap ok "counters: $what"; else
		tap fail "counters: $what ($expr)"; fi
}
check_stat 's["rules"]["ssh-prohibited-quarantine"] >= 2' \
    "reroute rule counted (IPv4 and IPv6)"
check_stat 's["rules"]["mgmt-prohibited-drop"] >= 4' "drop rule counted"
check_stat 's["actions"]["reject"] >= 1' "reject counted"
check_stat 's["countries"]["RU"]["denied"] == s["countries"]["RU"]["packets"]' \
    "every RU packet to management was denied"
check_stat 's["countries"]["US"]["denied"] == 0' "US never denied"
check_stat 's["ports"]["quar0"]["tx_packets"] >= 2' \
    "rerouted packets left through the quarantine port"
grep -q 'reroute rule=ssh-prohibited-quarantine .*src=198.51.100.10' \
    "$WORK/dp.log" && tap ok "reroute logged with its rule and source" ||
    tap fail "reroute logged with its rule and source"

dp_stop
rc=$?
[ $rc -eq 0 ] && tap ok "cordon-dp exits cleanly on SIGINT" ||
    tap fail "cordon-dp exits cleanly on SIGINT (rc $rc)"
grep -q -- '--- cordon-dp counters ---' "$WORK/dp.log" &&
    tap ok "counters printed at exit" || tap fail "counters printed at exit"
echo "1..$N"
