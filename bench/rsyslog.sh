# The rsyslog runs of bench/run.sh (sourced): rsyslogd as the peer, timed
# until its output file holds every message.
#
#   rsyslog-omfile     imtcp -> omfile
#   rsyslog-diskqueue  imtcp -> action with a disk queue -> omfile
#
# Needs lib.sh, and TMP, COUNT, DEADLINE_S, KEEP.
#
# Neither configuration calls fsync: omfile does not by default, and a disk
# queue only does with queue.syncQueueFiles="on" (which the issue did not
# ask for). ward's figure includes its fdatasync group commits; rsyslog's do
# not. docs/performance.md says so next to the figures.

# rsyslog_conf DIR PORT KIND: imtcp into a ruleset of its own. Nothing else
# is loaded (no imuxsock, no imklog) and workDirectory is DIR/work, so the
# system's /dev/log and /var/log are never touched. imtcp takes RFC 6587
# octet-counted frames by default. %rawmsg% writes each message as it was
# received, as ward keeps it in "raw"; with control-character escaping off
# the output is exactly the payload plus one newline per message, which
# rsyslog_done uses as a cheap first test.
rsyslog_conf() {
	_action="action(type=\"omfile\" file=\"$1/out.log\" template=\"raw\")"
	if [ "$3" = diskqueue ]; then
		_action="action(type=\"omfile\" file=\"$1/out.log\" template=\"raw\"
	       queue.type=\"Disk\" queue.filename=\"bench_dq\"
	       queue.saveOnShutdown=\"on\")"
	fi
	cat <<CONF
# make bench: rsyslog-$3
global(workDirectory="$1/work"
       maxMessageSize="64k"
       parser.escapeControlCharactersOnReceive="off")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") {
	$_action
}
input(type="imtcp" address="127.0.0.1" port="$2" ruleset="bench")
CONF
}

RS_LINES=0
rsyslog_done() {
	_sz=$(stat -c %s "$RDIR/out.log" 2>/dev/null || echo 0)
	# Count lines only once the size says the file may be complete.
	[ "$_sz" -ge $((PAYLOAD + COUNT)) ] || return 1
	RS_LINES=$(wc -l <"$RDIR/out.log")
	[ "$RS_LINES" -ge "$COUNT" ]
}

# bench_rsyslog omfile|diskqueue
bench_rsyslog() {
	_name=rsyslog-$1
	RDIR=$TMP/$_name
	rm -rf "$RDIR"
	mkdir -p "$RDIR/work"
	_port=$(free_port)
	rsyslog_conf "$RDIR" "$_port" "$1" >"$RDIR/rsyslog.conf"
	rsyslogd -n -f "$RDIR/rsyslog.conf" -i "$RDIR/rsyslog.pid" >"$RDIR/rsyslog.log" 2>&1 &
	_rpid=$!
	PIDS="$PIDS $_rpid"
	if ! poll 20 listening "$_port"; then
		echo "$_name: rsyslogd did not start"
		cat "$RDIR/rsyslog.log"
		stop_pid "$_rpid"
		result "$_name" 0 - 0
		return 0
	fi
	RS_LINES=0
	_c0=$(cpu_ticks "$_rpid")
	if ! loadgen "$_port" 640; then
		echo "$_name: the sender failed"
		stop_pid "$_rpid"
		result "$_name" 0 - 0
		return 0
	fi
	if ! poll "$DEADLINE_S" rsyslog_done; then
		_k=$(hwm_kib "$_rpid")
		stop_pid "$_rpid"
		result "$_name" "$(wc -l <"$RDIR/out.log" 2>/dev/null || echo 0)" - "$_k"
		return 0
	fi
	_t1=$(now)
	_c=$(( $(cpu_ticks "$_rpid") - _c0 ))
	_k=$(hwm_kib "$_rpid")
	stop_pid "$_rpid"
	result "$_name" "$RS_LINES" "$(elapsed "$T0" "$_t1")" "$_k" "CPU: rsyslogd $(cpu_s "$_c") s"
	[ "$KEEP" = 1 ] || rm -rf "$RDIR"
}
