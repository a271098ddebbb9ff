#!/bin/sh
# Installs the Debian 12 packages ward needs to build, test and benchmark.
# Only what is missing is installed, so a second run costs one dpkg query.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the ones before)
set -eu

level=${1:-build}

build="make gcc pkg-config python3 python3-kconfiglib jq libcyaml-dev libyaml-dev
libuv1-dev libmbedtls-dev libzstd-dev libjansson-dev libcmocka-dev libhttp-parser-dev
libpcap-dev libnl-3-dev libnl-route-3-dev openssl zlib1g-dev libseccomp-dev libyajl-dev"
test="clang libclang-rt-14-dev bsdutils rsyslog rsyslog-gnutls gnutls-bin openssl
iproute2 util-linux procps psmisc jq python3-jsonschema snmp snmptrapd tshark tinyproxy curl
python3-scapy dnsmasq nginx-light apache2-utils bind9-dnsutils ethtool tcpdump tcpreplay iputils-ping
swaks libnet-ssleay-perl"
bench="time softflowd libndpi-bin"

want=$build
case $level in
build) ;;
test) want="$want $test" ;;
bench) want="$want $test $bench" ;;
*) echo "deps.sh: unknown level '$level' (build, test or bench)" >&2; exit 2 ;;
esac

# The EDR relay's tests drive real shippers' client libraries from the npm
# registry (tests/npm/package.json, versions pinned by its lock file), into
# tests/npm/node_modules, never globally. Node.js itself comes with the
# machine; without npm the tests that need it skip.
npm_clients() {
	[ "$level" = build ] && return 0
	command -v npm >/dev/null 2>&1 || { echo "deps: no npm; the EDR client tests will skip" >&2; return 0; }
	dir=$(cd "$(dirname "$0")/../tests/npm" && pwd)
	stamp="$dir/node_modules/.package-lock.json"
	[ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] && return 0
	echo "deps: npm ci in tests/npm"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && { npm_clients; exit 0; }

echo "deps: installing$missing"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; refresh them once.
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
npm_clients
