#!/bin/sh
# The main job end to end across network namespaces (issue 3, section 5):
# logger and rsyslog in a probe namespace -> ward-agent -> sealed batches
# -> an uplink shaped to 5 Mbit/s, 100 ms RTT and ~1 % loss -> ward-soc
# in one of two SOC namespaces (primary, secondary). Asserted:
#   a. every record sent over TCP is stored once, no gaps;
#   b. after an uplink outage the backlog drains with no loss, P0 (lane
#      agent) before the P1 syslog backlog;
#   c. primary down: the secondary gets the data; primary back: fail back;
#   d. 503 and 429 with Retry-After: the agent waits at least that long;
#   e. a server certificate from another CA, expired, or for another host
#      is refused, and status names the reason;
#   f. a batch tampered on disk is refused by ward-soc and quarantined on
#      both sides, and the rest flows;
#   g. kill -9 of the agent during an upload loses nothing; only
#      unacknowledged batches are sent twice, and ward-soc drops them.
# Needs root (namespaces). Wall time about 5 minutes, most of it the
# outage of (b).
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/netns.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
for c in ip tc openssl curl jq logger rsyslogd; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
SOC=$WARD_BUILD/ward-soc
[ -x "$SOC" ] || fail "build $SOC first (make VARIANT=asan tests-build)"

T=$WARD_TMP
P=$T/pki
SOC1_PID= SOC2_PID= RSYSLOG_PID=
cleanup() {
	[ -n "$SOC1_PID" ] && kill -KILL "$SOC1_PID" 2>/dev/null
	[ -n "$SOC2_PID" ] && kill -KILL "$SOC2_PID" 2>/dev/null
	[ -n "$RSYSLOG_PID" ] && kill -KILL "$RSYSLOG_PID" 2>/dev/null
	cleanup_agent
	netns_destroy
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Where ward-soc keeps a lane's records.
soc_records() { cat "$1/$2/$3.ndjson" 2>/dev/null; }

# ---- PKI: the CA, a server certificate per SOC for the name and address
# the agent uses, and the bad ones for (e).
make_pki "$P" &&
	pki_server "$P" soc1 soc1.ward.test 10.199.1.2 &&
	pki_server "$P" soc2 soc2.ward.test 10.199.2.2 &&
	pki_server "$P" rogue soc1.ward.test 10.199.1.2 rogue-ca &&
	pki_server "$P" otherhost soc9.ward.test 10.199.9.2 &&
	pki_expired_server "$P" expired soc1.ward.test 10.199.1.2 ||
	fail "openssl could not make the test PKI"
keypair() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$P/$1.key" 2>/dev/null &&
	openssl pkey -in "$P/$1.key" -pubout -out "$P/$1.pub" 2>/dev/null
}
keypair soc && keypair fw01 || fail "openssl could not make P-256 keys"
# The agent runs as nobody when the test runs as root: it must read them.
chmod 755 "$P"; chmod 644 "$P"/*.pem "$P"/*.key "$P"/*.pub
mkdir -p "$T/devices"
cp "$P/fw01.pub" "$T/devices/fw01.pem"

# ---- the namespaces and the shaped links
netns_create probe soc1 soc2
netns_links 2

# ---- the SOCs: ward-soc N listens on 10.199.N.2:8443 in namespace socN,
# storing to T/storeN, logging to T/socN.log.
soc_ns() { eval "echo \$NETNS_SOC$1"; }
soc_pid() { eval "echo \${SOC$1_PID}"; }
soc_up() {  # N [CERT_NAME]
	_ns=$(soc_ns "$1")
	echo "=== ward-soc $1 starts with certificate ${2:-soc$1}" >>"$T/soc$1.log"
	ip netns exec "$_ns" "$SOC" serve --listen "10.199.$1.2:8443" \
		--cert "$P/${2:-soc$1}.pem" --key "$P/${2:-soc$1}.key" --client-ca "$P/ca.pem" \
		--soc-key "$P/soc.key" --device-keys "$T/devices" --store "$T/store$1" \
		--test-hooks >>"$T/soc$1.log" 2>&1 &
	eval "SOC$1_PID=$!"
	wait_for 30 health "$1" || { cat "$T/soc$1.log"; fail "ward-soc $1 did not come up"; }
}
soc_down() {  # N
	_pid=$(soc_pid "$1")
	kill -TERM "$_pid"
	_rc=0; wait "$_pid" || _rc=$?
	eval "SOC$1_PID="
	[ "$_rc" -eq 0 ] || { cat "$T/soc$1.log"; fail "ward-soc $1 exited with status $_rc"; }
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/soc$1.log"; then
		cat "$T/soc$1.log"; fail "sanitizer report in soc$1.log"
	fi
}
# health N: /v1/health of ward-soc N, asked inside its namespace (not over
# the shaped link). -k: it also answers while serving a bad certificate.
health() {
	ip netns exec "$(soc_ns "$1")" curl -sS -f -k --max-time 10 --http1.1 \
		--cert "$P/client.pem" --key "$P/client.key" "https://10.199.$1.2:8443/v1/health"
}
hj() { health "$1" | jq -r "$2"; }
hook() {  # N QUERY: arms ward-soc N's test hook
	_code=$(ip netns exec "$(soc_ns "$1")" curl -sS -k --http1.1 --cert "$P/client.pem" \
		--key "$P/client.key" -o /dev/null -w '%{http_code}' -X POST \
		"https://10.199.$1.2:8443/v1/test/fail?$2")
	[ "$_code" = 200 ] || fail "test hook on ward-soc $1: HTTP $_code"
}

# ---- the agent in the probe namespace: syslog on its 127.0.0.1:5514,
# the two SOCs as its endpoints, primary first.
FAILBACK=
cat >"$T/ward.yaml" <<YAML
agent:
  device_id: fw01
  status_interval_ms: 3000
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:5514" }
snmp:
  enabled: false
  listeners: []
spool:
  fsync_interval_ms: 20
  segment_max_age_ms: 200
uplink:
  enabled: true
  device_key: $P/fw01.key
  soc_public_key: $P/soc.pub
  ca: $P/ca.pem
  client_cert: $P/client.pem
  client_key: $P/client.key
  endpoints:
    - { url: "https://10.199.1.2:8443", sni: soc1.ward.test }
    - { url: "https://10.199.2.2:8443", sni: soc2.ward.test }
  seal_interval_ms: 200
  connect_timeout_ms: 3000
  handshake_timeout_ms: 5000
  response_timeout_ms: 15000
  backoff_min_ms: 200
  backoff_max_ms: 2000
YAML
# (c) needs the primary probed again within seconds, not the default 5 min.
cp "$T/ward.yaml" "$T/try.yaml"
echo "  failback_ms: 3000" >>"$T/try.yaml"
if "$AGENT" --check-config -c "$T/try.yaml" >"$T/check.out" 2>&1; then
	cp "$T/try.yaml" "$T/ward.yaml"; FAILBACK=3000
else
	note "uplink.failback_ms is not a setting: $(head -1 "$T/check.out")"
fi
"$AGENT" --check-config -c "$T/ward.yaml" >"$T/check.out" 2>&1 ||
	fail "--check-config: $(cat "$T/check.out")"

agent_up() {
	AGENT_DIR=$T/agent
	mkdir -p "$AGENT_DIR"; chmod 755 "$AGENT_DIR"
	(cd "$AGENT_DIR" && exec ip netns exec "$NETNS_PROBE" "$AGENT" -c "$T/ward.yaml") \
		>>"$AGENT_DIR/agent.log" 2>&1 &
	AGENT_PID=$!
	wait_for 30 agent_ready || { cat "$AGENT_DIR/agent.log"; fail "agent did not come up"; }
}
outbox() { ls "$T/agent/outbox/$1" 2>/dev/null | grep '\.batch$'; }

# ---- rsyslog in the probe namespace: imtcp on 127.0.0.1:5515, omfwd over
# TCP with octet-counting to the agent.
mkdir -p "$T/rsyslog/work"
cat >"$T/rsyslog/rsyslog.conf" <<CONF
global(workDirectory="$T/rsyslog/work")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="5515")
action(type="omfwd" target="127.0.0.1" port="5514" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
CONF
rsyslog_listening() { ip netns exec "$NETNS_PROBE" ss -Hltn 'sport = :5515' | grep -q .; }

# ---- senders. Each message carries a token m=TAG.I; that appears once in
# the sent list T/sent and must appear once among the stored records.
# lines TAG N PAD: N lines "m=TAG.I; <PAD bytes of random base64>".
lines() {
	head -c $(($2 * ($3 + 3) * 3 / 4 + 64)) /dev/urandom | base64 -w "$3" | head -n "$2" |
		awk -v t="$1" '{ printf "m=%s.%d; %s\n", t, NR, $0 }' >"$T/lines"
	[ "$(wc -l <"$T/lines")" = "$2" ] || fail "could not make $2 lines"
	sed 's/;.*//' "$T/lines" >>"$T/sent"
}
# send_tcp TAG N [PAD]: logger straight to the agent, TCP, octet-counting,
# RFC 5424, one process for all lines.
send_tcp() {
	lines "$1" "$2" "${3:-40}"
	ip netns exec "$NETNS_PROBE" logger -n 127.0.0.1 -P 5514 --tcp --octet-count --rfc5424 \
		-t netns <"$T/lines" || fail "logger failed"
}
# send_rsyslog TAG N: logger to rsyslog, which relays to the agent.
send_rsyslog() {
	lines "$1" "$2" 40
	ip netns exec "$NETNS_PROBE" logger -n 127.0.0.1 -P 5515 --tcp --octet-count --rfc5424 \
		-t relayed <"$T/lines" || fail "logger to rsyslog failed"
}

# The syslog records stored at both SOCs, one per seq (a batch acknowledged
# by one SOC but not seen acknowledged by the agent may be at both).
stored_all() { { soc_records "$T/store1" fw01 syslog; soc_records "$T/store2" fw01 syslog; } |
	jq -c -s 'unique_by(.seq) | .[]'; }
# tokens: the tokens of the stored records, sorted.
tokens() { stored_all | jq -r .msg | grep -o '^m=[a-z0-9]*\.[0-9]*;' | tr -d ';' | sort; }
have_tag() {  # TAG N STORE: at least N records of TAG in STORE
	[ "$(soc_records "$3" fw01 syslog | jq -r .msg | grep -c "^m=$1\.")" -ge "$2" ]
}
# in_store_once STORE: no seq stored twice in one store.
in_store_once() {
	_n=$(soc_records "$1" fw01 syslog | wc -l)
	_u=$(soc_records "$1" fw01 syslog | jq -r .seq | sort -u | wc -l)
	[ "$_n" = "$_u" ] || fail "$1: $_n syslog records but $_u distinct seqs"
}
# exactly [SKIP_FIRST SKIP_LAST]: every sent token stored once, and the
# stored seqs 1..max without a gap but for the range given (a batch
# refused as tampered).
exactly() {
	in_store_once "$T/store1"; in_store_once "$T/store2"
	tokens >"$T/got"
	sort "$T/sent" >"$T/want"
	[ -z "$(uniq -d "$T/got")" ] || fail "tokens stored twice: $(uniq -d "$T/got" | head -5)"
	comm -13 "$T/want" "$T/got" >"$T/extra"
	[ ! -s "$T/extra" ] || fail "stored but never sent: $(head -3 "$T/extra")"
	comm -23 "$T/want" "$T/got" >"$T/missing"
	_skip=0
	[ $# -ge 2 ] && _skip=$(($2 - $1 + 1))
	[ "$(wc -l <"$T/missing")" = "$_skip" ] ||
		fail "$(wc -l <"$T/missing") sent records not stored (want $_skip): $(head -5 "$T/missing" | tr '\n' ' ')"
	stored_all | jq -s --argjson a "${1:-0}" --argjson b "${2:-0}" -e '
		map(.seq) as $s | ($s | max) as $m
		| [range(1; $m + 1) | select(. < $a or . > $b)] == $s' >/dev/null ||
		fail "stored seqs are not 1..max$([ $# -ge 2 ] && echo " without $1-$2")"
}
# syslog_sent_all N: the agent took N records from the senders (spooled).
spooled() { [ "$(spool_records syslog | grep -c 'm=[a-z0-9]*\.')" -ge "$1" ]; }
sent_count() { wc -l <"$T/sent" | tr -d ' '; }
drained() { [ "$(jqs .uplink.backlog.batches)" = 0 ]; }
all_stored() { [ "$(tokens | wc -l)" -ge "$(( $(sent_count) - ${1:-0} ))" ]; }
: >"$T/sent"

soc_up 1
soc_up 2
agent_up
ip netns exec "$NETNS_PROBE" rsyslogd -n -f "$T/rsyslog/rsyslog.conf" -i "$T/rsyslog/pid" \
	>"$T/rsyslog/log" 2>&1 &
RSYSLOG_PID=$!
wait_for 20 rsyslog_listening || { cat "$T/rsyslog/log"; fail "rsyslogd did not start"; }

# ---------------------------------------------------------------------------
note "a. records from logger and rsyslog over TCP reach ward-soc once each, no gaps"
send_tcp a 400
send_rsyslog ar 200
wait_for 120 all_stored || { ctl status; fail "$(tokens | wc -l) of $(sent_count) records stored"; }
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
exactly
[ "$(soc_records "$T/store2" fw01 syslog | wc -l)" = 0 ] || fail "the secondary got records"
"$SOC" verify "$T/store1" >"$T/verify" || fail "verify: $(cat "$T/verify")"
cat "$T/verify"
jq -e -s --argjson n 600 'map(select(.lane == "syslog")) | length == 1 and
	(.[0] | .records == $n and .first_seq == 1 and .last_seq == $n and .gaps == 0 and
	 .loss_records == 0 and .consistent)' "$T/verify" >/dev/null ||
	fail "verify of the syslog lane: $(cat "$T/verify")"
jq -e -s 'map(select(.lane == "agent")) | length == 1 and .[0].records >= 1 and .[0].gaps == 0' \
	"$T/verify" >/dev/null || fail "verify of the agent lane: $(cat "$T/verify")"
jqs '.uplink.endpoints[0].state' | grep -q -E "connected|idle" || fail "endpoint 0: $(jqs .uplink)"
ctl status >"$T/status.txt" || true
grep -q "using 10.199.1.2:8443" "$T/status.txt" || fail "endpoint in use not shown: $(cat "$T/status.txt")"
