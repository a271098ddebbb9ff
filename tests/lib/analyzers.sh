# Servers and fixtures for the protocol analyzers' integration
# test (issue 5, section 4) (POSIX sh). Source after common.sh, netns.sh
# and sensor.sh: the client and server namespaces, tcpdump and the
# teardown are sensor.sh's (sensor_net_create, sensor_tcpdump_start/stop,
# sensor_net_destroy, which also stops every server started here: their
# pids go to its $SENSOR_PIDS).
#
#   an_fixtures DIR        test data made now: DIR/pki (CA, a certificate
#                          for www.ward.test and 10.77.0.2), DIR/www (web
#                          root: index.html, text.txt (gzip'd by nginx,
#                          so sent chunked), download.bin (random),
#                          private/secret.txt behind Basic auth), the
#                          htpasswd, DIR/upload.bin (a POST body),
#                          DIR/mail/attach.bin (the SMTP attachment),
#                          DIR/maildir/1.eml (a MIME message
#                          with DIR/mail/pop-attach.bin attached, for
#                          POP3), DIR/ftp/ftp-file.bin; users and
#                          passwords in $AN_USER_* / $AN_PASS_* (the
#                          passwords are unique to this run, so the
#                          output can be searched for them)
#   an_nginx_start DIR     nginx: HTTP on :80 and :$AN_HTTP_ALT_PORT,
#                          HTTPS on :443 (http/1.1 and h2) and on
#                          :$AN_TLS_ALT_PORT, gzip for text/plain, Basic
#                          auth for /private/
#   an_dnsmasq_start DIR   dnsmasq authoritative for ward.test (A, AAAA,
#                          MX, TXT; other names NXDOMAIN), UDP and TCP
#   an_smtpd_start DIR / an_pop3d_start DIR / an_ftpd_start DIR /
#   an_telnetd_start       the test's own servers (tests/tools/*.py)
#   an_sha256 FILE         the file's SHA-256, lower-case hex
#   an_hashes FILE         its SHA-256, MD5, SHA-1 and size as JSON

PY=${PY:-/usr/bin/python3}
AN_HTTP_ALT_PORT=8080
AN_TLS_ALT_PORT=10443
AN_USER_HTTP=alice AN_USER_SMTP_PLAIN=plainuser AN_USER_SMTP_LOGIN=loginuser
AN_USER_SMTP_TLS=tlsuser AN_USER_POP3=popuser AN_USER_FTP=ftpuser AN_USER_TELNET=teluser

an_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# an_hashes FILE: {"sha256":..,"md5":..,"sha1":..,"size":N} as JSON.
an_hashes() {
	printf '{"sha256":"%s","md5":"%s","sha1":"%s","size":%s}' "$(an_sha256 "$1")" \
		"$(md5sum "$1" | cut -d' ' -f1)" "$(sha1sum "$1" | cut -d' ' -f1)" "$(wc -c <"$1" | tr -d ' ')"
}

# an_secret NAME: a password no other run or protocol uses.
an_secret() { printf 'Pw%s%s%s' "$1" "$$" "$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"; }

an_fixtures() {
	_ad=$1
	. "$WARD_ROOT/tests/lib/pki.sh"
	mkdir -p "$_ad/pki" "$_ad/www/private" "$_ad/mail" "$_ad/maildir" "$_ad/ftp" "$_ad/spool"
	make_pki "$_ad/pki" && pki_server "$_ad/pki" www www.ward.test "$SENSOR_V4_SRV" &&
		pki_server "$_ad/pki" mail mail.ward.test "$SENSOR_V4_SRV" ||
		fail "openssl could not make the test certificates"
	AN_PASS_HTTP=$(an_secret http) AN_PASS_SMTP_PLAIN=$(an_secret plain)
	AN_PASS_SMTP_LOGIN=$(an_secret login) AN_PASS_SMTP_TLS=$(an_secret tls)
	AN_PASS_POP3=$(an_secret pop) AN_PASS_FTP=$(an_secret ftp) AN_PASS_TELNET=$(an_secret tel)
	printf '<html><body>ward analyzer test</body></html>\n' >"$_ad/www/index.html"
	# Text that gzip shrinks: nginx sends it gzip'd, chunked.
	awk 'BEGIN { for (i = 0; i < 3000; i++) printf "line %d of the ward chunked text\n", i }' \
		>"$_ad/www/text.txt"
	head -c 300000 /dev/urandom >"$_ad/www/download.bin"
	head -c 5000 /dev/urandom >"$_ad/upload.bin"
	printf 'the private page\n' >"$_ad/www/private/secret.txt"
	printf '%s:%s\n' "$AN_USER_HTTP" "$(openssl passwd -apr1 "$AN_PASS_HTTP")" >"$_ad/htpasswd"
	head -c 20000 /dev/urandom >"$_ad/mail/attach.bin"
	head -c 12000 /dev/urandom >"$_ad/mail/pop-attach.bin"
	head -c 50000 /dev/urandom >"$_ad/ftp/ftp-file.bin"
	$PY - "$_ad/mail/pop-attach.bin" "$_ad/maildir/1.eml" <<'PY' || fail "could not write the POP3 message"
import sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "sender@ward.test"
m["To"] = "popuser@ward.test"
m["Subject"] = "ward pop3 message"
m["Message-ID"] = "<pop3-test@ward.test>"
m.set_content("a message with an attachment\n")
m.add_attachment(open(sys.argv[1], "rb").read(), maintype="application",
                 subtype="octet-stream", filename="pop-attach.bin")
open(sys.argv[2], "wb").write(bytes(m))
PY
}

an_nginx_start() {
	_ad=$1
	command -v nginx >/dev/null || skip "nginx not installed"
	mkdir -p "$_ad/nginx/logs" "$_ad/nginx/tmp"
	cat >"$_ad/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $_ad/nginx/nginx.pid;
error_log $_ad/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $_ad/nginx/tmp/body;
	proxy_temp_path $_ad/nginx/tmp/proxy;
	fastcgi_temp_path $_ad/nginx/tmp/fastcgi;
	uwsgi_temp_path $_ad/nginx/tmp/uwsgi;
	scgi_temp_path $_ad/nginx/tmp/scgi;
	types { text/html html; text/plain txt; application/octet-stream bin; }
	gzip on;
	gzip_types text/plain;
	gzip_min_length 100;
	server {
		listen $SENSOR_V4_SRV:80;
		listen $SENSOR_V4_SRV:$AN_HTTP_ALT_PORT;
		listen $SENSOR_V4_SRV:443 ssl http2;
		listen $SENSOR_V4_SRV:$AN_TLS_ALT_PORT ssl;
		server_name www.ward.test;
		ssl_certificate $_ad/pki/www.pem;
		ssl_certificate_key $_ad/pki/www.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_tickets off;
		root $_ad/www;
		location /private/ {
			auth_basic "ward test";
			auth_basic_user_file $_ad/htpasswd;
		}
	}
}
CONF
	ip netns exec "$SENSOR_SRV" nginx -e "$_ad/nginx/logs/error.log" -p "$_ad/nginx" -c "$_ad/nginx/nginx.conf" \
		>"$_ad/nginx/logs/stdout" 2>&1 &
	SENSOR_PIDS="$SENSOR_PIDS $!"
	for _p in 80 "$AN_HTTP_ALT_PORT" 443 "$AN_TLS_ALT_PORT"; do
		wait_for 20 sensor_listening tcp "$_p" || { cat "$_ad/nginx/logs/"*; fail "nginx did not listen on $_p"; }
	done
}

an_dnsmasq_start() {
	_sd=$1/dnsmasq
	command -v dnsmasq >/dev/null || skip "dnsmasq not installed"
	mkdir -p "$_sd"
	# local=/ward.test/: the names below are answered from here only, and
	# one that is not configured is NXDOMAIN (not REFUSED).
	cat >"$_sd/dnsmasq.conf" <<CONF
port=53
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$SENSOR_V4_SRV
except-interface=lo
user=root
pid-file=$_sd/dnsmasq.pid
log-facility=$_sd/dnsmasq.log
local=/ward.test/
host-record=www.ward.test,$SENSOR_V4_SRV,$SENSOR_V6_SRV
mx-host=ward.test,mail.ward.test,10
host-record=mail.ward.test,$SENSOR_V4_SRV
txt-record=ward.test,"v=spf1 ip4:$SENSOR_V4_SRV -all"
CONF
	ip netns exec "$SENSOR_SRV" dnsmasq -k -C "$_sd/dnsmasq.conf" >"$_sd/stdout" 2>&1 &
	SENSOR_PIDS="$SENSOR_PIDS $!"
	wait_for 20 sensor_listening udp 53 && wait_for 5 sensor_listening tcp 53 ||
		{ cat "$_sd/stdout" "$_sd/dnsmasq.log" 2>/dev/null; fail "dnsmasq did not start"; }
}

# an_py_server NAME PORT SCRIPT ARGS...: tests/tools/SCRIPT in the server
# namespace, its output in $WARD_TMP/NAME.log; waits until PORT listens.
an_py_server() {
	_n=$1 _p=$2 _s=$3; shift 3
	ip netns exec "$SENSOR_SRV" "$PY" "$WARD_ROOT/tests/tools/$_s" "$@" >"$WARD_TMP/$_n.log" 2>&1 &
	SENSOR_PIDS="$SENSOR_PIDS $!"
	wait_for 20 sensor_listening tcp "$_p" || { cat "$WARD_TMP/$_n.log"; fail "$_n did not listen on $_p"; }
}

an_smtpd_start() {
	an_py_server smtpd 25 smtpd.py --addr "$SENSOR_V4_SRV" --port 25 --spool "$1/spool" \
		--cert "$1/pki/mail.pem" --key "$1/pki/mail.key"
}
an_pop3d_start() {
	an_py_server pop3d 110 pop3d.py --addr "$SENSOR_V4_SRV" --port 110 --maildir "$1/maildir" \
		--user "$AN_USER_POP3" --password "$AN_PASS_POP3"
}
an_ftpd_start() {
	an_py_server ftpd 21 ftpd.py --addr "$SENSOR_V4_SRV" --port 21 --root "$1/ftp" \
		--user "$AN_USER_FTP" --password "$AN_PASS_FTP"
}
an_telnetd_start() {
	an_py_server telnetd 23 telnetd.py serve --addr "$SENSOR_V4_SRV" --port 23 \
		--user "$AN_USER_TELNET" --password "$AN_PASS_TELNET"
}
