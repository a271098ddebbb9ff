# Real traffic for the packet sensor's tests (POSIX sh). Source after
# common.sh and netns.sh (its namespaces, made and deleted by netns_create
# and netns_destroy, are used here). Needs root, ip(8) and ethtool(8).
#
#   sensor_net_create        a client and a server namespace ($SENSOR_CLI,
#                            $SENSOR_SRV) joined by a veth pair: the
#                            client's $SENSOR_CLI_IF has 10.77.0.1/24 and
#                            fd77::1/64, the server's $SENSOR_SRV_IF has
#                            10.77.0.2/24 and fd77::2/64; offloads off
#   sensor_cli CMD...        runs CMD in the client namespace
#   sensor_srv CMD...        runs CMD in the server namespace
#   sensor_nginx_start DIR   nginx in the server namespace: HTTP on :80
#                            (IPv4 and IPv6), HTTPS on :443 with a
#                            certificate for www.ward.test and 10.77.0.2
#                            from DIR/pki/ca.pem; docroot DIR/www has
#                            index.html, small.txt and big.bin (2 MiB)
#   sensor_dnsmasq_start DIR dnsmasq in the server namespace on port 53
#                            (UDP and TCP, IPv4 and IPv6) answering A,
#                            AAAA, MX and TXT for ward.test names
#   sensor_tcpdump_start NS IF FILE   a capture to FILE; returns once
#                            tcpdump says it is listening
#   sensor_tcpdump_stop      waits until FILE has every frame the
#                            interface carried since, stops tcpdump, and
#                            fails if the kernel dropped packets
#   sensor_if_packets NS IF  frames IF received + sent (its counters)
#   sensor_net_destroy       stops every process started here and deletes
#                            the namespaces (call it from the EXIT trap)
#
# Offloads: GRO, GSO, TSO, LRO and TX checksumming are off on both veth
# ends, so every frame on the wire is at most MTU-sized (1514 bytes with
# the Ethernet header) and carries a real checksum; with TSO/GSO on, a
# capture on a veth would show 64 KiB "frames" that no switch mirror port
# ever delivers.
#
# IPv6: the namespaces are made without IPv6 (netns_create); it is turned
# back on here, with no link-local address (addrgenmode none), no DAD and
# no router solicitations, so the only IPv6 packets on the link are the
# test's own and the neighbour discovery they need.

SENSOR_CLI= SENSOR_SRV= SENSOR_CLI_IF= SENSOR_SRV_IF=
SENSOR_V4_CLI=10.77.0.1 SENSOR_V4_SRV=10.77.0.2
SENSOR_V6_CLI=fd77::1 SENSOR_V6_SRV=fd77::2
SENSOR_PIDS=
SENSOR_TCPDUMP_PID= SENSOR_TCPDUMP_ERR= SENSOR_TCPDUMP_FILE= SENSOR_TCPDUMP_IF=
SENSOR_TCPDUMP_BASE=0

sensor_cli() { ip netns exec "$SENSOR_CLI" "$@"; }
sensor_srv() { ip netns exec "$SENSOR_SRV" "$@"; }

# sensor_offloads_off NS IF: the offloads above off, checked after.
sensor_offloads_off() {
	# Some features are fixed on a veth (lro); ethtool then says so and
	# returns non-zero although the others changed: check the result.
	ip netns exec "$1" ethtool -K "$2" gro off gso off tso off lro off tx off >/dev/null 2>&1
	_on=$(ip netns exec "$1" ethtool -k "$2" | grep -E \
		'^(generic-receive-offload|generic-segmentation-offload|tcp-segmentation-offload|large-receive-offload|tx-checksumming): on')
	[ -z "$_on" ] || { echo "$_on" >&2; return 1; }
}

# sensor_ipv6_on NS IF: IPv6 without link-local addresses, DAD or RS.
sensor_ipv6_on() {
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 \
		net.ipv6.conf.default.disable_ipv6=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.router_solicitations=0 \
		net.ipv6.conf.default.router_solicitations=0 >/dev/null &&
	ip -n "$1" link set "$2" addrgenmode none &&
	ip netns exec "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=0" \
		"net.ipv6.conf.$2.accept_dad=0" "net.ipv6.conf.$2.router_solicitations=0" >/dev/null
}

sensor_net_create() {
	command -v ethtool >/dev/null || skip "ethtool not installed"
	netns_create wcli wsrv
	SENSOR_CLI=$(netns_name wcli) SENSOR_SRV=$(netns_name wsrv)
	SENSOR_CLI_IF=wc$$ SENSOR_SRV_IF=ws$$
	ip -n "$SENSOR_CLI" link add "$SENSOR_CLI_IF" type veth peer name "$SENSOR_SRV_IF" ||
		fail "veth pair"
	ip -n "$SENSOR_CLI" link set "$SENSOR_SRV_IF" netns "$SENSOR_SRV" || fail "veth to $SENSOR_SRV"
	for _e in "$SENSOR_CLI $SENSOR_CLI_IF $SENSOR_V4_CLI $SENSOR_V6_CLI" \
		  "$SENSOR_SRV $SENSOR_SRV_IF $SENSOR_V4_SRV $SENSOR_V6_SRV"; do
		# shellcheck disable=SC2086
		set -- $_e
		sensor_ipv6_on "$1" "$2" || fail "IPv6 on $2"
		ip -n "$1" addr add "$3/24" dev "$2" &&
			ip -n "$1" addr add "$4/64" dev "$2" nodad &&
			ip -n "$1" link set "$2" up || fail "addresses on $2"
		sensor_offloads_off "$1" "$2" || fail "offloads still on for $2"
	done
	wait_for 10 sensor_link_up || fail "veth link did not come up"
}

sensor_link_up() {
	ip -n "$SENSOR_CLI" -br link show "$SENSOR_CLI_IF" | grep -q ' UP ' &&
	ip -n "$SENSOR_SRV" -br link show "$SENSOR_SRV_IF" | grep -q ' UP '
}

# sensor_listening PROTO PORT: a socket of the server namespace listens
# (tcp) or is bound (udp) on PORT, asked of the kernel, not with a packet.
sensor_listening() {
	case $1 in
	tcp) sensor_srv ss -Hltn "sport = :$2" | grep -q . ;;
	udp) sensor_srv ss -Hlun "sport = :$2" | grep -q . ;;
	esac
}

sensor_nginx_start() {
	_sd=$1
	command -v nginx >/dev/null || skip "nginx not installed"
	. "$WARD_ROOT/tests/lib/pki.sh"
	mkdir -p "$_sd/pki" "$_sd/www" "$_sd/nginx/logs" "$_sd/nginx/tmp"
	make_pki "$_sd/pki" && pki_server "$_sd/pki" www www.ward.test "$SENSOR_V4_SRV" ||
		fail "openssl could not make the test certificate"
	printf '<html><body>ward sensor test</body></html>\n' >"$_sd/www/index.html"
	printf 'small\n' >"$_sd/www/small.txt"
	head -c 2097152 /dev/urandom >"$_sd/www/big.bin"
	cat >"$_sd/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
user root;
pid $_sd/nginx/nginx.pid;
error_log $_sd/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $_sd/nginx/tmp/body;
	proxy_temp_path $_sd/nginx/tmp/proxy;
	fastcgi_temp_path $_sd/nginx/tmp/fastcgi;
	uwsgi_temp_path $_sd/nginx/tmp/uwsgi;
	scgi_temp_path $_sd/nginx/tmp/scgi;
	keepalive_requests 1000;
	server {
		listen $SENSOR_V4_SRV:80;
		listen [$SENSOR_V6_SRV]:80;
		listen $SENSOR_V4_SRV:443 ssl;
		ssl_certificate $_sd/pki/www.pem;
		ssl_certificate_key $_sd/pki/www.key;
		root $_sd/www;
	}
}
CONF
	ip netns exec "$SENSOR_SRV" nginx -e "$_sd/nginx/logs/error.log" -p "$_sd/nginx" -c "$_sd/nginx/nginx.conf" \
		>"$_sd/nginx/logs/stdout" 2>&1 &
	SENSOR_PIDS="$SENSOR_PIDS $!"
	wait_for 20 sensor_listening tcp 443 && wait_for 5 sensor_listening tcp 80 ||
		{ cat "$_sd/nginx/logs/"*; fail "nginx did not start"; }
}

sensor_dnsmasq_start() {
	_sd=$1/dnsmasq
	command -v dnsmasq >/dev/null || skip "dnsmasq not installed"
	mkdir -p "$_sd"
	cat >"$_sd/dnsmasq.conf" <<CONF
port=53
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$SENSOR_V4_SRV
listen-address=$SENSOR_V6_SRV
except-interface=lo
user=root
pid-file=$_sd/dnsmasq.pid
log-facility=$_sd/dnsmasq.log
host-record=www.ward.test,$SENSOR_V4_SRV,$SENSOR_V6_SRV
mx-host=ward.test,mail.ward.test,10
host-record=mail.ward.test,$SENSOR_V4_SRV
txt-record=ward.test,"v=spf1 ip4:$SENSOR_V4_SRV -all"
txt-record=big.ward.test,"$(head -c 180 /dev/zero | tr '\0' a)","$(head -c 180 /dev/zero | tr '\0' b)"
CONF
	ip netns exec "$SENSOR_SRV" dnsmasq -k -C "$_sd/dnsmasq.conf" >"$_sd/stdout" 2>&1 &
	SENSOR_PIDS="$SENSOR_PIDS $!"
	wait_for 20 sensor_listening udp 53 && wait_for 5 sensor_listening tcp 53 ||
		{ cat "$_sd/stdout" "$_sd/dnsmasq.log" 2>/dev/null; fail "dnsmasq did not start"; }
}

# sensor_if_packets NS IF: frames IF received and sent, from its counters.
sensor_if_packets() {
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets" \
		"/sys/class/net/$2/statistics/tx_packets" | awk '{s += $1} END {print s}'
}

# sensor_pcap_count FILE: frames in a capture file.
sensor_pcap_count() { tcpdump -n -r "$1" 2>/dev/null | wc -l; }

# sensor_tcpdump_start NS IF FILE: tcpdump writes every frame of IF whole
# (-s 0), each as soon as it is seen (--immediate-mode: no frames waiting
# in a ring block when it stops; -U: written at once), as root (-Z root:
# the scratch directory is root's), with a 32 MiB buffer (-B) against
# drops on a busy machine.
sensor_tcpdump_start() {
	command -v tcpdump >/dev/null || skip "tcpdump not installed"
	SENSOR_TCPDUMP_ERR=$3.err SENSOR_TCPDUMP_FILE=$3 SENSOR_TCPDUMP_IF="$1 $2"
	ip netns exec "$1" tcpdump -i "$2" -n -s 0 -B 32768 -U --immediate-mode -Z root -w "$3" \
		2>"$SENSOR_TCPDUMP_ERR" &
	SENSOR_TCPDUMP_PID=$!
	wait_for 20 grep -q 'listening on' "$SENSOR_TCPDUMP_ERR" ||
		{ cat "$SENSOR_TCPDUMP_ERR"; fail "tcpdump did not start on $2"; }
	# Frames from here on are in the file once tcpdump has them all.
	SENSOR_TCPDUMP_BASE=$(sensor_if_packets "$1" "$2")
}

sensor_tcpdump_complete() {
	# shellcheck disable=SC2086
	[ "$(sensor_pcap_count "$SENSOR_TCPDUMP_FILE")" -ge \
		$(( $(sensor_if_packets $SENSOR_TCPDUMP_IF) - SENSOR_TCPDUMP_BASE )) ]
}

# sensor_tcpdump_stop: once the file holds at least the frames the
# interface carried since the start, stops tcpdump and waits for it.
sensor_tcpdump_stop() {
	[ -n "$SENSOR_TCPDUMP_PID" ] || return 0
	_complete=0
	wait_for 20 sensor_tcpdump_complete && _complete=1
	kill -INT "$SENSOR_TCPDUMP_PID"
	# tcpdump flushes and closes the file, then prints its counters.
	wait "$SENSOR_TCPDUMP_PID"
	SENSOR_TCPDUMP_PID=
	grep -q 'packets captured' "$SENSOR_TCPDUMP_ERR" ||
		{ cat "$SENSOR_TCPDUMP_ERR"; fail "tcpdump did not end cleanly"; }
	# shellcheck disable=SC2086
	[ "$_complete" = 1 ] || { cat "$SENSOR_TCPDUMP_ERR"; fail "tcpdump wrote \
$(sensor_pcap_count "$SENSOR_TCPDUMP_FILE") frames, the interface carried \
$(( $(sensor_if_packets $SENSOR_TCPDUMP_IF) - SENSOR_TCPDUMP_BASE ))"; }
	_drops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$SENSOR_TCPDUMP_ERR")
	[ "${_drops:-0}" -eq 0 ] || fail "tcpdump: $_drops packets dropped by the kernel"
	note "tcpdump: $(grep 'packets captured' "$SENSOR_TCPDUMP_ERR")"
}

sensor_net_destroy() {
	[ -n "$SENSOR_TCPDUMP_PID" ] && kill -KILL "$SENSOR_TCPDUMP_PID" 2>/dev/null
	for _pid in $SENSOR_PIDS; do
		kill -TERM "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	done
	SENSOR_PIDS= SENSOR_TCPDUMP_PID=
	netns_destroy
}
