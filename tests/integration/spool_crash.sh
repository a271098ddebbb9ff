#!/bin/sh
# spool_crash: the spool under kill -9, damaged segments and a full disk.
#
#  1. kill -9 the writer at random points, many times, restarting on the
#     same lane each time; then every record it reported durable must be
#     there exactly once, with no gap and no duplicate seq. Once with
#     synchronous commits, once with asynchronous ones (--async: write and
#     fdatasync on a worker thread while appends go on, rotation deferred
#     until the closing segment is durable), as ward-agent runs.
#  2. flip random bits and truncate segments at random offsets; recovery
#     and the reader must keep every intact record and count (and
#     quarantine) every damaged byte.
#  3. fill a small tmpfs until ENOSPC: no crash, refusals counted, seq not
#     consumed; once space is freed the lane resumes with continuous seqs.
#     Synchronous, then asynchronous (failed commits kept and retried).
#
# Env: WARD_TOOLS (spool_torture), WARD_TMP (scratch). Exit 0 pass, 77
# skip, anything else fail. WARD_SPOOL_CRASH_RUNS overrides the number of
# kills per mode (default 250). WARD_SPOOL_CRASH_WAIT bounds each wait for
# a tool to reach a state (default 120 s): generous, since a loaded CI host
# can take seconds to start a sanitized binary; every wait polls and
# returns as soon as the state is reached, so a fast host pays nothing.
#
# The kill loop runs ~1000 short-lived tools, so the loop itself spawns as
# few processes as it can (random numbers come from one pool file read
# with the `read` builtin, not an od|awk pair per number): under CPU load
# each fork+exec costs ~0.1 s, which used to be most of the test's time
# and pushed it toward tests/run.sh's 600 s limit.
set -u

T="${WARD_TOOLS:?}/spool_torture"
tmp="${WARD_TMP:?}"
runs=${WARD_SPOOL_CRASH_RUNS:-250}
waitmax=${WARD_SPOOL_CRASH_WAIT:-120}
mnts=
fillpid=

[ -x "$T" ] || { echo "spool_crash: $T not built"; exit 1; }

cleanup() {
	[ -n "$fillpid" ] && kill -9 "$fillpid" 2>/dev/null && wait "$fillpid" 2>/dev/null
	for m in $mnts; do umount "$m" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	exit 1
}

# rand N: sets r to a number in 0..N-1 (N <= 2^32). Reads the next word of
# a pool of random 32-bit words on fd 3, refilled when it runs dry. It
# must run in this shell (not in $(...)) so the pool's offset and refills
# persist.
pool="$tmp/rand.pool"
exec 3</dev/null
rand() {
	if ! read -r r <&3; then
		od -An -v -N16384 -tu4 /dev/urandom | tr -s ' ' '\n' | grep . >"$pool" ||
			fail "cannot read /dev/urandom"
		exec 3<"$pool"
		read -r r <&3 || fail "empty random pool"
	fi
	r=$((r % $1))
}

# wait_for FILE REGEX SECONDS: polls until FILE has a line matching REGEX;
# fails after SECONDS of wall time.
wait_for() {
	deadline=$(($(date +%s) + $3))
	while ! grep -q "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -le "$deadline" ] || return 1
		sleep 0.01
	done
}

# last_durable FILE: the highest "durable N" line, or 0. A line cut by the
# kill can only read lower than the truth, which is the safe direction.
last_durable() {
	awk '/^durable [0-9]+$/ { d = $2 } END { print d + 0 }' "$1"
}

# ---- 1. kill -9 -----------------------------------------------------------
# kill_runs LABEL [--async]: $runs kills of writers on one lane, then the
# exactly-once check.
kill_runs() {
	label=$1
	shift
	dir="$tmp/crash-$label"
	max=0
	i=0
	early=0
	torn=0
	slowest=0
	start=$(date +%s)
	while [ "$i" -lt "$runs" ]; do
		# Small segments put a rotation in most kill windows; large ones
		# let a kill land inside a long write().
		rand 3
		case $r in 0) seg=4096 ;; 1) seg=65536 ;; *) seg=1048576 ;; esac
		# Emptied here, before the writer starts: the writer's own
		# redirection runs in the child, maybe only after the checks
		# below, which must not see the previous writer's lines.
		: >"$tmp/w.out"
		: >"$tmp/w.err"
		"$T" write "$dir" crash 0 "$seg" "$@" >"$tmp/w.out" 2>"$tmp/w.err" &
		pid=$!
		rand 4
		if [ "$r" -eq 0 ]; then
			# Now and then, kill during start-up and recovery.
			early=$((early + 1))
			rand 40
			sleep "$(printf '0.%03d' "$r")"
		else
			t0=$(date +%s)
			wait_for "$tmp/w.out" '^open ' "$waitmax" ||
				{ cat "$tmp/w.err"; fail "writer did not start in ${waitmax} s ($label run $i)"; }
			t0=$(($(date +%s) - t0))
			[ "$t0" -gt "$slowest" ] && slowest=$t0
			rand 100
			sleep "$(printf '0.%03d' "$r")"
		fi
		kill -9 "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null    # quiet the shell's "Killed"
		rc=$?
		if [ "$rc" -ne 137 ]; then
			cat "$tmp/w.err"
			fail "writer exited with $rc before the kill ($label run $i)"
		fi
		d=$(last_durable "$tmp/w.out")
		[ "$d" -gt "$max" ] && max=$d
		grep -q 'torn bytes' "$tmp/w.err" && torn=$((torn + 1))
		i=$((i + 1))
	done
	echo "crash ($label): $runs kills ($early during start-up), $torn recoveries cut a torn" \
		"tail, $(($(date +%s) - start)) s (slowest start ${slowest} s), highest durable seq $max"
	[ "$max" -gt 0 ] || fail "nothing was ever reported durable ($label)"
	"$T" check "$dir" crash "$max" || fail "exactly-once check after $runs kills ($label)"
}
kill_runs sync
kill_runs async --async

# ---- 2. bit flips and truncation ------------------------------------------
base="$tmp/damage-base"
"$T" write "$base" dmg 3000 8192 >/dev/null || fail "writing the damage base"
# A second run leaves 200 committed records in the open segment, as a
# crash would, so recovery meets damage in .open as well as in .seg.
"$T" write "$base" dmg 200 1000000 abandon >/dev/null || fail "writing the open segment"
rounds=0
start=$(date +%s)
while [ "$rounds" -lt 30 ]; do
	d="$tmp/damage-$rounds"
	cp -r "$base" "$d"
	rand 1000000000
	seed=$r
	rand 20
	flips=$((1 + r))
	rand 4
	truncs=$r
	"$T" damage "$d" dmg "$seed" "$flips" "$truncs" "$d.expect" ||
		fail "damage (seed $seed)"
	"$T" verify "$d" dmg "$d.expect" || fail "verify after damage (seed $seed)"
	rm -rf "$d" "$d.expect"
	rounds=$((rounds + 1))
done
echo "damage: $rounds rounds of random flips and truncations verified, $(($(date +%s) - start)) s"

# ---- 3. disk full -----------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP disk-full part: needs root to mount a tmpfs"
	exit 0
fi
# fill_run LABEL SIZE [--async]: a lane on a tmpfs of SIZE fills up, is
# drained, and must resume with continuous seqs. An asynchronous lane holds
# up to twice as much in memory (two 4 MiB buffers), so it gets more room
# to write that back once space returns.
fill_run() {
	label=$1
	size=$2
	shift 2
	mnt="$tmp/full-$label"
	mkdir -p "$mnt"
	if ! mount -t tmpfs -o "size=$size" tmpfs "$mnt"; then
		echo "SKIP disk-full part: cannot mount a tmpfs"
		exit 0
	fi
	mnts="$mnts $mnt"
	# Emptied first, as for the writers above: the sync run's "full" line
	# must not satisfy the async run's wait.
	: >"$tmp/fill.out"
	: >"$tmp/fill.err"
	"$T" fill "$mnt/spool" full "$tmp/go-$label" 262144 "$@" >"$tmp/fill.out" 2>"$tmp/fill.err" &
	fillpid=$!
	wait_for "$tmp/fill.out" '^full ' "$waitmax" ||
		{ cat "$tmp/fill.err"; fail "the disk never filled ($label)"; }
	cat "$tmp/fill.out"
	# Free space the way the sealer would: consume the closed segments.
	"$T" check "$mnt/spool" full 0 "$tmp/state-$label" || fail "draining the full lane ($label)"
	touch "$tmp/go-$label"
	wait "$fillpid"
	rc=$?
	fillpid=
	[ "$rc" -eq 0 ] || { cat "$tmp/fill.err"; fail "fill writer exited with $rc ($label)"; }
	cat "$tmp/fill.out"
	grep -q '^full refused=[1-9]' "$tmp/fill.out" || fail "no refusal was counted ($label)"
	durable=$(sed -n 's/^resumed durable=\([0-9]*\).*/\1/p' "$tmp/fill.out")
	[ -n "$durable" ] || fail "writer did not resume ($label)"
	"$T" check "$mnt/spool" full "$durable" "$tmp/state-$label" ||
		fail "seqs after the disk was full ($label)"
	echo "disk-full ($label): ok"
}
fill_run sync 8m
fill_run async 16m --async
exit 0
