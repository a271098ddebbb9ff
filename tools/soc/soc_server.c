#include "soc_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define READ_BYTES 65536
#define PLAIN_BYTES 16384           /* one TLS record of plaintext */

struct soc_conn {
	uv_tcp_t tcp;
	uv_shutdown_t shutdown;
	struct soc_server *srv;
	struct soc_conn *prev, *next;
	struct tls_session *tls;
	struct soc_http http;
	char peer[64];
	uint64_t last_ms;
	int counted;                /* handshake done and counted */
	int draining;               /* answered for the last time; reading
	                             * only to discard (lingering close) */
	int closing;
};

struct soc_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_timer_t idle;
	struct tls_server_ctx *tls;
	struct soc_api *api;
	size_t max_header, max_body;
	struct soc_conn *conns;
	unsigned nconns;
	int handles;                /* open uv handles, freed when 0 */
	int stopped;
	uint8_t rbuf[READ_BYTES];
	uint8_t pbuf[PLAIN_BYTES];
};

static void handle_closed_cb(uv_handle_t *h)
{
	struct soc_server *s = h->data;

	s->handles--;
}

static void conn_unlink(struct soc_conn *c)
{
	struct soc_server *s = c->srv;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	s->nconns--;
}

static void conn_closed_cb(uv_handle_t *h)
{
	struct soc_conn *c = h->data;

	tls_session_destroy(c->tls);
	soc_http_free(&c->http);
	free(c);
}

static void conn_close(struct soc_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	conn_unlink(c);
	uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	struct soc_conn *c = req->data;

	if (status < 0)
		conn_close(c);
}

/* Ends the connection after the queued writes (the last answers, a TLS
 * alert) have gone out: uv_close alone would cancel them. Closing while
 * the client still sends (a body we refused with 413) would make the
 * kernel answer with a reset that can destroy our answer before the
 * client reads it, so the write side is shut down and input is read and
 * discarded until the client closes or SOC_SERVER_LINGER_MS pass
 * (RFC 9112 section 9.6). */
static void conn_finish(struct soc_conn *c)
{
	if (c->closing || c->draining)
		return;
	if (c->tls != NULL)
		tls_session_close_notify(c->tls);
	c->draining = 1;
	c->last_ms = uv_now(c->srv->loop);
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, shutdown_cb) < 0)
		conn_close(c);
}

static int tls_send_cb(void *arg, const uint8_t *data, size_t len)
{
	struct soc_conn *c = arg;

	if (c->closing || c->draining)
		return -EPIPE;
	return tls_uv_write_copy((uv_stream_t *)&c->tcp, data, len);
}

/* Feeds plaintext to the HTTP parser and sends what it answered.
 * Returns 0, or < 0 when the connection must finish. */
static int conn_http(struct soc_conn *c, const uint8_t *p, size_t n)
{
	struct soc_api *api = c->srv->api;
	int rc, wrc;

	api->peer = c->peer;
	rc = soc_http_feed(&c->http, p, n);
	api->peer = NULL;
	if (rc < 0) {
		api->http_errors++;
		log_warn("%s: bad HTTP request: %s", c->peer,
			 rc == -EMSGSIZE ? "over the size limit" : rc == -EBADMSG ?
			 "malformed" : strerror(-rc));
	}
	if (c->http.out.len > 0) {
		wrc = tls_session_write(c->tls, c->http.out.data, c->http.out.len);
		buf_reset(&c->http.out);
		if (wrc < 0)
			return wrc;
	}
	if (rc < 0)
		return rc;
	return soc_http_closing(&c->http) ? -ECONNRESET : 0;
}

static int conn_drain_tls(struct soc_conn *c)
{
	struct soc_server *s = c->srv;
	int n, rc;

	for (;;) {
		n = tls_session_read(c->tls, s->pbuf, sizeof(s->pbuf));
		if (!c->counted && tls_session_established(c->tls)) {
			const char *cn = tls_session_peer_cn(c->tls);

			c->counted = 1;
			s->api->connections++;
			log_info("%s: TLS %s established, client certificate CN=%s", c->peer,
				 tls_session_version(c->tls), cn ? cn : "(none)");
		}
		if (n == 0)
			return 0;
		if (n < 0) {
			if (n != -ECONNRESET) {
				s->api->tls_failures++;
				log_warn("%s: %s", c->peer, tls_session_error(c->tls));
			}
			return n;
		}
		rc = conn_http(c, s->pbuf, (size_t)n);
		if (rc < 0)
			return rc;
	}
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct soc_conn *c = h->data;

	(void)hint;
	b->base = (char *)c->srv->rbuf;
	b->len = sizeof(c->srv->rbuf);
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct soc_conn *c = st->data;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	if (c->draining)
		return;
	c->last_ms = uv_now(c->srv->loop);
	if (tls_session_feed(c->tls, (const uint8_t *)b->base, (size_t)nread) < 0 ||
	    conn_drain_tls(c) < 0)
		conn_finish(c);
}

static void connection_cb(uv_stream_t *server, int status)
{
	struct soc_server *s = server->data;
	struct sockaddr_storage sa;
	int len = sizeof(sa);
	struct soc_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	uv_tcp_init(s->loop, &c->tcp);
	c->tcp.data = c;
	c->srv = s;
	soc_http_init(&c->http, s->max_header, s->max_body, soc_api_handle, s->api);
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	snprintf(c->peer, sizeof(c->peer), "?");
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || s->nconns > SOC_SERVER_MAX_CONNS) {
		conn_close(c);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0) {
		char host[48] = "?";

		if (sa.ss_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof(host));
		else
			uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof(host));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", host,
			 ntohs(((struct sockaddr_in *)&sa)->sin_port));
	}
	c->last_ms = uv_now(s->loop);
	if (tls_session_create(&c->tls, s->tls, tls_send_cb, c) < 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) < 0)
		conn_close(c);
}

static void idle_cb(uv_timer_t *t)
{
	struct soc_server *s = t->data;
	uint64_t now = uv_now(s->loop);
	struct soc_conn *c, *next;

	for (c = s->conns; c != NULL; c = next) {
		next = c->next;
		if (c->draining && now - c->last_ms >= SOC_SERVER_LINGER_MS) {
			conn_close(c);
		} else if (!c->draining && now - c->last_ms >= SOC_SERVER_IDLE_MS) {
			log_info("%s: idle, closing", c->peer);
			conn_finish(c);
		}
	}
}

/* "HOST:PORT" or "[V6]:PORT" into a sockaddr. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	size_t hlen;
	char *end;
	long port;

	if (colon == NULL)
		return -EINVAL;
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
		addr++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, addr, hlen);
	host[hlen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535)
		return -EINVAL;
	if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -EINVAL;
}

int soc_server_start(struct soc_server **out, uv_loop_t *loop, const char *addr,
		     struct tls_server_ctx *tls, struct soc_api *api, size_t max_header,
		     size_t max_body)
{
	struct sockaddr_storage ss;
	struct soc_server *s;
	int rc;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	rc = parse_addr(addr, &ss);
	if (rc < 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->loop = loop;
	s->tls = tls;
	s->api = api;
	s->max_header = max_header;
	s->max_body = max_body;
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	s->handles++;
	uv_timer_init(loop, &s->idle);
	s->idle.data = s;
	s->handles++;
	rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&s->listener, 128, connection_cb);
	if (rc < 0)
		goto out;
	uv_timer_start(&s->idle, idle_cb, 1000, 1000);
	*out = s;
	return 0;
out:
	/* The handles must close in the loop before the memory goes. */
	soc_server_stop(s);
	uv_run(loop, UV_RUN_DEFAULT);
	soc_server_destroy(s);
	return rc;
}

void soc_server_stop(struct soc_server *s)
{
	if (s == NULL || s->stopped)
		return;
	s->stopped = 1;
	while (s->conns != NULL)
		conn_close(s->conns);
	uv_close((uv_handle_t *)&s->listener, handle_closed_cb);
	uv_close((uv_handle_t *)&s->idle, handle_closed_cb);
}

void soc_server_destroy(struct soc_server *s)
{
	free(s);
}
