# shellcheck shell=bash
# Scenarios shared by `make demo` and tests/integ/test_demo_netns.sh:
#   name | source | country | destination | port | service | expected
# expected: allow (the server answers), reroute (the quarantine host
# answers), drop (silence: timeout), reject (TCP reset: refused).
SCENARIOS="\
us-ssh|192.0.2.10|US|192.0.2.100|22|ssh|allow
us-https-admin|192.0.2.10|US|192.0.2.100|8443|https-admin|allow
cn-ssh|198.51.100.10|CN|192.0.2.100|22|ssh|reroute
cn-https-admin|198.51.100.10|CN|192.0.2.100|8443|https-admin|drop
cn-web|198.51.100.10|CN|192.0.2.100|80|-|allow
ru-rdp|203.0.113.10|RU|192.0.2.100|3389|rdp|drop
ru-kube-api|203.0.113.10|RU|192.0.2.100|6443|kube-api|drop
unknown-ssh|203.0.113.200|unknown|192.0.2.100|22|ssh|reject
de-ssh-v6|2001:db8:2::10|DE|2001:db8:f::100|22|ssh|allow
cn-ssh-v6|2001:db8:1::10|CN|2001:db8:f::100|22|ssh|reroute
cn-winrm-v6|2001:db8:1::10|CN|2001:db8:f::100|5985|winrm|drop"

SSHD_DIR=""

# Real sshd on the server (port 22); banner servers for the rest.
scen_servers_start() {
	local p
	SSHD_DIR=$(mktemp -d)
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_ed25519"
	mkdir -p /run/sshd
	cat >"$SSHD_DIR/sshd_config" <<CONF
ListenAddress 0.0.0.0
ListenAddress ::
Port 22
HostKey $SSHD_DIR/host_ed25519
PidFile $SSHD_DIR/sshd.pid
UsePAM no
PasswordAuthentication no
CONF
	ip netns exec "$CDN_SRV" /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E \
	    "$SSHD_DIR/sshd.log"
	for p in 80 3389 5985 6443 8443; do
		topo_banner "$CDN_SRV" "$p" "inside-server port $p"
	done
	topo_banner "$CDN_Q" 22 "SSH-2.0-Cordon-Quarantine inspection host"
	topo_wait_port "$CDN_SRV" 22 && topo_wait_port "$CDN_SRV" 8443 &&
	    topo_wait_port "$CDN_Q" 22
}

scen_servers_stop() {
	[ -n "$SSHD_DIR" ] && rm -rf "$SSHD_DIR"
	SSHD_DIR=""
}

# scen_observe OUTPUT: the verdict a client output shows.
scen_observe() {
	case "$1" in
	*Quarantine*) echo reroute ;;
	timeout) echo drop ;;
	refused) echo reject ;;
	SSH-2.0-OpenSSH* | inside-server*) echo allow ;;
	*) echo "other($1)" ;;
	esac
}
