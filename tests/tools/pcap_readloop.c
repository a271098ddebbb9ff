/* pcap_readloop: the bare libpcap read loop, the limit of any program that
 * reads a capture file through libpcap. `make bench` runs it on the sensor's
 * benchmark capture next to ward-sensor -r, softflowd -r and ndpiReader -i.
 *
 *   pcap_readloop FILE
 *
 * It opens FILE with pcap_open_offline(), calls pcap_next_ex() until the
 * end, and counts the packets and their bytes as on the wire (the pcap
 * header's len). It touches nothing else, so the time is libpcap's: reading
 * the file (from the page cache when warm) and handing out each record.
 * Then it prints one JSON object on stdout:
 *
 *   {"packets":N,"bytes":N,"seconds":S,"cpu_seconds":C,"pps":P}
 *
 * seconds is the wall clock (CLOCK_MONOTONIC) from the open to the end of
 * the loop, cpu_seconds the process's user + system time, pps packets over
 * seconds. Exit status: 0, or 2 with "pcap_readloop: FILE: reason" on
 * stderr when the file cannot be opened or read.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "kconfig.h"

#if IS_ENABLED(CONFIG_SENSOR)
#include <pcap/pcap.h>

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	double t0, secs;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: pcap_readloop FILE\n");
		return 2;
	}
	t0 = mono_s();
	p = pcap_open_offline(argv[1], errbuf);
	if (p == NULL) {
		fprintf(stderr, "pcap_readloop: %s: %s\n", argv[1], errbuf);
		return 2;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->len;
	}
	secs = mono_s() - t0;
	if (rc != PCAP_ERROR_BREAK) {
		/* -1: a read error or a truncated record; what came before counts
		 * for nothing, as a benchmark's input must be whole. */
		fprintf(stderr, "pcap_readloop: %s: %s\n", argv[1], pcap_geterr(p));
		pcap_close(p);
		return 2;
	}
	pcap_close(p);
	printf("{\"packets\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"pps\":%.0f}\n",
	       (unsigned long long)packets, (unsigned long long)bytes, secs, cpu_s(),
	       secs > 0 ? (double)packets / secs : 0.0);
	return 0;
}
#else
int main(void)
{
	fprintf(stderr, "pcap_readloop: built without CONFIG_SENSOR (no libpcap)\n");
	return 2;
}
#endif
