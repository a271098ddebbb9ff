#!/bin/sh
# The main job end to end in ward-agent: logger over TCP -> syslog lane ->
# sealer -> outbox -> uplink (mutual TLS) -> ward-soc. Every record
# arrives exactly once; while ward-soc is down, status says why in words
# and shows the backlog, which drains once it is back. Also: an enabled
# uplink whose key file is missing fails --check-config, and a running
# agent with it keeps collecting and names the file in status.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v logger >/dev/null || skip "logger not installed"
SOC=$WARD_BUILD/ward-soc
[ -x "$SOC" ] || fail "build $SOC first (make VARIANT=asan tests-build)"

SOC_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	cleanup_agent
}
trap cleanup EXIT

soc_env
SPORT=$(free_port)


# config FILE DEVICE_KEY: the agent's configuration.
config() {
	cat >"$1" <<YAML
agent:
  device_id: fw01
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$SPORT" }
snmp:
  enabled: false
  listeners: []
spool:
  fsync_interval_ms: 20
  segment_max_age_ms: 100
uplink:
  enabled: true
  device_key: $2
  soc_public_key: $P/soc.pub
  ca: $P/ca.pem
  client_cert: $P/client.pem
  client_key: $P/client.key
  endpoints:
    - { url: "$URL", sni: localhost }
  seal_interval_ms: 50
  connect_timeout_ms: 1000
  handshake_timeout_ms: 2000
  backoff_min_ms: 100
  backoff_max_ms: 1000
YAML
}

# Records stored at the SOC for the syslog lane, and their distinct seqs.
stored() { cat "$STORE/fw01/syslog/records.ndjson" 2>/dev/null | wc -l | tr -d ' '; }
unique() { jq -r .seq "$STORE/fw01/syslog/records.ndjson" 2>/dev/null | sort -u | wc -l | tr -d ' '; }
tagged() { grep -c -- "$1" "$STORE/fw01/syslog/records.ndjson" 2>/dev/null || true; }
have() { [ "$(stored)" -ge "$1" ]; }
send() {  # TAG COUNT
	_i=1
	while [ "$_i" -le "$2" ]; do
		logger -n 127.0.0.1 -P "$SPORT" --tcp --octet-count --rfc5424 -t e2e "$1 message $_i" ||
			fail "logger failed"
		_i=$((_i + 1))
	done
}
exactly() {  # WANT TAG...: count, distinct seqs, and each tag's count
	_want=$1; shift
	[ "$(stored)" = "$_want" ] || fail "ward-soc holds $(stored) syslog records, want $_want"
	[ "$(unique)" = "$_want" ] || fail "only $(unique) distinct seqs in $_want records"
}

note "--check-config: an enabled uplink with a missing key file is an error"
config "$T/missing.yaml" "$P/nonexistent.key"
rc=0; "$AGENT" --check-config -c "$T/missing.yaml" >"$T/check.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--check-config exited $rc, want 2: $(cat "$T/check.out")"
grep -q "uplink.device_key: $P/nonexistent.key: No such file or directory" "$T/check.out" ||
	fail "missing key not named: $(cat "$T/check.out")"
config "$T/ward.yaml" "$P/fw01.key"
"$AGENT" --check-config -c "$T/ward.yaml" >"$T/check.out" 2>&1 ||
	fail "--check-config refused a good config: $(cat "$T/check.out")"

note "a running agent with the missing key keeps collecting and says why nothing is sealed"
agent_start "$T/broken" "$T/missing.yaml"
send broken 2
wait_for 10 sh -c "'$WARDCTL' spool cat --dir '$T/broken/spool' syslog 2>/dev/null | grep -q broken" ||
	fail "the receivers stopped collecting"
jqs '.errors[]' | grep -q "cannot load uplink.device_key $P/nonexistent.key: No such file" ||
	fail "status does not name the missing key: $(jqs .errors)"
ctl status >"$T/status.txt" && fail "wardctl status exits 0 with an uplink error"
grep -q "^Uplink:" "$T/status.txt" || fail "no Uplink section: $(cat "$T/status.txt")"
# Once the file is there, a reload starts the sealers without a restart.
cp "$P/fw01.key" "$P/nonexistent.key"
ctl reload >/dev/null || fail "reload refused"
key_ok() { ! jqs '.errors[]' | grep -q "device_key"; }
wait_for 10 key_ok || fail "the key error stays after the reload: $(jqs .errors)"
sealed_some() { [ "$(jqs '[.uplink.sealers[].batches] | add')" -ge 1 ]; }
wait_for 20 sealed_some || fail "nothing sealed after the reload: $(jqs .uplink.sealers)"
rm -f "$P/nonexistent.key"
agent_stop

note "N records over TCP arrive exactly once"
soc_start
agent_start "$T/agent" "$T/ward.yaml"
N=40
send first "$N"
wait_for 60 have "$N" || { ctl status; tail -20 "$T/soc.log"; fail "only $(stored) of $N arrived"; }
exactly "$N"
[ "$(tagged first)" = "$N" ] || fail "$(tagged first) 'first' records, want $N"
jqs '.uplink.endpoints[0].state' | grep -q -E "connected|idle" ||
	fail "endpoint state: $(jqs .uplink)"
[ "$(jqs .uplink.batches_acked)" -ge 1 ] || fail "nothing acknowledged: $(jqs .uplink)"
ctl status >"$T/status.txt" || true
grep -q "using 127.0.0.1:$PORT" "$T/status.txt" || fail "endpoint in use not shown: $(cat "$T/status.txt")"

note "ward-soc down: status names the failure in words and shows a backlog"
soc_stop
M=25
send second "$M"
failing() {
	status_json >"$T/st.json" || return 1
	jq -e '.uplink.backlog.batches >= 1' "$T/st.json" >/dev/null &&
	jq -r '.uplink.endpoints[0].last_error' "$T/st.json" | grep -q "connection refused" &&
	jq -r '.errors[]' "$T/st.json" | grep -q "uplink to 127.0.0.1:$PORT: .*connection refused"
}
wait_for 30 failing || { cat "$T/st.json"; fail "status does not show the outage"; }
ctl status >"$T/status.txt" || true
grep -q "backlog [1-9][0-9]* batches" "$T/status.txt" || fail "no backlog line: $(cat "$T/status.txt")"
sed -n '/^Uplink/,/^Losses/p' "$T/status.txt"   # for the log: what an engineer sees
[ "$(stored)" = "$N" ] || fail "records arrived while ward-soc was down?"

note "ward-soc back: the backlog drains, N+M exactly once"
soc_start
wait_for 60 have $((N + M)) || { ctl status; fail "only $(stored) of $((N + M)) arrived"; }
drained() { [ "$(jqs .uplink.backlog.batches)" = 0 ]; }
wait_for 30 drained || fail "backlog not drained: $(jqs .uplink.backlog)"
exactly $((N + M))
[ "$(tagged second)" = "$M" ] || fail "$(tagged second) 'second' records, want $M"
# The seqs are the spool's: 1..N+M with no gap.
[ "$(jq -s 'map(.seq) | sort | (.[0] == 1 and .[-1] == length)' "$STORE/fw01/syslog/records.ndjson")" = true ] ||
	fail "seqs are not 1..$((N + M))"

note "SIGHUP with the same uplink section keeps it; a changed one rebuilds it"
kill -HUP "$AGENT_PID"
reloaded() { [ "$(jqs .agent.last_reload)" = ok ]; }
wait_for 10 reloaded || fail "reload: $(jqs .agent.last_reload)"
sed -i 's/seal_interval_ms: 50/seal_interval_ms: 60/' "$T/ward.yaml"
kill -HUP "$AGENT_PID"
wait_for 10 sh -c "grep -q 'restarting the sealers and the uplink' '$T/agent/agent.log'" ||
	fail "the changed uplink section was not applied"
send third 5
wait_for 30 have $((N + M + 5)) || fail "nothing arrives after the reload: $(stored)"
exactly $((N + M + 5))

note "a damaged CHAIN stops only its own lane, and says so; the others flow"
agent_stop
mkdir -p "$T/agent/outbox/agent"
echo "not a chain" >"$T/agent/outbox/agent/CHAIN"
agent_start "$T/agent" "$T/ward.yaml"
send fourth 5
wait_for 30 have $((N + M + 10)) || fail "the syslog lane stopped too: $(stored)"
exactly $((N + M + 10))
chain_err() { jqs '.errors[]' | grep -q "lane agent is not sealed: outbox/agent/CHAIN is damaged"; }
wait_for 10 chain_err || fail "damaged CHAIN not reported: $(jqs .errors)"
[ "$(jqs '.uplink.sealers[] | select(.lane == "syslog") | .running')" = true ] ||
	fail "syslog sealer not running: $(jqs .uplink.sealers)"

agent_stop
soc_stop
"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
note "ok"
