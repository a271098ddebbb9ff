/* sensor_live internals shared by sensor_live.c (threads, lanes, the
 * control loop) and sensor_stats.c (stats records, notices, status).
 * Not for other modules.
 */
#ifndef WARD_SENSOR_LIVE_H
#define WARD_SENSOR_LIVE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "capture.h"
#include "decode.h"
#include "flow.h"
#include "sensor.h"
#include "spool.h"

#define SENSOR__VLAN_BYTES 512        /* a bit per 802.1Q VID (4096) */

/* One capture worker: its own decoder and flow table, fed by
 * capture_dispatch(worker index). What the control thread reads of it is
 * copied under `mu`; everything else is the worker thread's alone. */
struct sensor__worker {
	struct sensor__live *sl;
	uint32_t idx;
	pthread_t th;
	bool started;
	struct decoder *dec;
	struct flow_table *ft;
	struct an_ctx *an;            /* NULL: analyzers off */
	int linktype;
	struct buf rec;               /* one record being written */
	uint64_t last_expire_us;
	uint8_t vlans[SENSOR__VLAN_BYTES];

	pthread_mutex_t mu;           /* guards the rest */
	struct buf q;                 /* records for the writer: u32 length
	                               * (host order) + JSON, back to back */
	uint64_t q_dropped;           /* records dropped: the queue was full */
	uint64_t records;             /* records queued */
	struct decode_stats ds;       /* snapshots, taken after each dispatch */
	struct flow_stats fs;
	struct an_stats as;
	uint8_t vlans_snap[SENSOR__VLAN_BYTES];
	int error;                    /* capture_dispatch failed: -errno */
	bool done;
};

/* Counter totals at one moment, summed over the workers. */
struct sensor__sample {
	uint64_t mono_ms;
	uint64_t packets, bytes;      /* frames and their wire bytes */
	uint64_t kernel_drops;
	uint64_t acked_bytes, ack_gap_bytes;
};

struct sensor__live {
	const struct sensor_live_opts *o;
	const struct sensor_settings *set;
	const char *ifname;
	struct capture *cap;
	uint32_t nworkers;
	struct sensor__worker *w;
	struct spool_lane *conn, *p0;
	char conn_name[33], p0_name[33];
	struct buf drain, rec;
	int64_t started_us;
	atomic_int stopping;          /* set by signals and any thread; lock-free */

	/* Aggregates the control thread keeps (sensor_stats.c). */
	struct decode_stats ds;
	struct flow_stats fs;
	struct an_stats as;           /* the workers' analyzers, summed */
	uint8_t vlans[SENSOR__VLAN_BYTES];
	uint64_t records, records_dropped, spool_dropped;
	struct capture_stats cs;
	struct capture_offload off;
	int off_rc;
	struct sensor__sample stat_base;   /* start of the stats interval */
	struct sensor__sample rate_base;   /* start of the status rate window */
	double pps, bps, drop_pct, loss_pct;   /* the status window's */
	uint64_t notices;
	char last_error[600];
	int64_t last_error_us;
};

/* Folds the workers' snapshots and the capture counters into sl. */
void sensor__collect(struct sensor__live *sl);
/* Appends a stats record (and the notices it calls for) to the P0 lane;
 * starts the next interval. */
void sensor__stats_tick(struct sensor__live *sl);
/* Updates the status rates when their window (2 s) has passed. */
void sensor__rates_tick(struct sensor__live *sl);
/* The status JSON (wardctl's "mirror port" block) into `out`, replacing
 * its content. 0 or -ENOMEM. */
int sensor__status(struct sensor__live *sl, struct buf *out);
/* Remembers an error for status and logs it. */
void sensor__error(struct sensor__live *sl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
