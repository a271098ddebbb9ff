/* spool writer: one lane's open segment, group commit (on the caller's
 * thread or on a libuv worker thread), rotation and recovery.
 *
 * Durability rules this file keeps (DESIGN.md, spool.h):
 *  - A record is durable only after write() and fdatasync() of its bytes;
 *    the bytes stay in our buffer until then, so a failed fdatasync (whose
 *    dirty pages the kernel may already have dropped) is repaired by
 *    writing them again rather than by hoping.
 *  - A segment file grows only at its end, in seq order: one commit at a
 *    time writes, and nothing else writes while it runs. A kill at any
 *    point therefore leaves a prefix of the appended records (and at most
 *    a torn tail), never a hole.
 *  - A segment is closed only once all its bytes are durable. Rotation
 *    creates the next .open (named by its first seq) and makes that name
 *    durable before renaming the full one to .seg. At every instant some
 *    file name or record in the lane therefore proves how far seq has
 *    gone, even if a reader deletes every closed segment.
 *  - Recovery never refuses to start over damaged data. It cuts a torn
 *    tail (quarantining the bytes), closes every leftover .open, and
 *    resumes at max(last valid seq + 1, highest first seq in any name).
 *
 * Group commit runs in one of two ways. Synchronously, spool_lane_commit()
 * writes and syncs on the caller's thread, and an append that fills the
 * buffer commits first. Asynchronously (spool_lane_commit_async()), the
 * lane double-buffers: a commit takes the filled buffer (`front`) to a
 * libuv worker thread while appends go on into the other one (`cur`); a
 * rotation that falls due meanwhile is remembered as a split point in
 * `cur` and carried out when the commit holding the closing segment's last
 * byte has finished.
 */
#include "spool.h"
#include "spool_internal.h"

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

#include <uv.h>

#include "clock.h"
#include "crc32c.h"
#include "log.h"

/* Unwritten bytes are handed to the kernel once this many are buffered,
 * so a commit has little left to write and page cache fills smoothly.
 * Synchronous lanes only: an asynchronous one leaves every write to the
 * worker, which keeps it off the loop thread. */
#define SPOOL_WRITE_CHUNK (256u * 1024)
/* Buffered (not yet durable) bytes are capped here: an append that would
 * pass it commits first. This bounds memory per lane even when a producer
 * never commits, at the cost of one fdatasync per SPOOL_SYNC_CAP bytes. It
 * matches the default segment size, so with the defaults a segment close
 * (which commits anyway) usually comes first; a 1 MiB cap cost four times
 * the fdatasyncs in `spool_torture bench` for no gain.
 * An asynchronous lane never commits inside an append; this is the most
 * its second buffer takes while a commit is in flight (then -EAGAIN), so a
 * lane holds at most twice this, plus a record, in memory. */
#define SPOOL_SYNC_CAP (4u * 1024 * 1024)
/* An asynchronous lane starts a commit once this much is buffered and
 * none is in flight, so that under load the worker is always writing while
 * the loop thread parses. Smaller means more fdatasyncs; larger means the
 * second buffer reaches SPOOL_SYNC_CAP (and producers pause) more often
 * when a commit is slow. See docs/performance.md for the measurements. */
#define SPOOL_ASYNC_START (1u * 1024 * 1024)
#define SPOOL_DEFAULT_SEGMENT_BYTES (4u * 1024 * 1024)
#define SPOOL_MIN_SEGMENT_BYTES 64u

/* Appended bytes not yet durable, and how many of them are already in the
 * file. `p` stays allocated when the run is empty, for reuse. */
struct lane_buf {
	uint8_t *p;
	size_t len, cap, written;
	uint64_t last_seq;          /* of its last record (front only) */
};

/* One commit: `len` bytes at offset `off` of segment `fd`. Made on the
 * lane's thread; spool_commit_run() touches only this and the fd, and
 * reports through `done` under `mu`. */
struct spool_commit {
	uv_work_t work;             /* for spool_lane_commit_async() */
	struct spool_lane *lane;    /* NULL once settled by a synchronous call */
	int fd;
	const uint8_t *p;           /* the lane's front buffer, lent until settled */
	size_t len, written;
	uint64_t off;
	uint8_t hdr[SPOOL_SEG_HDR_SIZE];
	bool with_hdr;              /* the segment's first commit: header again */
	bool settled;               /* the outcome is applied to the lane */
	int rc;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;                  /* under mu */
};

struct spool_lane {
	char *spool_dir;
	char name[SPOOL__LANE_NAME_MAX + 1];
	enum spool_class cls;
	uint64_t seg_max;
	uint32_t age_ms;
	uint32_t max_record;
	uint64_t hard_limit;

	int spool_fd;
	int lane_fd;                /* also holds the flock: one writer per lane */

	/* The open segment; seg_fd is -1 when none could be created (disk
	 * full) and the next append retries. */
	int seg_fd;
	uint64_t seg_first;
	uint64_t seg_synced;        /* file bytes known durable */
	uint64_t seg_records;       /* records in it, buffered ones included */
	uint64_t seg_first_ms;      /* CLOCK_MONOTONIC ms of its first record */
	uint8_t seg_hdr[SPOOL_SEG_HDR_SIZE];
	bool seg_hdr_ok;            /* seg_hdr is what creation wrote */

	/* The bytes after seg_synced, in file order: `front` (taken by a
	 * commit, or kept by a failed one to be written again), then `cur`,
	 * which appends fill. With nothing taken, front is empty and its
	 * memory is the spare half of the double buffer. */
	struct lane_buf front, cur;
	struct spool_commit *job;   /* in flight; front is lent to it */
	int commit_err;             /* of the last commit, 0 once one succeeds */

	/* A rotation waiting for a commit: cur[rot_off..] and every later
	 * append belong to the next segment, whose first seq is rot_seq
	 * (0: none waiting). */
	uint64_t rot_seq;
	size_t rot_off;
	uint64_t rot_first_ms;      /* of the next segment's first record */

	/* Set by spool_lane_commit_async(); appends then start commits too. */
	uv_loop_t *loop;
	spool_commit_cb cb;
	void *cb_arg;
	bool commit_again;          /* asked for while one was in flight */

	uint64_t next_seq;
	uint64_t durable_seq;
	uint64_t usage_bytes;       /* last reported spool size + our growth since */
	struct spool_lane_stats st;
};

static int lane_commit(struct spool_lane *l);

/* ---- small helpers ----------------------------------------------------- */

static int rename_noreplace(int dirfd, const char *from, const char *to)
{
	if (renameat2(dirfd, from, dirfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* File systems without RENAME_NOREPLACE: check, then rename. Only
	 * this lane's writer creates these names, so the window is moot. */
	if (faccessat(dirfd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	return renameat(dirfd, from, dirfd, to) < 0 ? -errno : 0;
}

/* The seq after `s`. UINT64_MAX is the end of a lane's seq space (only a
 * damaged but CRC-valid frame could bring a lane near it): it saturates,
 * and appends then fail with -EOVERFLOW instead of wrapping to reuse. */
static uint64_t seq_after(uint64_t s)
{
	return s == UINT64_MAX ? s : s + 1;
}

static bool is_enospc(int rc)
{
	return rc == -ENOSPC || rc == -EDQUOT;
}

static int buf_reserve(struct lane_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64 * 1024;
	uint8_t *p;

	while (cap < need)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Whether the .open `file` holds no valid record. With one writer per
 * lane, a file named by our next seq can hold none, but a check costs
 * little and this path is rare. */
static bool open_is_empty(struct spool_lane *l, const char *file)
{
	uint8_t *data = NULL;
	size_t len = 0, end;
	bool empty;

	if (spool__read_file(l->lane_fd, file, &data, &len) < 0)
		return false;
	end = spool_scan(data, len, SPOOL__MAX_RECORD_BYTES, NULL, NULL, NULL);
	empty = end <= SPOOL_SEG_HDR_SIZE;
	free(data);
	return empty;
}

/* Creates <seq>.open with a fresh header (also returned in `hdr`) and
 * makes its name durable with a directory fsync. O_EXCL unless `reuse`,
 * which truncates an existing empty one in place. Returns the fd or
 * -errno; a half-made new file is removed.
 *
 * The header is deliberately not fdatasync'd: nothing depends on it being
 * durable before the segment's first commit. Recovery takes the seq floor
 * from file names and the rest from records; it never trusts a header's
 * seq, and it treats a .open without a valid record (empty, torn, or with
 * a zeroed header) as holding nothing but its name. So after a power cut
 *  - before the directory fsync: the file may be missing, but the segment
 *    it follows (still .open, since its rename comes after this) holds
 *    every record up to seq - 1, which gives the same floor;
 *  - after it, before the first commit: the name is there and is the
 *    floor; whatever part of the header survived is cut or ignored;
 *  - after the first commit: that commit writes the header again and its
 *    fdatasync makes header and records durable together.
 * A reader can only delete the previous segment once it is renamed to
 * .seg, which happens after this name is durable. This saves one fdatasync
 * per segment: half of the syncs that rotation used to cost. */
static int seg_file_create(struct spool_lane *l, uint64_t seq, bool reuse,
			   uint8_t hdr[SPOOL_SEG_HDR_SIZE])
{
	char file[SPOOL__FILE_NAME_SIZE];
	int fd, rc, flags = O_WRONLY | O_CREAT | O_CLOEXEC;

	spool__file_name(file, seq, SPOOL__F_OPEN);
	flags |= reuse ? O_TRUNC : O_EXCL;
	fd = openat(l->lane_fd, file, flags, 0640);
	if (fd < 0 && errno == EEXIST && open_is_empty(l, file)) {
		/* A leftover empty segment with our name (a rotation that
		 * failed half way on a full disk): take it over. */
		reuse = true;
		fd = openat(l->lane_fd, file, O_WRONLY | O_TRUNC | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	spool__hdr_encode(hdr, l->cls, seq, clock_wall_us());
	rc = spool__pwrite_full(fd, hdr, SPOOL_SEG_HDR_SIZE, 0);
	if (rc == 0)
		rc = spool__fsync_dir(l->lane_fd);
	if (rc < 0) {
		close(fd);
		/* An empty or partial .open is harmless to recovery (its name
		 * is only a floor), but do not leave litter on a full disk. */
		if (!reuse)
			unlinkat(l->lane_fd, file, 0);
		return rc;
	}
	l->usage_bytes += SPOOL_SEG_HDR_SIZE;
	return fd;
}

/* `hdr` is the header creation wrote, or NULL for a recovered segment. */
static void seg_set_current(struct spool_lane *l, int fd, uint64_t first,
			    uint64_t synced, uint64_t records, const uint8_t *hdr)
{
	l->seg_fd = fd;
	l->seg_first = first;
	l->seg_synced = synced;
	l->seg_records = records;
	l->seg_first_ms = records > 0 ? clock_mono_ms() : 0;
	l->seg_hdr_ok = hdr != NULL;
	if (hdr != NULL)
		memcpy(l->seg_hdr, hdr, SPOOL_SEG_HDR_SIZE);
}

/* Hands cur's bytes to the kernel (synchronous lanes, with nothing in
 * front of cur). On a short write the progress is kept, so a retry
 * continues exactly where the file ends. */
static int write_out(struct spool_lane *l)
{
	struct lane_buf *b = &l->cur;
	ssize_t n;

	while (b->written < b->len) {
		n = pwrite(l->seg_fd, b->p + b->written, b->len - b->written,
			   (off_t)(l->seg_synced + b->written));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b->written += (size_t)n;
	}
	return 0;
}

static void count_error(struct spool_lane *l, int rc, bool append)
{
	if (append && rc == -EAGAIN)
		l->st.append_busy++;
	else if (append && is_enospc(rc))
		l->st.append_enospc++;
	else if (append)
		l->st.append_errors++;
	else
		l->st.commit_errors++;
}

/* ---- rotation ---------------------------------------------------------- */

/* Starts segment `first` and closes the current one, every byte of which
 * is durable. Order matters for crash safety: the new .open's name is
 * durable before the old one is renamed, so a crash in between leaves two
 * .open files, which recovery closes in seq order. On failure the old
 * segment stays current. The caller sets seg_records and seg_first_ms. */
static int lane_switch(struct spool_lane *l, uint64_t first)
{
	char from[SPOOL__FILE_NAME_SIZE], to[SPOOL__FILE_NAME_SIZE];
	uint8_t hdr[SPOOL_SEG_HDR_SIZE];
	int fd, rc;

	fd = seg_file_create(l, first, false, hdr);
	if (fd < 0)
		return fd;
	spool__file_name(from, l->seg_first, SPOOL__F_OPEN);
	spool__file_name(to, l->seg_first, SPOOL__F_SEG);
	rc = rename_noreplace(l->lane_fd, from, to);
	if (rc < 0) {
		close(fd);
		spool__file_name(from, first, SPOOL__F_OPEN);
		unlinkat(l->lane_fd, from, 0);
		return rc;
	}
	/* The rename is done; if the directory sync fails, a power cut may
	 * undo it and recovery will close the segment again. */
	rc = spool__fsync_dir(l->lane_fd);
	if (rc < 0)
		log_warn("spool: %s: directory sync after closing %s: %s", l->name, to,
			 strerror(-rc));
	close(l->seg_fd);
	seg_set_current(l, fd, first, SPOOL_SEG_HDR_SIZE, 0, hdr);
	l->st.segments_closed++;
	return 0;
}

/* Commits everything, then closes the current segment if it holds
 * records (synchronously, on the caller's thread). */
static int lane_rotate(struct spool_lane *l)
{
	int rc = lane_commit(l);

	if (rc < 0 || l->seg_records == 0)
		return rc;
	return lane_switch(l, l->next_seq);
}

/* Closes the current segment (which holds records) as soon as its bytes
 * are durable: now if they already are, else when the commit carrying its
 * last byte finishes. Appends from here on go to the next segment.
 * Returns 1 when it closed now, 0 when that is deferred, or -errno. */
static int lane_rotate_mark(struct spool_lane *l)
{
	int rc;

	if (l->rot_seq != 0)
		return 0;
	if (l->front.len == 0 && l->cur.len == 0) {
		/* Nothing to wait for (and so no commit in flight). */
		rc = lane_switch(l, l->next_seq);
		return rc < 0 ? rc : 1;
	}
	l->rot_seq = l->next_seq;
	l->rot_off = l->cur.len;
	l->rot_first_ms = 0;
	return 0;
}

/* The deferred rotation, once no byte of the closing segment is pending. */
static void lane_rotate_deferred(struct spool_lane *l)
{
	uint64_t first = l->rot_seq, n = l->next_seq - l->rot_seq;
	int rc;

	l->rot_seq = 0;
	rc = lane_switch(l, first);
	if (rc < 0) {
		/* The records meant for the next segment stay in this one, in
		 * order; a later append or tick tries to close it again. */
		log_warn("spool: %s: cannot start segment %" PRIu64 ": %s", l->name, first,
			 strerror(-rc));
		l->st.commit_errors++;
		l->seg_records += n;
		return;
	}
	l->seg_records = n;
	l->seg_first_ms = n > 0 ? l->rot_first_ms : 0;
}

static bool seg_age_due(const struct spool_lane *l, uint64_t now_ms)
{
	return l->age_ms != 0 && l->seg_records > 0 && l->rot_seq == 0 &&
	       now_ms >= l->seg_first_ms && now_ms - l->seg_first_ms >= l->age_ms;
}

/* ---- commit ------------------------------------------------------------ */

/* Moves the next run of bytes to commit into front: a failed commit's
 * bytes (already there) go again first. With a rotation waiting, only the
 * closing segment's part of cur is taken and the rest is copied to the
 * spare buffer, which becomes cur (once per segment, at most
 * SPOOL_SYNC_CAP bytes); otherwise cur and the spare just swap. Returns 1
 * when front holds bytes, 0 when nothing is pending, or -ENOMEM. */
static int commit_take(struct spool_lane *l)
{
	struct lane_buf t;
	size_t take, rest;
	int rc;

	if (l->front.len > 0)
		return 1;
	/* A waiting rotation with rot_off 0 only exists while front holds
	 * the closing segment's tail, so `take` is never 0 for it here. */
	take = l->rot_seq != 0 ? l->rot_off : l->cur.len;
	if (take == 0)
		return 0;
	rest = l->cur.len - take;
	if (rest > l->front.cap && (rc = buf_reserve(&l->front, rest)) < 0)
		return rc;
	t = l->front;
	l->front = l->cur;
	l->cur = t;
	l->cur.len = l->cur.written = 0;
	if (rest > 0) {
		memcpy(l->cur.p, l->front.p + take, rest);
		l->cur.len = rest;
		l->front.len = take;
	}
	l->front.last_seq = l->rot_seq != 0 ? l->rot_seq - 1 : l->next_seq - 1;
	l->rot_off = 0;
	return 1;
}

static void commit_init(struct spool_lane *l, struct spool_commit *job)
{
	memset(job, 0, sizeof(*job));
	job->work.data = job;
	job->lane = l;
	job->fd = l->seg_fd;
	job->p = l->front.p;
	job->len = l->front.len;
	job->written = l->front.written;
	job->off = l->seg_synced;
	job->with_hdr = l->seg_hdr_ok && l->seg_synced == SPOOL_SEG_HDR_SIZE;
	memcpy(job->hdr, l->seg_hdr, SPOOL_SEG_HDR_SIZE);
	pthread_mutex_init(&job->mu, NULL);
	pthread_cond_init(&job->cv, NULL);
}

static void commit_fini(struct spool_commit *job)
{
	pthread_cond_destroy(&job->cv);
	pthread_mutex_destroy(&job->mu);
}

void spool_commit_run(struct spool_commit *job)
{
	ssize_t n;
	int rc = 0;

	if (job->with_hdr)
		rc = spool__pwrite_full(job->fd, job->hdr, SPOOL_SEG_HDR_SIZE, 0);
	/* On a short write the progress is kept, so a retry continues exactly
	 * where the file ends. */
	while (rc == 0 && job->written < job->len) {
		n = pwrite(job->fd, job->p + job->written, job->len - job->written,
			   (off_t)(job->off + job->written));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			job->written += (size_t)n;
	}
	if (rc == 0 && fdatasync(job->fd) < 0) {
		rc = -errno;
		/* After a failed writeback the kernel may have marked our pages
		 * clean without storing them; write everything again next time. */
		job->written = 0;
	}
	pthread_mutex_lock(&job->mu);
	job->rc = rc;
	job->done = true;
	pthread_cond_signal(&job->cv);
	pthread_mutex_unlock(&job->mu);
}

static void commit_wait(struct spool_commit *job)
{
	pthread_mutex_lock(&job->mu);
	while (!job->done)
		pthread_cond_wait(&job->cv, &job->mu);
	pthread_mutex_unlock(&job->mu);
}

/* Applies a run commit's outcome to the lane. On success front's bytes
 * are durable and front becomes the spare again; on failure they stay in
 * front, ahead of cur, for the next commit to write again. Either way the
 * lane no longer lends front to the job. */
static int commit_complete(struct spool_lane *l, struct spool_commit *job)
{
	job->settled = true;
	if (l->job == job)
		l->job = NULL;
	l->front.written = job->written;
	if (job->rc < 0) {
		l->commit_err = job->rc;
		return job->rc;
	}
	l->commit_err = 0;
	l->seg_synced += l->front.len;
	l->front.len = 0;
	l->front.written = 0;
	l->durable_seq = l->front.last_seq;
	l->st.commits++;
	if (l->rot_seq != 0 && l->rot_off == 0)
		lane_rotate_deferred(l);
	return 0;
}

/* Waits for the commit in flight, if any, and applies its outcome. Its
 * runner still calls spool_lane_commit_finish(), which then only frees it;
 * the job forgets the lane, which may be closed by then, so its libuv
 * completion calls back nothing (the synchronous caller knows). */
static void lane_settle(struct spool_lane *l)
{
	struct spool_commit *job = l->job;

	if (job == NULL)
		return;
	commit_wait(job);
	if (commit_complete(l, job) < 0)
		l->st.commit_errors++;
	job->lane = NULL;
}

/* Commits on the calling thread: waits for a commit in flight, then writes
 * and syncs whatever is pending, one fdatasync per run (a failed commit's
 * bytes, a closing segment's tail, the rest). */
static int lane_commit(struct spool_lane *l)
{
	struct spool_commit job;
	int rc;

	lane_settle(l);
	while ((rc = commit_take(l)) > 0) {
		commit_init(l, &job);
		spool_commit_run(&job);
		rc = commit_complete(l, &job);
		commit_fini(&job);
		if (rc < 0)
			return rc;
	}
	return rc;
}

int spool_lane_commit_start(struct spool_lane *l, struct spool_commit **out)
{
	struct spool_commit *job;
	int rc;

	*out = NULL;
	if (l->job != NULL)
		return -EBUSY;
	rc = commit_take(l);
	if (rc <= 0)
		return rc;
	job = malloc(sizeof(*job));
	if (job == NULL)
		return -ENOMEM;
	commit_init(l, job);
	l->job = job;
	*out = job;
	return 0;
}

int spool_lane_commit_finish(struct spool_lane *l, struct spool_commit *job)
{
	int rc;

	if (job == NULL)
		return 0;
	commit_wait(job);
	if (job->settled) {
		rc = job->rc;
	} else {
		rc = commit_complete(l, job);
		if (rc < 0)
			count_error(l, rc, false);
	}
	commit_fini(job);
	free(job);
	return rc;
}

bool spool_lane_commit_busy(const struct spool_lane *l)
{
	return l->job != NULL;
}

/* ---- asynchronous commit on a libuv loop ------------------------------- */

static int commit_async_start(struct spool_lane *l);

static void commit_work_cb(uv_work_t *w)
{
	spool_commit_run(w->data);
}

static void commit_after_cb(uv_work_t *w, int status)
{
	struct spool_commit *job = w->data;
	struct spool_lane *l = job->lane;
	bool again;
	int rc;

	/* Nothing cancels these, but a job that never ran must not be
	 * waited for. */
	if (status == UV_ECANCELED)
		spool_commit_run(job);
	rc = spool_lane_commit_finish(l, job);
	if (l == NULL)
		return;   /* settled by a synchronous call (the lane may be gone) */
	/* Go on at once when there is work: a commit asked for meanwhile, a
	 * closing segment's tail waiting in cur, or a buffer that filled
	 * during this one. After a failure, the caller's next
	 * spool_lane_commit_async() retries, at its own pace. */
	again = l->commit_again || (l->rot_seq != 0 && l->front.len == 0) ||
		l->cur.len >= SPOOL_ASYNC_START;
	l->commit_again = false;
	if (again && rc == 0 && l->job == NULL)
		(void)commit_async_start(l);
	if (l->cb != NULL)
		l->cb(l, rc, l->cb_arg);
}

/* Returns 1 when a commit was queued (the callback will run), 0 when
 * nothing was pending, or -errno. */
static int commit_async_start(struct spool_lane *l)
{
	struct spool_commit *job;
	int rc;

	rc = spool_lane_commit_start(l, &job);
	if (rc < 0 || job == NULL)
		return rc;
	rc = uv_queue_work(l->loop, &job->work, commit_work_cb, commit_after_cb);
	if (rc < 0) {
		/* libuv refuses only invalid arguments; commit here instead. */
		spool_commit_run(job);
		return spool_lane_commit_finish(l, job);
	}
	return 1;
}

int spool_lane_commit_async(struct spool_lane *l, uv_loop_t *loop, spool_commit_cb cb,
			    void *arg)
{
	int rc;

	l->loop = loop;
	l->cb = cb;
	l->cb_arg = arg;
	if (l->job != NULL) {
		l->commit_again = true;
		return -EBUSY;
	}
	/* Age is checked here rather than in a separate tick, so that the
	 * close rides on this commit instead of waiting for one of its own. */
	if (seg_age_due(l, clock_mono_ms())) {
		rc = lane_rotate_mark(l);
		if (rc < 0) {
			count_error(l, rc, false);
			return rc;
		}
	}
	rc = commit_async_start(l);
	if (rc < 0)
		count_error(l, rc, false);
	return rc;
}

/* What an append that must wait for a commit returns: -EAGAIN while one
 * is in flight (its completion makes room), else the error of the failed
 * commit whose bytes are waiting (spool_lane_commit_async() retries it). */
static int lane_busy(const struct spool_lane *l)
{
	if (l->job == NULL && l->commit_err != 0)
		return l->commit_err;
	return -EAGAIN;
}

static bool lane_async(const struct spool_lane *l)
{
	return l->loop != NULL || l->job != NULL;
}

/* Starts an asynchronous commit if the lane may: one is not already in
 * flight, and the last one did not fail (a failed one is retried by
 * spool_lane_commit_async(), at the caller's pace, not by every append). */
static void lane_kick(struct spool_lane *l)
{
	if (l->loop != NULL && l->job == NULL && l->commit_err == 0)
		(void)commit_async_start(l);
}

/* ---- recovery ---------------------------------------------------------- */

struct rec_file {
	uint64_t seq;
	enum spool__file_kind kind;
	uint64_t records;       /* .open: valid records after recovery */
	uint64_t valid_end;
	bool close_it, delete_it;
};

struct rec_scan {
	uint64_t records, last_seq;
};

static void rec_count(const struct spool_record *rec, void *arg)
{
	struct rec_scan *rs = arg;

	rs->records++;
	rs->last_seq = rec->seq;
}

static int rec_file_cmp(const void *a, const void *b)
{
	const struct rec_file *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Lists the lane's segment files, sorted by first seq. */
static int recover_list(struct spool_lane *l, struct rec_file **out, size_t *n_out)
{
	struct rec_file *v = NULL, *nv;
	struct dirent *de;
	enum spool__file_kind k;
	size_t n = 0, cap = 0;
	uint64_t seq;
	DIR *d = NULL;
	int fd, rc = 0;

	*out = NULL;
	*n_out = 0;
	fd = openat(l->lane_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		rc = -errno;
		close(fd);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		k = spool__file_parse(de->d_name, &seq);
		if (k == SPOOL__F_OTHER)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].seq = seq;
		v[n].kind = k;
		n++;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), rec_file_cmp);
	*out = v;
	*n_out = n;
	v = NULL;
out:
	if (d != NULL)
		closedir(d);
	free(v);
	return rc;
}

static void recover_quarantine(struct spool_lane *l, uint64_t seq, uint64_t off,
			       const uint8_t *p, size_t len)
{
	int rc = spool__quarantine(l->spool_fd, l->name, seq, off, p, len);

	if (rc < 0)
		log_warn("spool: %s: cannot quarantine %zu torn bytes of segment %" PRIu64
			 ": %s", l->name, len, seq, strerror(-rc));
	l->st.recovered_torn_bytes += len;
}

/* Scans one leftover .open: cuts a torn tail after its last valid record
 * and decides whether it is closed (it has records) or deleted (it has
 * none; only its name mattered). Damage is never an error here; only a
 * failure to truncate is, since appending after garbage is not allowed. */
static int recover_open(struct spool_lane *l, struct rec_file *f, uint64_t *last)
{
	char file[SPOOL__FILE_NAME_SIZE];
	struct rec_scan rs = { 0, 0 };
	uint8_t *data = NULL;
	size_t len = 0, keep;
	int fd = -1, rc;

	spool__file_name(file, f->seq, SPOOL__F_OPEN);
	rc = spool__read_file(l->lane_fd, file, &data, &len);
	if (rc < 0) {
		/* Unreadable (EIO) or absurdly large: set it aside whole. If even
		 * that fails it stays where it is; its name still counts as a
		 * floor and the lane carries on in a new segment. */
		log_warn("spool: %s: %s unreadable (%s); quarantining it", l->name, file,
			 strerror(-rc));
		rc = spool__quarantine_file(l->spool_fd, l->lane_fd, file, l->name, f->seq,
					    "unreadable");
		if (rc < 0) {
			log_error("spool: %s: cannot quarantine %s: %s", l->name, file,
				  strerror(-rc));
			/* Its records are unknown: never hand out its first seq. */
			if (f->seq > *last)
				*last = f->seq;
		}
		rc = 0;
		goto out;
	}
	keep = spool_scan(data, len, SPOOL__MAX_RECORD_BYTES, rec_count, NULL, &rs);
	if (rs.records == 0)
		keep = SPOOL_SEG_HDR_SIZE;
	if (len > keep) {
		recover_quarantine(l, f->seq, keep, data + keep, len - keep);
		log_warn("spool: %s: cut %zu torn bytes from %s", l->name, len - keep, file);
	}
	f->records = rs.records;
	f->valid_end = keep;
	if (rs.records == 0) {
		f->delete_it = true;
		goto out;
	}
	if (len > keep) {
		fd = openat(l->lane_fd, file, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)keep) < 0 || fdatasync(fd) < 0) {
			rc = -errno;
			goto out;
		}
	}
	l->st.recovered_records += rs.records;
	if (rs.last_seq > *last)
		*last = rs.last_seq;
	f->close_it = true;
out:
	if (fd >= 0)
		close(fd);
	free(data);
	return rc;
}

/* The last seq in the newest closed segment: needed when no .open names a
 * higher floor (e.g. someone deleted it). Damage here only lowers what we
 * learn, and names still give a floor. */
static void recover_newest_seg(struct spool_lane *l, uint64_t seq, uint64_t *last)
{
	char file[SPOOL__FILE_NAME_SIZE];
	struct rec_scan rs = { 0, 0 };
	uint8_t *data = NULL;
	size_t len = 0;

	spool__file_name(file, seq, SPOOL__F_SEG);
	if (spool__read_file(l->lane_fd, file, &data, &len) < 0)
		return;
	spool_scan(data, len, SPOOL__MAX_RECORD_BYTES, rec_count, NULL, &rs);
	if (rs.last_seq > *last)
		*last = rs.last_seq;
	free(data);
}

/* Closes or deletes the leftover .open files once the new one is durable. */
static int recover_finish(struct spool_lane *l, struct rec_file *v, size_t n)
{
	char from[SPOOL__FILE_NAME_SIZE], to[SPOOL__FILE_NAME_SIZE];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		spool__file_name(from, v[i].seq, SPOOL__F_OPEN);
		if (v[i].close_it) {
			spool__file_name(to, v[i].seq, SPOOL__F_SEG);
			rc = rename_noreplace(l->lane_fd, from, to);
			if (rc == -EEXIST) {
				/* Not something the writer produces; keep both copies
				 * rather than overwrite one. */
				log_error("spool: %s: %s and %s both exist; quarantining the .open",
					  l->name, from, to);
				rc = spool__quarantine_file(l->spool_fd, l->lane_fd, from, l->name,
							    v[i].seq, "dup");
				if (rc < 0)
					log_error("spool: %s: cannot quarantine %s: %s", l->name,
						  from, strerror(-rc));
				continue;
			}
			if (rc < 0)
				return rc;
			l->st.segments_closed++;
		} else if (v[i].delete_it) {
			if (unlinkat(l->lane_fd, from, 0) < 0 && errno != ENOENT)
				return -errno;
		}
	}
	return spool__fsync_dir(l->lane_fd);
}

/* No new segment could be made (no space, or -EEXIST: a damaged lane
 * whose seq space ran out): keep appending to the newest recovered .open
 * (its torn tail is gone), or run without a segment until one can be made
 * (append retries). Older .open files with records are still closed, but
 * nothing is deleted: every name stays as a seq floor. */
static int recover_no_segment(struct spool_lane *l, struct rec_file *v, size_t n, int err)
{
	char file[SPOOL__FILE_NAME_SIZE];
	size_t i, cur = n;
	int fd;

	log_warn("spool: %s: cannot start a new segment (%s); continuing in the old one",
		 l->name, strerror(-err));
	for (i = 0; i < n; i++) {
		v[i].delete_it = false;
		if (v[i].kind == SPOOL__F_OPEN && v[i].close_it)
			cur = i;
	}
	if (cur == n)
		return 0;
	spool__file_name(file, v[cur].seq, SPOOL__F_OPEN);
	fd = openat(l->lane_fd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	v[cur].close_it = false;
	seg_set_current(l, fd, v[cur].seq, v[cur].valid_end, v[cur].records, NULL);
	return recover_finish(l, v, n);
}

static int lane_recover(struct spool_lane *l)
{
	struct rec_file *v = NULL, *cur = NULL;
	uint8_t hdr[SPOOL_SEG_HDR_SIZE];
	uint64_t floor = 0, last = 0, next, newest_seg = 0;
	bool have_seg = false;
	size_t n = 0, i;
	int fd, rc;

	rc = recover_list(l, &v, &n);
	if (rc < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (v[i].seq > floor)
			floor = v[i].seq;
		if (v[i].kind == SPOOL__F_SEG) {
			newest_seg = v[i].seq;
			have_seg = true;
		}
		if (v[i].kind != SPOOL__F_OPEN)
			continue;
		rc = recover_open(l, &v[i], &last);
		if (rc < 0)
			goto out;
	}
	if (have_seg)
		recover_newest_seg(l, newest_seg, &last);
	next = seq_after(last) > floor ? seq_after(last) : floor;
	if (next == 0)
		next = 1;
	/* A .open holding records below its own name is not something this
	 * writer makes; step past it rather than refuse to start. */
	for (i = 0; i < n; i++)
		if (v[i].close_it && v[i].seq >= next)
			next = seq_after(v[i].seq);

	/* An empty .open that already carries the right name is reused; any
	 * other one is deleted once the new one exists. */
	for (i = 0; i < n; i++)
		if (v[i].kind == SPOOL__F_OPEN && v[i].seq == next && v[i].delete_it)
			cur = &v[i];
	fd = seg_file_create(l, next, cur != NULL, hdr);
	if (fd >= 0) {
		if (cur != NULL)
			cur->delete_it = false;
		seg_set_current(l, fd, next, SPOOL_SEG_HDR_SIZE, 0, hdr);
		rc = recover_finish(l, v, n);
		if (rc < 0)
			goto out;
	} else if (is_enospc(fd) || fd == -EEXIST) {
		rc = recover_no_segment(l, v, n, fd);
		if (rc < 0)
			goto out;
	} else {
		rc = fd;
		goto out;
	}
	l->next_seq = next;
	l->durable_seq = next - 1;
	rc = 0;
out:
	free(v);
	return rc;
}

/* ---- open / close ------------------------------------------------------ */

static int lane_write_class(struct spool_lane *l)
{
	char want[16], tmp[] = SPOOL__LANE_FILE ".tmp";
	int fd, rc;

	snprintf(want, sizeof(want), "class=%s\n", spool_class_name(l->cls));
	fd = openat(l->lane_fd, SPOOL__LANE_FILE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char have[16] = { 0 };
		ssize_t got = read(fd, have, sizeof(have) - 1);

		close(fd);
		if (got == (ssize_t)strlen(want) && memcmp(have, want, (size_t)got) == 0)
			return 0;
	}
	fd = openat(l->lane_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	rc = spool__pwrite_full(fd, want, strlen(want), 0);
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && renameat(l->lane_fd, tmp, l->lane_fd, SPOOL__LANE_FILE) < 0)
		rc = -errno;
	if (rc == 0)
		rc = spool__fsync_dir(l->lane_fd);
	if (rc < 0)
		unlinkat(l->lane_fd, tmp, 0);
	return rc;
}

static int opts_check(struct spool_lane *l, const struct spool_lane_opts *o)
{
	if (o->spool_dir == NULL || o->spool_dir[0] == '\0' || !spool_lane_name_valid(o->name))
		return -EINVAL;
	if ((unsigned)o->cls >= SPOOL_NCLASS)
		return -EINVAL;
	l->seg_max = o->segment_max_bytes ? o->segment_max_bytes : SPOOL_DEFAULT_SEGMENT_BYTES;
	if (l->seg_max < SPOOL_MIN_SEGMENT_BYTES || l->seg_max > SPOOL__MAX_SEGMENT_BYTES)
		return -EINVAL;
	l->max_record = o->max_record_bytes ? o->max_record_bytes : SPOOL__MAX_RECORD_BYTES;
	if (l->max_record > SPOOL__MAX_RECORD_BYTES)
		return -EINVAL;
	l->cls = o->cls;
	l->age_ms = o->segment_max_age_ms;
	l->hard_limit = o->hard_limit_bytes;
	strcpy(l->name, o->name);   /* length checked above */
	return 0;
}

static int open_dir(int at, const char *path, bool *created)
{
	int fd;

	*created = false;
	if (mkdirat(at, path, 0750) == 0)
		*created = true;
	else if (errno != EEXIST)
		return -errno;
	fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int spool_lane_open(struct spool_lane **out, const struct spool_lane_opts *o)
{
	struct spool_lane *l = NULL;
	bool created;
	int rc;

	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (o == NULL)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return -ENOMEM;
	l->spool_fd = l->lane_fd = l->seg_fd = -1;
	rc = opts_check(l, o);
	if (rc < 0)
		goto out;
	l->spool_dir = strdup(o->spool_dir);
	if (l->spool_dir == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = l->spool_fd = open_dir(AT_FDCWD, o->spool_dir, &created);
	if (rc < 0)
		goto out;
	rc = l->lane_fd = open_dir(l->spool_fd, l->name, &created);
	if (rc < 0)
		goto out;
	if (created && (rc = spool__fsync_dir(l->spool_fd)) < 0)
		goto out;
	if (flock(l->lane_fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	/* The class only steers eviction; a full disk must not stop the lane. */
	rc = lane_write_class(l);
	if (rc < 0)
		log_warn("spool: %s: cannot write %s: %s", l->name, SPOOL__LANE_FILE,
			 strerror(-rc));
	rc = lane_recover(l);
	if (rc < 0)
		goto out;
	l->st.next_seq = l->next_seq;
	if (l->st.recovered_records > 0 || l->st.recovered_torn_bytes > 0)
		log_info("spool: %s: recovered %" PRIu64 " records, cut %" PRIu64
			 " torn bytes; next seq %" PRIu64, l->name, l->st.recovered_records,
			 l->st.recovered_torn_bytes, l->next_seq);
	*out = l;
	l = NULL;
out:
	if (l != NULL) {
		if (l->seg_fd >= 0)
			close(l->seg_fd);
		if (l->lane_fd >= 0)
			close(l->lane_fd);
		if (l->spool_fd >= 0)
			close(l->spool_fd);
		free(l->spool_dir);
		free(l);
	}
	return rc;
}

void spool_lane_close(struct spool_lane *l)
{
	int rc;

	if (l == NULL)
		return;
	/* A commit in flight is waited for (lane_settle); its completion,
	 * which runs later on the loop, then leaves the freed lane alone. */
	rc = spool_lane_flush(l);
	if (rc < 0)
		log_warn("spool: %s: closing with %zu uncommitted bytes: %s", l->name,
			 l->front.len + l->cur.len, strerror(-rc));
	if (l->seg_fd >= 0)
		close(l->seg_fd);
	close(l->lane_fd);
	close(l->spool_fd);
	free(l->front.p);
	free(l->cur.p);
	free(l->spool_dir);
	free(l);
}

/* ---- append ------------------------------------------------------------ */

/* The frame goes to the current segment, or to the next one while a
 * rotation waits for a commit. Closes the segment the frame would take
 * past segment_max_bytes, or (asynchronous lanes, which never wait here)
 * marks it to close when its last bytes are durable. */
static int seg_make_room(struct spool_lane *l, size_t frame)
{
	size_t next_bytes;
	int rc;

	if (l->rot_seq != 0) {
		next_bytes = l->cur.len - l->rot_off;
		if (next_bytes == 0 || SPOOL_SEG_HDR_SIZE + next_bytes + frame <= l->seg_max)
			return 0;
		/* The next segment is full before the previous one closed. */
		if (lane_async(l)) {
			lane_kick(l);
			return lane_busy(l);
		}
		rc = lane_commit(l);     /* closes the previous one */
		if (rc < 0)
			return rc;
	}
	if (l->seg_records == 0 ||
	    l->seg_synced + l->front.len + l->cur.len + frame <= l->seg_max)
		return 0;
	if (!lane_async(l))
		return lane_rotate(l);
	rc = lane_rotate_mark(l);
	if (rc == 0)
		lane_kick(l);
	return rc < 0 ? rc : 0;
}

/* Bounds the buffered bytes. A synchronous lane commits when the cap
 * would be passed; an asynchronous one starts a commit once
 * SPOOL_ASYNC_START is reached and refuses the frame (lane_busy()) when
 * cur would pass the cap. */
static int buf_make_room(struct spool_lane *l, size_t frame)
{
	size_t pending;
	int rc;

	if (lane_async(l)) {
		if (l->cur.len > 0 && l->cur.len + frame > SPOOL_ASYNC_START)
			lane_kick(l);
		if (l->cur.len > 0 && l->cur.len + frame > SPOOL_SYNC_CAP)
			return lane_busy(l);
		return 0;
	}
	pending = l->front.len + l->cur.len;
	if (pending > 0 && pending + frame > SPOOL_SYNC_CAP) {
		rc = lane_commit(l);
		if (rc < 0)
			return rc;
	}
	/* Writing ahead is only safe with nothing unwritten in front of cur
	 * and all of cur bound for the current segment. */
	if (l->front.len == 0 && l->rot_seq == 0 && l->cur.len - l->cur.written >= SPOOL_WRITE_CHUNK)
		return write_out(l);
	return 0;
}

/* Makes room for one frame of `frame` bytes: a segment, rotation by size,
 * the buffer caps. Any failure leaves the lane as it was. */
static int append_prepare(struct spool_lane *l, size_t frame)
{
	uint8_t hdr[SPOOL_SEG_HDR_SIZE];
	int rc, fd;

	if (l->hard_limit != 0 && l->usage_bytes + frame > l->hard_limit)
		return -ENOSPC;
	if (l->seg_fd < 0) {
		fd = seg_file_create(l, l->next_seq, false, hdr);
		if (fd < 0)
			return fd;
		seg_set_current(l, fd, l->next_seq, SPOOL_SEG_HDR_SIZE, 0, hdr);
	}
	rc = seg_make_room(l, frame);
	if (rc < 0)
		return rc;
	rc = buf_make_room(l, frame);
	if (rc < 0)
		return rc;
	if (l->cur.len + frame > l->cur.cap)
		return buf_reserve(&l->cur, l->cur.len + frame);
	return 0;
}

int spool_lane_append(struct spool_lane *l, int64_t ts_us, const void *data,
		      size_t len, uint64_t *seq)
{
	size_t frame = SPOOL_REC_HDR_SIZE + len;
	uint8_t *p;
	int rc;

	if (seq != NULL)
		*seq = 0;
	if (l == NULL || (data == NULL && len > 0))
		return -EINVAL;
	if (len > l->max_record)
		return -EMSGSIZE;
	if (l->next_seq == UINT64_MAX) {
		l->st.append_errors++;
		return -EOVERFLOW;
	}
	rc = append_prepare(l, frame);
	if (rc < 0) {
		count_error(l, rc, true);
		return rc;
	}
	p = l->cur.p + l->cur.len;
	spool__put_le32(p, (uint32_t)len);
	spool__put_le64(p + 8, l->next_seq);
	spool__put_le64(p + 16, (uint64_t)ts_us);
	if (len > 0)
		memcpy(p + SPOOL_REC_HDR_SIZE, data, len);
	spool__put_le32(p + 4, crc32c(0, p + 8, 16 + len));
	l->cur.len += frame;
	if (l->rot_seq == 0) {
		if (l->seg_records++ == 0)
			l->seg_first_ms = clock_mono_ms();
	} else if (l->next_seq == l->rot_seq) {
		l->rot_first_ms = clock_mono_ms();
	}
	if (seq != NULL)
		*seq = l->next_seq;
	l->next_seq++;
	l->usage_bytes += frame;
	l->st.records_appended++;
	l->st.bytes_appended += len;
	return 0;
}

/* ---- the rest of the API ----------------------------------------------- */

int spool_lane_commit(struct spool_lane *l)
{
	int rc = lane_commit(l);

	if (rc < 0)
		count_error(l, rc, false);
	return rc;
}

int spool_lane_tick(struct spool_lane *l, uint64_t now_ms)
{
	int rc;

	if (!seg_age_due(l, now_ms))
		return 0;
	if (lane_async(l)) {
		rc = lane_rotate_mark(l);
		if (rc == 0)
			lane_kick(l);
	} else {
		rc = lane_rotate(l);
		rc = rc < 0 ? rc : 1;
	}
	if (rc < 0)
		count_error(l, rc, false);
	return rc;
}

int spool_lane_flush(struct spool_lane *l)
{
	int rc = lane_rotate(l);

	if (rc < 0)
		count_error(l, rc, false);
	return rc;
}

uint64_t spool_lane_durable_seq(const struct spool_lane *l)
{
	return l->durable_seq;
}

size_t spool_lane_pending_bytes(const struct spool_lane *l)
{
	return l->front.len + l->cur.len;
}

void spool_lane_set_spool_usage(struct spool_lane *l, uint64_t bytes)
{
	l->usage_bytes = bytes;
}

void spool_lane_get_stats(const struct spool_lane *l, struct spool_lane_stats *st)
{
	*st = l->st;
	st->next_seq = l->next_seq;
	st->durable_seq = l->durable_seq;
	/* front.written is only brought up to date when its commit settles. */
	st->buffered_bytes = (l->front.len - l->front.written) + (l->cur.len - l->cur.written);
	st->segment_first_seq = l->seg_fd >= 0 ? l->seg_first : 0;
}

const char *spool_lane_name(const struct spool_lane *l)
{
	return l->name;
}
