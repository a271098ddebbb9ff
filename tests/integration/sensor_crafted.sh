#!/bin/sh
# ward-sensor on crafted captures (issue 4, section 5): tests/tools/
# sensor_crafted.py writes one pcap per case with scapy, with the conn
# records Zeek would log for it; ward-sensor -r reads each, and the same
# script compares its records and --stats summary. The cases: every TCP
# conn_state with its history, out-of-order segments, retransmissions, a
# content gap, overlapping and plain IPv4 fragments and IPv6 fragments,
# 802.1Q, QinQ, MPLS, VXLAN, GRE, ERSPAN II and III, a 96-byte snap
# length, a SYN sent thrice, an ICMP error, UDP inactivity, flow table
# pressure (--flow-mem); tshark's Community ID for some of them. Also:
# local_orig and local_resp from --local-nets, and an unreadable file
# exits 2 with the file named. Needs python3-scapy; no root.
. "$WARD_ROOT/tests/lib/common.sh"

PY=/usr/bin/python3
SENSOR=$WARD_BUILD/ward-sensor
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
[ -x "$SENSOR" ] || fail "build $SENSOR first (make VARIANT=asan tests-build)"

D=$WARD_TMP/crafted
$PY "$WARD_ROOT/tests/tools/sensor_crafted.py" write "$D" 2>&1 | grep -v '^WARNING' ||
	fail "sensor_crafted.py write"
[ -s "$D/expect.json" ] || fail "sensor_crafted.py wrote no expectations"

for f in "$D"/*.pcap; do
	n=${f%.pcap}
	args=$(jq -r --arg c "$(basename "$n")" '.[$c].args // [] | join(" ")' "$D/expect.json")
	rc=0
	# shellcheck disable=SC2086
	"$SENSOR" -r "$f" --json --stats $args >"$n.ndjson" 2>"$n.stats" || rc=$?
	if [ "$rc" -ne 0 ] || grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$n.stats"; then
		cat "$n.stats"
		fail "ward-sensor -r $(basename "$f") exited with $rc"
	fi
done

$PY "$WARD_ROOT/tests/tools/sensor_crafted.py" check "$D" || fail "crafted cases (above)"

# local_orig/local_resp from --local-nets: the client's network only.
rc=0; "$SENSOR" -r "$D/state_SF.pcap" --json --local-nets 10.1.0.0/16,fd01::/16 >"$D/local.ndjson" \
	2>"$D/local.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$D/local.err"; fail "ward-sensor --local-nets exited with $rc"; }
jq -e -n 'input | .local_orig == true and .local_resp == false' "$D/local.ndjson" >/dev/null ||
	fail "--local-nets 10.1.0.0/16: want local_orig true, local_resp false: $(cat "$D/local.ndjson")"

# A file that is no capture: exit 2 and "ward-sensor: FILE: reason".
printf 'not a pcap\n' >"$D/bad.pcap"
rc=0; "$SENSOR" -r "$D/bad.pcap" --json >"$D/bad.out" 2>"$D/bad.err" || rc=$?
[ "$rc" -eq 2 ] || { cat "$D/bad.err"; fail "ward-sensor on a bad file: want exit 2, got $rc"; }
grep -q "^ward-sensor: $D/bad.pcap: " "$D/bad.err" || { cat "$D/bad.err"; fail "bad file: no 'ward-sensor: FILE: reason'"; }
[ ! -s "$D/bad.out" ] || fail "bad file: records on stdout"
echo "PASS"
