#!/bin/sh
# The disk budget at the agent level, with real traffic:
#  1. a spool budget smaller than what arrives (no uplink, so no outbox):
#     the oldest syslog segments are evicted, every eviction becomes a P0
#     loss record naming the seq range, and evicted + kept records account
#     for every seq (tests/integration/outbox_budget.sh does the same with
#     sealed batches and an SOC);
#  2. a file system that really fills up (a small tmpfs): no crash, the
#     loss is counted, and the agent keeps serving once space returns.
. "$WARD_ROOT/tests/lib/common.sh"
TMPFS=
cleanup() { cleanup_agent; [ -n "$TMPFS" ] && umount "$TMPFS" 2>/dev/null; true; }
trap cleanup EXIT
GEN=$WARD_TOOLS/syslog_loadgen
# The generator is a test tool; its exit-time leaks are not under test.
gen() { ASAN_OPTIONS=detect_leaks=0 "$GEN" "$@"; }
[ -x "$GEN" ] || fail "missing $GEN"

note "1. budget smaller than the data"
port=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
spool:
  budget_bytes: 16777216
  segment_max_bytes: 262144
  budget_check_ms: 100
  fsync_interval_ms: 20
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$port" }
YAML
agent_start "$WARD_TMP/a1" "$WARD_TMP/ward.yaml"
gen 127.0.0.1 "$port" 120000 >/dev/null || fail "load generator failed"
got_all() { [ "$(jqs '[.syslog.listeners[].messages] | add')" -ge 120000 ]; }
wait_for 120 got_all || fail "only $(jqs '[.syslog.listeners[].messages] | add') of 120000 received"
evicted() { [ "$(jqs .losses.evicted_records)" -gt 0 ]; }
wait_for 20 evicted || fail "nothing evicted: $(jqs .spool)"
used=$(jqs .spool.used_bytes)
# No uplink, no outbox: the budget holds the spool alone.
jqs '.spool | .outbox_bytes == 0 and .spool_bytes == .used_bytes' | grep -qx true ||
	fail "outbox counted without an uplink: $(jqs '.spool | del(.lanes)')"
[ "$used" -le $((16777216 + 16777216 / 8)) ] || fail "spool at $used bytes, budget 16 MiB"
ctl flush >/dev/null
spool_records agent | jq -c 'select(.type == "loss")' >"$WARD_TMP/loss.ndjson"
[ -s "$WARD_TMP/loss.ndjson" ] || fail "no loss records in the agent lane"
jq -e -s 'all(.[]; .lane == "syslog" and .class == "P1" and .reason == "disk_budget"
	and .stage == "spool" and .records > 0 and .last_seq - .first_seq + 1 == .records)' \
	"$WARD_TMP/loss.ndjson" >/dev/null ||
	fail "malformed loss records: $(head -n 3 "$WARD_TMP/loss.ndjson")"
python3 - "$WARD_ROOT/docs/schema/loss.schema.json" "$WARD_TMP/loss.ndjson" <<'PY' || fail "loss records do not match the schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for line in open(sys.argv[2]):
    jsonschema.validate(json.loads(line), schema)
PY
# Every seq is either evicted (named by a loss record) or still on disk.
"$WARDCTL" spool cat --seq --dir "$AGENT_DIR/spool" syslog 2>/dev/null | cut -f1 >"$WARD_TMP/kept"
jq -r '"\(.first_seq) \(.last_seq)"' "$WARD_TMP/loss.ndjson" | while read -r a b; do seq "$a" "$b"; done >"$WARD_TMP/lost"
sort -n "$WARD_TMP/kept" "$WARD_TMP/lost" >"$WARD_TMP/all"
n=$(wc -l <"$WARD_TMP/all")
[ -z "$(uniq -d "$WARD_TMP/all")" ] || fail "a seq is both kept and lost"
[ "$(head -n 1 "$WARD_TMP/all")" -eq 1 ] && [ "$(tail -n 1 "$WARD_TMP/all")" -eq "$n" ] ||
	fail "seqs do not account for every record: $(head -n 1 "$WARD_TMP/all")..$(tail -n 1 "$WARD_TMP/all") in $n"
[ "$n" -ge 120000 ] || fail "$n seqs for 120000 messages"
echo "$(wc -l <"$WARD_TMP/lost") evicted, $(wc -l <"$WARD_TMP/kept") kept, all $n seqs accounted for"
ctl status | grep -q "evicted" || fail "wardctl status does not show the eviction"
agent_stop

note "2. the file system fills up"
TMPFS=$WARD_TMP/small
mkdir -p "$TMPFS"
mount -t tmpfs -o size=6m tmpfs "$TMPFS" 2>/dev/null || { TMPFS=; skip "cannot mount tmpfs (not root?)"; }
chmod 755 "$TMPFS"
port=$(free_port)
cat >"$WARD_TMP/ward2.yaml" <<YAML
spool:
  budget_bytes: 1073741824
  segment_max_bytes: 262144
  fsync_interval_ms: 20
syslog:
  listeners:
    - { proto: udp, address: "127.0.0.1:$port" }
    - { proto: tcp, address: "127.0.0.1:$port" }
YAML
agent_start "$TMPFS/agent" "$WARD_TMP/ward2.yaml"
gen 127.0.0.1 "$port" 60000 --udp >/dev/null || fail "udp load failed"
dropped() { [ "$(jqs '.losses.dropped_spool')" -gt 0 ]; }
wait_for 30 dropped || fail "no spool drops counted on a full disk: $(jqs .losses)"
kill -0 "$AGENT_PID" || fail "agent died on a full disk"
[ "$(jqs .receivers.state)" = running ] || fail "receivers not running on a full disk"
note "free space; the agent serves again"
rm -f "$TMPFS/agent/spool/syslog/"*.seg
tok=after-$$
logger -n 127.0.0.1 -P "$port" --tcp "$tok"
has() { spool_records syslog | grep -q -- "$tok"; }
wait_for 20 has || fail "no delivery after space was freed"
agent_stop
note "ok"
