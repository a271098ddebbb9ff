#!/bin/sh
# The mirror port under the agent: ward-agent starts ward-sensor (AF_PACKET,
# two fanout workers) on one end of a veth pair inside a namespace the test
# creates, while curl and ping cross the link. wardctl status shows the
# port's pps, bytes, flows and VLANs; the sensor runs as nobody; the
# conn-<if> lane gets conn records and the sensor-<if> lane stats records
# (checked against their schemas); GRO turned on shows as a warning with
# its fix; an interface that does not exist shows as an error in words; a
# change to the sensor section restarts the sensor; a BPF filter that hides
# the server's data (but not the client's ACKs) raises a capture_loss notice.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"

SENSOR=$WARD_BUILD/ward-sensor
[ "$(id -u)" -eq 0 ] || skip "needs root for network namespaces"
[ -x "$SENSOR" ] || skip "ward-sensor not built (CONFIG_SENSOR off)"
for t in curl ethtool jq ping; do
	command -v $t >/dev/null || skip "$t not installed"
done
id nobody >/dev/null 2>&1 || skip "no user nobody"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"

HTTP_PID= PING_PID=
cleanup() {
	for p in $HTTP_PID $PING_PID; do kill "$p" 2>/dev/null; done
	if [ -n "${AGENT_PID:-}" ]; then
		for p in $(jqs '.sensors[]?.pid' 2>/dev/null); do
			[ "$p" -gt 0 ] 2>/dev/null && kill -KILL "$p" 2>/dev/null
		done
	fi
	cleanup_agent
	wait 2>/dev/null
	netns_destroy
}
trap cleanup EXIT INT TERM

note "two namespaces and a veth pair"
netns_create mcli msrv
CLI=$(netns_name mcli) SRV=$(netns_name msrv)
IF_C=mc$$ IF_S=ms$$
ip -n "$CLI" link add "$IF_C" type veth peer name "$IF_S" || fail "veth pair"
ip -n "$CLI" link set "$IF_S" netns "$SRV" || fail "veth to $SRV"
ip -n "$CLI" addr add 10.79.0.1/24 dev "$IF_C"
ip -n "$SRV" addr add 10.79.0.2/24 dev "$IF_S"
ip -n "$CLI" link set "$IF_C" up
ip -n "$SRV" link set "$IF_S" up
ip netns exec "$CLI" ethtool -K "$IF_C" gro off gso off tso off >/dev/null 2>&1
ip netns exec "$SRV" ethtool -K "$IF_S" gro off gso off tso off >/dev/null 2>&1
ip netns exec "$SRV" ethtool -k "$IF_S" | grep -q '^generic-receive-offload: off' ||
	fail "GRO still on"
CONN_LANE=conn-$IF_S STATS_LANE=sensor-$IF_S

note "ward-agent (and its sensor) in $SRV"
cat >"$WARD_TMP/ward.yaml" <<YAML
agent:
  user: root
spool:
  fsync_interval_ms: 20
  segment_max_age_ms: 200
sensor:
  interfaces: [$IF_S]
  backend: afpacket
  workers: 2
  stats_interval_ms: 1000
  user: nobody
YAML
AGENT_DIR=$WARD_TMP/agent
mkdir -p "$AGENT_DIR"; chmod 755 "$AGENT_DIR"
(cd "$AGENT_DIR" && exec ip netns exec "$SRV" "$AGENT" -c "$WARD_TMP/ward.yaml") \
	>"$AGENT_DIR/agent.log" 2>&1 &
AGENT_PID=$!
wait_for 20 agent_ready || { cat "$AGENT_DIR/agent.log"; fail "agent did not come up"; }
capturing() { [ "$(jqs '.sensors[0].state')" = capturing ]; }
wait_for 20 capturing || { cat "$AGENT_DIR/agent.log"; status_json; fail "sensor not capturing"; }
jqs '.sensors[0]'
[ "$(jqs '.sensors[0].interface')" = "$IF_S" ] || fail "interface"
[ "$(jqs '.sensors[0].workers')" -eq 2 ] || fail "two workers"
spid=$(jqs '.sensors[0].pid')
[ "$(ps -o user= -p "$spid" | tr -d ' ')" = nobody ] || fail "ward-sensor does not run as nobody"
grep -q "^CapEff:[[:space:]]*0*$" "/proc/$spid/status" || fail "ward-sensor keeps capabilities"

note "traffic"
mkdir -p "$WARD_TMP/www"; echo hello >"$WARD_TMP/www/index.html"
(cd "$WARD_TMP/www" && exec ip netns exec "$SRV" python3 -m http.server 8080 \
	--bind 10.79.0.2) >"$WARD_TMP/http.log" 2>&1 &
HTTP_PID=$!
http_up() { ip netns exec "$SRV" ss -Hltn "sport = :8080" | grep -q LISTEN; }
wait_for 10 http_up || fail "http.server did not start"
ip netns exec "$CLI" ping -i 0.1 10.79.0.2 >/dev/null 2>&1 &
PING_PID=$!
i=0
while [ $i -lt 5 ]; do
	ip netns exec "$CLI" curl -sf -o /dev/null "http://10.79.0.2:8080/index.html" || fail "curl"
	i=$((i + 1))
done
traffic() { jqs '.sensors[0] | .pps > 0 and .bps > 0 and .packets > 20 and .flows >= 5' | grep -q true; }
wait_for 20 traffic || { jqs '.sensors[0]'; fail "no pps/flows in status"; }
jqs '.sensors[0] | {pps, bps, packets, flows, flows_active, flows_capacity, kernel_drops, capture_loss_pct, vlans}'
[ "$(jqs '.sensors[0].flows_capacity')" -gt 0 ] || fail "flows_capacity"
ctl status >"$WARD_TMP/status.txt"
cat "$WARD_TMP/status.txt"
grep -q "^Mirror ports" "$WARD_TMP/status.txt" || fail "no Mirror ports block"
grep -q "$IF_S  capturing (afpacket, 2 workers" "$WARD_TMP/status.txt" || fail "port line"
grep -Eq "traffic +[0-9.]+ pps" "$WARD_TMP/status.txt" || fail "traffic line"
grep -q "GRO and LRO off" "$WARD_TMP/status.txt" || fail "offload line"

note "conn records in $CONN_LANE, stats in $STATS_LANE"
http_rec() { spool_records "$CONN_LANE" | jq -c 'select(."id.resp_p" == 8080 and .conn_state == "SF")' | grep -c .; }
five() { [ "$(http_rec)" -ge 5 ]; }
wait_for 30 five || { spool_records "$CONN_LANE" | head; fail "no conn records for the 5 requests"; }
stats_rec() { spool_records "$STATS_LANE" | jq -c 'select(.type == "sensor_stats" and .packets > 0)' | grep -q .; }
wait_for 20 stats_rec || fail "no sensor_stats record with packets"
spool_records "$CONN_LANE" >"$WARD_TMP/conn.ndjson"
spool_records "$STATS_LANE" >"$WARD_TMP/stats.ndjson"
# Every record by its type: conn and the analyzers' (http, files ...) in
# the conn lane, sensor_stats and notices in the P0 lane.
python3 "$WARD_ROOT/tests/tools/schema_check.py" "$WARD_ROOT/docs/schema" "$WARD_TMP/conn.ndjson" \
	"$WARD_TMP/stats.ndjson" || fail "schema validation"
jq -c 'select(.type == "http")' "$WARD_TMP/conn.ndjson" | grep -q . ||
	fail "no http record in $CONN_LANE: the analyzers do not run under the agent"
jqs '.spool.lanes[] | select(.name == "'"$CONN_LANE"'") | .class' | grep -qx P2 || fail "conn lane class"
jqs '.spool.lanes[] | select(.name == "'"$STATS_LANE"'") | .class' | grep -qx P0 || fail "stats lane class"

note "GRO on: a warning with the fix"
gro_warned() { jqs '.errors[]' | grep -q "mirror port $IF_S: GRO.* ethtool -K $IF_S gro off"; }
gro_clear() { ! gro_warned; }
if ip netns exec "$SRV" ethtool -K "$IF_S" gro on >/dev/null 2>&1; then
	wait_for 20 gro_warned || { jqs '.sensors[0].offload'; fail "no GRO warning"; }
	ctl status | grep -q "fix: ethtool -K $IF_S gro off lro off" || fail "wardctl text: no fix"
	ip netns exec "$SRV" ethtool -K "$IF_S" gro off >/dev/null 2>&1
	wait_for 20 gro_clear || fail "GRO warning stays after gro off"
else
	note "this kernel cannot turn GRO on for a veth: the warning is not checked"
fi

note "an interface that does not exist: the error in words"
sed -i "s/interfaces: \[$IF_S\]/interfaces: [$IF_S, nosuch$$]/" "$WARD_TMP/ward.yaml"
ctl reload | grep -q '"ok":true' || fail "reload"
named() { jqs '.errors[]' | grep -q "mirror port nosuch$$: .*nosuch$$"; }
wait_for 20 named || { jqs '.errors'; fail "no error for the missing interface"; }
jqs '.errors[]' | grep "nosuch$$"
[ "$(jqs '.sensors[0].pid')" -eq "$spid" ] || fail "the working sensor was restarted by the reload"

note "a change to the sensor section restarts the sensor, which flushes its flows"
before=$(spool_records "$CONN_LANE" | grep -c .)
sed -i "s/stats_interval_ms: 1000/stats_interval_ms: 2000/" "$WARD_TMP/ward.yaml"
ctl reload | grep -q '"ok":true' || fail "reload 2"
restarted() { p=$(jqs '.sensors[0].pid'); [ "$p" -gt 0 ] && [ "$p" -ne "$spid" ] && capturing; }
wait_for 30 restarted || { jqs '.sensors[0]'; fail "the sensor was not restarted for its new settings"; }
[ "$(jqs '.sensors[0].restarts')" -eq 0 ] || fail "a restart for a reload counted as a failure"
# The ping flow was open: the old process wrote it when it stopped.
flushed() { [ "$(spool_records "$CONN_LANE" | grep -c .)" -gt "$before" ]; }
wait_for 20 flushed || fail "the stopped sensor did not flush its open flows"
spid=$(jqs '.sensors[0].pid')

note "capture loss: a filter hides the server's large segments, the ACKs tell"
sed -i 's/^  user: nobody$/  user: nobody\n  bpf: "not (tcp src port 8080 and greater 1000)"/' "$WARD_TMP/ward.yaml"
grep -q '^  bpf:' "$WARD_TMP/ward.yaml" || fail "bpf not added to the config"
ctl reload | grep -q '"ok":true' || fail "reload 3"
wait_for 30 restarted || { jqs '.sensors[0]'; fail "the sensor was not restarted with the filter"; }
spid=$(jqs '.sensors[0].pid')
head -c 300000 /dev/urandom >"$WARD_TMP/www/blob.bin"
for i in 1 2; do
	ip netns exec "$CLI" curl -sf -o /dev/null "http://10.79.0.2:8080/blob.bin" || fail "curl blob"
done
notice() { spool_records "$STATS_LANE" | jq -c 'select(.type == "notice" and .note == "capture_loss")' | grep -q .; }
wait_for 30 notice || { spool_records "$STATS_LANE" | tail -3; fail "no capture_loss notice"; }
spool_records "$STATS_LANE" | jq -c 'select(.type == "notice")' >"$WARD_TMP/notice.ndjson"
head -n 1 "$WARD_TMP/notice.ndjson"
spool_records "$STATS_LANE" | jq -c 'select(.type == "sensor_stats" and .capture_loss_pct > 10)' |
	grep -q . || fail "no stats record with the capture loss"
python3 - "$WARD_ROOT/docs/schema/notice.schema.json" "$WARD_TMP/notice.ndjson" <<'PY' || fail "notice schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for line in open(sys.argv[2]):
    v.validate(json.loads(line))
print("notice records valid")
PY

note "stop"
kill "$PING_PID"; PING_PID=
agent_stop
gone() { ! kill -0 "$spid" 2>/dev/null; }
wait_for 10 gone || fail "ward-sensor outlived the agent"
grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$AGENT_DIR/agent.log" && fail "sanitizer report"
echo "PASS"
