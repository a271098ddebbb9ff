/* sensor_live: the ward-sensor daemon on one mirror port (sensor.h).
 *
 * Threads: one per capture worker, and the control thread (the process's
 * main thread). A worker owns its decoder and flow table (both are
 * single-threaded by design) and never waits for I/O but the capture's:
 * the conn records its table emits go into the worker's queue, a buffer
 * under a mutex that the control thread swaps out whole. The control
 * thread is the only writer of the two lanes (the spool's rule: one
 * writer per lane), so the fdatasync of a group commit stalls no worker.
 * A queue that is full (the disk stalls for long) drops the record and
 * counts it; the capture is never held up.
 *
 * This is simpler than one lane per worker (which would multiply the
 * lanes by the workers and split a mirror port's records) and than
 * lock-free rings: the lock is taken once per record by the worker and
 * once per 50 ms by the control thread.
 *
 * The control thread also: expires nothing itself (workers do, on their
 * own clock), writes a stats record every stats interval, pushes the
 * status to the supervisor every 500 ms over agent/ipc.h framing, and
 * stops on SIGTERM/SIGINT or when the supervisor's socket closes.
 */
#include "sensor_live.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chown_tree.h"
#include "clock.h"
#include "conn_record.h"
#include "kconfig.h"
#include "sandbox.h"
#include "sensor_lane.h"
#include "log.h"

#define QUEUE_MAX_BYTES     (8u * 1024 * 1024)   /* per worker */
#define DISPATCH_TIMEOUT_MS 100
#define EXPIRE_EVERY_US     1000000
#define CONTROL_TICK_MS     50
#define STATUS_PUSH_MS      500

/* IPC frame types (agent/ipc.h); the framing is its: a 4-byte
 * little-endian length, a type byte, the payload. */
#define IPC_STATUS_TYPE 'S'
#define IPC_FLUSH_TYPE  'F'
#define IPC_MAX_FRAME_BYTES (16u * 1024 * 1024)

static struct sensor__live *the_live;    /* for the signal handler only */

static void on_signal(int sig)
{
	(void)sig;
	if (the_live == NULL)
		return;
	the_live->stopping = 1;
	if (the_live->cap != NULL)
		capture_break(the_live->cap);
}

void sensor__error(struct sensor__live *sl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sl->last_error, sizeof(sl->last_error), fmt, ap);
	va_end(ap);
	sl->last_error_us = clock_wall_us();
	log_error("%s", sl->last_error);
}

/* ---- workers ------------------------------------------------------------- */

/* Queues one record for the writer. The length word's top bit marks a
 * P0 record (a notice), for the sensor-IF lane; records are at most
 * SENSOR_LANE_P0_MAX_RECORD bytes, far below that bit. */
#define QUEUE_P0_BIT 0x80000000u

static void worker_queue(struct sensor__worker *w, enum spool_class cls, const void *rec,
			 uint32_t len)
{
	uint32_t word = len | (cls == SPOOL_P0 ? QUEUE_P0_BIT : 0);

	for (;;) {
		pthread_mutex_lock(&w->mu);
		if (w->q.len + 4 + len <= QUEUE_MAX_BYTES || w->q.len == 0) {
			/* Room for both parts first: a length without its
			 * record would break the queue's framing. */
			if (buf_reserve(&w->q, 4 + (size_t)len) == 0) {
				(void)buf_append(&w->q, &word, 4);
				(void)buf_append(&w->q, rec, len);
				w->records++;
			} else {
				w->q_dropped++;
			}
			break;
		}
		/* Full. While running, the capture must not wait: drop and
		 * count. At shutdown the final flush waits for the writer,
		 * which drains until every worker is done. */
		if (!w->sl->stopping) {
			w->q_dropped++;
			break;
		}
		pthread_mutex_unlock(&w->mu);
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	pthread_mutex_unlock(&w->mu);
}

/* The analyzers' records. */
static void worker_sink(void *ctx, enum spool_class cls, const char *json, size_t len)
{
	worker_queue(ctx, cls, json, (uint32_t)len);
}

static void worker_emit(void *ctx, const struct conn *conn)
{
	struct sensor__worker *w = ctx;
	struct conn c = *conn;

	/* The analyzers write their last records first. */
	if (w->an != NULL)
		c.service = an_flow_end(w->an, conn);
	buf_reset(&w->rec);
	if (conn_record_write(&w->rec, &c) < 0) {
		pthread_mutex_lock(&w->mu);
		w->q_dropped++;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	worker_queue(w, SPOOL_P2, w->rec.data, (uint32_t)w->rec.len);
}

static void worker_frame(void *ctx, const struct capture_frame *f)
{
	struct sensor__worker *w = ctx;
	struct flow_ref ref;
	struct pkt p;

	if (decoder_decode(w->dec, w->linktype, f->data, f->caplen, f->wirelen, f->ts_us,
			   &p) != DECODE_OK)
		return;
	if (p.vlan != 0)
		w->vlans[p.vlan >> 3] |= (uint8_t)(1u << (p.vlan & 7));
	if (p.inner_vlan != 0)
		w->vlans[p.inner_vlan >> 3] |= (uint8_t)(1u << (p.inner_vlan & 7));
	if (flow_table_update_ref(w->ft, &p, &ref) == 0 && w->an != NULL)
		an_packet(w->an, &ref, &p);
}

static void worker_snapshot(struct sensor__worker *w, int error, bool done)
{
	pthread_mutex_lock(&w->mu);
	w->ds = *decoder_stats(w->dec);
	w->fs = *flow_table_stats(w->ft);
	if (w->an != NULL)
		w->as = *an_ctx_stats(w->an);
	memcpy(w->vlans_snap, w->vlans, sizeof(w->vlans));
	if (error != 0)
		w->error = error;
	w->done = done;
	pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg)
{
	struct sensor__worker *w = arg;
	struct sensor__live *sl = w->sl;
	int64_t now;
	int rc = 0;

	while (!sl->stopping) {
		rc = capture_dispatch(sl->cap, w->idx, worker_frame, w, DISPATCH_TIMEOUT_MS);
		if (rc < 0 && rc != -EINTR && rc != -EAGAIN)
			break;
		rc = 0;
		/* Quiet moments still end flows: expire on the wall clock,
		 * which is the capture clock of a live interface. */
		now = clock_wall_us();
		if ((uint64_t)now - w->last_expire_us >= EXPIRE_EVERY_US) {
			flow_table_expire(w->ft, (uint64_t)now);
			w->last_expire_us = (uint64_t)now;
		}
		worker_snapshot(w, 0, false);
	}
	flow_table_flush(w->ft);
	worker_snapshot(w, rc, true);
	return NULL;
}

static int workers_create(struct sensor__live *sl)
{
	struct flow_config fc = sl->set->flow;
	struct an_config ac = sl->set->an;
	uint32_t i;
	int rc;

	sl->w = calloc(sl->nworkers, sizeof(*sl->w));
	if (sl->w == NULL)
		return -ENOMEM;
	/* The memory caps are the interface's; each worker holds a share. */
	fc.mem_max = sl->set->flow.mem_max / sl->nworkers;
	ac.mem_max = sl->set->an.mem_max / sl->nworkers;
	for (i = 0; i < sl->nworkers; i++) {
		struct sensor__worker *w = &sl->w[i];

		w->sl = sl;
		w->idx = i;
		w->linktype = capture_linktype(sl->cap);
		buf_init(&w->rec);
		buf_init(&w->q);
		pthread_mutex_init(&w->mu, NULL);
		if ((rc = decoder_create(&w->dec, &sl->set->dec)) < 0 ||
		    (rc = flow_table_create(&w->ft, &fc, worker_emit, w)) < 0)
			return rc;
		if (ac.enabled && (rc = an_ctx_create(&w->an, &ac, w->ft, worker_sink, w)) < 0)
			return rc;
		w->ds = *decoder_stats(w->dec);
		w->fs = *flow_table_stats(w->ft);
	}
	return 0;
}

static void workers_destroy(struct sensor__live *sl)
{
	uint32_t i;

	if (sl->w == NULL)
		return;
	for (i = 0; i < sl->nworkers; i++) {
		an_ctx_destroy(sl->w[i].an);
		flow_table_destroy(sl->w[i].ft);
		decoder_destroy(sl->w[i].dec);
		buf_free(&sl->w[i].rec);
		buf_free(&sl->w[i].q);
		pthread_mutex_destroy(&sl->w[i].mu);
	}
	free(sl->w);
	sl->w = NULL;
}

/* ---- the writer ---------------------------------------------------------- */

/* Moves every queued record into the conn lane. Returns true when every
 * worker is done and its queue empty. */
static bool drain(struct sensor__live *sl)
{
	bool all_done = true;
	uint32_t i, len;
	size_t off;
	int rc;

	for (i = 0; i < sl->nworkers; i++) {
		struct sensor__worker *w = &sl->w[i];
		struct buf t;
		bool done;

		pthread_mutex_lock(&w->mu);
		t = w->q;
		w->q = sl->drain;     /* an empty buffer, its storage reused */
		done = w->done;
		pthread_mutex_unlock(&w->mu);
		for (off = 0; off + 4 <= t.len; off += 4 + len) {
			uint32_t word;

			memcpy(&word, t.data + off, 4);
			len = word & ~QUEUE_P0_BIT;
			if (word & QUEUE_P0_BIT) {
				rc = sl->p0 != NULL ? spool_lane_append(sl->p0, clock_wall_us(),
									t.data + off + 4, len, NULL) : -EIO;
				if (rc == 0)
					sl->notices++;
			} else {
				rc = spool_lane_append(sl->conn, clock_wall_us(), t.data + off + 4,
						       len, NULL);
			}
			if (rc < 0)
				sl->spool_dropped++;
		}
		buf_reset(&t);
		sl->drain = t;
		all_done = all_done && done;
	}
	return all_done;
}

/* ---- privilege ----------------------------------------------------------- */

/* Hands the lane directories (opened as root) to the user we become, so
 * that it can go on creating and renaming segments through the lanes'
 * directory descriptors. */
static int chown_lanes(struct sensor__live *sl, const struct passwd *pw)
{
	char path[4200];
	const char *names[2] = { sl->conn_name, sl->p0_name };
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", sl->o->spool_dir, names[i]);
		if (chown_tree(path, pw->pw_uid, pw->pw_gid) != 0)
			return -errno;
	}
	return 0;
}

/* Leaves root for `user` (when root), gives up every capability for good
 * (drivers/sandbox.h), then confines the loop with the seccomp allow-list.
 * The capture sockets and the lanes stay open. DESIGN.md, "Processes and
 * privilege". */
static int drop_privilege(struct sensor__live *sl, const char *user)
{
	bool stay_root = strcmp(user, "root") == 0;
	struct passwd *pw;
	char err[512];
	int rc;

	if (geteuid() == 0 && !stay_root) {
		pw = getpwnam(user);
		if (pw == NULL) {
			fprintf(stderr, "ward-sensor: sensor.user '%s' does not exist on this "
				"system; create it or set sensor.user\n", user);
			return -ENOENT;
		}
		if (chown_lanes(sl, pw) < 0) {
			fprintf(stderr, "ward-sensor: cannot hand the lanes to %s: %s\n", user,
				strerror(errno));
			return -EPERM;
		}
	}
	if (stay_root && geteuid() == 0)
		log_warn("sensor.user is root: the packet parser keeps root's identity "
			 "(capabilities are dropped all the same)");
	err[0] = '\0';
	rc = sandbox_drop(stay_root ? NULL : user, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ward-sensor: %s\n", err[0] ? err : strerror(-rc));
		return rc;
	}
	if (IS_ENABLED(CONFIG_SENSOR_SECCOMP)) {
		rc = sandbox_seccomp(err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "ward-sensor: %s\n", err[0] ? err : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* ---- the supervisor's channel -------------------------------------------- */

static int ipc_write(int fd, uint8_t type, const void *data, size_t len)
{
	uint8_t hdr[5] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			   (uint8_t)(len >> 24), type };
	const uint8_t *parts[2] = { hdr, data };
	size_t lens[2] = { 5, len }, off;
	ssize_t n;
	int i;

	for (i = 0; i < 2; i++) {
		for (off = 0; off < lens[i];) {
			n = write(fd, parts[i] + off, lens[i] - off);   /* SIGPIPE is ignored */
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			off += (size_t)n;
		}
	}
	return 0;
}

/* Reads what the supervisor sent. Returns -EPIPE when it went away. */
static int ipc_read(struct sensor__live *sl, int fd, struct buf *in)
{
	uint32_t len;
	ssize_t n;
	size_t off = 0;

	if (buf_reserve(in, 65536) < 0)
		return -ENOMEM;
	n = read(fd, in->data + in->len, in->cap - in->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -EPIPE;
	in->len += (size_t)n;
	while (in->len - off >= 5) {
		const uint8_t *p = in->data + off;

		len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		      (uint32_t)p[3] << 24;
		if (len > IPC_MAX_FRAME_BYTES)
			return -EPIPE;
		if (in->len - off - 5 < len)
			break;
		/* Only flush is ours; a configuration change restarts us. */
		if (p[4] == IPC_FLUSH_TYPE) {
			(void)drain(sl);
			(void)spool_lane_flush(sl->conn);
			(void)spool_lane_flush(sl->p0);
		}
		off += 5 + (size_t)len;
	}
	buf_consume(in, off);
	return 0;
}

static void write_status_file(const char *path, const struct buf *b)
{
	char tmp[4200];
	int fd;
	bool ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	ok = write(fd, b->data, b->len) == (ssize_t)b->len;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

static int push_status(struct sensor__live *sl, struct buf *b)
{
	int rc = 0;

	sensor__collect(sl);
	sensor__rates_tick(sl);
	if (sensor__status(sl, b) < 0)
		return 0;
	if (sl->o->ipc_fd >= 0)
		rc = ipc_write(sl->o->ipc_fd, IPC_STATUS_TYPE, b->data, b->len);
	if (sl->o->status_file != NULL)
		write_status_file(sl->o->status_file, b);
	return rc;
}

/* ---- the control loop ---------------------------------------------------- */

static int control_loop(struct sensor__live *sl)
{
	uint64_t now, next_commit, next_status, next_stats, next_usage;
	struct buf in = BUF_INIT, st = BUF_INIT;
	struct pollfd pfd = { .fd = sl->o->ipc_fd, .events = POLLIN };
	int code = 0;
	uint32_t i;
	bool done;

	now = clock_mono_ms();
	next_commit = now + sl->o->fsync_interval_ms;
	next_status = now;
	next_stats = now + sl->set->stats_interval_ms;
	next_usage = now;
	for (;;) {
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, CONTROL_TICK_MS) > 0 &&
		    ipc_read(sl, pfd.fd, &in) < 0 && !sl->stopping) {
			log_info("supervisor gone; stopping");
			sl->stopping = 1;
			capture_break(sl->cap);
			pfd.fd = -1;
		}
		done = drain(sl);
		if (done)
			break;
		for (i = 0; i < sl->nworkers && !sl->stopping; i++) {
			int err;

			pthread_mutex_lock(&sl->w[i].mu);
			err = sl->w[i].error;
			pthread_mutex_unlock(&sl->w[i].mu);
			if (err == 0)
				continue;
			sensor__error(sl, "%s: capture failed: %s", sl->ifname, strerror(-err));
			sl->stopping = 1;
			capture_break(sl->cap);
			code = 3;
		}
		now = clock_mono_ms();
		if (now >= next_commit) {
			(void)spool_lane_commit(sl->conn);
			(void)spool_lane_commit(sl->p0);
			(void)spool_lane_tick(sl->conn, now);
			(void)spool_lane_tick(sl->p0, now);
			next_commit = now + sl->o->fsync_interval_ms;
		}
		if (now >= next_stats) {
			sensor__collect(sl);
			sensor__stats_tick(sl);
			next_stats = now + sl->set->stats_interval_ms;
		}
		if (now >= next_usage && sl->o->hard_limit_bytes != 0) {
			sensor_lane_usage_check(sl->conn, sl->o->spool_dir);
			next_usage = now + sl->o->budget_check_ms;
		}
		if (now >= next_status) {
			if (push_status(sl, &st) < 0 && pfd.fd >= 0 && !sl->stopping) {
				log_info("supervisor gone; stopping");
				sl->stopping = 1;
				capture_break(sl->cap);
				pfd.fd = -1;
			}
			next_status = now + STATUS_PUSH_MS;
		}
	}
	/* The workers have flushed their tables: a last stats record and
	 * status, then the lanes are closed (durable, segments sealed). */
	sensor__collect(sl);
	sensor__stats_tick(sl);
	if (pfd.fd >= 0 || sl->o->status_file != NULL)
		(void)push_status(sl, &st);
	buf_free(&in);
	buf_free(&st);
	return code;
}

static void check_offload(struct sensor__live *sl)
{
	char msg[300];

	sl->off_rc = capture_offload_check(sl->ifname, &sl->off);
	if (capture_offload_advice(sl->ifname, &sl->off, msg, sizeof(msg)) > 0)
		log_warn("%s", msg);
}

int sensor_live_run(const struct sensor_live_opts *o)
{
	struct sensor__live sl;
	struct sigaction sa;
	sigset_t all, old;
	char err[512];
	uint32_t i;
	int rc, code = 1;

	memset(&sl, 0, sizeof(sl));
	sl.o = o;
	sl.set = o->set;
	sl.ifname = o->set->cap.source;
	sl.started_us = clock_wall_us();
	buf_init(&sl.drain);
	buf_init(&sl.rec);
	sensor_lane_name(sl.conn_name, "conn", sl.ifname);
	sensor_lane_name(sl.p0_name, "sensor", sl.ifname);

	the_live = &sl;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The supervisor restarts us for a new configuration; a hangup of
	 * the terminal or process group must not end the capture. */
	signal(SIGHUP, SIG_IGN);

	err[0] = '\0';
	rc = capture_open(&sl.cap, &o->set->cap, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "ward-sensor: %s\n", err[0] ? err : strerror(-rc));
		if (o->ipc_fd >= 0) {
			/* The supervisor shows it as the mirror port's error. */
			snprintf(sl.last_error, sizeof(sl.last_error), "%s",
				 err[0] ? err : strerror(-rc));
			sl.last_error_us = clock_wall_us();
			(void)push_status(&sl, &sl.rec);
		}
		goto out;
	}
	sl.nworkers = capture_workers(sl.cap);
	check_offload(&sl);
	if (sensor_lane_open(o, sl.conn_name, SPOOL_P2, SENSOR_LANE_CONN_MAX_RECORD, &sl.conn) < 0 ||
	    sensor_lane_open(o, sl.p0_name, SPOOL_P0, SENSOR_LANE_P0_MAX_RECORD, &sl.p0) < 0)
		goto out;
	if (drop_privilege(&sl, o->set->user) < 0)
		goto out;
	rc = workers_create(&sl);
	if (rc < 0) {
		fprintf(stderr, "ward-sensor: %s: cannot set up the flow tables: %s\n", sl.ifname,
			rc == -EINVAL ? "sensor.flow_memory_bytes is too small" : strerror(-rc));
		goto out;
	}
	/* Workers take no signals: the control thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < sl.nworkers; i++) {
		rc = pthread_create(&sl.w[i].th, NULL, worker_main, &sl.w[i]);
		if (rc != 0) {
			fprintf(stderr, "ward-sensor: cannot start worker %u: %s\n", i,
				strerror(rc));
			sl.stopping = 1;
			capture_break(sl.cap);
			break;
		}
		sl.w[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Workers that never started count as done. */
	for (; i < sl.nworkers; i++)
		sl.w[i].done = true;
	log_info("capturing on %s (%s, %u worker%s); lanes %s and %s in %s", sl.ifname,
		 o->set->cap.backend == CAPTURE_PCAP ? "pcap" : "afpacket", sl.nworkers,
		 sl.nworkers == 1 ? "" : "s", sl.conn_name, sl.p0_name, o->spool_dir);
	code = control_loop(&sl);
	for (i = 0; i < sl.nworkers; i++)
		if (sl.w[i].started)
			pthread_join(sl.w[i].th, NULL);
	(void)drain(&sl);
	log_info("stopped");
out:
	the_live = NULL;
	spool_lane_close(sl.conn);
	spool_lane_close(sl.p0);
	workers_destroy(&sl);
	capture_close(sl.cap);
	buf_free(&sl.drain);
	buf_free(&sl.rec);
	return code;
}
