/* syslog_encode: syslog messages in, ward records (NDJSON) out.
 *
 *   syslog_encode [--max BYTES] [--recv-us US] < STREAM
 *       frames stdin as a TCP stream (RFC 6587, either framing, detected
 *       per frame) and writes one record per message to stdout;
 *   syslog_encode --samples [--recv-us US]
 *       the same for the vendor lines of tests/unit/syslog_samples.h;
 *   syslog_encode --bench COUNT
 *       parses and encodes COUNT messages cycling through the samples on
 *       one core and prints the rate (CPU time of this thread, so other
 *       load on the machine distorts it less).
 *
 * tests/integration/syslog_schema.sh feeds its output to an independent
 * JSON Schema validator. The receive time is the wall clock unless
 * --recv-us fixes it. Exit status: 0, 1 on an error, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "syslog/syslog_frame.h"
#include "syslog/syslog_record.h"
#include "../unit/syslog_samples.h"

struct encoder {
	struct charset_conv *conv;
	struct buf scratch, out;
	int64_t recv_us;      /* 0: the wall clock */
	unsigned long records;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int encode_one(void *arg, const char *msg, size_t len, bool truncated)
{
	struct encoder *e = arg;
	struct syslog_record_in in = { msg, len, truncated, e->recv_us ? e->recv_us : now_us(),
				       "127.0.0.1:514", "tcp", NULL };

	buf_reset(&e->out);
	if (syslog_record_encode(&in, e->conv, &e->scratch, &e->out, NULL) < 0 ||
	    buf_append_byte(&e->out, '\n') < 0)
		return -ENOMEM;
	if (fwrite(e->out.data, 1, e->out.len, stdout) != e->out.len)
		return -EIO;
	e->records++;
	return 0;
}

static int run_stream(struct encoder *e, uint32_t max)
{
	struct syslog_framer f;
	uint8_t chunk[65536];
	ssize_t n;
	int rc = 0;

	syslog_framer_init(&f, max);
	while ((n = read(STDIN_FILENO, chunk, sizeof chunk)) > 0) {
		size_t used;

		rc = syslog_framer_feed(&f, chunk, (size_t)n, encode_one, e, &used);
		if (rc < 0)
			goto out;
	}
	rc = n < 0 ? -errno : syslog_framer_finish(&f, encode_one, e);
out:
	syslog_framer_free(&f);
	return rc;
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_bench(struct encoder *e, unsigned long count)
{
	size_t lens[SYSLOG_SAMPLES_COUNT], bytes = 0;
	double t0, dt;

	for (size_t i = 0; i < SYSLOG_SAMPLES_COUNT; i++)
		lens[i] = strlen(syslog_samples[i].line);
	t0 = cpu_seconds();
	for (unsigned long i = 0; i < count; i++) {
		size_t k = i % SYSLOG_SAMPLES_COUNT;
		struct syslog_record_in in = { syslog_samples[k].line, lens[k], false,
					       1795268400000000LL + (int64_t)i, "192.0.2.7:51514",
					       "tcp", NULL };

		buf_reset(&e->out);
		if (syslog_record_encode(&in, e->conv, &e->scratch, &e->out, NULL) < 0)
			return -ENOMEM;
		bytes += lens[k];
	}
	dt = cpu_seconds() - t0;
	printf("messages=%lu input_bytes=%zu cpu_s=%.3f rate_msgs_per_s=%.0f ns_per_msg=%.0f\n",
	       count, bytes, dt, (double)count / dt, dt * 1e9 / (double)count);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: syslog_encode [--max BYTES] [--recv-us US] [--samples | "
			"--bench COUNT] < stream\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct encoder e = { 0 };
	unsigned long bench = 0;
	uint32_t max = 0;
	bool samples = false;
	int rc = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--samples") == 0)
			samples = true;
		else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
			max = (uint32_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--recv-us") == 0 && i + 1 < argc)
			e.recv_us = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc)
			bench = strtoul(argv[++i], NULL, 10);
		else
			usage();
	}
	e.conv = charset_conv_create();
	if (e.conv == NULL) {
		fprintf(stderr, "syslog_encode: no GB18030 in iconv\n");
		return 1;
	}
	buf_init(&e.scratch);
	buf_init(&e.out);
	if (bench > 0) {
		rc = run_bench(&e, bench);
	} else if (samples) {
		for (size_t i = 0; i < SYSLOG_SAMPLES_COUNT && rc == 0; i++)
			rc = encode_one(&e, syslog_samples[i].line, strlen(syslog_samples[i].line),
					false);
	} else {
		rc = run_stream(&e, max);
	}
	if (fflush(stdout) != 0 && rc == 0)
		rc = -EIO;
	buf_free(&e.scratch);
	buf_free(&e.out);
	charset_conv_destroy(e.conv);
	if (rc < 0) {
		fprintf(stderr, "syslog_encode: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
