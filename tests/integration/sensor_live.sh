#!/bin/sh
# ward-sensor capturing live (issue 4, section 5): on the server's end of
# a veth pair inside a namespace (tests/lib/sensor.sh), once with
# --backend pcap and once with --backend afpacket --workers 2 (a
# PACKET_FANOUT_HASH group). Real traffic from the client namespace:
# ab -n 100 -c 10 against nginx, curl of a 2 MiB file, dig over UDP, a
# refused connection and ping. ward-sensor runs as a daemon, drops root,
# and writes conn records to the spool lane conn-<interface>, read back
# with `wardctl spool cat`. Asserted, per backend:
#   - it captured every frame the interface carried while it ran (its
#     status against the interface's own counters) and no kernel drops;
#   - its records agree with tshark's conversations of a tcpdump capture
#     of the same interface taken at the same time (tests/tools/
#     conv_compare.py: flows, packets, bytes per direction, Community ID);
#   - exactly 100 HTTP flows that carried a request, all SF from the
#     client, and no flow twice (with fanout, both directions of a flow
#     must reach the same worker: a split flow shows as two records);
#   - the 2 MiB download: one SF flow with resp_bytes over 2 MiB;
#   - the DNS query (UDP, SF), the refused connection (REJ), the ping;
#   - SIGTERM: exit 0, every flow flushed to the lane, a sensor_stats
#     record in the P0 lane sensor-<interface>;
#   - afpacket: both workers got packets and flows (the status's
#     "per_worker": [{"packets": N, "flows": N, ...}, ...]).
# Needs root. Wall time about 40 s.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"
. "$WARD_ROOT/tests/lib/sensor.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces and capture"
for c in ip curl dig ab ping jq tshark; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
PY=/usr/bin/python3
SENSOR=$WARD_BUILD/ward-sensor
[ -x "$SENSOR" ] || fail "build $SENSOR first (make VARIANT=asan tests-build)"
[ -x "$WARDCTL" ] || fail "build $WARDCTL first (make VARIANT=asan tests-build)"

T=$WARD_TMP
SENSOR_PID=
cleanup() {
	[ -n "$SENSOR_PID" ] && kill -KILL "$SENSOR_PID" 2>/dev/null
	sensor_net_destroy
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

sensor_net_create
sensor_nginx_start "$T"
sensor_dnsmasq_start "$T"
closed=$(free_port)
IF=$SENSOR_SRV_IF S4=$SENSOR_V4_SRV

if_packets() { sensor_if_packets "$SENSOR_SRV" "$IF"; }
status() { cat "$RUN/status.json" 2>/dev/null; }
# jq -e succeeds on empty input; -n with `input` makes no status a failure.
status_ok() { status | jq -e -n "input | $1" >/dev/null 2>&1; }

# run_backend NAME ARGS...: one ward-sensor run with its own spool.
run_backend() {
	name=$1; shift
	RUN=$T/$name; mkdir -p "$RUN/spool" "$RUN/run"
	# ward-sensor writes its status file after it dropped root.
	chmod 1777 "$RUN/run"; RUN=$RUN/run
	note "$name: ward-sensor -i $IF $*"
	ip netns exec "$SENSOR_SRV" "$SENSOR" -i "$IF" "$@" --spool "$T/$name/spool" \
		--status-file "$RUN/status.json" >"$T/$name/sensor.log" 2>&1 &
	SENSOR_PID=$!
	wait_for 30 status_ok '.state == "capturing"' ||
		{ cat "$T/$name/sensor.log"; fail "$name: ward-sensor did not start capturing"; }
	before=$(if_packets)
	# The oracle: tcpdump on the same interface, read by tshark.
	sensor_tcpdump_start "$SENSOR_SRV" "$IF" "$T/$name/oracle.pcap"

	sensor_cli ab -q -n 100 -c 10 "http://$S4/small.txt" >"$T/$name/ab.out" 2>&1 ||
		{ cat "$T/$name/ab.out"; fail "$name: ab"; }
	grep -q '^Failed requests: *0' "$T/$name/ab.out" || { cat "$T/$name/ab.out"; fail "$name: ab failed requests"; }
	sensor_cli curl -sfo /dev/null "http://$S4/big.bin" || fail "$name: curl big"
	# HTTP Basic in the clear: a Cleartext_Credentials notice (P0).
	sensor_cli curl -sfo /dev/null -u "clinician:$SECRET" "http://$S4/small.txt?sso" ||
		fail "$name: curl with Basic auth"
	sensor_cli dig +time=2 +tries=1 @"$S4" www.ward.test A | grep -q NOERROR || fail "$name: dig"
	sensor_cli curl -s -o /dev/null "http://$S4:$closed/" && fail "$name: port $closed open"
	sensor_cli ping -n -c 3 -i 0.2 "$S4" >/dev/null || fail "$name: ping"

	sensor_tcpdump_stop
	# Every frame since `before` must be counted before the stop (the
	# status is written every 500 ms).
	want=$(( $(if_packets) - before ))
	wait_for 20 status_ok ".packets >= $want" ||
		{ status; fail "$name: status counts fewer than the $want frames the interface carried"; }
	status_ok '.kernel_drops == 0' || { status; fail "$name: kernel drops"; }
	cp "$RUN/status.json" "$T/$name/status.last.json"

	kill -TERM "$SENSOR_PID"
	rc=0; wait "$SENSOR_PID" || rc=$?
	SENSOR_PID=
	[ "$rc" -eq 0 ] || { cat "$T/$name/sensor.log"; fail "$name: ward-sensor exited with $rc after SIGTERM"; }
	grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/$name/sensor.log" &&
		{ cat "$T/$name/sensor.log"; fail "$name: sanitizer report"; }

	"$WARDCTL" spool cat --dir "$T/$name/spool" "conn-$IF" >"$T/$name/conn.ndjson" ||
		fail "$name: wardctl spool cat conn-$IF"
	"$WARDCTL" spool cat --dir "$T/$name/spool" "sensor-$IF" >"$T/$name/p0.ndjson" ||
		fail "$name: wardctl spool cat sensor-$IF"
	check_records "$name" "$T/$name/conn.ndjson"
	check_analyzers "$name" "$T/$name/conn.ndjson" "$T/$name/p0.ndjson"
	$PY "$WARD_ROOT/tests/tools/conv_compare.py" "$T/$name/oracle.pcap" "$T/$name/conn.ndjson" \
		2>"$T/$name/tshark.err" ||
		{ grep -v '^Running as user' "$T/$name/tshark.err"; fail "$name: ward-sensor disagrees with tshark on tcpdump's capture (above)"; }
	n=$(jq -c 'select(.type == "sensor_stats")' "$T/$name/p0.ndjson" | grep -c .)
	[ "$n" -ge 1 ] || fail "$name: no sensor_stats record in lane sensor-$IF"
}

check_records() {  # NAME FILE
	f=$2
	jq -e . "$f" >/dev/null || fail "$1: the lane's records are not JSON"
	c() { jq -c "select(.type == \"conn\" and ($1))" "$f" | grep -c .; }
	note "$1: $(c true) conn records"
	n=$(c '.proto == "tcp" and ."id.resp_p" == 80 and .orig_bytes > 0 and (.resp_bytes // 0) < 1000')
	[ "$n" -eq 101 ] || fail "$1: want 100 HTTP flows of ab and the Basic-auth one, got $n"
	n=$(c '.proto == "tcp" and ."id.resp_p" == 80 and (.conn_state != "SF" or ."id.orig_h" != "10.77.0.1")')
	[ "$n" -eq 0 ] || fail "$1: $n HTTP flows not SF from the client"
	d=$(jq -r 'select(.type == "conn" and .proto == "tcp") | "\(."id.orig_p")-\(."id.resp_p")"' "$f" | sort | uniq -d | head -3)
	[ -z "$d" ] || fail "$1: flows recorded twice (split across workers?): $d"
	n=$(c '.proto == "tcp" and ."id.resp_p" == 80 and .resp_bytes > 2097152 and .conn_state == "SF"')
	[ "$n" -eq 1 ] || fail "$1: want the 2 MiB download once, got $n"
	n=$(c '.proto == "udp" and ."id.resp_p" == 53 and .conn_state == "SF"')
	[ "$n" -eq 1 ] || fail "$1: want one DNS flow SF, got $n"
	n=$(c ".proto == \"tcp\" and .\"id.resp_p\" == $closed and .conn_state == \"REJ\"")
	[ "$n" -eq 1 ] || fail "$1: want the refused connection REJ, got $n"
	n=$(c '.proto == "icmp" and ."id.orig_p" == 8 and .orig_pkts == 3 and .resp_pkts == 3')
	[ "$n" -eq 1 ] || fail "$1: want one ICMP echo flow of 3 + 3 packets, got $n"
}

# The analyzers on the live path (issue 5): http and dns records in the
# conn lane with the flows' uids, the service in the conn records, and the
# Basic-auth login as a notice in the P0 lane, with the user masked and
# the password nowhere.
check_analyzers() {  # NAME CONN_LANE P0_LANE
	r() { jq -c "select($1)" "$2" | grep -c .; }
	n=$(r '.type == "http" and .method == "GET" and .status_code == 200' "$2")
	[ "$n" -eq 102 ] || fail "$1: want 102 http records (ab, the download, Basic auth), got $n"
	n=$(r '.type == "conn" and ."id.resp_p" == 80 and .service == "http"' "$2")
	[ "$n" -eq 102 ] || fail "$1: want 102 conn records with service http, got $n"
	jq -r 'select(.type == "conn") | .uid' "$2" | sort -u >"$T/$1.uids"
	jq -r 'select(.type == "http" or .type == "dns") | .uid' "$2" | sort -u | comm -23 - "$T/$1.uids" |
		grep -q . && fail "$1: http or dns records whose uid no conn record has"
	n=$(r '.type == "dns" and .query == "www.ward.test" and .rcode_name == "NOERROR"' "$2")
	[ "$n" -eq 1 ] || fail "$1: want one dns record for www.ward.test, got $n"
	n=$(r '.type == "notice" and .note == "Cleartext_Credentials" and .service == "http" and
		.mechanism == "basic" and .user == "c***n"' "$3")
	[ "$n" -eq 1 ] || { grep notice "$3"; fail "$1: want one Basic-auth notice in sensor-$IF, got $n"; }
	! grep -q -- "$SECRET" "$2" "$3" "$T/$1/sensor.log" || fail "$1: the password was written"
}
SECRET="Tr0ub4dor-$$"

run_backend pcap --backend pcap
run_backend afpacket --backend afpacket --workers 2

st=$T/afpacket/status.last.json
jq -e '.workers == 2' "$st" >/dev/null || { cat "$st"; fail "afpacket: status does not say 2 workers"; }
if jq -e 'has("per_worker")' "$st" >/dev/null; then
	jq -e '(.per_worker | length) == 2 and all(.per_worker[]; .flows > 0 and .packets > 0)' "$st" >/dev/null ||
		{ jq -c .per_worker "$st"; fail "afpacket: not every worker got flows"; }
	note "afpacket workers: $(jq -c .per_worker "$st")"
else
	fail "afpacket: the status has no per-worker counters (per_worker[]): cannot tell that both workers got flows"
fi
echo "PASS"
