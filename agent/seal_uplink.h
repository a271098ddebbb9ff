/* seal_uplink: the supervisor's glue between the spool, the sealer and the
 * uplink (DESIGN.md, "Data flow" and "Processes and privilege").
 *
 * When uplink.enabled is true it loads the device key and the SOC public
 * key, keeps one sealer per spool lane (lanes that appear later get one at
 * the next tick), seals every seal_interval_ms, kicks the uplink after a
 * batch is committed, and applies the time-of-day rate windows once a
 * minute. It runs only in the supervisor: the receivers process is
 * exec'd and never shares this address space (see seal_uplink.c).
 *
 * Nothing here stops the agent: a key that cannot be read, a damaged
 * CHAIN in one lane or a TLS file the uplink refuses becomes a sentence in
 * seal_uplink_errors(), and the other lanes go on.
 *
 * Life cycle: seal_uplink_create, seal_uplink_apply (at start and after
 * every reload), seal_uplink_stop, then run the loop until
 * seal_uplink_closed, then seal_uplink_destroy. Everything runs on the
 * loop's thread.
 */
#ifndef WARD_SEAL_UPLINK_H
#define WARD_SEAL_UPLINK_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"

/* Below this many batches waiting in a lane's outbox, the sealer also
 * seals what remains (partial batches: low latency); at or above it,
 * records wait in the spool for a full batch (sealer.h). */
#define SEAL_UPLINK_PARTIAL_BELOW 4
/* At most this many batches per lane per turn of sealing (sealer_run_max,
 * on the thread pool): between turns the status the control socket shows
 * is brought up to date and the uplink is told of the new batches. Four
 * is also the most the sealer commits with one CHAIN (sealer.h, "Commit
 * order"). */
#define SEAL_TICK_MAX_BATCHES 4

struct seal_uplink;

/* Creates the glue on `loop` (borrowed), idle until seal_uplink_apply.
 * 0 or -ENOMEM; *out is NULL on failure. */
int seal_uplink_create(struct seal_uplink **out, uv_loop_t *loop);

/* Applies `cfg` (borrowed: it must stay valid until the next apply or
 * seal_uplink_stop; the previous one must still be valid during this
 * call, as it is compared with the new one). When the uplink section,
 * agent.device_id and spool.dir are unchanged and the last start had no
 * error, nothing happens; otherwise the running sealers and uplink are
 * stopped (a request in flight stays in the outbox and is resent) and,
 * when enabled, new ones are started. Returns true when it rebuilt. */
bool seal_uplink_apply(struct seal_uplink *su, const struct ward_config *cfg);

/* Stops everything; then run the loop until seal_uplink_closed(). */
void seal_uplink_stop(struct seal_uplink *su);
bool seal_uplink_closed(const struct seal_uplink *su);

/* Frees; only once seal_uplink_closed() (or never applied). NULL-safe. */
void seal_uplink_destroy(struct seal_uplink *su);

/* The "uplink" object of the status: enabled, the uplink's own stats
 * (uplink_stats_json), per-lane sealer stats and the outbox backlog.
 * Scans the outbox (one directory read per lane). NULL on ENOMEM. */
json_t *seal_uplink_status(struct seal_uplink *su);

/* Appends the current problems, in plain words, to the JSON array
 * `errors`. */
void seal_uplink_errors(struct seal_uplink *su, json_t *errors);

/* Checks, for --check-config, that the files an enabled uplink needs can
 * be read and that the two batch keys are P-256 keys (the device key with
 * its private half). Relative paths are taken from agent.state_dir, as
 * the agent does. Returns 0, or -errno with a sentence in msg[len]. */
int seal_uplink_check_files(const struct ward_config *cfg, char *msg, size_t len);

#endif
