# The table and the verdicts of make bench's uplink part, from
# bench/uplink.sh's results. Rows:
#
#   NAME MESSAGES SECONDS WIRE_BYTES CPU_S RSS_KIB [stalled]
#       (uplink-ward, uplink-rsyslog; SECONDS is "-" when not done; a run
#       marked stalled stopped short of the count, and its figures are
#       those of the messages that arrived, up to the last that did).
#       A name run several times is reported by the median of each
#       figure, the range of its rates and its highest peak RSS.
#   shaped KEY VALUE                               (the shaped-link figures)
#
# Variables: count (messages per side-by-side run), t_rate, t_wire (ratio
# targets), t_rss (MiB), sup_kib, rx_kib (ward-agent's two processes),
# t_goodput (% of the link), t_p0, t_p99 (seconds), rate_kbit (the link).
# Needs bench/stats.awk (verdict, sort) passed first.

$1 == "shaped" { sh[$2] = $3; next }

NF >= 6 {
	if (!($1 in runs))
		order[++n] = $1
	runs[$1]++
	if ($6 / 1024 > rss[$1])
		rss[$1] = $6 / 1024
	if ($2 > maxmsgs[$1])
		maxmsgs[$1] = $2
	if ($3 == "-" || ($2 < count && $7 != "stalled") || $2 == 0 || $3 <= 0)
		next
	if ($7 == "stalled")
		stalled[$1]++
	k = ++nd[$1]
	v_rate[$1, k] = $2 / $3
	v_bpm[$1, k] = $4 / $2
	v_cpu[$1, k] = $5 * 1000000 / $2
}

function ratio_line(what, v, target, cmp, unit, ok) {
	printf "%-34s %8s %-24s %s\n", what, v, "(target " cmp " " target unit ")", verdict(ok)
}

# med(NAME, ARRAY): the median of ARRAY[NAME, 1..nd[NAME]]; sets lo, hi.
function med(name, arr,    i, m, t) {
	m = nd[name]
	for (i = 1; i <= m; i++)
		t[i] = arr[name, i]
	sort(t, m)
	lo = t[1]; hi = t[m]
	return (m % 2) ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
}

END {
	if (n > 0) {
		printf "%-16s %4s %10s %19s %11s %13s %13s\n", "run", "runs", "msgs/s", "msgs/s min-max",
		       "wire B/msg", "CPU s per 1M", "peak RSS MiB"
		for (k = 1; k <= n; k++) {
			r = order[k]
			done[r] = nd[r] > 0
			if (!done[r]) {
				printf "%-16s %4d %10s %19s %11s %13s %13.1f  (at most %d of %d messages)\n", r, runs[r],
				       "not done", "", "", "", rss[r], maxmsgs[r], count
				continue
			}
			rate[r] = med(r, v_rate); rlo = lo; rhi = hi
			bpm[r] = med(r, v_bpm)
			c = med(r, v_cpu)
			printf "%-16s %4d %10.0f %9.0f-%-9.0f %11.1f %13.2f %13.1f", r, runs[r], rate[r], rlo, rhi,
			       bpm[r], c, rss[r]
			if (nd[r] < runs[r])
				printf "  %d of %d runs not done", runs[r] - nd[r], runs[r]
			if (stalled[r])
				printf "  %d STALLED short of %d", stalled[r], count
			printf "\n"
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
