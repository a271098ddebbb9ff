#!/bin/sh
# make bench: ward's receivers against their usual peers, on the same load:
# syslog against rsyslog (below), then SNMP traps against net-snmp's
# snmptrapd (bench/snmp.sh says how), then the whole main job up to an SOC
# over TLS against rsyslog forwarding over TLS, and ward on a shaped thin
# uplink (bench/uplink.sh says how), the EDR relay alone against its
# targets (bench/edr.sh says how), and the packet sensor reading a capture
# file against a bare libpcap read loop, softflowd and ndpiReader
# (bench/sensor.sh says how).
#
# tests/tools/syslog_loadgen sends BENCH_COUNT (default 1,000,000) syslog
# messages of a hospital's device mix (about 10% GBK) over TCP with
# RFC 6587 octet counting to each of:
#
#   ward               ward-agent; timed until every message is durable
#                      (fdatasync'd) in the spool's syslog lane;
#   rsyslog-omfile     rsyslogd, imtcp -> omfile; timed until the output file
#                      holds every message;
#   rsyslog-diskqueue  rsyslogd, imtcp -> action with a disk queue -> omfile;
#                      timed the same way.
#
# Every time runs from the sender's first byte. The runs are interleaved
# and repeated BENCH_RUNS times; the table shows each one's median, the
# range, and the highest peak RSS (VmHWM). Then the ratios against the
# targets, PASS or MISS. A benchmark informs: it exits 0 whatever the
# figures, and 2 only when it cannot run at all.
#
# The SNMP part runs ward-v2c, ward-v3 (SNMPv3 authPriv, SHA and AES),
# snmptrapd-v2c and snmptrapd-v3: tests/tools/snmp_loadgen sends the same
# BENCH_SNMP_COUNT distinct traps over UDP to each, in windows that keep
# the receiver's socket queue below a quarter of its buffer, so neither
# overflows. ward is timed until every trap is durable in the spool's snmp
# lane, snmptrapd until its -Lf file holds every trap. Then each ward run's
# ratio to the snmptrapd run of the same version against the target
# (>= 5x), PASS or MISS.
#
# The EDR part runs ward-lumberjack and ward-hec: tests/tools/edr_loadgen
# sends BENCH_EDR_COUNT Winlogbeat-shaped Sysmon events over Lumberjack v2
# (zlib-compressed windows) and over HEC (gzip bodies), timed until the last
# acknowledgement, which the relay gives only for durable events. Figures:
# events/s, the receivers process's CPU per million events, events/s per
# core (per CPU second of that process) and peak RSS, against the targets
# (>= 100,000 events/s per core per input, RSS <= 48 MiB), PASS or MISS.
#
# The sensor part reads one capture of real traffic (made once by
# tests/tools/sensor_trafficgen.sh into build/bench/sensor.pcap: about
# 940,000 packets, 665,000 of them MTU-sized, 14,000 flows) with
# pcap_readloop, ward-sensor -r --json (conn only with --no-analyzers, and
# with every analyzer), softflowd -r and ndpiReader -i, interleaved,
# BENCH_SENSOR_RUNS times: packets per second and per CPU second, peak
# RSS; the ratios against the targets (conn only: >= 0.5x the read loop,
# >= 1.0x softflowd, >= 1.8x ndpiReader; all analyzers: >= 1.5x
# ndpiReader, analyzer memory under 64 MiB) and the flow table's bytes per
# idle flow (<= 200), PASS or MISS.
#
# Environment:
#   BENCH_COUNT=N        syslog messages per run (default 1000000)
#   BENCH_RUNS=N         repetitions of each syslog run (default 3)
#   BENCH_CONNECTIONS=N  parallel TCP connections of the sender (default 1)
#   BENCH_ONLY="..."     a subset of the runs: names (ward, rsyslog-omfile,
#                        rsyslog-diskqueue; ward-v2c, ward-v3, snmptrapd-v2c,
#                        snmptrapd-v3; uplink-tls, uplink-shaped, uplink-ward:
#                        ward's half of uplink-tls alone, to profile it) or parts
#                        (syslog, snmp, uplink, edr: ward-lumberjack, ward-hec;
#                        sensor: pcap-readloop, pcap-readloop-1m,
#                        ward-sensor-conn, ward-sensor, ward-sensor-nohash,
#                        softflowd, ndpiReader); default "syslog snmp edr
#                        sensor uplink".
#                        BENCH_ONLY=snmp runs the SNMP part only.
#   BENCH_SNMP_COUNT=N   traps per SNMP run (default 30000)
#   BENCH_SNMP_RUNS=N    repetitions of each SNMP run (default 3)
#   BENCH_SNMP_RCVBUF=B  SO_RCVBUF both SNMP receivers ask for (default
#                        4194304; the kernel doubles it)
#   BENCH_SNMP_WINDOW=B  send while the receiver's queue holds fewer than B
#                        bytes (default a quarter of its receive buffer)
#   BENCH_SNMP_RATE=N    instead, send N traps/s whatever the receiver does
#                        (open loop: a slow receiver loses traps, reported)
#   BENCH_UPLINK_COUNT=N messages per side-by-side uplink run (default 1000000)
#   BENCH_UPLINK_RUNS=N  repetitions of the side-by-side uplink runs (default 1)
#   BENCH_UPLINK_BATCH_BYTES=B  uplink.batch_max_bytes for ward (default: the
#                        compiled-in value)
#   BENCH_UPLINK_MAX_IN_FLIGHT=N  uplink.max_in_flight for ward (default: the
#                        compiled-in value)
#   BENCH_UPLINK_STALL_S=S  a side-by-side run whose count does not move for S
#                        seconds is reported as stalled (default 30)
#   BENCH_UPLINK_BACKLOG=N messages spooled while ward-soc is down, for the
#                        shaped drain and the P0 figure (default 300000)
#   BENCH_UPLINK_LAT_RATE=N, BENCH_UPLINK_LAT_S=S  the shaped latency load:
#                        N msg/s for S seconds (default 500, 30)
#   BENCH_UPLINK_RATE_KBIT=K, BENCH_UPLINK_DELAY_MS=D  the shaped link: K
#                        kbit/s, D ms each way (default 5000, 50: 100 ms RTT)
#   BENCH_EDR_COUNT=N    events per EDR run (default 200000)
#   BENCH_EDR_RUNS=N     repetitions of each EDR run (default 3)
#   BENCH_EDR_CONNECTIONS=N  parallel connections of the EDR sender (default 4)
#   BENCH_EDR_LJ_BATCH=N, BENCH_EDR_LJ_IN_FLIGHT=K  Lumberjack windows of N
#                        events, K in flight per connection (default 2048, 2)
#   BENCH_EDR_HEC_BATCH=N  events per HEC request (default 1000)
#   BENCH_SENSOR_RUNS=N  repetitions of each sensor run (default 3)
#   BENCH_SENSOR_PCAP=FILE  the capture the sensor part reads (default
#                        build/bench/sensor.pcap, made when missing; root)
#   BENCH_SENSOR_SOFTFLOWD_MAXFLOWS=N  softflowd -m (default 65536: every
#                        flow of the capture at once, as in ward's table)
#   BENCH_DIR=DIR        where the runs write (default a new /var/tmp/ward-bench.*).
#                        It must be on a real disk, not tmpfs, so that fsync
#                        costs what it costs.
#   BENCH_KEEP=1         keep BENCH_DIR (and the last run's data) afterwards
#   BENCH_VERIFY=0       skip reading ward's records back with `wardctl spool cat`
#                        (done after the first ward run of each kind)
#   BENCH_WARMUP=0       do not warm the page cache before each run (bench/lib.sh
#                        says why it does)
#   BENCH_PERF=1         `perf record -g` ward's receiver process during its
#                        runs into BENCH_DIR/ward.perf.data, and during the
#                        EDR runs into BENCH_DIR/edr-INPUT.perf.data, and one
#                        more ward-sensor run into BENCH_DIR/ward-sensor.perf.data
#                        (implies BENCH_KEEP=1)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WARD_BUILD:-$ROOT/build}
COUNT=${BENCH_COUNT:-1000000}
RUNS=${BENCH_RUNS:-3}
CONNS=${BENCH_CONNECTIONS:-1}
ONLY=${BENCH_ONLY:-syslog snmp edr sensor uplink}
VERIFY=${BENCH_VERIFY:-1}
PERF=${BENCH_PERF:-0}
[ "$PERF" = 1 ] && BENCH_KEEP=1
KEEP=${BENCH_KEEP:-0}
LOADGEN=$BUILD/tests/tools/syslog_loadgen
AGENT=$BUILD/ward-agent
WARDCTL=$BUILD/wardctl
# Generous: a run not done by then is reported as not done.
DEADLINE_S=$((60 + COUNT / 4000))

# Targets, from the issue.
TARGET_VS_DQ=3
TARGET_VS_OMFILE=1
TARGET_RSS_MIB=32

for v in "$COUNT" "$RUNS" "$CONNS"; do
	case $v in '' | *[!0-9]* | 0)
		echo "bench: BENCH_COUNT, BENCH_RUNS and BENCH_CONNECTIONS must be positive numbers" >&2
		exit 2 ;;
	esac
done

# The runs asked for, by part.
SYSLOG_ONLY=
SNMP_ONLY=
UPLINK_ONLY=
EDR_ONLY=
SENSOR_ONLY=
for b in $ONLY; do
	case $b in
	syslog) SYSLOG_ONLY="$SYSLOG_ONLY ward rsyslog-omfile rsyslog-diskqueue" ;;
	snmp) SNMP_ONLY="$SNMP_ONLY ward-v2c snmptrapd-v2c ward-v3 snmptrapd-v3" ;;
	ward | rsyslog-omfile | rsyslog-diskqueue) SYSLOG_ONLY="$SYSLOG_ONLY $b" ;;
	ward-v2c | ward-v3 | snmptrapd-v2c | snmptrapd-v3) SNMP_ONLY="$SNMP_ONLY $b" ;;
	uplink) UPLINK_ONLY="$UPLINK_ONLY uplink-tls uplink-shaped" ;;
	uplink-tls | uplink-ward | uplink-shaped) UPLINK_ONLY="$UPLINK_ONLY $b" ;;
	edr) EDR_ONLY="$EDR_ONLY ward-lumberjack ward-hec" ;;
	ward-lumberjack | ward-hec) EDR_ONLY="$EDR_ONLY $b" ;;
	sensor) SENSOR_ONLY="$SENSOR_ONLY pcap-readloop pcap-readloop-1m ward-sensor-conn ward-sensor ward-sensor-nohash softflowd ndpiReader" ;;
	pcap-readloop | pcap-readloop-1m | ward-sensor-conn | ward-sensor | ward-sensor-nohash | softflowd | ndpiReader) SENSOR_ONLY="$SENSOR_ONLY $b" ;;
	*)
		echo "bench: unknown run '$b' in BENCH_ONLY (syslog: ward, rsyslog-omfile," \
			"rsyslog-diskqueue; snmp: ward-v2c, ward-v3, snmptrapd-v2c, snmptrapd-v3;" \
			"uplink: uplink-tls, uplink-shaped, uplink-ward; edr: ward-lumberjack, ward-hec;" \
			"sensor: pcap-readloop, pcap-readloop-1m, ward-sensor-conn, ward-sensor, ward-sensor-nohash, softflowd, ndpiReader)" >&2
		exit 2 ;;
	esac
done

if [ -n "$UPLINK_ONLY" ]; then
	case ${BENCH_UPLINK_COUNT:-1} in '' | *[!0-9]* | 0)
		echo "bench: BENCH_UPLINK_COUNT must be a positive number" >&2
		exit 2 ;;
	esac
fi

need="jq ss awk findmnt"
if [ -n "$SYSLOG_ONLY$UPLINK_ONLY" ]; then
	[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN missing (make VARIANT=release tests-build)" >&2; exit 2; }
	need="$need rsyslogd"
fi
case $SNMP_ONLY in *snmptrapd*) need="$need snmptrapd" ;; esac
for t in $need; do
	command -v "$t" >/dev/null || { echo "bench: $t not installed (scripts/deps.sh bench)" >&2; exit 2; }
done
if [ "$PERF" = 1 ] && ! command -v perf >/dev/null; then
	echo "bench: BENCH_PERF=1 needs perf (Debian: linux-perf)" >&2
	exit 2
fi

. "$ROOT/bench/lib.sh"
. "$ROOT/bench/ward.sh"
. "$ROOT/bench/rsyslog.sh"
. "$ROOT/bench/snmp.sh"
. "$ROOT/bench/uplink.sh"
. "$ROOT/bench/edr.sh"
. "$ROOT/bench/sensor.sh"
if [ -n "$SNMP_ONLY" ]; then
	snmp_check_args || exit 2
fi
if [ -n "$EDR_ONLY" ]; then
	edr_check_args || exit 2
fi
if [ -n "$SENSOR_ONLY" ]; then
	sensor_check_args || exit 2
fi

# ward-agent drops to an unprivileged user when started as root; it must be
# able to enter the directory.
if [ -n "${BENCH_DIR:-}" ]; then
	TMP=$BENCH_DIR
	OWN_TMP=0
	mkdir -p "$TMP"
	chmod a+x "$TMP"
else
	TMP=$(mktemp -d /var/tmp/ward-bench.XXXXXX)
	OWN_TMP=1
	chmod 755 "$TMP"
fi
: >"$TMP/results"

# Removes what the bench made: its own directory, or inside a BENCH_DIR the
# caller chose, only the bench's files. Run from the EXIT trap.
# shellcheck disable=SC2317
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	uplink_cleanup
	rm -f "$TMP/warmup" "$TMP/go" "$TMP/dsync.probe"
	if [ "$KEEP" = 1 ]; then
		echo "bench: kept $TMP"
	elif [ "$OWN_TMP" = 1 ]; then
		rm -rf "$TMP"
	else
		rm -rf "$TMP/ward" "$TMP/rsyslog-omfile" "$TMP/rsyslog-diskqueue" \
			"$TMP/results" "$TMP/loadgen.out" "$TMP/ward.perf.data" "$TMP/perf.log" \
			"$TMP/ward-snmp" "$TMP/snmptrapd-v2c" "$TMP/snmptrapd-v3" "$TMP/snmp-results" \
			"$TMP/uplink" "$TMP/ward-edr" "$TMP/edr-results" \
			"$TMP/edr-lumberjack.perf.data" "$TMP/edr-hec.perf.data" \
			"$TMP/sensor" "$TMP/sensor-results" "$TMP/ward-sensor.perf.data"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

disk_info() {
	_src=$(findmnt -no SOURCE -T "$TMP" | head -n 1)
	_fs=$(findmnt -no FSTYPE -T "$TMP" | head -n 1)
	_dev=$(basename "$(readlink -f "$_src" 2>/dev/null || echo "$_src")")
	_parent=$(lsblk -no PKNAME "$_src" 2>/dev/null | head -n 1 || true)
	[ -n "$_parent" ] && _dev=$_parent
	_rot=$(cat "/sys/block/$_dev/queue/rotational" 2>/dev/null || echo '?')
	_size=$(lsblk -dno SIZE "/dev/$_dev" 2>/dev/null | tr -d ' ' || true)
	_model=$( { tr -s ' ' <"/sys/block/$_dev/device/model"; } 2>/dev/null || true)
	echo "$_src ($_fs, ${_size:-?}${_model:+, $_model}, rotational=$_rot)"
}

# The cost of one small O_DSYNC write, close to that of a group commit.
dsync_ms() {
	dd if=/dev/zero of="$TMP/dsync.probe" bs=4k count=200 oflag=dsync 2>&1 |
		awk '/copied/ { for (i = 2; i <= NF; i++) if ($i ~ /^s,?$/) { printf "%.2f", $(i - 1) * 1000 / 200; exit } }'
	rm -f "$TMP/dsync.probe"
}

# Enough room for one run of each kind at once, with a margin.
need_kib=0
[ -n "$SYSLOG_ONLY" ] && need_kib=$(( COUNT * 3 ))
[ -n "$SNMP_ONLY" ] && need_kib=$(( need_kib + SNMP_COUNT * 2 ))
# The uplink runs: ward's spool, outbox and ward-soc's store at once.
[ -n "$UPLINK_ONLY" ] && need_kib=$(( need_kib + UPLINK_COUNT * 2 ))
# One EDR run's lane at a time: about 1.5 KiB a record.
[ -n "$EDR_ONLY" ] && need_kib=$(( need_kib + EDR_COUNT * 2 ))
free_kib=$(df -Pk "$TMP" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt "$need_kib" ]; then
	echo "bench: $TMP has $((free_kib / 1024)) MiB free; the runs need about $((need_kib / 1024)) MiB" >&2
	exit 2
fi

echo "ward bench:$SYSLOG_ONLY$SNMP_ONLY$EDR_ONLY$SENSOR_ONLY$UPLINK_ONLY"
echo "date:      $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "machine:   $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
	"$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r)"
echo "disk:      $TMP on $(disk_info)"
echo "           4 KiB O_DSYNC write: $(dsync_ms) ms; page cache warm-up before each run: $( [ "${BENCH_WARMUP:-1}" = 1 ] && echo on || echo off)"
peers=
[ -n "$SYSLOG_ONLY$UPLINK_ONLY" ] && peers="rsyslogd $(rsyslogd -v | awk 'NR == 1 { print $2 }'); "
[ -n "$SNMP_ONLY" ] && command -v snmptrapd >/dev/null &&
	peers="${peers}snmptrapd $(snmptrapd --version 2>&1 | awk '/^NET-SNMP [Vv]ersion/ { print $NF }'); "
[ -n "$SENSOR_ONLY" ] && peers="$peers$(sensor_versions)"
echo "peers:     $peers$("$AGENT" --version 2>/dev/null || echo 'ward-agent not built')"
[ "$(findmnt -no FSTYPE -T "$TMP" | head -n 1)" = tmpfs ] &&
	echo "WARNING: $TMP is on tmpfs, where fsync costs nothing; these figures mean little"

[ -n "$SYSLOG_ONLY" ] && echo &&
	echo "syslog over TCP (RFC 6587 octet counting): $COUNT messages x $RUNS runs, $CONNS connection(s)"
i=1
while [ -n "$SYSLOG_ONLY" ] && [ "$i" -le "$RUNS" ]; do
	for b in $SYSLOG_ONLY; do
		# The previous run's dirty pages must not be written back
		# during this one.
		sync
		case $b in
		ward) bench_ward ;;
		rsyslog-omfile) bench_rsyslog omfile ;;
		rsyslog-diskqueue) bench_rsyslog diskqueue ;;
		esac
	done
	i=$((i + 1))
done

if [ -n "$SYSLOG_ONLY" ]; then
	echo
	awk -v count="$COUNT" -v t_dq="$TARGET_VS_DQ" -v t_om="$TARGET_VS_OMFILE" -v t_rss="$TARGET_RSS_MIB" \
		-v rx_kib="$WARD_RX_KIB" -v sup_kib="$WARD_SUP_KIB" \
		-f "$ROOT/bench/stats.awk" -f "$ROOT/bench/report.awk" "$TMP/results"
fi
# shellcheck disable=SC2086
[ -n "$SNMP_ONLY" ] && bench_snmp $SNMP_ONLY
# shellcheck disable=SC2086
[ -n "$EDR_ONLY" ] && bench_edr $EDR_ONLY
# shellcheck disable=SC2086
[ -n "$SENSOR_ONLY" ] && bench_sensor $SENSOR_ONLY
# shellcheck disable=SC2086
[ -n "$UPLINK_ONLY" ] && bench_uplink $UPLINK_ONLY
exit 0
