/* spool: durable, append-only lanes of framed records on local disk.
 *
 * The spool is the hand-off between ward's processes (DESIGN.md, "Data
 * flow"). Each producer owns one lane and is its only writer; the sealer
 * (or a test) reads closed segments and deletes them once consumed.
 *
 * On disk, for a spool directory S:
 *
 *   S/<lane>/LANE                     "class=P1\n": the lane's priority class
 *   S/<lane>/<first-seq:020>.open     the open segment (at most one after
 *                                     recovery; the writer appends here)
 *   S/<lane>/<first-seq:020>.seg      closed segments; never change again
 *   S/<lane>/<first-seq:020>.evict    a closed segment the budget is deleting
 *   S/quarantine/<lane>-<seq:020>-<off>.bad   bytes that did not frame, cut
 *                                     by recovery or skipped by the reader
 *                                     (<seq> is the segment's first seq,
 *                                     <off> the offset in it)
 *   S/quarantine/<lane>-<seq:020>-unreadable.bad  a whole segment that could
 *                                     not be read (EIO)
 *
 * A segment starts with a 32-byte header:
 *
 *   off  size  field
 *   0    8     magic "WARDSEG1"
 *   8    4     version (1), little endian
 *   12   4     priority class (0, 1, 2)
 *   16   8     first seq of the segment
 *   24   8     created, µs since the epoch
 *
 * followed by records, each framed as (all little endian):
 *
 *   0    4     payload length in bytes
 *   4    4     CRC-32C over bytes 8.. of the frame (seq, ts, payload)
 *   8    8     seq: the lane's record sequence number
 *   16   8     ts: receive time, µs since the epoch
 *   24   len   payload (for ward's lanes, one JSON object without newline)
 *
 * Sequence numbers start at 1, rise by one per record and are never
 * reused within a lane: the next seq is recovered from the data itself, and
 * the open segment's name carries it across an empty lane.
 *
 * Durability is by group commit: appends go to a user-space buffer; a
 * commit writes it and fdatasync()s the segment. Only then is a record
 * durable, and only durable records may be acknowledged to a sender.
 * Buffered bytes are kept until their fdatasync succeeds (a failed one is
 * retried by writing them again), and are capped at 4 MiB per lane: an
 * append that would pass the cap commits first. A commit can also run on
 * a libuv worker thread while appends go on into a second buffer (see
 * "asynchronous commit" below).
 *
 * Crash safety: a segment is closed only once all its bytes are durable,
 * and the next .open's name is made durable before the full one is
 * renamed to .seg, so after a crash at any point recovery finds every
 * durable record exactly once and resumes the seq without reuse or gap.
 *
 * Threading: a lane, reader or segment is used by one thread at a time;
 * the one exception is spool_commit_run(), below.
 */
#ifndef WARD_SPOOL_H
#define WARD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uv_loop_s;

#define SPOOL_SEG_HDR_SIZE 32
#define SPOOL_REC_HDR_SIZE 24
#define SPOOL_MAGIC "WARDSEG1"
#define SPOOL_QUARANTINE_DIR "quarantine"

/* Priority classes (DESIGN.md): P0 notices, loss and status; P1 logs;
 * P2 bulk network metadata. Eviction takes the highest number first. */
enum spool_class { SPOOL_P0 = 0, SPOOL_P1 = 1, SPOOL_P2 = 2 };
#define SPOOL_NCLASS 3

/* ---- writer ------------------------------------------------------------ */

struct spool_lane_opts {
	const char *spool_dir;        /* S; created if missing */
	const char *name;             /* lane name: [a-z0-9_-]{1,32}, not "quarantine" */
	enum spool_class cls;
	uint64_t segment_max_bytes;   /* close the open segment at this size;
	                               * 64 B .. 1 GiB, 0 = 4 MiB. A record larger
	                               * than this gets a segment of its own. */
	uint32_t segment_max_age_ms;  /* ... or when its first record is this old;
	                               * 0 = never by age */
	uint32_t max_record_bytes;    /* payload cap; larger appends get -EMSGSIZE.
	                               * At most CONFIG_SPOOL_MAX_RECORD_KB KiB,
	                               * 0 = that maximum. */
	uint64_t hard_limit_bytes;    /* refuse appends (-ENOSPC) while the whole
	                               * spool is above this; 0 = no limit. The
	                               * writer learns the spool's size from
	                               * spool_lane_set_spool_usage(). */
};

struct spool_lane_stats {
	uint64_t next_seq;            /* seq the next append will get */
	uint64_t durable_seq;         /* every seq <= this is durable; 0 = none */
	uint64_t records_appended;    /* since open */
	uint64_t bytes_appended;      /* payload bytes since open */
	uint64_t append_enospc;       /* appends refused: disk full or over budget */
	uint64_t append_errors;       /* other write/fsync errors */
	uint64_t segments_closed;
	uint64_t commits;             /* fdatasync calls */
	/* recovery at open */
	uint64_t recovered_records;   /* valid records found in the old open segment */
	uint64_t recovered_torn_bytes;/* bytes cut from a torn tail */
	uint64_t buffered_bytes;      /* appended but not yet written */
	uint64_t commit_errors;       /* failed commits/closes (ENOSPC included) */
	uint64_t segment_first_seq;   /* of the open segment; 0 when none */
	uint64_t append_busy;         /* appends refused with -EAGAIN: the second
	                               * buffer was full during a commit */
};

struct spool_lane;

/* Opens (creating if needed) the lane `o->name` under `o->spool_dir` and
 * recovers it: a leftover open segment is scanned, a torn tail is truncated
 * at the last valid record (the cut bytes go to the quarantine), and the
 * segment is closed; the next seq follows the last valid record, and is
 * never below the first seq named by any segment file. Recovery never
 * fails because of damaged data: it fails only when the directory cannot
 * be created or written. On a full disk the lane still opens and keeps
 * appending to the recovered segment, or retries creating one on append.
 * Corrupt records in the middle of a segment are left for the reader.
 * Also writes S/<lane>/LANE and takes an exclusive flock on S/<lane>.
 *
 * Strings in `o` are copied. `*out` is set on success and NULL on failure.
 * Errors: -EINVAL (bad name or options), -EBUSY (another writer has the
 * lane open), -ENOMEM, or the -errno of a failing mkdir/open/rename/fsync. */
int spool_lane_open(struct spool_lane **out, const struct spool_lane_opts *o);

/* Appends one record of `len` payload bytes with receive time `ts_us`
 * (µs since the epoch) and returns its seq in `*seq` (may be NULL; 0 on
 * failure). The payload is copied. The record is buffered, not yet durable.
 * Cost: a memcpy and a CRC; a write() every 256 KiB, and a commit when the
 * 4 MiB buffer cap or segment_max_bytes is reached. On an asynchronous lane
 * (spool_lane_commit_async()) it never writes or syncs: it starts a commit
 * on the worker once 1 MiB is buffered, and a segment close waits for the
 * commit holding the segment's last byte.
 *
 * Errors (on any error nothing was appended and the seq was not consumed):
 * -EMSGSIZE (len > max_record_bytes), -ENOSPC (the file system is full or
 * the spool is over hard_limit_bytes; counted in append_enospc), -ENOMEM,
 * -EIO/-errno from write/fdatasync (counted in append_errors), -EOVERFLOW
 * (the lane's seq reached UINT64_MAX, which only damage can cause),
 * -EAGAIN (asynchronous lanes, or with a commit in flight: the second
 * buffer holds 4 MiB, or the next segment filled before the previous one
 * could close; counted in append_busy). After -EAGAIN, hold the record and
 * retry once the commit in flight completes. */
int spool_lane_append(struct spool_lane *l, int64_t ts_us, const void *data,
		      size_t len, uint64_t *seq);

/* Writes the buffered records and fdatasync()s the open segment; on return
 * every appended record is durable. Cheap (no syscall) when nothing is
 * pending. A commit in flight is waited for first (see below). Errors:
 * -ENOSPC (buffer kept; retry later), -errno from write/fdatasync (buffer
 * kept as well: a retry writes it again). */
int spool_lane_commit(struct spool_lane *l);

/* Closes the open segment if its first record is at least
 * segment_max_age_ms old at `now_ms` (CLOCK_MONOTONIC ms, as clock_mono_ms()
 * returns). Closing commits first; nothing is written when it is not yet
 * due. On an asynchronous lane, or with a commit in flight, it does not
 * wait: the close happens when a commit has made the segment's last byte
 * durable. Returns 1 when a segment was closed, 0 when not (yet), or
 * -errno. */
int spool_lane_tick(struct spool_lane *l, uint64_t now_ms);

/* Commits and closes the open segment now (if it holds records), waiting
 * for a commit in flight first. Returns 0 or -errno. */
int spool_lane_flush(struct spool_lane *l);

/* Every seq <= the returned value is durable (or was lost to damage before
 * this process opened the lane). */
uint64_t spool_lane_durable_seq(const struct spool_lane *l);

/* Bytes appended but not yet durable (a commit in flight included);
 * producers use it to pause input (backpressure) when it grows past their
 * bound. */
size_t spool_lane_pending_bytes(const struct spool_lane *l);

/* Tells the writer how large the whole spool is (bytes on disk, e.g.
 * spool_usage.total_bytes), so it can enforce hard_limit_bytes without
 * scanning. Until the next call the writer adds its own appends to it. */
void spool_lane_set_spool_usage(struct spool_lane *l, uint64_t bytes);

void spool_lane_get_stats(const struct spool_lane *l, struct spool_lane_stats *st);
const char *spool_lane_name(const struct spool_lane *l);

/* True when `name` is a valid lane name: 1..32 of [a-z0-9_-], and not the
 * quarantine directory's name. */
bool spool_lane_name_valid(const char *name);

/* Commits, closes the open segment if it holds records, and frees the lane.
 * A commit in flight is waited for first; its completion (callback or
 * spool_lane_commit_finish()) then only frees the job. NULL-safe. Errors
 * are logged, not returned: a later open recovers. */
void spool_lane_close(struct spool_lane *l);

/* ---- asynchronous commit ------------------------------------------------
 *
 * A commit's cost is its write() and fdatasync(). Both may run on another
 * thread while the lane's thread goes on appending into a second buffer.
 * At most one commit per lane is in flight; it owns the first buffer and
 * the segment's fd until it is finished, and the lane never renames or
 * closes that segment meanwhile.
 *
 * Threading: every function of this API except spool_commit_run() is
 * called on the lane's thread (for ward-agent, the libuv loop thread).
 *
 * While a commit is in flight:
 *  - spool_lane_append() neither blocks nor fails because of it. Records go
 *    to the second buffer until it holds 4 MiB; past that, append returns
 *    -EAGAIN (nothing consumed), and the producer holds the record and
 *    retries after the commit completes. A lane therefore holds at most
 *    about 8 MiB not yet durable.
 *  - A segment that reaches segment_max_bytes or segment_max_age_ms is
 *    not closed: the records from that point on are kept for the next
 *    segment, which is started once the commit carrying the closing
 *    segment's last byte has succeeded. Should that next segment fill up
 *    first, append returns -EAGAIN as well.
 *  - durable_seq advances only when the commit has finished (its fdatasync
 *    returned 0) and its result was applied on the lane's thread.
 *  - spool_lane_commit(), _flush() and _close() wait for the commit to be
 *    run (blocking for at most one write and fdatasync) and apply its
 *    result themselves. Never call them on the thread meant to run it.
 * A failed commit keeps its bytes, ahead of the second buffer, and the
 * next commit writes them again first, as the synchronous path does.
 */
struct spool_commit;

/* Takes what is pending into a new commit job for spool_commit_run() and
 * starts a fresh buffer for appends. A failed commit's bytes go first;
 * when a segment close is waiting, the job holds only that segment's last
 * bytes. `*job` is NULL when nothing is pending. The job belongs to the
 * caller until it passes it to spool_lane_commit_finish().
 * Errors: -EBUSY (a commit is in flight), -ENOMEM. */
int spool_lane_commit_start(struct spool_lane *l, struct spool_commit **job);

/* Writes the job's bytes and fdatasync()s them. Runs on any one thread and
 * touches only the job and the segment's fd. The outcome is reported by
 * spool_lane_commit_finish(). */
void spool_commit_run(struct spool_commit *job);

/* Applies a run job's outcome and frees the job (NULL-safe), on the lane's
 * thread, after spool_commit_run() has returned. On success the job's
 * records are durable (durable_seq advances) and a segment close that was
 * waiting for them is done; a failure to start the next segment is logged
 * and counted in commit_errors, and tried again later. On failure the
 * bytes stay pending for the next commit. When spool_lane_commit, _flush
 * or _close already applied it, this only frees the job, and `l` is not
 * touched (it may be closed). Returns 0 or the -errno of the write or
 * fdatasync (-ENOSPC, -EIO, ...). */
int spool_lane_commit_finish(struct spool_lane *l, struct spool_commit *job);

/* True while a job from spool_lane_commit_start() is not yet finished. */
bool spool_lane_commit_busy(const struct spool_lane *l);

/* Called on the loop thread after an asynchronous commit of `l` finished:
 * `status` is 0 (durable_seq has advanced) or the -errno of the write or
 * fdatasync (the bytes are kept for the next commit). Not called for a
 * commit that spool_lane_commit, _flush or _close waited for and applied:
 * their caller already knows, and the lane may be gone. */
typedef void (*spool_commit_cb)(struct spool_lane *l, int status, void *arg);

/* Group commit on `loop` (a uv_loop_t): the write and fdatasync run on
 * the loop's thread pool (uv_queue_work) while the loop thread goes on
 * appending, and cb(l, status, arg) runs on the loop thread afterwards.
 * Also closes the open segment if segment_max_age_ms has passed (then
 * instead of spool_lane_tick()), and retries a failed commit.
 *
 * The lane remembers loop, cb and arg (the latest call wins) and becomes
 * asynchronous: from then on an append that finds 1 MiB buffered starts
 * such a commit itself, a completed commit starts the next one when 1 MiB
 * is waiting or a segment close depends on it, and cb runs for each. The
 * loop must run until every started commit has completed, even after the
 * lane is closed: the completion frees the job. Returns 1 when a commit was started (cb will run), 0 when nothing
 * was pending (cb will not run), or -errno: -EBUSY (one is in flight; the
 * next starts as soon as it succeeds, and its cb will run), -ENOMEM, or
 * the -errno of a segment close done at once because nothing was
 * pending. */
int spool_lane_commit_async(struct spool_lane *l, struct uv_loop_s *loop,
			    spool_commit_cb cb, void *arg);

/* ---- reader ------------------------------------------------------------ */

struct spool_record {
	uint64_t seq;
	int64_t ts_us;
	const uint8_t *data;  /* valid until the next spool_segment_next() */
	uint32_t len;
};

struct spool_reader_stats {
	uint64_t segments_read;
	uint64_t records_read;
	uint64_t corrupt_regions;   /* runs of bytes that did not frame */
	uint64_t corrupt_bytes;     /* ... their total size, now in quarantine */
	uint64_t quarantine_errors; /* regions that could not be copied out */
	uint64_t segments_unreadable; /* moved whole to quarantine (EIO, too big) */
};

struct spool_reader;
struct spool_segment;

/* Opens a reader on lane `name` under `spool_dir` (copied). The lane need
 * not exist yet. Errors: -EINVAL, -ENOMEM. */
int spool_reader_open(struct spool_reader **out, const char *spool_dir,
		      const char *name);

/* Opens the oldest closed segment (lowest first seq) of the lane, reading
 * it whole into memory (one segment's size). Without a consume the same
 * segment comes back next time. Returns 0 and sets *seg (NULL on failure),
 * -EAGAIN when there is none, or -errno (-ENOMEM). A segment whose header
 * is damaged is still opened: its records are found by scanning. A segment
 * deleted meanwhile is skipped; one that cannot be read (EIO, over 1 GiB)
 * is moved whole to the quarantine, counted, and skipped. The segment
 * belongs to the caller and must be consumed or released before the
 * reader is closed. */
int spool_reader_next_segment(struct spool_reader *r, struct spool_segment **seg);
/* As spool_reader_next_segment, but the oldest whose first seq is >=
 * `min_first_seq`: lets a caller walk the lane without consuming it. */
int spool_reader_next_segment_from(struct spool_reader *r, uint64_t min_first_seq,
				   struct spool_segment **seg);

/* Reads the next valid record of the segment into *rec. Returns 1 when a
 * record was read, 0 at the end of the segment, or -errno on an I/O error.
 * Bytes that do not frame as a valid record (bad length, bad CRC, seq not
 * rising) are skipped by scanning forward for the next valid frame, copied
 * to S/quarantine/<lane>-<first-seq>-<offset>.bad and counted; they are
 * never returned. Reading the same segment again rewrites the same
 * quarantine file and counts it again. Valid frames are those of at most
 * CONFIG_SPOOL_MAX_RECORD_KB KiB whose CRC-32C matches and whose seq is
 * above the previous valid one's. */
int spool_segment_next(struct spool_segment *s, struct spool_record *rec);

/* The segment's first seq (from its name) and size in bytes. */
uint64_t spool_segment_first_seq(const struct spool_segment *s);
/* Its file's name in the lane's directory (S/<lane>/), at most 31 bytes:
 * for a caller that checks later whether the disk budget evicted it. */
const char *spool_segment_file(const struct spool_segment *s);
uint64_t spool_segment_bytes(const struct spool_segment *s);

/* Deletes the segment file (the caller has consumed it) and frees *s.
 * A file already gone (evicted) is not an error. Returns 0 or -errno; *s
 * is freed either way. NULL-safe. */
int spool_segment_consume(struct spool_segment *s);
/* Frees the segment without deleting it. NULL-safe. */
void spool_segment_release(struct spool_segment *s);

/* For a caller that has read the segment to its end but consumes it
 * later: gives its buffer back to the reader now (for the next segment's
 * read). spool_segment_next then returns 0; consume and release work as
 * before. */
void spool_segment_drop_data(struct spool_segment *s);

/* A reader keeps the buffer of the last segment it released (up to
 * SPOOL__MAX_SEGMENT_BYTES) and reads the next segment into it, so that
 * reading a backlog does not touch new pages segment after segment. This
 * frees that buffer: for a caller going idle. NULL-safe. */
void spool_reader_trim(struct spool_reader *r);

void spool_reader_get_stats(const struct spool_reader *r, struct spool_reader_stats *st);
/* NULL-safe. */
void spool_reader_close(struct spool_reader *r);

/* Scans one segment image held in memory: the shared core of the reader
 * and of recovery, exposed for the fuzz target and tests. Calls `on_record`
 * for every valid record in order and `on_corrupt` for every maximal run of
 * bytes that does not frame (either may be NULL); a header without the
 * right magic, version and class is such a run, and records are still
 * looked for after it. Returns the offset just past the last valid record
 * (where a torn tail starts): 32 when there is none but the header is
 * good, 0 when neither. O(len) on intact data; resyncing over garbage
 * tries every offset (a CRC only where a length fits and the seq rises). */
size_t spool_scan(const uint8_t *seg, size_t len, uint32_t max_record_bytes,
		  void (*on_record)(const struct spool_record *rec, void *arg),
		  void (*on_corrupt)(size_t off, size_t len, void *arg),
		  void *arg);

/* ---- budget ------------------------------------------------------------
 *
 * One disk budget covers the spool S and, when given, the sealer's outbox
 * O (sealer.h): O/<lane>/<first:020>-<last:020>.batch are the sealed
 * batches waiting for the SOC's acknowledgement. Both count, and both are
 * evicted by the same order (DESIGN.md, "Data flow"): the lowest class
 * first (P2, then P1, then P0); within a class, the lane whose oldest data
 * was written longest ago; within a lane, its oldest data first, which is
 * its sealed batches in seq order, then its closed segments in seq order.
 * A lane's class is the one in S/<lane>/LANE (P1 when the spool has no
 * such lane). Never evicted: open segments, O/<lane>/CHAIN (the hash chain
 * goes on, and the SOC records the break), batches being written (.tmp),
 * and both quarantines; they still count.
 */

struct spool_lane_usage {
	char name[33];
	enum spool_class cls;
	uint64_t segments;          /* closed + open */
	uint64_t bytes;             /* in the spool, on disk */
	uint64_t first_seq;         /* of the oldest segment; 0 if none */
	int64_t oldest_us;          /* created time of the oldest segment; 0 if none */
	uint64_t batches;           /* sealed, in the outbox (spool_budget_scan only) */
	uint64_t outbox_bytes;      /* all of O/<lane>, on disk (CHAIN included) */
};

#define SPOOL_MAX_LANES 32

/* Lanes beyond SPOOL_MAX_LANES count in total_bytes but are not listed;
 * spool_budget_enforce still sees them all. */
struct spool_usage {
	uint64_t total_bytes;       /* all lanes + quarantine, + the outbox
	                             * when one was scanned */
	uint64_t quarantine_bytes;  /* the spool's quarantine */
	uint64_t outbox_bytes;      /* all of the outbox (its quarantine too);
	                             * 0 without one */
	uint64_t outbox_quarantine_bytes;  /* O/quarantine: refused batches */
	unsigned nlanes;
	struct spool_lane_usage lanes[SPOOL_MAX_LANES];
};

/* What an eviction took: a closed spool segment or a sealed batch. */
enum spool_evict_kind { SPOOL_EVICT_SEGMENT = 0, SPOOL_EVICT_BATCH = 1 };

/* One evicted segment or batch; becomes a P0 `loss` record. */
struct spool_eviction {
	const char *lane;
	enum spool_class cls;
	enum spool_evict_kind kind;
	uint64_t first_seq, last_seq;   /* inclusive; last = first - 1 if empty */
	uint64_t records;
	uint64_t bytes;                 /* file size */
	const char *reason;             /* "disk_budget" */
};

/* "spool" or "outbox": where the evicted data was. */
const char *spool_evict_kind_name(enum spool_evict_kind k);

/* Measures every lane under `spool_dir` into *u (O(number of segment
 * files): one readdir and one stat per file). Returns 0 or -errno. */
int spool_usage_scan(const char *spool_dir, struct spool_usage *u);

/* As spool_usage_scan, and also measures the outbox `outbox_dir` (may be
 * NULL: none; a missing directory counts as empty): one readdir per lane
 * directory and one stat per file. Returns 0 or -errno (of the spool). */
int spool_budget_scan(const char *spool_dir, const char *outbox_dir, struct spool_usage *u);

/* Enforces `budget_bytes` over the spool and the outbox `outbox_dir`
 * together (NULL: the spool alone): while the total is above it, evicts in
 * the order given at the top of this section, calling `on_evict` for each
 * victim before it is deleted. `ev` and its strings are valid only during
 * the call; the callback must make its loss record durable before
 * returning, so that a crash never makes a loss silent.
 *
 * A victim is first claimed by renaming it, a segment to <seq>.evict and a
 * batch to <first>-<last>.evict, so that a reader that consumed the
 * segment, or an uplink whose batch was acknowledged, meanwhile is not
 * reported as loss; a claimed file left by a crash is reported and deleted
 * on the next call (loss is reported at least once). A segment a reader
 * has already opened, or a batch the uplink is already sending, may still
 * arrive and be reported as lost: the SOC sees both. Only the records of
 * a segment that are above the lane's CHAIN (not yet sealed) are reported
 * as lost, since the rest are in batches; a segment all of whose records
 * were sealed is deleted without a report. A batch's first and last seq and record count come
 * from its header, or, when that is unreadable, from its name (records =
 * last - first + 1).
 *
 * Fills *u with the usage after eviction (may be NULL). Returns the number
 * of segments and batches evicted, or -errno. */
int spool_budget_enforce(const char *spool_dir, const char *outbox_dir, uint64_t budget_bytes,
			 void (*on_evict)(const struct spool_eviction *ev, void *arg),
			 void *arg, struct spool_usage *u);

/* "P0", "P1", "P2". */
const char *spool_class_name(enum spool_class c);

#endif
