#!/bin/bash
# bench/nft.sh: the nftables backend's batches against nft -f, in the same
# run, inside a throwaway network namespace (never the host's ruleset).
# Real database, the shipped policy's prohibited + unknown sets (as
# config/policy.conf's rules use them): initial load, then an atomic
# replacement of the whole table, each way; wall time and peak RSS.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
NFTLOAD="$ROOT/$BUILD/tools/nftload"
GEODB="$ROOT/.cache/geo/geo-whois-asn-country.mmdb"
WORK="$ROOT/$BUILD/bench/nft"
NS=cnft-bench
mkdir -p "$WORK"

[ -x "$NFTLOAD" ] || { echo "nft bench: no $NFTLOAD"; exit 1; }
[ -s "$GEODB" ] || { echo "nft bench: no $GEODB (make deps)"; exit 1; }

cp config/profiles/foreign-adversaries.conf "$WORK/"
cat >"$WORK/bench.conf" <<EOC
backend = "nftables";
@include "foreign-adversaries.conf"
geo: { databases = ( { file = "$GEODB"; field = "country_code"; } ); };
services: { ssh = { proto = "tcp"; ports = [ "22" ]; }; };
rules = ( { name = "mgmt-from-prohibited"; src = [ "prohibited", "unknown" ];
	    services = [ "ssh" ]; direction = "in"; action = "drop"; } );
dataplane: { ports = (
	{ name = "outside0"; interface = "bench-o"; role = "outside";
	  peer = "inside0"; },
	{ name = "inside0"; interface = "bench-i"; role = "inside";
	  peer = "outside0"; } ); };
EOC

cleanup() { ip netns del "$NS" 2>/dev/null; return 0; }
trap cleanup EXIT
cleanup
ip netns add "$NS" || exit 1

# field FILE WORD KEY: the value of KEY=VALUE on the line starting with WORD.
field() { grep "^$2 " "$1" | grep -oE "$3=[0-9.]+" | cut -d= -f2; }
# tv FILE: wall seconds and peak RSS (KiB) from /usr/bin/time -v.
tv_wall() {
	awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":");
	    s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s }' "$1"
}
tv_rss() { awk -F': ' '/Maximum resident/ { print $2 }' "$1"; }

# 1. cordond's library: load, then replace, in one process.
ip netns exec "$NS" /usr/bin/time -v "$NFTLOAD" -t cordon apply \
    "$WORK/bench.conf" -R -n 2 >"$WORK/lib.out" 2>"$WORK/lib.time" || {
	cat "$WORK/lib.out" "$WORK/lib.time"; exit 1; }
ELEMS=$(field "$WORK/lib.out" load elems)
L_MS=$(awk '/^load /{for(i=1;i<=NF;i++){split($i,a,"=");
    if(a[1]=="build_ms"||a[1]=="send_ms")s+=a[2]}} END{print s}' \
    "$WORK/lib.out")
R_MS=$(awk '/^replace /{for(i=1;i<=NF;i++){split($i,a,"=");
    if(a[1]=="build_ms"||a[1]=="send_ms")s+=a[2]}} END{print s}' \
    "$WORK/lib.out")
GEO_RSS=$(field "$WORK/lib.out" geo maxrss_kb)
LIB_RSS=$(tv_rss "$WORK/lib.time")
ip netns exec "$NS" "$NFTLOAD" -t cordon remove

# 2. nft -f with the same sets (text made outside the timing).
"$NFTLOAD" -t cordon text "$WORK/bench.conf" >"$WORK/sets.nft" || exit 1
ip netns exec "$NS" /usr/bin/time -v nft -f "$WORK/sets.nft" \
    2>"$WORK/nft-load.time" || { cat "$WORK/nft-load.time"; exit 1; }
ip netns exec "$NS" /usr/bin/time -v nft -f "$WORK/sets.nft" \
    2>"$WORK/nft-replace.time" || { cat "$WORK/nft-replace.time"; exit 1; }
NL=$(tv_wall "$WORK/nft-load.time")
NR=$(tv_wall "$WORK/nft-replace.time")
NRSS1=$(tv_rss "$WORK/nft-load.time")
NRSS2=$(tv_rss "$WORK/nft-replace.time")

awk -v e="$ELEMS" -v lms="$L_MS" -v rms="$R_MS" -v nl="$NL" -v nr="$NR" \
    -v grss="$GEO_RSS" -v lrss="$LIB_RSS" -v n1="$NRSS1" -v n2="$NRSS2" \
    -v bytes="$(field "$WORK/lib.out" load bytes)" \
    -v lines="$(grep -c -- '-' "$WORK/sets.nft")" 'BEGIN {
	nrss = n1 > n2 ? n1 : n2
	printf "nftables backend: %d set elements (%d ranges in the nft file)\n", e, lines
	printf "  load:    cordond batch %.2f s   nft -f %.2f s   (%.1fx)\n", lms / 1000, nl, nl * 1000 / lms
	printf "  replace: cordond batch %.2f s   nft -f %.2f s   (%.1fx)\n", rms / 1000, nr, nr * 1000 / rms
	printf "  peak RSS: nftload %d MiB (the geo compile alone reached %d MiB; batches %.1f MiB)   nft -f %d MiB\n", lrss / 1024, grss / 1024, bytes / 1048576, nrss / 1024
	printf "  replacement floor 3x: %s\n", (nr * 1000 / rms >= 3) ? "met" : "NOT met"
}'
