/* seal_uplink: spool lanes -> sealers -> outbox -> uplink, in the
 * supervisor. See seal_uplink.h.
 *
 * Key separation (DESIGN.md, "Processes and privilege"). The device key
 * is loaded here, in the supervisor, and nowhere else:
 *  - batch_key_load() reads the file with fopen/fclose, and uplink_create()
 *    loads the TLS key the same way (mbedtls reads the file whole), so
 *    no descriptor on a key file stays open for a child to inherit; the
 *    child gets only fds 0-3 from uv_spawn, the others the supervisor
 *    holds are O_CLOEXEC;
 *  - the receivers process is started with uv_spawn of /proc/self/exe, a
 *    fork followed at once by exec: the exec replaces the whole address
 *    space, so the heap copy of the key that fork duplicates is gone
 *    before the child reads a single byte of network input. This holds
 *    for restarts too, which happen after the keys were loaded.
 * The keys are wiped (batch_key_destroy) when the uplink is stopped,
 * disabled or rebuilt.
 *
 * Sealing runs on libuv's thread pool, one turn at a time (struct
 * seal_job), and each batch's zstd pass on the sealer's own thread
 * (sealer.h): the loop thread stays free for the uplink, the control
 * socket and the agent lane. A turn seals at most what closed since the
 * last one, and at most SEAL_TICK_MAX_BATCHES batches a lane; a backlog
 * takes as many turns as it needs, back to back.
 */
#include "seal_uplink.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "batch.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "sealer.h"
#include "spool.h"
#include "uplink.h"

#define SEALER_RETRY_MS 10000   /* a lane whose sealer cannot start */

struct lane_sealer {
	char name[33];
	enum spool_class cls;
	struct sealer *s;
	struct sealer_stats st;       /* as of the last turn (status) */
	char error[320];              /* "" when fine */
	uint64_t retry_ms;            /* next sealer_create attempt */
};

/* One turn of sealing, run on libuv's thread pool: the loop thread keeps
 * serving the uplink, the control socket and the agent lane meanwhile.
 * While a turn runs its sealers are the pool thread's; the loop touches
 * them again in seal_done(). A teardown during a turn hands the sealers
 * and the keys they borrow to the turn (`orphaned`), whose end frees
 * them. */
struct seal_job {
	uv_work_t req;
	struct seal_uplink *su;
	int64_t now_us;
	bool refresh, orphaned;
	unsigned n;
	struct {
		unsigned lane;            /* index in su->lanes */
		struct sealer *s;
		bool partial;
		int rc;
		struct sealer_stats st;
	} lane[SPOOL_MAX_LANES];
	struct batch_key *device, *soc; /* set when orphaned */
};

struct seal_uplink {
	uv_loop_t *loop;
	const struct ward_config *cfg;   /* borrowed; NULL before apply */
	bool running;                    /* enabled and started */
	bool start_failed;               /* keys or uplink did not start */
	bool stopping;

	struct batch_key *device, *soc;
	char key_error[400];

	struct lane_sealer lanes[SPOOL_MAX_LANES];
	unsigned n_lanes;

	struct uplink *up;
	char *up_lanes[UPLINK_MAX_LANES];   /* the uplink's lane order */
	uint8_t up_cls[UPLINK_MAX_LANES];   /* their classes, 0 = P0 */
	size_t n_up_lanes;
	char up_error[400];
	uint64_t acked_before, quarantined_before;   /* of replaced uplinks */
	struct uplink **retiring;        /* stopped, waiting for their close */
	size_t n_retiring;

	uv_timer_t seal_timer, rate_timer;
	int timers_open;
	struct seal_job *job;            /* the turn running, or NULL */
	bool again;                      /* a turn was due while one ran */
	uint64_t rate;                   /* bytes/s now in force */
	char rate_window[48];            /* where it comes from, in words */
};

/* ---- helpers -------------------------------------------------------------- */

static bool streq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* True when what the sealers and the uplink were built from is the same. */
static bool uplink_conf_equal(const struct ward_config *a, const struct ward_config *b)
{
	const __typeof__(a->uplink) *x = &a->uplink, *y = &b->uplink;
	unsigned i;

	if (!streq(a->agent.device_id, b->agent.device_id) || !streq(a->spool.dir, b->spool.dir))
		return false;
	if (x->enabled != y->enabled || !streq(x->device_key, y->device_key) ||
	    !streq(x->soc_public_key, y->soc_public_key) || !streq(x->outbox, y->outbox) ||
	    x->batch_max_bytes != y->batch_max_bytes || x->zstd_level != y->zstd_level ||
	    x->seal_interval_ms != y->seal_interval_ms || x->n_endpoints != y->n_endpoints ||
	    !streq(x->ca, y->ca) || !streq(x->client_cert, y->client_cert) ||
	    !streq(x->client_key, y->client_key) || !streq(x->proxy, y->proxy) ||
	    !streq(x->proxy_credentials, y->proxy_credentials) ||
	    x->connect_timeout_ms != y->connect_timeout_ms ||
	    x->handshake_timeout_ms != y->handshake_timeout_ms ||
	    x->response_timeout_ms != y->response_timeout_ms ||
	    x->backoff_min_ms != y->backoff_min_ms || x->backoff_max_ms != y->backoff_max_ms ||
	    x->n_rate_limit != y->n_rate_limit ||
	    x->default_bytes_per_second != y->default_bytes_per_second || x->n_lanes != y->n_lanes ||
	    x->max_in_flight != y->max_in_flight ||
	    x->max_bytes_in_flight != y->max_bytes_in_flight || x->aging_ms != y->aging_ms ||
	    x->failback_ms != y->failback_ms)
		return false;
	for (i = 0; i < x->n_endpoints; i++)
		if (!streq(x->endpoints[i].host, y->endpoints[i].host) ||
		    x->endpoints[i].port != y->endpoints[i].port ||
		    !streq(x->endpoints[i].sni, y->endpoints[i].sni))
			return false;
	for (i = 0; i < x->n_rate_limit; i++)
		if (x->rate_limit[i].from_min != y->rate_limit[i].from_min ||
		    x->rate_limit[i].to_min != y->rate_limit[i].to_min ||
		    x->rate_limit[i].bytes_per_second != y->rate_limit[i].bytes_per_second)
			return false;
	for (i = 0; i < x->n_lanes; i++)
		if (!streq(x->lanes[i], y->lanes[i]))
			return false;
	return true;
}

/* Counts the sealed batches waiting in O/<lane>, and their bytes and the
 * oldest mtime when asked. One directory read. */
static unsigned outbox_count(const char *outbox, const char *lane, uint64_t *bytes,
			     int64_t *oldest_s)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	struct stat st;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/%s", outbox, lane);
	d = opendir(dir);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".batch") != 0)
			continue;
		n++;
		if (bytes == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0) {
			*bytes += (uint64_t)st.st_size;
			if (*oldest_s == 0 || st.st_mtime < *oldest_s)
				*oldest_s = st.st_mtime;
		}
	}
	closedir(d);
	return n;
}

static int lane_index(const struct seal_uplink *su, const char *name)
{
	unsigned i;

	for (i = 0; i < su->n_lanes; i++)
		if (strcmp(su->lanes[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool in_up_lanes(const struct seal_uplink *su, const char *name)
{
	size_t i;

	for (i = 0; i < su->n_up_lanes; i++)
		if (strcmp(su->up_lanes[i], name) == 0)
			return true;
	return false;
}

/* ---- the uplink ------------------------------------------------------------ */

static void up_lanes_free(struct seal_uplink *su)
{
	size_t i;

	for (i = 0; i < su->n_up_lanes; i++)
		free(su->up_lanes[i]);
	su->n_up_lanes = 0;
}

static void up_lanes_add(struct seal_uplink *su, const char *name, enum spool_class cls)
{
	char *p;

	if (su->n_up_lanes >= UPLINK_MAX_LANES || in_up_lanes(su, name))
		return;
	p = strdup(name);
	if (p == NULL)
		return;
	su->up_cls[su->n_up_lanes] = (uint8_t)(cls - SPOOL_P0);
	su->up_lanes[su->n_up_lanes++] = p;
}

/* The uplink's lane order: uplink.lanes as given, then every lane known
 * from the spool by class (P0, P1, P2). The agent's own lanes are listed
 * before they exist so that the receivers' first lanes need no rebuild. */
static void up_lanes_build(struct seal_uplink *su)
{
	static const struct { const char *name; enum spool_class cls; } known[] = {
		{ "agent", SPOOL_P0 }, { "syslog", SPOOL_P1 }, { "snmp", SPOOL_P1 },
		{ "edr", SPOOL_P1 },
	};
	enum spool_class c;
	unsigned i, j;
	int cls, k;

	up_lanes_free(su);
	/* A lane listed in uplink.lanes keeps its class (known from the
	 * spool, else from the names above, else P1): the order is the
	 * user's, but P0 still goes first (uplink.h). */
	for (i = 0; i < su->cfg->uplink.n_lanes; i++) {
		const char *name = su->cfg->uplink.lanes[i];

		c = SPOOL_P1;
		k = lane_index(su, name);
		if (k >= 0)
			c = su->lanes[k].cls;
		else
			for (j = 0; j < sizeof(known) / sizeof(known[0]); j++)
				if (strcmp(known[j].name, name) == 0)
					c = known[j].cls;
		up_lanes_add(su, name, c);
	}
	for (cls = SPOOL_P0; cls <= SPOOL_P2; cls++) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if ((int)known[i].cls == cls && lane_index(su, known[i].name) < 0)
				up_lanes_add(su, known[i].name, known[i].cls);
		for (i = 0; i < su->n_lanes; i++)
			if ((int)su->lanes[i].cls == cls)
				up_lanes_add(su, su->lanes[i].name, su->lanes[i].cls);
	}
}

static void uplink_retire(struct seal_uplink *su)
{
	struct uplink_stats st;
	struct uplink **r;

	if (su->up == NULL)
		return;
	uplink_get_stats(su->up, &st);
	su->acked_before += st.batches_acked;
	su->quarantined_before += st.batches_quarantined;
	uplink_stop(su->up);
	r = realloc(su->retiring, (su->n_retiring + 1) * sizeof(*r));
	if (r == NULL) {
		/* Cannot keep track of it: leak it rather than free live handles. */
		log_error("uplink: out of memory while stopping it");
	} else {
		su->retiring = r;
		su->retiring[su->n_retiring++] = su->up;
	}
	su->up = NULL;
}

static void retiring_reap(struct seal_uplink *su)
{
	size_t i = 0;

	while (i < su->n_retiring) {
		if (uplink_closed(su->retiring[i])) {
			uplink_destroy(su->retiring[i]);
			su->retiring[i] = su->retiring[--su->n_retiring];
		} else {
			i++;
		}
	}
}

/* The rate of the window that holds the local time now, else the
 * default; which one, in words, goes to why[len]. */
static uint64_t rate_now(const struct ward_config *cfg, char *why, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;
	unsigned i, m;

	snprintf(why, len, "default");
	if (localtime_r(&t, &tm) == NULL)
		return cfg->uplink.default_bytes_per_second;
	m = (unsigned)(tm.tm_hour * 60 + tm.tm_min);
	for (i = 0; i < cfg->uplink.n_rate_limit; i++) {
		const struct uplink_window_conf *w = &cfg->uplink.rate_limit[i];
		bool in = w->from_min < w->to_min ? (m >= w->from_min && m < w->to_min)
						  : (m >= w->from_min || m < w->to_min);

		if (in) {
			snprintf(why, len, "window %02u:%02u-%02u:%02u", w->from_min / 60 % 100,
				 w->from_min % 60, w->to_min / 60 % 100, w->to_min % 60);
			return w->bytes_per_second;
		}
	}
	return cfg->uplink.default_bytes_per_second;
}

static int proxy_credentials_read(const struct ward_config *c, char *dst, size_t cap,
				  char *msg, size_t len);

static void uplink_build(struct seal_uplink *su)
{
	const struct ward_config *c = su->cfg;
	struct uplink_endpoint eps[UPLINK_MAX_ENDPOINTS];
	struct uplink_opts o;
	char err[300] = "", cred[UPLINK_PROXY_AUTH_MAX];
	unsigned i;
	int rc;

	up_lanes_build(su);
	rc = proxy_credentials_read(c, cred, sizeof(cred), err, sizeof(err));
	if (rc < 0) {
		snprintf(su->up_error, sizeof(su->up_error), "uplink cannot start: %s; sealed "
			 "batches wait in %s (fix it, then wardctl reload)", err, c->uplink.outbox);
		log_error("%s", su->up_error);
		su->start_failed = true;
		return;
	}
	memset(&o, 0, sizeof(o));
	for (i = 0; i < c->uplink.n_endpoints && i < UPLINK_MAX_ENDPOINTS; i++)
		eps[i] = (struct uplink_endpoint){ .host = c->uplink.endpoints[i].host,
						   .port = c->uplink.endpoints[i].port,
						   .sni = c->uplink.endpoints[i].sni };
	o.endpoints = eps;
	o.n_endpoints = i;
	o.ca_file = c->uplink.ca;
	o.cert_file = c->uplink.client_cert;
	o.key_file = c->uplink.client_key;
	o.outbox_dir = c->uplink.outbox;
	o.lanes = (const char *const *)su->up_lanes;
	o.lane_class = su->up_cls;
	o.n_lanes = su->n_up_lanes;
	o.max_in_flight = c->uplink.max_in_flight;
	o.max_bytes_in_flight = c->uplink.max_bytes_in_flight;
	o.aging_ms = c->uplink.aging_ms;
	o.failback_ms = c->uplink.failback_ms;
	o.proxy_host = c->uplink.proxy_host;
	o.proxy_port = c->uplink.proxy_port;
	o.proxy_auth = cred[0] ? cred : NULL;
	o.connect_timeout_ms = c->uplink.connect_timeout_ms;
	o.handshake_timeout_ms = c->uplink.handshake_timeout_ms;
	o.response_timeout_ms = c->uplink.response_timeout_ms;
	o.backoff_base_ms = c->uplink.backoff_min_ms;
	o.backoff_cap_ms = c->uplink.backoff_max_ms;
	su->rate = rate_now(c, su->rate_window, sizeof(su->rate_window));
	o.rate_bytes_per_s = su->rate;
	rc = uplink_create(&su->up, su->loop, &o, err, sizeof(err));
	mbedtls_platform_zeroize(cred, sizeof(cred));      /* the uplink keeps a copy */
	if (rc == 0)
		rc = uplink_start(su->up);
	if (rc < 0) {
		snprintf(su->up_error, sizeof(su->up_error),
			 "uplink cannot start: %s; sealed batches wait in %s (fix it, then "
			 "wardctl reload)", err[0] ? err : strerror(-rc), c->uplink.outbox);
		log_error("%s", su->up_error);
		uplink_retire(su);      /* created but not started: close it */
		su->start_failed = true;
		return;
	}
	su->up_error[0] = '\0';
	if (c->uplink.proxy != NULL)
		log_info("uplink: through HTTP proxy %s:%u (CONNECT)", c->uplink.proxy_host,
			 c->uplink.proxy_port);
}

/* ---- sealers --------------------------------------------------------------- */

static void sealer_start(struct seal_uplink *su, struct lane_sealer *ls, uint64_t now_ms)
{
	struct sealer_opts o = {
		.spool_dir = su->cfg->spool.dir, .lane = ls->name,
		.outbox_dir = su->cfg->uplink.outbox, .device_id = su->cfg->agent.device_id,
		.device = su->device, .soc = su->soc,
		.max_batch_bytes = su->cfg->uplink.batch_max_bytes,
		.zstd_level = su->cfg->uplink.zstd_level,
	};
	char msg[sizeof(ls->error)];
	int rc;

	rc = sealer_create(&ls->s, &o);
	if (rc == 0) {
		if (ls->error[0])
			log_info("sealer: lane %s: started", ls->name);
		ls->error[0] = '\0';
		return;
	}
	ls->retry_ms = now_ms + SEALER_RETRY_MS;
	if (rc == -EBADMSG)
		snprintf(msg, sizeof(msg), "lane %s is not sealed: %s/%s/CHAIN is damaged, so "
			 "the hash chain cannot continue; its records stay in the spool "
			 "(move the CHAIN file aside to start a new chain)", ls->name,
			 su->cfg->uplink.outbox, ls->name);
	else
		snprintf(msg, sizeof(msg), "lane %s is not sealed: cannot start its sealer: %s",
			 ls->name, strerror(-rc));
	if (strcmp(msg, ls->error) != 0)
		log_error("%s", msg);
	snprintf(ls->error, sizeof(ls->error), "%s", msg);
}

/* Finds the spool's lanes (new ones too) and makes sure each has a sealer.
 * Returns true when a lane appeared that the uplink does not send. */
static bool lanes_refresh(struct seal_uplink *su, uint64_t now_ms)
{
	struct spool_usage usage;
	bool new_lane = false;
	unsigned i;
	int k;

	if (spool_usage_scan(su->cfg->spool.dir, &usage) < 0)
		return false;
	for (i = 0; i < usage.nlanes; i++) {
		k = lane_index(su, usage.lanes[i].name);
		if (k < 0) {
			if (su->n_lanes >= SPOOL_MAX_LANES)
				continue;
			k = (int)su->n_lanes++;
			memset(&su->lanes[k], 0, sizeof(su->lanes[k]));
			snprintf(su->lanes[k].name, sizeof(su->lanes[k].name), "%s",
				 usage.lanes[i].name);
		}
		su->lanes[k].cls = usage.lanes[i].cls;
		if (!in_up_lanes(su, su->lanes[k].name) && su->n_up_lanes < UPLINK_MAX_LANES)
			new_lane = true;
	}
	if (su->device == NULL || su->soc == NULL)
		return new_lane;
	for (i = 0; i < su->n_lanes; i++)
		if (su->lanes[i].s == NULL && now_ms >= su->lanes[i].retry_ms)
			sealer_start(su, &su->lanes[i], now_ms);
	return new_lane;
}

static void seal_turn(struct seal_uplink *su, bool refresh);

static void seal_work(uv_work_t *req)
{
	struct seal_job *j = req->data;
	unsigned i;

	for (i = 0; i < j->n; i++) {
		j->lane[i].rc = sealer_run_max(j->lane[i].s, j->lane[i].partial, j->now_us,
					       SEAL_TICK_MAX_BATCHES);
		/* Nothing to seal on a timer's turn: the lane is idle; its
		 * sealer gives back its buffers and thread until it is not. */
		if (j->lane[i].rc == 0 && j->refresh)
			sealer_trim(j->lane[i].s);
		sealer_get_stats(j->lane[i].s, &j->lane[i].st);
	}
}

static void seal_done(uv_work_t *req, int status)
{
	struct seal_job *j = req->data;
	struct seal_uplink *su = j->su;
	int sealed = 0, rc;
	bool more = false;
	unsigned i;

	(void)status;
	if (j->orphaned) {
		for (i = 0; i < j->n; i++)
			sealer_destroy(j->lane[i].s);
		batch_key_destroy(j->device);
		batch_key_destroy(j->soc);
		free(j);
		su->job = NULL;
		/* The new sealers' first turn, if it came meanwhile. */
		if (su->again) {
			su->again = false;
			seal_turn(su, true);
		}
		return;
	}
	su->job = NULL;
	for (i = 0; i < j->n; i++) {
		struct lane_sealer *ls = &su->lanes[j->lane[i].lane];

		rc = j->lane[i].rc;
		ls->st = j->lane[i].st;
		if (rc < 0) {
			char msg[sizeof(ls->error)];

			snprintf(msg, sizeof(msg), "lane %s: sealing failed: %s; its records stay "
				 "in the spool and sealing is retried", ls->name, strerror(-rc));
			if (strcmp(msg, ls->error) != 0)
				log_error("%s", msg);
			snprintf(ls->error, sizeof(ls->error), "%s", msg);
			continue;
		}
		ls->error[0] = '\0';
		sealed += rc;
		if (rc >= SEAL_TICK_MAX_BATCHES)
			more = true;
	}
	free(j);
	if (sealed > 0 && su->up != NULL)
		uplink_kick(su->up);
	/* A backlog is sealed a few batches per lane per turn, and the next
	 * turn starts at once; so does one after any turn that sealed, since
	 * more segments may have closed meanwhile (the receivers close one
	 * every few ms under load, far within the timer's interval). */
	if (more || sealed > 0 || su->again) {
		bool refresh = su->again;

		su->again = false;
		seal_turn(su, refresh);
	}
}

/* One turn of sealing: every lane's closed segments, at most
 * SEAL_TICK_MAX_BATCHES batches a lane, on the thread pool (struct
 * seal_job). `refresh`: look for new lanes first, and trim idle sealers
 * (on the timer's turns, not on a backlog's extra ones). */
static void seal_turn(struct seal_uplink *su, bool refresh)
{
	uint64_t now_ms = clock_mono_ms();
	struct seal_job *j;
	unsigned i;

	retiring_reap(su);
	if (!su->running)
		return;
	if (su->job != NULL) {
		su->again = su->again || refresh;
		return;
	}
	if (refresh && lanes_refresh(su, now_ms) && su->up != NULL) {
		/* The uplink's lane list is fixed at create (uplink.h): a new
		 * lane means a new uplink. A request in flight is resent. */
		log_info("uplink: new spool lane; restarting the uplink to include it");
		uplink_retire(su);
		uplink_build(su);
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;                 /* the next tick tries again */
	j->su = su;
	j->now_us = clock_wall_us();
	j->refresh = refresh;
	for (i = 0; i < su->n_lanes; i++) {
		struct lane_sealer *ls = &su->lanes[i];

		if (ls->s == NULL)
			continue;
		j->lane[j->n].lane = i;
		j->lane[j->n].s = ls->s;
		j->lane[j->n].partial = outbox_count(su->cfg->uplink.outbox, ls->name, NULL, NULL) <
					SEAL_UPLINK_PARTIAL_BELOW;
		j->n++;
	}
	if (j->n == 0) {
		free(j);
		return;
	}
	j->req.data = j;
	if (uv_queue_work(su->loop, &j->req, seal_work, seal_done) < 0) {
		free(j);
		return;
	}
	su->job = j;
}

static void seal_tick(uv_timer_t *t)
{
	seal_turn(t->data, true);
}

static void rate_tick(uv_timer_t *t)
{
	struct seal_uplink *su = t->data;
	uint64_t r;

	if (!su->running || su->up == NULL)
		return;
	r = rate_now(su->cfg, su->rate_window, sizeof(su->rate_window));
	if (r != su->rate) {
		log_info("uplink: rate limit now %llu bytes/s%s", (unsigned long long)r,
			 r ? "" : " (unlimited)");
		su->rate = r;
	}
	uplink_set_rate(su->up, r);
}

/* ---- life cycle ------------------------------------------------------------ */

int seal_uplink_create(struct seal_uplink **out, uv_loop_t *loop)
{
	struct seal_uplink *su = calloc(1, sizeof(*su));

	*out = NULL;
	if (su == NULL)
		return -ENOMEM;
	su->loop = loop;
	uv_timer_init(loop, &su->seal_timer);
	uv_timer_init(loop, &su->rate_timer);
	su->seal_timer.data = su->rate_timer.data = su;
	su->timers_open = 2;
	*out = su;
	return 0;
}

/* Stops the sealers and the uplink and wipes the keys. */
static void teardown(struct seal_uplink *su)
{
	unsigned i;

	uv_timer_stop(&su->seal_timer);
	uv_timer_stop(&su->rate_timer);
	su->again = false;
	if (su->job != NULL && !su->job->orphaned) {
		/* A turn is running: its sealers, and the keys they borrow,
		 * are freed when it ends (seal_done). */
		for (i = 0; i < su->n_lanes; i++) {
			bool in_job = false;
			unsigned k;

			for (k = 0; k < su->job->n; k++)
				in_job = in_job || su->job->lane[k].s == su->lanes[i].s;
			if (!in_job)
				sealer_destroy(su->lanes[i].s);
		}
		su->job->orphaned = true;
		su->job->device = su->device;
		su->job->soc = su->soc;
	} else {
		for (i = 0; i < su->n_lanes; i++)
			sealer_destroy(su->lanes[i].s);
		batch_key_destroy(su->device);
		batch_key_destroy(su->soc);
	}
	su->n_lanes = 0;
	uplink_retire(su);
	up_lanes_free(su);
	su->device = su->soc = NULL;
	su->key_error[0] = su->up_error[0] = '\0';
	su->running = su->start_failed = false;
}

static int key_load(struct batch_key **k, const char *what, const char *path, char *err,
		    size_t len)
{
	int rc = batch_key_load(k, path);

	if (rc < 0)
		snprintf(err, len, "uplink: cannot load %s %s: %s", what, path,
			 rc == -EINVAL ? "not a P-256 key in PEM or DER" : strerror(-rc));
	return rc;
}

static int keys_load(struct seal_uplink *su)
{
	const struct ward_config *c = su->cfg;
	char *e = su->key_error;
	size_t n = sizeof(su->key_error);
	int rc;

	rc = key_load(&su->device, "uplink.device_key", c->uplink.device_key, e, n);
	if (rc == 0 && !batch_key_has_private(su->device)) {
		snprintf(e, n, "uplink: uplink.device_key %s holds no private key",
			 c->uplink.device_key);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = key_load(&su->soc, "uplink.soc_public_key", c->uplink.soc_public_key, e, n);
	if (rc == 0)
		return 0;
	batch_key_destroy(su->device);
	batch_key_destroy(su->soc);
	su->device = su->soc = NULL;
	/* Say what it means for the data, not only what failed. */
	snprintf(e + strlen(e), n - strlen(e), "; nothing is sealed, records stay in the spool "
		 "(fix it, then wardctl reload)");
	log_error("%s", e);
	return rc;
}

bool seal_uplink_apply(struct seal_uplink *su, const struct ward_config *cfg)
{
	const struct ward_config *old = su->cfg;

	su->cfg = cfg;
	if (su->stopping)
		return false;
	if (old != NULL && uplink_conf_equal(old, cfg) && !su->start_failed)
		return false;
	if (old != NULL && (su->running || su->start_failed))
		log_info("uplink: configuration changed; restarting the sealers and the uplink");
	teardown(su);
	if (!cfg->uplink.enabled)
		return true;
	su->running = true;
	/* The keys are loaded here, in the supervisor, and only here; see the
	 * top of this file for why the receivers can never see them. */
	if (keys_load(su) < 0)
		su->start_failed = true;
	(void)lanes_refresh(su, clock_mono_ms());
	uplink_build(su);
	uv_timer_start(&su->seal_timer, seal_tick, 0, cfg->uplink.seal_interval_ms);
	/* At the next minute boundary, then every minute. */
	uv_timer_start(&su->rate_timer, rate_tick, 60000 - (uint64_t)(time(NULL) % 60) * 1000,
		       60000);
	if (!su->start_failed)
		log_info("uplink: sealing %u lanes to %s, sending to %s:%u%s", su->n_lanes,
			 cfg->uplink.outbox, cfg->uplink.endpoints[0].host,
			 cfg->uplink.endpoints[0].port,
			 cfg->uplink.n_endpoints > 1 ? " and fallbacks" : "");
	return true;
}

static void timer_closed_cb(uv_handle_t *h)
{
	struct seal_uplink *su = h->data;

	su->timers_open--;
}

void seal_uplink_stop(struct seal_uplink *su)
{
	if (su == NULL || su->stopping)
		return;
	su->stopping = true;
	teardown(su);
	uv_close((uv_handle_t *)&su->seal_timer, timer_closed_cb);
	uv_close((uv_handle_t *)&su->rate_timer, timer_closed_cb);
}

bool seal_uplink_closed(const struct seal_uplink *su)
{
	size_t i;

	if (su == NULL)
		return true;
	if (su->timers_open > 0 || su->job != NULL)
		return false;
	for (i = 0; i < su->n_retiring; i++)
		if (!uplink_closed(su->retiring[i]))
			return false;
	return true;
}

void seal_uplink_destroy(struct seal_uplink *su)
{
	size_t i;

	if (su == NULL)
		return;
	for (i = 0; i < su->n_retiring; i++)
		uplink_destroy(su->retiring[i]);
	free(su->retiring);
	free(su);
}

/* ---- status ---------------------------------------------------------------- */

static json_t *sealers_json(struct seal_uplink *su)
{
	json_t *arr = json_array(), *j;
	struct sealer_stats st;
	unsigned i;

	for (i = 0; arr != NULL && i < su->n_lanes; i++) {
		struct lane_sealer *ls = &su->lanes[i];

		st = ls->st;            /* the sealer may be busy on the pool */
		j = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I}", "lane", ls->name,
			      "class", spool_class_name(ls->cls), "running", ls->s != NULL,
			      "batches", (json_int_t)st.batches, "records", (json_int_t)st.records,
			      "body_bytes", (json_int_t)st.body_bytes,
			      "sealed_bytes", (json_int_t)st.sealed_bytes,
			      "segments_consumed", (json_int_t)st.segments_consumed,
			      "last_seq", (json_int_t)st.last_seq);
		if (j != NULL && ls->error[0])
			json_object_set_new(j, "error", json_string(ls->error));
		json_array_append_new(arr, j);
	}
	return arr;
}

/* The outbox backlog: in total, per lane and per class (P0, P1, P2),
 * each with its batches, bytes and the age of its oldest batch. */
static json_t *backlog_json(struct seal_uplink *su)
{
	json_t *lanes = json_array(), *classes = json_array(), *j;
	uint64_t total_b = 0, qb = 0, cb[3] = { 0, 0, 0 };
	unsigned total_n = 0, qn, cn[3] = { 0, 0, 0 };
	int64_t oldest = 0, now = time(NULL), q_oldest = 0, co[3] = { 0, 0, 0 };
	size_t i;
	int k;

	for (i = 0; lanes != NULL && i < su->n_up_lanes; i++) {
		uint64_t b = 0;
		int64_t o = 0;
		unsigned n = outbox_count(su->cfg->uplink.outbox, su->up_lanes[i], &b, &o);
		unsigned c = su->up_cls[i] < 3 ? su->up_cls[i] : 2;

		if (n == 0)
			continue;
		total_n += n;
		total_b += b;
		if (oldest == 0 || o < oldest)
			oldest = o;
		cn[c] += n;
		cb[c] += b;
		if (co[c] == 0 || o < co[c])
			co[c] = o;
		json_array_append_new(lanes, json_pack("{s:s, s:s, s:i, s:I, s:I}", "lane",
			su->up_lanes[i], "class", spool_class_name((enum spool_class)c),
			"batches", (int)n, "bytes", (json_int_t)b,
			"oldest_age_s", (json_int_t)(now - o)));
	}
	for (k = 0; classes != NULL && k < 3; k++)
		json_array_append_new(classes, json_pack("{s:s, s:i, s:I, s:I}", "class",
			spool_class_name((enum spool_class)k), "batches", (int)cn[k],
			"bytes", (json_int_t)cb[k], "oldest_age_s",
			(json_int_t)(co[k] ? now - co[k] : 0)));
	qn = outbox_count(su->cfg->uplink.outbox, "quarantine", &qb, &q_oldest);
	j = json_pack("{s:i, s:I, s:I, s:o, s:o, s:i}", "batches", (int)total_n,
		      "bytes", (json_int_t)total_b,
		      "oldest_age_s", (json_int_t)(oldest ? now - oldest : 0),
		      "lanes", lanes ? lanes : json_array(),
		      "classes", classes ? classes : json_array(), "quarantined_files", (int)qn);
	return j;
}

json_t *seal_uplink_status(struct seal_uplink *su)
{
	json_t *root, *ups = NULL;
	struct buf b = BUF_INIT;

	if (su->cfg == NULL || !su->cfg->uplink.enabled || !su->running)
		return json_pack("{s:b}", "enabled", 0);
	if (su->up != NULL && uplink_stats_json(su->up, &b) == 0)
		ups = json_loadb((const char *)b.data, b.len, 0, NULL);
	buf_free(&b);
	if (ups == NULL)
		ups = json_pack("{s:s}", "state", "not running");
	root = ups;
	json_object_set_new(root, "enabled", json_true());
	json_object_set_new(root, "outbox", json_string(su->cfg->uplink.outbox));
	if (su->up != NULL) {
		struct uplink_stats st;

		uplink_get_stats(su->up, &st);
		/* Totals since the agent started, across uplink restarts. */
		json_object_set_new(root, "batches_acked",
				    json_integer((json_int_t)(st.batches_acked + su->acked_before)));
		json_object_set_new(root, "batches_quarantined",
				    json_integer((json_int_t)(st.batches_quarantined +
							      su->quarantined_before)));
	}
	json_object_set_new(root, "rate_window", json_string(su->rate_window));
	if (su->cfg->uplink.proxy != NULL)
		json_object_set_new(root, "proxy", json_string(su->cfg->uplink.proxy));
	json_object_set_new(root, "lanes_order", json_array());
	for (size_t i = 0; i < su->n_up_lanes; i++)
		json_array_append_new(json_object_get(root, "lanes_order"),
				      json_string(su->up_lanes[i]));
	json_object_set_new(root, "sealers", sealers_json(su));
	json_object_set_new(root, "backlog", backlog_json(su));
	if (su->key_error[0])
		json_object_set_new(root, "key_error", json_string(su->key_error));
	if (su->up_error[0])
		json_object_set_new(root, "error", json_string(su->up_error));
	return root;
}

void seal_uplink_errors(struct seal_uplink *su, json_t *errors)
{
	struct uplink_stats st;
	char msg[700];
	unsigned i;

	if (!su->running)
		return;
	if (su->key_error[0])
		json_array_append_new(errors, json_string(su->key_error));
	if (su->up_error[0])
		json_array_append_new(errors, json_string(su->up_error));
	for (i = 0; i < su->n_lanes; i++)
		if (su->lanes[i].error[0])
			json_array_append_new(errors, json_string(su->lanes[i].error));
	if (su->up == NULL)
		return;
	uplink_get_stats(su->up, &st);
	for (i = 0; i < st.n_endpoints; i++) {
		const struct uplink_ep_stats *e = &st.ep[i];

		if (e->state == NULL || strcmp(e->state, "failed") != 0 || !e->last_error[0])
			continue;
		snprintf(msg, sizeof(msg), "uplink to %s:%u: %s", su->cfg->uplink.endpoints[i].host,
			 su->cfg->uplink.endpoints[i].port, e->last_error);
		json_array_append_new(errors, json_string(msg));
	}
}

/* ---- --check-config ----------------------------------------------------------- */

static void rel_path(const struct ward_config *c, const char *p, char *dst, size_t len)
{
	if (p[0] == '/')
		snprintf(dst, len, "%s", p);
	else
		snprintf(dst, len, "%s/%s", c->agent.state_dir, p);
}

/* Reads uplink.proxy_credentials: its first line, "user:pass" (RFC 7617
 * section 2), into dst (cap bytes). Returns 0, or -errno / -EINVAL with
 * msg (len bytes) naming the file and the fault, never the secret. */
static int proxy_credentials_read(const struct ward_config *c, char *dst, size_t cap,
				  char *msg, size_t len)
{
	char path[PATH_MAX + 8];
	FILE *f;
	size_t n;
	int rc = 0;

	dst[0] = '\0';
	if (c->uplink.proxy_credentials == NULL)
		return 0;
	rel_path(c, c->uplink.proxy_credentials, path, sizeof(path));
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		snprintf(msg, len, "uplink.proxy_credentials: %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fgets(dst, (int)cap, f) == NULL)
		dst[0] = '\0';
	fclose(f);
	n = strcspn(dst, "\r\n");
	if (dst[n] == '\0' && n == cap - 1)
		rc = -EINVAL;           /* longer than the buffer */
	dst[n] = '\0';
	if (rc == 0 && (n == 0 || strchr(dst, ':') == NULL))
		rc = -EINVAL;
	if (rc < 0) {
		mbedtls_platform_zeroize(dst, cap);
		snprintf(msg, len, "uplink.proxy_credentials: %s: the first line must be "
			 "user:password (at most %zu bytes)", path, cap - 2);
	}
	return rc;
}

int seal_uplink_check_files(const struct ward_config *c, char *msg, size_t len)
{
	char cred[UPLINK_PROXY_AUTH_MAX];
	const struct { const char *key, *path; } files[] = {
		{ "uplink.ca", c->uplink.ca },
		{ "uplink.client_cert", c->uplink.client_cert },
		{ "uplink.client_key", c->uplink.client_key },
	};
	struct batch_key *k = NULL;
	char path[PATH_MAX + 8];
	size_t i;
	int rc;

	if (!c->uplink.enabled)
		return 0;
	rel_path(c, c->uplink.device_key, path, sizeof(path));
	rc = batch_key_load(&k, path);
	if (rc == 0 && !batch_key_has_private(k))
		rc = -ENOKEY;
	batch_key_destroy(k);
	if (rc < 0) {
		snprintf(msg, len, "uplink.device_key: %s: %s", path,
			 rc == -ENOKEY ? "holds no private key" :
			 rc == -EINVAL ? "not a P-256 key in PEM or DER" : strerror(-rc));
		return rc;
	}
	rel_path(c, c->uplink.soc_public_key, path, sizeof(path));
	rc = batch_key_load(&k, path);
	batch_key_destroy(k);
	if (rc < 0) {
		snprintf(msg, len, "uplink.soc_public_key: %s: %s", path,
			 rc == -EINVAL ? "not a P-256 key in PEM or DER" : strerror(-rc));
		return rc;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		rel_path(c, files[i].path, path, sizeof(path));
		if (access(path, R_OK) < 0) {
			rc = -errno;
			snprintf(msg, len, "%s: %s: %s", files[i].key, path, strerror(-rc));
			return rc;
		}
	}
	rc = proxy_credentials_read(c, cred, sizeof(cred), msg, len);
	mbedtls_platform_zeroize(cred, sizeof(cred));
	return rc;
}
