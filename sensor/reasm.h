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
 *     in overlap_bytes, and in overlap_conflicts when their content
 *     differs; delivered bytes are not kept, so only held bytes can be
 *     compared). A retransmission of delivered bytes is one of these
 *     overlaps, dropped at the cost of a subtraction.
 *   - A hole is declared a gap, and the held bytes after it delivered,
 *     when the peer acknowledges past it (the bytes were sent but the
 *     capture missed them), when the stream would hold more than
 *     REASM_HOLD_MAX, when the context's memory cap would be passed (the
 *     segment that did not fit is counted in mem_drops), or at the end
 *     (reasm_stream_flush). Under either limit the earliest hole goes
 *     first, and when the new segment is before every held one, the hole
 *     before it is declared and the segment delivered at once: a limit
 *     costs gaps, never the bytes of the segment that hit it.
 *   - Bytes the snap length cut (wire_len > len) are a gap as soon as the
 *     stream reaches them.
 *   - Depth: after depth_bytes of the direction (delivered + gaps), the
 *     stream stops: nothing more is delivered or held, and held bytes are
 *     freed (counted once per stream in depth_cut). Bytes at or beyond the
 *     depth are never held.
 *   - FIN: the stream ends at the FIN's sequence number (the first FIN
 *     wins); bytes after it are ignored. Once every byte before it is
 *     delivered or declared, the stream is done.
 *   - SYN: its sequence number + 1 is the start; payload on a SYN starts
 *     there (TCP Fast Open). A later SYN restarts the stream only while
 *     nothing has been delivered or held. Without a SYN, the first segment
 *     that carries payload or a FIN sets the start. RST segments are
 *     ignored (their payload is a diagnostic, not stream data); the caller
 *     flushes the stream when the flow ends.
 *   - Sequence numbers wrap (32 bits): all comparisons are modulo 2^32
 *     relative to the stream's next expected sequence number. A segment
 *     or acknowledgement more than REASM_WINDOW ahead of it cannot be
 *     valid (RFC 7323 2.3: the largest window is 2^30) and is dropped
 *     (counted in bad_seq).
 *
 * Cost: an in-order segment with nothing held is delivered straight from
 * the caller's buffer (no copy, no allocation). A held segment is one
 * malloc and one copy; a segment that continues a held one is appended to
 * it (the block grows geometrically up to REASM_SEG_MAX), so a hole
 * followed by a long run costs few blocks. Held blocks are in a list
 * sorted by sequence, with the tail reachable in O(1): appends after the
 * last held byte and reverse-order arrivals are O(1); others scan.
 *
 * Memory: held bytes are charged to the reasm_ctx (its mem_max), which
 * the analyzer context shares among all streams of one thread. The charge
 * is what is allocated: each block's header and capacity, so it is a
 * little more than the payload bytes held.
 *
 * Callbacks: deliver and gap run inside reasm_segment, reasm_ack and
 * reasm_stream_flush; they must not call into the same stream nor free
 * it. The bytes given to deliver are valid during the call only.
 */
#ifndef WARD_SENSOR_REASM_H
#define WARD_SENSOR_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most bytes one stream holds out of order before declaring a gap
 * (charged bytes, as reasm_stream.held_bytes counts them). */
#define REASM_HOLD_MAX (256u * 1024)
/* How far ahead of the next expected byte a segment or acknowledgement
 * may be, in bytes: the largest TCP window (RFC 7323 2.3). */
#define REASM_WINDOW (1u << 30)
/* Largest block a run of held segments is merged into, in bytes. */
#define REASM_SEG_MAX (16u * 1024)

struct reasm_stats {
	uint64_t delivered_bytes;     /* given to deliver */
	uint64_t ooo_segments;        /* segments held out of order */
	uint64_t overlap_bytes;       /* dropped by first-wins */
	uint64_t overlap_conflicts;   /* overlaps whose bytes differed */
	uint64_t gap_bytes;           /* declared never seen */
	uint64_t depth_cut;           /* streams that reached their depth */
	uint64_t mem_drops;           /* segments not held for the memory cap (their
	                               * hole was declared instead) or for a failed
	                               * allocation */
	uint64_t bad_seq;             /* segments or ACKs beyond REASM_WINDOW, dropped */
	uint64_t buffered;            /* bytes held now (charged: headers + capacity) */
	uint64_t buffered_peak;
};

/* Per thread: the memory cap and the counters, shared by its streams. */
struct reasm_ctx {
	size_t mem_max;               /* bytes held out of order, all streams; 0 = no cap */
	uint32_t depth_bytes;         /* per stream; 0 = unlimited */
	struct reasm_stats st;
};

struct reasm_seg;                     /* a held block (reasm_internal.h) */

/* One direction. Zero it (or reasm_stream_init) before use. 32 bytes on
 * LP64: it lives in every analyzed TCP session. */
struct reasm_stream {
	uint32_t next;                /* sequence number of the next byte to deliver */
	uint32_t fin_seq;             /* sequence number of the FIN, when `fin` */
	uint64_t offset;              /* stream offset of `next` (bytes delivered + gaps) */
	struct reasm_seg *held;       /* out-of-order blocks, by sequence; owned */
	uint32_t held_bytes;          /* charged for `held` */
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

/* Zeroes the stream: not started, nothing held. */
void reasm_stream_init(struct reasm_stream *s);

/* One TCP segment of this direction (RFC 9293 3.4): its sequence number,
 * flags (PKT_TCP_* of pkt.h), and the payload captured: `len` bytes at
 * `d` (borrowed for the call; held bytes are copied) of the `wire_len`
 * bytes sent (a `wire_len` below `len` is taken as `len`). Bytes the snap
 * length cut are a gap. Delivers what became in order, with ts_us (µs
 * since the epoch) as their time. No errors: a failed allocation leaves
 * the bytes a hole (counted in mem_drops). */
void reasm_segment(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
		   uint32_t seq, uint8_t flags, const uint8_t *d, uint32_t len, uint32_t wire_len,
		   uint64_t ts_us);

/* The peer acknowledged this direction up to `ack` (exclusive; the ACK
 * field of the other direction's segments, RFC 9293 3.4): a hole below it
 * is a gap now, and held bytes up to and after it are delivered as far as
 * they are contiguous. An ACK of the FIN (FIN + 1) declares up to the FIN
 * only. Ignored before the stream started, and when it is not ahead of
 * the next expected byte (the common case, a compare and a return). */
void reasm_ack(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
	       uint32_t ack, uint64_t ts_us);

/* The flow ends: every hole becomes a gap and all held bytes are
 * delivered, up to the FIN when one was seen, else up to the last held
 * byte (bytes after the last one captured cannot be known); the stream is
 * then empty (no memory held). Segments given afterwards continue it. */
void reasm_stream_flush(struct reasm_ctx *c, struct reasm_stream *s, const struct reasm_out *o,
			uint64_t ts_us);

/* Whether the stream has nothing more to deliver: every byte before its
 * FIN was given out, or its depth was reached. */
bool reasm_stream_done(const struct reasm_stream *s);

/* Frees what the stream holds without delivering it (no callback runs).
 * NULL is accepted. */
void reasm_stream_free(struct reasm_ctx *c, struct reasm_stream *s);

#endif
