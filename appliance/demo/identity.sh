# shellcheck shell=bash
# Part three of make demo: identity.  ssh now needs a person behind it:
# a token from the (demo) identity provider opens a session, revocation
# closes it, and a token relayed on behalf of a CN actor (the digital
# escort case) goes to quarantine although the source is in the US.
# Sourced after control.sh; tests/integ/test_identity_netns.sh uses
# identity_conf too.

KNOCK="$ROOT/$BUILD/cordon-knock"

# demo.conf + the control group + an identity group, the escort rule
# first.  Keys and tokens are made into $WORK by tests/integ/mktokens.py.
identity_conf() {
	local f
	f=$(control_conf)
	# A state folder of its own: part two's revisions are not this config.
	sed -i "s|state_dir = \"$WORK/state\"|state_dir = \"$WORK/state-id\"|" "$f"
	sed -i 's|^rules = (|rules = (\
	{ name = "escort-relay"; services = [ "ssh" ]; direction = "in";\
	  identity = { who = "actors";\
	      location = [ "prohibited", "unknown", "special" ]; };\
	  action = "reroute"; nexthop = "quarantine"; log = true; },|' "$f"
	cat >>"$f" <<CONF
identity:
{
	issuers = ( { name = "corp"; issuer = "https://idp.test";
		audience = [ "cordon" ]; jwks = "$WORK/jwks.json";
		algorithms = [ "ES256" ]; } );
	claims = { country = [ "ctry" ]; act_depth = 4; };
	services = [ "ssh" ];
	unidentified = { action = "drop"; log = true; };
	sessions = { capacity = 1024; max_ttl = 3600; per_subject = 2048; };
	knock = { port = 47470; max_age = 30; rate = 1; burst = 3; };
};
CONF
	echo "$f"
}

identity_probe() {
	control_probe "$1" US 192.0.2.10
}

identity_demo() {
	local conf bad=0
	echo
	echo "== part three: identity — ssh needs a session, and who it serves"
	/usr/bin/python3 tests/integ/mktokens.py "$WORK" https://idp.test \
	    cordon 600 >/dev/null || return 1
	conf=$(identity_conf)
	control_start "$conf" || { echo "demo: cordond did not start"; return 1; }
	echo "-- no token yet: management access from an allowed country is refused"
	identity_probe drop || bad=1
	echo "-- an authenticating gateway pushes alice's token"
	ctl session add --token "$WORK/alice.jwt" --src 192.0.2.10
	identity_probe allow || bad=1
	ctl session list
	ctl session revoke sub alice
	identity_probe drop || bad=1
	echo "-- a knock through the data port, signed with the token's cnf key"
	ip netns exec "$CDN_CLI" "$KNOCK" --token "$WORK/pop.jwt" \
	    --key "$WORK/pop.pem" --service ssh --to 192.0.2.100 --port 47470
	sleep 1
	identity_probe allow || bad=1
	ctl session revoke src 192.0.2.10
	echo "-- the escort case: carol (US) acting for bob, placed in CN"
	ctl session add --token "$WORK/escort.jwt" --src 192.0.2.10
	identity_probe reroute || bad=1
	ctl explain 192.0.2.10 192.0.2.100 tcp 22 outside0 --token \
	    "$WORK/escort.jwt"
	kill -TERM "$CD_PID" 2>/dev/null
	wait "$CD_PID" 2>/dev/null
	CD_PID=""
	return $bad
}
