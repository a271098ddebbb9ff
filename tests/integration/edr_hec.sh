#!/bin/sh
# The relay's HTTP Event Collector input against real clients: curl for
# the event and raw endpoints, gzip bodies, every error answer and the
# decompression-bomb cap, then the npm client splunk-logging, then HEC
# over TLS. Every record must be in the edr lane and match
# docs/schema/edr.schema.json.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
command -v curl >/dev/null || skip "curl not installed"
trap cleanup_agent EXIT

make_pki "$WARD_TMP/pki" || fail "make_pki"
# The agent runs as nobody when the test runs as root: it must read them.
chmod -R a+rX "$WARD_TMP/pki"
sport=$(free_port); lport=$(free_port); hport=$(free_port); tport=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners: [{ proto: udp, address: "127.0.0.1:$sport" }]
snmp:
  enabled: false
spool:
  fsync_interval_ms: 20
edr:
  lumberjack: { address: "127.0.0.1:$lport" }
  hec: { address: "127.0.0.1:$hport" }
  groups:
    - name: radiology
      tokens: [tok-radiology-1]
  max_body_bytes: 1048576
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
url="http://127.0.0.1:$hport"
auth="Authorization: Splunk tok-radiology-1"
tag=$$-$(date +%s)

# post PATH CURL-ARGS...: prints "STATUS BODY".
post() {
	_p=$1; shift
	curl -s -o "$WARD_TMP/body" -w '%{http_code}' "$@" "$url$_p" > "$WARD_TMP/code"
	printf '%s %s\n' "$(cat "$WARD_TMP/code")" "$(cat "$WARD_TMP/body")"
}
expect() {  # WHAT WANT GOT
	[ "$3" = "$2" ] || fail "$1: expected '$2', got '$3'"
}

note "event endpoint: concatenated events"
got=$(post /services/collector/event -H "$auth" --data-binary \
	"{\"time\":1714550000.5,\"host\":\"ws1\",\"event\":{\"n\":\"a-$tag\"}} {\"event\":\"b-$tag\"}
{\"event\":{\"winlog\":{\"event_id\":4625,\"provider_name\":\"Microsoft-Windows-Security-Auditing\",\"event_data\":{\"TargetUserName\":\"c-$tag\",\"LogonType\":\"3\",\"IpAddress\":\"192.0.2.9\"}}}}")
expect "event" '200 {"text":"Success","code":0}' "$got"

note "raw endpoint, gzip body"
printf 'raw1-%s first line\r\nraw2-%s second line\n\n' "$tag" "$tag" | gzip -c > "$WARD_TMP/raw.gz"
got=$(post "/services/collector/raw?host=fw%2D1&sourcetype=edr%3Araw" -H "$auth" \
	-H "Content-Encoding: gzip" --data-binary @"$WARD_TMP/raw.gz")
expect "raw gzip" '200 {"text":"Success","code":0}' "$got"
printf '{"event":"gz-%s"}' "$tag" | gzip -c > "$WARD_TMP/ev.gz"
got=$(post /services/collector/event/1.0 -H "$auth" -H "Content-Encoding: gzip" \
	--data-binary @"$WARD_TMP/ev.gz")
expect "event gzip" '200 {"text":"Success","code":0}' "$got"

note "error answers"
got=$(post /services/collector/event --data-binary '{"event":"x"}')
expect "no token" '401 {"text":"Token is required","code":2}' "$got"
got=$(post /services/collector/event -H "Authorization: Bearer tok-radiology-1" --data-binary '{"event":"x"}')
expect "bad scheme" '401 {"text":"Invalid authorization","code":3}' "$got"
got=$(post /services/collector/event -H "Authorization: Splunk wrong-$tag" --data-binary '{"event":"x"}')
expect "bad token" '401 {"text":"Invalid token","code":4}' "$got"
got=$(post /services/collector/event -H "$auth" --data-binary '{"event":"x"} {"event":')
expect "bad json" '400 {"text":"Invalid data format","code":6,"invalid-event-number":1}' "$got"
got=$(post /services/collector/event -H "$auth" --data-binary '{"event":"ok"}{"fields":{}}')
expect "no event" '400 {"text":"Event field is required","code":12,"invalid-event-number":1}' "$got"
got=$(post /services/collector/event -H "$auth" --data-binary '{"event":""}')
expect "blank event" '400 {"text":"Event field cannot be blank","code":13,"invalid-event-number":0}' "$got"
got=$(post /services/collector/event -H "$auth" --data-binary '   ')
expect "no data" '400 {"text":"No data","code":5}' "$got"
printf 'not gzip' > "$WARD_TMP/bad.gz"
got=$(post /services/collector/event -H "$auth" -H "Content-Encoding: gzip" --data-binary @"$WARD_TMP/bad.gz")
expect "bad gzip" '400 {"text":"Invalid data format","code":6}' "$got"
got=$(post /services/collector/nothing -H "$auth" --data-binary '{"event":"x"}')
expect "unknown path" "404" "${got%% *}"
got=$(curl -s -w ' %{http_code}' "$url/services/collector/health")
expect "health" '{"text":"HEC is healthy","code":17} 200' "$got"

note "decompression bomb: 64 MiB of zeros in a small gzip body"
head -c 67108864 /dev/zero | gzip -c > "$WARD_TMP/bomb.gz"
[ "$(wc -c < "$WARD_TMP/bomb.gz")" -lt 1048576 ] || fail "bomb is not small"
got=$(post /services/collector/raw -H "$auth" -H "Content-Encoding: gzip" --data-binary @"$WARD_TMP/bomb.gz")
expect "bomb" "413" "${got%% *}"
note "a body over max_body_bytes as sent"
head -c 2000000 /dev/zero | tr '\0' 'a' > "$WARD_TMP/big"
got=$(post /services/collector/raw -H "$auth" --data-binary @"$WARD_TMP/big")
expect "big body" "413" "${got%% *}"

note "keep-alive: two requests on one connection"
got=$(curl -s -H "$auth" --data-binary "{\"event\":\"ka1-$tag\"}" "$url/services/collector/event" \
	--next -H "$auth" --data-binary "{\"event\":\"ka2-$tag\"}" "$url/services/collector/event")
expect "keep-alive" '{"text":"Success","code":0}{"text":"Success","code":0}' "$got"

count() { spool_records edr | grep -c -- "$1"; }
have() { [ "$(count "$1")" -ge "$2" ]; }
wait_for 10 have "$tag" 8 || fail "records: $(count "$tag") of 8"
expect "records (no duplicates, no refused ones)" 8 "$(count "$tag")"

rec() { spool_records edr | grep -- "$1" | head -n 1; }
rec "a-$tag" | jq -e '.type == "edr" and .input == "hec" and .auth.method == "token"
	and .auth.group == "radiology" and (.peer | startswith("127.0.0.1:"))
	and .event_time == "2024-05-01T07:53:20.500000Z" and .host_name == "ws1"
	and .original.event.n != null' >/dev/null || fail "event record: $(rec "a-$tag")"
rec "c-$tag" | jq -e '.ecs.event.outcome == "failure" and .ecs.winlog.logon.type == "Network"
	and .ecs.source.ip == "192.0.2.9"' >/dev/null || fail "4625 record: $(rec "c-$tag")"
rec "raw1-$tag" | jq -e '.input == "hec_raw" and .host_name == "fw-1" and .sourcetype == "edr:raw"
	and .original == "raw1-'"$tag"' first line"' >/dev/null || fail "raw record: $(rec "raw1-$tag")"

note "splunk-logging (npm) sends 60 Sysmon events, 10 per request"
if [ -d "$WARD_ROOT/tests/npm/node_modules/splunk-logging" ] && command -v node >/dev/null; then
	node "$WARD_ROOT/tests/npm/hec_send.js" "$url" tok-radiology-1 60 "sl-$tag" 10 > "$WARD_TMP/sl.out" ||
		{ cat "$WARD_TMP/sl.out"; fail "splunk-logging"; }
	expect "splunk-logging answers" 6 "$(grep -c '^ok 0$' "$WARD_TMP/sl.out")"
	wait_for 10 have "sl-$tag" 60 || fail "splunk-logging records: $(count "sl-$tag")"
	expect "splunk-logging records" 60 "$(count "sl-$tag")"
	rec "sl-$tag" | jq -e '.ecs.event.code == "1" and .ecs.process.name == "cmd.exe"
		and .ecs.user.name == "jdoe"' >/dev/null || fail "splunk-logging record: $(rec "sl-$tag")"
	node "$WARD_ROOT/tests/npm/hec_send.js" "$url" "bad-$tag" 1 x > "$WARD_TMP/sl.out" &&
		fail "splunk-logging with a bad token succeeded"
	grep -q '^error 401 {"text":"Invalid token","code":4}' "$WARD_TMP/sl.out" || fail "bad token: $(cat "$WARD_TMP/sl.out")"
else
	note "SKIPPED: tests/npm/node_modules missing (scripts/deps.sh test installs it)"
fi

note "per-source counters"
# The agent's status carries the receivers' counters as of their last
# report: poll until they show the refusals.
auth_rejects() {
	jqs '.edr.sources[] | select(.address == "127.0.0.1") | .rejects.auth' | grep -qx '[3-9]'
}
wait_for 10 auth_rejects || fail "auth rejects per source: $(jqs .edr.sources)"
jqs '.edr.listeners[] | select(.input == "hec") | .address' | grep -qx "127.0.0.1:$hport" ||
	fail "hec listener: $(jqs .edr.listeners)"

note "JSON carried in syslog (an EDR console forwarding over syslog)"
if command -v logger >/dev/null; then
	logger -n 127.0.0.1 -P "$sport" --udp --rfc5424 -t edrconsole \
		"{\"event_type\":\"process\",\"tag\":\"sj-$tag\",\"pid\":4242}"
	sj() { spool_records syslog | grep -- "sj-$tag" | jq -e '.json.pid == 4242 and .json.tag != null
		and (.msg | startswith("{"))'; }
	wait_for 10 sj || fail "syslog JSON: $(spool_records syslog | grep -- "sj-$tag")"
fi

note "schema"
spool_records edr > "$WARD_TMP/recs.ndjson"
python3 - "$WARD_ROOT/docs/schema/edr.schema.json" "$WARD_TMP/recs.ndjson" <<'PY' || fail "schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
n = 0
for line in open(sys.argv[2]):
    rec = json.loads(line)
    errs = list(v.iter_errors(rec))
    if errs:
        print(line.strip()[:300]); print(errs[0].message); sys.exit(1)
    n += 1
print(f"{n} records valid")
PY

note "HEC over TLS"
agent_stop
cat >>"$WARD_TMP/ward.yaml" <<YAML
  max_event_bytes: 65536
YAML
sed -i "s|  hec: { address: \"127.0.0.1:$hport\" }|  hec: { address: \"127.0.0.1:$tport\", cert: \"$WARD_TMP/pki/server.pem\", key: \"$WARD_TMP/pki/server.key\" }|" "$WARD_TMP/ward.yaml"
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
got=$(curl -s --cacert "$WARD_TMP/pki/ca.pem" -H "$auth" --data-binary "{\"event\":\"tls-$tag\"}" \
	"https://localhost:$tport/services/collector/event")
[ -n "$got" ] || { cat "$AGENT_DIR/agent.log"; fail "no answer over TLS"; }
expect "tls" '{"text":"Success","code":0}' "$got"
curl -s --data-binary '{"event":"x"}' "http://127.0.0.1:$tport/services/collector/event" -o /dev/null &&
	fail "plain HTTP was answered on the TLS port"
wait_for 10 have "tls-$tag" 1 || fail "tls record"
agent_stop
echo "PASS"
