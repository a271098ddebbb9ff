# The packet sensor part of make bench (sourced by bench/run.sh): reading
# one capture file, side by side (issue 4, section 6):
#
#   pcap-readloop  tests/tools/pcap_readloop: pcap_open_offline and
#                  pcap_next_ex to the end, counting: libpcap as it comes,
#                  reading 4 KiB at a time through glibc's stdio. For
#                  information;
#   pcap-readloop-1m  the same loop with a 1 MiB stdio buffer under
#                  libpcap (fopen, setvbuf, pcap_fopen_offline): 1/256 of
#                  the read() calls, which cost much in a VM. ward-sensor
#                  reads files the same way (drivers/capture_pcap.c), so
#                  this is the limit it is measured against;
#   ward-sensor-conn  ward-sensor -r FILE --json --no-analyzers >/dev/null:
#                  one worker, decoding, the flow table, a conn record per
#                  flow (issue 4's sensor);
#   ward-sensor    ward-sensor -r FILE --json >/dev/null: the same with
#                  every protocol analyzer on (issue 5): TCP reassembly,
#                  detection, dns/http/files/ssl/x509/smtp/pop3 records;
#   ward-sensor-nohash  the same with sensor.analyzers.file_hashes: false
#                  (files records without MD5/SHA-1/SHA-256), for
#                  information: what the hashes cost;
#   softflowd      softflowd -r FILE -v 9 -n 127.0.0.1:PORT -m MAX: flows
#                  exported as NetFlow v9 to a UDP port nobody listens on;
#                  MAX (BENCH_SENSOR_SOFTFLOWD_MAXFLOWS, default 65536) holds
#                  every flow of the capture at once, as ward's table does,
#                  instead of expiring the oldest early (its default 8192);
#   ndpiReader     ndpiReader -i FILE >/dev/null (nDPI 4.2: flows plus DPI,
#                  one thread for a file).
#
# The capture is build/bench/sensor.pcap, made once by
# tests/tools/sensor_trafficgen.sh from real traffic between two network
# namespaces (that needs root; afterwards it is reused) or
# BENCH_SENSOR_PCAP. The file is read once before the runs, so every run
# reads it from the page cache. The runs are interleaved and repeated
# BENCH_SENSOR_RUNS times (default 3); each is timed by /usr/bin/time:
# wall clock, user + system CPU and peak RSS of the whole process, its
# start-up included.
#
# All five are single-threaded here, so packets per CPU second is what
# each does with one core to itself; on a machine where other work takes
# CPU, it is also the steadier figure, as the wall clock then includes
# waiting for a CPU. The targets are checked on packets per CPU second
# (median runs), and the wall-clock ratios are printed beside them:
#   ward-sensor-conn >= 0.50 x pcap-readloop-1m, >= 1.0 x softflowd,
#   >= 1.8 x ndpiReader (issue 4);
#   ward-sensor (all analyzers) >= 1.5 x ndpiReader (issue 5);
#   flow state <= 200 bytes per idle flow with 1,000,000 flows in the
#   table (tests/tools/flow_state_bench; nDPI needs about 1,000).
#
# After the timed runs, ward-sensor runs once more with --stats into a
# file: its packet count must equal pcap_readloop's, and the records are
# counted by type. Its analyzers' peak memory (sessions, out-of-order
# segments and state: --stats analyzers.mem_peak_bytes) must stay under
# 64 MiB with nothing refused for memory (issue 5: reassembly memory
# under 64 MiB on this capture). With BENCH_PERF=1, one more run under `perf record -g` writes
# BENCH_DIR/ward-sensor.perf.data.
#
# Needs lib.sh (note, free_port) and BUILD, ROOT, TMP, PERF, VERIFY. Knobs
# are in bench/run.sh's header.

SENSOR_BIN=$BUILD/ward-sensor
SENSOR_READLOOP=$BUILD/tests/tools/pcap_readloop
SENSOR_FLOWSTATE=$BUILD/tests/tools/flow_state_bench
SENSOR_GEN=$ROOT/tests/tools/sensor_trafficgen.sh
SENSOR_PCAP=${BENCH_SENSOR_PCAP:-$BUILD/bench/sensor.pcap}
SENSOR_RUNS=${BENCH_SENSOR_RUNS:-3}
SENSOR_SFD_MAXFLOWS=${BENCH_SENSOR_SOFTFLOWD_MAXFLOWS:-65536}
# Generous: a run not done by then is stopped and reported as failed.
SENSOR_DEADLINE_S=300
# Targets, from issue 4 section 6.
SENSOR_TARGET_VS_READLOOP=0.50
SENSOR_TARGET_VS_SOFTFLOWD=1.0
SENSOR_TARGET_VS_NDPI=1.8
SENSOR_TARGET_FLOW_BYTES=200
# Issue 5 section 5.
SENSOR_TARGET_AN_VS_NDPI=1.5
SENSOR_TARGET_AN_MEM_MIB=64

sensor_check_args() {
	for _v in "$SENSOR_RUNS" "$SENSOR_SFD_MAXFLOWS"; do
		case $_v in '' | *[!0-9]* | 0)
			echo "bench: BENCH_SENSOR_RUNS and BENCH_SENSOR_SOFTFLOWD_MAXFLOWS must be positive numbers" >&2
			return 1 ;;
		esac
	done
	[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (time; scripts/deps.sh bench)" >&2; return 1; }
	case " $SENSOR_ONLY " in *" softflowd "*)
		command -v softflowd >/dev/null ||
			{ echo "bench: softflowd not installed (scripts/deps.sh bench)" >&2; return 1; } ;;
	esac
	case " $SENSOR_ONLY " in *" ndpiReader "*)
		command -v ndpiReader >/dev/null ||
			{ echo "bench: ndpiReader not installed (libndpi-bin; scripts/deps.sh bench)" >&2; return 1; } ;;
	esac
	[ -x "$SENSOR_READLOOP" ] ||
		{ echo "bench: $SENSOR_READLOOP missing (make VARIANT=release tests-build)" >&2; return 1; }
	# A missing ward-sensor (CONFIG_SENSOR off) shows as "not built"; the
	# peers still run.
	if [ ! -s "$SENSOR_PCAP" ] && [ -n "${BENCH_SENSOR_PCAP:-}" ]; then
		echo "bench: BENCH_SENSOR_PCAP=$SENSOR_PCAP: no such file" >&2
		return 1
	fi
	if [ ! -s "$SENSOR_PCAP" ] && [ "$(id -u)" -ne 0 ]; then
		echo "bench: $SENSOR_PCAP is missing, and making it needs root (tests/tools/sensor_trafficgen.sh)" >&2
		return 1
	fi
	if [ ! -s "$SENSOR_PCAP" ]; then
		mkdir -p "$(dirname "$SENSOR_PCAP")"
		_free=$(df -Pk "$(dirname "$SENSOR_PCAP")" | awk 'NR == 2 { print $4 }')
		if [ "$_free" -lt 1500000 ]; then
			echo "bench: $(dirname "$SENSOR_PCAP") has $((_free / 1024)) MiB free; the capture needs about 1.1 GB" >&2
			return 1
		fi
	fi
	return 0
}

# sensor_versions: the peers' versions, for the header.
sensor_versions() {
	_v=
	command -v softflowd >/dev/null &&
		_v="softflowd $(softflowd -h 2>&1 | sed -n 's/.*softflowd version \([0-9.]*[0-9]\).*/\1/p' | head -n 1); "
	command -v ndpiReader >/dev/null &&
		_v="${_v}nDPI $(ndpiReader -h 2>&1 | awk '/Welcome to nDPI/ { print $4; exit }'); "
	echo "$_v"
}

# sensor_time NAME COMMAND...: one timed run; stdout to /dev/null, stderr
# to $SDIR/NAME.err. Appends "NAME WALL USER SYS RSS_KIB" to
# $TMP/sensor-results, or "NAME - 0 0 0" when the command fails.
sensor_time() {
	_name=$1; shift
	# timeout(1) stops a run that hangs; its own cost is nothing, and
	# time(1) gets the command's CPU and peak RSS through it (wait4()
	# reports a child's waited-for children too).
	if /usr/bin/time -f '%e %U %S %M' -o "$SDIR/time" timeout -k 5 "$SENSOR_DEADLINE_S" "$@" \
		>/dev/null 2>"$SDIR/$_name.err"; then
		read -r _wall _usr _sys _rss <"$SDIR/time"
		echo "$_name $_wall $_usr $_sys $_rss" >>"$TMP/sensor-results"
		note "$_name: $_wall s, CPU $(awk -v u="$_usr" -v s="$_sys" 'BEGIN { printf "%.2f", u + s }') s" \
			"(user $_usr, system $_sys), peak RSS $(awk -v k="$_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB;" \
			"load average $(cut -d' ' -f1-3 /proc/loadavg)"
	else
		echo "$_name - 0 0 0" >>"$TMP/sensor-results"
		note "$_name: FAILED: $*"
		tail -n 5 "$SDIR/$_name.err" | sed 's/^/    /'
	fi
}

sensor_run() {
	case $1 in
	pcap-readloop) sensor_time "$1" "$SENSOR_READLOOP" "$SENSOR_PCAP" ;;
	pcap-readloop-1m) sensor_time "$1" "$SENSOR_READLOOP" --buffer 1048576 "$SENSOR_PCAP" ;;
	ward-sensor | ward-sensor-conn | ward-sensor-nohash)
		if [ -x "$SENSOR_BIN" ]; then
			case $1 in
			ward-sensor) sensor_time "$1" "$SENSOR_BIN" -r "$SENSOR_PCAP" --json ;;
			ward-sensor-conn)
				sensor_time "$1" "$SENSOR_BIN" -r "$SENSOR_PCAP" --json --no-analyzers ;;
			ward-sensor-nohash)
				printf 'sensor:\n  analyzers:\n    file_hashes: false\n' >"$SDIR/nohash.yaml"
				sensor_time "$1" "$SENSOR_BIN" -r "$SENSOR_PCAP" --json -c "$SDIR/nohash.yaml" ;;
			esac
		else
			echo "$1 n/a 0 0 0" >>"$TMP/sensor-results"
			note "$1: $SENSOR_BIN not built (make; CONFIG_SENSOR)"
		fi ;;
	softflowd)
		# No -c: -r turns the control socket off, and a -c after it
		# would turn it on again, where softflowd 1.1.0 may block in
		# accept() on it (its offline loop reads a pollfd it never set).
		sensor_time "$1" softflowd -r "$SENSOR_PCAP" -v 9 -n "127.0.0.1:$SENSOR_SFD_PORT" \
			-m "$SENSOR_SFD_MAXFLOWS" ;;
	ndpiReader) sensor_time "$1" ndpiReader -i "$SENSOR_PCAP" ;;
	esac
}

# sensor_verify: ward-sensor once more, its records and --stats kept.
sensor_verify() {
	if ! "$SENSOR_BIN" -r "$SENSOR_PCAP" --json --stats >"$SDIR/conn.json" 2>"$SDIR/stats.err"; then
		note "ward-sensor: the verification run failed:"
		tail -n 5 "$SDIR/stats.err" | sed 's/^/    /'
		return 0
	fi
	_stats=$(tail -n 1 "$SDIR/stats.err")
	_recs=$(wc -l <"$SDIR/conn.json")
	_pk=$(echo "$_stats" | jq -r '.packets // empty' 2>/dev/null || true)
	note "ward-sensor --stats: $_stats"
	note "ward-sensor: $_recs records ($(jq -r '.type' "$SDIR/conn.json" 2>/dev/null |
		sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }'))"
	note "ward-sensor: conn records by service: $(jq -r 'select(.type == "conn") | .service // "-"' \
		"$SDIR/conn.json" 2>/dev/null | sort | uniq -c | awk '{ printf "%s%s %d", sep, $2, $1; sep = ", " }')"
	SENSOR_AN_MEM=$(echo "$_stats" | jq -r '.analyzers.mem_peak_bytes // empty' 2>/dev/null || true)
	SENSOR_AN_REFUSED=$(echo "$_stats" | jq -r '(.analyzers.sessions_denied // 0) + (.analyzers.reasm.mem_drops // 0)' 2>/dev/null || true)
	if [ -n "$SENSOR_PACKETS" ] && [ "$_pk" != "$SENSOR_PACKETS" ]; then
		echo "ward-sensor: WARNING: --stats counts ${_pk:-no} packets, pcap_readloop $SENSOR_PACKETS"
	fi
}

# sensor_flow_state: prints tests/tools/flow_state_bench's figures and
# sets SENSOR_FLOW_BYTES (empty when it did not run).
sensor_flow_state() {
	SENSOR_FLOW_BYTES=
	if [ ! -x "$SENSOR_FLOWSTATE" ]; then
		note "flow state: $SENSOR_FLOWSTATE not built"
		return 0
	fi
	if ! /usr/bin/time -f '%e %U %S %M' -o "$SDIR/time" "$SENSOR_FLOWSTATE" >"$SDIR/flowstate.out" 2>"$SDIR/flowstate.err"; then
		note "flow state: flow_state_bench failed:"
		tail -n 5 "$SDIR/flowstate.err" | sed 's/^/    /'
		return 0
	fi
	note "flow_state_bench: $(tail -n 1 "$SDIR/flowstate.out")"
	read -r _wall _usr _sys _rss <"$SDIR/time"
	note "flow_state_bench: $_wall s, peak RSS $(awk -v k="$_rss" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
	SENSOR_FLOW_BYTES=$(tail -n 1 "$SDIR/flowstate.out" | jq -r '.bytes_per_flow // empty' 2>/dev/null || true)
}

# bench_sensor RUN...: the capture, SENSOR_RUNS rounds of the named runs,
# interleaved, the verification, the table and the verdicts.
bench_sensor() {
	SDIR=$TMP/sensor
	rm -rf "$SDIR"
	mkdir -p "$SDIR"
	: >"$TMP/sensor-results"
	echo
	if [ ! -s "$SENSOR_PCAP" ]; then
		echo "packet sensor: making the capture (once; kept in $(dirname "$SENSOR_PCAP"))"
		if ! sh "$SENSOR_GEN" "$SENSOR_PCAP"; then
			echo "packet sensor: skipped: the capture could not be made"
			return 0
		fi
	elif [ -s "$SENSOR_PCAP.info" ]; then
		sh "$SENSOR_GEN" "$SENSOR_PCAP"
	else
		echo "capture: $SENSOR_PCAP ($(stat -c %s "$SENSOR_PCAP") bytes)"
	fi
	# Into the page cache, and the packet count every run must reach.
	cat "$SENSOR_PCAP" >/dev/null
	SENSOR_PACKETS=$("$SENSOR_READLOOP" "$SENSOR_PCAP" 2>"$SDIR/readloop.err" | jq -r '.packets' 2>/dev/null || true)
	case $SENSOR_PACKETS in '' | *[!0-9]* | 0)
		echo "packet sensor: skipped: pcap_readloop could not read $SENSOR_PCAP: $(cat "$SDIR/readloop.err")"
		return 0 ;;
	esac
	SENSOR_SFD_PORT=$(free_port)
	echo "packet sensor: $SENSOR_PACKETS packets x $SENSOR_RUNS runs, one process each, the file in the" \
		"page cache; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	_i=1
	while [ "$_i" -le "$SENSOR_RUNS" ]; do
		for _b in "$@"; do
			sensor_run "$_b"
		done
		_i=$((_i + 1))
	done
	SENSOR_AN_MEM=
	SENSOR_AN_REFUSED=
	case " $* " in *" ward-sensor "*)
		[ -x "$SENSOR_BIN" ] && [ "$VERIFY" = 1 ] && sensor_verify
		if [ "$PERF" = 1 ] && [ -x "$SENSOR_BIN" ]; then
			perf record -g -o "$TMP/ward-sensor.perf.data" "$SENSOR_BIN" -r "$SENSOR_PCAP" --json \
				>/dev/null 2>"$TMP/perf.log" || note "ward-sensor: perf record failed (see $TMP/perf.log)"
			note "ward-sensor: perf data in $TMP/ward-sensor.perf.data"
		fi ;;
	esac
	case " $* " in *" ndpiReader "*)
		# nDPI's own figure for its flow state, from the summary of one
		# more run (the timed runs' output went to /dev/null).
		_nd=$(ndpiReader -i "$SENSOR_PCAP" 2>/dev/null | awk -F': *' '/Flow Memory \(per flow\)/ { sub(/ +$/, "", $2); print $2; exit }')
		note "ndpiReader: nDPI's own flow state: ${_nd:-?} per flow (its ndpi_flow_struct; the reader's" \
			"flow info comes on top)" ;;
	esac
	sensor_flow_state
	echo
	awk -v packets="${SENSOR_PACKETS:-0}" -v t_rl="$SENSOR_TARGET_VS_READLOOP" \
		-v t_sf="$SENSOR_TARGET_VS_SOFTFLOWD" -v t_nd="$SENSOR_TARGET_VS_NDPI" \
		-v t_fb="$SENSOR_TARGET_FLOW_BYTES" -v flow_bytes="$SENSOR_FLOW_BYTES" \
		-v t_an="$SENSOR_TARGET_AN_VS_NDPI" -v t_mem="$SENSOR_TARGET_AN_MEM_MIB" \
		-v an_mem="$SENSOR_AN_MEM" -v an_refused="$SENSOR_AN_REFUSED" \
		-f "$ROOT/bench/stats.awk" -f /dev/stdin "$TMP/sensor-results" <<'AWK'
# Rows: NAME WALL USER SYS RSS_KIB (WALL "-" when the run failed, "n/a"
# when the program is not built).
{
	if (!($1 in runs))
		order[++nnames] = $1
	runs[$1]++
	if ($2 == "n/a")
		absent[$1] = 1
	if ($2 == "-" || $2 == "n/a") {
		failed[$1]++
		next
	}
	d = ++done[$1]
	wall[$1, d] = $2
	cpu[$1, d] = $3 + $4
	if ($5 / 1024 > rss[$1]) rss[$1] = $5 / 1024
}
function med(arr, n, name,    i, s) {
	for (i = 1; i <= n; i++)
		s[i] = arr[name, i]
	return median(s, n)
}
function ratio(a, b, t, label,    r, w) {
	if (!(a in pc) || !(b in pc) || pc[b] == 0) {
		printf "%-34s %s\n", label ":", "not measured"
		return
	}
	r = pc[a] / pc[b]
	w = pw[b] > 0 ? pw[a] / pw[b] : 0
	printf "%-34s %6.2fx per CPU s (wall %5.2fx)   (target >= %-4s)   %s\n", label ":", r, w, t,
	       verdict(r >= t)
}
END {
	printf "%-17s %4s %8s %9s %10s %9s %14s %9s\n", "run", "runs", "packets", "wall s",
	       "pkts/s", "CPU s", "pkts/CPU s", "RSS MiB"
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (failed[n] > 0 || done[n] == 0) {
			printf "%-17s %4d %8d %9s\n", n, runs[n], packets, absent[n] ? "not built" : "failed"
			continue
		}
		w = med(wall, done[n], n)
		c = med(cpu, done[n], n)
		pw[n] = w > 0 ? packets / w : 0
		pc[n] = c > 0 ? packets / c : 0
		printf "%-17s %4d %8d %9.2f %10.0f %9.2f %14.0f %9.1f\n", n, runs[n], packets, w, pw[n],
		       c, pc[n], rss[n]
	}
	print ""
	# The limit is the read loop with ward-sensor's own 1 MiB stdio
	# buffer (drivers/capture_pcap.c); the plain loop is for information.
	ratio("ward-sensor-conn", "pcap-readloop-1m", t_rl, "ward-sensor-conn vs pcap-readloop-1m")
	# In a printf's arguments, awk would take ">" for a redirection.
	if (("ward-sensor-conn" in pc) && ("pcap-readloop" in pc) && pc["pcap-readloop"] > 0) {
		w = pw["pcap-readloop"] > 0 ? pw["ward-sensor-conn"] / pw["pcap-readloop"] : 0
		printf "%-34s %6.2fx per CPU s (wall %5.2fx)   (for information)\n",
		       "ward-sensor-conn vs pcap-readloop:", pc["ward-sensor-conn"] / pc["pcap-readloop"], w
	}
	ratio("ward-sensor-conn", "softflowd", t_sf, "ward-sensor-conn vs softflowd")
	ratio("ward-sensor-conn", "ndpiReader", t_nd, "ward-sensor-conn vs ndpiReader")
	ratio("ward-sensor", "ndpiReader", t_an, "ward-sensor (analyzers) vs ndpiReader")
	if (("ward-sensor-nohash" in pc) && ("ndpiReader" in pc) && pc["ndpiReader"] > 0) {
		w = pw["ndpiReader"] > 0 ? pw["ward-sensor-nohash"] / pw["ndpiReader"] : 0
		printf "%-34s %6.2fx per CPU s (wall %5.2fx)   (for information: files not hashed)\n",
		       "ward-sensor-nohash vs ndpiReader:", pc["ward-sensor-nohash"] / pc["ndpiReader"], w
	}
	if (("ward-sensor" in pc) && ("ward-sensor-conn" in pc) && pc["ward-sensor-conn"] > 0)
		printf "%-34s %6.2fx per CPU s   (for information: the analyzers' cost)\n",
		       "ward-sensor vs ward-sensor-conn:", pc["ward-sensor"] / pc["ward-sensor-conn"]
	if (an_mem == "")
		printf "%-34s %s\n", "analyzer memory peak:", "not measured"
	else
		printf "%-34s %6.1f MiB, %d refused for memory   (target < %d MiB, none refused)   %s\n",
		       "analyzer memory peak:", an_mem / 1048576, an_refused, t_mem,
		       verdict(an_mem / 1048576 < t_mem && an_refused + 0 == 0)
	if (flow_bytes == "")
		printf "%-34s %s\n", "flow state per idle flow:", "not measured"
	else
		printf "%-34s %6.0f bytes per flow, 1,000,000 flows   (target <= %d)    %s\n",
		       "flow state per idle flow:", flow_bytes, t_fb, verdict(flow_bytes + 0 <= t_fb)
}
AWK
}
