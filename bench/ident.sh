#!/bin/bash
# Identity tokens: JWTs verified per second by control/ident's jose_verify,
# per algorithm, on one core (tests/tools/jwtbench), against OpenSSL's own
# verification of the same key and signature in the same process
# (alternating rounds, medians, per CPU second) and issue 16's 0.8 floor;
# `openssl speed` after it as a cross-check.  Reported, never enforced.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
SECS=${BENCH_IDENT_SECS:-1}
ROUNDS=${BENCH_IDENT_ROUNDS:-3}
CPU=${BENCH_IDENT_CPU:-1}
BENCH="$ROOT/$BUILD/tools/jwtbench"

[ -x "$BENCH" ] || { echo "bench: $BENCH missing: run make"; exit 1; }
echo "== identity tokens: jose_verify against OpenSSL on one core (cpu $CPU)"
taskset -c "$CPU" "$BENCH" "$SECS" "$ROUNDS"
# Per second of user CPU time (not wall time, unless -elapsed), and
# without hashing the token: compare with the openssl/s column above.
echo "-- openssl speed, verify only, same core, per user CPU second:"
taskset -c "$CPU" openssl speed -seconds 1 rsa2048 ecdsap256 ecdsap384 \
    ed25519 ed448 2>/dev/null | grep -E '^(rsa|ecdsa| *[0-9]+ bits)' |
    awk '{ print "   " $0 }'
