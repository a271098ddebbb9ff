/* edr_net: see edr_net.h. */
#include "edr_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "clock.h"
#include "jsonw.h"
#include "log.h"
#include "sources.h"
#include "tls_server.h"
#include "edr_hec.h"
#include "edr_lumberjack.h"
#include "edr_record.h"

#define READ_BUF_BYTES (64 * 1024)
#define SOURCES_MAX 4096
#define RETRY_AFTER_S 5
/* While a Lumberjack client waits for its window's ACK (the spool is slow
 * or full), an ACK of sequence 0 goes out this often: it acknowledges
 * nothing, but restarts the client's read timeout, as the keep-alive ACKs
 * of Logstash's beats input and of go-lumber's server do. Sequence 0 and
 * not the last durable one, because Beats numbers each window from 1: a
 * sequence number left from an earlier window would acknowledge events of
 * this one that are not durable. */
#define LJ_KEEPALIVE_MS 5000
#define HEC_QUERY_VALUE_MAX 256
/* The bodies that all HEC connections hold at once are capped at this or
 * max_body_bytes, whichever is more (edr_hec_http_set_pool); past it a
 * request gets 503 with Retry-After. */
#define HEC_BODIES_MIN (16u << 20)
/* The request buffers shared by every HEC connection keep up to this much
 * capacity each between requests: Splunk's own clients send batches of
 * about 1 MiB; a larger body (up to max_body_bytes) gets its memory back. */
#define HEC_KEEP_BYTES (8u << 20)

enum edr_kind { EDR_LUMBERJACK = 0, EDR_HEC = 1 };
static const char *const kind_names[] = { "lumberjack", "hec" };
static const char *const reject_names[EDR_REJECT_COUNT] = {
	"auth", "format", "too_large", "busy", "tls", "connections",
};

struct input_counters {
	uint64_t events;            /* appended to the lane */
	uint64_t bytes;             /* event bytes as received (decompressed) */
	uint64_t requests;          /* HEC requests answered */
	uint64_t acks;              /* Lumberjack ACK frames sent */
	uint64_t keepalives;        /* Lumberjack keep-alive ACKs (sequence 0) */
	uint64_t conns_total;
	uint64_t spool_errors;      /* appends that failed for another reason */
	uint64_t rejects[EDR_REJECT_COUNT];
};

struct edr_listener {
	struct edr_server *srv;
	enum edr_kind kind;
	char *address, *cert, *key, *client_ca;
	char error[200];
	int bound;
	int retired;                /* replaced by a reload; freed when unused */
	int handle_open;
	unsigned conns;
	uv_tcp_t tcp;
	struct tls_server_ctx *tls;
	struct input_counters c;
};

struct edr_conn {
	uv_tcp_t tcp;
	uv_shutdown_t shutdown;
	struct edr_listener *in;
	struct edr_conn *prev, *next;
	struct tls_session *tls;
	struct sockaddr_storage sa;
	char peer[64];
	uint64_t last_ms;
	int reading;
	int closing;
	int authed;                 /* certificate checked (TLS inputs) */
	enum edr_auth auth;
	const char *group;          /* group_buf once authenticated, else NULL */
	char group_buf[72];
	char cn[72];
	/* HEC */
	struct edr_hec_http hec;
	struct buf stash;           /* plaintext read, not yet parsed */
	uint64_t wait_seq;
	int waiting;
	int close_after_answer;
	/* Lumberjack */
	struct edr_lj lj;
	uint32_t ack_lj_seq;        /* last event appended ... */
	uint64_t ack_spool_seq;     /* ... and its spool seq */
	int ack_due;
	int held;                   /* an event was refused by a full spool */
	uint64_t ack_sent_ms;       /* the last ACK or keep-alive written, or
	                             * when an ACK fell due */
};

struct edr_server {
	uv_loop_t *loop;
	struct spool_lane *lane;
	struct edr_listener *inputs[2];     /* current, by kind; NULL when off */
	struct edr_conn *conns;
	unsigned nconns;
	uv_timer_t timer;
	int stopping;
	unsigned open_handles;
	void (*stop_done)(void *);
	void *stop_arg;
	/* from config */
	struct edr_group_conf *groups;   /* a copy: names and credentials */
	unsigned n_groups;
	uint32_t max_event, max_body, max_conns, idle_ms, max_pending;
	int paused;                      /* Lumberjack reading paused */
	int spool_full;
	uint64_t paused_events;
	struct source_table sources;
	uint8_t *rbuf, *pbuf;
	/* Reused from event to event and request to request: requests are
	 * handled whole within one callback, so one set serves every
	 * connection. */
	struct edr_parser *parser;
	struct buf rec;                  /* one Lumberjack event's record */
	struct buf lj_window;            /* Lumberjack windows are inflated here */
	struct edr_hec_records hec;      /* one HEC request's records */
	size_t hec_bodies;               /* bytes of HEC bodies held, all connections */
	size_t hec_bodies_max;
};

/* ---- groups ----------------------------------------------------------------- */

static void groups_free(struct edr_group_conf *g, unsigned n)
{
	unsigned i, k;

	for (i = 0; g != NULL && i < n; i++) {
		free(g[i].name);
		for (k = 0; k < g[i].n_tokens; k++) {
			explicit_bzero(g[i].tokens[k], strlen(g[i].tokens[k]));
			free(g[i].tokens[k]);
		}
		free(g[i].tokens);
		for (k = 0; k < g[i].n_client_cns; k++)
			free(g[i].client_cns[k]);
		free(g[i].client_cns);
	}
	free(g);
}

static char **strv_dup(char *const *v, unsigned n, int *fail)
{
	char **out;
	unsigned i;

	if (n == 0)
		return NULL;
	out = calloc(n, sizeof(*out));
	if (out == NULL) {
		*fail = 1;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL)
			*fail = 1;
	return out;
}

static int groups_copy(struct edr_server *s, const struct edr_group_conf *g, unsigned n)
{
	struct edr_group_conf *c = n ? calloc(n, sizeof(*c)) : NULL;
	unsigned i;
	int fail = n && c == NULL;

	for (i = 0; c != NULL && i < n; i++) {
		c[i].name = strdup(g[i].name);
		fail |= c[i].name == NULL;
		c[i].tokens = strv_dup(g[i].tokens, g[i].n_tokens, &fail);
		c[i].n_tokens = c[i].tokens ? g[i].n_tokens : 0;
		c[i].client_cns = strv_dup(g[i].client_cns, g[i].n_client_cns, &fail);
		c[i].n_client_cns = c[i].client_cns ? g[i].n_client_cns : 0;
	}
	if (fail) {
		groups_free(c, n);
		return -ENOMEM;
	}
	groups_free(s->groups, s->n_groups);
	s->groups = c;
	s->n_groups = n;
	return 0;
}

/* Compares without an early exit, so the time taken says nothing about
 * how much of a guessed token was right. */
static int token_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static const char *group_of_token(const struct edr_server *s, const char *token)
{
	const char *found = NULL;
	unsigned g, k;

	for (g = 0; g < s->n_groups; g++)
		for (k = 0; k < s->groups[g].n_tokens; k++)
			if (token_eq(s->groups[g].tokens[k], token))
				found = s->groups[g].name;
	return found;
}

/* The group of a certificate CN: 0 and *group set (NULL when no group
 * lists CNs, so any certificate the CA signed is taken), or -EACCES. */
static int group_of_cn(const struct edr_server *s, const char *cn, const char **group)
{
	unsigned g, k, listed = 0;

	*group = NULL;
	for (g = 0; g < s->n_groups; g++) {
		for (k = 0; k < s->groups[g].n_client_cns; k++) {
			listed++;
			if (cn != NULL && strcmp(s->groups[g].client_cns[k], cn) == 0) {
				*group = s->groups[g].name;
				return 0;
			}
		}
	}
	return listed == 0 ? 0 : -EACCES;
}

/* ---- handle accounting ---------------------------------------------------------- */

static void server_handle_closed(struct edr_server *s)
{
	s->open_handles--;
	if (s->stopping && s->open_handles == 0 && s->stop_done != NULL) {
		void (*done)(void *) = s->stop_done;

		s->stop_done = NULL;
		done(s->stop_arg);
	}
}

static void input_free(struct edr_listener *in)
{
	tls_server_ctx_destroy(in->tls);
	free(in->address);
	free(in->cert);
	free(in->key);
	free(in->client_ca);
	free(in);
}

static void input_maybe_free(struct edr_listener *in)
{
	if (in->retired && !in->handle_open && in->conns == 0)
		input_free(in);
}

static void input_closed_cb(uv_handle_t *h)
{
	struct edr_listener *in = h->data;
	struct edr_server *s = in->srv;

	in->handle_open = 0;
	input_maybe_free(in);
	server_handle_closed(s);
}

static void input_retire(struct edr_listener *in)
{
	in->retired = 1;
	in->bound = 0;
	if (in->handle_open && !uv_is_closing((uv_handle_t *)&in->tcp))
		uv_close((uv_handle_t *)&in->tcp, input_closed_cb);
	else
		input_maybe_free(in);
}

/* ---- counting ------------------------------------------------------------------- */

static void count_reject(struct edr_conn *c, enum edr_reject why)
{
	struct source *src = sources_get(&c->in->srv->sources, (struct sockaddr *)&c->sa,
					 clock_wall_us());

	c->in->c.rejects[why]++;
	if (src != NULL)
		src->rejects[why]++;
}

static void count_event(struct edr_conn *c, size_t bytes)
{
	int64_t now = clock_wall_us();
	struct source *src = sources_get(&c->in->srv->sources, (struct sockaddr *)&c->sa, now);

	c->in->c.events++;
	c->in->c.bytes += bytes;
	if (src != NULL) {
		src->messages++;
		src->bytes += bytes;
		src->last_us = now;
		src->transports |= c->tls != NULL ? SOURCE_TLS : SOURCE_TCP;
	}
}

/* ---- connections ---------------------------------------------------------------- */

static void conn_closed_cb(uv_handle_t *h)
{
	struct edr_conn *c = h->data;
	struct edr_server *s = c->in->srv;

	c->in->conns--;
	input_maybe_free(c->in);
	tls_session_destroy(c->tls);
	edr_hec_http_free(&c->hec);
	edr_lj_free(&c->lj);
	buf_free(&c->stash);
	free(c);
	server_handle_closed(s);
}

static void conn_close(struct edr_conn *c)
{
	struct edr_server *s = c->in->srv;

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
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->data);
}

static void conn_pause(struct edr_conn *c);
static void check_pending(struct edr_server *s);

/* Closes once what was queued has been written. */
static void conn_close_after_write(struct edr_conn *c)
{
	if (c->closing)
		return;
	if (c->tls != NULL)
		tls_session_close_notify(c->tls);
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0) {
		conn_close(c);
		return;
	}
	conn_pause(c);
}

static int conn_write(struct edr_conn *c, const void *data, size_t len)
{
	if (c->closing)
		return -EPIPE;
	if (c->tls != NULL)
		return tls_session_write(c->tls, data, len) < 0 ? -EPIPE : 0;
	return tls_uv_write_copy((uv_stream_t *)&c->tcp, data, len);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct edr_conn *c = h->data;

	(void)suggested;
	b->base = (char *)c->in->srv->rbuf;
	b->len = READ_BUF_BYTES;
}

static void conn_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b);

static void conn_pause(struct edr_conn *c)
{
	if (!c->reading || c->closing)
		return;
	c->reading = 0;
	uv_read_stop((uv_stream_t *)&c->tcp);
}

static void conn_resume(struct edr_conn *c)
{
	if (c->reading || c->closing)
		return;
	if (uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) < 0) {
		conn_close(c);
		return;
	}
	c->reading = 1;
}

/* ---- appending ------------------------------------------------------------------ */

/* Appends one record. -EAGAIN (the spool's second buffer is full during
 * a commit) is waited out once with a synchronous commit, which keeps a
 * HEC body whole; -ENOSPC marks the spool full. Returns 0 with *seq set,
 * or the spool's error. */
static int append(struct edr_server *s, const char *rec, size_t len, uint64_t *seq)
{
	int rc = spool_lane_append(s->lane, clock_wall_us(), rec, len, seq);

	if (rc == -EAGAIN && spool_lane_commit(s->lane) == 0)
		rc = spool_lane_append(s->lane, clock_wall_us(), rec, len, seq);
	if (rc == -ENOSPC || rc == -EAGAIN)
		s->spool_full = 1;
	return rc;
}

static void fill_meta(struct edr_conn *c, struct edr_meta *m, enum edr_input input)
{
	memset(m, 0, sizeof(*m));
	m->recv_us = clock_wall_us();
	m->peer = c->peer;
	m->input = input;
	m->auth = c->auth;
	m->group = c->group;
	m->cn = c->cn[0] != '\0' ? c->cn : NULL;
}

/* Appends one record, of an event of `bytes` bytes as received. 1 when it
 * was appended (*seq set), 0 when it was refused for good (counted), or
 * the spool's -ENOSPC/-EAGAIN. */
static int deliver(struct edr_conn *c, const uint8_t *rec, size_t len, size_t bytes,
		   uint64_t *seq)
{
	int rc = append(c->in->srv, (const char *)rec, len, seq);

	if (rc == 0) {
		count_event(c, bytes);
		return 1;
	}
	if (rc == -ENOSPC || rc == -EAGAIN)
		return rc;
	if (rc == -EMSGSIZE)
		count_reject(c, EDR_REJECT_TOO_LARGE);
	else
		c->in->c.spool_errors++;
	log_warn("edr: event from %s not stored: %s", c->peer, strerror(-rc));
	return 0;
}

/* ---- HEC ------------------------------------------------------------------------ */

static void hec_process(struct edr_conn *c);

static void hec_answer(struct edr_conn *c, enum edr_hec_code code, long bad_event,
		       unsigned retry_after)
{
	struct buf out = BUF_INIT;
	int keep = c->hec.keep_alive;

	c->in->c.requests++;
	if (edr_hec_format_answer(&out, code, bad_event, retry_after, keep) < 0 ||
	    conn_write(c, out.data, out.len) < 0)
		keep = 0;
	buf_free(&out);
	if (!keep)
		c->close_after_answer = 1;
}

static int hec_busy(const struct edr_server *s)
{
	return s->spool_full || spool_lane_pending_bytes(s->lane) > s->max_pending;
}

/* Appends a request's records (c->in->srv->hec). Returns the HEC code to
 * answer with; sets *last to the last seq appended (0 when none). */
static enum edr_hec_code hec_store(struct edr_conn *c, size_t body_bytes, uint64_t *last)
{
	struct edr_hec_records *r = &c->in->srv->hec;
	/* Bytes are counted as received: a share of the body each. */
	size_t i, start = 0, bytes = r->n ? body_bytes / r->n : 0;
	int rc;

	*last = 0;
	for (i = 0; i < r->n; i++) {
		uint64_t seq = 0;

		rc = deliver(c, r->recs.data + start, r->end[i] - start, bytes, &seq);
		start = r->end[i];
		if (rc < 0)
			return EDR_HEC_SERVER_BUSY;
		if (rc == 1)
			*last = seq;
	}
	return EDR_HEC_SUCCESS;
}

/* Answers the request in c->hec, now or once durable. Returns 1 when the
 * answer waits for the spool. */
static int hec_request(struct edr_conn *c)
{
	struct edr_server *s = c->in->srv;
	struct edr_hec_limits lim = { .max_body = s->max_body, .max_event = s->max_event };
	char host[HEC_QUERY_VALUE_MAX], source[HEC_QUERY_VALUE_MAX], stype[HEC_QUERY_VALUE_MAX];
	struct edr_hec_result res;
	enum edr_hec_code code;
	const char *query, *token, *group;
	enum edr_hec_route route = edr_hec_route(&c->hec, &query);
	struct edr_meta m;
	uint64_t last = 0;
	int rc;

	if (route == EDR_HEC_ROUTE_NONE) {
		hec_answer(c, EDR_HEC_NOT_FOUND, -1, 0);
		return 0;
	}
	if (route == EDR_HEC_ROUTE_HEALTH) {
		if (hec_busy(s))
			hec_answer(c, EDR_HEC_SERVER_BUSY, -1, RETRY_AFTER_S);
		else
			hec_answer(c, EDR_HEC_HEALTHY, -1, 0);
		return 0;
	}
	if (c->hec.method != HTTP_POST) {
		hec_answer(c, EDR_HEC_BAD_REQUEST, -1, 0);
		return 0;
	}
	token = c->hec.auth_too_long ? NULL : edr_hec_token(c->hec.auth, &code);
	if (c->hec.auth_too_long)
		code = EDR_HEC_INVALID_TOKEN;
	group = token != NULL ? group_of_token(s, token) : NULL;
	if (token != NULL && group == NULL)
		code = EDR_HEC_INVALID_TOKEN;
	if (group == NULL) {
		count_reject(c, EDR_REJECT_AUTH);
		hec_answer(c, code, -1, 0);
		return 0;
	}
	snprintf(c->group_buf, sizeof(c->group_buf), "%s", group);
	c->group = c->group_buf;
	c->auth = EDR_AUTH_TOKEN;
	if (c->hec.bad_encoding) {
		count_reject(c, EDR_REJECT_FORMAT);
		hec_answer(c, EDR_HEC_INVALID_DATA_FORMAT, -1, 0);
		return 0;
	}
	if (hec_busy(s)) {
		count_reject(c, EDR_REJECT_BUSY);
		hec_answer(c, EDR_HEC_SERVER_BUSY, -1, RETRY_AFTER_S);
		return 0;
	}
	fill_meta(c, &m, route == EDR_HEC_ROUTE_RAW ? EDR_INPUT_HEC_RAW : EDR_INPUT_HEC);
	if (route == EDR_HEC_ROUTE_RAW) {
		m.host = edr_hec_query_param(query, "host", host, sizeof(host));
		m.source = edr_hec_query_param(query, "source", source, sizeof(source));
		m.sourcetype = edr_hec_query_param(query, "sourcetype", stype, sizeof(stype));
	}
	rc = edr_hec_encode_body(s->parser, &m, route, c->hec.body.data, c->hec.body.len,
				 c->hec.gzip, &lim, &s->hec, &res);
	if (rc < 0) {
		count_reject(c, res.code == EDR_HEC_TOO_LARGE ? EDR_REJECT_TOO_LARGE :
			     EDR_REJECT_FORMAT);
		hec_answer(c, res.code, res.has_bad_event && res.code != EDR_HEC_TOO_LARGE ?
			   (long)res.bad_event : -1, 0);
		edr_hec_records_trim(&s->hec, HEC_KEEP_BYTES);
		return 0;
	}
	code = hec_store(c, res.decompressed, &last);
	edr_hec_records_trim(&s->hec, HEC_KEEP_BYTES);
	if (code != EDR_HEC_SUCCESS) {
		count_reject(c, EDR_REJECT_BUSY);
		hec_answer(c, code, -1, RETRY_AFTER_S);
		return 0;
	}
	if (last == 0 || last <= spool_lane_durable_seq(s->lane)) {
		hec_answer(c, EDR_HEC_SUCCESS, -1, 0);
		return 0;
	}
	/* Not durable yet: the answer waits for the commit. */
	c->wait_seq = last;
	c->waiting = 1;
	conn_pause(c);
	return 1;
}

static void hec_process(struct edr_conn *c)
{
	while (!c->closing && !c->waiting && !c->close_after_answer) {
		size_t n = edr_hec_http_feed(&c->hec, c->stash.data, c->stash.len);

		buf_consume(&c->stash, n);
		/* Only a request still being read may go on; a refused one
		 * gets its answer instead. */
		if (c->hec.expect_continue && c->hec.state == EDR_HEC_READING) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			c->hec.expect_continue = 0;
			(void)conn_write(c, cont, sizeof(cont) - 1);
		}
		if (c->hec.state == EDR_HEC_READING)
			break;
		if (c->hec.state == EDR_HEC_FAILED) {
			int st = c->hec.error_status;

			c->hec.keep_alive = 0;
			if (st == 503) {
				/* The bodies of all connections are at their cap. */
				count_reject(c, EDR_REJECT_BUSY);
				hec_answer(c, EDR_HEC_SERVER_BUSY, -1, RETRY_AFTER_S);
				break;
			}
			count_reject(c, st == 400 ? EDR_REJECT_FORMAT : EDR_REJECT_TOO_LARGE);
			hec_answer(c, st == 400 ? EDR_HEC_BAD_REQUEST : EDR_HEC_TOO_LARGE, -1, 0);
			break;
		}
		if (hec_request(c))
			return;
		edr_hec_http_next(&c->hec);
	}
	if (c->close_after_answer)
		conn_close_after_write(c);
}

/* The answer of a waiting request, once its events are durable. */
static void hec_on_commit(struct edr_conn *c, uint64_t durable)
{
	if (!c->waiting || durable < c->wait_seq)
		return;
	c->waiting = 0;
	hec_answer(c, EDR_HEC_SUCCESS, -1, 0);
	edr_hec_http_next(&c->hec);
	hec_process(c);
	if (!c->closing && !c->waiting && !c->close_after_answer)
		conn_resume(c);
}

/* ---- Lumberjack ------------------------------------------------------------------ */

static void lj_maybe_ack(struct edr_conn *c, uint64_t durable);

static int lj_event(void *arg, uint32_t seq, const uint8_t *json, size_t len)
{
	struct edr_conn *c = arg;
	struct edr_server *s = c->in->srv;
	struct edr_meta m;
	uint64_t spool_seq = 0;
	int rc;

	/* Beats numbers every window from 1 and pipelines two of them, so a
	 * sequence number at or below the one whose ACK is still due starts
	 * the next window. Its events wait until that ACK is out: one ACK
	 * slot per connection, and overwriting it would leave the first
	 * window unacknowledged (the client would resend it after its
	 * timeout). The wait ends at the commit that makes them durable;
	 * edr_server_on_commit sends the ACK, then decodes this again. */
	if (c->ack_due && seq <= c->ack_lj_seq) {
		lj_maybe_ack(c, spool_lane_durable_seq(s->lane));
		if (c->ack_due) {
			c->held = 1;
			return -EAGAIN;
		}
	}
	fill_meta(c, &m, EDR_INPUT_LUMBERJACK);
	buf_reset(&s->rec);
	rc = edr_record_encode_json(s->parser, &m, (const char *)json, len, 0, NULL, &s->rec);
	if (rc == -EBADMSG) {
		/* Not JSON: kept as text (ill-formed UTF-8 as U+FFFD), so
		 * nothing a shipper sent is lost silently. */
		count_reject(c, EDR_REJECT_FORMAT);
		rc = edr_record_encode_string(&m, (const char *)json, len, &s->rec);
	}
	if (rc < 0) {
		c->in->c.spool_errors++;
		goto acked;
	}
	rc = deliver(c, s->rec.data, s->rec.len, len, &spool_seq);
	if (rc < 0) {
		c->held = 1;
		return rc;
	}
	if (rc == 1)
		c->ack_spool_seq = spool_seq;
acked:
	if (!c->ack_due)
		c->ack_sent_ms = uv_now(s->loop);
	c->ack_lj_seq = seq;
	c->ack_due = 1;
	return 0;
}

static void lj_maybe_ack(struct edr_conn *c, uint64_t durable)
{
	uint8_t ack[6];

	if (!c->ack_due || c->ack_spool_seq > durable || c->closing)
		return;
	edr_lj_format_ack(ack, c->ack_lj_seq);
	if (conn_write(c, ack, sizeof(ack)) < 0) {
		conn_close(c);
		return;
	}
	c->ack_due = 0;
	c->ack_sent_ms = uv_now(c->in->srv->loop);
	c->in->c.acks++;
}

/* A keep-alive ACK to a client that waits on the relay: an ACK is due but
 * not durable yet, an event is held by a full spool, or reading is paused
 * with its window unread. */
static void lj_keepalive(struct edr_conn *c, uint64_t now)
{
	uint8_t ack[6];

	if (c->closing || !(c->ack_due || c->held || !c->reading) ||
	    now - c->ack_sent_ms < LJ_KEEPALIVE_MS)
		return;
	/* A TLS client that connected while reading was paused has not
	 * finished its handshake: there is no session to write to yet. */
	if (c->tls != NULL && !tls_session_established(c->tls))
		return;
	edr_lj_format_ack(ack, 0);
	if (conn_write(c, ack, sizeof(ack)) < 0) {
		conn_close(c);
		return;
	}
	c->ack_sent_ms = now;
	c->in->c.keepalives++;
}

static void lj_process(struct edr_conn *c)
{
	struct edr_server *s = c->in->srv;
	int rc = edr_lj_decode(&c->lj, lj_event, c);

	if (rc == -ENOSPC || rc == -EAGAIN) {
		conn_pause(c);
		return;
	}
	c->held = 0;
	if (rc < 0) {
		count_reject(c, rc == -EMSGSIZE ? EDR_REJECT_TOO_LARGE : EDR_REJECT_FORMAT);
		log_warn("edr: lumberjack from %s: %s; closing", c->peer,
			 c->lj.error ? c->lj.error : strerror(-rc));
		lj_maybe_ack(c, spool_lane_durable_seq(s->lane));
		conn_close_after_write(c);
		return;
	}
	lj_maybe_ack(c, spool_lane_durable_seq(s->lane));
	/* A frame larger than one read needs more bytes; bound what waits. */
	if (edr_lj_buffered(&c->lj) > (size_t)s->max_body + 16) {
		count_reject(c, EDR_REJECT_TOO_LARGE);
		conn_close(c);
	}
}

/* ---- reading ---------------------------------------------------------------------- */

/* Checks the client certificate once the handshake is done. 0, or
 * -EACCES when the connection must close. */
static int conn_check_cert(struct edr_conn *c)
{
	const char *cn, *group;

	if (c->authed || c->tls == NULL || !tls_session_established(c->tls))
		return 0;
	c->authed = 1;
	cn = tls_session_peer_cn(c->tls);
	if (c->in->client_ca == NULL)
		return 0;
	if (group_of_cn(c->in->srv, cn, &group) < 0) {
		count_reject(c, EDR_REJECT_AUTH);
		log_warn("edr: %s from %s: certificate CN '%s' is in no group; closing",
			 kind_names[c->in->kind], c->peer, cn ? cn : "");
		return -EACCES;
	}
	snprintf(c->cn, sizeof(c->cn), "%s", cn ? cn : "");
	if (group != NULL) {
		snprintf(c->group_buf, sizeof(c->group_buf), "%s", group);
		c->group = c->group_buf;
	}
	c->auth = EDR_AUTH_CLIENT_CERT;
	return 0;
}

static int conn_data(struct edr_conn *c, const uint8_t *p, size_t n)
{
	if (c->in->kind == EDR_HEC) {
		if (buf_append(&c->stash, p, n) < 0)
			return -ENOMEM;
		hec_process(c);
		return 0;
	}
	if (edr_lj_push(&c->lj, p, n) < 0)
		return -ENOMEM;
	if (!c->held)
		lj_process(c);
	check_pending(c->in->srv);
	return 0;
}

static void conn_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct edr_conn *c = st->data;
	struct edr_server *s = c->in->srv;
	int rc = 0;

	if (n < 0) {
		conn_close(c);
		return;
	}
	if (n == 0)
		return;
	c->last_ms = uv_now(s->loop);
	if (c->tls == NULL) {
		if (conn_data(c, (const uint8_t *)b->base, (size_t)n) < 0)
			conn_close(c);
		return;
	}
	if (tls_session_feed(c->tls, (const uint8_t *)b->base, (size_t)n) < 0) {
		conn_close(c);
		return;
	}
	while (!c->closing && (rc = tls_session_read(c->tls, s->pbuf, READ_BUF_BYTES)) > 0) {
		if (conn_check_cert(c) < 0 || conn_data(c, s->pbuf, (size_t)rc) < 0) {
			conn_close(c);
			return;
		}
	}
	if (c->closing)
		return;
	if (rc == -EPROTO) {
		count_reject(c, EDR_REJECT_TLS);
		snprintf(c->in->error, sizeof(c->in->error), "TLS with %s: %s", c->peer,
			 tls_session_error(c->tls));
		conn_close(c);
	} else if (rc < 0) {
		conn_close(c);
	} else if (conn_check_cert(c) < 0) {
		conn_close(c);
	}
}

static int tls_send_cb(void *arg, const uint8_t *data, size_t len)
{
	struct edr_conn *c = arg;

	if (c->closing)
		return -EPIPE;
	return tls_uv_write_copy((uv_stream_t *)&c->tcp, data, len);
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct edr_listener *in = server->data;
	struct edr_server *s = in->srv;
	struct edr_conn *c;
	int len = sizeof(struct sockaddr_storage);

	if (status < 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->in = in;
	in->conns++;
	s->open_handles++;
	edr_hec_http_init(&c->hec, s->max_body);
	edr_hec_http_set_pool(&c->hec, &s->hec_bodies, s->hec_bodies_max);
	edr_lj_init(&c->lj, s->max_event, s->max_body);
	edr_lj_set_scratch(&c->lj, &s->lj_window);
	buf_init(&c->stash);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->sa, &len);
	sockaddr_format((struct sockaddr *)&c->sa, c->peer, sizeof(c->peer));
	if (s->nconns > s->max_conns) {
		count_reject(c, EDR_REJECT_CONNS);
		conn_close(c);
		return;
	}
	in->c.conns_total++;
	c->last_ms = uv_now(s->loop);
	c->ack_sent_ms = c->last_ms;
	if (in->tls != NULL && tls_session_create(&c->tls, in->tls, tls_send_cb, c) < 0) {
		conn_close(c);
		return;
	}
	if (in->kind == EDR_LUMBERJACK && (s->paused || s->spool_full))
		return;
	conn_resume(c);
}

/* ---- backpressure and timers ------------------------------------------------------- */

void edr_server_on_commit(struct edr_server *s)
{
	struct edr_conn *c, *next;
	uint64_t durable;

	if (s == NULL || s->stopping)
		return;
	durable = spool_lane_durable_seq(s->lane);
	if (s->paused && spool_lane_pending_bytes(s->lane) <= s->max_pending / 2)
		s->paused = 0;
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->in->kind == EDR_HEC) {
			hec_on_commit(c, durable);
			continue;
		}
		lj_maybe_ack(c, durable);
		if (c->closing || s->paused || s->spool_full)
			continue;
		if (c->held) {
			c->held = 0;
			lj_process(c);
		}
		if (!c->held && !c->closing)
			conn_resume(c);
	}
}

void edr_server_on_spool_usage(struct edr_server *s, int full)
{
	int was;

	if (s == NULL)
		return;
	was = s->spool_full;
	s->spool_full = full;
	if (was && !full)
		edr_server_on_commit(s);
}

static void check_pending(struct edr_server *s)
{
	struct edr_conn *c;

	if (s->paused || spool_lane_pending_bytes(s->lane) <= s->max_pending)
		return;
	s->paused = 1;
	s->paused_events++;
	for (c = s->conns; c != NULL; c = c->next)
		if (c->in->kind == EDR_LUMBERJACK)
			conn_pause(c);
}

static void timer_cb(uv_timer_t *t)
{
	struct edr_server *s = t->data;
	struct edr_conn *c, *next;
	uint64_t now = uv_now(s->loop);

	check_pending(s);
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->in->kind == EDR_LUMBERJACK)
			lj_keepalive(c, now);
		if (c->closing)
			continue;
		/* Waiting for the spool is not idleness. */
		if (!c->waiting && !c->held && !c->ack_due && now - c->last_ms > s->idle_ms)
			conn_close(c);
	}
	if (s->spool_full)
		edr_server_on_commit(s);
}

/* ---- configuration ---------------------------------------------------------------- */

static int str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static int input_start(struct edr_server *s, enum edr_kind kind, const struct edr_input_conf *ic)
{
	struct edr_listener *in = calloc(1, sizeof(*in));
	struct sockaddr_storage ss;
	char err[200];
	int rc;

	if (in == NULL)
		return -ENOMEM;
	in->srv = s;
	in->kind = kind;
	in->address = strdup(ic->address);
	in->cert = ic->cert ? strdup(ic->cert) : NULL;
	in->key = ic->key ? strdup(ic->key) : NULL;
	in->client_ca = ic->client_ca ? strdup(ic->client_ca) : NULL;
	s->inputs[kind] = in;
	if (in->address == NULL || (ic->cert && !in->cert) || (ic->key && !in->key) ||
	    (ic->client_ca && !in->client_ca))
		return -ENOMEM;
	if (config_parse_address(in->address, &ss) < 0) {
		snprintf(in->error, sizeof(in->error), "bad address %s", in->address);
		return -EINVAL;
	}
	if (in->cert != NULL) {
		rc = tls_server_ctx_create(&in->tls, in->cert, in->key, in->client_ca, err,
					   sizeof(err));
		if (rc < 0) {
			snprintf(in->error, sizeof(in->error), "%s", err);
			log_error("edr: %s: %s", kind_names[kind], err);
			return rc;
		}
	}
	uv_tcp_init(s->loop, &in->tcp);
	in->tcp.data = in;
	in->handle_open = 1;
	s->open_handles++;
	rc = uv_tcp_bind(&in->tcp, (const struct sockaddr *)&ss,
			 ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&in->tcp, 128, connection_cb);
	if (rc < 0) {
		snprintf(in->error, sizeof(in->error), "cannot listen on %s: %s%s", in->address,
			 uv_strerror(rc), rc == UV_EADDRINUSE ? " (another program holds the port)" :
			 rc == UV_EACCES ? " (ports below 1024 need CAP_NET_BIND_SERVICE)" : "");
		log_error("edr: %s: %s", kind_names[kind], in->error);
		uv_close((uv_handle_t *)&in->tcp, input_closed_cb);
		return rc;
	}
	in->bound = 1;
	log_info("edr: %s listening on %s%s", kind_names[kind], in->address,
		 in->tls ? " (TLS)" : "");
	return 0;
}

int edr_server_configure(struct edr_server *s, const struct ward_config *cfg)
{
	const struct edr_input_conf *ics[2] = { &cfg->edr.lumberjack, &cfg->edr.hec };
	struct edr_conn *c;
	int k, failed = 0;

	s->max_event = cfg->edr.max_event_bytes;
	s->max_body = cfg->edr.max_body_bytes;
	s->hec_bodies_max = s->max_body > HEC_BODIES_MIN ? s->max_body : HEC_BODIES_MIN;
	for (c = s->conns; c != NULL; c = c->next)
		edr_hec_http_set_pool(&c->hec, &s->hec_bodies, s->hec_bodies_max);
	s->max_conns = cfg->edr.max_connections;
	s->idle_ms = cfg->edr.idle_timeout_ms;
	s->max_pending = cfg->edr.max_pending_bytes;
	if (groups_copy(s, cfg->edr.groups, cfg->edr.n_groups) < 0)
		failed++;
	for (k = 0; k < 2; k++) {
		struct edr_listener *in = s->inputs[k];
		int want = cfg->edr.enabled && ics[k]->enabled;

		if (in != NULL && want && in->bound && str_eq(in->address, ics[k]->address) &&
		    str_eq(in->cert, ics[k]->cert) && str_eq(in->key, ics[k]->key) &&
		    str_eq(in->client_ca, ics[k]->client_ca))
			continue;
		if (in != NULL) {
			s->inputs[k] = NULL;
			input_retire(in);
		}
		if (want && input_start(s, (enum edr_kind)k, ics[k]) < 0)
			failed++;
	}
	return failed;
}

/* ---- status ------------------------------------------------------------------------- */

static json_t *rejects_json(const uint64_t *r)
{
	json_t *o = json_object();
	int i;

	for (i = 0; o != NULL && i < EDR_REJECT_COUNT; i++)
		json_object_set_new(o, reject_names[i], json_integer((json_int_t)r[i]));
	return o;
}

static json_t *input_status(const struct edr_listener *in, enum edr_kind k)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			      "input", kind_names[k], "address", in->address, "tls", in->tls != NULL,
			      "listening", in->bound, "error", in->error[0] ? in->error : NULL,
			      "connections", (json_int_t)in->conns,
			      "connections_total", (json_int_t)in->c.conns_total,
			      "events", (json_int_t)in->c.events, "bytes", (json_int_t)in->c.bytes,
			      k == EDR_HEC ? "requests" : "acks",
			      (json_int_t)(k == EDR_HEC ? in->c.requests : in->c.acks),
			      "spool_errors", (json_int_t)in->c.spool_errors,
			      "rejects", rejects_json(in->c.rejects));

	if (o != NULL && k == EDR_LUMBERJACK)
		json_object_set_new(o, "keepalives", json_integer((json_int_t)in->c.keepalives));
	return o;
}

static json_t *source_status(const struct source *src)
{
	char first[TIME_RFC3339_US_LEN + 1], last[TIME_RFC3339_US_LEN + 1];

	time_format_rfc3339_us(first, src->first_us);
	time_format_rfc3339_us(last, src->last_us ? src->last_us : src->first_us);
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:o}", "address", src->name,
			 "events", (json_int_t)src->messages, "bytes", (json_int_t)src->bytes,
			 "first_seen", first, "last_seen", last, "rejects",
			 rejects_json(src->rejects));
}

json_t *edr_server_status(struct edr_server *s)
{
	json_t *root = json_object(), *ls = json_array(), *srcs = json_array();
	size_t i;
	int k;

	if (root == NULL || ls == NULL || srcs == NULL) {
		json_decref(root);
		json_decref(ls);
		json_decref(srcs);
		return NULL;
	}
	for (k = 0; k < 2; k++)
		if (s->inputs[k] != NULL)
			json_array_append_new(ls, input_status(s->inputs[k], (enum edr_kind)k));
	for (i = 0; i < s->sources.cap; i++)
		if (s->sources.slots[i].family != 0)
			json_array_append_new(srcs, source_status(&s->sources.slots[i]));
	json_object_set_new(root, "listeners", ls);
	json_object_set_new(root, "sources", srcs);
	json_object_set_new(root, "sources_overflow",
			    json_integer((json_int_t)s->sources.overflow_messages));
	json_object_set_new(root, "connections", json_integer(s->nconns));
	json_object_set_new(root, "paused", json_boolean(s->paused || s->spool_full));
	json_object_set_new(root, "paused_events", json_integer((json_int_t)s->paused_events));
	return root;
}

/* ---- life cycle ---------------------------------------------------------------------- */

int edr_server_create(struct edr_server **out, uv_loop_t *loop, struct spool_lane *lane)
{
	struct edr_server *s = calloc(1, sizeof(*s));
	int rc = -ENOMEM;

	*out = NULL;
	if (s == NULL)
		return -ENOMEM;
	s->loop = loop;
	s->lane = lane;
	buf_init(&s->rec);
	buf_init(&s->lj_window);
	edr_hec_records_init(&s->hec);
	s->rbuf = malloc(READ_BUF_BYTES);
	s->pbuf = malloc(READ_BUF_BYTES);
	if (s->rbuf == NULL || s->pbuf == NULL || edr_parser_create(&s->parser) < 0)
		goto out;
	rc = sources_init(&s->sources, SOURCES_MAX);
	if (rc < 0)
		goto out;
	uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	s->open_handles++;
	uv_timer_start(&s->timer, timer_cb, 1000, 1000);
	*out = s;
	return 0;
out:
	edr_parser_destroy(s->parser);
	free(s->rbuf);
	free(s->pbuf);
	free(s);
	return rc;
}

static void timer_closed_cb(uv_handle_t *h)
{
	server_handle_closed(h->data);
}

void edr_server_stop(struct edr_server *s, void (*done)(void *arg), void *arg)
{
	struct edr_conn *c, *next;
	int k;

	if (s == NULL) {
		done(arg);
		return;
	}
	s->stopping = 1;
	s->stop_done = done;
	s->stop_arg = arg;
	for (k = 0; k < 2; k++) {
		if (s->inputs[k] != NULL) {
			input_retire(s->inputs[k]);
			s->inputs[k] = NULL;
		}
	}
	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		conn_close(c);
	}
	uv_close((uv_handle_t *)&s->timer, timer_closed_cb);
}

void edr_server_destroy(struct edr_server *s)
{
	if (s == NULL)
		return;
	groups_free(s->groups, s->n_groups);
	sources_free(&s->sources);
	edr_parser_destroy(s->parser);
	buf_free(&s->rec);
	buf_free(&s->lj_window);
	edr_hec_records_free(&s->hec);
	free(s->rbuf);
	free(s->pbuf);
	free(s);
}
