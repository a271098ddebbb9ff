#!/bin/sh
# The relay's Lumberjack v2 input: the npm client lumberjack-client sends
# windows of Winlogbeat-shaped Sysmon events in zlib-compressed frames and
# must get each window's ACK; then raw frames written from the protocol
# (plain 'J' frames, a v1 frame, an oversized frame, a zlib bomb); then TLS
# with client certificates: a CN listed in a group is taken, a CN in no
# group and a certificate from another CA are refused, and a reload that
# lists the CN lets it in.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
command -v node >/dev/null || skip "node not installed"
[ -d "$WARD_ROOT/tests/npm/node_modules/lumberjack-client" ] ||
	skip "tests/npm/node_modules missing (scripts/deps.sh test installs it)"
trap cleanup_agent EXIT

make_pki "$WARD_TMP/pki" || fail "make_pki"
chmod -R a+rX "$WARD_TMP/pki"
P=$WARD_TMP/pki
sport=$(free_port); lport=$(free_port); hport=$(free_port); tport=$(free_port)
write_config() {  # LJ-LISTENER-YAML CLIENT-CN
	cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners: [{ proto: udp, address: "127.0.0.1:$sport" }]
snmp:
  enabled: false
spool:
  fsync_interval_ms: 20
edr:
  lumberjack: $1
  hec: { address: "127.0.0.1:$hport" }
  groups:
    - name: radiology
      client_cns: [$2]
  max_event_bytes: 8192
  max_body_bytes: 1048576
YAML
}
write_config "{ address: \"127.0.0.1:$lport\" }" other-host
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tag=$$-$(date +%s)
count() { spool_records edr | grep -c -- "$1"; }
have() { [ "$(count "$1")" -ge "$2" ]; }
rec() { spool_records edr | grep -- "$1" | head -n 1; }

note "lumberjack-client: 5 windows of 200 events, compressed"
node "$WARD_ROOT/tests/npm/lj_send.js" "$lport" 5 200 "lj-$tag" > "$WARD_TMP/lj.out" ||
	{ cat "$WARD_TMP/lj.out"; fail "lumberjack-client"; }
[ "$(grep -c '^acked' "$WARD_TMP/lj.out")" -eq 5 ] || fail "ACKs: $(cat "$WARD_TMP/lj.out")"
# Every ACKed event is already durable, so it is in the lane now.
[ "$(count "lj-$tag")" -eq 1000 ] || fail "records after the ACKs: $(count "lj-$tag") of 1000"
rec "lj-$tag-4-199" | jq -e '.type == "edr" and .input == "lumberjack" and .auth.method == "none"
	and .ecs.event.code == "3" and .ecs.destination.ip == "203.0.113.9" and .ecs.destination.port == 443
	and .ecs.process.name == "powershell.exe" and .host_name == "ws-rad-19"
	and (.event_time | test("Z$"))' >/dev/null || fail "record: $(rec "lj-$tag-4-199")"

note "raw frames from the protocol"
python3 - "$lport" "$tag" > "$WARD_TMP/raw.out" <<'PY' || { cat "$WARD_TMP/raw.out"; fail "raw frames"; }
import json, socket, struct, sys, zlib
port, tag = int(sys.argv[1]), sys.argv[2]

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def jframe(seq, obj):
    b = json.dumps(obj).encode()
    return b"2J" + struct.pack(">II", seq, len(b)) + b

def read_ack(s):
    buf = b""
    while len(buf) < 6:
        d = s.recv(6 - len(buf))
        if not d:
            return None
        buf += d
    assert buf[:2] == b"2A", buf
    return struct.unpack(">I", buf[2:])[0]

def closed(s):
    try:
        return s.recv(64) == b""
    except ConnectionResetError:
        return True

# Plain JSON frames, split across writes at odd places, then the ACK.
s = conn()
data = b"2W" + struct.pack(">I", 3) + b"".join(jframe(i, {"message": f"raw-{tag}-{i}"}) for i in (1, 2, 3))
for i in range(0, len(data), 7):
    s.sendall(data[i:i + 7])
acks = []
while not acks or acks[-1] != 3:
    a = read_ack(s)
    assert a is not None, "connection closed before the ACK"
    acks.append(a)
print("acks", acks)
# A second window on the same connection, compressed, with a W inside.
inner = b"2W" + struct.pack(">I", 2) + jframe(1, {"message": f"rawz-{tag}-1"}) + jframe(2, {"message": f"rawz-{tag}-2"})
z = zlib.compress(inner)
s.sendall(b"2C" + struct.pack(">I", len(z)) + z)
while read_ack(s) != 2:
    pass
s.close()

# A v1 frame: closed.
s = conn(); s.sendall(b"1W" + struct.pack(">I", 1)); assert closed(s), "v1 frame"; s.close()
# A frame larger than max_event_bytes: closed, nothing stored.
s = conn(); s.sendall(b"2W\0\0\0\1" + b"2J" + struct.pack(">II", 1, 100000)); assert closed(s), "big frame"; s.close()
# A zlib bomb: 16 MiB of spaces in a small frame, over max_body_bytes.
z = zlib.compress(b"2J" + struct.pack(">II", 1, 16 << 20) + b" " * (16 << 20), 9)
assert len(z) < 1 << 20
s = conn(); s.sendall(b"2W\0\0\0\1" + b"2C" + struct.pack(">I", len(z)) + z); assert closed(s), "bomb"; s.close()
# Not JSON: kept as text, still ACKed.
s = conn(); s.sendall(b"2W\0\0\0\1" + b"2J" + struct.pack(">II", 7, 12) + f"notjson{tag[:5]}".encode()[:12])
assert read_ack(s) == 7; s.close()
print("ok")
PY
wait_for 10 have "raw-$tag" 3 || fail "raw records"
[ "$(count "rawz-$tag")" -eq 2 ] || fail "compressed raw records: $(count "rawz-$tag")"
grep -q '^ok$' "$WARD_TMP/raw.out" || fail "raw: $(cat "$WARD_TMP/raw.out")"

note "schema"
spool_records edr > "$WARD_TMP/recs.ndjson"
python3 - "$WARD_ROOT/docs/schema/edr.schema.json" "$WARD_TMP/recs.ndjson" <<'PY' || fail "schema"
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for line in open(sys.argv[2]):
    errs = list(v.iter_errors(json.loads(line)))
    if errs:
        print(line[:300]); print(errs[0].message); sys.exit(1)
PY
agent_stop

note "TLS with client certificates"
write_config "{ address: \"127.0.0.1:$tport\", cert: \"$P/server.pem\", key: \"$P/server.key\", client_ca: \"$P/ca.pem\" }" other-host
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
LJ_TIMEOUT_MS=3000 node "$WARD_ROOT/tests/npm/lj_send.js" "$tport" 1 10 "nocn-$tag" \
	"$P/ca.pem" "$P/client.pem" "$P/client.key" > "$WARD_TMP/lj.out" &&
	fail "a certificate whose CN is in no group was taken"
LJ_TIMEOUT_MS=3000 node "$WARD_ROOT/tests/npm/lj_send.js" "$tport" 1 10 "rogue-$tag" \
	"$P/ca.pem" "$P/rogue-client.pem" "$P/rogue-client.key" > "$WARD_TMP/lj.out" &&
	fail "a certificate from another CA was taken"
[ "$(count "nocn-$tag")" -eq 0 ] && [ "$(count "rogue-$tag")" -eq 0 ] || fail "refused events were stored"
# Counted per source in the agent's status, as of the receivers' last report.
tls_rejects() { jqs '.edr.sources[0].rejects | .auth + .tls' | grep -qx '[2-9][0-9]*'; }
wait_for 10 tls_rejects || fail "rejects: $(jqs .edr.sources)"

note "reload listing the CN"
write_config "{ address: \"127.0.0.1:$tport\", cert: \"$P/server.pem\", key: \"$P/server.key\", client_ca: \"$P/ca.pem\" }" fw01.hospital.test
kill -HUP "$AGENT_PID"
sent() { node "$WARD_ROOT/tests/npm/lj_send.js" "$tport" 2 50 "tls-$tag" "$P/ca.pem" "$P/client.pem" "$P/client.key"; }
LJ_TIMEOUT_MS=3000 wait_for 20 sent || fail "TLS client after the reload"
rec "tls-$tag" | jq -e '.auth.method == "client_cert" and .auth.cn == "fw01.hospital.test"
	and .auth.group == "radiology"' >/dev/null || fail "tls record: $(rec "tls-$tag")"
agent_stop
echo "PASS"
