#!/bin/sh
# ward-sensor on a capture of real traffic (issue 4, section 5): a client
# and a server namespace joined by a veth pair with its offloads off
# (tests/lib/sensor.sh), nginx and dnsmasq in the server namespace, and
# from the client:
#   curl HTTP (one connection each, and several requests over one
#   keep-alive connection, one of them a 2 MiB file), curl HTTPS (the
#   same), dig over UDP and over TCP (A, AAAA, MX, TXT), ab -n 200 -c 10
#   (many short flows), curl to a closed port (refused), ping -c 3 and
#   ping -6 -c 3, curl -6 (IPv6 TCP) and dig over IPv6.
# tcpdump records it all on the server's veth end. The oracle is tshark's
# conversation statistics (-z conv,tcp and conv,udp, compared by
# tests/tools/conv_compare.py): the same TCP and UDP flows, and per
# direction the same packets, and bytes with
#   tshark frame bytes = ward ip_bytes + 14 * packets
# exactly (untagged Ethernet on a veth capture: no FCS, and frames under
# 60 bytes are not padded), IP bytes, payload bytes (TCP: sequence span)
# and tshark's Community ID. Also asserted: conn_state and history of
# known flows (the refused one REJ "Sr", complete HTTP flows SF), the
# ICMP echo flows (Zeek's ports: orig_p = type 8 or 128, resp_p = the
# counterpart type 0 or 129), and the --stats summary against the
# capture. The same traffic captured with tcpdump -i any (Linux cooked
# capture v2, 20-byte header) and the capture converted to pcapng must
# give the same. Needs root. Wall time about 45 s.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"
. "$WARD_ROOT/tests/lib/sensor.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
for c in ip curl dig ab ping tshark jq; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
PY=/usr/bin/python3
SENSOR=$WARD_BUILD/ward-sensor

T=$WARD_TMP
ANY_PID=
cleanup() {
	[ -n "$ANY_PID" ] && kill -KILL "$ANY_PID" 2>/dev/null
	sensor_net_destroy
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

sensor_net_create
sensor_nginx_start "$T"
sensor_dnsmasq_start "$T"
closed=$(free_port)   # nothing listens on it in the server namespace

PCAP=$T/traffic.pcap
# The same traffic in Linux cooked capture v2 (tcpdump -i any): started
# first and stopped last, so it holds every frame of the Ethernet one.
# On "any", libpcap sizes ring frames for the largest MTU (lo's 64 KiB):
# a snap length of 2048 (frames here are at most 1514 + 20 bytes) and a
# 32 MiB buffer keep it from dropping.
ANY=$T/traffic-any.pcap
ip netns exec "$SENSOR_SRV" tcpdump -i any -n -s 2048 -B 32768 -U --immediate-mode -Z root -w "$ANY" \
	2>"$ANY.err" &
ANY_PID=$!
wait_for 20 grep -q 'listening on' "$ANY.err" || { cat "$ANY.err"; fail "tcpdump -i any did not start"; }
grep -q 'LINUX_SLL2' "$ANY.err" || note "tcpdump -i any: $(cat "$ANY.err")"
sensor_tcpdump_start "$SENSOR_SRV" "$SENSOR_SRV_IF" "$PCAP"

S4=$SENSOR_V4_SRV S6=$SENSOR_V6_SRV
CA=$T/pki/ca.pem
RES=www.ward.test:443:$S4
note "traffic"
# One connection per curl (each ends with FIN both ways: SF).
sensor_cli curl -sfo /dev/null "http://$S4/" || fail "curl http"
sensor_cli curl -sfo /dev/null "http://$S4/small.txt" || fail "curl http small"
sensor_cli curl -sfo /dev/null --cacert "$CA" --resolve "$RES" "https://www.ward.test/" || fail "curl https"
# Keep-alive: three requests on one connection, one of them the big file.
sensor_cli curl -sf --cacert "$CA" --resolve "$RES" -o /dev/null -o /dev/null -o /dev/null \
	"https://www.ward.test/" "https://www.ward.test/big.bin" "https://www.ward.test/small.txt" ||
	fail "curl https keep-alive"
sensor_cli curl -sf -o /dev/null -o /dev/null -o /dev/null \
	"http://$S4/big.bin" "http://$S4/" "http://$S4/small.txt" || fail "curl http keep-alive"
# IPv6 TCP.
sensor_cli curl -sfo /dev/null -6 "http://[$S6]/" || fail "curl -6"
sensor_cli curl -sfo /dev/null -6 "http://[$S6]/big.bin" || fail "curl -6 big"
# DNS over UDP and TCP, IPv4 and IPv6.
for q in "www.ward.test A" "www.ward.test AAAA" "ward.test MX" "ward.test TXT"; do
	# shellcheck disable=SC2086
	sensor_cli dig +time=2 +tries=1 @"$S4" $q | grep -q 'status: NOERROR' || fail "dig $q"
	# shellcheck disable=SC2086
	sensor_cli dig +time=2 +tries=1 +tcp @"$S4" $q | grep -q 'status: NOERROR' || fail "dig +tcp $q"
done
sensor_cli dig +time=2 +tries=1 @"$S6" www.ward.test AAAA | grep -q 'status: NOERROR' || fail "dig -6"
sensor_cli dig +time=2 +tries=1 +tcp @"$S4" big.ward.test TXT | grep -q 'status: NOERROR' ||
	fail "dig +tcp big TXT"
# Many short flows.
sensor_cli ab -q -n 200 -c 10 "http://$S4/small.txt" >"$T/ab.out" 2>&1 || { cat "$T/ab.out"; fail "ab"; }
grep -q '^Failed requests: *0' "$T/ab.out" || { cat "$T/ab.out"; fail "ab had failed requests"; }
# Refused: the server answers the SYN with RST.
sensor_cli curl -s -o /dev/null "http://$S4:$closed/" && fail "curl to closed port $closed succeeded"
# ICMP echo, IPv4 and IPv6.
sensor_cli ping -n -c 3 -i 0.2 "$S4" >/dev/null || fail "ping"
sensor_cli ping -6 -n -c 3 -i 0.2 "$S6" >/dev/null || fail "ping -6"

sensor_tcpdump_stop
note "capture: $(du -k "$PCAP" | cut -f1) KiB"
any_complete() { [ "$(sensor_pcap_count "$ANY")" -ge "$(sensor_pcap_count "$PCAP")" ]; }
wait_for 20 any_complete || fail "tcpdump -i any has fewer frames than the Ethernet capture"
kill -INT "$ANY_PID"; wait "$ANY_PID"; ANY_PID=
grep -q '^0 packets dropped by kernel' "$ANY.err" || { cat "$ANY.err"; fail "tcpdump -i any: kernel drops"; }

[ -x "$SENSOR" ] || fail "build $SENSOR first (make VARIANT=asan tests-build)"
rc=0; "$SENSOR" -r "$PCAP" --json --stats >"$T/conn.ndjson" 2>"$T/stats.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/stats.err"; fail "ward-sensor -r exited with $rc"; }
grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/stats.err" &&
	{ cat "$T/stats.err"; fail "sanitizer report from ward-sensor"; }
jq -e . "$T/conn.ndjson" >/dev/null || fail "ward-sensor output is not NDJSON"
note "ward-sensor: $(wc -l <"$T/conn.ndjson") records"

note "tshark conversations against ward conn records"
$PY "$WARD_ROOT/tests/tools/conv_compare.py" "$PCAP" "$T/conn.ndjson" 2>"$T/tshark.err" ||
	{ grep -v '^Running as user' "$T/tshark.err"; fail "ward-sensor disagrees with tshark (above)"; }

# The same capture as pcapng (editcap), and in Linux cooked capture v2
# (20-byte header instead of Ethernet's 14): the same flows and numbers.
if command -v editcap >/dev/null; then
	editcap -F pcapng "$PCAP" "$T/traffic.pcapng" || fail "editcap -F pcapng"
	rc=0; "$SENSOR" -r "$T/traffic.pcapng" --json >"$T/conn-ng.ndjson" 2>"$T/ng.err" || rc=$?
	[ "$rc" -eq 0 ] || { cat "$T/ng.err"; fail "ward-sensor -r on pcapng exited with $rc"; }
	strip='del(.uid, .fuid, .fuids, .orig_fuids, .resp_fuids) | tostring'
	[ "$(jq -c "$strip" "$T/conn.ndjson" | sort | md5sum)" = "$(jq -c "$strip" "$T/conn-ng.ndjson" | sort | md5sum)" ] ||
		fail "pcapng: records differ from the pcap's (uid aside)"
	note "pcapng: the same $(wc -l <"$T/conn-ng.ndjson") records"
fi
rc=0; "$SENSOR" -r "$ANY" --json >"$T/conn-any.ndjson" 2>"$T/any.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/any.err"; fail "ward-sensor -r on the SLL2 capture exited with $rc"; }
lt=$(capinfos -E "$ANY" 2>/dev/null | sed -n "s/^File encapsulation: *//p")
note "tcpdump -i any ($lt) against tshark"
$PY "$WARD_ROOT/tests/tools/conv_compare.py" --ether-overhead 20 "$ANY" "$T/conn-any.ndjson" 2>"$T/tshark.err" ||
	{ grep -v '^Running as user' "$T/tshark.err"; fail "ward-sensor disagrees with tshark on the SLL2 capture (above)"; }

# ---- the flows whose outcome is known
# The analyzers' records (dns, http, files, ssl ...) share the output;
# tests/integration/sensor_analyzers.sh checks them.
jq -c 'select(.type == "conn")' "$T/conn.ndjson" >"$T/conn-only.ndjson"
conn() { jq -c "select($1)" "$T/conn-only.ndjson"; }
count() { conn "$1" | grep -c . ; }

n=$(jq -c 'select(.type | IN("conn", "dns", "http", "files", "ssl", "x509", "notice") | not)' \
	"$T/conn.ndjson" | grep -c .)
[ "$n" -eq 0 ] || fail "$n records of an unexpected type"
n=$(count '(.community_id // "") | test("^1:[A-Za-z0-9+/]{27}=$") | not')
[ "$n" -eq 0 ] || { conn '(.community_id // "") | test("^1:[A-Za-z0-9+/]{27}=$") | not' | head -3; fail "$n records without a community_id"; }
n=$(count '(.uid // "") == ""'); [ "$n" -eq 0 ] || fail "$n records without a uid"
dups=$(jq -r .uid "$T/conn-only.ndjson" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "uids used twice: $dups"

# Refused: SYN, then RST+ACK from the server: REJ, history "Sr".
r=$(conn ".proto == \"tcp\" and .\"id.resp_p\" == $closed")
[ "$(echo "$r" | grep -c .)" -eq 1 ] || fail "refused flow to port $closed: want 1 record, got: $r"
echo "$r" | jq -e '.conn_state == "REJ" and .history == "Sr" and ."id.orig_h" == "10.77.0.1"
	and .orig_pkts == 1 and .resp_pkts == 1 and .orig_bytes == 0 and .resp_bytes == 0' >/dev/null ||
	fail "refused flow: want REJ, history Sr, 1 packet each way: $r"

# Every HTTP/HTTPS connection (curl, ab) is complete: SF, from the
# client; those that carried a request have history ShAD... (ab also opens
# a few connections it closes unused when its 200 requests are done).
for p in 80 443; do
	n=$(count ".proto == \"tcp\" and .\"id.resp_p\" == $p")
	bad=$(conn ".proto == \"tcp\" and .\"id.resp_p\" == $p and (.conn_state != \"SF\"
		or (.\"id.orig_h\" | test(\"^(10.77.0.1|fd77::1)$\") | not)
		or (.orig_bytes > 0 and (.history | startswith(\"ShAD\") | not))
		or (.orig_bytes == 0 and (.history | startswith(\"ShA\") | not)))")
	[ -z "$bad" ] || fail "port $p flows not SF from the client with history ShA(D)...: $(echo "$bad" | head -3)"
	note "port $p: $n flows, all SF"
done
n=$(count '.proto == "tcp" and ."id.resp_p" == 80 and ."id.resp_h" == "10.77.0.2" and .orig_bytes > 0')
# 2 single curls + 1 keep-alive + 200 ab.
[ "$n" -eq 203 ] || fail "IPv4 HTTP flows with a request: want 203 (2 curl, 1 keep-alive, 200 ab), got $n"
n=$(count '.proto == "tcp" and ."id.resp_p" == 443')
[ "$n" -eq 2 ] || fail "HTTPS flows: want 2, got $n"
n=$(count '.proto == "tcp" and ."id.resp_p" == 80 and ."id.resp_h" == "fd77::2"')
[ "$n" -eq 2 ] || fail "IPv6 HTTP flows: want 2, got $n"
# The keep-alive HTTPS connection carried the 2 MiB file: resp_bytes from
# sequence numbers, at least the file.
n=$(count '.proto == "tcp" and ."id.resp_p" == 443 and .resp_bytes > 2097152')
[ "$n" -eq 1 ] || fail "no HTTPS flow with resp_bytes over 2 MiB"
# No packet was lost on the veth: nothing missed.
n=$(count '(.missed_bytes // 0) != 0'); [ "$n" -eq 0 ] || fail "$n flows with missed_bytes"

# DNS: 5 TCP connections to 53, all SF, and 5 UDP flows of one query and
# one answer (dig takes a fresh source port for each query).
n=$(count '.proto == "tcp" and ."id.resp_p" == 53 and .conn_state == "SF"')
[ "$n" -eq 5 ] || fail "DNS over TCP: want 5 SF flows, got $n"
n=$(count '.proto == "udp" and ."id.resp_p" == 53 and .orig_pkts == 1 and .resp_pkts == 1')
[ "$n" -eq 5 ] || fail "DNS over UDP: want 5 flows of one query and one answer, got $n"

# ICMP: one flow per ping run (Zeek keys ICMP by addresses and types,
# not by the echo identifier or sequence); Zeek's ports: orig_p = the
# type, resp_p = its counterpart type (echo reply), which for IPv4 echo
# (8 -> 0) equals the code 0 its docs name, and for ICMPv6 echo is 129;
# 3 requests and 3 replies.
r=$(conn '.proto == "icmp" and ."id.orig_h" == "10.77.0.1"')
echo "$r" | jq -se 'length == 1 and .[0]."id.resp_h" == "10.77.0.2" and .[0]."id.orig_p" == 8
	and .[0]."id.resp_p" == 0 and .[0].orig_pkts == 3 and .[0].resp_pkts == 3
	and .[0].orig_ip_bytes == 3 * 84 and .[0].resp_ip_bytes == 3 * 84' >/dev/null ||
	fail "ICMP echo flow: want one, 10.77.0.1 -> 10.77.0.2 8/0, 3+3 packets of 84 bytes: $r"
r=$(conn '.proto == "icmp" and ."id.orig_h" == "fd77::1" and ."id.orig_p" == 128')
echo "$r" | jq -se 'length == 1 and .[0]."id.resp_h" == "fd77::2" and .[0]."id.resp_p" == 129
	and .[0].orig_pkts == 3 and .[0].resp_pkts == 3
	and .[0].orig_ip_bytes == 3 * 104 and .[0].resp_ip_bytes == 3 * 104' >/dev/null ||
	fail "ICMPv6 echo flow: want one, fd77::1 -> fd77::2 128/129, 3+3 packets of 104 bytes: $r"

# ---- --stats against the capture
stats=$(grep '^{' "$T/stats.err" | tail -n 1)
[ -n "$stats" ] || { cat "$T/stats.err"; fail "no --stats summary on stderr"; }
tshark -r "$PCAP" -T fields -e frame.len -e arp.opcode 2>/dev/null >"$T/frames.txt"
frames=$(wc -l <"$T/frames.txt")
fbytes=$(awk '{s += $1} END {print s}' "$T/frames.txt")
arp=$(awk 'NF > 1' "$T/frames.txt" | wc -l)
recs=$(wc -l <"$T/conn-only.ndjson")
# The only frames that are not IP are ARP's (unsupported_ethertype).
echo "$stats" | jq -e --argjson n "$frames" --argjson b "$fbytes" --argjson f "$recs" --argjson arp "$arp" \
	'.packets == $n and .bytes == $b and .flows == $f and .evicted == 0
	 and (.decode_errors.unsupported_ethertype // 0) == $arp
	 and ([.decode_errors[]?] | add // 0) == $arp' >/dev/null ||
	fail "--stats: want packets $frames, bytes $fbytes, flows $recs, decode errors only $arp ARP frames (unsupported_ethertype): $stats"
note "stats: $stats"
echo "PASS"
