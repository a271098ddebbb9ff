/* sensor: ward-sensor's two modes, built on the capture backends
 * (drivers/capture.h), the decoder (decode.h) and the flow table (flow.h).
 *
 *   offline  sensor_read_file: a pcap/pcapng file through one decoder and
 *            one flow table, conn records as NDJSON to a stream, like
 *            `zeek -r`. For tests, analysts and the benchmark.
 *   live     sensor_live_run (sensor_live.c): the daemon on one mirror
 *            port: N workers, conn records to a P2 spool lane, stats
 *            records and notices to a P0 lane, status to the supervisor.
 *
 * The settings come from the sensor section of the configuration
 * (config.h, docs/config.md); sensor_settings_from_config turns it into
 * the structs of the three modules.
 */
#ifndef WARD_SENSOR_SENSOR_H
#define WARD_SENSOR_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer.h"
#include "capture.h"
#include "config.h"
#include "decode.h"
#include "flow.h"

/* Everything one sensor needs, derived from a ward_config plus the
 * command line. Strings are borrowed from the config (or argv) and must
 * outlive the struct; `nets` is owned (sensor_settings_free). */
struct sensor_settings {
	struct capture_config cap;
	struct decode_config dec;
	struct flow_config flow;     /* flow.local_nets points at nets */
	struct an_config an;         /* the protocol analyzers */
	struct flow_net *nets;
	size_t n_nets;
	uint32_t stats_interval_ms;
	const char *user;            /* to drop to after capture_open */
	const char *device_id;
};

/* Fills *s from the config's sensor section for source `source` (an
 * interface, or a file with backend CAPTURE_FILE). Local nets are parsed
 * with config_parse_prefix. 0, -EINVAL (a prefix does not parse; the
 * config loader has checked them, so only a caller's own list fails) or
 * -ENOMEM. */
int sensor_settings_from_config(struct sensor_settings *s, const struct ward_config *cfg,
				const char *source, enum capture_backend backend);
/* Replaces the local nets with a comma-separated list of prefixes
 * ("10.0.0.0/8,fd00::/8"; empty: none). 0, -EINVAL with *bad set to the
 * offending entry's start, or -ENOMEM. */
int sensor_settings_set_nets(struct sensor_settings *s, const char *list, const char **bad);
/* Frees the nets. NULL-safe; the struct may be filled again after it. */
void sensor_settings_free(struct sensor_settings *s);

/* What a file run counted (the --stats summary). */
struct sensor_file_stats {
	struct decode_stats dec;
	struct flow_stats flow;
	struct an_stats an;
	uint64_t records;            /* records written: conn and the analyzers' */
	/* Weird names and counts (analyzer.h an_weird), at most 64. */
	struct {
		const char *name;
		uint64_t n;
	} weird[64];
	uint32_t n_weird;
};

/* Reads the pcap/pcapng file s->cap.source to its end: every frame is
 * decoded and accounted to its flow, and given to the analyzers (when
 * s->an.enabled); each record (the analyzers' as they complete, a flow's
 * conn record when it ends, the remaining flows at the end of the file)
 * is written to `out` as one JSON line. Fills *st (may be NULL). Returns 0, or a negative errno
 * with `err` (errlen bytes) holding the reason in words, without the file
 * name: -ENOENT, -EINVAL (not a capture file), -EIO (a write to `out`
 * failed), -ENOMEM, or what capture_open/capture_dispatch returned. The
 * records of flows seen before a read error are still written. */
int sensor_read_file(const struct sensor_settings *s, FILE *out, struct sensor_file_stats *st,
		     char *err, size_t errlen);

/* Writes the --stats summary of *st as one JSON object and a newline:
 * {"packets","bytes","decode_errors":{reason:N,...},"flows","evicted",
 * "fragments","reassembled","records","analyzers":{...},"weird":{name:N}}.
 * 0 or -EIO. */
int sensor_file_stats_write(const struct sensor_file_stats *st, FILE *f);

/* The live daemon (sensor_live.c). */
struct sensor_live_opts {
	const struct sensor_settings *set;
	const char *spool_dir;       /* lanes go here */
	uint64_t segment_max_bytes;  /* spool settings, as the agent's */
	uint32_t segment_max_age_ms;
	uint32_t fsync_interval_ms;
	uint64_t hard_limit_bytes;   /* refuse appends above this spool size; 0 = none */
	uint32_t budget_check_ms;
	int ipc_fd;                  /* the supervisor's socket (agent/ipc.h
	                              * framing), or -1 when run by hand */
	const char *status_file;     /* also write the status JSON here
	                              * (atomically); NULL = no */
};

/* Opens the capture (with privilege), drops privilege to set->user,
 * opens the lanes and runs until SIGTERM/SIGINT or until the supervisor's
 * socket closes. Returns the process exit code: 0, 1 (a start-up failure,
 * said on stderr), or 3 when the capture failed while running. */
int sensor_live_run(const struct sensor_live_opts *o);

/* The lane names of interface `ifname`: "conn-<if>" (P2) and
 * "sensor-<if>" (P0), where <if> is the name lowercased with every byte
 * outside [a-z0-9_-] written as '_', cut to fit 32 bytes. `dst` holds at
 * least 33 bytes. */
void sensor_lane_name(char *dst, const char *prefix, const char *ifname);

#endif
