/* pcap_readloop: the bare libpcap read loop, the limit of any program that
 * reads a capture file through libpcap. `make bench` runs it on the sensor's
 * benchmark capture next to ward-sensor -r, softflowd -r and ndpiReader -i.
 *
 *   pcap_readloop [--buffer BYTES] FILE
 *
 * It opens FILE with pcap_open_offline(), calls pcap_next_ex() until the
 * end, and counts the packets and their bytes as on the wire (the pcap
 * header's len). It touches nothing else, so the time is libpcap's: reading
 * the file (from the page cache when warm) and handing out each record.
 *
 * libpcap reads a file through stdio with the default buffer (4 KiB here),
 * so a 1 GB capture costs 250,000 read() calls, a good part of the time in
 * a VM, where a system call costs more. --buffer BYTES opens the file with
 * fopen() and setvbuf() of BYTES instead, then pcap_fopen_offline(): what a
 * reader can save there, still through libpcap.
 * Then it prints one JSON object on stdout:
 *
 *   {"packets":N,"bytes":N,"seconds":S,"cpu_seconds":C,"pps":P}
 *
 * seconds is the wall clock (CLOCK_MONOTONIC) from the open to the end of
 * the loop, cpu_seconds the process's user + system time, pps packets over
 * seconds. Exit status: 0, or 2 with "pcap_readloop: FILE: reason" on
 * stderr when the file cannot be opened or read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Opens `path` as pcap_open_offline() does, or with a stdio buffer of
 * `bufsize` bytes (> 0), which *iobuf then owns until after pcap_close().
 * NULL with errbuf filled on failure. */
static pcap_t *open_capture(const char *path, unsigned long bufsize, char **iobuf, char *errbuf)
{
	pcap_t *p;
	FILE *fp;

	*iobuf = NULL;
	if (bufsize == 0)
		return pcap_open_offline(path, errbuf);
	fp = fopen(path, "rb");
	if (fp == NULL) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "%s", strerror(errno));
		return NULL;
	}
	/* glibc ignores the size unless it is given the buffer itself. */
	*iobuf = malloc(bufsize);
	if (*iobuf == NULL || setvbuf(fp, *iobuf, _IOFBF, bufsize) != 0) {
		snprintf(errbuf, PCAP_ERRBUF_SIZE, "setvbuf: %s", strerror(errno));
		goto fail;
	}
	p = pcap_fopen_offline(fp, errbuf);     /* pcap_close() closes fp */
	if (p != NULL)
		return p;
fail:
	fclose(fp);
	free(*iobuf);
	*iobuf = NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t packets = 0, bytes = 0;
	unsigned long bufsize = 0;
	char *iobuf = NULL, *end;
	const char *path;
	double t0, secs;
	pcap_t *p;
	int rc;

	if (argc == 4 && strcmp(argv[1], "--buffer") == 0) {
		bufsize = strtoul(argv[2], &end, 10);
		if (*end != '\0' || bufsize == 0 || bufsize > (1UL << 30)) {
			fprintf(stderr, "pcap_readloop: --buffer wants 1 to 1073741824 bytes\n");
			return 2;
		}
		path = argv[3];
	} else if (argc == 2) {
		path = argv[1];
	} else {
		fprintf(stderr, "usage: pcap_readloop [--buffer BYTES] FILE\n");
		return 2;
	}
	t0 = mono_s();
	p = open_capture(path, bufsize, &iobuf, errbuf);
	if (p == NULL) {
		fprintf(stderr, "pcap_readloop: %s: %s\n", path, errbuf);
		return 2;
	}
	while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
		packets++;
		bytes += h->len;
	}
	secs = mono_s() - t0;
	/* -1: a read error or a truncated record. What came before counts
	 * for nothing, as a benchmark's input must be whole. */
	if (rc != PCAP_ERROR_BREAK)
		fprintf(stderr, "pcap_readloop: %s: %s\n", path, pcap_geterr(p));
	else
		printf("{\"packets\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"pps\":%.0f}\n",
		       (unsigned long long)packets, (unsigned long long)bytes, secs, cpu_s(),
		       secs > 0 ? (double)packets / secs : 0.0);
	pcap_close(p);
	free(iobuf);
	return rc == PCAP_ERROR_BREAK ? 0 : 2;
}
#else
int main(void)
{
	fprintf(stderr, "pcap_readloop: built without CONFIG_SENSOR (no libpcap)\n");
	return 2;
}
#endif
