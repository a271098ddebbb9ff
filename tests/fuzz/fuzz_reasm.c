/* libFuzzer target: TCP reassembly (reasm.c).
 *
 * Input: one configuration byte, then operations on two streams that
 * share one context with small caps:
 *   config   bits 0-2 the memory cap (none, 64 B ... 1 MiB), bits 3-4 the
 *            depth (none, 1000, 70000, 1 MiB), bits 5-7 where both
 *            streams' sequence numbers start (0, just below 2^32 or 2^31,
 *            ...), so wraparound is common.
 *   op byte  bit 0 the stream, bits 1-3 the operation:
 *     0-3  a segment: offset (2 bytes LE), flags (1), length (2 bytes LE:
 *          up to 2047, or in 32-byte units when bit 15 is set), the snap
 *          length's cut (1). Bit 4 of the op byte takes the payload from
 *          the input instead of the stream's pattern; bit 5 puts the
 *          offset 2^14 times further (past the window). A cut of 255
 *          gives a wire length below the captured one.
 *     4    an acknowledgement at an offset (2 bytes LE; bit 5 as above);
 *     5    flush;     6  free and start over;
 *     7    move the stream's base 40000 bytes on (long streams).
 * A stream's bytes are a pattern of their sequence number, so whatever
 * the segmentation, order and duplication, every byte delivered must
 * match it unless the input supplied bytes of its own for that stream.
 * After each operation it checks the held list (sorted, not overlapping,
 * after `next`, links both ways, charges add up), the caps, the offset
 * accounting and the depth; after a flush or a free nothing is held; at
 * the end nothing is charged (and LeakSanitizer sees no leak). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "reasm.h"
#include "reasm_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct side {
	struct reasm_stream s;
	struct reasm_out o;
	uint32_t base;
	uint64_t n;                   /* delivered + gaps seen by the callbacks */
	bool tainted;                 /* input-supplied bytes were given */
};

static struct reasm_ctx ctx;
static uint8_t buf[65536 + 256];

static inline uint8_t pat(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static void on_deliver(void *arg, bool is_orig, const uint8_t *d, size_t len, uint64_t ts_us)
{
	struct side *x = arg;
	size_t i;

	(void)is_orig;
	(void)ts_us;
	if (len == 0 || x->s.offset != x->n)
		abort();
	if (x->s.fin && (uint32_t)(x->s.fin_seq - x->s.next) < len)
		abort();
	if (ctx.depth_bytes && x->n + len > ctx.depth_bytes)
		abort();
	if (!x->tainted)
		for (i = 0; i < len; i++)
			if (d[i] != pat(x->s.next + (uint32_t)i))
				abort();
	x->n += len;
}

static void on_gap(void *arg, bool is_orig, uint64_t len)
{
	struct side *x = arg;

	(void)is_orig;
	if (len == 0 || len > REASM_WINDOW || x->s.offset != x->n)
		abort();
	if (ctx.depth_bytes && x->n + len > ctx.depth_bytes)
		abort();
	x->n += len;
}

static void check(const struct side *x)
{
	const struct reasm_seg *g, *h = x->s.held;
	uint32_t charged = 0, at = 0, rel;

	if (x->s.offset != x->n || x->s.held_bytes > REASM_HOLD_MAX)
		abort();
	if (ctx.depth_bytes && x->s.offset > ctx.depth_bytes)
		abort();
	if (h && (!x->s.started || x->s.cut || h->prev->next != NULL))
		abort();
	for (g = h; g; g = g->next) {
		rel = g->seq - x->s.next;
		if (rel == 0 || rel < at || rel > REASM_WINDOW + 70000u)
			abort();
		if (g->len == 0 || g->len > g->cap || (g->next && g->next->prev != g))
			abort();
		if (x->s.fin && (uint32_t)(x->s.fin_seq - x->s.next) < rel + g->len + g->cut)
			abort();
		/* Every byte is checked when delivered; here the ends. */
		if (!x->tainted && (g->d[0] != pat(g->seq) ||
				    g->d[g->len - 1] != pat(g->seq + g->len - 1)))
			abort();
		at = rel + g->len;
		charged += (uint32_t)sizeof(*g) + g->cap;
	}
	if (charged != x->s.held_bytes)
		abort();
}

static const size_t mems[8] = { 0, 64, 256, 2048, 16384, 65536, 300000, 1u << 20 };
static const uint32_t depths[4] = { 0, 1000, 70000, 1u << 20 };
static const uint32_t bases[8] = { 0, 0xffffff00u, 0x7fffff00u, 0xfffe0000u,
				   1000, 0xffffffffu, 0x80000000u, 0xfffff000u };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct side sd[2];
	size_t i = 1;
	int k;

	if (size < 1)
		return 0;
	memset(&ctx, 0, sizeof(ctx));
	ctx.mem_max = mems[data[0] & 7];
	ctx.depth_bytes = depths[(data[0] >> 3) & 3];
	memset(sd, 0, sizeof(sd));
	for (k = 0; k < 2; k++) {
		reasm_stream_init(&sd[k].s);
		sd[k].o = (struct reasm_out){ .deliver = on_deliver, .gap = on_gap, .ctx = &sd[k],
					      .is_orig = k == 0 };
		sd[k].base = bases[data[0] >> 5] + (uint32_t)k * 0x10000u;
	}
	while (i < size) {
		uint8_t op = data[i++];
		struct side *x = &sd[op & 1];
		uint32_t off = 0, seq, len, wire, j;
		uint8_t flags;

		if (((op >> 1) & 7) <= 4) {
			if (size - i < 2)
				break;
			off = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8;
			i += 2;
			if (op & 0x20)
				off <<= 14;
		}
		switch ((op >> 1) & 7) {
		case 0: case 1: case 2: case 3:
			if (size - i < 4)
				goto out;
			flags = data[i];
			len = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8;
			len = len & 0x8000 ? (len & 0x7ff) * 32 : len & 0x7ff;
			/* A cut byte of 255 passes a wire length below len. */
			wire = data[i + 3] == 255 ? len / 2 : len + data[i + 3];
			i += 4;
			seq = x->base + off;
			if (op & 0x10) {
				/* The input's own bytes, as many as are left. */
				if (len > size - i)
					len = (uint32_t)(size - i);
				if (wire < len)
					wire = len;
				memcpy(buf, data + i, len);
				i += len;
				x->tainted = true;
			} else {
				uint32_t dseq = flags & PKT_TCP_SYN ? seq + 1 : seq;

				for (j = 0; j < len; j++)
					buf[j] = pat(dseq + j);
			}
			reasm_segment(&ctx, &x->s, &x->o, seq, flags, buf, len, wire, i);
			break;
		case 4:
			reasm_ack(&ctx, &x->s, &x->o, x->base + off, i);
			break;
		case 5:
			reasm_stream_flush(&ctx, &x->s, &x->o, i);
			if (x->s.held || x->s.held_bytes)
				abort();
			break;
		case 6:
			reasm_stream_free(&ctx, &x->s);
			if (x->s.held_bytes)
				abort();
			reasm_stream_init(&x->s);
			x->n = 0;
			x->tainted = false;
			break;
		case 7:
			x->base += 40000;
			break;
		}
		check(&sd[0]);
		check(&sd[1]);
		if (ctx.st.buffered != (uint64_t)sd[0].s.held_bytes + sd[1].s.held_bytes)
			abort();
		if (ctx.mem_max && ctx.st.buffered > ctx.mem_max)
			abort();
	}
out:
	for (k = 0; k < 2; k++) {
		reasm_stream_flush(&ctx, &sd[k].s, &sd[k].o, 0);
		check(&sd[k]);
		reasm_stream_free(&ctx, &sd[k].s);
	}
	if (ctx.st.buffered != 0)
		abort();
	return 0;
}
