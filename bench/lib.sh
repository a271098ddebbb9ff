# Helpers for bench/run.sh (POSIX sh; sourced, not run).
#
# Needs: TMP (the bench directory); for the syslog runs COUNT, CONNS and
# LOADGEN. Waiting is always a poll of a condition against a deadline,
# never a fixed sleep.

note() { echo "--- $*"; }

now() { date +%s.%N; }

# elapsed FROM TO: TO - FROM in seconds, three decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# poll SECONDS COMMAND...: runs COMMAND every POLL_S seconds (default
# 0.05) until it succeeds. Returns 1 when the deadline passes first.
POLL_S=0.05
poll() {
	_end=$(( $(date +%s) + $1 )); shift
	while ! "$@"; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep "$POLL_S"
	done
	return 0
}

# free_port: a TCP/UDP port nobody listens on, away from the ephemeral range.
free_port() {
	while :; do
		_p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 20000 ))
		if ! ss -Hltun "sport = :$_p" 2>/dev/null | grep -q .; then
			echo "$_p"; return
		fi
	done
}

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
listening_udp() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

# hwm_kib PID: the process's peak resident set size (VmHWM) in KiB; 0 when
# the process is gone. Read it before stopping the process.
hwm_kib() {
	_k=$(awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
	echo "${_k:-0}"
}

# cpu_ticks PID: user + system CPU time of the process so far, all its
# threads, in clock ticks (USER_HZ); 0 when it is gone.
cpu_ticks() {
	# The command name (field 2) may hold blanks: count from after its ')'.
	_t=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }' || true)
	echo "${_t:-0}"
}

CLK_TCK=$(getconf CLK_TCK)

# cpu_s TICKS: ticks as seconds, two decimals.
cpu_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }'; }

# PIDS: every process the bench started and has not stopped yet; the EXIT
# trap stops what is left.
PIDS=

# stop_pid PID: SIGTERM, up to 30 s to exit, then SIGKILL.
stop_pid() {
	if kill -TERM "$1" 2>/dev/null; then
		poll 30 sh -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
	_np=
	for _q in $PIDS; do [ "$_q" = "$1" ] || _np="$_np $_q"; done
	PIDS=$_np
}

# A virtual machine's host may back guest memory lazily and take freed
# memory back (virtio-balloon free page reporting): then the first write to
# a guest page costs a host page fault, and page cache on memory not used in
# the last second or two fills several times slower than on memory that was
# (on the reference VM, 1 GB of writes: 0.3 GB/s against 4 GB/s). Which run
# paid for that would depend on timing, so right before the sender starts,
# warm_page_cache writes and deletes a file a little larger than what the
# run will write (ward's spool: about 1,050 bytes a message; rsyslog's
# output: about 360). On real hardware it costs a
# fraction of a second and changes nothing. BENCH_WARMUP=0 turns it off.
# warm_page_cache BYTES: BYTES is what the run will write.
warm_page_cache() {
	[ "${BENCH_WARMUP:-1}" = 1 ] || return 0
	_mib=$(( $1 / 1048576 + 64 ))
	_avail=$(awk '/^MemAvailable/ { print int($2 / 1024 / 2) }' /proc/meminfo)
	[ "$_mib" -gt "$_avail" ] && _mib=$_avail
	dd if=/dev/zero of="$TMP/warmup" bs=1M count="$_mib" 2>/dev/null || true
	rm -f "$TMP/warmup"
}

# loadgen_ready: the generator has connected and waits for the go line, or
# it has exited (then the caller finds no "ready").
loadgen_ready() { grep -q '^ready' "$TMP/loadgen.out" || ! kill -0 "$_lg" 2>/dev/null; }

# loadgen_run WARM_BYTES GENERATOR ARGS...: runs GENERATOR ARGS... --wait
# and waits until it has sent everything. Both generators (syslog_loadgen,
# snmp_loadgen) build every message and connect first, print "ready", wait
# on a FIFO while the page cache is warmed for WARM_BYTES, then send, and
# end with one line of key=value figures. Sets LOADGEN_LINE to that line,
# SEND_S (the sender's own time) and T0 (the wall clock when the first
# byte went out, the origin of every figure).
loadgen_run() {
	_warm=$1; shift
	rm -f "$TMP/go" "$TMP/loadgen.out"
	mkfifo "$TMP/go"
	"$@" --wait <"$TMP/go" >"$TMP/loadgen.out" &
	_lg=$!
	PIDS="$PIDS $_lg"
	# Opening the write end blocks until the generator's shell has the
	# read end, which it opens before anything can fail.
	exec 3>"$TMP/go"
	if ! poll 120 loadgen_ready || ! grep -q '^ready' "$TMP/loadgen.out"; then
		exec 3>&-
		stop_pid "$_lg"
		return 1
	fi
	warm_page_cache "$_warm"
	echo go >&3
	exec 3>&-
	_rc=0
	wait "$_lg" || _rc=$?
	stop_pid "$_lg"
	rm -f "$TMP/go"
	[ "$_rc" -eq 0 ] || return 1
	LOADGEN_LINE=$(grep -v '^ready' "$TMP/loadgen.out" | tail -n 1)
	SEND_S=$(loadgen_field elapsed_s)
	# shellcheck disable=SC2034
	T0=$(loadgen_field start_unix)
}

# loadgen_field KEY: KEY's value in LOADGEN_LINE; empty when it has none.
# No external command: it runs between the sender's end and the first
# poll, where each would add to the time measured.
loadgen_field() {
	case " $LOADGEN_LINE" in
	*" $1="*)
		_f=${LOADGEN_LINE#*"$1="}
		echo "${_f%% *}" ;;
	esac
}

# loadgen PORT WARM_BYTES_PER_MESSAGE: sends the syslog load to
# 127.0.0.1:PORT (loadgen_run). Also sets PAYLOAD (message bytes without
# framing), read by ward.sh and rsyslog.sh.
loadgen() {
	loadgen_run $((COUNT * $2)) "$LOADGEN" 127.0.0.1 "$1" "$COUNT" --connections "$CONNS" ||
		return 1
	# shellcheck disable=SC2034
	PAYLOAD=$(loadgen_field payload)
}

# result NAME MESSAGES SECONDS RSS_KIB [CPU_NOTE]: one run's figures.
# SECONDS is "-" when the run did not finish. Rows go to $TMP/results for
# report.awk; CPU_NOTE only to the log.
result() {
	echo "$1 $2 $3 $4" >>"$TMP/results"
	if [ "$3" = - ]; then
		note "$1: NOT DONE: $2 of $COUNT messages; peak RSS $(( $4 / 1024 )) MiB"
	else
		note "$1: $2 messages in $3 s ($(awk -v n="$2" -v s="$3" 'BEGIN { printf "%.0f", n / s }') msg/s;" \
			"sender done after ${SEND_S} s); peak RSS $(awk -v k="$4" 'BEGIN { printf "%.1f", k / 1024 }') MiB${5:+; $5}"
	fi
}
