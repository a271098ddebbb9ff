#!/bin/sh
# make run: the main job on this machine, with the compiled-in defaults.
# Starts ward-agent in run/ (spool and control socket live there), tells
# you how to send it logs, and shows a status line until Ctrl-C.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
run=$root/run
mkdir -p "$run"
chmod 755 "$run"

# The defaults drop to 'nobody' when started as root; a developer's
# checkout is often in a home directory nobody may enter, so run as the
# invoking user here. The image's config uses the 'ward' user instead.
cat >"$run/ward.yaml" <<YAML
# Written by make run: the compiled-in defaults, run as $(id -un).
agent:
  user: $(id -un)
YAML

cd "$run" || exit 1
"$root/build/ward-agent" -c "$run/ward.yaml" >"$run/agent.log" 2>&1 &
agent=$!
stop() {
	trap - INT TERM
	printf '\nstopping ward-agent...\n'
	kill -TERM "$agent" 2>/dev/null
	wait "$agent"
	echo "stopped. The spool is in run/spool; the agent's log is run/agent.log."
	exit 0
}
trap stop INT TERM

i=0
while ! "$root/build/wardctl" status --json >/dev/null 2>&1; do
	if ! kill -0 "$agent" 2>/dev/null || [ $i -ge 100 ]; then
		echo "ward-agent did not start:"; cat "$run/agent.log"; exit 1
	fi
	i=$((i + 1)); sleep 0.1
done

cat <<MSG
ward-agent is running in run/ with the compiled-in defaults:
  syslog on 127.0.0.1:5514 (UDP and TCP), SNMP traps on 127.0.0.1:10162 (UDP),
  spool in run/spool, control socket run/ward.sock

Send it a log line from another terminal:
  logger -n 127.0.0.1 -P 5514 --tcp --rfc5424 -t demo "hello from \$(hostname)"
  logger -n 127.0.0.1 -P 5514 --udp "Failed password for root from 203.0.113.9 port 22 ssh2"
Send it an SNMP trap (a linkDown; Debian package snmp):
  snmptrap -v 2c -c public 127.0.0.1:10162 '' 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.3 i 3

See it arrive:
  cd run && ../build/wardctl status          (inputs, sources, spool, errors)
  cd run && ../build/wardctl spool cat syslog (the records, as NDJSON)
  cd run && ../build/wardctl spool cat snmp

The upload to the SOC (sealer, uplink, ward-soc) is not built yet; records
stay in the spool. Ctrl-C stops.
MSG

while kill -0 "$agent" 2>/dev/null; do
	line=$("$root/build/wardctl" status --json 2>/dev/null | jq -r '
		"received \([.syslog.listeners[]?.messages] | add // 0)" +
		"  msg/s \([.syslog.listeners[]?.rate] | add // 0 | floor)" +
		"  traps \(.snmp.counters.traps // 0)" +
		"  spooled \([.spool.lanes[]? | select(.name == "syslog" or .name == "snmp") | .records // 0] | add // 0)" +
		"  spool \(.spool.used_bytes / 1048576 * 10 | floor / 10) MiB" +
		"  sources \(.syslog.sources | length)" +
		"  errors \(.errors | length)"' 2>/dev/null)
	printf '\r%-100s' "${line:-waiting for status}"
	sleep 1
done
echo; echo "ward-agent exited:"; tail -n 20 "$run/agent.log"
exit 1
