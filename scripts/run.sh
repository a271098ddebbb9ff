#!/bin/sh
# make run: the main job on this machine, with the compiled-in defaults
# plus the uplink to a local reference SOC. Makes the development PKI in
# run/pki (tools/ward-devpki.sh) if absent, starts ward-soc on loopback
# storing to run/soc, starts ward-agent in run/ (spool, outbox and control
# socket live there) sealing and uploading to it, replays a sample capture
# into its spool with the packet sensor (ward-sensor -r --spool; the
# capture, run/sample.pcap, is written by build/ward-pcapgen when absent),
# tells you how to send it logs, and shows a status line until Ctrl-C,
# which stops both.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
run=$root/run
device=dev-probe
soc_addr=127.0.0.1:8443
mkdir -p "$run"
chmod 755 "$run"

sh "$root/tools/ward-devpki.sh" "$run/pki" "$device" >/dev/null || exit 1
pki=$run/pki

# The defaults drop to 'nobody' when started as root; a developer's
# checkout is often in a home directory nobody may enter, so run as the
# invoking user here. The image's config uses the 'ward' user instead.
cat >"$run/ward.yaml" <<YAML
# Written by make run: the compiled-in defaults, run as $(id -un), with
# the uplink on to the local ward-soc and the development PKI in run/pki.
agent:
  user: $(id -un)
  device_id: $device
uplink:
  enabled: true
  device_key: $pki/device-sign.key
  soc_public_key: $pki/soc-seal.pub
  ca: $pki/ca.pem
  client_cert: $pki/device-tls.pem
  client_key: $pki/device-tls.key
  endpoints:
    - { url: "https://$soc_addr", sni: localhost }
YAML

"$root/build/ward-soc" serve --listen "$soc_addr" --cert "$pki/soc-server.pem" \
	--key "$pki/soc-server.key" --client-ca "$pki/ca.pem" --soc-key "$pki/soc-seal.key" \
	--device-keys "$pki/devices" --store "$run/soc" >"$run/soc.log" 2>&1 &
soc=$!

cd "$run" || exit 1
"$root/build/ward-agent" -c "$run/ward.yaml" >"$run/agent.log" 2>&1 &
agent=$!
stop() {
	trap - INT TERM
	printf '\nstopping ward-agent and ward-soc...\n'
	kill -TERM "$agent" 2>/dev/null
	wait "$agent"
	kill -TERM "$soc" 2>/dev/null
	wait "$soc"
	echo "stopped. The SOC's copy is in run/soc; the spool in run/spool; logs run/agent.log, run/soc.log."
	exit 0
}
trap stop INT TERM

i=0
while ! "$root/build/wardctl" status --json >/dev/null 2>&1; do
	if ! kill -0 "$agent" 2>/dev/null || [ $i -ge 100 ]; then
		echo "ward-agent did not start:"; cat "$run/agent.log"; kill "$soc" 2>/dev/null; exit 1
	fi
	if ! kill -0 "$soc" 2>/dev/null; then
		echo "ward-soc did not start (is $soc_addr in use?):"; cat "$run/soc.log"
		kill "$agent" 2>/dev/null; exit 1
	fi
	i=$((i + 1)); sleep 0.1
done

cat <<MSG
ward-agent is running in run/ with the compiled-in defaults:
  syslog on 127.0.0.1:5514 (UDP and TCP), SNMP traps on 127.0.0.1:10162 (UDP),
  spool in run/spool, control socket run/ward.sock
It seals what it receives (zstd, AES-256-GCM, signed) and uploads it over
mutual TLS to the reference SOC, ward-soc on $soc_addr, which stores it in
run/soc/$device/<lane>/records.ndjson.

Send it a log line from another terminal:
  logger -n 127.0.0.1 -P 5514 --tcp --rfc5424 -t demo "hello from \$(hostname)"
  logger -n 127.0.0.1 -P 5514 --udp "Failed password for root from 203.0.113.9 port 22 ssh2"
Send it an SNMP trap (a linkDown; Debian package snmp):
  snmptrap -v 2c -c public 127.0.0.1:10162 '' 1.3.6.1.6.3.1.1.5.3 1.3.6.1.2.1.2.2.1.1.3 i 3
Turn a capture into conn, dns, http, ssl ... records (the packet sensor, offline):
  build/ward-sensor -r FILE.pcap --json --stats            (NDJSON on stdout)
  build/ward-sensor -r FILE.pcap --spool run/spool --lane NAME  (to the SOC)
To watch a mirror port live, list it in run/ward.yaml (sensor: interfaces: [eth1];
docs/config.md) as root with agent.user: root, and reload (wardctl reload).

See it arrive:
  cd run && ../build/wardctl status          (inputs, sources, spool, errors)
  cd run && ../build/wardctl spool cat syslog (the records, as NDJSON)
  cd run && ../build/wardctl spool cat snmp
  cat run/soc/$device/syslog/records.ndjson (what reached the SOC, with its seq)
  cat run/soc/$device/conn-replay/records.ndjson

Ctrl-C stops both.
MSG

# The packet sensor, offline: the records of a capture go into the
# agent's spool as a mirror port's would, in their own P2 lane, and on to
# the SOC. Once per start; each replay's records get new seqs. A capture
# of your own put at run/sample.pcap is replayed instead.
if [ -x "$root/build/ward-sensor" ] && [ -x "$root/build/ward-pcapgen" ]; then
	[ -s "$run/sample.pcap" ] || "$root/build/ward-pcapgen" -o "$run/sample.pcap" ||
		echo "ward-pcapgen could not write run/sample.pcap"
	if out=$("$root/build/ward-sensor" -r "$run/sample.pcap" -c "$run/ward.yaml" \
		--spool "$run/spool" --lane conn-replay 2>"$run/replay.log"); then
		echo "replayed run/sample.pcap: ${out%% *} records (conn, dns, http, ssl, pop3, notice) into the spool lane" \
			"conn-replay; at the SOC: run/soc/$device/conn-replay/records.ndjson"
	else
		echo "the replay of run/sample.pcap failed (run/replay.log):"
		cat "$run/replay.log"
	fi
fi

while kill -0 "$agent" 2>/dev/null; do
	line=$("$root/build/wardctl" status --json 2>/dev/null | jq -r '
		"received \([.syslog.listeners[]?.messages] | add // 0)" +
		"  msg/s \([.syslog.listeners[]?.rate] | add // 0 | floor)" +
		"  traps \(.snmp.counters.traps // 0)" +
		"  spooled \([.spool.lanes[]? | select(.name == "syslog" or .name == "snmp") | .records // 0] | add // 0)" +
		"  uploaded \(.uplink.batches_acked // 0) batches" +
		"  backlog \(.uplink.backlog.batches)" +
		"  spool \(.spool.used_bytes / 1048576 * 10 | floor / 10) MiB" +
		"  sources \(.syslog.sources | length)" +
		"  errors \(.errors | length)"' 2>/dev/null)
	printf '\r%-100s' "${line:-waiting for status}"
	sleep 1
done
echo; echo "ward-agent exited:"; tail -n 20 "$run/agent.log"
exit 1
