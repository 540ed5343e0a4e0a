#!/bin/bash
# Runs every test suite and ends with one line "N passed, N failed".
#   tests/run.sh [suite...]   suites: unit layers asan geo config dp ctl mon
#   integ nft ident knock fuzz lint
# Exit status 1 if anything failed (or a suite could not run at all).
set -u

# Network namespace names live in /run/netns, one list per host.  Give
# this run a list of its own (a private mount namespace with its own
# /run/netns), so that two runs on one host, or a run and a demo, never
# meet in each other's cdn-* and cnft-* namespaces.
if [ -z "${CORDON_TEST_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
    command -v unshare >/dev/null; then
	export CORDON_TEST_NETNS=private
	exec unshare -m --propagation private /bin/bash -c \
	    'mkdir -p /run/netns &&
	    mount -t tmpfs -o mode=0755 cordon-netns /run/netns &&
	    exec "$0" "$@"' "$0" "$@"
fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
export BUILD=${BUILD:-build}
export CORDON_FIXTURES="$ROOT/$BUILD/fixtures"
export CORDON_GEODB="$ROOT/.cache/geo/geo-whois-asn-country.mmdb"
PY=/usr/bin/python3
PASSED=0
FAILED=0
LOG_DIR="$ROOT/$BUILD/test-logs"
mkdir -p "$LOG_DIR"

# Counts TAP lines ("ok ..." / "not ok ...") of a suite's output.
tap_count() {
	local out=$1 p f
	p=$(grep -cE '^ok ' "$out")
	f=$(grep -cE '^not ok ' "$out")
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	grep -E '^not ok ' "$out" | sed 's/^/  FAIL: /'
}

# One check that is a whole command: passes when it exits 0.
check() {
	local name=$1 log
	shift
	log="$LOG_DIR/$(echo "$name" | tr -c 'A-Za-z0-9._-' _).log"
	if "$@" >"$log" 2>&1; then
		PASSED=$((PASSED + 1))
		echo "ok - $name"
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $name (log: $log)"
		tail -n 20 "$log" | sed 's/^/    /'
	fi
}

# Built once per version of the script that writes them: a tree that
# switched branches must not test against another branch's databases.
fixtures() {
	local sum
	sum=$(sha256sum tests/fixtures/mkmmdb.pl | cut -d' ' -f1)
	[ "$(cat "$CORDON_FIXTURES/.done" 2>/dev/null)" = "$sum" ] && return 0
	mkdir -p "$CORDON_FIXTURES"
	/usr/bin/perl tests/fixtures/mkmmdb.pl "$CORDON_FIXTURES" &&
	    echo "$sum" >"$CORDON_FIXTURES/.done"
}

run_cmocka_dir() {
	local dir=$1 tag=$2 t out
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		out="$LOG_DIR/$tag-$(basename "$t").tap"
		CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$out" 2>&1
		local rc=$?
		echo "== $tag $(basename "$t"): $(grep -cE '^ok ' "$out") ok," \
		    "$(grep -cE '^not ok ' "$out") not ok"
		tap_count "$out"
		# A crash or a non-zero exit with no failing case still fails.
		if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$out"; then
			FAILED=$((FAILED + 1))
			echo "  FAIL: $tag $(basename "$t") exited $rc"
			tail -n 20 "$out" | sed 's/^/    /'
		fi
	done
}

suite_unit() {
	fixtures
	run_cmocka_dir "$BUILD" unit
	check "unit: cordond's files form no import circle" \
	    $PY tests/unit/daemon_graph.py "$BUILD"
}

suite_asan() {
	fixtures
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    run_cmocka_dir build-asan asan
	check "asan: replay of the fast-path captures" \
	    env CORDON_DP=build-asan/cordon-dp $PY -m pytest -q -p \
	    no:cacheprovider tests/dp -k replay
}

suite_geo() {
	check "geo: compiled tables == libmaxminddb on the real database" \
	    "$BUILD/tools/geo_compare" --geodb "$CORDON_GEODB" \
	    --field country_code --random 1000000
	check "geo: IPv4-only real database" \
	    "$BUILD/tools/geo_compare" --geodb \
	    "$ROOT/.cache/geo/geo-whois-asn-country-ipv4.mmdb" \
	    --field country_code --random 1000000
}

suite_config() {
	check "config: shipped cordon.conf passes --check" \
	    "$BUILD/cordon-dp" --check -c config/cordon.conf \
	    --geodb "$CORDON_GEODB" --geo-field country_code
	check "config: demo.conf passes --check" \
	    "$BUILD/cordon-dp" --check -c appliance/demo/demo.conf
	check "config: missing database refused (fail closed)" \
	    tests/lib/expect_fail.sh "geo-missing.mmdb" \
	    "$BUILD/cordon-dp" --check -c config/cordon.conf \
	    --geodb /nonexistent/geo-missing.mmdb
}

suite_dp() {
	local out="$LOG_DIR/pytest-dp.txt"
	fixtures
	$PY -m pytest -q -p no:cacheprovider tests/dp >"$out" 2>&1
	pytest_count "$out" dp
}

pytest_count() {
	local out=$1 name=$2 p f e
	tail -n 30 "$out"
	p=$(tail -n 1 "$out" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(tail -n 1 "$out" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	e=$(tail -n 1 "$out" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+')
	PASSED=$((PASSED + ${p:-0}))
	FAILED=$((FAILED + ${f:-0} + ${e:-0}))
	if [ -z "$p$f$e" ]; then
		FAILED=$((FAILED + 1))
		echo "  FAIL: $name: pytest ran nothing"
	fi
}

suite_ctl() {
	local out="$LOG_DIR/pytest-ctl.txt"
	$PY -m pytest -q -p no:cacheprovider tests/ctl >"$out" 2>&1
	pytest_count "$out" ctl
	out="$LOG_DIR/pytest-ctl-asan.txt"
	CORDONCTL="$ROOT/build-asan/cordonctl" $PY -m pytest -q -p \
	    no:cacheprovider tests/ctl/test_cli.py >"$out" 2>&1
	pytest_count "$out" ctl-asan
}

# Monitoring: the MIB checks, then syslog (rsyslog), SNMP (snmpd,
# snmptrapd) and Prometheus (curl) against the real daemons.
suite_mon() {
	local out="$LOG_DIR/pytest-mon.txt"
	check "mib: smilint -l 6 prints nothing" tests/mon/mib_check.sh lint
	check "mib: snmptranslate resolves every object" \
	    tests/mon/mib_check.sh translate
	CORDOND="$ROOT/$BUILD/cordond" $PY -m pytest -q -p no:cacheprovider \
	    tests/mon >"$out" 2>&1
	pytest_count "$out" mon
}

suite_integ() {
	local t out
	for t in tests/integ/test_*.sh; do
		[ -x "$t" ] || continue
		out="$LOG_DIR/integ-$(basename "$t").tap"
		"$t" >"$out" 2>&1
		local rc=$?
		echo "== integ $(basename "$t")"
		grep -E '^(ok|not ok) ' "$out"
		tap_count "$out" >/dev/null
		if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$out"; then
			FAILED=$((FAILED + 1))
			echo "  FAIL: $(basename "$t") exited $rc"
			tail -n 30 "$out" | sed 's/^/    /'
		fi
	done
}

# Identity tokens: control/ident's JWT verifier (jwtverify) against
# PyJWT/jwcrypto tokens, hand-made bad tokens and a local HTTPS JWKS
# server; again with the sanitizer build of the tool.
suite_ident() {
	local out="$LOG_DIR/pytest-ident.txt"
	JWTVERIFY="$ROOT/$BUILD/tools/jwtverify" $PY -m pytest -q -p \
	    no:cacheprovider tests/ident >"$out" 2>&1
	pytest_count "$out" ident
	out="$LOG_DIR/pytest-ident-asan.txt"
	JWTVERIFY="$ROOT/${ASAN_BUILD:-build-asan}/tools/jwtverify" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $PY -m pytest -q -p no:cacheprovider tests/ident >"$out" 2>&1
	pytest_count "$out" ident-asan
}

# Knocks: an independent Python codec of docs/knock.md against
# cordon-knock --print and tests/tools/knockparse (PoP, the replay cache
# across processes, a real send inside a namespace of the test's own);
# again with the sanitizer build of the client and the tool.
suite_knock() {
	local out="$LOG_DIR/pytest-knock.txt"
	$PY -m pytest -q -p no:cacheprovider tests/knock >"$out" 2>&1
	pytest_count "$out" knock
	out="$LOG_DIR/pytest-knock-asan.txt"
	BUILD=${ASAN_BUILD:-build-asan} \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $PY -m pytest -q -p no:cacheprovider tests/knock >"$out" 2>&1
	pytest_count "$out" knock-asan
}

# The nftables backend: cordond with backend = "nftables" in a router
# namespace of the test's own, real TCP (allowed, dropped, rejected,
# rerouted), counters, the golden `nft -j list table`, a refused batch,
# identity sessions, host protection.
suite_nft() {
	local out="$LOG_DIR/pytest-nft.txt"
	fixtures
	$PY -m pytest -q -p no:cacheprovider tests/nft >"$out" 2>&1
	pytest_count "$out" nft
}

suite_fuzz() {
	local s=${FUZZ_SECONDS:-60}
	check "fuzz: packet parser, $s s" tests/fuzz/run.sh "$s" pkt
	check "fuzz: config loader, $s s" tests/fuzz/run.sh "$s" conf
	check "fuzz: syslog formatter, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" syslog
	check "fuzz: JWT verifier, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" jwt
	check "fuzz: knock parser, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" knock
	check "fuzz: token claims vs identity rules, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" claims
	check "fuzz: proxy headers, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" prx
	check "fuzz: proxied flows through the table, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" prxflow
	check "fuzz: the children's channel, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" proc_hdr
	check "fuzz: cordond's receiver of the identity child, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" proc_ident
	check "fuzz: the identity child's receiver, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" ident_child
	check "fuzz: cordond's receiver of the control child, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" proc_ctl
	check "fuzz: the control child's receiver, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" ctl_child
	check "fuzz: the monitoring child's receiver, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" mon_child
	check "fuzz: cordond's receiver of the monitoring child, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" proc_mon
	check "fuzz: the monitoring child's SNMP decoders, $((s / 2)) s" \
	    tests/fuzz/run.sh "$((s / 2))" mon_snmp
}

# The build enforces the layers: includes and calls against the grain
# fail `make` (tests/layers/test_layers.sh, in a scratch copy).
suite_layers() {
	local out="$LOG_DIR/layers.tap"
	tests/layers/test_layers.sh >"$out" 2>&1
	local rc=$?
	echo "== layers: $(grep -cE '^ok ' "$out") ok," \
	    "$(grep -cE '^not ok ' "$out") not ok"
	tap_count "$out"
	if [ $rc -ne 0 ] && ! grep -qE '^not ok ' "$out"; then
		FAILED=$((FAILED + 1))
		echo "  FAIL: layers exited $rc"
		tail -n 20 "$out" | sed 's/^/    /'
	fi
}

# make lint's two halves (tools/lint.sh): the tree as .clang-format writes
# it, and cppcheck with tools/cppcheck/'s justified suppressions.
suite_lint() {
	check "lint: clang-format (make format rewrites the tree)" \
	    tools/lint.sh --format
	check "lint: cppcheck" tools/lint.sh --cppcheck
}

SUITES=${*:-unit layers asan geo config dp ctl mon integ ident knock nft fuzz lint}
for s in $SUITES; do
	echo "### suite $s"
	"suite_$s"
done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
