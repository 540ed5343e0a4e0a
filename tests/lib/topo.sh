# shellcheck shell=bash
# The demo/integration topology: four namespaces of our own.
#
#   cdn-cli (clients) --cdn-o-- cdn-dp (cordon-dp) --cdn-i-- cdn-srv
#                                   \--cdn-q-- cdn-q (quarantine host)
#
# Client addresses, placed in countries by demo.conf's overrides:
#   192.0.2.10 US   198.51.100.10 CN   203.0.113.10 RU   203.0.113.200 unknown
#   2001:db8:2::10 DE   2001:db8:1::10 CN
# Server: 192.0.2.100, 2001:db8:f::100 (the quarantine host answers for
# the same addresses, as an inspection host does).  Nothing leaves these
# namespaces: no interface of ours is in the root namespace.

# TOPO_P names the namespaces (PREFIX-cli, -srv, -q, -dp): the tests
# use "cdn"; make demo a name of its own per run, so that two on one
# host do not collide.  Only namespaces this run made are taken down.
TOPO_P=${TOPO_P:-cdn}
CDN_CLI=$TOPO_P-cli
CDN_SRV=$TOPO_P-srv
CDN_Q=$TOPO_P-q
CDN_DP=$TOPO_P-dp
TOPO_NS="$CDN_CLI $CDN_SRV $CDN_Q $CDN_DP"
TOPO_MADE=""
TOPO_QMAC=02:00:00:00:00:99
TOPO_CLI4="192.0.2.10 198.51.100.10 203.0.113.10 203.0.113.200"
TOPO_CLI6="2001:db8:2::10 2001:db8:1::10"

# topo_down: the namespaces topo_up made, and what runs in them.
topo_down() {
	local ns
	for ns in $TOPO_MADE; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	TOPO_MADE=""
	return 0
}

# topo_link NS IFNAME: a veth from NS:eth0 to cdn-dp:IFNAME.
topo_link() {
	local ns=$1 dpif=$2
	ip link add "$dpif" netns "$CDN_DP" type veth peer name eth0 netns "$ns"
	ip -n "$CDN_DP" link set "$dpif" up
	ip netns exec "$CDN_DP" ethtool -K "$dpif" tx off rx off >/dev/null \
	    2>&1 || true
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	# Partial checksums would reach the far end unfinished via af_packet.
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
}

topo_host_addrs() {
	local ns=$1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
	ip -n "$ns" addr add 192.0.2.100/24 dev eth0
	ip -n "$ns" addr add 2001:db8:f::100/64 dev eth0 nodad
	ip -n "$ns" route add 198.51.100.0/24 dev eth0
	ip -n "$ns" route add 203.0.113.0/24 dev eth0
	ip -n "$ns" route add 2001:db8:1::/64 dev eth0
	ip -n "$ns" route add 2001:db8:2::/64 dev eth0
}

topo_client_addrs() {
	local a
	ip netns exec "$CDN_CLI" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
	ip -n "$CDN_CLI" addr add 192.0.2.10/24 dev eth0
	ip -n "$CDN_CLI" addr add 198.51.100.10/24 dev eth0
	ip -n "$CDN_CLI" addr add 203.0.113.10/25 dev eth0
	ip -n "$CDN_CLI" addr add 203.0.113.200/25 dev eth0
	for a in $TOPO_CLI6; do
		ip -n "$CDN_CLI" addr add "$a/64" dev eth0 nodad
	done
	ip -n "$CDN_CLI" route add 2001:db8:f::/64 dev eth0
}

# The quarantine host's replies cannot learn the clients' MACs by ARP
# (answers go to the inside segment), so it knows them statically.
topo_quarantine_neigh() {
	local mac a
	mac=$(ip -n "$CDN_CLI" -br link show eth0 | awk '{print $3}')
	for a in $TOPO_CLI4 $TOPO_CLI6; do
		ip -n "$CDN_Q" neigh replace "$a" lladdr "$mac" dev eth0 \
		    nud permanent
	done
}

topo_up() {
	local ns
	topo_down
	# The tests' fixed names: a crashed run's leftovers are ours.
	[ "$TOPO_P" = cdn ] && TOPO_MADE=$TOPO_NS && topo_down
	for ns in $TOPO_NS; do
		ip netns add "$ns" || {
			echo "topo: namespace $ns exists (another run?)" >&2
			topo_down
			return 1
		}
		TOPO_MADE="$TOPO_MADE $ns"
	done
	ip netns exec "$CDN_DP" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$CDN_DP" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
	ip -n "$CDN_DP" link set lo up
	topo_link "$CDN_CLI" cdn-o
	topo_link "$CDN_SRV" cdn-i
	topo_link "$CDN_Q" cdn-q
	ip -n "$CDN_Q" link set eth0 address "$TOPO_QMAC"
	topo_client_addrs
	topo_host_addrs "$CDN_SRV"
	topo_host_addrs "$CDN_Q"
	topo_quarantine_neigh
}

TOPO_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# topo_banner NS PORT TEXT: a TCP server that greets every client.
# Started in a subshell so that no job control notice follows its kill.
topo_banner() {
	( ip netns exec "$1" "$TOPO_LIB/banner.py" "$2" "$3" \
	    >/dev/null 2>&1 & )
}

# topo_connect SRC DST PORT: prints what the server said, or
# "timeout" / "refused"; never waits more than 3 seconds.
topo_connect() {
	ip netns exec "$CDN_CLI" "$TOPO_LIB/tcpconnect.py" "$1" "$2" "$3"
}

# topo_wait_port NS PORT: until a server listens there (5 s at most).
topo_wait_port() {
	local i
	for i in $(seq 50); do
		ip netns exec "$1" ss -ltnH "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}
