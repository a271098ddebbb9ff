#!/bin/sh
# Installs the Debian 12 packages ward needs to build, test and benchmark.
# Only what is missing is installed, so a second run costs one dpkg query.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the ones before)
set -eu

level=${1:-build}

build="make gcc pkg-config python3 python3-kconfiglib jq libcyaml-dev libyaml-dev
libuv1-dev libmbedtls-dev libzstd-dev libjansson-dev libcmocka-dev libhttp-parser-dev
libpcap-dev libnl-3-dev libnl-route-3-dev openssl"
test="clang libclang-rt-14-dev bsdutils rsyslog rsyslog-gnutls gnutls-bin openssl
iproute2 util-linux procps psmisc jq python3-jsonschema snmp snmptrapd tshark tinyproxy curl"
bench="time rsyslog-gnutls"

want=$build
case $level in
build) ;;
test) want="$want $test" ;;
bench) want="$want $test $bench" ;;
*) echo "deps.sh: unknown level '$level' (build, test or bench)" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; refresh them once.
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
