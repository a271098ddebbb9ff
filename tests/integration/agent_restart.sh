#!/bin/sh
# The receiver process is killed with SIGKILL again and again while a TCP
# sender streams. The supervisor restarts it each time; the lane's seqs
# stay strictly increasing with no duplicate and no gap, and status counts
# the restarts. Then the whole agent is killed and restarted on the same
# spool: recovery keeps every record and the seqs go on.
. "$WARD_ROOT/tests/lib/common.sh"
trap 'cleanup_agent; [ -n "${SENDER:-}" ] && kill $SENDER 2>/dev/null' EXIT

port=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$port" }
spool:
  fsync_interval_ms: 10
  segment_max_age_ms: 200
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"

# A sender that reconnects whenever the receiver dies.
( i=0; while :; do i=$((i + 1)); logger -n 127.0.0.1 -P "$port" --tcp "stream-$i" 2>/dev/null; done ) &
SENDER=$!

# The supervisor backs off 0.5 s, 1 s, 2 s, ... between restarts of a
# process that keeps dying; five kills stay within a minute.
kills=5
k=0
while [ $k -lt $kills ]; do
	running() { [ "$(jqs .receivers.state)" = running ] && [ "$(jqs .receivers.pid)" != "$last" ]; }
	last=${pid:-0}
	wait_for 40 running || fail "receivers not running again after kill $k"
	pid=$(jqs .receivers.pid)
	progressed() { [ "$(spool_records syslog | wc -l)" -gt "${seen:-0}" ]; }
	wait_for 10 progressed || fail "no progress after restart $k"
	seen=$(spool_records syslog | wc -l)
	kill -KILL "$pid"
	k=$((k + 1))
done
wait_for 40 running || fail "receivers not back after the last kill"
[ "$(jqs .receivers.restarts)" -ge $kills ] || fail "restarts counted: $(jqs .receivers.restarts)"

check_seqs() {
	"$WARDCTL" spool cat --seq --dir "$AGENT_DIR/spool" syslog 2>/dev/null | cut -f1 >"$WARD_TMP/seqs"
	sort -n -c "$WARD_TMP/seqs" || fail "seqs out of order"
	[ -z "$(uniq -d "$WARD_TMP/seqs")" ] || fail "duplicate seqs: $(uniq -d "$WARD_TMP/seqs" | head)"
	first=$(head -n 1 "$WARD_TMP/seqs"); last=$(tail -n 1 "$WARD_TMP/seqs"); n=$(wc -l <"$WARD_TMP/seqs")
	[ $((last - first + 1)) -eq "$n" ] || fail "gap in seqs: $first..$last holds $n records"
	echo "$n records, seqs $first..$last contiguous"
}
check_seqs

note "kill -9 the whole agent, restart on the same spool"
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
gone() { ! pgrep -f "$AGENT --receivers" >/dev/null; }
wait_for 10 gone || fail "receivers outlived the supervisor"
before=$(wc -l <"$WARD_TMP/seqs")
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
grown() { [ "$("$WARDCTL" spool cat --dir "$AGENT_DIR/spool" syslog 2>/dev/null | wc -l)" -gt "$before" ]; }
wait_for 20 grown || fail "no new records after restart"
kill $SENDER; SENDER=
check_seqs
agent_stop
note "ok"
