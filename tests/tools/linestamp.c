/* linestamp: prefixes each line of stdin with the wall clock at which it
 * arrived, for `make bench`, which pipes ward-soc's log through it to know
 * when each batch was stored (ward-soc's log lines carry no time).
 *
 *   ward-soc serve ... 2>&1 | linestamp >soc.log
 *
 * Each output line is "SECONDS.MICROSECONDS LINE" (CLOCK_REALTIME, Unix
 * time), written and flushed as soon as the line is complete, so the stamp
 * is late by the pipe's wake-up only (well under a millisecond on an idle
 * CPU). Lines longer than 64 KiB are cut into pieces, each stamped. Exit
 * status: 0 at end of input, 1 on a write error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(void)
{
	static char line[65536];
	struct timespec ts;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (printf("%lld.%06ld %s%s", (long long)ts.tv_sec, ts.tv_nsec / 1000, line,
			   strchr(line, '\n') ? "" : "\n") < 0 || fflush(stdout) != 0)
			return 1;
	}
	return 0;
}
