# The table and the verdicts of make bench's uplink part, from
# bench/uplink.sh's results. Rows:
#
#   NAME MESSAGES SECONDS WIRE_BYTES CPU_S RSS_KIB [stalled]
#       (uplink-ward, uplink-rsyslog; SECONDS is "-" when not done; a run
#       marked stalled stopped short of the count, and its figures are
#       those of the messages that arrived, up to the last that did)
#   shaped KEY VALUE                               (the shaped-link figures)
#
# Variables: count (messages per side-by-side run), t_rate, t_wire (ratio
# targets), t_rss (MiB), sup_kib, rx_kib (ward-agent's two processes),
# t_goodput (% of the link), t_p0, t_p99 (seconds), rate_kbit (the link).
# Needs bench/stats.awk (verdict) passed first.

$1 == "shaped" { sh[$2] = $3; next }

NF >= 6 {
	if (!($1 in done))
		order[++n] = $1
	stalled[$1] = ($7 == "stalled")
	done[$1] = ($3 != "-" && ($2 >= count || stalled[$1]))
	msgs[$1] = $2
	secs[$1] = $3
	wire[$1] = $4
	cpu[$1] = $5
	rss[$1] = $6 / 1024
}

function ratio_line(what, v, target, cmp, unit, ok) {
	printf "%-34s %8s %-24s %s\n", what, v, "(target " cmp " " target unit ")", verdict(ok)
}

END {
	if (n > 0) {
		printf "%-16s %10s %9s %10s %12s %14s %13s\n", "run", "messages", "seconds", "msgs/s",
		       "wire B/msg", "CPU s per 1M", "peak RSS MiB"
		for (k = 1; k <= n; k++) {
			r = order[k]
			if (!done[r]) {
				printf "%-16s %10d %9s %10s %12s %14s %13.1f\n", r, msgs[r], "-", "not done",
				       "", "", rss[r]
				continue
			}
			rate[r] = msgs[r] / secs[r]
			bpm[r] = wire[r] / msgs[r]
			printf "%-16s %10d %9.2f %10.0f %12.1f %14.2f %13.1f%s\n", r, msgs[r], secs[r], rate[r],
			       bpm[r], cpu[r] * 1000000 / msgs[r], rss[r], stalled[r] ? "  STALLED short of " count : ""
		}
		if (sup_kib + rx_kib > 0)
			printf "ward-agent RSS: supervisor (sealer, uplink) %.1f MiB, receivers %.1f MiB (each its peak)\n",
			       sup_kib / 1024, rx_kib / 1024
		print ""
		w = "uplink-ward"; s = "uplink-rsyslog"
		if (stalled[w] || stalled[s])
			print "(a stalled run: its rate and bytes are those of the messages that arrived)"
		if (done[w] && done[s]) {
			ratio_line("ward vs rsyslog, msgs/s:", sprintf("%.2fx", rate[w] / rate[s]), t_rate "x", ">=", "",
				   rate[w] / rate[s] >= t_rate)
			ratio_line("ward vs rsyslog, wire bytes/msg:", sprintf("1/%.1f", bpm[s] / bpm[w]), "1/" t_wire, "<=", "",
				   bpm[w] * t_wire <= bpm[s])
		} else {
			ratio_line("ward vs rsyslog, msgs/s:", "n/a", t_rate "x", ">=", "", 0)
			ratio_line("ward vs rsyslog, wire bytes/msg:", "n/a", "1/" t_wire, "<=", "", 0)
		}
		m = (sup_kib > rx_kib ? sup_kib : rx_kib) / 1024
		if (m > 0)
			ratio_line("ward-agent peak RSS (larger process):", sprintf("%.1f MiB", m), t_rss, "<=", " MiB", m <= t_rss)
		else
			ratio_line("ward-agent peak RSS (larger process):", "n/a", t_rss, "<=", " MiB", 0)
	}
	if (!("ran" in sh))
		exit 0
	if (n > 0)
		print ""
	printf "shaped uplink: %.1f Mbit/s, %d ms RTT (tbf + tests/tools/delayline)\n", rate_kbit / 1000, sh["rtt_ms"]
	if ("lat_n" in sh)
		printf "latency at %s msg/s for %s s: %d records, receive -> stored at ward-soc: p50 %.3f s, p99 %.3f s, max %.3f s\n",
		       sh["lat_rate"], sh["lat_s"], sh["lat_n"], sh["lat_p50"], sh["lat_p99"], sh["lat_max"]
	if ("backlog_bytes" in sh)
		printf "backlog: %d messages -> %d sealed batches, %.1f MiB in the outbox (scaled down from 1 GiB, see docs)\n",
		       sh["backlog_msgs"], sh["backlog_batches"], sh["backlog_bytes"] / 1048576
	if ("p0_s" in sh)
		printf "reconnect -> first P0 (agent lane) batch stored: %.3f s, %d P1 batches stored before it\n",
		       sh["p0_s"], sh["p0_p1_before"]
	if ("goodput_bps" in sh)
		printf "drain: %.1f MiB of syslog batches acknowledged in %.1f s: %.2f Mbit/s of batch bytes\n",
		       sh["goodput_bytes"] / 1048576, sh["goodput_s"], sh["goodput_bps"] / 1e6
	print ""
	if ("goodput_bps" in sh) {
		g = sh["goodput_bps"] / (rate_kbit * 1000) * 100
		ratio_line("goodput, % of the link:", sprintf("%.1f%%", g), t_goodput "%", ">=", "", g >= t_goodput)
	} else
		ratio_line("goodput, % of the link:", "n/a", t_goodput "%", ">=", "", 0)
	if ("p0_s" in sh)
		ratio_line("P0 after reconnect, behind a backlog:", sprintf("%.2f s", sh["p0_s"]), t_p0, "<=", " s",
			   sh["p0_s"] <= t_p0 && sh["p0_p1_before"] == 0)
	else
		ratio_line("P0 after reconnect, behind a backlog:", "n/a", t_p0, "<=", " s", 0)
	if ("lat_p99" in sh)
		ratio_line("receive -> acknowledged, p99:", sprintf("%.2f s", sh["lat_p99"]), t_p99, "<=", " s",
			   sh["lat_p99"] <= t_p99)
	else
		ratio_line("receive -> acknowledged, p99:", "n/a", t_p99, "<=", " s", 0)
}
