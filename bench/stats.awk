# Functions shared by bench/report.awk and bench/snmp_report.awk; pass this
# file first: awk -f bench/stats.awk -f bench/report.awk.

function verdict(ok) { return ok ? "PASS" : "MISS" }

# Sorts a[1..n] ascending (n is a handful: insertion sort).
function sort(a, n,    i, j, v) {
	for (i = 2; i <= n; i++) {
		v = a[i]
		for (j = i - 1; j >= 1 && a[j] > v; j--)
			a[j + 1] = a[j]
		a[j + 1] = v
	}
}

# The median of a[1..n] (n >= 1); sorts a.
function median(a, n) {
	sort(a, n)
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
