#!/bin/sh
# ward-sensor -r FILE --json --stats on a capture of real traffic made
# here: curl against python3's http.server, a refused connection, ping,
# and a UDP datagram to a closed port, between two network namespaces
# joined by a veth pair (offloads off, so frames are MTU-sized as on a
# mirror port). Checks the conn records against docs/schema/conn.schema.json
# and the traffic, the --stats summary against tcpdump's own count, the
# local_nets options, and the errors on a bad file and a bad config.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"

SENSOR=$WARD_BUILD/ward-sensor
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
[ -x "$SENSOR" ] || skip "ward-sensor not built (CONFIG_SENSOR off)"
for t in tcpdump curl ethtool jq; do
	command -v $t >/dev/null || skip "$t not installed"
done
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"

CLI= SRV= HTTP_PID= DUMP_PID=
cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
	[ -n "$DUMP_PID" ] && kill "$DUMP_PID" 2>/dev/null
	wait 2>/dev/null
	netns_destroy
}
trap cleanup EXIT INT TERM

note "two namespaces and a veth pair"
netns_create scli ssrv
CLI=$(netns_name scli) SRV=$(netns_name ssrv)
IF_C=sc$$ IF_S=ss$$
ip -n "$CLI" link add "$IF_C" type veth peer name "$IF_S" || fail "veth pair"
ip -n "$CLI" link set "$IF_S" netns "$SRV" || fail "veth to $SRV"
ip -n "$CLI" addr add 10.78.0.1/24 dev "$IF_C"
ip -n "$SRV" addr add 10.78.0.2/24 dev "$IF_S"
ip -n "$CLI" link set "$IF_C" up
ip -n "$SRV" link set "$IF_S" up
for e in "$CLI $IF_C" "$SRV $IF_S"; do
	# shellcheck disable=SC2086
	set -- $e
	ip netns exec "$1" ethtool -K "$2" gro off gso off tso off >/dev/null 2>&1
done

note "traffic, captured by tcpdump"
PCAP=$WARD_TMP/traffic.pcap
ip netns exec "$CLI" tcpdump -i "$IF_C" -U -w "$PCAP" -s 0 >"$WARD_TMP/tcpdump.out" \
	2>"$WARD_TMP/tcpdump.err" &
DUMP_PID=$!
wait_for 10 grep -q "listening on" "$WARD_TMP/tcpdump.err" || fail "tcpdump did not start"
mkdir -p "$WARD_TMP/www"
head -c 200000 /dev/urandom >"$WARD_TMP/www/blob.bin"
echo hello >"$WARD_TMP/www/index.html"
(cd "$WARD_TMP/www" && exec ip netns exec "$SRV" python3 -m http.server 8080 \
	--bind 10.78.0.2) >"$WARD_TMP/http.log" 2>&1 &
HTTP_PID=$!
http_up() { ip netns exec "$SRV" ss -Hltn "sport = :8080" | grep -q LISTEN; }
wait_for 10 http_up || fail "http.server did not start"
for f in index.html blob.bin index.html; do
	ip netns exec "$CLI" curl -sf -o /dev/null "http://10.78.0.2:8080/$f" || fail "curl $f"
done
ip netns exec "$CLI" curl -s -o /dev/null --max-time 5 http://10.78.0.2:8081/ && fail "8081 open?"
ip netns exec "$CLI" ping -c 2 -i 0.2 10.78.0.2 >/dev/null || fail "ping"
ip netns exec "$CLI" python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"x" * 100, ("10.78.0.2", 9999))'
# The last packets must be in the file before tcpdump stops: poll its count.
count_pkts() { tcpdump -r "$PCAP" -n 2>/dev/null | wc -l; }
udp_seen() { tcpdump -r "$PCAP" -n udp 2>/dev/null | grep -q 9999; }
wait_for 10 udp_seen || fail "tcpdump did not see the UDP datagram"
kill -INT "$DUMP_PID"; wait "$DUMP_PID"; DUMP_PID=
NPKT=$(count_pkts)
[ "$NPKT" -gt 100 ] || fail "only $NPKT packets captured"

note "ward-sensor -r --json --stats"
OUT=$WARD_TMP/conn.ndjson STATS=$WARD_TMP/stats.json
"$SENSOR" -r "$PCAP" --json --stats >"$OUT" 2>"$STATS" || { cat "$STATS"; fail "exit $?"; }
cat "$STATS"
jq -e . "$STATS" >/dev/null || fail "stats is not one JSON object"
[ "$(jq -r .packets "$STATS")" -eq "$NPKT" ] || fail "packets $(jq .packets "$STATS") != tcpdump's $NPKT"
[ "$(jq -r .bytes "$STATS")" -gt 200000 ] || fail "bytes too few"
[ "$(jq -r .flows "$STATS")" -eq "$(jq -c 'select(.type == "conn")' "$OUT" | wc -l)" ] || fail "flows != conn records"
jq -e '.decode_errors | type == "object" and has("truncated_ip")' "$STATS" >/dev/null ||
	fail "decode_errors by reason"
for k in evicted fragments reassembled; do
	jq -e "has(\"$k\")" "$STATS" >/dev/null || fail "stats without $k"
done

note "records against their schemas"
python3 "$WARD_ROOT/tests/tools/schema_check.py" "$WARD_ROOT/docs/schema" "$OUT" || fail "schema validation"

note "the flows"
sel() { jq -c "select(.type == \"conn\" and ($1))" "$OUT"; }
http=$(sel '.proto == "tcp" and ."id.resp_p" == 8080 and ."id.resp_h" == "10.78.0.2"')
[ "$(echo "$http" | grep -c .)" -eq 3 ] || { echo "$http"; fail "want 3 HTTP flows"; }
echo "$http" | jq -c 'select(.conn_state != "SF")' | grep -q . && fail "an HTTP flow is not SF"
echo "$http" | jq -c 'select(.resp_bytes > 200000)' | grep -q . || fail "no flow carried the blob"
echo "$http" | jq -c 'select((.history | startswith("ShAD")) | not)' | grep -q . &&
	fail "history does not start with ShAD"
echo "$http" | jq -c 'select(.local_orig != true or .local_resp != true)' | grep -q . &&
	fail "10.78/16 is in the default local_nets"
sel '."id.resp_p" == 8081 and .conn_state == "REJ"' | grep -q . || fail "no REJ flow for 8081"
sel '.proto == "icmp" and ."id.orig_p" == 8 and .orig_pkts == 2 and .resp_pkts == 2' |
	grep -q . || fail "no ping flow"
sel '.proto == "udp" and ."id.resp_p" == 9999 and .orig_bytes == 100' | grep -q . ||
	fail "no UDP flow"
sel '.vlan' | grep -q . && fail "vlan on untagged traffic"
# Packets of the records add up to the capture's IP packets.
ip_pkts=$(tcpdump -r "$PCAP" -n ip 2>/dev/null | wc -l)
rec_pkts=$(jq -s 'map(select(.type == "conn") | .orig_pkts + .resp_pkts) | add' "$OUT")
[ "$rec_pkts" -eq "$ip_pkts" ] || fail "records count $rec_pkts packets, tcpdump $ip_pkts IP packets"

note "--local-nets"
"$SENSOR" -r "$PCAP" --json --local-nets 192.0.2.0/24,2001:db8::/32 >"$WARD_TMP/c2" ||
	fail "--local-nets"
jq -c 'select(.type == "conn" and (.local_orig or .local_resp))' "$WARD_TMP/c2" | grep -q . && fail "local with other nets"
"$SENSOR" -r "$PCAP" --json --local-nets 10.78.0.1 >"$WARD_TMP/c3" || fail "--local-nets host"
jq -c 'select(.type == "conn" and ."id.orig_h" == "10.78.0.1" and (.local_orig | not))' "$WARD_TMP/c3" | grep -q . &&
	fail "a host prefix"
"$SENSOR" -r "$PCAP" --local-nets 10.0.0.0/99 >/dev/null 2>"$WARD_TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "10.0.0.0/99" "$WARD_TMP/err" || fail "bad --local-nets: rc $rc"

note "bad files: exit 2, 'ward-sensor: FILE: reason'"
echo "not a capture" >"$WARD_TMP/bad.pcap"
for f in "$WARD_TMP/bad.pcap" "$WARD_TMP/missing.pcap"; do
	"$SENSOR" -r "$f" --json --stats >"$WARD_TMP/o" 2>"$WARD_TMP/err"; rc=$?
	cat "$WARD_TMP/err"
	[ $rc -eq 2 ] || fail "$f: exit $rc, want 2"
	grep -q "^ward-sensor: $f: ." "$WARD_TMP/err" || fail "$f: message"
	[ "$(grep -c . "$WARD_TMP/err")" -eq 1 ] || fail "$f: one line of error"
	[ -s "$WARD_TMP/o" ] && fail "$f: records on stdout"
done

note "config: -c with a sensor section, and a bad one"
printf 'sensor:\n  local_nets: [192.0.2.0/24]\n' >"$WARD_TMP/ok.yaml"
"$SENSOR" -r "$PCAP" -c "$WARD_TMP/ok.yaml" >"$WARD_TMP/c4" || fail "-c"
jq -c 'select(.local_orig)' "$WARD_TMP/c4" | grep -q . && fail "-c local_nets not applied"
printf 'sensor:\n  workers: 0\n' >"$WARD_TMP/bad.yaml"
"$SENSOR" -r "$PCAP" -c "$WARD_TMP/bad.yaml" >/dev/null 2>"$WARD_TMP/err"; rc=$?
[ $rc -eq 2 ] && grep -q "bad.yaml:2:12: sensor.workers" "$WARD_TMP/err" ||
	{ cat "$WARD_TMP/err"; fail "bad config: rc $rc"; }
"$SENSOR" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no arguments: want exit 2"
echo "PASS"
