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
	char engine_error[240];
	uint8_t engine_id[32];
	size_t engine_id_len;
	uint32_t boots;
	struct snmp_listener *listeners;
	struct pending_inform *pending, *pending_last;   /* in seq order */
	unsigned npending;
	struct source_table sources;
	struct snmp_rx rx;
	uint32_t rcvbuf;
	unsigned open_handles;
	int stopping;
	void (*stop_done)(void *);
	void *stop_arg;
	/* counters */
	uint64_t informs_acked;       /* Responses sent once the record was durable
	                               * (retransmissions answered included) */
	uint64_t informs_unacked;     /* record refused or Response not sent */
	uint64_t reports_sent;
	uint64_t send_errors;
	uint64_t dropped_spool;       /* traps the spool refused */
	uint64_t spool_waits;         /* appends that waited for a commit in flight */
	uint64_t dropped_nomem;       /* datagrams the engine dropped: -ENOMEM */
	uint64_t dropped_io;          /* ... -EIO: the crypto library failed */
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

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 hex digits a byte, nothing else. */
static int hex_decode(const char *s, uint8_t *dst, size_t cap, size_t *n)
{
	size_t len = strlen(s), i;

	if (len % 2 != 0 || len / 2 > cap)
		return -EINVAL;
	for (i = 0; i < len / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		dst[i] = (uint8_t)(hi << 4 | lo);
	}
	*n = len / 2;
	return 0;
}

/* ---- the state file -----------------------------------------------------------
 *
 * "engine_id=HEX\nboots=N\n", kept twice: SNMP_ENGINE_STATE_FILE and a
 * backup copy. Each is replaced atomically (temporary file, fsync,
 * rename, fsync of the directory), the main one first, so at any moment
 * at least one holds the latest boots, or the one before it.
 *
 * snmpEngineBoots must never go back (RFC 3414 2.2.2): a sender that has
 * seen boots N takes anything stamped with less as a replay, and a probe
 * that reused N would make its old Responses replayable. So:
 *   - boots is the highest of the copies that read back, plus one, and
 *     one more when a copy is damaged (it may have held the value after);
 *   - it is never reset, not even for a new engine ID: going back to an
 *     earlier ID must not take that ID's boots back;
 *   - when copies exist but none reads back, boots cannot be known; the
 *     safe value is one no earlier start can have reached: the seconds
 *     since 2020-01-01 (ward starts and reloads far less than once a
 *     second). That is logged as an error, as is any damaged copy.
 */

#define STATE_BACKUP SNMP_ENGINE_STATE_FILE ".bak"
#define BOOTS_MAX 2147483647u           /* RFC 3414 2.2.2 */
#define EPOCH_2020 1577836800           /* 2020-01-01T00:00:00Z */

struct engine_state {
	uint8_t id[32];
	size_t id_len;
	uint32_t boots;
};

/* Reads one copy. 0, -ENOENT (no such file), -EBADMSG (damaged: a line
 * other than the two, either missing, a value out of range), or the
 * -errno of reading it. */
static int state_read(const char *path, struct engine_state *st)
{
	char line[128], *end;
	bool have_id = false, have_boots = false;
	unsigned long v;
	FILE *f;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (line[strcspn(line, "\n")] != '\n') {
			rc = -EBADMSG;          /* over-long or cut line */
			break;
		}
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "engine_id=", 10) == 0 && !have_id) {
			have_id = hex_decode(line + 10, st->id, sizeof(st->id), &st->id_len) == 0 &&
				  st->id_len >= 5;
			rc = have_id ? 0 : -EBADMSG;
		} else if (strncmp(line, "boots=", 6) == 0 && !have_boots && line[6] >= '0' &&
			   line[6] <= '9') {
			errno = 0;
			v = strtoul(line + 6, &end, 10);
			have_boots = errno == 0 && *end == '\0' && v <= BOOTS_MAX;
			st->boots = (uint32_t)v;
			rc = have_boots ? 0 : -EBADMSG;
		} else {
			rc = -EBADMSG;
		}
	}
	if (rc == 0 && ferror(f))
		rc = -EIO;
	if (rc == 0 && (!have_id || !have_boots))
		rc = -EBADMSG;
	fclose(f);
	return rc;
}

/* The state from both copies, as the comment above says: *next_boots is
 * the value to use now (before the 2147483647 latch), *id the latest
 * engine ID (id_len 0: none). */
static void state_load(struct engine_state *st, uint32_t *next_boots)
{
	static const char *const paths[2] = { SNMP_ENGINE_STATE_FILE, STATE_BACKUP };
	struct engine_state c;
	bool good = false, damaged = false;
	uint64_t boots = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 2; i++) {
		rc = state_read(paths[i], &c);
		if (rc == -ENOENT)
			continue;
		if (rc < 0) {
			log_error("snmp: engine state %s is %s: %s; boots are raised past any value it "
				  "may have held", paths[i], rc == -EBADMSG ? "damaged" : "unreadable",
				  strerror(-rc));
			damaged = true;
			continue;
		}
		/* The main copy is written first: its engine ID is the latest. */
		if (!good)
			*st = c;
		good = true;
		boots = c.boots > boots ? c.boots : boots;
	}
	boots += 1 + (damaged && good);
	if (damaged && !good) {
		int64_t since = clock_wall_us() / 1000000 - EPOCH_2020;

		boots = since > 0 ? (uint64_t)since : 1;
		log_error("snmp: no copy of the engine state reads back; snmpEngineBoots is set "
			  "to %llu, the seconds since 2020-01-01, which no earlier start can have "
			  "reached%s", (unsigned long long)boots,
			  since > 0 ? "" : " (the clock is before 2020: boots may have gone back)");
	}
	*next_boots = boots < BOOTS_MAX ? (uint32_t)boots : BOOTS_MAX;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Replaces `path` durably: temporary file, fsync, rename, and an fsync of
 * the directory, without which the rename itself may be lost in a crash
 * and the old boots come back. */
static int state_write(const char *path, const char *text, size_t n)
{
	char tmp[64];
	ssize_t w;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	w = write(fd, text, n);
	if (w != (ssize_t)n)
		rc = w < 0 ? -errno : -EIO;
	else if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc == 0)
		rc = fsync_dir(".");
	if (rc < 0)
		(void)unlink(tmp);
	return rc;
}

static int state_save(const struct engine_state *st)
{
	char hex[65], text[128];
	int n, rc;

	hex_encode(st->id, st->id_len, hex);
	n = snprintf(text, sizeof(text), "engine_id=%s\nboots=%u\n", hex, st->boots);
	rc = state_write(SNMP_ENGINE_STATE_FILE, text, (size_t)n);
	if (rc == 0)
		rc = state_write(STATE_BACKUP, text, (size_t)n);
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

/* The engine ID to use (configured, kept, or new) and the next boots, in
 * *st; nothing is written yet. */
static int engine_identity(const struct ward_config *cfg, struct engine_state *st)
{
	struct engine_state stored;
	uint32_t boots;
	int rc;

	state_load(&stored, &boots);
	memset(st, 0, sizeof(*st));
	if (cfg->snmp.engine_id_len > 0) {
		memcpy(st->id, cfg->snmp.engine_id, cfg->snmp.engine_id_len);
		st->id_len = cfg->snmp.engine_id_len;
	} else if (stored.id_len >= 5) {
		memcpy(st->id, stored.id, stored.id_len);
		st->id_len = stored.id_len;
	} else {
		rc = engine_id_generate(st->id, &st->id_len);
		if (rc < 0)
			return rc;
	}
	/* At 2147483647 the engine must be reconfigured (RFC 3414 2.2.2);
	 * staying there is the conservative choice. */
	st->boots = boots;
	return 0;
}

/* ---- pending informs ---------------------------------------------------------- */

static void pending_drop_listener(struct snmp_server *s, struct snmp_listener *l)
{
	struct pending_inform **pp = &s->pending, *p;

	s->pending_last = NULL;
	while ((p = *pp) != NULL) {
		if (p->l == l) {
			*pp = p->next;
			s->npending--;
			s->informs_unacked++;
			free(p);
		} else {
			s->pending_last = p;
			pp = &p->next;
		}
	}
}

static void send_response(struct snmp_server *s, struct snmp_listener *l, const uint8_t *resp,
			  size_t len, const struct sockaddr *to)
{
	if (udp_rx_send(&l->udp, resp, len, to) == 0) {
		s->informs_acked++;
	} else {
		s->informs_unacked++;
		s->send_errors++;
	}
}

void snmp_server_on_commit(struct snmp_server *s)
{
	uint64_t durable = spool_lane_durable_seq(s->lane);
	struct pending_inform *p;

	/* The list is in seq order, so the durable ones are at the front. */
	while ((p = s->pending) != NULL && p->seq <= durable) {
		s->pending = p->next;
		if (s->pending == NULL)
			s->pending_last = NULL;
		s->npending--;
		send_response(s, p->l, p->resp, p->len, (struct sockaddr *)&p->to);
		free(p);
	}
}

/* Puts p in seq order: at the end for a new record, further in for the
 * answer to a retransmission, whose record came earlier (O(n) then, but
 * only for those). */
static void pending_insert(struct snmp_server *s, struct pending_inform *p)
{
	struct pending_inform **pp = &s->pending;

	if (s->pending_last != NULL && s->pending_last->seq <= p->seq) {
		pp = &s->pending_last->next;
	} else {
		while (*pp != NULL && (*pp)->seq <= p->seq)
			pp = &(*pp)->next;
	}
	p->next = *pp;
	*pp = p;
	if (p->next == NULL)
		s->pending_last = p;
	s->npending++;
}

/* Sends the inform Response in s->rx once record `seq` is durable: now if
 * it is, else from snmp_server_on_commit. Past SNMP_MAX_PENDING it is not
 * sent; the sender retransmits. */
static void respond_when_durable(struct snmp_server *s, struct snmp_listener *l, uint64_t seq,
				 const struct sockaddr *to)
{
	struct pending_inform *p;

	if (seq <= spool_lane_durable_seq(s->lane)) {
		send_response(s, l, s->rx.response.data, s->rx.response.len, to);
		return;
	}
	if (s->npending >= SNMP_MAX_PENDING ||
	    (p = malloc(sizeof(*p) + s->rx.response.len)) == NULL) {
		s->informs_unacked++;
		return;
	}
	p->seq = seq;
	p->l = l;
	memset(&p->to, 0, sizeof(p->to));
	memcpy(&p->to, to, to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in));
	p->len = s->rx.response.len;
	memcpy(p->resp, s->rx.response.data, p->len);
	pending_insert(s, p);
}

/* ---- receiving ------------------------------------------------------------------ */

/* The engine could not process a datagram at all (snmp.h: -ENOMEM, or
 * -EIO from the crypto library). Counted, and logged at 1, 2, 4, 8...
 * so a lasting fault shows without flooding the log. */
static void engine_failed(struct snmp_server *s, const struct source *src, int rc)
{
	uint64_t *n = rc == -ENOMEM ? &s->dropped_nomem : &s->dropped_io;

	++*n;
	if ((*n & (*n - 1)) == 0)
		log_error("snmp %s: datagram dropped: %s (%llu so far)", src ? src->name : "?",
			  strerror(-rc), (unsigned long long)*n);
}

static void on_datagram(struct udp_rx *u, const uint8_t *data, size_t len, bool truncated,
			const struct sockaddr *from, int64_t now_us)
{
	struct snmp_listener *l = u->data;
	struct snmp_server *s = l->srv;
	struct source *src = sources_get(&s->sources, from, now_us);
	struct snmp_rx *rx = &s->rx;
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
	if (s->engine == NULL)
		return;
	rc = snmp_engine_process(s->engine, data, len, from, now_us, rx);
	if (rc < 0) {
		engine_failed(s, src, rc);
		return;
	}
	if (rx->reject != SNMP_OK) {
		if (src != NULL && rx->reject < SOURCE_MAX_REJECTS)
			src->rejects[rx->reject]++;
		log_debug("snmp %s: %s: %s", src ? src->name : "?", snmp_reject_name(rx->reject),
			  rx->detail);
		if (rx->response.len == 0)
			return;
		/* A retransmitted inform waits for its first copy's record;
		 * Reports (discovery, USM errors) go back at once. */
		if (rx->inform)
			respond_when_durable(s, l, rx->replay_seq, from);
		else if (udp_rx_send(u, rx->response.data, rx->response.len, from) == 0)
			s->reports_sent++;
		return;
	}
	rc = spool_lane_append(s->lane, now_us, rx->record.data, rx->record.len, &seq);
	if (rc == -EAGAIN) {
		/* Both spool buffers are full while a commit is in flight. A
		 * datagram has nowhere to wait in ward (the kernel's receive
		 * buffer is the queue), so wait here for that commit, at the
		 * cost of one fdatasync on the loop, rather than drop it. */
		s->spool_waits++;
		if (spool_lane_commit(s->lane) == 0) {
			rc = spool_lane_append(s->lane, now_us, rx->record.data, rx->record.len,
					       &seq);
			/* That commit's callback does not run: answer what it
			 * made durable now. */
			snmp_server_on_commit(s);
		}
	}
	/* Refused, the message is forgotten: its retransmission is new. */
	snmp_engine_record_stored(s->engine, rx, rc < 0 ? 0 : seq);
	if (rc < 0) {
		/* No Response for a refused inform: the sender retries. */
		if (rx->inform)
			s->informs_unacked++;
		else
			s->dropped_spool++;
		return;
	}
	if (src != NULL)
		src->messages++;
	if (rx->inform && rx->response.len > 0)
		respond_when_durable(s, l, seq, from);
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

/* A new engine for cfg, with the next boots. The new engine ID and boots
 * are persisted before the engine can answer anyone, and become the
 * server's (in status, and answering) only when all of it worked: on any
 * failure the previous engine keeps answering as it was, and status says
 * so. A boots value persisted for an engine that then is not used is
 * simply skipped; one never persisted was never used. */
static int engine_rebuild(struct snmp_server *s, const struct ward_config *cfg)
{
	struct snmp_user *users = NULL;
	struct snmp_engine_opts o;
	struct snmp_engine *e = NULL;
	struct engine_state st;
	char why[200] = "";
	unsigned i;
	int rc;

	rc = engine_identity(cfg, &st);
	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot generate an engine ID: %s", strerror(-rc));
		goto out;
	}
	if (cfg->snmp.n_users > 0) {
		users = calloc(cfg->snmp.n_users, sizeof(*users));
		if (users == NULL) {
			rc = -ENOMEM;
			snprintf(why, sizeof(why), "out of memory");
			goto out;
		}
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
		.engine_id = st.id, .engine_id_len = st.id_len, .boots = st.boots,
		.users = users, .n_users = cfg->snmp.n_users,
		.communities = (const char *const *)cfg->snmp.communities,
		.n_communities = cfg->snmp.n_communities,
		.accept_any_community = cfg->snmp.accept_any_community,
		.accept_any_user = cfg->snmp.accept_any_user,
		.record_community = cfg->snmp.record_community,
		.oid_names_file = cfg->snmp.oid_names,
	};
	rc = snmp_engine_create(&e, &o, why, sizeof(why));
	if (rc < 0)
		goto out;
	rc = state_save(&st);
	if (rc < 0) {
		snprintf(why, sizeof(why), "cannot keep the SNMP engine state in %s: %s",
			 SNMP_ENGINE_STATE_FILE, strerror(-rc));
		goto out;
	}
	snmp_engine_destroy(s->engine);
	s->engine = e;
	e = NULL;
	memcpy(s->engine_id, st.id, st.id_len);
	s->engine_id_len = st.id_len;
	s->boots = st.boots;
	s->engine_error[0] = '\0';
out:
	if (rc < 0) {
		snprintf(s->engine_error, sizeof(s->engine_error), "%s%s", why,
			 s->engine != NULL ? " (the previous engine goes on)" : "");
		log_error("snmp: %s", s->engine_error);
	}
	snmp_engine_destroy(e);
	free(users);
	return rc;
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
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:o}",
		"packets", (json_int_t)c.packets, "traps", (json_int_t)c.traps,
		"informs", (json_int_t)c.informs,
		"informs_acknowledged", (json_int_t)s->informs_acked,
		"informs_unacknowledged", (json_int_t)s->informs_unacked,
		"reports_sent", (json_int_t)s->reports_sent,
		"send_errors", (json_int_t)s->send_errors,
		"dropped_spool", (json_int_t)s->dropped_spool,
		"spool_waits", (json_int_t)s->spool_waits,
		"dropped_nomem", (json_int_t)s->dropped_nomem,
		"dropped_io", (json_int_t)s->dropped_io,
		"informs_pending", (int)s->npending,
		"rejects", rejects_json(c.rejects, SNMP_REJ__COUNT)));
	json_object_set_new(root, "replay_cache", json_pack(
		"{s:I, s:I, s:I, s:I}", "slots", (json_int_t)c.replay_slots,
		"used", (json_int_t)c.replay_used, "bytes", (json_int_t)c.replay_bytes,
		"evicted_live", (json_int_t)c.replay_evicted_live));
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
