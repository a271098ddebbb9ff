#!/bin/sh
# Real senders: net-snmp's snmptrap and snmpinform, v1, v2c and v3 at every
# authentication and privacy protocol net-snmp has here, and v3 informs
# with engine discovery. Oracles: net-snmp's snmptrapd and tshark decode
# the same traps; OIDs, types and values must agree. Malformed input and
# wrong credentials are rejected with the right counter while the
# receiver keeps serving. An IPv6 listener receives a v2c trap, and the
# engine's boots persist and rise across a restart. The image's own
# configuration listens on UDP 162 for both address families.
. "$WARD_ROOT/tests/lib/common.sh"
command -v snmptrap >/dev/null || skip "net-snmp tools not installed"
TRAPD_PID=
cleanup() { [ -n "$TRAPD_PID" ] && kill "$TRAPD_PID" 2>/dev/null; cleanup_agent; }
trap cleanup EXIT

port=$(free_port)
sport=$(free_port)
# IPv6 needs a loopback address of its own; without one that part is
# left out (said so in the log), the rest still runs.
have_v6=
ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/' && have_v6=1
v6_listener=${have_v6:+", \"[::1]:$port\""}
# The trap sender's engine ID (snmptrap -e): traps are sent by an
# authoritative sender, and v3 users are bound to it.
SENDER_ENGINE=0x8000000001020304aa
PASS=ward-auth-pass-1
PRIV=ward-priv-pass-1
AUTHS="MD5 SHA SHA-224 SHA-256 SHA-384 SHA-512"
PRIVS="DES AES AES-192 AES-256"
lc() { echo "$1" | tr 'A-Z' 'a-z' | tr -d '-'; }

{
	cat <<YAML
spool:
  fsync_interval_ms: 20
syslog:
  listeners:
    - { proto: udp, address: "127.0.0.1:$sport" }
snmp:
  listeners: ["127.0.0.1:$port"$v6_listener]
  communities: [public, hospital-ro]
  users:
    - { name: noauth, auth: none }
    - { name: informer, auth: sha256, auth_password: $PASS, priv: aes, priv_password: $PRIV }
YAML
	for a in $AUTHS; do
		echo "    - { name: u-$(lc $a), auth: $(lc $a), auth_password: $PASS, engine_id: \"${SENDER_ENGINE#0x}\" }"
		for p in $PRIVS; do
			echo "    - { name: u-$(lc $a)-$(lc $p), auth: $(lc $a), auth_password: $PASS, priv: $(lc $p), priv_password: $PRIV, engine_id: \"${SENDER_ENGINE#0x}\" }"
		done
	done
} >"$WARD_TMP/ward.yaml"
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
snmp_ready() { jqs '(.snmp.listeners | length) > 0 and all(.snmp.listeners[]; .listening)' | grep -q true; }
wait_for 10 snmp_ready || fail "snmp listeners not up: $(jqs .snmp.listeners)"

tok=$$
# The varbinds every trap carries: one of each type net-snmp can send.
VB="1.3.6.1.2.1.2.2.1.1.3 i 3 1.3.6.1.2.1.2.2.1.2.3 s Gi0/3-$tok
1.3.6.1.4.1.99.1 C 12345678901234 1.3.6.1.4.1.99.2 c 5 1.3.6.1.4.1.99.3 u 7
1.3.6.1.4.1.99.4 t 1234 1.3.6.1.4.1.99.5 a 192.0.2.9 1.3.6.1.4.1.99.6 o 1.3.6.1.2.1.1
1.3.6.1.4.1.99.7 x DEADBEEF"
LINKDOWN=1.3.6.1.6.3.1.1.5.3
# shellcheck disable=SC2086
trap2() { snmptrap "$@" 127.0.0.1:"$port" '' $LINKDOWN $VB; }

note "v1, v2c, v2c inform"
# shellcheck disable=SC2086
snmptrap -v 1 -c public 127.0.0.1:"$port" 1.3.6.1.4.1.8072.2.3.1 192.0.2.1 6 17 '' $VB || fail "snmptrap v1"
trap2 -v 2c -c hospital-ro || fail "snmptrap v2c"
# snmpinform exits 0 only when the probe answered the inform.
# shellcheck disable=SC2086
snmpinform -v 2c -c public -r 2 -t 3 127.0.0.1:"$port" '' $LINKDOWN $VB || fail "v2c inform not acknowledged"
sent=3

if [ -n "$have_v6" ]; then
	note "v2c over IPv6"
	jqs '.snmp.listeners[].address' | grep -qxF "[::1]:$port" || fail "no [::1]:$port listener in status"
	# shellcheck disable=SC2086
	snmptrap -v 2c -c public "udp6:[::1]:$port" '' $LINKDOWN $VB || fail "snmptrap v2c over IPv6"
	sent=$((sent + 1))
	v6_rec() { spool_records snmp | grep -- "Gi0/3-$tok" | jq -e -s 'any(.[]; .agent_addr == "::1" and (.peer | startswith("[::1]:")))' >/dev/null; }
	wait_for 10 v6_rec || fail "no record from [::1]: $(jqs '.snmp.listeners')"
else
	note "no IPv6 loopback here: the IPv6 listener is not tested"
fi

note "v3 traps at every security level and protocol"
trap2 -v 3 -e "$SENDER_ENGINE" -u noauth -l noAuthNoPriv || fail "v3 noAuthNoPriv"
sent=$((sent + 1))
for a in $AUTHS; do
	trap2 -v 3 -e "$SENDER_ENGINE" -u "u-$(lc $a)" -l authNoPriv -a "$a" -A "$PASS" || fail "v3 $a"
	sent=$((sent + 1))
	for p in $PRIVS; do
		trap2 -v 3 -e "$SENDER_ENGINE" -u "u-$(lc $a)-$(lc $p)" -l authPriv -a "$a" -A "$PASS" \
			-x "$p" -X "$PRIV" || fail "v3 $a/$p"
		sent=$((sent + 1))
	done
done

note "v3 inform with engine discovery"
# shellcheck disable=SC2086
snmpinform -v 3 -u informer -l authPriv -a SHA-256 -A "$PASS" -x AES -X "$PRIV" -r 2 -t 3 \
	127.0.0.1:"$port" '' $LINKDOWN $VB || fail "v3 inform not acknowledged (discovery or USM failed): $(jqs .snmp.counters)"
sent=$((sent + 1))

recs() { spool_records snmp | grep -- "Gi0/3-$tok"; }
have() { [ "$(recs | wc -l)" -ge "$sent" ]; }
wait_for 20 have || fail "expected $sent records, got $(recs | wc -l): $(jqs .snmp.counters)"
[ "$(recs | wc -l)" -eq "$sent" ] || fail "duplicates: $(recs | wc -l) records for $sent notifications"

note "record fields"
recs >"$WARD_TMP/recs.ndjson"
python3 - "$WARD_ROOT/docs/schema/snmp_trap.schema.json" "$WARD_TMP/recs.ndjson" <<'PY' || fail "schema"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
for line in open(sys.argv[2]):
    jsonschema.validate(json.loads(line), schema)
PY
jq -e -s 'map(select(.version == "1")) | length == 1 and (.[0] | .enterprise == "1.3.6.1.4.1.8072.2.3.1"
	and .generic_trap == 6 and .specific_trap == 17
	and .trap_oid == "1.3.6.1.4.1.8072.2.3.1.0.17")' "$WARD_TMP/recs.ndjson" >/dev/null ||
	fail "v1 record (RFC 3584 3.1 trap OID): $(jq -c 'select(.version == "1")' "$WARD_TMP/recs.ndjson")"
jq -e -s 'all(.[] | select(.version != "1"); .trap_oid == "1.3.6.1.6.3.1.1.5.3" and .trap_name == "linkDown")' \
	"$WARD_TMP/recs.ndjson" >/dev/null || fail "trap OID or name"
jq -e -s 'all(.[]; [.varbinds[] | select(.oid == "1.3.6.1.2.1.2.2.1.2.3")][0]
	| .type == "octet_string" and .name == "ifDescr.3")' "$WARD_TMP/recs.ndjson" >/dev/null || fail "ifDescr varbind"
jq -e -s 'all(.[]; [.varbinds[] | select(.oid == "1.3.6.1.4.1.99.1")][0] | .type == "counter64"
	and (.value | tostring) == "12345678901234")' "$WARD_TMP/recs.ndjson" >/dev/null || fail "counter64 varbind"
jq -e -s 'all(.[]; [.varbinds[] | select(.oid == "1.3.6.1.4.1.99.5")][0] | .type == "ipaddress" and .value == "192.0.2.9")' \
	"$WARD_TMP/recs.ndjson" >/dev/null || fail "ipaddress varbind"
jq -e -s '[.[] | select(.version == "3")] | length == (1 + 6 + 24 + 1)
	and (map(.security_level) | unique == ["authNoPriv", "authPriv", "noAuthNoPriv"])
	and any(.[]; .user == "u-sha512-aes256" and .security_level == "authPriv")' "$WARD_TMP/recs.ndjson" >/dev/null ||
	fail "v3 records: $(jq -c '[.user, .security_level]' "$WARD_TMP/recs.ndjson" | sort | tr '\n' ' ')"
jq -e -s 'all(.[] | select(.version != "3"); .community_match != null and (has("community") | not))' \
	"$WARD_TMP/recs.ndjson" >/dev/null || fail "community handling (matched name recorded, string not uploaded)"
[ "$(jqs .snmp.counters.informs_acknowledged)" -ge 2 ] || fail "informs acknowledged: $(jqs .snmp.counters)"

note "oracle: snmptrapd decodes the same traps"
command -v snmptrapd >/dev/null || skip "snmptrapd not installed"
oport=$(free_port)
mkdir -p "$WARD_TMP/trapd"
{
	echo "authCommunity log public"
	echo "createUser -e $SENDER_ENGINE u-sha256-aes SHA-256 $PASS AES $PRIV"
	echo "authUser log u-sha256-aes"
	echo "doNotLogTraps no"
} >"$WARD_TMP/trapd/snmptrapd.conf"
snmptrapd -f -Lo -n -On -C -c "$WARD_TMP/trapd/snmptrapd.conf" -M /dev/null -m '' \
	--persistentDir="$WARD_TMP/trapd" 127.0.0.1:"$oport" >"$WARD_TMP/trapd/out.log" 2>&1 &
TRAPD_PID=$!
wait_for 10 sh -c "ss -Hlun 'sport = :$oport' | grep -q ." || fail "snmptrapd did not start"
otok=oracle-$tok
# shellcheck disable=SC2086
VB2=$(echo "$VB" | sed "s/Gi0\/3-$tok/$otok/")
for dst in "$port" "$oport"; do
	# shellcheck disable=SC2086
	snmptrap -v 2c -c public 127.0.0.1:"$dst" '' $LINKDOWN $VB2
	# shellcheck disable=SC2086
	snmptrap -v 3 -e "$SENDER_ENGINE" -u u-sha256-aes -l authPriv -a SHA-256 -A "$PASS" -x AES -X "$PRIV" \
		127.0.0.1:"$dst" '' $LINKDOWN $VB2
done
trapd_has() { [ "$(grep -c -- "$otok" "$WARD_TMP/trapd/out.log")" -ge 2 ]; }
wait_for 10 trapd_has || { cat "$WARD_TMP/trapd/out.log"; fail "snmptrapd did not log both oracle traps"; }
ward_has() { [ "$(spool_records snmp | grep -c -- "$otok")" -ge 2 ]; }
wait_for 10 ward_has || fail "ward did not record both oracle traps"
spool_records snmp >"$WARD_TMP/ward-snmp.ndjson"
# snmptrapd -On prints "OID = TYPE: VALUE" per varbind; reduce both sides
# to "oid type value" lines in a common vocabulary and compare.
python3 - "$WARD_TMP/trapd/out.log" "$otok" "$WARD_TMP" <<'PY' || fail "snmptrapd and ward disagree"
import json, re, subprocess, sys
log, tok, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
types = {"INTEGER": "integer", "STRING": "octet_string", "Hex-STRING": "octet_string",
         "Counter64": "counter64", "Counter32": "counter32", "Gauge32": "gauge32",
         "Timeticks": "timeticks", "IpAddress": "ipaddress", "OID": "oid"}
def norm(t, v):
    v = v.strip()
    if t == "Timeticks":
        v = re.match(r"\((\d+)\)", v).group(1)
    elif t == "Hex-STRING":
        v = v.replace(" ", "").lower()
    elif t == "STRING":
        v = v.strip('"')
    elif t == "OID":
        v = v.lstrip(".")
    return v
trapd = []
for line in open(log):
    if tok not in line:
        continue
    trap = set()
    for oid, t, v in re.findall(r"\.?([0-9.]+) = ([A-Za-z0-9-]+): (\"[^\"]*\"|[^\t]*)", line):
        # sysUpTime.0 differs between the two sends: not comparable.
        if t in types and oid.lstrip(".") != "1.3.6.1.2.1.1.3.0":
            trap.add((oid.lstrip("."), types[t], norm(t, v)))
    trapd.append(trap)
ward = []
recs = subprocess.run(["sh", "-c", "cat " + tmp + "/ward-snmp.ndjson"], capture_output=True, text=True).stdout
for line in recs.splitlines():
    r = json.loads(line)
    if tok not in line:
        continue
    trap = set()
    for vb in r["varbinds"]:
        v = vb["value"]
        # Bytes that are not UTF-8 are kept as hex too; compare those.
        if vb["type"] == "octet_string" and vb.get("encoding") == "hex":
            v = v.lower()
        elif vb["type"] == "octet_string" and "hex" in vb:
            v = vb["hex"].lower()
        if vb["oid"] != "1.3.6.1.2.1.1.3.0":
            trap.add((vb["oid"], vb["type"], str(v)))
    ward.append(trap)
assert len(trapd) == 2 and len(ward) == 2, (len(trapd), len(ward))
for a, b in zip(trapd, ward):
    # snmptrapd shows DEADBEEF as Hex-STRING, ward as hex: both normalised.
    assert a == b, ("ward lacks", a - b, "ward has besides", b - a)
print("snmptrapd and ward agree on", sum(len(t) for t in trapd), "varbinds")
PY
note "oracle: tshark decodes the v2c trap the same way"
if command -v tshark >/dev/null; then
	ttok=tshark-$tok
	tshark -i lo -f "udp dst port $port" -c 1 -w "$WARD_TMP/trap.pcapng" >"$WARD_TMP/tshark.log" 2>&1 &
	TSHARK_PID=$!
	capturing() { grep -q "Capturing on" "$WARD_TMP/tshark.log"; }
	wait_for 20 capturing || fail "tshark did not start: $(cat "$WARD_TMP/tshark.log")"
	# shellcheck disable=SC2086
	snmptrap -v 2c -c public 127.0.0.1:"$port" '' $LINKDOWN $(echo "$VB" | sed "s/Gi0\/3-$tok/$ttok/")
	wait "$TSHARK_PID" || fail "tshark capture failed"
	# A port other than 162 needs telling tshark that it carries SNMP.
	tshark -r "$WARD_TMP/trap.pcapng" -d "udp.port==$port,snmp" -T fields -E separator=/t -E occurrence=a -E aggregator=, \
		-e snmp.name -e snmp.value.int -e snmp.value.ipv4 -e snmp.value.oid -e snmp.value.octets \
		-e snmp.value.counter -e snmp.value.g32 -e snmp.value.timeticks >"$WARD_TMP/tshark.txt" ||
		fail "tshark could not decode the capture"
	t_has() { spool_records snmp | grep -q -- "$ttok"; }
	wait_for 10 t_has || fail "ward did not record the tshark trap"
	spool_records snmp | grep -- "$ttok" | python3 -c '
import json, sys
rec = json.loads(sys.stdin.readline())
f = (open(sys.argv[1]).read().rstrip("\n").split("\t") + [""] * 8)[:8]
names, ints, ips, oids, octets, counters, gauges, ticks = [[v for v in x.split(",") if v] for x in f]
w_oids = [vb["oid"] for vb in rec["varbinds"]]
# Both list sysUpTime.0 and snmpTrapOID.0 as the first two varbinds (RFC 3416 4.2.6).
assert names == w_oids, (names, w_oids)
def values(*types):
    return [vb for vb in rec["varbinds"] if vb["type"] in types]
def octet_hex(vb):
    # Text that is not UTF-8 is kept as hex; UTF-8 text is the bytes sent.
    if vb.get("encoding") == "hex":
        return vb["value"].lower()
    return vb.get("hex", vb["value"].encode("utf-8").hex()).lower()
checks = [("integer", ints, [str(vb["value"]) for vb in values("integer")]),
          ("ipaddress", ips, [vb["value"] for vb in values("ipaddress")]),
          ("octet_string", octets, [octet_hex(vb) for vb in values("octet_string")]),
          # tshark shows Counter32 and Counter64 in one field, in order.
          ("counter32/64", counters, [str(vb["value"]) for vb in values("counter32", "counter64")]),
          ("gauge32", gauges, [str(vb["value"]) for vb in values("gauge32")]),
          ("timeticks", ticks, [str(vb["value"]) for vb in values("timeticks")]),
          ("oid", oids, [vb["value"] for vb in values("oid")])]
for name, t, w in checks:
    assert t == w, (name, t, w)
assert rec["trap_oid"] in oids, (rec["trap_oid"], oids)
print("tshark and ward agree on", len(w_oids), "varbinds: OIDs, types and values")
' "$WARD_TMP/tshark.txt" || fail "tshark and ward disagree"
fi

note "malformed input and wrong credentials"
rej() { jqs ".snmp.counters.rejects.$1 // 0"; }
b_ber=$(rej ber)
python3 - "$port" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in [b"\x30\x05\x02\x01", b"\x30\x80\x02\x01\x01\x00\x00", b"\x04\x03abc",
          b"\x30\x03\x02\x01\x01garbage", b"\xff" * 40, b""]:
    s.sendto(d, ("127.0.0.1", int(sys.argv[1])))
PY
more_ber() { [ "$(rej ber)" -gt "$b_ber" ]; }
wait_for 10 more_ber || fail "malformed BER not counted: $(jqs .snmp.counters)"
b_dig=$(rej wrong_digest)
trap2 -v 3 -e "$SENDER_ENGINE" -u u-sha -l authNoPriv -a SHA -A wrong-password-9 || true
more_dig() { [ "$(rej wrong_digest)" -gt "$b_dig" ]; }
wait_for 10 more_dig || fail "wrong auth key not counted as wrong_digest: $(jqs .snmp.counters)"
b_com=$(rej community)
trap2 -v 2c -c not-a-community || true
more_com() { [ "$(rej community)" -gt "$b_com" ]; }
wait_for 10 more_com || fail "unknown community not counted"
jqs '.snmp.sources[] | select(.address == "127.0.0.1") | .rejects | keys[]' | grep -q community ||
	fail "per-source reject counters missing"
b_usr=$(rej unknown_user)
trap2 -v 3 -e "$SENDER_ENGINE" -u nobody-here -l authNoPriv -a SHA -A "$PASS" || true
more_usr() { [ "$(rej unknown_user)" -gt "$b_usr" ]; }
wait_for 10 more_usr || fail "unknown user not counted"
b_eng=$(rej unknown_engine)$(rej unknown_user)
trap2 -v 3 -e 0x80000000010a0b0c0d -u u-sha -l authNoPriv -a SHA -A "$PASS" || true
more_eng() { [ "$(rej unknown_engine)$(rej unknown_user)" != "$b_eng" ]; }
wait_for 10 more_eng || fail "a user bound to another engine ID was accepted"
note "the receiver still serves"
trap2 -v 2c -c public
still() { [ "$(recs | wc -l)" -ge $((sent + 1)) ]; }
wait_for 10 still || fail "receiver stopped serving after bad input"
ctl status | grep -q "SNMP traps" || fail "wardctl status lacks the SNMP section"
for k in dropped_nomem dropped_io; do
	[ "$(jqs ".snmp.counters.$k")" = 0 ] || fail "counter $k missing or not 0: $(jqs .snmp.counters)"
done
[ "$(jqs '.snmp.replay_cache.slots')" -gt 0 ] || fail "replay cache figures missing: $(jqs .snmp)"

note "engine boots persist and rise across a restart"
eid1=$(jqs .snmp.engine.engine_id)
boots1=$(jqs .snmp.engine.boots)
[ "$boots1" -ge 1 ] || fail "engine boots: $(jqs .snmp.engine)"
agent_stop
grep -qx "boots=$boots1" "$WARD_TMP/agent/snmp-engine" || fail "state file: $(cat "$WARD_TMP/agent/snmp-engine")"
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
wait_for 10 snmp_ready || fail "snmp listeners not up after the restart: $(jqs .snmp.listeners)"
[ "$(jqs .snmp.engine.engine_id)" = "$eid1" ] || fail "engine ID changed: $eid1 -> $(jqs .snmp.engine.engine_id)"
boots2=$(jqs .snmp.engine.boots)
[ "$boots2" -eq $((boots1 + 1)) ] || fail "boots $boots1 before the restart, $boots2 after"
# The sender learns the new boots by discovery and is answered.
# shellcheck disable=SC2086
snmpinform -v 3 -u informer -l authPriv -a SHA-256 -A "$PASS" -x AES -X "$PRIV" -r 2 -t 3 \
	127.0.0.1:"$port" '' $LINKDOWN $VB || fail "v3 inform after the restart: $(jqs .snmp.counters)"
after() { spool_records snmp | grep -- "Gi0/3-$tok" | jq -e -s --argjson b "$boots2" \
	'any(.[]; .pdu == "inform" and .version == "3" and .engine_boots == $b)' >/dev/null; }
wait_for 10 after || fail "no v3 inform record stamped with boots $boots2"
if [ -n "$have_v6" ]; then
	# shellcheck disable=SC2086
	snmptrap -v 2c -c public "udp6:[::1]:$port" '' $LINKDOWN $VB || fail "snmptrap v2c over IPv6 after the restart"
	v6_two() { [ "$(spool_records snmp | grep -- "Gi0/3-$tok" | jq -s '[.[] | select(.agent_addr == "::1")] | length')" -ge 2 ]; }
	wait_for 10 v6_two || fail "the IPv6 listener did not come back"
fi
agent_stop

note "the image's configuration listens on UDP 162, IPv4 and IPv6"
image=$WARD_ROOT/rootfs/overlay/etc/ward/ward.yaml
"$AGENT" -c "$image" --check-config >/dev/null || fail "$image: $("$AGENT" -c "$image" --check-config 2>&1)"
python3 - "$image" <<'PY' || fail "$image: snmp.listeners must hold 0.0.0.0:162 and [::]:162"
import sys, yaml
snmp = yaml.safe_load(open(sys.argv[1])).get("snmp") or {}
assert {"0.0.0.0:162", "[::]:162"} <= set(snmp.get("listeners") or []), snmp
PY
note "ok"
