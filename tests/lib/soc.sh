# A ward-soc for integration tests, with the keys it and a probe need.
# Source after common.sh and pki.sh, and set first:
#   SOC (the ward-soc binary), T (scratch dir), P (PKI dir, made by
#   make_pki), PORT, STORE (ward-soc's store), URL (https://127.0.0.1:PORT),
#   CURL_TLS (curl's TLS options for the device certificate).

# soc_env [NAME...]: the scratch dir T (WARD_TMP), the test PKI in P
# (make_pki, then P-256 key pairs soc, fw01 and each NAME), readable by an
# agent that runs as nobody; fw01 registered with ward-soc in T/devices;
# T/sent; and STORE, PORT, URL and CURL_TLS for a ward-soc on loopback.
soc_env() {
	T=$WARD_TMP
	P=$T/pki
	make_pki "$P" || fail "openssl could not make the test PKI"
	for _k in soc fw01 "$@"; do
		keypair "$_k" || fail "openssl could not make the P-256 key pair $_k"
	done
	chmod 755 "$P"; chmod 644 "$P"/*
	mkdir -p "$T/devices" "$T/sent"
	cp "$P/fw01.pub" "$T/devices/fw01.pem"
	STORE=$T/store
	PORT=$(free_port)
	URL=https://127.0.0.1:$PORT
	CURL_TLS="--http1.1 --cacert $P/ca.pem --cert $P/client.pem --key $P/client.key"
}

# soc_lane DEVICE LANE: the file where ward-soc stores that lane's records.
soc_lane() { echo "$STORE/$1/$2/records.ndjson"; }

# uplink_yaml FILE [DEVICE_KEY] [SPOOL_LINES] [UPLINK_LINES]: an agent
# config for device fw01 with syslog on TCP 127.0.0.1:SPORT, no SNMP, a
# quick spool, and its uplink to URL with quick timers. The extra lines
# (YAML, indented two spaces) go into the spool and uplink sections.
uplink_yaml() {
	cat >"$1" <<YAML
agent:
  device_id: fw01
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$SPORT" }
snmp:
  enabled: false
  listeners: []
spool:
  fsync_interval_ms: 20
  segment_max_age_ms: 100
${3:-}
uplink:
  enabled: true
  device_key: ${2:-$P/fw01.key}
  soc_public_key: $P/soc.pub
  ca: $P/ca.pem
  client_cert: $P/client.pem
  client_key: $P/client.key
  endpoints:
    - { url: "$URL", sni: localhost }
  seal_interval_ms: 50
  connect_timeout_ms: 1000
  handshake_timeout_ms: 2000
  backoff_min_ms: 100
  backoff_max_ms: 1000
${4:-}
YAML
}

# fw01's syslog records at ward-soc: how many, how many distinct seqs, how
# many carry TAG; have N: at least N.
stored() { cat "$(soc_lane fw01 syslog)" 2>/dev/null | wc -l | tr -d ' '; }
unique() { jq -r .seq "$(soc_lane fw01 syslog)" 2>/dev/null | sort -u | wc -l | tr -d ' '; }
tagged() { grep -c -- "$1" "$(soc_lane fw01 syslog)" 2>/dev/null || true; }
have() { [ "$(stored)" -ge "$1" ]; }
# exactly N: ward-soc holds N syslog records of fw01, each seq once.
exactly() {
	[ "$(stored)" = "$1" ] || fail "ward-soc holds $(stored) syslog records, want $1"
	[ "$(unique)" = "$1" ] || fail "only $(unique) distinct seqs in $1 records"
}
# send TAG COUNT: COUNT messages "TAG message I" with logger, RFC 5424
# over TCP with octet-counting, to 127.0.0.1:SPORT.
send() {
	_i=1
	while [ "$_i" -le "$2" ]; do
		logger -n 127.0.0.1 -P "$SPORT" --tcp --octet-count --rfc5424 -t ward-test \
			"$1 message $_i" || fail "logger failed"
		_i=$((_i + 1))
	done
}

# outbox_seal LANE FIRST COUNT [SOC_PUB]: COUNT records from seq FIRST,
# sealed by batch_make ($MK) with fw01's key into OUT/LANE/<first>-<last>.batch,
# chained to the lane's previous batch (kept in T/sent). The lines go to
# T/expect.LANE unless the batch is sealed to another key than P/soc.pub.
outbox_seal() {
	_lane=$1 _first=$2 _last=$(($2 + $3 - 1))
	_name=$(printf '%020d-%020d' "$_first" "$_last")
	mkdir -p "$OUT/$_lane"
	: >"$T/lines"
	_i=$_first
	while [ "$_i" -le "$_last" ]; do
		printf '{"seq":%d,"lane":"%s","msg":"record %d"}\n' "$_i" "$_lane" "$_i" >>"$T/lines"
		_i=$((_i + 1))
	done
	_prev=
	[ -f "$T/sent/$_lane.last" ] && _prev=$(cat "$T/sent/$_lane.last")
	"$MK" -k "$P/fw01.key" -s "${4:-$P/soc.pub}" -d fw01 -l "$_lane" -f "$_first" \
		${_prev:+-p "$_prev"} -o "$T/sent/$_lane-$_name.batch" "$T/lines" || fail "batch_make"
	cp "$T/sent/$_lane-$_name.batch" "$OUT/$_lane/$_name.batch"
	echo "$T/sent/$_lane-$_name.batch" >"$T/sent/$_lane.last"
	[ -n "${4:-}" ] || cat "$T/lines" >>"$T/expect.$_lane"
}

# keypair NAME: a P-256 key pair, P/NAME.key and P/NAME.pub.
keypair() {
	openssl ecparam -name prime256v1 -genkey -noout -out "$P/$1.key" 2>/dev/null &&
	openssl pkey -in "$P/$1.key" -pubout -out "$P/$1.pub" 2>/dev/null
}

health() { curl -sS -f $CURL_TLS "$URL/v1/health"; }

# soc_start [OPTION...]: starts ward-soc with mutual TLS on PORT, the SOC
# key P/soc.key and the device keys in T/devices, and waits until it answers.
soc_start() {
	"$SOC" serve --listen "127.0.0.1:$PORT" --cert "$P/server.pem" --key "$P/server.key" \
		--client-ca "$P/ca.pem" --soc-key "$P/soc.key" --device-keys "$T/devices" \
		--store "$STORE" "$@" >>"$T/soc.log" 2>&1 &
	SOC_PID=$!
	wait_for 20 health || { cat "$T/soc.log"; fail "ward-soc did not come up"; }
}

# soc_stop: stops it; fails on a non-zero exit or a sanitizer report.
soc_stop() {
	kill -TERM "$SOC_PID"
	_rc=0; wait "$SOC_PID" || _rc=$?
	SOC_PID=
	[ "$_rc" -eq 0 ] || { cat "$T/soc.log"; fail "ward-soc exited with status $_rc"; }
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/soc.log"; then
		cat "$T/soc.log"; fail "sanitizer report in soc.log"
	fi
}
