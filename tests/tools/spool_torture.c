/* spool_torture: drives the spool for crash, corruption and disk-full
 * tests (tests/integration/spool_crash.sh) and measures its speed.
 *
 *   write  DIR LANE [COUNT [SEGBYTES [abandon]]]
 *          Appends records with known payloads in random commit groups and
 *          prints "durable N" (flushed) after each successful commit. COUNT
 *          0 runs until killed. "abandon" exits after the last commit
 *          without closing the lane, as a crash would (no torn tail).
 *   check  DIR LANE DURABLE [STATEFILE]
 *          Recovers the lane (skipped when a writer holds it), then reads
 *          every closed segment: each seq exactly once, no gap, payloads
 *          right, nothing corrupt, and every seq <= DURABLE present. With
 *          STATEFILE it consumes what it reads and continues the seq from
 *          the last check, so a lane can be drained in several passes.
 *   damage DIR LANE SEED NFLIPS NTRUNC EXPECTFILE
 *          Flips NFLIPS random bits and truncates NTRUNC random segment
 *          files at random offsets, and writes which records stay intact
 *          and how many bytes must be counted as corrupt.
 *   verify DIR LANE EXPECTFILE
 *          Recovers and reads the lane: exactly the intact records come
 *          back, and torn + corrupt bytes (and the quarantine) match.
 *   fill   DIR LANE GOFILE [SEGBYTES]
 *          Writes until the file system refuses 100 appends, prints "full
 *          ...", waits for GOFILE to appear (space freed), then checks
 *          that the buffered records commit and 2000 more go in with
 *          continuous seqs, and prints "resumed durable=N".
 *   corpus OUTDIR      seed segments for fuzz_spool_recover
 *   bench  DIR COUNT RECBYTES GROUP
 *          Appends COUNT records of RECBYTES, committing every GROUP
 *          records (0: every 100 ms, as ward-agent does), and prints
 *          records/s.
 *
 * With --async (anywhere on the line), write, fill and bench commit as
 * ward-agent does: spool_lane_commit_async() on a libuv loop, so the write
 * and fdatasync run on a worker thread while appends go on, "durable N"
 * comes from the completion callback, and an append refused with -EAGAIN
 * is retried after running the loop until the commit in flight completes.
 *
 * Payloads are "rec-<seq>-" followed by bytes derived from seq, so any
 * reader can tell a right record from a wrong one without a side file.
 * Exit 0 on success, 1 on a usage or setup error, 2 on a failed check.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <uv.h>

#include "clock.h"
#include "crc32c.h"
#include "log.h"
#include "spool.h"
#include "spool_internal.h"

#define MAX_PAYLOAD 600

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The payload every tool mode expects for `seq`. */
static size_t make_payload(uint64_t seq, uint8_t *out)
{
	uint64_t st = seq;
	size_t n, pad, i;

	n = (size_t)snprintf((char *)out, 32, "rec-%" PRIu64 "-", seq);
	pad = splitmix(&st) % 400;
	for (i = 0; i < pad; i++)
		out[n + i] = (uint8_t)splitmix(&st);
	return n + pad;
}

static bool payload_ok(const struct spool_record *rec)
{
	uint8_t want[MAX_PAYLOAD];
	size_t n = make_payload(rec->seq, want);

	return rec->len == n && memcmp(rec->data, want, n) == 0;
}

static uint64_t parse_u64(const char *s)
{
	return strtoull(s, NULL, 10);
}

/* ---- synchronous or asynchronous commits (--async) ------------------------ */

static bool async_mode;
static uv_loop_t loop;

struct committer {
	int err;                /* of the last failed asynchronous commit */
	bool print;             /* print "durable N" after each commit */
};

static void on_committed(struct spool_lane *l, int status, void *arg)
{
	struct committer *cm = arg;

	if (status < 0) {
		cm->err = status;
		return;
	}
	if (cm->print)
		printf("durable %" PRIu64 "\n", spool_lane_durable_seq(l));
}

/* A group commit: done now (synchronous), or started (asynchronous; a
 * commit already in flight is fine, the next one takes these records). */
static int commit_group(struct spool_lane *l, struct committer *cm)
{
	int rc;

	if (!async_mode) {
		rc = spool_lane_commit(l);
		if (rc == 0 && cm->print)
			printf("durable %" PRIu64 "\n", spool_lane_durable_seq(l));
		return rc;
	}
	rc = spool_lane_commit_async(l, &loop, on_committed, cm);
	uv_run(&loop, UV_RUN_NOWAIT);
	if (cm->err < 0)
		return cm->err;
	return rc == -EBUSY || rc >= 0 ? 0 : rc;
}

/* Returns once everything appended is durable, or a commit failed. */
static int commit_all(struct spool_lane *l, struct committer *cm)
{
	int rc;

	if (!async_mode)
		return commit_group(l, cm);
	for (;;) {
		if (cm->err < 0)
			return cm->err;
		if (!spool_lane_commit_busy(l)) {
			if (spool_lane_pending_bytes(l) == 0)
				return 0;
			rc = spool_lane_commit_async(l, &loop, on_committed, cm);
			if (rc < 0 && rc != -EBUSY)
				return rc;
		}
		uv_run(&loop, UV_RUN_ONCE);
	}
}

static void lane_opts(struct spool_lane_opts *o, const char *dir, const char *lane,
		      uint64_t seg_bytes)
{
	memset(o, 0, sizeof(*o));
	o->spool_dir = dir;
	o->name = lane;
	o->cls = SPOOL_P1;
	o->segment_max_bytes = seg_bytes;
	o->segment_max_age_ms = 20;
	o->max_record_bytes = 4096;
}

/* ---- write -------------------------------------------------------------- */

static int append_known(struct spool_lane *l)
{
	struct spool_lane_stats st, after;
	uint8_t p[MAX_PAYLOAD];
	uint64_t seq = 0;
	size_t n;
	int rc;

	spool_lane_get_stats(l, &st);
	n = make_payload(st.next_seq, p);
	rc = spool_lane_append(l, clock_wall_us(), p, n, &seq);
	spool_lane_get_stats(l, &after);
	if (rc == 0 && (seq != st.next_seq || after.next_seq != seq + 1)) {
		fprintf(stderr, "append gave seq %" PRIu64 ", stats said %" PRIu64 "\n",
			seq, st.next_seq);
		exit(2);
	}
	if (rc < 0 && after.next_seq != st.next_seq) {
		fprintf(stderr, "failed append (%s) consumed seq %" PRIu64 "\n",
			strerror(-rc), st.next_seq);
		exit(2);
	}
	return rc;
}

/* As append_known; an asynchronous lane's -EAGAIN (second buffer full
 * during a commit) is waited out by running the loop, as a paused TCP
 * connection would be. */
static int append_wait(struct spool_lane *l)
{
	int rc;

	while ((rc = append_known(l)) == -EAGAIN && async_mode)
		uv_run(&loop, UV_RUN_ONCE);
	return rc;
}

static int cmd_write(int argc, char **argv)
{
	struct committer cm = { .print = true };
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	uint64_t count = argc > 4 ? parse_u64(argv[4]) : 0, done = 0, rnd;
	uint64_t seg = argc > 5 ? parse_u64(argv[5]) : 4096;
	bool abandon = argc > 6 && strcmp(argv[6], "abandon") == 0;
	unsigned group, i;
	int rc;

	rnd = (uint64_t)getpid() ^ (uint64_t)clock_wall_us();
	lane_opts(&o, argv[2], argv[3], seg);
	rc = spool_lane_open(&l, &o);
	if (rc < 0) {
		fprintf(stderr, "spool_lane_open: %s\n", strerror(-rc));
		return 1;
	}
	printf("open next=%" PRIu64 "\n", spool_lane_durable_seq(l) + 1);
	fflush(stdout);
	while (count == 0 || done < count) {
		/* Mostly small groups; now and then a large one, so that a kill
		 * can land inside a long write() and leave a torn tail. */
		group = 1 + (unsigned)(splitmix(&rnd) % 40);
		if (splitmix(&rnd) % 8 == 0)
			group = 200 + (unsigned)(splitmix(&rnd) % 3000);
		for (i = 0; i < group && (count == 0 || done < count); i++, done++) {
			rc = append_wait(l);
			if (rc < 0) {
				fprintf(stderr, "append: %s\n", strerror(-rc));
				return 2;
			}
		}
		rc = commit_group(l, &cm);
		if (rc < 0) {
			fprintf(stderr, "commit: %s\n", strerror(-rc));
			return 2;
		}
		fflush(stdout);
		/* An asynchronous lane checks the age in each commit. */
		rc = async_mode ? 0 : spool_lane_tick(l, clock_mono_ms());
		if (rc < 0) {
			fprintf(stderr, "tick: %s\n", strerror(-rc));
			return 2;
		}
	}
	rc = commit_all(l, &cm);
	if (rc < 0) {
		fprintf(stderr, "commit: %s\n", strerror(-rc));
		return 2;
	}
	if (abandon)
		_exit(0);
	spool_lane_close(l);
	return 0;
}

/* ---- check ---------------------------------------------------------------- */

static int recover_only(const char *dir, const char *lane, struct spool_lane_stats *st)
{
	struct spool_lane_opts o;
	struct spool_lane *l = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	lane_opts(&o, dir, lane, 0);
	rc = spool_lane_open(&l, &o);
	if (rc < 0)
		return rc;
	spool_lane_get_stats(l, st);
	spool_lane_close(l);
	return 0;
}

static int cmd_check(int argc, char **argv)
{
	const char *statefile = argc > 5 ? argv[5] : NULL;
	uint64_t durable = parse_u64(argv[4]), expect = 1, n = 0, min = 0;
	struct spool_reader_stats rs;
	struct spool_lane_stats ls;
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL;
	struct spool_record rec;
	FILE *f;
	int rc, bad = 0;

	if (statefile != NULL && (f = fopen(statefile, "r")) != NULL) {
		if (fscanf(f, "%" SCNu64, &expect) != 1)
			expect = 1;
		fclose(f);
	}
	rc = recover_only(argv[2], argv[3], &ls);
	if (rc < 0 && rc != -EBUSY) {
		fprintf(stderr, "recovery: %s\n", strerror(-rc));
		return 1;
	}
	if (spool_reader_open(&r, argv[2], argv[3]) < 0)
		return 1;
	for (;;) {
		rc = statefile ? spool_reader_next_segment(r, &s)
			       : spool_reader_next_segment_from(r, min, &s);
		if (rc == -EAGAIN)
			break;
		if (rc < 0) {
			fprintf(stderr, "next_segment: %s\n", strerror(-rc));
			return 1;
		}
		min = spool_segment_first_seq(s) + 1;
		while ((rc = spool_segment_next(s, &rec)) == 1) {
			n++;
			if (rec.seq != expect) {
				fprintf(stderr, "seq %" PRIu64 " where %" PRIu64 " was due (%s)\n",
					rec.seq, expect, rec.seq < expect ? "duplicate" : "gap");
				bad = 1;
			}
			if (!payload_ok(&rec)) {
				fprintf(stderr, "seq %" PRIu64 ": wrong payload\n", rec.seq);
				bad = 1;
			}
			expect = rec.seq + 1;
		}
		if (rc < 0) {
			fprintf(stderr, "segment_next: %s\n", strerror(-rc));
			return 1;
		}
		if (statefile)
			rc = spool_segment_consume(s);
		else
			spool_segment_release(s);
	}
	spool_reader_get_stats(r, &rs);
	spool_reader_close(r);
	if (expect <= durable) {
		fprintf(stderr, "durable seq %" PRIu64 " reported, but records end at %" PRIu64 "\n",
			durable, expect - 1);
		bad = 1;
	}
	if (rs.corrupt_regions != 0) {
		fprintf(stderr, "%" PRIu64 " corrupt regions\n", rs.corrupt_regions);
		bad = 1;
	}
	if (statefile != NULL && (f = fopen(statefile, "w")) != NULL) {
		fprintf(f, "%" PRIu64 "\n", expect);
		fclose(f);
	}
	printf("check: %s records=%" PRIu64 " last=%" PRIu64 " durable=%" PRIu64
	       " segments=%" PRIu64 " recovered=%" PRIu64 " torn_bytes=%" PRIu64 "\n",
	       bad ? "FAIL" : "ok", n, expect - 1, durable, rs.segments_read,
	       ls.recovered_records, ls.recovered_torn_bytes);
	return bad ? 2 : 0;
}

/* ---- damage / verify ------------------------------------------------------ */

struct frame_list {
	uint64_t *seq;
	size_t *off, *len;
	size_t n, cap;
	const uint8_t *base;
};

struct seg_file {
	char name[SPOOL__FILE_NAME_SIZE];
	uint8_t *data;          /* the clean image, then the damaged one */
	size_t len, new_len;
	uint8_t *hit;           /* per byte: a bit was flipped */
	struct frame_list fl;   /* where the records were before damage */
};

static void frame_add(const struct spool_record *rec, void *arg)
{
	struct frame_list *fl = arg;

	if (fl->n == fl->cap) {
		fl->cap = fl->cap ? fl->cap * 2 : 256;
		fl->seq = realloc(fl->seq, fl->cap * sizeof(*fl->seq));
		fl->off = realloc(fl->off, fl->cap * sizeof(*fl->off));
		fl->len = realloc(fl->len, fl->cap * sizeof(*fl->len));
		if (fl->seq == NULL || fl->off == NULL || fl->len == NULL)
			abort();
	}
	fl->seq[fl->n] = rec->seq;
	fl->off[fl->n] = (size_t)(rec->data - fl->base) - SPOOL_REC_HDR_SIZE;
	fl->len[fl->n] = SPOOL_REC_HDR_SIZE + rec->len;
	fl->n++;
}

static int seg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seg_file *)a)->name, ((const struct seg_file *)b)->name);
}

/* Loads and frames every segment file of the lane; each must be clean
 * (header and whole records only) so the expectation is exact. */
static int load_lane(const char *dir, const char *lane, struct seg_file **out, size_t *nout)
{
	char path[4096];
	struct seg_file *v = NULL, *f;
	struct dirent *de;
	size_t n = 0, end;
	DIR *d;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, lane);
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		uint64_t seq;
		enum spool__file_kind k = spool__file_parse(de->d_name, &seq);

		if (k != SPOOL__F_SEG && k != SPOOL__F_OPEN)
			continue;
		v = realloc(v, (n + 1) * sizeof(*v));
		if (v == NULL)
			abort();
		f = &v[n++];
		memset(f, 0, sizeof(*f));
		spool__file_name(f->name, seq, k);
		if (spool__read_file(dirfd(d), de->d_name, &f->data, &f->len) < 0)
			abort();
		f->new_len = f->len;
		f->hit = calloc(1, f->len + 1);
		f->fl.base = f->data;
		end = spool_scan(f->data, f->len, SPOOL__MAX_RECORD_BYTES, frame_add, NULL, &f->fl);
		if (end != f->len && f->len > SPOOL_SEG_HDR_SIZE) {
			fprintf(stderr, "damage: %s is not clean to begin with\n", f->name);
			rc = -EINVAL;
		}
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), seg_cmp);
	*out = v;
	*nout = n;
	return rc;
}

/* What survives: a record is intact when it lies wholly before the cut
 * and no flipped byte falls in it. Lost records count as corrupt bytes as
 * far as they remain in the file. */
static void expect_file(const struct seg_file *f, FILE *out, uint64_t *corrupt,
			uint64_t *intact, uint64_t *lost)
{
	const struct frame_list *fl = &f->fl;
	size_t j, k;
	bool hit;

	for (j = 0; j < fl->n; j++) {
		if (fl->off[j] + fl->len[j] > f->new_len) {
			if (fl->off[j] < f->new_len)
				*corrupt += f->new_len - fl->off[j];
			(*lost)++;
			continue;
		}
		hit = false;
		for (k = fl->off[j]; k < fl->off[j] + fl->len[j]; k++)
			hit |= f->hit[k] != 0;
		if (hit) {
			*corrupt += fl->len[j];
			(*lost)++;
			continue;
		}
		fprintf(out, "intact %" PRIu64 "\n", fl->seq[j]);
		(*intact)++;
	}
}

static int cmd_damage(int argc, char **argv)
{
	const char *dir = argv[2], *lane = argv[3];
	uint64_t rnd = parse_u64(argv[4]);
	unsigned nflips = (unsigned)parse_u64(argv[5]), ntrunc = (unsigned)parse_u64(argv[6]);
	uint64_t corrupt = 0, intact = 0, lost = 0;
	struct seg_file *v = NULL, *f;
	char path[4096];
	size_t n = 0, i, off;
	FILE *out;
	int fd;

	if (load_lane(dir, lane, &v, &n) < 0 || n == 0) {
		fprintf(stderr, "damage: no clean segments\n");
		return 1;
	}
	for (i = 0; i < nflips; i++) {
		f = &v[splitmix(&rnd) % n];
		if (f->len <= SPOOL_SEG_HDR_SIZE)
			continue;
		off = SPOOL_SEG_HDR_SIZE + splitmix(&rnd) % (f->len - SPOOL_SEG_HDR_SIZE);
		f->data[off] ^= (uint8_t)(1u << (splitmix(&rnd) % 8));
		f->hit[off] = 1;
	}
	for (i = 0; i < ntrunc; i++) {
		f = &v[splitmix(&rnd) % n];
		if (f->new_len > SPOOL_SEG_HDR_SIZE)
			f->new_len = SPOOL_SEG_HDR_SIZE +
				     splitmix(&rnd) % (f->new_len - SPOOL_SEG_HDR_SIZE);
	}
	out = fopen(argv[7], "w");
	if (out == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		f = &v[i];
		expect_file(f, out, &corrupt, &intact, &lost);
		snprintf(path, sizeof(path), "%s/%s/%s", dir, lane, f->name);
		fd = open(path, O_WRONLY);
		if (fd < 0 || pwrite(fd, f->data, f->new_len, 0) != (ssize_t)f->new_len ||
		    ftruncate(fd, (off_t)f->new_len) < 0)
			abort();
		close(fd);
		free(f->data);
		free(f->hit);
		free(f->fl.seq);
		free(f->fl.off);
		free(f->fl.len);
	}
	fprintf(out, "corrupt_bytes %" PRIu64 "\n", corrupt);
	fclose(out);
	free(v);
	printf("damage: %u flips, %u truncations over %zu files: %" PRIu64 " records intact, %"
	       PRIu64 " lost, %" PRIu64 " bytes to count as corrupt\n", nflips, ntrunc, n,
	       intact, lost, corrupt);
	return 0;
}

static uint64_t dir_bytes(const char *path)
{
	struct dirent *de;
	struct stat sb;
	uint64_t sum = 0;
	DIR *d = opendir(path);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (fstatat(dirfd(d), de->d_name, &sb, 0) == 0 && S_ISREG(sb.st_mode))
			sum += (uint64_t)sb.st_size;
	closedir(d);
	return sum;
}

static int cmd_verify(int argc, char **argv)
{
	uint64_t *want = NULL, corrupt_want = 0, v, got_corrupt, qbytes, min = 0;
	size_t nwant = 0, idx = 0;
	struct spool_reader_stats rs;
	struct spool_lane_stats ls;
	struct spool_reader *r = NULL;
	struct spool_segment *s;
	struct spool_record rec;
	char word[32], path[4096];
	FILE *f;
	int rc, bad = 0;

	f = fopen(argv[4], "r");
	if (f == NULL)
		return 1;
	while (fscanf(f, "%31s %" SCNu64, word, &v) == 2) {
		if (strcmp(word, "intact") == 0) {
			want = realloc(want, (nwant + 1) * sizeof(*want));
			want[nwant++] = v;
		} else {
			corrupt_want = v;
		}
	}
	fclose(f);
	rc = recover_only(argv[2], argv[3], &ls);
	if (rc < 0) {
		fprintf(stderr, "recovery: %s\n", strerror(-rc));
		return 1;
	}
	if (spool_reader_open(&r, argv[2], argv[3]) < 0)
		return 1;
	while (spool_reader_next_segment_from(r, min, &s) == 0) {
		min = spool_segment_first_seq(s) + 1;
		while (spool_segment_next(s, &rec) == 1) {
			if (idx >= nwant || rec.seq != want[idx]) {
				fprintf(stderr, "read seq %" PRIu64 ", expected %" PRIu64 "\n", rec.seq,
					idx < nwant ? want[idx] : 0);
				bad = 1;
				while (idx < nwant && want[idx] < rec.seq)
					idx++;
			}
			if (idx < nwant && rec.seq == want[idx])
				idx++;
			if (!payload_ok(&rec)) {
				fprintf(stderr, "seq %" PRIu64 ": wrong payload\n", rec.seq);
				bad = 1;
			}
		}
		spool_segment_release(s);
	}
	spool_reader_get_stats(r, &rs);
	spool_reader_close(r);
	if (idx != nwant) {
		fprintf(stderr, "%zu intact records missing\n", nwant - idx);
		bad = 1;
	}
	got_corrupt = rs.corrupt_bytes + ls.recovered_torn_bytes;
	if (got_corrupt != corrupt_want) {
		fprintf(stderr, "counted %" PRIu64 " corrupt bytes, expected %" PRIu64 "\n",
			got_corrupt, corrupt_want);
		bad = 1;
	}
	snprintf(path, sizeof(path), "%s/%s", argv[2], SPOOL_QUARANTINE_DIR);
	qbytes = dir_bytes(path);
	if (qbytes != corrupt_want) {
		fprintf(stderr, "quarantine holds %" PRIu64 " bytes, expected %" PRIu64 "\n",
			qbytes, corrupt_want);
		bad = 1;
	}
	printf("verify: %s intact=%zu read=%" PRIu64 " corrupt_regions=%" PRIu64
	       " corrupt_bytes=%" PRIu64 " torn_bytes=%" PRIu64 " quarantine=%" PRIu64 "\n",
	       bad ? "FAIL" : "ok", nwant, rs.records_read, rs.corrupt_regions,
	       rs.corrupt_bytes, ls.recovered_torn_bytes, qbytes);
	free(want);
	return bad ? 2 : 0;
}

/* ---- fill ------------------------------------------------------------------ */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int cmd_fill(int argc, char **argv)
{
	struct committer cm = { .print = false };
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l = NULL;
	uint64_t refused = 0, before, deadline;
	unsigned i;
	int rc;

	lane_opts(&o, argv[2], argv[3], argc > 5 ? parse_u64(argv[5]) : 256 * 1024);
	o.segment_max_age_ms = 0;
	rc = spool_lane_open(&l, &o);
	if (rc < 0) {
		fprintf(stderr, "spool_lane_open: %s\n", strerror(-rc));
		return 1;
	}
	/* Phase 1: until the disk refuses 100 appends. */
	while (refused < 100) {
		spool_lane_get_stats(l, &st);
		before = st.next_seq;
		rc = append_wait(l);
		if (rc == -ENOSPC) {
			spool_lane_get_stats(l, &st);
			if (st.next_seq != before) {
				fprintf(stderr, "refused append consumed seq %" PRIu64 "\n", before);
				return 2;
			}
			refused++;
			continue;
		}
		if (rc < 0) {
			fprintf(stderr, "append: %s\n", strerror(-rc));
			return 2;
		}
		if (st.next_seq % 32 == 0) {
			rc = commit_group(l, &cm);
			cm.err = 0;     /* failed commits keep their bytes: expected here */
			if (rc < 0 && rc != -ENOSPC) {
				fprintf(stderr, "commit: %s\n", strerror(-rc));
				return 2;
			}
		}
	}
	spool_lane_get_stats(l, &st);
	printf("full refused=%" PRIu64 " append_enospc=%" PRIu64 " durable=%" PRIu64
	       " next=%" PRIu64 " pending=%zu\n", refused, st.append_enospc, st.durable_seq,
	       st.next_seq, spool_lane_pending_bytes(l));
	fflush(stdout);
	/* Phase 2: the test frees space, then creates GOFILE. The test bounds
	 * the whole run (and kills us if it fails first); this deadline only
	 * keeps a forgotten writer from living forever, so it is far longer
	 * than a loaded host can take to drain the lane. */
	deadline = clock_mono_ms() + 600000;
	while (access(argv[4], F_OK) != 0) {
		if (clock_mono_ms() > deadline) {
			fprintf(stderr, "fill: %s never appeared\n", argv[4]);
			return 1;
		}
		sleep_ms(10);
	}
	/* Phase 3: what was buffered commits, and the lane goes on. The
	 * synchronous commit also waits out an asynchronous one in flight. */
	rc = spool_lane_commit(l);
	if (rc < 0) {
		fprintf(stderr, "commit after space was freed: %s\n", strerror(-rc));
		return 2;
	}
	cm.err = 0;
	for (i = 0; i < 2000; i++) {
		rc = append_wait(l);
		if (rc == 0 && i % 50 == 49)
			rc = commit_group(l, &cm);
		if (rc < 0) {
			fprintf(stderr, "append after space was freed: %s\n", strerror(-rc));
			return 2;
		}
	}
	rc = commit_all(l, &cm);
	spool_lane_get_stats(l, &st);
	printf("resumed durable=%" PRIu64 " append_enospc=%" PRIu64 " commit_errors=%" PRIu64
	       "\n", st.durable_seq, st.append_enospc, st.commit_errors);
	spool_lane_close(l);
	return rc < 0 ? 2 : 0;
}

/* ---- corpus ------------------------------------------------------------------ */

static size_t put_frame(uint8_t *p, uint64_t seq, const void *data, uint32_t len)
{
	spool__put_le32(p, len);
	spool__put_le64(p + 8, seq);
	spool__put_le64(p + 16, (uint64_t)(1700000000000000ll + (int64_t)seq));
	memcpy(p + SPOOL_REC_HDR_SIZE, data, len);
	spool__put_le32(p + 4, crc32c(0, p + 8, 16 + (size_t)len));
	return SPOOL_REC_HDR_SIZE + len;
}

static size_t build_seg(uint8_t *p, uint64_t first, unsigned n)
{
	uint8_t pl[MAX_PAYLOAD];
	size_t off = SPOOL_SEG_HDR_SIZE, len;
	unsigned i;

	spool__hdr_encode(p, SPOOL_P1, first, 1700000000000000ll);
	for (i = 0; i < n; i++) {
		len = make_payload(first + i, pl);
		off += put_frame(p + off, first + i, pl, (uint32_t)(len % 120));
	}
	return off;
}

static int write_seed(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(p, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static int cmd_corpus(int argc, char **argv)
{
	static uint8_t p[65536], q[65536];
	const char *d = argv[2];
	size_t n, m;
	int rc = 0;

	mkdir(d, 0755);
	n = build_seg(p, 1, 6);
	rc |= write_seed(d, "valid-6", p, n);
	rc |= write_seed(d, "header-only", p, SPOOL_SEG_HDR_SIZE);
	rc |= write_seed(d, "torn-tail", p, n - 7);
	rc |= write_seed(d, "partial-header", p, 13);
	memcpy(q, p, n);
	q[SPOOL_SEG_HDR_SIZE + 30] ^= 0x10;
	rc |= write_seed(d, "bitflip-first", q, n);
	memcpy(q, p, n);
	q[0] ^= 0xff;
	rc |= write_seed(d, "bad-magic", q, n);
	memcpy(q, p, n);
	q[SPOOL_SEG_HDR_SIZE + 1] = 0x7f;     /* length far above the cap */
	rc |= write_seed(d, "huge-length", q, n);
	/* Garbage between two runs of records. */
	m = build_seg(q, 100, 3);
	memset(q + m, 0xa5, 40);
	m += 40;
	{
		uint8_t tmp[65536];
		size_t k = build_seg(tmp, 103, 3);

		memcpy(q + m, tmp + SPOOL_SEG_HDR_SIZE, k - SPOOL_SEG_HDR_SIZE);
		m += k - SPOOL_SEG_HDR_SIZE;
	}
	rc |= write_seed(d, "garbage-middle", q, m);
	/* A valid frame whose seq does not rise. */
	m = build_seg(q, 50, 3);
	m += put_frame(q + m, 50, "dup", 3);
	m += put_frame(q + m, 53, "next", 4);
	rc |= write_seed(d, "seq-not-rising", q, m);
	rc |= write_seed(d, "empty", p, 0);
	return rc ? 1 : 0;
}

/* ---- bench ---------------------------------------------------------------- */

static int cmd_bench(int argc, char **argv)
{
	uint64_t count = parse_u64(argv[3]), i, t0, t1;
	size_t recbytes = (size_t)parse_u64(argv[4]);
	unsigned group = (unsigned)parse_u64(argv[5]);
	struct committer cm = { .print = false };
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l = NULL;
	char *rec;
	int rc;

	uint64_t next_commit_ms = clock_mono_ms() + 100;

	if (recbytes == 0 || recbytes > 65536)
		return 1;
	rec = malloc(recbytes);
	for (i = 0; i < recbytes; i++)
		rec[i] = (char)('a' + i % 26);
	memcpy(rec, "{\"msg\":\"", 8);
	rec[recbytes - 1] = '}';
	memset(&o, 0, sizeof(o));
	o.spool_dir = argv[2];
	o.name = "bench";
	o.cls = SPOOL_P1;
	o.segment_max_bytes = 4 << 20;
	o.segment_max_age_ms = 1000;
	rc = spool_lane_open(&l, &o);
	if (rc < 0) {
		fprintf(stderr, "spool_lane_open: %s\n", strerror(-rc));
		return 1;
	}
	t0 = (uint64_t)clock_wall_us();
	for (i = 0; i < count; i++) {
		while ((rc = spool_lane_append(l, (int64_t)t0, rec, recbytes, NULL)) == -EAGAIN &&
		       async_mode)
			uv_run(&loop, UV_RUN_ONCE);
		/* The agent's loop takes completions between batches of reads. */
		if (async_mode && (i & 63) == 0)
			uv_run(&loop, UV_RUN_NOWAIT);
		if (rc == 0 && group != 0 && (i + 1) % group == 0)
			rc = commit_group(l, &cm);
		if (rc == 0 && group == 0 && (i & 255) == 0 && clock_mono_ms() >= next_commit_ms) {
			rc = commit_group(l, &cm);
			next_commit_ms += 100;
		}
		if (rc < 0) {
			fprintf(stderr, "append/commit: %s\n", strerror(-rc));
			return 2;
		}
	}
	rc = commit_all(l, &cm);
	t1 = (uint64_t)clock_wall_us();
	spool_lane_get_stats(l, &st);
	spool_lane_close(l);
	free(rec);
	printf("bench: %" PRIu64 " records x %zu bytes, commit every %u%s: %.3f s, "
	       "%.0f records/s, %.1f MB/s, %" PRIu64 " fdatasyncs, %" PRIu64 " segments, %"
	       PRIu64 " appends refused busy\n",
	       count, recbytes, group, async_mode ? " (async)" : "", (double)(t1 - t0) / 1e6,
	       (double)count * 1e6 / (double)(t1 - t0),
	       (double)count * (double)recbytes / (double)(t1 - t0), st.commits,
	       st.segments_closed, st.append_busy);
	return rc < 0 ? 2 : 0;
}

int main(int argc, char **argv)
{
	const char *m;
	int i, n;

	/* --async may stand anywhere; the modes see the other arguments. */
	for (i = n = 0; i < argc; i++) {
		if (strcmp(argv[i], "--async") == 0)
			async_mode = true;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	argv[argc] = NULL;
	m = argc > 1 ? argv[1] : "";
	if (async_mode && uv_loop_init(&loop) < 0)
		return 1;
	log_setup("spool_torture", LOG_LVL_WARN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(m, "write") == 0 && argc >= 4)
		return cmd_write(argc, argv);
	if (strcmp(m, "check") == 0 && argc >= 5)
		return cmd_check(argc, argv);
	if (strcmp(m, "damage") == 0 && argc >= 8)
		return cmd_damage(argc, argv);
	if (strcmp(m, "verify") == 0 && argc >= 5)
		return cmd_verify(argc, argv);
	if (strcmp(m, "fill") == 0 && argc >= 5)
		return cmd_fill(argc, argv);
	if (strcmp(m, "corpus") == 0 && argc >= 3)
		return cmd_corpus(argc, argv);
	if (strcmp(m, "bench") == 0 && argc >= 6)
		return cmd_bench(argc, argv);
	fprintf(stderr, "usage: spool_torture [--async] write|check|damage|verify|fill|corpus|bench ...\n"
		"  (see the comment at the top of tests/tools/spool_torture.c)\n");
	return 1;
}
