#!/bin/sh
# tests/fuzz/run.sh [SECONDS [TARGET]]: runs the libFuzzer harness
# $BUILD/fuzz/fuzz_TARGET (pkt by default; conf, syslog, jwt, knock, claims) for
# SECONDS (default 60).  Builds nothing: `make fuzz-build` first.  The committed
# seeds (tests/fuzz/corpus/TARGET, when present) are copied to a scratch
# corpus so a run never grows the committed one; TARGET.dict and
# TARGET.lsan.supp are used when present; crashes are kept under
# $BUILD/fuzz/artifacts/TARGET.  Exits non-zero if anything was found.
set -eu

secs=${1:-60}
target=${2:-pkt}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
fuzzer=$build/fuzz/fuzz_$target
seeds=$top/tests/fuzz/corpus/$target
dict=$top/tests/fuzz/$target.dict
supp=$top/tests/fuzz/$target.lsan.supp
artifacts=$build/fuzz/artifacts/$target

if [ ! -x "$fuzzer" ]; then
	echo "run.sh: $fuzzer missing; run 'make fuzz-build'" >&2
	exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cordon-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
[ -d "$seeds" ] && cp "$seeds"/* "$work/corpus/"

set -- -max_total_time="$secs" -timeout=10 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/"
[ -f "$dict" ] && set -- "$@" -dict="$dict"
# Known leaks of the libraries themselves (e.g. libconfig) are listed in
# the suppression file, with why.
if [ -f "$supp" ]; then
	LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp"
	LSAN_OPTIONS="$LSAN_OPTIONS:print_suppressions=0"
	export LSAN_OPTIONS
fi
rc=0
# stdin from /dev/null: nothing a harness opens can wait on a terminal.
"$fuzzer" "$@" "$work/corpus" </dev/null >"$work/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] || grep -q \
    'ERROR: \(libFuzzer\|AddressSanitizer\|LeakSanitizer\)\|runtime error:' \
    "$work/log"; then
	grep -v '^"\|# Uses:' "$work/log" | tail -n 60
	echo "run.sh: fuzz_$target found a problem (exit $rc); see" \
	    "$artifacts" >&2
	exit 1
fi
grep '^Done\|^stat::' "$work/log"
echo "run.sh: fuzz_$target clean after ${secs}s"
