/* analyzer: sessions, detection and records for the protocol analyzers
 * (analyzer.h).
 *
 * A session is created for a TCP or UDP flow on its first payload byte
 * and found again by the flow's id in an open-addressed table (linear
 * probing, backward-shift deletion), so the flow table's slots stay at
 * their 200-byte budget: a flow that never carries payload costs the
 * analyzers nothing. A session is in one of three phases:
 *   DETECT  the first bytes of both sides are kept for the probes;
 *   ATTACH  an analyzer has it: bytes go straight to it;
 *   DONE    nothing will be analysed (no probe said yes, or the analyzer
 *           detached): reassembly stops and its memory is freed, but the
 *           session stays so that the flow is not detected again and
 *           its service is still reported.
 */
#include "analyzer.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn_record.h"
#include "reasm.h"

enum an_phase { AN_DETECT = 0, AN_ATTACH, AN_DONE };

/* The order of arrival of the bytes kept for detection, for the replay. */
#define AN_PROBE_CHUNKS 32

struct an_probe_buf {
	uint8_t data[2][AN_PROBE_MAX];     /* [0] originator, [1] responder */
	uint32_t len[2];
	uint32_t n_chunks;
	struct {
		uint8_t dir;
		uint32_t len;
		uint64_t ts_us;
	} chunk[AN_PROBE_CHUNKS];
};

struct an_session {
	struct an_ctx *ctx;
	struct conn id;
	const struct analyzer *a;          /* the attached analyzer (kept when DONE) */
	void *st;                          /* its state, a->state_size bytes */
	struct an_probe_buf *probe;        /* DETECT only */
	struct reasm_stream rs[2];
	uint8_t phase;                     /* enum an_phase */
	uint8_t an_index;                  /* a's index in an_all */
	bool tcp;
	bool in_map;
	bool attached;                     /* a->init succeeded: a->end is owed */
	bool ended;                        /* a->end has run */
};

#define WEIRD_MAX 128
#define PROBE_SPARES_MAX 64

struct an_ctx {
	struct an_config cfg;
	struct flow_table *ft;
	an_sink_fn sink;
	void *sink_ctx;
	struct reasm_ctx reasm;
	struct an_stats st;
	uint64_t mem;                      /* bytes, without the reassembler's */
	/* flow id -> session */
	struct an_session **map;
	uint32_t map_cap;                  /* a power of two */
	uint32_t map_len;
	/* the record being written */
	struct buf rec;
	struct jsonw w;
	struct an_session *rec_s;
	/* weird counts by name */
	struct {
		const char *name;
		uint64_t n;
	} weird[WEIRD_MAX];
	uint32_t n_weird;
	struct an_probe_buf *spare[PROBE_SPARES_MAX];
	uint32_t n_spare;
};

/* ---- memory -------------------------------------------------------------- */

static uint64_t mem_total(const struct an_ctx *c)
{
	return c->mem + c->reasm.st.buffered;
}

static void mem_note(struct an_ctx *c)
{
	uint64_t m = mem_total(c);

	c->st.mem_bytes = m;
	if (m > c->st.mem_peak)
		c->st.mem_peak = m;
}

/* Allocates len bytes charged to the cap: zeroed, or not (raw). */
static void *ctx_alloc_any(struct an_ctx *c, size_t len, bool zero)
{
	void *p;

	if (mem_total(c) + len > c->cfg.mem_max)
		return NULL;
	p = zero ? calloc(1, len) : malloc(len);
	if (p == NULL)
		return NULL;
	c->mem += len;
	mem_note(c);
	return p;
}

static void *ctx_alloc(struct an_ctx *c, size_t len)
{
	return ctx_alloc_any(c, len, true);
}

static void *ctx_alloc_raw(struct an_ctx *c, size_t len)
{
	return ctx_alloc_any(c, len, false);
}

static void ctx_free(struct an_ctx *c, void *p, size_t len)
{
	if (p == NULL)
		return;
	free(p);
	c->mem -= len;
	mem_note(c);
}

void *an_alloc(struct an_session *s, size_t len)
{
	void *p = ctx_alloc(s->ctx, len);

	if (p == NULL)
		an_weird(s, "analyzer_no_memory");
	return p;
}

void *an_realloc(struct an_session *s, void *p, size_t old_len, size_t new_len)
{
	struct an_ctx *c = s->ctx;
	void *q;

	if (new_len > old_len && mem_total(c) + (new_len - old_len) > c->cfg.mem_max) {
		an_weird(s, "analyzer_no_memory");
		return NULL;
	}
	q = realloc(p, new_len);
	if (q == NULL && new_len > 0) {
		an_weird(s, "analyzer_no_memory");
		return NULL;
	}
	c->mem = c->mem - old_len + new_len;
	mem_note(c);
	return q;
}

void an_free(struct an_session *s, void *p, size_t len)
{
	ctx_free(s->ctx, p, len);
}

/* ---- the session map ------------------------------------------------------ */

static uint32_t map_slot(uint32_t id, uint32_t cap)
{
	return (id * 0x9e3779b1u) & (cap - 1);
}

static struct an_session *map_get(const struct an_ctx *c, uint32_t id)
{
	uint32_t i;

	if (c->map_len == 0)
		return NULL;
	for (i = map_slot(id, c->map_cap);; i = (i + 1) & (c->map_cap - 1)) {
		struct an_session *s = c->map[i];

		if (s == NULL)
			return NULL;
		if (s->id.flow_id == id)
			return s;
	}
}

static int map_grow(struct an_ctx *c)
{
	uint32_t ncap = c->map_cap ? c->map_cap * 2 : 1024, i, j;
	size_t bytes = (size_t)ncap * sizeof(*c->map);
	struct an_session **m;

	if (mem_total(c) + bytes > c->cfg.mem_max)
		return -ENOMEM;
	m = calloc(ncap, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	for (i = 0; i < c->map_cap; i++) {
		struct an_session *s = c->map[i];

		if (s == NULL)
			continue;
		for (j = map_slot(s->id.flow_id, ncap); m[j] != NULL; j = (j + 1) & (ncap - 1))
			;
		m[j] = s;
	}
	free(c->map);
	c->mem = c->mem - (size_t)c->map_cap * sizeof(*c->map) + bytes;
	mem_note(c);
	c->map = m;
	c->map_cap = ncap;
	return 0;
}

static int map_put(struct an_ctx *c, struct an_session *s)
{
	uint32_t i;

	if ((c->map_len + 1) * 2 > c->map_cap && map_grow(c) < 0)
		return -ENOMEM;
	for (i = map_slot(s->id.flow_id, c->map_cap); c->map[i] != NULL;
	     i = (i + 1) & (c->map_cap - 1))
		;
	c->map[i] = s;
	c->map_len++;
	s->in_map = true;
	return 0;
}

static void map_del(struct an_ctx *c, struct an_session *s)
{
	uint32_t mask = c->map_cap - 1, i, j;

	for (i = map_slot(s->id.flow_id, c->map_cap); c->map[i] != s; i = (i + 1) & mask)
		;
	/* Backward shift: move later members of the run into the hole when
	 * their home slot does not lie between the hole and them. */
	for (j = (i + 1) & mask; c->map[j] != NULL; j = (j + 1) & mask) {
		uint32_t home = map_slot(c->map[j]->id.flow_id, c->map_cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			c->map[i] = c->map[j];
			i = j;
		}
	}
	c->map[i] = NULL;
	c->map_len--;
	s->in_map = false;
}

/* ---- records ------------------------------------------------------------- */

struct jsonw *an_record_begin(struct an_session *s, const char *type, uint64_t ts_us)
{
	struct an_ctx *c = s->ctx;

	buf_reset(&c->rec);
	jsonw_init(&c->w, &c->rec);
	c->rec_s = s;
	jsonw_object_open(&c->w);
	jsonw_kv_ascii(&c->w, "type", type);
	jsonw_kv_time_us(&c->w, "ts", (int64_t)ts_us);
	conn_record_id(&c->w, &s->id);
	return &c->w;
}

void an_record_end(struct an_session *s, enum spool_class cls)
{
	struct an_ctx *c = s->ctx;

	jsonw_kv_cstr(&c->w, "community_id", s->id.community_id);
	jsonw_object_close(&c->w);
	c->rec_s = NULL;
	if (jsonw_finish(&c->w) != 0) {
		an_weird(s, "record_too_large");
		return;
	}
	c->st.records++;
	if (cls == SPOOL_P0)
		c->st.notices++;
	c->sink(c->sink_ctx, cls, (const char *)c->rec.data, c->rec.len);
}

int an_user_format(enum an_user_mask mode, const uint8_t *u, size_t len, char *out,
		   size_t outsz)
{
	if (mode == AN_USER_OMIT || len == 0 || outsz < 5)
		return -1;
	if (mode == AN_USER_CLEAR) {
		if (len > outsz)
			len = outsz;
		memcpy(out, u, len);
		return (int)len;
	}
	/* First and last byte kept only when printable ASCII (a UTF-8
	 * sequence would be cut). */
	memcpy(out, "*****", 5);
	if (len < 4)
		return 3;
	if (u[0] > 0x20 && u[0] < 0x7f)
		out[0] = (char)u[0];
	if (u[len - 1] > 0x20 && u[len - 1] < 0x7f)
		out[4] = (char)u[len - 1];
	return 5;
}

void an_notice_cleartext(struct an_session *s, const char *proto, const char *mechanism,
			 const uint8_t *user, size_t user_len, uint64_t ts_us)
{
	struct jsonw *w = an_record_begin(s, "notice", ts_us);
	struct an_ctx *c = s->ctx;
	char msg[160], name[256];
	int n;

	jsonw_kv_ascii(w, "note", "Cleartext_Credentials");
	snprintf(msg, sizeof(msg), "%s credentials sent in cleartext (%s)", proto, mechanism);
	jsonw_kv_cstr(w, "msg", msg);
	jsonw_kv_ascii(w, "service", proto);
	jsonw_kv_ascii(w, "mechanism", mechanism);
	n = an_user_format(c->cfg.user_mask, user, user_len, name, sizeof(name));
	if (n > 0)
		jsonw_kv_str(w, "user", name, (size_t)n);
	an_record_end(s, SPOOL_P0);
}

void an_weird(struct an_session *s, const char *name)
{
	struct an_ctx *c = s->ctx;
	uint32_t i;

	for (i = 0; i < c->n_weird; i++) {
		if (c->weird[i].name == name || strcmp(c->weird[i].name, name) == 0) {
			c->weird[i].n++;
			return;
		}
	}
	if (c->n_weird == WEIRD_MAX)
		i = WEIRD_MAX - 1;     /* the last entry takes the rest */
	else
		c->weird[c->n_weird++].name = name;
	c->weird[i].n++;
}

void an_weirds(const struct an_ctx *c, void (*fn)(void *arg, const char *name, uint64_t n),
	       void *arg)
{
	uint32_t i;

	for (i = 0; i < c->n_weird; i++)
		fn(arg, c->weird[i].name, c->weird[i].n);
}

const struct conn *an_conn(const struct an_session *s)
{
	return &s->id;
}

const struct an_config *an_session_config(const struct an_session *s)
{
	return &s->ctx->cfg;
}

/* ---- sessions ------------------------------------------------------------ */

static void reasm_stats_copy(struct an_ctx *c)
{
	const struct reasm_stats *r = &c->reasm.st;

	c->st.reasm_bytes = r->delivered_bytes;
	c->st.reasm_ooo = r->ooo_segments;
	c->st.reasm_overlap_bytes = r->overlap_bytes;
	c->st.reasm_overlap_conflicts = r->overlap_conflicts;
	c->st.reasm_bad_seq = r->bad_seq;
	c->st.reasm_gap_bytes = r->gap_bytes;
	c->st.reasm_depth_cut = r->depth_cut;
	c->st.reasm_mem_drops = r->mem_drops;
	c->st.reasm_buffered = r->buffered;
	c->st.reasm_buffered_peak = r->buffered_peak;
}

/* Detection buffers are 4 KiB each and every session takes one for a
 * few packets: a short list of spare ones saves the allocator's work
 * (and the page faults of fresh memory). Spares stay charged to the
 * context's memory. */
#define PROBE_SPARES PROBE_SPARES_MAX

static struct an_probe_buf *probe_get(struct an_ctx *c)
{
	struct an_probe_buf *pb;

	if (c->n_spare > 0)
		pb = c->spare[--c->n_spare];
	else if ((pb = ctx_alloc_raw(c, sizeof(*pb))) == NULL)
		return NULL;
	pb->len[0] = pb->len[1] = 0;
	pb->n_chunks = 0;
	return pb;
}

static void probe_free(struct an_session *s)
{
	struct an_ctx *c = s->ctx;

	if (s->probe == NULL)
		return;
	if (c->n_spare < PROBE_SPARES)
		c->spare[c->n_spare++] = s->probe;
	else
		ctx_free(c, s->probe, sizeof(*s->probe));
	s->probe = NULL;
}

/* No more analysis: frees what DETECT and ATTACH held. */
static void session_done(struct an_session *s, uint64_t ts_us)
{
	if (s->attached && !s->ended) {
		s->ended = true;
		if (s->a->end != NULL)
			s->a->end(s->st, s, ts_us);
	}
	probe_free(s);
	if (s->st != NULL) {
		ctx_free(s->ctx, s->st, s->a->state_size);
		s->st = NULL;
	}
	if (s->tcp) {
		reasm_stream_free(&s->ctx->reasm, &s->rs[0]);
		reasm_stream_free(&s->ctx->reasm, &s->rs[1]);
	}
	s->phase = AN_DONE;
}

void an_session_detach(struct an_session *s)
{
	/* The bytes stop at session_data; the reassembler lets go after
	 * the packet (an_packet); the analyzer's end still runs at the
	 * flow's end, with its state. */
	s->phase = AN_DONE;
}

/* Gives the session to `a`. On failure (-ENOMEM) the session is DONE. */
static int attach(struct an_session *s, const struct analyzer *a, uint8_t index)
{
	s->a = a;
	s->an_index = index;
	if (a->state_size > 0 && (s->st = ctx_alloc(s->ctx, a->state_size)) == NULL) {
		an_weird(s, "analyzer_no_memory");
		goto fail;
	}
	if (a->init != NULL && a->init(s->st, s) < 0) {
		an_weird(s, "analyzer_no_memory");
		goto fail;
	}
	s->attached = true;
	s->phase = AN_ATTACH;
	if (index < sizeof(s->ctx->st.detected) / sizeof(s->ctx->st.detected[0]))
		s->ctx->st.detected[index]++;
	return 0;
fail:
	session_done(s, 0);
	s->a = NULL;
	return -ENOMEM;
}

static void deliver_attached(struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
			     uint64_t ts_us)
{
	if (s->a->data != NULL)
		s->a->data(s->st, s, is_orig, d, len, ts_us);
}

/* Runs the probes on what detection holds. */
static void detect(struct an_session *s, bool complete)
{
	struct an_probe_buf *pb = s->probe;
	struct an_probe_view v = {
		.orig = pb->data[0], .orig_len = pb->len[0],
		.resp = pb->data[1], .resp_len = pb->len[1],
		.proto = s->id.proto, .orig_p = s->id.orig_p, .resp_p = s->id.resp_p,
	};
	uint8_t want = s->tcp ? AN_T_TCP : AN_T_UDP;
	bool maybe = false;
	uint32_t i, off[2] = { 0, 0 };

	for (i = 0; an_all[i] != NULL; i++) {
		enum an_probe_result r;

		if (!(an_all[i]->transports & want) || an_all[i]->probe == NULL)
			continue;
		r = an_all[i]->probe(&v);
		if (r == AN_PROBE_YES) {
			if (attach(s, an_all[i], (uint8_t)i) < 0)
				return;
			/* Replay in the order of arrival; the state of pb is
			 * stable as long as the analyzer runs (it cannot
			 * detect again). */
			for (uint32_t k = 0; k < pb->n_chunks && s->phase == AN_ATTACH; k++) {
				uint8_t d = pb->chunk[k].dir;

				deliver_attached(s, d == 0, pb->data[d] + off[d], pb->chunk[k].len,
						 pb->chunk[k].ts_us);
				off[d] += pb->chunk[k].len;
			}
			probe_free(s);
			return;
		}
		if (r == AN_PROBE_MAYBE)
			maybe = true;
	}
	if (s->phase == AN_DETECT && (!maybe || complete)) {
		s->ctx->st.undetected++;
		session_done(s, 0);
	}
}

static void session_data(struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
			 uint64_t ts_us)
{
	struct an_probe_buf *pb;
	uint8_t dir = is_orig ? 0 : 1;
	size_t whole = len;
	bool full;

	if (len == 0)
		return;
	if (s->phase == AN_ATTACH) {
		deliver_attached(s, is_orig, d, len, ts_us);
		return;
	}
	if (s->phase != AN_DETECT)
		return;
	if (s->probe == NULL && (s->probe = probe_get(s->ctx)) == NULL) {
		an_weird(s, "analyzer_no_memory");
		session_done(s, ts_us);
		return;
	}
	pb = s->probe;
	/* A chunk that does not fit whole gets its last chance: the probes
	 * see what fits, and must decide now. */
	full = len > AN_PROBE_MAX - pb->len[dir] || pb->n_chunks == AN_PROBE_CHUNKS - 1;
	if (len > AN_PROBE_MAX - pb->len[dir])
		len = AN_PROBE_MAX - pb->len[dir];
	memcpy(pb->data[dir] + pb->len[dir], d, len);
	pb->len[dir] += (uint32_t)len;
	pb->chunk[pb->n_chunks].dir = dir;
	pb->chunk[pb->n_chunks].len = (uint32_t)len;
	pb->chunk[pb->n_chunks].ts_us = ts_us;
	pb->n_chunks++;
	detect(s, full);
	/* Attached on a cut chunk: the replay gave the part that fit. */
	if (s->phase == AN_ATTACH && whole > len)
		deliver_attached(s, is_orig, d + len, whole - len, ts_us);
}

static void session_gap(struct an_session *s, bool is_orig, uint64_t len)
{
	if (s->phase == AN_DETECT) {
		/* Detection needs the start of the streams. */
		s->ctx->st.undetected++;
		session_done(s, 0);
		return;
	}
	if (s->phase != AN_ATTACH)
		return;
	if (s->a->gap != NULL)
		s->a->gap(s->st, s, is_orig, len);
	else
		an_session_detach(s);
}

/* The reassembler's callbacks. */
static void on_deliver(void *ctx, bool is_orig, const uint8_t *d, size_t len, uint64_t ts_us)
{
	session_data(ctx, is_orig, d, len, ts_us);
}

static void on_gap(void *ctx, bool is_orig, uint64_t len)
{
	session_gap(ctx, is_orig, len);
}

static struct an_session *session_new(struct an_ctx *c, const struct conn *id)
{
	struct an_session *s;

	if (c->st.sessions_active >= c->cfg.max_sessions ||
	    (s = ctx_alloc(c, sizeof(*s))) == NULL) {
		c->st.sessions_denied++;
		return NULL;
	}
	s->ctx = c;
	s->id = *id;
	s->tcp = id->proto == IPPROTO_TCP;
	reasm_stream_init(&s->rs[0]);
	reasm_stream_init(&s->rs[1]);
	c->st.sessions++;
	c->st.sessions_active++;
	return s;
}

static void session_free(struct an_session *s, uint64_t ts_us)
{
	struct an_ctx *c = s->ctx;

	session_done(s, ts_us);
	if (s->in_map)
		map_del(c, s);
	c->st.sessions_active--;
	ctx_free(c, s, sizeof(*s));
}

/* No more analysis of the flow: flushes what the reassembler holds, lets
 * detection decide on what it has, ends the analyzer (its records are
 * written) and frees everything but the session itself, which stays
 * until the flow ends so that the flow is not analyzed again and its
 * service is reported. */
static void session_finish(struct an_session *s, uint64_t ts_us)
{
	if (s->tcp && s->phase != AN_DONE) {
		struct reasm_out o0 = { on_deliver, on_gap, s, true };
		struct reasm_out o1 = { on_deliver, on_gap, s, false };

		reasm_stream_flush(&s->ctx->reasm, &s->rs[0], &o0, ts_us);
		reasm_stream_flush(&s->ctx->reasm, &s->rs[1], &o1, ts_us);
	}
	if (s->phase == AN_DETECT) {
		if (s->probe != NULL)
			detect(s, true);
		if (s->phase == AN_DETECT) {
			s->ctx->st.undetected++;
			session_done(s, ts_us);
		}
	}
	session_done(s, ts_us);
}

/* The flow ended: finishes the session and frees it. */
static void session_end(struct an_session *s, uint64_t ts_us)
{
	struct an_ctx *c = s->ctx;

	session_finish(s, ts_us);
	session_free(s, ts_us);
	reasm_stats_copy(c);
}

/* ---- the packet path ----------------------------------------------------- */

void an_packet(struct an_ctx *c, const struct flow_ref *ref, const struct pkt *p)
{
	struct an_session *s;
	uint8_t dir = ref->is_orig ? 0 : 1;

	if (!c->cfg.enabled || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return;
	s = map_get(c, ref->id);
	if (s == NULL) {
		struct conn id;

		if (p->payload_wire_len == 0)
			return;
		if (c->ft == NULL || flow_table_conn_ident(c->ft, ref->id, &id) < 0)
			return;
		if ((s = session_new(c, &id)) == NULL)
			return;
		if (map_put(c, s) < 0) {
			c->st.sessions_denied++;
			c->st.sessions_active--;
			ctx_free(c, s, sizeof(*s));
			return;
		}
		if (s->tcp) {
			uint32_t seq;

			/* Start each side where the flow table says its data
			 * starts, so a first segment out of order is held. */
			for (int d = 0; d < 2; d++) {
				if (flow_table_tcp_first_seq(c->ft, ref->id, d == 0, &seq)) {
					s->rs[d].next = seq;
					s->rs[d].started = true;
				}
			}
		}
	} else if (ref->flipped && s->tcp) {
		struct reasm_stream t = s->rs[0];

		s->rs[0] = s->rs[1];
		s->rs[1] = t;
		(void)flow_table_conn_ident(c->ft, ref->id, &s->id);
	}
	if (s->phase == AN_DONE)
		return;
	if (!s->tcp) {
		session_data(s, ref->is_orig, p->payload, p->payload_len, p->ts_us);
		if (p->payload_len < p->payload_wire_len && s->phase == AN_ATTACH)
			an_weird(s, "truncated_datagram");
		return;
	}
	{
		struct reasm_out o = { on_deliver, on_gap, s, ref->is_orig };
		struct reasm_out peer = { on_deliver, on_gap, s, !ref->is_orig };
		uint64_t conflicts = c->reasm.st.overlap_conflicts;

		if (p->payload_wire_len > 0 || (p->tcp_flags & (PKT_TCP_SYN | PKT_TCP_FIN)))
			reasm_segment(&c->reasm, &s->rs[dir], &o, p->seq, p->tcp_flags, p->payload,
				      p->payload_len, p->payload_wire_len, p->ts_us);
		/* A retransmission that says something else than the first
		 * copy: an evasion attempt or a broken stack (Zeek's weird). */
		if (c->reasm.st.overlap_conflicts != conflicts)
			an_weird(s, "rexmit_inconsistency");
		if ((p->tcp_flags & PKT_TCP_ACK) && s->rs[!dir].started && s->phase != AN_DONE)
			reasm_ack(&c->reasm, &s->rs[!dir], &peer, p->ack, p->ts_us);
	}
	if (s->phase == AN_DONE) {
		/* Let the reassembler's memory go now, not at the flow's end. */
		reasm_stream_free(&c->reasm, &s->rs[0]);
		reasm_stream_free(&c->reasm, &s->rs[1]);
	} else if ((p->tcp_flags & PKT_TCP_RST) ||
		   (reasm_stream_done(&s->rs[0]) && reasm_stream_done(&s->rs[1]))) {
		/* The connection is over (both FINs delivered, or a reset):
		 * its records now, and its memory back, rather than after
		 * the flow table's 5 s linger. */
		session_finish(s, p->ts_us);
	}
	reasm_stats_copy(c);
	mem_note(c);
}

const char *an_flow_end(struct an_ctx *c, const struct conn *conn)
{
	struct an_session *s = map_get(c, conn->flow_id);
	const char *service;

	if (s == NULL)
		return NULL;
	service = s->a != NULL ? s->a->name : NULL;
	if (!conn->interim)
		session_end(s, conn->ts_us + conn->duration_us);
	return service;
}

/* ---- the context --------------------------------------------------------- */

void an_config_defaults(struct an_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	cfg->mem_max = 64u * 1024 * 1024;
	cfg->depth_bytes = 1024 * 1024;
	cfg->max_sessions = 262144;
	cfg->user_mask = AN_USER_MASK;
	cfg->max_uri_bytes = 8192;
	cfg->max_header_bytes = 8192;
	cfg->file_depth_bytes = 0;
	cfg->file_hashes = true;
}

int an_ctx_create(struct an_ctx **out, const struct an_config *cfg, struct flow_table *ft,
		  an_sink_fn sink, void *sink_ctx)
{
	struct an_ctx *c;

	*out = NULL;
	if (sink == NULL)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	if (cfg != NULL)
		c->cfg = *cfg;
	else
		an_config_defaults(&c->cfg);
	if (c->cfg.mem_max == 0 || c->cfg.max_sessions == 0) {
		free(c);
		return -EINVAL;
	}
	c->ft = ft;
	c->sink = sink;
	c->sink_ctx = sink_ctx;
	/* Half the cap may be held out of order; the rest is sessions and
	 * analyzer state. */
	c->reasm.mem_max = c->cfg.mem_max / 2;
	c->reasm.depth_bytes = c->cfg.depth_bytes;
	buf_init(&c->rec);
	*out = c;
	return 0;
}

void an_ctx_destroy(struct an_ctx *c)
{
	uint32_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->map_cap; i++) {
		/* session_end shifts the run into slot i: look again. */
		while (c->map[i] != NULL)
			session_end(c->map[i], c->map[i]->id.ts_us);
	}
	while (c->n_spare > 0)
		free(c->spare[--c->n_spare]);
	free(c->map);
	buf_free(&c->rec);
	free(c);
}

const struct an_stats *an_ctx_stats(const struct an_ctx *c)
{
	return &c->st;
}

void an_stats_add(struct an_stats *dst, const struct an_stats *src)
{
	/* Every field is a u64 counter: add them as an array. */
	uint64_t *d = (uint64_t *)dst;
	const uint64_t *s = (const uint64_t *)src;
	size_t i;

	_Static_assert(sizeof(struct an_stats) % sizeof(uint64_t) == 0, "u64 fields only");
	for (i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
		d[i] += s[i];
}

void an_stats_write(struct jsonw *w, const struct an_stats *st)
{
	uint32_t i;

	jsonw_object_open(w);
	jsonw_kv_uint(w, "sessions", st->sessions);
	jsonw_kv_uint(w, "sessions_denied", st->sessions_denied);
	jsonw_key(w, "detected");
	jsonw_object_open(w);
	for (i = 0; an_all[i] != NULL && i < sizeof(st->detected) / sizeof(st->detected[0]); i++)
		jsonw_kv_uint(w, an_all[i]->name, st->detected[i]);
	jsonw_object_close(w);
	jsonw_kv_uint(w, "undetected", st->undetected);
	jsonw_kv_uint(w, "records", st->records);
	jsonw_kv_uint(w, "notices", st->notices);
	jsonw_kv_uint(w, "mem_peak_bytes", st->mem_peak);
	jsonw_key(w, "reasm");
	jsonw_object_open(w);
	jsonw_kv_uint(w, "bytes", st->reasm_bytes);
	jsonw_kv_uint(w, "ooo_segments", st->reasm_ooo);
	jsonw_kv_uint(w, "overlap_bytes", st->reasm_overlap_bytes);
	jsonw_kv_uint(w, "overlap_conflicts", st->reasm_overlap_conflicts);
	jsonw_kv_uint(w, "bad_seq", st->reasm_bad_seq);
	jsonw_kv_uint(w, "gap_bytes", st->reasm_gap_bytes);
	jsonw_kv_uint(w, "depth_cut", st->reasm_depth_cut);
	jsonw_kv_uint(w, "mem_drops", st->reasm_mem_drops);
	jsonw_kv_uint(w, "buffered_peak_bytes", st->reasm_buffered_peak);
	jsonw_object_close(w);
	jsonw_object_close(w);
}

/* ---- tests --------------------------------------------------------------- */

struct an_session *an_test_session(struct an_ctx *c, const struct conn *id,
				   const struct analyzer *a)
{
	struct an_session *s = session_new(c, id);
	uint32_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; an_all[i] != NULL && an_all[i] != a; i++)
		;
	if (attach(s, a, (uint8_t)i) < 0) {
		session_free(s, 0);
		return NULL;
	}
	return s;
}

void an_test_data(struct an_session *s, bool is_orig, const uint8_t *d, size_t len,
		  uint64_t ts_us)
{
	session_data(s, is_orig, d, len, ts_us);
}

void an_test_gap(struct an_session *s, bool is_orig, uint64_t len)
{
	session_gap(s, is_orig, len);
}

void an_test_end(struct an_session *s, uint64_t ts_us)
{
	session_free(s, ts_us);
}
