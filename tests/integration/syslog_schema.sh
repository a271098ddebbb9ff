#!/bin/sh
# Syslog records against docs/schema/syslog.schema.json, checked by an
# independent validator (python3-jsonschema, draft 2020-12): the vendor
# samples, malformed input in both framings, and messages written by a real
# sender (util-linux logger, to a unix socket this test reads).
. "$WARD_ROOT/tests/lib/common.sh"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"
enc=$WARD_TOOLS/syslog_encode
[ -x "$enc" ] || fail "$enc not built"
out=$WARD_TMP/records.ndjson

note "vendor samples"
"$enc" --samples >"$out" || fail "syslog_encode --samples"

note "malformed input, LF and octet-counting framing"
printf '%s\n' '<999>bad pri' '<abc>x' '<13>' '<13>1 - h a p m [id a="b' \
	'<13>1 2026-13-01T00:00:00Z h a p m - x' '<13>Oct 32 22:14:15 h t: x' \
	'no header at all' '<13>1 - h a p m [a x="1"][a x="2"] dup' |
	"$enc" >>"$out" || fail "syslog_encode (LF)"
printf '12 <13>a\0b\rc\n9 <13>\377\376xy5 short' | "$enc" --max 8 >>"$out" ||
	fail "syslog_encode (octet-counting)"

if command -v logger >/dev/null; then
	note "logger to a unix socket"
	sock=$WARD_TMP/log.sock
	python3 - "$sock" >"$WARD_TMP/logger.txt" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
for _ in range(3):
    sys.stdout.write(s.recv(65536).decode('utf-8', 'replace').rstrip('\n') + '\n')
    sys.stdout.flush()
PY
	reader=$!
	wait_for 10 test -S "$sock" || fail "no socket"
	logger -u "$sock" --rfc3164 -t sshd -i -p auth.warning "Failed password for root"
	logger -u "$sock" --rfc5424 -t app5424 -p local4.err --msgid ID47 \
		--sd-id 'exampleSDID@32473' --sd-param 'iut="3"' "hello 5424"
	logger -u "$sock" --rfc5424=notq -t 防火墙 "UTF-8 tag"
	wait "$reader" || fail "logger messages did not arrive"
	"$enc" <"$WARD_TMP/logger.txt" >>"$out" || fail "syslog_encode (logger)"
	grep -q '"app_name":"sshd"' "$out" || fail "logger's RFC 3164 TAG not parsed"
	grep -q '"msgid":"ID47","sd":{.*"exampleSDID@32473":{"iut":"3"}}' "$out" ||
		fail "logger's RFC 5424 SD not parsed"
	# A non-ASCII APP-NAME breaks RFC 5424's PRINTUSASCII: flagged, kept.
	grep -q '"parse":"partial","parse_error":"APP-NAME has a byte outside PRINTUSASCII".*"app_name":"防火墙"' \
		"$out" || fail "logger's UTF-8 APP-NAME not kept and flagged"
fi

note "validating $(wc -l <"$out") records"
python3 - "$WARD_ROOT/docs/schema/syslog.schema.json" "$out" <<'PY' || fail "schema validation"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
with open(sys.argv[2], encoding='utf-8') as f:
    for n, line in enumerate(f, 1):
        rec = json.loads(line)
        for e in v.iter_errors(rec):
            bad += 1
            print("line %d: %s: %s" % (n, list(e.path), e.message))
sys.exit(1 if bad else 0)
PY
grep -q '"parse_error":"PRI is above 191"' "$out" || fail "bad PRI not flagged"
grep -q '"truncated":true' "$out" || fail "truncation not flagged"
grep -q '"raw_b64"' "$out" || fail "undecodable bytes not kept as base64"
grep -q '"charset":"gb18030"' "$out" || fail "GBK samples not decoded"
echo "PASS"
