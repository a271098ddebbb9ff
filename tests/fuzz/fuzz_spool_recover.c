/* libFuzzer target for spool recovery and reading: the input is the bytes
 * of a lane's leftover open segment.
 *
 *  1. spool_scan over the bytes: records and corrupt runs (and a good
 *     header) must tile the input exactly, in order, with seqs strictly
 *     rising, and the returned offset must be where the last record ends.
 *  2. Real recovery: the bytes become S/f/<seq>.open in a scratch spool
 *     (on /dev/shm when there is one, so fdatasync costs nothing); then
 *     spool_lane_open must succeed, recover exactly the records the scan
 *     saw, resume above all of them, take one more record, and the reader
 *     must return them all with strictly rising seqs.
 *
 *   make VARIANT=fuzz build/fuzz/fuzz_spool_recover
 *   build/fuzz/fuzz_spool_recover -max_total_time=60 tests/fuzz/corpus/spool_recover
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "spool_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_setup("fuzz_spool_recover", LOG_LVL_ERROR);
	return 0;
}

struct tiling {
	const uint8_t *base;
	size_t size;
	size_t pos;             /* every byte before this is accounted for */
	uint64_t prev_seq, records, last_end;
};

static void on_record(const struct spool_record *rec, void *arg)
{
	struct tiling *t = arg;
	size_t off = (size_t)(rec->data - t->base) - SPOOL_REC_HDR_SIZE;

	if (off != t->pos || rec->seq <= t->prev_seq || off + SPOOL_REC_HDR_SIZE + rec->len > t->size)
		abort();
	t->pos = off + SPOOL_REC_HDR_SIZE + rec->len;
	t->prev_seq = rec->seq;
	t->last_end = t->pos;
	t->records++;
}

static void on_corrupt(size_t off, size_t len, void *arg)
{
	struct tiling *t = arg;

	if (off != t->pos || len == 0 || off + len > t->size)
		abort();
	t->pos = off + len;
}

static char spool_dir[128];

/* Each input gets a fresh spool, removed again at the end of the input, so
 * nothing leaks from one input to the next and nothing is left behind when
 * libFuzzer exits (it may _Exit, skipping atexit). */
static void scratch_create(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(spool_dir, sizeof(spool_dir), "%s/fuzz-spool-XXXXXX", base);
	if (mkdtemp(spool_dir) == NULL)
		abort();
}

/* Removes every file in spool_dir/sub, then the directory. Unlinking while
 * reading a directory may skip entries, so passes repeat until none is
 * left. */
static void remove_dir(const char *sub)
{
	char path[256];
	struct dirent *de;
	bool again = true;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", spool_dir, sub);
	while (again) {
		again = false;
		d = opendir(path);
		if (d == NULL)
			return;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			if (unlinkat(dirfd(d), de->d_name, 0) != 0)
				abort();
			again = true;
		}
		closedir(d);
	}
	if (rmdir(path) != 0)
		abort();
}

static void scratch_remove(void)
{
	remove_dir("f");
	remove_dir(SPOOL_QUARANTINE_DIR);
	if (rmdir(spool_dir) != 0)
		abort();
}

static void recover_and_read(const uint8_t *data, size_t size, const struct tiling *t)
{
	struct spool__seg_hdr h;
	struct spool_lane_opts o;
	struct spool_lane_stats st;
	struct spool_lane *l = NULL;
	struct spool_reader *r = NULL;
	struct spool_segment *s = NULL;
	struct spool_record rec;
	char path[256], file[SPOOL__FILE_NAME_SIZE];
	uint64_t name_seq = 1, prev = 0, n = 0, added = 0;
	int fd, rc;

	/* Named as the writer would have named it. */
	if (spool__hdr_decode(data, size, &h) && h.first_seq != 0)
		name_seq = h.first_seq;
	spool__file_name(file, name_seq, SPOOL__F_OPEN);
	snprintf(path, sizeof(path), "%s/f", spool_dir);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/f/%s", spool_dir, file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);

	memset(&o, 0, sizeof(o));
	o.spool_dir = spool_dir;
	o.name = "f";
	o.cls = SPOOL_P1;
	o.segment_max_bytes = 1 << 20;
	if (spool_lane_open(&l, &o) != 0)
		abort();    /* damage must never stop a lane from opening */
	spool_lane_get_stats(l, &st);
	/* UINT64_MAX is where a lane's seq space ends (saturates). */
	if (st.recovered_records != t->records ||
	    (st.next_seq <= t->prev_seq && st.next_seq != UINT64_MAX) ||
	    st.next_seq < name_seq)
		abort();
	rc = spool_lane_append(l, 1, "x", 1, NULL);
	if (rc == 0)
		added = 1;
	else if (rc != -EOVERFLOW || st.next_seq != UINT64_MAX)
		abort();
	spool_lane_close(l);

	if (spool_reader_open(&r, spool_dir, "f") != 0)
		abort();
	while (spool_reader_next_segment(r, &s) == 0) {
		while ((rc = spool_segment_next(s, &rec)) == 1) {
			if (rec.seq <= prev)
				abort();
			prev = rec.seq;
			n++;
		}
		if (rc != 0 || spool_segment_consume(s) != 0)
			abort();
	}
	spool_reader_close(r);
	/* A lane whose seq space is exhausted (only crafted data gets there)
	 * cannot start the segment that would let its last one close. */
	if (n != t->records + added && st.next_seq != UINT64_MAX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tiling t = { data, size, 0, 0, 0, 0 };
	size_t end;
	bool hdr = spool__hdr_decode(data, size, NULL);

	if (hdr)
		t.pos = t.last_end = SPOOL_SEG_HDR_SIZE;
	end = spool_scan(data, size, SPOOL__MAX_RECORD_BYTES, on_record, on_corrupt, &t);
	if (t.pos != size || end != t.last_end)
		abort();
	scratch_create();
	recover_and_read(data, size, &t);
	scratch_remove();
	return 0;
}
