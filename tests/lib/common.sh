# Shared helpers for integration tests (POSIX sh). Source it:
#   . "$WARD_ROOT/tests/lib/common.sh"
# Tests never sleep a fixed time to wait for something: they poll a
# condition with a deadline (wait_for).

set -u
: "${WARD_ROOT:?}" "${WARD_BUILD:?}" "${WARD_TMP:?}"
WARD_TOOLS=${WARD_TOOLS:-$WARD_BUILD/tests/tools}
AGENT=$WARD_BUILD/ward-agent
WARDCTL=$WARD_BUILD/wardctl
# The agent drops to an unprivileged user when started as root; it must be
# able to reach its state directory.
chmod 755 "$WARD_TMP"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
note() { echo "--- $*"; }

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for() {
	_deadline=$(( $(date +%s) + $1 )); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$_deadline" ] && return 1
		sleep 0.1
	done
	return 0
}

# free_port: a port no socket uses (TCP or UDP, any state), below the
# system's ephemeral range so that no client's connect() can take it between
# the pick and the bind, and never one this test was already given.
free_port() {
	_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$_lo" -gt 11000 ] || _lo=32768
	while :; do
		_p=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % (_lo - 10000) ))
		grep -qx "$_p" "$WARD_TMP/.ports" 2>/dev/null && continue
		if ! ss -Hatun "sport = :$_p" 2>/dev/null | grep -q .; then
			echo "$_p" >>"$WARD_TMP/.ports"
			echo "$_p"; return
		fi
	done
}

# agent_start STATE_DIR [CONFIG]: starts ward-agent in STATE_DIR (its
# working directory) and waits until its control socket answers.
agent_start() {
	AGENT_DIR=$1
	mkdir -p "$AGENT_DIR"; chmod 755 "$AGENT_DIR"
	if [ $# -ge 2 ]; then
		(cd "$AGENT_DIR" && exec "$AGENT" -c "$2") >"$AGENT_DIR/agent.log" 2>&1 &
	else
		(cd "$AGENT_DIR" && exec "$AGENT") >"$AGENT_DIR/agent.log" 2>&1 &
	fi
	AGENT_PID=$!
	wait_for 20 agent_ready || { cat "$AGENT_DIR/agent.log"; fail "agent did not come up"; }
}

agent_ready() {
	# jq -e succeeds on empty input; -n with `input` makes no answer a failure.
	"$WARDCTL" -s "$AGENT_DIR/ward.sock" status --json |
		jq -e -n 'input | .receivers.state == "running" and (.syslog.listeners | length) > 0 and all(.syslog.listeners[]; .listening)' >/dev/null
}

ctl() { "$WARDCTL" -s "$AGENT_DIR/ward.sock" "$@"; }
status_json() { ctl status --json; }
# jqs FILTER: evaluates FILTER on the current status.
jqs() { status_json | jq -r "$1"; }

# agent_stop: SIGTERM, wait, and fail on a non-zero exit (ASan leak
# reports and UBSan errors make the exit code non-zero).
agent_stop() {
	[ -n "${AGENT_PID:-}" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	_rc=0; wait "$AGENT_PID" || _rc=$?
	AGENT_PID=
	if [ "$_rc" -ne 0 ]; then
		cat "$AGENT_DIR/agent.log" >&2
		fail "ward-agent exited with status $_rc"
	fi
	if grep -q -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$AGENT_DIR/agent.log"; then
		cat "$AGENT_DIR/agent.log" >&2
		fail "sanitizer report in agent.log"
	fi
}

# spool_records LANE: the lane's records as NDJSON, closed and open segments.
spool_records() { "$WARDCTL" spool cat --dir "$AGENT_DIR/spool" "$1" 2>/dev/null; }

cleanup_agent() { [ -n "${AGENT_PID:-}" ] && kill -KILL "$AGENT_PID" 2>/dev/null; pkill -KILL -f "$AGENT --receivers" 2>/dev/null; true; }
