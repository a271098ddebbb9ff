#include "uplink.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "http_connect.h"
#include "jsonw.h"
#include "tls_client.h"
#include "uplink_http.h"

enum ep_state { EP_IDLE, EP_CONNECTING, EP_HANDSHAKE, EP_CONNECTED, EP_FAILED };
static const char *const ep_state_names[] = {
	"idle", "connecting", "handshake", "connected", "failed"
};

struct endpoint {
	char *host;
	char *sni;
	uint16_t port;
	enum ep_state state;
	struct uplink_ep_stats st;
};

/* One TCP+TLS connection. It lives until libuv closes its handle and the
 * resolver (if any) has answered, so callbacks that arrive after the
 * uplink dropped it find `u == NULL` and return. */
struct conn {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_getaddrinfo_t gai;
	int refs;
	struct uplink *owner;   /* always valid: it waits for us to close */
	struct uplink *u;       /* NULL once dropped */
	bool tcp_open, gai_pending, established;
	bool tunnel_wait;       /* CONNECT sent to the proxy, tunnel not up */
	struct http_connect hc; /* the proxy's answer to CONNECT */
	struct endpoint *ep;
	struct tls_client *tls;
	struct uplink_resp resp;        /* the answer to the request in flight */
	uint8_t rbuf[65536];
};

struct write_req {
	uv_write_t req;
	uint8_t data[];
};

struct uplink {
	uv_loop_t *loop;
	uv_timer_t wake;        /* rescan and backoff */
	uv_timer_t deadline;    /* connect, handshake and response timeouts */
	int open_handles;
	bool started, stopping;
	enum uplink_state state;
	struct tls_client_ctx *tls;
	struct endpoint ep[UPLINK_MAX_ENDPOINTS];
	size_t n_ep;
	size_t cur;             /* endpoint in use or next to try */
	size_t failed_in_row;   /* endpoints failed since the last success */
	uint64_t away_since;    /* uv_now() when a non-primary connected */
	unsigned attempt;       /* backoff rounds since the last success */
	char reason[320];
	char *outbox;
	char *proxy_host;       /* NULL: direct */
	uint16_t proxy_port;
	char *proxy_auth;       /* "user:pass", a credential: never shown */
	char *lanes[UPLINK_MAX_LANES];
	size_t n_lanes;
	struct uplink_opts o;   /* timeouts and backoff (pointers not used) */
	struct conn *conn;
	struct uplink_window win;       /* requests in flight on conn */
	uint8_t cls[UPLINK_MAX_LANES];  /* each lane's class */
	uint64_t last_sent[UPLINK_MAX_LANES];   /* uv_now() of its last send */
	uint64_t aged_picks;
	unsigned in_flight_peak;
	int64_t last_success_s;
	char last_error[256];
	struct buf req;
	uint64_t rng;
	uint64_t wait_until;    /* uv_now() when WAITING ends */
	uint64_t acked, quarantined, local_errors;
	uint64_t rate;          /* bytes/s, 0 = unlimited */
	int64_t tokens;         /* bytes; negative = in debt */
	uint64_t tokens_at;     /* uv_now() of the last refill */
	uint64_t rate_waits;
};

static void pump(struct uplink *u);
static void proxy_answer(struct conn *c, const uint8_t *data, size_t len);
static void say(char *dst, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* snprintf for status words, where a cut message is acceptable and
 * expected (the compiler's truncation warning does not apply). */
static void say(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}
static void endpoint_failed(struct uplink *u, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Jitter needs no secrecy, only spread between probes: xorshift64*,
 * seeded from the clock and the pid. */
static uint64_t rng_next(struct uplink *u)
{
	u->rng ^= u->rng >> 12;
	u->rng ^= u->rng << 25;
	u->rng ^= u->rng >> 27;
	return u->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- connection ------------------------------------------------------------ */

static void conn_unref(struct conn *c)
{
	struct uplink *owner = c->owner;

	if (--c->refs > 0)
		return;
	tls_client_destroy(c->tls);
	free(c);
	owner->open_handles--;
}

static void on_tcp_closed(uv_handle_t *h)
{
	conn_unref(h->data);
}

/* Forgets the connection; libuv closes it later. Not a failure by itself. */
static void conn_drop(struct uplink *u)
{
	struct conn *c = u->conn;

	if (c == NULL)
		return;
	u->conn = NULL;
	c->u = NULL;
	uv_timer_stop(&u->deadline);
	if (c->ep->state != EP_FAILED)
		c->ep->state = EP_IDLE;
	if (c->gai_pending)
		(void)uv_cancel((uv_req_t *)&c->gai);
	if (c->tcp_open) {
		c->tcp_open = false;
		uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
	}
	/* Unanswered requests stay in the outbox, to be sent again. */
	uplink_window_clear(&u->win);
	conn_unref(c);
}

static void ep_name(const struct endpoint *ep, char *dst, size_t len)
{
	snprintf(dst, len, "%s:%u", ep->host, ep->port);
}

static void on_wake(uv_timer_t *t)
{
	struct uplink *u = t->data;
	uint64_t now = uv_now(u->loop);

	if (u->state == UPLINK_WAITING && now < u->wait_until) {
		uv_timer_start(&u->wake, on_wake, u->wait_until - now, 0);
		return;
	}
	if (u->state == UPLINK_WAITING)
		u->state = u->win.n > 0 ? UPLINK_SENDING : UPLINK_IDLE;
	pump(u);
}

/* Runs pump() from the loop, in `ms`: never recursively from a callback
 * that may still be using the connection. */
static void schedule(struct uplink *u, uint64_t ms, enum uplink_state st)
{
	u->state = st;
	u->wait_until = uv_now(u->loop) + ms;
	uv_timer_start(&u->wake, on_wake, ms, 0);
}

/* No new request for `ms`; a longer hold already in force stays. Answers
 * to requests in flight are still read and acted on meanwhile. */
static void hold(struct uplink *u, uint64_t ms)
{
	uint64_t until = uv_now(u->loop) + ms;

	if (u->state == UPLINK_WAITING && u->wait_until > until)
		return;
	schedule(u, ms, UPLINK_WAITING);
}

/* Runs pump() soon, unless a hold is in force (its timer runs pump). */
static void kick(struct uplink *u)
{
	if (u->stopping || u->state == UPLINK_WAITING)
		return;
	uv_timer_start(&u->wake, on_wake, 0, 0);
}

static void set_error(struct uplink *u, const char *msg)
{
	snprintf(u->last_error, sizeof(u->last_error), "%s", msg);
}

static void endpoint_failed(struct uplink *u, const char *fmt, ...)
{
	struct endpoint *ep = &u->ep[u->cur];
	char name[300];
	va_list ap;
	uint64_t delay = 0;

	va_start(ap, fmt);
	vsnprintf(ep->st.last_error, sizeof(ep->st.last_error), fmt, ap);
	va_end(ap);
	ep->st.failures++;
	ep->state = EP_FAILED;
	set_error(u, ep->st.last_error);
	conn_drop(u);
	ep_name(ep, name, sizeof(name));
	say(u->reason, sizeof(u->reason), "%s failed: %s", name, ep->st.last_error);
	/* The next endpoint is tried at once; only a whole round of failures
	 * earns a backoff, so failover costs no waiting. */
	if (u->cur == 0)
		u->away_since = uv_now(u->loop);   /* the failback clock starts */
	u->cur = (u->cur + 1) % u->n_ep;
	if (++u->failed_in_row >= u->n_ep) {
		u->failed_in_row = 0;
		delay = uplink_backoff_ms(u->attempt++, u->o.backoff_base_ms, u->o.backoff_cap_ms,
					  rng_next(u));
	}
	schedule(u, delay, UPLINK_WAITING);
}

static void on_deadline(uv_timer_t *t)
{
	struct uplink *u = t->data;
	struct endpoint *ep = &u->ep[u->cur];
	char name[300];

	ep_name(ep, name, sizeof(name));
	if (ep->state == EP_CONNECTING && u->proxy_host != NULL)
		endpoint_failed(u, "connect to %s through proxy %s:%u timed out after %u ms", name,
				u->proxy_host, u->proxy_port, u->o.connect_timeout_ms);
	else if (ep->state == EP_CONNECTING)
		endpoint_failed(u, "connect to %s timed out after %u ms", name,
				u->o.connect_timeout_ms);
	else if (ep->state == EP_HANDSHAKE)
		endpoint_failed(u, "TLS handshake with %s timed out after %u ms", name,
				u->o.handshake_timeout_ms);
	else
		endpoint_failed(u, "no answer from %s within %u ms", name,
				u->o.response_timeout_ms);
}

static void on_write(uv_write_t *req, int status)
{
	(void)status;   /* a failed write shows up as a read error or timeout */
	free(req);
}

static int conn_send(void *arg, const uint8_t *data, size_t len)
{
	struct conn *c = arg;
	struct write_req *w;
	uv_buf_t b;

	if (c->u == NULL || !c->tcp_open)
		return -ENOTCONN;
	w = malloc(sizeof(*w) + len);
	if (w == NULL)
		return -ENOMEM;
	memcpy(w->data, data, len);
	b = uv_buf_init((char *)w->data, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
		free(w);
		return -EIO;
	}
	c->ep->st.bytes_out += len;
	return 0;
}

/* ---- the outbox ------------------------------------------------------------ */

static bool is_batch_name(const char *n)
{
	size_t len = strlen(n);

	return n[0] != '.' && len > 6 && strcmp(n + len - 6, ".batch") == 0;
}

/* Finds the oldest batch of lane `i` that is not in flight: the lowest
 * name, as the sealer's zero-padded seqs sort. Cost: one directory read
 * (and one stat) per lane per request; a backlog of N files costs O(N)
 * per batch, fine for the thousands an outage makes. Returns 1 with the
 * name in best[UPLINK_NAME_MAX + 1] and its mtime in *mtime_s, or 0. */
static int scan_lane(struct uplink *u, size_t i, char *best, int64_t *mtime_s)
{
	char dir[4096];
	struct dirent *de;
	struct stat st;
	DIR *d;

	best[0] = '\0';
	*mtime_s = 0;
	if (snprintf(dir, sizeof(dir), "%s/%s", u->outbox, u->lanes[i]) >= (int)sizeof(dir))
		return 0;
	d = opendir(dir);
	if (d == NULL)
		return 0;       /* no batches sealed in this lane yet */
	while ((de = readdir(d)) != NULL) {
		if (!is_batch_name(de->d_name) || strlen(de->d_name) > UPLINK_NAME_MAX)
			continue;
		if (best[0] != '\0' && strcmp(de->d_name, best) >= 0)
			continue;
		if (uplink_window_has(&u->win, (unsigned)i, de->d_name))
			continue;
		snprintf(best, UPLINK_NAME_MAX + 1, "%s", de->d_name);
	}
	if (best[0] != '\0' && fstatat(dirfd(d), best, &st, 0) == 0)
		*mtime_s = st.st_mtime;
	closedir(d);
	return best[0] != '\0';
}

/* Picks the next batch to send (uplink.h, "Priority with aging"). Returns
 * the lane index with its batch name in best[], or -1 when every batch
 * is in flight or the outbox is empty. */
static int pick_batch(struct uplink *u, char *best)
{
	struct uplink_lane_head h[UPLINK_MAX_LANES];
	char names[UPLINK_MAX_LANES][UPLINK_NAME_MAX + 1];
	uint64_t now = uv_now(u->loop), since;
	int64_t now_s = (int64_t)time(NULL), mtime;
	bool aged = false;
	size_t i;
	int k;

	for (i = 0; i < u->n_lanes; i++) {
		h[i].cls = u->cls[i];
		h[i].ready = scan_lane(u, i, names[i], &mtime) == 1;
		h[i].waited_ms = 0;
		if (!h[i].ready)
			continue;
		since = now - u->last_sent[i];
		h[i].waited_ms = mtime > 0 && mtime < now_s ? (uint64_t)(now_s - mtime) * 1000 : 0;
		if (since < h[i].waited_ms)
			h[i].waited_ms = since;
		/* P0 goes first whatever the rest: no need to read further. */
		if (h[i].cls == 0)
			break;
	}
	k = uplink_pick_lane(h, i < u->n_lanes ? i + 1 : u->n_lanes, u->o.aging_ms, &aged);
	if (k < 0)
		return -1;
	if (aged)
		u->aged_picks++;
	memcpy(best, names[k], UPLINK_NAME_MAX + 1);
	return k;
}

/* Any batch at all in the outbox (to decide whether to connect). */
static bool outbox_has_batch(struct uplink *u)
{
	char name[UPLINK_NAME_MAX + 1];
	int64_t mtime;
	size_t i;

	for (i = 0; i < u->n_lanes; i++)
		if (scan_lane(u, i, name, &mtime) == 1)
			return true;
	return false;
}

static int batch_path(const struct uplink *u, unsigned lane, const char *name, char *dst,
		      size_t len)
{
	return snprintf(dst, len, "%s/%s/%s", u->outbox, u->lanes[lane], name) >= (int)len ?
	       -ENAMETOOLONG : 0;
}

/* Moves batch `name` of `lane` to O/quarantine/<lane>-<name>, and writes
 * why next to it. Nothing is deleted: an analyst can still look at it. */
static void quarantine(struct uplink *u, unsigned lane, const char *name, const char *why)
{
	char dir[4096], src[4400], dst[4400], rsn[4400];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/quarantine", u->outbox);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (batch_path(u, lane, name, src, sizeof(src)) < 0)
		goto fail;
	if (snprintf(dst, sizeof(dst), "%s/%s-%s", dir, u->lanes[lane], name) >= (int)sizeof(dst))
		goto fail;
	if (rename(src, dst) < 0) {
		if (errno == ENOENT)
			return;         /* evicted by the disk budget meanwhile */
		goto fail;
	}
	say(rsn, sizeof(rsn), "%.*s.reason", (int)(strlen(dst) - 6), dst);
	f = fopen(rsn, "w");
	if (f != NULL) {
		fprintf(f, "%s\n", why);
		fclose(f);
	}
	u->quarantined++;
	return;
fail:
	u->local_errors++;
}

/* Reads the batch at `path` into u->req behind the request head. Returns
 * 0, -ENOENT (gone meanwhile), -EBADMSG (not a batch: reason in `why`) or
 * -errno. */
static int build_request(struct uplink *u, const struct endpoint *ep, const char *path,
			 char *why, size_t wlen)
{
	struct batch_hdr h;
	struct stat st;
	size_t head, off = 0;
	ssize_t n;
	int fd, rc;

	buf_reset(&u->req);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_size < BATCH_HDR_SIZE || (uint64_t)st.st_size > 2ull * BATCH_BODY_MAX) {
		snprintf(why, wlen, "local: %lld bytes is no batch", (long long)st.st_size);
		rc = -EBADMSG;
		goto out;
	}
	rc = buf_printf(&u->req, "POST /v1/batches HTTP/1.1\r\nHost: %s:%u\r\n"
			"Content-Type: application/octet-stream\r\nContent-Length: %lld\r\n\r\n",
			ep->sni, ep->port, (long long)st.st_size);
	if (rc < 0)
		goto out;
	head = u->req.len;
	rc = buf_reserve(&u->req, (size_t)st.st_size);
	if (rc < 0)
		goto out;
	while (off < (size_t)st.st_size) {
		n = read(fd, u->req.data + head + off, (size_t)st.st_size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)n;
	}
	u->req.len = head + off;
	/* A file that does not even parse would be refused by the SOC too:
	 * quarantine it here and spare the uplink. */
	rc = batch_parse_header(u->req.data + head, off, &h);
	if (rc < 0) {
		snprintf(why, wlen, "local: %s", batch_strerror(rc));
		rc = -EBADMSG;
	}
out:
	close(fd);
	return rc;
}

/* Sends batch `name` of `lane` on the established connection. Returns 1
 * when a request went out, 0 when the batch was skipped (gone, or
 * quarantined here) so the caller may pick another, or -1 when nothing
 * more should be sent now (local error, or the connection failed). */
static int send_batch(struct uplink *u, unsigned lane, const char *name)
{
	struct conn *c = u->conn;
	char path[4400], why[300];
	uint64_t now = uv_now(u->loop);
	int rc;

	if (batch_path(u, lane, name, path, sizeof(path)) < 0) {
		u->local_errors++;
		return -1;
	}
	rc = build_request(u, c->ep, path, why, sizeof(why));
	if (rc == -EBADMSG) {
		quarantine(u, lane, name, why);
		c->ep->st.batches_quarantined++;
		return 0;
	}
	if (rc == -ENOENT)
		return 0;       /* gone meanwhile: pick again */
	if (rc < 0) {
		u->local_errors++;
		hold(u, u->o.rescan_ms);
		return -1;
	}
	rc = uplink_window_push(&u->win, lane, name, u->req.len, now);
	if (rc < 0) {
		u->local_errors++;      /* cannot happen: pump checked */
		return -1;
	}
	if (u->win.n == 1) {
		/* The parser and the response clock follow the oldest. */
		uplink_resp_start(&c->resp);
		uv_timer_start(&u->deadline, on_deadline, u->o.response_timeout_ms, 0);
	}
	u->last_sent[lane] = now;
	if (u->rate > 0)
		u->tokens -= (int64_t)u->req.len;
	if (tls_client_write(c->tls, u->req.data, u->req.len) < 0) {
		endpoint_failed(u, "%s", tls_client_error(c->tls));
		return -1;
	}
	c->ep->st.batches_sent++;
	if (u->win.n > u->in_flight_peak)
		u->in_flight_peak = u->win.n;
	return 1;
}

/* The oldest request in flight got its complete answer in c->resp. */
static void on_answer(struct uplink *u, struct conn *c)
{
	const struct uplink_sent *s = uplink_window_oldest(&u->win);
	struct endpoint *ep = c->ep;
	int status = c->resp.status;
	unsigned lane = s->lane;
	char name[UPLINK_NAME_MAX + 1], path[4400], why[400];
	uint64_t ms;

	snprintf(name, sizeof(name), "%s", s->name);
	uplink_window_pop(&u->win, uv_now(u->loop));
	uv_timer_stop(&u->deadline);
	switch (uplink_classify(status)) {
	case UPLINK_ACKED:
		/* No fsync of the lane directory: an unlink lost in a crash
		 * means one resend, which the SOC answers 409. */
		if (batch_path(u, lane, name, path, sizeof(path)) < 0 ||
		    (unlink(path) < 0 && errno != ENOENT))
			u->local_errors++;
		ep->st.batches_acked++;
		u->acked++;
		u->attempt = 0;
		u->failed_in_row = 0;
		u->last_success_s = (int64_t)time(NULL);
		break;
	case UPLINK_BACK_OFF:
		ep->st.backoffs++;
		if (uplink_resp_retry_after(&c->resp, (int64_t)time(NULL), &ms) < 0)
			ms = uplink_backoff_ms(u->attempt++, u->o.backoff_base_ms,
					       u->o.backoff_cap_ms, rng_next(u));
		snprintf(ep->st.last_error, sizeof(ep->st.last_error),
			 "SOC busy: HTTP %d, retrying in %llu ms", status, (unsigned long long)ms);
		set_error(u, ep->st.last_error);
		/* No new request until then; the batch stays in the outbox. */
		hold(u, ms);
		break;
	case UPLINK_QUARANTINE:
		say(why, sizeof(why), "HTTP %d from %s:%u: %s", status, ep->host, ep->port,
		    c->resp.body);
		say(ep->st.last_error, sizeof(ep->st.last_error),
		    "batch %s/%s refused, quarantined: %s", u->lanes[lane], name, why);
		set_error(u, ep->st.last_error);
		quarantine(u, lane, name, why);
		ep->st.batches_quarantined++;
		break;
	case UPLINK_FAILED:
		endpoint_failed(u, "SOC answered HTTP %d: %s", status, c->resp.body);
		return;
	}
	if (!c->resp.keep_alive) {
		/* The server closes after this answer: what else is in
		 * flight gets no answer here and is sent again. */
		conn_drop(u);
	} else if (u->win.n > 0) {
		uplink_resp_start(&c->resp);
		uv_timer_start(&u->deadline, on_deadline, u->o.response_timeout_ms, 0);
	}
	if (u->state != UPLINK_WAITING)
		u->state = u->win.n > 0 ? UPLINK_SENDING : UPLINK_IDLE;
	kick(u);
}

/* ---- connecting ------------------------------------------------------------ */

static void on_established(struct uplink *u, struct conn *c)
{
	char name[300];
	size_t i = (size_t)(c->ep - u->ep);

	c->established = true;
	c->ep->state = EP_CONNECTED;
	c->ep->st.connects++;
	uv_timer_stop(&u->deadline);
	ep_name(c->ep, name, sizeof(name));
	/* u->reason still holds the failure that moved us here, if any. */
	if (i == 0 && u->proxy_host != NULL)
		say(u->reason, sizeof(u->reason), "%s is the primary (through proxy %s:%u)", name,
		    u->proxy_host, u->proxy_port);
	else if (i == 0)
		snprintf(u->reason, sizeof(u->reason), "%s is the primary", name);
	else if (strncmp(u->reason, "failed over", 11) != 0) {
		char prev[320];

		snprintf(prev, sizeof(prev), "%s", u->reason);
		say(u->reason, sizeof(u->reason), "failed over to %s: %s", name, prev);
	}
	u->failed_in_row = 0;
}

/* Decrypts what arrived and parses the answers, in request order. Stops
 * as soon as the connection is dropped (c->u cleared). */
static void conn_process(struct conn *c)
{
	struct uplink *u = c->u;
	size_t used, off;
	int n, rc;

	for (;;) {
		n = tls_client_read(c->tls, c->rbuf, sizeof(c->rbuf));
		if (!c->established && tls_client_established(c->tls)) {
			on_established(u, c);
			if (u->state != UPLINK_WAITING)
				u->state = UPLINK_IDLE;
			kick(u);
		}
		if (n == -ECONNRESET) {
			if (u->win.n > 0)
				endpoint_failed(u, "%s:%u closed the connection before answering",
						c->ep->host, c->ep->port);
			else
				conn_drop(u);
			return;
		}
		if (n < 0) {
			endpoint_failed(u, "%s", tls_client_error(c->tls));
			return;
		}
		if (n == 0)
			break;
		for (off = 0; off < (size_t)n; off += used) {
			/* Bytes with nothing in flight answer nothing: the
			 * stream no longer lines up with our requests. */
			if (u->win.n == 0) {
				c->ep->st.bad_answers++;
				endpoint_failed(u, "%s:%u sent data nobody asked for",
						c->ep->host, c->ep->port);
				return;
			}
			rc = uplink_resp_feed(&c->resp, c->rbuf + off, (size_t)n - off, &used);
			if (rc < 0) {
				c->ep->st.bad_answers++;
				endpoint_failed(u, "bad HTTP answer from %s:%u: %s", c->ep->host,
						c->ep->port, rc == -EBADMSG ?
						http_errno_description(
							HTTP_PARSER_ERRNO(&c->resp.parser)) :
						uplink_resp_strerror(rc));
				return;
			}
			if (rc == 1) {
				on_answer(u, c);
				if (c->u == NULL)
					return;
			}
		}
	}
}

/* TLS bytes from the endpoint. */
static void tls_input(struct conn *c, const uint8_t *data, size_t len)
{
	/* rbuf is reused for plaintext: feed copies the ciphertext first. */
	if (tls_client_feed(c->tls, data, len) < 0) {
		endpoint_failed(c->u, "out of memory");
		return;
	}
	conn_process(c);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *c = h->data;

	(void)hint;
	*b = uv_buf_init((char *)c->rbuf, sizeof(c->rbuf));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *c = s->data;
	struct uplink *u = c->u;

	if (u == NULL || nread == 0)
		return;
	if (nread < 0) {
		if (c->tunnel_wait)
			endpoint_failed(u, "proxy %s:%u closed the connection before answering "
					"CONNECT %s:%u (%s)", u->proxy_host, u->proxy_port,
					c->ep->host, c->ep->port, uv_strerror((int)nread));
		else if (!c->established)
			endpoint_failed(u, "%s:%u closed the connection during the TLS handshake"
					" (%s)", c->ep->host, c->ep->port, uv_strerror((int)nread));
		else if (u->win.n > 0)
			endpoint_failed(u, "%s:%u closed the connection before answering (%s)",
					c->ep->host, c->ep->port, uv_strerror((int)nread));
		else
			conn_drop(u);   /* an idle keep-alive connection timed out */
		return;
	}
	c->ep->st.bytes_in += (uint64_t)nread;
	if (c->tunnel_wait)
		proxy_answer(c, (const uint8_t *)b->base, (size_t)nread);
	else
		tls_input(c, (const uint8_t *)b->base, (size_t)nread);
}

/* Starts the TLS handshake with the endpoint on c's stream (directly, or
 * inside the proxy's tunnel). */
static void start_tls(struct uplink *u, struct conn *c)
{
	char name[300];
	int rc;

	ep_name(c->ep, name, sizeof(name));
	c->ep->state = EP_HANDSHAKE;
	uv_timer_start(&u->deadline, on_deadline, u->o.handshake_timeout_ms, 0);
	rc = tls_client_create(&c->tls, u->tls, c->ep->sni, conn_send, c);
	if (rc < 0) {
		endpoint_failed(u, "cannot start TLS with %s: %s", name,
				rc == -ENOMEM ? "out of memory" : strerror(-rc));
		return;
	}
	conn_process(c);        /* sends the ClientHello */
}

/* The proxy's answer to CONNECT (http_connect.h); once the tunnel is up,
 * TLS starts and bytes after the answer's head are already TLS. */
static void proxy_answer(struct conn *c, const uint8_t *data, size_t len)
{
	struct uplink *u = c->u;
	size_t used = 0;
	int rc;

	rc = http_connect_feed(&c->hc, data, len, &used);
	if (rc == 0)
		return;
	if (rc < 0) {
		/* http_connect's words start "proxy ...": name the proxy. */
		if (strncmp(c->hc.why, "proxy ", 6) == 0)
			endpoint_failed(u, "proxy %s:%u %s (for %s:%u)", u->proxy_host,
					u->proxy_port, c->hc.why + 6, c->ep->host, c->ep->port);
		else
			endpoint_failed(u, "proxy %s:%u: %s (for %s:%u)", u->proxy_host,
					u->proxy_port, c->hc.why, c->ep->host, c->ep->port);
		return;
	}
	c->tunnel_wait = false;
	start_tls(u, c);
	if (c->u != NULL && used < len)
		tls_input(c, data + used, len - used);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct uplink *u = c->u;
	char name[300], request[1024];
	int rc, n;

	if (u == NULL)
		return;
	ep_name(c->ep, name, sizeof(name));
	if (status < 0 && u->proxy_host != NULL) {
		endpoint_failed(u, "cannot connect to proxy %s:%u (for %s): %s", u->proxy_host,
				u->proxy_port, name, uv_strerror(status));
		return;
	}
	if (status < 0) {
		endpoint_failed(u, "cannot connect to %s: %s", name, uv_strerror(status));
		return;
	}
	rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (rc < 0) {
		endpoint_failed(u, "cannot read from %s: %s", name, uv_strerror(rc));
		return;
	}
	if (u->proxy_host == NULL) {
		start_tls(u, c);
		return;
	}
	/* Through the proxy: CONNECT first (RFC 9110 section 9.3.6); the
	 * connect timeout runs on until the tunnel is up. */
	n = http_connect_request(request, sizeof(request), c->ep->host, c->ep->port,
				 u->proxy_auth);
	if (n < 0) {
		endpoint_failed(u, "cannot ask proxy %s:%u for %s: %s", u->proxy_host,
				u->proxy_port, name, n == -ENOSPC ? "request too long" :
				"host or credentials not allowed in a CONNECT request");
		return;
	}
	http_connect_init(&c->hc);
	c->tunnel_wait = true;
	rc = conn_send(c, (const uint8_t *)request, (size_t)n);
	explicit_bzero(request, sizeof(request));       /* may hold credentials */
	if (rc < 0)
		endpoint_failed(u, "cannot write to proxy %s:%u: %s", u->proxy_host,
				u->proxy_port, strerror(-rc));
}

static void conn_connect(struct conn *c, const struct sockaddr *sa)
{
	struct uplink *u = c->u;
	int rc;

	rc = uv_tcp_init(u->loop, &c->tcp);
	if (rc == 0) {
		c->tcp.data = c;
		c->tcp_open = true;
		c->refs++;
		(void)uv_tcp_nodelay(&c->tcp, 1);
		c->connect_req.data = c;
		rc = uv_tcp_connect(&c->connect_req, &c->tcp, sa, on_connect);
	}
	if (rc < 0 && u->proxy_host != NULL)
		endpoint_failed(u, "cannot connect to proxy %s:%u: %s", u->proxy_host,
				u->proxy_port, uv_strerror(rc));
	else if (rc < 0)
		endpoint_failed(u, "cannot connect to %s:%u: %s", c->ep->host, c->ep->port,
				uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct conn *c = req->data;
	struct uplink *u = c->u;

	c->gai_pending = false;
	if (u != NULL && status < 0 && u->proxy_host != NULL)
		endpoint_failed(u, "cannot resolve proxy %s: %s", u->proxy_host,
				uv_strerror(status));
	else if (u != NULL && status < 0)
		endpoint_failed(u, "cannot resolve %s: %s", c->ep->host, uv_strerror(status));
	else if (u != NULL)
		conn_connect(c, res->ai_addr);
	uv_freeaddrinfo(res);
	conn_unref(c);
}

static void conn_open(struct uplink *u)
{
	struct endpoint *ep = &u->ep[u->cur];
	/* TCP goes to the proxy when there is one, else to the endpoint. */
	const char *host = u->proxy_host != NULL ? u->proxy_host : ep->host;
	uint16_t tport = u->proxy_host != NULL ? u->proxy_port : ep->port;
	struct addrinfo hints;
	struct sockaddr_storage ss;
	char port[8];
	struct conn *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		schedule(u, u->o.rescan_ms, UPLINK_WAITING);
		return;
	}
	c->owner = u;
	c->u = u;
	c->ep = ep;
	uplink_resp_init(&c->resp, 0, 0);       /* the default limits */
	c->refs = 1;            /* the uplink's, dropped by conn_drop */
	u->open_handles++;
	u->conn = c;
	u->state = UPLINK_CONNECTING;
	ep->state = EP_CONNECTING;
	uv_timer_start(&u->deadline, on_deadline, u->o.connect_timeout_ms, 0);
	if (uv_ip4_addr(host, tport, (struct sockaddr_in *)&ss) == 0 ||
	    uv_ip6_addr(host, tport, (struct sockaddr_in6 *)&ss) == 0) {
		conn_connect(c, (const struct sockaddr *)&ss);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%u", tport);
	c->gai.data = c;
	rc = uv_getaddrinfo(u->loop, &c->gai, on_resolved, host, port, &hints);
	if (rc < 0) {
		endpoint_failed(u, "cannot resolve %s%s: %s", u->proxy_host != NULL ? "proxy " : "",
				host, uv_strerror(rc));
		return;
	}
	c->gai_pending = true;
	c->refs++;
}

/* Refills the bucket and returns how long, in ms, until it is out of
 * debt (0 = send now). */
static uint64_t rate_wait_ms(struct uplink *u)
{
	uint64_t now = uv_now(u->loop);

	if (u->rate == 0)
		return 0;
	u->tokens += (int64_t)(u->rate * (now - u->tokens_at) / 1000);
	if (u->tokens > (int64_t)u->rate)
		u->tokens = (int64_t)u->rate;
	u->tokens_at = now;
	if (u->tokens >= 0)
		return 0;
	return ((uint64_t)-u->tokens * 1000 + u->rate - 1) / u->rate;
}

void uplink_set_rate(struct uplink *u, uint64_t bytes_per_s)
{
	if (bytes_per_s == u->rate)
		return;
	u->rate = bytes_per_s;
	u->tokens = (int64_t)bytes_per_s;
	u->tokens_at = uv_now(u->loop);
}

/* Whether the primary should be probed again now (uplink.h, "Endpoints"). */
static bool failback_due(const struct uplink *u)
{
	return u->cur != 0 && uv_now(u->loop) - u->away_since >= u->o.failback_ms;
}

/* Decides what to do next and sends what the window, the rate limit and
 * the priority rule allow; runs from the loop (timers, answers). */
static void pump(struct uplink *u)
{
	char name[UPLINK_NAME_MAX + 1];
	uint64_t wait;
	int lane, rc;

	if (u->stopping || u->state == UPLINK_WAITING)
		return;
	if (failback_due(u)) {
		/* Time to see whether the primary is back: drop the
		 * connection to this one once its answers are in. */
		if (u->win.n > 0)
			return;         /* the last answer kicks us again */
		conn_drop(u);
		u->cur = 0;
		u->failed_in_row = 0;
		u->away_since = uv_now(u->loop);
		snprintf(u->reason, sizeof(u->reason), "probing the primary again");
	}
	if (u->conn == NULL) {
		if (outbox_has_batch(u))
			conn_open(u);   /* pumped again once connected */
		else
			schedule(u, u->o.rescan_ms, UPLINK_IDLE);
		return;
	}
	if (!u->conn->established)
		return;
	for (;;) {
		/* The size of the next request is not known before it is
		 * read: the bytes cap is checked with what is in flight. */
		if (!uplink_window_may_send(&u->win, u->o.max_in_flight,
					    u->o.max_bytes_in_flight, 1))
			break;
		lane = pick_batch(u, name);
		if (lane < 0)
			break;
		wait = rate_wait_ms(u);
		if (wait > 0) {
			/* Picked again after the wait: P0 may have come. */
			u->rate_waits++;
			hold(u, wait);
			return;
		}
		rc = send_batch(u, (unsigned)lane, name);
		if (rc < 0)
			return;
	}
	u->state = u->win.n > 0 ? UPLINK_SENDING : UPLINK_IDLE;
	if (u->win.n == 0)
		schedule(u, u->o.rescan_ms, UPLINK_IDLE);
}

/* ---- life cycle ------------------------------------------------------------ */

static char *dup_str(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int uplink_create(struct uplink **out, uv_loop_t *loop, const struct uplink_opts *o,
		  char *err, size_t errlen)
{
	struct uplink *u;
	size_t i;
	int rc = -EINVAL;

	*out = NULL;
	if (o->n_endpoints < 1 || o->n_endpoints > UPLINK_MAX_ENDPOINTS || o->n_lanes < 1 ||
	    o->n_lanes > UPLINK_MAX_LANES || o->outbox_dir == NULL || o->ca_file == NULL ||
	    o->cert_file == NULL || o->key_file == NULL) {
		snprintf(err, errlen, "uplink: 1..%d endpoints, 1..%d lanes, an outbox, a CA, "
			 "a certificate and a key are needed", UPLINK_MAX_ENDPOINTS,
			 UPLINK_MAX_LANES);
		return -EINVAL;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	u->loop = loop;
	buf_init(&u->req);
	u->o = *o;
	u->o.endpoints = NULL;
	u->o.lanes = NULL;
#define DEF(f, d) do { if (u->o.f == 0) u->o.f = (d); } while (0)
	DEF(connect_timeout_ms, UPLINK_CONNECT_TIMEOUT_DEFAULT);
	DEF(handshake_timeout_ms, UPLINK_HANDSHAKE_TIMEOUT_DEFAULT);
	DEF(response_timeout_ms, UPLINK_RESPONSE_TIMEOUT_DEFAULT);
	DEF(backoff_base_ms, UPLINK_BACKOFF_BASE_DEFAULT);
	DEF(backoff_cap_ms, UPLINK_BACKOFF_CAP_DEFAULT);
	DEF(rescan_ms, UPLINK_RESCAN_DEFAULT);
	DEF(failback_ms, UPLINK_FAILBACK_DEFAULT);
	DEF(max_in_flight, UPLINK_IN_FLIGHT_DEFAULT);
	DEF(max_bytes_in_flight, UPLINK_BYTES_IN_FLIGHT_DEFAULT);
	DEF(aging_ms, UPLINK_AGING_DEFAULT);
#undef DEF
	if (u->o.max_in_flight > UPLINK_MAX_IN_FLIGHT)
		u->o.max_in_flight = UPLINK_MAX_IN_FLIGHT;
	u->rng = uv_hrtime() ^ ((uint64_t)getpid() << 32) ^ (uintptr_t)u;
	if (u->rng == 0)
		u->rng = 1;
	u->n_ep = o->n_endpoints;
	rc = -ENOMEM;
	for (i = 0; i < u->n_ep; i++) {
		const struct uplink_endpoint *e = &o->endpoints[i];

		if (e->host == NULL || e->host[0] == '\0' || e->port == 0) {
			snprintf(err, errlen, "uplink: endpoint %zu has no host or port", i + 1);
			rc = -EINVAL;
			goto out;
		}
		u->ep[i].host = dup_str(e->host);
		u->ep[i].sni = dup_str(e->sni != NULL ? e->sni : e->host);
		u->ep[i].port = e->port;
		if (u->ep[i].host == NULL || u->ep[i].sni == NULL)
			goto out;
	}
	u->n_lanes = o->n_lanes;
	for (i = 0; i < u->n_lanes; i++) {
		u->lanes[i] = dup_str(o->lanes[i]);
		if (u->lanes[i] == NULL)
			goto out;
		u->cls[i] = o->lane_class != NULL ? o->lane_class[i] : (uint8_t)(i < 2 ? i : 2);
	}
	u->outbox = dup_str(o->outbox_dir);
	if (u->outbox == NULL)
		goto out;
	if (o->proxy_host != NULL) {
		if (o->proxy_host[0] == '\0' || o->proxy_port == 0) {
			snprintf(err, errlen, "uplink: the proxy has no host or port");
			rc = -EINVAL;
			goto out;
		}
		u->proxy_host = dup_str(o->proxy_host);
		u->proxy_port = o->proxy_port;
		if (u->proxy_host == NULL)
			goto out;
	}
	if (o->proxy_auth != NULL) {
		u->proxy_auth = dup_str(o->proxy_auth);
		if (u->proxy_auth == NULL)
			goto out;
	}
	rc = tls_client_ctx_create(&u->tls, o->ca_file, o->cert_file, o->key_file, err, errlen);
	if (rc < 0)
		goto out;
	snprintf(u->reason, sizeof(u->reason), "not started");
	*out = u;
	return 0;
out:
	uplink_destroy(u);
	return rc;
}

static void on_timer_closed(uv_handle_t *h)
{
	struct uplink *u = h->data;

	u->open_handles--;
}

int uplink_start(struct uplink *u)
{
	size_t i;

	if (u->started)
		return -EALREADY;
	uv_timer_init(u->loop, &u->wake);
	uv_timer_init(u->loop, &u->deadline);
	u->wake.data = u;
	u->deadline.data = u;
	u->open_handles += 2;
	u->started = true;
	u->state = UPLINK_IDLE;
	for (i = 0; i < u->n_lanes; i++)
		u->last_sent[i] = uv_now(u->loop);     /* lanes wait from now */
	uplink_set_rate(u, u->o.rate_bytes_per_s);
	snprintf(u->reason, sizeof(u->reason), "starting with the primary");
	schedule(u, 0, UPLINK_IDLE);
	return 0;
}

void uplink_kick(struct uplink *u)
{
	if (u->started && u->state != UPLINK_CONNECTING)
		kick(u);
}

void uplink_stop(struct uplink *u)
{
	if (!u->started || u->stopping)
		return;
	u->stopping = true;
	if (u->conn != NULL && u->conn->tls != NULL)
		tls_client_close_notify(u->conn->tls);
	conn_drop(u);
	uv_close((uv_handle_t *)&u->wake, on_timer_closed);
	uv_close((uv_handle_t *)&u->deadline, on_timer_closed);
	u->state = UPLINK_STOPPED;
}

bool uplink_closed(const struct uplink *u)
{
	return u->open_handles == 0;
}

void uplink_destroy(struct uplink *u)
{
	size_t i;

	if (u == NULL)
		return;
	for (i = 0; i < UPLINK_MAX_ENDPOINTS; i++) {
		free(u->ep[i].host);
		free(u->ep[i].sni);
	}
	for (i = 0; i < UPLINK_MAX_LANES; i++)
		free(u->lanes[i]);
	free(u->outbox);
	free(u->proxy_host);
	if (u->proxy_auth != NULL) {
		explicit_bzero(u->proxy_auth, strlen(u->proxy_auth));
		free(u->proxy_auth);
	}
	tls_client_ctx_destroy(u->tls);
	buf_free(&u->req);
	free(u);
}

/* ---- status ---------------------------------------------------------------- */

void uplink_get_stats(const struct uplink *u, struct uplink_stats *st)
{
	size_t i;
	uint64_t now = uv_now(u->loop);

	memset(st, 0, sizeof(*st));
	st->state = u->state;
	st->active = u->conn != NULL && u->conn->established ? (int)u->cur : -1;
	snprintf(st->active_reason, sizeof(st->active_reason), "%s", u->reason);
	st->batches_acked = u->acked;
	st->batches_quarantined = u->quarantined;
	st->local_errors = u->local_errors;
	st->rate_waits = u->rate_waits;
	st->rate_bytes_per_s = u->rate;
	if (u->state == UPLINK_WAITING && u->wait_until > now)
		st->next_attempt_ms = (uint32_t)(u->wait_until - now);
	st->in_flight = u->win.n;
	st->in_flight_bytes = u->win.bytes;
	st->max_in_flight = u->o.max_in_flight;
	st->max_bytes_in_flight = u->o.max_bytes_in_flight;
	st->aged_picks = u->aged_picks;
	st->in_flight_peak = u->in_flight_peak;
	st->last_success_s = u->last_success_s;
	snprintf(st->last_error, sizeof(st->last_error), "%s", u->last_error);
	st->n_endpoints = u->n_ep;
	for (i = 0; i < u->n_ep; i++) {
		st->ep[i] = u->ep[i].st;
		st->ep[i].state = ep_state_names[u->ep[i].state];
	}
}

int uplink_stats_json(const struct uplink *u, struct buf *out)
{
	struct uplink_stats st;
	struct jsonw w;
	char name[300];
	size_t i;

	uplink_get_stats(u, &st);
	jsonw_init(&w, out);
	jsonw_object_open(&w);
	jsonw_kv_cstr(&w, "state", uplink_state_name(st.state));
	jsonw_kv_int(&w, "active", st.active);
	jsonw_kv_cstr(&w, "active_reason", st.active_reason);
	jsonw_kv_uint(&w, "batches_acked", st.batches_acked);
	jsonw_kv_uint(&w, "batches_quarantined", st.batches_quarantined);
	jsonw_kv_uint(&w, "local_errors", st.local_errors);
	jsonw_kv_uint(&w, "next_attempt_ms", st.next_attempt_ms);
	jsonw_kv_uint(&w, "rate_bytes_per_s", st.rate_bytes_per_s);
	jsonw_kv_uint(&w, "rate_waits", st.rate_waits);
	jsonw_kv_uint(&w, "in_flight", st.in_flight);
	jsonw_kv_uint(&w, "in_flight_bytes", st.in_flight_bytes);
	jsonw_kv_uint(&w, "max_in_flight", st.max_in_flight);
	jsonw_kv_uint(&w, "max_bytes_in_flight", st.max_bytes_in_flight);
	jsonw_kv_uint(&w, "in_flight_peak", st.in_flight_peak);
	jsonw_kv_uint(&w, "aging_ms", u->o.aging_ms);
	jsonw_kv_uint(&w, "aged_picks", st.aged_picks);
	jsonw_kv_int(&w, "last_success_s", st.last_success_s);
	jsonw_key(&w, "last_success");
	if (st.last_success_s > 0)
		jsonw_time_us(&w, st.last_success_s * 1000000);
	else
		jsonw_null(&w);
	jsonw_kv_cstr(&w, "last_error", st.last_error);
	if (u->proxy_host != NULL) {
		ep_name(&(struct endpoint){ .host = u->proxy_host, .port = u->proxy_port }, name,
			sizeof(name));
		jsonw_kv_cstr(&w, "via_proxy", name);
	}
	jsonw_key(&w, "endpoints");
	jsonw_array_open(&w);
	for (i = 0; i < st.n_endpoints; i++) {
		const struct uplink_ep_stats *e = &st.ep[i];

		ep_name(&u->ep[i], name, sizeof(name));
		jsonw_object_open(&w);
		jsonw_kv_cstr(&w, "endpoint", name);
		jsonw_kv_cstr(&w, "sni", u->ep[i].sni);
		jsonw_kv_cstr(&w, "state", e->state);
		jsonw_kv_cstr(&w, "last_error", e->last_error);
		jsonw_kv_uint(&w, "connects", e->connects);
		jsonw_kv_uint(&w, "failures", e->failures);
		jsonw_kv_uint(&w, "batches_sent", e->batches_sent);
		jsonw_kv_uint(&w, "batches_acked", e->batches_acked);
		jsonw_kv_uint(&w, "batches_quarantined", e->batches_quarantined);
		jsonw_kv_uint(&w, "backoffs", e->backoffs);
		jsonw_kv_uint(&w, "bad_answers", e->bad_answers);
		jsonw_kv_uint(&w, "bytes_out", e->bytes_out);
		jsonw_kv_uint(&w, "bytes_in", e->bytes_in);
		jsonw_object_close(&w);
	}
	jsonw_array_close(&w);
	jsonw_object_close(&w);
	return jsonw_finish(&w);
}
