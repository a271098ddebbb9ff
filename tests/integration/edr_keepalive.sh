#!/bin/sh
# Lumberjack keep-alive ACKs: while a client waits on the relay for its
# window to become durable, the relay sends an ACK of sequence 0 every 5 s.
# Commits run every 10 s and at most 64 KiB may wait to be committed. A
# first window of one event is ACKed at a commit, which gives the phase of
# the commit timer; the window sent right after it (300 events in one
# compressed frame, about 120 KiB of records: reading pauses) then waits
# nearly a whole interval, well past 5 s. The test checks that a keep-alive
# ACK arrives before that window's final ACK, that the final ACK arrives,
# that every event is in the lane exactly once, and that status counts the
# keep-alives.
. "$WARD_ROOT/tests/lib/common.sh"
command -v python3 >/dev/null || skip "python3 not installed"
trap cleanup_agent EXIT

sport=$(free_port); lport=$(free_port); hport=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners: [{ proto: udp, address: "127.0.0.1:$sport" }]
snmp:
  enabled: false
spool:
  fsync_interval_ms: 10000
edr:
  lumberjack: { address: "127.0.0.1:$lport" }
  hec: { address: "127.0.0.1:$hport" }
  max_pending_bytes: 65536
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tag=ka-$$-$(date +%s)
n=300

note "the commit timer's phase: a window of one event"
python3 "$WARD_ROOT/tests/tools/lj_window.py" "$lport" --count 1 --prefix "$tag-probe" \
	--timeout 15 > "$WARD_TMP/probe" || { cat "$WARD_TMP/probe"; fail "no ACK of the first window"; }

note "one window of $n events, compressed, right after a commit"
python3 "$WARD_ROOT/tests/tools/lj_window.py" "$lport" --count "$n" --prefix "$tag" \
	--pad 250 --compress --timeout 15 > "$WARD_TMP/acks" ||
	{ cat "$WARD_TMP/acks"; fail "no final ACK"; }
cat "$WARD_TMP/acks"
grep -q "^final " "$WARD_TMP/acks" || fail "no final ACK line"
# ACK lines in arrival order: a keep-alive (seq 0) before the one of seq n,
# and no sequence number going backwards.
awk -v n="$n" '
	$1 == "ack" && $2 == 0 && !final { ka++ }
	$1 == "ack" && $2 != 0 { if ($2 < last) back = 1; last = $2; if ($2 == n) final = 1 }
	END { exit !(ka > 0 && final && !back) }' "$WARD_TMP/acks" ||
	fail "expected a keep-alive ACK (seq 0) before the ACK of seq $n, ascending"

note "every event in the lane exactly once"
# The final ACK means all of them are durable, so they are in the lane now.
spool_records edr | sed -n "s/.*\"\\($tag-[0-9]*\\)\".*/\\1/p" | sort > "$WARD_TMP/ids"
total=$(wc -l < "$WARD_TMP/ids")
uniq_ids=$(sort -u "$WARD_TMP/ids" | wc -l)
[ "$total" -eq "$n" ] && [ "$uniq_ids" -eq "$n" ] ||
	fail "$total records, $uniq_ids distinct events, of $n; duplicated: $(uniq -d "$WARD_TMP/ids" | head -n 5)"

note "status counts the keep-alives"
# At least those both clients read (one or more); as of the receivers'
# last report (every 500 ms).
seen=$(cat "$WARD_TMP/probe" "$WARD_TMP/acks" | grep -c '^ack 0 ')
lj() { jqs ".edr.listeners[] | select(.input == \"lumberjack\") | $1"; }
counted() { [ "$(lj .keepalives)" -ge "$seen" ] && [ "$(lj .acks)" -eq 2 ]; }
wait_for 10 counted || fail "keep-alives read by the clients: $seen; status: $(lj .)"
note "keepalives $(lj .keepalives), acks $(lj .acks)"

note "two windows pipelined, each numbered from 1 as Beats does: one ACK each"
python3 "$WARD_ROOT/tests/tools/lj_window.py" "$lport" --count 50 --windows 2 \
	--prefix "$tag-pipe" --timeout 30 > "$WARD_TMP/pipe" ||
	{ cat "$WARD_TMP/pipe"; fail "the second window's ACK never came"; }
[ "$(grep -c '^ack 50 ' "$WARD_TMP/pipe")" -eq 2 ] ||
	{ cat "$WARD_TMP/pipe"; fail "expected two ACKs of seq 50"; }
piped() { [ "$(spool_records edr | grep -c "\"$tag-pipe-")" -eq 100 ]; }
wait_for 10 piped || fail "$(spool_records edr | grep -c "\"$tag-pipe-") of 100 pipelined events in the lane"
agent_stop
echo "PASS"
