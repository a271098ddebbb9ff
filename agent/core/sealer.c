/* sealer: closed spool segments -> sealed batches. See sealer.h for the
 * on-disk layout and the commit order that makes it crash-safe. */
#include "sealer.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "batch.h"
#include "buf.h"
#include "jsonw.h"
#include "log.h"
#include "spool.h"

#define CHAIN_FILE "CHAIN"
#define CHAIN_TMP ".CHAIN.tmp"
#define CHAIN_MAX 256            /* bytes; the file is about 100 */
#define NAME_SIZE 64             /* ".<20>-<20>.tmp" and "<20>-<20>.batch" */
#define SEG_NAME_SIZE 32         /* a spool segment's file name */
/* After segments were evicted under a group, this many batches are
 * committed one at a time, each as soon as it is written: the window in
 * which the budget can take a segment from under a batch is then one
 * batch, not a group. */
#define SEALER_EVICTING_BATCHES 64
/* Batches committed by one CHAIN at most (sealer.h, "Commit order"). */
#define SEALER_GROUP_MAX 16

/* A segment read but not yet consumed. */
struct pending {
	struct spool_segment *seg;
	uint64_t max_seq;            /* highest seq read from it; 0 = none */
	bool complete;               /* read to its end */
};

/* The segments being read and the batch being filled. A run that
 * sealer_run_max cut short at max_batches is kept for the next call
 * (`kept`), which goes on reading after `min_first`; any other run ends
 * with its call, and what it did not seal is read again next time. */
struct run {
	struct pending *p;
	size_t n, cap;
	struct buf body;             /* the NDJSON of the batch being filled */
	uint64_t first, last;
	uint32_t records;
	uint64_t min_first;          /* the next segment to read: first seq >= */
	bool kept;
};

/* A batch written to its .tmp file, waiting for the group's CHAIN. */
struct group_batch {
	int fd;                      /* its .tmp, written, synced at the commit */
	uint64_t first, last;
	uint32_t records;
	size_t body_len, sealed_len;
};

/* A helper thread that runs one job at a time for its owner: the owner
 * hands it a job (worker_hand), goes on with its own work, and takes the
 * result back (worker_wait). While `busy` and not `done` the job's data
 * belong to the thread, otherwise to the owner. Without a thread
 * (pthread_create failed) a job runs within worker_hand: slower, not
 * wrong. */
struct worker {
	pthread_t thread;
	bool started, busy, done, quit;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*job)(void *arg);
	void *arg;
};

/* The compressor: batch N+1 is compressed on its thread while the
 * caller's thread seals and commits batch N and reads the records of
 * N+2, so that a backlog is sealed on two CPUs (zstd is most of sealing's
 * CPU; docs/performance.md, "Uplink"). */
struct press {
	struct worker w;
	int level;
	struct buf body;             /* the batch's NDJSON */
	struct buf z;                /* its zstd frame (batch_compress) */
	uint64_t first, last;
	uint32_t records;
	int rc;
	ZSTD_CCtx *cctx;             /* used by the job only */
};

/* A spool segment that holds records of a group being committed. */
struct group_seg {
	char name[SEG_NAME_SIZE];
	uint64_t max_seq;            /* the highest seq read from it */
	bool complete;               /* read to its end */
};

/* The committer: a group's commit (sealer.h, "Commit order", steps 1-4:
 * its .tmp files synced, CHAIN, the renames, the segments deleted) waits
 * on the disk, up to a tenth of a second when the disk is busy; on its
 * own thread that wait overlaps with sealing the next group. */
struct committer {
	struct worker w;
	struct group_batch g[SEALER_GROUP_MAX];
	unsigned n;
	uint64_t last_seq;
	uint8_t hash[BATCH_HASH_SIZE];
	bool chained;                /* CHAIN names the group: committed */
	int rc;
	/* The spool segments the group's records came from and that are not
	 * consumed: if the disk budget evicted one meanwhile (and reported
	 * its records lost), the group is not committed (-ESTALE). */
	struct group_seg *segs;
	size_t n_segs, segs_cap;
};

/* A compressed batch taken from the press, being sealed and committed. */
struct slot {
	struct buf body, z;
	uint64_t first, last;
	uint32_t records;
};

struct sealer {
	char *spool_dir;
	char lane[BATCH_NAME_MAX + 1];
	char device[BATCH_NAME_MAX + 1];
	const struct batch_key *dev, *soc;
	uint32_t max_batch;
	int level;
	int dir_fd;                  /* O/<lane> */
	uint64_t last_seq;           /* every seq <= this is in a batch: in
	                              * CHAIN, or in a .tmp of the group */
	uint64_t durable_seq;        /* CHAIN's: every seq <= this is sealed */
	uint8_t hash[BATCH_HASH_SIZE];
	struct spool_reader *r;
	bool resync;                 /* a commit failed half way: CHAIN and
	                              * the .tmp files are read again */
	struct group_batch group[SEALER_GROUP_MAX];  /* .tmp, not yet in CHAIN */
	unsigned n_group;
	struct sealer_stats st;
	/* Kept from batch to batch, so that sealing a backlog touches the
	 * same pages again instead of new ones (sealer.h, "Memory"). */
	struct run run;
	struct press press;
	struct committer committer;
	int spool_lane_fd;           /* S/<lane>, for the committer; -1 */
	unsigned evicting;           /* batches left to commit one by one,
	                              * since the budget evicted under us */
	struct slot slot;
	struct buf sealed;           /* the batch being written */
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

/* Writes `len` bytes to dir/name (created or truncated) and starts their
 * write-back without waiting for it (sync_file_range); the caller syncs
 * the returned descriptor later (*fd), by when the disk has had the time
 * of a batch's compression to do it. */
static int write_unsynced(int dir_fd, const char *name, const void *data, size_t len, int *fd)
{
	const uint8_t *p = data;
	ssize_t n;
	int rc = 0;

	*fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (*fd < 0)
		return -errno;
	while (len > 0) {
		n = write(*fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			close(*fd);
			*fd = -1;
			unlinkat(dir_fd, name, 0);
			return rc;
		}
		p += n;
		len -= (size_t)n;
	}
	(void)sync_file_range(*fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	return 0;
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
		s->last_seq = s->durable_seq = 0;
		memset(s->hash, 0, sizeof(s->hash));
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
	s->last_seq = s->durable_seq = last;
out:
	if (rc == -EBADMSG)
		log_error("sealer %s: %s is damaged; not restarting the hash chain", s->lane,
			  CHAIN_FILE);
	buf_free(&b);
	return rc;
}

/* CHAIN is replaced in two halves: the new content is written and synced
 * to .CHAIN.tmp, then renamed over CHAIN (the commit) and the directory
 * synced. */
static int chain_prepare(struct sealer *s, uint64_t last, const uint8_t hash[BATCH_HASH_SIZE])
{
	char line[CHAIN_MAX];
	int n, i;

	n = snprintf(line, sizeof(line), "ward-chain 1 %" PRIu64 " ", last);
	for (i = 0; i < BATCH_HASH_SIZE; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%02x", hash[i]);
	n += snprintf(line + n, sizeof(line) - (size_t)n, "\n");
	return write_file(s->dir_fd, CHAIN_TMP, line, (size_t)n);
}

/* Renames .CHAIN.tmp over CHAIN (the commit), if every segment named in
 * segs[n] is still in the spool lane directory spool_fd (-ESTALE if one
 * is gone). The check and the rename are made under an flock of the
 * outbox lane directory, which the disk budget takes to claim a segment
 * (spool_budget.c, evict_seg_claim): no record is both committed here and
 * counted lost there. Then the directory is synced. */
static int chain_commit(struct sealer *s, int spool_fd, const struct group_seg *segs, size_t n)
{
	size_t i;
	int rc = 0;

	if (flock(s->dir_fd, LOCK_EX) != 0)
		return -errno;
	for (i = 0; i < n && spool_fd >= 0 && rc == 0; i++)
		if (faccessat(spool_fd, segs[i].name, F_OK, 0) != 0 && errno == ENOENT)
			rc = -ESTALE;
	if (rc == 0 && renameat(s->dir_fd, CHAIN_TMP, s->dir_fd, CHAIN_FILE) != 0)
		rc = -errno;
	(void)flock(s->dir_fd, LOCK_UN);
	return rc == 0 ? fsync_dir(s->dir_fd) : rc;
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

struct tmp_file {
	char name[NAME_SIZE];
	uint8_t hash[BATCH_HASH_SIZE];
	uint8_t prev[BATCH_HASH_SIZE];
	bool valid, committed;
};

/* Finishes or discards the .tmp batches a crash left behind. A .tmp is
 * committed when CHAIN names its hash, or when it is the batch before a
 * committed one (its hash is that batch's prev hash): one CHAIN commits a
 * group of batches (sealer.h, "Commit order"). A torn or damaged .tmp
 * cannot hash to a value on the chain. */
static int recover(struct sealer *s)
{
	struct buf b = BUF_INIT;
	struct tmp_file *t = NULL;
	struct batch_hdr h;
	uint8_t want[BATCH_HASH_SIZE];
	char final[NAME_SIZE];
	struct dirent *de;
	size_t n = 0, cap = 0, i;
	bool found;
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
		size_t len = strlen(de->d_name);

		if (!tmp_to_final(de->d_name, final, sizeof(final)) || len >= NAME_SIZE)
			continue;
		if (n == cap) {
			struct tmp_file *nt = realloc(t, (cap ? 2 * cap : 8) * sizeof(*t));

			if (nt == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			t = nt;
			cap = cap ? 2 * cap : 8;
		}
		memset(&t[n], 0, sizeof(t[n]));
		memcpy(t[n].name, de->d_name, len + 1);
		buf_reset(&b);
		t[n].valid = read_file(s->dir_fd, de->d_name,
				       (size_t)BATCH_BODY_MAX + BATCH_BODY_MAX / 128 + 4096, &b) == 0 &&
			     batch_hash(b.data, b.len, t[n].hash) == 0 &&
			     batch_parse_header(b.data, b.len, &h) == 0;
		if (t[n].valid)
			memcpy(t[n].prev, h.prev_hash, sizeof(t[n].prev));
		n++;
	}
	/* Walk the chain back from CHAIN through the .tmp files. */
	memcpy(want, s->hash, sizeof(want));
	do {
		found = false;
		for (i = 0; i < n && !found; i++) {
			if (t[i].valid && !t[i].committed && memcmp(t[i].hash, want, sizeof(want)) == 0) {
				t[i].committed = found = true;
				memcpy(want, t[i].prev, sizeof(want));
			}
		}
	} while (found);
	for (i = 0; i < n; i++) {
		if (t[i].committed) {
			/* CHAIN was committed: the batch is sealed; publish it. */
			tmp_to_final(t[i].name, final, sizeof(final));
			if (renameat(s->dir_fd, t[i].name, s->dir_fd, final) != 0) {
				rc = -errno;
				goto out;
			}
			s->st.recovered_tmp++;
			log_info("sealer %s: completed %s after a crash", s->lane, final);
		} else {
			/* Never committed: its records are still in the spool. */
			if (unlinkat(s->dir_fd, t[i].name, 0) != 0 && errno != ENOENT) {
				rc = -errno;
				goto out;
			}
			s->st.discarded_tmp++;
		}
	}
	if (n > 0)
		rc = fsync_dir(s->dir_fd);
out:
	closedir(d);
	free(t);
	buf_free(&b);
	return rc;
}

static void trim(struct sealer *s);
static void group_drop(struct sealer *s);

/* Ends the run: releases its segments unconsumed (their records not yet
 * sealed are read again by the next run) and empties its batch. */
static void run_end(struct sealer *s)
{
	struct run *run = &s->run;
	size_t k;

	for (k = 0; k < run->n; k++)
		spool_segment_release(run->p[k].seg);
	run->n = 0;
	buf_reset(&run->body);
	run->records = 0;
	run->min_first = 0;
	run->kept = false;
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
	s->spool_lane_fd = -1;
	strcpy(s->lane, o->lane);
	strcpy(s->device, o->device_id);
	s->dev = o->device;
	s->soc = o->soc;
	s->max_batch = o->max_batch_bytes != 0 ? o->max_batch_bytes : SEALER_MAX_BATCH_DEFAULT;
	s->level = o->zstd_level;
	buf_init(&s->run.body);
	buf_init(&s->sealed);
	buf_init(&s->press.body);
	buf_init(&s->press.z);
	buf_init(&s->slot.body);
	buf_init(&s->slot.z);
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
	group_drop(s);
	trim(s);                     /* stops the compressor thread */
	run_end(s);                  /* its segments belong to the reader */
	free(s->run.p);
	spool_reader_close(s->r);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	if (s->spool_lane_fd >= 0)
		close(s->spool_lane_fd);
	free(s->committer.segs);
	free(s->spool_dir);
	free(s);
}

void sealer_get_stats(const struct sealer *s, struct sealer_stats *st)
{
	struct spool_reader_stats rs;

	*st = s->st;
	st->last_seq = s->last_seq;
	spool_reader_get_stats(s->r, &rs);
	st->segments_read = rs.segments_read;
}

/* ---- sealing ------------------------------------------------------------------------ */

static void tmp_name(char *dst, uint64_t first, uint64_t last)
{
	snprintf(dst, NAME_SIZE, ".%020" PRIu64 "-%020" PRIu64 ".tmp", first, last);
}

/* Forgets the group's .tmp files (closes them): committed, or to be
 * judged by recovery. */
static void group_drop(struct sealer *s)
{
	unsigned i;

	for (i = 0; i < s->n_group; i++)
		if (s->group[i].fd >= 0)
			close(s->group[i].fd);
	s->n_group = 0;
}

/* ---- helper threads ------------------------------------------------------------ */

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->quit && !(w->busy && !w->done))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->quit)
			break;
		pthread_mutex_unlock(&w->mu);
		w->job(w->arg);
		pthread_mutex_lock(&w->mu);
		w->done = true;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Hands `job(arg)` to the worker, which must be idle (its thread is
 * started on first use). */
static void worker_hand(struct worker *w, void (*job)(void *), void *arg)
{
	if (!w->started) {
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
		w->quit = w->busy = w->done = false;
		w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
		if (!w->started) {
			pthread_cond_destroy(&w->cv);
			pthread_mutex_destroy(&w->mu);
		}
	}
	w->job = job;
	w->arg = arg;
	if (!w->started) {
		job(arg);
		w->busy = w->done = true;
		return;
	}
	pthread_mutex_lock(&w->mu);
	w->busy = true;
	w->done = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Waits for the job handed over, if any; false when there was none. The
 * worker is idle afterwards. */
static bool worker_wait(struct worker *w)
{
	if (!w->busy)
		return false;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		while (!w->done)
			pthread_cond_wait(&w->cv, &w->mu);
		pthread_mutex_unlock(&w->mu);
	}
	w->busy = w->done = false;
	return true;
}

/* Waits for the job, if any, and ends the thread. */
static void worker_stop(struct worker *w)
{
	(void)worker_wait(w);
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
}

static void tmp_final_names(char *tmp, char *final, const struct group_batch *g)
{
	tmp_name(tmp, g->first, g->last);
	snprintf(final, NAME_SIZE, "%020" PRIu64 "-%020" PRIu64 ".batch", g->first, g->last);
}

/* Commits the committer's group: its .tmp files synced (step 1 done),
 * CHAIN names its last batch (step 2), each .tmp renamed to its .batch
 * name (step 3), and the segments it covers whole deleted (step 4; the
 * sealer's consume then finds them gone). Runs on the committer thread;
 * touches only the group, CHAIN and those segments.
 *
 * The disk budget may evict a segment of the lane at any time and report
 * its records lost: they must not also be delivered. So the segments are
 * checked, under the lock the budget's claim takes, just before CHAIN's
 * rename (chain_commit): a segment gone drops the group (-ESTALE; it is
 * sealed again from what the spool still holds), and one claimed after
 * the commit is counted by the budget against the new CHAIN. */
static void commit_group(struct sealer *s, struct committer *c)
{
	char tmp[NAME_SIZE], final[NAME_SIZE];
	unsigned i;
	int rc = 0;

	for (i = 0; i < c->n && rc == 0; i++)
		if (fdatasync(c->g[i].fd) != 0)
			rc = -errno;
	if (rc == 0)
		rc = chain_prepare(s, c->last_seq, c->hash);
	if (rc == 0)
		rc = chain_commit(s, s->spool_lane_fd, c->segs, c->n_segs);
	c->chained = rc == 0;
	for (i = 0; c->chained && i < c->n_segs; i++)
		if (c->segs[i].complete && c->segs[i].max_seq <= c->last_seq)
			(void)unlinkat(s->spool_lane_fd, c->segs[i].name, 0);
	for (i = 0; c->chained && i < c->n; i++) {
		tmp_final_names(tmp, final, &c->g[i]);
		if (renameat(s->dir_fd, tmp, s->dir_fd, final) != 0)
			rc = -errno;   /* committed: recovery publishes it */
	}
	/* No fsync of the directory for the renames: after a crash that
	 * loses one, recovery redoes it; the next group's CHAIN makes them
	 * durable. */
	for (i = 0; i < c->n; i++)
		close(c->g[i].fd);
	c->rc = rc;
}

static void commit_job(void *arg)
{
	struct sealer *s = arg;

	commit_group(s, &s->committer);
}

/* Waits for the group being committed, if any, and takes in its result:
 * its seqs are durable (segments may be consumed) and counted. Returns 0
 * or the commit's -errno; then the next call resyncs with the disk. */
static int commit_collect(struct sealer *s)
{
	struct committer *c = &s->committer;
	unsigned i;

	if (!worker_wait(&c->w))
		return 0;
	if (c->chained) {
		s->durable_seq = c->last_seq;
		for (i = 0; i < c->n; i++) {
			s->st.batches++;
			s->st.records += c->g[i].records;
			s->st.body_bytes += c->g[i].body_len;
			s->st.sealed_bytes += c->g[i].sealed_len;
		}
	}
	if (c->rc == -ESTALE) {
		s->resync = true;
		s->evicting = SEALER_EVICTING_BATCHES;
		log_info("sealer %s: the disk budget evicted segments of the batches up to seq "
			 "%" PRIu64 " while they were sealed; sealing again what remains", s->lane,
			 c->last_seq);
	} else if (c->rc < 0) {
		s->resync = true;
		log_error("sealer %s: cannot commit seqs up to %" PRIu64 ": %s", s->lane,
			  c->last_seq, strerror(-c->rc));
	}
	c->n = 0;
	return c->rc;
}

/* Lists for the committer the run's segments that hold records of the
 * group and are not about to be consumed (all their records durable). */
static int segs_list(struct sealer *s)
{
	struct committer *c = &s->committer;
	const struct run *run = &s->run;
	size_t k;

	if (s->spool_lane_fd < 0) {
		char *path = NULL;

		if (asprintf(&path, "%s/%s", s->spool_dir, s->lane) < 0)
			return -ENOMEM;
		s->spool_lane_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(path);
		if (s->spool_lane_fd < 0)
			return -errno;
	}
	c->n_segs = 0;
	for (k = 0; k < run->n; k++) {
		const struct pending *p = &run->p[k];

		if (spool_segment_first_seq(p->seg) > s->last_seq ||
		    (p->complete && p->max_seq <= s->durable_seq))
			continue;
		if (c->n_segs == c->segs_cap) {
			size_t cap = c->segs_cap ? 2 * c->segs_cap : 32;
			struct group_seg *n = realloc(c->segs, cap * sizeof(*n));

			if (n == NULL)
				return -ENOMEM;
			c->segs = n;
			c->segs_cap = cap;
		}
		snprintf(c->segs[c->n_segs].name, SEG_NAME_SIZE, "%s", spool_segment_file(p->seg));
		c->segs[c->n_segs].max_seq = p->max_seq;
		c->segs[c->n_segs].complete = p->complete;
		c->n_segs++;
	}
	return 0;
}

/* Hands the group to the committer (after the previous one's result is
 * in). Without a thread the group is committed here and now. */
static int commit_start(struct sealer *s)
{
	struct committer *c = &s->committer;
	int rc = commit_collect(s);

	if (rc < 0 || s->n_group == 0)
		return rc;
	rc = segs_list(s);
	if (rc < 0)
		return rc;
	memcpy(c->g, s->group, s->n_group * sizeof(s->group[0]));
	c->n = s->n_group;
	s->n_group = 0;              /* the fds are the committer's now */
	c->last_seq = s->last_seq;
	memcpy(c->hash, s->hash, sizeof(c->hash));
	c->rc = 0;
	c->chained = false;
	worker_hand(&c->w, commit_job, s);
	return 0;
}

static void committer_stop(struct sealer *s)
{
	(void)commit_collect(s);
	worker_stop(&s->committer.w);
}

/* Seals the batch in s->slot (compressed already) and writes it to its
 * .tmp file (sealer.h, step 1); the group it joins goes to the committer
 * when full and at the end of the run. Returns 1 when the previous
 * group's result came in (segments may be consumed), else 0, or -errno. */
static int commit_slot(struct sealer *s, int64_t now_us)
{
	const struct slot *sl = &s->slot;
	struct batch_seal_opts o = { s->level, NULL, NULL, 0, NULL, &sl->z };
	struct batch_hdr h;
	struct buf *b = &s->sealed;
	struct group_batch *g;
	uint8_t hash[BATCH_HASH_SIZE];
	char tmp[NAME_SIZE];
	int rc;

	memset(&h, 0, sizeof(h));
	strcpy(h.device, s->device);
	strcpy(h.lane, s->lane);
	h.first_seq = sl->first;
	h.last_seq = sl->last;
	h.records = sl->records;
	h.created_us = now_us;
	memcpy(h.prev_hash, s->hash, sizeof(h.prev_hash));
	buf_reset(b);
	rc = batch_seal(b, &h, sl->body.data, sl->body.len, s->dev, s->soc, &o);
	if (rc < 0)
		goto out;
	rc = batch_hash(b->data, b->len, hash);
	if (rc < 0)
		goto out;
	tmp_name(tmp, sl->first, sl->last);
	g = &s->group[s->n_group];
	rc = write_unsynced(s->dir_fd, tmp, b->data, b->len, &g->fd);
	if (rc < 0)
		goto out;
	s->n_group++;
	s->last_seq = sl->last;
	memcpy(s->hash, hash, sizeof(hash));
	g->first = sl->first;
	g->last = sl->last;
	g->records = sl->records;
	g->body_len = sl->body.len;
	g->sealed_len = b->len;
	if (s->evicting > 0) {
		/* The disk budget is evicting this lane's segments: commit
		 * each batch at once, the way to win the race for them. */
		rc = commit_start(s);
		if (rc == 0)
			rc = commit_collect(s);
		if (rc == 0 && s->evicting > 0)
			s->evicting--;
		return rc < 0 ? rc : 1;
	}
	if (s->n_group == SEALER_GROUP_MAX) {
		rc = commit_start(s);
		return rc < 0 ? rc : 1;
	}
out:
	if (rc < 0) {
		s->resync = true;
		log_error("sealer %s: sealing seqs %" PRIu64 "-%" PRIu64 ": %s", s->lane,
			  sl->first, sl->last, batch_strerror(rc));
	}
	return rc;
}

static void press_job(void *arg)
{
	struct press *p = arg;

	if (p->cctx == NULL)
		p->cctx = ZSTD_createCCtx();   /* NULL: batch_compress makes one */
	buf_reset(&p->z);
	p->rc = batch_compress(&p->z, p->body.data, p->body.len, p->level, p->cctx);
}

/* Hands the run's batch to the press (which must be idle) and gives the
 * run an empty body. */
static void press_start(struct sealer *s, struct run *run)
{
	struct press *p = &s->press;
	struct buf t;

	t = p->body;
	p->body = run->body;
	run->body = t;
	buf_reset(&run->body);
	p->first = run->first;
	p->last = run->last;
	p->records = run->records;
	p->level = s->level;
	run->records = 0;
	worker_hand(&p->w, press_job, p);
}

/* Waits for the press's batch and moves it into s->slot; the press is
 * idle again. Returns the compression's result, or 1 when the press was
 * idle already (nothing taken). */
static int press_take(struct sealer *s)
{
	struct press *p = &s->press;
	struct buf t;

	if (!worker_wait(&p->w))
		return 1;
	t = s->slot.body;
	s->slot.body = p->body;
	p->body = t;
	t = s->slot.z;
	s->slot.z = p->z;
	p->z = t;
	s->slot.first = p->first;
	s->slot.last = p->last;
	s->slot.records = p->records;
	return p->rc;
}

static void press_stop(struct press *p)
{
	worker_stop(&p->w);
	ZSTD_freeCCtx(p->cctx);
	p->cctx = NULL;
}

/* Gives back what sealer_run keeps between batches (sealer.h, "Memory"),
 * and stops the compressor thread. */
static void trim(struct sealer *s)
{
	press_stop(&s->press);
	committer_stop(s);
	buf_free(&s->press.body);
	buf_free(&s->press.z);
	buf_free(&s->slot.body);
	buf_free(&s->slot.z);
	buf_free(&s->run.body);
	buf_free(&s->sealed);
	spool_reader_trim(s->r);
}

/* Consumes, oldest first, the segments whose records are all sealed. */
static int consume_sealed(struct sealer *s, struct run *run)
{
	size_t k = 0;
	int rc = 0;

	while (k < run->n && run->p[k].complete && run->p[k].max_seq <= s->durable_seq) {
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
		uint8_t *nl = memchr(run->body.data + i, '\n', run->body.len - 1 - i);

		if (nl == NULL)
			break;
		*nl = ' ';
		s->st.newlines_replaced++;
		i = (size_t)(nl - run->body.data);
	}
	if (run->records == 0)
		run->first = rec->seq;
	run->last = rec->seq;
	run->records++;
	return 0;
}

/* Takes the batch the press holds, if any, and writes it to its .tmp
 * file (its group may commit; the segments a commit finished are then
 * consumed). With `refill`, the run's full batch goes to the press first,
 * so that its compression overlaps with that writing. Returns 0 or
 * -errno. */
static int press_cycle(struct sealer *s, struct run *run, int64_t now_us, bool refill)
{
	int rc = press_take(s);

	if (refill)
		press_start(s, run);
	if (rc == 1)
		return 0;
	if (rc == 0)
		rc = commit_slot(s, now_us);
	if (rc == 1)
		rc = consume_sealed(s, run);
	return rc;
}

/* Reads the run's newest segment (the last in run->p), cutting a batch
 * each time one fills up. consume_sealed() may move run->p's entries, so
 * the segment's entry is looked up again after each batch. *begun counts
 * the batches cut. */
static int read_segment(struct sealer *s, struct run *run, struct spool_segment *seg,
			int64_t now_us, int *begun)
{
	struct spool_record rec;
	int rc;

	while ((rc = spool_segment_next(seg, &rec)) == 1) {
		run->p[run->n - 1].max_seq = rec.seq;
		if (rec.seq <= s->last_seq)
			continue;          /* sealed before a crash; not yet consumed */
		if (run->records > 0 && run->body.len + rec.len + 1 > s->max_batch) {
			rc = press_cycle(s, run, now_us, true);
			if (rc < 0)
				return rc;
			(*begun)++;
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

static int run_once(struct sealer *s, bool partial, int64_t now_us, unsigned max_batches);

int sealer_run_max(struct sealer *s, bool partial, int64_t now_us, unsigned max_batches)
{
	int rc, tries = 0;

	/* Segments evicted under the sealer (-ESTALE): nothing was sealed
	 * from them; what remains is sealed again at once, a few times,
	 * since the budget goes on evicting while the lane is over it. */
	do
		rc = run_once(s, partial, now_us, max_batches);
	while (rc == -ESTALE && ++tries < 4);
	return rc == -ESTALE ? 0 : rc;
}

static int run_once(struct sealer *s, bool partial, int64_t now_us, unsigned max_batches)
{
	struct run *run = &s->run;
	struct spool_segment *seg = NULL;
	int begun = 0, rc;
	bool cut = false;

	if (!run->kept)
		run_end(s);
	run->kept = false;
	if (s->resync) {
		/* Back to what the disk says: CHAIN, then the .tmp files. */
		(void)commit_collect(s);
		group_drop(s);
		rc = chain_load(s);
		if (rc == 0)
			rc = recover(s);
		if (rc < 0)
			goto out;
		s->resync = false;
	}
	for (;;) {
		if (max_batches > 0 && begun >= (int)max_batches) {
			/* More may wait: the run is kept as it is, its records
			 * read but not sealed go on into the next call's batch,
			 * and no partial batch is cut from them. */
			cut = true;
			partial = false;
			break;
		}
		if (run->n == run->cap) {
			size_t cap = run->cap ? 2 * run->cap : 8;
			struct pending *p = realloc(run->p, cap * sizeof(*p));

			if (p == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			run->p = p;
			run->cap = cap;
		}
		rc = spool_reader_next_segment_from(s->r, run->min_first, &seg);
		if (rc == -EAGAIN)
			break;
		if (rc < 0)
			goto out;
		run->min_first = spool_segment_first_seq(seg) + 1;
		run->p[run->n].seg = seg;
		run->p[run->n].max_seq = 0;
		run->p[run->n].complete = false;
		run->n++;
		/* The segment now at the end of run->p is the one being read;
		 * consume_sealed() stops at it until it is complete. */
		rc = read_segment(s, run, seg, now_us, &begun);
		if (rc < 0)
			goto out;
		run->p[run->n - 1].complete = true;
		spool_segment_drop_data(seg);   /* every record is in a body now */
		rc = consume_sealed(s, run);
		if (rc < 0)
			goto out;
	}
	/* A run cut short goes on with the next call: the batch in the
	 * press and the group stay as they are. One that caught up writes
	 * the batch in the press, then what remains (partial), and commits
	 * the group before it returns. */
	rc = 0;
	if (!cut) {
		rc = press_cycle(s, run, now_us, false);
		if (rc == 0 && partial && run->records > 0) {
			press_start(s, run);
			begun++;
			rc = press_cycle(s, run, now_us, false);
		}
		if (rc >= 0)
			rc = commit_start(s);
		if (rc >= 0)
			rc = commit_collect(s);
	}
	if (rc >= 0)
		rc = consume_sealed(s, run);
	if (rc >= 0)
		rc = begun;
out:
	if (rc >= 0 && cut) {
		run->kept = true;
		return rc;
	}
	(void)press_take(s);         /* after a failure: wait for the thread */
	run_end(s);
	if (rc < 0) {
		/* The .tmp files of an unfinished group are judged on the
		 * next call, against CHAIN. */
		if (s->n_group > 0)
			s->resync = true;
		trim(s);
	}
	return rc;
}

void sealer_trim(struct sealer *s)
{
	if (s->run.kept || s->n_group > 0 || s->press.w.busy) {
		/* Work in flight is given up: the next call starts again from
		 * CHAIN and the spool (the .tmp files judged by recovery). */
		s->resync = true;
		group_drop(s);
	}
	if (s->run.kept)
		run_end(s);
	trim(s);
}
