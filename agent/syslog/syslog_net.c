#include "syslog_net.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "jsonw.h"
#include "log.h"
#include "syslog_charset.h"
#include "syslog_frame.h"
#include "syslog_record.h"
#include "sources.h"
#include "tls_server.h"
#include "udp_rx.h"

#define READ_BUF_BYTES (64 * 1024)
#define SOURCES_MAX 4096
#define IDLE_SCAN_MS 5000

struct listener_counters {
	uint64_t messages;
	uint64_t bytes;             /* raw message bytes */
	uint64_t parse_errors;      /* status partial or no header */
	uint64_t truncated;
	uint64_t undecodable;       /* neither UTF-8 nor GB18030; kept as base64 */
	uint64_t dropped_spool;     /* refused by the spool (disk full, budget) */
	uint64_t dropped_kernel;    /* UDP: SO_RXQ_OVFL */
	uint64_t errors;            /* encode or spool write errors */
	uint64_t conns_total;
	uint64_t conns_rejected;    /* over max_connections */
	uint64_t tls_failures;      /* failed handshakes and records */
	uint64_t framing_errors;    /* malformed octet counts */
};

struct syslog_listener {
	struct syslog_server *srv;
	struct syslog_listener *next;
	enum listener_proto proto;
	char *address, *cert, *key, *client_ca;
	char error[200];            /* why it is not listening, or the last TLS failure */
	int bound;
	int retired;                /* removed by a reload; freed when unused */
	int handle_open;
	unsigned conns;             /* open connections referring to it */
	union {
		uv_tcp_t tcp;
		struct udp_rx udp;
	} h;
	struct tls_server_ctx *tls;
	struct listener_counters c;
	uint64_t rate_prev;
	double rate;                /* messages/s over the last second */
};

struct syslog_conn {
	uv_tcp_t tcp;
	struct syslog_listener *l;
	struct syslog_conn *prev, *next;
	struct syslog_framer fr;
	struct tls_session *tls;
	struct sockaddr_storage sa;
	char peer[64];
	uint64_t last_ms;
	int paused;
	int closing;
	struct buf held;            /* an encoded record the spool refused */
	struct buf stash;           /* plaintext read but not yet framed */
};

struct syslog_server {
	uv_loop_t *loop;
	struct spool_lane *lane;
	struct syslog_listener *listeners;
	struct syslog_conn *conns;
	unsigned nconns;
	uv_timer_t timer;           /* idle scan and rates */
	uint64_t last_idle_scan;
	int stopping;
	unsigned open_handles;
	void (*stop_done)(void *);
	void *stop_arg;
	/* limits from config */
	uint32_t max_msg, max_conns, idle_ms, max_pending, rcvbuf;
	int paused;                 /* reading paused for backpressure */
	int spool_full;
	struct charset_conv *conv;
	struct source_table sources;
	uint8_t *rbuf;              /* shared read buffer: reads are handled at once */
	uint8_t *pbuf;              /* shared TLS plaintext buffer */
	struct buf rec, scratch;
	uint64_t paused_events;
};

/* ---- handle accounting --------------------------------------------------- */

static void server_handle_closed(struct syslog_server *s)
{
	s->open_handles--;
	if (s->stopping && s->open_handles == 0 && s->stop_done != NULL) {
		void (*done)(void *) = s->stop_done;

		s->stop_done = NULL;
		done(s->stop_arg);
	}
}

static void listener_free(struct syslog_listener *l)
{
	tls_server_ctx_destroy(l->tls);
	free(l->address);
	free(l->cert);
	free(l->key);
	free(l->client_ca);
	free(l);
}

/* A retired listener is unlinked at once but freed only when its handle is
 * closed and the last connection that points at it has gone. */
static void listener_maybe_free(struct syslog_listener *l)
{
	if (l->retired && !l->handle_open && l->conns == 0)
		listener_free(l);
}

static void listener_closed(struct syslog_listener *l)
{
	struct syslog_server *s = l->srv;

	l->handle_open = 0;
	listener_maybe_free(l);
	server_handle_closed(s);
}

static void tcp_listener_closed_cb(uv_handle_t *h)
{
	listener_closed(h->data);
}

static void udp_listener_closed(struct udp_rx *u)
{
	listener_closed(u->data);
}

static void listener_close(struct syslog_listener *l)
{
	if (!l->handle_open)
		return;
	l->bound = 0;
	if (l->proto == LISTEN_UDP)
		udp_rx_close(&l->h.udp, udp_listener_closed);
	else if (!uv_is_closing((uv_handle_t *)&l->h.tcp))
		uv_close((uv_handle_t *)&l->h.tcp, tcp_listener_closed_cb);
}

/* ---- delivering one message ---------------------------------------------- */

/* Whether the spool refused an append only for now: -ENOSPC (full disk
 * or budget) or -EAGAIN (its buffer is full while a commit is in flight;
 * the commit's completion calls syslog_server_on_commit). */
static bool spool_full_for_now(int rc)
{
	return rc == -ENOSPC || rc == -EAGAIN;
}

/* Encodes and appends one message. Returns 0 (delivered, or dropped and
 * counted for a reason that retrying would not fix) or -ENOSPC/-EAGAIN
 * when the spool refused it for now: the encoded record is then in s->rec
 * for the caller to hold or drop. */
static int deliver(struct syslog_listener *l, const struct sockaddr *sa, const char *peer,
		   const char *msg, size_t len, bool truncated, const char *tls_cn,
		   int64_t now_us)
{
	struct syslog_server *s = l->srv;
	struct syslog_record_in in = {
		.raw = msg, .raw_len = len, .truncated = truncated, .recv_us = now_us,
		.peer = peer, .transport = listener_proto_name(l->proto), .tls_peer_cn = tls_cn,
	};
	struct syslog_record_out res;
	struct source *src;
	int rc;

	buf_reset(&s->rec);
	rc = syslog_record_encode(&in, s->conv, &s->scratch, &s->rec, &res);
	if (rc < 0) {
		l->c.errors++;
		return 0;
	}
	rc = spool_lane_append(s->lane, now_us, s->rec.data, s->rec.len, NULL);
	if (spool_full_for_now(rc))
		return rc;
	if (rc < 0) {
		l->c.errors++;
		return 0;
	}
	l->c.messages++;
	l->c.bytes += len;
	if (res.parse_status != 0)
		l->c.parse_errors++;
	if (truncated)
		l->c.truncated++;
	if (res.charset == CHARSET_UNDECODABLE)
		l->c.undecodable++;
	src = sources_get(&s->sources, sa, now_us);
	if (src != NULL) {
		src->messages++;
		src->bytes += len;
		src->last_us = now_us;
		src->parse_errors += res.parse_status != 0;
		src->truncated += truncated;
		src->transports |= l->proto == LISTEN_UDP ? SOURCE_UDP :
				   l->proto == LISTEN_TCP ? SOURCE_TCP : SOURCE_TLS;
	}
	return 0;
}

/* ---- UDP ------------------------------------------------------------------ */

static void udp_datagram_cb(struct udp_rx *u, const uint8_t *data, size_t len, bool trunc,
			    const struct sockaddr *from, int64_t now_us)
{
	struct syslog_listener *l = u->data;
	const char *p = (const char *)data;
	char peer[64];

	l->c.dropped_kernel = u->drops_kernel;
	/* Many senders end datagrams with LF or NUL; it is not part of the
	 * message (RFC 5426 section 3.1). */
	while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0'))
		len--;
	if (len == 0)
		return;
	sockaddr_format(from, peer, sizeof(peer));
	/* A datagram cannot wait for space: count it. */
	if (deliver(l, from, peer, p, len, trunc, NULL, now_us) < 0)
		l->c.dropped_spool++;
}

static int udp_bind(struct syslog_listener *l, const struct sockaddr_storage *ss)
{
	struct syslog_server *s = l->srv;
	int rc;

	l->h.udp.data = l;
	rc = udp_rx_open(&l->h.udp, s->loop, ss, s->rcvbuf, s->max_msg, udp_datagram_cb);
	if (rc < 0)
		return rc;
	l->handle_open = 1;
	s->open_handles++;
	return 0;
}

/* ---- TCP and TLS connections ---------------------------------------------- */

static void conn_closed_cb(uv_handle_t *h)
{
	struct syslog_conn *c = h->data;
	struct syslog_server *s = c->l->srv;

	c->l->conns--;
	listener_maybe_free(c->l);
	syslog_framer_free(&c->fr);
	tls_session_destroy(c->tls);
	buf_free(&c->held);
	buf_free(&c->stash);
	free(c);
	server_handle_closed(s);
}

static void conn_close(struct syslog_conn *c)
{
	struct syslog_server *s = c->l->srv;

	if (c->closing)
		return;
	c->closing = 1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	if (c->held.len > 0) {
		/* A record we had accepted but could not store: count it. */
		c->l->c.dropped_spool++;
	}
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static int on_frame(void *arg, const char *msg, size_t len, bool truncated)
{
	struct syslog_conn *c = arg;
	struct syslog_server *s = c->l->srv;
	int rc;

	if (len == 0)
		return 0;
	rc = deliver(c->l, (struct sockaddr *)&c->sa, c->peer, msg, len, truncated,
		     c->tls ? tls_session_peer_cn(c->tls) : NULL, clock_wall_us());
	if (rc < 0) {
		/* Hold the record and stop here; reading resumes when the
		 * spool has room, so a TCP sender loses nothing. */
		if (buf_append(&c->held, s->rec.data, s->rec.len) < 0)
			c->l->c.dropped_spool++;
		return rc;
	}
	return 0;
}

static void conn_pause(struct syslog_conn *c)
{
	if (c->paused || c->closing)
		return;
	c->paused = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
}

/* Frames `n` plaintext bytes. On -ENOSPC or -EAGAIN the unframed rest is
 * stashed and the connection paused. Returns 0, -ENOSPC, -EAGAIN, or
 * -ENOMEM. */
static int conn_feed(struct syslog_conn *c, const uint8_t *p, size_t n)
{
	size_t used = 0;
	int rc;

	rc = syslog_framer_feed(&c->fr, p, n, on_frame, c, &used);
	if (c->fr.bad_length > c->l->c.framing_errors)
		c->l->c.framing_errors = c->fr.bad_length;
	if (spool_full_for_now(rc)) {
		if (buf_append(&c->stash, p + used, n - used) < 0)
			return -ENOMEM;
		/* -EAGAIN clears with the commit in flight, -ENOSPC only with
		 * a new measurement of the spool. */
		if (rc == -ENOSPC)
			c->l->srv->spool_full = 1;
		conn_pause(c);
	}
	return rc;
}

/* Decrypts and frames whatever the TLS session holds. */
static int conn_drain_tls(struct syslog_conn *c)
{
	struct syslog_server *s = c->l->srv;
	int n, rc;

	for (;;) {
		n = tls_session_read(c->tls, s->pbuf, READ_BUF_BYTES);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (n != -ECONNRESET) {
				c->l->c.tls_failures++;
				snprintf(c->l->error, sizeof(c->l->error), "%s: %s", c->peer,
					 tls_session_error(c->tls));
				log_warn("syslog tls %s: %s", c->peer, tls_session_error(c->tls));
			}
			return n;
		}
		rc = conn_feed(c, s->pbuf, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

static void conn_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct syslog_conn *c = h->data;

	b->base = (char *)c->l->srv->rbuf;
	b->len = READ_BUF_BYTES;
	(void)hint;
}

static void server_check_pending(struct syslog_server *s);

static void conn_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct syslog_conn *c = st->data;
	int rc;

	if (nread == 0)
		return;
	if (nread < 0) {
		if (c->tls == NULL)
			(void)syslog_framer_finish(&c->fr, on_frame, c);
		conn_close(c);
		return;
	}
	c->last_ms = uv_now(c->l->srv->loop);
	if (c->tls != NULL) {
		if (tls_session_feed(c->tls, (const uint8_t *)b->base, (size_t)nread) < 0) {
			conn_close(c);
			return;
		}
		rc = conn_drain_tls(c);
	} else {
		rc = conn_feed(c, (const uint8_t *)b->base, (size_t)nread);
	}
	if (rc < 0 && !spool_full_for_now(rc)) {
		conn_close(c);
		return;
	}
	server_check_pending(c->l->srv);
}

/* Retries what a paused connection holds; restarts reading when all of it
 * went into the spool. */
static void conn_resume(struct syslog_conn *c)
{
	struct syslog_server *s = c->l->srv;
	struct buf pending;
	int rc;

	if (!c->paused || c->closing)
		return;
	if (c->held.len > 0) {
		rc = spool_lane_append(s->lane, clock_wall_us(), c->held.data, c->held.len, NULL);
		if (spool_full_for_now(rc))
			return;
		if (rc < 0)
			c->l->c.errors++;
		else
			c->l->c.messages++;
		buf_reset(&c->held);
	}
	c->paused = 0;
	if (c->stash.len > 0) {
		/* Swap out the stash: conn_feed may stash again. */
		pending = c->stash;
		buf_init(&c->stash);
		rc = conn_feed(c, pending.data, pending.len);
		buf_free(&pending);
		if (spool_full_for_now(rc))
			return;
		if (rc < 0) {
			conn_close(c);
			return;
		}
	}
	if (c->tls != NULL) {
		rc = conn_drain_tls(c);
		if (spool_full_for_now(rc))
			return;
		if (rc < 0) {
			conn_close(c);
			return;
		}
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) < 0)
		conn_close(c);
}

static int tls_send_cb(void *arg, const uint8_t *data, size_t len);

static void tcp_connection_cb(uv_stream_t *server, int status)
{
	struct syslog_listener *l = server->data;
	struct syslog_server *s = l->srv;
	struct syslog_conn *c;
	int len = sizeof(struct sockaddr_storage);

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->l = l;
	l->conns++;
	s->open_handles++;
	syslog_framer_init(&c->fr, s->max_msg);
	buf_init(&c->held);
	buf_init(&c->stash);
	/* Link first so that conn_close can always unlink. */
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	if (s->nconns > s->max_conns) {
		l->c.conns_rejected++;
		conn_close(c);
		return;
	}
	l->c.conns_total++;
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->sa, &len);
	sockaddr_format((struct sockaddr *)&c->sa, c->peer, sizeof(c->peer));
	c->last_ms = uv_now(s->loop);
	if (l->tls != NULL && tls_session_create(&c->tls, l->tls, tls_send_cb, c) < 0) {
		conn_close(c);
		return;
	}
	if (s->paused || s->spool_full) {
		c->paused = 1;
		return;
	}
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) < 0)
		conn_close(c);
}

static int tls_send_cb(void *arg, const uint8_t *data, size_t len)
{
	struct syslog_conn *c = arg;

	if (c->closing)
		return -EPIPE;
	return tls_uv_write_copy((uv_stream_t *)&c->tcp, data, len);
}

static int tcp_bind(struct syslog_listener *l, const struct sockaddr_storage *ss)
{
	struct syslog_server *s = l->srv;
	char err[200];
	int rc;

	if (l->proto == LISTEN_TLS) {
		rc = tls_server_ctx_create(&l->tls, l->cert, l->key, l->client_ca, err, sizeof(err));
		if (rc < 0) {
			snprintf(l->error, sizeof(l->error), "%s", err);
			return rc;
		}
	}
	rc = uv_tcp_init(s->loop, &l->h.tcp);
	if (rc < 0)
		return rc;
	l->h.tcp.data = l;
	l->handle_open = 1;
	s->open_handles++;
	rc = uv_tcp_bind(&l->h.tcp, (const struct sockaddr *)ss,
			 ss->ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->h.tcp, 128, tcp_connection_cb);
	return rc;
}

/* ---- backpressure --------------------------------------------------------- */

static void server_pause_all(struct syslog_server *s)
{
	struct syslog_conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		conn_pause(c);
}

static void server_resume_all(struct syslog_server *s)
{
	struct syslog_conn *c, *next;

	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_resume(c);
	}
}

static void server_check_pending(struct syslog_server *s)
{
	if (!s->paused && spool_lane_pending_bytes(s->lane) > s->max_pending) {
		s->paused = 1;
		s->paused_events++;
		server_pause_all(s);
	}
}

void syslog_server_on_commit(struct syslog_server *s)
{
	if (s->stopping)
		return;
	if (s->paused && spool_lane_pending_bytes(s->lane) <= s->max_pending / 2)
		s->paused = 0;
	if (!s->paused && !s->spool_full)
		server_resume_all(s);
}

void syslog_server_on_spool_usage(struct syslog_server *s, int full)
{
	int was = s->spool_full;

	/* A refused append also sets spool_full; a fresh measurement that
	 * finds room clears it and lets held records be retried. */
	s->spool_full = full;
	if (was && !full)
		syslog_server_on_commit(s);
}

/* ---- timers --------------------------------------------------------------- */

static void server_timer_cb(uv_timer_t *t)
{
	struct syslog_server *s = t->data;
	struct syslog_listener *l;
	struct syslog_conn *c, *next;
	uint64_t now = uv_now(s->loop);

	for (l = s->listeners; l != NULL; l = l->next) {
		l->rate = (double)(l->c.messages - l->rate_prev);
		l->rate_prev = l->c.messages;
	}
	if (now - s->last_idle_scan < IDLE_SCAN_MS)
		return;
	s->last_idle_scan = now;
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		/* A connection paused by us is not idle, it is waiting. */
		if (!c->paused && now - c->last_ms > s->idle_ms)
			conn_close(c);
	}
	if (s->spool_full)
		syslog_server_on_commit(s);
}

/* ---- configuration -------------------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int listener_matches(const struct syslog_listener *l, const struct listener_conf *lc)
{
	return l->proto == lc->proto && str_eq(l->address, lc->address) &&
	       str_eq(l->cert, lc->cert) && str_eq(l->key, lc->key) &&
	       str_eq(l->client_ca, lc->client_ca);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct syslog_listener *listener_new(struct syslog_server *s, const struct listener_conf *lc)
{
	struct syslog_listener *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->srv = s;
	l->proto = lc->proto;
	l->address = dup_or_null(lc->address);
	l->cert = dup_or_null(lc->cert);
	l->key = dup_or_null(lc->key);
	l->client_ca = dup_or_null(lc->client_ca);
	if (l->address == NULL || (lc->cert && !l->cert) || (lc->key && !l->key) ||
	    (lc->client_ca && !l->client_ca)) {
		listener_free(l);
		return NULL;
	}
	return l;
}

static int listener_start(struct syslog_listener *l)
{
	struct sockaddr_storage ss;
	int rc;

	if (config_parse_address(l->address, &ss) < 0) {
		snprintf(l->error, sizeof(l->error), "bad address %s", l->address);
		return -EINVAL;
	}
	rc = l->proto == LISTEN_UDP ? udp_bind(l, &ss) : tcp_bind(l, &ss);
	if (rc < 0) {
		if (l->error[0] == '\0')
			snprintf(l->error, sizeof(l->error), "cannot listen on %s/%s: %s%s",
				 listener_proto_name(l->proto), l->address, uv_strerror(rc),
				 rc == UV_EACCES ? " (ports below 1024 need CAP_NET_BIND_SERVICE)" :
				 rc == UV_EADDRINUSE ? " (another program holds the port)" : "");
		log_error("syslog: %s", l->error);
		listener_close(l);
		return rc;
	}
	l->bound = 1;
	log_info("syslog: listening on %s/%s", listener_proto_name(l->proto), l->address);
	return 0;
}

int syslog_server_configure(struct syslog_server *s, const struct ward_config *cfg)
{
	struct syslog_listener *l, **pp, *fresh = NULL, **tail = &fresh;
	unsigned i;
	int failed = 0;

	s->max_msg = cfg->syslog.max_message_bytes;
	s->max_conns = cfg->syslog.max_connections;
	s->idle_ms = cfg->syslog.idle_timeout_ms;
	s->max_pending = cfg->syslog.max_pending_bytes;
	s->rcvbuf = cfg->syslog.udp_rcvbuf_bytes;

	/* Keep the listeners that did not change, in the new order. */
	for (i = 0; i < (cfg->syslog.enabled ? cfg->syslog.n_listeners : 0); i++) {
		const struct listener_conf *lc = &cfg->syslog.listeners[i];

		for (pp = &s->listeners; (l = *pp) != NULL; pp = &l->next)
			if (listener_matches(l, lc) && l->bound)
				break;
		if (l != NULL) {
			*pp = l->next;
		} else {
			l = listener_new(s, lc);
			if (l == NULL)
				return -ENOMEM;
			if (listener_start(l) < 0)
				failed++;
		}
		l->next = NULL;
		*tail = l;
		tail = &l->next;
	}
	/* What is left was removed from the config (or failed before). */
	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		l->retired = 1;
		if (l->handle_open)
			listener_close(l);
		else
			listener_maybe_free(l);
	}
	s->listeners = fresh;
	return failed;
}

/* ---- status --------------------------------------------------------------- */

static json_t *listener_status(const struct syslog_listener *l)
{
	const struct listener_counters *c = &l->c;
	unsigned conns = l->conns;

	return json_pack("{s:s, s:s, s:b, s:s?, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			 " s:I, s:I, s:I, s:i}",
			 "proto", listener_proto_name(l->proto),
			 "address", l->address,
			 "listening", l->bound,
			 "error", l->error[0] ? l->error : NULL,
			 "rate", l->rate,
			 "messages", (json_int_t)c->messages,
			 "bytes", (json_int_t)c->bytes,
			 "parse_errors", (json_int_t)c->parse_errors,
			 "truncated", (json_int_t)c->truncated,
			 "undecodable", (json_int_t)c->undecodable,
			 "dropped_spool", (json_int_t)c->dropped_spool,
			 "dropped_kernel", (json_int_t)c->dropped_kernel,
			 "errors", (json_int_t)c->errors,
			 "framing_errors", (json_int_t)c->framing_errors,
			 "connections_total", (json_int_t)c->conns_total,
			 "connections_rejected", (json_int_t)c->conns_rejected,
			 "tls_failures", (json_int_t)c->tls_failures,
			 "connections", (int)conns);
}

static json_t *source_status(const struct source *src)
{
	json_t *tr = json_array();
	char first[32], last[32];

	if (tr == NULL)
		return NULL;
	if (src->transports & SOURCE_UDP)
		json_array_append_new(tr, json_string("udp"));
	if (src->transports & SOURCE_TCP)
		json_array_append_new(tr, json_string("tcp"));
	if (src->transports & SOURCE_TLS)
		json_array_append_new(tr, json_string("tls"));
	time_format_rfc3339_us(first, src->first_us);
	time_format_rfc3339_us(last, src->last_us);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:o}",
			 "address", src->name,
			 "messages", (json_int_t)src->messages,
			 "bytes", (json_int_t)src->bytes,
			 "parse_errors", (json_int_t)src->parse_errors,
			 "truncated", (json_int_t)src->truncated,
			 "first_seen", first, "last_seen", last,
			 "transports", tr);
}

json_t *syslog_server_status(struct syslog_server *s)
{
	json_t *root, *ls, *srcs;
	struct syslog_listener *l;
	size_t i;

	ls = json_array();
	srcs = json_array();
	root = json_object();
	if (ls == NULL || srcs == NULL || root == NULL) {
		json_decref(ls);
		json_decref(srcs);
		json_decref(root);
		return NULL;
	}
	for (l = s->listeners; l != NULL; l = l->next)
		json_array_append_new(ls, listener_status(l));
	for (i = 0; i < s->sources.cap; i++)
		if (s->sources.slots[i].family != 0 && s->sources.slots[i].messages > 0)
			json_array_append_new(srcs, source_status(&s->sources.slots[i]));
	json_object_set_new(root, "listeners", ls);
	json_object_set_new(root, "sources", srcs);
	json_object_set_new(root, "sources_overflow", json_integer((json_int_t)s->sources.overflow_messages));
	json_object_set_new(root, "connections", json_integer(s->nconns));
	json_object_set_new(root, "paused", json_boolean(s->paused || s->spool_full));
	json_object_set_new(root, "paused_events", json_integer((json_int_t)s->paused_events));
	return root;
}

/* ---- life cycle ----------------------------------------------------------- */

int syslog_server_create(struct syslog_server **out, uv_loop_t *loop, struct spool_lane *lane)
{
	struct syslog_server *s;
	int rc = -ENOMEM;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->loop = loop;
	s->lane = lane;
	buf_init(&s->rec);
	buf_init(&s->scratch);
	s->rbuf = malloc(READ_BUF_BYTES);
	s->pbuf = malloc(READ_BUF_BYTES);
	s->conv = charset_conv_create();
	if (s->rbuf == NULL || s->pbuf == NULL)
		goto out;
	if (s->conv == NULL)
		log_warn("syslog: iconv has no GB18030; non-UTF-8 text will be kept as base64");
	rc = sources_init(&s->sources, SOURCES_MAX);
	if (rc < 0)
		goto out;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->open_handles++;
	uv_timer_start(&s->timer, server_timer_cb, 1000, 1000);
	*out = s;
	return 0;
out:
	syslog_server_destroy(s);
	return rc;
}

static void timer_closed_cb(uv_handle_t *h)
{
	server_handle_closed(h->data);
}

void syslog_server_stop(struct syslog_server *s, void (*done)(void *arg), void *arg)
{
	struct syslog_listener *l;

	s->stopping = 1;
	s->stop_done = done;
	s->stop_arg = arg;
	for (l = s->listeners; l != NULL; l = l->next)
		listener_close(l);
	while (s->conns != NULL) {
		struct syslog_conn *c = s->conns;

		/* Deliver what was framed but held back, if the spool takes it;
		 * when only a commit in flight is in the way, wait for it. */
		if (c->held.len > 0) {
			int rc = spool_lane_append(s->lane, clock_wall_us(), c->held.data,
						   c->held.len, NULL);

			if (rc == -EAGAIN && spool_lane_commit(s->lane) == 0)
				rc = spool_lane_append(s->lane, clock_wall_us(), c->held.data,
						       c->held.len, NULL);
			if (rc == 0)
				buf_reset(&c->held);
		}
		if (c->tls == NULL)
			(void)syslog_framer_finish(&c->fr, on_frame, c);
		conn_close(c);
	}
	if (!uv_is_closing((uv_handle_t *)&s->timer))
		uv_close((uv_handle_t *)&s->timer, timer_closed_cb);
}

void syslog_server_destroy(struct syslog_server *s)
{
	struct syslog_listener *l;

	if (s == NULL)
		return;
	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		listener_free(l);
	}
	sources_free(&s->sources);
	charset_conv_destroy(s->conv);
	buf_free(&s->rec);
	buf_free(&s->scratch);
	free(s->rbuf);
	free(s->pbuf);
	free(s);
}
