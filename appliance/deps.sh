#!/bin/sh
# Installs what building, testing, the demo and the benchmark need, and
# fetches the real geolocation database into .cache/geo (ignored by git).
# Idempotent: when everything is present it only checks, in about a second.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
GEO_DIR="$ROOT/.cache/geo"
GEO_DB="$GEO_DIR/geo-whois-asn-country.mmdb"
GEO_PKG="@ip-location-db/geo-whois-asn-country-mmdb"

PKGS="build-essential pkg-config clang libclang-rt-14-dev
 dpdk dpdk-dev libdpdk-dev libpcap-dev
 libmaxminddb-dev mmdb-bin libmaxmind-db-writer-perl
 libconfig-dev libssl-dev libjansson-dev libcmocka-dev libsystemd-dev
 libseccomp-dev
 libnftnl-dev libmnl-dev nftables
 python3 python3-scapy python3-pytest python3-jwt python3-jwcrypto
 python3-cryptography
 libcurl4-openssl-dev
 iproute2 ethtool iputils-ping netcat-openbsd tcpdump tcpreplay
 openssh-server openssh-client curl procps
 rsyslog rsyslog-openssl openssl snmpd snmp snmptrapd libsnmp-dev smitools
 mandoc faketime clang-format cppcheck
 haproxy nginx"
# Debian's npm only where no Node.js toolchain is installed already.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: need root to install packages" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# The proxy tests run their own haproxy and nginx in namespaces:
	# the system services Debian starts on install are not wanted.
	case "$missing" in *haproxy* | *nginx*)
		systemctl disable --now haproxy nginx >/dev/null 2>&1 || true ;;
	esac
fi

# SNMPv2 base MIBs for smilint (Debian's are non-free): the npm package
# net-snmp bundles them.
MIB_DIR="$ROOT/.cache/mibs"
if [ ! -s "$MIB_DIR/SNMPv2-SMI.mib" ]; then
	echo "deps: fetching the SNMPv2 base MIBs (npm net-snmp)"
	mtmp=$(mktemp -d)
	(cd "$mtmp" && npm pack --silent net-snmp >/dev/null && tar xzf ./*.tgz)
	mkdir -p "$MIB_DIR"
	cp "$mtmp"/package/lib/mibs/* "$MIB_DIR/"
	rm -rf "$mtmp"
fi

if [ ! -s "$GEO_DB" ]; then
	echo "deps: fetching $GEO_PKG (npm registry)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "$GEO_PKG" >/dev/null &&
	    tar xzf ./*.tgz)
	mkdir -p "$GEO_DIR"
	for f in geo-whois-asn-country.mmdb geo-whois-asn-country-ipv4.mmdb \
	    LICENSE README.md package.json; do
		[ -e "$tmp/package/$f" ] && cp "$tmp/package/$f" "$GEO_DIR/"
	done
	if ! mmdblookup --file "$GEO_DB" --ip 192.0.2.1 >/dev/null 2>&1 &&
	    ! mmdblookup --file "$GEO_DB" --ip 8.8.8.8 >/dev/null; then
		echo "deps: $GEO_DB is not a readable MMDB" >&2
		rm -f "$GEO_DB"
		exit 1
	fi
fi
