/* sealer: spool segments -> sealed batches in the outbox; merging small
 * segments, splitting large ones, the hash chain across batches and runs,
 * and every crash point of the commit order (sealer.h), built by hand from
 * copies of the spool and outbox taken around a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "log.h"
#include "sealer.h"
#include "spool.h"
#include "test_keys.h"
#include "test_tmpdir.h"

struct fixture {
	char base[200];
	char spool[256];
	char outbox[256];
	char lanedir[300];      /* outbox/t */
	struct batch_key *dev, *soc;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	if (fx == NULL)
		return -1;
	log_setup("test_sealer", LOG_LVL_ERROR);
	if (test_mkdtemp(fx->base, sizeof(fx->base), "sealer") < 0)
		return -1;
	snprintf(fx->spool, sizeof(fx->spool), "%s/spool", fx->base);
	snprintf(fx->outbox, sizeof(fx->outbox), "%s/outbox", fx->base);
	snprintf(fx->lanedir, sizeof(fx->lanedir), "%s/t", fx->outbox);
	if (test_fixed_keys(&fx->dev, &fx->soc) < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	test_rmtree(fx->base);
	batch_key_destroy(fx->dev);
	batch_key_destroy(fx->soc);
	free(fx);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

/* Appends records from..to to lane "t" as {"n":<seq>,"pad":"..."} with
 * small segments, and closes the lane. */
static void write_records(struct fixture *fx, uint64_t from, uint64_t to, size_t pad)
{
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	char rec[4096];
	uint64_t i, seq;
	int n;

	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.name = "t";
	o.cls = SPOOL_P1;
	o.segment_max_bytes = 2048;
	assert_int_equal(spool_lane_open(&l, &o), 0);
	assert_true(pad < 3000);
	for (i = from; i <= to; i++) {
		n = snprintf(rec, sizeof(rec), "{\"n\":%" PRIu64 ",\"pad\":\"%0*d\"}", i, (int)pad, 0);
		assert_int_equal(spool_lane_append(l, 1, rec, (size_t)n, &seq), 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);
}

static void sealer_new(struct fixture *fx, struct sealer **s, uint32_t max)
{
	struct sealer_opts o;

	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.lane = "t";
	o.outbox_dir = fx->outbox;
	o.device_id = "probe-1";
	o.device = fx->dev;
	o.soc = fx->soc;
	o.max_batch_bytes = max;
	assert_int_equal(sealer_create(s, &o), 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists files in dir ending in `suffix`, sorted. Returns the count. */
static size_t list(const char *dir, const char *suffix, char **names, size_t max)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, sl = strlen(suffix), l;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0) {
			assert_true(n < max);
			names[n++] = strdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	return n;
}

static void read_whole(const char *path, struct buf *b)
{
	FILE *f = fopen(path, "rb");
	char tmp[65536];
	size_t n;

	assert_non_null(f);
	buf_reset(b);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		assert_int_equal(buf_append(b, tmp, n), 0);
	fclose(f);
}

/* Opens every batch in the outbox in name order and checks: seqs run
 * 1..expect without gap or duplicate, each record is the one written,
 * and each batch's prev hash is the previous batch's hash. Returns the
 * number of batches. */
static size_t check_outbox(struct fixture *fx, uint64_t expect)
{
	char *names[4096], path[600];
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	uint8_t prev[BATCH_HASH_SIZE] = { 0 };
	uint64_t next = 1, n;
	size_t nb, i;
	const char *p, *end;

	nb = list(fx->lanedir, ".batch", names, 4096);
	for (i = 0; i < nb; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[i]);
		read_whole(path, &b);
		buf_reset(&body);
		assert_int_equal(batch_open(b.data, b.len, fx->dev, fx->soc, 0, &h, &body), 0);
		assert_memory_equal(h.prev_hash, prev, sizeof(prev));
		assert_int_equal(batch_hash(b.data, b.len, prev), 0);
		assert_string_equal(h.lane, "t");
		assert_string_equal(h.device, "probe-1");
		assert_int_equal(h.first_seq, next);
		p = (const char *)body.data;
		end = p + body.len;
		while (p < end) {
			uint64_t seq;

			/* Each line leads with its spool seq (put_line). */
			assert_int_equal(sscanf(p, "{\"seq\":%" SCNu64 ",\"n\":%" SCNu64, &seq, &n), 2);
			assert_int_equal(seq, next);
			assert_int_equal(n, next);
			next++;
			p = memchr(p, '\n', (size_t)(end - p));
			assert_non_null(p);
			p++;
		}
		assert_int_equal(h.last_seq, next - 1);
		free(names[i]);
	}
	assert_int_equal(next - 1, expect);
	buf_free(&b);
	buf_free(&body);
	return nb;
}

static size_t segments_left(struct fixture *fx)
{
	char dir[300], *names[4096];
	size_t n, i;

	snprintf(dir, sizeof(dir), "%s/t", fx->spool);
	n = list(dir, ".seg", names, 4096);
	for (i = 0; i < n; i++)
		free(names[i]);
	return n;
}

static void sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* ---- tests ---------------------------------------------------------------- */

/* 2000 records in about 200 small segments become a few 16 KiB batches. */
static void test_merge_and_split(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct sealer_stats st;
	size_t segs, nb;
	int rc;

	write_records(fx, 1, 2000, 100);
	segs = segments_left(fx);
	assert_true(segs > 100);
	sealer_new(fx, &s, 16384);
	rc = sealer_run(s, true, 1000);
	assert_true(rc > 0);
	assert_int_equal(segments_left(fx), 0);
	nb = check_outbox(fx, 2000);
	assert_int_equal(nb, (size_t)rc);
	/* ~250 KB of NDJSON: about 16 batches, not one per segment. */
	assert_true(nb >= 14 && nb <= 18);
	sealer_get_stats(s, &st);
	assert_int_equal(st.records, 2000);
	assert_int_equal(st.segments_consumed, segs);
	assert_int_equal(st.last_seq, 2000);
	assert_true(st.body_bytes <= nb * 16384);

	/* Nothing new: nothing to do. The chain goes on in the next run. */
	assert_int_equal(sealer_run(s, true, 2000), 0);
	write_records(fx, 2001, 2010, 10);
	assert_int_equal(sealer_run(s, true, 3000), 1);
	check_outbox(fx, 2010);
	sealer_destroy(s);

	/* ... and across a restart (CHAIN). */
	write_records(fx, 2011, 2020, 10);
	sealer_new(fx, &s, 16384);
	assert_int_equal(sealer_run(s, true, 4000), 1);
	check_outbox(fx, 2020);
	sealer_destroy(s);
}

/* sealer_run_max seals a backlog a few batches at a time: each call stops
 * at its limit without cutting a partial batch, and the calls together
 * give the same continuous outbox as one sealer_run. A call cut short
 * keeps what it read, so every segment is read once, however many calls
 * it takes, and records that arrive between calls join the backlog. */
static void test_run_max(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct sealer_stats st;
	int rc, calls = 0, total = 0;
	size_t segs;

	write_records(fx, 1, 2000, 100);
	segs = segments_left(fx);
	sealer_new(fx, &s, 16384);
	do {
		rc = sealer_run_max(s, true, 1000 + calls, 2);
		assert_true(rc >= 0 && rc <= 3);   /* one segment may add one */
		total += rc;
		calls++;
		/* The first call stopped at the limit: the rest of the
		 * backlog is still in the spool. */
		if (calls == 1) {
			assert_true(rc >= 2);
			assert_true(segments_left(fx) > 0);
		}
		if (calls == 3) {
			size_t before = segments_left(fx);

			write_records(fx, 2001, 2100, 100);
			segs += segments_left(fx) - before;
		}
	} while (rc >= 2);
	assert_true(calls >= 7);
	assert_int_equal(segments_left(fx), 0);
	assert_int_equal(check_outbox(fx, 2100), (size_t)total);
	sealer_get_stats(s, &st);
	assert_int_equal(st.segments_consumed, segs);
	assert_int_equal(st.segments_read, segs);
	sealer_destroy(s);
}

/* A sealer destroyed with a run kept (a backlog half sealed) loses
 * nothing: a new one reads the rest from the spool and the chain goes on. */
static void test_run_max_restart(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	int rc;

	write_records(fx, 1, 1000, 100);
	sealer_new(fx, &s, 16384);
	assert_true(sealer_run_max(s, true, 1000, 2) >= 2);
	sealer_destroy(s);
	sealer_new(fx, &s, 16384);
	do
		rc = sealer_run_max(s, true, 2000, 2);
	while (rc >= 2);
	assert_true(rc >= 0);
	assert_int_equal(segments_left(fx), 0);
	check_outbox(fx, 1000);
	sealer_destroy(s);
}

/* partial=false seals only full batches; the rest waits in the spool. */
static void test_partial_waits(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;

	write_records(fx, 1, 50, 20);
	sealer_new(fx, &s, 16384);
	assert_int_equal(sealer_run(s, false, 1), 0);
	assert_true(segments_left(fx) > 0);
	check_outbox(fx, 0);
	write_records(fx, 51, 600, 20);   /* ~20 KB: one full batch */
	assert_int_equal(sealer_run(s, false, 2), 1);
	assert_true(segments_left(fx) > 0);
	assert_int_equal(sealer_run(s, true, 3), 1);
	assert_int_equal(segments_left(fx), 0);
	check_outbox(fx, 600);
	sealer_destroy(s);
}

/* A record larger than max_batch_bytes gets a batch of its own; a raw
 * newline inside a payload does not split it. */
/* sealer_trim() in the middle of a backlog (a run kept, a batch in the
 * press, a group written but not committed) gives up that work, and the
 * next calls seal everything once, the chain unbroken. */
static void test_trim_mid_backlog(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	int rc;

	write_records(fx, 1, 2000, 100);
	sealer_new(fx, &s, 16384);
	assert_int_equal(sealer_run_max(s, true, 1000, 3), 3);
	sealer_trim(s);
	do
		rc = sealer_run_max(s, true, 2000, 3);
	while (rc >= 3);
	assert_true(rc >= 0);
	assert_int_equal(segments_left(fx), 0);
	check_outbox(fx, 2000);
	sealer_destroy(s);
}

static void test_big_record_and_newline(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	struct sealer *s = NULL;
	struct sealer_stats st;
	char *names[8], path[600], big[6000];
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	size_t n, i;

	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.name = "t";
	o.cls = SPOOL_P1;
	assert_int_equal(spool_lane_open(&l, &o), 0);
	assert_int_equal(spool_lane_append(l, 1, "{\"a\":\n1}", 8, NULL), 0);
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"b\":\"", 6);
	memcpy(big + sizeof(big) - 2, "\"}", 2);
	assert_int_equal(spool_lane_append(l, 1, big, sizeof(big), NULL), 0);
	assert_int_equal(spool_lane_append(l, 1, "{}", 2, NULL), 0);
	/* Not a JSON object: only damage or a foreign writer leaves one. */
	assert_int_equal(spool_lane_append(l, 1, "x\"y", 3, NULL), 0);
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);

	sealer_new(fx, &s, SEALER_MAX_BATCH_MIN);
	assert_int_equal(sealer_run(s, true, 1), 3);
	sealer_get_stats(s, &st);
	assert_int_equal(st.newlines_replaced, 1);
	n = list(fx->lanedir, ".batch", names, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[i]);
		read_whole(path, &b);
		buf_reset(&body);
		assert_int_equal(batch_open(b.data, b.len, fx->dev, fx->soc, 0, &h, &body), 0);
		assert_int_equal(h.records, i < 2 ? 1 : 2);
		assert_int_equal(h.first_seq, i + 1);
		if (i == 0)
			assert_memory_equal(body.data, "{\"seq\":1,\"a\": 1}\n", 17);
		if (i == 1)
			assert_int_equal(body.len, sizeof(big) + 1 + strlen("\"seq\":2,"));
		if (i == 2) {
			assert_int_equal(h.records, 2);
			assert_int_equal(body.len, 37);
			assert_memory_equal(body.data, "{\"seq\":3}\n{\"seq\":4,\"payload\":\"x\\\"y\"}\n", 37);
		}
		free(names[i]);
	}
	sealer_destroy(s);
	buf_free(&b);
	buf_free(&body);
}

/* The crash points of sealer.h's commit order, rebuilt from copies:
 * "pre" is the spool and outbox before a run that seals batch B,
 * "post" the outbox after it. */
static void test_crash_points(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct sealer_stats st;
	char *names[4];
	int point;

	for (point = 0; point < 3; point++) {
		sh("rm -rf '%s/spool' '%s/outbox' '%s/pre'", fx->base, fx->base, fx->base);
		/* One committed batch (records 1..10) before the crash run. */
		write_records(fx, 1, 10, 10);
		sealer_new(fx, &s, 16384);
		assert_int_equal(sealer_run(s, true, 1), 1);
		sealer_destroy(s);
		write_records(fx, 11, 40, 10);
		sh("mkdir '%s/pre' && cp -a '%s/spool' '%s/outbox' '%s/pre/'", fx->base, fx->base,
		   fx->base, fx->base);
		sealer_new(fx, &s, 16384);
		assert_int_equal(sealer_run(s, true, 2), 1);
		sealer_destroy(s);
		assert_int_equal(list(fx->lanedir, ".batch", names, 4), 2);
		free(names[0]);
		/* The segments come back: the crash was before step 4. */
		sh("rm -rf '%s/spool' && cp -a '%s/pre/spool' '%s/'", fx->base, fx->base, fx->base);
		if (point >= 1)    /* before step 3: B is still a .tmp */
			sh("cd '%s' && mv '%s' '.%.41s.tmp'", fx->lanedir, names[1], names[1]);
		if (point == 2)    /* before step 2: CHAIN is the old one */
			sh("cp '%s/pre/outbox/t/CHAIN' '%s/CHAIN'", fx->base, fx->lanedir);
		free(names[1]);

		sealer_new(fx, &s, 16384);
		sealer_get_stats(s, &st);
		assert_int_equal(st.recovered_tmp, point == 1 ? 1 : 0);
		assert_int_equal(st.discarded_tmp, point == 2 ? 1 : 0);
		/* Only the never-committed batch is sealed again. */
		assert_int_equal(sealer_run(s, true, 3), point == 2 ? 1 : 0);
		assert_int_equal(segments_left(fx), 0);
		assert_int_equal(check_outbox(fx, 40), 2);
		sealer_destroy(s);
		s = NULL;
	}
}

/* One CHAIN commits a group of batches: after a crash, the .tmp files on
 * the chain back from CHAIN are published, and the others discarded. */
static void test_group_crash_points(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct sealer_stats st;
	char *names[8];
	size_t nb, i;
	int point;

	for (point = 0; point < 4; point++) {
		sh("rm -rf '%s/spool' '%s/outbox' '%s/pre'", fx->base, fx->base, fx->base);
		write_records(fx, 1, 10, 10);
		sealer_new(fx, &s, SEALER_MAX_BATCH_MIN);
		assert_int_equal(sealer_run(s, true, 1), 1);
		sealer_destroy(s);
		/* About 12 KB of NDJSON: three 4 KiB batches, one group. */
		write_records(fx, 11, 100, 100);
		sh("mkdir '%s/pre' && cp -a '%s/spool' '%s/outbox' '%s/pre/'", fx->base, fx->base,
		   fx->base, fx->base);
		sealer_new(fx, &s, SEALER_MAX_BATCH_MIN);
		assert_int_equal(sealer_run(s, true, 2), 3);
		sealer_destroy(s);
		nb = list(fx->lanedir, ".batch", names, 8);
		assert_int_equal(nb, 4);
		sh("rm -rf '%s/spool' && cp -a '%s/pre/spool' '%s/'", fx->base, fx->base, fx->base);
		/* 1: CHAIN written, no rename done; 2: not even CHAIN; 3: the
		 * first rename done, not the others. */
		for (i = point == 3 ? 2 : 1; point >= 1 && i < nb; i++)
			sh("cd '%s' && mv '%s' '.%.41s.tmp'", fx->lanedir, names[i], names[i]);
		if (point == 2)
			sh("cp '%s/pre/outbox/t/CHAIN' '%s/CHAIN'", fx->base, fx->lanedir);
		for (i = 0; i < nb; i++)
			free(names[i]);

		sealer_new(fx, &s, SEALER_MAX_BATCH_MIN);
		sealer_get_stats(s, &st);
		assert_int_equal(st.recovered_tmp, point == 1 ? 3 : point == 3 ? 2 : 0);
		assert_int_equal(st.discarded_tmp, point == 2 ? 3 : 0);
		assert_int_equal(sealer_run(s, true, 3), point == 2 ? 3 : 0);
		assert_int_equal(segments_left(fx), 0);
		assert_int_equal(check_outbox(fx, 100), 4);
		sealer_destroy(s);
		s = NULL;
	}
}

/* The disk budget evicts a segment (and reports its records lost) while
 * the sealer holds its records in a batch not yet committed: that batch
 * is not committed, so no record is both lost and delivered, and what
 * the spool still holds is sealed again. */
static void test_eviction_under_sealer(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	char *names[4096], path[700], dir[300];
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	static uint8_t seen[401];
	uint64_t seq, evicted_last;
	size_t n, i;
	const char *p, *end;

	write_records(fx, 1, 400, 100);
	sealer_new(fx, &s, 16384);
	/* One batch cut, the run kept: its records are in the press. */
	assert_int_equal(sealer_run_max(s, true, 1, 1), 1);
	/* The budget evicts the oldest segment. */
	snprintf(dir, sizeof(dir), "%s/t", fx->spool);
	n = list(dir, ".seg", names, 4096);
	assert_true(n > 2);
	assert_int_equal(sscanf(names[1], "%" SCNu64, &evicted_last), 1);
	evicted_last--;
	snprintf(path, sizeof(path), "%s/%s", dir, names[0]);
	assert_int_equal(unlink(path), 0);
	for (i = 0; i < n; i++)
		free(names[i]);
	/* The group with its records is dropped, and what the spool still
	 * holds is sealed again in the same call. */
	assert_true(sealer_run(s, true, 2) > 0);
	assert_int_equal(segments_left(fx), 0);
	n = list(fx->lanedir, ".batch", names, 4096);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[i]);
		read_whole(path, &b);
		buf_reset(&body);
		assert_int_equal(batch_open(b.data, b.len, fx->dev, fx->soc, 0, &h, &body), 0);
		for (p = (const char *)body.data, end = p + body.len; p < end; p++) {
			assert_int_equal(sscanf(p, "{\"seq\":%" SCNu64, &seq), 1);
			assert_true(seq >= 1 && seq <= 400);
			assert_int_equal(seen[seq], 0);
			seen[seq] = 1;
			p = memchr(p, '\n', (size_t)(end - p));
			assert_non_null(p);
		}
		free(names[i]);
	}
	for (seq = 1; seq <= 400; seq++)
		assert_int_equal(seen[seq], seq > evicted_last ? 1 : 0);
	buf_free(&b);
	buf_free(&body);
	sealer_destroy(s);
}

static void test_bad_chain_and_options(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct sealer_opts o;
	char path[400];
	FILE *f;

	sh("rm -rf '%s/spool' '%s/outbox'", fx->base, fx->base);
	sealer_new(fx, &s, 0);
	sealer_destroy(s);
	snprintf(path, sizeof(path), "%s/CHAIN", fx->lanedir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("ward-chain 1 5 00ff\n", f);
	fclose(f);
	memset(&o, 0, sizeof(o));
	o.spool_dir = fx->spool;
	o.lane = "t";
	o.outbox_dir = fx->outbox;
	o.device_id = "probe-1";
	o.device = fx->dev;
	o.soc = fx->soc;
	assert_int_equal(sealer_create(&s, &o), -EBADMSG);
	assert_null(s);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "ward-chain 1 5 %064d\nextra", 0);
	fclose(f);
	assert_int_equal(sealer_create(&s, &o), -EBADMSG);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "ward-chain 1 5 %064d\n", 0);
	fclose(f);
	assert_int_equal(sealer_create(&s, &o), 0);
	sealer_destroy(s);
	unlink(path);
	assert_int_equal(sealer_create(&s, &o), 0);
	sealer_destroy(s);

	o.max_batch_bytes = 100;
	assert_int_equal(sealer_create(&s, &o), -EINVAL);
	o.max_batch_bytes = 0;
	o.lane = "quarantine";
	assert_int_equal(sealer_create(&s, &o), -EINVAL);
	o.lane = "t";
	o.device_id = "bad id";
	assert_int_equal(sealer_create(&s, &o), -EINVAL);
	o.device_id = "probe-1";
	o.zstd_level = 22;
	assert_int_equal(sealer_create(&s, &o), -EINVAL);
	sealer_destroy(NULL);
}

/* The disk budget evicts sealed batches (spool.h, "budget"), never CHAIN:
 * the sealer goes on from CHAIN, after a restart too, so the next batch's
 * prev hash names the last evicted batch, which the SOC reports as a chain
 * break next to the loss records. A claim left by a crash (.evict) is no
 * .tmp: recovery leaves it to the budget. */
static void test_chain_after_eviction(void **state)
{
	struct fixture *fx = *state;
	struct sealer *s = NULL;
	struct buf b = BUF_INIT, body = BUF_INIT;
	struct batch_hdr h;
	uint8_t last_hash[BATCH_HASH_SIZE];
	char *names[64], path[600], claim[600];
	size_t nb, i;

	write_records(fx, 1, 40, 100);
	sealer_new(fx, &s, SEALER_MAX_BATCH_MIN);
	assert_true(sealer_run(s, true, 1) >= 2);
	nb = list(fx->lanedir, ".batch", names, 64);
	assert_true(nb >= 2);
	snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[nb - 1]);
	read_whole(path, &b);
	assert_int_equal(batch_hash(b.data, b.len, last_hash), 0);
	/* A crash left the first batch claimed; the rest is evicted now. */
	snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[0]);
	snprintf(claim, sizeof(claim), "%s/%.41s.evict", fx->lanedir, names[0]);
	assert_int_equal(rename(path, claim), 0);
	sealer_destroy(s);
	sealer_new(fx, &s, 0);
	assert_int_equal(access(claim, F_OK), 0);
	assert_int_equal(spool_budget_enforce(fx->spool, fx->outbox, 0, NULL, NULL, NULL),
			 (int)nb);
	for (i = 0; i < nb; i++)
		free(names[i]);
	assert_int_equal(list(fx->lanedir, ".batch", names, 64), 0);
	assert_int_equal(access(claim, F_OK), -1);
	snprintf(path, sizeof(path), "%s/CHAIN", fx->lanedir);
	assert_int_equal(access(path, F_OK), 0);

	/* The same sealer, and then a new one, continue the chain. */
	write_records(fx, 41, 45, 100);
	assert_int_equal(sealer_run(s, true, 2), 1);
	sealer_destroy(s);
	write_records(fx, 46, 50, 100);
	sealer_new(fx, &s, 0);
	assert_int_equal(sealer_run(s, true, 3), 1);
	sealer_destroy(s);
	assert_int_equal(list(fx->lanedir, ".batch", names, 64), 2);
	snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[0]);
	read_whole(path, &b);
	assert_int_equal(batch_open(b.data, b.len, fx->dev, fx->soc, 0, &h, &body), 0);
	assert_int_equal(h.first_seq, 41);
	assert_int_equal(h.last_seq, 45);
	assert_memory_equal(h.prev_hash, last_hash, sizeof(last_hash));
	assert_int_equal(batch_hash(b.data, b.len, last_hash), 0);
	snprintf(path, sizeof(path), "%s/%s", fx->lanedir, names[1]);
	read_whole(path, &b);
	buf_reset(&body);
	assert_int_equal(batch_open(b.data, b.len, fx->dev, fx->soc, 0, &h, &body), 0);
	assert_int_equal(h.first_seq, 46);
	assert_memory_equal(h.prev_hash, last_hash, sizeof(last_hash));
	free(names[0]);
	free(names[1]);
	buf_free(&b);
	buf_free(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_and_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_max_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_mid_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_record_and_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_crash_points, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eviction_under_sealer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chain_and_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_after_eviction, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
