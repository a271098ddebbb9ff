# The table and the verdicts of the SNMP part of make bench, from
# bench/snmp.sh's results: one line per run, "NAME RECORDS SECONDS RSS_KIB
# DROPS" (SECONDS is "-" for a run that did not finish; DROPS is what the
# kernel dropped at the receiver's socket). A run's rate is its records
# over its seconds, so a lossy run counts only what it kept. A name run
# several times is reported by its median rate, with the range of its
# rates, the fewest traps one of its runs kept, the kernel's drops over
# all its runs and its highest peak RSS.
#
# Variables: count (traps sent per run), target (ward over snmptrapd),
# paced (the sender's fixed rate in traps/s, 0 when it sent in windows).
# Needs bench/stats.awk (verdict, median) passed first.

{
	if (!($1 in runs)) {
		order[++nnames] = $1
		minrec[$1] = $2
	}
	runs[$1]++
	if ($3 == "-")
		failed[$1]++
	else {
		r = $2 / $3
		rates[$1, ++done[$1]] = r
		if (!($1 in lo) || r < lo[$1])
			lo[$1] = r
		if (!($1 in hi) || r > hi[$1])
			hi[$1] = r
	}
	if ($2 < minrec[$1])
		minrec[$1] = $2
	drops[$1] += $5
	if ($4 / 1024 > rss[$1])
		rss[$1] = $4 / 1024
}

END {
	printf "%-14s %4s %8s %10s %19s %15s %12s %13s\n", "run", "runs", "traps", "traps/s",
	       "traps/s min-max", "kept/sent", "kernel drops", "peak RSS MiB"
	for (k = 1; k <= nnames; k++) {
		n = order[k]
		if (failed[n] > 0 || done[n] == 0) {
			rate[n] = 0
			printf "%-14s %4d %8d %10s %19s %7d/%-7d %12d %13.1f\n", n, runs[n], count,
			       "not done", "", minrec[n], count, drops[n], rss[n]
			continue
		}
		for (i = 1; i <= done[n]; i++)
			s[i] = rates[n, i]
		rate[n] = median(s, done[n])
		printf "%-14s %4d %8d %10.0f %9.0f-%-9.0f %7d/%-7d %12d %13.1f\n", n, runs[n], count,
		       rate[n], lo[n], hi[n], minrec[n], count, drops[n], rss[n]
	}
	for (k = 1; k <= nnames; k++)
		if (minrec[order[k]] < count)
			printf "%s lost traps (at worst %d of %d): its rate counts only those it kept\n",
			       order[k], count - minrec[order[k]], count
	print ""
	for (k = 1; k <= nnames; k++) {
		w = order[k]
		if (w !~ /^ward-/)
			continue
		p = "snmptrapd-" substr(w, 6)
		if (!(p in runs))
			continue
		label = sprintf("%s vs %s:", w, p)
		if (rate[w] > 0 && rate[p] > 0)
			printf "%-30s %6.2fx   (target >= %dx)   %s\n", label, rate[w] / rate[p], target,
			       verdict(rate[w] / rate[p] >= target)
		else
			printf "%-30s    n/a    (target >= %dx)   MISS\n", label, target
	}
	if (paced > 0)
		printf "The sender was paced at %d traps/s: no rate can exceed it, so these ratios\n" \
		       "say little; leave BENCH_SNMP_RATE unset to compare.\n", paced
}
