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
# kills per mode (default 250).
set -u

T="${WARD_TOOLS:?}/spool_torture"
tmp="${WARD_TMP:?}"
runs=${WARD_SPOOL_CRASH_RUNS:-250}
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

# rand N: a number in 0..N-1.
rand() {
	od -An -N4 -tu4 /dev/urandom | awk -v n="$1" '{ print $1 % n }'
}

# wait_for FILE REGEX SECONDS: polls until FILE has a line matching REGEX.
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
	grep '^durable [0-9][0-9]*$' "$1" | tail -n 1 | cut -d' ' -f2 | grep . || echo 0
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
	start=$(date +%s)
	while [ "$i" -lt "$runs" ]; do
		# Small segments put a rotation in most kill windows; large ones
		# let a kill land inside a long write().
		case $(rand 3) in 0) seg=4096 ;; 1) seg=65536 ;; *) seg=1048576 ;; esac
		"$T" write "$dir" crash 0 "$seg" "$@" >"$tmp/w.out" 2>"$tmp/w.err" &
		pid=$!
		if [ "$(rand 4)" -eq 0 ]; then
			# Now and then, kill during start-up and recovery.
			early=$((early + 1))
			sleep "0.0$(rand 4)$(rand 10)"
		else
			wait_for "$tmp/w.out" '^open ' 20 ||
				{ cat "$tmp/w.err"; fail "writer did not start ($label run $i)"; }
			sleep "0.0$(rand 10)$(rand 10)"
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
		"tail, $(($(date +%s) - start)) s, highest durable seq $max"
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
while [ "$rounds" -lt 30 ]; do
	d="$tmp/damage-$rounds"
	cp -r "$base" "$d"
	seed=$(rand 1000000000)
	flips=$((1 + $(rand 20)))
	truncs=$(rand 4)
	"$T" damage "$d" dmg "$seed" "$flips" "$truncs" "$d.expect" ||
		fail "damage (seed $seed)"
	"$T" verify "$d" dmg "$d.expect" || fail "verify after damage (seed $seed)"
	rm -rf "$d" "$d.expect"
	rounds=$((rounds + 1))
done
echo "damage: $rounds rounds of random flips and truncations verified"

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
	"$T" fill "$mnt/spool" full "$tmp/go-$label" 262144 "$@" >"$tmp/fill.out" 2>"$tmp/fill.err" &
	fillpid=$!
	wait_for "$tmp/fill.out" '^full ' 60 ||
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
