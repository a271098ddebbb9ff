#!/bin/sh
# Live capture on a veth between two network namespaces made here, with
# both live backends (libpcap, and AF_PACKET with two fanout workers):
#   a. libpcap, a ping flood: every ICMP frame is seen (requests + replies
#      that ping counted), no kernel drop, the interface's counter moved;
#   b. AF_PACKET x2, 64 UDP flows of 8 echoed datagrams: every frame seen,
#      both workers got frames, and no flow reached two workers;
#   c. libpcap, 32 such flows;
#   b and c run as nobody under the sensor's seccomp filter (the sanitizer
#   build installs it on request, without its leak check, which would
#   need ptrace at exit);
#   d. 802.1Q: tagged frames (sent with scapy) reach the callback tagged,
#      on both backends (AF_PACKET puts back the tag the kernel strips);
#   e. AF_PACKET ring overflow: kernel_drops counts what the ring lost,
#      and received + kernel_drops = frames sent;
#   f. GRO on the interface is reported, and off again;
#   g. IPv4 fragments: libpcap hands each fragment, AF_PACKET's fanout
#      (FLAG_DEFRAG) hands the reassembled datagram.
# Offloads are off on the veth so frames are MTU-sized and one per packet.
. "$WARD_ROOT/tests/lib/common.sh"
. "$WARD_ROOT/tests/lib/netns.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for namespaces and capture"
command -v ethtool >/dev/null || skip "ethtool is not installed"
PROBE=$WARD_TOOLS/capture_probe
PY=/usr/bin/python3
[ -x "$PROBE" ] || fail "$PROBE missing: make VARIANT=asan tests-build"

PROBE_PID=
SERVER_PID=
cleanup() {
	[ -n "$PROBE_PID" ] && kill "$PROBE_PID" 2>/dev/null
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	netns_destroy
}
trap cleanup EXIT INT TERM

netns_create wcc wcs
CLI=$(netns_name wcc)
SRV=$(netns_name wcs)
A=wca$$
B=wcb$$
ip link add "$A" netns "$CLI" type veth peer name "$B" netns "$SRV" || fail "veth"
ip -n "$CLI" addr add 10.201.0.1/24 dev "$A"
ip -n "$SRV" addr add 10.201.0.2/24 dev "$B"
for side in "$CLI $A" "$SRV $B"; do
	set -- $side
	ip netns exec "$1" ethtool -K "$2" gro off gso off tso off tx off rx off >/dev/null 2>&1 ||
		fail "ethtool -K $2 offloads off"
	ip -n "$1" link set "$2" up
done
# The neighbours are resolved once, so the runs below see only their own traffic.
ip netns exec "$CLI" ping -c 1 -W 5 10.201.0.2 >/dev/null || fail "no link"

# probe_start NAME ARGS...: capture_probe on $B in the server namespace,
# with the environment $PROBE_ENV, output in $WARD_TMP/NAME.json; returns
# once the capture is open.
PROBE_ENV=
probe_start() {
	_name=$1; shift
	rm -f "$WARD_TMP/$_name.ready"
	ip netns exec "$SRV" env $PROBE_ENV "$PROBE" -i "$B" --ready "$WARD_TMP/$_name.ready" "$@" \
		>"$WARD_TMP/$_name.json" 2>"$WARD_TMP/$_name.err" &
	PROBE_PID=$!
	wait_for 20 test -f "$WARD_TMP/$_name.ready" ||
		{ cat "$WARD_TMP/$_name.err"; fail "$_name: capture did not open"; }
}

# probe_wait NAME: waits for the probe; fails unless it exited 0.
probe_wait() {
	_rc=0; wait "$PROBE_PID" || _rc=$?
	PROBE_PID=
	cat "$WARD_TMP/$1.err" >&2
	note "$1: $(cat "$WARD_TMP/$1.json")"
	[ "$_rc" -eq 0 ] || fail "$1: capture_probe exited $_rc"
}

j() { jq -r "$2" "$WARD_TMP/$1.json"; }
if_rx() { ip netns exec "$SRV" cat "/sys/class/net/$B/statistics/rx_packets"; }

# UDP echo server in the server namespace: answers every datagram.
PORT=$(free_port)
ip netns exec "$SRV" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.201.0.2", int(sys.argv[1])))
open(sys.argv[2], "w").close()
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' "$PORT" "$WARD_TMP/echo.ready" &
SERVER_PID=$!
wait_for 10 test -f "$WARD_TMP/echo.ready" || fail "echo server did not start"

# udp_flows FLOWS PER_FLOW: each flow is its own socket (source port);
# prints the frames the run put on the wire: datagrams sent + echoes got.
udp_flows() {
	ip netns exec "$CLI" "$PY" -c '
import socket, sys
flows, per, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
frames = 0
socks = []  # all open to the end: no two flows share a source port
for f in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socks.append(s)
    s.settimeout(2)
    for i in range(per):
        s.sendto(b"ward-%d-%d" % (f, i) * 20, ("10.201.0.2", port))
        frames += 1
        try:
            s.recv(4096)
            frames += 1
        except socket.timeout:
            pass
print(frames)
' "$1" "$2" "$PORT"
}

note "a. libpcap, ping flood"
rx0=$(if_rx)
probe_start a --backend pcap --bpf icmp --count 1000 --timeout-ms 30000
out=$(ip netns exec "$CLI" ping -f -c 500 -W 2 10.201.0.2) || fail "ping -f: $out"
# "500 packets transmitted, 500 received": both counts are frames on $B.
frames=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' |
	awk '{ print $1 + $2 }')
[ "$frames" -eq 1000 ] || fail "ping lost packets on a veth: $out"
probe_wait a
[ "$(j a .received)" -eq 1000 ] || fail "a: received $(j a .received), want 1000"
[ "$(j a '.per_worker | length')" -eq 1 ] || fail "a: libpcap has one worker"
[ "$(j a .kernel_drops)" -eq 0 ] || fail "a: kernel drops"
[ "$(j a .linktype)" -eq 1 ] || fail "a: linktype $(j a .linktype), want 1 (EN10MB)"
[ "$(j a .if_rx_packets)" -ge $((rx0 + 500)) ] ||
	fail "a: if_rx_packets $(j a .if_rx_packets), want >= $rx0 + 500"

# Confined runs: see the head of this file.
PROBE_ENV="ASAN_OPTIONS=detect_leaks=0 WARD_SECCOMP_UNDER_ASAN=1"

note "b. AF_PACKET, 2 workers, 64 UDP flows, confined"
probe_start b --user nobody --seccomp --backend afpacket --workers 2 --bpf "udp port $PORT" --count 1024 \
	--timeout-ms 30000 --block-size 65536 --block-count 16
frames=$(udp_flows 64 8)
[ "$frames" -eq 1024 ] || fail "b: the echo lost datagrams: $frames frames"
probe_wait b
[ "$(j b .received)" -eq 1024 ] || fail "b: received $(j b .received), want 1024"
[ "$(j b '.per_worker | add')" -eq 1024 ] || fail "b: per_worker does not add up"
[ "$(j b '.per_worker | all(. > 0)')" = true ] || fail "b: a worker got no frame"
[ "$(j b .flows)" -eq 64 ] || fail "b: $(j b .flows) flows, want 64"
[ "$(j b .flows_split)" -eq 0 ] || fail "b: $(j b .flows_split) flows reached both workers"
[ "$(j b .kernel_drops)" -eq 0 ] || fail "b: kernel drops"
[ "$(j b .uid)" -eq "$(id -u nobody)" ] || fail "b: still uid $(j b .uid)"
[ "$(j b .seccomp)" -eq 2 ] || fail "b: no seccomp filter"

note "c. libpcap, 32 UDP flows, confined"
probe_start c --user nobody --seccomp --backend pcap --bpf "udp port $PORT" \
	--count 512 --timeout-ms 30000
frames=$(udp_flows 32 8)
[ "$frames" -eq 512 ] || fail "c: the echo lost datagrams: $frames frames"
probe_wait c
[ "$(j c .received)" -eq 512 ] || fail "c: received $(j c .received), want 512"
[ "$(j c .flows)" -eq 32 ] || fail "c: $(j c .flows) flows, want 32"
[ "$(j c .uid)" -eq "$(id -u nobody)" ] || fail "c: still uid $(j c .uid)"
[ "$(j c .seccomp)" -eq 2 ] || fail "c: no seccomp filter"
PROBE_ENV=

note "d. 802.1Q frames keep their tag"
# The receiving kernel strips the tag before any tap and before the
# socket's BPF, so "icmp" matches the tagged frames for AF_PACKET, and
# libpcap compiles "vlan" into the kernel's tag test itself.
vlan_send() {
	ip netns exec "$CLI" "$PY" -c '
import sys
from scapy.all import Ether, Dot1Q, IP, ICMP, sendp, conf
conf.verb = 0
f = Ether(dst="02:00:00:00:00:02") / Dot1Q(vlan=100) / IP(src="10.202.0.1", dst="10.202.0.2") / ICMP()
sendp([f] * 20, iface=sys.argv[1])
' "$A" || fail "scapy could not send"
}
for run in "d1 afpacket icmp" "d2 pcap vlan-and-icmp"; do
	set -- $run
	probe_start "$1" --backend "$2" --workers 2 --bpf "$(echo "$3" | tr - ' ')" --count 20 \
		--timeout-ms 30000
	vlan_send
	probe_wait "$1"
	[ "$(j "$1" .received)" -eq 20 ] || fail "$1: received $(j "$1" .received), want 20"
	[ "$(j "$1" .vlan_frames)" -eq 20 ] || fail "$1: $(j "$1" .vlan_frames) of 20 frames tagged"
done

note "e. AF_PACKET ring overflow is counted"
rm -f "$WARD_TMP/go"
probe_start e --backend afpacket --workers 1 --bpf icmp --block-size 4096 --block-count 2 \
	--stall-until "$WARD_TMP/go" --timeout-ms 60000
out=$(ip netns exec "$CLI" ping -f -c 500 -s 1000 -W 2 10.201.0.2) || fail "ping -f: $out"
frames=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) received.*/\1 \2/p' |
	awk '{ print $1 + $2 }')
touch "$WARD_TMP/go"
probe_wait e
[ "$(j e .kernel_drops)" -gt 0 ] || fail "e: a ring of 8 KiB took $frames frames without a drop"
[ $(( $(j e .received) + $(j e .kernel_drops) )) -eq "$frames" ] ||
	fail "e: received + kernel_drops = $(( $(j e .received) + $(j e .kernel_drops) )), want $frames"

note "f. GRO is reported"
[ "$(ip netns exec "$SRV" "$PROBE" -i "$B" --offload-only | jq .gro)" = false ] ||
	fail "f: GRO reported on while off"
ip netns exec "$SRV" ethtool -K "$B" gro on || fail "ethtool -K gro on"
off=$(ip netns exec "$SRV" "$PROBE" -i "$B" --offload-only)
note "f: $off"
[ "$(echo "$off" | jq .gro)" = true ] || fail "f: GRO on not reported: $off"
[ "$(echo "$off" | jq .known)" = true ] || fail "f: offloads unknown: $off"
probe_start f --backend afpacket --bpf icmp --count 2 --timeout-ms 30000
ip netns exec "$CLI" ping -c 1 -W 2 10.201.0.2 >/dev/null || fail "f: ping"
probe_wait f
[ "$(j f .offload.gro)" = true ] || fail "f: capture run does not report GRO"

note "g. fragments"
ip netns exec "$SRV" ethtool -K "$B" gro off || fail "ethtool -K gro off"
# 2 pings of 3000 bytes: 3 fragments each way at MTU 1500.
for run in "g1 pcap 12" "g2 afpacket 4"; do
	set -- $run
	probe_start "$1" --backend "$2" --workers 2 --bpf icmp --count "$3" --timeout-ms 30000
	ip netns exec "$CLI" ping -c 2 -i 0.1 -s 3000 -W 2 10.201.0.2 >/dev/null || fail "$1: ping"
	probe_wait "$1"
	[ "$(j "$1" .received)" -eq "$3" ] || fail "$1: received $(j "$1" .received), want $3"
done
[ "$(j g1 .max_wirelen)" -le 1514 ] || fail "g1: a frame of $(j g1 .max_wirelen) bytes"
# 3000 bytes of ICMP data + 8 + 20 + 14.
[ "$(j g2 .max_wirelen)" -eq 3042 ] || fail "g2: max frame $(j g2 .max_wirelen), want 3042"

echo "PASS"
