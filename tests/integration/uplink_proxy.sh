#!/bin/sh
# The uplink through an HTTP CONNECT proxy (RFC 9110 section 9.3.6), a
# real one: tinyproxy on loopback, allowed to CONNECT only to ward-soc's
# port, with a config this test writes. TLS runs end to end inside the
# tunnel, so ward-soc still sees the device certificate.
#
#   1. tinyproxy itself: curl reaches ward-soc's /v1/health through it,
#      with and without BasicAuth, and wrong credentials get 407.
#   2. ward-agent with uplink.proxy: logger -> syslog lane -> sealer ->
#      uplink -> tinyproxy -> ward-soc. Every record arrives exactly once,
#      the proxy's log shows the CONNECT, and with the proxy gone the
#      records wait (status says why) until it is back.
#      A proxy that wants credentials the agent lacks gets nothing
#      through, and status names its 407.
#   3. uplink_run with --proxy and --proxy-auth against tinyproxy with
#      BasicAuth: the right credentials deliver every batch once; wrong
#      ones deliver nothing, and the uplink's status names the refusal
#      (407, or 401 from tinyproxy before 1.12).
#
# A refusal puts http_connect's words ("proxy refused CONNECT: 407 ...") in
# .uplink.endpoints[].last_error, and an unreachable proxy "connection
# refused".
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v tinyproxy >/dev/null || skip "tinyproxy not installed (scripts/deps.sh test)"
command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v logger >/dev/null || skip "logger not installed"
SOC=$WARD_BUILD/ward-soc
MK=$WARD_TOOLS/batch_make
RUN=$WARD_TOOLS/uplink_run
for b in "$SOC" "$AGENT" "$MK" "$RUN"; do
	[ -x "$b" ] || fail "build $b first (make VARIANT=asan tests-build)"
done

SOC_PID= PROXY_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	[ -n "$PROXY_PID" ] && kill -KILL "$PROXY_PID" 2>/dev/null
	cleanup_agent
}
trap cleanup EXIT

soc_env
SPORT=$(free_port)
PPORT=$(free_port)
PROXY=http://127.0.0.1:$PPORT

# proxy_start NAME [USER PASS]: tinyproxy on 127.0.0.1:PPORT that only
# CONNECTs to ward-soc's port, logging to T/proxy-NAME.log (PROXY_LOG),
# with BasicAuth when USER and PASS are given.
proxy_start() {
	PROXY_LOG=$T/proxy-$1.log
	{
		echo "Port $PPORT"
		echo "Listen 127.0.0.1"
		echo "Timeout 30"
		echo "LogFile \"$PROXY_LOG\""
		echo "LogLevel Info"
		echo "MaxClients 32"
		echo "Allow 127.0.0.1"
		echo "ConnectPort $PORT"
		echo "DisableViaHeader Yes"
		[ $# -ge 3 ] && echo "BasicAuth $2 $3"
	} >"$T/tinyproxy-$1.conf"
	tinyproxy -d -c "$T/tinyproxy-$1.conf" >>"$T/tinyproxy.out" 2>&1 &
	PROXY_PID=$!
	wait_for 10 proxy_listening || { cat "$T/tinyproxy.out" "$PROXY_LOG"; fail "tinyproxy did not start"; }
}
proxy_listening() { ss -Hltn "sport = :$PPORT" | grep -q .; }
proxy_stop() {
	kill -TERM "$PROXY_PID"
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
	wait_for 10 sh -c "! ss -Hltn 'sport = :$PPORT' | grep -q ." || fail "tinyproxy still listens"
}
# connects: how many CONNECTs to ward-soc the proxy's log shows.
connects() { grep -c "CONNECT 127.0.0.1:$PORT HTTP/1.1" "$PROXY_LOG" 2>/dev/null || true; }

# via_proxy [CURL OPTION...]: ward-soc's health through the proxy; prints
# the status of the proxy's answer to CONNECT.
via_proxy() {
	curl -sS $CURL_TLS --proxy "$PROXY" -o "$T/health.json" -w '%{http_connect}' "$@" \
		"$URL/v1/health" 2>"$T/curl.err"
}

soc_start

note "tinyproxy CONNECTs curl to ward-soc; TLS with the device certificate runs inside"
proxy_start open
code=$(via_proxy) || fail "curl through tinyproxy failed: $(cat "$T/curl.err")"
[ "$code" = 200 ] || fail "tinyproxy answered CONNECT with $code"
jq -e '.status == "ok"' "$T/health.json" >/dev/null || fail "health: $(cat "$T/health.json")"
[ "$(connects)" = 1 ] || fail "tinyproxy's log shows $(connects) CONNECTs, want 1"
proxy_stop

note "tinyproxy with BasicAuth: the right credentials pass, none get 407, wrong ones 407 or 401"
proxy_start auth ward 's3cret-pass'
code=$(via_proxy --proxy-user ward:s3cret-pass) ||
	fail "curl with the credentials failed: $(cat "$T/curl.err")"
[ "$code" = 200 ] || fail "tinyproxy answered CONNECT with $code to the right credentials"
code=$(via_proxy) && fail "curl passed without credentials"
[ "$code" = 407 ] || fail "tinyproxy answered $code to no credentials, want 407"
# tinyproxy before 1.12 answers wrong credentials with 401 instead of 407
# (tinyproxy issue 532); either is a refusal the uplink must name.
code=$(via_proxy --proxy-user ward:wrong) && fail "curl passed with wrong credentials"
case $code in 407|401) ;; *) fail "tinyproxy answered $code to wrong credentials, want 407" ;; esac
WRONG_CODE=$code
proxy_stop

# config FILE [CREDENTIALS_FILE]: the agent's configuration, its uplink
# through the proxy.
config() {
	uplink_yaml "$1" "" "" "  proxy: \"$PROXY\"
${2:+  proxy_credentials: $2}"
}

note "ward-agent with uplink.proxy: N records arrive exactly once, through the proxy"
config "$T/ward.yaml"
"$AGENT" --check-config -c "$T/ward.yaml" >"$T/check.out" 2>&1 ||
	fail "--check-config refused the config: $(cat "$T/check.out")"
proxy_start agent
agent_start "$T/agent" "$T/ward.yaml"
uplink_up() { [ "$(jqs '.uplink.endpoints | length')" -ge 1 ]; }
wait_for 20 uplink_up || fail "the uplink did not start: $(jqs .uplink)"
N=30
send first "$N"
wait_for 60 have "$N" || { ctl status; tail -20 "$T/soc.log" "$PROXY_LOG"; fail "only $(stored) of $N arrived"; }
exactly "$N"
[ "$(tagged first)" = "$N" ] || fail "$(tagged first) 'first' records, want $N"
[ "$(connects)" -ge 1 ] || { cat "$PROXY_LOG"; fail "tinyproxy's log shows no CONNECT to 127.0.0.1:$PORT"; }
grep -q "Established connection to host \"127.0.0.1\"" "$PROXY_LOG" ||
	{ cat "$PROXY_LOG"; fail "tinyproxy did not open the tunnel to ward-soc"; }

note "the proxy gone: records wait and status says why; back: they arrive once"
proxy_stop
M=10
send second "$M"
failing() {
	status_json >"$T/st.json" || return 1
	jq -e '.uplink.backlog.batches >= 1' "$T/st.json" >/dev/null &&
	jq -r '.uplink.endpoints[0].last_error' "$T/st.json" | grep -q "connection refused"
}
wait_for 30 failing || { cat "$T/st.json"; fail "status does not show the unreachable proxy"; }
jq -r '.uplink.endpoints[0].last_error' "$T/st.json"   # for the log: what an engineer sees
# ward-soc is up the whole time: nothing may go around the proxy.
[ "$(stored)" = "$N" ] || fail "records reached ward-soc without the proxy"
proxy_start agent2
wait_for 60 have $((N + M)) || { ctl status; fail "only $(stored) of $((N + M)) arrived"; }
exactly $((N + M))
[ "$(tagged second)" = "$M" ] || fail "$(tagged second) 'second' records, want $M"
[ "$(connects)" -ge 1 ] || fail "the backlog did not go through the proxy"

note "a proxy that wants credentials the agent lacks: status names 407, nothing goes around it"
proxy_stop
proxy_start agent3 ward 's3cret-pass'
send third 5
refused() {
	status_json >"$T/st.json" || return 1
	jq -r '.uplink.endpoints[0].last_error' "$T/st.json" | grep -q "407"
}
wait_for 30 refused || { cat "$T/st.json" "$PROXY_LOG"; fail "status does not name the proxy's 407"; }
jq -r '.uplink.endpoints[0].last_error' "$T/st.json"
[ "$(connects)" -ge 1 ] || fail "tinyproxy saw no CONNECT from the agent"
[ "$(stored)" = $((N + M)) ] || fail "records reached ward-soc past a proxy that refused"

note "uplink.proxy_credentials: a malformed file is named, the right one lets the backlog through"
printf 'no-colon-here\n' >"$T/proxy.cred"
config "$T/ward.yaml" "$T/proxy.cred"
rc=0; "$AGENT" --check-config -c "$T/ward.yaml" >"$T/check.out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--check-config exited $rc for a malformed credentials file"
grep -q "uplink.proxy_credentials: $T/proxy.cred: the first line must be user:password" \
	"$T/check.out" || fail "check-config: $(cat "$T/check.out")"
grep -q "no-colon-here" "$T/check.out" && fail "check-config printed the file's content"
printf 'ward:s3cret-pass\n' >"$T/proxy.cred"
chmod 644 "$T/proxy.cred"   # the agent runs as nobody here
"$AGENT" --check-config -c "$T/ward.yaml" >"$T/check.out" 2>&1 ||
	fail "--check-config refused good credentials: $(cat "$T/check.out")"
ctl reload >/dev/null || fail "wardctl reload failed"
wait_for 60 have $((N + M + 5)) || { ctl status; cat "$PROXY_LOG"; fail "only $(stored) of $((N + M + 5)) arrived with credentials"; }
exactly $((N + M + 5))
[ "$(tagged third)" = 5 ] || fail "$(tagged third) 'third' records, want 5"
ctl status >"$T/status.txt" || true
grep -q "s3cret" "$T/status.txt" "$T/agent/agent.log" && fail "the proxy password is shown"
agent_stop
proxy_stop

# The Basic credentials: uplink_run takes them on its command line.

OUT=$T/outbox
# seal FIRST COUNT: COUNT records of lane alerts (outbox_seal).
seal() { outbox_seal alerts "$@"; }
# run_uplink CREDENTIALS DEADLINE_MS: uplink_run through the proxy; stats in
# T/stats, its exit status in RUN_RC.
run_uplink() {
	RUN_RC=0
	"$RUN" --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --outbox "$OUT" \
		--lane alerts --backoff-base-ms 50 --backoff-cap-ms 400 --timeout-ms 5000 \
		--deadline-ms "$2" --endpoint "127.0.0.1:$PORT/localhost" \
		--proxy "127.0.0.1:$PPORT" --proxy-auth "$1" >"$T/stats" 2>"$T/run.err" || RUN_RC=$?
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/run.err"; then
		cat "$T/run.err"; fail "sanitizer report from uplink_run"
	fi
	jq -e . "$T/stats" >/dev/null || { cat "$T/run.err"; fail "no stats: $(cat "$T/stats")"; }
}
left() { find "$OUT/alerts" -name '*.batch' 2>/dev/null | wc -l | tr -d ' '; }

note "tinyproxy with BasicAuth, wrong credentials: nothing delivered, status names its $WRONG_CODE"
proxy_start basic ward 's3cret-pass'
seal 1 3; seal 4 2
run_uplink ward:wrong 3000
[ "$RUN_RC" = 1 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC, want 1 (deadline)"; }
[ "$(left)" = 2 ] || fail "$(left) batches left, want 2: none may be delivered"
[ ! -s "$STORE/fw01/alerts/records.ndjson" ] || fail "records arrived with wrong proxy credentials"
jq -r '.endpoints[0].last_error' "$T/stats" | grep -q "$WRONG_CODE" ||
	fail "the uplink's status does not name $WRONG_CODE: $(cat "$T/stats")"
jq -r '.endpoints[0].last_error' "$T/stats"
[ "$(connects)" -ge 1 ] || fail "tinyproxy saw no CONNECT"

note "tinyproxy with BasicAuth, right credentials: every batch exactly once"
run_uplink ward:s3cret-pass 30000
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left in the outbox"
[ "$(jq -r .batches_acked "$T/stats")" = 2 ] || fail "acked: $(cat "$T/stats")"
cmp -s "$T/expect.alerts" "$STORE/fw01/alerts/records.ndjson" ||
	fail "stored alerts differ from those sealed (lost or duplicated)"
proxy_stop

soc_stop
"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
note "ok"
