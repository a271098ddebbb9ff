# Network namespaces for end-to-end tests: a probe and SOCs joined by
# shaped point-to-point links. Source after common.sh; needs root, ip(8)
# and tc(8).
#
#   netns_create NAME...     creates namespaces NAME$$ (lo up, no IPv6);
#                            the name to use is printed by netns_name
#   netns_links N_LINKS      links 1..N between the probe namespace
#                            ($NETNS_PROBE) and SOC namespaces
#                            ($NETNS_SOC1, $NETNS_SOC2, ...)
#   netns_link_down N / netns_link_up N    the probe's side of link N
#   netns_destroy            stops the link emulator, deletes every
#                            namespace made here (call it from a trap)
#
# Link N: the probe has wanN with 10.199.N.1/24, SOC N has lanN with
# 10.199.N.2/24. Each direction is shaped to 5 Mbit/s with 50 ms delay and
# 0.5 % loss: 100 ms RTT and about 1 % loss on a round trip.
#
# Two ways to shape, chosen by netns_links (NETNS_MODE says which ran):
#   netem   a veth pair per link, `tc qdisc netem delay 50ms loss 0.5%
#           rate 5mbit` on both ends. Used when the kernel has sch_netem.
#   relay   kernels without netem (some CI VMs have only tbf and htb):
#           a tap pair per link, each tap's egress shaped by `tc qdisc
#           tbf rate 5mbit`; a small Python process copies frames from
#           one tap to the other after 50 ms and drops 0.5 % of them. The
#           taps vanish with that process.
# WARD_NETNS_MODE=netem|relay forces one.

NETNS_ALL=
NETNS_RELAY_PID=
NETNS_MODE=
NETNS_RATE=5mbit
NETNS_DELAY_MS=50
NETNS_LOSS_PCT=0.5

netns_name() { echo "$1$$"; }

netns_create() {
	for _n in "$@"; do
		_ns=$(netns_name "$_n")
		ip netns add "$_ns" || fail "ip netns add $_ns"
		NETNS_ALL="$NETNS_ALL $_ns"
		ip -n "$_ns" link set lo up || fail "lo up in $_ns"
		# Router solicitations and DAD would only add noise on the links.
		ip netns exec "$_ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	done
}

netns_destroy() {
	if [ -n "$NETNS_RELAY_PID" ]; then
		kill -KILL "$NETNS_RELAY_PID" 2>/dev/null
		wait "$NETNS_RELAY_PID" 2>/dev/null
		NETNS_RELAY_PID=
	fi
	for _ns in $NETNS_ALL; do
		# Processes still inside would keep nothing alive, but say so.
		_left=$(ip netns pids "$_ns" 2>/dev/null | tr '\n' ' ')
		[ -n "$_left" ] && echo "netns: killing processes left in $_ns: $_left" >&2 &&
			kill -KILL $_left 2>/dev/null
		ip netns del "$_ns" 2>/dev/null
	done
	NETNS_ALL=
}

netns_has_netem() {
	_t=$(netns_name nemtest)
	ip netns add "$_t" 2>/dev/null || return 1
	_rc=1
	ip -n "$_t" link add wtest0 type veth peer name wtest1 2>/dev/null &&
		ip netns exec "$_t" tc qdisc add dev wtest0 root netem delay 1ms 2>/dev/null && _rc=0
	ip netns del "$_t"
	return $_rc
}

# The link emulator for kernels without netem: argv = delay_ms loss_pct
# ready_file probe_tap:soc_tap... It creates the taps (in its own network
# namespace; the caller moves the SOC ends), then copies each frame to the
# other tap of its pair after delay_ms, dropping loss_pct % of them.
NETNS_RELAY_PY='
import collections, fcntl, os, random, select, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
delay, loss = float(sys.argv[1]) / 1000.0, float(sys.argv[2]) / 100.0
def tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd
peer, queue = {}, {}
for pair in sys.argv[4:]:
    a, b = pair.split(":")
    fa, fb = tap(a), tap(b)
    peer[fa], peer[fb] = fb, fa
    queue[fa], queue[fb] = collections.deque(), collections.deque()
open(sys.argv[3], "w").close()
while True:
    now, wait = time.monotonic(), 1.0
    for src, q in queue.items():
        while q and q[0][0] <= now:
            frame = q.popleft()[1]
            try:
                os.write(peer[src], frame)
            except OSError:
                pass      # that side is down: the frame is lost, as on a wire
        if q:
            wait = min(wait, q[0][0] - now)
    readable = select.select(list(queue), [], [], max(wait, 0))[0]
    for fd in readable:
        for _ in range(256):
            try:
                frame = os.read(fd, 65536)
            except OSError:
                break
            if random.random() >= loss:
                queue[fd].append((time.monotonic() + delay, frame))
'

netns_links() {
	NETNS_PROBE=$(netns_name probe)
	case ${WARD_NETNS_MODE:-auto} in
	auto) if netns_has_netem; then NETNS_MODE=netem; else NETNS_MODE=relay; fi ;;
	netem|relay) NETNS_MODE=$WARD_NETNS_MODE ;;
	*) fail "WARD_NETNS_MODE=$WARD_NETNS_MODE: want netem or relay" ;;
	esac
	_pairs=
	_i=1
	while [ "$_i" -le "$1" ]; do _pairs="$_pairs wan$_i:lan$_i"; _i=$((_i + 1)); done
	if [ "$NETNS_MODE" = relay ]; then
		command -v python3 >/dev/null || skip "no netem in this kernel, and no python3 for the relay"
		[ -c /dev/net/tun ] || skip "no netem in this kernel, and no /dev/net/tun for the relay"
		rm -f "$WARD_TMP/relay.ready"
		# shellcheck disable=SC2086
		ip netns exec "$NETNS_PROBE" python3 -c "$NETNS_RELAY_PY" "$NETNS_DELAY_MS" \
			"$NETNS_LOSS_PCT" "$WARD_TMP/relay.ready" $_pairs >"$WARD_TMP/relay.log" 2>&1 &
		NETNS_RELAY_PID=$!
		wait_for 20 test -e "$WARD_TMP/relay.ready" ||
			{ cat "$WARD_TMP/relay.log"; fail "link emulator did not start"; }
	fi
	_i=1
	while [ "$_i" -le "$1" ]; do
		_soc=$(netns_name "soc$_i")
		eval "NETNS_SOC$_i=\$_soc"
		if [ "$NETNS_MODE" = netem ]; then
			ip -n "$NETNS_PROBE" link add "wan$_i" type veth peer name "lan$_i" ||
				fail "veth for link $_i"
		fi
		ip -n "$NETNS_PROBE" link set "lan$_i" netns "$_soc" || fail "lan$_i to $_soc"
		ip -n "$NETNS_PROBE" addr add "10.199.$_i.1/24" dev "wan$_i" &&
			ip -n "$_soc" addr add "10.199.$_i.2/24" dev "lan$_i" &&
			ip -n "$NETNS_PROBE" link set "wan$_i" up &&
			ip -n "$_soc" link set "lan$_i" up || fail "addresses on link $_i"
		for _end in "$NETNS_PROBE wan$_i" "$_soc lan$_i"; do
			# shellcheck disable=SC2086
			netns_shape $_end || fail "tc on $_end"
		done
		_i=$((_i + 1))
	done
	note "links: $NETNS_MODE, $NETNS_RATE, ${NETNS_DELAY_MS} ms and ${NETNS_LOSS_PCT} % loss each way"
	ip netns exec "$NETNS_PROBE" tc qdisc show dev wan1
}

# netns_shape NS DEV: the egress shaping of one end of a link.
netns_shape() {
	if [ "$NETNS_MODE" = netem ]; then
		ip netns exec "$1" tc qdisc add dev "$2" root netem delay "${NETNS_DELAY_MS}ms" \
			loss "${NETNS_LOSS_PCT}%" rate "$NETNS_RATE" limit 1000
	else
		# A queue of 200 ms at 5 Mbit/s; the burst is a few frames.
		ip netns exec "$1" tc qdisc add dev "$2" root tbf rate "$NETNS_RATE" \
			burst 6000 latency 200ms
	fi
}

netns_link_down() { ip -n "$NETNS_PROBE" link set "wan$1" down; }
netns_link_up() { ip -n "$NETNS_PROBE" link set "wan$1" up; }
