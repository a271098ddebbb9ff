/* spool: writer, recovery, reader and budget.
 *
 * Each test works in a fresh directory under $TMPDIR (default /tmp) and
 * removes it afterwards. Crash states are built by hand, file by file, so
 * that every point the writer can die at is covered deterministically;
 * tests/integration/spool_crash.sh adds the random kill -9 runs.
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
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "clock.h"
#include "crc32c.h"
#include "log.h"
#include "spool.h"
#include "spool_internal.h"

struct fixture {
	char dir[200];      /* the spool directory S */
	char lane[256];     /* S/t */
};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");
	char base[190];

	if (fx == NULL)
		return -1;
	snprintf(base, sizeof(base), "%s/ward-spool-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/spool", base);
	snprintf(fx->lane, sizeof(fx->lane), "%s/t", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char base[256];

	snprintf(base, sizeof(base), "%s", fx->dir);
	*strrchr(base, '/') = '\0';
	nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- helpers ------------------------------------------------------------ */

static void opts_init(struct spool_lane_opts *o, const struct fixture *fx)
{
	memset(o, 0, sizeof(*o));
	o->spool_dir = fx->dir;
	o->name = "t";
	o->cls = SPOOL_P1;
	o->segment_max_bytes = 1 << 20;
	o->segment_max_age_ms = 0;
	o->max_record_bytes = 4096;
}

static struct spool_lane *lane_open(const struct fixture *fx, const struct spool_lane_opts *o)
{
	struct spool_lane_opts def;
	struct spool_lane *l = NULL;

	if (o == NULL) {
		opts_init(&def, fx);
		o = &def;
	}
	assert_int_equal(spool_lane_open(&l, o), 0);
	assert_non_null(l);
	return l;
}

/* The payload of record `seq` in these tests: varied length, binary. */
static size_t payload(uint64_t seq, uint8_t *out)
{
	size_t n = 8 + (size_t)(seq * 7 % 50), i;

	for (i = 0; i < n; i++)
		out[i] = (uint8_t)(seq * 31 + i * 17);
	return n;
}

static uint64_t append_n(struct spool_lane *l, unsigned n)
{
	uint8_t p[128];
	struct spool_lane_stats st;
	uint64_t seq = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		spool_lane_get_stats(l, &st);
		assert_int_equal(spool_lane_append(l, (int64_t)st.next_seq * 1000,
						   p, payload(st.next_seq, p), &seq), 0);
		assert_int_equal(seq, st.next_seq);
	}
	return seq;
}

/* Reads the whole lane without consuming; checks payloads and returns the
 * seqs in *seqs (caller frees) and their number. */
static size_t read_all(const struct fixture *fx, uint64_t **seqs, struct spool_reader_stats *rs)
{
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL;
	struct spool_record rec;
	uint8_t p[128];
	uint64_t *v = NULL, min = 0;
	size_t n = 0, cap = 0;
	int rc;

	assert_int_equal(spool_reader_open(&r, fx->dir, "t"), 0);
	while ((rc = spool_reader_next_segment_from(r, min, &s)) == 0) {
		min = spool_segment_first_seq(s) + 1;
		while ((rc = spool_segment_next(s, &rec)) == 1) {
			assert_int_equal(rec.len, payload(rec.seq, p));
			assert_memory_equal(rec.data, p, rec.len);
			assert_int_equal(rec.ts_us, (int64_t)rec.seq * 1000);
			/* Geometric growth: ASan's realloc always copies, and
			 * one record at a time made this quadratic. */
			if (n == cap) {
				cap = cap ? cap * 2 : 1024;
				v = realloc(v, cap * sizeof(*v));
				assert_non_null(v);
			}
			v[n++] = rec.seq;
		}
		assert_int_equal(rc, 0);
		spool_segment_release(s);
	}
	assert_int_equal(rc, -EAGAIN);
	if (rs != NULL)
		spool_reader_get_stats(r, rs);
	spool_reader_close(r);
	*seqs = v;
	return n;
}

/* Asserts the lane reads back as exactly first..last. */
static void expect_run(const struct fixture *fx, uint64_t first, uint64_t last)
{
	uint64_t *v = NULL;
	size_t n, i;

	n = read_all(fx, &v, NULL);
	assert_int_equal(n, last >= first ? last - first + 1 : 0);
	for (i = 0; i < n; i++)
		assert_int_equal(v[i], first + i);
	free(v);
}

static unsigned count_files(const char *dir, const char *suffix)
{
	struct dirent *de;
	unsigned n = 0;
	size_t sl = strlen(suffix), l;
	DIR *d = opendir(dir);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (l > sl && strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];
	int fd;

	char *p2;

	/* mkdir -p */
	snprintf(path, sizeof(path), "%s", dir);
	for (p2 = path + 1; *p2 != '\0'; p2++) {
		if (*p2 == '/') {
			*p2 = '\0';
			mkdir(path, 0750);
			*p2 = '/';
		}
	}
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
	char path[512];
	uint8_t *p = NULL;
	int dfd;

	snprintf(path, sizeof(path), "%s", dir);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	assert_int_equal(spool__read_file(dfd, name, &p, len), 0);
	close(dfd);
	return p;
}

static bool file_exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static const char *fname(uint64_t seq, enum spool__file_kind k)
{
	static char buf[4][SPOOL__FILE_NAME_SIZE];
	static int i;

	i = (i + 1) % 4;
	spool__file_name(buf[i], seq, k);
	return buf[i];
}

/* Builds a segment image in memory: header, then records first..first+n-1
 * in the tests' payload format. Returns its size; *offs gets each record's
 * offset (n + 1 entries, the last being the end). */
static size_t build_seg(uint8_t *out, uint64_t first, unsigned n, size_t *offs)
{
	uint8_t p[128];
	size_t off = SPOOL_SEG_HDR_SIZE, len;
	unsigned i;

	spool__hdr_encode(out, SPOOL_P1, first, 1);
	for (i = 0; i < n; i++) {
		uint64_t seq = first + i;

		if (offs != NULL)
			offs[i] = off;
		len = payload(seq, p);
		spool__put_le32(out + off, (uint32_t)len);
		spool__put_le64(out + off + 8, seq);
		spool__put_le64(out + off + 16, seq * 1000);
		memcpy(out + off + SPOOL_REC_HDR_SIZE, p, len);
		spool__put_le32(out + off + 4, crc32c(0, out + off + 8, 16 + len));
		off += SPOOL_REC_HDR_SIZE + len;
	}
	if (offs != NULL)
		offs[n] = off;
	return off;
}

static uint64_t next_seq_after_open(const struct fixture *fx)
{
	struct spool_lane_stats st;
	struct spool_lane *l = lane_open(fx, NULL);

	spool_lane_get_stats(l, &st);
	spool_lane_close(l);
	return st.next_seq;
}

/* ---- names ---------------------------------------------------------------- */

static void test_lane_names(void **state)
{
	struct fixture *fx = *state;
	static const char *good[] = { "a", "syslog", "p0-notice", "x_1",
				      "abcdefghijklmnopqrstuvwxyz012345" };
	static const char *bad[] = { "", "Syslog", "a/b", ".", "..", "a b", "quarantine",
				     "abcdefghijklmnopqrstuvwxyz0123456", "lane\n", "é" };
	struct spool_lane_opts o;
	struct spool_lane *l = (struct spool_lane *)1;
	struct spool_reader *r = (struct spool_reader *)1;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(spool_lane_name_valid(good[i]));
	assert_false(spool_lane_name_valid(NULL));
	opts_init(&o, fx);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(spool_lane_name_valid(bad[i]));
		o.name = bad[i];
		assert_int_equal(spool_lane_open(&l, &o), -EINVAL);
		assert_null(l);
		assert_int_equal(spool_reader_open(&r, fx->dir, bad[i]), -EINVAL);
		assert_null(r);
	}
	o.name = NULL;
	assert_int_equal(spool_lane_open(&l, &o), -EINVAL);
	opts_init(&o, fx);
	o.cls = (enum spool_class)3;
	assert_int_equal(spool_lane_open(&l, &o), -EINVAL);
	opts_init(&o, fx);
	o.max_record_bytes = SPOOL__MAX_RECORD_BYTES + 1;
	assert_int_equal(spool_lane_open(&l, &o), -EINVAL);
	opts_init(&o, fx);
	o.segment_max_bytes = 10;
	assert_int_equal(spool_lane_open(&l, &o), -EINVAL);
	/* Nothing was created for a rejected lane. */
	assert_int_equal(access(fx->lane, F_OK), -1);
}

/* ---- writer ---------------------------------------------------------------- */

static void test_append_commit_read(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_stats st;
	struct spool_lane *l = lane_open(fx, NULL);
	char buf[64], path[512];
	int fd;
	ssize_t n;

	assert_string_equal(spool_lane_name(l), "t");
	assert_int_equal(append_n(l, 100), 100);
	assert_int_equal(spool_lane_durable_seq(l), 0);
	assert_true(spool_lane_pending_bytes(l) > 0);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.records_appended, 100);
	assert_int_equal(st.next_seq, 101);
	assert_int_equal(st.commits, 0);
	assert_int_equal(spool_lane_commit(l), 0);
	assert_int_equal(spool_lane_durable_seq(l), 100);
	assert_int_equal(spool_lane_pending_bytes(l), 0);
	/* Nothing pending: no second fdatasync. */
	assert_int_equal(spool_lane_commit(l), 0);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.commits, 1);
	/* Open segments are not the reader's. */
	expect_run(fx, 1, 0);
	assert_int_equal(spool_lane_flush(l), 0);
	expect_run(fx, 1, 100);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.segments_closed, 1);
	spool_lane_close(l);

	snprintf(path, sizeof(path), "%s/LANE", fx->lane);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "class=P1\n", 9);
}

static void test_empty_and_zero_length(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane *l = lane_open(fx, NULL);
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL;
	struct spool_record rec;
	uint64_t seq = 0;

	/* Flush and close of an empty lane leave just the empty .open. */
	assert_int_equal(spool_lane_flush(l), 0);
	assert_int_equal(spool_lane_append(l, 5, NULL, 0, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(spool_lane_append(l, 5, NULL, 1, &seq), -EINVAL);
	assert_int_equal(seq, 0);
	spool_lane_close(l);
	assert_int_equal(spool_reader_open(&r, fx->dir, "t"), 0);
	assert_int_equal(spool_reader_next_segment(r, &s), 0);
	assert_int_equal(spool_segment_next(s, &rec), 1);
	assert_int_equal(rec.len, 0);
	assert_int_equal(rec.seq, 1);
	assert_int_equal(spool_segment_next(s, &rec), 0);
	spool_segment_release(s);
	spool_reader_close(r);
	spool_lane_close(NULL);
	spool_reader_close(NULL);
	spool_segment_release(NULL);
}

static void test_emsgsize(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane *l = lane_open(fx, NULL);
	static uint8_t big[4097];
	struct spool_lane_stats st;
	uint64_t seq = 9;

	assert_int_equal(spool_lane_append(l, 0, big, sizeof(big), &seq), -EMSGSIZE);
	assert_int_equal(seq, 0);
	assert_int_equal(spool_lane_append(l, 0, big, sizeof(big) - 1, &seq), 0);
	assert_int_equal(seq, 1);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.next_seq, 2);
	spool_lane_close(l);
}

static void test_size_close(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_lane *l;
	struct dirent *de;
	struct stat sb;
	char path[512];
	unsigned segs;
	DIR *d;

	opts_init(&o, fx);
	o.segment_max_bytes = 1024;
	l = lane_open(fx, &o);
	append_n(l, 200);
	assert_int_equal(spool_lane_commit(l), 0);
	segs = count_files(fx->lane, ".seg");
	assert_true(segs >= 10);
	/* Every closed segment respects the size. */
	d = opendir(fx->lane);
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", fx->lane, de->d_name);
		if (strstr(de->d_name, ".seg") && stat(path, &sb) == 0)
			assert_true(sb.st_size <= 1024);
	}
	closedir(d);
	spool_lane_close(l);
	expect_run(fx, 1, 200);

	/* A record above the segment size gets a segment of its own. */
	o.segment_max_bytes = 64;
	o.name = "big";
	l = lane_open(fx, &o);
	append_n(l, 3);
	spool_lane_close(l);
	snprintf(path, sizeof(path), "%s/big", fx->dir);
	assert_int_equal(count_files(path, ".seg"), 3);
}

static void test_age_close(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint64_t now;

	opts_init(&o, fx);
	o.segment_max_age_ms = 1000;
	l = lane_open(fx, &o);
	now = clock_mono_ms();
	assert_int_equal(spool_lane_tick(l, now + 5000), 0);    /* empty: nothing */
	append_n(l, 3);
	now = clock_mono_ms();
	assert_int_equal(spool_lane_tick(l, now), 0);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	assert_int_equal(spool_lane_tick(l, now + 1001), 1);
	assert_int_equal(count_files(fx->lane, ".seg"), 1);
	assert_int_equal(spool_lane_durable_seq(l), 3);
	assert_int_equal(spool_lane_tick(l, now + 5000), 0);
	append_n(l, 1);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.segment_first_seq, 4);
	assert_int_equal(spool_lane_tick(l, clock_mono_ms() + 1000), 1);
	spool_lane_close(l);
	expect_run(fx, 1, 4);
}

static void test_seq_persists(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL;
	struct spool_lane_stats st;
	struct spool_lane *l;
	int rc;

	l = lane_open(fx, NULL);
	append_n(l, 10);
	spool_lane_close(l);
	l = lane_open(fx, NULL);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.next_seq, 11);
	assert_int_equal(st.durable_seq, 10);
	assert_int_equal(append_n(l, 5), 15);
	spool_lane_close(l);
	expect_run(fx, 1, 15);

	/* The reader consumes everything; the empty .open keeps the seq. */
	assert_int_equal(spool_reader_open(&r, fx->dir, "t"), 0);
	while ((rc = spool_reader_next_segment(r, &s)) == 0)
		assert_int_equal(spool_segment_consume(s), 0);
	assert_int_equal(rc, -EAGAIN);
	spool_reader_close(r);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	assert_int_equal(next_seq_after_open(fx), 16);
	assert_int_equal(next_seq_after_open(fx), 16);
	l = lane_open(fx, NULL);
	assert_int_equal(append_n(l, 1), 16);
	spool_lane_close(l);
	expect_run(fx, 16, 16);
}

static void test_one_writer(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_lane *l = lane_open(fx, NULL), *l2 = NULL;

	opts_init(&o, fx);
	assert_int_equal(spool_lane_open(&l2, &o), -EBUSY);
	assert_null(l2);
	spool_lane_close(l);
	l = lane_open(fx, NULL);
	spool_lane_close(l);
}

static void test_hard_limit_enospc(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint8_t p[100] = { 0 };
	uint64_t seq = 7, last = 0;
	int rc, i;

	opts_init(&o, fx);
	o.hard_limit_bytes = 4096;
	l = lane_open(fx, &o);
	spool_lane_set_spool_usage(l, 0);
	for (i = 0; i < 100; i++) {
		rc = spool_lane_append(l, 0, p, sizeof(p), &seq);
		if (rc < 0)
			break;
		last = seq;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(seq, 0);
	assert_true(last > 10 && last < 40);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.next_seq, last + 1);
	assert_int_equal(st.append_enospc, 1);
	assert_int_equal(spool_lane_append(l, 0, p, sizeof(p), &seq), -ENOSPC);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.append_enospc, 2);
	assert_int_equal(st.next_seq, last + 1);
	/* Committing what was accepted is still allowed over the limit. */
	assert_int_equal(spool_lane_commit(l), 0);
	assert_int_equal(spool_lane_durable_seq(l), last);
	/* Space is back (the budget evicted, the sealer consumed). */
	spool_lane_set_spool_usage(l, 1000);
	assert_int_equal(spool_lane_append(l, 0, p, sizeof(p), &seq), 0);
	assert_int_equal(seq, last + 1);
	spool_lane_set_spool_usage(l, 5000);
	assert_int_equal(spool_lane_append(l, 0, p, sizeof(p), &seq), -ENOSPC);
	spool_lane_close(l);
}

/* ---- recovery ------------------------------------------------------------- */

/* Cuts a committed .open at every byte offset: recovery keeps exactly the
 * whole records before the cut, quarantines the rest, and resumes the seq
 * right after the last kept record. */
static void test_torn_tail_every_offset(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint8_t img[4096], *q;
	size_t offs[6], len, cut, qlen;
	char qname[128], qdir[300];
	unsigned keep;

	len = build_seg(img, 1, 5, offs);
	snprintf(qdir, sizeof(qdir), "%s/%s", fx->dir, SPOOL_QUARANTINE_DIR);
	for (cut = 0; cut <= len; cut++) {
		for (keep = 0; keep < 5 && offs[keep + 1] <= cut; keep++)
			;
		nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		mkdir(fx->dir, 0750);
		write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, cut);
		l = lane_open(fx, NULL);
		spool_lane_get_stats(l, &st);
		assert_int_equal(st.recovered_records, keep);
		assert_int_equal(st.next_seq, keep + 1);
		assert_int_equal(st.durable_seq, keep);
		if (keep > 0)
			assert_int_equal(st.recovered_torn_bytes, cut - offs[keep]);
		else
			assert_int_equal(st.recovered_torn_bytes,
					 cut > SPOOL_SEG_HDR_SIZE ? cut - SPOOL_SEG_HDR_SIZE : 0);
		/* The torn bytes are in the quarantine, byte for byte. */
		if (st.recovered_torn_bytes > 0) {
			size_t from = keep > 0 ? offs[keep] : SPOOL_SEG_HDR_SIZE;

			snprintf(qname, sizeof(qname), "t-%020d-%zu.bad", 1, from);
			q = read_file(qdir, qname, &qlen);
			assert_int_equal(qlen, cut - from);
			assert_memory_equal(q, img + from, qlen);
			free(q);
		}
		assert_int_equal(append_n(l, 1), keep + 1);
		spool_lane_close(l);
		/* The old segment closed (if it had records), the new one too. */
		assert_int_equal(count_files(fx->lane, ".seg"), keep > 0 ? 2 : 1);
		assert_int_equal(count_files(fx->lane, ".open"), 1);
		expect_run(fx, 1, keep + 1);
	}
}

/* Every single-bit flip after the header loses exactly the record it hits,
 * whose bytes form the one corrupt run; flips in the header's magic,
 * version or class make the header the corrupt run and lose nothing. */
struct scan_log {
	uint64_t seqs[16];
	size_t n;
	size_t bad_off[4], bad_len[4];
	size_t nbad;
};

static void log_rec(const struct spool_record *rec, void *arg)
{
	struct scan_log *sl = arg;

	if (sl->n < 16)
		sl->seqs[sl->n] = rec->seq;
	sl->n++;
}

static void log_bad(size_t off, size_t len, void *arg)
{
	struct scan_log *sl = arg;

	if (sl->nbad < 4) {
		sl->bad_off[sl->nbad] = off;
		sl->bad_len[sl->nbad] = len;
	}
	sl->nbad++;
}

static void test_bit_flips_scan(void **state)
{
	uint8_t img[4096];
	size_t offs[9], len, bit, byte, end;
	struct scan_log sl;
	unsigned hit, i, k;

	(void)state;
	len = build_seg(img, 10, 8, offs);
	for (bit = 0; bit < len * 8; bit++) {
		byte = bit / 8;
		img[byte] ^= (uint8_t)(1u << (bit % 8));
		memset(&sl, 0, sizeof(sl));
		end = spool_scan(img, len, SPOOL__MAX_RECORD_BYTES, log_rec, log_bad, &sl);
		if (byte < SPOOL_SEG_HDR_SIZE) {
			assert_int_equal(sl.n, 8);
			assert_int_equal(end, len);
			if (!spool__hdr_decode(img, len, NULL)) {
				assert_true(byte < 16);
				assert_int_equal(sl.nbad, 1);
				assert_int_equal(sl.bad_off[0], 0);
				assert_int_equal(sl.bad_len[0], SPOOL_SEG_HDR_SIZE);
			} else {
				assert_int_equal(sl.nbad, 0);
			}
		} else {
			for (hit = 0; offs[hit + 1] <= byte; hit++)
				;
			assert_int_equal(sl.n, 7);
			assert_int_equal(sl.nbad, 1);
			assert_int_equal(sl.bad_off[0], offs[hit]);
			assert_int_equal(sl.bad_len[0], offs[hit + 1] - offs[hit]);
			for (i = 0, k = 0; i < 8; i++)
				if (i != hit)
					assert_int_equal(sl.seqs[k++], 10 + i);
			assert_int_equal(end, hit == 7 ? offs[7] : len);
		}
		img[byte] ^= (uint8_t)(1u << (bit % 8));
	}
}

/* The same through files: the reader returns every intact record,
 * quarantines the damaged bytes, and counts them. */
static void test_bit_flips_reader(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader_stats rs;
	uint8_t img[4096], *q;
	size_t offs[9], len, qlen;
	char qname[128], qdir[300];
	uint64_t *v = NULL;
	size_t n;

	len = build_seg(img, 1, 8, offs);
	img[offs[2] + 30] ^= 0x04;       /* record 3's payload */
	img[offs[5] + 0] ^= 0x80;        /* record 6's length */
	img[offs[6] + 9] ^= 0x01;        /* record 7's seq */
	write_file(fx->lane, fname(1, SPOOL__F_SEG), img, len);
	n = read_all(fx, &v, &rs);
	assert_int_equal(n, 5);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[2], 4);
	assert_int_equal(v[3], 5);
	assert_int_equal(v[4], 8);
	free(v);
	assert_int_equal(rs.corrupt_regions, 2);
	assert_int_equal(rs.corrupt_bytes, (offs[3] - offs[2]) + (offs[7] - offs[5]));
	assert_int_equal(rs.quarantine_errors, 0);
	snprintf(qdir, sizeof(qdir), "%s/%s", fx->dir, SPOOL_QUARANTINE_DIR);
	snprintf(qname, sizeof(qname), "t-%020d-%zu.bad", 1, offs[5]);
	q = read_file(qdir, qname, &qlen);
	assert_int_equal(qlen, offs[7] - offs[5]);
	assert_memory_equal(q, img + offs[5], qlen);
	free(q);

	/* A writer opening this lane does not trip over the damage either. */
	assert_int_equal(next_seq_after_open(fx), 9);
}

static void test_middle_corruption_left_for_reader(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader_stats rs;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint8_t img[4096];
	size_t offs[7], len;
	uint64_t *v = NULL;

	len = build_seg(img, 1, 6, offs);
	img[offs[2] + 27] ^= 0x20;
	write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, len);
	l = lane_open(fx, NULL);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.recovered_records, 5);
	assert_int_equal(st.recovered_torn_bytes, 0);
	assert_int_equal(st.next_seq, 7);
	spool_lane_close(l);
	assert_int_equal(read_all(fx, &v, &rs), 5);
	free(v);
	assert_int_equal(rs.corrupt_regions, 1);
	assert_int_equal(rs.corrupt_bytes, offs[3] - offs[2]);
}

/* Crashed between creating the next .open and renaming the full one. */
static void test_two_open_files(void **state)
{
	struct fixture *fx = *state;
	uint8_t img[4096], hdr[SPOOL_SEG_HDR_SIZE];
	size_t len;

	len = build_seg(img, 1, 5, NULL);
	write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, len);
	spool__hdr_encode(hdr, SPOOL_P1, 6, 1);
	write_file(fx->lane, fname(6, SPOOL__F_OPEN), hdr, sizeof(hdr));
	assert_int_equal(next_seq_after_open(fx), 6);
	assert_true(file_exists(fx->lane, fname(1, SPOOL__F_SEG)));
	assert_true(file_exists(fx->lane, fname(6, SPOOL__F_OPEN)));
	assert_int_equal(count_files(fx->lane, ".open"), 1);
	expect_run(fx, 1, 5);

	/* ... and with the new .open half made (no full header yet). */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, len);
	write_file(fx->lane, fname(6, SPOOL__F_OPEN), hdr, 11);
	assert_int_equal(next_seq_after_open(fx), 6);
	assert_int_equal(count_files(fx->lane, ".open"), 1);
	expect_run(fx, 1, 5);

	/* ... and two .open files that both hold records (a power cut that
	 * undid the rename but kept later writes): both close, in order. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, len);
	len = build_seg(img, 6, 3, NULL);
	write_file(fx->lane, fname(6, SPOOL__F_OPEN), img, len);
	assert_int_equal(next_seq_after_open(fx), 9);
	assert_int_equal(count_files(fx->lane, ".seg"), 2);
	expect_run(fx, 1, 8);
}

static void test_seq_floor_from_names(void **state)
{
	struct fixture *fx = *state;
	uint8_t img[4096], hdr[SPOOL_SEG_HDR_SIZE];
	size_t len;

	/* Empty lane: seqs start at 1. */
	assert_int_equal(next_seq_after_open(fx), 1);

	/* Only a closed segment left (the .open lost): its last record. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	len = build_seg(img, 20, 5, NULL);
	write_file(fx->lane, fname(20, SPOOL__F_SEG), img, len);
	assert_int_equal(next_seq_after_open(fx), 25);

	/* Reader consumed everything: only the empty .open's name is left. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	spool__hdr_encode(hdr, SPOOL_P1, 42, 1);
	write_file(fx->lane, fname(42, SPOOL__F_OPEN), hdr, sizeof(hdr));
	assert_int_equal(next_seq_after_open(fx), 42);
	assert_int_equal(count_files(fx->lane, ".open"), 1);

	/* A zero-byte .open (crash right after create) next to a segment. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	len = build_seg(img, 1, 4, NULL);
	write_file(fx->lane, fname(1, SPOOL__F_SEG), img, len);
	write_file(fx->lane, fname(5, SPOOL__F_OPEN), img, 0);
	assert_int_equal(next_seq_after_open(fx), 5);

	/* The newest segment is wholly corrupt: its name is still a floor. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	len = build_seg(img, 1, 4, NULL);
	write_file(fx->lane, fname(1, SPOOL__F_SEG), img, len);
	memset(img + SPOOL_SEG_HDR_SIZE, 0x5a, len - SPOOL_SEG_HDR_SIZE);
	write_file(fx->lane, fname(5, SPOOL__F_SEG), img, len);
	assert_int_equal(next_seq_after_open(fx), 5);

	/* A segment the budget had claimed (.evict) counts too, and names
	 * that are not ours are left alone. */
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	len = build_seg(img, 100, 4, NULL);
	write_file(fx->lane, fname(100, SPOOL__F_EVICT), img, len);
	write_file(fx->lane, "00000000000000000500.open.tmp", img, len);
	write_file(fx->lane, "123.open", img, len);
	write_file(fx->lane, "99999999999999999999.open", img, len);   /* > u64 */
	assert_int_equal(next_seq_after_open(fx), 100);
	assert_true(file_exists(fx->lane, "123.open"));
	assert_true(file_exists(fx->lane, "99999999999999999999.open"));
}

static void test_bad_header_open(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader_stats rs;
	uint8_t img[4096];
	size_t len;
	uint64_t *v = NULL;

	len = build_seg(img, 1, 4, NULL);
	memset(img, 0, 12);
	write_file(fx->lane, fname(1, SPOOL__F_OPEN), img, len);
	assert_int_equal(next_seq_after_open(fx), 5);
	assert_int_equal(read_all(fx, &v, &rs), 4);
	free(v);
	assert_int_equal(rs.corrupt_regions, 1);
	assert_int_equal(rs.corrupt_bytes, SPOOL_SEG_HDR_SIZE);
}

/* ---- reader ----------------------------------------------------------------- */

static void test_reader_consume(void **state)
{
	struct fixture *fx = *state;
	struct spool_reader_stats rs;
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL, *s2 = NULL;
	struct spool_record rec;
	struct spool_lane_opts o;
	struct spool_lane *l;
	char path[512];
	uint64_t first;

	assert_int_equal(spool_reader_open(&r, fx->dir, "t"), 0);
	/* Neither the spool nor the lane exists yet. */
	assert_int_equal(spool_reader_next_segment(r, &s), -EAGAIN);
	assert_null(s);
	opts_init(&o, fx);
	o.segment_max_bytes = 512;
	l = lane_open(fx, &o);
	append_n(l, 40);
	spool_lane_close(l);

	/* Without consume, the oldest comes back. */
	assert_int_equal(spool_reader_next_segment(r, &s), 0);
	first = spool_segment_first_seq(s);
	assert_int_equal(first, 1);
	assert_true(spool_segment_bytes(s) > SPOOL_SEG_HDR_SIZE);
	spool_segment_release(s);
	assert_int_equal(spool_reader_next_segment(r, &s), 0);
	assert_int_equal(spool_segment_first_seq(s), 1);
	assert_int_equal(spool_segment_next(s, &rec), 1);
	assert_int_equal(rec.seq, 1);

	/* Deleted underneath (the budget evicted it): the bytes are already
	 * ours, and consume does not fail. */
	snprintf(path, sizeof(path), "%s/%s", fx->lane, fname(1, SPOOL__F_SEG));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(spool_segment_next(s, &rec), 1);
	assert_int_equal(rec.seq, 2);
	assert_int_equal(spool_segment_consume(s), 0);

	assert_int_equal(spool_reader_next_segment(r, &s), 0);
	assert_true(spool_segment_first_seq(s) > 1);
	/* Walk on without consuming. */
	assert_int_equal(spool_reader_next_segment_from(r, spool_segment_first_seq(s) + 1, &s2), 0);
	assert_true(spool_segment_first_seq(s2) > spool_segment_first_seq(s));
	spool_segment_release(s2);
	assert_int_equal(spool_segment_consume(s), 0);
	while (spool_reader_next_segment(r, &s) == 0)
		assert_int_equal(spool_segment_consume(s), 0);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	spool_reader_get_stats(r, &rs);
	assert_true(rs.segments_read >= 4);
	assert_int_equal(rs.corrupt_regions, 0);
	spool_reader_close(r);
}

static void test_scan_edges(void **state)
{
	uint8_t img[4096];
	size_t len;
	struct scan_log sl;

	(void)state;
	assert_int_equal(spool_scan(NULL, 0, 100, NULL, NULL, NULL), 0);
	len = build_seg(img, 1, 3, NULL);
	assert_int_equal(spool_scan(img, SPOOL_SEG_HDR_SIZE, 100, NULL, NULL, NULL),
			 SPOOL_SEG_HDR_SIZE);
	assert_int_equal(spool_scan(img, len, 100, NULL, NULL, NULL), len);
	/* A cap below the records' size makes them unframeable. */
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(spool_scan(img, len, 4, log_rec, log_bad, &sl), SPOOL_SEG_HDR_SIZE);
	assert_int_equal(sl.n, 0);
	assert_int_equal(sl.nbad, 1);
	assert_int_equal(sl.bad_len[0], len - SPOOL_SEG_HDR_SIZE);
	/* Short garbage: one run, no record. */
	memset(&sl, 0, sizeof(sl));
	assert_int_equal(spool_scan(img, 10, 100, log_rec, log_bad, &sl), 0);
	assert_int_equal(sl.nbad, 1);
	assert_int_equal(sl.bad_len[0], 10);
	/* A repeated record (same seq) is not returned twice. */
	memcpy(img + len, img + SPOOL_SEG_HDR_SIZE, len - SPOOL_SEG_HDR_SIZE);
	memset(&sl, 0, sizeof(sl));
	spool_scan(img, 2 * len - SPOOL_SEG_HDR_SIZE, 100, log_rec, log_bad, &sl);
	assert_int_equal(sl.n, 3);
	assert_int_equal(sl.nbad, 1);
	assert_int_equal(sl.bad_len[0], len - SPOOL_SEG_HDR_SIZE);
}


/* ---- asynchronous commit ---------------------------------------------------- */

static uint64_t next_seq_of(struct spool_lane *l)
{
	struct spool_lane_stats st;

	spool_lane_get_stats(l, &st);
	return st.next_seq;
}

/* Appends the next record; returns what append returned. */
static int append_one(struct spool_lane *l)
{
	uint8_t p[128];
	uint64_t next = next_seq_of(l), seq = 7;
	int rc;

	rc = spool_lane_append(l, (int64_t)next * 1000, p, payload(next, p), &seq);
	assert_int_equal(seq, rc == 0 ? next : 0);
	/* A refused append consumes no seq. */
	assert_int_equal(next_seq_of(l), rc == 0 ? next + 1 : next);
	return rc;
}

/* The framed size of records first..last in these tests. */
static size_t frames_bytes(uint64_t first, uint64_t last)
{
	uint8_t p[128];
	size_t n = 0;

	for (; first <= last; first++)
		n += SPOOL_REC_HDR_SIZE + payload(first, p);
	return n;
}

static void *run_thread(void *arg)
{
	spool_commit_run(arg);
	return NULL;
}

/* Appends go on, on this thread, while the commit runs on another; only
 * the committed records become durable. */
static void test_async_append_during_commit(void **state)
{
	struct fixture *fx = *state;
	struct spool_commit *job = NULL, *job2 = (struct spool_commit *)1;
	struct spool_lane_stats st;
	struct spool_lane *l = lane_open(fx, NULL);
	size_t before;
	pthread_t th;

	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	assert_null(job);                          /* nothing pending */
	assert_false(spool_lane_commit_busy(l));
	append_n(l, 100);
	before = spool_lane_pending_bytes(l);
	assert_int_equal(before, frames_bytes(1, 100));
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	assert_non_null(job);
	assert_true(spool_lane_commit_busy(l));
	assert_int_equal(spool_lane_commit_start(l, &job2), -EBUSY);
	assert_null(job2);
	assert_int_equal(pthread_create(&th, NULL, run_thread, job), 0);
	assert_int_equal(append_n(l, 500), 600);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* Run, but not yet finished: not durable yet. */
	assert_int_equal(spool_lane_durable_seq(l), 0);
	assert_true(spool_lane_pending_bytes(l) > before);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_false(spool_lane_commit_busy(l));
	assert_int_equal(spool_lane_durable_seq(l), 100);
	assert_int_equal(spool_lane_pending_bytes(l), frames_bytes(101, 600));
	assert_int_equal(spool_lane_commit_finish(l, NULL), 0);
	/* The second buffer's turn, through the same API. */
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(spool_lane_durable_seq(l), 600);
	assert_int_equal(spool_lane_pending_bytes(l), 0);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.commits, 2);
	assert_int_equal(st.append_busy, 0);
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);
	expect_run(fx, 1, 600);
}

/* The second buffer is bounded: with a commit in flight an append that
 * would take it past 4 MiB gets -EAGAIN and consumes nothing; once the
 * commit finishes, appends go on with the next seq. */
static void test_async_second_buffer_full(void **state)
{
	struct fixture *fx = *state;
	struct spool_lane_opts o;
	struct spool_commit *job = NULL;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint64_t last;
	unsigned n = 0;
	int rc;

	opts_init(&o, fx);
	o.segment_max_bytes = 64 << 20;
	l = lane_open(fx, &o);
	append_n(l, 10);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	while ((rc = append_one(l)) == 0)
		n++;
	assert_int_equal(rc, -EAGAIN);
	assert_true(spool_lane_pending_bytes(l) <= (4u << 20) + 10 * 100);
	assert_true(spool_lane_pending_bytes(l) > (4u << 20) - 100);
	assert_int_equal(append_one(l), -EAGAIN);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.append_busy, 2);
	assert_int_equal(st.append_enospc + st.append_errors, 0);
	last = st.next_seq - 1;
	assert_int_equal(last, 10 + n);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(spool_lane_durable_seq(l), 10);
	/* Room again (this lane is synchronous between commits). */
	assert_int_equal(append_one(l), 0);
	assert_int_equal(spool_lane_commit(l), 0);
	assert_int_equal(spool_lane_durable_seq(l), last + 1);
	spool_lane_close(l);
	expect_run(fx, 1, last + 1);
}

static uint64_t open_size(const struct fixture *fx, uint64_t first)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", fx->lane, fname(first, SPOOL__F_OPEN));
	assert_int_equal(stat(path, &sb), 0);
	return (uint64_t)sb.st_size;
}

static void fsize_limit(rlim_t bytes)
{
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = bytes;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* A commit whose write fails (the file size limit stands in for a full
 * disk) keeps its bytes, ahead of what was appended meanwhile; the retry
 * writes them again from where the file ends, and nothing is lost,
 * duplicated or reordered. The synchronous path behaves the same. */
static void test_async_failure_retry(void **state)
{
	struct fixture *fx = *state;
	struct spool_commit *job = NULL;
	struct spool_lane_stats st;
	struct spool_lane *l = lane_open(fx, NULL);
	uint64_t size;

	signal(SIGXFSZ, SIG_IGN);
	append_n(l, 200);
	assert_int_equal(spool_lane_commit(l), 0);
	append_n(l, 200);
	size = open_size(fx, 1);
	fsize_limit(size + 1000);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	append_n(l, 10);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), -EFBIG);
	assert_int_equal(spool_lane_durable_seq(l), 200);
	/* Part of it reached the file; the rest waits. */
	assert_int_equal(open_size(fx, 1), size + 1000);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.commit_errors, 1);
	assert_true(st.buffered_bytes > 0);
	/* The retry takes the failed bytes first, and fails again. */
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), -EFBIG);
	assert_int_equal(spool_lane_durable_seq(l), 200);
	/* The synchronous path too. */
	assert_int_equal(spool_lane_commit(l), -EFBIG);
	assert_int_equal(spool_lane_durable_seq(l), 200);
	/* Space again: the retry makes 201..400 durable, then the rest. */
	fsize_limit(RLIM_INFINITY);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(spool_lane_durable_seq(l), 400);
	assert_int_equal(spool_lane_commit(l), 0);
	assert_int_equal(spool_lane_durable_seq(l), 410);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.commit_errors, 3);
	spool_lane_close(l);
	expect_run(fx, 1, 410);
	signal(SIGXFSZ, SIG_DFL);
}

/* A segment that fills while its commit is in flight is neither renamed
 * nor closed: appends go on into the next segment's part of the buffer,
 * and the rotation happens once the closing segment's last byte is
 * durable. A next segment that fills first gets -EAGAIN. */
static void test_async_rotation_deferred(void **state)
{
	struct fixture *fx = *state;
	struct spool_commit *job = NULL;
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l;
	struct dirent *de;
	struct stat sb;
	char path[512];
	uint64_t busy_at;
	DIR *d;
	int rc;

	opts_init(&o, fx);
	o.segment_max_bytes = 1024;
	l = lane_open(fx, &o);
	append_n(l, 5);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	while ((rc = append_one(l)) == 0)
		;
	assert_int_equal(rc, -EAGAIN);
	busy_at = next_seq_of(l);
	/* Two segments' worth went in; the first is still open. */
	assert_true(busy_at > 15);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	assert_int_equal(count_files(fx->lane, ".open"), 1);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.segment_first_seq, 1);
	assert_int_equal(st.segments_closed, 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(spool_lane_durable_seq(l), 5);
	/* Segment 1's last records are still in the buffer: still open. */
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	/* Now it is closed, and the next one is named by its first record. */
	assert_int_equal(count_files(fx->lane, ".seg"), 1);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.segments_closed, 1);
	assert_int_equal(st.segment_first_seq, spool_lane_durable_seq(l) + 1);
	assert_true(file_exists(fx->lane, fname(st.segment_first_seq, SPOOL__F_OPEN)));
	assert_true(file_exists(fx->lane, fname(1, SPOOL__F_SEG)));
	assert_int_equal(append_one(l), 0);
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);
	expect_run(fx, 1, busy_at);
	d = opendir(fx->lane);
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", fx->lane, de->d_name);
		if (strstr(de->d_name, ".seg") && stat(path, &sb) == 0)
			assert_true(sb.st_size <= 1024);
	}
	closedir(d);
}

/* Age works the same way: a tick with a commit in flight only marks the
 * segment; it closes after the commits that carry its records. */
static void test_async_age_deferred(void **state)
{
	struct fixture *fx = *state;
	struct spool_commit *job = NULL;
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uint64_t now;

	opts_init(&o, fx);
	o.segment_max_age_ms = 1000;
	l = lane_open(fx, &o);
	append_n(l, 3);
	now = clock_mono_ms();
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	append_n(l, 2);
	assert_int_equal(spool_lane_tick(l, now + 5000), 0);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	append_n(l, 4);     /* these belong to the next segment */
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(count_files(fx->lane, ".seg"), 0);
	assert_int_equal(spool_lane_commit_start(l, &job), 0);
	spool_commit_run(job);
	assert_int_equal(spool_lane_commit_finish(l, job), 0);
	assert_int_equal(count_files(fx->lane, ".seg"), 1);
	assert_int_equal(spool_lane_durable_seq(l), 5);
	spool_lane_get_stats(l, &st);
	assert_int_equal(st.segment_first_seq, 6);
	/* With nothing pending and no commit in flight, the next tick closes
	 * at once. */
	assert_int_equal(spool_lane_commit(l), 0);
	assert_int_equal(spool_lane_tick(l, clock_mono_ms() + 5000), 1);
	assert_int_equal(count_files(fx->lane, ".seg"), 2);
	spool_lane_close(l);
	expect_run(fx, 1, 9);
}

struct cb_log {
	unsigned calls, failures;
	uint64_t durable;
};

static void on_commit(struct spool_lane *l, int status, void *arg)
{
	struct cb_log *cl = arg;

	cl->calls++;
	if (status < 0)
		cl->failures++;
	/* Durable only grows. */
	assert_true(spool_lane_durable_seq(l) >= cl->durable);
	cl->durable = spool_lane_durable_seq(l);
}

/* Waits, with a deadline, until `l` has nothing pending and nothing in
 * flight, running the loop. */
static void drain(uv_loop_t *loop, struct spool_lane *l, struct cb_log *cl)
{
	uint64_t deadline = clock_mono_ms() + 20000;
	int rc;

	while (spool_lane_commit_busy(l) || spool_lane_pending_bytes(l) > 0) {
		assert_true(clock_mono_ms() < deadline);
		if (!spool_lane_commit_busy(l)) {
			rc = spool_lane_commit_async(l, loop, on_commit, cl);
			assert_true(rc >= 0);
		}
		uv_run(loop, UV_RUN_ONCE);
	}
}

/* The libuv path as ward-agent drives it: commits on the thread pool,
 * started by the caller and by appends, small segments rotating all the
 * time, -EAGAIN waited out by running the loop. */
static void test_async_uv(void **state)
{
	struct fixture *fx = *state;
	struct cb_log cl = { 0 };
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l;
	uv_loop_t loop;
	unsigned i, eagain = 0;
	int rc;

	assert_int_equal(uv_loop_init(&loop), 0);
	opts_init(&o, fx);
	o.segment_max_bytes = 64 * 1024;
	l = lane_open(fx, &o);
	assert_int_equal(spool_lane_commit_async(l, &loop, on_commit, &cl), 0);
	append_n(l, 10);
	assert_int_equal(spool_lane_commit_async(l, &loop, on_commit, &cl), 1);
	assert_int_equal(spool_lane_commit_async(l, &loop, on_commit, &cl), -EBUSY);
	append_n(l, 10);
	/* The commit asked for while busy follows the first by itself. */
	while (cl.durable < 20)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(cl.calls, 2);
	for (i = 0; i < 200000; i++) {
		while ((rc = append_one(l)) == -EAGAIN) {
			eagain++;
			uv_run(&loop, UV_RUN_ONCE);
		}
		assert_int_equal(rc, 0);
		if (i % 64 == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
		if (i % 5000 == 0)
			(void)spool_lane_commit_async(l, &loop, on_commit, &cl);
	}
	drain(&loop, l, &cl);
	assert_int_equal(spool_lane_durable_seq(l), 200020);
	assert_int_equal(cl.failures, 0);
	spool_lane_get_stats(l, &st);
	/* Commits started by appends (1 MiB each) outnumber the caller's. */
	assert_true(cl.calls > 40 + 2);
	assert_int_equal(st.commits, cl.calls);
	assert_true(st.segments_closed > 100);
	assert_int_equal(st.append_busy, eagain);
	assert_int_equal(st.commit_errors, 0);
	assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
	spool_lane_close(l);
	assert_int_equal(uv_loop_close(&loop), 0);
	expect_run(fx, 1, 200020);
}

/* Flush and close with a commit in flight wait for it and apply it
 * themselves; its completion then only frees the job, without calling
 * back (the lane may be gone). */
static void test_async_flush_close_in_flight(void **state)
{
	struct fixture *fx = *state;
	struct cb_log cl = { 0 };
	struct spool_lane *l = lane_open(fx, NULL);
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	append_n(l, 50);
	assert_int_equal(spool_lane_commit_async(l, &loop, on_commit, &cl), 1);
	append_n(l, 5);
	assert_int_equal(spool_lane_flush(l), 0);
	assert_int_equal(spool_lane_durable_seq(l), 55);
	assert_false(spool_lane_commit_busy(l));
	assert_int_equal(count_files(fx->lane, ".seg"), 1);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(cl.calls, 0);

	append_n(l, 5);
	assert_int_equal(spool_lane_commit_async(l, &loop, on_commit, &cl), 1);
	append_n(l, 5);
	spool_lane_close(l);
	/* The loop still frees the job (ASan would report a leak). */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(cl.calls, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	expect_run(fx, 1, 65);
}

/* commit_async closes a segment by age: at once when all is durable, or
 * riding on the commit it starts. */
static void test_async_age_by_commit(void **state)
{
	struct fixture *fx = *state;
	struct cb_log cl = { 0 };
	struct spool_lane_opts o;
	struct spool_lane *l;
	uv_loop_t loop;
	uint64_t deadline;

	assert_int_equal(uv_loop_init(&loop), 0);
	opts_init(&o, fx);
	o.segment_max_age_ms = 10;
	l = lane_open(fx, &o);
	append_n(l, 5);
	deadline = clock_mono_ms() + 10000;
	while (count_files(fx->lane, ".seg") == 0) {
		assert_true(clock_mono_ms() < deadline);
		(void)spool_lane_commit_async(l, &loop, on_commit, &cl);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	drain(&loop, l, &cl);
	assert_int_equal(spool_lane_durable_seq(l), 5);
	assert_int_equal(cl.failures, 0);
	expect_run(fx, 1, 5);
	spool_lane_close(l);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- budget ----------------------------------------------------------------- */

struct evict_log {
	struct {
		char lane[33];
		enum spool_class cls;
		uint64_t first, last, records, bytes;
		bool file_present;
	} ev[16];
	unsigned n;
	const char *dir;
};

static void on_evict(const struct spool_eviction *ev, void *arg)
{
	struct evict_log *el = arg;
	char path[512];

	assert_true(el->n < 16);
	snprintf(el->ev[el->n].lane, sizeof(el->ev[el->n].lane), "%s", ev->lane);
	el->ev[el->n].cls = ev->cls;
	el->ev[el->n].first = ev->first_seq;
	el->ev[el->n].last = ev->last_seq;
	el->ev[el->n].records = ev->records;
	el->ev[el->n].bytes = ev->bytes;
	assert_string_equal(ev->reason, "disk_budget");
	/* Reported before it is deleted. */
	snprintf(path, sizeof(path), "%s/%s/%s", el->dir, ev->lane,
		 fname(ev->first_seq, SPOOL__F_EVICT));
	el->ev[el->n].file_present = access(path, F_OK) == 0;
	el->n++;
}

static uint64_t file_size(const char *dir, const char *lane, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, lane, name);
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* Three lanes, one per class, each with closed segments 1..10, 11..20,
 * 21..30 and 31..32 and an empty open segment; the P2 lane is written
 * last, so age alone would spare it. */
static void make_budget_spool(const struct fixture *fx)
{
	static const char *names[] = { "alerts", "logs", "flows" };
	struct spool_lane_opts o;
	struct spool_lane *l;
	int c, k;

	for (c = 0; c < 3; c++) {
		opts_init(&o, fx);
		o.name = names[c];
		o.cls = (enum spool_class)c;
		l = lane_open(fx, &o);
		for (k = 0; k < 3; k++) {
			append_n(l, 10);
			assert_int_equal(spool_lane_flush(l), 0);
		}
		append_n(l, 2);
		spool_lane_close(l);
	}
}

static void test_usage_scan(void **state)
{
	struct fixture *fx = *state;
	struct spool_usage u;
	unsigned i;
	uint64_t sum = 0;
	char qdir[300];

	make_budget_spool(fx);
	snprintf(qdir, sizeof(qdir), "%s/%s", fx->dir, SPOOL_QUARANTINE_DIR);
	write_file(qdir, "x.bad", "0123456789", 10);
	assert_int_equal(spool_usage_scan(fx->dir, &u), 0);
	assert_int_equal(u.nlanes, 3);
	assert_int_equal(u.quarantine_bytes, 10);
	/* Sorted by name: alerts, flows, logs. */
	assert_string_equal(u.lanes[0].name, "alerts");
	assert_int_equal(u.lanes[0].cls, SPOOL_P0);
	assert_string_equal(u.lanes[1].name, "flows");
	assert_int_equal(u.lanes[1].cls, SPOOL_P2);
	assert_string_equal(u.lanes[2].name, "logs");
	assert_int_equal(u.lanes[2].cls, SPOOL_P1);
	for (i = 0; i < 3; i++) {
		assert_int_equal(u.lanes[i].segments, 5);
		assert_int_equal(u.lanes[i].first_seq, 1);
		assert_true(u.lanes[i].oldest_us > 0);
		sum += u.lanes[i].bytes;
	}
	assert_int_equal(u.total_bytes, sum + 10);
	assert_int_equal(spool_usage_scan("/nonexistent/ward", &u), -ENOENT);
	assert_string_equal(spool_class_name(SPOOL_P0), "P0");
	assert_string_equal(spool_class_name(SPOOL_P2), "P2");
}

static void test_budget_eviction_order(void **state)
{
	struct fixture *fx = *state;
	struct evict_log el = { .dir = fx->dir };
	struct spool_usage before, after;
	struct spool_lane_opts o;
	struct spool_lane *l;
	uint64_t seg_flows1, seg_flows = 0, seg_logs1, budget;
	int n;

	make_budget_spool(fx);
	assert_int_equal(spool_usage_scan(fx->dir, &before), 0);
	seg_flows1 = file_size(fx->dir, "flows", fname(1, SPOOL__F_SEG));
	for (n = 1; n <= 31; n += 10)
		seg_flows += file_size(fx->dir, "flows", fname((uint64_t)n, SPOOL__F_SEG));
	seg_logs1 = file_size(fx->dir, "logs", fname(1, SPOOL__F_SEG));
	assert_true(seg_flows1 > 0 && seg_logs1 > 0);

	/* Under budget: nothing happens. */
	assert_int_equal(spool_budget_enforce(fx->dir, NULL, before.total_bytes, on_evict, &el,
					      NULL), 0);
	assert_int_equal(el.n, 0);

	/* Room for everything but five segments' worth. */
	budget = before.total_bytes - seg_flows - seg_logs1 + 1;
	n = spool_budget_enforce(fx->dir, NULL, budget, on_evict, &el, &after);
	assert_int_equal(n, 5);
	assert_int_equal(el.n, 5);
	assert_string_equal(el.ev[0].lane, "flows");
	assert_int_equal(el.ev[0].cls, SPOOL_P2);
	assert_int_equal(el.ev[0].first, 1);
	assert_int_equal(el.ev[0].last, 10);
	assert_int_equal(el.ev[0].records, 10);
	assert_int_equal(el.ev[0].bytes, seg_flows1);
	assert_string_equal(el.ev[1].lane, "flows");
	assert_int_equal(el.ev[1].first, 11);
	assert_int_equal(el.ev[1].last, 20);
	assert_string_equal(el.ev[3].lane, "flows");
	assert_int_equal(el.ev[3].first, 31);
	assert_int_equal(el.ev[3].last, 32);
	assert_int_equal(el.ev[3].records, 2);
	/* P2 has no closed segment left; then P1, oldest first. */
	assert_string_equal(el.ev[4].lane, "logs");
	assert_int_equal(el.ev[4].cls, SPOOL_P1);
	assert_int_equal(el.ev[4].first, 1);
	assert_int_equal(el.ev[4].records, 10);
	for (n = 0; n < 5; n++)
		assert_true(el.ev[n].file_present);
	assert_true(after.total_bytes <= budget);
	assert_int_equal(after.lanes[1].segments, 1);   /* flows: only its .open */

	/* Even a zero budget never takes an open segment, live or idle. */
	opts_init(&o, fx);
	o.name = "logs";
	l = lane_open(fx, &o);
	append_n(l, 3);
	assert_int_equal(spool_lane_commit(l), 0);
	el.n = 0;
	n = spool_budget_enforce(fx->dir, NULL, 0, on_evict, &el, &after);
	assert_int_equal(n, 7);   /* logs 3, then alerts 4 */
	assert_string_equal(el.ev[0].lane, "logs");
	assert_int_equal(el.ev[0].first, 11);
	assert_string_equal(el.ev[3].lane, "alerts");
	assert_int_equal(el.ev[6].cls, SPOOL_P0);
	assert_int_equal(el.ev[6].first, 31);
	assert_int_equal(after.lanes[0].segments, 1);
	assert_int_equal(after.lanes[1].segments, 1);
	assert_int_equal(after.lanes[2].segments, 1);
	assert_true(after.total_bytes > 0);
	/* The live lane goes on undisturbed. */
	assert_int_equal(append_n(l, 1), 36);
	assert_int_equal(spool_lane_flush(l), 0);
	spool_lane_close(l);
}

static void test_budget_leftover_claim(void **state)
{
	struct fixture *fx = *state;
	struct evict_log el = { .dir = fx->dir };
	char from[512], to[512];

	make_budget_spool(fx);
	/* A crash after the claim, before the report. */
	snprintf(from, sizeof(from), "%s/alerts/%s", fx->dir, fname(11, SPOOL__F_SEG));
	snprintf(to, sizeof(to), "%s/alerts/%s", fx->dir, fname(11, SPOOL__F_EVICT));
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(spool_budget_enforce(fx->dir, NULL, UINT64_MAX, on_evict, &el, NULL), 1);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.ev[0].lane, "alerts");
	assert_int_equal(el.ev[0].first, 11);
	assert_int_equal(el.ev[0].last, 20);
	assert_int_equal(access(to, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lane_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_commit_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_emsgsize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_age_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_persists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hard_limit_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_append_during_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_second_buffer_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_failure_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_rotation_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_age_deferred, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_uv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_flush_close_in_flight, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_async_age_by_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_every_offset, setup, teardown),
		cmocka_unit_test(test_bit_flips_scan),
		cmocka_unit_test_setup_teardown(test_bit_flips_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_middle_corruption_left_for_reader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_two_open_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_floor_from_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_consume, setup, teardown),
		cmocka_unit_test(test_scan_edges),
		cmocka_unit_test_setup_teardown(test_usage_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_eviction_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_leftover_claim, setup, teardown),
	};

	log_setup("test_spool", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
