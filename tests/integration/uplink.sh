#!/bin/sh
# The uplink (agent/core/uplink) against ward-soc over mutual TLS:
# delivery and deletion of every batch, P0 lane first, Retry-After back-off
# on 503 (one request in flight, and three pipelined ones answered 503
# together: one hold, nothing sent during it), failover from a dead or silent endpoint and fail back to the
# primary once it returns, the rate limit, refusal of a server certificate
# from another CA or for another host, and quarantine of a batch the SOC
# refuses (400) while the others still go through.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v jq >/dev/null || skip "jq not installed"
SOC=$WARD_BUILD/ward-soc
MK=$WARD_TOOLS/batch_make
RUN=$WARD_TOOLS/uplink_run
for b in "$SOC" "$MK" "$RUN"; do
	[ -x "$b" ] || fail "build $b first (make VARIANT=asan tests-build)"
done

SOC_PID=
SILENT_PID= SOC2_PID= RUN_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	[ -n "$SOC2_PID" ] && kill -KILL "$SOC2_PID" 2>/dev/null
	[ -n "$RUN_PID" ] && kill -KILL "$RUN_PID" 2>/dev/null
	[ -n "$SILENT_PID" ] && kill -KILL "$SILENT_PID" 2>/dev/null
	true
}
trap cleanup EXIT

# soc: the SOC's sealing key; other: a key the SOC does not hold.
soc_env other
OUT=$T/outbox

hj() { health | jq -r "$1"; }

seal() { outbox_seal "$@"; }

# run_uplink [OPTIONS...]: runs uplink_run on the outbox; stats in
# $T/stats, its exit status in $RUN_RC.
run_uplink() {
	RUN_RC=0
	"$RUN" --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --outbox "$OUT" \
		--lane alerts --lane syslog --backoff-base-ms 50 --backoff-cap-ms 400 \
		--timeout-ms 5000 --deadline-ms 30000 "$@" >"$T/stats" 2>"$T/run.err" || RUN_RC=$?
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/run.err"; then
		cat "$T/run.err"; fail "sanitizer report from uplink_run"
	fi
	jq -e . "$T/stats" >/dev/null || { cat "$T/run.err"; fail "no stats: $(cat "$T/stats")"; }
}
sj() { jq -r "$1" "$T/stats"; }
left() { find "$OUT/alerts" "$OUT/syslog" -name '*.batch' 2>/dev/null | wc -l | tr -d ' '; }
check_store() {
	for _l in alerts syslog; do
		cmp -s "$T/expect.$_l" "$STORE/fw01/$_l/records.ndjson" ||
			fail "lane $_l: stored records differ from those sealed"
	done
}

soc_start --test-hooks

note "every batch is delivered once, acknowledged and deleted; one connection"
seal syslog 1 3; seal syslog 4 2; seal syslog 6 4; seal alerts 1 1; seal alerts 2 2
conns=$(hj .connections)
run_uplink --endpoint "127.0.0.1:$PORT/localhost"
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left in the outbox"
[ "$(sj .batches_acked)" = 5 ] || fail "acked: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].connects')" = 1 ] || fail "not one keep-alive connection: $(cat "$T/stats")"
[ "$(hj .connections)" = $((conns + 2)) ] || fail "the uplink used more than one connection"
check_store
[ "$(hj .duplicates)" = 0 ] || fail "duplicates at the SOC"
# Strict priority: the alerts lane (first in --lane order) was stored first.
order=$(grep 'stored batch' "$T/soc.log" | sed 's/.* lane \([a-z]*\): .*/\1/' | tr '\n' ' ')
[ "$order" = "alerts alerts syslog syslog syslog " ] || fail "not in priority order: $order"

note "503 with Retry-After: 1 s: the uplink backs off and still delivers once (one in flight)"
seal syslog 10 2; seal syslog 12 1
code=$(curl -sS $CURL_TLS -o /dev/null -w '%{http_code}' -X POST \
	"$URL/v1/test/fail?n=2&code=503&retry_after=1")
[ "$code" = 200 ] || fail "test hook: $code"
t0=$(date +%s%N)
run_uplink --max-in-flight 1 --endpoint "127.0.0.1:$PORT/localhost"
t1=$(date +%s%N)
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left after the back-off"
[ "$(sj '.endpoints[0].backoffs')" = 2 ] || fail "back-offs: $(cat "$T/stats")"
sj '.endpoints[0].last_error' | grep -q "HTTP 503, retrying in 1000 ms" ||
	fail "Retry-After not honoured: $(cat "$T/stats")"
# Two waits of Retry-After: 1 s each (the backoff base here is 50 ms).
[ $(( (t1 - t0) / 1000000 )) -ge 1900 ] || fail "did not wait for Retry-After"
[ "$(hj .failed_on_purpose)" = 2 ] || fail "ward-soc refused $(hj .failed_on_purpose), want 2"
check_store
[ "$(hj .duplicates)" = 0 ] || fail "duplicates at the SOC"

note "503 to three pipelined requests: one hold of Retry-After, no new request meanwhile, all delivered"
seal syslog 13 1; seal syslog 14 1; seal syslog 15 1
code=$(curl -sS $CURL_TLS -o /dev/null -w '%{http_code}' -X POST \
	"$URL/v1/test/fail?n=3&code=503&retry_after=1")
[ "$code" = 200 ] || fail "test hook: $code"
t0=$(date +%s%N)
run_uplink --max-in-flight 8 --endpoint "127.0.0.1:$PORT/localhost"
t1=$(date +%s%N)
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left after the back-off"
[ "$(sj '.endpoints[0].backoffs')" = 3 ] || fail "back-offs: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].batches_sent')" = 6 ] ||
	fail "requests during the hold, or a batch sent twice: $(cat "$T/stats")"
[ $(( (t1 - t0) / 1000000 )) -ge 950 ] || fail "did not wait for Retry-After"
check_store
[ "$(hj .duplicates)" = 0 ] || fail "duplicates at the SOC"

note "failover: the first endpoint refuses connections, the second gets it all"
seal syslog 16 3; seal alerts 4 1
DEAD=$(free_port)
run_uplink --endpoint "127.0.0.1:$DEAD/localhost" --endpoint "127.0.0.1:$PORT/localhost"
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left after failover"
check_store
sj '.endpoints[0].last_error' | grep -q "cannot connect to 127.0.0.1:$DEAD: connection refused" ||
	fail "first endpoint's failure not named: $(cat "$T/stats")"
[ "$(sj '.endpoints[1].batches_acked')" = 2 ] || fail "second endpoint: $(cat "$T/stats")"
sj .active_reason | grep -q "failed over to 127.0.0.1:$PORT: 127.0.0.1:$DEAD failed" ||
	fail "why the second endpoint is in use: $(sj .active_reason)"

note "failover on a handshake timeout: the first endpoint accepts but never answers"
seal syslog 19 1
SILENT=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); time.sleep(120)' "$SILENT" &
SILENT_PID=$!
wait_for 10 sh -c "ss -Hltn 'sport = :$SILENT' | grep -q ." || fail "silent listener did not start"
run_uplink --timeout-ms 500 --endpoint "127.0.0.1:$SILENT/localhost" \
	--endpoint "127.0.0.1:$PORT/localhost"
kill "$SILENT_PID"; wait "$SILENT_PID" 2>/dev/null; SILENT_PID=
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left after failover"
sj '.endpoints[0].last_error' | grep -q "TLS handshake with 127.0.0.1:$SILENT timed out after 500 ms" ||
	fail "timeout not named: $(cat "$T/stats")"
check_store

note "a server certificate from another CA is refused; nothing is deleted"
seal syslog 20 1
failures=$(hj .tls_failures)
run_uplink --ca "$P/rogue-ca.pem" --deadline-ms 1500 --endpoint "127.0.0.1:$PORT/localhost"
[ "$RUN_RC" = 1 ] || fail "uplink_run exited $RUN_RC, want 1 (deadline): $(cat "$T/stats")"
[ "$(left)" = 1 ] || fail "the batch did not stay in the outbox"
sj '.endpoints[0].last_error' | grep -q "server certificate not trusted: issuer CN=ward test ca is not the pinned CA" ||
	fail "refusal not in words: $(sj '.endpoints[0].last_error')"
[ "$(sj '.endpoints[0].batches_sent')" = 0 ] || fail "a batch was sent over an untrusted session"
[ "$(sj '.endpoints[0].failures')" -ge 1 ] || fail "failures not counted"

note "a server certificate for another host name is refused"
run_uplink --deadline-ms 1500 --endpoint "127.0.0.1:$PORT/soc.example.net"
[ "$RUN_RC" = 1 ] || fail "uplink_run exited $RUN_RC, want 1: $(cat "$T/stats")"
[ "$(left)" = 1 ] || fail "the batch did not stay in the outbox"
sj '.endpoints[0].last_error' | grep -q "hostname mismatch: server certificate names localhost, 127.0.0.1, not soc.example.net" ||
	fail "refusal not in words: $(sj '.endpoints[0].last_error')"

note "a batch the SOC refuses (sealed to another key: 400) is quarantined; the rest flows"
seal syslog 21 2 "$P/other.pub"; seal syslog 23 1; seal alerts 5 1
run_uplink --endpoint "127.0.0.1:$PORT/localhost"
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left"
[ "$(sj .batches_quarantined)" = 1 ] || fail "quarantined: $(cat "$T/stats")"
Q=$OUT/quarantine/syslog-$(printf '%020d-%020d' 21 22)
cmp -s "$Q.batch" "$T/sent/syslog-$(printf '%020d-%020d' 21 22).batch" ||
	fail "the refused batch is not in the quarantine: $(ls "$OUT/quarantine")"
grep -q "^HTTP 400 from 127.0.0.1:$PORT: .*SOC key" "$Q.reason" || fail "reason: $(cat "$Q.reason")"
sj '.endpoints[0].last_error' | grep -q "refused, quarantined: HTTP 400" ||
	fail "quarantine not reported: $(sj '.endpoints[0].last_error')"
check_store

note "rate limit: 20000 bytes/s over three ~27 kB batches holds the uplink back"
big() {  # LANE FIRST: one batch of 600 records of random text
	_n=$(printf '%020d-%020d' "$2" $(($2 + 599)))
	head -c 36000 /dev/urandom | base64 -w 60 | head -600 |
		awk -v f="$2" '{ printf "{\"seq\":%d,\"pad\":\"%s\"}\n", f + NR - 1, $0 }' >"$T/lines"
	_prev=$(cat "$T/sent/$1.last")
	"$MK" -k "$P/fw01.key" -s "$P/soc.pub" -d fw01 -l "$1" -f "$2" -p "$_prev" \
		-o "$T/sent/$1-$_n.batch" "$T/lines" || fail "batch_make"
	cp "$T/sent/$1-$_n.batch" "$OUT/$1/$_n.batch"
	echo "$T/sent/$1-$_n.batch" >"$T/sent/$1.last"
	cat "$T/lines" >>"$T/expect.$1"
}
big syslog 24; big syslog 624; big syslog 1224
size=$(cat "$OUT"/syslog/*.batch | wc -c)
[ "$size" -ge 75000 ] || fail "batches of $size bytes are too small for this test"
t0=$(date +%s%N)
run_uplink --rate 20000 --endpoint "127.0.0.1:$PORT/localhost"
t1=$(date +%s%N)
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
[ "$(left)" = 0 ] || fail "$(left) batches left"
[ "$(sj .rate_waits)" -ge 2 ] || fail "the rate limit never held back: $(cat "$T/stats")"
# A one-second bucket, then all but the last batch at 20000 bytes/s
# before the last may go: a lower bound only.
min_ms=$(( (size - 20000 - size / 3 - 1000) * 1000 / 20000 ))
[ $(( (t1 - t0) / 1000000 )) -ge "$min_ms" ] ||
	fail "$size bytes in $(( (t1 - t0) / 1000000 )) ms at 20000 bytes/s"
check_store

note "fail back: while the primary is down the secondary takes batches; then the primary again"
PORT2=$(free_port)
seal status 1 1
"$RUN" --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --outbox "$OUT" \
	--lane alerts --lane syslog --lane status --backoff-base-ms 50 --backoff-cap-ms 400 \
	--timeout-ms 5000 --deadline-ms 60000 --failback-ms 200 --until-signal \
	--endpoint "127.0.0.1:$PORT2/localhost" --endpoint "127.0.0.1:$PORT/localhost" \
	>"$T/stats" 2>"$T/run.err" &
RUN_PID=$!
no_batches() { [ "$(find "$OUT/status" -name '*.batch' | wc -l)" = 0 ]; }
wait_for 20 no_batches || fail "the secondary did not take the batch"
"$SOC" serve --listen "127.0.0.1:$PORT2" --cert "$P/server.pem" --key "$P/server.key" \
	--client-ca "$P/ca.pem" --soc-key "$P/soc.key" --device-keys "$T/devices" \
	--store "$T/store2" >>"$T/soc2.log" 2>&1 &
SOC2_PID=$!
wait_for 20 curl -sS -f $CURL_TLS "https://127.0.0.1:$PORT2/v1/health" ||
	{ cat "$T/soc2.log"; fail "second ward-soc did not come up"; }
# The failback delay (200 ms) has passed by now: the next batch probes.
seal status 2 1
wait_for 20 no_batches || fail "the batch after the primary came back was not delivered"
kill -TERM "$RUN_PID"
RUN_RC=0; wait "$RUN_PID" || RUN_RC=$?
RUN_PID=
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/run.err" &&
	{ cat "$T/run.err"; fail "sanitizer report from uplink_run"; }
[ "$(sj '.endpoints[1].batches_acked')" = 1 ] || fail "secondary: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].batches_acked')" = 1 ] || fail "no failback: $(cat "$T/stats")"
sj .active_reason | grep -q "127.0.0.1:$PORT2 is the primary" ||
	fail "why: $(sj .active_reason)"
grep -q '"seq":1,' "$STORE/fw01/status/records.ndjson" || fail "record 1 not at the secondary"
grep -q '"seq":2,' "$T/store2/fw01/status/records.ndjson" || fail "record 2 not at the primary"
kill -TERM "$SOC2_PID"; wait "$SOC2_PID" || fail "second ward-soc exited non-zero"
SOC2_PID=

soc_stop
"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
note "ok"
