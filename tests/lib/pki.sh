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

# pki_server DIR NAME DNS IP [CA]: DIR/NAME.{pem,key}, a server certificate
# from DIR/CA (default ca, made by make_pki; rogue-ca is the other CA) with
# CN=DNS and SANs DNS:DNS and IP:IP, valid from now for 2 days.
pki_server() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
		-keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:%s,IP:%s\n' "$3" "$4" >"$1/$2.ext" &&
	openssl x509 -req -in "$1/$2.csr" -CA "$1/${5:-ca}.pem" -CAkey "$1/${5:-ca}.key" \
		-CAcreateserial -days 2 -extfile "$1/$2.ext" -out "$1/$2.pem" 2>/dev/null
}

# pki_expired_server DIR NAME DNS IP: as pki_server, but the certificate
# was valid only from 2020-01-01 to 2020-01-02 (UTC). `openssl x509 -req`
# cannot date a certificate in the past, `openssl ca` can.
pki_expired_server() {
	_cd=$1/$2.ca; mkdir -p "$_cd" && : >"$_cd/index" && echo 1000 >"$_cd/serial" &&
	cat >"$_cd/ca.cnf" <<CNF &&
[ca]
default_ca = test
[test]
database = $_cd/index
new_certs_dir = $_cd
serial = $_cd/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
		-keyout "$1/$2.key" -out "$1/$2.csr" 2>/dev/null &&
	printf 'subjectAltName=DNS:%s,IP:%s\n' "$3" "$4" >"$1/$2.ext" &&
	openssl ca -batch -notext -config "$_cd/ca.cnf" -cert "$1/ca.pem" -keyfile "$1/ca.key" \
		-startdate 20200101000000Z -enddate 20200102000000Z -extfile "$1/$2.ext" \
		-in "$1/$2.csr" -out "$1/$2.pem" 2>"$_cd/err" || { cat "$_cd/err" >&2; return 1; }
}
