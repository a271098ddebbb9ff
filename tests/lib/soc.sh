# A ward-soc for integration tests, with the keys it and a probe need.
# Source after common.sh and pki.sh, and set first:
#   SOC (the ward-soc binary), T (scratch dir), P (PKI dir, made by
#   make_pki), PORT, STORE (ward-soc's store), URL (https://127.0.0.1:PORT),
#   CURL_TLS (curl's TLS options for the device certificate).

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
