/* soc_verify: `ward-soc verify DIR`, a summary of a ward-soc store.
 *
 * For every STORE/<device>/<lane>/state, prints one JSON object per line
 * to `out`:
 *
 *   {"device":..,"lane":..,"records":N,"first_seq":F,"last_seq":L,
 *    "gaps":G,"duplicates":B,"duplicates_dropped":D,"epochs":E,
 *    "loss_records":X,"missing_seqs":M,"late_batches":K,"consistent":true}
 *
 * records, seqs, gaps, duplicates, missing seqs (in open gaps) and late
 * batches come from the lane state; loss
 * records are counted by reading the NDJSON (records whose "type" is
 * "loss", docs/schema/loss.schema.json). "consistent" says that the
 * NDJSON holds at least the acknowledged bytes and exactly the state's
 * record count in them (a longer file holds an unacknowledged tail, cut
 * when ward-soc next loads the lane).
 *
 * Cost: reads every stored record once. Returns 0 when every lane is
 * consistent, 1 when one is not, or -errno when the store cannot be read.
 */
#ifndef WARD_SOC_VERIFY_H
#define WARD_SOC_VERIFY_H

#include <stdio.h>

int soc_verify(const char *dir, FILE *out);

#endif
