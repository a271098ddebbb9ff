/* sealer: closed spool segments -> sealed batches. See sealer.h for the
 * on-disk layout and the commit order that makes it crash-safe. */
#include "sealer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "buf.h"
#include "jsonw.h"
#include "log.h"
#include "spool.h"

#define CHAIN_FILE "CHAIN"
#define CHAIN_TMP ".CHAIN.tmp"
#define CHAIN_MAX 256            /* bytes; the file is about 100 */
#define NAME_SIZE 64             /* ".<20>-<20>.tmp" and "<20>-<20>.batch" */

struct sealer {
	char *spool_dir;
	char lane[BATCH_NAME_MAX + 1];
	char device[BATCH_NAME_MAX + 1];
	const struct batch_key *dev, *soc;
	uint32_t max_batch;
	int level;
	int dir_fd;                  /* O/<lane> */
	uint64_t last_seq;           /* CHAIN: every seq <= this is sealed */
	uint8_t hash[BATCH_HASH_SIZE];
	struct spool_reader *r;
	bool tmp_left;               /* a committed .tmp failed to rename */
	struct sealer_stats st;
};

/* A segment read but not yet consumed. */
struct pending {
	struct spool_segment *seg;
	uint64_t max_seq;            /* highest seq read from it; 0 = none */
	bool complete;               /* read to its end */
};

struct run {
	struct pending *p;
	size_t n, cap;
	struct buf body;
	uint64_t first, last;
	uint32_t records;
};

static int fsync_dir(int fd)
{
	return fsync(fd) == 0 ? 0 : -errno;
}

static bool device_ok(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > BATCH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Writes `len` bytes to dir/name (created or truncated) and fsyncs it. */
static int write_file(int dir_fd, const char *name, const void *data, size_t len)
{
	const uint8_t *p = data;
	int fd, rc = 0;
	ssize_t n;

	fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) != 0)
		rc = -errno;
out:
	close(fd);
	if (rc < 0)
		unlinkat(dir_fd, name, 0);
	return rc;
}

/* Reads dir/name whole into b (at most `max` bytes; -EFBIG beyond). */
static int read_file(int dir_fd, const char *name, size_t max, struct buf *b)
{
	struct stat sb;
	ssize_t n;
	int fd, rc = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) != 0) {
		rc = -errno;
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		rc = -EFBIG;
		goto out;
	}
	rc = buf_reserve(b, (size_t)sb.st_size + 1);
	if (rc < 0)
		goto out;
	for (;;) {
		n = read(fd, b->data + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		if (b->len > max) {
			rc = -EFBIG;
			goto out;
		}
		if (b->len == b->cap && (rc = buf_reserve(b, 4096)) < 0)
			goto out;
	}
out:
	close(fd);
	return rc;
}

/* ---- CHAIN ------------------------------------------------------------------ */

static int chain_load(struct sealer *s)
{
	struct buf b = BUF_INIT;
	char hex[2 * BATCH_HASH_SIZE + 1], tail;
	unsigned long long last;
	unsigned i, x;
	int rc, end = 0;

	rc = read_file(s->dir_fd, CHAIN_FILE, CHAIN_MAX, &b);
	if (rc == -ENOENT) {         /* a new lane: the chain starts at zeros */
		rc = 0;
		goto out;
	}
	if (rc == -EFBIG)
		rc = -EBADMSG;
	if (rc < 0)
		goto out;
	rc = buf_append_byte(&b, 0);
	if (rc < 0)
		goto out;
	/* Exactly one line; written whole by rename, so never torn. */
	if (sscanf((const char *)b.data, "ward-chain 1 %llu %64[0-9a-f]%c%n", &last, hex, &tail,
		   &end) != 3 || tail != '\n' || strlen(hex) != sizeof(hex) - 1 ||
	    (size_t)end != b.len - 1) {
		rc = -EBADMSG;
		goto out;
	}
	for (i = 0; i < BATCH_HASH_SIZE; i++) {
		if (sscanf(hex + 2 * i, "%2x", &x) != 1) {
			rc = -EBADMSG;
			goto out;
		}
		s->hash[i] = (uint8_t)x;
	}
	s->last_seq = last;
out:
	if (rc == -EBADMSG)
		log_error("sealer %s: %s is damaged; not restarting the hash chain", s->lane,
			  CHAIN_FILE);
	buf_free(&b);
	return rc;
}

static int chain_store(struct sealer *s, uint64_t last, const uint8_t hash[BATCH_HASH_SIZE])
{
	char line[CHAIN_MAX];
	int n, i, rc;

	n = snprintf(line, sizeof(line), "ward-chain 1 %" PRIu64 " ", last);
	for (i = 0; i < BATCH_HASH_SIZE; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", hash[i]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
	rc = write_file(s->dir_fd, CHAIN_TMP, line, (size_t)n);
	if (rc < 0)
		return rc;
	if (renameat(s->dir_fd, CHAIN_TMP, s->dir_fd, CHAIN_FILE) != 0)
		return -errno;
	return fsync_dir(s->dir_fd);
}

/* ---- recovery ------------------------------------------------------------------ */

/* ".<first>-<last>.tmp" -> "<first>-<last>.batch"; false if not such a name. */
static bool tmp_to_final(const char *tmp, char *final, size_t size)
{
	unsigned long long a, b;
	int end = 0;

	if (sscanf(tmp, ".%20llu-%20llu.tmp%n", &a, &b, &end) != 2 || tmp[end] != '\0')
		return false;
	snprintf(final, size, "%020llu-%020llu.batch", a, b);
	return true;
}

/* Finishes or discards the .tmp batches a crash left behind. */
static int recover(struct sealer *s)
{
	struct buf b = BUF_INIT;
	uint8_t h[BATCH_HASH_SIZE];
	char final[NAME_SIZE];
	struct dirent *de;
	bool changed = false;
	DIR *d;
	int fd, rc = 0;

	fd = dup(s->dir_fd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!tmp_to_final(de->d_name, final, sizeof(final)))
			continue;
		buf_reset(&b);
		rc = read_file(s->dir_fd, de->d_name, (size_t)BATCH_BODY_MAX + BATCH_BODY_MAX / 128 + 4096, &b);
		/* A torn or damaged .tmp cannot hash to CHAIN's value. */
		if (rc == 0 && batch_hash(b.data, b.len, h) == 0 &&
		    memcmp(h, s->hash, sizeof(h)) == 0) {
			/* CHAIN was committed: the batch is sealed; publish it. */
			if (renameat(s->dir_fd, de->d_name, s->dir_fd, final) != 0) {
				rc = -errno;
				goto out;
			}
			s->st.recovered_tmp++;
			log_info("sealer %s: completed %s after a crash", s->lane, final);
		} else {
			/* Never committed: its records are still in the spool. */
			if (unlinkat(s->dir_fd, de->d_name, 0) != 0 && errno != ENOENT) {
				rc = -errno;
				goto out;
			}
			s->st.discarded_tmp++;
		}
		rc = 0;
		changed = true;
	}
	if (changed)
		rc = fsync_dir(s->dir_fd);
out:
	closedir(d);
	buf_free(&b);
	return rc;
}

/* ---- create / destroy ------------------------------------------------------------ */

static int mkdir_p1(const char *path)
{
	return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -errno;
}

int sealer_create(struct sealer **out, const struct sealer_opts *o)
{
	struct sealer *s = NULL;
	char *path = NULL;
	int rc;

	*out = NULL;
	if (o->spool_dir == NULL || o->outbox_dir == NULL || o->lane == NULL ||
	    o->device_id == NULL || !spool_lane_name_valid(o->lane) || !device_ok(o->device_id) ||
	    o->device == NULL || o->soc == NULL || !batch_key_has_private(o->device) ||
	    (o->max_batch_bytes != 0 && (o->max_batch_bytes < SEALER_MAX_BATCH_MIN ||
					 o->max_batch_bytes > BATCH_BODY_MAX)) ||
	    o->zstd_level < 0 || o->zstd_level > 19)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->dir_fd = -1;
	strcpy(s->lane, o->lane);
	strcpy(s->device, o->device_id);
	s->dev = o->device;
	s->soc = o->soc;
	s->max_batch = o->max_batch_bytes != 0 ? o->max_batch_bytes : SEALER_MAX_BATCH_DEFAULT;
	s->level = o->zstd_level;
	s->spool_dir = strdup(o->spool_dir);
	if (s->spool_dir == NULL || asprintf(&path, "%s/%s", o->outbox_dir, o->lane) < 0) {
		path = NULL;
		rc = -ENOMEM;
		goto out;
	}
	rc = mkdir_p1(o->outbox_dir);
	if (rc == 0)
		rc = mkdir_p1(path);
	if (rc < 0)
		goto out;
	s->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = chain_load(s);
	if (rc < 0)
		goto out;
	rc = recover(s);
	if (rc < 0)
		goto out;
	rc = spool_reader_open(&s->r, s->spool_dir, s->lane);
out:
	free(path);
	if (rc < 0)
		sealer_destroy(s);
	else
		*out = s;
	return rc;
}

void sealer_destroy(struct sealer *s)
{
	if (s == NULL)
		return;
	spool_reader_close(s->r);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->spool_dir);
	free(s);
}

void sealer_get_stats(const struct sealer *s, struct sealer_stats *st)
{
	*st = s->st;
	st->last_seq = s->last_seq;
}

/* ---- sealing ------------------------------------------------------------------------ */

/* Seals run->body as one batch and commits it (sealer.h, steps 1-3). */
static int flush(struct sealer *s, struct run *run, int64_t now_us)
{
	struct batch_seal_opts o = { s->level, NULL, NULL, 0 };
	struct batch_hdr h;
	struct buf b = BUF_INIT;
	uint8_t hash[BATCH_HASH_SIZE];
	char tmp[NAME_SIZE], final[NAME_SIZE];
	int rc;

	memset(&h, 0, sizeof(h));
	strcpy(h.device, s->device);
	strcpy(h.lane, s->lane);
	h.first_seq = run->first;
	h.last_seq = run->last;
	h.records = run->records;
	h.created_us = now_us;
	memcpy(h.prev_hash, s->hash, sizeof(h.prev_hash));
	rc = batch_seal(&b, &h, run->body.data, run->body.len, s->dev, s->soc, &o);
	if (rc < 0)
		goto out;
	rc = batch_hash(b.data, b.len, hash);
	if (rc < 0)
		goto out;
	snprintf(tmp, sizeof(tmp), ".%020" PRIu64 "-%020" PRIu64 ".tmp", run->first, run->last);
	snprintf(final, sizeof(final), "%020" PRIu64 "-%020" PRIu64 ".batch", run->first, run->last);
	rc = write_file(s->dir_fd, tmp, b.data, b.len);
	if (rc < 0)
		goto out;
	rc = chain_store(s, run->last, hash);
	if (rc < 0) {
		/* CHAIN may or may not have reached the disk: leave the .tmp
		 * for recovery to judge, and stop. */
		goto out;
	}
	s->last_seq = run->last;
	memcpy(s->hash, hash, sizeof(hash));
	if (renameat(s->dir_fd, tmp, s->dir_fd, final) != 0) {
		rc = -errno;
		s->tmp_left = true;  /* committed: the next run publishes it */
		goto out;
	}
	rc = fsync_dir(s->dir_fd);
	if (rc < 0)
		goto out;
	s->st.batches++;
	s->st.records += run->records;
	s->st.body_bytes += run->body.len;
	s->st.sealed_bytes += b.len;
	buf_reset(&run->body);
	run->records = 0;
out:
	if (rc < 0)
		log_error("sealer %s: sealing seqs %" PRIu64 "-%" PRIu64 ": %s", s->lane,
			  run->first, run->last, batch_strerror(rc));
	buf_free(&b);
	return rc;
}

/* Consumes, oldest first, the segments whose records are all sealed. */
static int consume_sealed(struct sealer *s, struct run *run)
{
	size_t k = 0;
	int rc = 0;

	while (k < run->n && run->p[k].complete && run->p[k].max_seq <= s->last_seq) {
		rc = spool_segment_consume(run->p[k].seg);
		run->p[k].seg = NULL;
		k++;
		if (rc < 0)
			break;
		s->st.segments_consumed++;
	}
	memmove(run->p, run->p + k, (run->n - k) * sizeof(*run->p));
	run->n -= k;
	return rc;
}

static bool json_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Appends the record as one NDJSON object that carries its spool seq, so
 * that the SOC can de-duplicate record by record (DESIGN.md: by device,
 * lane and seq) even when a batch has gaps or overlaps one it stored. A
 * ward record is a JSON object: "seq" goes in front of its members, which
 * costs no re-encoding. Anything else, which only damage or a foreign
 * writer could leave, is kept whole as a string under "payload". */
static int put_line(struct buf *b, const struct spool_record *rec)
{
	const uint8_t *p = rec->data;
	size_t n = rec->len, i = 0, j;
	char pre[40];
	int k;

	while (i < n && json_space(p[i]))
		i++;
	if (i < n && p[i] == '{') {
		for (j = i + 1; j < n && json_space(p[j]); j++)
			;
		k = snprintf(pre, sizeof(pre), "{\"seq\":%" PRIu64 "%s", rec->seq,
			     j < n && p[j] == '}' ? "" : ",");
		return buf_append(b, pre, (size_t)k) < 0 ? -ENOMEM :
		       buf_append(b, p + i + 1, n - i - 1);
	} else {
		struct jsonw w;

		jsonw_init(&w, b);
		jsonw_object_open(&w);
		jsonw_kv_uint(&w, "seq", rec->seq);
		jsonw_kv_str(&w, "payload", (const char *)p, n);
		jsonw_object_close(&w);
		return jsonw_finish(&w);
	}
}

static int add_record(struct sealer *s, struct run *run, const struct spool_record *rec)
{
	size_t start = run->body.len, i;
	int rc;

	rc = put_line(&run->body, rec);
	if (rc == 0)
		rc = buf_append_byte(&run->body, '\n');
	if (rc < 0) {
		run->body.len = start;
		return rc;
	}
	/* A raw newline can only be whitespace between JSON tokens (strings
	 * escape it), where a space means the same; NDJSON needs one line. */
	for (i = start; i + 1 < run->body.len; i++) {
		if (run->body.data[i] == '\n') {
			run->body.data[i] = ' ';
			s->st.newlines_replaced++;
		}
	}
	if (run->records == 0)
		run->first = rec->seq;
	run->last = rec->seq;
	run->records++;
	return 0;
}

/* Reads the run's newest segment (the last in run->p), sealing each batch
 * that fills up. consume_sealed() may move run->p's entries, so the
 * segment's entry is looked up again after each batch. */
static int read_segment(struct sealer *s, struct run *run, struct spool_segment *seg,
			int64_t now_us, int *batches)
{
	struct spool_record rec;
	int rc;

	while ((rc = spool_segment_next(seg, &rec)) == 1) {
		run->p[run->n - 1].max_seq = rec.seq;
		if (rec.seq <= s->last_seq)
			continue;          /* sealed before a crash; not yet consumed */
		if (run->records > 0 && run->body.len + rec.len + 1 > s->max_batch) {
			rc = flush(s, run, now_us);
			if (rc < 0)
				return rc;
			(*batches)++;
			rc = consume_sealed(s, run);
			if (rc < 0)
				return rc;
		}
		rc = add_record(s, run, &rec);
		if (rc < 0)
			return rc;
	}
	return rc;
}

int sealer_run(struct sealer *s, bool partial, int64_t now_us)
{
	return sealer_run_max(s, partial, now_us, 0);
}

int sealer_run_max(struct sealer *s, bool partial, int64_t now_us, unsigned max_batches)
{
	struct run run;
	struct spool_segment *seg = NULL;
	uint64_t min_first = 0;
	int batches = 0, rc;
	size_t k;

	memset(&run, 0, sizeof(run));
	buf_init(&run.body);
	if (s->tmp_left) {
		rc = recover(s);
		if (rc < 0)
			goto out;
		s->tmp_left = false;
	}
	for (;;) {
		if (max_batches > 0 && batches >= (int)max_batches) {
			/* More may wait: the records read but not sealed stay in
			 * their segments, and no partial batch is cut from them. */
			partial = false;
			break;
		}
		if (run.n == run.cap) {
			size_t cap = run.cap ? 2 * run.cap : 8;
			struct pending *p = realloc(run.p, cap * sizeof(*p));

			if (p == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			run.p = p;
			run.cap = cap;
		}
		rc = spool_reader_next_segment_from(s->r, min_first, &seg);
		if (rc == -EAGAIN)
			break;
		if (rc < 0)
			goto out;
		min_first = spool_segment_first_seq(seg) + 1;
		run.p[run.n].seg = seg;
		run.p[run.n].max_seq = 0;
		run.p[run.n].complete = false;
		run.n++;
		/* The segment now at the end of run.p is the one being read;
		 * consume_sealed() stops at it until it is complete. */
		rc = read_segment(s, &run, seg, now_us, &batches);
		if (rc < 0)
			goto out;
		run.p[run.n - 1].complete = true;
		rc = consume_sealed(s, &run);
		if (rc < 0)
			goto out;
	}
	if (partial && run.records > 0) {
		rc = flush(s, &run, now_us);
		if (rc < 0)
			goto out;
		batches++;
		rc = consume_sealed(s, &run);
		if (rc < 0)
			goto out;
	}
	rc = batches;
out:
	for (k = 0; k < run.n; k++)
		spool_segment_release(run.p[k].seg);
	free(run.p);
	buf_free(&run.body);
	return rc;
}
