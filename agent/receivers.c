/* The receiver process: syslog listeners writing the `syslog` lane, SNMP
 * listeners writing the `snmp` lane, and the EDR relay (Lumberjack v2 and
 * HEC) writing the `edr` lane. All of them parse untrusted input and hold
 * no key material (DESIGN.md, "Processes and privilege").
 *
 * It waits for its configuration from the supervisor, opens its lanes,
 * starts the listeners, and then loops: group commit every
 * fsync_interval_ms, segment age checks, spool size checks, and a status
 * report to the supervisor every 500 ms.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uv.h>

#include "agent.h"
#include "clock.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "spool.h"
#include "edr/edr_net.h"
#include "snmp/snmp_net.h"
#include "syslog/syslog_net.h"

#define STATUS_PUSH_MS 500

struct receivers {
	uv_loop_t *loop;
	struct ipc ipc;
	struct ward_config *cfg;
	struct spool_lane *lane;          /* syslog, P1 */
	struct spool_lane *snmp_lane;     /* snmp, P1 */
	struct spool_lane *edr_lane;      /* edr, P1 */
	struct syslog_server *syslog;
	struct snmp_server *snmp;
	struct edr_server *edr;
	uv_timer_t commit_timer, usage_timer, status_timer;
	uv_signal_t sigterm, sigint, sighup;
	uint64_t hard_limit;
	int stopping;
	int exit_code;
};

static json_t *lane_status(const struct spool_lane *lane)
{
	struct spool_lane_stats st;

	spool_lane_get_stats(lane, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"next_seq", (json_int_t)st.next_seq,
		"durable_seq", (json_int_t)st.durable_seq,
		"records_appended", (json_int_t)st.records_appended,
		"bytes_appended", (json_int_t)st.bytes_appended,
		"append_enospc", (json_int_t)st.append_enospc,
		"append_errors", (json_int_t)st.append_errors,
		"segments_closed", (json_int_t)st.segments_closed,
		"recovered_records", (json_int_t)st.recovered_records,
		"recovered_torn_bytes", (json_int_t)st.recovered_torn_bytes);
}

static void push_status(struct receivers *r)
{
	json_t *root = json_object(), *lanes = json_object();
	char *text;

	if (root == NULL || lanes == NULL) {
		json_decref(root);
		json_decref(lanes);
		return;
	}
	if (r->syslog != NULL || r->lane != NULL)
		json_object_set_new(root, "syslog", syslog_server_status(r->syslog));
	if (r->snmp != NULL)
		json_object_set_new(root, "snmp", snmp_server_status(r->snmp));
	if (r->edr != NULL)
		json_object_set_new(root, "edr", edr_server_status(r->edr));
	if (r->lane != NULL)
		json_object_set_new(lanes, spool_lane_name(r->lane), lane_status(r->lane));
	if (r->snmp_lane != NULL)
		json_object_set_new(lanes, spool_lane_name(r->snmp_lane), lane_status(r->snmp_lane));
	if (r->edr_lane != NULL)
		json_object_set_new(lanes, spool_lane_name(r->edr_lane), lane_status(r->edr_lane));
	json_object_set_new(root, "lanes", lanes);
	text = json_dumps(root, JSON_COMPACT);
	if (text != NULL)
		(void)ipc_send(&r->ipc, IPC_STATUS, text, strlen(text));
	free(text);
	json_decref(root);
}

static void status_timer_cb(uv_timer_t *t)
{
	push_status(t->data);
}

/* An asynchronous commit of `lane` is done (on the loop thread): durable
 * records may now be acknowledged, and readers paused for room go on. */
static void lane_committed(struct spool_lane *lane, int status, void *arg)
{
	struct receivers *r = arg;

	if (status < 0 && status != -ENOSPC)
		log_error("spool: commit of lane %s failed: %s", spool_lane_name(lane),
			  strerror(-status));
	if (lane == r->lane)
		syslog_server_on_commit(r->syslog);
	else if (lane == r->snmp_lane && r->snmp != NULL)
		snmp_server_on_commit(r->snmp);
	else if (lane == r->edr_lane)
		edr_server_on_commit(r->edr);
}

/* Group commit without blocking the loop: the write and fdatasync run on
 * libuv's thread pool while we go on receiving, then lane_committed().
 * The lane also starts commits itself as its buffer fills, closes aged
 * segments, and retries a failed commit here. -EBUSY: one is in flight;
 * the next follows as soon as it completes. */
static void lane_commit(struct receivers *r, struct spool_lane *lane)
{
	int rc;

	if (lane == NULL)
		return;
	rc = spool_lane_commit_async(lane, r->loop, lane_committed, r);
	if (rc < 0 && rc != -EBUSY && rc != -ENOSPC)
		log_error("spool: commit of lane %s failed: %s", spool_lane_name(lane), strerror(-rc));
}

static void commit_timer_cb(uv_timer_t *t)
{
	struct receivers *r = t->data;

	lane_commit(r, r->lane);
	lane_commit(r, r->snmp_lane);
	lane_commit(r, r->edr_lane);
	syslog_server_on_commit(r->syslog);
	if (r->snmp != NULL)
		snmp_server_on_commit(r->snmp);
	edr_server_on_commit(r->edr);
}

static void usage_timer_cb(uv_timer_t *t)
{
	struct receivers *r = t->data;
	struct spool_usage *u = malloc(sizeof(*u));

	if (u == NULL)
		return;
	if (spool_usage_scan(r->cfg->spool.dir, u) == 0) {
		spool_lane_set_spool_usage(r->lane, u->total_bytes);
		if (r->snmp_lane != NULL)
			spool_lane_set_spool_usage(r->snmp_lane, u->total_bytes);
		if (r->edr_lane != NULL)
			spool_lane_set_spool_usage(r->edr_lane, u->total_bytes);
		syslog_server_on_spool_usage(r->syslog, u->total_bytes >= r->hard_limit);
		edr_server_on_spool_usage(r->edr, u->total_bytes >= r->hard_limit);
	}
	free(u);
}

/* The supervisor evicts down to the budget; the writer's own hard limit
 * sits above it so that a lane the supervisor can still trim (P2) never
 * blocks a higher-priority one, yet the spool cannot run away if the
 * supervisor is stalled. */
static uint64_t hard_limit_for(const struct ward_config *cfg)
{
	return cfg->spool.budget_bytes + cfg->spool.budget_bytes / 8;
}

static int open_lane(struct receivers *r, const char *name, uint32_t max_record,
		     struct spool_lane **lane)
{
	struct spool_lane_opts lo = {
		.spool_dir = r->cfg->spool.dir,
		.name = name,
		.cls = SPOOL_P1,
		.segment_max_bytes = r->cfg->spool.segment_max_bytes,
		.segment_max_age_ms = r->cfg->spool.segment_max_age_ms,
		.max_record_bytes = max_record,
		.hard_limit_bytes = hard_limit_for(r->cfg),
	};
	int rc = spool_lane_open(lane, &lo);

	if (rc < 0)
		log_error("spool: cannot open lane %s in %s: %s", name, lo.spool_dir, strerror(-rc));
	return rc;
}

static int receivers_start(struct receivers *r)
{
	int rc;

	r->hard_limit = hard_limit_for(r->cfg);
	/* A record holds the message twice at most (raw and parsed). */
	rc = open_lane(r, "syslog", r->cfg->syslog.max_message_bytes * 2 + 4096, &r->lane);
	if (rc < 0)
		return rc;
	rc = syslog_server_create(&r->syslog, r->loop, r->lane);
	if (rc < 0)
		return rc;
	(void)syslog_server_configure(r->syslog, r->cfg);
	if (IS_ENABLED(CONFIG_SNMP)) {
		/* A 64 KiB datagram decodes to a few times its size in JSON. */
		rc = open_lane(r, "snmp", 1024 * 1024, &r->snmp_lane);
		if (rc < 0)
			return rc;
		rc = snmp_server_create(&r->snmp, r->loop, r->snmp_lane);
		if (rc < 0)
			return rc;
		(void)snmp_server_configure(r->snmp, r->cfg);
	}
	if (IS_ENABLED(CONFIG_EDR)) {
		/* A record holds the event, its extracted fields and the
		 * relay's own; the lane's cap bounds it (over it: counted as
		 * too large). */
		uint64_t max_rec = (uint64_t)r->cfg->edr.max_event_bytes * 4 + 65536;

		if (max_rec > (uint64_t)CONFIG_SPOOL_MAX_RECORD_KB * 1024)
			max_rec = (uint64_t)CONFIG_SPOOL_MAX_RECORD_KB * 1024;
		rc = open_lane(r, "edr", (uint32_t)max_rec, &r->edr_lane);
		if (rc < 0)
			return rc;
		rc = edr_server_create(&r->edr, r->loop, r->edr_lane);
		if (rc < 0)
			return rc;
		(void)edr_server_configure(r->edr, r->cfg);
	}
	uv_timer_start(&r->commit_timer, commit_timer_cb, r->cfg->spool.fsync_interval_ms,
		       r->cfg->spool.fsync_interval_ms);
	uv_timer_start(&r->usage_timer, usage_timer_cb, 0, r->cfg->spool.budget_check_ms);
	uv_timer_start(&r->status_timer, status_timer_cb, 0, STATUS_PUSH_MS);
	return 0;
}

static void apply_config(struct receivers *r, const uint8_t *text, size_t len)
{
	struct ward_config *cfg = NULL;
	struct config_error err;
	char msg[400];
	int rc;

	rc = config_load_buf("supervisor", text, len, &cfg, &err);
	if (rc < 0) {
		config_error_str(&err, msg, sizeof(msg));
		log_error("receivers: configuration refused: %s", msg);
		(void)ipc_send(&r->ipc, IPC_RELOAD_RESULT, msg, strlen(msg));
		return;
	}
	log_set_level(cfg->agent.log_level);
	if (r->cfg == NULL) {
		r->cfg = cfg;
		rc = receivers_start(r);
		if (rc < 0) {
			r->exit_code = 1;
			uv_stop(r->loop);
			return;
		}
	} else {
		config_free(r->cfg);
		r->cfg = cfg;
		rc = syslog_server_configure(r->syslog, cfg);
		if (r->snmp != NULL) {
			int src = snmp_server_configure(r->snmp, cfg);

			rc += src > 0 ? src : 0;
		}
		if (r->edr != NULL)
			rc += edr_server_configure(r->edr, cfg);
		uv_timer_set_repeat(&r->commit_timer, cfg->spool.fsync_interval_ms);
		uv_timer_set_repeat(&r->usage_timer, cfg->spool.budget_check_ms);
		r->hard_limit = hard_limit_for(cfg);
	}
	snprintf(msg, sizeof(msg), rc > 0 ? "%d listener(s) failed to start" : "ok", rc);
	(void)ipc_send(&r->ipc, IPC_RELOAD_RESULT, msg, strlen(msg));
	push_status(r);
}

static void on_ipc_frame(struct ipc *ch, uint8_t type, const uint8_t *data, size_t len)
{
	struct receivers *r = ch->data;

	switch (type) {
	case IPC_CONFIG:
		apply_config(r, data, len);
		break;
	case IPC_FLUSH:
		if (r->lane != NULL)
			(void)spool_lane_flush(r->lane);
		if (r->snmp_lane != NULL)
			(void)spool_lane_flush(r->snmp_lane);
		if (r->edr_lane != NULL)
			(void)spool_lane_flush(r->edr_lane);
		push_status(r);
		break;
	default:
		log_warn("receivers: unknown IPC frame type %u", type);
		break;
	}
}

static void close_all_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void close_lanes(struct receivers *r)
{
	/* Every message received is in its lane; make it durable and close
	 * the open segments so the sealer can take them. spool_lane_close
	 * first waits for a commit in flight; its completion then runs on the
	 * loop without calling back. */
	spool_lane_close(r->lane);
	r->lane = NULL;
	spool_lane_close(r->snmp_lane);
	r->snmp_lane = NULL;
	spool_lane_close(r->edr_lane);
	r->edr_lane = NULL;
	ipc_close(&r->ipc);
	uv_walk(r->loop, close_all_cb, NULL);
}

static void edr_stopped_cb(void *arg)
{
	close_lanes(arg);
}

static void snmp_stopped_cb(void *arg)
{
	struct receivers *r = arg;

	if (r->edr != NULL)
		edr_server_stop(r->edr, edr_stopped_cb, r);
	else
		close_lanes(r);
}

static void syslog_stopped_cb(void *arg)
{
	struct receivers *r = arg;

	if (r->snmp != NULL)
		snmp_server_stop(r->snmp, snmp_stopped_cb, r);
	else
		snmp_stopped_cb(r);
}

static void receivers_stop(struct receivers *r)
{
	if (r->stopping)
		return;
	r->stopping = 1;
	if (r->syslog != NULL)
		syslog_server_stop(r->syslog, syslog_stopped_cb, r);
	else
		syslog_stopped_cb(r);
}

static void on_ipc_close(struct ipc *ch)
{
	struct receivers *r = ch->data;

	/* The supervisor went away: finish cleanly rather than run orphaned. */
	if (!r->stopping)
		log_info("receivers: supervisor gone; stopping");
	receivers_stop(r);
}

static void signal_cb(uv_signal_t *s, int signum)
{
	struct receivers *r = s->data;

	if (signum == SIGHUP)
		return;   /* the supervisor reloads and sends us the result */
	receivers_stop(r);
}

int receivers_main(int ipc_fd)
{
	struct receivers r;
	int rc;

	memset(&r, 0, sizeof(r));
	log_setup("ward-receivers", LOG_LVL_INFO);
	r.loop = uv_default_loop();
	uv_timer_init(r.loop, &r.commit_timer);
	uv_timer_init(r.loop, &r.usage_timer);
	uv_timer_init(r.loop, &r.status_timer);
	r.commit_timer.data = r.usage_timer.data = r.status_timer.data = &r;
	uv_signal_init(r.loop, &r.sigterm);
	uv_signal_init(r.loop, &r.sigint);
	uv_signal_init(r.loop, &r.sighup);
	r.sigterm.data = r.sigint.data = r.sighup.data = &r;
	uv_signal_start(&r.sigterm, signal_cb, SIGTERM);
	/* Ctrl-C in a terminal reaches the whole process group; the
	 * supervisor decides when we stop, so SIGINT is ignored here. */
	uv_signal_start(&r.sighup, signal_cb, SIGHUP);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	r.ipc.data = &r;
	rc = ipc_open(&r.ipc, r.loop, ipc_fd, on_ipc_frame, on_ipc_close);
	if (rc < 0) {
		log_error("receivers: cannot open IPC fd %d: %s", ipc_fd, uv_strerror(rc));
		return 1;
	}
	uv_run(r.loop, UV_RUN_DEFAULT);
	/* uv_stop after a failed start leaves handles open: close them. */
	if (!r.stopping) {
		receivers_stop(&r);
		uv_run(r.loop, UV_RUN_DEFAULT);
	}
	syslog_server_destroy(r.syslog);
	snmp_server_destroy(r.snmp);
	edr_server_destroy(r.edr);
	spool_lane_close(r.lane);
	spool_lane_close(r.snmp_lane);
	spool_lane_close(r.edr_lane);
	config_free(r.cfg);
	uv_loop_close(r.loop);
	return r.exit_code;
}
