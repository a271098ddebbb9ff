# The ward run of bench/run.sh (sourced): ward-agent with one TCP listener,
# timed until every message is durable in the spool's syslog lane.
#
# Needs lib.sh, and AGENT, WARDCTL, TMP, COUNT, DEADLINE_S, VERIFY, PERF,
# KEEP. Sets WARD_RX_KIB and WARD_SUP_KIB to the highest peak RSS seen of
# the receiver process and of the supervisor.

WARD_RX_KIB=0
WARD_SUP_KIB=0
WARD_COUNT=0

ward_ctl() { "$WARDCTL" -s "$WDIR/ward.sock" "$@"; }

ward_ready() {
	ward_ctl status --json 2>/dev/null |
		jq -e '.receivers.state == "running" and (.syslog.listeners | length) > 0' >/dev/null 2>&1
}

# How many records of the syslog lane are durable, from the supervisor's
# status (.spool.lanes[], see agent/supervisor.c lane_json). With a
# durable_seq there it is exact; without one, next_seq - 1 counts the
# records appended, and ward_done flushes first so that they are durable.
# The lane is new, so its first seq is 1.
ward_durable() {
	ward_ctl status --json 2>/dev/null | jq -r '
		[.spool.lanes[]? | select(.name == "syslog") |
		 if .durable_seq then .durable_seq else ((.next_seq // 1) - 1) end] | max // 0'
}

# The receiver process reports its status every 500 ms, far too coarse for
# a run of a few seconds. `wardctl flush` makes it commit (write and
# fdatasync) and close its open segment, then report at once. So once a
# report shows every message appended, every message is durable: by that
# flush, or by the group commit at most spool.fsync_interval_ms later.
# Flushing only starts once the sender is done, so it adds a handful of
# segment closes at the very end and nothing during the run.
ward_done() {
	ward_ctl flush >/dev/null 2>&1 || true
	WARD_COUNT=$(ward_durable)
	[ "${WARD_COUNT:-0}" -ge "$COUNT" ]
}

ward_fail() {
	echo "ward: $*"
	[ -f "$WDIR/agent.log" ] && tail -n 20 "$WDIR/agent.log"
	result ward "${WARD_COUNT:-0}" - 0
}

ward_config() {
	# The budget must hold the whole run: an eviction would be a loss,
	# and losses are not what this measures.
	_budget=$(( (COUNT / 1000 + 1) * 4 * 1024 * 1024 ))
	[ "$_budget" -lt 1073741824 ] && _budget=1073741824
	cat <<YAML
# make bench: the compiled-in defaults except for the listener and a spool
# budget that holds the whole run. Started as root, ward-agent runs as
# agent.user (nobody).
agent:
  state_dir: $WDIR
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$1" }
spool:
  budget_bytes: $_budget
YAML
}

bench_ward() {
	WDIR=$TMP/ward
	WARD_COUNT=0
	if [ ! -x "$AGENT" ] || [ ! -x "$WARDCTL" ]; then
		echo "ward: $AGENT or $WARDCTL not built; skipped"
		result ward 0 - 0
		return 0
	fi
	rm -rf "$WDIR"
	mkdir -p "$WDIR"; chmod 755 "$WDIR"
	_port=$(free_port)
	ward_config "$_port" >"$WDIR/ward.yaml"
	if ! "$AGENT" -c "$WDIR/ward.yaml" --check-config >"$WDIR/check.log" 2>&1; then
		cat "$WDIR/check.log"
		ward_fail "the bench configuration was refused"
		return 0
	fi
	(cd "$WDIR" && exec "$AGENT" -c "$WDIR/ward.yaml") >"$WDIR/agent.log" 2>&1 &
	_sup=$!
	PIDS="$PIDS $_sup"
	if ! poll 20 ward_ready || ! poll 10 listening "$_port"; then
		ward_fail "ward-agent did not come up"
		stop_pid "$_sup"
		return 0
	fi
	_rx=$(ward_ctl status --json | jq -r '.receivers.pid')
	_perf=
	if [ "$PERF" = 1 ]; then
		perf record -g -o "$TMP/ward.perf.data" -p "$_rx" >"$TMP/perf.log" 2>&1 &
		_perf=$!
		poll 10 test -s "$TMP/ward.perf.data" || true
	fi
	_rxc0=$(cpu_ticks "$_rx")
	_supc0=$(cpu_ticks "$_sup")
	if ! loadgen "$_port" 1536; then
		ward_fail "the sender failed"
		stop_pid "$_sup"
		return 0
	fi
	if ! poll "$DEADLINE_S" ward_done; then
		ward_fail "only $WARD_COUNT of $COUNT messages durable after ${DEADLINE_S}s"
		stop_pid "$_sup"
		return 0
	fi
	_t1=$(now)
	if [ -n "$_perf" ]; then
		kill -INT "$_perf" 2>/dev/null || true
		wait "$_perf" 2>/dev/null || true
	fi
	_rxc=$(( $(cpu_ticks "$_rx") - _rxc0 ))
	_supc=$(( $(cpu_ticks "$_sup") - _supc0 ))
	_rxk=$(hwm_kib "$_rx")
	_supk=$(hwm_kib "$_sup")
	[ "$_rxk" -gt "$WARD_RX_KIB" ] && WARD_RX_KIB=$_rxk
	[ "$_supk" -gt "$WARD_SUP_KIB" ] && WARD_SUP_KIB=$_supk
	_st=$(ward_ctl status --json)
	note "ward: status: $(echo "$_st" | jq -r '
		"listener messages \([.syslog.listeners[].messages // 0] | add), " +
		"errors/drops \([.syslog.listeners[] | (.errors // 0) + (.dropped_spool // 0) + (.dropped_kernel // 0)] | add), " +
		"lane \([.spool.lanes[]? | select(.name == "syslog") | "\(.records) records, \(.segments) segments, \(.bytes / 1048576 | floor) MiB"] | join(""))"')"
	stop_pid "$_sup"
	# Reading a million records back costs seconds: the first run only.
	if [ "$VERIFY" = 1 ]; then
		VERIFY="done"
		_n=$("$WARDCTL" spool cat --dir "$WDIR/spool" syslog 2>/dev/null | wc -l)
		if [ "$_n" -eq "$COUNT" ]; then
			note "ward: wardctl spool cat reads back $_n records"
		else
			echo "ward: WARNING: wardctl spool cat reads back $_n records, not $COUNT"
		fi
	fi
	result ward "$WARD_COUNT" "$(elapsed "$T0" "$_t1")" \
		"$(( _rxk > _supk ? _rxk : _supk ))" \
		"CPU: receiver $(cpu_s "$_rxc") s, supervisor $(cpu_s "$_supc") s"
	[ "$KEEP" = 1 ] || rm -rf "$WDIR"
}
