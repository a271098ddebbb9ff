#!/bin/sh
# Real sender: util-linux logger over UDP and TCP, RFC 3164 and RFC 5424,
# LF framing and octet-counting. Every message must land in the syslog
# lane, parsed, and show up in wardctl status (inputs and sources).
. "$WARD_ROOT/tests/lib/common.sh"
command -v logger >/dev/null || skip "logger not installed"
trap cleanup_agent EXIT

port=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners:
    - { proto: udp, address: "127.0.0.1:$port" }
    - { proto: tcp, address: "127.0.0.1:$port" }
    - { proto: udp, address: "[::1]:$port" }
spool:
  fsync_interval_ms: 20
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tok=$$-$(date +%s)

note "sending with logger"
logger -n 127.0.0.1 -P "$port" --udp --rfc3164 -t sshd -i -p auth.warning "udp3164-$tok Failed password for root"
logger -n 127.0.0.1 -P "$port" --udp --rfc5424 -t app5424 -p local4.err --msgid ID47 \
	--sd-id 'exampleSDID@32473' --sd-param 'iut="3"' "udp5424-$tok hello"
logger -n 127.0.0.1 -P "$port" --tcp --rfc3164 -t tcp3164 "tcp3164-$tok one"
logger -n 127.0.0.1 -P "$port" --tcp --rfc5424 -t tcp5424 "tcp5424-$tok two"
logger -n 127.0.0.1 -P "$port" --tcp --octet-count --rfc5424 -t octet "octet-$tok three"
printf 'octet-multi-%s line1\noctet-multi-%s line2\n' "$tok" "$tok" | \
	logger -n 127.0.0.1 -P "$port" --tcp --octet-count --rfc5424 -t multi
if ip -6 addr show lo 2>/dev/null | grep -q '::1'; then
	logger -n ::1 -P "$port" --udp --rfc5424 -t v6 "udp6-$tok over IPv6"
	expect=8
else
	expect=7
fi

count() { spool_records syslog | grep -c -- "$tok"; }
have_all() { [ "$(count)" -ge "$expect" ]; }
wait_for 15 have_all || { spool_records syslog; fail "expected $expect messages, got $(count)"; }
[ "$(count)" -eq "$expect" ] || fail "duplicates: $(count) records for $expect messages"

rec() { spool_records syslog | grep -- "$1-$tok" | head -n 1; }
note "checking parsed fields"
rec udp3164 | jq -e '.type == "syslog" and .format == "rfc3164" and .transport == "udp"
	and .app_name == "sshd" and (.procid | test("^[0-9]+$")) and .facility == "auth"
	and .severity == "warning" and (.msg | startswith("udp3164-"))' >/dev/null || fail "udp 3164: $(rec udp3164)"
rec udp5424 | jq -e '.format == "rfc5424" and .app_name == "app5424" and .msgid == "ID47"
	and .facility == "local4" and .severity == "err"
	and .sd["exampleSDID@32473"].iut == "3"' >/dev/null || fail "udp 5424: $(rec udp5424)"
rec tcp3164 | jq -e '.transport == "tcp" and .format == "rfc3164" and .app_name == "tcp3164"' >/dev/null || fail "tcp 3164: $(rec tcp3164)"
rec tcp5424 | jq -e '.transport == "tcp" and .format == "rfc5424"' >/dev/null || fail "tcp 5424: $(rec tcp5424)"
rec octet | jq -e '.transport == "tcp" and .format == "rfc5424" and (.msg | endswith("three"))' >/dev/null || fail "octet: $(rec octet)"
spool_records syslog | grep -- "$tok" | jq -e -s 'all(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$"))' >/dev/null ||
	fail "a receive time is not RFC 3339 UTC with microseconds"
[ "$expect" -eq 8 ] && { rec udp6 | jq -e '.peer | startswith("[::1]:")' >/dev/null || fail "v6: $(rec udp6)"; }

note "checking the schema"
spool_records syslog | grep -- "$tok" > "$WARD_TMP/recs.ndjson"
python3 - "$WARD_ROOT/docs/schema/syslog.schema.json" "$WARD_TMP/recs.ndjson" <<'PY' || fail "schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for line in open(sys.argv[2]):
    jsonschema.validate(json.loads(line), schema)
PY

note "checking status"
jqs '.syslog.sources[] | select(.address == "127.0.0.1") | .messages' | grep -q . || fail "no source 127.0.0.1 in status"
udp=$(jqs "[.syslog.listeners[] | select(.proto == \"udp\" and .address == \"127.0.0.1:$port\") | .messages] | add")
tcp=$(jqs "[.syslog.listeners[] | select(.proto == \"tcp\") | .messages] | add")
[ "$udp" -ge 2 ] && [ "$tcp" -ge 5 ] || fail "status counters udp=$udp tcp=$tcp"
ctl status > "$WARD_TMP/status.txt" || { cat "$WARD_TMP/status.txt"; fail "wardctl status reports errors"; }
grep -q "syslog/tcp" "$WARD_TMP/status.txt" || fail "human status lacks inputs"
grep -q "127.0.0.1" "$WARD_TMP/status.txt" || fail "human status lacks sources"
cat "$WARD_TMP/status.txt"

agent_stop
note "ok"
