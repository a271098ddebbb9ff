# The EDR part of make bench (sourced by bench/run.sh): ward-agent's EDR
# relay alone (syslog and SNMP off), against the targets of issue 7.
#
#   ward-lumberjack  Lumberjack v2: windows of BENCH_EDR_LJ_BATCH events
#                    (default 2048, Beats' bulk_max_size) in one zlib frame
#                    each, BENCH_EDR_LJ_IN_FLIGHT windows in flight per
#                    connection (default 2, Beats' pipelining);
#   ward-hec         HTTP Event Collector: keep-alive POSTs of
#                    BENCH_EDR_HEC_BATCH events (default 1000), gzip, one
#                    request in flight per connection.
#
# tests/tools/edr_loadgen builds BENCH_EDR_COUNT Winlogbeat-shaped Sysmon
# events (IDs 1, 3, 11, 22; about 1.2 KiB of JSON each) first, then sends
# them over BENCH_EDR_CONNECTIONS connections and stops the clock at the
# last acknowledgement. The relay acknowledges (Lumberjack ACK, HEC 200)
# only what is durable in the spool's edr lane, so the time is the time
# until every event is durable. Each run has its own ward-agent.
#
# Figures: events/s (raw, wall clock); the receivers process's CPU seconds
# per million events; "per core", events/s divided by the receivers
# process's CPU utilisation during the run (= events per CPU second of that
# process: what one core fully given to it would do); the peak RSS (VmHWM)
# of the receivers process and of the supervisor. Targets: >= 100,000
# events/s per core for each input, RSS <= 48 MiB for each process. After
# the first run of each input the lane is read back with `wardctl spool
# cat`: it must hold exactly the events sent.
#
# Needs lib.sh, ward.sh (ward_ctl), and AGENT, WARDCTL, BUILD, TMP, KEEP,
# VERIFY, PERF. Knobs are in bench/run.sh's header.

EDR_LOADGEN=$BUILD/tests/tools/edr_loadgen
EDR_COUNT=${BENCH_EDR_COUNT:-200000}
EDR_RUNS=${BENCH_EDR_RUNS:-3}
EDR_CONNS=${BENCH_EDR_CONNECTIONS:-4}
EDR_LJ_BATCH=${BENCH_EDR_LJ_BATCH:-2048}
EDR_LJ_IN_FLIGHT=${BENCH_EDR_LJ_IN_FLIGHT:-2}
EDR_HEC_BATCH=${BENCH_EDR_HEC_BATCH:-1000}
# Targets, from issue 7 section 5.
EDR_TARGET_PER_CORE=100000
EDR_TARGET_RSS_MIB=48
EDR_VERIFIED=

edr_check_args() {
	for _v in "$EDR_COUNT" "$EDR_RUNS" "$EDR_CONNS" "$EDR_LJ_BATCH" "$EDR_LJ_IN_FLIGHT" "$EDR_HEC_BATCH"; do
		case $_v in '' | *[!0-9]* | 0)
			echo "bench: BENCH_EDR_COUNT, _RUNS, _CONNECTIONS, _LJ_BATCH, _LJ_IN_FLIGHT and" \
				"_HEC_BATCH must be positive numbers" >&2
			return 1 ;;
		esac
	done
	[ -x "$EDR_LOADGEN" ] ||
		{ echo "bench: $EDR_LOADGEN missing (make VARIANT=release tests-build)" >&2; return 1; }
}

edr_config() {
	_budget=$(( (EDR_COUNT / 1000 + 1) * 4 * 1024 * 1024 ))
	[ "$_budget" -lt 1073741824 ] && _budget=1073741824
	cat <<YAML
# make bench, EDR: the compiled-in defaults (the development token on
# loopback, plain) except for the ports, syslog and SNMP off, and a spool
# budget that holds the whole run. Started as root, ward-agent runs as
# agent.user.
agent:
  state_dir: $WDIR
syslog:
  enabled: false
snmp:
  enabled: false
edr:
  lumberjack: { address: "127.0.0.1:$1" }
  hec: { address: "127.0.0.1:$2" }
spool:
  budget_bytes: $_budget
YAML
}

edr_ready() {
	ward_ctl status --json 2>/dev/null | jq -e '.receivers.state == "running" and
		([.edr.listeners[]? | select(.listening)] | length) == 2' >/dev/null 2>&1
}

# Sets EDR_DURABLE: records durable in the edr lane (after a flush, as
# ward_snmp_done does).
edr_count() {
	ward_ctl flush >/dev/null 2>&1 || true
	EDR_DURABLE=$(ward_ctl status --json 2>/dev/null | jq -r '
		[.spool.lanes[]? | select(.name == "edr") |
		 if .durable_seq then .durable_seq else ((.next_seq // 1) - 1) end] | max // 0')
	EDR_DURABLE=${EDR_DURABLE:-0}
}
edr_all_durable() { edr_count; [ "$EDR_DURABLE" -ge "$EDR_COUNT" ]; }

# edr_result NAME EVENTS SECONDS RX_CPU_TICKS RX_KIB SUP_KIB: one run's
# figures to $TMP/edr-results (SECONDS "-" when the run did not finish).
edr_result() {
	echo "$1 $2 $3 $4 $5 $6" >>"$TMP/edr-results"
	if [ "$3" = - ]; then
		note "$1: NOT DONE: $2 of $EDR_COUNT events acknowledged"
	else
		note "$1: $2 events acknowledged in $3 s ($(awk -v n="$2" -v s="$3" 'BEGIN { printf "%.0f", n / s }') events/s);" \
			"receivers CPU $(cpu_s "$4") s ($(awk -v t="$4" -v hz="$CLK_TCK" -v s="$3" 'BEGIN { printf "%.0f", t / hz / s * 100 }')% of one core);" \
			"peak RSS receivers $(awk -v k="$5" 'BEGIN { printf "%.1f", k / 1024 }') MiB," \
			"supervisor $(awk -v k="$6" 'BEGIN { printf "%.1f", k / 1024 }') MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	fi
}

edr_fail() {
	echo "$1: $2"
	[ -f "$WDIR/agent.log" ] && tail -n 20 "$WDIR/agent.log"
	[ -s "$TMP/loadgen.out" ] && cat "$TMP/loadgen.out"
	edr_result "$1" "${3:-0}" - 0 0 0
}

# edr_verify NAME: the lane holds exactly the events sent, one record each,
# all from this run's input.
edr_verify() {
	_recs=$("$WARDCTL" spool cat --dir "$WDIR/spool" edr 2>/dev/null | wc -l)
	_inputs=$("$WARDCTL" spool cat --dir "$WDIR/spool" edr 2>/dev/null |
		jq -r '.input' | sort | uniq -c | awk '{ printf "%s%d %s", sep, $1, $2; sep = ", " }')
	note "$1: wardctl spool cat: $_recs records ($_inputs)"
	[ "$_recs" -eq "$EDR_COUNT" ] && [ "$_inputs" = "$EDR_COUNT $2" ] ||
		echo "$1: WARNING: the lane does not hold exactly the $EDR_COUNT events sent"
}

# bench_ward_edr lumberjack|hec
bench_ward_edr() {
	_name=ward-$1
	WDIR=$TMP/ward-edr
	rm -rf "$WDIR"
	mkdir -p "$WDIR"; chmod 755 "$WDIR"
	_lport=$(free_port)
	_hport=$(free_port)
	while [ "$_hport" = "$_lport" ]; do _hport=$(free_port); done
	edr_config "$_lport" "$_hport" >"$WDIR/ward.yaml"
	if ! "$AGENT" -c "$WDIR/ward.yaml" --check-config >"$WDIR/check.log" 2>&1; then
		cat "$WDIR/check.log"
		edr_fail "$_name" "the bench configuration was refused"
		return 0
	fi
	(cd "$WDIR" && exec "$AGENT" -c "$WDIR/ward.yaml") >"$WDIR/agent.log" 2>&1 &
	_sup=$!
	PIDS="$PIDS $_sup"
	if ! poll 20 edr_ready; then
		edr_fail "$_name" "ward-agent did not come up"
		stop_pid "$_sup"
		return 0
	fi
	_rx=$(ward_ctl status --json | jq -r '.receivers.pid')
	_perf=
	if [ "$PERF" = 1 ]; then
		perf record -g -o "$TMP/edr-$1.perf.data" -p "$_rx" >"$TMP/perf.log" 2>&1 &
		_perf=$!
		poll 10 test -s "$TMP/edr-$1.perf.data" || true
	fi
	case $1 in
	lumberjack) _args="lumberjack 127.0.0.1 $_lport $EDR_COUNT --batch $EDR_LJ_BATCH --in-flight $EDR_LJ_IN_FLIGHT" ;;
	hec) _args="hec 127.0.0.1 $_hport $EDR_COUNT --batch $EDR_HEC_BATCH" ;;
	esac
	_rxc0=$(cpu_ticks "$_rx")
	# Records are about 1.5 KiB.
	# shellcheck disable=SC2086
	if ! loadgen_run $((EDR_COUNT * 1600)) "$EDR_LOADGEN" $_args --connections "$EDR_CONNS"; then
		[ -n "$_perf" ] && { kill -INT "$_perf" 2>/dev/null; wait "$_perf" 2>/dev/null; }
		# shellcheck disable=SC2034
		LOADGEN_LINE=$(grep -v '^ready' "$TMP/loadgen.out" 2>/dev/null | tail -n 1)
		edr_fail "$_name" "the sender failed" "$(loadgen_field acked)"
		stop_pid "$_sup"
		return 0
	fi
	_rxc=$(( $(cpu_ticks "$_rx") - _rxc0 ))
	if [ -n "$_perf" ]; then
		kill -INT "$_perf" 2>/dev/null || true
		wait "$_perf" 2>/dev/null || true
	fi
	_acked=$(loadgen_field acked)
	# Acknowledged means durable: the lane must say so at once.
	if ! poll 10 edr_all_durable; then
		edr_fail "$_name" "acknowledged $_acked, but only $EDR_DURABLE durable in the edr lane" "$_acked"
		stop_pid "$_sup"
		return 0
	fi
	_rxk=$(hwm_kib "$_rx")
	_supk=$(hwm_kib "$_sup")
	note "$_name: sender: $(loadgen_field requests) requests, $(loadgen_field json_bytes) bytes of JSON," \
		"$(loadgen_field wire_bytes) on the wire, $(loadgen_field busy) answered busy; status: $(ward_ctl status --json | jq -r --arg in "$1" '
		[.edr.listeners[] | select(.input == $in) |
		 "events \(.events), rejects \([.rejects[]] | add), spool errors \(.spool_errors)"] | join("")')"
	stop_pid "$_sup"
	case "$VERIFY $EDR_VERIFIED " in
	0\ * | *" $1 "*) ;;
	*)
		EDR_VERIFIED="$EDR_VERIFIED $1"
		edr_verify "$_name" "$1" ;;
	esac
	edr_result "$_name" "$_acked" "$SEND_S" "$_rxc" "$_rxk" "$_supk"
	[ "$KEEP" = 1 ] || rm -rf "$WDIR"
}

# bench_edr RUN...: EDR_RUNS rounds of the named runs, interleaved, then
# the table and the verdicts.
bench_edr() {
	: >"$TMP/edr-results"
	echo
	echo "EDR relay: $EDR_COUNT Winlogbeat-shaped Sysmon events x $EDR_RUNS runs over $EDR_CONNS connection(s);" \
		"Lumberjack v2 windows of $EDR_LJ_BATCH (zlib), $EDR_LJ_IN_FLIGHT in flight; HEC POSTs of" \
		"$EDR_HEC_BATCH (gzip); load average $(cut -d' ' -f1-3 /proc/loadavg)"
	_i=1
	while [ "$_i" -le "$EDR_RUNS" ]; do
		for _b in "$@"; do
			sync
			bench_ward_edr "${_b#ward-}"
		done
		_i=$((_i + 1))
	done
	echo
	awk -v count="$EDR_COUNT" -v hz="$CLK_TCK" -v t_core="$EDR_TARGET_PER_CORE" \
		-v t_rss="$EDR_TARGET_RSS_MIB" -f "$ROOT/bench/stats.awk" -f /dev/stdin \
		"$TMP/edr-results" <<'AWK'
# Rows: NAME EVENTS SECONDS RX_CPU_TICKS RX_KIB SUP_KIB. A name run several
# times is reported by its median rates, with the range of its raw rates.
{
	if (!($1 in runs))
		order[++nnames] = $1
	runs[$1]++
	if ($3 == "-") {
		failed[$1]++
		next
	}
	d = ++done[$1]
	r = $2 / $3
	raw[$1, d] = r
	cpu = $4 / hz
	core[$1, d] = cpu > 0 ? $2 / cpu : 0
	cpm[$1, d] = cpu * 1000000 / $2
	util[$1, d] = cpu / $3 * 100
	if (!($1 in lo) || r < lo[$1]) lo[$1] = r
	if (!($1 in hi) || r > hi[$1]) hi[$1] = r
	if ($5 / 1024 > rx[$1]) rx[$1] = $5 / 1024
	if ($6 / 1024 > sup[$1]) sup[$1] = $6 / 1024
}
function med(arr, n, name,    i, s) {
	for (i = 1; i <= n; i++)
		s[i] = arr[name, i]
	return median(s, n)
}
END {
	printf "%-16s %4s %7s %9s %17s %10s %9s %14s  %-14s\n", "run", "runs", "events", "events/s",
	       "events/s min-max", "rx CPU %", "CPU s/1M", "events/s/core", "RSS rx/sup MiB"
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (failed[n] > 0 || done[n] == 0) {
			printf "%-16s %4d %7d %9s\n", n, runs[n], count, "not done"
			pc[n] = 0
			continue
		}
		pc[n] = med(core, done[n], n)
		printf "%-16s %4d %7d %9.0f %8.0f-%-8.0f %10.0f %9.2f %14.0f  %.1f/%.1f\n", n, runs[n],
		       count, med(raw, done[n], n), lo[n], hi[n], med(util, done[n], n),
		       med(cpm, done[n], n), pc[n], rx[n], sup[n]
		if (rx[n] > maxrss) maxrss = rx[n]
		if (sup[n] > maxrss) maxrss = sup[n]
	}
	print ""
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		printf "%-30s %9.0f events/s   (target >= %d)   %s\n", n " per core:", pc[n], t_core,
		       verdict(pc[n] >= t_core)
	}
	printf "%-30s %9.1f MiB        (target <= %d)       %s\n", "peak RSS, either process:",
	       maxrss, t_rss, verdict(maxrss > 0 && maxrss <= t_rss)
}
AWK
}
