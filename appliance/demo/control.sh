# shellcheck shell=bash
# Part two of make demo: the same wire, now run by cordond and driven
# with cordonctl alone: explain a verdict, change a rule through a
# reviewed commit, watch the verdict change on live traffic, roll back.
# Sourced by demo.sh after part one (needs tests/lib/integ.sh).

CD="$ROOT/$BUILD/cordond"
CTL="$ROOT/$BUILD/cordonctl"
CD_PID=""

ctl() {
	local a line="\$ cordonctl"
	for a in "$@"; do
		case "$a" in *" "*) line="$line \"$a\"" ;; *) line="$line $a" ;; esac
	done
	echo "$line"
	"$CTL" -s "$WORK/cordon.sock" "$@" 2>&1 | sed 's/^/    /'
}

# cordond's config: demo.conf plus its own settings.  Two levels below
# the repository, so that demo.conf's relative paths still hold.
control_conf() {
	local dir="$ROOT/$BUILD/demo"
	mkdir -p "$dir"
	cat appliance/demo/demo.conf - >"$dir/cordond.conf" <<CONF

control:
{
	socket = "$WORK/cordon.sock";
	ro_socket = "$WORK/cordon-ro.sock";
	socket_group = "root";
	state_dir = "$WORK/state";
	dp_socket = "$WORK/dp.sock";
	dp_binary = "$DP";
	# The npm snapshot of the database may be months old: a demo is not
	# the place for the staleness alarm (default 30 days).
	geo_max_age = 365;
};
CONF
	echo "$dir/cordond.conf"
}

control_start() {
	ip netns exec "$CDN_DP" "$CD" -f "$1" >"$WORK/cordond.log" 2>&1 &
	CD_PID=$!
	for _ in $(seq 150); do
		"$CTL" -s "$WORK/cordon.sock" -j show status 2>/dev/null |
		    grep -q '"state": *"up"' && return 0
		kill -0 "$CD_PID" 2>/dev/null || break
		sleep 0.2
	done
	cat "$WORK/cordond.log"
	return 1
}

# control_probe EXPECTED [CC SRC]: what a client (default: the CN one)
# gets on ssh now.
control_probe() {
	local got cc=${2:-CN} src=${3:-198.51.100.10}
	got=$(scen_observe "$(topo_connect "$src" 192.0.2.100 22)")
	printf '    %s %s -> ssh/22: %s (expected %s)\n' "$cc" "$src" "$got" "$1"
	[ "$got" = "$1" ]
}

control_demo() {
	local conf bad=0
	echo
	echo "== part two: the same wire under cordond, driven by cordonctl"
	conf=$(control_conf)
	control_start "$conf" || { echo "demo: cordond did not start"; return 1; }
	ctl show status
	ctl explain 198.51.100.10 192.0.2.100 tcp 22 outside0
	control_probe reroute || bad=1
	echo "== change: drop prohibited ssh instead of quarantining it"
	ctl set rule ssh-prohibited-quarantine src prohibited services ssh \
	    direction in action drop log yes
	ctl compare
	ctl commit comment "drop prohibited ssh outright"
	control_probe drop || bad=1
	ctl show revisions
	echo "== roll back to revision 1 (into the candidate and committed)"
	ctl rollback 1 commit
	control_probe reroute || bad=1
	ctl audit verify
	ctl show rules
	# cordond leaves cordon-dp enforcing when it stops (fail-static);
	# the namespace teardown stops both.
	kill -TERM "$CD_PID" 2>/dev/null
	wait "$CD_PID" 2>/dev/null
	CD_PID=""
	return $bad
}
