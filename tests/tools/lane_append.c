/* lane_append: writes test records into a spool lane of any class, for
 * tests that need a lane no ward producer writes yet (a P2 lane before the
 * packet sensor exists).
 *
 *   lane_append DIR LANE CLASS COUNT RECBYTES [SEGBYTES]
 *
 * Opens (creating) lane LANE under the spool DIR with class CLASS (P0, P1
 * or P2), appends COUNT records and closes the lane, which commits them
 * and closes the open segment, so that everything is ready to be sealed.
 * Each record is one JSON object of about RECBYTES bytes:
 *   {"type":"test","lane":"LANE","n":N,"data":"..."}
 * where N counts from 1 in this run and "data" is pseudo-random text
 * (64 symbols, so zstd cannot shrink it much: a backlog of these fills
 * a disk budget as real bulk data would). SEGBYTES is the lane's
 * segment_max_bytes (default 262144).
 *
 * Prints "first F last L" (the seqs appended) and exits 0; 1 on a usage
 * error, 2 when the spool refuses.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "spool.h"

static const char sym[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	uint64_t count, recbytes, segbytes = 262144, i, seq, first = 0, last = 0;
	char *rec = NULL;
	size_t len, k;
	int rc;

	if (argc < 6 || argc > 7 || parse_u64(argv[4], &count) < 0 ||
	    parse_u64(argv[5], &recbytes) < 0 || recbytes < 64 || recbytes > 65536 ||
	    (argc == 7 && parse_u64(argv[6], &segbytes) < 0) ||
	    (strcmp(argv[3], "P0") != 0 && strcmp(argv[3], "P1") != 0 &&
	     strcmp(argv[3], "P2") != 0)) {
		fprintf(stderr, "usage: lane_append DIR LANE P0|P1|P2 COUNT RECBYTES(64..65536) "
			"[SEGBYTES]\n");
		return 1;
	}
	log_setup("lane_append", LOG_LVL_ERROR);
	memset(&o, 0, sizeof(o));
	o.spool_dir = argv[1];
	o.name = argv[2];
	o.cls = (enum spool_class)(argv[3][1] - '0');
	o.segment_max_bytes = segbytes;
	rc = spool_lane_open(&l, &o);
	if (rc < 0) {
		fprintf(stderr, "lane_append: cannot open %s/%s: %s\n", argv[1], argv[2],
			strerror(-rc));
		return rc == -EINVAL ? 1 : 2;
	}
	rec = malloc(recbytes + 1);
	if (rec == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rng ^= (uint64_t)clock_wall_us();
	for (i = 1; i <= count; i++) {
		len = (size_t)snprintf(rec, recbytes + 1, "{\"type\":\"test\",\"lane\":\"%s\","
				       "\"n\":%" PRIu64 ",\"data\":\"", argv[2], i);
		for (k = len; k + 2 < recbytes; k++)
			rec[k] = sym[next_rand() & 63];
		rec[k++] = '"';
		rec[k++] = '}';
		rc = spool_lane_append(l, clock_wall_us(), rec, k, &seq);
		if (rc < 0) {
			fprintf(stderr, "lane_append: append %" PRIu64 ": %s\n", i, strerror(-rc));
			goto out;
		}
		if (first == 0)
			first = seq;
		last = seq;
	}
	rc = spool_lane_flush(l);
	if (rc < 0)
		fprintf(stderr, "lane_append: flush: %s\n", strerror(-rc));
out:
	spool_lane_close(l);
	free(rec);
	if (rc < 0)
		return 2;
	printf("first %" PRIu64 " last %" PRIu64 "\n", first, last);
	return 0;
}
