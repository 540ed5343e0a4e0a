# shellcheck shell=bash
# The nftables backend's test topology: four namespaces of our own, the
# router in the middle enforced by the kernel (cordond, backend nftables).
#
#   cnft-cli --cnft-o-- cnft-rtr --cnft-i-- cnft-srv    (10.20.0.2, fd00:20::2)
#                           \--cnft-q-- cnft-q           (quarantine host)
#
# Clients on cnft-cli, placed in countries by tests/nft/nft.conf:
#   192.0.2.10 US   198.51.100.10 CN   203.0.113.10 RU   203.0.113.200 unknown
#   2001:db8:f::10 US   2001:db8:1::10 CN
#   2001::39cc:9bf5 a Teredo address whose client is 198.51.100.10 (CN)
# The quarantine host answers for the server's addresses too, as an
# inspection host does.  Nothing leaves these namespaces.

NFT_NS="cnft-cli cnft-srv cnft-q cnft-rtr"

nft_topo_down() {
	local ns
	for ns in $NFT_NS; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

# nft_link NS IFNAME: a veth from NS:eth0 to cnft-rtr:IFNAME.
nft_link() {
	ip link add "$2" netns cnft-rtr type veth peer name eth0 netns "$1"
	ip -n cnft-rtr link set "$2" up
	ip -n "$1" link set lo up
	ip -n "$1" link set eth0 up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
	    net.ipv6.conf.eth0.accept_dad=0
}

nft_addrs() {
	local ns=$1 a
	shift
	for a in "$@"; do
		ip -n "$ns" addr add "$a" dev eth0 nodad 2>/dev/null ||
		    ip -n "$ns" addr add "$a" dev eth0
	done
}

nft_topo_up() {
	local ns
	nft_topo_down
	for ns in $NFT_NS; do
		ip netns add "$ns" || return 1
	done
	ip -n cnft-rtr link set lo up
	ip netns exec cnft-rtr sysctl -qw net.ipv4.ip_forward=1 \
	    net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
	    net.ipv4.conf.default.rp_filter=0 net.ipv6.conf.all.accept_dad=0 \
	    net.ipv6.conf.default.accept_dad=0
	nft_link cnft-cli cnft-o && nft_link cnft-srv cnft-i &&
	    nft_link cnft-q cnft-q || return 1
	for a in 192.0.2.1/24 198.51.100.1/24 203.0.113.1/24 \
	    2001:db8:f::1/64 2001:db8:1::1/64 2001::1/64; do
		ip -n cnft-rtr addr add "$a" dev cnft-o nodad
	done
	ip -n cnft-rtr addr add 10.20.0.1/24 dev cnft-i
	ip -n cnft-rtr addr add fd00:20::1/64 dev cnft-i nodad
	ip -n cnft-rtr addr add 10.30.0.1/24 dev cnft-q
	ip -n cnft-rtr addr add fd00:30::1/64 dev cnft-q nodad
	nft_addrs cnft-cli 192.0.2.10/24 198.51.100.10/24 203.0.113.10/24 \
	    203.0.113.200/24 2001:db8:f::10/64 2001:db8:1::10/64 \
	    2001::39cc:9bf5/64
	ip -n cnft-cli route add default via 192.0.2.1
	ip -n cnft-cli -6 route add default via 2001:db8:f::1
	nft_addrs cnft-srv 10.20.0.2/24 fd00:20::2/64
	ip -n cnft-srv route add default via 10.20.0.1
	ip -n cnft-srv -6 route add default via fd00:20::1
	nft_addrs cnft-q 10.30.0.2/24 fd00:30::2/64
	ip -n cnft-q addr add 10.20.0.2/32 dev lo
	ip -n cnft-q addr add fd00:20::2/128 dev lo
	ip -n cnft-q route add default via 10.30.0.1
	ip -n cnft-q -6 route add default via fd00:30::1
	for ns in cnft-rtr cnft-q; do
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		    net.ipv4.conf.eth0.rp_filter=0 2>/dev/null
	done
	return 0
}

# nft_servers ROOT: banner servers on the server and the quarantine host.
nft_servers() {
	local p
	for p in 22 443 3389 8080; do
		ip netns exec cnft-srv /usr/bin/python3 "$1/tests/lib/banner.py" \
		    "$p" "server" >/dev/null 2>&1 &
	done
	ip netns exec cnft-q /usr/bin/python3 "$1/tests/lib/banner.py" 22 \
	    "quarantine" >/dev/null 2>&1 &
}
