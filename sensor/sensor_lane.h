/* sensor_lane: the spool lanes ward-sensor writes, shared by the live
 * daemon (sensor_live.c: conn-IFACE and sensor-IFACE) and the offline
 * replay (ward-sensor -r FILE --spool DIR: one conn lane, main.c).
 *
 * Both open their lanes with the agent's spool settings (struct
 * sensor_live_opts carries them), keep the spool's hard limit for P2,
 * and append one conn record (a JSON object, no newline) per spool
 * record. The replay reuses the offline reader of sensor.h, which writes
 * NDJSON to a stdio stream: sensor_lane_stream_open gives it a stream
 * whose every line becomes one record of the lane.
 */
#ifndef WARD_SENSOR_LANE_H
#define WARD_SENSOR_LANE_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "sensor.h"
#include "spool.h"

#define SENSOR_LANE_CONN_MAX_RECORD 65536          /* bytes: a conn record */
#define SENSOR_LANE_P0_MAX_RECORD   (1024 * 1024)  /* bytes: stats, notices */

/* Opens (creating if needed) lane `name` of class `cls` in o->spool_dir
 * with o's segment size and age (o->segment_max_bytes, bytes;
 * o->segment_max_age_ms) and, for P2 only, o->hard_limit_bytes; records
 * up to `max_record` bytes. On failure the reason is said on standard
 * error ("ward-sensor: spool: cannot open lane ..."), *out is NULL and
 * the error is spool_lane_open's: -EINVAL (bad name), -EBUSY (another
 * process writes the lane), -ENOMEM or the -errno of the file system.
 * Close with spool_lane_close (spool.h). */
int sensor_lane_open(const struct sensor_live_opts *o, const char *name, enum spool_class cls,
		     uint32_t max_record, struct spool_lane **out);

/* Tells `lane` how many bytes the spool at `spool_dir` holds now, for its
 * hard limit (spool_lane_set_spool_usage). One readdir per lane: call it
 * every budget check interval, not per record. Failures to scan are
 * ignored (the last figure stays). */
void sensor_lane_usage_check(struct spool_lane *lane, const char *spool_dir);

/* A stream of NDJSON into a lane: every line written to it (without its
 * newline; empty lines are skipped) is appended as one record with the
 * wall clock's receive time. The caller allocates the struct and zeroes
 * it; `lane` is borrowed and must outlive the stream. */
struct sensor_lane_stream {
	struct spool_lane *lane;
	struct buf line;              /* the line being written */
	uint64_t records;             /* records appended */
	uint64_t first_seq, last_seq; /* their seqs; 0 when none */
	int err;                      /* the first append's error, -errno; the
	                               * stream's writes fail from then on */
};

/* Opens the stream over s->lane. Returns a FILE to fclose (which appends
 * a last line without a newline), or NULL with errno set (ENOMEM). A
 * write fails (fwrite short, ferror set) once an append fails: s->err
 * then holds spool_lane_append's error (-ENOSPC: disk or spool budget
 * full, -EMSGSIZE: a line over the lane's record cap, ...). */
FILE *sensor_lane_stream_open(struct sensor_lane_stream *s);

#endif
