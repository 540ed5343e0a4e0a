#!/bin/bash
# Integration: real relays from Debian in front of real servers, through
# cordon-dp on net_af_packet ports (issue 13, Proxies; docs/proxies.md).
#
#   cdn-cli: clients, HAProxy (2222, send-proxy-v2) and an nginx reverse
#            proxy (8081, adds X-Forwarded-For), both relaying from
#            192.0.2.10 (US), the one trusted relay;
#   cdn-srv: nginx with `listen 8022 proxy_protocol` and a plain HTTP
#            backend on 8080.
#
# A client in China (198.51.100.10 by demo.conf's overrides) is refused
# through either relay although the relay's own address is allowed; a
# US client is served, and nginx behind HAProxy sees its real address.
# The daemons run with our own config and pid files in $WORK, never as
# system services, and are stopped at the end.  Prints TAP.
set -u
. "$(dirname "$0")/../lib/integ.sh"

RELAY=192.0.2.10
CLI_CN=198.51.100.10
SRV=192.0.2.100
# Two folders below the top, as demo.conf: its relative paths resolve.
CONF_DIR="$ROOT/$BUILD/integ-proxy.$$"
CONF="$CONF_DIR/cordon.conf"

relays_stop() {
	local f pid
	for f in "$WORK/haproxy.pid" "$WORK/nginx-cli/nginx.pid" \
	    "$WORK/nginx-srv/nginx.pid"; do
		pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] &&
		    kill "$pid" 2>/dev/null
	done
	return 0
}
trap 'relays_stop; rm -rf "$CONF_DIR"; integ_cleanup' EXIT

stat_get() {
	/usr/bin/python3 -c 'import json,sys; s=json.load(open(sys.argv[1]));
print(eval(sys.argv[2]))' "$WORK/stats/stats.json" "$1"
}

# demo.conf, plus two proxied services, the relay trusted, and rules
# that drop them from prohibited or unknown clients (src, via).
conf_write() {
	mkdir -p "$CONF_DIR"
	sed -e 's|^services:|proxies = { trusted = [ "'$RELAY'" ]; };\nservices:|' \
	    -e 's|^\t*ssh *= { proto = "tcp"; ports = \[ "22" \]; };|&\n\tlb-web = { proxy = "v2"; proto = "tcp"; ports = [ "8022" ]; };\n\txff-web = { proxy = "x-forwarded-for"; proto = "tcp"; ports = [ "8080" ]; };|' \
	    "$ROOT/appliance/demo/demo.conf" >"$CONF"
	/usr/bin/python3 - "$CONF" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
rule = ('\t{ name = "proxied-prohibited"; src = [ "CN", "RU", "unknown" ];\n'
        '\t  services = [ "lb-web", "xff-web" ]; action = "drop"; },\n'
        '\t{ name = "proxied-via"; via = [ "CN", "RU", "unknown" ];\n'
        '\t  services = [ "lb-web", "xff-web" ]; action = "drop"; },\n')
s, n = re.subn(r"(rules\s*=\s*\(\s*\n)", lambda m: m.group(1) + rule, s,
               count=1)
assert n == 1 and "lb-web" in s and "proxies" in s, s[:400]
open(p, "w").write(s)
PY
	# demo.conf's @includes resolve against the config's folder.
	cp -r "$ROOT/appliance/demo/." "$WORK/demo-files" 2>/dev/null
}

nginx_start() {
	local ns=$1 dir=$2 body=$3
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
user root;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 64; }
http {
	access_log $dir/access.log;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
$body
}
EOF
	ip netns exec "$ns" /usr/sbin/nginx -p "$dir" -c "$dir/nginx.conf"
}

haproxy_start() {
	cat >"$WORK/haproxy.cfg" <<EOF
global
	daemon
	pidfile $WORK/haproxy.pid
defaults
	mode tcp
	timeout connect 3s
	timeout client 5s
	timeout server 5s
frontend fe
	bind $RELAY:2222
	default_backend be
backend be
	source $RELAY
	server s1 $SRV:8022 send-proxy-v2
EOF
	ip netns exec cdn-cli /usr/sbin/haproxy -f "$WORK/haproxy.cfg"
}

# fetch SRC URL: the body, or "failed" (3 s at most).
fetch() {
	ip netns exec cdn-cli curl -s -m 3 --interface "$1" "$2" ||
	    echo failed
}

topo_up || { echo "Bail out! topology"; exit 1; }
conf_write
"$DP" --check -c "$CONF" >"$WORK/check.log" 2>&1 ||
    { cat "$WORK/check.log"; echo "Bail out! config refused"; exit 1; }

nginx_start cdn-srv "$WORK/nginx-srv" "
	server { listen $SRV:8022 proxy_protocol;
		 location / { return 200 \"lb \$proxy_protocol_addr\n\"; } }
	server { listen $SRV:8080;
		 location / { return 200 \"xff \$http_x_forwarded_for\n\"; } }" ||
    { echo "Bail out! nginx (server)"; exit 1; }
nginx_start cdn-cli "$WORK/nginx-cli" "
	server { listen $RELAY:8081;
		 location / { proxy_pass http://$SRV:8080;
			      proxy_bind $RELAY;
			      proxy_set_header X-Forwarded-For
				  \$proxy_add_x_forwarded_for; } }" ||
    { echo "Bail out! nginx (relay)"; exit 1; }
haproxy_start || { echo "Bail out! haproxy"; exit 1; }
topo_wait_port cdn-srv 8022 && topo_wait_port cdn-cli 2222 &&
    topo_wait_port cdn-cli 8081 || { echo "Bail out! listeners"; exit 1; }

dp_start "$CONF" || { echo "Bail out! cordon-dp did not start"; exit 1; }
tap ok "cordon-dp starts with proxied services"

# The first connection may wait for ARP: retried once.
fetch_retry() {
	local out
	out=$(fetch "$1" "$2")
	[ "$out" = failed ] && out=$(fetch "$1" "$2")
	echo "$out"
}
got=$(fetch_retry "$RELAY" "http://$RELAY:2222/")
[ "$got" = "lb $RELAY" ] &&
    tap ok "HAProxy send-proxy-v2: a US client served, nginx sees it" ||
    tap fail "HAProxy send-proxy-v2: a US client served (got '$got')"
got=$(fetch "$CLI_CN" "http://$RELAY:2222/")
case "$got" in lb*) tap fail "HAProxy: a CN client refused (got '$got')" ;;
*) tap ok "HAProxy: a CN client behind the US relay refused" ;; esac
got=$(fetch_retry "$RELAY" "http://$RELAY:8081/")
[ "$got" = "xff $RELAY" ] &&
    tap ok "nginx X-Forwarded-For: a US client served" ||
    tap fail "nginx X-Forwarded-For: a US client served (got '$got')"
got=$(fetch "$CLI_CN" "http://$RELAY:8081/")
case "$got" in xff*) tap fail "nginx XFF: a CN client refused (got '$got')" ;;
*) tap ok "nginx X-Forwarded-For: a CN client behind the US relay refused" ;;
esac
# A CN client forging a US hop: the rightmost untrusted hop is the origin.
got=$(ip netns exec cdn-cli curl -s -m 3 --interface "$CLI_CN" \
    -H "X-Forwarded-For: 192.0.2.77" "http://$RELAY:8081/" || echo failed)
case "$got" in xff*) tap fail "forged XFF hop ignored (got '$got')" ;;
*) tap ok "nginx X-Forwarded-For: a forged US hop does not hide CN" ;; esac

for _ in $(seq 30); do
	[ "$(stat_get 's["proxied"]["denied"]' 2>/dev/null)" -ge 3 ] \
	    2>/dev/null && break
	sleep 0.1
done
check_stat() {
	if [ "$(stat_get "$1")" = True ]; then tap ok "counters: $2"; else
		tap fail "counters: $2 ($1)"; fi
}
check_stat 's["proxied"]["denied"] >= 3' "refused proxied flows"
check_stat 's["proxied"]["reported"] >= 2' "flows decided by a reported client"
check_stat 's["rules"]["proxied-prohibited"] >= 3' \
    "the CN client judged as the source"

dp_stop
rc=$?
[ $rc -eq 0 ] && tap ok "cordon-dp exits cleanly on SIGINT" ||
    tap fail "cordon-dp exits cleanly on SIGINT (rc $rc)"
relays_stop
echo "1..$N"
