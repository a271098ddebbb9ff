#!/bin/sh
# sensor_trafficgen.sh [--force] [OUT.pcap]: the packet sensor's benchmark
# capture, made from real traffic (issue 4, section 6).
# sensor_trafficgen.sh --summary FILE: counts FILE again into FILE.info.
#
# Two network namespaces joined by a veth pair, with TSO, GSO, GRO and LRO
# off on both ends, so that what crosses it is MTU-sized frames, as on a
# mirror port. The server namespace runs nginx (a few large files and many
# small ones, IPv4 and IPv6) and dnsmasq; the client namespace runs:
#
#   curl      SENSOR_GEN_LARGE downloads of SENSOR_GEN_LARGE_MB MiB each
#             (one of them over IPv6): the bulk of the packets;
#   ab        SENSOR_GEN_FLOWS short HTTP connections, no keep-alive, over
#             several small files: the bulk of the flows;
#   curl -6   a few dozen short IPv6 connections;
#   dig       SENSOR_GEN_DNS DNS queries over UDP, each from its own port,
#             and a few over TCP;
#   curl      a few connections to a closed port (refused);
#   ping      ICMP echo, IPv4 and IPv6.
#
# all at once, while tcpdump on the client's end writes every frame in full
# to OUT (default build/bench/sensor.pcap). The capture is cached: when OUT
# and its summary OUT.info exist, nothing is made again unless --force.
# Either way the summary is printed: packets, frames of 1,514 bytes or more
# (MTU-sized), TCP and UDP conversations (counted as tshark -z conv counts
# them), file size, and the packets the kernel dropped during the capture
# (should be 0).
#
# Needs root, ip, ethtool, nginx (nginx-light), dnsmasq, ab, curl, dig,
# ping, tcpdump, capinfos. Takes 20 to 45 s on a 2-core VM.
#
# Environment (defaults):
#   SENSOR_GEN_LARGE=5        large downloads at once
#   SENSOR_GEN_LARGE_MB=160   size of each, MiB
#   SENSOR_GEN_RATE=20M       curl --limit-rate of each large download, so
#                             that tcpdump keeps up ("" for no limit)
#   SENSOR_GEN_FLOWS=12000    ab connections
#   SENSOR_GEN_DNS=2000       DNS queries over UDP
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FORCE=0
[ "${1:-}" = --force ] && { FORCE=1; shift; }
OUT=$ROOT/build/bench/sensor.pcap
[ "${1:-}" != --summary ] && OUT=${1:-$OUT}
INFO=$OUT.info
LARGE=${SENSOR_GEN_LARGE:-5}
LARGE_MB=${SENSOR_GEN_LARGE_MB:-160}
RATE=${SENSOR_GEN_RATE-20M}
FLOWS=${SENSOR_GEN_FLOWS:-12000}
DNS=${SENSOR_GEN_DNS:-2000}

# The variables come from OUT.info.
# shellcheck disable=SC2154
show_info() {
	# shellcheck disable=SC1090
	. "$INFO"
	echo "capture: $OUT"
	echo "  packets $packets ($mtu_frames of 1514 bytes or more), bytes $bytes," \
		"file $file_bytes bytes"
	echo "  flows $((tcp_convs + udp_convs)) (conversations: tcp $tcp_convs, udp $udp_convs)," \
		"kernel drops during capture $drops, made $made in ${seconds}s"
}

# summarize: writes OUT.info from OUT (drops and seconds from the caller)
# and prints it. Packets and bytes come from capinfos. Conversations are
# counted as tshark -z conv,tcp and conv,udp count them (an address and
# port pair, either direction, is one; for TCP, each SYN with its own
# sequence number starts one), from two passes of tcpdump, which take
# seconds where tshark takes many minutes on a capture this size.
summarize() {
	packets=$(capinfos -M -c -T -r "$OUT" | awk -F'\t' '{ print $NF }')
	bytes=$(capinfos -M -d -T -r "$OUT" | awk -F'\t' '{ print $NF }')
	# A client reuses a port once the server has closed first (the
	# server keeps the TIME_WAIT), so one address and port pair may carry
	# several TCP connections, each a flow of its own: tell them apart by
	# the initial sequence number of their SYN.
	tcpdump -r "$OUT" -tn 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2>/dev/null |
		awk '{ a = $2; b = $4; sub(/:$/, "", b); seq = $8; sub(/,$/, "", seq)
			print (a < b ? a " " b : b " " a), seq }' | sort -u >"$INFO.syn"
	# -tenq: "MAC > MAC, ethertype IPv4 (0x0800), length 1514: A.P > B.Q: tcp 1448"
	tcpdump -r "$OUT" -tenq 2>/dev/null | awk '
		FNR == NR { syns[$1 " " $2]++; next }
		{ for (i = 1; i <= NF; i++) if ($i == "length") { len = $(i + 1) + 0; break } }
		len >= 1514 { mtu++ }
		{
			# the transport: the word after "B.Q:"
			for (j = i + 2; j < NF; j++) if ($(j + 1) == ">") break
			if (j >= NF) next
			a = $j; b = $(j + 2); sub(/:$/, "", b); p = $(j + 3)
			if (p == "tcp") t = "tcp"; else if (p == "UDP,") t = "udp"; else next
			pair = a < b ? a " " b : b " " a
			if ((t, pair) in seen) next
			seen[t, pair] = 1
			n[t] += (t == "tcp" && syns[pair] > 1) ? syns[pair] : 1
		}
		END { printf "mtu_frames=%d\ntcp_convs=%d\nudp_convs=%d\n", mtu, n["tcp"], n["udp"] }' \
		"$INFO.syn" - >"$INFO.part"
	{
		echo "packets=$packets"
		echo "bytes=$bytes"
		echo "file_bytes=$(stat -c %s "$OUT")"
		cat "$INFO.part"
		echo "drops=${drops:-unknown}"
		echo "made=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "seconds=${seconds:-unknown}"
	} >"$INFO"
	rm -f "$INFO.part" "$INFO.syn"
	show_info
}

if [ "${1:-}" = --summary ]; then
	OUT=${2:?usage: sensor_trafficgen.sh --summary FILE}
	INFO=$OUT.info
	summarize
	exit 0
fi

if [ "$FORCE" = 0 ] && [ -s "$OUT" ] && [ -s "$INFO" ]; then
	show_info
	exit 0
fi

for v in "$LARGE" "$LARGE_MB" "$FLOWS" "$DNS"; do
	case $v in '' | *[!0-9]* | 0)
		echo "sensor_trafficgen: SENSOR_GEN_LARGE, _LARGE_MB, _FLOWS and _DNS must be positive numbers" >&2
		exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "sensor_trafficgen: network namespaces need root" >&2; exit 2; }
for t in ip ethtool nginx dnsmasq ab curl dig ping tcpdump capinfos; do
	command -v "$t" >/dev/null ||
		{ echo "sensor_trafficgen: $t not installed (scripts/deps.sh test)" >&2; exit 2; }
done

NS_S=wsgs$$
NS_C=wsgc$$
DEV_S=wsgs$$
DEV_C=wsgc$$
IP_S=10.78.0.1
IP_C=10.78.0.2
IP6_S=fd78::1
IP6_C=fd78::2
mkdir -p "$(dirname "$OUT")"
W=$(mktemp -d /var/tmp/ward-sensorgen.XXXXXX)
chmod 755 "$W"
PART=$OUT.part.$$
PIDS=
NS_MADE=

# shellcheck disable=SC2317
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	for ns in $NS_MADE; do
		left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		# shellcheck disable=SC2086
		[ -n "$left" ] && kill -KILL $left 2>/dev/null
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$W"
	rm -f "$PART"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll SECONDS COMMAND...: COMMAND every 0.05 s until it succeeds, or 1.
poll() {
	_end=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$_end" ] && return 1
		sleep 0.05
	done
}

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

t0=$(date +%s)
echo "sensor_trafficgen: making $OUT"

# ---- namespaces -------------------------------------------------------------
ip netns add "$NS_S"; NS_MADE=$NS_S
ip netns add "$NS_C"; NS_MADE="$NS_S $NS_C"
ip link add "$DEV_S" netns "$NS_S" type veth peer name "$DEV_C" netns "$NS_C"
for side in s c; do
	if [ $side = s ]; then ns=$NS_S dev=$DEV_S a=$IP_S a6=$IP6_S
	else ns=$NS_C dev=$DEV_C a=$IP_C a6=$IP6_C; fi
	ip -n "$ns" link set lo up
	# No router solicitations: the capture holds the traffic made here.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
		net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0 >/dev/null
	ip -n "$ns" addr add "$a/24" dev "$dev"
	ip -n "$ns" addr add "$a6/64" dev "$dev" nodad
	# Offloads off: each frame on the veth is one MTU-sized packet at most.
	ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off lro off 2>/dev/null ||
		ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off
	ip -n "$ns" link set "$dev" up
done

# ---- servers ------------------------------------------------------------------
mkdir -p "$W/www/large" "$W/www/small" "$W/nginx"
i=1
while [ "$i" -le "$LARGE" ]; do
	# Sparse: nginx sends zeros, which costs neither disk nor time here.
	truncate -s "${LARGE_MB}M" "$W/www/large/b$i.bin"
	i=$((i + 1))
done
# Small pages of 1 to 16 KiB.
i=1
while [ "$i" -le 64 ]; do
	head -c $(( (i % 16 + 1) * 1024 )) /dev/urandom >"$W/www/small/s$i.html"
	i=$((i + 1))
done
chmod -R a+rX "$W/www"
cat >"$W/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	sendfile on;
	client_body_temp_path $W/nginx/body;
	proxy_temp_path $W/nginx/proxy;
	fastcgi_temp_path $W/nginx/fastcgi;
	uwsgi_temp_path $W/nginx/uwsgi;
	scgi_temp_path $W/nginx/scgi;
	types { text/html html; application/octet-stream bin; }
	server {
		listen $IP_S:80 backlog=4096;
		listen [$IP6_S]:80 backlog=4096;
		root $W/www;
	}
}
EOF
ip netns exec "$NS_S" nginx -c "$W/nginx.conf" -p "$W/nginx" >"$W/nginx.out" 2>&1 &
PIDS="$PIDS $!"
ip netns exec "$NS_S" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$IP_S" --port=53 --address=/bench.test/10.78.0.9 --cache-size=0 \
	--pid-file="$W/dnsmasq.pid" --user=root >"$W/dnsmasq.out" 2>&1 &
PIDS="$PIDS $!"
in_s sysctl -qw net.core.somaxconn=4096 >/dev/null
# A wide port range for the clients. A client still reuses a port as soon
# as the server has closed first (the server keeps the TIME_WAIT); the
# summary tells such connections apart by their SYN.
in_c sysctl -qw net.ipv4.ip_local_port_range="10000 65000" >/dev/null
nginx_up() { in_c curl -sf -o /dev/null "http://$IP_S/small/s1.html"; }
dns_up() { in_c dig +short +tries=1 +time=1 "@$IP_S" up.bench.test | grep -q .; }
poll 20 nginx_up || { cat "$W/nginx.out" "$W/nginx/error.log" 2>/dev/null; echo "sensor_trafficgen: nginx did not come up" >&2; exit 1; }
poll 20 dns_up || { cat "$W/dnsmasq.out"; echo "sensor_trafficgen: dnsmasq did not come up" >&2; exit 1; }

# ---- capture ----------------------------------------------------------------
# -Z root: tcpdump would otherwise drop to its own user, who may not write
# OUT's directory. A 256 MiB buffer rides out the bursts, and nice -15
# keeps other work from starving it: at normal priority, on a busy 2-core
# VM, it lost up to 160,000 packets of a capture.
ip netns exec "$NS_C" nice -n -15 tcpdump -i "$DEV_C" -n -s 0 -B 262144 -Z root -w "$PART" \
	>"$W/tcpdump.out" 2>&1 &
TCPDUMP=$!
PIDS="$PIDS $TCPDUMP"
poll 20 grep -q 'listening on' "$W/tcpdump.out" ||
	{ cat "$W/tcpdump.out"; echo "sensor_trafficgen: tcpdump did not start" >&2; exit 1; }

# ---- clients ----------------------------------------------------------------
# The large downloads in the background, the rest meanwhile.
LPIDS=
i=1
while [ "$i" -le "$LARGE" ]; do
	host=$IP_S
	[ "$i" -eq "$LARGE" ] && [ "$LARGE" -gt 1 ] && host="[$IP6_S]"
	ip netns exec "$NS_C" curl -sS -f -o /dev/null ${RATE:+--limit-rate "$RATE"} \
		"http://$host/large/b$i.bin" &
	LPIDS="$LPIDS $!"
	i=$((i + 1))
done
PIDS="$PIDS $LPIDS"

# ab: FLOWS connections over 4 pages, one ab of 8 concurrent connections
# each.
per=$(( (FLOWS + 3) / 4 ))
APIDS=
for k in 1 2 3 4; do
	ip netns exec "$NS_C" ab -q -n "$per" -c 8 "http://$IP_S/small/s$((k * 7)).html" \
		>"$W/ab$k.out" 2>&1 &
	APIDS="$APIDS $!"
done
PIDS="$PIDS $APIDS"

# DNS over UDP: dig's batch mode sends each query from a new socket.
i=1
while [ "$i" -le "$DNS" ]; do echo "h$i.bench.test"; i=$((i + 1)); done >"$W/names"
in_c dig "@$IP_S" +tries=1 +time=1 +short -f "$W/names" >"$W/dig.out" 2>&1 || true
# And a few over TCP.
i=1
while [ "$i" -le 20 ]; do in_c dig "@$IP_S" +tcp +short "t$i.bench.test" >/dev/null || true; i=$((i + 1)); done
# Short IPv6 connections, refused connections, ICMP.
i=1
while [ "$i" -le 40 ]; do
	in_c curl -sS -f -o /dev/null "http://[$IP6_S]/small/s$i.html" || true
	i=$((i + 1))
done
i=1
while [ "$i" -le 20 ]; do in_c curl -s -o /dev/null "http://$IP_S:$((8000 + i))/" || true; i=$((i + 1)); done
in_c ping -q -c 50 -i 0.01 "$IP_S" >/dev/null || true
in_c ping -q -6 -c 50 -i 0.01 "$IP6_S" >/dev/null || true

fail=0
for p in $APIDS; do wait "$p" || fail=1; done
for p in $LPIDS; do wait "$p" || fail=1; done
PIDS="$TCPDUMP"
for k in 1 2 3 4; do
	grep -q '^Failed requests: *0' "$W/ab$k.out" || { cat "$W/ab$k.out"; fail=1; }
done
[ "$fail" = 0 ] || { echo "sensor_trafficgen: a client failed" >&2; exit 1; }

# The last frames in flight reach the capture before it stops: wait until
# tcpdump's file stops growing.
size_of() { stat -c %s "$PART"; }
last=-1
while [ "$(size_of)" != "$last" ]; do last=$(size_of); sleep 0.5; done
kill -INT "$TCPDUMP"
wait "$TCPDUMP" || true
PIDS=
drops=$(awk '/dropped by kernel/ { print $1 }' "$W/tcpdump.out")

# ---- summary ----------------------------------------------------------------
mv "$PART" "$OUT"
seconds=$(( $(date +%s) - t0 ))
summarize
case ${drops:-x} in
0) ;;
*) echo "sensor_trafficgen: WARNING: tcpdump lost ${drops:-an unknown number of} packets; the capture" \
	"holds partial flows (--force with a lower SENSOR_GEN_RATE makes it again)" ;;
esac
