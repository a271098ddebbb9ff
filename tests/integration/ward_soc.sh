#!/bin/sh
# ward-soc, the reference SOC ingest server, with curl and openssl as the
# clients: mutual TLS, batches stored once, duplicates (409), tampered
# batches quarantined (400), unknown devices (403), size limits, gaps,
# keep-alive and pipelining, the 503 test hook, a restart that keeps
# de-duplicating, record-by-record de-duplication of overlapping batches,
# and a probe restarting at seq 1 (a new chain epoch).
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v curl >/dev/null || skip "curl not installed"
command -v openssl >/dev/null || skip "openssl not installed"
SOC=$WARD_BUILD/ward-soc
MK=$WARD_TOOLS/batch_make
[ -x "$SOC" ] && [ -x "$MK" ] || fail "build $SOC and $MK first (make VARIANT=asan tests-build)"

SOC_PID=
cleanup() { [ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null; true; }
trap cleanup EXIT

# The SOC's sealing key pair and three device signing keys: fw01's and
# quarantine's public keys are registered, ghost's is not.
soc_env ghost quarantine
cp "$P/quarantine.pub" "$T/devices/quarantine.pem"
# ward-soc with a 64 KiB body limit and the test hooks.
soc() { soc_start --max-body 65536 --test-hooks "$@"; }

# hj FILTER: a field of /v1/health.
hj() { health | jq -r "$1"; }

# post FILE: POSTs a batch; prints the status, the answer goes to $T/resp.
post() {
	curl -sS $CURL_TLS -o "$T/resp" -w '%{http_code}' \
		-H 'Content-Type: application/octet-stream' --data-binary "@$1" "$URL/v1/batches"
}
expect_post() {  # FILE STATUS
	_got=$(post "$1")
	[ "$_got" = "$2" ] || { cat "$T/resp"; tail -5 "$T/soc.log"; fail "POST $1: got $_got, want $2"; }
}

# seal NAME DEVICE FIRST [PREV] [LAST]: $T/NAME.batch from $T/NAME.ndjson.
seal() {
	_key=$P/$2.key
	"$MK" -k "$_key" -s "$P/soc.pub" -d "$2" -l syslog -f "$3" \
		${4:+-p "$T/$4.batch"} ${5:+-L "$5"} -o "$T/$1.batch" "$T/$1.ndjson" ||
		fail "batch_make $1"
}
lines() {  # NAME FIRST COUNT
	_i=$2; : >"$T/$1.ndjson"
	while [ "$_i" -lt $(($2 + $3)) ]; do
		printf '{"seq":%d,"msg":"<13>Nov 29 10:00:00 fw1 test: line %d"}\n' "$_i" "$_i" \
			>>"$T/$1.ndjson"
		_i=$((_i + 1))
	done
}
LANE=$STORE/fw01/syslog/records.ndjson
stored() { wc -l <"$LANE" | tr -d ' '; }

lines b1 1 3;  seal b1 fw01 1
lines b2 4 2;  seal b2 fw01 4 b1
lines b3 10 1                            # seqs 6..9 lost on the probe,
printf '{"type":"loss","lane":"syslog","records":4}\n' >>"$T/b3.ndjson"  # which says so
seal b3 fw01 10 b2
lines b4 12 1; seal b4 fw01 12 b3
lines g1 1 1;  seal g1 ghost 1
lines d1 1 1;  seal d1 quarantine 1     # a registered device named like the store's own directory

soc

note "a batch is stored, and its records are the lines sealed"
expect_post "$T/b1.batch" 200
jq -e '.status == "ok" and .first_seq == 1 and .last_seq == 3' "$T/resp" >/dev/null ||
	fail "answer $(cat "$T/resp")"
cmp -s "$LANE" "$T/b1.ndjson" || fail "stored records differ from the batch's"

note "the same batch again is a duplicate: 409, nothing stored twice"
expect_post "$T/b1.batch" 409
[ "$(stored)" = 3 ] || fail "$(stored) lines stored after a duplicate, want 3"

note "a tampered batch is refused (400) and quarantined with its reason"
cp "$T/b1.batch" "$T/bad.batch"
# Flip every bit of byte 300 (writing a fixed byte is no change when the
# ciphertext already holds it).
b=$(od -An -tu1 -j300 -N1 "$T/b1.batch" | tr -d ' ')
printf "\\$(printf %o $((b ^ 255)))" | dd of="$T/bad.batch" bs=1 seek=300 conv=notrunc 2>/dev/null
cmp -s "$T/b1.batch" "$T/bad.batch" && fail "the tampered copy equals the batch"
expect_post "$T/bad.batch" 400
grep -q "signature" "$T/resp" || fail "tampered answer: $(cat "$T/resp")"
ls "$STORE"/quarantine/*.batch >/dev/null 2>&1 || fail "nothing quarantined"
cat "$STORE"/quarantine/*.reason | grep -q "device signature does not verify" ||
	fail "quarantine reason: $(cat "$STORE"/quarantine/*.reason)"
cmp -s "$(ls "$STORE"/quarantine/*.batch | head -1)" "$T/bad.batch" ||
	fail "quarantined bytes differ from those sent"
head -c 100 "$T/b1.batch" >"$T/short.batch"
expect_post "$T/short.batch" 400
grep -q "batch truncated" "$T/resp" || fail "truncated answer: $(cat "$T/resp")"

note "a batch from a device without a registered key is refused: 403"
expect_post "$T/g1.batch" 403
[ "$(stored)" = 3 ] || fail "records stored for an unknown device"

note "a signed batch from a device id that would name the store's quarantine: 403"
expect_post "$T/d1.batch" 403
grep -q "not storable" "$T/resp" || fail "answer: $(cat "$T/resp")"
[ ! -e "$STORE/quarantine/syslog" ] || fail "a lane directory was made in the quarantine"

note "no client certificate, or one from another CA: the handshake is refused"
failures=$(hj .tls_failures)
if curl -sS --http1.1 --cacert "$P/ca.pem" -o /dev/null "$URL/v1/health" 2>"$T/curl.err"; then
	fail "a client without a certificate was served"
fi
if curl -sS --http1.1 --cacert "$P/ca.pem" --cert "$P/rogue-client.pem" \
	--key "$P/rogue-client.key" -o /dev/null "$URL/v1/health" 2>>"$T/curl.err"; then
	fail "a client with a certificate from another CA was served"
fi
[ "$(hj .tls_failures)" -ge $((failures + 2)) ] || fail "TLS failures not counted"
grep -q "client presented no certificate\|client certificate not trusted" "$T/soc.log" ||
	fail "the refusal is not logged in words"

note "keep-alive: two requests on one connection"
conns=$(hj .connections)
curl -sS $CURL_TLS -H 'Content-Type: application/octet-stream' --data-binary "@$T/b2.batch" \
	-o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' "$URL/v1/batches" "$URL/v1/batches" \
	>"$T/ka" || fail "curl keep-alive run failed"
[ "$(cat "$T/ka" | tr '\n' ' ')" = "200 1 409 0 " ] || fail "keep-alive run: $(cat "$T/ka")"
# One connection for health above, one for the pair, one for this query.
[ "$(hj .connections)" = $((conns + 2)) ] || fail "the two requests did not share a connection"
[ "$(stored)" = 5 ] || fail "$(stored) lines stored, want 5"

note "pipelining: requests sent in one write are answered in order"
printf 'GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
	timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$P/ca.pem" \
		-cert "$P/client.pem" -key "$P/client.key" 2>/dev/null | tr -d '\r' |
	grep -o 'HTTP/1\.1 [0-9][0-9][0-9]' >"$T/pipe"
# Bodies end without a newline: a status line may follow on the same line.
[ "$(tr '\n' '|' <"$T/pipe")" = "HTTP/1.1 200|HTTP/1.1 404|HTTP/1.1 200|" ] ||
	fail "pipelined answers: $(cat "$T/pipe")"

note "limits: a body over --max-body is 413, oversized headers 431, garbage 400"
head -c 70000 /dev/zero >"$T/big.batch"
expect_post "$T/big.batch" 413
code=$(curl -sS $CURL_TLS -o /dev/null -w '%{http_code}' -H "X-Pad: $(head -c 20000 /dev/zero | tr '\0' a)" \
	"$URL/v1/health")
[ "$code" = 431 ] || fail "oversized headers: got $code, want 431"
printf 'BLAH\r\n\r\n' | timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	-CAfile "$P/ca.pem" -cert "$P/client.pem" -key "$P/client.key" 2>/dev/null |
	tr -d '\r' | grep -q '^HTTP/1.1 400' || fail "malformed request not answered 400"

note "a gap in seqs is accepted, counted and recorded"
expect_post "$T/b3.batch" 200
[ "$(hj .gaps)" = 1 ] || fail "gap not counted"
grep -q "gap 6-9" "$STORE/fw01/syslog/gaps" || fail "gap not recorded"
[ "$(hj .chain_breaks)" = 0 ] || fail "a chained batch counted as a chain break"

note "restart: the lane state survives, and a resend is still a duplicate"
soc_stop
soc
expect_post "$T/b2.batch" 409
expect_post "$T/b3.batch" 409
[ "$(stored)" = 7 ] || fail "$(stored) lines stored after resends, want 7"

note "test hook: the next batch POST answers 503 with Retry-After"
code=$(curl -sS $CURL_TLS -o /dev/null -w '%{http_code}' -X POST "$URL/v1/test/fail?n=1&code=503&retry_after=7")
[ "$code" = 200 ] || fail "test hook: $code"
curl -sS $CURL_TLS -D "$T/hdrs" -o /dev/null --data-binary "@$T/b4.batch" "$URL/v1/batches"
tr -d '\r' <"$T/hdrs" | grep -q '^HTTP/1.1 503' || fail "hook did not answer 503: $(cat "$T/hdrs")"
tr -d '\r' <"$T/hdrs" | grep -qi '^Retry-After: 7$' || fail "no Retry-After: $(cat "$T/hdrs")"
expect_post "$T/b4.batch" 200
[ "$(hj .chain_breaks)" = 0 ] || fail "the chain broke across the restart"
[ "$(stored)" = 8 ] || fail "$(stored) lines stored, want 8"
cat "$T/b1.ndjson" "$T/b2.ndjson" "$T/b3.ndjson" "$T/b4.ndjson" | cmp -s - "$LANE" ||
	fail "the lane's records are not the batches' lines, once each, in order"

note "a crash between the append and the state commit: the unacknowledged tail is cut"
soc_stop
printf '{"seq":13,"msg":"appended but never acknowledged"}\n' >>"$LANE"
soc
expect_post "$T/b4.batch" 409
cat "$T/b1.ndjson" "$T/b2.ndjson" "$T/b3.ndjson" "$T/b4.ndjson" | cmp -s - "$LANE" ||
	fail "the unacknowledged tail was not cut when the lane was loaded"

# rec NAME SEQ: appends a sealed-style record to $T/NAME.ndjson.
rec() { printf '{"seq":%d,"msg":"<13>Nov 29 10:00:00 fw1 test: line %d"}\n' "$2" "$2" >>"$T/$1.ndjson"; }
# dropped: the duplicate records dropped since this ward-soc started.
dropped() { hj .duplicates_dropped; }

note "an overlapping batch with gaps is de-duplicated record by record"
: >"$T/o1.ndjson"; rec o1 11; rec o1 12; rec o1 13; rec o1 15
seal o1 fw01 11 b4 15
d0=$(dropped)
expect_post "$T/o1.batch" 200
[ "$(dropped)" = $((d0 + 2)) ] || fail "dropped $(dropped), want $((d0 + 2))"
[ "$(stored)" = 10 ] || fail "$(stored) lines stored, want 10"
[ "$(tail -2 "$LANE" | jq -s -c 'map(.seq)')" = "[13,15]" ] || fail "stored $(tail -2 "$LANE")"
[ "$(hj .overlaps)" = 0 ] || fail "a batch whose lines all carry seqs counted as an overlap"

note "lines not starting with {\"seq\":N fall back to their position and are counted"
: >"$T/o2.ndjson"; rec o2 14
printf '{"seq": 15,"msg":"a space: not the sealer'"'"'s prefix"}\n' >>"$T/o2.ndjson"
rec o2 16
printf '{"msg":"no seq, position 17"}\n' >>"$T/o2.ndjson"
seal o2 fw01 14 o1
expect_post "$T/o2.batch" 200
[ "$(dropped)" = $((d0 + 4)) ] || fail "dropped $(dropped), want $((d0 + 4))"
[ "$(hj .lines_without_seq)" = 2 ] || fail "lines without seq: $(hj .lines_without_seq)"
# Kept: seq 16 and the line without a seq (position 17).
tail -2 "$T/o2.ndjson" >"$T/o2.want"
tail -2 "$LANE" | cmp -s - "$T/o2.want" || fail "stored $(tail -2 "$LANE")"

note "an overlapping batch whose every record is stored already is a duplicate"
: >"$T/o3.ndjson"; rec o3 16; rec o3 17
seal o3 fw01 16 o2 20
expect_post "$T/o3.batch" 409
[ "$(dropped)" = $((d0 + 6)) ] || fail "dropped $(dropped), want $((d0 + 6))"
[ "$(stored)" = 12 ] || fail "$(stored) lines stored, want 12"

note "a line without a seq in an overlapping batch with gaps is kept and counted"
: >"$T/o4.ndjson"; rec o4 17
printf '{"type":"loss","lane":"syslog","records":3}\n' >>"$T/o4.ndjson"
seal o4 fw01 17 o2 21
expect_post "$T/o4.batch" 200
[ "$(hj .overlaps)" = 1 ] || fail "overlaps: $(hj .overlaps)"
tail -1 "$LANE" | grep -q '"type":"loss"' || fail "the seqless line was not kept"
expect_post "$T/o1.batch" 409
[ "$(dropped)" = $((d0 + 11)) ] || fail "dropped $(dropped), want $((d0 + 11))"
[ "$(stored)" = 13 ] || fail "$(stored) lines stored, want 13"

note "a wiped probe restarts at seq 1: a new chain epoch, stored after the old records"
lines e1 1 2; seal e1 fw01 1
lines e2 3 2; seal e2 fw01 3 e1
cp "$LANE" "$T/old.ndjson"
expect_post "$T/e1.batch" 200
[ "$(hj .epochs)" = 1 ] || fail "epochs: $(hj .epochs)"
grep -q "new chain epoch" "$T/soc.log" || fail "the new epoch is not logged"
grep -q "new chain epoch 1 at batch 1-2" "$STORE/fw01/syslog/gaps" ||
	fail "the new epoch is not recorded: $(cat "$STORE/fw01/syslog/gaps")"
expect_post "$T/e1.batch" 409
expect_post "$T/e2.batch" 200
[ "$(hj .chain_breaks)" = 0 ] || fail "the new epoch's chain counted as broken"
[ "$(hj .gaps)" = 0 ] || fail "the new epoch counted a gap"
cat "$T/old.ndjson" "$T/e1.ndjson" "$T/e2.ndjson" | cmp -s - "$LANE" ||
	fail "the old records were not kept, or the new ones not stored once"

note "restart: the epoch's first batch and its successor are still duplicates"
soc_stop
soc
expect_post "$T/e1.batch" 409
expect_post "$T/e2.batch" 409
[ "$(hj .epochs)" = 0 ] || fail "a replay counted as a new epoch"
cat "$T/old.ndjson" "$T/e1.ndjson" "$T/e2.ndjson" | cmp -s - "$LANE" ||
	fail "replays after the restart changed the lane"
soc_stop

note "verify summarises the store per device and lane"
"$SOC" verify "$STORE" >"$T/verify" || fail "verify failed: $(cat "$T/verify")"
[ "$(wc -l <"$T/verify")" = 1 ] || fail "verify: $(cat "$T/verify")"
jq -e '.missing_seqs == 0 and .late_batches == 0' "$T/verify" >/dev/null ||
	fail "verify (the new epoch forgets the old gaps): $(cat "$T/verify")"
jq -e '.device == "fw01" and .lane == "syslog" and .records == 17 and .first_seq == 1 and
	.last_seq == 4 and .gaps == 1 and .duplicates == 10 and .duplicates_dropped == 27 and
	.epochs == 1 and .loss_records == 2 and .consistent' "$T/verify" >/dev/null ||
	fail "verify: $(cat "$T/verify")"

note "a late batch (answered 503, resent after the next was stored) fills its gap, across a restart"
late() {  # NAME FIRST [PREV]: three records in lane "late"
	lines "$1" "$2" 3
	"$MK" -k "$P/fw01.key" -s "$P/soc.pub" -d fw01 -l late -f "$2" ${3:+-p "$T/$3.batch"} \
		-o "$T/$1.batch" "$T/$1.ndjson" || fail "batch_make $1"
}
late l1 1; late l2 4 l1; late l3 7 l2
soc
expect_post "$T/l1.batch" 200
expect_post "$T/l3.batch" 200
soc_stop
soc
expect_post "$T/l2.batch" 200
[ "$(hj .late_batches)" = 1 ] || fail "late batch not counted: $(health)"
expect_post "$T/l2.batch" 409
expect_post "$T/l3.batch" 409
soc_stop
[ "$(jq -r .seq "$STORE/fw01/late/records.ndjson" | sort -n | tr '\n' ' ')" = "1 2 3 4 5 6 7 8 9 " ] ||
	fail "late lane: $(jq -r .seq "$STORE/fw01/late/records.ndjson" | tr '\n' ' ')"
"$SOC" verify "$STORE" >"$T/verify" || fail "verify failed: $(cat "$T/verify")"
jq -e -s 'map(select(.lane == "late"))[0] | .records == 9 and .last_seq == 9 and .gaps == 0 and
	.missing_seqs == 0 and .late_batches == 1 and .consistent' "$T/verify" >/dev/null ||
	fail "verify: $(grep late "$T/verify")"
jq -e -s 'map(select(.lane == "syslog"))[0] | .missing_seqs == 0' "$T/verify" >/dev/null ||
	fail "verify: $(grep syslog "$T/verify")"
note "ok"
