# Development-only test PKI with the openssl command line (P-256 keys).
#   make_pki DIR   -> DIR/ca.pem, DIR/server.{pem,key} (CN=localhost,
#                     SAN localhost and 127.0.0.1), DIR/client.{pem,key}
#                     (CN=fw01.hospital.test), DIR/rogue-ca.pem and
#                     DIR/rogue-client.{pem,key} signed by another CA.
# These keys are test fixtures made at test time; none is committed.
make_pki() {
	_d=$1; mkdir -p "$_d"
	_ca() {  # name
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=ward test $1" -keyout "$_d/$1.key" -out "$_d/$1.pem" 2>/dev/null
	}
	_leaf() {  # name ca cn san
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
			-keyout "$_d/$1.key" -out "$_d/$1.csr" 2>/dev/null
		printf 'subjectAltName=%s\n' "$4" >"$_d/$1.ext"
		openssl x509 -req -in "$_d/$1.csr" -CA "$_d/$2.pem" -CAkey "$_d/$2.key" \
			-CAcreateserial -days 2 -extfile "$_d/$1.ext" -out "$_d/$1.pem" 2>/dev/null
	}
	_ca ca && _ca rogue-ca &&
	_leaf server ca localhost "DNS:localhost,IP:127.0.0.1" &&
	_leaf client ca fw01.hospital.test "DNS:fw01.hospital.test" &&
	_leaf rogue-client rogue-ca intruder.example "DNS:intruder.example"
}
