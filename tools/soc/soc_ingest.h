/* soc_ingest: what ward-soc does with one POSTed batch.
 *
 * DESIGN.md, "Device <-> SOC contract"; docs/protocol.md for the batch;
 * docs/soc-api.md for the answers. In order:
 *
 *   1. batch_parse_header(); a failure is 400 and the bytes are
 *      quarantined;
 *   2. the device id picks <device-keys>/<device>.pem; none is 403;
 *   3. batch_open() with that key and the SOC key; a failure is 400 and
 *      quarantine;
 *   4. per (device, lane): a batch with first seq 1 and a zero prev hash
 *      for a lane with state, other than the current epoch's first batch,
 *      starts a new chain epoch (the probe's spool was wiped): logged,
 *      counted, stored after the old records;
 *      otherwise a batch whose every record is at or below the lane's
 *      last stored seq was stored already: 409, nothing written;
 *   5. a seq gap or a prev hash that is not the lane's last chain hash is
 *      accepted but counted, logged and written to <lane>/gaps (the probe
 *      reports its own losses with P0 loss records);
 *   6. the records are appended durably (soc_store_append) and 200.
 *
 * A batch overlapping what is stored (first seq at or below the lane's
 * last seq, last seq above it) is de-duplicated record by record: the
 * sealer starts every line with {"seq":N, so lines at or below the lane's
 * last seq are dropped and counted (duplicates_dropped). A line without
 * that prefix falls back to its position when the batch has no gaps, and
 * is kept (counted in "overlaps") when it has.
 *
 * Ownership: the caller owns the ingest; it borrows the store and owns
 * the keys it loads.
 */
#ifndef WARD_SOC_INGEST_H
#define WARD_SOC_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "soc_store.h"

struct soc_counters {
	uint64_t batches_ok;       /* batches stored (200) */
	uint64_t records;          /* records stored */
	uint64_t duplicates;       /* batches answered 409 */
	uint64_t rejected;         /* batches answered 400 (quarantined) */
	uint64_t unknown_device;   /* batches answered 403 */
	uint64_t store_errors;     /* batches answered 500 */
	uint64_t gaps;             /* seq gaps seen */
	uint64_t chain_breaks;     /* prev hash not the lane's last hash */
	uint64_t overlaps;         /* overlapping batches with lines of unknown seq */
	uint64_t duplicates_dropped; /* records dropped as stored already */
	uint64_t seqless_lines;    /* overlapping lines without a leading "seq" */
	uint64_t epochs;           /* new chain epochs (probe restarted at seq 1) */
	uint64_t late_batches;     /* batches that filled a gap below the last seq */
};

struct soc_ingest;

/* Loads the SOC private key `soc_key` (PEM) and remembers `device_dir`
 * (public keys, <device>.pem) and `store`, which must outlive the
 * ingest. `max_body` bounds a batch's decompressed body (bytes, 0 =
 * BATCH_BODY_MAX). Errors: those of batch_key_load, -EINVAL when the key
 * has no private part, -ENOMEM. */
int soc_ingest_create(struct soc_ingest **out, const char *soc_key, const char *device_dir,
		      struct soc_store *store, size_t max_body);
/* NULL-safe. */
void soc_ingest_destroy(struct soc_ingest *in);

/* Handles one batch of `len` bytes from `peer` (for logs). Returns the
 * HTTP status (200, 400, 403, 409, 500) and appends the JSON answer to
 * `resp`. */
int soc_ingest_batch(struct soc_ingest *in, const uint8_t *batch, size_t len,
		     const char *peer, struct buf *resp);

const struct soc_counters *soc_ingest_counters(const struct soc_ingest *in);

#endif
