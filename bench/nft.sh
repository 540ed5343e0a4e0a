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

# 1. cordond's library: load, then replace the whole table, in one process.
ip netns exec "$NS" /usr/bin/time -v "$NFTLOAD" -t cordon apply \
    "$WORK/bench.conf" -R -F -n 2 >"$WORK/lib.out" 2>"$WORK/lib.time" || {
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

# 3. Issue 16's figures, each against its reference in the same run.
# wall_ms: nft_apply() whole (policy compile, counters read, batch sent).
wall() { grep "^$2 " "$1" | grep -oE "wall_ms=[0-9.]+" | cut -d= -f2 | tail -1; }
ms_now() { date +%s%N; }
nft_f() { # nft -f of the whole table, ms (table there already: a replacement)
	local t0 t1
	t0=$(ms_now)
	ip netns exec "$NS" nft -f "$WORK/sets.nft" || return 1
	t1=$(ms_now)
	echo $(((t1 - t0) / 1000)) | awk '{ printf "%.1f", $1 / 1000 }'
}

# a) One changed rule: a commit is a delta that leaves the region sets.
sed 's/action = "drop"/action = "reject"/' "$WORK/bench.conf" \
    >"$WORK/commit.conf"
ip netns exec "$NS" "$NFTLOAD" -t cordon apply "$WORK/bench.conf" -R \
    -K "$WORK/commit.conf" -K "$WORK/bench.conf" -K "$WORK/commit.conf" \
    >"$WORK/commit.out" || exit 1
COMMIT=$(grep '^commit ' "$WORK/commit.out" | grep -oE 'wall_ms=[0-9.]+' |
    cut -d= -f2 | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
CELEMS=$(grep -m1 '^commit ' "$WORK/commit.out" | grep -oE ' elems=[0-9]+' |
    cut -d= -f2)
printf "  one-rule commit: %.1f ms (median of 3 deltas, %d elements sent; target <= 50 ms)\n" \
    "$COMMIT" "$CELEMS"

# b) A geo reload whose tables changed by 1% of the region set's ranges:
# that many prefixes (IPv4 /24s, IPv6 /48s in the ranges' proportion)
# move into or out of the set's countries through overrides, the way a
# new release would; delta against whole replacement, alternating.
/usr/bin/python3 - "$WORK" "$(grep -c -- '-' "$WORK/sets.nft")" <<'EOP'
import random, sys
work, ranges = sys.argv[1], int(sys.argv[2])
base = open(work + "/bench.conf").read()
nft = open(work + "/sets.nft").read()
v6 = nft.count(":") > 0
rnd = random.Random(16)
n = max(1, ranges // 100)
n4 = n * 15 // 100
seen, ov = set(), []
while len(ov) < n:
    if len(ov) < n4:
        p = "%d.%d.%d.0/24" % (rnd.randint(1, 223), rnd.randint(0, 255),
                               rnd.randint(0, 255))
    else:
        p = "2%03x:%x:%x::/48" % (rnd.randint(0, 0xfff), rnd.randint(0, 0xffff),
                                  rnd.randint(0, 0xffff))
    if p not in seen:
        seen.add(p)
        ov.append('{ prefix = "%s"; country = "%s"; }' % (
            p, rnd.choice(["CN", "RU", "US", "DE"])))
text = base.replace('field = "country_code"; } ); };',
                    'field = "country_code"; } );\n    overrides = (\n' +
                    ",\n".join(ov) + "\n    ); };")
assert text != base
open(work + "/reload.conf", "w").write(text)
EOP
NOV=$(grep -c 'prefix = ' "$WORK/reload.conf")
ratios=""
for r in 1 2 3; do
	ip netns exec "$NS" "$NFTLOAD" -t cordon apply "$WORK/bench.conf" -R \
	    -N "$WORK/reload.conf" >"$WORK/reload-delta.out" || exit 1
	ip netns exec "$NS" "$NFTLOAD" -t cordon apply "$WORK/bench.conf" -R \
	    -F -N "$WORK/reload.conf" >"$WORK/reload-full.out" || exit 1
	D=$(wall "$WORK/reload-delta.out" reload)
	F=$(wall "$WORK/reload-full.out" reload)
	E=$(grep '^reload ' "$WORK/reload-delta.out" | grep -oE ' elems=[0-9]+ dels=[0-9]+')
	printf "  geo reload, %d prefixes changed: delta %.1f ms (%s)   whole %.1f ms   (%.1fx)\n" \
	    "$NOV" "$D" "$E" "$F" "$(awk -v d="$D" -v f="$F" 'BEGIN { print f / d }')"
	ratios="$ratios $(awk -v d="$D" -v f="$F" 'BEGIN { print f / d }')"
done
echo "$ratios" | tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { printf "  geo delta vs whole: median %.1fx (target >= 10x): %s\n", v[2], (v[2] >= 10) ? "met" : "NOT met" }'

# c) Whole replacement against nft -f of the same sets, five runs.
met=0
for r in 1 2 3 4 5; do
	ip netns exec "$NS" "$NFTLOAD" -t cordon apply "$WORK/bench.conf" -R \
	    -F -n 2 >"$WORK/full.out" || exit 1
	L=$(wall "$WORK/full.out" replace)
	N=$(nft_f) || exit 1
	X=$(awk -v l="$L" -v n="$N" 'BEGIN { printf "%.1f", n / l }')
	awk -v x="$X" 'BEGIN { exit !(x >= 3) }' && met=$((met + 1))
	printf "  run %d: whole replacement %.1f ms   nft -f %.1f ms   (%sx)\n" \
	    "$r" "$L" "$N" "$X"
done
printf "  whole vs nft -f >= 3x in %d of 5 runs: %s\n" "$met" \
    "$([ "$met" -eq 5 ] && echo met || echo NOT met)"
