# The table and the verdicts of make bench, from bench/run.sh's results:
# one line per run, "NAME MESSAGES SECONDS RSS_KIB" (SECONDS is "-" for a
# run that did not finish). A name run several times is reported by its
# median time, with the range of its rates and its highest peak RSS.
#
# Variables: count (messages per run), t_dq, t_om (ratio targets), t_rss
# (MiB), rx_kib, sup_kib (ward's receiver and supervisor peaks). Needs
# bench/stats.awk (verdict, sort, median) passed first.

{
	if (!($1 in runs))
		order[++nnames] = $1
	runs[$1]++
	if ($3 == "-" || $2 < count)
		failed[$1]++
	else
		secs[$1, ++done[$1]] = $3 + 0
	if ($4 / 1024 > rss[$1])
		rss[$1] = $4 / 1024
	if ($2 > maxmsgs[$1])
		maxmsgs[$1] = $2
}

END {
	printf "%-18s %4s %10s %9s %10s %19s %13s\n", "run", "runs", "messages", "seconds",
	       "msgs/s", "msgs/s min-max", "peak RSS MiB"
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (failed[n] > 0 || done[n] == 0) {
			rate[n] = 0
			printf "%-18s %4d %10d %9s %10s %19s %13.1f\n", n, runs[n], maxmsgs[n], "-",
			       "not done", "", rss[n]
			continue
		}
		m = done[n]
		for (i = 1; i <= m; i++)
			s[i] = secs[n, i]
		med = median(s, m)
		rate[n] = count / med
		printf "%-18s %4d %10d %9.2f %10.0f %9.0f-%-9.0f %13.1f\n", n, runs[n], count, med,
		       rate[n], count / s[m], count / s[1], rss[n]
	}
	if (("ward" in runs) && rx_kib + sup_kib > 0)
		printf "ward RSS: receiver process %.1f MiB, supervisor %.1f MiB (each its peak; max %.1f, sum %.1f)\n",
		       rx_kib / 1024, sup_kib / 1024, ((rx_kib > sup_kib) ? rx_kib : sup_kib) / 1024,
		       (rx_kib + sup_kib) / 1024
	if (!("ward" in runs))
		exit 0
	print ""
	w = rate["ward"]
	if ("rsyslog-diskqueue" in runs) {
		d = rate["rsyslog-diskqueue"]
		if (w > 0 && d > 0)
			printf "ward vs rsyslog-diskqueue: %6.2fx     (target >= %dx)      %s\n", w / d, t_dq, verdict(w / d >= t_dq)
		else
			printf "ward vs rsyslog-diskqueue:    n/a     (target >= %dx)      MISS\n", t_dq
	}
	if ("rsyslog-omfile" in runs) {
		o = rate["rsyslog-omfile"]
		if (w > 0 && o > 0)
			printf "ward vs rsyslog-omfile:    %6.2fx     (target >= %dx)      %s\n", w / o, t_om, verdict(w / o >= t_om)
		else
			printf "ward vs rsyslog-omfile:       n/a     (target >= %dx)      MISS\n", t_om
	}
	r = ((rx_kib > sup_kib) ? rx_kib : sup_kib) / 1024
	if (r > 0)
		printf "ward peak RSS:             %6.1f MiB (target <= %d MiB) %s\n", r, t_rss, verdict(r <= t_rss)
	else
		printf "ward peak RSS:                n/a     (target <= %d MiB) MISS\n", t_rss
}
