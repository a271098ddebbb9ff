#!/bin/sh
# The protocol analyzers on real traffic (issue 5, section 4): a client
# and a server namespace joined by a veth pair with its offloads off
# (tests/lib/sensor.sh), real servers in the server namespace
# (tests/lib/analyzers.sh) and real clients in the client one:
#   dig against dnsmasq: A, AAAA, MX, TXT, an NXDOMAIN, and over TCP;
#   curl against nginx: keep-alive (two URLs, one a binary download), a
#   gzip'd chunked response, a 404, HTTP on port 8080, Basic auth, a POST
#   body; two pipelined requests (python, one write);
#   curl over TLS 1.2 (ALPN http/1.1) and TLS 1.3 (ALPN h2) with SNI, and
#   TLS 1.2 on port 10443;
#   swaks against tests/tools/smtpd.py: an attachment with AUTH PLAIN, AUTH
#   LOGIN, and STARTTLS (then AUTH inside TLS: no notice);
#   python's poplib against tests/tools/pop3d.py (USER/PASS, STAT, RETR of
#   a message with an attachment, QUIT);
#   curl ftp:// against tests/tools/ftpd.py (USER/PASS, EPSV, RETR);
#   a Telnet login against tests/tools/telnetd.py.
# tcpdump records it on the server's veth end; ward-sensor -r reads the
# capture. The oracle is tshark on the same capture (tests/tools/
# analyzer_compare.py): DNS query names and rcodes, HTTP URIs and status
# codes, TLS SNI, JA3 and JA3S. Also asserted, each in its own check:
# every analyzer record belongs to a conn record (uid, community_id, id.*);
# conn's service names what was detected (http on 8080, ssl on 10443, dns
# over TCP); files' SHA-256 equal the served file, the SMTP attachment and
# the POP3 one; smtp fields; the cleartext-credential notices (HTTP Basic,
# SMTP AUTH PLAIN and LOGIN, POP3, FTP, Telnet) with the user masked; no
# password anywhere in the output; every record valid against docs/schema/
# <type>.schema.json. The checks all run; the test fails at the end with
# the list of those that failed. Needs root. Wall time about 30 s.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"
. "$WARD_ROOT/tests/lib/sensor.sh"
. "$WARD_ROOT/tests/lib/analyzers.sh"

[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
for c in ip curl dig tshark jq swaks openssl sha256sum; do
	command -v "$c" >/dev/null || skip "$c not installed"
done
$PY -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed"
perl -MNet::SSLeay -e 1 2>/dev/null || skip "libnet-ssleay-perl not installed (swaks STARTTLS)"
SENSOR=$WARD_BUILD/ward-sensor
[ -x "$SENSOR" ] || fail "build $SENSOR first (make VARIANT=asan tests-build)"

T=$WARD_TMP
trap sensor_net_destroy EXIT
trap 'exit 1' INT TERM HUP

sensor_net_create
an_fixtures "$T"
an_nginx_start "$T"
an_dnsmasq_start "$T"
an_smtpd_start "$T"
an_pop3d_start "$T"
an_ftpd_start "$T"
an_telnetd_start

PCAP=$T/analyzers.pcap
sensor_tcpdump_start "$SENSOR_SRV" "$SENSOR_SRV_IF" "$PCAP"

S4=$SENSOR_V4_SRV
CA=$T/pki/ca.pem
OUT=$T/out; mkdir -p "$OUT"

note "DNS: dig over UDP and TCP"
digq() {  # want_status dig-args...
	_want=$1; shift
	sensor_cli dig +time=2 +tries=1 @"$S4" "$@" >"$OUT/dig.out" 2>&1
	grep -q "status: $_want" "$OUT/dig.out" || { cat "$OUT/dig.out"; fail "dig $*: want $_want"; }
}
digq NOERROR www.ward.test A
digq NOERROR www.ward.test AAAA
digq NOERROR ward.test MX
digq NOERROR ward.test TXT
digq NXDOMAIN nothere.ward.test A
digq NOERROR +tcp www.ward.test A
digq NOERROR +tcp ward.test MX

note "HTTP: curl against nginx"
H=http://$S4
# Keep-alive: two URLs on one connection, the second a binary download.
sensor_cli curl -sf -o "$OUT/index.html" -o "$OUT/download.bin" "$H/index.html" "$H/download.bin" ||
	fail "curl keep-alive"
[ "$(an_sha256 "$OUT/download.bin")" = "$(an_sha256 "$T/www/download.bin")" ] || fail "download.bin differs"
# gzip'd by nginx, so chunked.
sensor_cli curl -sf --compressed -D "$OUT/text.hdr" -o "$OUT/text.txt" "$H/text.txt" || fail "curl gzip"
grep -qi '^transfer-encoding: chunked' "$OUT/text.hdr" && grep -qi '^content-encoding: gzip' "$OUT/text.hdr" ||
	{ cat "$OUT/text.hdr"; fail "text.txt: not sent gzip'd and chunked"; }
cmp -s "$OUT/text.txt" "$T/www/text.txt" || fail "text.txt differs after gunzip"
code=$(sensor_cli curl -s -o /dev/null -w '%{http_code}' "$H/missing.html")
[ "$code" = 404 ] || fail "curl missing.html: want 404, got $code"
sensor_cli curl -sf -o /dev/null "$H:$AN_HTTP_ALT_PORT/index.html?port=alt" || fail "curl on $AN_HTTP_ALT_PORT"
# A request body (nginx answers 405 to a POST on a static file).
code=$(sensor_cli curl -s -o /dev/null -w '%{http_code}' --data-binary "@$T/upload.bin" \
	-H 'Content-Type: application/octet-stream' "$H/index.html?post=1")
[ "$code" = 405 ] || fail "curl POST: want 405, got $code"
# Pipelining: two requests in one write, before any response.
sensor_cli "$PY" - "$S4" <<'PY' || fail "pipelined requests"
import socket, sys
s = socket.create_connection((sys.argv[1], 80), timeout=10)
s.sendall(b"GET /index.html?pipe=1 HTTP/1.1\r\nHost: www.ward.test\r\n\r\n"
          b"GET /missing.html?pipe=2 HTTP/1.1\r\nHost: www.ward.test\r\nConnection: close\r\n\r\n")
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
assert data.count(b"HTTP/1.1 200 OK") == 1 and data.count(b"HTTP/1.1 404 Not Found") == 1, data[:300]
PY
sensor_cli curl -sf -o /dev/null -u "$AN_USER_HTTP:$AN_PASS_HTTP" "$H/private/secret.txt" || fail "curl Basic auth"

note "TLS: curl, TLS 1.2 and 1.3, SNI and ALPN"
RES=www.ward.test:443:$S4
sensor_cli curl -sf -o /dev/null --cacert "$CA" --resolve "$RES" --tlsv1.2 --tls-max 1.2 --http1.1 \
	"https://www.ward.test/index.html" || fail "curl TLS 1.2"
sensor_cli curl -sf -o /dev/null --cacert "$CA" --resolve "$RES" --tlsv1.3 --http2 \
	"https://www.ward.test/index.html" || fail "curl TLS 1.3"
sensor_cli curl -sf -o /dev/null --cacert "$CA" --resolve "www.ward.test:$AN_TLS_ALT_PORT:$S4" \
	--tlsv1.2 --tls-max 1.2 "https://www.ward.test:$AN_TLS_ALT_PORT/index.html" ||
	fail "curl TLS 1.2 on $AN_TLS_ALT_PORT"

note "SMTP: swaks"
SUBJ_ATTACH="ward attachment $$"
SUBJ_LOGIN="ward auth login $$"
swaks_run() {  # name swaks-args...
	_n=$1; shift
	sensor_cli swaks --server "$S4:25" --helo client.ward.test --from sender@ward.test "$@" \
		>"$OUT/swaks-$_n.out" 2>&1 || { cat "$OUT/swaks-$_n.out"; fail "swaks $_n"; }
}
swaks_run plain --to rcpt@ward.test --header "Subject: $SUBJ_ATTACH" --attach "$T/mail/attach.bin" \
	--auth PLAIN --auth-user "$AN_USER_SMTP_PLAIN" --auth-password "$AN_PASS_SMTP_PLAIN"
swaks_run login --to other@ward.test --header "Subject: $SUBJ_LOGIN" \
	--auth LOGIN --auth-user "$AN_USER_SMTP_LOGIN" --auth-password "$AN_PASS_SMTP_LOGIN"
swaks_run tls -tls --tls-verify --tls-ca-path "$CA" --to rcpt@ward.test --header "Subject: ward tls $$" \
	--auth PLAIN --auth-user "$AN_USER_SMTP_TLS" --auth-password "$AN_PASS_SMTP_TLS"
n=0; for m in "$T"/spool/*.eml; do [ -f "$m" ] && n=$((n + 1)); done
[ "$n" -eq 3 ] || fail "smtpd received $n messages, want 3"

note "POP3: poplib"
sensor_cli "$PY" - "$S4" "$AN_USER_POP3" "$AN_PASS_POP3" "$OUT/pop3.eml" <<'PY' || fail "POP3 session"
import poplib, sys
p = poplib.POP3(sys.argv[1], 110, timeout=10)
p.user(sys.argv[2])
p.pass_(sys.argv[3])
n, size = p.stat()
assert n == 1, (n, size)
resp, lines, octets = p.retr(1)
open(sys.argv[4], "wb").write(b"\r\n".join(lines) + b"\r\n")
p.quit()
PY
$PY - "$OUT/pop3.eml" "$T/mail/pop-attach.bin" <<'PY' || fail "the POP3 message's attachment differs"
import email, email.policy, sys
m = email.message_from_bytes(open(sys.argv[1], "rb").read(), policy=email.policy.default)
a = [p.get_content() for p in m.iter_attachments()]
assert a == [open(sys.argv[2], "rb").read()]
PY

note "FTP: curl ftp://"
sensor_cli curl -sf -o "$OUT/ftp-file.bin" "ftp://$AN_USER_FTP:$AN_PASS_FTP@$S4/ftp-file.bin" || fail "curl ftp"
cmp -s "$OUT/ftp-file.bin" "$T/ftp/ftp-file.bin" || fail "ftp-file.bin differs"

note "Telnet: login"
sensor_cli "$PY" "$WARD_ROOT/tests/tools/telnetd.py" login --addr "$S4" --port 23 \
	--user "$AN_USER_TELNET" --password "$AN_PASS_TELNET" || fail "telnet login"

sensor_tcpdump_stop
note "capture: $(du -k "$PCAP" | cut -f1) KiB, $(sensor_pcap_count "$PCAP") frames"

rc=0; "$SENSOR" -r "$PCAP" --json --stats >"$T/records.ndjson" 2>"$T/stats.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/stats.err"; fail "ward-sensor -r exited with $rc"; }
grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$T/stats.err" &&
	{ cat "$T/stats.err"; fail "sanitizer report from ward-sensor"; }
jq -e . "$T/records.ndjson" >/dev/null || fail "ward-sensor output is not NDJSON"
note "ward-sensor: $(jq -r .type "$T/records.ndjson" | sort | uniq -c | tr -s ' \n' ' ')"
note "stats: $(grep '^{' "$T/stats.err" | tail -n 1)"

# What the checks expect, from what the traffic above did.
jq -n --arg s4 "$S4" --arg alt "$AN_HTTP_ALT_PORT" --arg tls "$AN_TLS_ALT_PORT" \
	--argjson dl "$(an_hashes "$T/www/download.bin")" --argjson tx "$(an_hashes "$T/www/text.txt")" \
	--argjson up "$(an_hashes "$T/upload.bin")" --argjson at "$(an_hashes "$T/mail/attach.bin")" --argjson pa "$(an_hashes "$T/mail/pop-attach.bin")" \
	--arg cert "$(openssl x509 -in "$T/pki/www.pem" -outform DER | sha256sum | cut -d' ' -f1)" \
	--arg subj_a "$SUBJ_ATTACH" --arg subj_l "$SUBJ_LOGIN" \
	--arg u_http "$AN_USER_HTTP" --arg p_http "$AN_PASS_HTTP" \
	--arg u_plain "$AN_USER_SMTP_PLAIN" --arg p_plain "$AN_PASS_SMTP_PLAIN" \
	--arg u_login "$AN_USER_SMTP_LOGIN" --arg p_login "$AN_PASS_SMTP_LOGIN" \
	--arg u_tls "$AN_USER_SMTP_TLS" --arg p_tls "$AN_PASS_SMTP_TLS" \
	--arg u_pop "$AN_USER_POP3" --arg p_pop "$AN_PASS_POP3" \
	--arg u_ftp "$AN_USER_FTP" --arg p_ftp "$AN_PASS_FTP" \
	--arg u_tel "$AN_USER_TELNET" --arg p_tel "$AN_PASS_TELNET" '
{
  server: $s4,
  tls_ports: [443, ($tls | tonumber)],
  decode_as: ["tcp.port==\($tls),tls", "tcp.port==\($alt),http"],
  dns: [
    {query: "www.ward.test", qtype_name: "A", rcode_name: "NOERROR", proto: "udp", answer: $s4},
    {query: "www.ward.test", qtype_name: "AAAA", rcode_name: "NOERROR", proto: "udp", answer: "fd77::2"},
    {query: "ward.test", qtype_name: "MX", rcode_name: "NOERROR", proto: "udp", answer: "mail.ward.test"},
    {query: "ward.test", qtype_name: "TXT", rcode_name: "NOERROR", proto: "udp", answer: "v=spf1"},
    {query: "nothere.ward.test", qtype_name: "A", rcode_name: "NXDOMAIN", proto: "udp"},
    {query: "www.ward.test", qtype_name: "A", rcode_name: "NOERROR", proto: "tcp", answer: $s4},
    {query: "ward.test", qtype_name: "MX", rcode_name: "NOERROR", proto: "tcp", answer: "mail.ward.test"}
  ],
  http: [
    {uri: "/index.html", status_code: 200, port: 80, method: "GET", host: $s4},
    {uri: "/download.bin", status_code: 200, port: 80, trans_depth: 2},
    {uri: "/text.txt", status_code: 200, port: 80},
    {uri: "/missing.html", status_code: 404, port: 80},
    {uri: "/index.html?port=alt", status_code: 200, port: ($alt | tonumber)},
    {uri: "/private/secret.txt", status_code: 200, port: 80},
    {uri: "/index.html?post=1", status_code: 405, port: 80, method: "POST", request_body_len: ($up.size)},
    {uri: "/index.html?pipe=1", status_code: 200, port: 80, trans_depth: 1, host: "www.ward.test"},
    {uri: "/missing.html?pipe=2", status_code: 404, port: 80, trans_depth: 2}
  ],
  services: [
    {proto: "udp", port: 53, service: "dns"},
    {proto: "tcp", port: 53, service: "dns"},
    {proto: "tcp", port: 80, service: "http"},
    {proto: "tcp", port: ($alt | tonumber), service: "http"},
    {proto: "tcp", port: 443, service: "ssl"},
    {proto: "tcp", port: ($tls | tonumber), service: "ssl"},
    {proto: "tcp", port: 25, service: "smtp"},
    {proto: "tcp", port: 110, service: "pop3"},
    {proto: "tcp", port: 21, service: "ftp"},
    {proto: "tcp", port: 23, service: "telnet"}
  ],
  files: [
    ($dl + {what: "HTTP download.bin (keep-alive, 2nd request)", port: 80}),
    ($tx + {what: "HTTP text.txt (gzip, chunked): hashed decoded", port: 80}),
    ($up + {what: "HTTP POST body upload.bin (is_orig)", port: 80, is_orig: true}),
    ($at + {what: "SMTP attachment attach.bin", port: 25}),
    ($pa + {what: "POP3 attachment pop-attach.bin", port: 110})
  ],
  x509: [{port: ($tls | tonumber), fingerprint: $cert, subject_cn: "www.ward.test"},
         {port: 443, fingerprint: $cert, subject_cn: "www.ward.test", tls_version: "TLSv12"}],
  smtp: [
    {helo: "client.ward.test", mailfrom: "sender@ward.test", rcptto: ["rcpt@ward.test"], subject: $subj_a},
    {helo: "client.ward.test", mailfrom: "sender@ward.test", rcptto: ["other@ward.test"], subject: $subj_l},
    {tls: true}
  ],
  notices: [
    {proto: "http", mechanism: "basic", user: $u_http, port: 80},
    {proto: "smtp", mechanism: "AUTH PLAIN", user: $u_plain, port: 25},
    {proto: "smtp", mechanism: "AUTH LOGIN", user: $u_login, port: 25},
    {proto: "pop3", mechanism: "USER/PASS", user: $u_pop, port: 110},
    {proto: "ftp", mechanism: "USER/PASS", user: $u_ftp, port: 21},
    {proto: "telnet", mechanism: "login", user: $u_tel, port: 23}
  ],
  http_user: $u_http, pop3_user: $u_pop, ftp_user: $u_ftp,
  detected: {dns: 7, http: 7, ssl: 3, smtp: 3, pop3: 1, ftp: 1, telnet: 1},
  secrets: [
    {name: "HTTP Basic password", text: $p_http, user: $u_http, kind: "basic"},
    {name: "SMTP AUTH PLAIN password", text: $p_plain, user: $u_plain, kind: "plain"},
    {name: "SMTP AUTH LOGIN password", text: $p_login, user: $u_login, kind: "login"},
    {name: "SMTP AUTH in STARTTLS password", text: $p_tls, user: $u_tls, kind: "plain"},
    {name: "POP3 password", text: $p_pop, user: $u_pop, kind: "clear"},
    {name: "FTP password", text: $p_ftp, user: $u_ftp, kind: "clear"},
    {name: "Telnet password", text: $p_tel, user: $u_tel, kind: "clear"}
  ]
}' >"$T/expect.json" || fail "expect.json"

# ---- the checks: each its own function, all run, failures listed at the end
FAILED=
compare() {  # CHECK: one check of analyzer_compare.py
	$PY "$WARD_ROOT/tests/tools/analyzer_compare.py" --pcap "$PCAP" --records "$T/records.ndjson" \
		--expect "$T/expect.json" --stats-file "$T/stats.err" --output "$T/records.ndjson" --output "$T/stats.err" "$1"
}
check() {  # NAME WHAT: runs check_NAME, notes its result
	note "check $1: $2"
	if "check_$1"; then echo "ok     $1"; else echo "FAILED $1: $2"; FAILED="$FAILED $1"; fi
}

check_schema() { "$PY" "$WARD_ROOT/tests/tools/schema_check.py" "$WARD_ROOT/docs/schema" "$T/records.ndjson"; }
check_links() { compare links; }
check_services() { compare services; }
check_dns() { compare dns; }
check_http() { compare http; }
check_files() { compare files; }
check_ssl() { compare ssl; }
check_x509() { compare x509; }
check_smtp() { compare smtp; }
check_pop3() { compare pop3; }
check_ftp() { compare ftp; }
check_notices() { compare notices; }
check_stats() { compare stats; }
check_secrets() { compare secrets; }

check schema "every record valid against docs/schema/<type>.schema.json"
check links "uid, community_id and id.* of each record are its conn's"
check services "conn service names the detected protocol (content, not port)"
check dns "query names and rcodes against tshark"
check http "URIs and status codes against tshark"
check files "SHA-256 of HTTP bodies and mail attachments"
check ssl "SNI, JA3, JA3S, version against tshark"
check x509 "the server certificate of TLS 1.2 sessions"
check smtp "helo, mailfrom, rcptto, subject, STARTTLS"
check pop3 "the POP3 session's records"
check ftp "the FTP session's records"
check notices "cleartext credentials, user masked"
check stats "--stats: sessions detected per analyzer, none denied, no reassembly gap"
check secrets "no password anywhere in ward-sensor's output"

[ -z "$FAILED" ] || fail "checks failed:$FAILED"
echo "PASS"
