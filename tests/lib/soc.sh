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
