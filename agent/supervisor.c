/* The supervisor: configuration, control socket, the disk budget (spool
 * and outbox), the P0 `agent` lane, the receiver process, and one
 * ward-sensor per configured mirror port.
 *
 * The supervisor never parses network input. It reads the children's
 * status frames (length-checked by ipc.c) and its own config file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "agent.h"
#include "buf.h"
#include "clock.h"
#include "config.h"
#include "ctl.h"
#include "ipc.h"
#include "jsonw.h"
#include "kconfig.h"
#include "log.h"
#include "seal_uplink.h"
#include "spool.h"

#define RESTART_MIN_MS 500
#define RESTART_MAX_MS 30000
#define RECENT_LOSSES 20
#define SENSOR_SLOTS 32         /* interfaces known across reloads */

enum child_state { CHILD_STOPPED = 0, CHILD_RUNNING, CHILD_RESTARTING };

struct supervisor;

/* One ward-sensor (sensor/sensor.h), on one mirror port. Its status
 * frames carry the mirror port's health that wardctl shows. */
struct sensor_child {
	struct supervisor *s;
	char ifname[16];
	bool wanted;                  /* in sensor.interfaces now */
	bool restart_now;             /* stopped for a reload: start again at once */
	enum child_state state;
	int handle_open;
	uv_process_t proc;
	struct ipc ipc;
	int ipc_open;
	uv_timer_t restart_timer;
	unsigned restarts;
	uint64_t backoff_ms;
	uint64_t started_ms;
	char last_exit[128];
	json_t *status;               /* latest status frame */
	uint64_t prev_dropped;        /* records_dropped of the last frame */
};

struct supervisor {
	uv_loop_t *loop;
	const char *argv0;
	char *cfg_path;               /* absolute, or NULL for the defaults */
	struct ward_config *cfg;
	struct buf cfg_text;          /* the YAML the receivers get */
	int64_t started_us, cfg_loaded_us;
	char last_reload[400];

	struct spool_lane *lane;      /* "agent", P0 */
	struct seal_uplink *su;       /* sealers and uplink; holds the keys */
	struct spool_usage usage;
	struct ctl_server ctl;

	/* the receiver process */
	uv_process_t child;
	enum child_state child_state;
	int child_handle_open;
	struct ipc ipc;
	int ipc_open;
	unsigned restarts;
	uint64_t backoff_ms;
	uint64_t child_started_ms;
	char child_last_exit[128];
	char child_last_reload[256];
	json_t *child_status;         /* latest status frame */
	uint64_t prev_drop_kernel, prev_drop_spool;
	uint64_t prev_snmp_drop_kernel, prev_snmp_drop_spool;

	/* the sensors */
	struct sensor_child *sensors[SENSOR_SLOTS];
	unsigned n_sensors;
	char sensor_path[PATH_MAX];

	/* loss accounting */
	uint64_t evicted_segments, evicted_batches, evicted_records, evicted_bytes;
	uint64_t dropped_kernel, dropped_spool;
	json_t *recent_losses;

	uv_timer_t budget_timer, commit_timer, heartbeat_timer, restart_timer;
	uv_signal_t sighup, sigterm, sigint;
	struct buf rec;
	int stopping;
};

/* ---- the agent lane ------------------------------------------------------- */

static void agent_append(struct supervisor *s, struct buf *rec)
{
	int rc = spool_lane_append(s->lane, clock_wall_us(), rec->data, rec->len, NULL);

	if (rc < 0)
		log_error("spool: cannot append to lane agent: %s", strerror(-rc));
}

/* `stage` says where evicted data was ("spool" or "outbox"); NULL for
 * drops, which never reached the spool. */
static void note_loss(struct supervisor *s, const char *lane, const char *cls,
		      uint64_t first_seq, uint64_t last_seq, uint64_t records,
		      uint64_t bytes, const char *reason, const char *stage)
{
	struct jsonw w;
	json_t *j;

	buf_reset(&s->rec);
	jsonw_init(&w, &s->rec);
	jsonw_object_open(&w);
	jsonw_kv_cstr(&w, "type", "loss");
	jsonw_key(&w, "ts");
	jsonw_time_us(&w, clock_wall_us());
	jsonw_kv_cstr(&w, "device", s->cfg->agent.device_id);
	jsonw_kv_cstr(&w, "lane", lane);
	jsonw_kv_cstr(&w, "class", cls);
	if (first_seq != 0) {
		jsonw_kv_uint(&w, "first_seq", first_seq);
		jsonw_kv_uint(&w, "last_seq", last_seq);
	}
	jsonw_kv_uint(&w, "records", records);
	jsonw_kv_uint(&w, "bytes", bytes);
	jsonw_kv_cstr(&w, "reason", reason);
	if (stage != NULL)
		jsonw_kv_cstr(&w, "stage", stage);
	jsonw_object_close(&w);
	if (jsonw_finish(&w) == 0)
		agent_append(s, &s->rec);

	j = json_loadb((const char *)s->rec.data, s->rec.len, 0, NULL);
	if (j != NULL) {
		json_array_append_new(s->recent_losses, j);
		if (json_array_size(s->recent_losses) > RECENT_LOSSES)
			json_array_remove(s->recent_losses, 0);
	}
	log_warn("loss: lane %s: %llu records (%llu bytes) %s", lane,
		 (unsigned long long)records, (unsigned long long)bytes, reason);
}

static void on_evict(const struct spool_eviction *ev, void *arg)
{
	struct supervisor *s = arg;

	if (ev->kind == SPOOL_EVICT_BATCH)
		s->evicted_batches++;
	else
		s->evicted_segments++;
	s->evicted_records += ev->records;
	s->evicted_bytes += ev->bytes;
	note_loss(s, ev->lane, spool_class_name(ev->cls), ev->first_seq, ev->last_seq,
		  ev->records, ev->bytes, ev->reason, spool_evict_kind_name(ev->kind));
	/* The segment or batch is deleted when we return: the loss record
	 * must be durable first, or a crash here would make the loss silent. */
	if (spool_lane_commit(s->lane) < 0)
		log_error("spool: loss record for lane %s is not durable", ev->lane);
}

static void budget_timer_cb(uv_timer_t *t)
{
	struct supervisor *s = t->data;
	int rc;

	/* One budget for the spool and the outbox: during an outage the
	 * backlog moves from one to the other as it is sealed. */
	rc = spool_budget_enforce(s->cfg->spool.dir, s->cfg->uplink.outbox,
				  s->cfg->spool.budget_bytes, on_evict, s, &s->usage);
	if (rc < 0)
		log_error("spool: budget check of %s and %s failed: %s", s->cfg->spool.dir,
			  s->cfg->uplink.outbox, strerror(-rc));
	else
		spool_lane_set_spool_usage(s->lane, s->usage.total_bytes);
}

static void commit_timer_cb(uv_timer_t *t)
{
	struct supervisor *s = t->data;

	(void)spool_lane_commit(s->lane);
	(void)spool_lane_tick(s->lane, clock_mono_ms());
}

static json_t *status_json(struct supervisor *s);

static void heartbeat_timer_cb(uv_timer_t *t)
{
	struct supervisor *s = t->data;
	json_t *st = status_json(s), *rec;
	char ts[32], *text;

	if (st == NULL)
		return;
	/* The SOC sees the same view a field engineer gets from wardctl,
	 * minus the per-source detail, which logs already carry. */
	time_format_rfc3339_us(ts, clock_wall_us());
	rec = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O*, s:O?, s:O?, s:O?}",
			"type", "status", "ts", ts, "device", s->cfg->agent.device_id,
			"agent", json_object_get(st, "agent"),
			"receivers", json_object_get(st, "receivers"),
			"sensors", json_object_get(st, "sensors"),
			"uplink", json_object_get(st, "uplink"),
			"losses", json_object_get(st, "losses"),
			"errors", json_object_get(st, "errors"));
	if (rec != NULL) {
		text = json_dumps(rec, JSON_COMPACT);
		if (text != NULL) {
			buf_reset(&s->rec);
			buf_append_str(&s->rec, text);
			agent_append(s, &s->rec);
			free(text);
		}
		json_decref(rec);
	}
	json_decref(st);
}

/* ---- the receiver process ------------------------------------------------- */

static void child_spawn(struct supervisor *s);

static uint64_t json_u64(json_t *obj, const char *path1, const char *path2)
{
	json_t *v = json_object_get(obj, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

/* Sums a counter over an input's listeners in a receiver status. */
static uint64_t listeners_sum(json_t *st, const char *input, const char *key)
{
	json_t *ls = json_object_get(json_object_get(st, input), "listeners"), *l;
	uint64_t total = 0;
	size_t i;

	json_array_foreach(ls, i, l)
		total += json_u64(l, key, NULL);
	return total;
}

/* Drops the receivers counted become P0 loss records, so the SOC sees them
 * too. Counters restart with the process; a decrease means a new process. */
static void account_drops(struct supervisor *s, json_t *st)
{
	uint64_t k = listeners_sum(st, "syslog", "dropped_kernel");
	uint64_t sp = listeners_sum(st, "syslog", "dropped_spool");
	uint64_t snmp_k = listeners_sum(st, "snmp", "dropped_kernel");
	uint64_t snmp_sp = json_u64(json_object_get(st, "snmp"), "counters", "dropped_spool");

	if (snmp_k < s->prev_snmp_drop_kernel)
		s->prev_snmp_drop_kernel = 0;
	if (snmp_sp < s->prev_snmp_drop_spool)
		s->prev_snmp_drop_spool = 0;
	if (snmp_k > s->prev_snmp_drop_kernel) {
		s->dropped_kernel += snmp_k - s->prev_snmp_drop_kernel;
		note_loss(s, "snmp", "P1", 0, 0, snmp_k - s->prev_snmp_drop_kernel, 0,
			  "udp_receive_buffer_overflow", NULL);
	}
	if (snmp_sp > s->prev_snmp_drop_spool) {
		s->dropped_spool += snmp_sp - s->prev_snmp_drop_spool;
		note_loss(s, "snmp", "P1", 0, 0, snmp_sp - s->prev_snmp_drop_spool, 0, "spool_full",
			  NULL);
	}
	s->prev_snmp_drop_kernel = snmp_k;
	s->prev_snmp_drop_spool = snmp_sp;

	if (k < s->prev_drop_kernel)
		s->prev_drop_kernel = 0;
	if (sp < s->prev_drop_spool)
		s->prev_drop_spool = 0;
	if (k > s->prev_drop_kernel) {
		s->dropped_kernel += k - s->prev_drop_kernel;
		note_loss(s, "syslog", "P1", 0, 0, k - s->prev_drop_kernel, 0,
			  "udp_receive_buffer_overflow", NULL);
	}
	if (sp > s->prev_drop_spool) {
		s->dropped_spool += sp - s->prev_drop_spool;
		note_loss(s, "syslog", "P1", 0, 0, sp - s->prev_drop_spool, 0, "spool_full",
			  NULL);
	}
	s->prev_drop_kernel = k;
	s->prev_drop_spool = sp;
}

static void on_child_frame(struct ipc *ch, uint8_t type, const uint8_t *data, size_t len)
{
	struct supervisor *s = ch->data;
	json_t *st;

	switch (type) {
	case IPC_STATUS:
		st = json_loadb((const char *)data, len, 0, NULL);
		if (!json_is_object(st)) {
			json_decref(st);
			log_warn("receivers: unreadable status frame (%zu bytes)", len);
			return;
		}
		account_drops(s, st);
		json_decref(s->child_status);
		s->child_status = st;
		break;
	case IPC_RELOAD_RESULT:
		snprintf(s->child_last_reload, sizeof(s->child_last_reload), "%.*s",
			 (int)(len < 255 ? len : 255), (const char *)data);
		if (strcmp(s->child_last_reload, "ok") != 0)
			log_warn("receivers: %s", s->child_last_reload);
		break;
	default:
		log_warn("receivers: unknown IPC frame type %u", type);
		break;
	}
}

static void on_child_ipc_close(struct ipc *ch)
{
	struct supervisor *s = ch->data;

	s->ipc_open = 0;
}

static void restart_timer_cb(uv_timer_t *t)
{
	child_spawn(t->data);
}

static void child_closed_cb(uv_handle_t *h)
{
	struct supervisor *s = h->data;

	s->child_handle_open = 0;
}

static void child_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct supervisor *s = p->data;
	uint64_t ran = uv_now(s->loop) - s->child_started_ms;

	if (term_signal != 0)
		snprintf(s->child_last_exit, sizeof(s->child_last_exit), "killed by signal %d",
			 term_signal);
	else
		snprintf(s->child_last_exit, sizeof(s->child_last_exit), "exited with status %lld",
			 (long long)status);
	uv_close((uv_handle_t *)p, child_closed_cb);
	if (s->ipc_open)
		ipc_close(&s->ipc);
	if (s->stopping) {
		s->child_state = CHILD_STOPPED;
		return;
	}
	/* A process that ran a while earns a fresh start; one that dies at
	 * once backs off so a crash loop cannot spin the CPU. */
	if (ran > 60000)
		s->backoff_ms = RESTART_MIN_MS;
	log_error("receivers %s; restarting in %llu ms", s->child_last_exit,
		  (unsigned long long)s->backoff_ms);
	s->child_state = CHILD_RESTARTING;
	s->restarts++;
	uv_timer_start(&s->restart_timer, restart_timer_cb, s->backoff_ms, 0);
	s->backoff_ms = s->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : s->backoff_ms * 2;
}

static void child_spawn(struct supervisor *s)
{
	uv_process_options_t po;
	uv_stdio_container_t stdio[4];
	char *args[3];
	int sv[2], rc;

	if (s->stopping)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("receivers: socketpair: %s", strerror(errno));
		goto retry;
	}
	memset(&po, 0, sizeof(po));
	args[0] = (char *)s->argv0;
	args[1] = "--receivers";
	args[2] = NULL;
	/* Re-executing ourselves gives the receivers a fresh address space:
	 * nothing of the supervisor's memory is inherited. */
	po.file = "/proc/self/exe";
	po.args = args;
	po.exit_cb = child_exit_cb;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 1;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = sv[1];
	po.stdio = stdio;
	po.stdio_count = 4;
	s->child.data = s;
	rc = uv_spawn(s->loop, &s->child, &po);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		log_error("receivers: cannot start: %s", uv_strerror(rc));
		goto retry;
	}
	s->child_handle_open = 1;
	s->child_state = CHILD_RUNNING;
	s->child_started_ms = uv_now(s->loop);
	s->ipc.data = s;
	rc = ipc_open(&s->ipc, s->loop, sv[0], on_child_frame, on_child_ipc_close);
	if (rc < 0) {
		log_error("receivers: IPC: %s", uv_strerror(rc));
		uv_process_kill(&s->child, SIGTERM);
		return;
	}
	s->ipc_open = 1;
	(void)ipc_send(&s->ipc, IPC_CONFIG, s->cfg_text.data, s->cfg_text.len);
	log_info("receivers started (pid %d)", s->child.pid);
	return;
retry:
	s->child_state = CHILD_RESTARTING;
	uv_timer_start(&s->restart_timer, restart_timer_cb, RESTART_MAX_MS, 0);
}

/* ---- the sensors ---------------------------------------------------------- */

/* ward-sensor opens its capture with the privilege it is started with
 * (root, or the capabilities the image gives the binary) and drops it
 * itself; see docs/config.md, "sensor". It writes its own lanes and sends
 * a status frame every 500 ms; the supervisor only relays that. */

static void sensor_spawn(struct sensor_child *ch);

/* conn records the sensor could not queue or the spool refused become P0
 * loss records, as the receivers' drops do. A smaller count means a new
 * process. */
static void sensor_account_drops(struct sensor_child *ch, json_t *st)
{
	json_t *v = json_object_get(st, "records_dropped");
	const char *lane = json_string_value(json_object_get(st, "conn_lane"));
	uint64_t n = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;

	if (n < ch->prev_dropped)
		ch->prev_dropped = 0;
	if (n > ch->prev_dropped && lane != NULL) {
		ch->s->dropped_spool += n - ch->prev_dropped;
		note_loss(ch->s, lane, "P2", 0, 0, n - ch->prev_dropped, 0, "spool_full", NULL);
	}
	ch->prev_dropped = n;
}

static void on_sensor_frame(struct ipc *ipc, uint8_t type, const uint8_t *data, size_t len)
{
	struct sensor_child *ch = ipc->data;
	json_t *st;

	if (type != IPC_STATUS) {
		log_warn("ward-sensor %s: unknown IPC frame type %u", ch->ifname, type);
		return;
	}
	st = json_loadb((const char *)data, len, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		log_warn("ward-sensor %s: unreadable status frame (%zu bytes)", ch->ifname, len);
		return;
	}
	sensor_account_drops(ch, st);
	json_decref(ch->status);
	ch->status = st;
}

static void on_sensor_ipc_close(struct ipc *ipc)
{
	struct sensor_child *ch = ipc->data;

	ch->ipc_open = 0;
}

static void sensor_restart_cb(uv_timer_t *t)
{
	sensor_spawn(t->data);
}

static void sensor_closed_cb(uv_handle_t *h)
{
	struct sensor_child *ch = h->data;

	ch->handle_open = 0;
}

static void sensor_backoff(struct sensor_child *ch)
{
	ch->state = CHILD_RESTARTING;
	uv_timer_start(&ch->restart_timer, sensor_restart_cb, ch->backoff_ms, 0);
	ch->backoff_ms = ch->backoff_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : ch->backoff_ms * 2;
}

static void sensor_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct sensor_child *ch = p->data;
	struct supervisor *s = ch->s;
	uint64_t ran = uv_now(s->loop) - ch->started_ms;

	if (term_signal != 0)
		snprintf(ch->last_exit, sizeof(ch->last_exit), "killed by signal %d", term_signal);
	else
		snprintf(ch->last_exit, sizeof(ch->last_exit), "exited with status %lld",
			 (long long)status);
	uv_close((uv_handle_t *)p, sensor_closed_cb);
	if (ch->ipc_open)
		ipc_close(&ch->ipc);
	if (s->stopping || !ch->wanted) {
		ch->state = CHILD_STOPPED;
		ch->restart_now = false;
		return;
	}
	if (ch->restart_now) {
		/* Stopped to take a new configuration: no back-off. */
		ch->restart_now = false;
		ch->backoff_ms = RESTART_MIN_MS;
		ch->state = CHILD_RESTARTING;
		uv_timer_start(&ch->restart_timer, sensor_restart_cb, 0, 0);
		return;
	}
	if (ran > 60000)
		ch->backoff_ms = RESTART_MIN_MS;
	log_error("ward-sensor %s %s; restarting in %llu ms", ch->ifname, ch->last_exit,
		  (unsigned long long)ch->backoff_ms);
	ch->restarts++;
	sensor_backoff(ch);
}

static void sensor_spawn(struct sensor_child *ch)
{
	struct supervisor *s = ch->s;
	uv_process_options_t po;
	uv_stdio_container_t stdio[4];
	char *args[12];
	int sv[2], rc, n = 0;

	if (s->stopping || !ch->wanted) {
		ch->state = CHILD_STOPPED;
		return;
	}
	if (ch->handle_open) {   /* the last run's handle is still closing */
		uv_timer_start(&ch->restart_timer, sensor_restart_cb, 50, 0);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(ch->last_exit, sizeof(ch->last_exit), "socketpair: %s", strerror(errno));
		log_error("ward-sensor %s: %s", ch->ifname, ch->last_exit);
		sensor_backoff(ch);
		return;
	}
	args[n++] = s->sensor_path;
	args[n++] = "-i";
	args[n++] = ch->ifname;
	args[n++] = "--ipc-fd";
	args[n++] = "3";
	/* Relative to our working directory (agent.state_dir), which the
	 * sensor inherits. */
	args[n++] = "--spool";
	args[n++] = s->cfg->spool.dir;
	if (s->cfg_path != NULL) {
		args[n++] = "-c";
		args[n++] = s->cfg_path;
	}
	args[n] = NULL;
	memset(&po, 0, sizeof(po));
	po.file = s->sensor_path;
	po.args = args;
	po.exit_cb = sensor_exit_cb;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 1;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = sv[1];
	po.stdio = stdio;
	po.stdio_count = 4;
	ch->proc.data = ch;
	rc = uv_spawn(s->loop, &ch->proc, &po);
	close(sv[1]);
	if (rc < 0) {
		close(sv[0]);
		snprintf(ch->last_exit, sizeof(ch->last_exit), "cannot start ward-sensor: %s",
			 uv_strerror(rc));
		log_error("ward-sensor %s: %s (%s)", ch->ifname, ch->last_exit, s->sensor_path);
		sensor_backoff(ch);
		return;
	}
	ch->handle_open = 1;
	ch->state = CHILD_RUNNING;
	ch->started_ms = uv_now(s->loop);
	ch->ipc.data = ch;
	rc = ipc_open(&ch->ipc, s->loop, sv[0], on_sensor_frame, on_sensor_ipc_close);
	if (rc < 0) {
		log_error("ward-sensor %s: IPC: %s", ch->ifname, uv_strerror(rc));
		uv_process_kill(&ch->proc, SIGTERM);
		return;
	}
	ch->ipc_open = 1;
	log_info("ward-sensor %s started (pid %d)", ch->ifname, ch->proc.pid);
}

static struct sensor_child *sensor_slot(struct supervisor *s, const char *ifname)
{
	struct sensor_child *ch;
	unsigned i;

	for (i = 0; i < s->n_sensors; i++)
		if (strcmp(s->sensors[i]->ifname, ifname) == 0)
			return s->sensors[i];
	if (s->n_sensors == SENSOR_SLOTS || (ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->s = s;
	snprintf(ch->ifname, sizeof(ch->ifname), "%s", ifname);
	ch->backoff_ms = RESTART_MIN_MS;
	uv_timer_init(s->loop, &ch->restart_timer);
	ch->restart_timer.data = ch;
	s->sensors[s->n_sensors++] = ch;
	return ch;
}

/* Starts a sensor for each configured interface that has none, and stops
 * those of interfaces no longer configured. */
static void sensors_sync(struct supervisor *s)
{
	struct sensor_child *ch;
	unsigned i;

	for (i = 0; i < s->n_sensors; i++)
		s->sensors[i]->wanted = false;
	for (i = 0; IS_ENABLED(CONFIG_SENSOR) && i < s->cfg->sensor.n_interfaces; i++) {
		ch = sensor_slot(s, s->cfg->sensor.interfaces[i]);
		if (ch == NULL)
			log_error("ward-sensor %s: too many interfaces over reloads; restart ward-agent",
				  s->cfg->sensor.interfaces[i]);
		else
			ch->wanted = true;
	}
	for (i = 0; i < s->n_sensors; i++) {
		ch = s->sensors[i];
		if (ch->wanted && ch->state == CHILD_STOPPED) {
			ch->backoff_ms = RESTART_MIN_MS;
			sensor_spawn(ch);
		} else if (!ch->wanted && ch->state == CHILD_RUNNING) {
			uv_process_kill(&ch->proc, SIGTERM);
		} else if (!ch->wanted && ch->state == CHILD_RESTARTING) {
			uv_timer_stop(&ch->restart_timer);
			ch->state = CHILD_STOPPED;
		}
	}
}

static bool str_same(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/* Whether a running sensor would see a difference between a and b: its
 * section, and what it takes from the others (device id, spool). */
static bool sensor_conf_same(const struct ward_config *a, const struct ward_config *b)
{
	unsigned i;

	if (a->sensor.backend != b->sensor.backend || a->sensor.workers != b->sensor.workers ||
	    a->sensor.snaplen != b->sensor.snaplen || a->sensor.promisc != b->sensor.promisc ||
	    !str_same(a->sensor.bpf, b->sensor.bpf) ||
	    a->sensor.block_size != b->sensor.block_size ||
	    a->sensor.block_count != b->sensor.block_count ||
	    a->sensor.flow_memory_bytes != b->sensor.flow_memory_bytes ||
	    a->sensor.tcp_timeout_ms != b->sensor.tcp_timeout_ms ||
	    a->sensor.udp_timeout_ms != b->sensor.udp_timeout_ms ||
	    a->sensor.icmp_timeout_ms != b->sensor.icmp_timeout_ms ||
	    a->sensor.active_timeout_ms != b->sensor.active_timeout_ms ||
	    a->sensor.stats_interval_ms != b->sensor.stats_interval_ms ||
	    !str_same(a->sensor.user, b->sensor.user) ||
	    a->sensor.n_local_nets != b->sensor.n_local_nets ||
	    !str_same(a->agent.device_id, b->agent.device_id) ||
	    a->spool.segment_max_bytes != b->spool.segment_max_bytes ||
	    a->spool.segment_max_age_ms != b->spool.segment_max_age_ms ||
	    a->spool.fsync_interval_ms != b->spool.fsync_interval_ms ||
	    a->spool.budget_bytes != b->spool.budget_bytes)
		return false;
	for (i = 0; i < a->sensor.n_local_nets; i++)
		if (strcmp(a->sensor.local_nets[i], b->sensor.local_nets[i]) != 0)
			return false;
	return true;
}

/* Restarts every running sensor (a new configuration): each flushes its
 * flows as conn records and lanes before it exits. */
static void sensors_restart(struct supervisor *s)
{
	unsigned i;

	for (i = 0; i < s->n_sensors; i++) {
		if (s->sensors[i]->state != CHILD_RUNNING)
			continue;
		s->sensors[i]->restart_now = true;
		uv_process_kill(&s->sensors[i]->proc, SIGTERM);
	}
}

static void sensors_stop(struct supervisor *s, int sig)
{
	unsigned i;

	for (i = 0; i < s->n_sensors; i++) {
		uv_timer_stop(&s->sensors[i]->restart_timer);
		if (s->sensors[i]->state == CHILD_RUNNING)
			uv_process_kill(&s->sensors[i]->proc, sig);
		else
			s->sensors[i]->state = CHILD_STOPPED;
	}
}

static bool sensors_gone(const struct supervisor *s)
{
	unsigned i;

	for (i = 0; i < s->n_sensors; i++)
		if (s->sensors[i]->state == CHILD_RUNNING || s->sensors[i]->handle_open ||
		    s->sensors[i]->ipc_open)
			return false;
	return true;
}

/* The sensor binary lives next to ours (build/, or /usr/bin in the image). */
static void sensor_path_init(struct supervisor *s)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0) {
		snprintf(s->sensor_path, sizeof(s->sensor_path), "ward-sensor");
		return;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	if ((size_t)snprintf(s->sensor_path, sizeof(s->sensor_path), "%s/ward-sensor", self) >=
	    sizeof(s->sensor_path))
		snprintf(s->sensor_path, sizeof(s->sensor_path), "ward-sensor");
}

/* The "sensors" section of the status: one object per configured mirror
 * port, the sensor's own status frame plus what the supervisor knows. */
static json_t *sensors_json(struct supervisor *s)
{
	json_t *arr = json_array(), *o;
	struct sensor_child *ch;
	unsigned i;

	if (arr == NULL)
		return NULL;
	for (i = 0; i < s->n_sensors; i++) {
		ch = s->sensors[i];
		if (!ch->wanted)
			continue;
		o = ch->status != NULL ? json_deep_copy(ch->status) : json_object();
		if (o == NULL)
			continue;
		json_object_set_new(o, "interface", json_string(ch->ifname));
		json_object_set_new(o, "process", json_string(
			ch->state == CHILD_RUNNING ? "running" :
			ch->state == CHILD_RESTARTING ? "restarting" : "stopped"));
		json_object_set_new(o, "pid", json_integer(ch->state == CHILD_RUNNING ?
							   ch->proc.pid : 0));
		json_object_set_new(o, "restarts", json_integer((json_int_t)ch->restarts));
		if (ch->last_exit[0] != '\0')
			json_object_set_new(o, "last_exit", json_string(ch->last_exit));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void sensors_errors(struct supervisor *s, json_t *errors)
{
	struct sensor_child *ch;
	const char *err, *warn;
	char msg[900];
	unsigned i;

	if (!IS_ENABLED(CONFIG_SENSOR) && s->cfg->sensor.n_interfaces > 0)
		json_array_append_new(errors, json_string(
			"sensor.interfaces is set, but this build has no packet sensor "
			"(CONFIG_SENSOR is off)"));
	for (i = 0; i < s->n_sensors; i++) {
		ch = s->sensors[i];
		if (!ch->wanted)
			continue;
		err = json_string_value(json_object_get(ch->status, "last_error"));
		if (ch->state != CHILD_RUNNING) {
			snprintf(msg, sizeof(msg), "mirror port %s: ward-sensor is not running (%s)%s%s; "
				 "restarting", ch->ifname,
				 ch->last_exit[0] ? ch->last_exit : "starting",
				 err ? ": " : "", err ? err : "");
			json_array_append_new(errors, json_string(msg));
		} else if (err != NULL) {
			snprintf(msg, sizeof(msg), "mirror port %s: %s", ch->ifname, err);
			json_array_append_new(errors, json_string(msg));
		}
		/* The warning names the interface and the ethtool fix. */
		warn = json_string_value(json_object_get(json_object_get(ch->status, "offload"),
							 "warning"));
		if (warn != NULL) {
			snprintf(msg, sizeof(msg), "mirror port %s", warn);
			json_array_append_new(errors, json_string(msg));
		}
	}
}

/* A sensor lane's sequence numbers, from its sensor's status. */
static json_t *sensor_lane_status(struct supervisor *s, const char *lane)
{
	json_t *l;
	unsigned i;

	for (i = 0; i < s->n_sensors; i++) {
		l = json_object_get(json_object_get(s->sensors[i]->status, "lanes"), lane);
		if (l != NULL)
			return l;
	}
	return NULL;
}

static void sensors_free(struct supervisor *s)
{
	unsigned i;

	for (i = 0; i < s->n_sensors; i++) {
		json_decref(s->sensors[i]->status);
		free(s->sensors[i]);
	}
	s->n_sensors = 0;
}

/* ---- reload --------------------------------------------------------------- */

static int read_file(const char *path, struct buf *out)
{
	char tmp[8192];
	ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;   /* missing file: defaults */
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (buf_append(out, tmp, (size_t)n) < 0) {
			rc = -ENOMEM;
			break;
		}
	}
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Reloads the file. On any error the running config stays in force. */
static void supervisor_reload(struct supervisor *s)
{
	struct ward_config *cfg = NULL;
	struct config_error err;
	struct buf text = BUF_INIT;
	bool restart_sensors;
	char msg[360];
	int rc;

	if (s->cfg_path == NULL) {
		snprintf(s->last_reload, sizeof(s->last_reload),
			 "nothing to reload: running on the compiled-in defaults (no -c FILE)");
		log_info("reload: %s", s->last_reload);
		return;
	}
	rc = read_file(s->cfg_path, &text);
	if (rc == 0) {
		rc = config_load_buf(s->cfg_path, text.data, text.len, &cfg, &err);
	} else {
		memset(&err, 0, sizeof(err));
		snprintf(err.file, sizeof(err.file), "%s", s->cfg_path);
		snprintf(err.msg, sizeof(err.msg), "cannot read: %s", strerror(-rc));
	}
	if (rc < 0) {
		config_error_str(&err, msg, sizeof(msg));
		snprintf(s->last_reload, sizeof(s->last_reload),
			 "rejected, previous configuration kept: %s", msg);
		log_error("reload %s", s->last_reload);
		buf_free(&text);
		return;
	}
	if (strcmp(cfg->spool.dir, s->cfg->spool.dir) != 0 ||
	    strcmp(cfg->agent.state_dir, s->cfg->agent.state_dir) != 0 ||
	    strcmp(cfg->agent.control_socket, s->cfg->agent.control_socket) != 0)
		log_warn("reload: agent.state_dir, agent.control_socket and spool.dir "
			 "take effect at the next restart");
	/* Before the old config is freed: apply compares the two. */
	if (s->su != NULL)
		(void)seal_uplink_apply(s->su, cfg);
	restart_sensors = !sensor_conf_same(s->cfg, cfg);
	config_free(s->cfg);
	s->cfg = cfg;
	buf_free(&s->cfg_text);
	s->cfg_text = text;
	s->cfg_loaded_us = clock_wall_us();
	log_set_level(cfg->agent.log_level);
	uv_timer_set_repeat(&s->budget_timer, cfg->spool.budget_check_ms);
	uv_timer_set_repeat(&s->commit_timer, cfg->spool.fsync_interval_ms);
	uv_timer_set_repeat(&s->heartbeat_timer, cfg->agent.status_interval_ms);
	if (s->ipc_open)
		(void)ipc_send(&s->ipc, IPC_CONFIG, s->cfg_text.data, s->cfg_text.len);
	if (restart_sensors)
		sensors_restart(s);
	sensors_sync(s);
	snprintf(s->last_reload, sizeof(s->last_reload), "ok");
	log_info("reload: %s applied", s->cfg_path);
}

/* ---- status --------------------------------------------------------------- */

static json_t *lane_json(struct supervisor *s, const struct spool_lane_usage *lu, int64_t now)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "name", lu->name,
			      "class", spool_class_name(lu->cls),
			      "segments", (json_int_t)lu->segments, "bytes", (json_int_t)lu->bytes,
			      "batches", (json_int_t)lu->batches,
			      "outbox_bytes", (json_int_t)lu->outbox_bytes);
	uint64_t next = 0, durable = 0;

	if (j == NULL)
		return NULL;
	if (lu->oldest_us != 0)
		json_object_set_new(j, "oldest_age_s", json_real((double)(now - lu->oldest_us) / 1e6));
	if (strcmp(lu->name, "agent") == 0) {
		struct spool_lane_stats st;

		spool_lane_get_stats(s->lane, &st);
		next = st.next_seq;
		durable = st.durable_seq;
	} else {
		json_t *l = json_object_get(json_object_get(s->child_status, "lanes"), lu->name);

		if (l == NULL)
			l = sensor_lane_status(s, lu->name);
		next = json_u64(l, "next_seq", NULL);
		durable = json_u64(l, "durable_seq", NULL);
	}
	if (durable != 0)
		json_object_set_new(j, "durable_seq", json_integer((json_int_t)durable));
	if (next != 0 && lu->first_seq != 0 && next >= lu->first_seq) {
		json_object_set_new(j, "records", json_integer((json_int_t)(next - lu->first_seq)));
		json_object_set_new(j, "next_seq", json_integer((json_int_t)next));
	}
	return j;
}

static void add_errors(struct supervisor *s, json_t *errors)
{
	json_t *ls, *l;
	const char *err;
	size_t i;
	char msg[512];

	if (s->child_state != CHILD_RUNNING) {
		snprintf(msg, sizeof(msg), "receiver process is not running (%s); restarting",
			 s->child_last_exit[0] ? s->child_last_exit : "starting");
		json_array_append_new(errors, json_string(msg));
	}
	ls = json_object_get(json_object_get(s->child_status, "snmp"), "listeners");
	json_array_foreach(ls, i, l) {
		if (json_string_value(json_object_get(l, "error")) != NULL)
			json_array_append_new(errors, json_copy(json_object_get(l, "error")));
	}
	err = json_string_value(json_object_get(json_object_get(json_object_get(
		s->child_status, "snmp"), "engine"), "error"));
	if (err != NULL)
		json_array_append_new(errors, json_string(err));
	ls = json_object_get(json_object_get(s->child_status, "edr"), "listeners");
	json_array_foreach(ls, i, l) {
		err = json_string_value(json_object_get(l, "error"));
		if (!json_is_true(json_object_get(l, "listening")) && err != NULL)
			json_array_append_new(errors, json_string(err));
	}
	ls = json_object_get(json_object_get(s->child_status, "syslog"), "listeners");
	json_array_foreach(ls, i, l) {
		err = json_string_value(json_object_get(l, "error"));
		if (!json_is_true(json_object_get(l, "listening")) && err != NULL) {
			json_array_append_new(errors, json_string(err));
		} else if (err != NULL) {
			snprintf(msg, sizeof(msg), "syslog %s %s: last TLS failure: %s",
				 json_string_value(json_object_get(l, "proto")),
				 json_string_value(json_object_get(l, "address")), err);
			json_array_append_new(errors, json_string(msg));
		}
	}
	sensors_errors(s, errors);
	if (s->usage.total_bytes > s->cfg->spool.budget_bytes / 10 * 9) {
		snprintf(msg, sizeof(msg),
			 "spool and outbox are %llu%% of the disk budget; oldest low-priority data "
			 "is being evicted",
			 (unsigned long long)(s->usage.total_bytes * 100 / s->cfg->spool.budget_bytes));
		json_array_append_new(errors, json_string(msg));
	}
	if (s->usage.quarantine_bytes > 0) {
		snprintf(msg, sizeof(msg), "%llu bytes of damaged spool data are in %s/%s",
			 (unsigned long long)s->usage.quarantine_bytes, s->cfg->spool.dir,
			 SPOOL_QUARANTINE_DIR);
		json_array_append_new(errors, json_string(msg));
	}
	if (strncmp(s->last_reload, "rejected", 8) == 0) {
		snprintf(msg, sizeof(msg), "configuration reload %s", s->last_reload);
		json_array_append_new(errors, json_string(msg));
	}
	if (s->child_last_reload[0] && strcmp(s->child_last_reload, "ok") != 0)
		json_array_append_new(errors, json_string(s->child_last_reload));
}

static json_t *status_json(struct supervisor *s)
{
	int64_t now = clock_wall_us();
	json_t *root, *lanes, *errors;
	char loaded[32];
	unsigned i;

	time_format_rfc3339_us(loaded, s->cfg_loaded_us);
	lanes = json_array();
	errors = json_array();
	root = json_object();
	if (root == NULL || lanes == NULL || errors == NULL) {
		json_decref(root);
		json_decref(lanes);
		json_decref(errors);
		return NULL;
	}
	json_object_set_new(root, "agent", json_pack(
		"{s:s, s:i, s:f, s:s, s:s, s:s, s:s}",
		"version", WARD_VERSION, "pid", (int)getpid(),
		"uptime_s", (double)(now - s->started_us) / 1e6,
		"device_id", s->cfg->agent.device_id,
		"config", s->cfg_path ? s->cfg_path : "(compiled-in defaults)",
		"config_loaded", loaded,
		"last_reload", s->last_reload[0] ? s->last_reload : "none"));
	json_object_set_new(root, "receivers", json_pack(
		"{s:s, s:i, s:i, s:s?}",
		"state", s->child_state == CHILD_RUNNING ? "running" :
			 s->child_state == CHILD_RESTARTING ? "restarting" : "stopped",
		"pid", s->child_state == CHILD_RUNNING ? s->child.pid : 0,
		"restarts", (int)s->restarts,
		"last_exit", s->child_last_exit[0] ? s->child_last_exit : NULL));
	if (s->child_status != NULL && json_object_get(s->child_status, "syslog") != NULL)
		json_object_set(root, "syslog", json_object_get(s->child_status, "syslog"));
	if (s->child_status != NULL && json_object_get(s->child_status, "snmp") != NULL)
		json_object_set(root, "snmp", json_object_get(s->child_status, "snmp"));
	if (s->child_status != NULL && json_object_get(s->child_status, "edr") != NULL)
		json_object_set(root, "edr", json_object_get(s->child_status, "edr"));
	/* Empty when none is configured: wardctl says so. */
	json_object_set_new(root, "sensors", sensors_json(s));
	for (i = 0; i < s->usage.nlanes; i++)
		json_array_append_new(lanes, lane_json(s, &s->usage.lanes[i], now));
	/* used_bytes is what the budget holds: the spool and the outbox. */
	json_object_set_new(root, "spool", json_pack(
		"{s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:o}",
		"dir", s->cfg->spool.dir,
		"budget_bytes", (json_int_t)s->cfg->spool.budget_bytes,
		"used_bytes", (json_int_t)s->usage.total_bytes,
		"spool_bytes", (json_int_t)(s->usage.total_bytes - s->usage.outbox_bytes),
		"quarantine_bytes", (json_int_t)s->usage.quarantine_bytes,
		"outbox", s->cfg->uplink.outbox,
		"outbox_bytes", (json_int_t)s->usage.outbox_bytes,
		"outbox_quarantine_bytes", (json_int_t)s->usage.outbox_quarantine_bytes,
		"lanes", lanes));
	json_object_set_new(root, "losses", json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:O}",
		"evicted_segments", (json_int_t)s->evicted_segments,
		"evicted_batches", (json_int_t)s->evicted_batches,
		"evicted_records", (json_int_t)s->evicted_records,
		"evicted_bytes", (json_int_t)s->evicted_bytes,
		"dropped_kernel", (json_int_t)s->dropped_kernel,
		"dropped_spool", (json_int_t)s->dropped_spool,
		"recent", s->recent_losses));
	if (s->su != NULL)
		json_object_set_new(root, "uplink", seal_uplink_status(s->su));
	add_errors(s, errors);
	if (s->su != NULL)
		seal_uplink_errors(s->su, errors);
	json_object_set_new(root, "errors", errors);
	return root;
}

static void ctl_handle(void *arg, const char *req, struct buf *reply)
{
	struct supervisor *s = arg;
	json_t *j = NULL;
	unsigned i;
	char *text;

	if (strcmp(req, "status") == 0) {
		/* Measure now rather than show the last timer's view. */
		(void)spool_budget_scan(s->cfg->spool.dir, s->cfg->uplink.outbox, &s->usage);
		j = status_json(s);
	} else if (strcmp(req, "flush") == 0) {
		(void)spool_lane_flush(s->lane);
		if (s->ipc_open)
			(void)ipc_send(&s->ipc, IPC_FLUSH, NULL, 0);
		for (i = 0; i < s->n_sensors; i++)
			if (s->sensors[i]->ipc_open)
				(void)ipc_send(&s->sensors[i]->ipc, IPC_FLUSH, NULL, 0);
		j = json_pack("{s:b}", "ok", s->ipc_open);
	} else if (strcmp(req, "reload") == 0) {
		supervisor_reload(s);
		j = json_pack("{s:b, s:s}", "ok", strcmp(s->last_reload, "ok") == 0,
			      "result", s->last_reload);
	} else {
		j = json_pack("{s:b, s:s}", "ok", 0, "error",
			      "unknown request (expected status, flush or reload)");
	}
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	buf_append_str(reply, text ? text : "{\"ok\":false,\"error\":\"out of memory\"}");
	free(text);
	json_decref(j);
}

/* ---- signals and life cycle ----------------------------------------------- */

static void close_all_cb(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void supervisor_finish(struct supervisor *s)
{
	spool_lane_close(s->lane);
	s->lane = NULL;
	ctl_server_stop(&s->ctl);
	uv_walk(s->loop, close_all_cb, NULL);
}

static void supervisor_stop(struct supervisor *s)
{
	if (s->stopping) {
		/* A second Ctrl-C: do not wait for the receivers any longer. */
		if (s->child_state == CHILD_RUNNING)
			uv_process_kill(&s->child, SIGKILL);
		sensors_stop(s, SIGKILL);
		return;
	}
	s->stopping = 1;
	log_info("stopping");
	/* A request in flight stays in the outbox and is resent next time. */
	seal_uplink_stop(s->su);
	uv_timer_stop(&s->restart_timer);
	if (s->child_state == CHILD_RUNNING)
		uv_process_kill(&s->child, SIGTERM);
	sensors_stop(s, SIGTERM);
}

static void signal_cb(uv_signal_t *sig, int signum)
{
	struct supervisor *s = sig->data;

	if (signum == SIGHUP)
		supervisor_reload(s);
	else
		supervisor_stop(s);
}

static void prepare_check_cb(uv_timer_t *t)
{
	struct supervisor *s = t->data;

	/* Finish once the receivers have exited and their handle is closed. */
	if (s->stopping && s->child_state != CHILD_RUNNING && !s->child_handle_open &&
	    !s->ipc_open && seal_uplink_closed(s->su) && sensors_gone(s))
		supervisor_finish(s);
}

int supervisor_main(const char *cfg_path, struct ward_config *cfg, const char *argv0)
{
	struct supervisor s;
	struct spool_lane_opts lo;
	uv_timer_t stop_check;
	int rc, code = 0;

	memset(&s, 0, sizeof(s));
	s.loop = uv_default_loop();
	s.argv0 = argv0;
	s.cfg = cfg;
	s.cfg_path = cfg_path ? strdup(cfg_path) : NULL;
	s.started_us = s.cfg_loaded_us = clock_wall_us();
	s.backoff_ms = RESTART_MIN_MS;
	s.recent_losses = json_array();
	buf_init(&s.rec);
	buf_init(&s.cfg_text);
	if (cfg_path != NULL && read_file(cfg_path, &s.cfg_text) < 0) {
		log_error("cannot read %s", cfg_path);
		code = 1;
		goto out;
	}

	lo = (struct spool_lane_opts){
		.spool_dir = cfg->spool.dir, .name = "agent", .cls = SPOOL_P0,
		.segment_max_bytes = cfg->spool.segment_max_bytes,
		.segment_max_age_ms = cfg->spool.segment_max_age_ms,
		.max_record_bytes = 1024 * 1024,
	};
	rc = spool_lane_open(&s.lane, &lo);
	if (rc < 0) {
		log_error("spool: cannot open %s/agent: %s", cfg->spool.dir, strerror(-rc));
		code = 1;
		goto out;
	}
	rc = ctl_server_start(&s.ctl, s.loop, cfg->agent.control_socket, ctl_handle, &s);
	if (rc < 0) {
		log_error("control socket %s: %s%s", cfg->agent.control_socket,
			  rc == -EADDRINUSE ? "another ward-agent is running there" : uv_strerror(rc),
			  rc == -EADDRINUSE ? " (stop it, or set agent.state_dir)" : "");
		code = 1;
		goto out;
	}

	uv_timer_init(s.loop, &s.budget_timer);
	uv_timer_init(s.loop, &s.commit_timer);
	uv_timer_init(s.loop, &s.heartbeat_timer);
	uv_timer_init(s.loop, &s.restart_timer);
	uv_timer_init(s.loop, &stop_check);
	s.budget_timer.data = s.commit_timer.data = s.heartbeat_timer.data = &s;
	s.restart_timer.data = stop_check.data = &s;
	uv_timer_start(&s.budget_timer, budget_timer_cb, 0, cfg->spool.budget_check_ms);
	uv_timer_start(&s.commit_timer, commit_timer_cb, cfg->spool.fsync_interval_ms,
		       cfg->spool.fsync_interval_ms);
	uv_timer_start(&s.heartbeat_timer, heartbeat_timer_cb, 2000, cfg->agent.status_interval_ms);
	uv_timer_start(&stop_check, prepare_check_cb, 100, 100);
	uv_signal_init(s.loop, &s.sighup);
	uv_signal_init(s.loop, &s.sigterm);
	uv_signal_init(s.loop, &s.sigint);
	s.sighup.data = s.sigterm.data = s.sigint.data = &s;
	uv_signal_start(&s.sighup, signal_cb, SIGHUP);
	uv_signal_start(&s.sigterm, signal_cb, SIGTERM);
	uv_signal_start(&s.sigint, signal_cb, SIGINT);
	signal(SIGPIPE, SIG_IGN);

	log_info("ward-agent %s started: config %s, spool %s, control socket %s",
		 WARD_VERSION, cfg_path ? cfg_path : "(compiled-in defaults)", cfg->spool.dir,
		 cfg->agent.control_socket);
	child_spawn(&s);
	sensor_path_init(&s);
	sensors_sync(&s);
	/* The sealers and the uplink start after the receivers were spawned
	 * (and are re-spawned only by exec): see seal_uplink.c on why the
	 * device key never reaches a parser of untrusted input. */
	if (seal_uplink_create(&s.su, s.loop) < 0)
		log_error("uplink: out of memory; nothing is sealed or sent");
	else
		(void)seal_uplink_apply(s.su, s.cfg);
	uv_run(s.loop, UV_RUN_DEFAULT);
	log_info("stopped");
out:
	seal_uplink_destroy(s.su);
	spool_lane_close(s.lane);
	json_decref(s.child_status);
	sensors_free(&s);
	json_decref(s.recent_losses);
	buf_free(&s.rec);
	buf_free(&s.cfg_text);
	config_free(s.cfg);
	free(s.cfg_path);
	uv_loop_close(s.loop);
	return code;
}
