# The uplink part of make bench (sourced by bench/run.sh): the whole main
# job, syslog in and an SOC at the other end over TLS, for ward against
# rsyslog, then ward alone on a thin shaped uplink.
#
# Two network namespaces made here, named with the bench's pid: a probe
# (ward-agent, the rsyslog sender and the load generator, on its own
# loopback) and an SOC (ward-soc, the rsyslog receiver). Nothing is added
# to the host's own namespace; the EXIT trap deletes both.
#
# Side by side (UPLINK_COUNT messages, the syslog part's load generator,
# TCP with octet counting), over a veth pair, unshaped:
#
#   uplink-ward     ward-agent: syslog TCP -> spool (durable) -> sealer ->
#                   uplink (HTTPS, mutual TLS) -> ward-soc, which verifies,
#                   decrypts and stores; timed until ward-soc has stored
#                   every record (its log's "stored batch" lines);
#   uplink-rsyslog  rsyslogd: imtcp -> action queue LinkedList with
#                   queue.filename (disk-assisted) -> omfwd over TLS (gtls,
#                   x509/name both ways) -> a second rsyslogd, imtcp over
#                   TLS -> omfile; timed until its file holds every line.
#
# Figures: messages per second (from the sender's first byte), wire bytes
# per message (both directions of the veth, from its kernel counters: IP
# packets with TLS inside, nothing else crosses it), CPU seconds per
# million messages of the sending side (utime + stime from /proc: the
# ward-agent supervisor and its receivers child; the sending rsyslogd) and
# the peak RSS (VmHWM) of the same processes.
#
# Shaped uplink (uplink-shaped): the probe and the SOC joined instead by
# tests/tools/delayline (TUN devices, 50 ms each way: 100 ms RTT; this
# kernel has no sch_netem) with a tc tbf of UPLINK_RATE_KBIT on each end.
#
#   latency   UPLINK_LAT_RATE msg/s for UPLINK_LAT_S seconds on the healthy
#             link; per record, its receive time (the record's "ts") to the
#             moment ward-soc logged the batch holding it as stored (its
#             log runs through tests/tools/linestamp, which stamps each
#             line); p50, p99, max;
#   backlog   ward-soc stopped, UPLINK_BACKLOG messages spooled and sealed
#             (the outbox is the backlog), ward-soc started again;
#   P0        from the agent's reconnect (ward-soc's "TLS established"
#             line) to the first batch of the P0 `agent` lane stored (its
#             status records, one per agent.status_interval_ms, queued
#             during the outage), and how many P1 batches came first;
#   goodput   sealed batch bytes of the syslog lane acknowledged per
#             second while the backlog drains (from the second stored
#             batch to the last, sizes from the outbox before the
#             reconnect), against the link rate.
#
# Needs lib.sh and AGENT, WARDCTL, BUILD, ROOT, TMP, KEEP, LOADGEN; sets
# nothing the other parts read. Knobs are in bench/run.sh's header.

UPLINK_COUNT=${BENCH_UPLINK_COUNT:-1000000}
UPLINK_RUNS=${BENCH_UPLINK_RUNS:-1}
UPLINK_BACKLOG=${BENCH_UPLINK_BACKLOG:-300000}
UPLINK_RATE_KBIT=${BENCH_UPLINK_RATE_KBIT:-5000}
UPLINK_DELAY_MS=${BENCH_UPLINK_DELAY_MS:-50}
UPLINK_LAT_RATE=${BENCH_UPLINK_LAT_RATE:-500}
UPLINK_LAT_S=${BENCH_UPLINK_LAT_S:-30}
# Empty: the compiled-in uplink.batch_max_bytes (1 MiB) and
# uplink.max_in_flight (8 requests pipelined on the connection).
UPLINK_BATCH_BYTES=${BENCH_UPLINK_BATCH_BYTES:-}
UPLINK_MAX_IN_FLIGHT=${BENCH_UPLINK_MAX_IN_FLIGHT:-}
UPLINK_SOC=$BUILD/ward-soc
UPLINK_DELAYLINE=$BUILD/tests/tools/delayline
UPLINK_STAMP=$BUILD/tests/tools/linestamp
# Generous: a run not done by then is reported as not done (set by
# uplink_check, once the knobs are known to be numbers).
UPLINK_DEADLINE_S=
# A side-by-side run whose count stops moving for this long has stalled.
UPLINK_STALL_S=${BENCH_UPLINK_STALL_S:-30}

# Targets, from issue 3.
UPLINK_TARGET_RATE=2      # ward >= 2 x rsyslog, messages per second
UPLINK_TARGET_WIRE=8      # ward's wire bytes per message <= 1/8 of rsyslog's
UPLINK_TARGET_RSS_MIB=48  # ward-agent, each process
UPLINK_TARGET_GOODPUT=90  # % of the link
UPLINK_TARGET_P0_S=2
UPLINK_TARGET_P99_S=2

# The addresses: a veth pair for the side-by-side runs, the delay line for
# the shaped ones. RFC 1918 space inside namespaces of our own.
UP_NS_P=wbp$$
UP_NS_S=wbs$$
UP_VETH_P=wbvp$$
UP_VETH_S=wbvs$$
UP_TUN_P=wbtp$$
UP_TUN_S=wbts$$
UP_IP_P=10.201.0.1
UP_IP_S=10.201.0.2
UP_TIP_P=10.201.1.1
UP_TIP_S=10.201.1.2

# in_p / in_s COMMAND...: runs COMMAND in the probe / SOC namespace. Not
# for background jobs: a function run with & is a subshell, so $! would
# not be the command's pid; those call ip netns exec themselves (it execs,
# the pid stays).
in_p() { ip netns exec "$UP_NS_P" "$@"; }
in_s() { ip netns exec "$UP_NS_S" "$@"; }

# uplink_check: whether the part can run here; says why not on stdout.
uplink_check() {
	for v in "$UPLINK_COUNT" "$UPLINK_RUNS" "$UPLINK_BACKLOG" "$UPLINK_RATE_KBIT" "$UPLINK_LAT_S" \
		"$UPLINK_STALL_S" "$UPLINK_DELAY_MS" "$UPLINK_LAT_RATE" "${UPLINK_BATCH_BYTES:-1}" "${UPLINK_MAX_IN_FLIGHT:-1}"; do
		case $v in '' | *[!0-9]* | 0)
			echo "uplink: skipped: the BENCH_UPLINK_* knobs must be positive numbers"
			return 1 ;;
		esac
	done
	UPLINK_DEADLINE_S=$((120 + UPLINK_COUNT / 2000))
	if [ "$UPLINK_LAT_RATE" -lt 10 ]; then
		echo "uplink: skipped: BENCH_UPLINK_LAT_RATE must be at least 10 (it is sent in ticks of 100 ms)"
		return 1
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "uplink: skipped: network namespaces need root"
		return 1
	fi
	for t in ip tc openssl rsyslogd; do
		command -v "$t" >/dev/null ||
			{ echo "uplink: skipped: $t not installed (scripts/deps.sh bench)"; return 1; }
	done
	for f in "$AGENT" "$WARDCTL" "$UPLINK_SOC" "$LOADGEN" "$UPLINK_DELAYLINE" "$UPLINK_STAMP"; do
		[ -x "$f" ] || { echo "uplink: skipped: $f not built (make; make VARIANT=release tests-build)"; return 1; }
	done
	if ! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then
		echo "uplink: skipped: rsyslog's gtls driver missing (rsyslog-gnutls; scripts/deps.sh bench)"
		return 1
	fi
	return 0
}

# ---- namespaces and keys ----------------------------------------------------

UP_NETNS=0
UP_DL_PID=

# Called from run.sh's EXIT trap (after PIDS are stopped).
# shellcheck disable=SC2317
uplink_cleanup() {
	[ -n "$UP_DL_PID" ] && { kill -TERM "$UP_DL_PID" 2>/dev/null; wait "$UP_DL_PID" 2>/dev/null; }
	UP_DL_PID=
	if [ "$UP_NETNS" = 1 ]; then
		ip netns del "$UP_NS_P" 2>/dev/null || true
		ip netns del "$UP_NS_S" 2>/dev/null || true
		UP_NETNS=0
	fi
}

uplink_netns() {
	ip netns add "$UP_NS_P" && ip netns add "$UP_NS_S" || return 1
	UP_NETNS=1
	in_p ip link set lo up && in_s ip link set lo up &&
	ip link add "$UP_VETH_P" netns "$UP_NS_P" type veth peer name "$UP_VETH_S" netns "$UP_NS_S" &&
	in_p ip addr add "$UP_IP_P/30" dev "$UP_VETH_P" && in_p ip link set "$UP_VETH_P" up &&
	in_s ip addr add "$UP_IP_S/30" dev "$UP_VETH_S" && in_s ip link set "$UP_VETH_S" up
}

# uplink_shape: the delay line and tbf on both of its ends.
uplink_shape() {
	rm -f "$UDIR/delayline.out"
	"$UPLINK_DELAYLINE" "$UP_NS_P" "$UP_TUN_P" "$UP_NS_S" "$UP_TUN_S" "$UPLINK_DELAY_MS" \
		>"$UDIR/delayline.out" 2>&1 &
	UP_DL_PID=$!
	poll 10 grep -q '^ready' "$UDIR/delayline.out" || return 1
	# The tbf queue holds up to 200 ms of the rate: a drop-tail
	# bottleneck buffer of two RTTs. The burst is a few MTU-sized packets.
	for side in p s; do
		if [ $side = p ]; then dev=$UP_TUN_P; a=$UP_TIP_P; b=$UP_TIP_S; else dev=$UP_TUN_S; a=$UP_TIP_S; b=$UP_TIP_P; fi
		ip netns exec "wb$side$$" ip addr add "$a" peer "$b" dev "$dev" &&
		ip netns exec "wb$side$$" ip link set "$dev" up &&
		ip netns exec "wb$side$$" tc qdisc add dev "$dev" root tbf rate "${UPLINK_RATE_KBIT}kbit" \
			burst 6kb latency 200ms || return 1
	done
}

# veth_bytes: bytes through the probe's veth end so far, both directions.
veth_bytes() {
	in_p cat "/sys/class/net/$UP_VETH_P/statistics/tx_bytes" \
		"/sys/class/net/$UP_VETH_P/statistics/rx_bytes" | awk '{ s += $1 } END { print s + 0 }'
}

# The PKI of tests/lib/pki.sh (CA, SOC server certificate CN=localhost,
# device client certificate CN=fw01.hospital.test) and the P-256 key pairs
# of the SOC (sealing) and the device (signing). All test fixtures, made
# now, deleted with the bench directory.
uplink_pki() {
	P=$UDIR/pki
	# shellcheck source=tests/lib/pki.sh
	. "$ROOT/tests/lib/pki.sh"
	# shellcheck source=tests/lib/soc.sh
	. "$ROOT/tests/lib/soc.sh"
	make_pki "$P" && keypair soc && keypair fw01 || return 1
	mkdir -p "$UDIR/devices"
	cp "$P/fw01.pub" "$UDIR/devices/fw01.pem"
	# ward-agent runs as nobody: it must read them.
	chmod 755 "$P" && chmod 644 "$P"/*
}

# ---- ward-soc -----------------------------------------------------------------

SOC_PID=
UP_SOC_LOG=
# soc_up ADDR STORE: ward-soc in the SOC namespace, its log stamped line by
# line into UP_SOC_LOG (appended: one log across restarts).
soc_up() {
	[ -p "$UDIR/soc.fifo" ] || mkfifo "$UDIR/soc.fifo"
	"$UPLINK_STAMP" <"$UDIR/soc.fifo" >>"$UP_SOC_LOG" &
	PIDS="$PIDS $!"
	ip netns exec "$UP_NS_S" "$UPLINK_SOC" serve --listen "$1:$UP_SOC_PORT" --cert "$P/server.pem" \
		--key "$P/server.key" --client-ca "$P/ca.pem" --soc-key "$P/soc.key" \
		--device-keys "$UDIR/devices" --store "$2" >"$UDIR/soc.fifo" 2>&1 &
	SOC_PID=$!
	PIDS="$PIDS $SOC_PID"
	poll 20 in_s sh -c "ss -Hltn 'sport = :$UP_SOC_PORT' | grep -q ." && return 0
	tail -n 5 "$UP_SOC_LOG"
	return 1
}

soc_down() {
	[ -n "$SOC_PID" ] && stop_pid "$SOC_PID"
	SOC_PID=
}

# soc_stored LANE: records ward-soc logged as stored for LANE (the sum of
# its "stored batch A-B, N records" lines).
soc_stored() {
	awk -v lane="lane $1:" '
		index($0, lane) && / stored batch / {
			for (i = 1; i < NF; i++) if ($(i + 1) == "records,") { n += $i; break }
		}
		END { print n + 0 }' "$UP_SOC_LOG"
}

# batch_gaps: how far apart ward-soc stored the syslog lane's batches, the
# time per batch that bounds the rate once everything is sealed.
batch_gaps() {
	awk '/ lane syslog: stored batch / { if (n++) print $1 - p; p = $1 }' "$UP_SOC_LOG" | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) printf "%d batches stored, %.1f ms apart (median; p90 %.1f ms)", NR + 1,
			v[int((NR - 1) * 0.5) + 1] * 1000, v[int((NR - 1) * 0.9) + 1] * 1000 }'
}

UP_STORED=0
soc_has() { UP_STORED=$(soc_stored syslog); UP_PROGRESS=$UP_STORED; [ "$UP_STORED" -ge "$1" ]; }

# ward_has COUNT: soc_has, with the sealer's work as progress too: the
# outbox's file count moves while batches are sealed and sent, even when
# none is stored for a while.
ward_has() {
	soc_has "$1" && return 0
	UP_PROGRESS="$UP_STORED $(find "$WDIR/outbox/syslog" -name '*.batch' 2>/dev/null | wc -l)"
	return 1
}

# poll_progress SECONDS STALL_S COMMAND...: poll (lib.sh) that also gives up
# when COMMAND's measure of progress, which it leaves in UP_PROGRESS, has
# not moved for STALL_S seconds: a pipeline that stopped short of the
# count (rsyslog has left a hundred messages in its disk queue for good)
# is reported then rather than at the deadline. Returns 0 when COMMAND
# succeeds, 1 at the deadline, 2 on a stall; UP_LAST_T is the wall clock
# of the last poll that saw progress.
UP_PROGRESS=0
UP_LAST_T=
poll_progress() {
	_pend=$(( $(date +%s) + $1 )); _stall=$2; shift 2
	_plast=-1; _pt=$(date +%s)
	while ! "$@"; do
		if [ "$UP_PROGRESS" != "$_plast" ]; then
			_plast=$UP_PROGRESS; _pt=$(date +%s); UP_LAST_T=$(now)
		fi
		[ $(( $(date +%s) - _pt )) -ge "$_stall" ] && return 2
		[ "$(date +%s)" -ge "$_pend" ] && return 1
		sleep "$POLL_S"
	done
	return 0
}

# ---- ward-agent --------------------------------------------------------------

up_ctl() { "$WARDCTL" -s "$WDIR/ward.sock" "$@"; }
up_ready() {
	up_ctl status --json 2>/dev/null |
		jq -e '.receivers.state == "running" and (.syslog.listeners | length) > 0' >/dev/null 2>&1
}

# up_config SYSLOG_PORT SOC_URL: the compiled-in defaults, except for the
# listener, a spool budget that holds the whole run, the keys, the one SOC
# endpoint, short backoffs (ward-soc is stopped on purpose), and the lines
# in UP_YAML_AGENT, UP_YAML_SPOOL and UP_YAML_UPLINK (indented, may be
# empty).
UP_YAML_AGENT=
UP_YAML_SPOOL=
UP_YAML_UPLINK=
up_config() {
	_budget=$(( (UPLINK_COUNT / 1000 + 1) * 4 * 1024 * 1024 ))
	[ "$_budget" -lt 1073741824 ] && _budget=1073741824
	cat <<YAML
# make bench, uplink part. Started as root, ward-agent runs as nobody.
agent:
  state_dir: $WDIR
  device_id: fw01
$UP_YAML_AGENT
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$1" }
snmp:
  enabled: false
  listeners: []
spool:
  budget_bytes: $_budget
$UP_YAML_SPOOL
uplink:
  enabled: true
  device_key: $P/fw01.key
  soc_public_key: $P/soc.pub
  ca: $P/ca.pem
  client_cert: $P/client.pem
  client_key: $P/client.key
  endpoints:
    - { url: "$2", sni: localhost }
  backoff_min_ms: 100
  backoff_max_ms: 1000
${UPLINK_BATCH_BYTES:+  batch_max_bytes: $UPLINK_BATCH_BYTES}
${UPLINK_MAX_IN_FLIGHT:+  max_in_flight: $UPLINK_MAX_IN_FLIGHT}
$UP_YAML_UPLINK
YAML
}

UP_AGENT_PID=
UP_WARD_SUP_KIB=0
UP_WARD_RX_KIB=0
# up_agent_start NAME SOC_URL: a fresh state directory UDIR/NAME. Sets
# UP_AGENT_PID (the supervisor), UP_RX_PID (its receivers child) and
# UP_SPORT (the syslog TCP port, in the probe namespace).
up_agent_start() {
	WDIR=$UDIR/$1
	rm -rf "$WDIR"
	mkdir -p "$WDIR"; chmod 755 "$WDIR"
	UP_SPORT=$(free_port)
	up_config "$UP_SPORT" "$2" >"$WDIR/ward.yaml"
	if ! "$AGENT" -c "$WDIR/ward.yaml" --check-config >"$WDIR/check.log" 2>&1; then
		cat "$WDIR/check.log"
		return 1
	fi
	# shellcheck disable=SC2016
	ip netns exec "$UP_NS_P" sh -c 'cd "$1" && exec "$2" -c "$1/ward.yaml"' sh "$WDIR" "$AGENT" \
		>"$WDIR/agent.log" 2>&1 &
	UP_AGENT_PID=$!
	PIDS="$PIDS $UP_AGENT_PID"
	if ! poll 20 up_ready || ! poll 10 in_p sh -c "ss -Hltn 'sport = :$UP_SPORT' | grep -q ."; then
		tail -n 20 "$WDIR/agent.log"
		return 1
	fi
	UP_RX_PID=$(up_ctl status --json | jq -r '.receivers.pid')
}

up_agent_stop() {
	[ -n "$UP_AGENT_PID" ] && stop_pid "$UP_AGENT_PID"
	UP_AGENT_PID=
}

# up_result NAME MESSAGES SECONDS WIRE_BYTES CPU_TICKS RSS_KIB [stalled]: one
# row for bench/uplink_report.awk; SECONDS is "-" when the run did not
# finish; "stalled" when it stopped short of the count, SECONDS then up to
# its last progress.
up_result() {
	echo "$1 $2 $3 $4 $(cpu_s "$5") $6${7:+ $7}" >>"$UDIR/results"
	if [ -n "${7:-}" ]; then
		note "$1: STALLED at $2 of $UPLINK_COUNT messages after $3 s; wire $4 bytes; CPU $(cpu_s "$5") s"
	elif [ "$3" = - ]; then
		note "$1: NOT DONE: $2 of $UPLINK_COUNT messages"
	else
		note "$1: $2 messages in $3 s (sender done after $SEND_S s); wire $4 bytes;" \
			"CPU $(cpu_s "$5") s; peak RSS $(awk -v k="$6" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
	fi
}

# ---- side by side: ward --------------------------------------------------------

bench_uplink_ward() {
	UP_SOC_PORT=$(free_port)
	_store=$UDIR/store-ward
	UP_SOC_LOG=$UDIR/soc-ward.log
	rm -rf "$_store"; : >"$UP_SOC_LOG"
	if ! soc_up "$UP_IP_S" "$_store" ||
	   ! up_agent_start ward-tls "https://$UP_IP_S:$UP_SOC_PORT"; then
		echo "uplink-ward: could not start ward-soc or ward-agent"
		up_agent_stop; soc_down
		up_result uplink-ward 0 - 0 0 0
		return 0
	fi
	_sup=$UP_AGENT_PID
	_c0=$(( $(cpu_ticks "$_sup") + $(cpu_ticks "$UP_RX_PID") ))
	_b0=$(veth_bytes)
	_sc0=$(cpu_ticks "$SOC_PID")
	if ! loadgen_run $((UPLINK_COUNT * 1536)) ip netns exec "$UP_NS_P" "$LOADGEN" 127.0.0.1 "$UP_SPORT" "$UPLINK_COUNT"; then
		echo "uplink-ward: the sender failed"
		up_agent_stop; soc_down
		up_result uplink-ward 0 - 0 0 0
		return 0
	fi
	_prc=0; poll_progress "$UPLINK_DEADLINE_S" "$UPLINK_STALL_S" ward_has "$UPLINK_COUNT" || _prc=$?
	if [ "$_prc" -ne 0 ]; then
		echo "uplink-ward: ward-soc stored $UP_STORED of $UPLINK_COUNT; $( [ $_prc = 2 ] &&
			echo "no progress for ${UPLINK_STALL_S}s" || echo "deadline of ${UPLINK_DEADLINE_S}s")"
		tail -n 10 "$WDIR/agent.log"
		up_ctl status --json | jq -c '.uplink | {state, backlog, endpoints}'
		tail -n 5 "$UP_SOC_LOG"
		_k=$(hwm_kib "$_sup"); _kr=$(hwm_kib "$UP_RX_PID")
		up_agent_stop; soc_down
		up_result uplink-ward "$UP_STORED" - 0 0 $(( _k > _kr ? _k : _kr ))
		return 0
	fi
	_t1=$(now)
	_c=$(( $(cpu_ticks "$_sup") + $(cpu_ticks "$UP_RX_PID") - _c0 ))
	_sc=$(( $(cpu_ticks "$SOC_PID") - _sc0 ))
	# The response to the last batch is on the wire right after the
	# store; it is a few hundred bytes, so a short grace is enough.
	poll 5 backlog_empty || true
	_b=$(( $(veth_bytes) - _b0 ))
	_ks=$(hwm_kib "$_sup"); _kr=$(hwm_kib "$UP_RX_PID")
	[ "$_ks" -gt "$UP_WARD_SUP_KIB" ] && UP_WARD_SUP_KIB=$_ks
	[ "$_kr" -gt "$UP_WARD_RX_KIB" ] && UP_WARD_RX_KIB=$_kr
	_st=$(up_ctl status --json)
	note "uplink-ward: agent: $(echo "$_st" | jq -r '
		"sealed \([.uplink.sealers[] | select(.lane == "syslog") | "\(.batches) batches, \(.body_bytes) NDJSON bytes -> \(.sealed_bytes) sealed bytes"] | join("")); " +
		"acked \(.uplink.batches_acked) batches; TLS bytes out \([.uplink.endpoints[].bytes_out] | add), in \([.uplink.endpoints[].bytes_in] | add); " +
		"\(.uplink.endpoints[0] | "connects \(.connects), failures \(.failures)" + (if .last_error != "" and .last_error != null then " (last: \(.last_error))" else "" end))"')"
	note "uplink-ward: CPU supervisor+receivers $(cpu_s "$_c") s; ward-soc (receiving side) $(cpu_s "$_sc") s;" \
		"peak RSS supervisor $(( _ks / 1024 )) MiB, receivers $(( _kr / 1024 )) MiB"
	note "uplink-ward: ward-soc: $(batch_gaps)"
	up_agent_stop
	soc_down
	if "$UPLINK_SOC" verify "$_store" >"$UDIR/verify.out" 2>&1; then
		note "uplink-ward: ward-soc verify: $(jq -c 'select(.lane == "syslog") | {records, first_seq, last_seq, gaps, duplicates_dropped}' "$UDIR/verify.out" 2>/dev/null | tr -d '\n')"
	else
		echo "uplink-ward: WARNING: ward-soc verify failed: $(head -c 500 "$UDIR/verify.out")"
	fi
	up_result uplink-ward "$UP_STORED" "$(elapsed "$T0" "$_t1")" "$_b" "$_c" $(( _ks > _kr ? _ks : _kr ))
	[ "$KEEP" = 1 ] || rm -rf "$_store" "$WDIR"
}

# ---- side by side: rsyslog -------------------------------------------------------

# The receiver: imtcp over TLS (gtls, the sender's certificate checked
# against the CA and its name), writing each message as received.
rsyslog_rx_conf() {
	cat <<CONF
# make bench: uplink-rsyslog receiver (the SOC side)
global(workDirectory="$1/work"
       maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off"
       DefaultNetstreamDriverCAFile="$P/ca.pem"
       DefaultNetstreamDriverCertFile="$P/server.pem"
       DefaultNetstreamDriverKeyFile="$P/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1"
       StreamDriver.AuthMode="x509/name" PermittedPeer=["fw01.hospital.test"])
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") {
	action(type="omfile" file="$1/out.log" template="raw")
}
input(type="imtcp" address="$UP_IP_S" port="$2" ruleset="bench")
CONF
}

# The sender: imtcp (plain, loopback) into an action whose queue is
# disk-assisted (LinkedList in memory, spilling to queue.filename), omfwd
# over TLS with octet counting; the message is forwarded as received.
rsyslog_tx_conf() {
	cat <<CONF
# make bench: uplink-rsyslog sender (the probe side)
global(workDirectory="$1/work"
       maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off"
       DefaultNetstreamDriverCAFile="$P/ca.pem"
       DefaultNetstreamDriverCertFile="$P/client.pem"
       DefaultNetstreamDriverKeyFile="$P/client.key")
module(load="imtcp")
template(name="fwd" type="string" string="%rawmsg%")
ruleset(name="bench") {
	action(type="omfwd" target="$UP_IP_S" port="$3" protocol="tcp"
	       TCP_Framing="octet-counted" template="fwd"
	       StreamDriver="gtls" StreamDriverMode="1"
	       StreamDriverAuthMode="x509/name" StreamDriverPermittedPeers="localhost"
	       queue.type="LinkedList" queue.filename="bench_da"
	       queue.saveOnShutdown="on")
}
input(type="imtcp" address="127.0.0.1" port="$2" ruleset="bench")
CONF
}

# rsyslog_rx_done: the receiver's file holds every message (rsyslog.sh's
# rsyslog_done, for UPLINK_COUNT).
rsyslog_rx_done() {
	_sz=$(stat -c %s "$RDIR/out.log" 2>/dev/null || echo 0)
	UP_PROGRESS=$_sz
	[ "$_sz" -ge $((PAYLOAD + UPLINK_COUNT)) ] || return 1
	RS_LINES=$(wc -l <"$RDIR/out.log")
	[ "$RS_LINES" -ge "$UPLINK_COUNT" ]
}

bench_uplink_rsyslog() {
	RDIR=$UDIR/rsyslog-rx
	_tx=$UDIR/rsyslog-tx
	rm -rf "$RDIR" "$_tx"
	mkdir -p "$RDIR/work" "$_tx/work"
	_rport=$(free_port)
	_lport=$(free_port)
	rsyslog_rx_conf "$RDIR" "$_rport" >"$RDIR/rsyslog.conf"
	rsyslog_tx_conf "$_tx" "$_lport" "$_rport" >"$_tx/rsyslog.conf"
	ip netns exec "$UP_NS_S" rsyslogd -n -f "$RDIR/rsyslog.conf" -i "$RDIR/rsyslog.pid" >"$RDIR/rsyslog.log" 2>&1 &
	_rx=$!
	PIDS="$PIDS $_rx"
	ip netns exec "$UP_NS_P" rsyslogd -n -f "$_tx/rsyslog.conf" -i "$_tx/rsyslog.pid" >"$_tx/rsyslog.log" 2>&1 &
	_txp=$!
	PIDS="$PIDS $_txp"
	if ! poll 20 in_s sh -c "ss -Hltn 'sport = :$_rport' | grep -q ." ||
	   ! poll 20 in_p sh -c "ss -Hltn 'sport = :$_lport' | grep -q ."; then
		echo "uplink-rsyslog: rsyslogd did not start"
		cat "$RDIR/rsyslog.log" "$_tx/rsyslog.log"
		stop_pid "$_txp"; stop_pid "$_rx"
		up_result uplink-rsyslog 0 - 0 0 0
		return 0
	fi
	RS_LINES=0
	_c0=$(cpu_ticks "$_txp")
	_rc0=$(cpu_ticks "$_rx")
	_b0=$(veth_bytes)
	if ! loadgen_run $((UPLINK_COUNT * 1024)) ip netns exec "$UP_NS_P" "$LOADGEN" 127.0.0.1 "$_lport" "$UPLINK_COUNT"; then
		echo "uplink-rsyslog: the sender failed"
		stop_pid "$_txp"; stop_pid "$_rx"
		up_result uplink-rsyslog 0 - 0 0 0
		return 0
	fi
	PAYLOAD=$(loadgen_field payload)
	_prc=0; poll_progress "$UPLINK_DEADLINE_S" "$UPLINK_STALL_S" rsyslog_rx_done || _prc=$?
	if [ "$_prc" -ne 0 ]; then
		_n=$(wc -l <"$RDIR/out.log" 2>/dev/null || echo 0)
		_q=$(find "$_tx/work" -name 'bench_da.0*' -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
		echo "uplink-rsyslog: the receiver holds $_n of $UPLINK_COUNT; $( [ $_prc = 2 ] &&
			echo "no progress for ${UPLINK_STALL_S}s" || echo "deadline of ${UPLINK_DEADLINE_S}s");" \
			"$_q bytes left in the sender's disk queue files"
		tail -n 5 "$_tx/rsyslog.log" "$RDIR/rsyslog.log"
		if [ "$_prc" = 2 ] && [ -n "$UP_LAST_T" ]; then
			# Stalled short of the count: the rate of what did arrive,
			# up to the last progress, marked as such in the table.
			_c=$(( $(cpu_ticks "$_txp") - _c0 ))
			_b=$(( $(veth_bytes) - _b0 ))
			_k=$(hwm_kib "$_txp")
			stop_pid "$_txp"; stop_pid "$_rx"
			up_result uplink-rsyslog "$_n" "$(elapsed "$T0" "$UP_LAST_T")" "$_b" "$_c" "$_k" stalled
			return 0
		fi
		_k=$(hwm_kib "$_txp")
		stop_pid "$_txp"; stop_pid "$_rx"
		up_result uplink-rsyslog "$_n" - 0 0 "$_k"
		return 0
	fi
	_t1=$(now)
	_c=$(( $(cpu_ticks "$_txp") - _c0 ))
	_rc=$(( $(cpu_ticks "$_rx") - _rc0 ))
	_b=$(( $(veth_bytes) - _b0 ))
	_k=$(hwm_kib "$_txp")
	_kr=$(hwm_kib "$_rx")
	note "uplink-rsyslog: receiver (SOC side) CPU $(cpu_s "$_rc") s, peak RSS $(( _kr / 1024 )) MiB;" \
		"disk queue files written: $(find "$_tx/work" -name 'bench_da*' 2>/dev/null | wc -l)"
	stop_pid "$_txp"
	stop_pid "$_rx"
	up_result uplink-rsyslog "$RS_LINES" "$(elapsed "$T0" "$_t1")" "$_b" "$_c" "$_k"
	[ "$KEEP" = 1 ] || rm -rf "$RDIR" "$_tx"
}

# ---- the part ------------------------------------------------------------------

# bench_uplink RUNS...: RUNS are uplink-tls (both side-by-side runs) and
# uplink-shaped; prints the figures and the verdicts.
bench_uplink() {
	echo
	case " $* " in
	*" uplink-tls "* | *" uplink-ward "*) echo "uplink: $UPLINK_COUNT syslog messages over TCP x $UPLINK_RUNS run(s), through each pipeline to an SOC over TLS" ;;
	*) echo "uplink: ward on a shaped uplink" ;;
	esac
	uplink_check || return 0
	UDIR=$TMP/uplink
	rm -rf "$UDIR"
	mkdir -p "$UDIR"; chmod 755 "$UDIR"
	: >"$UDIR/results"
	if ! uplink_netns || ! uplink_pki; then
		echo "uplink: could not set up the namespaces or the test PKI; skipped"
		uplink_cleanup
		return 0
	fi
	note "uplink: namespaces $UP_NS_P (probe) and $UP_NS_S (SOC); $(ward_soc_version);" \
		"uplink.batch_max_bytes ${UPLINK_BATCH_BYTES:-compiled-in}," \
		"uplink.max_in_flight ${UPLINK_MAX_IN_FLIGHT:-compiled-in}"
	for r in "$@"; do
		sync
		case $r in
		uplink-tls)
			# Interleaved, as the syslog part's runs are.
			_i=1
			while [ "$_i" -le "$UPLINK_RUNS" ]; do
				bench_uplink_ward; sync; bench_uplink_rsyslog; sync
				_i=$((_i + 1))
			done ;;
		uplink-ward) bench_uplink_ward ;;   # ward's half alone, to profile it
		uplink-shaped) bench_uplink_shaped ;;
		esac
	done
	echo
	awk -v count="$UPLINK_COUNT" -v t_rate="$UPLINK_TARGET_RATE" -v t_wire="$UPLINK_TARGET_WIRE" \
		-v t_rss="$UPLINK_TARGET_RSS_MIB" -v sup_kib="$UP_WARD_SUP_KIB" -v rx_kib="$UP_WARD_RX_KIB" \
		-v t_goodput="$UPLINK_TARGET_GOODPUT" -v t_p0="$UPLINK_TARGET_P0_S" -v t_p99="$UPLINK_TARGET_P99_S" \
		-v rate_kbit="$UPLINK_RATE_KBIT" \
		-f "$ROOT/bench/stats.awk" -f "$ROOT/bench/uplink_report.awk" "$UDIR/results"
	uplink_cleanup
	[ "$KEEP" = 1 ] || rm -rf "$UDIR"
}

ward_soc_version() { echo "ward-soc and ward-agent at commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"; }

# ---- shaped uplink ---------------------------------------------------------------

# stamp_of PATTERN [FROM_LINE]: the stamp of the first soc.log line from
# FROM_LINE (default 1) on that matches the awk regex PATTERN; empty if none.
stamp_of() {
	awk -v from="${2:-1}" -v pat="$1" 'NR >= from && $0 ~ pat { print $1; exit }' "$UP_SOC_LOG"
}

# paced_send PORT RATE SECONDS: RATE msg/s for SECONDS, in ticks of 100 ms
# (RATE/10 messages each, a new connection and seed per tick), from the
# probe namespace. The tick clock is absolute, so a slow tick does not
# shift the ones after it.
paced_send() {
	# shellcheck disable=SC2016
	ip netns exec "$UP_NS_P" sh -c '
		lg=$1; port=$2; per=$(($3 / 10)); ticks=$(($4 * 10)); i=0
		start=$(date +%s%N)
		while [ $i -lt $ticks ]; do
			"$lg" 127.0.0.1 "$port" "$per" --seed $((i + 1)) >/dev/null || exit 1
			i=$((i + 1))
			d=$((start + i * 100000000 - $(date +%s%N)))
			[ $d -gt 0 ] && sleep "0.$(printf %09d $d)"
		done' sh "$LOADGEN" "$1" "$2" "$3"
}

# lat_figures STORE: per record of the syslog lane, ward-soc's store stamp of
# the batch holding its seq minus its receive time (the record's "ts", RFC
# 3339 UTC with microseconds); prints "n p50 p99 max" in seconds.
lat_figures() {
	awk '/ lane syslog: stored batch / {
		for (i = 1; i < NF; i++) if ($i == "batch") { split($(i + 1), r, "[-,]"); break }
		print r[1], r[2], $1 }' "$UP_SOC_LOG" >"$UDIR/lat.batches"
	# ward-soc's store: DIR/<device>/<lane>/records.ndjson (before commit
	# a8ce6eb: DIR/<device>/<lane>.ndjson).
	_recs=$1/fw01/syslog/records.ndjson
	[ -f "$_recs" ] || _recs=$1/fw01/syslog.ndjson
	jq -r '"\(.seq) \(.ts)"' "$_recs" | sort -n >"$UDIR/lat.records"
	awk '
	function epoch(ts,   y, m, d, era, yoe, doy, doe) {
		y = substr(ts, 1, 4) + 0; m = substr(ts, 6, 2) + 0; d = substr(ts, 9, 2) + 0
		if (m <= 2) y--
		era = int(y / 400); yoe = y - era * 400
		doy = int((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1
		doe = yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy
		return (era * 146097 + doe - 719468) * 86400 + substr(ts, 12, 2) * 3600 + \
		       substr(ts, 15, 2) * 60 + substr(ts, 18, 9)
	}
	NR == FNR { lo[++nb] = $1; hi[nb] = $2; at[nb] = $3; next }
	{
		for (b = 1; b <= nb; b++)
			if ($1 >= lo[b] && $1 <= hi[b]) { printf "%.6f\n", at[b] - epoch($2); break }
	}' "$UDIR/lat.batches" "$UDIR/lat.records" | sort -n >"$UDIR/lat.values"
	awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "0 0 0 0"; exit }
		p50 = v[int((NR - 1) * 0.50) + 1]; p99 = v[int((NR - 1) * 0.99) + 1]
		print NR, p50, p99, v[NR] }' "$UDIR/lat.values"
}

# The agent's status may not answer for a while: the sealer runs on the
# supervisor's loop, and wardctl times out while it seals a backlog. These
# then say 0.
up_sealed_seq() {
	_v=$(up_ctl status --json 2>/dev/null |
		jq -r '[.uplink.sealers[] | select(.lane == "syslog") | .last_seq] | max // 0' 2>/dev/null)
	echo "${_v:-0}"
}
up_backlog_agent() {
	_v=$(up_ctl status --json 2>/dev/null |
		jq -r '[.uplink.backlog.lanes[] | select(.lane == "agent") | .batches] | add // 0' 2>/dev/null)
	echo "${_v:-0}"
}
backlog_empty() { [ "$(up_ctl status --json 2>/dev/null | jq '.uplink.backlog.batches' 2>/dev/null)" = 0 ]; }
sealed_upto() { [ "$(up_sealed_seq)" -ge "$1" ]; }
# backlog_sealed TOTAL FROM: every record up to TOTAL is sealed, or all but
# a tail under one batch, which waits in the spool while the outbox has a
# backlog (sealer.h, sealer_run: partial batches only while the uplink
# keeps up) and is sealed once the backlog drains; FROM: a seq well into
# the backlog, so that a spool not yet filled does not pass for a drained
# one.
backlog_sealed() {
	sealed_upto "$1" && return 0
	_sb=$(up_ctl status --json 2>/dev/null |
		jq -r '[.spool.lanes[] | select(.name == "syslog") | .bytes] | add // 0' 2>/dev/null)
	# The tail, and the sealed part of the segment it starts in.
	[ "$(up_sealed_seq)" -gt "$2" ] &&
		[ "${_sb:-0}" -lt $(( 2 * ${UPLINK_BATCH_BYTES:-4194304} + 1048576 )) ]
}
agent_backlog() { [ "$(up_backlog_agent)" -ge 1 ]; }

shaped() { echo "shaped $1 $2" >>"$UDIR/results"; }

bench_uplink_shaped() {
	shaped ran 1
	shaped rtt_ms $((UPLINK_DELAY_MS * 2))
	if ! uplink_shape; then
		echo "uplink-shaped: could not set up the delay line"
		cat "$UDIR/delayline.out"
		return 0
	fi
	UP_SOC_PORT=$(free_port)
	_store=$UDIR/store-shaped
	UP_SOC_LOG=$UDIR/soc-shaped.log
	rm -rf "$_store"; : >"$UP_SOC_LOG"
	# A status record (P0) every second; segments close after 200 ms and
	# the sealer looks every 100 ms: the compiled-in 1000 ms each would
	# alone add up to 2 s to a record's way.
	UP_YAML_AGENT="  status_interval_ms: 1000"
	UP_YAML_SPOOL="  segment_max_age_ms: 200"
	UP_YAML_UPLINK="  seal_interval_ms: 100"
	if ! soc_up "$UP_TIP_S" "$_store" ||
	   ! up_agent_start ward-shaped "https://$UP_TIP_S:$UP_SOC_PORT"; then
		echo "uplink-shaped: could not start ward-soc or ward-agent"
		up_agent_stop; soc_down
		return 0
	fi
	UP_YAML_AGENT=''; UP_YAML_SPOOL=''; UP_YAML_UPLINK=
	note "uplink-shaped: config: agent.status_interval_ms 1000, spool.segment_max_age_ms 200," \
		"uplink.seal_interval_ms 100; the rest as for uplink-ward"
	# The first status record is queued 2 s after the start.
	poll 30 sh -c "[ \$(awk '/ lane agent: stored batch /' '$UP_SOC_LOG' | wc -l) -ge 1 ]" ||
		{ echo "uplink-shaped: nothing reaches ward-soc"; tail -n 5 "$UP_SOC_LOG"; up_agent_stop; soc_down; return 0; }

	# Latency on the healthy link.
	_n=$((UPLINK_LAT_RATE / 10 * 10 * UPLINK_LAT_S))
	if paced_send "$UP_SPORT" "$UPLINK_LAT_RATE" "$UPLINK_LAT_S" &&
	   poll 60 soc_has "$_n"; then
		# shellcheck disable=SC2046
		set -- $(lat_figures "$_store")
		if [ "$1" -eq "$_n" ]; then
			shaped lat_rate "$UPLINK_LAT_RATE"; shaped lat_s "$UPLINK_LAT_S"
			shaped lat_n "$1"; shaped lat_p50 "$2"; shaped lat_p99 "$3"; shaped lat_max "$4"
			note "uplink-shaped: latency: $1 records; p50 $2 s, p99 $3 s, max $4 s"
		else
			echo "uplink-shaped: latency: $1 of $_n records matched to a stored batch; no figure"
		fi
	else
		echo "uplink-shaped: latency run: ward-soc stored $UP_STORED of $_n"
	fi

	# The backlog: ward-soc down, UPLINK_BACKLOG messages spooled and sealed.
	soc_down
	_total=$((_n + UPLINK_BACKLOG))
	_half=$(( $(up_sealed_seq) + UPLINK_BACKLOG / 2 ))
	if ! loadgen_run $((UPLINK_BACKLOG * 1536)) ip netns exec "$UP_NS_P" "$LOADGEN" 127.0.0.1 \
		"$UP_SPORT" "$UPLINK_BACKLOG" --seed 7 ||
	   ! poll 300 backlog_sealed "$_total" "$_half" || ! poll 10 agent_backlog; then
		echo "uplink-shaped: the backlog was not sealed: $(up_ctl status --json | jq -c '.uplink | {sealers, backlog}')"
		up_agent_stop
		return 0
	fi
	find "$WDIR/outbox/syslog" -name '*.batch' -printf '%f %s\n' >"$UDIR/backlog.sizes"
	_bb=$(awk '{ s += $2 } END { print s + 0 }' "$UDIR/backlog.sizes")
	_bn=$(wc -l <"$UDIR/backlog.sizes")
	shaped backlog_msgs "$UPLINK_BACKLOG"; shaped backlog_bytes "$_bb"; shaped backlog_batches "$_bn"
	note "uplink-shaped: backlog: $_bn syslog batches, $_bb bytes; agent lane: $(up_backlog_agent) batches"

	# Reconnect: ward-soc back; the agent's next attempt is within
	# backoff_max_ms (1 s).
	_from=$(( $(wc -l <"$UP_SOC_LOG") + 1 ))
	if ! soc_up "$UP_TIP_S" "$_store"; then
		echo "uplink-shaped: ward-soc did not come back"
		up_agent_stop
		return 0
	fi
	_drain_s=$(( 60 + _bb * 8 * 2 / (UPLINK_RATE_KBIT * 1000) ))
	if ! poll "$_drain_s" soc_has "$_total"; then
		echo "uplink-shaped: the backlog did not drain in ${_drain_s}s: ward-soc stored $UP_STORED of $_total"
	fi
	_tl=$(stamp_of ' listening on ' "$_from")
	_tc=$(stamp_of ' TLS .* established' "$_from")
	_tp=$(stamp_of ' lane agent: stored batch ' "$_from")
	if [ -n "$_tc" ] && [ -n "$_tp" ]; then
		note "uplink-shaped: reconnect: ward-soc listening -> TLS established $(elapsed "$_tl" "$_tc") s" \
			"(the agent's backoff, at most backoff_max_ms, and the handshake) -> first P0 batch stored" \
			"$(elapsed "$_tc" "$_tp") s"
		shaped p0_s "$(elapsed "$_tc" "$_tp")"
		shaped p0_p1_before "$(awk -v from="$_from" -v tp="$_tp" \
			'NR >= from && / lane syslog: stored batch / && $1 < tp { n++ } END { print n + 0 }' "$UP_SOC_LOG")"
	fi
	# Goodput: the batches of the backlog acknowledged after the first,
	# over the time from the first's store to the last's.
	awk -v from="$_from" '
		NR == FNR { size[$1] = $2; next }
		FNR >= from && / lane syslog: stored batch / {
			for (i = 1; i < NF; i++) if ($i == "batch") { split($(i + 1), r, "[-,]"); break }
			name = sprintf("%020d-%020d.batch", r[1], r[2])
			if (!(name in size)) next
			if (n++ == 0) { t0 = $1; next }
			bytes += size[name]; t1 = $1
		}
		END { if (n > 1 && t1 > t0) printf "%d %.3f %.0f\n", bytes, t1 - t0, bytes * 8 / (t1 - t0) }
	' "$UDIR/backlog.sizes" "$UP_SOC_LOG" >"$UDIR/goodput"
	if [ -s "$UDIR/goodput" ]; then
		read -r _gb _gs _gbps <"$UDIR/goodput"
		shaped goodput_bytes "$_gb"; shaped goodput_s "$_gs"; shaped goodput_bps "$_gbps"
	fi
	note "uplink-shaped: drain: $(up_ctl status --json | jq -c '.uplink.endpoints[0] | {state, connects, batches_acked, bytes_out, bytes_in}')"
	up_agent_stop
	soc_down
	"$UPLINK_SOC" verify "$_store" >"$UDIR/verify.out" 2>&1 &&
		note "uplink-shaped: ward-soc verify: $(jq -c '{lane, records, gaps, duplicates_dropped}' "$UDIR/verify.out" | tr -d '\n')"
	[ "$KEEP" = 1 ] || rm -rf "$_store" "$WDIR"
}
