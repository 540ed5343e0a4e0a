#!/bin/sh
# Runs the packet fuzzer for SECONDS (default 60) from the committed seed
# corpus.  Builds nothing: `make fuzz-build` first.  The seeds are copied
# to a scratch corpus so a run never grows the committed one; crashes are
# kept under $BUILD/fuzz/artifacts/.  Exits non-zero if anything was found.
set -eu

secs=${1:-60}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
fuzzer=$build/fuzz/fuzz_pkt
seeds=$top/tests/fuzz/corpus/pkt
artifacts=$build/fuzz/artifacts/pkt

if [ ! -x "$fuzzer" ]; then
	echo "run.sh: $fuzzer missing; run 'make fuzz-build'" >&2
	exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/cordon-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts"
cp "$seeds"/* "$work/corpus/"

rc=0
"$fuzzer" -max_total_time="$secs" -timeout=10 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$work/corpus" >"$work/log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ] ||
    grep -q 'ERROR: \(libFuzzer\|AddressSanitizer\)\|runtime error:' "$work/log"; then
	grep -v '^"\|# Uses:' "$work/log" | tail -n 60
	echo "run.sh: fuzz_pkt found a problem (exit $rc); see $artifacts" >&2
	exit 1
fi
grep '^Done\|^stat::' "$work/log"
echo "run.sh: fuzz_pkt clean after ${secs}s"
