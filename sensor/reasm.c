/* reasm: TCP stream reassembly (reasm.h).
 *
 * A stream keeps `next`, the sequence number of the next byte to give out,
 * and a list of held blocks: copies of bytes that arrived after a hole,
 * sorted by sequence number, never overlapping each other, all at or after
 * `next`. Three moves change a stream:
 *   - an in-order segment is given out straight from the caller's buffer,
 *     except where a held block already covers it (first wins);
 *   - an out-of-order segment fills only the holes between held blocks
 *     (first wins again), appended to the block before it when it
 *     continues it;
 *   - advance() declares everything before a target sequence number:
 *     holes become gaps, held blocks are given out.
 * Every position is compared relative to `next`, modulo 2^32 (RFC 9293
 * 3.4), which is sound because nothing is kept more than REASM_WINDOW
 * ahead of it.
 */
#include "reasm.h"

#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "reasm_internal.h"

#define SEG_HDR ((uint32_t)sizeof(struct reasm_seg))

/* a - b as a signed distance on the sequence circle. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* Where x is, in bytes after `next` (held blocks are never before it). */
static inline uint32_t rel(const struct reasm_stream *s, uint32_t x)
{
	return x - s->next;
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Nothing more to do: the depth was reached, or every byte before the FIN
 * was given out. */
static inline bool stream_done(const struct reasm_stream *s)
{
	return s->cut || (s->fin && s->next == s->fin_seq);
}

bool reasm_stream_done(const struct reasm_stream *s)
{
	return stream_done(s);
}

/* ---- memory -------------------------------------------------------- */

static bool fits(const struct reasm_ctx *c, const struct reasm_stream *s, uint32_t n)
{
	if ((uint64_t)s->held_bytes + n > REASM_HOLD_MAX)
		return false;
	return c->mem_max == 0 || c->st.buffered + n <= c->mem_max;
}

static bool mem_full(const struct reasm_ctx *c, uint32_t n)
{
	return c->mem_max != 0 && c->st.buffered + n > c->mem_max;
}

static void charge(struct reasm_ctx *c, struct reasm_stream *s, uint32_t n)
{
	s->held_bytes += n;
	c->st.buffered += n;
	if (c->st.buffered > c->st.buffered_peak)
		c->st.buffered_peak = c->st.buffered;
}

static void release(struct reasm_ctx *c, struct reasm_stream *s, struct reasm_seg *g)
{
	s->held_bytes -= SEG_HDR + g->cap;
	c->st.buffered -= SEG_HDR + g->cap;
	free(g);
}

static void free_all(struct reasm_ctx *c, struct reasm_stream *s)
{
	struct reasm_seg *g, *nx;

	for (g = s->held; g; g = nx) {
		nx = g->next;
		release(c, s, g);
	}
	s->held = NULL;
}

/* ---- the list ------------------------------------------------------ */

static struct reasm_seg *pop_head(struct reasm_stream *s)
{
	struct reasm_seg *h = s->held;

	s->held = h->next;
	if (s->held)
		s->held->prev = h->prev;
	return h;
}

static void unlink_tail(struct reasm_stream *s, struct reasm_seg *t)
{
	if (t == s->held) {
		s->held = NULL;
		return;
	}
	t->prev->next = NULL;
	s->held->prev = t->prev;
}

/* Links g after p, or first when p is NULL. */
static void link_after(struct reasm_stream *s, struct reasm_seg *p, struct reasm_seg *g)
{
	struct reasm_seg *h = s->held;

	if (!p) {
		g->next = h;
		g->prev = h ? h->prev : g;
		if (h)
			h->prev = g;
		s->held = g;
		return;
	}
	g->prev = p;
	g->next = p->next;
	if (p->next)
		p->next->prev = g;
	else
		h->prev = g;
	p->next = g;
}

/* ---- giving out ---------------------------------------------------- */

static void reach_depth(struct reasm_ctx *c, struct reasm_stream *s)
{
	s->cut = true;
	c->st.depth_cut++;
	free_all(c, s);
}

/* Bytes left before the depth, or UINT64_MAX. */
static inline uint64_t depth_room(const struct reasm_ctx *c, const struct reasm_stream *s)
{
	return c->depth_bytes ? c->depth_bytes - s->offset : UINT64_MAX;
}

static void out_data(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		     const uint8_t *d, uint32_t n, uint64_t ts_us)
{
	bool last = false;

	if (n >= depth_room(c, s)) {
		n = (uint32_t)depth_room(c, s);
		last = true;
	}
	if (n)
		o->deliver(o->ctx, o->is_orig, d, n, ts_us);
	s->next += n;
	s->offset += n;
	c->st.delivered_bytes += n;
	if (last)
		reach_depth(c, s);
}

static void out_gap(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		    uint32_t n)
{
	bool last = false;

	if (n >= depth_room(c, s)) {
		n = (uint32_t)depth_room(c, s);
		last = true;
	}
	if (n && o->gap)
		o->gap(o->ctx, o->is_orig, n);
	s->next += n;
	s->offset += n;
	c->st.gap_bytes += n;
	if (last)
		reach_depth(c, s);
}

/* Moves `target` later to `t` if t is after it, never past the FIN. */
static uint32_t later(const struct reasm_stream *s, uint32_t target, uint32_t t)
{
	if (seq_diff(t, target) > 0)
		target = t;
	if (s->fin && seq_diff(target, s->fin_seq) > 0)
		target = s->fin_seq;
	return target;
}

/* Declares every byte before `target`: holes become gaps, held blocks are
 * given out; then gives out the held blocks that are contiguous after it.
 * A block whose tail the snap length cut pushes the target past the cut. */
static void advance(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		    uint32_t target, uint64_t ts_us)
{
	struct reasm_seg *h;

	target = later(s, target, target);
	while (!stream_done(s)) {
		h = s->held;
		if (h && h->seq == s->next) {
			pop_head(s);
			if (h->cut)
				target = later(s, target, h->seq + h->len + h->cut);
			out_data(c, s, o, h->d, h->len, ts_us);
			release(c, s, h);
			continue;
		}
		if (seq_diff(target, s->next) <= 0)
			break;
		if (h && seq_diff(h->seq, target) < 0)
			out_gap(c, s, o, h->seq - s->next);
		else
			out_gap(c, s, o, target - s->next);
	}
}

/* A segment that starts at `next`: its bytes go out from the caller's
 * buffer, except where held blocks cover them (those win, and are
 * compared); the snap length's cut after them is declared a gap. */
static void in_order(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		     const uint8_t *d, uint32_t len, uint32_t wire_len, uint64_t ts_us)
{
	uint32_t target = s->next + wire_len, n;
	bool conflict = false;
	struct reasm_seg *h;

	while (len && !stream_done(s)) {
		h = s->held;
		if (h && h->seq == s->next) {
			n = min_u32(len, h->len);
			if (memcmp(d, h->d, n) != 0)
				conflict = true;
			c->st.overlap_bytes += n;
			d += n;
			len -= n;
			pop_head(s);
			if (h->cut)
				target = later(s, target, h->seq + h->len + h->cut);
			out_data(c, s, o, h->d, h->len, ts_us);
			release(c, s, h);
			continue;
		}
		n = h ? min_u32(len, h->seq - s->next) : len;
		out_data(c, s, o, d, n, ts_us);
		d += n;
		len -= n;
	}
	if (conflict)
		c->st.overlap_conflicts++;
	advance(c, s, o, target, ts_us);
}

/* ---- holding ------------------------------------------------------- */

/* Sets the cut after g's data so the skip reaches at least `end`. */
static void merge_cut(struct reasm_seg *g, uint32_t end)
{
	uint32_t g_end = g->seq + g->len;

	if (seq_diff(end, g_end + g->cut) > 0)
		g->cut = end - g_end;
}

/* Grows g (linked in s) to hold `cap` bytes; the block may move. */
static struct reasm_seg *grow(struct reasm_ctx *c, struct reasm_stream *s, struct reasm_seg *g,
			      uint32_t cap)
{
	bool head = s->held == g, tail = g->next == NULL;
	uint32_t old = g->cap;
	struct reasm_seg *n;

	n = realloc(g, SEG_HDR + cap);
	if (!n)
		return NULL;
	/* g is gone: relink its neighbours to n. */
	if (head)
		s->held = n;
	else
		n->prev->next = n;
	if (!tail)
		n->next->prev = n;
	else if (head)
		n->prev = n;
	else
		s->held->prev = n;
	n->cap = cap;
	charge(c, s, cap - old);
	return n;
}

/* Holds `n` bytes at sequence `seq` in a hole that starts right after p
 * (first when p is NULL), appending to p when it ends at `seq` and can
 * grow; `cut` bytes after them were cut by the snap length. The block that
 * holds them, or NULL when memory did not allow it. */
static struct reasm_seg *put(struct reasm_ctx *c, struct reasm_stream *s, struct reasm_seg *p,
			     uint32_t seq, const uint8_t *d, uint32_t n, uint32_t cut)
{
	struct reasm_seg *g;
	uint32_t cap;

	if (p && p->seq + p->len == seq && p->len + n <= REASM_SEG_MAX) {
		if (p->cap - p->len < n) {
			/* Geometric growth keeps a long run behind a hole at
			 * about one copy per byte; exact when the limits are
			 * near. */
			cap = p->cap * 2 > REASM_SEG_MAX ? REASM_SEG_MAX : p->cap * 2;
			if (cap < p->len + n || !fits(c, s, cap - p->cap))
				cap = p->len + n;
			if (!fits(c, s, cap - p->cap) || !(g = grow(c, s, p, cap)))
				goto new_block;
			p = g;
		}
		memcpy(p->d + p->len, d, n);
		p->len += n;
		/* The old cut began where these bytes are now. */
		p->cut = p->cut > n ? p->cut - n : 0;
		merge_cut(p, seq + n + cut);
		return p;
	}
new_block:
	if (!fits(c, s, SEG_HDR + n) || !(g = malloc(SEG_HDR + n)))
		return NULL;
	g->seq = seq;
	g->len = n;
	g->cap = n;
	g->cut = cut;
	memcpy(g->d, d, n);
	charge(c, s, SEG_HDR + n);
	link_after(s, p, g);
	return g;
}

/* Holds a segment that starts after `next` (a = its offset from next,
 * len bytes, `cut` more sent): its bytes go into the holes between held
 * blocks; where a block covers them, the block wins. */
static void hold(struct reasm_ctx *c, struct reasm_stream *s, uint32_t a, const uint8_t *d,
		 uint32_t len, uint32_t cut)
{
	struct reasm_seg *p = NULL, *nx, *g;
	uint32_t b = a + len, cur = a, at, end, n;
	bool placed = false, conflict = false, lost = false;

	/* p: the last block that starts at or before a, if any. */
	if (s->held && rel(s, s->held->seq) <= a) {
		p = s->held->prev;
		if (rel(s, p->seq) > a)
			for (p = s->held; p->next && rel(s, p->next->seq) <= a; p = p->next)
				;
	}
	for (;;) {
		if (p) {
			at = rel(s, p->seq);
			end = at + p->len;
			if (end > cur) {
				n = min_u32(end, b) - cur;
				if (memcmp(d + (cur - a), p->d + (cur - at), n) != 0)
					conflict = true;
				c->st.overlap_bytes += n;
				cur += n;
				if (cur == b && end == b && cut)
					merge_cut(p, s->next + b + cut);
			}
		}
		if (cur >= b)
			break;
		nx = p ? p->next : s->held;
		end = nx ? min_u32(rel(s, nx->seq), b) : b;
		if (end > cur) {
			g = put(c, s, p, s->next + cur, d + (cur - a), end - cur, end == b ? cut : 0);
			if (g)
				placed = true;
			else
				lost = true;
			cur = end;
		}
		if (cur >= b)
			break;
		p = nx;
	}
	if (placed)
		c->st.ooo_segments++;
	if (lost)
		c->st.mem_drops++;
	if (conflict)
		c->st.overlap_conflicts++;
}

/* ---- segments ------------------------------------------------------ */

/* The first FIN sets the end; held bytes after it are dropped, and the
 * cuts of those before it (which may reach past later blocks) clipped. */
static void set_fin(struct reasm_ctx *c, struct reasm_stream *s, uint32_t fin_seq)
{
	struct reasm_seg *t;

	if (s->fin || seq_diff(fin_seq, s->next) < 0 || fin_seq - s->next > REASM_WINDOW)
		return;
	s->fin = true;
	s->fin_seq = fin_seq;
	while (s->held && seq_diff(s->held->prev->seq, fin_seq) >= 0) {
		t = s->held->prev;
		unlink_tail(s, t);
		release(c, s, t);
	}
	for (t = s->held; t; t = t->next) {
		if (seq_diff(t->seq + t->len, fin_seq) > 0)
			t->len = fin_seq - t->seq;
		if (seq_diff(t->seq + t->len + t->cut, fin_seq) > 0)
			t->cut = fin_seq - (t->seq + t->len);
	}
}

/* Sets the start from a SYN or the first segment; false: not started. */
static bool start(struct reasm_stream *s, uint32_t dseq, uint8_t flags, uint32_t wire_len)
{
	if (flags & PKT_TCP_SYN) {
		/* A SYN restarts a stream only while it gave out nothing:
		 * the first segment seen may have been reordered before it,
		 * or belong to an earlier connection. */
		if (!s->started || (s->offset == 0 && !s->held && !s->fin)) {
			s->next = dseq;
			s->started = true;
		}
	} else if (!s->started && (wire_len || (flags & PKT_TCP_FIN))) {
		s->next = dseq;
		s->started = true;
	}
	return s->started;
}

static void segment_slow(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
			 uint32_t seq, uint8_t flags, const uint8_t *d, uint32_t len,
			 uint32_t wire_len, uint64_t ts_us)
{
	uint32_t dseq = flags & PKT_TCP_SYN ? seq + 1 : seq, k, target;
	bool counted = false;
	int32_t rel;

	if ((flags & PKT_TCP_RST) || s->cut)
		return;
	if (wire_len < len)
		wire_len = len;
	if (wire_len > REASM_WINDOW) {
		c->st.bad_seq++;
		return;
	}
	if (!start(s, dseq, flags, wire_len))
		return;
	if (flags & PKT_TCP_FIN)
		set_fin(c, s, dseq + wire_len);
	if (wire_len == 0 || stream_done(s))
		return;
	for (;;) {
		rel = seq_diff(dseq, s->next);
		if (rel < 0) {
			/* Bytes already given out (or declared): a
			 * retransmission, whole or in part. */
			k = s->next - dseq;
			if (k >= wire_len) {
				c->st.overlap_bytes += len;
				return;
			}
			c->st.overlap_bytes += min_u32(k, len);
			d += min_u32(k, len);
			len -= min_u32(k, len);
			wire_len -= k;
			dseq = s->next;
			rel = 0;
		} else if ((uint32_t)rel > REASM_WINDOW) {
			c->st.bad_seq++;
			return;
		}
		if (s->fin) {
			if (seq_diff(s->fin_seq, dseq) <= 0)
				return;
			k = s->fin_seq - dseq;
			if (wire_len > k) {
				wire_len = k;
				len = min_u32(len, k);
			}
		}
		if ((uint64_t)(uint32_t)rel >= depth_room(c, s))
			return;
		if ((uint64_t)(uint32_t)rel + wire_len > depth_room(c, s)) {
			wire_len = (uint32_t)(depth_room(c, s) - (uint32_t)rel);
			len = min_u32(len, wire_len);
		}
		if (rel == 0) {
			in_order(c, s, o, d, len, wire_len, ts_us);
			return;
		}
		if (len == 0)
			return;
		if (fits(c, s, SEG_HDR + len)) {
			hold(c, s, (uint32_t)rel, d, len, wire_len - len);
			return;
		}
		/* Over a limit: declare the earliest hole, the one before
		 * the first held block or before this segment, and look
		 * again (the segment may be in order now). Each turn gives
		 * out a block or makes the segment in order. */
		if (!counted && mem_full(c, SEG_HDR + len)) {
			c->st.mem_drops++;
			counted = true;
		}
		target = dseq;
		if (s->held && seq_diff(s->held->seq, dseq) < 0)
			target = s->held->seq;
		advance(c, s, o, target, ts_us);
		if (stream_done(s))
			return;
	}
}

/* ---- public -------------------------------------------------------- */

void reasm_stream_init(struct reasm_stream *s)
{
	memset(s, 0, sizeof(*s));
}

void reasm_segment(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		   uint32_t seq, uint8_t flags, const uint8_t *d, uint32_t len, uint32_t wire_len,
		   uint64_t ts_us)
{
	/* The fast path: the next bytes, nothing held, nothing to cut. */
	if (seq == s->next && !s->held && len == wire_len && len != 0 && s->started && !s->fin &&
	    !s->cut && !(flags & (PKT_TCP_SYN | PKT_TCP_FIN | PKT_TCP_RST)) &&
	    len < depth_room(c, s)) {
		o->deliver(o->ctx, o->is_orig, d, len, ts_us);
		s->next += len;
		s->offset += len;
		c->st.delivered_bytes += len;
		return;
	}
	segment_slow(c, s, o, seq, flags, d, len, wire_len, ts_us);
}

void reasm_ack(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
	       uint32_t ack, uint64_t ts_us)
{
	int32_t ahead = seq_diff(ack, s->next);

	if (ahead <= 0 || !s->started || stream_done(s))
		return;
	if ((uint32_t)ahead > REASM_WINDOW) {
		c->st.bad_seq++;
		return;
	}
	advance(c, s, o, ack, ts_us);
}

void reasm_stream_flush(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
			uint64_t ts_us)
{
	uint32_t target = s->next;
	struct reasm_seg *t;

	if (s->started && !stream_done(s)) {
		if (s->fin) {
			target = s->fin_seq;
		} else if (s->held) {
			t = s->held->prev;
			target = t->seq + t->len + t->cut;
		}
		advance(c, s, o, target, ts_us);
	}
	free_all(c, s);
}

void reasm_stream_free(struct reasm_ctx *c, struct reasm_stream *s)
{
	if (s)
		free_all(c, s);
}
