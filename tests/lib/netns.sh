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
#           per link, tests/tools/delayline makes a TUN device at each
#           end and copies each packet to the other after 50 ms, dropping
#           0.5 % of them; each device's egress is shaped by `tc qdisc
#           tbf rate 5mbit`. The devices vanish with that process.
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
	for _pid in $NETNS_RELAY_PID; do
		kill -KILL "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
	done
	NETNS_RELAY_PID=
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

netns_links() {
	NETNS_PROBE=$(netns_name probe)
	case ${WARD_NETNS_MODE:-auto} in
	auto) if netns_has_netem; then NETNS_MODE=netem; else NETNS_MODE=relay; fi ;;
	netem|relay) NETNS_MODE=$WARD_NETNS_MODE ;;
	*) fail "WARD_NETNS_MODE=$WARD_NETNS_MODE: want netem or relay" ;;
	esac
	if [ "$NETNS_MODE" = relay ]; then
		[ -x "$WARD_TOOLS/delayline" ] || fail "build $WARD_TOOLS/delayline first"
		[ -c /dev/net/tun ] || skip "no netem in this kernel, and no /dev/net/tun for the relay"
	fi
	_i=1
	while [ "$_i" -le "$1" ]; do
		_soc=$(netns_name "soc$_i")
		eval "NETNS_SOC$_i=\$_soc"
		if [ "$NETNS_MODE" = netem ]; then
			ip -n "$NETNS_PROBE" link add "wan$_i" type veth peer name "lan$_i" ||
				fail "veth for link $_i"
			ip -n "$NETNS_PROBE" link set "lan$_i" netns "$_soc" || fail "lan$_i to $_soc"
		else
			"$WARD_TOOLS/delayline" "$NETNS_PROBE" "wan$_i" "$_soc" "lan$_i" \
				"$NETNS_DELAY_MS" "$NETNS_LOSS_PCT" >"$WARD_TMP/delayline$_i.log" 2>&1 &
			NETNS_RELAY_PID="$NETNS_RELAY_PID $!"
			wait_for 20 grep -q '^ready' "$WARD_TMP/delayline$_i.log" ||
				{ cat "$WARD_TMP/delayline$_i.log"; fail "link emulator $_i did not start"; }
		fi
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
