#!/bin/sh
# The disk budget over the spool and the outbox together, through an SOC
# outage (issue 3, "Budget"; DESIGN.md: "the oldest batches of the lowest
# class go first, and every eviction becomes a P0 loss record"):
#  1. ward-soc up: a few syslog records arrive (the SOC knows the chain);
#  2. ward-soc down: a P2 lane (written by tests/tools/lane_append, as no
#     P2 producer exists yet) and then more P1 syslog than the whole
#     budget (logger, incompressible lines) pile up as sealed batches;
#     the budget holds, all of P2 is evicted before any P1, every
#     eviction is a loss record, and status shows spool and outbox;
#  3. ward-soc back: the loss records reach it in the P0 agent lane, the
#     syslog lane's gap and chain break are accepted, evicted ranges and
#     stored records account for every seq exactly once, and
#     `ward-soc verify` counts the loss records.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"

command -v openssl >/dev/null || skip "openssl not installed"
command -v curl >/dev/null || skip "curl not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v logger >/dev/null || skip "logger not installed"
command -v base64 >/dev/null || skip "base64 not installed"
SOC=$WARD_BUILD/ward-soc
LANE_APPEND=$WARD_TOOLS/lane_append
[ -x "$SOC" ] || fail "build $SOC first (make VARIANT=asan tests-build)"
[ -x "$LANE_APPEND" ] || fail "missing $LANE_APPEND"

SOC_PID=
cleanup() {
	[ -n "$SOC_PID" ] && kill -KILL "$SOC_PID" 2>/dev/null
	cleanup_agent
}
trap cleanup EXIT

soc_env
SPORT=$(free_port)

BUDGET=16777216           # the smallest budget the config takes
N1=50                     # syslog records delivered before the outage
P2_RECS=1000              # P2 records of 6000 bytes: about 6 MB
BIG_LINES=2400            # syslog lines of 12000 bytes: about 22 MB sealed
N_SYSLOG=$((N1 + BIG_LINES))

cat >"$T/ward.yaml" <<YAML
agent:
  device_id: fw01
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$SPORT" }
snmp:
  enabled: false
  listeners: []
spool:
  budget_bytes: $BUDGET
  budget_check_ms: 100
  segment_max_bytes: 262144
  segment_max_age_ms: 100
  fsync_interval_ms: 20
uplink:
  enabled: true
  device_key: $P/fw01.key
  soc_public_key: $P/soc.pub
  ca: $P/ca.pem
  client_cert: $P/client.pem
  client_key: $P/client.key
  endpoints:
    - { url: "$URL", sni: localhost }
  batch_max_bytes: 524288
  seal_interval_ms: 50
  connect_timeout_ms: 1000
  handshake_timeout_ms: 2000
  backoff_min_ms: 100
  backoff_max_ms: 1000
YAML

lane_file() { echo "$STORE/fw01/$1/records.ndjson"; }
stored() { cat "$(lane_file "$1")" 2>/dev/null | wc -l | tr -d ' '; }
received() { jqs '[.syslog.listeners[].messages] | add'; }
# The loss records ward-soc holds, from the agent lane, in seq order.
soc_losses() {
	jq -c 'select(.type == "loss")' "$(lane_file agent)" 2>/dev/null | jq -s -c 'sort_by(.seq) | .[]'
}
# lost LANE: the sum of the records the SOC's loss records name for LANE.
lost() { soc_losses | jq -s "map(select(.lane == \"$1\") | .records) | add // 0"; }

note "1. ward-soc up: $N1 syslog records arrive"
soc_start
agent_start "$T/agent" "$T/ward.yaml"
i=1
while [ "$i" -le "$N1" ]; do
	logger -n 127.0.0.1 -P "$SPORT" --tcp --octet-count --rfc5424 -t budget "before outage $i" ||
		fail "logger failed"
	i=$((i + 1))
done
have() { [ "$(stored syslog)" -ge "$1" ]; }
wait_for 60 have "$N1" || { ctl status; fail "only $(stored syslog) of $N1 arrived"; }
drained() { [ "$(jqs .uplink.backlog.batches)" = 0 ]; }
wait_for 30 drained || fail "backlog not drained: $(jqs .uplink.backlog)"

note "2. ward-soc down: a P2 lane, then more P1 than the whole budget"
soc_stop
# The agent drops to nobody when started as root: the lane's files must be
# its to delete, so the writer runs as the same user.
as_agent() {
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid "$(id -u nobody)" --regid "$(id -g nobody)" --clear-groups "$@"
	else
		"$@"
	fi
}
ASAN_OPTIONS=detect_leaks=0 as_agent "$LANE_APPEND" "$AGENT_DIR/spool" flows P2 "$P2_RECS" 6000 \
	>"$T/p2.out" || fail "lane_append failed"
[ "$(cat "$T/p2.out")" = "first 1 last $P2_RECS" ] || fail "lane_append: $(cat "$T/p2.out")"
p2_sealed() { [ "$(jqs '.uplink.sealers[] | select(.lane == "flows") | .batches')" -ge 4 ]; }
wait_for 30 p2_sealed || fail "the P2 lane is not sealed: $(jqs .uplink.sealers)"
[ "$(jqs '.spool.lanes[] | select(.name == "flows") | .class')" = P2 ] ||
	fail "flows is not P2: $(jqs .spool.lanes)"
[ "$(jqs .losses.evicted_batches)" = 0 ] || fail "evicted before the budget was full"
# Random bytes in base64 hardly compress: each line costs about its size
# in the outbox, as a backlog of real bulk data would.
head -c $((BIG_LINES * 9000)) /dev/urandom | base64 -w 12000 >"$T/big.txt"
[ "$(wc -l <"$T/big.txt")" = "$BIG_LINES" ] || fail "big.txt has $(wc -l <"$T/big.txt") lines"
logger -n 127.0.0.1 -P "$SPORT" --tcp --octet-count --rfc5424 -t budget --size 16384 \
	-f "$T/big.txt" || fail "logger -f failed"
got_all() { [ "$(received)" -ge "$N_SYSLOG" ]; }
wait_for 120 got_all || fail "only $(received) of $N_SYSLOG syslog messages received"
# Everything is sealed but a tail below one batch, and the budget holds.
settled() {
	status_json >"$T/st.json" || return 1
	jq -e --argjson b "$BUDGET" '.spool.used_bytes <= $b and .losses.evicted_batches > 0 and
		([.spool.lanes[] | select(.name == "syslog") | .bytes] | add) < 2 * 1048576' \
		"$T/st.json" >/dev/null
}
wait_for 120 settled || { cat "$T/st.json"; fail "the budget does not hold or nothing was evicted"; }
jq -e '.spool.outbox_bytes > 0 and .spool.spool_bytes > 0 and
	.spool.spool_bytes + .spool.outbox_bytes == .spool.used_bytes and .spool.outbox == "outbox" and
	([.spool.lanes[] | select(.name == "syslog") | .batches] | add) > 0' "$T/st.json" >/dev/null ||
	fail "status does not show the outbox: $(jq -c .spool "$T/st.json")"
# The SOC is down: evicted or waiting, none of it has gone anywhere.
[ "$(stored syslog)" = "$N1" ] || fail "records arrived while ward-soc was down?"
[ "$(stored flows)" = 0 ] || fail "P2 records arrived while ward-soc was down?"
ctl status >"$T/status.txt" || true
grep -q "evicted" "$T/status.txt" || fail "wardctl status does not show the eviction"
jq -c '{spool: (.spool | del(.lanes)), losses: (.losses | del(.recent))}' "$T/st.json"

note "3. ward-soc back: the loss records reach it, every seq is accounted for"
soc_start
accounted() {
	[ "$(( $(stored syslog) + $(lost syslog) ))" = "$N_SYSLOG" ] &&
	[ "$(( $(stored flows) + $(lost flows) ))" = "$P2_RECS" ]
}
wait_for 180 accounted || {
	ctl status
	fail "syslog: $(stored syslog) stored + $(lost syslog) lost, want $N_SYSLOG;" \
		"flows: $(stored flows) + $(lost flows), want $P2_RECS"
}
wait_for 30 drained || fail "backlog not drained: $(jqs .uplink.backlog)"
soc_losses >"$T/loss.ndjson"
n_loss=$(wc -l <"$T/loss.ndjson")
# Every eviction is one loss record: the status counts the same.
st_ev=$(jqs '.losses.evicted_batches + .losses.evicted_segments')
[ "$n_loss" = "$st_ev" ] || fail "$n_loss loss records at the SOC, $st_ev evictions in status"
jq -e -s 'all(.[]; .reason == "disk_budget" and .records > 0 and .bytes > 0 and
	.last_seq - .first_seq + 1 == .records and (.stage == "outbox" or .stage == "spool") and
	((.lane == "flows" and .class == "P2") or (.lane == "syslog" and .class == "P1")))' \
	"$T/loss.ndjson" >/dev/null || fail "unexpected loss records: $(head -n 5 "$T/loss.ndjson")"
python3 - "$WARD_ROOT/docs/schema/loss.schema.json" "$T/loss.ndjson" <<'PY' || fail "loss records do not match the schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for line in open(sys.argv[2]):
    rec = json.loads(line)
    rec.pop("seq")      # the sealer's, not part of the record
    jsonschema.validate(rec, schema)
PY
# All of P2 went before any P1: in the agent lane's order, no flows loss
# follows a syslog loss, and all of P2 was lost (P1 alone exceeds the
# budget), and sealed batches were among it.
jq -e -s 'map(.lane) | (index("syslog") // length) as $s | (rindex("flows") // -1) < $s' \
	"$T/loss.ndjson" >/dev/null || fail "a P1 eviction came before a P2 one: $(jq -c -s 'map(.lane)' "$T/loss.ndjson")"
[ "$(lost flows)" = "$P2_RECS" ] || fail "only $(lost flows) of $P2_RECS P2 records evicted"
[ "$(lost syslog)" -gt 0 ] || fail "no P1 evicted: the test's backlog is too small for its budget"
jq -e -s 'any(.[]; .lane == "flows" and .stage == "outbox") and
	any(.[]; .lane == "syslog" and .stage == "outbox")' "$T/loss.ndjson" >/dev/null ||
	fail "no sealed batch was evicted: $(jq -c -s 'map([.lane, .stage])' "$T/loss.ndjson")"
# Evicted ranges + stored seqs = 1..N, each once. The SOC de-duplicates,
# so a seq twice would mean one both lost and delivered.
for lane in syslog flows; do
	want=$N_SYSLOG; [ "$lane" = flows ] && want=$P2_RECS
	jq -r ".seq" "$(lane_file "$lane")" 2>/dev/null >"$T/$lane.kept" || true
	jq -r "select(.lane == \"$lane\") | \"\\(.first_seq) \\(.last_seq)\"" "$T/loss.ndjson" |
		while read -r a b; do seq "$a" "$b"; done >"$T/$lane.lost"
	sort -n "$T/$lane.kept" "$T/$lane.lost" >"$T/$lane.all"
	[ -z "$(uniq -d "$T/$lane.all")" ] || fail "$lane: a seq is both delivered and lost"
	[ "$(wc -l <"$T/$lane.all")" = "$want" ] && [ "$(head -n 1 "$T/$lane.all")" = 1 ] &&
		[ "$(tail -n 1 "$T/$lane.all")" = "$want" ] ||
		fail "$lane: seqs do not account for 1..$want"
	echo "$lane: $(wc -l <"$T/$lane.lost") lost, $(wc -l <"$T/$lane.kept") delivered, 1..$want accounted for"
done
# The SOC saw the syslog lane's chain before the outage: the evicted
# batches show as a gap and a chain break, which it records and accepts.
grep -q "lane syslog: seq gap $((N1 + 1))-" "$T/soc.log" || fail "no gap logged at the SOC"
grep -q "lane syslog: chain break" "$T/soc.log" || fail "no chain break logged at the SOC"

agent_stop
soc_stop
"$SOC" verify "$STORE" >"$T/verify" || fail "verify: $(cat "$T/verify")"
cat "$T/verify"
jq -e -s --argjson n "$n_loss" 'map(select(.lane == "agent"))[0].loss_records == $n' "$T/verify" \
	>/dev/null || fail "verify does not count $n_loss loss records"
jq -e -s 'map(select(.lane == "syslog"))[0] | .gaps >= 1 and .consistent' "$T/verify" \
	>/dev/null || fail "verify: syslog lane has no gap"
note "ok"
