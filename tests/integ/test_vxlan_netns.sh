#!/bin/bash
# Integration: a real kernel VXLAN between the client and server
# namespaces, through cordon-dp on net_af_packet ports (issue 13,
# Tunnels).  The relay (the VXLAN endpoint, 192.0.2.10) is in the US;
# an ssh connection whose inner source is in China never completes, one
# from a US inner source reaches the real sshd.  Prints TAP.
set -u
. "$(dirname "$0")/../lib/integ.sh"

CONF="$ROOT/appliance/demo/demo.conf"
SRV_IN=192.0.2.200		# the server's overlay address
CLI_US=192.0.2.77		# inner sources: US and CN by demo.conf
CLI_CN=198.51.100.77

stat_get() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(eval(sys.argv[2]))' "$WORK/stats/stats.json" "$1"
}

# vxlan_up NS LOCAL REMOTE ADDR...: vxlan0 over eth0, the overlay
# addresses as /32s (the underlay already routes their /24s).
vxlan_up() {
	local ns=$1 local=$2 remote=$3 a
	shift 3
	ip -n "$ns" link add vxlan0 type vxlan id 42 local "$local" \
	    remote "$remote" dstport 4789 dev eth0
	ip netns exec "$ns" ethtool -K vxlan0 tx off >/dev/null 2>&1
	ip -n "$ns" link set vxlan0 up
	for a in "$@"; do
		ip -n "$ns" addr add "$a/32" dev vxlan0
	done
}

topo_up && scen_servers_start || { echo "Bail out! topology"; exit 1; }
vxlan_up cdn-cli 192.0.2.10 192.0.2.100 "$CLI_US" "$CLI_CN" &&
    ip -n cdn-cli route add "$SRV_IN/32" dev vxlan0 &&
    vxlan_up cdn-srv 192.0.2.100 192.0.2.10 "$SRV_IN" &&
    ip -n cdn-srv route add "$CLI_US/32" dev vxlan0 &&
    ip -n cdn-srv route add "$CLI_CN/32" dev vxlan0 ||
    { echo "Bail out! vxlan devices"; exit 1; }
dp_start "$CONF" || { echo "Bail out! cordon-dp did not start"; exit 1; }
tap ok "cordon-dp starts on net_af_packet ports"

# The first SYN may wait for ARP across the overlay: retried once.
connect() {
	local out
	out=$(topo_connect "$1" "$SRV_IN" 22)
	[ "$out" = timeout ] && out=$(topo_connect "$1" "$SRV_IN" 22)
	scen_observe "$out"
}
got=$(connect "$CLI_US")
[ "$got" = allow ] && tap ok "ssh over VXLAN from a US inner source" ||
    tap fail "ssh over VXLAN from a US inner source (got $got)"
got=$(connect "$CLI_CN")
[ "$got" = drop ] && tap ok "ssh over VXLAN from a CN inner source dropped" ||
    tap fail "ssh over VXLAN from a CN inner source dropped (got $got)"

for _ in $(seq 30); do
	[ "$(stat_get 's["rules"]["mgmt-via-prohibited-drop"]' 2>/dev/null)" \
	    -ge 1 ] 2>/dev/null && break
	sleep 0.1
done
check_stat() {
	if [ "$(stat_get "$1")" = True ]; then tap ok "counters: $2"; else
		tap fail "counters: $2 ($1)"; fi
}
check_stat 's["rules"]["mgmt-via-prohibited-drop"] >= 1' \
    "the via rule denied the CN inner source"
check_stat 's["tunnels"]["vxlan"] >= 4' "VXLAN layers counted"
check_stat 's["tunnels"]["layers"][2] >= 4' "two-layer packets counted"
check_stat 's["countries"]["US"]["packets"] >= 4' \
    "judged by the US relay as src"

dp_stop
rc=$?
[ $rc -eq 0 ] && tap ok "cordon-dp exits cleanly on SIGINT" ||
    tap fail "cordon-dp exits cleanly on SIGINT (rc $rc)"
echo "1..$N"
