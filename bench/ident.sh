#!/bin/bash
# Identity tokens: JWTs verified per second by control/ident's jose_verify,
# per algorithm, on one core (tests/tools/jwtbench), with OpenSSL's own
# verify figures measured in the same run for comparison.  Reported, never
# enforced.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
SECS=${BENCH_IDENT_SECS:-2}
CPU=${BENCH_IDENT_CPU:-1}
BENCH="$ROOT/$BUILD/tools/jwtbench"

[ -x "$BENCH" ] || { echo "bench: $BENCH missing: run make"; exit 1; }
echo "== identity tokens: jose_verify on one core (cpu $CPU), ${SECS} s each"
taskset -c "$CPU" "$BENCH" "$SECS"
echo "-- openssl speed, verify only, same core:"
taskset -c "$CPU" openssl speed -seconds 1 rsa2048 ecdsap256 ecdsap384 \
    ed25519 ed448 2>/dev/null | grep -E '^(rsa|ecdsa| *[0-9]+ bits)' |
    awk '{ print "   " $0 }'
