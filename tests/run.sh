#!/bin/sh
# Runs every test and closes with one "N passed, N failed" line.
#
#   unit tests         build/asan/tests/test_*   (cmocka, ASan+UBSan)
#   integration tests  tests/integration/*.sh    (real peers; exit 0 pass,
#                                                 77 skip, anything else fail)
#   fuzz smoke         build/fuzz/fuzz_*         (each briefly on its corpus)
#
# Environment given to integration tests:
#   WARD_ROOT   the source tree          WARD_BUILD  build/asan (sanitized binaries)
#   WARD_TOOLS  build/asan/tests/tools   WARD_TMP    a fresh scratch directory
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export WARD_ROOT="$root" WARD_BUILD="$root/build/asan" WARD_TOOLS="$root/build/asan/tests/tools"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fuzz_seconds=${WARD_FUZZ_SECONDS:-20}
only=${1:-}

passed=0 failed=0 skipped=0 failures=
logdir="$root/build/test-logs"
rm -rf "$logdir"; mkdir -p "$logdir"

# Each line shows the test's wall time, so a test that grows slow is seen
# before `make test` passes its 15-minute budget.
started=$(date +%s)
record() {  # name rc
	now=$(date +%s); took="$((now - started))s"; started=$now
	case $2 in
	0) passed=$((passed + 1)); echo "PASS  $1 ($took)" ;;
	77) skipped=$((skipped + 1)); echo "SKIP  $1 ($took)" ;;
	*) failed=$((failed + 1)); failures="$failures $1"; echo "FAIL  $1 (rc=$2, $took, log: build/test-logs/$1.log)"
	   tail -n 30 "$logdir/$1.log" | sed 's/^/      /' ;;
	esac
}

for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case $n in *"$only"*) ;; *) continue ;; esac
	"$t" >"$logdir/$n.log" 2>&1
	record "$n" $?
done

for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	case $n in *"$only"*) ;; *) continue ;; esac
	WARD_TMP=$(mktemp -d /tmp/ward-test.XXXXXX)
	export WARD_TMP
	timeout 600 sh "$t" >"$logdir/$n.log" 2>&1
	record "$n" $?
	rm -rf "$WARD_TMP"
done

for f in build/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	case $n in *"$only"*) ;; *) continue ;; esac
	corpus="tests/fuzz/corpus/${n#fuzz_}"
	work=$(mktemp -d /tmp/ward-fuzz.XXXXXX)
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/" 2>/dev/null
	"$f" -max_total_time="$fuzz_seconds" -error_exitcode=1 -rss_limit_mb=2048 -artifact_prefix="$logdir/$n-" \
		"$work" >"$logdir/$n.log" 2>&1
	record "$n" $?
	rm -rf "$work"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
