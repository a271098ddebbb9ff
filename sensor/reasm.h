/* reasm: TCP stream reassembly for the analyzers (RFC 9293 3.4, sequence
 * numbers; Zeek's TCP_Reassembler is the model for the policy).
 *
 * One reasm_stream per direction of a flow. Segments go in as captured;
 * what comes out through the callbacks is the direction's byte stream in
 * order, from the first byte after the SYN (or after the first segment
 * seen, when the SYN was missed), as:
 *   - deliver(bytes): the next in-order bytes;
 *   - gap(n): n bytes were never seen; the stream resumes after them.
 *
 * Policy:
 *   - Out-of-order segments are held (copied) until the hole before them
 *     fills. Overlaps resolve first-wins: bytes already delivered or held
 *     are kept and the newer copy's overlapping bytes are dropped (counted
 *     in overlap_bytes, and as a weird when their content differs).
 *   - A hole is declared a gap, and the held bytes after it delivered,
 *     when the peer acknowledges past it (the bytes were sent but the
 *     capture missed them), when the held bytes of the stream pass
 *     REASM_HOLD_MAX, when the context's memory cap is reached (the
 *     degradation is counted), or at the end (reasm_stream_flush).
 *   - Depth: after depth_bytes of the direction (delivered + gaps), the
 *     stream stops delivering and holding; only sequence tracking goes on
 *     (counted in depth_cut).
 *   - Sequence numbers wrap (32 bits): all comparisons are modulo 2^32
 *     relative to the stream's next expected sequence number.
 *   - Retransmissions of delivered bytes are dropped, cheaply.
 *
 * Memory: held bytes are charged to the reasm_ctx (its mem_max), which
 * the analyzer context shares among all streams of one thread.
 */
#ifndef WARD_SENSOR_REASM_H
#define WARD_SENSOR_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most bytes one stream holds out of order before declaring a gap. */
#define REASM_HOLD_MAX (256u * 1024)

struct reasm_stats {
	uint64_t delivered_bytes;     /* given to deliver */
	uint64_t ooo_segments;        /* segments held out of order */
	uint64_t overlap_bytes;       /* dropped by first-wins */
	uint64_t overlap_conflicts;   /* overlaps whose bytes differed */
	uint64_t gap_bytes;           /* declared never seen */
	uint64_t depth_cut;           /* streams that reached their depth */
	uint64_t mem_drops;           /* segments not held for the memory cap */
	uint64_t buffered;            /* bytes held now */
	uint64_t buffered_peak;
};

/* Per thread: the memory cap and the counters, shared by its streams. */
struct reasm_ctx {
	size_t mem_max;               /* bytes held out of order, all streams */
	uint32_t depth_bytes;         /* per stream; 0 = unlimited */
	struct reasm_stats st;
};

struct reasm_seg;                     /* a held segment (reasm.c) */

/* One direction. Zero it (or reasm_stream_init) before use. */
struct reasm_stream {
	uint32_t next;                /* sequence number of the next byte to deliver */
	uint64_t offset;              /* stream offset of `next` (bytes delivered + gaps) */
	struct reasm_seg *held;       /* out-of-order segments, by sequence */
	uint32_t held_bytes;
	bool started;                 /* `next` is known */
	bool fin;                     /* a FIN was seen; nothing after it */
	bool cut;                     /* the depth was reached */
};

/* What comes out. `ctx` is the caller's (an analyzer session). */
struct reasm_out {
	void (*deliver)(void *ctx, bool is_orig, const uint8_t *d, size_t len, uint64_t ts_us);
	void (*gap)(void *ctx, bool is_orig, uint64_t len);
	void *ctx;
	bool is_orig;                 /* passed through to the callbacks */
};

void reasm_stream_init(struct reasm_stream *s);

/* One TCP segment of this direction: its sequence number, flags (PKT_TCP_*
 * of pkt.h), and the payload captured (`len` bytes of `wire_len` sent;
 * bytes the snap length cut are a gap). A SYN sets the start (next = seq
 * + 1). Delivers what became in order. */
void reasm_segment(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		   uint32_t seq, uint8_t flags, const uint8_t *d, uint32_t len, uint32_t wire_len,
		   uint64_t ts_us);

/* The peer acknowledged this direction up to `ack` (exclusive): a hole
 * below it is a gap now; held bytes after it are delivered. */
void reasm_ack(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
	       uint32_t ack, uint64_t ts_us);

/* The flow ends: every hole becomes a gap and all held bytes are
 * delivered; the stream is then empty (no memory held). */
void reasm_stream_flush(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
			uint64_t ts_us);

/* Frees what the stream holds without delivering it. */
void reasm_stream_free(struct reasm_ctx *c, struct reasm_stream *s);

#endif
