#!/bin/sh
# Backpressure of the HEC input: with commits only every 3 s and a small
# bound on uncommitted bytes, parallel requests fill the bound; the ones
# past it get 503 with Retry-After and {"text":"Server is busy","code":9}
# and store nothing, the others get 200 once their events are durable,
# and after the commit the input takes requests again.
. "$WARD_ROOT/tests/lib/common.sh"
command -v curl >/dev/null || skip "curl not installed"
trap cleanup_agent EXIT

sport=$(free_port); lport=$(free_port); hport=$(free_port)
cat >"$WARD_TMP/ward.yaml" <<YAML
syslog:
  listeners: [{ proto: udp, address: "127.0.0.1:$sport" }]
snmp:
  enabled: false
spool:
  fsync_interval_ms: 3000
edr:
  lumberjack: { address: "127.0.0.1:$lport" }
  hec: { address: "127.0.0.1:$hport" }
  max_pending_bytes: 65536
  max_event_bytes: 32768
YAML
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
tag=$$-$(date +%s)
pad=$(head -c 20000 /dev/zero | tr '\0' 'p')

send() {  # N
	curl -s -D "$WARD_TMP/h$1" -o "$WARD_TMP/b$1" -w '%{http_code}' --max-time 20 \
		-H "Authorization: Splunk ward-dev-token-0000-0000-000000000000" \
		--data-binary "{\"event\":{\"tag\":\"bp-$tag-$1-\",\"pad\":\"$pad\"}}" \
		"http://127.0.0.1:$hport/services/collector/event" > "$WARD_TMP/c$1"
}
pids=
for n in 1 2 3 4 5 6 7 8 9 10; do
	send $n & pids="$pids $!"
done
for p in $pids; do wait "$p"; done

ok=0 busy=0
for n in 1 2 3 4 5 6 7 8 9 10; do
	case $(cat "$WARD_TMP/c$n") in
	200) ok=$((ok + 1)) ;;
	503) busy=$((busy + 1))
	     grep -qi '^Retry-After: [1-9]' "$WARD_TMP/h$n" || fail "503 without Retry-After: $(cat "$WARD_TMP/h$n")"
	     [ "$(cat "$WARD_TMP/b$n")" = '{"text":"Server is busy","code":9}' ] || fail "503 body: $(cat "$WARD_TMP/b$n")" ;;
	*) fail "request $n: $(cat "$WARD_TMP/c$n") $(cat "$WARD_TMP/b$n")" ;;
	esac
done
note "$ok answered 200, $busy answered 503"
[ "$ok" -ge 1 ] && [ "$busy" -ge 1 ] || fail "expected both 200 and 503 answers"

note "the 503 ones stored nothing, the 200 ones exactly once"
n=$(spool_records edr | grep -c -- "bp-$tag-")
[ "$n" -eq "$ok" ] || fail "$n records for $ok accepted requests"
for i in 1 2 3 4 5 6 7 8 9 10; do
	c=$(spool_records edr | grep -c -- "bp-$tag-$i-")
	if [ "$(cat "$WARD_TMP/c$i")" = 200 ]; then want=1; else want=0; fi
	[ "$c" -eq "$want" ] || fail "request $i ($(cat "$WARD_TMP/c$i")): $c records"
done

note "after the commit, requests are taken again"
send 11
[ "$(cat "$WARD_TMP/c11")" = 200 ] || fail "after the commit: $(cat "$WARD_TMP/c11") $(cat "$WARD_TMP/b11")"
agent_stop
echo "PASS"
