#!/bin/sh
# The protocol analyzers on malformed traffic (issue 5, section 4):
# tests/tools/analyzer_malformed.py writes one capture per case with scapy
# (DNS compression loops, pointers out of range, labels over 63 and cut
# answers; HTTP overlong URI and header lines, bad chunk sizes, garbage;
# TLS ClientHellos cut short, records and extensions longer than their
# container, certificates of random DER; SMTP overlong lines, bad base64
# in AUTH, DATA without its end; POP3 and FTP garbage; TCP overlaps with
# conflicting content, out-of-order segments and a content gap).
# ward-sensor -r --json --stats reads each: it must exit 0 with no
# sanitizer report (this is the ASan+UBSan build), write a conn record
# for every flow, and records valid against their schemas, and count weirds ("weird":{name:n} in the --stats JSON)
# for the malformed protocols; the TCP cases raise the reassembly
# counters and still give their http records (first copy wins on an
# overlap). No root needed. Wall time about 10 s.
. "$WARD_ROOT/tests/lib/common.sh"

PY=/usr/bin/python3
SENSOR=$WARD_BUILD/ward-sensor
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
[ -x "$SENSOR" ] || fail "build $SENSOR first (make VARIANT=asan tests-build)"

D=$WARD_TMP/malformed
$PY "$WARD_ROOT/tests/tools/analyzer_malformed.py" write "$D" >"$WARD_TMP/write.log" 2>&1 ||
	{ cat "$WARD_TMP/write.log"; fail "analyzer_malformed.py write"; }
[ -s "$D/expect.json" ] || fail "analyzer_malformed.py wrote no expectations"

n=0
for f in "$D"/*.pcap; do
	c=${f%.pcap}
	rc=0
	"$SENSOR" -r "$f" --json --stats >"$c.ndjson" 2>"$c.stats" || rc=$?
	if [ "$rc" -ne 0 ] || grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$c.stats"; then
		cat "$c.stats"
		fail "ward-sensor -r $(basename "$f") exited with $rc"
	fi
	jq -e . "$c.ndjson" >/dev/null || fail "$(basename "$c"): output is not NDJSON"
	n=$((n + 1))
done
note "$n captures read, exit 0, no sanitizer report"

# What the analyzers still write from broken input is valid.
$PY "$WARD_ROOT/tests/tools/schema_check.py" "$WARD_ROOT/docs/schema" "$D"/*.ndjson ||
	fail "a record from malformed input does not match its schema (above)"
$PY "$WARD_ROOT/tests/tools/analyzer_malformed.py" check "$D" || fail "malformed cases (above)"
echo "PASS"
