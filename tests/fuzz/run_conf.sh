#!/bin/sh
# Runs the config-loader fuzzer for SECONDS (default 60) from the committed
# seed corpus, with the cordon.conf dictionary.  Builds nothing: `make
# fuzz-build` first.  The seeds are copied to a scratch corpus so a run
# never grows the committed one; crashes are kept under
# $BUILD/fuzz/artifacts/conf/.  Exits non-zero if anything was found.
set -eu

secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
fuzzer=$build/fuzz/fuzz_conf
seeds=$top/tests/fuzz/corpus/conf
dict=$top/tests/fuzz/conf.dict
supp=$top/tests/fuzz/conf.lsan.supp
artifacts=$build/fuzz/artifacts/conf

if [ ! -x "$fuzzer" ]; then
	echo "run_conf.sh: $fuzzer missing; run 'make fuzz-build'" >&2
	exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cordon-fuzz-conf.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/"

# stdin from /dev/null: nothing the fuzzer @includes can wait on a terminal.
# Known leaks of libconfig itself are suppressed (see the file).
LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$supp:print_suppressions=0"
export LSAN_OPTIONS
rc=0
"$fuzzer" -max_total_time="$secs" -timeout=10 -max_len=8192 \
    -dict="$dict" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work/corpus" </dev/null >"$work/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] ||
    grep -q 'ERROR: \(libFuzzer\|AddressSanitizer\|LeakSanitizer\)\|runtime error:' "$work/log"; then
	grep -v '^"\|# Uses:' "$work/log" | tail -n 60
	echo "run_conf.sh: fuzz_conf found a problem (exit $rc); see $artifacts" >&2
	exit 1
fi
grep '^Done\|^stat::' "$work/log"
echo "run_conf.sh: fuzz_conf clean after ${secs}s"
