# The SNMP part of make bench (sourced by bench/run.sh): ward-agent's SNMP
# receiver against net-snmp's snmptrapd, on the same trap load.
#
#   ward-v2c        ward-agent; SNMPv2c traps, timed until every trap is
#                   durable (fdatasync'd) in the spool's snmp lane;
#   ward-v3         the same with SNMPv3 authPriv traps (HMAC-SHA-96,
#                   CFB128-AES-128) from one sender engine;
#   snmptrapd-v2c   snmptrapd logging the v2c load to a file with -Lf;
#   snmptrapd-v3    the same with the v3 load (createUser with the
#                   sender's engine ID).
#
# tests/tools/snmp_loadgen builds SNMP_COUNT distinct traps first, then
# sends them over UDP in windows: it watches the receiver socket's queue in
# /proc/net/udp and sends a burst only while the queue is below a quarter
# of that socket's receive buffer. So each receiver always has work queued
# and never overflows, and the time measures how fast it drains the load.
# Both receivers get the same receive buffer (BENCH_SNMP_RCVBUF; ward's
# snmp.udp_rcvbuf_bytes, snmptrapd's serverRecvBuf; the kernel doubles it
# and caps the request at net.core.rmem_max unless the process may force
# it). Traps the kernel dropped anyway (BENCH_SNMP_RATE paces open-loop and
# may lose some) are reported: kept/sent.
#
# Needs lib.sh, ward.sh (ward_ctl), and AGENT, WARDCTL, BUILD, TMP, KEEP,
# VERIFY. Knobs are in bench/run.sh's header.

SNMP_LOADGEN=$BUILD/tests/tools/snmp_loadgen
SNMP_COUNT=${BENCH_SNMP_COUNT:-30000}
SNMP_RUNS=${BENCH_SNMP_RUNS:-3}
SNMP_RATE=${BENCH_SNMP_RATE:-0}
SNMP_RCVBUF=${BENCH_SNMP_RCVBUF:-4194304}
SNMP_WINDOW=${BENCH_SNMP_WINDOW:-}
# A run not done by then is reported as not done; snmptrapd has managed
# 3,500 to 11,000 traps a second here.
SNMP_DEADLINE_S=$((30 + SNMP_COUNT / 1000))
# Target, from issue 6: ward at least 5 times snmptrapd, per version.
SNMP_TARGET=5

# The credentials both receivers are configured with and the generator
# sends: a community, and a v3 user of the sender engine (RFC 3411
# format 4, text: "ward-bench").
SNMP_COMMUNITY=bench-community
SNMP_USER=bench
SNMP_AUTH_PW=bench-auth-pass
SNMP_PRIV_PW=bench-priv-pass
SNMP_SENDER_EID=80001f8804776172642d62656e6368
SNMP_VERIFIED=

snmp_check_args() {
	for _v in "$SNMP_COUNT" "$SNMP_RUNS" "$SNMP_RATE" "$SNMP_RCVBUF" ${SNMP_WINDOW:+"$SNMP_WINDOW"}; do
		case $_v in '' | *[!0-9]*)
			echo "bench: BENCH_SNMP_COUNT, _RUNS, _RATE, _RCVBUF and _WINDOW must be numbers" >&2
			return 1 ;;
		esac
	done
	if [ "$SNMP_COUNT" -eq 0 ] || [ "$SNMP_RUNS" -eq 0 ]; then
		echo "bench: BENCH_SNMP_COUNT and BENCH_SNMP_RUNS must be positive" >&2
		return 1
	fi
	[ -x "$SNMP_LOADGEN" ] ||
		{ echo "bench: $SNMP_LOADGEN missing (make VARIANT=release tests-build)" >&2; return 1; }
}

# snmp_pacing PORT: sets SNMP_PACING to the generator's pacing options for
# the receiver bound to 127.0.0.1:PORT: --rate when BENCH_SNMP_RATE is set,
# else a window of BENCH_SNMP_WINDOW bytes or a quarter of the socket's
# receive buffer (SNMP_RB, rb in `ss -m`), which leaves room for the burst
# in flight.
snmp_pacing() {
	SNMP_RB=$(ss -Huanm "sport = :$1" 2>/dev/null | sed -n 's/.*skmem:(.*,rb\([0-9]*\),.*/\1/p' | head -n 1)
	if [ "$SNMP_RATE" -gt 0 ]; then
		SNMP_PACING="--rate $SNMP_RATE"
	else
		SNMP_PACING="--window ${SNMP_WINDOW:-$(( ${SNMP_RB:-212992} / 4 ))}"
	fi
}

# snmp_send KIND PORT WARM_BYTES: the KIND (v2c, v3) load to 127.0.0.1:PORT.
# Sets SNMP_DROPS (datagrams the kernel dropped at the receiver) and
# SNMP_DRAINED (seconds from the first datagram until the receiver had read
# its socket's queue empty) besides what loadgen_run sets.
snmp_send() {
	snmp_pacing "$2"
	# shellcheck disable=SC2086
	loadgen_run "$3" "$SNMP_LOADGEN" "$1" 127.0.0.1 "$2" "$SNMP_COUNT" $SNMP_PACING \
		--community "$SNMP_COMMUNITY" --user "$SNMP_USER" --auth-password "$SNMP_AUTH_PW" \
		--priv-password "$SNMP_PRIV_PW" --engine-id "$SNMP_SENDER_EID" || return 1
	SNMP_DROPS=$(loadgen_field drops)
	SNMP_DRAINED=$(loadgen_field drained_s)
	case $SNMP_DROPS in '' | *[!0-9]*) SNMP_DROPS=0 ;; esac
}

# snmp_result NAME RECORDS SECONDS RSS_KIB [NOTE]: one run's figures, to
# $TMP/snmp-results for snmp_report.awk ("NAME RECORDS SECONDS RSS_KIB
# DROPS"; SECONDS is "-" for a run that did not finish).
snmp_result() {
	echo "$1 $2 $3 $4 ${SNMP_DROPS:-0}" >>"$TMP/snmp-results"
	if [ "$3" = - ]; then
		note "$1: NOT DONE: $2 of $SNMP_COUNT traps; peak RSS $(( $4 / 1024 )) MiB"
	else
		note "$1: $2 of $SNMP_COUNT traps in $3 s ($(awk -v n="$2" -v s="$3" 'BEGIN { printf "%.0f", n / s }') traps/s;" \
			"sender done after ${SEND_S} s, queue drained after ${SNMP_DRAINED:-?} s," \
			"kernel drops ${SNMP_DROPS:-0});" \
			"peak RSS $(awk -v k="$4" 'BEGIN { printf "%.1f", k / 1024 }') MiB${5:+; $5}"
	fi
}

# ---- ward -------------------------------------------------------------------

ward_snmp_config() {
	_budget=$(( (SNMP_COUNT / 1000 + 1) * 2 * 1024 * 1024 ))
	[ "$_budget" -lt 1073741824 ] && _budget=1073741824
	cat <<YAML
# make bench, SNMP: the compiled-in defaults except for the listener, the
# bench's community and user, the receive buffer and a spool budget that
# holds the whole run. Started as root, ward-agent runs as agent.user.
agent:
  state_dir: $WDIR
syslog:
  enabled: false
snmp:
  listeners: ["127.0.0.1:$1"]
  communities: [$SNMP_COMMUNITY]
  udp_rcvbuf_bytes: $SNMP_RCVBUF
  users:
    - name: $SNMP_USER
      auth: sha
      auth_password: $SNMP_AUTH_PW
      priv: aes
      priv_password: $SNMP_PRIV_PW
      engine_id: $SNMP_SENDER_EID
spool:
  budget_bytes: $_budget
YAML
}

ward_snmp_ready() {
	ward_ctl status --json 2>/dev/null | jq -e '.receivers.state == "running" and
		([.snmp.listeners[]? | select(.listening)] | length) > 0' >/dev/null 2>&1
}

# Sets WARD_SNMP_DURABLE (records durable in the snmp lane, as ward_durable
# counts them for syslog), WARD_SNMP_LOST (traps the engine rejected plus
# those the spool refused, .snmp.counters.dropped_spool) and SNMP_T1 (when
# the status was read: jq's 25 ms of start-up come after).
ward_snmp_count() {
	_st=$(ward_ctl status --json 2>/dev/null || true)
	SNMP_T1=$(now)
	# shellcheck disable=SC2046
	set -- $(echo "$_st" | jq -r '
		([.spool.lanes[]? | select(.name == "snmp") |
		  if .durable_seq then .durable_seq else ((.next_seq // 1) - 1) end] | max // 0),
		([.snmp.counters.rejects // {} | .[]] | add // 0) + (.snmp.counters.dropped_spool // 0)
		' 2>/dev/null | tr '\n' ' ')
	WARD_SNMP_DURABLE=${1:-0}
	WARD_SNMP_LOST=${2:-0}
}

# Done when every trap sent is durable, or accounted for as dropped by the
# kernel, rejected or refused by the spool. As for syslog (ward.sh, ward_done), the flush makes
# every record appended so far durable before the status is read.
ward_snmp_done() {
	ward_ctl flush >/dev/null 2>&1 || true
	ward_snmp_count
	[ $((WARD_SNMP_DURABLE + WARD_SNMP_LOST + SNMP_DROPS)) -ge "$SNMP_COUNT" ]
}

ward_snmp_fail() {
	echo "ward-$1: $2"
	[ -f "$WDIR/agent.log" ] && tail -n 20 "$WDIR/agent.log"
	snmp_result "ward-$1" "${WARD_SNMP_DURABLE:-0}" - 0
}

# ward_snmp_verify KIND: reads the lane back and checks that it holds one
# snmp_trap record of the right version per trap, each request-id once.
ward_snmp_verify() {
	_sum=$("$WARDCTL" spool cat --dir "$WDIR/spool" snmp 2>/dev/null |
		jq -r '"\(.type) v\(.version) \(.security_level // "-") \(.request_id)"' |
		awk '{ kind[$1 " " $2 " " $3]++; if (!seen[$4]++) distinct++ }
		     END { for (k in kind) printf "%d %s; ", kind[k], k; printf "%d distinct request-ids", distinct }')
	note "ward-$1: wardctl spool cat: $_sum"
	case $_sum in
	"$WARD_SNMP_DURABLE snmp_trap v${1#v} "*"; $WARD_SNMP_DURABLE distinct request-ids") ;;
	*) echo "ward-$1: WARNING: the lane does not read back as $WARD_SNMP_DURABLE distinct $1 traps" ;;
	esac
}

# bench_ward_snmp v2c|v3
bench_ward_snmp() {
	WDIR=$TMP/ward-snmp
	WARD_SNMP_DURABLE=0
	SNMP_DROPS=0
	rm -rf "$WDIR"
	mkdir -p "$WDIR"; chmod 755 "$WDIR"
	_port=$(free_port)
	ward_snmp_config "$_port" >"$WDIR/ward.yaml"
	if ! "$AGENT" -c "$WDIR/ward.yaml" --check-config >"$WDIR/check.log" 2>&1; then
		cat "$WDIR/check.log"
		ward_snmp_fail "$1" "the bench configuration was refused"
		return 0
	fi
	(cd "$WDIR" && exec "$AGENT" -c "$WDIR/ward.yaml") >"$WDIR/agent.log" 2>&1 &
	_sup=$!
	PIDS="$PIDS $_sup"
	if ! poll 20 ward_snmp_ready || ! poll 10 listening_udp "$_port"; then
		ward_snmp_fail "$1" "ward-agent did not come up"
		stop_pid "$_sup"
		return 0
	fi
	_rx=$(ward_ctl status --json | jq -r '.receivers.pid')
	_rxc0=$(cpu_ticks "$_rx")
	# Records are about 1 KB.
	if ! snmp_send "$1" "$_port" $((SNMP_COUNT * 1536)); then
		ward_snmp_fail "$1" "the sender failed"
		stop_pid "$_sup"
		return 0
	fi
	if ! poll "$SNMP_DEADLINE_S" ward_snmp_done; then
		ward_snmp_fail "$1" "only $WARD_SNMP_DURABLE of $SNMP_COUNT traps durable after ${SNMP_DEADLINE_S}s"
		stop_pid "$_sup"
		return 0
	fi
	_t1=$SNMP_T1
	_rxc=$(( $(cpu_ticks "$_rx") - _rxc0 ))
	_rxk=$(hwm_kib "$_rx")
	_supk=$(hwm_kib "$_sup")
	note "ward-$1: status: $(ward_ctl status --json | jq -r '
		"traps \(.snmp.counters.traps), rejects \([.snmp.counters.rejects[]?] | add // 0), " +
		"refused by the spool \(.snmp.counters.dropped_spool // 0), " +
		"kernel drops \([.snmp.listeners[].dropped_kernel // 0] | add), " +
		"lane \([.spool.lanes[]? | select(.name == "snmp") | "\(.records) records, \(.segments) segments, \(.bytes / 1048576 | floor) MiB"] | join(""))"')"
	stop_pid "$_sup"
	# Reading the lane back costs a second or two: the first run of each
	# kind only.
	case "$VERIFY $SNMP_VERIFIED " in
	0\ * | *" $1 "*) ;;
	*)
		SNMP_VERIFIED="$SNMP_VERIFIED $1"
		ward_snmp_verify "$1" ;;
	esac
	snmp_result "ward-$1" "$WARD_SNMP_DURABLE" "$(elapsed "$T0" "$_t1")" \
		"$(( _rxk > _supk ? _rxk : _supk ))" \
		"CPU: receiver $(cpu_s "$_rxc") s; socket buffer rb ${SNMP_RB:-?}"
	[ "$KEEP" = 1 ] || rm -rf "$WDIR"
}

# ---- snmptrapd ----------------------------------------------------------------

# snmptrapd.conf for the run: with -C no other configuration file is read,
# and --persistentDir keeps its state out of /var/lib/net-snmp. The log
# line is the default format on one line (the default breaks it after
# "[%b]:"); values it cannot print as text still span several lines as
# Hex-STRING, so snmptrapd_done counts the lines that start a trap.
snmptrapd_conf() {
	cat <<CONF
# make bench, SNMP: snmptrapd logging traps to a file.
[snmp] serverRecvBuf $SNMP_RCVBUF
authCommunity log $SNMP_COMMUNITY
authUser log $SNMP_USER priv
createUser -e 0x$SNMP_SENDER_EID $SNMP_USER SHA $SNMP_AUTH_PW AES $SNMP_PRIV_PW
format2 %.4y-%.2m-%.2l %.2h:%.2j:%.2k %B [%b]: %v\\n
CONF
}

ST_TRAPS=0
snmptrapd_count() {
	ST_TRAPS=$(grep -c ' UDP: \[127\.0\.0\.1\]:[0-9]*->' "$SDIR/traps.log" 2>/dev/null || true)
	SNMP_T1=$(now)
}
snmptrapd_done() {
	snmptrapd_count
	[ $((${ST_TRAPS:-0} + SNMP_DROPS)) -ge "$SNMP_COUNT" ]
}

# bench_snmptrapd v2c|v3
bench_snmptrapd() {
	_name=snmptrapd-$1
	SDIR=$TMP/$_name
	SNMP_DROPS=0
	ST_TRAPS=0
	rm -rf "$SDIR"
	mkdir -p "$SDIR/persist"
	_port=$(free_port)
	snmptrapd_conf >"$SDIR/snmptrapd.conf"
	snmptrapd -f -Lf "$SDIR/traps.log" -n -On -C -c "$SDIR/snmptrapd.conf" \
		--persistentDir="$SDIR/persist" -M /dev/null -m '' "127.0.0.1:$_port" \
		>"$SDIR/stdout.log" 2>&1 &
	_spid=$!
	PIDS="$PIDS $_spid"
	if ! poll 20 listening_udp "$_port"; then
		echo "$_name: snmptrapd did not start"
		cat "$SDIR/stdout.log" "$SDIR/traps.log" 2>/dev/null
		stop_pid "$_spid"
		snmp_result "$_name" 0 - 0
		return 0
	fi
	_c0=$(cpu_ticks "$_spid")
	# About 400 bytes a line.
	if ! snmp_send "$1" "$_port" $((SNMP_COUNT * 640)); then
		echo "$_name: the sender failed"
		stop_pid "$_spid"
		snmp_result "$_name" 0 - 0
		return 0
	fi
	if ! poll "$SNMP_DEADLINE_S" snmptrapd_done; then
		_k=$(hwm_kib "$_spid")
		stop_pid "$_spid"
		snmp_result "$_name" "${ST_TRAPS:-0}" - "$_k"
		return 0
	fi
	_t1=$SNMP_T1
	_c=$(( $(cpu_ticks "$_spid") - _c0 ))
	_k=$(hwm_kib "$_spid")
	stop_pid "$_spid"
	snmp_result "$_name" "$ST_TRAPS" "$(elapsed "$T0" "$_t1")" "$_k" \
		"CPU: snmptrapd $(cpu_s "$_c") s; socket buffer rb ${SNMP_RB:-?}; log $(( $(stat -c %s "$SDIR/traps.log") / 1048576 )) MiB"
	[ "$KEEP" = 1 ] || rm -rf "$SDIR"
}

# ---- the part as a whole --------------------------------------------------------

# bench_snmp RUN...: SNMP_RUNS rounds of the named runs, interleaved, then
# the table and the verdicts.
bench_snmp() {
	: >"$TMP/snmp-results"
	# Runs last a second or less for ward: poll more often than syslog's
	# 50 ms, so that the poll's own latency is a small part of the time.
	_poll_s=$POLL_S
	POLL_S=0.01
	echo
	echo "SNMP traps over UDP: $SNMP_COUNT traps x $SNMP_RUNS runs; v2c, and v3 authPriv (SHA, AES-128);" \
		"$( [ "$SNMP_RATE" -gt 0 ] && echo "paced at $SNMP_RATE traps/s" ||
			echo "sent in windows of ${SNMP_WINDOW:+$SNMP_WINDOW bytes}${SNMP_WINDOW:-a quarter of the receive buffer}" );" \
		"SO_RCVBUF request $SNMP_RCVBUF"
	_i=1
	while [ "$_i" -le "$SNMP_RUNS" ]; do
		for _b in "$@"; do
			sync
			case $_b in
			ward-v2c | ward-v3) bench_ward_snmp "${_b#ward-}" ;;
			snmptrapd-v2c | snmptrapd-v3) bench_snmptrapd "${_b#snmptrapd-}" ;;
			esac
		done
		_i=$((_i + 1))
	done
	POLL_S=$_poll_s
	echo
	awk -v count="$SNMP_COUNT" -v target="$SNMP_TARGET" -v paced="$SNMP_RATE" \
		-f "$ROOT/bench/stats.awk" -f "$ROOT/bench/snmp_report.awk" "$TMP/snmp-results"
}
