/* sealer: closed spool segments of one lane -> sealed batches in the outbox.
 *
 * DESIGN.md, "Data flow": the sealer reads a lane's closed segments in seq
 * order, turns their records into NDJSON (each line led by its "seq"),
 * and seals it (batch.h) into
 * batches of at most max_batch_bytes of NDJSON each. Several small segments
 * go into one batch, and one large segment is split over several. Only
 * once a batch is durable in the outbox are the segments it covers
 * deleted from the spool.
 *
 * On disk, for an outbox directory O:
 *
 *   O/<lane>/<first-seq:020>-<last-seq:020>.batch   a sealed batch; the
 *                               uplink sends these in name order and
 *                               deletes each once the SOC acknowledges it
 *   O/<lane>/CHAIN              "ward-chain 1 <last-seq> <hash hex>\n": the
 *                               last seq sealed and the SHA-256 of the
 *                               last batch, the next batch's prev hash
 *   O/<lane>/.<first>-<last>.tmp  a batch being written (never sent)
 *   O/<lane>/<first-seq:020>-<last-seq:020>.evict   a batch the disk budget
 *                               is deleting (spool.h, "budget"): it was
 *                               reported lost and is not sent
 *
 * The disk budget counts the outbox with the spool and may evict sealed
 * batches, oldest first, but never CHAIN or a .tmp: the chain goes on from
 * CHAIN, so the next batch's prev hash names a batch the SOC never got,
 * which it records as a gap and a chain break next to the loss record.
 *
 * Commit order: batches are committed in groups of up to four (one
 * group per call at least), each step of 1-2 durable before the next:
 *   1. each batch is written to its .tmp file and fsync'ed;
 *   2. CHAIN is replaced (tmp + rename + fsync of the directory, which
 *      also makes the .tmp names durable) by the group's last seq and
 *      hash;
 *   3. the .tmp files are renamed to their .batch names (durable with the
 *      next group's step 2, or repaired by recovery);
 *   4. the segments the group covers entirely are deleted.
 * The disk budget may evict (claim) a segment while its records are in a
 * group not yet committed, and report them lost. So the segments are
 * checked just before CHAIN's rename, under an flock of O/<lane> that the
 * budget's claim also takes (spool_budget.c): a group with a segment gone
 * is not committed, and is sealed again from what the spool still holds;
 * a segment claimed after the commit is counted against the new CHAIN.
 * No record is both delivered and reported lost.
 * After a crash, sealer_create() finishes the job: the .tmp whose hash is
 * the one CHAIN names is committed, and so is the .tmp whose hash is the
 * prev hash in a committed one's header (the chain walked back); those
 * are renamed into place (step 3 redone). Any other .tmp was never
 * committed and is deleted (its records are still in the spool). Records
 * at or below CHAIN's last seq are skipped when read again (step 4
 * redone). So no record is lost, none is sealed twice, and the hash chain
 * never forks.
 *
 * Memory and threads: a sealer compresses each batch on a thread of its
 * own while the caller's thread seals and writes the previous one, and
 * commits each group on a second thread of its own, so a backlog is
 * sealed on two CPUs and its commits' waits on the disk overlap with
 * sealing. Between calls it keeps those threads, its buffers (three of
 * max_batch_bytes of NDJSON, the batch being written, a zstd context of
 * about 1.6 MiB) and the spool reader's segment buffer, so that a backlog
 * is sealed in the same pages batch after batch: on the reference VM
 * first touches of new pages made sealing four times slower than zstd
 * alone (docs/performance.md, "Uplink"). sealer_trim() gives them back,
 * for a lane gone idle.
 *
 * Threading: one calling thread per sealer. One sealer per lane and
 * outbox: the outbox is not locked against a second sealer (only CHAIN's
 * rename against the disk budget's claims); the agent runs one per lane.
 */
#ifndef WARD_SEALER_H
#define WARD_SEALER_H

#include <stdbool.h>
#include <stdint.h>

struct batch_key;

#define SEALER_MAX_BATCH_DEFAULT (4u << 20)   /* NDJSON bytes */
#define SEALER_MAX_BATCH_MIN 4096u

struct sealer_opts {
	const char *spool_dir;        /* S, as for spool_reader_open */
	const char *lane;             /* the lane to seal */
	const char *outbox_dir;       /* O; O and O/<lane> are created if missing */
	const char *device_id;        /* 1..32 of [A-Za-z0-9._-] */
	const struct batch_key *device;  /* private key; borrowed, must outlive
	                                  * the sealer */
	const struct batch_key *soc;     /* SOC public key; borrowed */
	uint32_t max_batch_bytes;     /* NDJSON per batch, SEALER_MAX_BATCH_MIN
	                               * .. BATCH_BODY_MAX; 0 = 4 MiB. A single
	                               * record above it gets a batch of its own. */
	int zstd_level;               /* 1..19; 0 = 3 */
};

struct sealer_stats {
	uint64_t batches;             /* sealed since create */
	uint64_t records;
	uint64_t body_bytes;          /* NDJSON bytes sealed */
	uint64_t sealed_bytes;        /* batch bytes written */
	uint64_t segments_consumed;
	uint64_t segments_read;       /* reads of segment files; above the
	                               * segments consumed when records that
	                               * waited for a full batch are read again */
	uint64_t newlines_replaced;   /* raw '\n' in payloads turned into ' ' */
	uint64_t recovered_tmp;       /* .tmp batches completed at create */
	uint64_t discarded_tmp;       /* .tmp batches deleted at create */
	uint64_t last_seq;            /* last seq sealed (CHAIN) */
};

struct sealer;

/* Creates a sealer for lane o->lane and recovers its outbox (see above).
 * Strings in `o` are copied; keys are borrowed. `*out` is set on success
 * and NULL on failure. Errors: -EINVAL (options, a key without its private
 * half), -EBADMSG (CHAIN is unreadable: refusing to restart the chain
 * silently), -ENOMEM, or the -errno of mkdir/open/read/rename/fsync. */
int sealer_create(struct sealer **out, const struct sealer_opts *o);

/* Seals the lane's closed segments: every full batch (max_batch_bytes of
 * NDJSON), and, when `partial` is true, also what remains, as a smaller
 * batch. The caller passes partial = true while the uplink keeps up (low
 * latency), and false while the outbox has a backlog, so that in a long
 * outage records wait in the spool until they fill a batch, and a day of
 * small segments becomes a few large batches rather than one file per
 * segment. `now_us` (µs since the epoch) is the batches' created time.
 * Cost: reads each segment once per call, and O(number of segment files)
 * directory scans; a partial=false call re-reads the records still
 * waiting for a full batch. Returns the number of batches sealed, or
 * -errno (-ENOMEM, -EIO, -ENOSPC, ...); batches completed before an error
 * stay committed. */
int sealer_run(struct sealer *s, bool partial, int64_t now_us);

/* sealer_run(), but it stops reading segments once `max_batches` batches
 * are sealed (0 = no limit; one large segment may still give a few more),
 * so that a caller on an event loop seals a backlog a little at a time
 * between its I/O. When it stops early it cuts no partial batch, and
 * keeps what it holds for the next call, which goes on from there: the
 * segments and the records read, the last batch (still compressing) and
 * the group not yet committed. Returns the batches cut in this call (the
 * last of a call stopped early is written and committed by a later one):
 * as many as max_batches means more may be waiting; errors as
 * sealer_run(). */
int sealer_run_max(struct sealer *s, bool partial, int64_t now_us, unsigned max_batches);

/* Frees what the sealer keeps between calls (see "Memory and threads"
 * above) and stops its compressor thread; the next call starts them
 * again. A run kept by sealer_run_max ends here: its records are read
 * again by the next call. For a caller whose lane had nothing to seal. */
void sealer_trim(struct sealer *s);

void sealer_get_stats(const struct sealer *s, struct sealer_stats *st);

/* NULL-safe. */
void sealer_destroy(struct sealer *s);

#endif
