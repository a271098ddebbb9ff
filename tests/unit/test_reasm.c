/* TCP reassembly (reasm.c): in order, out of order, overlaps both ways
 * with conflicting content (first wins), retransmissions, gaps declared by
 * an ACK, by the hold limit, by the memory cap and at the flush, the snap
 * length's cut, the depth, sequence wraparound, SYN and midstream starts,
 * FIN and RST. Every test checks that the bytes given out plus the gaps
 * cover the stream's sequence span exactly, and that no memory stays
 * charged. A property test feeds randomly cut, reordered and duplicated
 * copies of random streams (fixed seeds) and expects exactly the
 * original bytes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pkt.h"
#include "reasm.h"

#define SYN PKT_TCP_SYN
#define FIN PKT_TCP_FIN
#define RST PKT_TCP_RST
#define ACK PKT_TCP_ACK
#define BUF_MAX (1u << 20)

/* What came out of one stream: bytes at their offsets, gaps marked. */
struct col {
	uint8_t *buf;
	uint8_t *gap;                 /* 1 where the byte was a gap */
	size_t n;                     /* offset reached */
	size_t delivers, gaps;        /* calls */
	uint64_t gap_bytes;
	uint64_t last_ts;
	bool orig_seen, resp_seen;
};

/* The fixture: a context, a stream and its collector. */
struct fx {
	struct reasm_ctx c;
	struct reasm_stream s;
	struct col k;
	struct reasm_out o;
};

static void on_deliver(void *ctx, bool is_orig, const uint8_t *d, size_t len, uint64_t ts_us)
{
	struct col *k = ctx;

	assert_true(len > 0);
	assert_true(k->n + len <= BUF_MAX);
	memcpy(k->buf + k->n, d, len);
	memset(k->gap + k->n, 0, len);
	k->n += len;
	k->delivers++;
	k->last_ts = ts_us;
	if (is_orig)
		k->orig_seen = true;
	else
		k->resp_seen = true;
}

static void on_gap(void *ctx, bool is_orig, uint64_t len)
{
	struct col *k = ctx;

	(void)is_orig;
	assert_true(len > 0);
	assert_true(k->n + len <= BUF_MAX);
	memset(k->buf + k->n, 0, len);
	memset(k->gap + k->n, 1, len);
	k->n += len;
	k->gaps++;
	k->gap_bytes += len;
}

static void col_init(struct col *k)
{
	memset(k, 0, sizeof(*k));
	k->buf = malloc(BUF_MAX);
	k->gap = malloc(BUF_MAX);
	assert_non_null(k->buf);
	assert_non_null(k->gap);
}

static void col_free(struct col *k)
{
	free(k->buf);
	free(k->gap);
}

static struct fx *fx_new(size_t mem_max, uint32_t depth)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->c.mem_max = mem_max;
	f->c.depth_bytes = depth;
	reasm_stream_init(&f->s);
	col_init(&f->k);
	f->o = (struct reasm_out){ .deliver = on_deliver, .gap = on_gap, .ctx = &f->k,
				   .is_orig = true };
	return f;
}

/* Frees the fixture, checking that the stream's accounting is coherent
 * and that no charged memory is left. */
static void fx_done(struct fx *f)
{
	assert_int_equal(f->s.offset, f->k.n);
	assert_int_equal(f->c.st.delivered_bytes + f->c.st.gap_bytes, f->k.n);
	assert_int_equal(f->c.st.gap_bytes, f->k.gap_bytes);
	reasm_stream_free(&f->c, &f->s);
	assert_null(f->s.held);
	assert_int_equal(f->s.held_bytes, 0);
	assert_int_equal(f->c.st.buffered, 0);
	col_free(&f->k);
	free(f);
}

static void seg(struct fx *f, uint32_t seq, uint8_t flags, const void *d, uint32_t len)
{
	reasm_segment(&f->c, &f->s, &f->o, seq, flags, d, len, len, 1000 + seq);
}

static void seg_cut(struct fx *f, uint32_t seq, const void *d, uint32_t len, uint32_t wire)
{
	reasm_segment(&f->c, &f->s, &f->o, seq, ACK, d, len, wire, 1000 + seq);
}

static void flush(struct fx *f)
{
	reasm_stream_flush(&f->c, &f->s, &f->o, 99);
	assert_null(f->s.held);
	assert_int_equal(f->s.held_bytes, 0);
}

/* A deterministic pattern of n bytes, different per salt. */
static uint8_t *pattern(size_t n, unsigned salt)
{
	uint8_t *p = malloc(n ? n : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + salt * 7 + (i >> 8));
	return p;
}

/* The collector holds exactly `n` bytes equal to `want`, no gap. */
static void assert_stream(const struct col *k, const uint8_t *want, size_t n)
{
	size_t i;

	assert_int_equal(k->n, n);
	for (i = 0; i < n; i++)
		if (k->gap[i])
			fail_msg("gap at offset %zu", i);
	assert_memory_equal(k->buf, want, n);
}

/* Bytes [from, from + n) of the collector are a gap. */
static void assert_gap(const struct col *k, size_t from, size_t n)
{
	size_t i;

	assert_true(from + n <= k->n);
	for (i = from; i < from + n; i++)
		if (!k->gap[i])
			fail_msg("no gap at offset %zu", i);
}

static void test_struct_small(void **state)
{
	(void)state;
	assert_true(sizeof(struct reasm_stream) <= 32);
}

static void test_in_order(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(1000, 1);
	uint32_t isn = 5000, i;

	(void)state;
	seg(f, isn, SYN, NULL, 0);
	for (i = 0; i < 10; i++)
		seg(f, isn + 1 + i * 100, ACK, p + i * 100, 100);
	assert_stream(&f->k, p, 1000);
	assert_int_equal(f->k.delivers, 10);
	assert_true(f->k.orig_seen && !f->k.resp_seen);
	assert_int_equal(f->k.last_ts, 1000 + isn + 901);
	assert_int_equal(f->s.next, isn + 1001);
	assert_int_equal(f->c.st.buffered_peak, 0);
	assert_int_equal(f->c.st.ooo_segments, 0);
	flush(f);
	assert_int_equal(f->k.n, 1000);
	fx_done(f);
	free(p);
}

/* 100 segments of varied sizes, last first: all held, then given out in
 * one sweep when the first arrives. */
static void test_reverse_order(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint32_t off[101], isn = 77, i;
	uint8_t *p;

	(void)state;
	off[0] = 0;
	for (i = 0; i < 100; i++)
		off[i + 1] = off[i] + 1 + (i * 37) % 200;
	p = pattern(off[100], 2);
	seg(f, isn, SYN, NULL, 0);
	for (i = 100; i-- > 0;)
		seg(f, isn + 1 + off[i], ACK, p + off[i], off[i + 1] - off[i]);
	assert_stream(&f->k, p, off[100]);
	assert_int_equal(f->c.st.ooo_segments, 99);
	assert_int_equal(f->c.st.overlap_bytes, 0);
	assert_int_equal(f->c.st.buffered, 0);
	assert_true(f->c.st.buffered_peak >= off[100] - off[1]);
	fx_done(f);
	free(p);
}

/* Out of order, each in a hole after the previous: appended into one
 * growing block, given out in few calls. */
static void test_run_behind_hole(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(100 * 1460, 3);
	uint32_t i;

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	for (i = 1; i < 100; i++)
		seg(f, 1 + i * 1460, ACK, p + i * 1460, 1460);
	assert_int_equal(f->k.n, 0);
	assert_true(f->s.held_bytes < 99 * 1460 + 99 * 1460 / 4);
	seg(f, 1, ACK, p, 1460);
	assert_stream(&f->k, p, 100 * 1460);
	/* 16 KiB blocks: far fewer calls than segments. */
	assert_true(f->k.delivers < 20);
	fx_done(f);
	free(p);
}

/* An in-order segment over held bytes: the held ones win, and differing
 * content is counted. */
static void test_overlap_in_order_over_held(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t a[20], b[40], want[40];

	(void)state;
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	seg(f, 100, SYN, NULL, 0);
	seg(f, 111, ACK, a, 20);      /* offsets 10..29 */
	seg(f, 101, ACK, b, 40);      /* offsets 0..39 */
	memcpy(want, b, 40);
	memset(want + 10, 'A', 20);
	assert_stream(&f->k, want, 40);
	assert_int_equal(f->c.st.overlap_bytes, 20);
	assert_int_equal(f->c.st.overlap_conflicts, 1);
	fx_done(f);
}

/* Two out-of-order copies of the same bytes, then the hole fills: the
 * first held copy wins both ways (a newer segment before and after an
 * older one). */
static void test_overlap_held_both_ways(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t a[20], b[20], c[20], d[10], want[70];

	(void)state;
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	memset(c, 'C', sizeof(c));
	memset(d, 'D', sizeof(d));
	seg(f, 0, SYN, NULL, 0);
	seg(f, 21, ACK, a, 20);       /* 20..39 A */
	seg(f, 11, ACK, b, 20);       /* 10..29: 10..19 B, 20..29 dropped */
	seg(f, 31, ACK, c, 20);       /* 30..49: 30..39 dropped, 40..49 C */
	seg(f, 46, ACK, c, 20);       /* 45..64: 45..49 same bytes, 50..64 C */
	seg(f, 1, ACK, d, 10);        /* 0..9 D, in order */
	memset(want, 'D', 10);
	memset(want + 10, 'B', 10);
	memset(want + 20, 'A', 20);
	memset(want + 40, 'C', 25);
	assert_stream(&f->k, want, 65);
	assert_int_equal(f->c.st.overlap_bytes, 10 + 10 + 5);
	assert_int_equal(f->c.st.overlap_conflicts, 2);
	assert_int_equal(f->c.st.ooo_segments, 4);
	fx_done(f);
}

/* One segment across several held blocks: it fills only the holes. */
static void test_overlap_spanning(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t x[10], y[60], want[65];

	(void)state;
	memset(x, 'X', sizeof(x));
	memset(y, 'Y', sizeof(y));
	seg(f, 0, SYN, NULL, 0);
	seg(f, 11, ACK, x, 10);       /* 10..19 */
	seg(f, 41, ACK, x, 10);       /* 40..49 */
	seg(f, 6, ACK, y, 60);        /* 5..64 */
	seg(f, 1, ACK, "z", 1);       /* 0 */
	assert_int_equal(f->k.n, 1);
	seg(f, 2, ACK, "zzzz", 4);    /* 1..4 */
	memset(want, 'Y', sizeof(want));
	memset(want, 'z', 5);
	memset(want + 10, 'X', 10);
	memset(want + 40, 'X', 10);
	assert_stream(&f->k, want, 65);
	assert_int_equal(f->c.st.overlap_bytes, 20);
	fx_done(f);
}

/* Bytes already given out win over a later copy; they are not kept, so
 * a differing copy cannot be told from a retransmission. */
static void test_overlap_delivered(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t a[20], b[20], want[30];

	(void)state;
	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1, ACK, a, 20);
	seg(f, 11, ACK, b, 20);
	memset(want, 'A', 20);
	memset(want + 20, 'B', 10);
	assert_stream(&f->k, want, 30);
	assert_int_equal(f->c.st.overlap_bytes, 10);
	assert_int_equal(f->c.st.buffered_peak, 0);
	fx_done(f);
}

static void test_retransmission(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(300, 4);

	(void)state;
	seg(f, 1000, SYN, NULL, 0);
	seg(f, 1001, ACK, p, 100);
	seg(f, 1101, ACK, p + 100, 100);
	seg(f, 1101, ACK, p + 100, 100);
	seg(f, 1001, ACK, p, 100);
	seg(f, 1000, SYN, NULL, 0);   /* a retransmitted SYN changes nothing */
	seg(f, 1201, ACK, p + 200, 100);
	seg(f, 1201, ACK, p + 200, 100);
	assert_stream(&f->k, p, 300);
	assert_int_equal(f->k.delivers, 3);
	assert_int_equal(f->c.st.overlap_bytes, 300);
	assert_int_equal(f->c.st.overlap_conflicts, 0);
	assert_int_equal(f->c.st.buffered_peak, 0);
	fx_done(f);
	free(p);
}

static void test_gap_by_ack(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(500, 5);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1, ACK, p, 100);
	seg(f, 201, ACK, p + 200, 100);       /* 100..199 missing */
	seg(f, 401, ACK, p + 400, 100);       /* 300..399 missing */
	reasm_ack(&f->c, &f->s, &f->o, 1, 5);  /* behind: nothing */
	reasm_ack(&f->c, &f->s, &f->o, 101, 5);
	assert_int_equal(f->k.n, 100);
	/* Up to the middle of the hole: half of it is a gap, the rest may
	 * still come. */
	reasm_ack(&f->c, &f->s, &f->o, 151, 5);
	assert_int_equal(f->k.n, 150);
	assert_gap(&f->k, 100, 50);
	seg(f, 101, ACK, p + 100, 100);       /* the first half is old */
	assert_int_equal(f->k.n, 300);
	assert_memory_equal(f->k.buf + 150, p + 150, 150);
	assert_int_equal(f->c.st.overlap_bytes, 50);
	/* Past the second hole and the held block after it. */
	reasm_ack(&f->c, &f->s, &f->o, 501, 5);
	assert_int_equal(f->k.n, 500);
	assert_gap(&f->k, 300, 100);
	assert_memory_equal(f->k.buf + 400, p + 400, 100);
	assert_int_equal(f->c.st.gap_bytes, 150);
	assert_int_equal(f->c.st.buffered, 0);
	/* Past everything seen: the peer got bytes the capture missed. */
	reasm_ack(&f->c, &f->s, &f->o, 601, 5);
	assert_int_equal(f->k.n, 600);
	assert_gap(&f->k, 500, 100);
	/* Far ahead: not a valid acknowledgement. */
	reasm_ack(&f->c, &f->s, &f->o, 601 + REASM_WINDOW + 1, 5);
	assert_int_equal(f->k.n, 600);
	assert_int_equal(f->c.st.bad_seq, 1);
	fx_done(f);
	free(p);
}

/* Behind a hole that never fills, the stream holds up to REASM_HOLD_MAX,
 * then declares the hole and goes on. */
static void test_gap_by_hold_limit(void **state)
{
	struct fx *f = fx_new(64u << 20, 0);
	uint32_t n = 400, i;
	uint8_t *p = pattern((size_t)n * 1000, 6);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	for (i = 1; i < n; i++) {
		seg(f, 1 + i * 1000, ACK, p + i * 1000, 1000);
		assert_true(f->s.held_bytes <= REASM_HOLD_MAX);
		if (f->k.n)
			break;
	}
	/* Declared when the held bytes would pass the limit, not before. */
	assert_true(i > 200 && i < n);
	assert_int_equal(f->c.st.gap_bytes, 1000);
	assert_int_equal(f->k.n, (size_t)(i + 1) * 1000);
	assert_gap(&f->k, 0, 1000);
	assert_memory_equal(f->k.buf + 1000, p + 1000, (size_t)i * 1000);
	assert_int_equal(f->s.held_bytes, 0);
	assert_int_equal(f->c.st.mem_drops, 0);
	/* The late copy of the hole is old now. */
	seg(f, 1, ACK, p, 1000);
	assert_int_equal(f->k.n, (size_t)(i + 1) * 1000);
	fx_done(f);
	free(p);
}

/* Two streams share a small cap: the one that would pass it declares its
 * own hole; the other keeps what it holds. */
static void test_gap_by_mem_cap(void **state)
{
	struct fx *f = fx_new(0, 0);
	struct reasm_stream s2;
	struct col k2;
	struct reasm_out o2 = { .deliver = on_deliver, .gap = on_gap, .ctx = &k2, .is_orig = false };
	uint8_t *p = pattern(20000, 7);
	uint32_t i;

	(void)state;
	reasm_stream_init(&s2);
	col_init(&k2);
	seg(f, 0, SYN, NULL, 0);
	for (i = 1; i < 6; i++)
		seg(f, 1 + i * 1000, ACK, p + i * 1000, 1000);
	assert_int_equal(f->k.n, 0);
	assert_true(f->c.st.buffered >= 5000);
	/* Room left for a 1000-byte block, not for 2000 more. */
	f->c.mem_max = f->c.st.buffered + 1500;
	reasm_segment(&f->c, &s2, &o2, 50000, SYN, NULL, 0, 0, 1);
	reasm_segment(&f->c, &s2, &o2, 50001 + 1000, ACK, p, 1000, 1000, 1);
	assert_int_equal(k2.n, 0);
	assert_int_equal(f->c.st.mem_drops, 0);
	/* This one does not fit: s2's hole (1000 bytes) is declared and
	 * both its held block and this segment go out. */
	reasm_segment(&f->c, &s2, &o2, 50001 + 3000, ACK, p + 3000, 2000, 2000, 1);
	assert_int_equal(f->c.st.mem_drops, 1);
	assert_true(f->c.st.buffered <= f->c.mem_max);
	assert_int_equal(k2.n, 5000);
	assert_true(k2.resp_seen && !k2.orig_seen);
	assert_gap(&k2, 0, 1000);
	assert_gap(&k2, 2000, 1000);
	assert_memory_equal(k2.buf + 1000, p, 1000);
	assert_memory_equal(k2.buf + 3000, p + 3000, 2000);
	assert_null(s2.held);
	/* The first stream was not touched. */
	assert_int_equal(f->k.n, 0);
	seg(f, 1, ACK, p, 1000);
	assert_stream(&f->k, p, 6000);
	assert_true(f->c.st.buffered_peak <= f->c.mem_max);
	reasm_stream_free(&f->c, &s2);
	/* The counters are the context's: take s2's share out for fx_done. */
	assert_int_equal(s2.offset, k2.n);
	f->c.st.delivered_bytes -= k2.n - k2.gap_bytes;
	f->c.st.gap_bytes -= k2.gap_bytes;
	col_free(&k2);
	fx_done(f);
	free(p);
}

/* A cap too small for any block: every out-of-order segment costs its
 * hole, never its own bytes. */
static void test_mem_cap_zero_room(void **state)
{
	struct fx *f = fx_new(16, 0);
	uint8_t *p = pattern(3000, 8);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1001, ACK, p + 1000, 1000);
	assert_int_equal(f->k.n, 2000);
	assert_gap(&f->k, 0, 1000);
	assert_int_equal(f->c.st.mem_drops, 1);
	assert_int_equal(f->c.st.buffered_peak, 0);
	seg(f, 2001, ACK, p + 2000, 1000);
	assert_memory_equal(f->k.buf + 1000, p + 1000, 2000);
	fx_done(f);
	free(p);
}

static void test_snaplen_cut(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(1000, 9);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg_cut(f, 1, p, 60, 100);            /* 60..99 cut */
	assert_int_equal(f->k.n, 100);
	assert_memory_equal(f->k.buf, p, 60);
	assert_gap(&f->k, 60, 40);
	seg(f, 101, ACK, p + 100, 100);
	/* Out of order and cut: the cut is declared when reached. */
	seg_cut(f, 301, p + 300, 50, 100);    /* 350..399 cut */
	seg(f, 401, ACK, p + 400, 100);
	seg_cut(f, 601, p + 600, 0, 100);     /* nothing captured: a hole */
	seg(f, 201, ACK, p + 200, 100);
	assert_int_equal(f->k.n, 500);
	assert_memory_equal(f->k.buf + 100, p + 100, 250);
	assert_gap(&f->k, 350, 50);
	assert_memory_equal(f->k.buf + 400, p + 400, 100);
	/* A full copy of cut bytes that are still ahead fills them. */
	seg_cut(f, 701, p + 700, 10, 100);    /* 710..799 cut */
	seg(f, 711, ACK, p + 710, 40);        /* 710..749 captured after all */
	seg(f, 501, ACK, p + 500, 100);
	assert_int_equal(f->k.n, 600);
	reasm_ack(&f->c, &f->s, &f->o, 801, 7);
	assert_int_equal(f->k.n, 800);
	assert_gap(&f->k, 600, 100);
	assert_memory_equal(f->k.buf + 700, p + 700, 50);
	assert_gap(&f->k, 750, 50);
	assert_int_equal(f->c.st.gap_bytes, 40 + 50 + 100 + 50);
	fx_done(f);
	free(p);
}

static void test_depth_cut(void **state)
{
	struct fx *f = fx_new(1 << 20, 1000);
	uint8_t *p = pattern(3000, 10);
	uint32_t i;

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1101, ACK, p + 1100, 100);     /* beyond the depth: not held */
	assert_int_equal(f->c.st.buffered_peak, 0);
	seg(f, 901, ACK, p + 900, 200);       /* held up to the depth only */
	assert_true(f->s.held_bytes > 0 && f->s.held_bytes < 200);
	for (i = 0; i < 9; i++)
		seg(f, 1 + i * 100, ACK, p + i * 100, 100);
	assert_stream(&f->k, p, 1000);
	assert_true(f->s.cut);
	assert_int_equal(f->c.st.depth_cut, 1);
	for (i = 10; i < 30; i++)
		seg(f, 1 + i * 100, ACK, p + i * 100, 100);
	reasm_ack(&f->c, &f->s, &f->o, 5000, 1);
	flush(f);
	assert_int_equal(f->k.n, 1000);
	assert_int_equal(f->c.st.depth_cut, 1);
	assert_int_equal(f->c.st.buffered, 0);
	fx_done(f);

	/* Held bytes are freed when a gap reaches the depth. */
	f = fx_new(1 << 20, 1000);
	seg(f, 0, SYN, NULL, 0);
	seg(f, 501, ACK, p, 100);
	seg(f, 951, ACK, p, 100);
	assert_true(f->c.st.buffered > 0);
	reasm_ack(&f->c, &f->s, &f->o, 2000, 1);
	assert_int_equal(f->k.n, 1000);
	assert_int_equal(f->c.st.buffered, 0);
	assert_int_equal(f->c.st.depth_cut, 1);
	assert_gap(&f->k, 0, 500);
	assert_gap(&f->k, 600, 350);
	assert_memory_equal(f->k.buf + 950, p, 50);
	fx_done(f);
	free(p);
}

/* The same stream in order, reversed, and with an ACK, across 2^32. */
static void test_wraparound(void **state)
{
	uint8_t *p = pattern(4000, 11);
	uint32_t isn = 0xfffffc00u, i;
	struct fx *f;

	(void)state;
	f = fx_new(1 << 20, 0);
	seg(f, isn, SYN, NULL, 0);
	for (i = 0; i < 40; i++)
		seg(f, isn + 1 + i * 100, ACK, p + i * 100, 100);
	assert_stream(&f->k, p, 4000);
	assert_int_equal(f->s.next, isn + 4001);
	fx_done(f);

	f = fx_new(1 << 20, 0);
	seg(f, isn, SYN, NULL, 0);
	for (i = 40; i-- > 0;)
		seg(f, isn + 1 + i * 100, ACK, p + i * 100, 100);
	assert_stream(&f->k, p, 4000);
	fx_done(f);

	f = fx_new(1 << 20, 0);
	seg(f, isn, SYN, NULL, 0);
	seg(f, isn + 1, ACK, p, 100);
	seg(f, isn + 1 + 3000, ACK, p + 3000, 1000);  /* past 2^32, held */
	seg(f, isn + 1 + 2500, ACK, p + 2500, 600);   /* overlaps it across */
	reasm_ack(&f->c, &f->s, &f->o, isn + 1 + 2000, 1);
	assert_int_equal(f->k.n, 2000);
	seg(f, isn + 1 + 1500, ACK, p + 1500, 1000);  /* half old */
	assert_memory_equal(f->k.buf, p, 100);
	assert_gap(&f->k, 100, 1900);
	assert_memory_equal(f->k.buf + 2000, p + 2000, 2000);
	assert_int_equal(f->k.n, 4000);
	assert_int_equal(f->c.st.overlap_bytes, 100 + 500);
	fx_done(f);
	free(p);
}

static void test_syn_then_data(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(300, 12);

	(void)state;
	/* A new SYN (a new ISN) restarts the stream while nothing was
	 * given out. */
	seg(f, 100, SYN, NULL, 0);
	seg(f, 7000, SYN, NULL, 0);
	seg(f, 7001, ACK, p, 100);
	assert_stream(&f->k, p, 100);
	fx_done(f);

	f = fx_new(1 << 20, 0);
	seg(f, 7101, ACK, p + 100, 100);   /* not started: starts here */
	assert_int_equal(f->k.n, 100);
	seg(f, 7000, SYN, NULL, 0);        /* too late, ignored */
	assert_int_equal(f->s.next, 7201);
	fx_done(f);

	/* Pure ACKs and RSTs do not start a stream; a SYN does; a payload
	 * on the SYN (TCP Fast Open) starts after it. */
	f = fx_new(1 << 20, 0);
	seg(f, 9, ACK, NULL, 0);
	seg(f, 99, RST, "xx", 2);
	assert_false(f->s.started);
	reasm_ack(&f->c, &f->s, &f->o, 500, 1);
	assert_int_equal(f->k.n, 0);
	seg(f, 3000, SYN, p, 50);
	seg(f, 3051, ACK, p + 50, 250);
	assert_stream(&f->k, p, 300);
	fx_done(f);
	free(p);
}

/* No SYN: the first segment with payload sets the start; earlier bytes
 * are old. */
static void test_midstream(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(500, 13);

	(void)state;
	seg(f, 123456, ACK, p + 100, 100);
	seg(f, 123356, ACK, p, 100);           /* before the start */
	seg(f, 123556, ACK, p + 200, 100);
	seg(f, 123656, ACK, p + 300, 200);
	assert_stream(&f->k, p + 100, 400);
	assert_int_equal(f->c.st.overlap_bytes, 100);
	fx_done(f);
	free(p);
}

static void test_fin(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(600, 14);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1, ACK, p, 100);
	seg(f, 101, FIN | ACK, p + 100, 100);  /* ends at 201 */
	seg(f, 201, ACK, p + 200, 100);        /* after the FIN */
	seg(f, 151, ACK, p + 150, 100);        /* old, then after the FIN */
	assert_stream(&f->k, p, 200);
	assert_int_equal(f->s.fin_seq, 201);
	reasm_ack(&f->c, &f->s, &f->o, 202, 1);   /* ACK of the FIN */
	flush(f);
	assert_int_equal(f->k.n, 200);
	assert_int_equal(f->c.st.gap_bytes, 0);
	fx_done(f);

	/* The FIN out of order, before a hole: held until an ACK declares
	 * the hole, then the stream ends at the FIN. Held bytes after the
	 * FIN are dropped when it arrives. */
	f = fx_new(1 << 20, 0);
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1, ACK, p, 100);
	seg(f, 501, ACK, p + 500, 100);        /* after the FIN that comes */
	assert_true(f->c.st.buffered > 0);
	seg(f, 301, FIN | ACK, p + 300, 100);  /* ends at 401; 100..299 missing */
	seg(f, 401, ACK, p + 400, 50);         /* after the FIN */
	reasm_ack(&f->c, &f->s, &f->o, 402, 1);
	assert_int_equal(f->k.n, 400);
	assert_gap(&f->k, 100, 200);
	assert_memory_equal(f->k.buf + 300, p + 300, 100);
	assert_int_equal(f->c.st.buffered, 0);
	fx_done(f);

	/* The FIN alone, then flush: the hole before it is a gap. */
	f = fx_new(1 << 20, 0);
	seg(f, 0, SYN, NULL, 0);
	seg(f, 1, ACK, p, 100);
	seg(f, 151, ACK, p + 150, 20);
	seg(f, 301, FIN, NULL, 0);
	flush(f);
	assert_int_equal(f->k.n, 300);
	assert_gap(&f->k, 100, 50);
	assert_memory_equal(f->k.buf + 150, p + 150, 20);
	assert_gap(&f->k, 170, 130);
	fx_done(f);

	/* A held block whose snap length cut reaches past later blocks and
	 * past the FIN: clipped at the FIN. */
	f = fx_new(1 << 20, 0);
	seg(f, 0, SYN, NULL, 0);
	seg_cut(f, 101, p + 100, 10, 500);     /* 110..599 cut */
	seg(f, 201, ACK, p + 200, 100);
	seg(f, 401, FIN, NULL, 0);
	seg(f, 1, ACK, p, 100);
	assert_int_equal(f->k.n, 400);
	assert_memory_equal(f->k.buf, p, 110);
	assert_gap(&f->k, 110, 90);
	assert_memory_equal(f->k.buf + 200, p + 200, 100);
	assert_gap(&f->k, 300, 100);
	assert_true(f->s.fin && f->s.next == f->s.fin_seq);
	fx_done(f);
	free(p);
}

/* Flush at the end: every hole a gap, held bytes out, nothing kept. */
static void test_flush_with_holes(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(1000, 15);
	uint32_t i;

	(void)state;
	seg(f, 0x7ffffff0u, SYN, NULL, 0);
	for (i = 0; i < 10; i += 2)
		seg(f, 0x7ffffff1u + i * 100, ACK, p + i * 100, 100);
	assert_int_equal(f->k.n, 100);
	assert_true(f->c.st.buffered > 0);
	flush(f);
	/* The span: from the SYN to the last byte seen. */
	assert_int_equal(f->k.n, 900);
	for (i = 0; i < 9; i++) {
		if (i % 2)
			assert_gap(&f->k, i * 100, 100);
		else
			assert_memory_equal(f->k.buf + i * 100, p + i * 100, 100);
	}
	assert_int_equal(f->c.st.gap_bytes, 400);
	assert_int_equal(f->c.st.buffered, 0);
	/* The stream goes on after a flush. */
	seg(f, 0x7ffffff1u + 900, ACK, p + 900, 100);
	assert_int_equal(f->k.n, 1000);
	fx_done(f);
	free(p);
}

/* Freeing without flushing gives nothing out and returns the memory. */
static void test_free_and_bad_seq(void **state)
{
	struct fx *f = fx_new(1 << 20, 0);
	uint8_t *p = pattern(1000, 16);

	(void)state;
	seg(f, 0, SYN, NULL, 0);
	seg(f, 101, ACK, p, 100);
	seg(f, 1 + REASM_WINDOW + 10, ACK, p, 100);
	assert_int_equal(f->c.st.bad_seq, 1);
	reasm_stream_free(&f->c, &f->s);
	reasm_stream_free(&f->c, NULL);
	assert_int_equal(f->c.st.buffered, 0);
	assert_int_equal(f->k.n, 0);
	fx_done(f);
	free(p);
}

/* ---- property: any cutting, reordering and duplication of a stream
 * gives the stream back ------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: fixed seeds make every failure reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

struct piece {
	uint32_t off, len;
};

static void shuffle_near(struct piece *v, size_t n, size_t span)
{
	size_t i, j;
	struct piece t;

	for (i = 0; i < n; i++) {
		j = i + rnd() % span;
		if (j >= n)
			j = n - 1;
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void one_run(uint64_t seed, size_t mem_max, bool expect_exact)
{
	struct fx *f = fx_new(mem_max, 0);
	uint32_t total, isn, off, i, n = 0, cap;
	struct piece *v;
	uint8_t *p;

	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	total = 1 + rnd() % 60000;
	p = pattern(total, (unsigned)seed);
	for (i = 0; i < total; i++)
		p[i] ^= (uint8_t)rnd();
	isn = rnd() % 3 == 0 ? 0xffffffffu - rnd() % 40000 : rnd();
	cap = total * 2 + 64;
	v = malloc(sizeof(*v) * cap);
	assert_non_null(v);
	for (off = 0; off < total; off += v[n++].len) {
		v[n].off = off;
		v[n].len = 1 + rnd() % (rnd() % 2 ? 1460 : 100);
		if (v[n].len > total - off)
			v[n].len = total - off;
	}
	/* Duplicates, some shifted and cut so they overlap their
	 * neighbours: same bytes, so first-wins never changes anything. */
	for (i = 0, off = n; i < off / 5; i++) {
		struct piece d = v[rnd() % off];
		uint32_t shift = rnd() % (d.len + 1);

		if (rnd() % 2 && d.off + shift + d.len <= total)
			d.off += shift;
		else
			d.len -= shift / 2;
		if (d.len)
			v[n++] = d;
	}
	shuffle_near(v, n, 1 + rnd() % (rnd() % 4 ? 8 : n));
	seg(f, isn, SYN, NULL, 0);
	for (i = 0; i < n; i++) {
		seg(f, isn + 1 + v[i].off, ACK, p + v[i].off, v[i].len);
		if (mem_max)
			assert_true(f->c.st.buffered <= mem_max);
		assert_true(f->s.held_bytes <= REASM_HOLD_MAX);
	}
	seg(f, isn + 1 + total, FIN | ACK, NULL, 0);
	flush(f);
	if (expect_exact) {
		assert_stream(&f->k, p, total);
		assert_int_equal(f->c.st.gap_bytes, 0);
	} else {
		/* Under pressure: gaps, but every byte given out is right
		 * and the span is covered exactly. */
		assert_int_equal(f->k.n, total);
		for (i = 0; i < total; i++)
			if (!f->k.gap[i] && f->k.buf[i] != p[i])
				fail_msg("seed %llu: wrong byte at %u", (unsigned long long)seed, i);
	}
	assert_int_equal(f->c.st.overlap_conflicts, 0);
	fx_done(f);
	free(v);
	free(p);
}

static void test_property_exact(void **state)
{
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 300; seed++)
		one_run(seed, 64u << 20, true);
}

static void test_property_pressure(void **state)
{
	uint64_t seed;

	(void)state;
	for (seed = 1000; seed <= 1200; seed++)
		one_run(seed, 256 + seed % 7 * 1000, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_small),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reverse_order),
		cmocka_unit_test(test_run_behind_hole),
		cmocka_unit_test(test_overlap_in_order_over_held),
		cmocka_unit_test(test_overlap_held_both_ways),
		cmocka_unit_test(test_overlap_spanning),
		cmocka_unit_test(test_overlap_delivered),
		cmocka_unit_test(test_retransmission),
		cmocka_unit_test(test_gap_by_ack),
		cmocka_unit_test(test_gap_by_hold_limit),
		cmocka_unit_test(test_gap_by_mem_cap),
		cmocka_unit_test(test_mem_cap_zero_room),
		cmocka_unit_test(test_snaplen_cut),
		cmocka_unit_test(test_depth_cut),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_syn_then_data),
		cmocka_unit_test(test_midstream),
		cmocka_unit_test(test_fin),
		cmocka_unit_test(test_flush_with_holes),
		cmocka_unit_test(test_free_and_bad_seq),
		cmocka_unit_test(test_property_exact),
		cmocka_unit_test(test_property_pressure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
