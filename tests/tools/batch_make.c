/* batch_make: seals NDJSON lines into one batch, for ward-soc's tests.
 *
 *   batch_make -k DEVICE_KEY.pem -s SOC_PUB.pem -d DEVICE -l LANE -f FIRST
 *              [-L LAST] [-p PREV.batch] -o OUT.batch IN.ndjson
 *
 * IN holds the records, one per line, each ending in '\n'. LAST defaults
 * to FIRST + lines - 1 (no gaps); a larger LAST makes a batch with gaps.
 * PREV is the lane's previous batch, whose chain hash goes into the
 * header (zeros without -p). Exit status 0, or 1 with a reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"

static int slurp(const char *path, struct buf *b)
{
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");
	int rc = 0;

	if (f == NULL)
		return -errno;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rc = buf_append(b, chunk, n);
		if (rc < 0)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "batch_make: %s: %s\n", what, batch_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	const char *kpath = NULL, *spath = NULL, *prev = NULL, *outp = NULL;
	struct batch_key *dk = NULL, *sk = NULL;
	struct buf in = BUF_INIT, pb = BUF_INIT, out = BUF_INIT;
	struct batch_hdr h;
	struct timespec ts;
	uint64_t last = 0;
	size_t i;
	FILE *f;
	int ch, rc;

	memset(&h, 0, sizeof(h));
	while ((ch = getopt(argc, argv, "k:s:d:l:f:L:p:o:")) != -1) {
		switch (ch) {
		case 'k': kpath = optarg; break;
		case 's': spath = optarg; break;
		case 'd': snprintf(h.device, sizeof(h.device), "%s", optarg); break;
		case 'l': snprintf(h.lane, sizeof(h.lane), "%s", optarg); break;
		case 'f': h.first_seq = strtoull(optarg, NULL, 10); break;
		case 'L': last = strtoull(optarg, NULL, 10); break;
		case 'p': prev = optarg; break;
		case 'o': outp = optarg; break;
		default: return 2;
		}
	}
	if (!kpath || !spath || !outp || optind + 1 != argc) {
		fprintf(stderr, "usage: batch_make -k KEY -s SOC_PUB -d DEV -l LANE -f FIRST "
			"[-L LAST] [-p PREV] -o OUT IN\n");
		return 2;
	}
	if ((rc = batch_key_load(&dk, kpath)) < 0)
		return die(kpath, rc);
	if ((rc = batch_key_load(&sk, spath)) < 0)
		return die(spath, rc);
	if ((rc = slurp(argv[optind], &in)) < 0)
		return die(argv[optind], rc);
	for (i = 0; i < in.len; i++)
		h.records += in.data[i] == '\n';
	h.last_seq = last ? last : h.first_seq + h.records - 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.created_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (prev != NULL) {
		if ((rc = slurp(prev, &pb)) < 0)
			return die(prev, rc);
		if ((rc = batch_hash(pb.data, pb.len, h.prev_hash)) < 0)
			return die(prev, rc);
	}
	if ((rc = batch_seal(&out, &h, in.data, in.len, dk, sk, NULL)) < 0)
		return die("seal", rc);
	f = fopen(outp, "wb");
	if (f == NULL || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0)
		return die(outp, -EIO);
	batch_key_destroy(dk);
	batch_key_destroy(sk);
	buf_free(&in);
	buf_free(&pb);
	buf_free(&out);
	return 0;
}
