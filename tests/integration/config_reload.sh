#!/bin/sh
# --check-config names file:line:col; SIGHUP with a bad file keeps the
# running configuration; SIGHUP with a good one moves the listener without
# losing what was already received.
. "$WARD_ROOT/tests/lib/common.sh"
trap cleanup_agent EXIT

note "--check-config"
printf 'syslog:\n  max_message_bytes: 4096\n  listner: []\n' >"$WARD_TMP/bad.yaml"
out=$("$AGENT" -c "$WARD_TMP/bad.yaml" --check-config 2>&1); rc=$?
[ $rc -eq 2 ] || fail "--check-config on a bad file exited $rc"
echo "$out" | grep -Eq "bad.yaml:3:3: .*listner" || fail "unexpected message: $out"
printf 'spool:\n  segment_max_bytes: "lots"\n' >"$WARD_TMP/bad2.yaml"
out=$("$AGENT" -c "$WARD_TMP/bad2.yaml" --check-config 2>&1) && fail "wrong type accepted"
echo "$out" | grep -Eq "bad2.yaml:2:[0-9]+: " || fail "no position for a wrong type: $out"
"$AGENT" --check-config >/dev/null || fail "defaults do not validate"
: >"$WARD_TMP/empty.yaml"
"$AGENT" -c "$WARD_TMP/empty.yaml" --check-config >/dev/null || fail "empty file does not validate"

pa=$(free_port); pb=$(free_port)
conf() {
	cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners:
    - { proto: tcp, address: "127.0.0.1:$1" }
    - { proto: udp, address: "127.0.0.1:$1" }
spool:
  fsync_interval_ms: 20
YAML
}
conf "$pa"
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tok=$$-$(date +%s)
logger -n 127.0.0.1 -P "$pa" --tcp "before-$tok"

note "a bad file on SIGHUP is rejected and the old config stays"
cp "$WARD_TMP/bad.yaml" "$WARD_TMP/ward.yaml"
kill -HUP "$AGENT_PID"
rejected() { jqs .agent.last_reload | grep -q "rejected.*ward.yaml:3:3"; }
wait_for 10 rejected || fail "reload not rejected: $(jqs .agent.last_reload)"
jqs '.errors[]' | grep -q "reload rejected" || fail "status errors do not mention the rejected reload"
logger -n 127.0.0.1 -P "$pa" --tcp "during-$tok"
has() { spool_records syslog | grep -q -- "$1"; }
wait_for 10 has "during-$tok" || fail "old listener stopped after a rejected reload"

note "a good file on SIGHUP moves the listener"
conf "$pb"
kill -HUP "$AGENT_PID"
moved() { jqs ".syslog.listeners[] | select(.address == \"127.0.0.1:$pb\" and .listening) | .proto" | grep -q tcp; }
wait_for 10 moved || fail "listener did not move: $(jqs .syslog.listeners)"
[ "$(jqs .agent.last_reload)" = ok ] || fail "last_reload: $(jqs .agent.last_reload)"
logger -n 127.0.0.1 -P "$pb" --tcp "after-$tok"
wait_for 10 has "after-$tok" || fail "new listener does not deliver"
jqs ".syslog.listeners[].address" | grep -q ":$pa\$" && fail "old listener still configured"
for m in before during after; do
	[ "$(spool_records syslog | grep -c -- "$m-$tok")" -eq 1 ] || fail "$m-$tok not exactly once"
done
note "reload through wardctl"
ctl reload | jq -e '.ok' >/dev/null || fail "wardctl reload failed"

agent_stop
note "ok"
