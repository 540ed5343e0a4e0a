#!/bin/bash
# make demo: real TCP connections through cordon-dp, a DPDK bump in the
# wire between network namespaces of our own; prints what happened and
# the appliance's counters, then cleans up (also on Ctrl-C).
set -u
# Namespaces of this run only (cd<pid>-cli, ...): a second demo on the
# host gets its own, and the clean-up takes down only ours.
export TOPO_P=${CORDON_DEMO_NS:-cd$$}
. "$(dirname "$0")/../../tests/lib/integ.sh"

CONF="$ROOT/appliance/demo/demo.conf"
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces)"; exit 1; }
[ -x "$DP" ] || { echo "demo: $DP missing: run make"; exit 1; }

echo "== Cordon demo: checking the policy and the geolocation database"
"$DP" --check -c "$CONF" | sed -n '/^geo/,$p' | tail -n 25 || exit 1

echo "== building the namespaces ($TOPO_NS)"
topo_up || exit 1
scen_servers_start || { echo "demo: servers did not start"; exit 1; }

echo "== starting cordon-dp (DPDK, net_af_packet ports, no hugepages)"
dp_start "$CONF" || { echo "demo: cordon-dp did not start"; exit 1; }
grep enforcing "$WORK/dp.log"

echo "== connecting (drops show as a 3 s timeout)"
printf '%-16s %-15s %-8s %-17s %-9s %-9s %s\n' scenario source country \
    service expected observed ""
bad=0
while IFS='|' read -r name src cc dst port svc want; do
	out=$(topo_connect "$src" "$dst" "$port")
	got=$(scen_observe "$out")
	mark=ok
	[ "$got" = "$want" ] || { mark=MISMATCH; bad=$((bad + 1)); }
	printf '%-16s %-15s %-8s %-17s %-9s %-9s %s\n' "$name" "$src" "$cc" \
	    "$svc/$port" "$want" "$got" "$mark"
done <<<"$SCENARIOS"

dp_stop
echo "== what cordon-dp logged (rules with log = true)"
grep '^cordon-dp: [a-z]* rule=' "$WORK/dp.log" | sort | uniq -c |
    sed 's/ port=/\n        port=/' | head -n 40
echo "== cordon-dp counters at exit"
sed -n '/--- cordon-dp counters ---/,$p' "$WORK/dp.log"
. appliance/demo/control.sh
control_demo || bad=$((bad + 1))
. appliance/demo/identity.sh
identity_demo || bad=$((bad + 1))
if [ "$bad" -ne 0 ]; then
	echo "demo: $bad scenario(s) did not behave as expected"
	exit 1
fi
echo "demo: every scenario behaved as the policy says"
