#!/bin/sh
# Real forwarder: rsyslog (imtcp in, omfwd out) relays logger's messages to
# ward over plain TCP with octet-counting and over TLS (gtls, RFC 5425)
# with a client certificate. A client whose certificate chains to another
# CA is refused, and status names the reason.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/pki.sh"
command -v rsyslogd >/dev/null || skip "rsyslog not installed"
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ] || skip "rsyslog-gnutls not installed"
RSYSLOG_PIDS=
cleanup() { for p in $RSYSLOG_PIDS; do kill "$p" 2>/dev/null; done; cleanup_agent; }
trap cleanup EXIT

pki=$WARD_TMP/pki
make_pki "$pki" || fail "openssl could not make the test PKI"
chmod -R a+rX "$pki"
p_tcp=$(free_port); p_tls=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$p_tcp" }
    - proto: tls
      address: "127.0.0.1:$p_tls"
      cert: $pki/server.pem
      key: $pki/server.key
      client_ca: $pki/ca.pem
spool:
  fsync_interval_ms: 20
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"

# rsyslog_start NAME CLIENT_CERT_NAME: an rsyslogd that takes TCP on a
# fresh port and forwards to ward over TCP and over TLS.
rsyslog_start() {
	_dir=$WARD_TMP/$1; mkdir -p "$_dir/work"
	_in=$(free_port)
	cat >"$_dir/rsyslog.conf" <<CONF
global(workDirectory="$_dir/work"
       defaultNetstreamDriverCAFile="$pki/ca.pem"
       defaultNetstreamDriverCertFile="$pki/$2.pem"
       defaultNetstreamDriverKeyFile="$pki/$2.key")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$_in")
action(type="omfwd" target="127.0.0.1" port="$p_tcp" protocol="tcp"
       TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="$p_tls" protocol="tcp"
       StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
       StreamDriverPermittedPeers="localhost")
CONF
	rsyslogd -n -f "$_dir/rsyslog.conf" -i "$_dir/rsyslog.pid" >"$_dir/rsyslog.log" 2>&1 &
	RSYSLOG_PIDS="$RSYSLOG_PIDS $!"
	RS_PORT=$_in
	wait_for 10 sh -c "ss -Hltn 'sport = :$_in' | grep -q ." || { cat "$_dir/rsyslog.log"; fail "rsyslogd did not start"; }
}

rsyslog_start good client
tok=$$-$(date +%s)
n=50
i=1
while [ $i -le $n ]; do
	logger -n 127.0.0.1 -P "$RS_PORT" --tcp --rfc3164 -t fwtest "relay-$tok-$i via rsyslog"
	i=$((i + 1))
done

tcp_count() { spool_records syslog | jq -r "select(.transport == \"tcp\") | .raw" | grep -c -- "relay-$tok-"; }
tls_count() { spool_records syslog | jq -r "select(.transport == \"tls\") | .raw" | grep -c -- "relay-$tok-"; }
have() { [ "$(tcp_count)" -ge $n ] && [ "$(tls_count)" -ge $n ]; }
wait_for 30 have || fail "rsyslog relay: tcp=$(tcp_count) tls=$(tls_count) of $n each"
[ "$(tcp_count)" -eq $n ] && [ "$(tls_count)" -eq $n ] || fail "duplicates: tcp=$(tcp_count) tls=$(tls_count)"
spool_records syslog | jq -e -s --arg t "relay-$tok-1 " 'any(.[]; .transport == "tls"
	and (.raw | contains($t)) and .tls_peer == "fw01.hospital.test" and .format == "rfc3164"
	and .app_name == "fwtest")' >/dev/null ||
	fail "TLS record lacks peer identity or parse: $(spool_records syslog | grep "relay-$tok-1 " | tail -n 1)"
note "every relayed message arrived once over TCP and once over TLS"

note "a client certificate from another CA is refused"
rsyslog_start rogue rogue-client
logger -n 127.0.0.1 -P "$RS_PORT" --tcp --rfc3164 -t rogue "rogue-$tok"
tls_fail() { [ "$(jqs '[.syslog.listeners[] | select(.proto == "tls") | .tls_failures] | add')" -ge 1 ]; }
wait_for 30 tls_fail || fail "rogue TLS client was not counted as a failure"
jqs '.errors[]' | grep -q "not trusted" || { jqs '.errors'; fail "status does not name the TLS failure"; }
spool_records syslog | jq -r "select(.transport == \"tls\") | .raw" | grep -q "rogue-$tok" && fail "rogue message was accepted over TLS"

agent_stop
note "ok"
