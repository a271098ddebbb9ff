#include "snmp_net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "jsonw.h"
#include "log.h"
#include "snmp.h"
#include "sources.h"
#include "udp_rx.h"

#define SNMP_MAX_DATAGRAM 65535
#define SNMP_SOURCES_MAX 4096
/* Informs waiting for their record's commit. The commit interval bounds
 * how long one waits, so this only fills under a burst; past it the
 * Response is not sent and the sender retries. */
#define SNMP_MAX_PENDING 8192

struct snmp_listener {
	struct snmp_server *srv;
	struct snmp_listener *next;
	char *address;
	struct udp_rx udp;
	int bound;
	int retired;
	char error[200];
};

struct pending_inform {
	struct pending_inform *next;
	uint64_t seq;                 /* respond once durable_seq >= seq */
	struct snmp_listener *l;
	struct sockaddr_storage to;
	size_t len;
	uint8_t resp[];
};

struct snmp_server {
	uv_loop_t *loop;
	struct spool_lane *lane;
	struct snmp_engine *engine;
	char engine_error[200];
	uint8_t engine_id[32];
	size_t engine_id_len;
	uint32_t boots;
	struct snmp_listener *listeners;
	struct pending_inform *pending, **pending_tail;
	unsigned npending;
	struct source_table sources;
	struct snmp_rx rx;
	uint32_t rcvbuf;
	unsigned open_handles;
	int stopping;
	void (*stop_done)(void *);
	void *stop_arg;
	/* counters */
	uint64_t informs_acked;       /* Response sent after the record was durable */
	uint64_t informs_unacked;     /* record refused or Response not sent */
	uint64_t reports_sent;
	uint64_t send_errors;
	uint64_t dropped_spool;       /* traps the spool refused */
};

/* ---- engine ID and boots ---------------------------------------------------- */

static void hex_encode(const uint8_t *p, size_t n, char *dst)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		dst[2 * i] = digits[p[i] >> 4];
		dst[2 * i + 1] = digits[p[i] & 15];
	}
	dst[2 * n] = '\0';
}

static int hex_decode(const char *s, uint8_t *dst, size_t cap, size_t *n)
{
	size_t len = strlen(s), i;

	if (len % 2 != 0 || len / 2 > cap)
		return -EINVAL;
	for (i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		dst[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

/* Reads "engine_id=HEX" and "boots=N" lines. Missing or damaged: zeros. */
static void state_load(uint8_t *id, size_t *id_len, uint32_t *boots)
{
	char line[128];
	FILE *f = fopen(SNMP_ENGINE_STATE_FILE, "r");

	*id_len = 0;
	*boots = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "engine_id=", 10) == 0 && hex_decode(line + 10, id, 32, id_len) < 0)
			*id_len = 0;
		else if (strncmp(line, "boots=", 6) == 0)
			*boots = (uint32_t)strtoul(line + 6, NULL, 10);
	}
	fclose(f);
}

/* Writes the state durably (temporary file, fsync, rename). */
static int state_save(const uint8_t *id, size_t id_len, uint32_t boots)
{
	char hex[65], text[128];
	int fd, n, rc = 0;

	hex_encode(id, id_len, hex);
	n = snprintf(text, sizeof(text), "engine_id=%s\nboots=%u\n", hex, boots);
	fd = open(SNMP_ENGINE_STATE_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (write(fd, text, (size_t)n) != n || fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(SNMP_ENGINE_STATE_FILE ".tmp", SNMP_ENGINE_STATE_FILE) < 0)
		rc = -errno;
	return rc;
}

/* RFC 3411 SnmpEngineID, format 5 (octets): the enterprise-number form
 * with the high bit set, then 8 random bytes. ward has no enterprise
 * number of its own, so 0 is used; the random part makes it unique. */
static int engine_id_generate(uint8_t *id, size_t *len)
{
	id[0] = 0x80;
	id[1] = id[2] = id[3] = 0;
	id[4] = 5;
	if (getrandom(id + 5, 8, 0) != 8)
		return -EIO;
	*len = 13;
	return 0;
}

/* Settles the engine ID and takes the next boots value, persisting both
 * before the engine answers anyone. */
static int engine_identity(struct snmp_server *s, const struct ward_config *cfg)
{
	uint8_t stored[32];
	size_t stored_len;
	uint32_t boots;
	int rc;

	state_load(stored, &stored_len, &boots);
	if (cfg->snmp.engine_id_len > 0) {
		memcpy(s->engine_id, cfg->snmp.engine_id, cfg->snmp.engine_id_len);
		s->engine_id_len = cfg->snmp.engine_id_len;
	} else if (stored_len >= 5) {
		memcpy(s->engine_id, stored, stored_len);
		s->engine_id_len = stored_len;
	} else {
		rc = engine_id_generate(s->engine_id, &s->engine_id_len);
		if (rc < 0)
			return rc;
	}
	/* A new engine ID starts its own boots count. */
	if (stored_len != s->engine_id_len || memcmp(stored, s->engine_id, stored_len) != 0)
		boots = 0;
	/* RFC 3414 2.2.2: at 2147483647 the engine must be reconfigured;
	 * staying there is the conservative choice. */
	s->boots = boots < 2147483647u ? boots + 1 : 2147483647u;
	return state_save(s->engine_id, s->engine_id_len, s->boots);
}

/* ---- pending informs ---------------------------------------------------------- */

static void pending_drop_listener(struct snmp_server *s, struct snmp_listener *l)
{
	struct pending_inform **pp = &s->pending, *p;

	while ((p = *pp) != NULL) {
		if (p->l == l) {
			*pp = p->next;
			s->npending--;
			s->informs_unacked++;
			free(p);
		} else {
			pp = &p->next;
		}
	}
	s->pending_tail = &s->pending;
	for (p = s->pending; p != NULL; p = p->next)
		s->pending_tail = &p->next;
}

void snmp_server_on_commit(struct snmp_server *s)
{
	uint64_t durable = spool_lane_durable_seq(s->lane);
	struct pending_inform *p;

	/* Appends are in seq order, so the durable ones are at the front. */
	while ((p = s->pending) != NULL && p->seq <= durable) {
		s->pending = p->next;
		if (s->pending == NULL)
			s->pending_tail = &s->pending;
		s->npending--;
		if (udp_rx_send(&p->l->udp, p->resp, p->len, (struct sockaddr *)&p->to) == 0) {
			s->informs_acked++;
		} else {
			s->informs_unacked++;
			s->send_errors++;
		}
		free(p);
	}
}

static void hold_response(struct snmp_server *s, struct snmp_listener *l, uint64_t seq,
			  const struct sockaddr *to)
{
	struct pending_inform *p;

	if (s->npending >= SNMP_MAX_PENDING ||
	    (p = malloc(sizeof(*p) + s->rx.response.len)) == NULL) {
		s->informs_unacked++;
		return;
	}
	p->next = NULL;
	p->seq = seq;
	p->l = l;
	memset(&p->to, 0, sizeof(p->to));
	memcpy(&p->to, to, to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in));
	p->len = s->rx.response.len;
	memcpy(p->resp, s->rx.response.data, p->len);
	*s->pending_tail = p;
	s->pending_tail = &p->next;
	s->npending++;
}

/* ---- receiving ------------------------------------------------------------------ */

static void on_datagram(struct udp_rx *u, const uint8_t *data, size_t len, bool truncated,
			const struct sockaddr *from, int64_t now_us)
{
	struct snmp_listener *l = u->data;
	struct snmp_server *s = l->srv;
	struct source *src = sources_get(&s->sources, from, now_us);
	uint64_t seq;
	int rc;

	if (src != NULL) {
		src->last_us = now_us;
		src->bytes += len;
		src->transports |= SOURCE_UDP;
	}
	/* A cut datagram is malformed BER by definition; let the engine
	 * count it as such rather than guess. */
	(void)truncated;
	if (s->engine == NULL ||
	    snmp_engine_process(s->engine, data, len, from, now_us, &s->rx) < 0)
		return;
	if (s->rx.reject != SNMP_OK) {
		if (src != NULL && s->rx.reject < SOURCE_MAX_REJECTS)
			src->rejects[s->rx.reject]++;
		log_debug("snmp %s: %s: %s", src ? src->name : "?", snmp_reject_name(s->rx.reject),
			  s->rx.detail);
		/* Reports (discovery, USM errors) go back at once. */
		if (s->rx.response.len > 0 &&
		    udp_rx_send(u, s->rx.response.data, s->rx.response.len, from) == 0)
			s->reports_sent++;
		return;
	}
	rc = spool_lane_append(s->lane, now_us, s->rx.record.data, s->rx.record.len, &seq);
	if (rc < 0) {
		/* No Response for a refused inform: the sender retries. */
		if (s->rx.inform)
			s->informs_unacked++;
		else
			s->dropped_spool++;
		return;
	}
	if (src != NULL)
		src->messages++;
	if (s->rx.inform && s->rx.response.len > 0)
		hold_response(s, l, seq, from);
}

/* ---- listeners ------------------------------------------------------------------- */

static void server_handle_closed(struct snmp_server *s)
{
	s->open_handles--;
	if (s->stopping && s->open_handles == 0 && s->stop_done != NULL) {
		void (*done)(void *) = s->stop_done;

		s->stop_done = NULL;
		done(s->stop_arg);
	}
}

static void listener_free(struct snmp_listener *l)
{
	free(l->address);
	free(l);
}

static void listener_closed(struct udp_rx *u)
{
	struct snmp_listener *l = u->data;
	struct snmp_server *s = l->srv;

	if (l->retired)
		listener_free(l);
	server_handle_closed(s);
}

static void listener_retire(struct snmp_server *s, struct snmp_listener *l)
{
	pending_drop_listener(s, l);
	l->retired = 1;
	if (l->bound) {
		l->bound = 0;
		udp_rx_close(&l->udp, listener_closed);
	} else {
		listener_free(l);
	}
}

static struct snmp_listener *listener_start(struct snmp_server *s, const char *address)
{
	struct snmp_listener *l = calloc(1, sizeof(*l));
	struct sockaddr_storage ss;
	int rc;

	if (l == NULL)
		return NULL;
	l->srv = s;
	l->udp.data = l;
	l->address = strdup(address);
	if (l->address == NULL) {
		free(l);
		return NULL;
	}
	if (config_parse_address(address, &ss) < 0) {
		snprintf(l->error, sizeof(l->error), "bad address %s", address);
		return l;
	}
	rc = udp_rx_open(&l->udp, s->loop, &ss, s->rcvbuf, SNMP_MAX_DATAGRAM, on_datagram);
	if (rc < 0) {
		snprintf(l->error, sizeof(l->error), "cannot listen on snmp/udp %s: %s%s", address,
			 strerror(-rc), rc == -EACCES ?
			 " (port 162 needs CAP_NET_BIND_SERVICE)" : rc == -EADDRINUSE ?
			 " (another program, e.g. snmptrapd, holds the port)" : "");
		log_error("snmp: %s", l->error);
		return l;
	}
	l->bound = 1;
	s->open_handles++;
	log_info("snmp: listening on udp/%s", address);
	return l;
}

static int engine_rebuild(struct snmp_server *s, const struct ward_config *cfg)
{
	struct snmp_user *users = NULL;
	struct snmp_engine_opts o;
	struct snmp_engine *e = NULL;
	unsigned i;
	int rc;

	rc = engine_identity(s, cfg);
	if (rc < 0) {
		snprintf(s->engine_error, sizeof(s->engine_error),
			 "cannot keep the SNMP engine state in %s: %s", SNMP_ENGINE_STATE_FILE,
			 strerror(-rc));
		return rc;
	}
	if (cfg->snmp.n_users > 0) {
		users = calloc(cfg->snmp.n_users, sizeof(*users));
		if (users == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < cfg->snmp.n_users; i++) {
		const struct snmp_user_conf *u = &cfg->snmp.users[i];

		users[i] = (struct snmp_user){
			.name = u->name, .auth = u->auth, .auth_password = u->auth_password,
			.priv = u->priv, .priv_password = u->priv_password,
			.engine_id = u->engine_id_len ? u->engine_id : NULL,
			.engine_id_len = u->engine_id_len,
		};
	}
	o = (struct snmp_engine_opts){
		.engine_id = s->engine_id, .engine_id_len = s->engine_id_len, .boots = s->boots,
		.users = users, .n_users = cfg->snmp.n_users,
		.communities = (const char *const *)cfg->snmp.communities,
		.n_communities = cfg->snmp.n_communities,
		.accept_any_community = cfg->snmp.accept_any_community,
		.accept_any_user = cfg->snmp.accept_any_user,
		.record_community = cfg->snmp.record_community,
		.oid_names_file = cfg->snmp.oid_names,
	};
	s->engine_error[0] = '\0';
	rc = snmp_engine_create(&e, &o, s->engine_error, sizeof(s->engine_error));
	free(users);
	if (rc < 0) {
		log_error("snmp: %s", s->engine_error);
		return rc;
	}
	snmp_engine_destroy(s->engine);
	s->engine = e;
	return 0;
}

int snmp_server_configure(struct snmp_server *s, const struct ward_config *cfg)
{
	struct snmp_listener *l, **pp, *fresh = NULL, **tail = &fresh;
	unsigned i, n = cfg->snmp.enabled ? cfg->snmp.n_listeners : 0;
	int failed = 0, rc;

	s->rcvbuf = cfg->snmp.udp_rcvbuf_bytes;
	if (!cfg->snmp.enabled) {
		snmp_engine_destroy(s->engine);
		s->engine = NULL;
	} else {
		/* The engine restarts its clock, so boots must rise: simplest
		 * and always correct is a new engine on every configure. */
		rc = engine_rebuild(s, cfg);
		if (rc < 0 && s->engine == NULL)
			return rc;
	}
	for (i = 0; i < n; i++) {
		const char *addr = cfg->snmp.listeners[i];

		for (pp = &s->listeners; (l = *pp) != NULL; pp = &l->next)
			if (l->bound && strcmp(l->address, addr) == 0)
				break;
		if (l != NULL) {
			*pp = l->next;
		} else {
			l = listener_start(s, addr);
			if (l == NULL)
				return -ENOMEM;
			failed += !l->bound;
		}
		l->next = NULL;
		*tail = l;
		tail = &l->next;
	}
	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		listener_retire(s, l);
	}
	s->listeners = fresh;
	return failed;
}

/* ---- status ----------------------------------------------------------------------- */

static json_t *rejects_json(const uint64_t *counts, unsigned n)
{
	json_t *o = json_object();
	unsigned r;

	for (r = 1; o != NULL && r < n; r++)
		if (counts[r] > 0)
			json_object_set_new(o, snmp_reject_name((enum snmp_reject)r),
					    json_integer((json_int_t)counts[r]));
	return o;
}

json_t *snmp_server_status(struct snmp_server *s)
{
	struct snmp_counters c;
	json_t *root, *ls, *srcs;
	struct snmp_listener *l;
	char hex[65];
	size_t i;

	memset(&c, 0, sizeof(c));
	if (s->engine != NULL)
		snmp_engine_counters(s->engine, &c);
	root = json_object();
	ls = json_array();
	srcs = json_array();
	if (root == NULL || ls == NULL || srcs == NULL) {
		json_decref(root);
		json_decref(ls);
		json_decref(srcs);
		return NULL;
	}
	for (l = s->listeners; l != NULL; l = l->next)
		json_array_append_new(ls, json_pack(
			"{s:s, s:s, s:b, s:s?, s:I, s:I}", "proto", "udp", "address", l->address,
			"listening", l->bound, "error", l->error[0] ? l->error : NULL,
			"datagrams", (json_int_t)(l->bound ? l->udp.datagrams : 0),
			"dropped_kernel", (json_int_t)(l->bound ? l->udp.drops_kernel : 0)));
	for (i = 0; i < s->sources.cap; i++) {
		const struct source *src = &s->sources.slots[i];
		char first[32], last[32];

		if (src->family == 0)
			continue;
		time_format_rfc3339_us(first, src->first_us);
		time_format_rfc3339_us(last, src->last_us);
		json_array_append_new(srcs, json_pack(
			"{s:s, s:I, s:I, s:s, s:s, s:o}", "address", src->name,
			"messages", (json_int_t)src->messages, "bytes", (json_int_t)src->bytes,
			"first_seen", first, "last_seen", last,
			"rejects", rejects_json(src->rejects, SOURCE_MAX_REJECTS)));
	}
	hex_encode(s->engine_id, s->engine_id_len, hex);
	json_object_set_new(root, "listeners", ls);
	json_object_set_new(root, "sources", srcs);
	json_object_set_new(root, "engine", json_pack(
		"{s:s, s:I, s:s?}", "engine_id", hex, "boots", (json_int_t)s->boots,
		"error", s->engine_error[0] ? s->engine_error : NULL));
	json_object_set_new(root, "counters", json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:o}",
		"packets", (json_int_t)c.packets, "traps", (json_int_t)c.traps,
		"informs", (json_int_t)c.informs,
		"informs_acknowledged", (json_int_t)s->informs_acked,
		"informs_unacknowledged", (json_int_t)s->informs_unacked,
		"reports_sent", (json_int_t)s->reports_sent,
		"send_errors", (json_int_t)s->send_errors,
		"dropped_spool", (json_int_t)s->dropped_spool,
		"informs_pending", (int)s->npending,
		"rejects", rejects_json(c.rejects, SNMP_REJ__COUNT)));
	return root;
}

/* ---- life cycle -------------------------------------------------------------------- */

int snmp_server_create(struct snmp_server **out, uv_loop_t *loop, struct spool_lane *lane)
{
	struct snmp_server *s;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->loop = loop;
	s->lane = lane;
	s->pending_tail = &s->pending;
	snmp_rx_init(&s->rx);
	rc = sources_init(&s->sources, SNMP_SOURCES_MAX);
	if (rc < 0) {
		snmp_server_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void snmp_server_stop(struct snmp_server *s, void (*done)(void *arg), void *arg)
{
	struct snmp_listener *l;

	s->stopping = 1;
	s->stop_done = done;
	s->stop_arg = arg;
	/* Informs still waiting are not answered: their senders retry. */
	while ((l = s->listeners) != NULL) {
		s->listeners = l->next;
		listener_retire(s, l);
	}
	if (s->open_handles == 0 && s->stop_done != NULL) {
		s->stop_done = NULL;
		done(arg);
	}
}

void snmp_server_destroy(struct snmp_server *s)
{
	struct pending_inform *p;

	if (s == NULL)
		return;
	while ((p = s->pending) != NULL) {
		s->pending = p->next;
		free(p);
	}
	snmp_engine_destroy(s->engine);
	snmp_rx_free(&s->rx);
	sources_free(&s->sources);
	free(s);
}
