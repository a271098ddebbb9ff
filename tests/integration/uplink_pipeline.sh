#!/bin/sh
# Pipelining and priority with aging over a link with 100 ms RTT: the
# uplink (through tests/tools/uplink_run) sends many small batches to
# ward-soc through a relay that delays every byte by 50 ms each way.
#  - one request in flight costs a round trip per batch; eight in flight
#    finish the same backlog in well under half that time, on one
#    connection, and every record is stored exactly once (ward-soc verify);
#  - the connection cut with requests in flight: the unanswered batches
#    are sent again on the next connection, and each record is stored
#    once;
#  - P0 goes first, and an aged P2 lane still gets batches out while a P1
#    backlog is being sent.
# The kernel here has no netem qdisc, so the delay is a user-space relay
# on loopback (python3 asyncio): it keeps each direction's byte order and
# adds the same 50 ms to every piece, which is what matters for the RTT.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v python3 >/dev/null || skip "python3 not installed"
SOC=$WARD_BUILD/ward-soc
MK=$WARD_TOOLS/batch_make
RUN=$WARD_TOOLS/uplink_run
for b in "$SOC" "$MK" "$RUN"; do
	[ -x "$b" ] || fail "build $b first (make VARIANT=asan tests-build)"
done

SOC_PID= RELAY_PID= SHM= RUN_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	[ -n "$RELAY_PID" ] && kill -KILL "$RELAY_PID" 2>/dev/null
	[ -n "$RUN_PID" ] && kill -KILL "$RUN_PID" 2>/dev/null
	[ -n "$SHM" ] && rm -rf "$SHM"
	true
}
trap cleanup EXIT

soc_env
N=60            # batches per run

# The delaying relay: LISTEN_PORT -> 127.0.0.1:TARGET_PORT, DELAY s each way.
cat >"$T/relay.py" <<'EOF'
import asyncio, sys

LPORT, DPORT, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])

async def pipe(reader, writer):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue()

    async def sender():
        while True:
            t, data = await q.get()
            wait = t + DELAY - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    task = asyncio.ensure_future(sender())
    try:
        while True:
            data = await reader.read(65536)
            q.put_nowait((loop.time(), data))
            if not data:
                break
    except ConnectionError:
        q.put_nowait((loop.time(), b""))
    await task

async def handle(cr, cw):
    try:
        sr, sw = await asyncio.open_connection("127.0.0.1", DPORT)
    except OSError:
        cw.close()
        return
    await asyncio.gather(pipe(cr, sw), pipe(sr, cw), return_exceptions=True)

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", LPORT)
    async with server:
        await server.serve_forever()

asyncio.run(main())
EOF

seal() { outbox_seal "$@"; }

# run_uplink [OPTIONS...]: uplink_run through the relay; stats in
# $T/stats, exit status in $RUN_RC, wall time in $MS.
run_uplink() {
	RUN_RC=0
	_t0=$(date +%s%N)
	"$RUN" --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --outbox "$OUT" \
		--backoff-base-ms 50 --backoff-cap-ms 400 --timeout-ms 10000 --deadline-ms 60000 \
		--endpoint "127.0.0.1:$RPORT/localhost" "$@" >"$T/stats" 2>"$T/run.err" || RUN_RC=$?
	_t1=$(date +%s%N)
	MS=$(( (_t1 - _t0) / 1000000 ))
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/run.err"; then
		cat "$T/run.err"; fail "sanitizer report from uplink_run"
	fi
	jq -e . "$T/stats" >/dev/null || { cat "$T/run.err"; fail "no stats: $(cat "$T/stats")"; }
	[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
}
sj() { jq -r "$1" "$T/stats"; }
left() { find "$OUT" -name '*.batch' 2>/dev/null | wc -l | tr -d ' '; }

# verify_stored LANE...: ward-soc stored each lane's records exactly once,
# in seq order, with no gap (resent batches it answered 409 are fine).
verify_stored() {
	"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
	for _l in "$@"; do
		cmp -s "$T/expect.$_l" "$STORE/fw01/$_l/records.ndjson" ||
			fail "lane $_l: stored records differ from those sealed"
		_v=$(jq -c "select(.lane == \"$_l\")" "$T/verify")
		[ "$(echo "$_v" | jq -r .gaps)" = 0 ] || fail "lane $_l has gaps: $_v"
	done
}

# verify_once LANE...: ward-soc stored each lane's records exactly once, in
# seq order, with no gap and no duplicate.
verify_once() {
	"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
	for _l in "$@"; do
		cmp -s "$T/expect.$_l" "$STORE/fw01/$_l/records.ndjson" ||
			fail "lane $_l: stored records differ from those sealed"
		_want=$(wc -l <"$T/expect.$_l" | tr -d ' ')
		_v=$(jq -c "select(.lane == \"$_l\")" "$T/verify")
		[ "$(echo "$_v" | jq -r .records)" = "$_want" ] || fail "lane $_l: $_v, want $_want records"
		[ "$(echo "$_v" | jq -r '.gaps + .duplicates')" = 0 ] ||
			fail "lane $_l has gaps or duplicates: $_v"
	done
	[ "$(health | jq -r .duplicates)" = 0 ] || fail "duplicates at the SOC: $(health)"
}

# ward-soc fsyncs every batch it stores; on a disk shared with other
# jobs that would time the disk rather than the link, so its store goes
# to tmpfs when there is one.
SD=$T
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	SHM=$(mktemp -d /dev/shm/ward-pipeline.$$.XXXXXX) && SD=$SHM
fi

# fresh_soc NAME: a new outbox and a ward-soc with an empty store.
fresh_soc() {
	[ -n "$SOC_PID" ] && soc_stop
	: >"$T/soc.log"
	OUT=$T/$1/outbox STORE=$SD/$1/store
	mkdir -p "$OUT" "$STORE"
	soc_start
}
# reset_chains: the next batches start new lanes.
reset_chains() { rm -f "$T"/expect.* "$T"/sent/*.last; }

RPORT=$(free_port)
python3 "$T/relay.py" "$RPORT" "$PORT" 0.05 2>"$T/relay.err" &
RELAY_PID=$!
wait_for 10 sh -c "ss -Hltn 'sport = :$RPORT' | grep -q ." || fail "relay did not start"

# The same sealed batches for both runs, each to a ward-soc of its own.
OUT=$T/sealed
i=0
while [ "$i" -lt "$N" ]; do seal syslog $((i * 3 + 1)) 3; i=$((i + 1)); done

note "$N batches, one request in flight: a round trip each"
fresh_soc serial
cp -R "$T/sealed/." "$OUT/"
run_uplink --lane syslog --max-in-flight 1
SERIAL_MS=$MS
[ "$(left)" = 0 ] || fail "$(left) batches left"
[ "$(sj .batches_acked)" = "$N" ] || fail "acked: $(cat "$T/stats")"
[ "$(sj .in_flight_peak)" = 1 ] || fail "more than one in flight: $(cat "$T/stats")"
# The relay really delays: N round trips of 100 ms at least.
[ "$SERIAL_MS" -ge $((N * 100)) ] || fail "$N serial batches in $SERIAL_MS ms: no 100 ms RTT?"
verify_once syslog
note "serial: $SERIAL_MS ms"

note "the same backlog with eight in flight: well under half the time, one connection"
fresh_soc pipelined
cp -R "$T/sealed/." "$OUT/"
run_uplink --lane syslog --max-in-flight 8
PIPE_MS=$MS
[ "$(left)" = 0 ] || fail "$(left) batches left"
[ "$(sj .batches_acked)" = "$N" ] || fail "acked: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].connects')" = 1 ] || fail "not one connection: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].batches_sent')" = "$N" ] || fail "a batch sent twice: $(cat "$T/stats")"
[ "$(sj .in_flight_peak)" = 8 ] || fail "the window never filled: $(cat "$T/stats")"
[ "$((PIPE_MS * 2))" -lt "$SERIAL_MS" ] ||
	fail "pipelined $PIPE_MS ms is not well under serial $SERIAL_MS ms"
verify_once syslog
note "pipelined: $PIPE_MS ms (serial $SERIAL_MS ms)"

note "the connection cut with eight in flight: the unanswered batches go again, stored once"
fresh_soc cut
cp -R "$T/sealed/." "$OUT/"
"$RUN" --ca "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" --outbox "$OUT" \
	--backoff-base-ms 50 --backoff-cap-ms 200 --timeout-ms 10000 --deadline-ms 60000 \
	--endpoint "127.0.0.1:$RPORT/localhost" --lane syslog --max-in-flight 8 --until-signal \
	>"$T/stats" 2>"$T/run.err" &
RUN_PID=$!
stored_some() { [ "$(health | jq -r .batches_ok)" -ge 5 ]; }
wait_for 30 stored_some || fail "nothing stored through the relay: $(health)"
# Cut every connection through the relay, mid-pipeline.
kill -KILL "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; RELAY_PID=
cut_left=$(left)
[ "$cut_left" -gt 0 ] || fail "the backlog was gone before the cut: nothing tested"
python3 "$T/relay.py" "$RPORT" "$PORT" 0.05 2>>"$T/relay.err" &
RELAY_PID=$!
drained() { [ "$(left)" = 0 ]; }
wait_for 60 drained || { cat "$T/run.err"; fail "$(left) batches left after the cut"; }
kill -TERM "$RUN_PID"
RUN_RC=0; wait "$RUN_PID" || RUN_RC=$?
RUN_PID=
[ "$RUN_RC" = 0 ] || { cat "$T/stats" "$T/run.err"; fail "uplink_run exited $RUN_RC"; }
grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/run.err" &&
	{ cat "$T/run.err"; fail "sanitizer report from uplink_run"; }
[ "$(sj '.endpoints[0].connects')" -ge 2 ] || fail "no new connection after the cut: $(cat "$T/stats")"
[ "$(sj '.endpoints[0].failures')" -ge 1 ] || fail "the cut was not a failure: $(cat "$T/stats")"
[ "$(sj .batches_acked)" = "$N" ] || fail "acked: $(cat "$T/stats")"
verify_stored syslog
note "cut with $cut_left batches left; $(health | jq -r .duplicates) resent batches answered 409"

note "priority with aging: P0 first; an aged P2 lane goes out amid a P1 backlog"
reset_chains
fresh_soc aging
i=1
while [ "$i" -le 60 ]; do seal syslog "$i" 2; i=$((i + 2)); done
seal bulk 1 1; seal bulk 2 1; seal bulk 3 1
seal alerts 1 1
run_uplink --lane alerts:0 --lane syslog:1 --lane bulk:2 --max-in-flight 2 --aging-ms 400
[ "$(left)" = 0 ] || fail "$(left) batches left"
verify_once alerts syslog bulk
order=$(grep 'stored batch' "$T/soc.log" | sed -n 's/.* lane \([a-z]*\): .*/\1/p')
[ "$(echo "$order" | head -1)" = alerts ] || fail "P0 did not go first: $(echo $order)"
# 30 syslog batches at 2 per RTT take about 1.5 s: with aging at 400 ms
# the first bulk batch must be stored before the syslog backlog ends.
last_syslog=$(echo "$order" | grep -n '^syslog$' | tail -1 | cut -d: -f1)
first_bulk=$(echo "$order" | grep -n '^bulk$' | head -1 | cut -d: -f1)
[ "$first_bulk" -lt "$last_syslog" ] || fail "P2 starved behind P1: $(echo $order)"
[ "$(sj .aged_picks)" -ge 1 ] || fail "no aged pick counted: $(cat "$T/stats")"

soc_stop
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null; RELAY_PID=
note "ok"
