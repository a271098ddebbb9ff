#!/bin/sh
# ward-devpki: the development-only PKI for one probe and one SOC, made
# with the openssl command line. For `make run`, tests and SOC integrators
# trying ward out; never for a real deployment, where the SOC's CA issues
# the device certificate at enrollment and the keys never leave the box.
#
#   tools/ward-devpki.sh DIR [DEVICE_ID]
#
# Creates in DIR, each only if it is not there yet (so a second run keeps
# the keys a running probe and SOC already use):
#   ca.pem, ca.key                the development CA (P-256, 30 days)
#   soc-server.pem, .key          ward-soc's TLS certificate: CN localhost,
#                                 SAN localhost and 127.0.0.1
#   device-tls.pem, .key          the probe's TLS client certificate,
#                                 CN DEVICE_ID (default: this host's name)
#   soc-seal.key, soc-seal.pub    the SOC's sealing key pair: the probe
#                                 encrypts batches to soc-seal.pub
#   device-sign.key               the probe's batch signing key
#   devices/DEVICE_ID.pem         its public half, where ward-soc
#                                 --device-keys looks for it
# Private keys are mode 0600. Exits non-zero, saying which step failed.
set -eu

dir=${1:?usage: ward-devpki.sh DIR [DEVICE_ID]}
device=${2:-$(hostname)}
case $device in
'' | *[!A-Za-z0-9._-]*) echo "ward-devpki: device id '$device' must be [A-Za-z0-9._-]" >&2; exit 2 ;;
esac
command -v openssl >/dev/null || { echo "ward-devpki: openssl is not installed" >&2; exit 2; }
mkdir -p "$dir/devices"
umask 077

step() {  # what, command...
	what=$1; shift
	"$@" 2>"$dir/.devpki.err" || {
		echo "ward-devpki: could not make $what:" >&2
		cat "$dir/.devpki.err" >&2
		exit 1
	}
}

if [ ! -f "$dir/ca.pem" ]; then
	step "the CA" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-days 30 -subj "/CN=ward development CA" -keyout "$dir/ca.key" -out "$dir/ca.pem"
fi

leaf() {  # name cn san
	[ -f "$dir/$1.pem" ] && return 0
	step "$1.key" openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=$2" -keyout "$dir/$1.key" -out "$dir/$1.csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$dir/$1.ext"
	step "$1.pem" openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
		-CAcreateserial -days 30 -extfile "$dir/$1.ext" -out "$dir/$1.pem"
	rm -f "$dir/$1.csr" "$dir/$1.ext"
}
leaf soc-server localhost "DNS:localhost,IP:127.0.0.1" serverAuth
leaf device-tls "$device" "DNS:$device" clientAuth

keypair() {  # name
	[ -f "$dir/$1.key" ] && return 0
	step "$1.key" openssl ecparam -name prime256v1 -genkey -noout -out "$dir/$1.key"
}
keypair soc-seal
keypair device-sign
[ -f "$dir/soc-seal.pub" ] || step soc-seal.pub openssl pkey -in "$dir/soc-seal.key" -pubout -out "$dir/soc-seal.pub"
[ -f "$dir/devices/$device.pem" ] ||
	step "devices/$device.pem" openssl pkey -in "$dir/device-sign.key" -pubout -out "$dir/devices/$device.pem"
rm -f "$dir/.devpki.err"
chmod 644 "$dir"/*.pem "$dir/soc-seal.pub" "$dir/devices/$device.pem"
echo "ward-devpki: development PKI for device '$device' in $dir"
