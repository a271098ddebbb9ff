/* soc_store: ward-soc's durable store of opened batches.
 *
 * Layout under the store directory D (docs/soc-api.md):
 *
 *   D/<device>/<lane>/records.ndjson  the lane's records, one per line,
 *                              in the order their batches were accepted
 *   D/<device>/<lane>/state    "ward-soc-lane 3 <first seq> <last seq>
 *                              <chain hash hex> <ndjson bytes> <records>
 *                              <gaps> <dups> <dropped> <epochs>
 *                              <epoch hash hex> <filled> <holes>
 *                              {<first>-<last>-<next prev hex>-<broke>}\n"
 *                              (versions 1 and 2 lack the fields from
 *                              <dropped> and <filled> on and are read)
 *   D/<device>/<lane>/gaps     one line per gap, chain break or new
 *                              chain epoch seen
 *
 * A new chain epoch (a probe whose spool and CHAIN were wiped starts again
 * at seq 1) continues the same NDJSON file: the old records stay, and the
 * lane's first seq, last seq and hashes restart with the new chain.
 *   D/quarantine/<time>-<n>.batch and .reason   refused batches, raw
 *
 * Each accepted batch is appended and fsync'ed, then the state file is
 * replaced (write, fsync, rename, fsync of the directory), and only then
 * is the batch acknowledged. The state records the NDJSON file's length:
 * after a crash between the two steps, the unacknowledged tail is cut off
 * when the lane is next loaded, so the device's resend stores it once.
 *
 * Cost: two fsyncs and a rename per batch, on the caller's thread.
 *
 * Ownership: the caller owns the store; lanes belong to the store and
 * live until soc_store_destroy().
 */
#ifndef WARD_SOC_STORE_H
#define WARD_SOC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "batch.h"

/* Seqs missing between two stored batches: a gap that a late batch may
 * still fill (a batch answered 503 and resent after the SOC stored the
 * ones pipelined behind it), or that the probe's `loss` records explain. */
#define SOC_HOLES_MAX 32
struct soc_hole {
	uint64_t first, last;               /* the missing seqs, inclusive */
	uint8_t next_prev[BATCH_HASH_SIZE]; /* prev hash of the batch after it */
	int broke;                          /* a chain break was counted there */
};

struct soc_lane {
	struct soc_lane *next;
	char device[BATCH_NAME_MAX + 1];
	char lane[BATCH_NAME_MAX + 1];
	uint64_t first_seq;                 /* first seq stored in this epoch */
	uint64_t last_seq;                  /* 0 = nothing stored yet */
	uint8_t last_hash[BATCH_HASH_SIZE]; /* chain hash of the last batch */
	uint64_t bytes;                     /* NDJSON bytes stored */
	uint64_t records;                   /* records stored */
	uint64_t gaps;                      /* gaps and chain breaks seen */
	uint64_t dups;                      /* duplicate batches refused */
	uint64_t dropped;                   /* duplicate records dropped */
	uint64_t epochs;                    /* chain restarts after the first */
	uint8_t epoch_hash[BATCH_HASH_SIZE];/* hash of this epoch's first batch;
					     * zeros = unknown (version 1) */
	uint64_t filled;                    /* late batches that filled a hole */
	struct soc_hole holes[SOC_HOLES_MAX];/* open gaps, ascending; the
					     * lowest is forgotten when full */
	unsigned n_holes;
};

/* One accepted batch, or the part of it not stored already, for
 * soc_store_append(). All pointers are borrowed for the call. */
struct soc_append {
	const void *ndjson;                 /* the lines to store */
	size_t len;                         /* bytes */
	uint64_t records;                   /* lines in ndjson */
	uint64_t dropped;                   /* duplicate lines left out */
	uint64_t first_seq, last_seq;       /* the batch header's */
	const uint8_t *hash;                /* batch_hash(), BATCH_HASH_SIZE bytes */
	int new_epoch;                      /* the batch starts a new chain */
	int late;                           /* fills holes below the last seq:
					     * last seq and chain hash stay */
};

struct soc_store;

/* Opens (creating if needed) the store directory `dir`. Errors:
 * -errno of mkdir/open, -ENOMEM. */
int soc_store_create(struct soc_store **out, const char *dir);
/* NULL-safe. */
void soc_store_destroy(struct soc_store *st);

/* The lane (device, lane), loaded from its state file on first use (and
 * its NDJSON tail cut back to the state's length), or a fresh empty one.
 * `device` must be a batch header's device id not starting with '.'.
 * Errors: -EINVAL (bad names or state file), -errno, -ENOMEM. */
int soc_store_lane(struct soc_store *st, const char *device, const char *lane,
		   struct soc_lane **out);

/* Appends a->len bytes of NDJSON (a->records lines) to the lane's file,
 * fsyncs it, then commits the lane's new state: last seq a->last_seq,
 * chain hash a->hash, a->dropped more duplicate records, and a->first_seq
 * and a->hash as the epoch's first when the lane was empty or a->new_epoch
 * is set (which also counts an epoch and forgets the holes). A late batch
 * (a->late) keeps the last seq and chain hash. Either way the batch's
 * [first_seq, last_seq] is taken out of the lane's holes; a hole filled
 * whole no longer counts in `gaps`, nor does the chain break after it when
 * the filling batch's hash is the prev hash of the batch after the hole.
 * On failure the lane is unchanged in memory; the file may hold a tail
 * that the next load cuts. Errors: -errno (-ENOSPC, -EIO). */
int soc_store_append(struct soc_store *st, struct soc_lane *l, const struct soc_append *a);

/* Reads the committed state of (device, lane) under store directory
 * `dir` into *l (zeroed first), without loading or repairing the lane:
 * for `ward-soc verify`. Errors: -ENOENT (no such lane), -EINVAL (bad
 * state file or names), -errno. */
int soc_store_read_state(const char *dir, const char *device, const char *lane,
			 struct soc_lane *l);

/* Commits the lane's state as it is in memory (after a counter such as
 * dups changed): write, fsync, rename, fsync of the directory.
 * Errors: -errno. */
int soc_store_save(struct soc_store *st, const struct soc_lane *l);

/* Records a gap or chain break on the lane: bumps its counter (persisted
 * with the next append) and appends `what` as a line to <lane>/gaps.
 * Errors: -errno. */
int soc_store_note_gap(struct soc_store *st, struct soc_lane *l, const char *what);

/* Opens a hole [first, last] on the lane (persisted with the next append):
 * `next_prev` is the prev hash of the batch that revealed it, `broke`
 * whether a chain break was counted for that batch. A hole already open is
 * not opened twice; with SOC_HOLES_MAX open, the lowest is forgotten (a
 * batch arriving for it later is a duplicate) and 1 is returned, else 0. */
int soc_lane_hole_open(struct soc_lane *l, uint64_t first, uint64_t last,
		       const uint8_t next_prev[BATCH_HASH_SIZE], int broke);

/* Whether seq lies in one of the lane's holes. */
int soc_lane_in_hole(const struct soc_lane *l, uint64_t seq);

/* Whether [first, last] meets one of the lane's holes. */
int soc_lane_meets_hole(const struct soc_lane *l, uint64_t first, uint64_t last);

/* Seqs missing in the lane's open holes. */
uint64_t soc_lane_missing(const struct soc_lane *l);

/* Appends `what` as a line to <lane>/gaps without counting a gap (a new
 * chain epoch). Errors: -errno. */
int soc_store_note(struct soc_store *st, const struct soc_lane *l, const char *what);

/* Saves a refused batch's `len` raw bytes and the one-line `reason`
 * under D/quarantine/. Errors: -errno. */
int soc_store_quarantine(struct soc_store *st, const void *data, size_t len,
			 const char *reason);

#endif
