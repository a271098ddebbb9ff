#!/bin/sh
# Builds ward against mbedtls 3.6 and runs the tests that exercise its crypto
# and TLS there (DESIGN.md, "Device <-> SOC contract": the code builds with
# mbedtls 2.28 and 3.6, and uses TLS 1.3 with 3.6).
#
# Debian 12 ships mbedtls 2.28, Debian 13 (trixie) 3.6. This script fetches
# trixie's libmbedtls-dev and its three runtime libraries with apt itself,
# but with a private sources list and private state and cache directories,
# so the InRelease signature is checked against Debian's archive keyring and
# the machine's installed packages and apt lists are never touched. The .debs
# are unpacked with dpkg-deb -x (no maintainer scripts) under
# build/mbedtls3/sysroot; `make VARIANT=mbedtls3` (ASan+UBSan, like asan)
# compiles against those headers and links those libraries with an rpath, so
# nothing needs installing. trixie's libraries need glibc >= 2.33, which
# Debian 12 has (2.36).
#
# Usage: scripts/mbedtls3.sh            (what `make check-mbedtls3` runs)
#        WARD_MBEDTLS3_SUITE=trixie     the Debian suite to take 3.6 from
#        WARD_MBEDTLS3_UNIT_ONLY=1      skip the integration tests
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
suite=${WARD_MBEDTLS3_SUITE:-trixie}
mirror=${WARD_MBEDTLS3_MIRROR:-http://deb.debian.org/debian}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
top=$root/build/mbedtls3
apt=$top/apt
sysroot=$top/sysroot
pkgs="libmbedtls-dev libmbedtls21 libmbedx509-7 libmbedcrypto16"
# Unit tests of the crypto and TLS code (test_tls asserts TLS 1.3), then
# the integration tests with a TLS handshake over real sockets.
tests="test_batch test_sealer test_uplink test_tls test_community_id test_files test_an_http test_an_ssl"
itests="ward_soc uplink e2e_uplink syslog_rsyslog"

fetch() {
	rm -rf "$apt" "$sysroot"
	mkdir -p "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$apt/state/lists/partial" \
		"$apt/cache/archives/partial" "$apt/debs" "$sysroot"
	: >"$apt/state/status"
	echo "deb [signed-by=$keyring] $mirror $suite main" >"$apt/etc/sources.list"
	# Every path apt reads or writes is private; the sandbox user is
	# dropped because _apt cannot write under build/.
	set -- -o Dir::Etc::SourceList="$apt/etc/sources.list" \
		-o Dir::Etc::SourceParts="$apt/etc/sources.list.d" \
		-o Dir::Etc::PreferencesParts="$apt/etc/preferences.d" \
		-o Dir::Etc::Preferences="$apt/etc/preferences" \
		-o Dir::State="$apt/state" -o Dir::State::status="$apt/state/status" \
		-o Dir::Cache="$apt/cache" -o APT::Sandbox::User=root \
		-o Acquire::Languages=none -o APT::Get::List-Cleanup=false
	echo "mbedtls3: apt-get update ($suite, private state under build/mbedtls3/apt)"
	apt-get "$@" -qq update
	# shellcheck disable=SC2086
	(cd "$apt/debs" && apt-get "$@" -qq download $pkgs)
	for d in "$apt"/debs/*.deb; do
		dpkg-deb -x "$d" "$sysroot"
	done
	dpkg-deb -f "$apt"/debs/libmbedtls-dev_*.deb Version >"$top/version"
}

# A fetch is kept until the suite or package list changes.
stamp="$suite $pkgs"
if [ ! -f "$top/stamp" ] || [ "$(cat "$top/stamp")" != "$stamp" ] ||
   [ ! -f "$sysroot/usr/include/mbedtls/build_info.h" ]; then
	fetch
	echo "$stamp" >"$top/stamp"
fi
echo "mbedtls3: using mbedtls $(cat "$top/version") from $suite"

jobs=$(nproc 2>/dev/null || echo 2)
make --no-print-directory -j"$jobs" VARIANT=mbedtls3 tests-build

# The binaries must load 3.6 (sonames .21/.7/.16), never Debian 12's 2.28.
if ! ldd "$top/tests/test_uplink" | grep -q "libmbedtls.so.21 => $sysroot"; then
	echo "mbedtls3: test_uplink does not load mbedtls 3.6 from $sysroot" >&2
	ldd "$top/tests/test_uplink" | grep mbed >&2
	exit 1
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export WARD_EXPECT_TLS_VERSION=TLSv1.3
# The rpath covers the binaries; this covers libmbedx509 finding libmbedcrypto.
libdir=$sysroot/usr/lib/$(gcc -print-multiarch)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
logdir=$top/test-logs
rm -rf "$logdir"; mkdir -p "$logdir"
failed=0
record() {  # name rc
	if [ "$2" -eq 0 ]; then
		echo "PASS  $1 (mbedtls $(cat "$top/version"))"
	elif [ "$2" -eq 77 ]; then
		echo "SKIP  $1"
	else
		echo "FAIL  $1 (rc=$2, log: build/mbedtls3/test-logs/$1.log)"
		tail -n 30 "$logdir/$1.log" | sed 's/^/      /'
		failed=$((failed + 1))
	fi
}
for t in $tests; do
	rc=0
	"$top/tests/$t" >"$logdir/$t.log" 2>&1 || rc=$?
	record "$t" "$rc"
done
# The integration tests take their binaries from WARD_BUILD, as tests/run.sh
# gives them build/asan.
if [ -z "${WARD_MBEDTLS3_UNIT_ONLY:-}" ]; then
	export WARD_ROOT="$root" WARD_BUILD="$top" WARD_TOOLS="$top/tests/tools"
	for t in $itests; do
		WARD_TMP=$(mktemp -d /tmp/ward-test.XXXXXX)
		export WARD_TMP
		rc=0
		timeout 600 sh "tests/integration/$t.sh" >"$logdir/$t.log" 2>&1 || rc=$?
		record "$t" "$rc"
		rm -rf "$WARD_TMP"
	done
fi
[ "$failed" -eq 0 ]
