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
# They run in the order a, d, e, f, b, g, c: c needs the primary probed
# again (uplink.failback_ms) and comes last. The links are shaped as
# tests/lib/netns.sh says (netem where the kernel has it, else tbf and a
# relay adding the delay and loss). Needs root. Wall time about 4 minutes,
# 75 s of it the outage of (b).
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
. "$WARD_ROOT/tests/lib/soc.sh"     # keypair; its soc_start is for loopback
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
soc_records() { cat "$1/$2/$3/records.ndjson" 2>/dev/null; }

# ---- PKI: the CA, a server certificate per SOC for the name and address
# the agent uses, and the bad ones for (e).
make_pki "$P" &&
	pki_server "$P" soc1 soc1.ward.test 10.199.1.2 &&
	pki_server "$P" soc2 soc2.ward.test 10.199.2.2 &&
	pki_server "$P" rogue soc1.ward.test 10.199.1.2 rogue-ca &&
	pki_server "$P" otherhost soc9.ward.test 10.199.9.2 &&
	pki_expired_server "$P" expired soc1.ward.test 10.199.1.2 ||
	fail "openssl could not make the test PKI"
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
	wait_for 30 soc_health "$1" || { cat "$T/soc$1.log"; fail "ward-soc $1 did not come up"; }
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
# soc_health N: /v1/health of ward-soc N, asked inside its namespace (not over
# the shaped link). -k: it also answers while serving a bad certificate.
soc_health() {
	ip netns exec "$(soc_ns "$1")" curl -sS -f -k --max-time 10 --http1.1 \
		--cert "$P/client.pem" --key "$P/client.key" "https://10.199.$1.2:8443/v1/health"
}
hj() { soc_health "$1" | jq -r "$2"; }
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
  connect_timeout_ms: 5000
  handshake_timeout_ms: 10000
  response_timeout_ms: 15000
  backoff_min_ms: 200
  backoff_max_ms: 2000
  failback_ms: 3000
YAML
# (c) needs the primary probed again within seconds, not the default 5 min.
FAILBACK=3000
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
# The P0 status records come every agent.status_interval_ms: wait for one.
agent_there() { [ "$(soc_records "$T/store1" fw01 agent | wc -l)" -ge 1 ]; }
wait_for 30 agent_there || fail "no P0 status record reached ward-soc: $(jqs .uplink.backlog)"
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

# ---------------------------------------------------------------------------
# d. Retry-After. The hook makes ward-soc 1 answer the next batch POST
# with 503 (or 429) and Retry-After: 4. The uplink pipelines, so other
# requests may be in flight then and answered at once; but the refused
# batch goes again only after 4 s. So: from the refusal until everything
# pending at it (the syslog batch sent now, the agent lane's batches
# sealed so far) is stored takes at least 4 s.
# A poll of /v1/health inside the SOC namespace (its failed_on_purpose)
# sees the refusal: it happened after the previous poll started. The
# stores are read after each later poll: all is stored before that read
# ends. That end minus that start bounds the real wait from above, so
# asserting it >= 4 s cannot fail an agent that waits, and an agent that
# ignored Retry-After (backoff here: 200 ms up to 2 s) retries well inside.
RA=4
agent_stored() { soc_records "$T/store1" fw01 agent | jq -s 'map(.seq) | max // 0'; }
# retry_after_wait F0 T0 TAG N: F0 is failed_on_purpose read before the
# hook was armed at T0 (ns); prints the upper bound (ms) on the time from
# the refusal until the N records of TAG and the agent lane's batches
# sealed by then are stored.
retry_after_wait() {
	_prev=$2 _since= _end=$(( $(date +%s) + 90 ))
	while [ "$(date +%s)" -lt "$_end" ]; do
		_start=$(date +%s%N)
		soc_health 1 >"$T/h.json" 2>/dev/null || continue
		_f=$(jq -r .failed_on_purpose "$T/h.json")
		if [ -z "$_since" ]; then
			if [ "$_f" -gt "$1" ]; then
				_since=$_prev
				_amax=$(jqs '.uplink.sealers[] | select(.lane == "agent") | .last_seq')
			fi
		elif have_tag "$3" "$4" "$T/store1" && [ "$(agent_stored)" -ge "$_amax" ]; then
			echo $(( ($(date +%s%N) - _since) / 1000000 )); return 0
		fi
		_prev=$_start
	done
	fail "no refusal, or not all stored after it, within 90 s: failed_on_purpose $_f (from $1)"
}
for code in 503 429; do
	note "d. ward-soc answers $code with Retry-After: $RA: the refused batch waits at least that long"
	wait_for 30 drained || fail "backlog before the hook: $(jqs .uplink.backlog)"
	f0=$(hj 1 .failed_on_purpose) t0=$(date +%s%N)
	hook 1 "n=1&code=$code&retry_after=$RA"
	send_tcp "d$code" 20
	ms=$(retry_after_wait "$f0" "$t0" "d$code" 20) || exit 1
	echo "refusal to all stored: at most $ms ms"
	[ "$ms" -ge $((RA * 1000)) ] || fail "stored within $ms ms of a $code with Retry-After: $RA"
	jqs '.uplink.endpoints[0].last_error' | grep -q "HTTP $code, retrying in $((RA * 1000)) ms" ||
		fail "status: $(jqs '.uplink.endpoints[0]')"
	[ "$(jqs .uplink.active)" = 0 ] || fail "a $code made the agent fail over: $(jqs .uplink.active_reason)"
	wait_for 60 all_stored || fail "$(tokens | wc -l) of $(sent_count) stored"
done
exactly

# ---------------------------------------------------------------------------
# e. Bad server certificates on the primary, with the secondary stopped so
# that the agent keeps trying the primary. Each time: nothing is sent, the
# failure is counted at ward-soc, and status says why in words.
soc_down 2
bad_cert() {  # CERT_NAME PATTERN (grep -i -E, for the endpoint's last_error)
	soc_down 1
	soc_up 1 "$1"
	_tls=$(hj 1 .tls_failures) _ok=$(hj 1 .batches_ok)
	send_tcp "e$1" 5
	_named() { jqs '.uplink.endpoints[0].last_error' | grep -q -i -E "$1"; }
	wait_for 60 _named "$2" || fail "certificate $1: endpoint 0: $(jqs '.uplink.endpoints[0]')"
	jqs '.uplink.endpoints[0].last_error'
	# errors[] lists an endpoint while it is "failed", not while the
	# agent is connecting to it again: poll.
	_listed() { jqs '.errors[]' | grep -q -i -E "uplink to 10.199.1.2:8443: .*$1"; }
	wait_for 30 _listed "$2" || fail "certificate $1: errors: $(jqs .errors)"
	# ward-soc counts the handshake the agent aborted once it reads the alert.
	_tls_failed() { [ "$(hj 1 .tls_failures)" -gt "$1" ]; }
	wait_for 30 _tls_failed "$_tls" || fail "certificate $1: ward-soc saw no failed handshake"
	[ "$(hj 1 .batches_ok)" = "$_ok" ] || fail "certificate $1: a batch went through"
	[ "$(jqs '.uplink.backlog.batches')" -ge 1 ] || fail "certificate $1: no backlog"
	_said() { ! ctl status >"$T/status.txt" && grep -q -i -E "$1" "$T/status.txt"; }
	wait_for 30 _said "$2" || fail "wardctl status does not say why (or exits 0): $(cat "$T/status.txt")"
	grep -i -E "$2" "$T/status.txt"
}
note "e. a server certificate from another CA is refused, and status says so"
bad_cert rogue "server certificate not trusted: issuer CN ?= ?ward test rogue-ca is not the pinned CA \(subject CN ?= ?soc1.ward.test\)"
note "e. an expired server certificate is refused, and status says so"
bad_cert expired "server certificate expired on 2020-01-02 00:00:00 UTC \(subject CN ?= ?soc1.ward.test\)"
note "e. a server certificate for another host name is refused, and status says so"
bad_cert otherhost "hostname mismatch: server certificate names soc9.ward.test, 10.199.9.2, not soc1.ward.test"
note "e. the right certificate again: the backlog goes, exactly once"
soc_down 1
soc_up 1
soc_up 2
wait_for 60 all_stored || fail "$(tokens | wc -l) of $(sent_count) stored"
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
exactly

# ---------------------------------------------------------------------------
note "f. a batch tampered on disk while the SOCs are down: ward-soc refuses it, both sides quarantine it, the rest flows"
# Both ward-socs stopped, not the links down: requests the pipelining
# uplink wrote on a connection whose link went down stay in the kernel's
# send buffer and go out, untampered, once the link is back. Once the
# agent has failed to connect to both, nothing of the outbox is in flight.
soc_down 1; soc_down 2
refused() {
	status_json >"$T/st.json" &&
	jq -r '.uplink.endpoints[0].last_error' "$T/st.json" | grep -q "connection refused" &&
	jq -r '.uplink.endpoints[1].last_error' "$T/st.json" | grep -q "connection refused"
}
wait_for 60 refused || fail "the agent did not see both SOCs down: $(jq .uplink.endpoints "$T/st.json")"
# Three rounds, three batches: the middle one is tampered with.
several() { [ "$(outbox syslog | wc -l)" -ge "$1" ]; }
for i in 1 2 3; do
	send_tcp "f$i" 100
	wait_for 60 several "$i" || fail "no syslog backlog: $(outbox syslog)"
done
victim=$(outbox syslog | sed -n 2p)
vfirst=$(echo "$victim" | sed 's/^0*\([0-9]*\)-.*/\1/')
vlast=$(echo "$victim" | sed 's/^[0-9]*-0*\([0-9]*\)\.batch$/\1/')
f=$T/agent/outbox/syslog/$victim
cp "$f" "$T/victim.orig"
off=$(( $(wc -c <"$f") / 2 ))
b=$(od -An -tu1 -j "$off" -N1 "$f" | tr -d ' ')
printf "\\$(printf '%03o' $(( b ^ 255 )))" | dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
cmp -s "$f" "$T/victim.orig" && fail "the byte was not flipped"
echo "tampered with outbox/syslog/$victim (seqs $vfirst-$vlast) at byte $off"
q0=$(jqs .uplink.batches_quarantined)
soc_up 1; soc_up 2
agent_quarantined() { [ -f "$T/agent/outbox/quarantine/syslog-${victim%.batch}.batch" ]; }
wait_for 60 agent_quarantined || fail "the agent did not quarantine $victim: $(ls "$T/agent/outbox/quarantine" 2>&1)"
cat "$T/agent/outbox/quarantine/syslog-${victim%.batch}.reason"
grep -q "^HTTP 400 from 10.199.[12].2:8443: .*signature" "$T/agent/outbox/quarantine/syslog-${victim%.batch}.reason" ||
	fail "agent's reason: $(cat "$T/agent/outbox/quarantine/syslog-${victim%.batch}.reason")"
[ "$(jqs .uplink.batches_quarantined)" = $((q0 + 1)) ] || fail "quarantined: $(jqs .uplink.batches_quarantined), want $((q0 + 1))"
cat "$T"/store[12]/quarantine/*.reason 2>/dev/null | grep -q "device signature does not verify" ||
	fail "ward-soc's quarantine: $(cat "$T"/store[12]/quarantine/*.reason 2>&1)"
grep -h "refused and quarantined: .*signature" "$T/soc1.log" "$T/soc2.log" ||
	fail "ward-soc did not log the refusal with its reason"
wait_for 60 all_stored $((vlast - vfirst + 1)) || fail "$(tokens | wc -l) of $(sent_count) stored after the quarantine"
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
exactly "$vfirst" "$vlast"

# ---------------------------------------------------------------------------
# b. The issue asks for an outage of several minutes; 75 s keeps this
# script's wall time near 5 minutes. With backoff_max_ms 2 s that is still
# dozens of failed rounds, and 25 status records (P0, lane agent, one each
# 3 s) pile up behind nothing while ~1 MB of syslog (P1) piles up too.
OUTAGE=75
note "b. the uplink is down for $OUTAGE s: the backlog drains without loss, P0 before P1"
wait_for 30 drained || fail "backlog before the outage: $(jqs .uplink.backlog)"
netns_link_down 1; netns_link_down 2
t_down=$(date +%s)
send_tcp b 3000 300
send_rsyslog br 300
sealed_to() {  # LANE SEQ: the lane's sealer has sealed up to SEQ
	[ "$(jqs ".uplink.sealers[] | select(.lane == \"$1\") | .last_seq")" -ge "$2" ]
}
wait_for 60 sealed_to syslog "$(sent_count)" || fail "not all sealed: $(jqs .uplink.sealers)"
long_enough() { [ $(( $(date +%s) - t_down )) -ge "$OUTAGE" ]; }
wait_for $((OUTAGE + 30)) long_enough || fail "the outage clock"
status_json >"$T/st.json"
jq '.uplink.backlog' "$T/st.json"
jq -e --argjson o $((OUTAGE - 10)) '.uplink.backlog.lanes | map(select(.lane == "agent" or .lane == "syslog"))
	| length == 2 and all(.[]; .batches >= 1 and .oldest_age_s >= $o)' "$T/st.json" >/dev/null ||
	fail "status does not show the backlog per lane with its age: $(jq .uplink.backlog "$T/st.json")"
jq -r '.uplink.endpoints[0].last_error' "$T/st.json" | grep -q -i "unreachable" ||
	fail "outage not named: $(jq .uplink.endpoints "$T/st.json")"
# The P0 records waiting now: up to the last seq of the agent lane's batches.
amax=$(outbox agent | sed 's/^[0-9]*-0*\([0-9]*\)\.batch$/\1/' | sort -n | tail -1)
nsys=$(outbox syslog | wc -l)
echo "backlog: agent lane up to seq $amax, $nsys syslog batches"
[ "$nsys" -ge 1 ] || fail "no syslog backlog"
mark=$(wc -l <"$T/soc1.log")
# Only the primary comes back, so that one log shows the arrival order.
netns_link_up 1
wait_for 120 all_stored $((vlast - vfirst + 1)) || fail "$(tokens | wc -l) of $(sent_count) stored after the outage"
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
echo "drained $(( $(date +%s) - t_down - OUTAGE )) s after the link came back"
netns_link_up 2
exactly "$vfirst" "$vlast"
# Arrival order at ward-soc: "device fw01 lane L: stored batch A-B, ...".
tail -n +"$((mark + 1))" "$T/soc1.log" | sed -n 's/.*device fw01 lane \([a-z]*\): stored batch \([0-9]*\)-\([0-9]*\),.*/\1 \2 \3/p' >"$T/order"
head -5 "$T/order"
awk -v amax="$amax" '
	$1 == "syslog" && !seen { seen = 1; exit }
	$1 == "agent" && $3 > top { top = $3 }
	END { if (top < amax) { printf "P0 up to seq %d only before the first P1 batch, want %d\n", top, amax; exit 1 } }' \
	"$T/order" || fail "P0 did not arrive before the P1 backlog: $(head -10 "$T/order" | tr '\n' ' ')"
[ "$(grep -c '^syslog' "$T/order")" -ge 1 ] || fail "no syslog batch stored after the outage"

# ---------------------------------------------------------------------------
note "g. kill -9 of ward-agent during an upload loses nothing; only unacknowledged batches come twice"
netns_link_down 1; netns_link_down 2
send_tcp g 5000 300
wait_for 60 sealed_to syslog "$(sent_count)" || fail "not all sealed: $(jqs .uplink.sealers)"
ok0=$(hj 1 .batches_ok) dup0=$(hj 1 .duplicates)
netns_link_up 1
stored_one() { [ "$(hj 1 .batches_ok)" -gt "$ok0" ]; }
wait_for 60 stored_one || fail "nothing stored after the link came back"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
# Resends before the kill are not its doing. Nor are the agent lane's: a
# status batch in flight when the links went down stays in the kernel's
# send queue of a connection the agent has since given up (an orphaned
# socket retransmits for minutes) and may reach ward-soc after the agent
# sent it again on a new connection, before or after the kill. The syslog
# batches of this step were sealed while the links were down, so only the
# agent's restart can send one of them twice.
mark1=$(wc -l <"$T/soc1.log") mark2=$(wc -l <"$T/soc2.log")
# What the agent had not deleted, i.e. not seen acknowledged, when it died.
( cd "$T/agent/outbox" && find agent syslog -name '*.batch' | sort ) >"$T/unacked"
echo "killed with $(grep -c . "$T/unacked") batches in the outbox"
grep -q '^syslog/' "$T/unacked" || fail "the upload had finished before the kill"
# The receiver process goes away with its supervisor.
no_receivers() { ! ip netns pids "$NETNS_PROBE" | xargs -r -n1 sh -c 'cat /proc/$0/cmdline 2>/dev/null | tr "\0" " "; echo' | grep -q -- "--receivers"; }
wait_for 30 no_receivers || fail "ward-agent's receiver process outlived its supervisor"
agent_up
netns_link_up 2
wait_for 120 all_stored $((vlast - vfirst + 1)) || fail "$(tokens | wc -l) of $(sent_count) stored after the restart"
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
exactly "$vfirst" "$vlast"
{ tail -n +"$((mark1 + 1))" "$T/soc1.log"; tail -n +"$((mark2 + 1))" "$T/soc2.log"; } |
	sed -n 's/.*device fw01 lane \(syslog\): batch \([0-9]*\)-\([0-9]*\) stored already.*/\1 \2 \3/p' >"$T/dups"
echo "syslog batches sent again after the restart and dropped by ward-soc: $(wc -l <"$T/dups")"
while read -r lane a b; do
	grep -qx "$lane/$(printf '%020d-%020d' "$a" "$b").batch" "$T/unacked" ||
		fail "batch $lane $a-$b was sent again though it was acknowledged before the kill"
done <"$T/dups"
[ "$(hj 1 .duplicates)" -ge $((dup0 + $(wc -l <"$T/dups"))) ] ||
	fail "ward-soc counted $(( $(hj 1 .duplicates) - dup0 )) duplicates, its log $(wc -l <"$T/dups")"

# ---------------------------------------------------------------------------
note "c. the primary ward-soc down: the data reaches the secondary"
soc_down 1
send_tcp c1 50
wait_for 60 have_tag c1 50 "$T/store2" || fail "c1 records did not reach the secondary"
[ "$(jqs .uplink.active)" = 1 ] || fail "endpoint in use: $(jqs .uplink.active)"
jqs .uplink.active_reason
jqs .uplink.active_reason | grep -q "failed over to 10.199.2.2:8443" ||
	fail "why the secondary: $(jqs .uplink.active_reason)"
ctl status >"$T/status.txt" || true
grep -q "using 10.199.2.2:8443" "$T/status.txt" || fail "endpoint in use not shown: $(cat "$T/status.txt")"
note "c. the primary back: traffic fails back to it"
soc_up 1
back() { [ "$(jqs .uplink.active)" = 0 ]; }
# The agent probes the primary after uplink.failback_ms before a batch
# (status records make one each 3 s).
wait_for 60 back || fail "no failback within 60 s (uplink.failback_ms $FAILBACK): $(jqs .uplink.active_reason)"
jqs .uplink.active_reason
send_tcp c2 50
wait_for 60 have_tag c2 50 "$T/store1" || fail "c2 records did not reach the primary"
wait_for 30 drained || fail "backlog left: $(jqs .uplink.backlog)"
exactly "$vfirst" "$vlast"

agent_stop
kill -TERM "$RSYSLOG_PID"; wait "$RSYSLOG_PID" 2>/dev/null; RSYSLOG_PID=
soc_down 1
soc_down 2
for i in 1 2; do
	"$SOC" verify "$T/store$i" >"$T/verify$i" || fail "verify store$i: $(cat "$T/verify$i")"
	cat "$T/verify$i"
done
note "ok"
