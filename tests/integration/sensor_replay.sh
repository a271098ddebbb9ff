#!/bin/sh
# make run's replay: ward-pcapgen writes a capture of hospital sessions
# and ward-sensor -r --spool appends its conn records to a spool lane.
# Checks: the generator's output is the same for the same options and
# tshark reads it with no malformed packet and no bad checksum, with as
# many TCP conversations as ward-sensor has TCP flows; ward-sensor's
# records are the sessions' (SF for HTTP, MLLP, DICOM, TLS, IPv6; REJ;
# S0; ICMP; DNS and NTP; the VLAN tag; the VXLAN session's inner
# five-tuple) and match docs/schema/conn.schema.json; with --spool DIR
# the same records are in the lane (wardctl spool cat), its segment
# closed, the seqs going on across replays; the usage errors; and end to
# end, the records of a replay into a running agent's spool reach
# ward-soc in the new lane.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

GEN=$WARD_BUILD/ward-pcapgen
SENSOR=$WARD_BUILD/ward-sensor
SOC=$WARD_BUILD/ward-soc
[ -x "$SENSOR" ] || skip "ward-sensor not built (CONFIG_SENSOR off)"
for b in "$GEN" "$SOC" "$WARDCTL"; do
	[ -x "$b" ] || fail "build $b first (make VARIANT=asan tests-build)"
done
for t in tshark jq openssl curl; do
	command -v $t >/dev/null || skip "$t not installed"
done

SOC_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	cleanup_agent
}
trap cleanup EXIT INT TERM

D=$WARD_TMP/replay
mkdir -p "$D"
chmod 755 "$D"
START=1767225600000000   # 2026-01-01T00:00:00Z

# sane FILE: no sanitizer report in FILE.
sane() {
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$1"; then
		cat "$1"; fail "sanitizer report in $1"
	fi
}

note "ward-pcapgen: the same options write the same bytes"
"$GEN" -o "$D/a.pcap" --seed 7 --start-us $START 2>"$D/gen.err" || { cat "$D/gen.err"; fail "ward-pcapgen"; }
"$GEN" -o "$D/b.pcap" --seed 7 --start-us $START || fail "ward-pcapgen again"
cmp -s "$D/a.pcap" "$D/b.pcap" || fail "two runs with one seed differ"
"$GEN" -o "$D/c.pcap" --seed 8 --start-us $START || fail "ward-pcapgen --seed 8"
cmp -s "$D/a.pcap" "$D/c.pcap" && fail "another seed wrote the same bytes"
sane "$D/gen.err"
[ ! -e "$D/a.pcap.tmp" ] || fail "a temporary file was left"
PCAP=$D/a.pcap

note "tshark: no malformed packet, no bad checksum"
TS="tshark -n -r $PCAP -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE"
NPKT=$($TS 2>/dev/null | wc -l)
[ "$NPKT" -gt 80 ] || fail "tshark reads only $NPKT packets"
# Errors only: the refused connection's RST is a warning.
$TS -Y '_ws.malformed || _ws.expert.severity >= 0x00800000 || ip.checksum.status == 0 ||
	tcp.checksum.status == 0 || udp.checksum.status == 0 || icmp.checksum.status == 0' \
	>"$D/bad.txt" 2>/dev/null || fail "tshark filter"
[ ! -s "$D/bad.txt" ] || { cat "$D/bad.txt"; fail "malformed or bad checksums (above)"; }
# The protocols tshark recognises, one per session kind.
$TS -T fields -e frame.protocols 2>/dev/null | tr ':' '\n' | sort -u >"$D/protos"
for p in http hl7 dicom tls dns ntp icmp ipv6 vlan vxlan pop; do
	grep -qx "$p" "$D/protos" || fail "tshark sees no $p"
done
# The only TCP analysis finding: the unanswered SYN's retransmission.
$TS -Y 'tcp.analysis.flags && !(tcp.flags.syn == 1 && tcp.analysis.retransmission)' \
	2>/dev/null | grep -q . &&
	{ $TS -Y tcp.analysis.flags 2>/dev/null; fail "tshark finds TCP sequence problems (above)"; }

note "ward-sensor -r --json --stats"
OUT=$D/conn.ndjson STATS=$D/stats.json
rc=0; "$SENSOR" -r "$PCAP" --json --stats >"$OUT" 2>"$STATS" || rc=$?
sane "$STATS"
[ "$rc" -eq 0 ] || { cat "$STATS"; fail "ward-sensor exited with $rc"; }
jq -e . "$STATS" >/dev/null || fail "stats is not one JSON object: $(cat "$STATS")"
[ "$(jq -r .packets "$STATS")" -eq "$NPKT" ] || fail "packets $(jq .packets "$STATS") != tshark's $NPKT"
jq -e '[.decode_errors[]] | add == 0' "$STATS" >/dev/null || fail "decode errors: $(cat "$STATS")"
CONN=$D/conn-only.ndjson
jq -c 'select(.type == "conn")' "$OUT" >"$CONN"
[ "$(wc -l <"$CONN")" -eq 13 ] || { cat "$OUT"; fail "want 13 conn records, one per session"; }
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 "$WARD_ROOT/tests/tools/schema_check.py" "$WARD_ROOT/docs/schema" "$OUT" ||
		fail "schema validation"
fi

# one FILTER WHAT: exactly one record matches FILTER.
one() {
	_n=$(jq -c "select($1)" "$CONN" | grep -c .)
	[ "$_n" -eq 1 ] || { cat "$OUT"; fail "$2: $_n records match $1"; }
}
tcp() { echo ".proto == \"tcp\" and .\"id.orig_h\" == \"$1\" and .\"id.resp_h\" == \"$2\" and .\"id.resp_p\" == $3"; }
sf='.conn_state == "SF" and (.history | startswith("ShAD")) and .orig_bytes > 0 and .resp_bytes > 0'
one "$(tcp 10.20.1.15 10.30.1.30 80) and $sf and .resp_bytes > 2000" "HTTP GET/200"
one "$(tcp 10.30.2.20 10.30.2.40 2575) and $sf" "HL7 over MLLP"
one "$(tcp 10.50.3.21 10.30.3.10 104) and $sf" "DICOM association"
one "$(tcp 10.20.1.16 198.51.100.25 443) and $sf and .local_resp == false" "TLS"
one "$(tcp fd00:20:1::10f fd00:30:1::30 80) and $sf" "HTTP over IPv6"
one "$(tcp 10.60.120.5 10.30.2.20 2575) and $sf and .vlan == 120" "HL7 on VLAN 120"
one "$(tcp 172.16.10.5 172.16.10.9 80) and $sf" "HTTP inside VXLAN (the inner five-tuple)"
one "$(tcp 10.20.1.17 10.30.1.30 3389) and .conn_state == \"REJ\" and .history == \"Sr\"" "refused"
one "$(tcp 10.20.1.18 10.30.9.99 445) and .conn_state == \"S0\" and .orig_pkts == 2 and .resp_pkts == 0" \
	"unanswered SYN"
one '.proto == "icmp" and ."id.orig_p" == 8 and ."id.resp_p" == 0 and .orig_pkts == 2 and .resp_pkts == 2' \
	"ping"
one '.proto == "udp" and ."id.resp_p" == 53 and .conn_state == "SF" and .orig_pkts == 1 and .resp_pkts == 1' \
	"DNS"
one '.proto == "udp" and ."id.orig_p" == 123 and ."id.resp_p" == 123 and .conn_state == "SF"' "NTP"
# The server speaks first: "ShAdD...".
one "$(tcp 10.30.4.50 10.30.1.25 110) and .conn_state == \"SF\" and (.history | startswith(\"ShAdD\"))" \
	"POP3"
one '.vlan' "records with a VLAN"
jq -c 'select(."id.resp_p" == 4789 or (."id.orig_h" | startswith("10.40.")))' "$CONN" | grep -q . &&
	fail "a record of the VXLAN underlay"

note "the analyzers: records linked to their flows, services, the cleartext POP3 login"
an() { jq -c "select($1)" "$OUT" | grep -c .; }
[ "$(an '.type == "http" and .status_code == 200 and .method == "GET"')" -eq 3 ] ||
	fail "want 3 http records (HTTP, over IPv6, inside VXLAN)"
[ "$(an '.type == "ssl" and .version == "TLSv13" and .server_name == "portal.imaging-cloud.example" and
	(.ja4 | startswith("t13d"))')" -eq 1 ] || fail "want the TLS 1.3 ssl record with its SNI and JA4"
[ "$(an '.type == "dns" and .query == "ehr.wardhosp.example" and .rcode_name == "NOERROR"')" -eq 1 ] ||
	fail "want the dns record"
[ "$(an '.type == "pop3" and .command == "RETR" and (.fuids | length) >= 1')" -eq 1 ] ||
	fail "want the POP3 RETR with its message as a file"
[ "$(an '.type == "notice" and .note == "Cleartext_Credentials" and .service == "pop3" and
	.user == "l***r"')" -eq 1 ] || fail "want one Cleartext_Credentials notice, user masked"
! grep -q 'Winter2026!' "$OUT" || fail "the POP3 password was written"
jq -r 'select(.type == "conn") | .uid' "$OUT" | sort >"$D/conn.uids"
jq -r 'select(.type != "conn") | .uid' "$OUT" | sort -u | comm -23 - "$D/conn.uids" | grep -q . &&
	fail "analyzer records whose uid no conn record has"
[ "$(jq -r 'select(.type == "conn") | .service // empty' "$CONN" | sort | tr '\n' ' ')" = \
  "dns http http http pop3 ssl " ] || fail "conn services: $(jq -r '.service // empty' "$CONN" | tr '\n' ' ')"

note "tshark's TCP conversations: as many as ward-sensor's TCP flows"
CONV=$(tshark -n -r "$PCAP" -q -z conv,tcp 2>/dev/null | grep -c '<->')
TCPF=$(jq -c 'select(.proto == "tcp")' "$CONN" | grep -c .)
[ "$CONV" -eq "$TCPF" ] && [ "$TCPF" -eq 10 ] || fail "tshark $CONV TCP conversations, ward-sensor $TCPF"

note "--sessions: the kinds again, other clients"
"$GEN" -o "$D/many.pcap" --sessions 30 --start-us $START || fail "--sessions 30"
"$SENSOR" -r "$D/many.pcap" --json >"$D/many.ndjson" 2>"$D/many.err" || { cat "$D/many.err"; fail "ward-sensor on 30"; }
sane "$D/many.err"
[ "$(jq -r 'select(.type == "conn") | .community_id' "$D/many.ndjson" | sort -u | wc -l)" -eq 30 ] ||
	fail "want 30 distinct flows"
for bad in "--sessions 0" "--seed x" "--start-us -1" ""; do
	# shellcheck disable=SC2086
	rc=0; "$GEN" $bad >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "ward-pcapgen $bad: exit $rc, want 2"
done

note "-r --spool: the records into the lane conn-replay"
SP=$D/spool
rc=0; "$SENSOR" -r "$PCAP" --spool "$SP" --stats >"$D/r1.out" 2>"$D/r1.err" || rc=$?
sane "$D/r1.err"
[ "$rc" -eq 0 ] || { cat "$D/r1.err"; fail "replay exited with $rc"; }
NREC=$(wc -l <"$OUT")
grep -qx "$NREC records to spool lane conn-replay in $SP (seq 1 to $NREC)" "$D/r1.out" ||
	fail "replay's line: $(cat "$D/r1.out")"
jq -e '.packets > 0' "$D/r1.err" >/dev/null || fail "--stats with --spool: $(cat "$D/r1.err")"
grep -qx "class=P2" "$SP/conn-replay/LANE" || fail "the lane is not P2"
ls "$SP/conn-replay/"*.seg >/dev/null 2>&1 || fail "no closed segment: the sealer would wait"
for f in "$SP/conn-replay/"*.open; do
	[ -e "$f" ] || continue
	[ "$(wc -c <"$f")" -eq 32 ] || fail "records left in the open segment $f"
done
norm() { jq -c 'del(.uid, .fuid, .fuids, .orig_fuids, .resp_fuids)' | sort; }
"$WARDCTL" spool cat --dir "$SP" conn-replay 2>/dev/null | norm >"$D/lane.txt"
norm <"$OUT" >"$D/stdout.txt"
cmp -s "$D/lane.txt" "$D/stdout.txt" || { diff "$D/stdout.txt" "$D/lane.txt"; fail "lane != stdout records"; }
"$SENSOR" -r "$PCAP" --spool "$SP" >"$D/r2.out" 2>"$D/r2.err" || { cat "$D/r2.err"; fail "second replay"; }
sane "$D/r2.err"
grep -q "(seq $((NREC + 1)) to $((2 * NREC)))" "$D/r2.out" || fail "second replay: $(cat "$D/r2.out")"
[ "$("$WARDCTL" spool cat --seq --dir "$SP" conn-replay 2>/dev/null | cut -f1 | tr '\n' ' ')" = \
  "$(seq 1 $((2 * NREC)) | tr '\n' ' ')" ] || fail "seqs across replays"
"$SENSOR" -r "$PCAP" --spool "$SP" --lane conn-lab_2 >/dev/null 2>"$D/r3.err" || fail "--lane"
[ -f "$SP/conn-lab_2/LANE" ] || fail "--lane conn-lab_2: no such lane"

note "usage errors: exit 2, nothing created"
err2() {  # WHAT MESSAGE ARGS...
	_what=$1 _msg=$2; shift 2
	rc=0; "$SENSOR" "$@" >"$D/e.out" 2>"$D/e.err" || rc=$?
	sane "$D/e.err"
	[ "$rc" -eq 2 ] || { cat "$D/e.err"; fail "$_what: exit $rc, want 2"; }
	grep -q -- "$_msg" "$D/e.err" || { cat "$D/e.err"; fail "$_what: no '$_msg'"; }
}
err2 "--lane without --spool" "goes with -r FILE --spool DIR" -r "$PCAP" --lane x
err2 "a bad lane name" "not a lane name" -r "$PCAP" --spool "$D/sp2" --lane Bad/Name
err2 "a missing file" "missing.pcap: No such file" -r "$D/missing.pcap" --spool "$D/sp2"
[ ! -e "$D/sp2" ] || fail "a spool was made for nothing"
printf 'not a capture\n' >"$D/bad.pcap"
err2 "not a capture" "bad.pcap: " -r "$D/bad.pcap" --spool "$D/sp3"

note "end to end: a replay into a running agent's spool reaches ward-soc"
soc_env
soc_start
SPORT=$(free_port)
mkdir -p "$T/agent"
uplink_yaml "$T/agent/ward.yaml"
agent_start "$T/agent" "$T/agent/ward.yaml"
# As root the agent hands its state directory to nobody; the replay then
# writes as nobody too, or the sealer could not delete its segments.
"$SENSOR" -r "$PCAP" --spool "$T/agent/spool" >"$D/e2e.out" 2>"$D/e2e.err" ||
	{ cat "$D/e2e.err"; fail "replay into the agent's spool"; }
sane "$D/e2e.err"
at_soc() { [ "$(cat "$(soc_lane fw01 conn-replay)" 2>/dev/null | wc -l)" -ge "$NREC" ]; }
wait_for 30 at_soc || { cat "$T/agent/agent.log"; fail "the lane conn-replay did not reach ward-soc"; }
grep -q "new spool lane" "$T/agent/agent.log" || fail "the uplink did not add the lane"
jq -c 'del(.seq)' "$(soc_lane fw01 conn-replay)" | norm >"$D/soc.txt"
cmp -s "$D/soc.txt" "$D/stdout.txt" || { diff "$D/stdout.txt" "$D/soc.txt"; fail "SOC records differ"; }
jq -r .seq "$(soc_lane fw01 conn-replay)" | tr '\n' ' ' | grep -qx "$(seq 1 "$NREC" | tr '\n' ' ')" ||
	fail "SOC seqs: $(jq -r .seq "$(soc_lane fw01 conn-replay)" | tr '\n' ' ')"
# The sealer took the segments: the lane holds no records now.
emptied() { [ "$("$WARDCTL" spool cat --dir "$T/agent/spool" conn-replay 2>/dev/null | wc -l)" -eq 0 ]; }
wait_for 20 emptied || fail "the sealed segments are still in the spool"
agent_stop
soc_stop
echo "PASS"
