#!/bin/sh
# Backpressure of the HEC input: with commits only every 3 s and a small
# bound on uncommitted bytes, parallel requests fill the bound; the ones
# past it get 503 with Retry-After and {"text":"Server is busy","code":9}
# and store nothing, the others get 200 once their events are durable,
# and after the commit the input takes requests again. Then the
# connection limit and the idle timeout.
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

note "max_connections and idle_timeout_ms"
sed -i 's/  max_pending_bytes: 65536/  max_connections: 2\n  idle_timeout_ms: 3000/' "$WARD_TMP/ward.yaml"
agent_start "$WARD_TMP/agent" "$WARD_TMP/ward.yaml"
python3 - "$lport" "$hport" <<'PY' || fail "connection limit or idle timeout"
import socket, sys, time
lport, hport = int(sys.argv[1]), int(sys.argv[2])
def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
# Three connections, two allowed: one of them (whichever the relay
# accepts last) is closed at once.
conns = [socket.create_connection(("127.0.0.1", p)) for p in (lport, hport, lport)]
t = time.time()
shut = [s for s in conns if closed(s, 1.0)]
assert len(shut) == 1, f"{len(shut)} of 3 connections closed by the limit of 2"
assert time.time() - t < 2.9
# The other two say nothing: closed once idle for 3 s.
rest = [s for s in conns if s not in shut]
assert all(closed(s, 15) for s in rest), "idle connections were kept"
assert time.time() - t > 2, "closed before the idle timeout"
print("ok")
PY
agent_stop
echo "PASS"
