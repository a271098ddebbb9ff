#!/bin/sh
# Crash safety of the EDR relay: while a HEC client (curl, one request per
# event, never retried) and a Lumberjack client (lumberjack-client, one
# window per connection, never resent) are sending, the receivers process
# is killed with SIGKILL, twice. The supervisor restarts it and the lane
# recovers. Every event a client saw acknowledged (HEC 200, Lumberjack ACK)
# must then be in the edr lane exactly once.
. "$WARD_ROOT/tests/lib/common.sh"
command -v curl >/dev/null || skip "curl not installed"
command -v node >/dev/null || skip "node not installed"
[ -d "$WARD_ROOT/tests/npm/node_modules/lumberjack-client" ] ||
	skip "tests/npm/node_modules missing (scripts/deps.sh test installs it)"
hec_pid= lj_pid=
cleanup() {
	[ -n "$hec_pid" ] && kill "$hec_pid" 2>/dev/null
	[ -n "$lj_pid" ] && kill "$lj_pid" 2>/dev/null
	cleanup_agent
}
trap cleanup EXIT

sport=$(free_port); lport=$(free_port); hport=$(free_port)
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
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tag=$$-$(date +%s)
: > "$WARD_TMP/hec.acked"

# HEC: one event per request; a request that fails is not retried.
(
	i=0
	while [ $i -lt 160 ]; do
		i=$((i + 1))
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			-H "Authorization: Splunk ward-dev-token-0000-0000-000000000000" \
			--data-binary "{\"event\":{\"tag\":\"h-$tag-$i-\",\"pad\":\"$(printf '%0300d' 0)\"}}" \
			"http://127.0.0.1:$hport/services/collector/event")
		[ "$code" = 200 ] && echo "$i" >> "$WARD_TMP/hec.acked"
	done
) &
hec_pid=$!
LJ_CONTINUE=1 LJ_TIMEOUT_MS=5000 node "$WARD_ROOT/tests/npm/lj_send.js" "$lport" 40 250 "l-$tag" \
	> "$WARD_TMP/lj.out" 2>&1 &
lj_pid=$!

acked() { [ "$(wc -l < "$WARD_TMP/hec.acked")" -ge "$1" ] && [ "$(grep -c '^acked' "$WARD_TMP/lj.out")" -ge "$2" ]; }
for round in 1 2; do
	wait_for 60 acked $((round * 40)) $((round * 4)) || fail "round $round: too few ACKs (hec $(wc -l < "$WARD_TMP/hec.acked"), lj $(grep -c '^acked' "$WARD_TMP/lj.out"))"
	pid=$(jqs .receivers.pid)
	note "round $round: SIGKILL to receivers $pid"
	kill -KILL "$pid"
	restarted() { [ "$(jqs .receivers.state)" = running ] && [ "$(jqs .receivers.pid)" != "$pid" ]; }
	wait_for 30 restarted || fail "receivers not restarted"
done
wait "$hec_pid"; hec_pid=
wait "$lj_pid"; lj_pid=
grep -q '^acked' "$WARD_TMP/lj.out" || fail "no Lumberjack ACK at all"

note "every acknowledged event exactly once"
ctl flush >/dev/null 2>&1 || true
spool_records edr > "$WARD_TMP/recs.ndjson"
jq -r '.original.event.tag // .original.tag // empty' "$WARD_TMP/recs.ndjson" | sort | uniq -c > "$WARD_TMP/counts"
awk -v t="h-$tag-" '{ print t $1 "-" }' "$WARD_TMP/hec.acked" > "$WARD_TMP/want"
for b in $(sed -n 's/^acked //p' "$WARD_TMP/lj.out"); do
	i=0
	while [ $i -lt 250 ]; do echo "l-$tag-$b-$i"; i=$((i + 1)); done
done >> "$WARD_TMP/want"
python3 - "$WARD_TMP/want" "$WARD_TMP/counts" <<'PY' || fail "acknowledged events missing or duplicated"
import sys
want = [l.strip() for l in open(sys.argv[1]) if l.strip()]
counts = {}
for l in open(sys.argv[2]):
    n, t = l.split()
    counts[t] = int(n)
bad = [(t, counts.get(t, 0)) for t in want if counts.get(t, 0) != 1]
print(f"{len(want)} acknowledged events, {len(bad)} not stored exactly once")
if bad:
    print(bad[:10]); sys.exit(1)
PY
hec_fail=$((160 - $(wc -l < "$WARD_TMP/hec.acked")))
note "hec: $(wc -l < "$WARD_TMP/hec.acked") acknowledged, $hec_fail failed; lumberjack: $(grep -c '^acked' "$WARD_TMP/lj.out") windows acknowledged, $(grep -c '^failed' "$WARD_TMP/lj.out") failed"
agent_stop
echo "PASS"
