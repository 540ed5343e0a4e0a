#!/bin/bash
# CORDON-MIB checks (issue 5), run from the repository root:
#   tests/mon/mib_check.sh lint       smilint -l 6 prints nothing
#   tests/mon/mib_check.sh translate  snmptranslate resolves every object
# The SNMPv2 base MIBs come from `make deps` (.cache/mibs).  smilint exits
# 0 even on errors: any output is a failure.
set -u
MIB=docs/mib/CORDON-MIB.txt
BASE=${CORDON_MIBS:-.cache/mibs}

[ -s "$BASE/SNMPv2-SMI.mib" ] || { echo "no base MIBs in $BASE"; exit 1; }

lint() {
	local out
	out=$(SMIPATH="$BASE:docs/mib" smilint -l 6 -s "$MIB" 2>&1)
	[ -z "$out" ] && return 0
	echo "$out"
	return 1
}

# Every name the module defines resolves, and under the enterprise.
translate() {
	local names name oid bad=0 n=0
	names=$(sed -n -E 's/^([a-z][A-Za-z0-9]*)[[:space:]]+(OBJECT-TYPE|OBJECT IDENTIFIER|NOTIFICATION-TYPE|OBJECT-GROUP|NOTIFICATION-GROUP|MODULE-COMPLIANCE|MODULE-IDENTITY).*/\1/p' "$MIB")
	snmptranslate -M "+docs/mib:$BASE" -m +CORDON-MIB -Tp \
	    CORDON-MIB::cordonMIB >/dev/null 2>&1 || { echo "-Tp failed"; return 1; }
	for name in $names; do
		n=$((n + 1))
		oid=$(MIBS= snmptranslate -M "docs/mib:$BASE" -m CORDON-MIB -On \
		    "CORDON-MIB::$name" 2>&1)
		case $oid in
		.1.3.6.1.4.1.32473|.1.3.6.1.4.1.32473.*) ;;
		*) echo "$name: $oid"; bad=1 ;;
		esac
	done
	[ $n -ge 80 ] || { echo "only $n names found in $MIB"; return 1; }
	echo "$n names resolved"
	return $bad
}

case ${1:-all} in
lint) lint ;;
translate) translate ;;
all) lint && translate ;;
*) echo "usage: $0 [lint|translate|all]"; exit 2 ;;
esac
