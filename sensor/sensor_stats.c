/* sensor_stats: what ward-sensor says about its mirror port: the stats
 * record every stats interval (P0 lane sensor-<if>), the notices that
 * call for a person, and the status the supervisor shows in wardctl.
 *
 * Capture loss is estimated from ACK gaps, as Zeek's
 * policy/misc/capture-loss does: of the bytes TCP receivers acknowledged
 * in the interval, the share the sensor never saw. It catches loss
 * anywhere before the sensor (an oversubscribed SPAN port, a switch
 * dropping mirror traffic) that kernel drop counters cannot see.
 */
#include "sensor_live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "jsonw.h"
#include "log.h"

#define LOSS_NOTICE_PCT   10.0    /* issue 4: capture loss over 10% */
#define DROPS_NOTICE_PCT  1.0     /* ... or kernel drops over 1% */
#define RATE_WINDOW_MS    2000
#define VLANS_LISTED      64      /* VIDs named in a record; all are counted */

void sensor__collect(struct sensor__live *sl)
{
	struct decode_stats ds;
	struct flow_stats fs;
	uint64_t records = 0, dropped = 0;
	uint32_t i, r, b;

	memset(&ds, 0, sizeof(ds));
	memset(&fs, 0, sizeof(fs));
	memset(&sl->as, 0, sizeof(sl->as));
	for (i = 0; i < sl->nworkers && sl->w != NULL; i++) {
		struct sensor__worker *w = &sl->w[i];

		pthread_mutex_lock(&w->mu);
		ds.frames += w->ds.frames;
		ds.bytes += w->ds.bytes;
		ds.decoded += w->ds.decoded;
		ds.fragments += w->ds.fragments;
		ds.reassembled += w->ds.reassembled;
		for (r = 0; r < DECODE_R_MAX; r++)
			ds.rejects[r] += w->ds.rejects[r];
		fs.flows_created += w->fs.flows_created;
		fs.flows_active += w->fs.flows_active;
		fs.flows_capacity += w->fs.flows_capacity;
		fs.evicted_pressure += w->fs.evicted_pressure;
		fs.expired += w->fs.expired;
		fs.interim += w->fs.interim;
		fs.packets += w->fs.packets;
		fs.ack_gap_bytes += w->fs.ack_gap_bytes;
		fs.acked_bytes += w->fs.acked_bytes;
		an_stats_add(&sl->as, &w->as);
		for (b = 0; b < SENSOR__VLAN_BYTES; b++)
			sl->vlans[b] |= w->vlans_snap[b];
		records += w->records;
		dropped += w->q_dropped;
		pthread_mutex_unlock(&w->mu);
	}
	sl->ds = ds;
	sl->fs = fs;
	sl->records = records;
	sl->records_dropped = dropped;
	if (sl->cap != NULL)
		(void)capture_stats(sl->cap, &sl->cs);
}

static void sample(const struct sensor__live *sl, struct sensor__sample *s)
{
	s->mono_ms = clock_mono_ms();
	s->packets = sl->ds.frames;
	s->bytes = sl->ds.bytes;
	s->kernel_drops = sl->cs.kernel_drops;
	s->acked_bytes = sl->fs.acked_bytes;
	s->ack_gap_bytes = sl->fs.ack_gap_bytes;
}

/* Rates and percentages between two samples. Counters only rise within a
 * process; a smaller value (never expected) reads as no change. */
struct window {
	double secs, pps, bps, drop_pct, loss_pct;
	uint64_t packets, bytes, drops, acked, gaps;
};

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

static void window(const struct sensor__sample *a, const struct sensor__sample *b,
		   struct window *w)
{
	uint64_t ms = delta(b->mono_ms, a->mono_ms);

	w->secs = (double)(ms ? ms : 1) / 1000.0;
	w->packets = delta(b->packets, a->packets);
	w->bytes = delta(b->bytes, a->bytes);
	w->drops = delta(b->kernel_drops, a->kernel_drops);
	w->acked = delta(b->acked_bytes, a->acked_bytes);
	w->gaps = delta(b->ack_gap_bytes, a->ack_gap_bytes);
	w->pps = (double)w->packets / w->secs;
	w->bps = (double)w->bytes * 8.0 / w->secs;
	w->drop_pct = w->packets + w->drops ?
		100.0 * (double)w->drops / (double)(w->packets + w->drops) : 0.0;
	w->loss_pct = w->acked ? 100.0 * (double)w->gaps / (double)w->acked : 0.0;
	if (w->loss_pct > 100.0)
		w->loss_pct = 100.0;
}

void sensor__rates_tick(struct sensor__live *sl)
{
	struct sensor__sample now;
	struct window w;

	sample(sl, &now);
	if (sl->rate_base.mono_ms == 0) {
		sl->rate_base = now;
		return;
	}
	if (now.mono_ms - sl->rate_base.mono_ms < RATE_WINDOW_MS)
		return;
	window(&sl->rate_base, &now, &w);
	sl->pps = w.pps;
	sl->bps = w.bps;
	sl->drop_pct = w.drop_pct;
	sl->loss_pct = w.loss_pct;
	sl->rate_base = now;
}

/* ---- JSON pieces shared by the records and the status -------------------- */

/* A fixed-point number: JSON has no NaN, and two decimals say enough. */
static void kv_fixed(struct jsonw *w, struct buf *out, const char *key, double v)
{
	uint64_t x = (uint64_t)(v * 100.0 + 0.5);

	jsonw_key(w, key);
	jsonw_uint(w, x / 100);
	if (w->err == 0 && buf_printf(out, ".%02u", (unsigned)(x % 100)) < 0)
		w->err = -ENOMEM;
}

static void vlans_json(struct jsonw *w, const uint8_t *bits)
{
	unsigned vid, n = 0;

	jsonw_key(w, "vlans");
	jsonw_array_open(w);
	for (vid = 1; vid < 4096; vid++) {
		if (!(bits[vid >> 3] & (1u << (vid & 7))))
			continue;
		if (n++ < VLANS_LISTED)
			jsonw_uint(w, vid);
	}
	jsonw_array_close(w);
	jsonw_kv_uint(w, "vlans_seen", n);
}

static void offload_json(struct sensor__live *sl, struct jsonw *w)
{
	char msg[300];

	jsonw_key(w, "offload");
	jsonw_object_open(w);
	jsonw_kv_bool(w, "known", sl->off.known);
	if (sl->off.known) {
		jsonw_kv_bool(w, "gro", sl->off.gro);
		jsonw_kv_bool(w, "lro", sl->off.lro);
	}
	if (capture_offload_advice(sl->ifname, &sl->off, msg, sizeof(msg)) > 0) {
		jsonw_kv_cstr(w, "warning", msg);
		/* Both off is always right for a capture port, whichever
		 * is on now. */
		snprintf(msg, sizeof(msg), "ethtool -K %s gro off lro off", sl->ifname);
		jsonw_kv_cstr(w, "fix", msg);
	}
	jsonw_object_close(w);
}

static void decode_errors_json(const struct decode_stats *ds, struct jsonw *w)
{
	unsigned r;

	jsonw_key(w, "decode_errors");
	jsonw_object_open(w);
	for (r = 0; r < DECODE_R_MAX; r++)
		if (ds->rejects[r] != 0)
			jsonw_kv_uint(w, decode_reject_name((enum decode_reject)r), ds->rejects[r]);
	jsonw_object_close(w);
}

/* ---- stats records and notices ------------------------------------------- */

static void notice(struct sensor__live *sl, const char *note, const char *msg, double value,
		   double threshold)
{
	struct jsonw w;
	int rc;

	buf_reset(&sl->rec);
	jsonw_init(&w, &sl->rec);
	jsonw_object_open(&w);
	jsonw_kv_ascii(&w, "type", "notice");
	jsonw_kv_time_us(&w, "ts", clock_wall_us());
	jsonw_kv_cstr(&w, "device", sl->set->device_id);
	jsonw_kv_cstr(&w, "interface", sl->ifname);
	jsonw_kv_ascii(&w, "note", note);
	jsonw_kv_cstr(&w, "msg", msg);
	kv_fixed(&w, &sl->rec, "value_pct", value);
	kv_fixed(&w, &sl->rec, "threshold_pct", threshold);
	jsonw_object_close(&w);
	rc = jsonw_finish(&w);
	if (rc == 0 && sl->p0 != NULL &&
	    spool_lane_append(sl->p0, clock_wall_us(), sl->rec.data, sl->rec.len, NULL) == 0)
		sl->notices++;
	log_warn("%s", msg);
}

void sensor__stats_tick(struct sensor__live *sl)
{
	struct sensor__sample now;
	struct window win;
	struct jsonw w;
	char msg[256];

	sample(sl, &now);
	if (sl->stat_base.mono_ms == 0) {
		/* The first interval starts at the first tick after start. */
		sl->stat_base = now;
		sl->stat_base.mono_ms = now.mono_ms - sl->set->stats_interval_ms;
		memset(&sl->stat_base.packets, 0, sizeof(now) - sizeof(now.mono_ms));
	}
	window(&sl->stat_base, &now, &win);
	/* The GRO/LRO state can be fixed while we run; look again. */
	sl->off_rc = capture_offload_check(sl->ifname, &sl->off);

	buf_reset(&sl->rec);
	jsonw_init(&w, &sl->rec);
	jsonw_object_open(&w);
	jsonw_kv_ascii(&w, "type", "sensor_stats");
	jsonw_kv_time_us(&w, "ts", clock_wall_us());
	jsonw_kv_cstr(&w, "device", sl->set->device_id);
	jsonw_kv_cstr(&w, "interface", sl->ifname);
	jsonw_kv_ascii(&w, "backend", sl->set->cap.backend == CAPTURE_PCAP ? "pcap" : "afpacket");
	jsonw_kv_uint(&w, "workers", sl->nworkers);
	kv_fixed(&w, &sl->rec, "interval_s", win.secs);
	jsonw_kv_uint(&w, "packets", win.packets);
	jsonw_kv_uint(&w, "bytes", win.bytes);
	kv_fixed(&w, &sl->rec, "pps", win.pps);
	kv_fixed(&w, &sl->rec, "bps", win.bps);
	jsonw_kv_uint(&w, "kernel_drops", win.drops);
	kv_fixed(&w, &sl->rec, "kernel_drop_pct", win.drop_pct);
	jsonw_kv_uint(&w, "acked_bytes", win.acked);
	jsonw_kv_uint(&w, "ack_gap_bytes", win.gaps);
	kv_fixed(&w, &sl->rec, "capture_loss_pct", win.loss_pct);
	vlans_json(&w, sl->vlans);
	jsonw_kv_uint(&w, "flows_active", sl->fs.flows_active);
	jsonw_kv_uint(&w, "flows_capacity", sl->fs.flows_capacity);
	jsonw_kv_uint(&w, "flows_evicted", sl->fs.evicted_pressure);
	jsonw_kv_uint(&w, "records", sl->records);
	jsonw_kv_uint(&w, "records_dropped", sl->records_dropped + sl->spool_dropped);
	decode_errors_json(&sl->ds, &w);
	offload_json(sl, &w);
	jsonw_key(&w, "analyzers");
	an_stats_write(&w, &sl->as);
	jsonw_object_close(&w);
	if (jsonw_finish(&w) == 0 && sl->p0 != NULL)
		(void)spool_lane_append(sl->p0, clock_wall_us(), sl->rec.data, sl->rec.len, NULL);

	/* Once per interval while the condition holds: a person must act
	 * (move the SPAN, add workers), and a reminder each interval is the
	 * rate limit. */
	if (win.loss_pct > LOSS_NOTICE_PCT) {
		snprintf(msg, sizeof(msg), "%s: capture loss %.1f%% (ACKed bytes never seen) over "
			 "the last %.0f s: the mirror port or SPAN session is dropping traffic",
			 sl->ifname, win.loss_pct, win.secs);
		notice(sl, "capture_loss", msg, win.loss_pct, LOSS_NOTICE_PCT);
	}
	if (win.drop_pct > DROPS_NOTICE_PCT) {
		snprintf(msg, sizeof(msg), "%s: the kernel dropped %.1f%% of frames over the last "
			 "%.0f s: the sensor is not keeping up (more workers, a larger ring)",
			 sl->ifname, win.drop_pct, win.secs);
		notice(sl, "kernel_drops", msg, win.drop_pct, DROPS_NOTICE_PCT);
	}
	sl->stat_base = now;
}

/* ---- status --------------------------------------------------------------- */

static void lane_json(struct jsonw *w, const struct spool_lane *l)
{
	struct spool_lane_stats st;

	spool_lane_get_stats(l, &st);
	jsonw_key(w, spool_lane_name(l));
	jsonw_object_open(w);
	jsonw_kv_uint(w, "next_seq", st.next_seq);
	jsonw_kv_uint(w, "durable_seq", st.durable_seq);
	jsonw_kv_uint(w, "records_appended", st.records_appended);
	jsonw_kv_uint(w, "append_enospc", st.append_enospc);
	jsonw_kv_uint(w, "append_errors", st.append_errors);
	jsonw_object_close(w);
}

/* Each worker's share: with fanout, an idle worker (or one with all the
 * load) shows here. */
static void per_worker_json(struct sensor__live *sl, struct jsonw *w)
{
	uint32_t i;

	jsonw_key(w, "per_worker");
	jsonw_array_open(w);
	for (i = 0; i < sl->nworkers && sl->w != NULL; i++) {
		struct sensor__worker *wk = &sl->w[i];

		pthread_mutex_lock(&wk->mu);
		jsonw_object_open(w);
		jsonw_kv_uint(w, "packets", wk->ds.frames);
		jsonw_kv_uint(w, "bytes", wk->ds.bytes);
		jsonw_kv_uint(w, "flows", wk->fs.flows_created);
		jsonw_kv_uint(w, "flows_active", wk->fs.flows_active);
		jsonw_kv_uint(w, "records", wk->records);
		jsonw_object_close(w);
		pthread_mutex_unlock(&wk->mu);
	}
	jsonw_array_close(w);
}

int sensor__status(struct sensor__live *sl, struct buf *out)
{
	struct jsonw w;

	buf_reset(out);
	jsonw_init(&w, out);
	jsonw_object_open(&w);
	jsonw_kv_cstr(&w, "interface", sl->ifname);
	jsonw_kv_ascii(&w, "backend", sl->set->cap.backend == CAPTURE_PCAP ? "pcap" : "afpacket");
	jsonw_kv_uint(&w, "workers", sl->nworkers);
	jsonw_kv_ascii(&w, "state", sl->cap == NULL ? "failed" :
		       sl->stopping ? "stopping" : "capturing");
	jsonw_kv_time_us(&w, "started", sl->started_us);
	jsonw_kv_ascii(&w, "conn_lane", sl->conn_name);
	jsonw_kv_uint(&w, "packets", sl->ds.frames);
	jsonw_kv_uint(&w, "bytes", sl->ds.bytes);
	kv_fixed(&w, out, "pps", sl->pps);
	kv_fixed(&w, out, "bps", sl->bps);
	jsonw_kv_uint(&w, "kernel_drops", sl->cs.kernel_drops);
	kv_fixed(&w, out, "kernel_drop_pct", sl->drop_pct);
	jsonw_kv_uint(&w, "if_rx_dropped", sl->cs.if_rx_dropped);
	kv_fixed(&w, out, "capture_loss_pct", sl->loss_pct);
	vlans_json(&w, sl->vlans);
	jsonw_kv_uint(&w, "flows", sl->fs.flows_created);
	jsonw_kv_uint(&w, "flows_active", sl->fs.flows_active);
	jsonw_kv_uint(&w, "flows_capacity", sl->fs.flows_capacity);
	jsonw_kv_uint(&w, "flows_evicted", sl->fs.evicted_pressure);
	jsonw_kv_uint(&w, "records", sl->records);
	jsonw_kv_uint(&w, "records_dropped", sl->records_dropped + sl->spool_dropped);
	jsonw_kv_uint(&w, "notices", sl->notices);
	decode_errors_json(&sl->ds, &w);
	offload_json(sl, &w);
	jsonw_key(&w, "analyzers");
	an_stats_write(&w, &sl->as);
	per_worker_json(sl, &w);
	jsonw_key(&w, "lanes");
	jsonw_object_open(&w);
	if (sl->conn != NULL)
		lane_json(&w, sl->conn);
	if (sl->p0 != NULL)
		lane_json(&w, sl->p0);
	jsonw_object_close(&w);
	if (sl->last_error[0] != '\0') {
		jsonw_kv_cstr(&w, "last_error", sl->last_error);
		jsonw_kv_time_us(&w, "last_error_ts", sl->last_error_us);
	}
	jsonw_object_close(&w);
	return jsonw_finish(&w);
}
