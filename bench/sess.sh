#!/bin/bash
# Session table figures (called by bench/run.sh): sessions installed per
# second filling one million, sweep and rebuild at that size, single and
# bulk lookup ns/op with 100k live sessions (hits and misses), and shared
# memory per session.  Reports; never fails a build on a figure.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
SB="$ROOT/$BUILD/tools/sessbench"

[ -x "$SB" ] || { echo "bench: $SB missing: run make"; exit 1; }
echo "== session table (floors: install 500k/s, bulk hit lookup 150 ns," \
    "160 bytes per session)"
out=$("$SB" --capacity "${SESS_CAPACITY:-1000000}" \
    --live "${SESS_LIVE:-100000}" --lookups "${SESS_LOOKUPS:-2000000}") ||
    { echo "sessbench failed"; exit 1; }
echo "$out"
# The floors, reported against this run's figures.
echo "$out" | awk -F': ' '
	function floor(name, ok) { printf "%s: %s\n", name, ok ? "met" : "MISSED" }
	/^sess_install_to_capacity:/ { floor("sess_install_floor", $2 + 0 >= 500000) }
	/^sess_lookup_hit_bulk_32:/ { floor("sess_lookup_floor", $2 + 0 <= 150) }
	/^sess_shared_memory_per_session:/ { floor("sess_memory_floor", $2 + 0 <= 160) }'
